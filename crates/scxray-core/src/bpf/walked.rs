//! What the BPF walks report of themselves: how each walk ended (`ContentsWalk`,
//! `IdTableWalk`, `SchedWalk`, an `ArenaList`) and the values a [`BpfVisitor`] receives with
//! them. Apart from the walkers so that the visitor (`visit.rs`) and the walkers that call it
//! both import these and neither imports the other's module back.
//!
//! [`BpfVisitor`]: crate::bpf::visit::BpfVisitor

use crate::addr::VirtAddr;
use crate::bpf::header::MapHeader;
use crate::error::ReadError;
use crate::limits::{BpfLimits, Limit, WalkCap};
use core::fmt;

/// A list in the arena: from a parent's first anchor along the forward link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArenaList {
    /// The BTF of the offsets and ids.
    pub btf: VirtAddr,
    /// The struct holding the anchors (offset in the globals: `qa.fifos[2]`).
    pub parent: u64,
    /// Its type.
    pub parent_type: u32,
    /// The anchor the walk starts from (`head`).
    pub first: u64,
    /// The anchor it must end at (`tail`).
    pub last: u64,
    /// The link followed (`q_next`).
    pub forward: u32,
    /// The link that must point back (`q_prev`), when known.
    pub back: Option<u32>,
    /// Objects on the list.
    pub length: u32,
    /// Everything agrees: the walk ended at the last anchor's object, every back link
    /// points at the predecessor, the first's is NULL.
    pub agree: bool,
    /// The first object whose back link disagrees (user address).
    pub bad_back: Option<u64>,
    /// The walk came back to an object it passed.
    pub looped: bool,
    /// A cap cut the walk ([`Self::cap`]).
    pub truncated: bool,
    /// The cap that cut it: the chain's links ([`Limit::BpfLinks`]), or the placement's
    /// arena reads ([`Limit::BpfArenaReads`], an anchor or a link the budget refused).
    pub cap: Option<WalkCap>,
    /// An object could not be read.
    pub error: Option<ArenaError>,
}

/// How a scheduler's struct_ops map was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OpsMatch {
    /// `kvalue.data.priv` is the scheduler (6.16+).
    Priv,
    /// Its callbacks equal the scheduler's (`scx_ops` of 6.12-6.15).
    Callbacks,
}

/// A scheduler's struct_ops map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedOps {
    /// The scheduler (`struct scx_sched`, or `&scx_ops` before 6.16).
    pub sched: VirtAddr,
    /// The struct_ops map.
    pub map: MapHeader,
    /// How it was recognised.
    pub matched_by: OpsMatch,
    /// Whether the registered callbacks equal the scheduler's copy (a cross-check when
    /// matched by `priv`; `None` when either could not be read).
    pub callbacks_agree: Option<bool>,
    /// `bpf_struct_ops_map.funcs_cnt`.
    pub funcs_cnt: u32,
}

/// How the walk from one scheduler ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedWalk {
    /// The scheduler.
    pub sched: VirtAddr,
    /// Its struct_ops map (`None`: not found, see `candidates`).
    pub ops_map: Option<VirtAddr>,
    /// STRUCT_OPS maps in `map_idr`.
    pub candidates: u32,
    /// Of those, how many matched the scheduler (more than one: the first is used).
    pub matches: u32,
    /// Programs reported (set callbacks).
    pub progs: u32,
    /// Distinct maps reported (their addresses are the first `maps` of the caller's buffer).
    pub maps: u32,
    /// A cap fired: `funcs_cnt`, a program's `used_map_cnt`, or the caller's map buffer.
    pub truncated: bool,
    /// Which cap fired first: [`Limit::BpfSchedProgs`] (`funcs_cnt`) or [`Limit::BpfUsedMaps`]
    /// (a program's `used_map_cnt`); `None` with [`Self::maps_full`].
    pub cap: Option<Limit>,
    /// The caller's map buffer was full: distinct maps beyond its length were left out.
    pub maps_full: bool,
    /// The arena the programs use (`bpf_prog_aux.arena`, the first one seen).
    pub arena: Option<VirtAddr>,
    /// The programs' BTF object (`bpf_prog_aux.btf`, the first one seen): the arena
    /// globals' DATASEC is in it.
    pub prog_btf: Option<VirtAddr>,
    /// Programs or maps that could not be read.
    pub unreadable: u32,
    /// The first such failure.
    pub first_error: Option<ReadError>,
    /// The `map_idr` walk that looked for the struct_ops map.
    pub map_idr: IdTableWalk,
}

