//! The kernel layout: byte offsets of the struct members the walkers read, resolved from BTF
//! (`scxray-btf`) or supplied by the embedder.
//!
//! Groups are optional as a whole: a missing group blinds only the passes that need it.
//! Members that exist only in some kernel versions are `Option`; a `None` member is reported
//! as absent and never read (offset 0 is a real member, so it must never stand for "absent").
//! Offsets are `u32` bytes on every target, so a layout means the same on a 32-bit embedder.

use crate::bpf::BpfLayout;

/// Member offsets inside `struct rq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RqLayout {
    /// `rq.scx` (embedded `struct scx_rq`).
    pub scx: u32,
    /// `rq.curr` (pointer to the running task).
    pub curr: u32,
    /// `rq.cpu` (int), used to cross-check a per-CPU address.
    pub cpu: Option<u32>,
    /// `rq.clock` (u64).
    pub clock: Option<u32>,
}

/// Member offsets inside `struct scx_rq` (relative to `rq.scx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScxRqLayout {
    /// `scx_rq.local_dsq` (embedded `struct scx_dispatch_q`).
    pub local_dsq: u32,
    /// `scx_rq.runnable_list` (`list_head` of `sched_ext_entity.runnable_node`).
    pub runnable_list: u32,
    /// `scx_rq.nr_running` (u32).
    pub nr_running: u32,
    /// `scx_rq.flags` (u32).
    pub flags: u32,
    /// `scx_rq.cpu_released` (bool).
    pub cpu_released: u32,
    /// `scx_rq.ops_qseq` (u64); gone in 7.2+.
    pub ops_qseq: Option<u32>,
    /// `scx_rq.kick_sync` (u64); 7.0-rc5+.
    pub kick_sync: Option<u32>,
    /// `scx_rq.nr_immed` (u32); 7.0-rc5+.
    pub nr_immed: Option<u32>,
    /// `scx_rq.clock` (u64); 6.14+.
    pub clock: Option<u32>,
    /// `scx_rq.reject_dsq` (embedded DSQ); 7.3+.
    pub reject_dsq: Option<u32>,
    /// The DSQ embedded in `scx_rq.rescue` (offset from `rq.scx`, already including the
    /// offset of the DSQ inside `rescue`); 7.3+.
    pub rescue_dsq: Option<u32>,
}

/// Member offsets inside `struct task_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TaskLayout {
    /// `task_struct.scx` (embedded `struct sched_ext_entity`).
    pub scx: u32,
    /// `task_struct.pid` (i32).
    pub pid: u32,
    /// `task_struct.comm` (`char[16]`).
    pub comm: u32,
    /// `task_struct.tgid` (i32).
    pub tgid: Option<u32>,
    /// `task_struct.__state` (unsigned int).
    pub state: Option<u32>,
    /// `task_struct.on_rq` (int).
    pub on_rq: Option<u32>,
    /// `task_struct.cpus_ptr` (pointer to a cpumask).
    pub cpus_ptr: Option<u32>,
}

/// Member offsets inside `struct sched_ext_entity` (relative to `task_struct.scx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeeLayout {
    /// `sched_ext_entity.runnable_node` (`list_head` on `scx_rq.runnable_list`).
    pub runnable_node: u32,
    /// `sched_ext_entity.dsq_list` (embedded `struct scx_dsq_list_node`).
    pub dsq_list: u32,
    /// `sched_ext_entity.tasks_node` (`list_head` on `scx_tasks`).
    pub tasks_node: u32,
    /// `sched_ext_entity.flags` (u32).
    pub flags: u32,
    /// `sched_ext_entity.dsq` (pointer to the DSQ the task is on).
    pub dsq: Option<u32>,
    /// `sched_ext_entity.ops_state` (atomic_long).
    pub ops_state: Option<u32>,
    /// `sched_ext_entity.ddsp_dsq_id` (u64).
    pub ddsp_dsq_id: Option<u32>,
    /// `sched_ext_entity.weight` (u32).
    pub weight: Option<u32>,
    /// `sched_ext_entity.sticky_cpu` (s32).
    pub sticky_cpu: Option<u32>,
    /// `sched_ext_entity.holding_cpu` (s32).
    pub holding_cpu: Option<u32>,
    /// `sched_ext_entity.runnable_at` (unsigned long, jiffies).
    pub runnable_at: Option<u32>,
    /// `sched_ext_entity.slice` (u64).
    pub slice: Option<u32>,
    /// `sched_ext_entity.dsq_vtime` (u64).
    pub dsq_vtime: Option<u32>,
}

/// Member offsets inside `struct scx_dispatch_q`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DsqLayout {
    /// `scx_dispatch_q.list` (`list_head` of `scx_dsq_list_node.node`).
    pub list: u32,
    /// `scx_dispatch_q.nr` (u32).
    pub nr: u32,
    /// `scx_dispatch_q.seq` (u32).
    pub seq: u32,
    /// `scx_dispatch_q.id` (u64).
    pub id: u32,
    /// `scx_dispatch_q.hash_node` (`rhash_head` in `dsq_hash`).
    pub hash_node: u32,
}

