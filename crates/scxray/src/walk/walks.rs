//! What one walk of a machine found, in the walkers' order. The live walk (tasks as
//! addresses, their identities read after the walk) and the wire decoder (tasks as the records
//! the embedded side sent) collect the same events into [`Walks`], and the report builds the
//! same parts from it, so a walk added to the core shows up, and sets `truncated`, in both
//! the same way.

use scxray_core::{CpuScx, DsqHeader, HashWalk, ListWalk, SubSched, VirtAddr};

/// The walks' results; `T` is how a task was found (an address, a wire record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walks<T> {
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
    /// How the `scx_tasks` walk ended.
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
    /// A CPU's `rq->scx`; its runnable tasks follow.
    pub fn cpu(&mut self, s: CpuScx) {
        self.cpus.push((s, Vec::new(), ListWalk::default()));
    }

    /// A runnable task of `cpu`; false (not taken) unless `cpu` is the CPU being walked.
    #[must_use]
    pub fn runnable_task(&mut self, cpu: u32, t: T) -> bool {
        self.cpus.last_mut().filter(|c| c.0.cpu == cpu).map(|last| last.1.push(t)).is_some()
    }

    /// How the runnable walk of `cpu` ended; false (not taken) unless `cpu` is the CPU being
    /// walked.
    #[must_use]
    pub fn runnable_end(&mut self, cpu: u32, w: ListWalk) -> bool {
        self.cpus.last_mut().filter(|c| c.0.cpu == cpu).map(|last| last.2 = w).is_some()
    }

    /// A DSQ; its queued tasks follow.
    pub fn dsq(&mut self, h: DsqHeader) {
        self.dsqs.push((h, Vec::new(), ListWalk::default()));
    }

    /// A task queued on the last DSQ; false (not taken) before any DSQ.
    #[must_use]
    pub fn dsq_task(&mut self, t: T) -> bool {
        self.dsqs.last_mut().map(|last| last.1.push(t)).is_some()
    }

    /// How the last DSQ's walk ended; false (not taken) before any DSQ.
    #[must_use]
    pub fn dsq_end(&mut self, w: ListWalk) -> bool {
        self.dsqs.last_mut().map(|last| last.2 = w).is_some()
    }

    /// The end of a `dsq_hash` walk: the root's comes before any sub-scheduler's.
    pub fn user_dsqs_end(&mut self, w: HashWalk) {
        match self.subs.last_mut() {
            Some(last) => last.1 = Some(w),
            None => self.user = Some(w),
        }
    }

    /// A sub-scheduler; its `dsq_hash` walk follows.
    pub fn sub_sched(&mut self, s: SubSched) {
        self.subs.push((s, None));
    }

    /// How the sub-scheduler walk ended.
    pub fn sub_scheds_end(&mut self, w: ListWalk) {
        self.subs_walk = Some(w);
    }

    /// A task on `scx_tasks`.
    pub fn scx_task(&mut self, t: T) {
        self.tasks.push(t);
    }

    /// How the `scx_tasks` walk ended.
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

    /// The same walks with each task mapped by `f`, in walk order.
    pub fn map_tasks<U>(self, mut f: impl FnMut(T) -> U) -> Walks<U> {
        let mut tasks = |v: Vec<T>| -> Vec<U> { v.into_iter().map(&mut f).collect() };
        Walks {
            cpus: self.cpus.into_iter().map(|(c, run, w)| (c, tasks(run), w)).collect(),
            dsqs: self.dsqs.into_iter().map(|(h, ts, w)| (h, tasks(ts), w)).collect(),
            user: self.user,
            subs: self.subs,
            subs_walk: self.subs_walk,
            tasks: tasks(self.tasks),
            tasks_walk: self.tasks_walk,
        }
    }
}
