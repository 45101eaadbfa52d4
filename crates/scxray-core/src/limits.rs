//! Caps on every pointer chase. Guest memory is hostile: each walk is bounded, and a cap that
//! fires sets `truncated` on the output it cut.
//!
//! # How many reads a walk makes, at most
//!
//! The caps bound the physical reads of every walk, whatever the guest's memory holds. The
//! bound is computed by [`Limits::machine_reads`] and its per-pass parts below, and the
//! adversarial suite (`tests/tests/adversarial.rs`) and the `walk_machine` fuzz target check
//! it with a counting memory. In physical reads (`PhysMem::read` calls):
//!
//! - One *value* (a guest scalar or pointer, or `comm`: at most 16 bytes) costs at most
//!   `v = 2 (1 + L)` reads: it crosses at most one 4 KiB boundary, and each of its (at most
//!   two) pieces is translated (`L` descriptor reads, see [`ReadCost`]: 0 under the linear
//!   rules, 4 or 5 for an x86_64 walk, at most 5 for aarch64) and then read once. A bare
//!   translation (a DSQ's PA-0 check, the rq's PA) costs `L`.
//! - A `list_head` walk of cap `N` with `k` reads per node reads at most `1 + N (1 + k)` values:
//!   `head.next`, then per node its `next` and `k` more (the cursor flags: `k = 1` on a DSQ and
//!   on `scx_tasks`, `k = 0` on a runnable_list). Past `N` nodes nothing more is read.
//! - One DSQ: `Q = L + v (3 + 1 + 2 N)` (translate; `id`, `nr`, `seq`; its list with `k = 1`).
//! - Pass 1, per CPU: `L + v (P + 10 + 1 + N)`: `P` = 1 when `__per_cpu_offset` is read from
//!   the guest (0 for a slice), `rq.curr`, 3 scalars, 4 optional ones, `pid` and `comm`, then
//!   the runnable_list (`k = 0`).
//! - Pass 2: `C (v P + 3 Q)` for `C` CPUs (local, reject and rescue DSQ each).
//! - Root: `4 v`. Bypass: `v + C (v P + Q)`. Global: `v + D (v + Q)` for `D = min(nr_nodes,
//!   MAX_NODES)` nodes.
//! - User DSQs: `v (2 + B) + R (Q + v)`: `tbl` and `size`, one head per bucket for
//!   `B = rht_buckets` buckets at most, and for each of at most `R = rht_nodes` nodes its DSQ
//!   and its `next`.
//! - `scx_tasks`: `v (1 + 2 N)`.
//! - Sub-schedulers (7.2+): `v (1 + 6 S)` for the hierarchy's lists and state, plus `S` times
//!   one scheduler's bypass, global and user passes, for `S = sub_scheds` sub-schedulers.
//! - The globals of 6.12-6.15 (no `scx_sched`): the root reads 3 values, there is no bypass
//!   pass, and the global and user passes cost what they cost from a `scx_sched`.
//! - `walk_machine`: the sum, with `C = min(nr_cpus, MAX_CPUS)`.
//!
//! Under the default caps and linear translation (`L = 0`, `v = 2`) one DSQ costs at most
//! 16 392 reads and the user-DSQ pass 134.4 million (8192 DSQs, each with a full list); a
//! 64-CPU machine with one node and no sub-schedulers costs at most 139.2 million reads. Each
//! of the 32 sub-schedulers the default cap allows brings its own bypass, global and user
//! passes: 4.48 billion for the 64-CPU machine, and 9.89 billion for the largest machine the
//! caps allow (8192 CPUs, 1024 nodes): bounded, but large. A caller that walks a guest it
//! distrusts under a time budget lowers the caps ([`Limits`]; `sub_scheds: 0` walks the root
//! only); the numbers are checked by `tests/tests/adversarial.rs`.

/// Nodes visited on any one `list_head` walk (runnable_list, a DSQ's list, scx_tasks).
pub const MAX_LIST_NODES: u32 = 4096;
/// Total rhashtable nodes visited across all buckets of `dsq_hash`.
pub const MAX_RHT_NODES: u32 = 8192;
/// rhashtable buckets enumerated; a larger `bucket_table.size` is a truncation.
pub const MAX_RHT_BUCKETS: u32 = 65536;
/// Nodes on one bucket chain.
pub const MAX_BUCKET_CHAIN: u32 = 1024;
/// Sub-schedulers visited below the root, across the whole hierarchy.
pub const MAX_SUB_SCHEDS: u32 = 32;
/// Levels of the sub-scheduler hierarchy descended: twice the kernel's `SCX_SUB_MAX_DEPTH`
/// (4 in 7.3), so a deeper hierarchy is reported truncated, not followed without end.
pub const MAX_SCHED_DEPTH: u32 = 8;

/// The caps one walk runs under. Defaults are the constants above; a caller walking a big
/// machine in streaming form may raise them (a server has more than 4096 tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Nodes per `list_head` walk.
    pub list_nodes: u32,
    /// rhashtable nodes across all buckets.
    pub rht_nodes: u32,
    /// rhashtable buckets.
    pub rht_buckets: u32,
    /// Nodes per bucket chain.
    pub bucket_chain: u32,
    /// Sub-schedulers below the root, in all.
    pub sub_scheds: u32,
}

impl Limits {
    /// The caps of the specification.
    pub const DEFAULT: Self = Self {
        list_nodes: MAX_LIST_NODES,
        rht_nodes: MAX_RHT_NODES,
        rht_buckets: MAX_RHT_BUCKETS,
        bucket_chain: MAX_BUCKET_CHAIN,
        sub_scheds: MAX_SUB_SCHEDS,
    };
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

impl Limits {
    /// Values a `list_head` walk reads at most with `per_node` extra reads per node:
    /// `1 + N (1 + k)`.
    #[must_use]
    pub fn list_walk_values(&self, per_node: u64) -> u64 {
        u64::from(self.list_nodes).saturating_mul(per_node.saturating_add(1)).saturating_add(1)
    }

