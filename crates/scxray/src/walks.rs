//! What one walk of a machine found, in the walkers' order. The live report (tasks as
//! addresses, read again for detail) and the wire decoder (tasks as the records the embedded
//! side sent) collect the same events into [`Walks`] and build the same report parts from it,
//! so a walk added to the core shows up, and sets `truncated`, in both the same way.

use crate::report::{CpuReport, DsqReport, TaskRef, TasksReport, UserDsqsReport, WalkEnd};
use scxray_core::{CpuScx, DsqHeader, HashWalk, ListWalk, SubSched, VirtAddr};

/// The walks' results; `T` is how a task was found (an address, a wire record).
#[derive(Debug)]
pub(crate) struct Walks<T> {
    /// Each CPU with its runnable list.
    pub cpus: Vec<(CpuScx, Vec<T>, ListWalk)>,
    /// Every DSQ with its queued tasks, in walk order (all schedulers').
    pub dsqs: Vec<(DsqHeader, Vec<T>, ListWalk)>,
    /// The root scheduler's `dsq_hash` walk.
    pub user: Option<HashWalk>,
    /// Each sub-scheduler with its own `dsq_hash` walk.
    pub subs: Vec<(SubSched, Option<HashWalk>)>,
    /// The walk of the sub-scheduler tree (7.2+).
    pub subs_walk: Option<ListWalk>,
    /// `scx_tasks`.
    pub tasks: Vec<T>,
    pub tasks_walk: ListWalk,
}

impl<T> Default for Walks<T> {
    fn default() -> Self {
        Self {
            cpus: Vec::new(),
            dsqs: Vec::new(),
            user: None,
            subs: Vec::new(),
            subs_walk: None,
            tasks: Vec::new(),
            tasks_walk: ListWalk::default(),
        }
    }
}

impl<T> Walks<T> {
    pub fn cpu(&mut self, s: CpuScx) {
        self.cpus.push((s, Vec::new(), ListWalk::default()));
    }

    /// A runnable task of `cpu`: dropped unless `cpu` is the CPU being walked.
    pub fn runnable_task(&mut self, cpu: u32, t: T) {
        if let Some(last) = self.cpus.last_mut().filter(|c| c.0.cpu == cpu) {
            last.1.push(t);
        }
    }

    pub fn runnable_end(&mut self, cpu: u32, w: ListWalk) {
        if let Some(last) = self.cpus.last_mut().filter(|c| c.0.cpu == cpu) {
            last.2 = w;
        }
    }

    pub fn dsq(&mut self, h: DsqHeader) {
        self.dsqs.push((h, Vec::new(), ListWalk::default()));
    }

    pub fn dsq_task(&mut self, t: T) {
        if let Some(last) = self.dsqs.last_mut() {
            last.1.push(t);
        }
    }

    pub fn dsq_end(&mut self, w: ListWalk) {
        if let Some(last) = self.dsqs.last_mut() {
            last.2 = w;
        }
    }

    /// The end of a `dsq_hash` walk: the root's comes before any sub-scheduler's.
    pub fn user_dsqs_end(&mut self, w: HashWalk) {
        match self.subs.last_mut() {
            Some(last) => last.1 = Some(w),
            None => self.user = Some(w),
        }
    }

    pub fn sub_sched(&mut self, s: SubSched) {
        self.subs.push((s, None));
    }

    pub fn sub_scheds_end(&mut self, w: ListWalk) {
        self.subs_walk = Some(w);
    }

    pub fn scx_task(&mut self, t: T) {
        self.tasks.push(t);
    }

    pub fn scx_tasks_end(&mut self, w: ListWalk) {
        self.tasks_walk = w;
    }

    /// How many of the DSQs `sched` owns.
    pub fn owned(&self, sched: VirtAddr) -> usize {
        self.dsqs.iter().filter(|d| d.0.sched == Some(sched)).count()
    }

    /// Whether any walk stopped at a cap.
    pub fn truncated(&self) -> bool {
        self.cpus.iter().any(|c| c.2.truncated)
            || self.dsqs.iter().any(|d| d.2.truncated)
            || self.user.as_ref().is_some_and(HashWalk::is_truncated)
            || self.subs.iter().any(|(_, u)| u.as_ref().is_some_and(HashWalk::is_truncated))
            || self.subs_walk.is_some_and(|w| w.truncated)
            || self.tasks_walk.truncated
    }

    pub fn cpu_reports(&self, mut task: impl FnMut(&T) -> TaskRef) -> Vec<CpuReport> {
        self.cpus
            .iter()
            .map(|(s, run, w)| CpuReport::new(s, run.iter().map(&mut task).collect(), w))
            .collect()
    }

    pub fn dsq_reports(&self, mut task: impl FnMut(&T) -> TaskRef) -> Vec<DsqReport> {
        self.dsqs.iter().map(|(h, ts, w)| DsqReport::new(h, ts.iter().map(&mut task).collect(), w)).collect()
    }

    pub fn user_dsqs_report(&self) -> Option<UserDsqsReport> {
        self.user.as_ref().map(UserDsqsReport::from)
    }

    pub fn scx_tasks_report(&self, task: impl FnMut(&T) -> TaskRef) -> TasksReport {
        TasksReport { tasks: self.tasks.iter().map(task).collect(), walk: WalkEnd::from(&self.tasks_walk) }
    }

    pub fn sub_scheds_walk(&self) -> Option<WalkEnd> {
        self.subs_walk.as_ref().map(WalkEnd::from)
    }
}
