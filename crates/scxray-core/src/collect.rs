//! The collected output form: walks gathered into `heapless` containers of a const-generic
//! capacity, for callers that want a value rather than a stream.
//!
//! A container that fills up before the walk ends sets `truncated`, exactly as a walk cap
//! does. Sizes (64-bit targets; `size_of` is checked by this crate's tests):
//!
//! | type | bytes | default capacity |
//! |---|---|---|
//! | `TaskList<N>` | `8 * N + 96` | `TaskList<4096>`: 32 864 |
//! | `DsqTasks<N>` | `8 * N + 208` | `DsqTasks<4096>`: 32 976 |
//! | `CpuRunnable<N>` | `8 * N + 336` | `CpuRunnable<4096>`: 33 104 |
//! | `UserDsqIndex<N>` | `136 * N + 144` | `UserDsqIndex<8192>`: 1 114 256 |
//! | `MachineSummary<C, D>` | `264 * C + 136 * D + 1248` | `MachineSummary<64, 256>`: 52 960 |
//!
//! Place big ones in a `static` or on the heap, not on a small stack.

use crate::addr::VirtAddr;
use crate::guest::Guest;
use crate::memory::PhysMem;
use crate::output::{
    CpuScx, DsqHeader, DsqOrigin, HashWalk, ListWalk, Pass, Problem, SchedState, SubSched, TaskEntry,
};
use crate::translate::Translate;
use crate::visit::Visitor;
use heapless::Vec;

/// Problems a [`MachineSummary`] keeps (the first ones; later ones are counted).
pub const SUMMARY_PROBLEMS: usize = 16;

/// Pushes `x`, or reports the container full.
fn push<X, const N: usize>(v: &mut Vec<X, N>, x: X) -> bool {
    v.push(x).is_ok()
}

/// The tasks on `scx_tasks`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TaskList<const N: usize = 4096> {
    /// `task_struct` addresses, in list order.
    pub tasks: Vec<VirtAddr, N>,
    /// How the walk ended.
    pub walk: ListWalk,
    /// The walk cap fired or the container was full.
    pub truncated: bool,
}

impl<const N: usize> Visitor for TaskList<N> {
    fn scx_task(&mut self, task: TaskEntry) {
        if !push(&mut self.tasks, task.task_kva) {
            self.truncated = true;
        }
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.walk = *walk;
        self.truncated |= walk.truncated;
    }
}

/// One DSQ and its queued tasks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DsqTasks<const N: usize = 4096> {
    /// The header, when the DSQ was readable (and not at PA 0).
    pub header: Option<DsqHeader>,
    /// Queued `task_struct` addresses, in list order.
    pub tasks: Vec<VirtAddr, N>,
    /// How the walk ended.
    pub walk: ListWalk,
    /// The walk cap fired or the container was full.
    pub truncated: bool,
    /// Why the DSQ could not be walked, if it could not.
    pub problem: Option<Problem>,
}

impl<const N: usize> Visitor for DsqTasks<N> {
    fn dsq(&mut self, dsq: &DsqHeader) {
        self.header = Some(*dsq);
    }
    fn dsq_task(&mut self, _dsq: &DsqHeader, task: TaskEntry) {
        if !push(&mut self.tasks, task.task_kva) {
            self.truncated = true;
        }
    }
    fn dsq_end(&mut self, _dsq: &DsqHeader, walk: &ListWalk) {
        self.walk = *walk;
        self.truncated |= walk.truncated;
    }
    fn problem(&mut self, problem: &Problem) {
        self.problem.get_or_insert(*problem);
    }
}

/// One CPU's `rq->scx` and its runnable tasks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CpuRunnable<const N: usize = 4096> {
    /// The scalars, when the rq was readable.
    pub scx: Option<CpuScx>,
    /// Runnable `task_struct` addresses, in list order.
    pub runnable: Vec<VirtAddr, N>,
    /// How the walk ended.
    pub walk: ListWalk,
    /// The walk cap fired or the container was full.
    pub truncated: bool,
    /// Why the CPU could not be read, if it could not.
    pub problem: Option<Problem>,
}

impl<const N: usize> Visitor for CpuRunnable<N> {
    fn cpu(&mut self, cpu: &CpuScx) {
        self.scx = Some(*cpu);
    }
    fn runnable_task(&mut self, _cpu: u32, task: TaskEntry) {
        if !push(&mut self.runnable, task.task_kva) {
            self.truncated = true;
        }
    }
    fn runnable_end(&mut self, _cpu: u32, walk: &ListWalk) {
        self.walk = *walk;
        self.truncated |= walk.truncated;
    }
    fn problem(&mut self, problem: &Problem) {
        self.problem.get_or_insert(*problem);
    }
}

/// A DSQ reduced to its header and how its walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DsqSummary {
    /// The header.
    pub header: DsqHeader,
    /// Tasks walked, cursors skipped, truncation.
    pub walk: ListWalk,
}

/// The user DSQs of `dsq_hash`, without their tasks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UserDsqIndex<const N: usize = 8192> {
    /// Each DSQ found.
    pub dsqs: Vec<DsqSummary, N>,
    /// How the rhashtable walk ended.
    pub walk: HashWalk,
    /// A cap fired or the container was full.
    pub truncated: bool,
}

