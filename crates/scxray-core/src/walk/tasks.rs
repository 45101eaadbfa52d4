//! Pass 4: the global `scx_tasks` list, the durable task source (it survives scheduler
//! teardown, which empties every runnable_list).

use crate::error::Field;
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::limits::{Limit, scx_tasks_slack};
use crate::memory::PhysMem;
use crate::output::{ListWalk, Pass, Problem, TaskEntry};
use crate::symbols::Symbol;
use crate::translate::Translate;
use crate::visit::Visitor;
use crate::walk::list::{FlagsAt, Node, walk_list};

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks `scx_tasks`. A node whose `sched_ext_entity.flags` has `SCX_TASK_CURSOR` is an
    /// iterator cursor (a stack-allocated entity) and is skipped; a node whose flags cannot be
    /// read is kept (the per-task pass will reject it if it is not a task). The cap is sized
    /// from the kernel's `nr_threads` ([`crate::limits`]); an unreadable `nr_threads` is
    /// reported as a problem, and the cap is then the ceiling.
    pub fn walk_scx_tasks<V: Visitor + ?Sized>(&self, v: &mut V) -> ListWalk {
        let pass = Pass::ScxTasks;
        let blind = |v: &mut V, p: Problem| {
            v.problem(&p);
            let walk = ListWalk::default();
            v.scx_tasks_end(&walk);
            walk
        };
        let Some(head) = self.symbols.scx_tasks else {
            return blind(v, Problem::MissingSymbol { pass, symbol: Symbol::ScxTasks });
        };
        let (Some(tl), Some(see)) = (self.layout.task, self.layout.see) else {
            let group = if self.layout.task.is_none() { LayoutGroup::Task } else { LayoutGroup::See };
            return blind(v, Problem::MissingLayout { pass, group });
        };
        let task_from_node = u64::from(tl.scx).saturating_add(see.tasks_node.into());
        let cursor = self.layout.flags.task_cursor;
        let flags = FlagsAt { back: see.tasks_node.into(), forward: see.flags.into() };
        let nr_threads =
            self.symbols.nr_threads.and_then(|at| match self.read_le::<i32>(at, Field::NrThreadsVar) {
                // A negative count is no count.
                Ok(n) => u32::try_from(n).ok(),
                Err(error) => {
                    v.problem(&Problem::Unreadable { pass, error });
                    None
                }
            });
        let slack = nr_threads.map_or(0, |n| scx_tasks_slack(n, self.cpu_count()));
        let cap = self.limits.list_nodes.resolve(Limit::ListNodes, nr_threads, slack);
        let (walk, _) = walk_list(self, head, cap, Some(flags), |node, flags| {
            // Unreadable flags keep the node (the per-task pass rejects it if it is no task).
            if matches!(flags, Some(f) if f & cursor != 0) {
                return Node::Skipped;
            }
            match node.container_of(task_from_node, Field::ListHeadNext) {
                Ok(task_kva) => {
                    v.scx_task(TaskEntry { task_kva, runnable_in_scx: false });
                    Node::Reported
                }
                Err(_) => Node::Skipped,
            }
        });
        v.scx_tasks_end(&walk);
        walk
    }
}
