//! The report's parts built from the walks' results, the same way for the live walk and the
//! wire decoder (only how a task becomes a [`TaskRef`] differs).

use super::schema::{CpuReport, DsqReport, TaskRef, TasksReport, UserDsqsReport, WalkEnd};
use crate::walk::Walks;

impl<T> Walks<T> {
    /// Every CPU, with its runnable tasks.
    pub fn cpu_reports(&self, mut task: impl FnMut(&T) -> TaskRef) -> Vec<CpuReport> {
        self.cpus
            .iter()
            .map(|(s, run, w)| CpuReport::new(s, run.iter().map(&mut task).collect(), w))
            .collect()
    }

    /// Every DSQ, with its queued tasks.
    pub fn dsq_reports(&self, mut task: impl FnMut(&T) -> TaskRef) -> Vec<DsqReport> {
        self.dsqs.iter().map(|(h, ts, w)| DsqReport::new(h, ts.iter().map(&mut task).collect(), w)).collect()
    }

    /// The root's `dsq_hash` walk.
    pub fn user_dsqs_report(&self) -> Option<UserDsqsReport> {
        self.user.as_ref().map(UserDsqsReport::from)
    }

    /// `scx_tasks`.
    pub fn scx_tasks_report(&self, task: impl FnMut(&T) -> TaskRef) -> TasksReport {
        TasksReport { tasks: self.tasks.iter().map(task).collect(), walk: WalkEnd::from(&self.tasks_walk) }
    }

    /// How the sub-scheduler walk ended.
    pub fn sub_scheds_walk(&self) -> Option<WalkEnd> {
        self.subs_walk.as_ref().map(WalkEnd::from)
    }
}
