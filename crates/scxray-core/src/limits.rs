//! Caps on every pointer chase. Guest memory is hostile: each walk is bounded, and a cap that
//! fires sets `truncated` on the output it cut, which records the cap ([`WalkCap`]: which
//! [`Limit`], its value, and how the value was set).
//!
//! # Caps sized from the kernel's own counts
//!
//! A cap is [`Cap::Fixed`] (the caller's number) or [`Cap::Kernel`]: sized per walk from what
//! the kernel itself counts of the thing walked, plus a slack for what the count leaves out,
//! never below a floor (the fixed caps of earlier versions) and never above a ceiling that no
//! kernel can exceed, so a hostile count cannot make a walk longer than the ceiling:
//!
//! | walk | count read | cap ([`Cap::Kernel`]) |
//! |---|---|---|
//! | a DSQ's list | `scx_dispatch_q.nr` (header, read first) | `nr + 2 C + 1` |
//! | a runnable_list | `scx_rq.nr_running` (read first) | `nr_running + 2 C + 1` |
//! | `scx_tasks` | the kernel's `nr_threads` | `2 nr_threads + 2 C + 1` |
//! | `dsq_hash`'s DSQs | `rhashtable.nelems` | `nelems + C` |
//! | `dsq_hash`'s buckets | `bucket_table.size` | `size` |
//!
//! `C` is the number of CPUs the walk visits (`nr_cpu_ids`, at most [`MAX_CPUS`]). The
//! slacks, from the kernel's code (7.3, and where older kernels differ):
//!
//! - A DSQ's list holds its `nr` tasks and the iterator cursors parked in it (the kernel's
//!   own, and `bpf_iter_scx_dsq`'s): a cursor lives on the stack of a CPU walking the DSQ,
//!   and iterators nest, so two per CPU. `nr` is updated under the DSQ's lock just after the
//!   list, so a dump can catch one enqueue or dequeue in between: `+ 1`.
//! - A runnable_list holds tasks only, and `nr_running` moves with it under the rq lock; it
//!   gets a DSQ's slack all the same (it costs nothing unless the list is longer).
//! - `scx_tasks` holds every task with a pid (`nr_threads` counts them, from `copy_process`
//!   to `release_task`), the idle tasks (pid 0, not counted: one per CPU, `C`), iterator
//!   cursors (`scx_task_iter`, on the stack of a task iterating: `C + 1` more), and tasks
//!   already released but not yet off the list: in 7.3 an exiting thread between
//!   `release_task` and its last switch (`sched_ext_dead`), before 7.3 every reaped task
//!   until the last reference to its `task_struct` is put (`sched_ext_free`, at least an RCU
//!   grace period later). A mass exit can leave as many of those as there were live tasks, so
//!   the margin is as large as the count itself: `2 nr_threads`.
//! - `nelems` is incremented just after a node is linked, one insertion per CPU at a time:
//!   `+ C`. `bucket_table.size` is the table's own number of buckets: no slack.
//!
//! A count that cannot be had (the symbol or member is unknown, the read fails, or it is
//! negative) gives the ceiling ([`CapBasis::NoCount`]; a failed read is also reported as a
//! problem); a count whose cap would pass the ceiling gives the ceiling
//! ([`CapBasis::Ceiling`], which records the count: `nr = u32::MAX` is an absurd one).
//!
//! The ceilings, from the kernel:
//!
//! - [`LIST_NODES_CEILING`] = `PID_MAX_LIMIT + 2 MAX_CPUS` = 4 210 688 nodes on one task list:
//!   every task but the idle ones holds a pid below `pid_max`, which cannot be set above
//!   `PID_MAX_LIMIT` (4 194 304 on 64-bit); the idle tasks are one per CPU (at most
//!   [`MAX_CPUS`]), and the cursors at most as many again.
//! - Across a machine, a task's `dsq_list` node is on one DSQ at most and its `runnable_node`
//!   on one runnable_list at most, so all DSQ lists together (every scheduler's) and all
//!   runnable_lists together hold at most that many nodes too: each kind of list has a
//!   machine-wide budget of `max(list cap's largest value, LIST_NODES_CEILING)` nodes
//!   ([`Limits::list_budget`]), shared by every walk of one [`Guest::walk_machine`]
//!   (each standalone pass has its own). A list the budget cuts says so
//!   ([`CapBasis::Budget`]).
//! - [`RHT_NODES_CEILING`] = 2^20 user DSQs in one `dsq_hash`. The kernel's own limit is the
//!   rhashtable's `max_elems` (2^31), too many to walk; 2^20 is 128 DSQs per CPU of the
//!   largest machine (schedulers create DSQs per CPU, LLC, node or layer), 128 MiB of
//!   `scx_dispatch_q`. A scheduler with more is walked to the ceiling, and the cut says so.
//! - [`RHT_BUCKETS_CEILING`] = 2^21 buckets: the table the kernel grows to for
//!   [`RHT_NODES_CEILING`] entries (it doubles past 75 % load).
//! - [`MAX_CPUS`] = 8192 (the largest `CONFIG_NR_CPUS`), [`MAX_NODES`] = 1024 (`MAX_NUMNODES`
//!   for `NODES_SHIFT` 10): `nr_cpu_ids` and `nr_node_ids` are themselves counts, bounded so.
//!
//! The bucket-chain and sub-scheduler caps count nothing the kernel counts: they are plain
//! numbers. A kernel chain never holds more than `RHT_ELASTICITY` (16) entries (a longer one
//! makes the insertion rehash), far below [`MAX_BUCKET_CHAIN`].
//!
//! # How many reads a walk makes, at most
//!
//! The caps bound the physical reads of every walk, whatever the guest's memory holds. The
//! bound is computed by [`Limits::machine_reads`] and its per-pass parts below, and the
//! adversarial suite (`tests/tests/adversarial.rs`) and the `walk_machine` fuzz target check
//! it with a counting memory. In physical reads (`PhysMem::read` calls), with `N` the largest
//! value the list cap can take ([`Cap::most`]: the ceiling, or the fixed number), `N_B` the
//! list budget, `R` and `B` the same for the user-DSQ and bucket caps:
//!
//! - One *value* (a guest scalar or pointer, or `comm`: at most 16 bytes) costs at most
//!   `v = 2 (1 + L)` reads: it crosses at most one 4 KiB boundary, and each of its (at most
//!   two) pieces is translated (`L` descriptor reads, see [`ReadCost`]: 0 under the linear
//!   rules, 4 or 5 for an x86_64 walk, at most 5 for aarch64) and then read once. A bare
//!   translation (a DSQ's PA-0 check, the rq's PA) costs `L`.
//! - A `list_head` walk with `k` reads per node reads `1 + n (1 + k)` values for `n` nodes
//!   visited: `head.next`, then per node its `next` and `k` more (the cursor flags: `k = 1` on
//!   a DSQ and on `scx_tasks`, `k = 0` on a runnable_list). Past its cap nothing is read.
//! - One DSQ: `Q = L + 4 v` (translate; `id`, `nr`, `seq`; `head.next`), plus `3 v` per node
//!   of its list (`next`, the flags, and the flags again when they fail, for the error that
//!   names them); the nodes of all DSQ lists of a pass (or of a whole machine) are at most
//!   `min(N_B, N × DSQs)`.
//! - Pass 1, per CPU: `L + v (P + 11)` (`P` = 1 when `__per_cpu_offset` is read from the
//!   guest, 0 for a slice; `rq.curr`, 3 scalars, 4 optional ones, `pid` and `comm`,
//!   `head.next`), plus `v` per runnable node, at most `min(N_B, N C)` in all.
//! - Pass 2: `C (v P + 3 Q)` for `C` CPUs (local, reject and rescue DSQ each).
//! - Root: `4 v`. Bypass: `v + C (v P + Q)`. Global: `v + D (v + Q)` for `D = min(nr_nodes,
//!   MAX_NODES)` nodes.
//! - User DSQs: `v (3 + B) + R (Q + 7 v)`: `tbl`, `size` and `nelems`, one head per bucket,
//!   and for each of at most `R` DSQs its header and at most 7 chain reads: a chain is read
//!   once when it holds at most [`CHAIN_BUFFER`] distinct DSQs (every kernel chain), and a
//!   longer one is measured first (cycle detection, then the cycle's start: at most 6 reads
//!   per DSQ it reports) so that each DSQ is reported once.
//! - `scx_tasks`: `v (2 + 2 N)` (`nr_threads`, then the list with `k = 1`).
//! - Sub-schedulers (7.2+): `v (1 + 6 S)` for the hierarchy's lists and state, plus `S` times
//!   one scheduler's bypass, global and user passes, for `S = sub_scheds` sub-schedulers.
//! - The globals of 6.12-6.15 (no `scx_sched`): the root reads 3 values, there is no bypass
//!   pass, and the global and user passes cost what they cost from a `scx_sched`.
//! - `walk_machine`: the sum, with `C = min(nr_cpus, MAX_CPUS)`, the list nodes of every DSQ
//!   counted once against the one budget.
//!
//! Under the default caps and linear translation (`L = 0`, `v = 2`) one DSQ walked alone costs
//! at most 16.8 million reads (a list at the ceiling) and one user-DSQ pass 29.4 million; a
//! 64-CPU machine with one node and no sub-schedulers costs at most 54.1 million reads, the
//! DSQ and runnable lists of the whole machine together 25.3 million of them. Each of the 32
//! sub-schedulers the default cap allows brings its own bypass, global and user passes: 0.99
//! billion for the 64-CPU machine, and 1.06 billion for the largest machine the caps allow
//! (8192 CPUs, 1024 nodes). A caller that walks a guest it distrusts under a time budget
//! fixes lower caps ([`Limits`]; `sub_scheds: 0` walks the root only); the numbers are checked
//! by `tests/tests/adversarial.rs`.
//!
//! [`Guest::walk_machine`]: crate::Guest::walk_machine

