//! Read errors that say which kernel field at which address failed, and why.

use crate::addr::VirtAddr;
use crate::memory::MemError;
use crate::translate::TranslateError;
use core::fmt;

/// The kernel field a walker was reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)] // each variant is documented by its kernel_name()
pub enum Field {
    PerCpuOffset,
    Rq,
    RqCurr,
    ScxRqNrRunning,
    ScxRqFlags,
    ScxRqCpuReleased,
    ScxRqOpsQseq,
    ScxRqKickSync,
    ScxRqNrImmed,
    ScxRqClock,
    TaskPid,
    TaskComm,
    TaskTgid,
    TaskState,
    TaskOnRq,
    TaskCpusPtr,
    SeeDsq,
    SeeOpsState,
    SeeDdspDsqId,
    SeeWeight,
    SeeStickyCpu,
    SeeHoldingCpu,
    SeeRunnableAt,
    SeeSlice,
    SeeDsqVtime,
    ListHeadNext,
    Dsq,
    DsqId,
    DsqNr,
    DsqSeq,
    DsqLnodeFlags,
    SeeFlags,
    ScxRoot,
    SchedExitKind,
    SchedAborting,
    SchedBypassDepth,
    SchedPcpu,
    SchedPnode,
    SchedPnodeEntry,
    RhashtableTbl,
    BucketTableSize,
    BucketTableBucket,
    RhashHeadNext,
    SchedChildren,
    SchedSibling,
    SchedLevel,
    EnableStateVar,
    ExitKindVar,
    BypassDepthVar,
    GlobalDsqs,
    GlobalDsqsEntry,
    // What the host reads beside the walks (names, paths, exit info, counters, globals, the
    // machine's shape, kallsyms and BTF). Appended, so the wire encoding of the fields above
    // is unchanged. `*field` names what a pointer field points to.
    SchedOpsName,
    OpsNameVar,
    SchedCgrpPath,
    SchedCgrpPathString,
    SchedExitInfo,
    ExitInfoVar,
    ExitInfoKind,
    ExitInfoExitCode,
    ExitInfoReason,
    ExitInfoReasonString,
    ExitInfoMsg,
    ExitInfoMsgString,
    EventStat,
    ScxEnabledVar,
    SwitchingAllVar,
    SwitchedAllVar,
    InSoftlockupVar,
    BreatherDepthVar,
    NrRejectedVar,
    EnableSeqVar,
    WatchdogTimestampVar,
    Jiffies,
    TaskCpusMask,
    NrCpuIdsVar,
    NrNodeIdsVar,
    PerCpuOffsetArray,
    PageOffsetBaseVar,
    KernelBtf,
    KallsymsNumSyms,
    KallsymsTokenIndex,
    KallsymsTokenTable,
    KallsymsNames,
    KallsymsOffsets,
    Requested,
    // Appended with the caps sized from the kernel's counts.
    NrThreadsVar,
    RhashtableNelems,
    RqClock,
    SchedWatchdogTimeout,
    WatchdogTimeoutVar,
    // The BPF walkers (issue 18), appended likewise.
    XaHead,
    IdrBase,
    XaNodeShift,
    XaNodeSlot,
    BpfStatsEnabledKey,
    BpfMap,
    BpfProg,
    BpfProgAux,
    BpfProgStats,
    BpfProgUsedMap,
    KernelBtfObject,
    BpfLinkProg,
    StructOpsMap,
    StructOpsLink,
    StructOpsPriv,
    StructOpsCallbacks,
    SchedOpsCallbacks,
    BpfArray,
    ArrayPercpuPtr,
    BpfHtab,
    HtabBucketFirst,
    HtabElemNext,
    HtabPercpuPtr,
    LocalStorageMap,
    LocalStorageBucketFirst,
    LocalStorageElemNext,
    LocalStorageElemSmap,
    LocalStorageElemStorage,
    LocalStorageOwner,
    LocalStorageFirst,
    LocalStorageSnodeNext,
    TaskBpfStorage,
    QueueStack,
    BpfArena,
    ArenaKernVm,
    ArenaFreeRoot,
    ArenaRangeNode,
    ArenaPage,
    ArenaObject,
    MapKey,
    MapValue,
    // Appended with the name-sorted kallsyms lookup.
    KallsymsSeqsOfNames,
}

