//! Walking a `list_head`, the one loop every list pass shares.

use crate::addr::VirtAddr;
use crate::error::Field;
use crate::guest::Guest;
use crate::memory::PhysMem;
use crate::output::ListWalk;
use crate::translate::Translate;

/// What the caller made of a node.
pub(crate) enum Node {
    /// Reported to the visitor.
    Reported,
    /// Skipped: an iterator cursor, or a node that could not be validated.
    Skipped,
}

/// Walks the list whose `list_head` is at `head`, calling `on_node` with each node's address.
///
/// Starts from `head.next` and stops back at `head`, at a next pointer of 0, at a node that
/// does not translate (`broken`, not truncated), or after `cap` nodes (`truncated`). A node
/// is handed to `on_node` only after its own `next` was read, so every reported node is
/// known to be readable. `list_head.next` is at offset 0 in every kernel.
pub(crate) fn walk_list<M, T, F>(g: &Guest<'_, M, T>, head: VirtAddr, cap: u32, mut on_node: F) -> ListWalk
where
    M: PhysMem + ?Sized,
    T: Translate + ?Sized,
    F: FnMut(VirtAddr) -> Node,
{
    let mut walk = ListWalk::default();
    let mut next = match g.read_ptr(head, Field::ListHeadNext) {
        Ok(p) => p,
        Err(e) => {
            walk.broken = Some(e);
            return walk;
        }
    };
    let mut visited: u32 = 0;
    while next.0 != 0 && next != head {
        if visited >= cap {
            walk.truncated = true;
            break;
        }
        visited = visited.saturating_add(1);
        let node = next;
        next = match g.read_ptr(node, Field::ListHeadNext) {
            Ok(p) => p,
            Err(e) => {
                walk.broken = Some(e);
                break;
            }
        };
        match on_node(node) {
            Node::Reported => walk.reported = walk.reported.saturating_add(1),
            Node::Skipped => walk.skipped = walk.skipped.saturating_add(1),
        }
    }
    walk
}
