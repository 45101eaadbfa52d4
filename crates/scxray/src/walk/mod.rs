//! The walk stage: everything one report needs, read out of guest memory and returned as
//! data ([`Snapshot`]). It runs the core walks (per-CPU state, every DSQ, the sub-scheduler
//! tree, `scx_tasks`) and every other read of the report: task identities and detail,
//! scheduler names and cgroup paths, exit info, event counters, the global state. A read
//! that failed is kept as its [`scxray_core::ReadError`] ([`Reading::Failed`]). After this
//! stage nothing reads guest memory. [`Sampler`] takes the
//! lighter sample a watch takes again and again (`scxray_core::Sample`); [`scx_tasks::read`]
//! walks `scx_tasks` alone, with each task's detail (`scxray tasks`).

pub mod bpf;
mod collect;
mod global;
mod read;
mod sample;
mod sched;
pub mod scx_tasks;
mod tasks;
pub mod walks;

pub use bpf::BpfReads;
pub use global::GlobalReads;
pub use read::Reading;
pub use sample::{HostSample, Sampler};
pub use sched::{EventCounts, ExitReads, Root, SchedNames};
pub use scx_tasks::{ListedTask, ScxTasksReads};
pub use tasks::{FoundTask, Place, Places, TaskReads};
pub use walks::Walks;

use crate::target::Target;
use scxray_core::{Limits, Problem};
use scxray_wire::TaskRecord;

/// What one walk of a guest read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The root scheduler, when one is attached.
    pub root: Option<Root>,
    /// The walks' results, each task with its identity.
    pub walks: Walks<TaskRecord>,
    /// What the walks could not do.
    pub problems: Vec<Problem>,
    /// Each sub-scheduler's names, one per `walks.subs`, in order (sub-schedulers are 7.2+:
    /// never the 6.12-6.15 globals).
    pub sub_names: Vec<SchedNames>,
    /// Every task found, once, in first-seen order, with its detail.
    pub tasks: Vec<FoundTask>,
    /// The global sched_ext state.
    pub globals: GlobalReads,
    /// The schedulers' BPF half, when it was read ([`Passes::bpf`]).
    pub bpf: Option<BpfReads>,
}

/// Which passes a walk runs beyond the kernel walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Passes {
    /// The schedulers' BPF programs, maps, arena and task storage, and where each waiting
    /// task is in them (issue 18).
    pub bpf: bool,
}

/// Walks `target` under `limits` and reads everything else a report needs (the kernel half
/// only: [`walk_with`] adds the BPF half).
pub fn walk(target: &Target, limits: Limits) -> Snapshot {
    walk_with(target, limits, Passes::default())
}

/// Walks `target` under `limits`, with the `passes` asked for.
pub fn walk_with(target: &Target, limits: Limits, passes: Passes) -> Snapshot {
    let mut c = collect::Collector::default();
    target.guest(limits).walk_machine(&mut c);
    let r = read::Reader::new(target);
    // Each task's detail first: its identity comes with it, so the lists' identities need
    // no second pass over the tasks' memory.
    let (tasks, walks) = tasks::read(&r, c.walks);
    let bpf = passes.bpf.then(|| {
        let scheds: Vec<_> = c
            .root
            .iter()
            .map(|s| s.sched_kva)
            .chain(walks.subs.iter().map(|(s, _)| s.state.sched_kva))
            .collect();
        bpf::read(&r, &scheds, &tasks)
    });
    Snapshot {
        root: c.root.map(|s| sched::root(&r, s)),
        sub_names: walks.subs.iter().map(|(s, _)| sched::names(&r, s.state.sched_kva, false)).collect(),
        tasks,
        bpf,
        globals: global::read(&r),
        walks,
        problems: c.problems,
    }
}