impl Field {
    /// The kernel's name for the field (`struct.member` or symbol).
    #[must_use]
    pub const fn kernel_name(self) -> &'static str {
        match self {
            Self::PerCpuOffset => "__per_cpu_offset[cpu]",
            Self::Rq => "runqueues (struct rq)",
            Self::RqCurr => "rq.curr",
            Self::ScxRqNrRunning => "scx_rq.nr_running",
            Self::ScxRqFlags => "scx_rq.flags",
            Self::ScxRqCpuReleased => "scx_rq.cpu_released",
            Self::ScxRqOpsQseq => "scx_rq.ops_qseq",
            Self::ScxRqKickSync => "scx_rq.kick_sync",
            Self::ScxRqNrImmed => "scx_rq.nr_immed",
            Self::ScxRqClock => "scx_rq.clock",
            Self::TaskPid => "task_struct.pid",
            Self::TaskComm => "task_struct.comm",
            Self::TaskTgid => "task_struct.tgid",
            Self::TaskState => "task_struct.__state",
            Self::TaskOnRq => "task_struct.on_rq",
            Self::TaskCpusPtr => "task_struct.cpus_ptr",
            Self::SeeDsq => "sched_ext_entity.dsq",
            Self::SeeOpsState => "sched_ext_entity.ops_state",
            Self::SeeDdspDsqId => "sched_ext_entity.ddsp_dsq_id",
            Self::SeeWeight => "sched_ext_entity.weight",
            Self::SeeStickyCpu => "sched_ext_entity.sticky_cpu",
            Self::SeeHoldingCpu => "sched_ext_entity.holding_cpu",
            Self::SeeRunnableAt => "sched_ext_entity.runnable_at",
            Self::SeeSlice => "sched_ext_entity.slice",
            Self::SeeDsqVtime => "sched_ext_entity.dsq_vtime",
            Self::ListHeadNext => "list_head.next",
            Self::Dsq => "struct scx_dispatch_q",
            Self::DsqId => "scx_dispatch_q.id",
            Self::DsqNr => "scx_dispatch_q.nr",
            Self::DsqSeq => "scx_dispatch_q.seq",
            Self::DsqLnodeFlags => "scx_dsq_list_node.flags",
            Self::SeeFlags => "sched_ext_entity.flags",
            Self::ScxRoot => "scx_root",
            Self::SchedExitKind => "scx_sched.exit_kind",
            Self::SchedAborting => "scx_sched.aborting",
            Self::SchedBypassDepth => "scx_sched.bypass_depth",
            Self::SchedPcpu => "scx_sched.pcpu",
            Self::SchedPnode => "scx_sched.pnode",
            Self::SchedPnodeEntry => "scx_sched.pnode[node]",
            Self::RhashtableTbl => "rhashtable.tbl",
            Self::BucketTableSize => "bucket_table.size",
            Self::BucketTableBucket => "bucket_table.buckets[i]",
            Self::RhashHeadNext => "rhash_head.next",
            Self::SchedChildren => "scx_sched.children",
            Self::SchedSibling => "scx_sched.sibling",
            Self::SchedLevel => "scx_sched.level",
            Self::EnableStateVar => "scx_ops_enable_state_var",
            Self::ExitKindVar => "scx_exit_kind",
            Self::BypassDepthVar => "scx_ops_bypass_depth",
            Self::GlobalDsqs => "global_dsqs",
            Self::GlobalDsqsEntry => "global_dsqs[node]",
            Self::SchedOpsName => "scx_sched.ops.name",
            Self::OpsNameVar => "scx_ops.name",
            Self::SchedCgrpPath => "scx_sched.cgrp_path",
            Self::SchedCgrpPathString => "*scx_sched.cgrp_path",
            Self::SchedExitInfo => "scx_sched.exit_info",
            Self::ExitInfoVar => "scx_exit_info",
            Self::ExitInfoKind => "scx_exit_info.kind",
            Self::ExitInfoExitCode => "scx_exit_info.exit_code",
            Self::ExitInfoReason => "scx_exit_info.reason",
            Self::ExitInfoReasonString => "*scx_exit_info.reason",
            Self::ExitInfoMsg => "scx_exit_info.msg",
            Self::ExitInfoMsgString => "*scx_exit_info.msg",
            Self::EventStat => "scx_event_stats (a counter)",
            Self::ScxEnabledVar => "__scx_enabled",
            Self::SwitchingAllVar => "scx_switching_all",
            Self::SwitchedAllVar => "__scx_switched_all",
            Self::InSoftlockupVar => "scx_in_softlockup",
            Self::BreatherDepthVar => "scx_breather_depth",
            Self::NrRejectedVar => "scx_nr_rejected",
            Self::EnableSeqVar => "scx_enable_seq",
            Self::WatchdogTimestampVar => "scx_watchdog_timestamp",
            Self::Jiffies => "jiffies",
            Self::TaskCpusMask => "*task_struct.cpus_ptr",
            Self::NrCpuIdsVar => "nr_cpu_ids",
            Self::NrNodeIdsVar => "nr_node_ids",
            Self::PerCpuOffsetArray => "__per_cpu_offset",
            Self::PageOffsetBaseVar => "page_offset_base",
            Self::KernelBtf => "__start_BTF",
            Self::KallsymsNumSyms => "kallsyms_num_syms",
            Self::KallsymsTokenIndex => "kallsyms_token_index",
            Self::KallsymsTokenTable => "kallsyms_token_table",
            Self::KallsymsNames => "kallsyms_names",
            Self::KallsymsOffsets => "kallsyms_offsets",
            Self::Requested => "the requested bytes",
            Self::NrThreadsVar => "nr_threads",
            Self::RhashtableNelems => "rhashtable.nelems",
            Self::RqClock => "rq.clock",
            Self::SchedWatchdogTimeout => "scx_sched.watchdog_timeout",
            Self::WatchdogTimeoutVar => "scx_watchdog_timeout",
            Self::XaHead => "idr.idr_rt.xa_head",
            Self::IdrBase => "idr.idr_base",
            Self::XaNodeShift => "xa_node.shift",
            Self::XaNodeSlot => "xa_node.slots[i]",
            Self::BpfStatsEnabledKey => "bpf_stats_enabled_key",
            Self::BpfMap => "struct bpf_map",
            Self::BpfProg => "struct bpf_prog",
            Self::BpfProgAux => "struct bpf_prog_aux",
            Self::BpfProgStats => "*bpf_prog.stats (per-CPU struct bpf_prog_stats)",
            Self::BpfProgUsedMap => "bpf_prog_aux.used_maps[i]",
            Self::KernelBtfObject => "struct btf",
            Self::BpfLinkProg => "bpf_link.prog",
            Self::StructOpsMap => "struct bpf_struct_ops_map",
            Self::StructOpsLink => "bpf_struct_ops_map.links[i]",
            Self::StructOpsPriv => "bpf_struct_ops_map.kvalue.data.priv",
            Self::StructOpsCallbacks => "bpf_struct_ops_map.kvalue.data (callbacks)",
            Self::SchedOpsCallbacks => "sched_ext_ops (callbacks)",
            Self::BpfArray => "struct bpf_array",
            Self::ArrayPercpuPtr => "bpf_array.pptrs[i]",
            Self::BpfHtab => "struct bpf_htab",
            Self::HtabBucketFirst => "bucket.head.first",
            Self::HtabElemNext => "htab_elem.hash_node.next",
            Self::HtabPercpuPtr => "htab_elem value (per-CPU pointer)",
            Self::LocalStorageMap => "struct bpf_local_storage_map",
            Self::LocalStorageBucketFirst => "bpf_local_storage_map_bucket.list.first",
            Self::LocalStorageElemNext => "bpf_local_storage_elem.map_node.next",
            Self::LocalStorageElemSmap => "bpf_local_storage_elem.sdata.smap",
            Self::LocalStorageElemStorage => "bpf_local_storage_elem.local_storage",
            Self::LocalStorageOwner => "bpf_local_storage.owner",
            Self::LocalStorageFirst => "bpf_local_storage.list.first",
            Self::LocalStorageSnodeNext => "bpf_local_storage_elem.snode.next",
            Self::TaskBpfStorage => "task_struct.bpf_storage",
            Self::QueueStack => "struct bpf_queue_stack",
            Self::BpfArena => "struct bpf_arena",
            Self::ArenaKernVm => "bpf_arena.kern_vm->addr",
            Self::ArenaFreeRoot => "bpf_arena.rt.it_root",
            Self::ArenaRangeNode => "struct range_node",
            Self::ArenaPage => "an arena page",
            Self::ArenaObject => "an arena object",
            Self::MapKey => "a BPF map key",
            Self::MapValue => "a BPF map value",
            Self::KallsymsSeqsOfNames => "kallsyms_seqs_of_names",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kernel_name())
    }
}

