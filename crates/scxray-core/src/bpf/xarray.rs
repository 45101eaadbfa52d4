//! The walk of an xarray (the tree behind `struct idr`: `prog_idr`, `map_idr`, `link_idr`,
//! `btf_idr`), independent of how nodes are read: the caller's [`XaNodes`] reads a node's
//! `shift` and slots, the walk decodes the entries and bounds the work.
//!
//! Hostile trees end: a child's `shift` must be its parent's minus the chunk shift (so depth
//! is bounded by 64 bits of index), at most [`XaLimits::max_nodes`] nodes and
//! [`XaLimits::max_entries`] entries are visited (a tree whose slots all point at one node
//! would otherwise be walked 64^10 times), and every node that cannot be read or breaks the
//! rules is reported, its subtree skipped.

use crate::addr::VirtAddr;

/// Slots of a node at most (`XA_CHUNK_SIZE` is 64, or 16 with `CONFIG_BASE_SMALL`).
pub const MAX_XA_SLOTS: u32 = 64;

/// Deepest tree the walk follows: 64 index bits in steps of at least 4 bits, plus the leaves.
const MAX_XA_DEPTH: usize = 17;

/// What a slot (or the head) of an xarray holds, by the xarray's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XaEntry {
    /// NULL: nothing at this index.
    Empty,
    /// An internal entry above 4096: a `struct xa_node` at this address (the entry minus 2).
    Node(VirtAddr),
    /// An entry the user stored (for an IDR: the object's address).
    Value(VirtAddr),
    /// Another internal entry (a sibling of a multi-index entry, a retry or zero entry) or a
    /// tagged value entry (bit 0 set): nothing an IDR stores, skipped.
    Other(u64),
}

impl XaEntry {
    /// Decodes a raw slot.
    #[must_use]
    pub fn classify(raw: u64) -> Self {
        if raw == 0 {
            Self::Empty
        } else if raw & 3 == 2 && raw > 4096 {
            Self::Node(VirtAddr(raw.wrapping_sub(2)))
        } else if raw & 3 == 0 {
            Self::Value(VirtAddr(raw))
        } else {
            Self::Other(raw)
        }
    }
}

/// Reads the nodes of one xarray from wherever it lives.
pub trait XaNodes {
    /// Why a read failed.
    type Error;

    /// `node->shift`.
    ///
    /// # Errors
    /// The node cannot be read.
    fn shift(&mut self, node: VirtAddr) -> Result<u8, Self::Error>;

    /// `node->slots[slot]`.
    ///
    /// # Errors
    /// The slot cannot be read.
    fn slot(&mut self, node: VirtAddr, slot: u32) -> Result<u64, Self::Error>;
}

/// The walk's caps and the tree's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XaLimits {
    /// Slots per node (`xa_node.slots`' length: a power of two, 4 to 64).
    pub slots: u32,
    /// Nodes visited at most.
    pub max_nodes: u32,
    /// Entries reported at most.
    pub max_entries: u32,
}

/// One thing the walk found.
#[derive(Debug, PartialEq, Eq)]
pub enum XaEvent<E> {
    /// The entry at `index`.
    Entry {
        /// Its index (an IDR's id minus `idr_base`).
        index: u64,
        /// What is stored there.
        entry: VirtAddr,
    },
    /// A node (or a slot of it) could not be read: its subtree (or that slot) is skipped.
    Unreadable {
        /// The node.
        node: VirtAddr,
        /// The slot, `None` for the node's `shift`.
        slot: Option<u32>,
        /// The reader's error.
        error: E,
    },
    /// A node whose `shift` breaks the tree's rules (a cycle, a stale or foreign node): its
    /// subtree is skipped.
    BadShift {
        /// The node.
        node: VirtAddr,
        /// Its shift.
        shift: u8,
        /// The shift it must have (`None` for the root: a multiple of the chunk shift below 64).
        expected: Option<u8>,
    },
    /// A node pointer in a leaf node's slot (shift 0 holds entries only): skipped.
    NodeInLeaf {
        /// The leaf node.
        node: VirtAddr,
        /// The slot.
        slot: u32,
    },
}

/// Which of [`XaLimits`]' caps cut a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XaCap {
    /// [`XaLimits::max_entries`].
    Entries,
    /// [`XaLimits::max_nodes`].
    Nodes,
}

/// What a walk did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct XaSummary {
    /// Entries reported.
    pub entries: u32,
    /// Nodes visited.
    pub nodes: u32,
    /// A cap fired ([`XaLimits::max_nodes`] or [`XaLimits::max_entries`]; see [`Self::cap`]),
    /// or the geometry is invalid: the walk is incomplete.
    pub truncated: bool,
    /// Which cap fired, when one did.
    pub cap: Option<XaCap>,
    /// Nodes or slots skipped (unreadable, bad shift, node in a leaf).
    pub skipped: u32,
    /// The callback stopped the walk.
    pub stopped: bool,
}

#[derive(Clone, Copy)]
struct Frame {
    node: VirtAddr,
    shift: u8,
    base: u64,
    next: u32,
}

