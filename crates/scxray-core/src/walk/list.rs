//! Walking a `list_head`, the one loop every list pass shares.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadCause, ReadError};
use crate::guest::Guest;
use crate::limits::WalkCap;
use crate::memory::PhysMem;
use crate::output::ListWalk;
use crate::translate::{LinearRange, Translate};

/// What the caller made of a node.
pub(crate) enum Node {
    /// Reported to the visitor.
    Reported,
    /// Skipped: an iterator cursor, or a node that could not be validated.
    Skipped,
}

/// Where a walk reads each node's cursor flags: the `u32` at `node - back + forward` (the
/// container_of of the member the list runs through, then the flags member).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlagsAt {
    /// Offset of the list member in the structure that holds the flags.
    pub back: u64,
    /// Offset of the flags in that structure.
    pub forward: u64,
}

impl FlagsAt {
    /// The flags' address for `node`, `None` when the arithmetic wraps (a hostile pointer).
    #[inline]
    pub(crate) fn of(self, node: VirtAddr) -> Option<VirtAddr> {
        node.checked_sub(self.back)?.checked_add(self.forward)
    }
}

/// Walks the list whose `list_head` is at `head`, calling `on_node` with each node's address
/// and, when `flags` says where, the node's cursor flags (`None`: not asked for, or
/// unreadable: the address wraps, does not translate, or no memory backs it). Returns how the
/// walk ended and how many nodes it visited.
///
/// Starts from `head.next` and stops back at `head` (complete), at a node that does not
/// translate or read (`broken`), at a next pointer of 0 (`broken` too, with
/// [`ReadCause::NullPointer`] at the `list_head` that holds it: a kernel's circular list never
/// holds NULL, so the list goes on somewhere the walk cannot follow), or after `cap.value`
/// nodes (`truncated`). A node is handed to `on_node` only after its own `next` was read, so
/// every reported node is known to be readable; its flags are read after that.
/// `list_head.next` is at offset 0 in every kernel.
///
/// This is the hot loop of every list pass, kept lean: the `next` read is inlined; the
/// flags travel as a bare `Option<u32>` (the passes never report why flags were
/// unreadable), so the per-node path carries no `ReadError` (only a broken walk builds one);
/// the span a translation answers for ([`Translate::translate_span`]: a whole linear range,
/// or a 4 KiB page) is kept across nodes, so nodes and flags inside it are read without
/// translating; only `visited` and `reported` are counted per node.
pub(crate) fn walk_list<M, T, F>(
    g: &Guest<'_, M, T>,
    head: VirtAddr,
    cap: WalkCap,
    flags: Option<FlagsAt>,
    mut on_node: F,
) -> (ListWalk, u32)
where
    M: PhysMem + ?Sized,
    T: Translate + ?Sized,
    F: FnMut(VirtAddr, Option<u32>) -> Node,
{
    let mut walk = ListWalk { cap, ..ListWalk::default() };
    let mut next = match g.read_ptr(head, Field::ListHeadNext) {
        Ok(p) => p,
        Err(e) => {
            walk.broken = Some(e);
            return (walk, 0);
        }
    };
    // Per node only `visited` and `reported` are counted; `skipped` is what remains of the
    // nodes handed to `on_node` (no counter can wrap: both stay at or below `cap`).
    let mut visited: u32 = 0;
    let mut reported: u32 = 0;
    let mut handed_last = true;
    // The span the last translation answered for: nodes in one linear region (the direct
    // map) are translated once, not once each.
    let mut span: Option<LinearRange> = None;
    // The `list_head` whose `next` was read last.
    let mut node = head;
    while next != head {
        if next.0 == 0 {
            walk.broken =
                Some(ReadError { field: Field::ListHeadNext, kva: node, cause: ReadCause::NullPointer });
            break;
        }
        if visited >= cap.value {
            walk.truncated = true;
            break;
        }
        visited = visited.wrapping_add(1);
        node = next;
        next = match g.read_next(node, &mut span) {
            Ok(p) => p,
            Err(e) => {
                walk.broken = Some(e);
                handed_last = false;
                break;
            }
        };
        let node_flags = flags.and_then(|f| f.of(node)).and_then(|at| g.read_u32_in(at, span.as_ref()));
        if let Node::Reported = on_node(node, node_flags) {
            reported = reported.wrapping_add(1);
        }
    }
    let handed = if handed_last { visited } else { visited.saturating_sub(1) };
    walk.reported = reported;
    walk.skipped = handed.saturating_sub(reported);
    (walk, visited)
}