/// The kernel's `PID_MAX_LIMIT` on 64-bit: `pid_max` cannot be set above it, so no kernel has
/// more tasks with a pid.
pub const PID_MAX_LIMIT: u32 = 4 * 1024 * 1024;
/// Nodes one task list is never cut below (the fixed cap of earlier versions).
pub const LIST_NODES_FLOOR: u32 = 4096;
/// Nodes one task list never exceeds: `PID_MAX_LIMIT` tasks, one idle task per CPU, as many
/// cursors.
pub const LIST_NODES_CEILING: u32 = PID_MAX_LIMIT + 2 * MAX_CPUS;
/// User DSQs one `dsq_hash` walk is never cut below.
pub const RHT_NODES_FLOOR: u32 = 8192;
/// User DSQs one `dsq_hash` walk never exceeds (see the module docs).
pub const RHT_NODES_CEILING: u32 = 1 << 20;
/// rhashtable buckets enumerated at least.
pub const RHT_BUCKETS_FLOOR: u32 = 65536;
/// rhashtable buckets enumerated at most: the table holding [`RHT_NODES_CEILING`] entries.
pub const RHT_BUCKETS_CEILING: u32 = 1 << 21;
/// Nodes on one bucket chain.
pub const MAX_BUCKET_CHAIN: u32 = 1024;
/// Sub-schedulers visited below the root, across the whole hierarchy.
pub const MAX_SUB_SCHEDS: u32 = 32;
/// Levels of the sub-scheduler hierarchy descended: twice the kernel's `SCX_SUB_MAX_DEPTH`
/// (4 in 7.3), so a deeper hierarchy is reported truncated, not followed without end.
pub const MAX_SCHED_DEPTH: u32 = 8;
/// Distinct nodes of one bucket chain the walk keeps on its stack to tell a chain that loops
/// back from one that goes on: twice the kernel's `RHT_ELASTICITY` (16), so every chain a
/// kernel builds is walked once; a longer one is measured before it is reported.
pub const CHAIN_BUFFER: usize = 32;

