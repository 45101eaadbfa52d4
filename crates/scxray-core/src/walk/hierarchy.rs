//! Sub-schedulers (7.2+ with `CONFIG_EXT_SUB_SCHED`): each `struct scx_sched` keeps its
//! children on `children`, linked through their `sibling`. Walked depth-first from the root,
//! each sub-scheduler with its own DSQs.

use crate::addr::VirtAddr;
use crate::error::Field;
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::limits::MAX_SCHED_DEPTH;
use crate::memory::PhysMem;
use crate::output::{ListWalk, Pass, Problem, SubSched};
use crate::translate::Translate;
use crate::visit::Visitor;

/// What every level of the walk shares.
struct Hierarchy {
    children: u32,
    sibling: u32,
    level: Option<u32>,
    /// Sub-schedulers the walk may still visit.
    budget: u32,
    walk: ListWalk,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks the sub-schedulers below the root `struct scx_sched` at `root`, pre-order: each
    /// is reported to `v.sub_sched`, then its bypass, global and user DSQs, then its own
    /// children. At most `limits.sub_scheds` sub-schedulers and [`MAX_SCHED_DEPTH`] levels
    /// (either cap sets `truncated`); an unreadable list pointer ends that list (`broken`).
    /// Returns how the walk ended, also reported to `v.sub_scheds_end`. A kernel without
    /// sub-schedulers (no `scx_sched.children`) has nothing to walk: no events at all.
    pub fn walk_sub_scheds<V: Visitor + ?Sized>(&self, root: VirtAddr, v: &mut V) -> ListWalk {
        let Some(sl) = self.layout.sched else {
            v.problem(&Problem::MissingLayout { pass: Pass::SubScheds, group: LayoutGroup::Sched });
            return ListWalk::default();
        };
        let (Some(children), Some(sibling)) = (sl.children, sl.sibling) else {
            return ListWalk::default();
        };
        let mut h = Hierarchy {
            children,
            sibling,
            level: sl.level,
            budget: self.limits.sub_scheds,
            walk: ListWalk::default(),
        };
        self.walk_children(root, 1, &mut h, v);
        v.sub_scheds_end(&h.walk);
        h.walk
    }

    /// The children of `parent`, which sit at `depth`, and their descendants.
    fn walk_children<V: Visitor + ?Sized>(&self, parent: VirtAddr, depth: u32, h: &mut Hierarchy, v: &mut V) {
        let head = match parent.member(h.children, Field::SchedChildren) {
            Ok(head) => head,
            Err(e) => {
                h.walk.broken.get_or_insert(e);
                return;
            }
        };
        let mut next = match self.read_ptr(head, Field::SchedChildren) {
            Ok(p) => p,
            Err(e) => {
                h.walk.broken.get_or_insert(e);
                return;
            }
        };
        while next.0 != 0 && next != head {
            // A child exists here: past the depth or count cap it is not walked.
            if depth > MAX_SCHED_DEPTH || h.budget == 0 {
                h.walk.truncated = true;
                return;
            }
            h.budget = h.budget.saturating_sub(1);
            let node = next;
            next = match self.read_ptr(node, Field::SchedSibling) {
                Ok(p) => p,
                Err(e) => {
                    h.walk.broken.get_or_insert(e);
                    return;
                }
            };
            let sched = match node.container_of(h.sibling, Field::SchedSibling) {
                Ok(s) => s,
                Err(e) => {
                    h.walk.broken.get_or_insert(e);
                    return;
                }
            };
            let state = match self.read_sched_state(sched, Pass::SubScheds) {
                Ok(s) => s,
                Err(p) => {
                    // Not validated: neither reported nor descended into.
                    v.problem(&p);
                    h.walk.skipped = h.walk.skipped.saturating_add(1);
                    continue;
                }
            };
            let level = match h.level {
                None => None,
                Some(o) => match sched
                    .member(o, Field::SchedLevel)
                    .and_then(|at| self.read_le::<i32>(at, Field::SchedLevel))
                {
                    Ok(l) => Some(l),
                    Err(error) => {
                        v.problem(&Problem::Unreadable { pass: Pass::SubScheds, error });
                        None
                    }
                },
            };
            h.walk.reported = h.walk.reported.saturating_add(1);
            v.sub_sched(&SubSched { state, parent_kva: parent, depth, level });
            self.walk_sched_dsqs(sched, v);
            self.walk_children(sched, depth.saturating_add(1), h, v);
        }
    }
}