    /// Physical reads of one DSQ walk: `L + v (4 + 2 N)`.
    #[must_use]
    pub fn dsq_reads(&self, c: ReadCost) -> u64 {
        c.value().saturating_mul(self.list_walk_values(1).saturating_add(3)).saturating_add(c.translation())
    }

    /// Physical reads of pass 1 for one CPU: `L + v (P + 11 + N)`.
    #[must_use]
    pub fn rq_scx_reads(&self, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let values = self.list_walk_values(0).saturating_add(10).saturating_add(u64::from(offsets_in_guest));
        c.value().saturating_mul(values).saturating_add(c.translation())
    }

    /// Physical reads of pass 2 over `cpus` CPUs: `C (v P + 3 Q)`.
    #[must_use]
    pub fn local_dsqs_reads(&self, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let per_cpu = c
            .value()
            .saturating_mul(u64::from(offsets_in_guest))
            .saturating_add(self.dsq_reads(c).saturating_mul(3));
        per_cpu.saturating_mul(u64::from(cpus))
    }

    /// Physical reads of `read_root`: `4 v`.
    #[must_use]
    pub fn root_reads(c: ReadCost) -> u64 {
        c.value().saturating_mul(4)
    }

    /// Physical reads of the bypass-DSQ pass over `cpus` CPUs: `v + C (v P + Q)`.
    #[must_use]
    pub fn bypass_dsqs_reads(&self, cpus: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let per_cpu = c.value().saturating_mul(u64::from(offsets_in_guest)).saturating_add(self.dsq_reads(c));
        per_cpu.saturating_mul(u64::from(cpus)).saturating_add(c.value())
    }

    /// Physical reads of the global-DSQ pass over `nodes` nodes: `v + D (v + Q)`.
    #[must_use]
    pub fn global_dsqs_reads(&self, nodes: u32, c: ReadCost) -> u64 {
        let nodes = nodes.min(MAX_NODES);
        let per_node = c.value().saturating_add(self.dsq_reads(c));
        per_node.saturating_mul(u64::from(nodes)).saturating_add(c.value())
    }

    /// Physical reads of the user-DSQ pass: `v (2 + B) + R (Q + v)`.
    #[must_use]
    pub fn user_dsqs_reads(&self, c: ReadCost) -> u64 {
        let table = c.value().saturating_mul(u64::from(self.rht_buckets).saturating_add(2));
        let per_node = self.dsq_reads(c).saturating_add(c.value());
        table.saturating_add(per_node.saturating_mul(u64::from(self.rht_nodes)))
    }

    /// Physical reads of the `scx_tasks` walk: `v (1 + 2 N)`.
    #[must_use]
    pub fn scx_tasks_reads(&self, c: ReadCost) -> u64 {
        c.value().saturating_mul(self.list_walk_values(1))
    }

    /// Physical reads of one scheduler's own DSQs (bypass, global, user) over `cpus` CPUs and
    /// `nodes` nodes.
    #[must_use]
    pub fn sched_dsqs_reads(&self, cpus: u32, nodes: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        self.bypass_dsqs_reads(cpus, offsets_in_guest, c)
            .saturating_add(self.global_dsqs_reads(nodes, c))
            .saturating_add(self.user_dsqs_reads(c))
    }

    /// Physical reads of the sub-scheduler walk: `v (1 + 6 S) + S (bypass + global + user)`
    /// for `S = sub_scheds`: the root's `children.next`, then per sub-scheduler its
    /// `sibling.next`, four state values (`exit_kind`, `aborting`, `bypass_depth`, `level`),
    /// its own `children.next`, and its DSQs.
    #[must_use]
    pub fn sub_scheds_reads(&self, cpus: u32, nodes: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let s = u64::from(self.sub_scheds);
        let lists = c.value().saturating_mul(s.saturating_mul(6).saturating_add(1));
        lists.saturating_add(s.saturating_mul(self.sched_dsqs_reads(cpus, nodes, offsets_in_guest, c)))
    }

    /// Physical reads of `Guest::walk_machine` at most, for a guest claiming `nr_cpus` CPUs
    /// and `nr_nodes` nodes (the walk visits at most `MAX_CPUS` and `MAX_NODES` of them).
    #[must_use]
    pub fn machine_reads(&self, nr_cpus: u32, nr_nodes: u32, offsets_in_guest: bool, c: ReadCost) -> u64 {
        let cpus = nr_cpus.min(MAX_CPUS);
        Self::root_reads(c)
            .saturating_add(self.rq_scx_reads(offsets_in_guest, c).saturating_mul(u64::from(cpus)))
            .saturating_add(self.local_dsqs_reads(cpus, offsets_in_guest, c))
            .saturating_add(self.sched_dsqs_reads(cpus, nr_nodes, offsets_in_guest, c))
            .saturating_add(self.sub_scheds_reads(cpus, nr_nodes, offsets_in_guest, c))
            .saturating_add(self.scx_tasks_reads(c))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// CPUs a per-CPU walk visits at most: the kernel's largest `CONFIG_NR_CPUS`. A hostile or
/// misread `nr_cpu_ids` cannot make the walk run longer than this.
pub const MAX_CPUS: u32 = 8192;
/// NUMA nodes the global-DSQ walk visits at most: `MAX_NUMNODES` for the kernel's largest
/// `NODES_SHIFT` (10).
pub const MAX_NODES: u32 = 1024;