/// Member offsets inside `struct scx_dsq_list_node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DsqLnodeLayout {
    /// `scx_dsq_list_node.node` (`list_head`).
    pub node: u32,
    /// `scx_dsq_list_node.flags` (u32).
    pub flags: u32,
}

/// Member offsets inside `struct scx_sched`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedLayout {
    /// `scx_sched.dsq_hash` (embedded `struct rhashtable`).
    pub dsq_hash: u32,
    /// `scx_sched.exit_kind` (atomic_t).
    pub exit_kind: u32,
    /// `scx_sched.pnode` (pointer to `nr_nodes` pointers to `scx_sched_pnode`).
    pub pnode: Option<u32>,
    /// `scx_sched.pcpu` (`__percpu` pointer to `scx_sched_pcpu`); 6.18+.
    pub pcpu: Option<u32>,
    /// `scx_sched.aborting` (bool).
    pub aborting: Option<u32>,
    /// `scx_sched.bypass_depth` (int).
    pub bypass_depth: Option<u32>,
    /// `scx_sched.children` (`list_head` of sub-schedulers' `sibling`); 7.2+ with
    /// `CONFIG_EXT_SUB_SCHED`.
    pub children: Option<u32>,
    /// `scx_sched.sibling` (`list_head` on the parent's `children`).
    pub sibling: Option<u32>,
    /// `scx_sched.level` (int): 0 for the root.
    pub level: Option<u32>,
}

/// Member offsets inside `struct scx_sched_pcpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedPcpuLayout {
    /// `scx_sched_pcpu.bypass_dsq` (embedded DSQ).
    pub bypass_dsq: u32,
}

/// Member offsets inside `struct scx_sched_pnode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchedPnodeLayout {
    /// `scx_sched_pnode.global_dsq` (embedded DSQ).
    pub global_dsq: u32,
}

/// Member offsets of the rhashtable types behind `dsq_hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RhtLayout {
    /// `rhashtable.tbl` (pointer to `struct bucket_table`).
    pub tbl: u32,
    /// `bucket_table.size` (unsigned int).
    pub bucket_table_size: u32,
    /// `bucket_table.buckets` (flexible array of bucket-head pointers).
    pub bucket_table_buckets: u32,
    /// `rhash_head.next`.
    pub rhash_head_next: u32,
    /// `rhashtable.nelems` (`atomic_t`): the entries the table holds, which sizes the walk's
    /// DSQ cap ([`crate::limits`]); `None`: the cap is the ceiling.
    pub nelems: Option<u32>,
}

/// Flag values the walkers test; the kernel's enums when BTF has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayoutFlags {
    /// `SCX_TASK_CURSOR` in `sched_ext_entity.flags`: an iterator cursor on `scx_tasks`.
    pub task_cursor: u32,
    /// `SCX_DSQ_LNODE_ITER_CURSOR` in `scx_dsq_list_node.flags`: an iterator cursor on a DSQ.
    pub dsq_lnode_iter_cursor: u32,
}

impl LayoutFlags {
    /// The kernel's values (bit 31 and bit 0), unchanged since sched_ext was merged.
    pub const KERNEL_DEFAULT: Self = Self { task_cursor: 1 << 31, dsq_lnode_iter_cursor: 1 };
}

impl Default for LayoutFlags {
    fn default() -> Self {
        Self::KERNEL_DEFAULT
    }
}

/// The whole kernel layout the walkers need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Layout {
    /// `struct rq`.
    pub rq: Option<RqLayout>,
    /// `struct scx_rq`.
    pub scx_rq: Option<ScxRqLayout>,
    /// `struct task_struct`.
    pub task: Option<TaskLayout>,
    /// `struct sched_ext_entity`.
    pub see: Option<SeeLayout>,
    /// `struct scx_dispatch_q`.
    pub dsq: Option<DsqLayout>,
    /// `struct scx_dsq_list_node`.
    pub dsq_lnode: Option<DsqLnodeLayout>,
    /// `struct scx_sched`.
    pub sched: Option<SchedLayout>,
    /// `struct scx_sched_pcpu`.
    pub sched_pcpu: Option<SchedPcpuLayout>,
    /// `struct scx_sched_pnode`.
    pub sched_pnode: Option<SchedPnodeLayout>,
    /// `struct rhashtable`, `bucket_table`, `rhash_head`.
    pub rht: Option<RhtLayout>,
    /// Flag values.
    pub flags: LayoutFlags,
    /// The kernel's BPF objects (programs, maps, BTF objects, arenas). Not on the wire yet
    /// (version 3 has no BPF pass): an embedded side sees no BPF layout.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub bpf: BpfLayout,
}