/// How one cap is set: from the kernel's count, or by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Cap {
    /// Sized per walk from the kernel's own count plus a slack (see the module docs), never
    /// below `floor` and never above `ceiling` (the ceiling wins when `floor > ceiling`).
    Kernel {
        /// The smallest cap.
        floor: u32,
        /// The largest cap, whatever the count says.
        ceiling: u32,
    },
    /// Exactly this many, whatever the kernel counts.
    Fixed(u32),
}

impl Cap {
    /// The largest value this cap can take (the read bounds are in terms of it).
    #[must_use]
    pub const fn most(self) -> u32 {
        match self {
            Self::Kernel { ceiling, .. } => ceiling,
            Self::Fixed(n) => n,
        }
    }

    /// The smallest value this cap can take.
    #[must_use]
    pub const fn least(self) -> u32 {
        match self {
            Self::Kernel { floor, ceiling } => {
                if floor < ceiling {
                    floor
                } else {
                    ceiling
                }
            }
            Self::Fixed(n) => n,
        }
    }

    /// The cap of one walk of `limit` whose kernel count is `count` (`None`: none to be had)
    /// with `slack` added.
    #[must_use]
    pub fn resolve(self, limit: Limit, count: Option<u32>, slack: u32) -> WalkCap {
        let (value, basis) = match (self, count) {
            (Self::Fixed(n), _) => (n, CapBasis::Fixed),
            (Self::Kernel { ceiling, .. }, None) => (ceiling, CapBasis::NoCount),
            (Self::Kernel { floor, ceiling }, Some(count)) => {
                let want = count.saturating_add(slack);
                if want > ceiling || floor > ceiling {
                    (
                        ceiling,
                        if want > ceiling { CapBasis::Ceiling { count } } else { CapBasis::Count { count } },
                    )
                } else if want < floor {
                    (floor, CapBasis::Floor { count })
                } else {
                    (want, CapBasis::Count { count })
                }
            }
        };
        WalkCap { limit, value, basis }
    }
}

/// Which cap: a member of [`Limits`] or a fixed constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Limit {
    /// [`Limits::list_nodes`] (and the list budget it sets).
    #[default]
    ListNodes,
    /// [`Limits::rht_nodes`].
    RhtNodes,
    /// [`Limits::rht_buckets`].
    RhtBuckets,
    /// [`Limits::bucket_chain`].
    BucketChain,
    /// [`Limits::sub_scheds`].
    SubScheds,
    /// [`MAX_SCHED_DEPTH`].
    SchedDepth,
    // The BPF walks' caps ([`BpfLimits`]), appended.
    /// [`BpfLimits::ids`].
    BpfIds,
    /// [`BpfLimits::idr_nodes`].
    BpfIdrNodes,
    /// [`BpfLimits::sched_progs`].
    BpfSchedProgs,
    /// [`BpfLimits::used_maps`], or the distinct maps one scheduler's programs use.
    BpfUsedMaps,
    /// [`BpfLimits::elems`].
    BpfElems,
    /// [`BpfLimits::hash_buckets`].
    BpfHashBuckets,
    /// [`BpfLimits::storage_bucket_log`] (the value is the buckets it allows).
    BpfStorageBuckets,
    /// [`BpfLimits::chain`]: one hash map's bucket chain.
    BpfChain,
    /// [`BpfLimits::free_ranges`].
    BpfFreeRanges,
    /// [`BpfLimits::links`].
    BpfLinks,
    /// [`BpfLimits::arena_reads`].
    BpfArenaReads,
    /// [`BpfLimits::arena_probes`].
    BpfArenaProbes,
    // Appended after the BPF caps: existing encodings keep their numbers.
    /// [`BpfLimits::owner_storages`]: a task's storage list was not seen to its end.
    BpfOwnerStorages,
    /// [`crate::bpf::place::MAX_OBJECT_TYPES`]: the arena object types the placement follows, and the
    /// list shapes it keeps (one per parent type).
    PlaceObjectTypes,
    /// [`crate::bpf::place::MAX_ANCHORS`]: the anchors of one object type (or the BTF's own bound on
    /// the search for them, [`crate::bpf::Anchors::truncated`]).
    PlaceAnchors,
}

/// How a walk's cap got its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CapBasis {
    /// Fixed by the caller ([`Cap::Fixed`]), or a cap that counts nothing the kernel counts.
    #[default]
    Fixed,
    /// The kernel's count plus the slack fell below the floor: the floor.
    Floor {
        /// The count as read.
        count: u32,
    },
    /// The kernel's count plus the slack.
    Count {
        /// The count as read.
        count: u32,
    },
    /// The kernel's count plus the slack passed the ceiling (an absurd count, or a machine
    /// beyond what the ceiling allows): the ceiling.
    Ceiling {
        /// The count as read.
        count: u32,
    },
    /// No count to be had (the symbol or member is unknown, the read failed, or it was
    /// negative): the ceiling.
    NoCount,
    /// What the machine-wide budget of this kind of list had left ([`Limits::list_budget`]):
    /// the lists walked before it held that many nodes, more than a kernel can have.
    Budget,
}

/// The cap one walk ran under: which, its value, how it was set. On a truncated walk, the
/// cap that cut it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WalkCap {
    /// Which cap.
    pub limit: Limit,
    /// Its value: nodes (or buckets, or sub-schedulers, or levels).
    pub value: u32,
    /// How it was set.
    pub basis: CapBasis,
}

impl WalkCap {
    /// A cap that counts nothing the kernel counts.
    #[must_use]
    pub const fn fixed(limit: Limit, value: u32) -> Self {
        Self { limit, value, basis: CapBasis::Fixed }
    }
}

/// The caps one walk runs under. The default sizes every cap it can from the kernel's own
/// counts (a server with more than 4096 tasks is walked whole); a caller fixes any of them
/// with [`Cap::Fixed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Nodes per `list_head` walk (a DSQ's list, a runnable_list, `scx_tasks`).
    pub list_nodes: Cap,
    /// User DSQs of one `dsq_hash`, across all its buckets.
    pub rht_nodes: Cap,
    /// Buckets of one `dsq_hash`.
    pub rht_buckets: Cap,
    /// Nodes per bucket chain.
    pub bucket_chain: u32,
    /// Sub-schedulers below the root, in all.
    pub sub_scheds: u32,
}

