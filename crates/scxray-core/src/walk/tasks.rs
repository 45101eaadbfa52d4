//! Pass 4: the global `scx_tasks` list, the durable task source (it survives scheduler
//! teardown, which empties every runnable_list).

use crate::error::Field;
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::memory::PhysMem;
use crate::output::{ListWalk, Pass, Problem, TaskEntry};
use crate::symbols::Symbol;
use crate::translate::Translate;
use crate::visit::Visitor;
use crate::walk::list::{FlagsAt, Node, walk_list};

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks `scx_tasks`. A node whose `sched_ext_entity.flags` has `SCX_TASK_CURSOR` is an
    /// iterator cursor (a stack-allocated entity) and is skipped; a node whose flags cannot be
    /// read is kept (the per-task pass will reject it if it is not a task).
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
        let walk = walk_list(self, head, self.limits.list_nodes, Some(flags), |node, flags| {
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