/// Walks the xarray whose `xa_head` is `head`, in index order, calling `f` with every entry
/// and every problem; `f` returns false to stop. An invalid geometry (`slots` not a power of
/// two from 4 to 64) walks nothing and says so with `truncated`.
pub fn walk_xarray<N: XaNodes>(
    head: u64,
    limits: &XaLimits,
    nodes: &mut N,
    f: impl FnMut(XaEvent<N::Error>) -> bool,
) -> XaSummary {
    let slots = limits.slots;
    let mut walk = Walk {
        limits,
        nodes,
        f,
        sum: XaSummary::default(),
        stack: [Frame { node: VirtAddr(0), shift: 0, base: 0, next: 0 }; MAX_XA_DEPTH],
        depth: 0,
        chunk_shift: u8::try_from(slots.trailing_zeros()).unwrap_or(0),
    };
    if !(4..=MAX_XA_SLOTS).contains(&slots) || !slots.is_power_of_two() {
        walk.sum.truncated = true;
        return walk.sum;
    }
    match XaEntry::classify(head) {
        XaEntry::Empty | XaEntry::Other(_) => {}
        // A lone entry at index 0 lives in the head itself.
        XaEntry::Value(entry) => {
            walk.entry(0, entry);
        }
        XaEntry::Node(root) => {
            if walk.enter(root, None, 0) {
                walk.run();
            }
        }
    }
    walk.sum
}

struct Walk<'l, 'n, N: XaNodes, F> {
    limits: &'l XaLimits,
    nodes: &'n mut N,
    f: F,
    sum: XaSummary,
    stack: [Frame; MAX_XA_DEPTH],
    depth: usize,
    chunk_shift: u8,
}

impl<N: XaNodes, F: FnMut(XaEvent<N::Error>) -> bool> Walk<'_, '_, N, F> {
    /// Visits the slots of the nodes on the stack, depth first.
    fn run(&mut self) {
        while let Some(top) = self.depth.checked_sub(1) {
            let Some(frame) = self.stack.get_mut(top) else { return };
            if frame.next >= self.limits.slots {
                self.depth = top;
                continue;
            }
            let Frame { node, shift, base, next: slot } = *frame;
            frame.next = slot.saturating_add(1);
            let raw = match self.nodes.slot(node, slot) {
                Ok(raw) => raw,
                Err(error) => {
                    if !self.problem(XaEvent::Unreadable { node, slot: Some(slot), error }) {
                        return;
                    }
                    continue;
                }
            };
            // The index bits this slot covers (`shift` < 64 was checked on entering the node).
            let index = base | u64::from(slot).checked_shl(u32::from(shift)).unwrap_or(0);
            let go = match XaEntry::classify(raw) {
                XaEntry::Empty | XaEntry::Other(_) => true,
                XaEntry::Value(entry) => self.entry(index, entry),
                XaEntry::Node(_) if shift == 0 => self.problem(XaEvent::NodeInLeaf { node, slot }),
                XaEntry::Node(child) => {
                    self.enter(child, Some(shift.saturating_sub(self.chunk_shift)), index)
                }
            };
            if !go {
                return;
            }
        }
    }

    /// Reports an entry; false when the walk must end (cap or stop).
    fn entry(&mut self, index: u64, entry: VirtAddr) -> bool {
        if self.sum.entries >= self.limits.max_entries {
            self.sum.truncated = true;
            self.sum.cap = Some(XaCap::Entries);
            return false;
        }
        self.sum.entries = self.sum.entries.saturating_add(1);
        self.call(XaEvent::Entry { index, entry })
    }

    /// Reports a skipped node or slot; false when the callback stops the walk.
    fn problem(&mut self, event: XaEvent<N::Error>) -> bool {
        self.sum.skipped = self.sum.skipped.saturating_add(1);
        self.call(event)
    }

    fn call(&mut self, event: XaEvent<N::Error>) -> bool {
        let go = (self.f)(event);
        self.sum.stopped |= !go;
        go
    }

    /// Pushes `node` once its shift checks out (`expected`; for the root a multiple of the
    /// chunk shift below 64); a node that fails is reported and skipped. False when the walk
    /// must end.
    fn enter(&mut self, node: VirtAddr, expected: Option<u8>, base: u64) -> bool {
        if self.sum.nodes >= self.limits.max_nodes {
            self.sum.truncated = true;
            self.sum.cap = Some(XaCap::Nodes);
            return false;
        }
        self.sum.nodes = self.sum.nodes.saturating_add(1);
        let shift = match self.nodes.shift(node) {
            Ok(s) => s,
            Err(error) => return self.problem(XaEvent::Unreadable { node, slot: None, error }),
        };
        let valid = match expected {
            Some(e) => shift == e,
            None => shift < 64 && shift.checked_rem(self.chunk_shift) == Some(0),
        };
        match self.stack.get_mut(self.depth) {
            Some(frame) if valid => {
                *frame = Frame { node, shift, base, next: 0 };
                self.depth = self.depth.saturating_add(1);
                true
            }
            _ => self.problem(XaEvent::BadShift { node, shift, expected }),
        }
    }
}