impl Limits {
    /// Every cap from the kernel's counts, between the floors and ceilings above.
    pub const DEFAULT: Self = Self {
        list_nodes: Cap::Kernel { floor: LIST_NODES_FLOOR, ceiling: LIST_NODES_CEILING },
        rht_nodes: Cap::Kernel { floor: RHT_NODES_FLOOR, ceiling: RHT_NODES_CEILING },
        rht_buckets: Cap::Kernel { floor: RHT_BUCKETS_FLOOR, ceiling: RHT_BUCKETS_CEILING },
        bucket_chain: MAX_BUCKET_CHAIN,
        sub_scheds: MAX_SUB_SCHEDS,
    };

    /// Every cap fixed at the floors: the caps of earlier versions (4096 nodes per list,
    /// 8192 user DSQs, 65 536 buckets), for a caller that wants the shortest walks.
    pub const FLOORS: Self = Self {
        list_nodes: Cap::Fixed(LIST_NODES_FLOOR),
        rht_nodes: Cap::Fixed(RHT_NODES_FLOOR),
        rht_buckets: Cap::Fixed(RHT_BUCKETS_FLOOR),
        bucket_chain: MAX_BUCKET_CHAIN,
        sub_scheds: MAX_SUB_SCHEDS,
    };

    /// Nodes all DSQ lists (and, separately, all runnable_lists) of one walk may hold
    /// together: a task is on one of each at most, so no kernel has more than
    /// [`LIST_NODES_CEILING`]; a caller whose fixed list cap is larger gets that.
    #[must_use]
    pub const fn list_budget(&self) -> u32 {
        let most = self.list_nodes.most();
        if most > LIST_NODES_CEILING { most } else { LIST_NODES_CEILING }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The slack of a DSQ's list over its `nr`, and of a runnable_list over its `nr_running`, on
/// a machine of `cpus` CPUs: `2 C + 1` (module docs).
pub(crate) const fn queue_slack(cpus: u32) -> u32 {
    cpus.saturating_mul(2).saturating_add(1)
}

/// The slack of `scx_tasks` over `nr_threads` on a machine of `cpus` CPUs:
/// `nr_threads + 2 C + 1` (module docs).
pub(crate) const fn scx_tasks_slack(nr_threads: u32, cpus: u32) -> u32 {
    nr_threads.saturating_add(queue_slack(cpus))
}

/// The slack of `dsq_hash`'s entries over `nelems` on a machine of `cpus` CPUs: `C`.
pub(crate) const fn hash_slack(cpus: u32) -> u32 {
    cpus
}

/// The nodes each kind of list may still visit in one walk ([`Limits::list_budget`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListBudget {
    /// Nodes left for DSQ lists.
    pub dsq: u32,
    /// Nodes left for runnable_lists.
    pub runnable: u32,
}

impl ListBudget {
    /// A full budget under `limits`.
    pub(crate) const fn new(limits: &Limits) -> Self {
        let n = limits.list_budget();
        Self { dsq: n, runnable: n }
    }

    /// `cap` cut to what `left` allows, then `left` charged with what `visit` reports it
    /// visited.
    pub(crate) fn spend<R>(left: &mut u32, cap: WalkCap, visit: impl FnOnce(WalkCap) -> (R, u32)) -> R {
        let cap =
            if *left < cap.value { WalkCap { value: *left, basis: CapBasis::Budget, ..cap } } else { cap };
        let (r, visited) = visit(cap);
        *left = left.saturating_sub(visited);
        r
    }
}

/// What reading guest memory costs in physical reads, for the bounds above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadCost {
    /// Descriptor reads one translation makes at most: 0 for linear rules only, 4 or 5 for
    /// an x86_64 page walk, up to 5 for aarch64 (levels -1 to 3).
    pub levels: u64,
}

impl ReadCost {
    /// Linear translation only (no page-table reads).
    pub const LINEAR: Self = Self { levels: 0 };

    /// Physical reads of one value of at most 16 bytes: two pieces at most, each translated
    /// and read once: `2 (1 + L)`.
    #[must_use]
    pub const fn value(self) -> u64 {
        self.levels.saturating_add(1).saturating_mul(2)
    }

    /// Physical reads of one bare translation: `L`.
    #[must_use]
    pub const fn translation(self) -> u64 {
        self.levels
    }
}

/// Chain reads per reported user DSQ at most: one when its chain fits [`CHAIN_BUFFER`], and
/// for a longer chain the measurement (cycle detection: fewer than 3 steps per distinct node;
/// the cycle's start: at most 2) and the reporting walk (1): 6, plus one per bucket for the
/// node that ends the buffered walk, counted here.
const CHAIN_READS_PER_DSQ: u64 = 7;

impl Limits {
    /// Values a `list_head` walk reads at most with `per_node` extra reads per node, with
    /// the list cap at its largest: `1 + N (1 + k)`.
    #[must_use]
    pub fn list_walk_values(&self, per_node: u64) -> u64 {
        u64::from(self.list_nodes.most()).saturating_mul(per_node.saturating_add(1)).saturating_add(1)
    }

    /// Physical reads of one DSQ without its list's nodes: `Q = L + 4 v`.
    #[must_use]
    pub fn dsq_header_reads(c: ReadCost) -> u64 {
        c.value().saturating_mul(4).saturating_add(c.translation())
    }

    /// Physical reads of the list nodes of `dsqs` DSQs walked under one budget:
    /// `3 v min(N_B, N dsqs)`.
    #[must_use]
    pub fn dsq_nodes_reads(&self, dsqs: u64, c: ReadCost) -> u64 {
        let nodes = u64::from(self.list_nodes.most()).saturating_mul(dsqs).min(u64::from(self.list_budget()));
        c.value().saturating_mul(3).saturating_mul(nodes)
    }

    /// Physical reads of one DSQ walked alone: `Q + 3 v N`.
    #[must_use]
    pub fn dsq_reads(&self, c: ReadCost) -> u64 {
        Self::dsq_header_reads(c).saturating_add(self.dsq_nodes_reads(1, c))
    }

