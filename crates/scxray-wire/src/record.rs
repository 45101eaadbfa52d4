//! The records of a dump, embedded -> host: one per event of the walk, in
//! [`scxray_core::Visitor`] order, then what the embedded side read beside the walk.

use crate::request::Context;
use scxray_core::{
    CpuScx, DsqHeader, HashWalk, ListWalk, Problem, ReadError, SchedState, SubSched, TaskIdentity, VirtAddr,
};
use serde::{Deserialize, Serialize};

/// Bytes of `scx_sched.ops.name` read (the kernel's `SCX_OPS_NAME_LEN`).
pub const OPS_NAME_LEN: usize = 128;
/// Most bytes of a scheduler's cgroup path sent; a longer one is cut and says so
/// ([`SchedNames::cgroup_path_cut`]). The kernel bounds it by `PATH_MAX` (4096), more than an
/// embedded side wants on its stack for a name.
pub const CGROUP_PATH_LEN: usize = 256;

/// A task found by a walk, with its identity read where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// pid and comm, or why they could not be read.
    pub identity: Result<TaskIdentity, ReadError>,
}

/// What the embedded side read about the root scheduler beyond [`SchedState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerExtra<'a> {
    /// The root's name and cgroup path.
    #[serde(borrow)]
    pub names: SchedNames<'a>,
    /// `scx_enable_state_var`, when read.
    pub enable_state: Option<u32>,
}

/// A scheduler's names, as the embedded side read them (each `None` when its offset was not
/// in the request or the read failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedNames<'a> {
    /// `ops.name` up to its NUL (at most [`OPS_NAME_LEN`] bytes).
    pub ops_name: Option<&'a [u8]>,
    /// `*cgrp_path` up to its NUL, at most [`CGROUP_PATH_LEN`] bytes.
    pub cgroup_path: Option<&'a [u8]>,
    /// The cgroup path went on past [`CGROUP_PATH_LEN`] bytes.
    pub cgroup_path_cut: bool,
}

/// One event of a dump, in [`scxray_core::Visitor`] order.
///
/// Records are written and read one at a time, never stored in bulk: the size of the
/// context variant (its enum name tables) costs one stack slot.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record<'a> {
    /// The request's context, first.
    Context(#[serde(borrow)] Context<'a>),
    /// The machine shape walked (the request's `nr_cpus`, `nr_nodes`), second.
    Shape {
        /// `nr_cpu_ids`.
        nr_cpus: u32,
        /// `nr_node_ids`.
        nr_nodes: u32,
    },
    /// [`scxray_core::Visitor::root`].
    Root(SchedState),
    /// After the walk, when a root was found.
    Scheduler(#[serde(borrow)] SchedulerExtra<'a>),
    /// [`scxray_core::Visitor::cpu`].
    Cpu(CpuScx),
    /// [`scxray_core::Visitor::runnable_task`].
    RunnableTask {
        /// CPU index.
        cpu: u32,
        /// The task.
        task: TaskRecord,
    },
    /// [`scxray_core::Visitor::runnable_end`].
    RunnableEnd {
        /// CPU index.
        cpu: u32,
        /// How the walk ended.
        walk: ListWalk,
    },
    /// [`scxray_core::Visitor::dsq`].
    Dsq(DsqHeader),
    /// [`scxray_core::Visitor::dsq_task`], for the last [`Record::Dsq`].
    DsqTask(TaskRecord),
    /// [`scxray_core::Visitor::dsq_end`], for the last [`Record::Dsq`].
    DsqEnd(ListWalk),
    /// [`scxray_core::Visitor::user_dsqs_end`].
    UserDsqsEnd(HashWalk),
    /// [`scxray_core::Visitor::sub_sched`].
    SubSched(SubSched),
    /// The names of the last [`Record::SubSched`], right after it.
    SubSchedNames(#[serde(borrow)] SchedNames<'a>),
    /// [`scxray_core::Visitor::sub_scheds_end`].
    SubSchedsEnd(ListWalk),
    /// [`scxray_core::Visitor::scx_task`].
    ScxTask(TaskRecord),
    /// [`scxray_core::Visitor::scx_tasks_end`].
    ScxTasksEnd(ListWalk),
    /// [`scxray_core::Visitor::problem`].
    Problem(Problem),
    /// Last.
    End(Trailer),
}

/// The end of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trailer {
    /// Records that did not fit the output buffer (the dump is then incomplete).
    pub records_dropped: u32,
}
