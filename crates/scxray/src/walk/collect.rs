//! Collects the stream of one core walk ([`scxray_core::Visitor`]) into [`Walks`].

use super::walks::Walks;
use scxray_core::{
    CpuScx, DsqHeader, HashWalk, ListWalk, Problem, SchedState, SubSched, TaskEntry, VirtAddr, Visitor,
};

/// The events of one walk, collected.
#[derive(Default)]
pub(super) struct Collector {
    pub root: Option<SchedState>,
    pub walks: Walks<VirtAddr>,
    pub problems: Vec<Problem>,
}

impl Visitor for Collector {
    fn root(&mut self, r: &SchedState) {
        self.root = Some(*r);
    }
    fn cpu(&mut self, c: &CpuScx) {
        self.walks.cpu(*c);
    }
    fn runnable_task(&mut self, cpu: u32, t: TaskEntry) {
        let taken = self.walks.runnable_task(cpu, t.task_kva);
        debug_assert!(taken, "the core walks a CPU's runnable list after its rq");
    }
    fn runnable_end(&mut self, cpu: u32, w: &ListWalk) {
        let taken = self.walks.runnable_end(cpu, *w);
        debug_assert!(taken, "the core walks a CPU's runnable list after its rq");
    }
    fn dsq(&mut self, d: &DsqHeader) {
        self.walks.dsq(*d);
    }
    fn dsq_task(&mut self, _d: &DsqHeader, t: TaskEntry) {
        let taken = self.walks.dsq_task(t.task_kva);
        debug_assert!(taken, "the core hands a DSQ's header before its tasks");
    }
    fn dsq_end(&mut self, _d: &DsqHeader, w: &ListWalk) {
        let taken = self.walks.dsq_end(*w);
        debug_assert!(taken, "the core hands a DSQ's header before its end");
    }
    fn user_dsqs_end(&mut self, w: &HashWalk) {
        self.walks.user_dsqs_end(*w);
    }
    fn sub_sched(&mut self, s: &SubSched) {
        self.walks.sub_sched(*s);
    }
    fn sub_scheds_end(&mut self, w: &ListWalk) {
        self.walks.sub_scheds_end(*w);
    }
    fn scx_task(&mut self, t: TaskEntry) {
        self.walks.scx_task(t.task_kva);
    }
    fn scx_tasks_end(&mut self, w: &ListWalk) {
        self.walks.scx_tasks_end(*w);
    }
    fn problem(&mut self, p: &Problem) {
        self.problems.push(*p);
    }
}