    /// Physical reads of pass 1 for one CPU without its runnable nodes: `L + v (P + 11)`.
    fn rq_scx_fixed_reads(offsets_in_guest: bool, c: ReadCost) -> u64 {
        c.value()
            .saturating_mul(u64::from(offsets_in_guest).saturating_add(11))
            .saturating_add(c.translation())
    }

    /// Physical reads of the runnable nodes of `cpus` CPUs under one budget:
    /// `v min(N_B, N C)`.
    fn runnable_nodes_reads(&self, cpus: u32, c: ReadCost) -> u64 {
        let nodes = u64::from(self.list_nodes.most())
            .saturating_mul(u64::from(cpus))
            .min(u64::from(self.list_budget()));
        c.value().saturating_mul(nodes)
    }

    /// Physical reads of pass 1 for one CPU walked alone: `L + v (P + 11 + N)`.
    #[must_use]
    pub fn rq_scx_reads(&self, offsets_in_guest: bool, c: ReadCost) -> u64 {
        Self::rq_scx_fixed_reads(offsets_in_guest, c).saturating_add(self.runnable_nodes_reads(1, c))
    }

    /// DSQs of pass 2 over `cpus` CPUs, and its reads without their nodes: `C (v P + 3 Q)`.
    fn local_dsqs_fixed(cpus: u32, offsets_in_guest: bool, c: ReadCost) -> (u64, u64) {
        let per_cpu = c
            .value()
            .saturating_mul(u64::from(offsets_in_guest))
            .saturating_add(Self::dsq_header_reads(c).saturating_mul(3));
        (u64::from(cpus).saturating_mul(3), per_cpu.saturating_mul(u64::from(cpus)))
    }

    /// Physical reads of pass 2 over `cpus` CPUs, walked alone.
    #[must_use]
    pub fn local_dsqs_reads(&self, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let (dsqs, fixed) = Self::local_dsqs_fixed(cpus, offsets_in_guest, c);
        fixed.saturating_add(self.dsq_nodes_reads(dsqs, c))
    }

    /// Physical reads of `read_root`: `4 v`.
    #[must_use]
    pub fn root_reads(c: ReadCost) -> u64 {
        c.value().saturating_mul(4)
    }

    /// DSQs of one scheduler's bypass, global and user passes over `cpus` CPUs and `nodes`
    /// nodes, and their reads without the DSQs' nodes: `v + C (v P + Q)`, `v + D (v + Q)`,
    /// `v (3 + B) + R (Q + 7 v)`.
    fn sched_dsqs_fixed(&self, cpus: u32, nodes: u32, offsets_in_guest: bool, c: ReadCost) -> (u64, u64) {
        let (v, q) = (c.value(), Self::dsq_header_reads(c));
        let (cpus, nodes) = (u64::from(cpus), u64::from(nodes.min(MAX_NODES)));
        let (r, b) = (u64::from(self.rht_nodes.most()), u64::from(self.rht_buckets.most()));
        let bypass = v.saturating_mul(u64::from(offsets_in_guest)).saturating_add(q).saturating_mul(cpus);
        let global = v.saturating_add(q).saturating_mul(nodes);
        let user = v
            .saturating_mul(b.saturating_add(3))
            .saturating_add(q.saturating_add(v.saturating_mul(CHAIN_READS_PER_DSQ)).saturating_mul(r));
        let reads = v.saturating_mul(2).saturating_add(bypass).saturating_add(global).saturating_add(user);
        (cpus.saturating_add(nodes).saturating_add(r), reads)
    }

    /// Physical reads of the bypass-DSQ pass over `cpus` CPUs, walked alone.
    #[must_use]
    pub fn bypass_dsqs_reads(&self, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let per_cpu =
            c.value().saturating_mul(u64::from(offsets_in_guest)).saturating_add(Self::dsq_header_reads(c));
        per_cpu
            .saturating_mul(u64::from(cpus))
            .saturating_add(c.value())
            .saturating_add(self.dsq_nodes_reads(u64::from(cpus), c))
    }

    /// Physical reads of the global-DSQ pass over `nodes` nodes, walked alone.
    #[must_use]
    pub fn global_dsqs_reads(&self, nodes: u32, c: ReadCost) -> u64 {
        let nodes = u64::from(nodes.min(MAX_NODES));
        let per_node = c.value().saturating_add(Self::dsq_header_reads(c));
        per_node
            .saturating_mul(nodes)
            .saturating_add(c.value())
            .saturating_add(self.dsq_nodes_reads(nodes, c))
    }

    /// Physical reads of the user-DSQ pass, walked alone: `v (3 + B) + R (Q + 7 v)` and the
    /// DSQs' nodes.
    #[must_use]
    pub fn user_dsqs_reads(&self, c: ReadCost) -> u64 {
        let (v, r) = (c.value(), u64::from(self.rht_nodes.most()));
        let table = v.saturating_mul(u64::from(self.rht_buckets.most()).saturating_add(3));
        let per_dsq = Self::dsq_header_reads(c).saturating_add(v.saturating_mul(CHAIN_READS_PER_DSQ));
        table.saturating_add(per_dsq.saturating_mul(r)).saturating_add(self.dsq_nodes_reads(r, c))
    }

    /// Physical reads of the `scx_tasks` walk: `v (2 + 2 N)`.
    #[must_use]
    pub fn scx_tasks_reads(&self, c: ReadCost) -> u64 {
        c.value().saturating_mul(self.list_walk_values(1).saturating_add(1))
    }

    /// Physical reads of one scheduler's own DSQs (bypass, global, user) over `cpus` CPUs and
    /// `nodes` nodes, walked alone.
    #[must_use]
    pub fn sched_dsqs_reads(&self, cpus: u32, nodes: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let (dsqs, fixed) = self.sched_dsqs_fixed(cpus, nodes, offsets_in_guest, c);
        fixed.saturating_add(self.dsq_nodes_reads(dsqs, c))
    }