/// Why arena bytes could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ArenaError {
    /// The address is not inside the arena.
    Outside {
        /// The user address.
        uaddr: u64,
    },
    /// The page is not allocated: there is nothing to read.
    Unallocated {
        /// The page.
        page: u32,
    },
    /// Whether the page is allocated could not be told.
    Unknown {
        /// The page.
        page: u32,
    },
    /// The page is allocated but its memory could not be read.
    Read(ReadError),
    /// The reader's read budget is spent (`BpfLimits::arena_reads`): nothing was read.
    Budget,
}

impl fmt::Display for ArenaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Outside { uaddr } => write!(f, "{uaddr:#x} is outside the arena"),
            Self::Unallocated { page } => write!(f, "arena page {page} is not allocated"),
            Self::Unknown { page } => write!(f, "whether arena page {page} is allocated is unknown"),
            Self::Read(e) => e.fmt(f),
            Self::Budget => f.write_str("the arena read budget is spent"),
        }
    }
}

/// How an ID-table walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IdTableWalk {
    /// Entries found (each handed to the visitor, or counted unreadable).
    pub entries: u32,
    /// xarray nodes visited.
    pub nodes: u32,
    /// A cap fired (entries or nodes): the table goes on beyond what was walked.
    pub truncated: bool,
    /// Which cap fired: [`Limit::BpfIds`] (entries) or [`Limit::BpfIdrNodes`] (xarray nodes);
    /// `None` with [`Self::truncated`] when the layout's xarray geometry is invalid (nothing
    /// walked).
    pub cap: Option<Limit>,
    /// Nodes or slots skipped: unreadable, or breaking the xarray's rules (a loop).
    pub skipped_nodes: u32,
    /// Entries whose header could not be read.
    pub unreadable: u32,
    /// Entries whose own id differs from the table's index (a stale or foreign entry).
    pub id_mismatch: u32,
    /// The first failure (a node, an entry or the table's head).
    pub first_error: Option<ReadError>,
}

/// Which walker read a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ContentsKind {
    /// ARRAY (global-data maps too).
    Array,
    /// PERCPU_ARRAY: each element once per CPU.
    PercpuArray,
    /// HASH or LRU_HASH, bucket by bucket.
    Hash,
    /// PERCPU_HASH or LRU_PERCPU_HASH: each element once per CPU.
    PercpuHash,
    /// A local-storage map (TASK_STORAGE and its kin): each owner's value.
    LocalStorage,
    /// QUEUE, oldest first.
    Queue,
    /// STACK, top first.
    Stack,
    /// ARENA: allocated pages, and the free ranges as absent.
    Arena,
    /// STRUCT_OPS: the registered value.
    StructOps,
    /// Another type: its metadata only, no contents.
    #[default]
    MetadataOnly,
}

bitflags::bitflags! {
    /// Which caps cut a contents pass short.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    pub struct Truncation: u8 {
        /// The element (or page) cap.
        const ELEMS = 1 << 0;
        /// The bucket cap (`n_buckets`, `bucket_log`).
        const BUCKETS = 1 << 1;
        /// A bucket chain reached the chain cap.
        const CHAIN = 1 << 2;
        /// The arena's free-range tree: its node cap or depth cap.
        const FREE_RANGES = 1 << 3;
        /// The visitor stopped the pass.
        const STOPPED = 1 << 4;
        /// The arena's probes of pages that are neither free nor mapped (reserved).
        const PROBES = 1 << 5;
    }
}

