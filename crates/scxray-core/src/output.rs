//! What the walkers report: plain `Copy` values, the same in the streaming and collected forms.

use crate::addr::{PhysAddr, VirtAddr};
use crate::error::ReadError;
use crate::layout::LayoutGroup;
use crate::limits::WalkCap;
use crate::symbols::Symbol;
use core::fmt;

/// A task found by a walker, for the later per-task pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TaskEntry {
    /// `task_struct` address.
    pub task_kva: VirtAddr,
    /// Found on a CPU's `runnable_list` (tasks on DSQs and on scx_tasks are not).
    pub runnable_in_scx: bool,
}

/// `task_struct.comm`: 16 bytes, NUL-terminated in a sane kernel, anything in a hostile one.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Comm(pub [u8; 16]);

impl Comm {
    /// The bytes before the first NUL (all 16 when there is none).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        before_nul(&self.0)
    }
}

/// The bytes of a kernel `char[]` name before its first NUL (all of them when there is none):
/// `task_struct.comm` here, a BPF object's name in `bpf::types`.
pub(crate) fn before_nul(name: &[u8]) -> &[u8] {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.get(..end).unwrap_or(&[])
}

/// Writes `bytes` as lossy UTF-8: invalid sequences print as U+FFFD.
pub(crate) fn write_lossy(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        f.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            f.write_str("\u{fffd}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Comm {
    /// Lossy UTF-8: invalid sequences print as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lossy(f, self.bytes())
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// The task `rq->curr` points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TaskIdentity {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// `task_struct.pid`.
    pub pid: i32,
    /// `task_struct.comm`.
    pub comm: Comm,
}

/// One CPU's `rq->scx` scalars. A member the kernel does not have is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CpuScx {
    /// CPU index.
    pub cpu: u32,
    /// `struct rq` address.
    pub rq_kva: VirtAddr,
    /// `struct rq` physical address.
    pub rq_pa: PhysAddr,
    /// `scx_rq.nr_running`.
    pub nr_running: u32,
    /// `scx_rq.flags`.
    pub flags: u32,
    /// `scx_rq.cpu_released`.
    pub cpu_released: bool,
    /// `scx_rq.ops_qseq` (absent in 7.2+).
    pub ops_qseq: Option<u64>,
    /// `scx_rq.kick_sync`.
    pub kick_sync: Option<u64>,
    /// `scx_rq.nr_immed`.
    pub nr_immed: Option<u32>,
    /// `scx_rq.clock`.
    pub clock: Option<u64>,
    /// `rq.curr` pointer value (0: no current task; an unreadable `rq.curr` fails the CPU).
    pub curr_kva: VirtAddr,
    /// The current task, when `rq.curr` translated and its pid and comm were read.
    pub curr: Option<TaskIdentity>,
    /// Why `curr` is `None` though `curr_kva` is not 0: the read of its pid or comm that
    /// failed.
    pub curr_error: Option<ReadError>,
}

/// Where a DSQ was found; its label in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DsqOrigin {
    /// `rq->scx.local_dsq`.
    Local {
        /// CPU index.
        cpu: u32,
    },
    /// `rq->scx.reject_dsq` (7.3+).
    Reject {
        /// CPU index.
        cpu: u32,
    },
    /// The DSQ in `rq->scx.rescue` (7.3+).
    Rescue {
        /// CPU index.
        cpu: u32,
    },
    /// `scx_sched_pcpu.bypass_dsq` of the root scheduler.
    Bypass {
        /// CPU index.
        cpu: u32,
    },
    /// `scx_sched_pnode.global_dsq` of the root scheduler.
    Global {
        /// NUMA node.
        node: u32,
    },
    /// A user DSQ from `scx_sched.dsq_hash`.
    User,
}

impl fmt::Display for DsqOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { cpu } => write!(f, "local cpu {cpu}"),
            Self::Reject { cpu } => write!(f, "reject cpu {cpu}"),
            Self::Rescue { cpu } => write!(f, "rescue cpu {cpu}"),
            Self::Bypass { cpu } => write!(f, "bypass cpu {cpu}"),
            Self::Global { node } => write!(f, "global node {node}"),
            Self::User => f.write_str("user"),
        }
    }
}

/// A DSQ's identity and header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DsqHeader {
    /// Where it was found.
    pub origin: DsqOrigin,
    /// `struct scx_dispatch_q` address.
    pub kva: VirtAddr,
    /// Its physical address (never 0: a PA-0 DSQ is not reported).
    pub pa: PhysAddr,
    /// `scx_dispatch_q.id`.
    pub id: u64,
    /// `scx_dispatch_q.nr` (may exceed what was walked).
    pub nr: u32,
    /// `scx_dispatch_q.seq`.
    pub seq: u32,
    /// The scheduler whose DSQ this is (its `struct scx_sched`, or `scx_ops` before 6.16):
    /// `None` for the DSQs a CPU's `rq->scx` embeds.
    pub sched: Option<VirtAddr>,
}