    /// DSQs and reads (without the DSQs' nodes) of the sub-scheduler walk:
    /// `v (1 + 6 S) + S (bypass + global + user)` for `S = sub_scheds`: the root's
    /// `children.next`, then per sub-scheduler its `sibling.next`, four state values
    /// (`exit_kind`, `aborting`, `bypass_depth`, `level`), its own `children.next`, and its
    /// DSQs.
    fn sub_scheds_fixed(&self, cpus: u32, nodes: u32, offsets_in_guest: bool, c: ReadCost) -> (u64, u64) {
        let s = u64::from(self.sub_scheds);
        let lists = c.value().saturating_mul(s.saturating_mul(6).saturating_add(1));
        let (dsqs, fixed) = self.sched_dsqs_fixed(cpus, nodes, offsets_in_guest, c);
        (dsqs.saturating_mul(s), lists.saturating_add(fixed.saturating_mul(s)))
    }

    /// Physical reads of the sub-scheduler walk, walked alone.
    #[must_use]
    pub fn sub_scheds_reads(&self, cpus: u32, nodes: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let (dsqs, fixed) = self.sub_scheds_fixed(cpus, nodes, offsets_in_guest, c);
        fixed.saturating_add(self.dsq_nodes_reads(dsqs, c))
    }

    /// Physical reads of `Guest::walk_machine` at most, for a guest claiming `nr_cpus` CPUs
    /// and `nr_nodes` nodes (the walk visits at most `MAX_CPUS` and `MAX_NODES` of them):
    /// every pass's own reads, and the nodes of all DSQ lists and of all runnable_lists
    /// each counted once against the walk's budget.
    #[must_use]
    pub fn machine_reads(&self, nr_cpus: u32, nr_nodes: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let cpus = nr_cpus.min(MAX_CPUS);
        let rq = Self::rq_scx_fixed_reads(offsets_in_guest, c).saturating_mul(u64::from(cpus));
        let (local_dsqs, local) = Self::local_dsqs_fixed(cpus, offsets_in_guest, c);
        let (root_dsqs, root) = self.sched_dsqs_fixed(cpus, nr_nodes, offsets_in_guest, c);
        let (sub_dsqs, subs) = self.sub_scheds_fixed(cpus, nr_nodes, offsets_in_guest, c);
        let dsqs = local_dsqs.saturating_add(root_dsqs).saturating_add(sub_dsqs);
        Self::root_reads(c)
            .saturating_add(rq)
            .saturating_add(self.runnable_nodes_reads(cpus, c))
            .saturating_add(local)
            .saturating_add(root)
            .saturating_add(subs)
            .saturating_add(self.dsq_nodes_reads(dsqs, c))
            .saturating_add(self.scx_tasks_reads(c))
    }
}

/// CPUs a per-CPU walk visits at most: the kernel's largest `CONFIG_NR_CPUS`. A hostile or
/// misread `nr_cpu_ids` cannot make the walk run longer than this.
pub const MAX_CPUS: u32 = 8192;
/// NUMA nodes the global-DSQ walk visits at most: `MAX_NUMNODES` for the kernel's largest
/// `NODES_SHIFT` (10).
pub const MAX_NODES: u32 = 1024;

/// Entries one BPF ID table walk reports (`prog_idr`, `map_idr`, ...): a loaded machine has a
/// few hundred programs and maps.
pub const MAX_BPF_IDS: u32 = 4096;
/// xarray nodes one ID table walk visits: 4096 ids fill 65 nodes of 64 slots.
pub const MAX_BPF_IDR_NODES: u32 = 1024;
/// Programs of one struct_ops map (`funcs_cnt`): `sched_ext_ops` has about 40 callbacks.
pub const MAX_SCHED_PROGS: u32 = 128;
/// Maps one program uses: the kernel's `MAX_USED_MAPS`.
pub const MAX_USED_MAPS: u32 = 64;
/// Elements (or arena pages) one map-contents pass hands to the visitor at least: the floor
/// of the cap each map's pass gets from what the kernel bounds it by (see
/// [`BpfLimits::elems`]).
pub const MAX_MAP_ELEMS: u32 = 4096;
/// Elements one map-contents pass hands at most, whatever the map claims: a task storage
/// holds at most one element per task, so no more than the largest task list
/// ([`LIST_NODES_CEILING`]); an array or hash map past it is cut, and says so.
pub const MAP_ELEMS_CEILING: u32 = LIST_NODES_CEILING;
/// Hash buckets one pass visits at least: the floor of the cap sized from the map's own
/// `n_buckets` (`roundup_pow_of_two(max_entries)`).
pub const MAX_HASH_BUCKETS: u32 = 1 << 16;
/// Hash buckets one pass visits at most: a map of [`MAP_ELEMS_CEILING`] elements has
/// `2^23` buckets.
pub const HASH_BUCKETS_CEILING: u32 = 1 << 23;
/// `bucket_log` of a local-storage map at most: the kernel sizes it to the possible CPUs.
pub const MAX_STORAGE_BUCKET_LOG: u32 = 16;
/// Storages on one owner's list (one per local-storage map that holds a value for it).
pub const MAX_OWNER_STORAGES: u32 = 64;
/// Free ranges of one arena's range tree visited.
pub const MAX_ARENA_FREE_RANGES: u32 = 4096;
/// Translations one arena pass makes to find its allocated pages among the pages no free
/// range holds: a reserved run costs one per absent page-table entry (4-GiB arena: 2048
/// entries of 2 MiB), an allocated page one.
pub const MAX_ARENA_PROBES: u32 = 1 << 16;
/// Depth of the arena's free-range rb-tree followed: an rb-tree of `n` nodes is at most
/// `2 log2(n + 1)` deep, 64 covers any tree of 4-GiB arena pages.
pub const MAX_RBTREE_DEPTH: u32 = 64;
/// Objects one arena chain follows at most: a ceiling on the cap each chain gets from its
/// arena's size (see `bpf::place`), which on a kernel's arena never fires before a chain ends
/// or its loop is found. Equal to the placement's read budget, which bounds it anyway
/// (scx_qmap's free list alone is up to `max_tasks`, 16384 by default, long).
pub const MAX_ARENA_LINKS: u32 = MAX_ARENA_READS;
/// Arena reads one placement makes (each anchor, link and back link followed is one): the
/// placement's work, whatever the anchors, links and lists the BTF and the arena claim.
pub const MAX_ARENA_READS: u32 = 1 << 20;