bitflags::bitflags! {
    /// What in a map was not as the kernel leaves it (hostile, racing or corrupt memory).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    pub struct Anomaly: u16 {
        /// A chain came back to a node it passed.
        const LOOP = 1 << 0;
        /// A hash chain ended in another bucket's nulls marker (an element moved during
        /// the dump, or corruption).
        const FOREIGN_NULLS = 1 << 1;
        /// An element on this map's list belongs to another map.
        const FOREIGN_ELEM = 1 << 2;
        /// `elem_size` is not what the key and value sizes make.
        const ELEM_SIZE = 1 << 3;
        /// A queue's `head`, `tail` or `size` cannot be the kernel's.
        const BAD_INDICES = 1 << 4;
        /// The arena's free ranges are not in order, or overlap.
        const UNORDERED_RANGES = 1 << 5;
        /// `n_buckets` is not `max_entries` rounded up to a power of two.
        const BUCKET_COUNT = 1 << 6;
        /// The arena's geometry cannot be the kernel's (see `ArenaGeometry::new`).
        const BAD_GEOMETRY = 1 << 7;
        /// A whole arena pass found another number of mapped pages than the kernel counts
        /// (`bpf_arena.nr_pages`, 7.3+): a page mapped though not allocated (a fault's
        /// scratch page on a reserved page), or memory that changed under the dump.
        const PAGE_COUNT = 1 << 8;
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Truncation {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Truncation({=u8:#x})", self.bits());
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Anomaly {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Anomaly({=u16:#x})", self.bits());
    }
}

/// How a map's contents pass ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ContentsWalk {
    /// The walker that ran.
    pub kind: ContentsKind,
    /// Elements (or allocated pages) handed to the visitor; a per-CPU element counts once.
    pub elems: u32,
    /// Values handed (a per-CPU element's copies each count).
    pub values: u32,
    /// Free pages reported absent (arenas).
    pub free_pages: u64,
    /// Reserved pages (arenas): in no free range and not mapped, absent as well.
    pub reserved_pages: u64,
    /// Caps that fired.
    pub truncated: Truncation,
    /// What was not as the kernel leaves it.
    pub anomalies: Anomaly,
    /// Elements, chains or pages that could not be read (skipped).
    pub broken: u32,
    /// The first such failure.
    pub first_error: Option<ReadError>,
    /// The cap on elements (or arena pages) the pass ran under, sized from the map
    /// ([`crate::BpfLimits::elems`]): what [`Truncation::ELEMS`] means.
    pub elems_cap: WalkCap,
    /// The cap on a hash map's buckets ([`crate::BpfLimits::hash_buckets`], sized from the
    /// map) or a local storage's ([`crate::BpfLimits::storage_bucket_log`]): what
    /// [`Truncation::BUCKETS`] means (default for other types).
    pub buckets_cap: WalkCap,
    /// The cap on one bucket's chain of a hash map: [`crate::BpfLimits::chain`] (a kernel
    /// hash chain is short: `n_buckets >= max_entries`): what [`Truncation::CHAIN`] means. A
    /// local storage has none (its buckets are as many as the CPUs, whatever the elements):
    /// every node it visits counts against `elems_cap`.
    pub chain_cap: WalkCap,
}

impl ContentsWalk {
    /// Notes a failure that skipped something.
    pub(crate) fn broke(&mut self, e: ReadError) {
        self.broken = self.broken.saturating_add(1);
        self.first_error.get_or_insert(e);
    }

    /// Whether a cap fired (the visitor stopping is not one).
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        !self.truncated.difference(Truncation::STOPPED).is_empty()
    }

    /// The caps that fired, as the pass recorded them (elements, buckets, a hash map's
    /// chain) or `limits` set them, in the order of [`Truncation`]'s flags (the visitor
    /// stopping is not one).
    pub fn caps(&self, limits: &BpfLimits) -> impl Iterator<Item = WalkCap> + use<> {
        let truncated = self.truncated;
        [
            (Truncation::ELEMS, self.elems_cap),
            (Truncation::BUCKETS, self.buckets_cap),
            (Truncation::CHAIN, self.chain_cap),
            (Truncation::FREE_RANGES, WalkCap::fixed(Limit::BpfFreeRanges, limits.free_ranges)),
            (Truncation::PROBES, WalkCap::fixed(Limit::BpfArenaProbes, limits.arena_probes)),
        ]
        .into_iter()
        .filter(move |(flag, _)| truncated.contains(*flag))
        .map(|(_, cap)| cap)
    }
}
