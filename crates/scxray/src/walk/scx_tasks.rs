//! `scx_tasks` alone: the tasks sched_ext owns, each with its detail, and nothing else (no
//! per-CPU state, no DSQ, no sub-scheduler, no BPF). What `scxray tasks` lists; a full
//! [`super::walk`] reads the same tasks among everything else.

use super::read::{Reader, Reading};
use super::tasks::{Masks, TaskReads};
use crate::target::Target;
use foldhash::{HashSet, HashSetExt};
use scxray_core::{Field, Limits, ListWalk, Problem, ReadError, TaskEntry, VirtAddr, Visitor};

/// A task on `scx_tasks`, with its detail as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTask {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// Its detail, or why it could not be read.
    pub detail: Result<TaskReads, ReadError>,
}

/// What one walk of `scx_tasks` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScxTasksReads {
    /// The tasks, in list order.
    pub tasks: Vec<ListedTask>,
    /// How the walk ended (a cap, a broken link).
    pub walk: ListWalk,
    /// What the walk could not do (no `scx_tasks` symbol, no layout, `nr_threads` unreadable).
    pub problems: Vec<Problem>,
    /// `jiffies`, for each task's runnable age.
    pub jiffies: Reading<u64>,
    /// Entries of a list the cap cut that named a task already listed (the list loops
    /// back): not listed again, nor read.
    pub repeated: u32,
    /// The first such task.
    pub first_repeated: Option<VirtAddr>,
}

/// The list's events, collected.
#[derive(Default)]
struct Listed {
    tasks: Vec<VirtAddr>,
    walk: ListWalk,
    problems: Vec<Problem>,
}

impl Visitor for Listed {
    fn scx_task(&mut self, t: TaskEntry) {
        self.tasks.push(t.task_kva);
    }
    fn scx_tasks_end(&mut self, w: &ListWalk) {
        self.walk = *w;
    }
    fn problem(&mut self, p: &Problem) {
        self.problems.push(*p);
    }
}

/// Walks `scx_tasks` of `target` under `limits` (its cap is `limits.list_nodes`, sized from
/// `nr_threads` by default) and reads each task's detail and `jiffies`.
pub fn read(target: &Target, limits: Limits) -> ScxTasksReads {
    let mut listed = Listed::default();
    let walk = target.guest(limits).walk_scx_tasks(&mut listed);
    let r = Reader::new(target);
    let details = r.guest().task_details();
    let mut masks = Masks::default();
    // A task is on the list once: in a list that loops back (it repeats its loop until the
    // cap fires, millions of entries at the ceiling) an entry naming a task already listed
    // is counted, not read again. A walk the cap did not cut has no loop, and no entry is
    // looked up (on a live guest, an address seen twice may be a task that exited and a new
    // one in its place, both listed).
    let mut kvas = listed.tasks;
    let (mut repeated, mut first_repeated) = (0u32, None);
    if walk.truncated {
        let mut seen: HashSet<VirtAddr> = HashSet::new();
        kvas.retain(|&kva| {
            let new = seen.insert(kva);
            if !new {
                repeated = repeated.saturating_add(1);
                first_repeated.get_or_insert(kva);
            }
            new
        });
    }
    let tasks =
        kvas.into_iter().map(|kva| ListedTask { kva, detail: masks.task(&r, &details, kva) }).collect();
    ScxTasksReads {
        tasks,
        walk,
        problems: listed.problems,
        jiffies: r.int(target.symbols().jiffies.map(VirtAddr), Field::Jiffies),
        repeated,
        first_repeated,
    }
}