/// Why a field could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadCause {
    /// The address did not translate.
    Translate(TranslateError),
    /// It translated, but the physical read failed.
    Memory(MemError),
    /// Computing the address overflowed (a hostile pointer near the top or bottom of the
    /// address space).
    AddressOverflow,
    /// The layout has no offsets for the struct this field belongs to.
    MissingLayout(crate::layout::LayoutGroup),
    /// The field held a NULL pointer where the kernel never keeps one (a `list_head.next`,
    /// an `rhash_head.next`): the structure goes on somewhere the walk cannot follow.
    NullPointer,
    /// The field points back to a node the walk already visited: the structure loops without
    /// returning to where it started (a `list_head` whose nodes never lead back to its head,
    /// a scheduler that is its own descendant).
    Cycle,
    /// The address translates to physical address 0, where no kernel structure lives (the
    /// page is reserved, or no RAM): a bogus pointer, not read (it would read as zeros).
    PhysicalZero,
}

/// A field that could not be read: which, where, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadError {
    /// The field being read.
    pub field: Field,
    /// Its kernel virtual address (or the base address when the overflow was computing it).
    pub kva: VirtAddr,
    /// What went wrong.
    pub cause: ReadCause,
}

impl fmt::Display for ReadCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Translate(e) => write!(f, "{e}"),
            Self::Memory(e) => write!(f, "{e}"),
            Self::AddressOverflow => f.write_str("address computation overflowed"),
            Self::MissingLayout(g) => write!(f, "the layout has no offsets for {g}"),
            Self::NullPointer => f.write_str("a NULL pointer, which the kernel never leaves there"),
            Self::Cycle => f.write_str("a link back to a node already walked (a loop)"),
            Self::PhysicalZero => f.write_str("physical address 0, where no kernel structure lives"),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, kva) = (self.field, self.kva);
        match &self.cause {
            // Read fine, but a value the kernel never holds there: not "cannot read".
            ReadCause::NullPointer => {
                write!(f, "{field} at {kva} is NULL, which the kernel never leaves there")
            }
            ReadCause::Cycle => write!(f, "{field} at {kva} leads back to a node already walked (a loop)"),
            ReadCause::PhysicalZero => {
                write!(f, "{field} at {kva} is at physical address 0, where no kernel structure lives")
            }
            cause => write!(f, "cannot read {field} at {kva}: {cause}"),
        }
    }
}

impl core::error::Error for ReadError {}

/// The walkers' address arithmetic, with errors naming the field: here rather than in
/// [`crate::addr`], which the error types build on.
impl VirtAddr {
    /// The address of the member at `off` in the struct at `self`, or an overflow error naming
    /// `field` (a hostile pointer near the top of the address space).
    ///
    /// # Errors
    /// `self + off` wraps.
    #[inline]
    pub fn member(self, off: impl Into<u64>, field: Field) -> Result<Self, ReadError> {
        self.checked_add(off.into()).ok_or(ReadError { field, kva: self, cause: ReadCause::AddressOverflow })
    }

    /// The struct whose member at `off` is at `self` (the kernel's `container_of`), or an
    /// overflow error naming `field` (a bogus pointer near 0).
    ///
    /// # Errors
    /// `self - off` wraps.
    #[inline]
    pub fn container_of(self, off: impl Into<u64>, field: Field) -> Result<Self, ReadError> {
        self.checked_sub(off.into()).ok_or(ReadError { field, kva: self, cause: ReadCause::AddressOverflow })
    }
}
