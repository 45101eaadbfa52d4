//! Kernel symbol addresses and machine shape the walkers start from.

use crate::addr::VirtAddr;

/// Where the per-CPU offsets (`__per_cpu_offset[]`) come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerCpuOffsets<'a> {
    /// Already read by the caller; CPU N's offset is `slice[N]`, and a CPU with no slot has
    /// no per-CPU area.
    Slice(&'a [u64]),
    /// Read from the guest: the array at `kva` (kernel image) with `slots` entries.
    Guest {
        /// Address of `__per_cpu_offset`.
        kva: VirtAddr,
        /// Number of slots (NR_CPUS, or at least `nr_cpus`).
        slots: u32,
    },
}

/// Symbol addresses (KASLR already applied) and machine shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSymbols<'a> {
    /// `runqueues`: the per-CPU `struct rq` (a per-CPU symbol: add the CPU's offset).
    pub runqueues: Option<VirtAddr>,
    /// `__per_cpu_offset`.
    pub per_cpu_offsets: Option<PerCpuOffsets<'a>>,
    /// `scx_root`: pointer to the root `struct scx_sched` (6.16+).
    pub scx_root: Option<VirtAddr>,
    /// `scx_tasks`: the static `LIST_HEAD` of every sched_ext entity.
    pub scx_tasks: Option<VirtAddr>,
    /// `nr_threads`: the kernel's count of tasks with a pid (an `int`), which sizes the
    /// `scx_tasks` walk's cap ([`crate::limits`]); `None`: the cap is the ceiling.
    pub nr_threads: Option<VirtAddr>,
    /// Number of possible CPUs (`nr_cpu_ids`).
    pub nr_cpus: u32,
    /// Number of NUMA nodes (`nr_node_ids`).
    pub nr_nodes: u32,
    /// 6.12-6.15: the scheduler's state as kernel globals. Used only when `scx_root` is
    /// `None` (a kernel with `scx_root` has no such globals).
    pub globals: Option<SchedGlobals>,
}

/// Where a 6.12-6.15 kernel keeps what later kernels put in `struct scx_sched`. One
/// scheduler at most is attached, and it has no bypass DSQs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedGlobals {
    /// `scx_ops` (`struct sched_ext_ops`): identifies the scheduler (`SchedState::sched_kva`).
    pub ops: VirtAddr,
    /// `scx_ops_enable_state_var` (6.12-6.14) or `scx_enable_state_var` (6.15), an
    /// `atomic_t`: a scheduler is attached unless it holds [`Self::disabled`].
    pub enable_state: VirtAddr,
    /// The value of `SCX_OPS_DISABLED` / `SCX_DISABLED` (from BTF; 3 in 6.12).
    pub disabled: u32,
    /// `scx_exit_kind` (`atomic_t`).
    pub exit_kind: Option<VirtAddr>,
    /// `scx_ops_bypass_depth` / `scx_bypass_depth` (int).
    pub bypass_depth: Option<VirtAddr>,
    /// `global_dsqs`: a pointer to `nr_node_ids` pointers to the per-node global DSQs
    /// (NULL until the first scheduler is enabled).
    pub global_dsqs: Option<VirtAddr>,
    /// `dsq_hash`: the user DSQs' `struct rhashtable` itself (not a pointer).
    pub dsq_hash: Option<VirtAddr>,
}

/// Where the BPF walkers start (`scxray_core::bpf`): the kernel-wide ID tables (static in
/// `kernel/bpf/syscall.c` and `btf.c`, so only in kallsyms with `CONFIG_KALLSYMS_ALL`) and
/// the static key that turns on program run statistics. Every one is optional: a walk that
/// needs a missing one says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfSymbols {
    /// `prog_idr` (`struct idr`).
    pub prog_idr: Option<VirtAddr>,
    /// `map_idr` (`struct idr`).
    pub map_idr: Option<VirtAddr>,
    /// `btf_idr` (`struct idr`).
    pub btf_idr: Option<VirtAddr>,
    /// `link_idr` (`struct idr`).
    pub link_idr: Option<VirtAddr>,
    /// `bpf_stats_enabled_key` (`struct static_key_false`, whose `key.enabled` atomic is its
    /// first word): programs count runs and time only while it is on.
    pub stats_enabled_key: Option<VirtAddr>,
}

/// Names of the symbols, for reporting which one a blinded pass was missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Symbol {
    /// `runqueues`.
    Runqueues,
    /// `__per_cpu_offset`.
    PerCpuOffset,
    /// `scx_root`.
    ScxRoot,
    /// `scx_tasks`.
    ScxTasks,
    /// `global_dsqs` (6.12-6.15).
    GlobalDsqs,
    /// `dsq_hash` (6.12-6.15).
    DsqHash,
}

impl Symbol {
    /// The kernel's name.
    #[must_use]
    pub const fn kernel_name(self) -> &'static str {
        match self {
            Self::Runqueues => "runqueues",
            Self::PerCpuOffset => "__per_cpu_offset",
            Self::ScxRoot => "scx_root",
            Self::ScxTasks => "scx_tasks",
            Self::GlobalDsqs => "global_dsqs",
            Self::DsqHash => "dsq_hash",
        }
    }
}

impl core::fmt::Display for Symbol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.kernel_name())
    }
}