/// How a `list_head` walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListWalk {
    /// Nodes reported to the caller.
    pub reported: u32,
    /// Nodes skipped as iterator cursors or unvalidated.
    pub skipped: u32,
    /// The node cap fired: the list goes on beyond what was walked.
    pub truncated: bool,
    /// The walk stopped early at an unreadable node, or at a NULL `next`
    /// ([`crate::ReadCause::NullPointer`]): a partial walk, not a truncation.
    pub broken: Option<ReadError>,
    /// The cap the walk ran under (when `truncated`, the one that cut it): which, its value,
    /// and whether the kernel's count, a floor, a ceiling, the machine's list budget or the
    /// caller set it.
    pub cap: WalkCap,
}

bitflags::bitflags! {
    /// Which rhashtable caps fired.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    pub struct HashTruncation: u8 {
        /// `bucket_table.size` exceeded the bucket cap.
        const BUCKETS = 1 << 0;
        /// The total node cap fired.
        const NODES = 1 << 1;
        /// At least one bucket chain hit the per-chain cap.
        const CHAIN = 1 << 2;
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for HashTruncation {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "HashTruncation({=u8:#x})", self.bits());
    }
}

/// How the `dsq_hash` walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HashWalk {
    /// `bucket_table.size` as read.
    pub table_size: u32,
    /// Buckets enumerated.
    pub buckets_visited: u32,
    /// Nodes (DSQs) found.
    pub nodes: u32,
    /// Caps that fired.
    pub truncated: HashTruncation,
    /// Chains that ended at an unreadable node or bucket, or at a NULL `next`.
    pub broken_chains: u32,
    /// The first such failure (or the table-level one).
    pub first_error: Option<ReadError>,
    /// The DSQ cap the walk ran under (`nelems` and its slack, or the caller's).
    pub node_cap: WalkCap,
    /// The bucket cap the walk ran under (`bucket_table.size`, or the caller's).
    pub bucket_cap: WalkCap,
    /// The per-chain cap.
    pub chain_cap: u32,
    /// Chains that looped back to a DSQ already in them (a kernel chain ends at its bucket's
    /// nulls marker): each DSQ of such a chain was reported once.
    pub looped_chains: u32,
    /// The first bucket whose chain looped.
    pub first_looped_bucket: Option<u32>,
    /// Chains that ended at another bucket's nulls marker: they ran into another chain
    /// (hostile memory, or a rehash caught moving an entry), so DSQs past the junction may
    /// also have been reported with their own chain.
    pub stray_chains: u32,
    /// The first bucket whose chain ended at another bucket's marker.
    pub first_stray_bucket: Option<u32>,
}

impl HashWalk {
    /// Whether any cap fired.
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        !self.truncated.is_empty()
    }
}

/// Where a root state was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Provenance {
    /// Read from `*scx_root` in the dump.
    Live,
    /// Reconstructed from a copy a BPF probe saved at exit time.
    BssSnapshot,
    /// Read from the kernel globals of 6.12-6.15 (`scx_ops`, `scx_ops_enable_state_var`,
    /// `scx_exit_kind`, ...), before `struct scx_sched` existed; `sched_kva` is `&scx_ops`.
    Globals,
}

/// A scheduler's state: the root's, or a sub-scheduler's ([`SubSched`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedState {
    /// `struct scx_sched` address, to correlate dumps across reloads.
    pub sched_kva: VirtAddr,
    /// `scx_sched.exit_kind` (`enum scx_exit_kind`).
    pub exit_kind: u32,
    /// `scx_sched.aborting` (false when the kernel has no such member).
    pub aborting: bool,
    /// `scx_sched.bypass_depth` (0 when the kernel has no such member).
    pub bypass_depth: i32,
    /// Where this came from.
    pub provenance: Provenance,
}

/// A sub-scheduler (7.2+): a `struct scx_sched` on its parent's `children` list, attached
/// to a cgroup below the parent's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SubSched {
    /// Its state.
    pub state: SchedState,
    /// The scheduler whose `children` list holds it.
    pub parent_kva: VirtAddr,
    /// Its depth in the walk: 1 for a child of the root.
    pub depth: u32,
    /// `scx_sched.level` as the kernel keeps it (should equal `depth`); `None` when the
    /// kernel has no such member.
    pub level: Option<i32>,
}

/// A pass of the whole-machine walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Pass {
    /// Pass 1: `rq->scx` and runnable_list.
    RqScx,
    /// Pass 2: per-CPU DSQs in `rq->scx`.
    LocalDsqs,
    /// Pass 3.1: per-CPU bypass DSQs.
    BypassDsqs,
    /// Pass 3.2: per-node global DSQs.
    GlobalDsqs,
    /// Pass 3.3: user DSQs in `dsq_hash`.
    UserDsqs,
    /// Pass 4: `scx_tasks`.
    ScxTasks,
    /// The scheduler root state.
    Root,
    /// The sub-scheduler hierarchy (`scx_sched.children`).
    SubScheds,
}

/// Something the walk could not do, reported instead of guessed around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Problem {
    /// A pass did not run: the layout lacks a group or member it needs.
    MissingLayout {
        /// The pass.
        pass: Pass,
        /// What was missing.
        group: LayoutGroup,
    },
    /// A pass did not run: a symbol it needs is unknown.
    MissingSymbol {
        /// The pass.
        pass: Pass,
        /// What was missing.
        symbol: Symbol,
    },
    /// A read failed; the pass skipped what depended on it.
    Unreadable {
        /// The pass.
        pass: Pass,
        /// The failed read.
        error: ReadError,
    },
}