impl<const N: usize> Visitor for UserDsqIndex<N> {
    fn dsq_end(&mut self, dsq: &DsqHeader, walk: &ListWalk) {
        if !push(&mut self.dsqs, DsqSummary { header: *dsq, walk: *walk }) {
            self.truncated = true;
        }
    }
    fn user_dsqs_end(&mut self, walk: &HashWalk) {
        self.walk = *walk;
        self.truncated |= walk.is_truncated();
    }
}

/// One CPU reduced to its scalars and how its runnable_list walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CpuSummary {
    /// The scalars.
    pub scx: CpuScx,
    /// Runnable tasks walked, truncation.
    pub runnable: ListWalk,
}

/// A whole machine without per-task lists: what an embedder logs or sends home. The task
/// lists themselves are for the streaming form or the per-list collectors.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MachineSummary<const CPUS: usize = 64, const DSQS: usize = 256> {
    /// The root scheduler, when one is attached.
    pub root: Option<SchedState>,
    /// Each readable CPU.
    pub cpus: Vec<CpuSummary, CPUS>,
    /// Every DSQ found, per-CPU ones first.
    pub dsqs: Vec<DsqSummary, DSQS>,
    /// How the root scheduler's `dsq_hash` walk ended (default when it did not run); a
    /// sub-scheduler's that was cut sets `truncated`.
    pub user_dsqs: HashWalk,
    /// Sub-schedulers found.
    pub sub_sched_count: u32,
    /// How the sub-scheduler walk ended (default on a kernel without them).
    pub sub_scheds: ListWalk,
    /// How the `scx_tasks` walk ended.
    pub scx_tasks: ListWalk,
    /// The first problems met.
    pub problems: Vec<Problem, SUMMARY_PROBLEMS>,
    /// Problems beyond those kept.
    pub problems_dropped: u32,
    /// A walk cap fired or a container was full.
    pub truncated: bool,
}

impl<const CPUS: usize, const DSQS: usize> Visitor for MachineSummary<CPUS, DSQS> {
    fn root(&mut self, root: &SchedState) {
        self.root = Some(*root);
    }
    fn runnable_end(&mut self, cpu: u32, walk: &ListWalk) {
        // `cpu()` for this CPU came just before: attach the walk to it.
        if let Some(last) = self.cpus.last_mut().filter(|c| c.scx.cpu == cpu) {
            last.runnable = *walk;
        }
        self.truncated |= walk.truncated;
    }
    fn cpu(&mut self, cpu: &CpuScx) {
        if !push(&mut self.cpus, CpuSummary { scx: *cpu, runnable: ListWalk::default() }) {
            self.truncated = true;
        }
    }
    fn dsq_end(&mut self, dsq: &DsqHeader, walk: &ListWalk) {
        if !push(&mut self.dsqs, DsqSummary { header: *dsq, walk: *walk }) {
            self.truncated = true;
        }
        self.truncated |= walk.truncated;
    }
    fn user_dsqs_end(&mut self, walk: &HashWalk) {
        // The root's comes before any sub-scheduler; theirs must not replace it.
        if self.sub_sched_count == 0 {
            self.user_dsqs = *walk;
        }
        self.truncated |= walk.is_truncated();
    }
    fn sub_sched(&mut self, _sched: &SubSched) {
        self.sub_sched_count = self.sub_sched_count.saturating_add(1);
    }
    fn sub_scheds_end(&mut self, walk: &ListWalk) {
        self.sub_scheds = *walk;
        self.truncated |= walk.truncated;
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.scx_tasks = *walk;
        self.truncated |= walk.truncated;
    }
    fn problem(&mut self, problem: &Problem) {
        if !push(&mut self.problems, *problem) {
            self.problems_dropped = self.problems_dropped.saturating_add(1);
        }
    }
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// `scx_tasks`, collected.
    pub fn collect_scx_tasks<const N: usize>(&self) -> TaskList<N> {
        let mut out = TaskList::default();
        self.walk_scx_tasks(&mut out);
        out
    }

    /// One DSQ, collected.
    pub fn collect_dsq<const N: usize>(&self, origin: DsqOrigin, kva: VirtAddr, pass: Pass) -> DsqTasks<N> {
        let mut out = DsqTasks::default();
        self.walk_dsq(origin, kva, pass, &mut out);
        out
    }

    /// One CPU's `rq->scx` and runnable tasks, collected.
    pub fn collect_cpu<const N: usize>(&self, cpu: u32) -> CpuRunnable<N> {
        let mut out = CpuRunnable::default();
        self.walk_rq_scx(cpu, &mut out);
        out
    }

    /// The user DSQs of the scheduler at `sched`, collected.
    pub fn collect_user_dsqs<const N: usize>(&self, sched: VirtAddr) -> UserDsqIndex<N> {
        let mut out = UserDsqIndex::default();
        self.walk_user_dsqs(sched, &mut out);
        out
    }

    /// The whole machine, summarised.
    pub fn collect_machine<const CPUS: usize, const DSQS: usize>(&self) -> MachineSummary<CPUS, DSQS> {
        let mut out = MachineSummary::default();
        self.walk_machine(&mut out);
        out
    }
}
