//! Sub-schedulers (7.2+ with `CONFIG_EXT_SUB_SCHED`): each `struct scx_sched` keeps its
//! children on `children`, linked through their `sibling`. Walked depth-first from the root,
//! each sub-scheduler with its own DSQs.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadCause, ReadError};
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::limits::{Limit, ListBudget, MAX_SCHED_DEPTH, WalkCap};
use crate::memory::PhysMem;
use crate::output::{ListWalk, Pass, Problem, SubSched};
use crate::translate::Translate;
use crate::visit::Visitor;

/// Sub-schedulers whose addresses the walk remembers to tell a hierarchy that loops back (a
/// scheduler that is its own descendant, a sibling list that never returns to its head) from
/// one that goes on: the default cap's worth ([`crate::limits::MAX_SUB_SCHEDS`]). A caller
/// that raises the cap past it is still bounded by the cap.
const SEEN: usize = 32;

/// What every level of the walk shares.
struct Hierarchy {
    children: u32,
    sibling: u32,
    level: Option<u32>,
    /// Sub-schedulers the walk may still visit.
    left: u32,
    /// The first [`SEEN`] sub-schedulers visited.
    seen: heapless::Vec<VirtAddr, SEEN>,
    walk: ListWalk,
}

impl Hierarchy {
    /// Ends the walk of one list at `e` (the first such end is kept).
    fn broken(&mut self, e: ReadError) {
        self.walk.broken.get_or_insert(e);
    }
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks the sub-schedulers below the root `struct scx_sched` at `root`, pre-order: each
    /// is reported to `v.sub_sched`, then its bypass, global and user DSQs, then its own
    /// children. At most `limits.sub_scheds` sub-schedulers and [`MAX_SCHED_DEPTH`] levels
    /// (either cap sets `truncated`, and `cap` says which); an unreadable or NULL list pointer
    /// ends that list (`broken`), and so does one that leads back to a scheduler already
    /// walked (`broken`, [`ReadCause::Cycle`]: each scheduler is reported once). Returns how
    /// the walk ended, also reported to `v.sub_scheds_end`. A kernel without sub-schedulers
    /// (no `scx_sched.children`) has nothing to walk: no events at all.
    pub fn walk_sub_scheds<V: Visitor + ?Sized>(&self, root: VirtAddr, v: &mut V) -> ListWalk {
        self.sub_scheds(root, v, &mut ListBudget::new(&self.limits))
    }

    /// [`Self::walk_sub_scheds`], the DSQs' nodes charged to `budget`.
    pub(crate) fn sub_scheds<V: Visitor + ?Sized>(
        &self,
        root: VirtAddr,
        v: &mut V,
        budget: &mut ListBudget,
    ) -> ListWalk {
        let Some(sl) = self.layout.sched else {
            v.problem(&Problem::MissingLayout { pass: Pass::SubScheds, group: LayoutGroup::Sched });
            return ListWalk::default();
        };
        let (Some(children), Some(sibling)) = (sl.children, sl.sibling) else {
            return ListWalk::default();
        };
        let cap = WalkCap::fixed(Limit::SubScheds, self.limits.sub_scheds);
        let mut h = Hierarchy {
            children,
            sibling,
            level: sl.level,
            left: self.limits.sub_scheds,
            seen: heapless::Vec::new(),
            walk: ListWalk { cap, ..ListWalk::default() },
        };
        // The root is its descendants' ancestor: a child list that leads back to it loops.
        let _ = h.seen.push(root);
        self.walk_children(root, 1, &mut h, v, budget);
        v.sub_scheds_end(&h.walk);
        h.walk
    }

    /// The children of `parent`, which sit at `depth`, and their descendants.
    fn walk_children<V: Visitor + ?Sized>(
        &self,
        parent: VirtAddr,
        depth: u32,
        h: &mut Hierarchy,
        v: &mut V,
        budget: &mut ListBudget,
    ) {
        let head = match parent.member(h.children, Field::SchedChildren) {
            Ok(head) => head,
            Err(e) => return h.broken(e),
        };
        let mut next = match self.read_ptr(head, Field::SchedChildren) {
            Ok(p) => p,
            Err(e) => return h.broken(e),
        };
        // The list_head whose `next` was read last, and the field it is.
        let (mut at, mut field) = (head, Field::SchedChildren);
        while next != head {
            if next.0 == 0 {
                return h.broken(ReadError { field, kva: at, cause: ReadCause::NullPointer });
            }
            // A child exists here: past the depth or count cap it is not walked.
            if depth > MAX_SCHED_DEPTH {
                h.walk.truncated = true;
                h.walk.cap = WalkCap::fixed(Limit::SchedDepth, MAX_SCHED_DEPTH);
                return;
            }
            if h.left == 0 {
                h.walk.truncated = true;
                h.walk.cap = WalkCap::fixed(Limit::SubScheds, self.limits.sub_scheds);
                return;
            }
            h.left = h.left.saturating_sub(1);
            let node = next;
            let sched = match node.container_of(h.sibling, Field::SchedSibling) {
                Ok(s) => s,
                Err(e) => return h.broken(e),
            };
            if h.seen.contains(&sched) {
                // The pointer read last leads back.
                return h.broken(ReadError { field, kva: at, cause: ReadCause::Cycle });
            }
            next = match self.read_ptr(node, Field::SchedSibling) {
                Ok(p) => p,
                Err(e) => return h.broken(e),
            };
            (at, field) = (node, Field::SchedSibling);
            // Past the first SEEN, repeats are bounded by the cap alone.
            let _ = h.seen.push(sched);
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
            self.walk_sched_dsqs(sched, v, budget);
            self.walk_children(sched, depth.saturating_add(1), h, v, budget);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_walk_remembers_the_default_caps_worth() {
        assert_eq!(super::SEEN, crate::limits::MAX_SUB_SCHEDS as usize);
    }
}