impl Layout {
    /// Whether the kernel's BTF gave the offsets of `group`.
    #[must_use]
    pub const fn has(&self, group: LayoutGroup) -> bool {
        match group {
            LayoutGroup::Rq => self.rq.is_some(),
            LayoutGroup::ScxRq => self.scx_rq.is_some(),
            LayoutGroup::Task => self.task.is_some(),
            LayoutGroup::See => self.see.is_some(),
            LayoutGroup::Dsq => self.dsq.is_some(),
            LayoutGroup::DsqLnode => self.dsq_lnode.is_some(),
            LayoutGroup::Sched => self.sched.is_some(),
            LayoutGroup::SchedPcpu => self.sched_pcpu.is_some(),
            LayoutGroup::SchedPnode => self.sched_pnode.is_some(),
            LayoutGroup::Rht => self.rht.is_some(),
            LayoutGroup::SchedPcpuMember => matches!(self.sched, Some(SchedLayout { pcpu: Some(_), .. })),
            LayoutGroup::SchedPnodeMember => matches!(self.sched, Some(SchedLayout { pnode: Some(_), .. })),
        }
    }
}

/// Names of the layout groups, for reporting which one a blinded pass was missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayoutGroup {
    /// `struct rq`.
    Rq,
    /// `struct scx_rq`.
    ScxRq,
    /// `struct task_struct`.
    Task,
    /// `struct sched_ext_entity`.
    See,
    /// `struct scx_dispatch_q`.
    Dsq,
    /// `struct scx_dsq_list_node`.
    DsqLnode,
    /// `struct scx_sched`.
    Sched,
    /// `struct scx_sched_pcpu`.
    SchedPcpu,
    /// `struct scx_sched_pnode`.
    SchedPnode,
    /// `struct rhashtable`.
    Rht,
    /// `scx_sched.pcpu` (a member the sub-pass needs).
    SchedPcpuMember,
    /// `scx_sched.pnode` (a member the sub-pass needs).
    SchedPnodeMember,
}

impl LayoutGroup {
    /// The struct groups a [`Layout`] holds, in its field order (the member groups are parts
    /// of [`Self::Sched`]).
    pub const STRUCTS: [Self; 10] = [
        Self::Rq,
        Self::ScxRq,
        Self::Task,
        Self::See,
        Self::Dsq,
        Self::DsqLnode,
        Self::Sched,
        Self::SchedPcpu,
        Self::SchedPnode,
        Self::Rht,
    ];

    /// The kernel's name for the group.
    #[must_use]
    pub const fn kernel_name(self) -> &'static str {
        match self {
            Self::Rq => "struct rq",
            Self::ScxRq => "struct scx_rq",
            Self::Task => "struct task_struct",
            Self::See => "struct sched_ext_entity",
            Self::Dsq => "struct scx_dispatch_q",
            Self::DsqLnode => "struct scx_dsq_list_node",
            Self::Sched => "struct scx_sched",
            Self::SchedPcpu => "struct scx_sched_pcpu",
            Self::SchedPnode => "struct scx_sched_pnode",
            Self::Rht => "struct rhashtable",
            Self::SchedPcpuMember => "scx_sched.pcpu",
            Self::SchedPnodeMember => "scx_sched.pnode",
        }
    }
}

impl core::fmt::Display for LayoutGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.kernel_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each struct group answers for its own field: with one field cleared, exactly that
    /// group is missing.
    #[test]
    fn each_struct_group_is_its_own_field() {
        let full = Layout {
            rq: Some(RqLayout::default()),
            scx_rq: Some(ScxRqLayout::default()),
            task: Some(TaskLayout::default()),
            see: Some(SeeLayout::default()),
            dsq: Some(DsqLayout::default()),
            dsq_lnode: Some(DsqLnodeLayout::default()),
            sched: Some(SchedLayout::default()),
            sched_pcpu: Some(SchedPcpuLayout::default()),
            sched_pnode: Some(SchedPnodeLayout::default()),
            rht: Some(RhtLayout::default()),
            ..Layout::default()
        };
        let clear: [fn(&mut Layout); 10] = [
            |l| l.rq = None,
            |l| l.scx_rq = None,
            |l| l.task = None,
            |l| l.see = None,
            |l| l.dsq = None,
            |l| l.dsq_lnode = None,
            |l| l.sched = None,
            |l| l.sched_pcpu = None,
            |l| l.sched_pnode = None,
            |l| l.rht = None,
        ];
        for (cleared, clear) in LayoutGroup::STRUCTS.iter().zip(clear) {
            let mut l = full;
            clear(&mut l);
            let mut missing = LayoutGroup::STRUCTS.iter().filter(|&&g| !l.has(g));
            assert_eq!((missing.next(), missing.next()), (Some(cleared), None));
        }
        assert!(!full.has(LayoutGroup::SchedPcpuMember));
        let with_pcpu =
            Layout { sched: Some(SchedLayout { pcpu: Some(8), ..SchedLayout::default() }), ..full };
        assert!(with_pcpu.has(LayoutGroup::SchedPcpuMember) && !with_pcpu.has(LayoutGroup::SchedPnodeMember));
    }
}