/// The caps of the BPF walkers (`scxray_core::bpf`), beside the kernel walkers' [`Limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfLimits {
    /// Entries per ID table.
    pub ids: u32,
    /// xarray nodes per ID table.
    pub idr_nodes: u32,
    /// Programs of one struct_ops map.
    pub sched_progs: u32,
    /// Maps per program (`used_map_cnt`).
    pub used_maps: u32,
    /// Elements (or pages) per map-contents pass; per-CPU copies count once per element.
    /// Sized per map from what the kernel bounds its elements by ([`Cap::Kernel`]): an
    /// array's, a queue's or a stack's `max_entries`, a hash map's `max_entries` plus one
    /// per CPU (an insertion racing the full check), an arena's pages (`max_entries`); a
    /// local storage, which the kernel does not count, gets the ceiling.
    pub elems: Cap,
    /// Buckets per hash map, sized from the map's own `n_buckets`.
    pub hash_buckets: Cap,
    /// Elements per bucket chain of a hash map (a local storage's chains are held by
    /// `elems`: every node it visits counts).
    pub chain: u32,
    /// `bucket_log` of a local-storage map.
    pub storage_bucket_log: u32,
    /// Storages on one owner's (task's) list.
    pub owner_storages: u32,
    /// Free ranges of an arena's range tree.
    pub free_ranges: u32,
    /// Translations per arena pass (allocated and reserved pages).
    pub arena_probes: u32,
    /// Objects followed per arena list walk.
    pub links: u32,
    /// Arena reads per placement.
    pub arena_reads: u32,
}

impl BpfLimits {
    /// The cap on one map pass's elements, sized from `count` (what the kernel bounds them
    /// by, `None`: nothing) plus `slack`. A per-CPU map hands each element once per CPU
    /// (`copies`): its elements are held to the ceiling divided by the copies (never below
    /// the floor), so the values handed stay near the ceiling whatever `max_entries` claims.
    #[must_use]
    pub fn elems_cap(&self, count: Option<u32>, slack: u32, copies: u32) -> WalkCap {
        let cap = self.elems.resolve(Limit::BpfElems, count, slack);
        let most = self.elems.most().checked_div(copies).unwrap_or(self.elems.most()).max(self.elems.least());
        if cap.value > most {
            WalkCap { value: most, basis: CapBasis::Ceiling { count: count.unwrap_or(u32::MAX) }, ..cap }
        } else {
            cap
        }
    }

    /// The default caps.
    pub const DEFAULT: Self = Self {
        ids: MAX_BPF_IDS,
        idr_nodes: MAX_BPF_IDR_NODES,
        sched_progs: MAX_SCHED_PROGS,
        used_maps: MAX_USED_MAPS,
        elems: Cap::Kernel { floor: MAX_MAP_ELEMS, ceiling: MAP_ELEMS_CEILING },
        hash_buckets: Cap::Kernel { floor: MAX_HASH_BUCKETS, ceiling: HASH_BUCKETS_CEILING },
        chain: MAX_BUCKET_CHAIN,
        storage_bucket_log: MAX_STORAGE_BUCKET_LOG,
        owner_storages: MAX_OWNER_STORAGES,
        free_ranges: MAX_ARENA_FREE_RANGES,
        arena_probes: MAX_ARENA_PROBES,
        links: MAX_ARENA_LINKS,
        arena_reads: MAX_ARENA_READS,
    };
}

/// Members of `struct bpf_map` a map header reads ([`BpfLimits::map_header_reads`]).
const MAP_HEADER_VALUES: u64 = 12;
/// Members of `struct bpf_prog` and `bpf_prog_aux` a program header reads.
const PROG_HEADER_VALUES: u64 = 15;
/// Members of `struct btf` a BTF header reads.
const BTF_HEADER_VALUES: u64 = 6;
/// Slots of an xarray node at most.
const XA_SLOTS: u64 = 64;
/// Task fields of one map value the placement reads at most, and what each costs (a task
/// pointer: the pointer, then the task's pid).
const PLACE_FIELD_VALUES: u64 = 8 * 2;

/// # How many reads a BPF walk makes, at most
///
/// As for the kernel walks ([`Limits`]), in physical reads, with `v = 2 (1 + L)` per value
/// (a read of at most 256 bytes crosses at most one 4 KiB boundary: the walkers read a
/// struct's members in one such window when they fit, else one by one), `P` = 1 when the
/// per-CPU offsets are read from the guest, `C` CPUs (at most [`MAX_CPUS`]), and the caps:
/// `E` = ids, `X` = idr_nodes, `F` = sched_progs, `U` = used_maps, `N` = elems,
/// `B` = hash_buckets, `Lg` = storage_bucket_log, `O` = owner_storages, `R` = free_ranges,
/// `D` = [`MAX_RBTREE_DEPTH`], `A` = arena_reads, `Q` = arena_probes.
///
/// - a map header `12 v`, a BTF header `6 v`, a program header `v (15 + C (P + 3))` (its
///   statistics: each CPU's offset and copy);
/// - the xarray of an ID table `v (2 + X (1 + 64))` (head, base; each node's shift and
///   slots), then one header per entry: `E` of them;
/// - a scheduler's walk: its callbacks, the `map_idr` xarray with the type, `priv` and
///   callbacks of each entry (`3 v`), the struct_ops map's header, `funcs_cnt` and links,
///   the statistics key, then per program its link, the program and per used map the
///   pointer and the map: `v (18 + X (1 + 64) + 3 E) + F (2 v + prog + 13 v U)`;
/// - one map's contents, by type: array `v (1 + N (1 + C P))`, hash
///   `v (3 + B + N (2 + C P))`, local storage `v (2 + 2^Lg + 4 N)` (`N` nodes visited, another
///   map's counted too), queue/stack `3 v`, arena
///   `v (6 + 4 R) + L (Q + N)` (its members, the free-range tree's nodes, a translation per
///   probe and per page handed),
///   struct_ops and the others 0 (values are read by the visitor, through readers bounded by
///   `value_size`);
/// - one task's storage lookup `v (2 + 2 O)`;
/// - a placement over `M` maps and `T` tasks: per map its header, its contents and 16 values
///   per element handed (`N C` at most), the arena's members, per map its header and per
///   task a storage lookup and 4 pointers, the globals' pages found (16 tree searches of
///   `4 v D`), and `A` arena reads, each two tree searches and a value.
impl BpfLimits {
    /// Physical reads of one map header: `12 v`.
    #[must_use]
    pub fn map_header_reads(c: ReadCost) -> u64 {
        c.value().saturating_mul(MAP_HEADER_VALUES)
    }

