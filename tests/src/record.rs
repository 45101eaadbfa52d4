//! A visitor that records every event into std containers, for assertions.

use scxray_core::{
    CpuScx, DsqHeader, HashWalk, ListWalk, Problem, SchedState, SubSched, TaskEntry, VirtAddr, Visitor,
};

/// One DSQ as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDsq {
    /// Header.
    pub header: DsqHeader,
    /// Tasks in list order.
    pub tasks: Vec<VirtAddr>,
    /// How the walk ended (None until `dsq_end`).
    pub walk: Option<ListWalk>,
}

/// Everything a walk reported.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Root states.
    pub roots: Vec<SchedState>,
    /// CPUs.
    pub cpus: Vec<CpuScx>,
    /// Runnable tasks per CPU event, in order.
    pub runnable: Vec<(u32, TaskEntry)>,
    /// Runnable-list walk ends.
    pub runnable_ends: Vec<(u32, ListWalk)>,
    /// DSQs in the order found.
    pub dsqs: Vec<RecordedDsq>,
    /// `dsq_hash` walk ends.
    pub user_ends: Vec<HashWalk>,
    /// `scx_tasks` entries.
    pub scx_tasks: Vec<TaskEntry>,
    /// `scx_tasks` walk ends.
    pub scx_tasks_ends: Vec<ListWalk>,
    /// Problems.
    pub problems: Vec<Problem>,
    /// Sub-schedulers, in walk order.
    pub sub_scheds: Vec<SubSched>,
    /// Sub-scheduler walk ends.
    pub sub_scheds_ends: Vec<ListWalk>,
}

impl Recorder {
    /// The DSQs whose label is `label` (e.g. `"local cpu 0"`).
    pub fn dsq(&self, label: &str) -> Option<&RecordedDsq> {
        self.dsqs.iter().find(|d| d.header.origin.to_string() == label)
    }
    /// Every DSQ label, in order.
    pub fn labels(&self) -> Vec<String> {
        self.dsqs.iter().map(|d| d.header.origin.to_string()).collect()
    }
    /// Runnable task addresses of `cpu`.
    pub fn runnable_of(&self, cpu: u32) -> Vec<VirtAddr> {
        self.runnable.iter().filter(|(c, _)| *c == cpu).map(|(_, t)| t.task_kva).collect()
    }
    /// `scx_tasks` addresses.
    pub fn task_kvas(&self) -> Vec<VirtAddr> {
        self.scx_tasks.iter().map(|t| t.task_kva).collect()
    }
}

impl Visitor for Recorder {
    fn root(&mut self, root: &SchedState) {
        self.roots.push(*root);
    }
    fn cpu(&mut self, cpu: &CpuScx) {
        self.cpus.push(*cpu);
    }
    fn runnable_task(&mut self, cpu: u32, task: TaskEntry) {
        self.runnable.push((cpu, task));
    }
    fn runnable_end(&mut self, cpu: u32, walk: &ListWalk) {
        self.runnable_ends.push((cpu, *walk));
    }
    fn dsq(&mut self, dsq: &DsqHeader) {
        self.dsqs.push(RecordedDsq { header: *dsq, tasks: Vec::new(), walk: None });
    }
    fn dsq_task(&mut self, dsq: &DsqHeader, task: TaskEntry) {
        assert!(!task.runnable_in_scx, "DSQ tasks are not runnable in scx");
        let last = self.dsqs.last_mut().expect("dsq_task before dsq");
        assert_eq!(last.header, *dsq);
        last.tasks.push(task.task_kva);
    }
    fn dsq_end(&mut self, dsq: &DsqHeader, walk: &ListWalk) {
        let last = self.dsqs.last_mut().expect("dsq_end before dsq");
        assert_eq!(last.header, *dsq);
        last.walk = Some(*walk);
    }
    fn user_dsqs_end(&mut self, walk: &HashWalk) {
        self.user_ends.push(*walk);
    }
    fn sub_sched(&mut self, sched: &SubSched) {
        self.sub_scheds.push(*sched);
    }
    fn sub_scheds_end(&mut self, walk: &ListWalk) {
        self.sub_scheds_ends.push(*walk);
    }
    fn scx_task(&mut self, task: TaskEntry) {
        self.scx_tasks.push(task);
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.scx_tasks_ends.push(*walk);
    }
    fn problem(&mut self, problem: &Problem) {
        self.problems.push(*problem);
    }
}
