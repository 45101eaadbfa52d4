//! The report's parts built from the walks' results, the same way for the live walk and the
//! wire decoder (only how a task becomes a [`TaskRef`] differs).

use super::schema::{CpuReport, DsqReport, TaskRef, TasksReport, UserDsqsReport, WalkEnd};
use crate::walk::Walks;
use scxray_core::ListWalk;

/// `what`'s walk broken (a NULL or unreadable link), as a problem: what follows the break is
/// not in the report, and a broken walk is no cut one (`truncated` stays false), so without
/// it a script reading `problems` and `truncated` would take the list as whole.
pub(super) fn walk_broke(what: &str, items: &str, w: &ListWalk) -> Option<String> {
    w.broken.map(|e| {
        format!(
            "{what}: the walk broke after {} {items}: {e}; the {items} after it are not listed",
            w.reported
        )
    })
}

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

    /// Every list walk that broke, in walk order, as problems (`walk_broke`).
    pub fn broken_walks(&self) -> Vec<String> {
        let cpus = self
            .cpus
            .iter()
            .filter_map(|(c, _, w)| walk_broke(&format!("runnable_list of cpu {}", c.cpu), "tasks", w));
        let dsqs =
            self.dsqs.iter().filter_map(|(h, _, w)| walk_broke(&format!("DSQ {}", h.origin), "tasks", w));
        let subs = self.subs_walk.iter().filter_map(|w| walk_broke("sub-schedulers", "sub-schedulers", w));
        cpus.chain(dsqs).chain(subs).chain(walk_broke("scx_tasks", "tasks", &self.tasks_walk)).collect()
    }

    /// How the sub-scheduler walk ended.
    pub fn sub_scheds_walk(&self) -> Option<WalkEnd> {
        self.subs_walk.as_ref().map(WalkEnd::from)
    }
}
