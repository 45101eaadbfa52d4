//! The streaming output form: walkers call a [`Visitor`] per CPU, DSQ and task, and keep no
//! buffers of their own. Every method has an empty default, so a visitor implements only what
//! it needs.

use crate::output::{CpuScx, DsqHeader, HashWalk, ListWalk, Problem, SchedState, SubSched, TaskEntry};

/// Receives the walk as it happens.
pub trait Visitor {
    /// The root scheduler (only when one is attached).
    fn root(&mut self, _root: &SchedState) {}
    /// One CPU's `rq->scx` scalars; its runnable tasks follow.
    fn cpu(&mut self, _cpu: &CpuScx) {}
    /// A task on `cpu`'s runnable_list.
    fn runnable_task(&mut self, _cpu: u32, _task: TaskEntry) {}
    /// `cpu`'s runnable_list walk ended.
    fn runnable_end(&mut self, _cpu: u32, _walk: &ListWalk) {}
    /// A DSQ's header; its tasks follow.
    fn dsq(&mut self, _dsq: &DsqHeader) {}
    /// A task queued on `dsq`.
    fn dsq_task(&mut self, _dsq: &DsqHeader, _task: TaskEntry) {}
    /// `dsq`'s list walk ended.
    fn dsq_end(&mut self, _dsq: &DsqHeader, _walk: &ListWalk) {}
    /// The `dsq_hash` walk ended.
    fn user_dsqs_end(&mut self, _walk: &HashWalk) {}
    /// A sub-scheduler (after the root's DSQs); its own DSQs follow.
    fn sub_sched(&mut self, _sched: &SubSched) {}
    /// The sub-scheduler walk ended (only on kernels that have sub-schedulers).
    fn sub_scheds_end(&mut self, _walk: &ListWalk) {}
    /// A task on `scx_tasks`.
    fn scx_task(&mut self, _task: TaskEntry) {}
    /// The `scx_tasks` walk ended.
    fn scx_tasks_end(&mut self, _walk: &ListWalk) {}
    /// Something the walk could not do.
    fn problem(&mut self, _problem: &Problem) {}
}

impl<V: Visitor + ?Sized> Visitor for &mut V {
    fn root(&mut self, root: &SchedState) {
        (**self).root(root);
    }
    fn cpu(&mut self, cpu: &CpuScx) {
        (**self).cpu(cpu);
    }
    fn runnable_task(&mut self, cpu: u32, task: TaskEntry) {
        (**self).runnable_task(cpu, task);
    }
    fn runnable_end(&mut self, cpu: u32, walk: &ListWalk) {
        (**self).runnable_end(cpu, walk);
    }
    fn dsq(&mut self, dsq: &DsqHeader) {
        (**self).dsq(dsq);
    }
    fn dsq_task(&mut self, dsq: &DsqHeader, task: TaskEntry) {
        (**self).dsq_task(dsq, task);
    }
    fn dsq_end(&mut self, dsq: &DsqHeader, walk: &ListWalk) {
        (**self).dsq_end(dsq, walk);
    }
    fn user_dsqs_end(&mut self, walk: &HashWalk) {
        (**self).user_dsqs_end(walk);
    }
    fn sub_sched(&mut self, sched: &SubSched) {
        (**self).sub_sched(sched);
    }
    fn sub_scheds_end(&mut self, walk: &ListWalk) {
        (**self).sub_scheds_end(walk);
    }
    fn scx_task(&mut self, task: TaskEntry) {
        (**self).scx_task(task);
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        (**self).scx_tasks_end(walk);
    }
    fn problem(&mut self, problem: &Problem) {
        (**self).problem(problem);
    }
}