    /// Physical reads of one BTF header: `6 v`.
    #[must_use]
    pub fn btf_header_reads(c: ReadCost) -> u64 {
        c.value().saturating_mul(BTF_HEADER_VALUES)
    }

    /// Physical reads of one program header with its statistics over `cpus` CPUs:
    /// `v (15 + C (P + 3))`.
    #[must_use]
    pub fn prog_header_reads(cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let per_cpu = u64::from(offsets_in_guest).saturating_add(3);
        let values = u64::from(cpus.min(MAX_CPUS)).saturating_mul(per_cpu).saturating_add(PROG_HEADER_VALUES);
        c.value().saturating_mul(values)
    }

    /// Physical reads of an ID table's xarray: `v (2 + X (1 + 64))`.
    #[must_use]
    pub fn idr_reads(&self, c: ReadCost) -> u64 {
        let nodes = u64::from(self.idr_nodes).saturating_mul(XA_SLOTS.saturating_add(1));
        c.value().saturating_mul(nodes.saturating_add(2))
    }

    /// Physical reads of `Walker::walk_id_table` over the table whose entries' headers
    /// cost `header` reads each (one of the functions above; a link's is `v`), plus the
    /// statistics key for programs: `idr + E header + v`.
    #[must_use]
    pub fn id_table_reads(&self, header: u64, c: ReadCost) -> u64 {
        self.idr_reads(c).saturating_add(u64::from(self.ids).saturating_mul(header)).saturating_add(c.value())
    }

    /// Physical reads of `Walker::walk_sched`: `v (18 + X (1 + 64) + 3 E) + F (2 v + prog
    /// + 13 v U)`.
    #[must_use]
    pub fn sched_reads(&self, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let v = c.value();
        let entries = v.saturating_mul(u64::from(self.ids).saturating_mul(3).saturating_add(16));
        let per_prog = v
            .saturating_mul(2)
            .saturating_add(Self::prog_header_reads(cpus, offsets_in_guest, c))
            .saturating_add(v.saturating_mul(13).saturating_mul(u64::from(self.used_maps)));
        self.idr_reads(c)
            .saturating_add(entries)
            .saturating_add(per_prog.saturating_mul(u64::from(self.sched_progs)))
    }

    /// Physical reads of `Walker::walk_contents` of any one map: the largest of the types'
    /// (see the section above).
    #[must_use]
    pub fn contents_reads(&self, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let v = c.value();
        let n = u64::from(self.elems.most());
        let cp = u64::from(cpus.min(MAX_CPUS)).saturating_mul(u64::from(offsets_in_guest));
        let array = v.saturating_mul(n.saturating_mul(cp.saturating_add(1)).saturating_add(1));
        let hash = v.saturating_mul(
            n.saturating_mul(cp.saturating_add(2))
                .saturating_add(u64::from(self.hash_buckets.most()))
                .saturating_add(3),
        );
        let buckets = 1u64.checked_shl(self.storage_bucket_log.min(31)).unwrap_or(u64::MAX);
        let storage = v.saturating_mul(n.saturating_mul(4).saturating_add(buckets).saturating_add(2));
        let queue = v.saturating_mul(3);
        let arena = v
            .saturating_mul(u64::from(self.free_ranges).saturating_mul(4).saturating_add(6))
            .saturating_add(c.translation().saturating_mul(n.saturating_add(u64::from(self.arena_probes))));
        array.max(hash).max(storage).max(queue).max(arena)
    }

    /// Physical reads of one `Walker::task_storage`: `v (2 + 2 O)`.
    #[must_use]
    pub fn task_storage_reads(&self, c: ReadCost) -> u64 {
        c.value().saturating_mul(u64::from(self.owner_storages).saturating_mul(2).saturating_add(2))
    }

    /// Physical reads of one search of an arena's free-range tree: `4 v D`.
    #[must_use]
    pub fn page_state_reads(c: ReadCost) -> u64 {
        c.value().saturating_mul(4).saturating_mul(u64::from(MAX_RBTREE_DEPTH))
    }

    /// Physical reads of `Walker::place_tasks` over `maps` maps and `tasks` tasks.
    #[must_use]
    pub fn place_reads(&self, maps: u64, tasks: u64, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let v = c.value();
        let header = Self::map_header_reads(c);
        let values = u64::from(self.elems.most()).saturating_mul(u64::from(cpus.min(MAX_CPUS)));
        let search = header
            .saturating_add(self.contents_reads(cpus, offsets_in_guest, c))
            .saturating_add(values.saturating_mul(PLACE_FIELD_VALUES).saturating_mul(v));
        let per_task = self.task_storage_reads(c).saturating_add(v.saturating_mul(4));
        let storage = header.saturating_add(per_task.saturating_mul(tasks));
        let page = Self::page_state_reads(c);
        let arena_read = page.saturating_mul(2).saturating_add(v);
        maps.saturating_mul(search.saturating_add(storage))
            .saturating_add(v.saturating_mul(6))
            .saturating_add(page.saturating_mul(16))
            .saturating_add(u64::from(self.arena_reads).saturating_mul(arena_read))
    }
}

impl Default for BpfLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
