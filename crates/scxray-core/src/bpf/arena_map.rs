//! An arena map (`struct bpf_arena`) read through the kernel's own mapping of it (see
//! `README.md`, "ARENA"): its geometry ([`ArenaGeometry`]), which pages are allocated, its
//! pages streamed to the visitor, and reads of arena objects by their user address.
//!
//! Which pages are allocated comes from the arena's free-range tree (`bpf_arena.rt`, an
//! interval rb-tree of free page ranges, 6.13+): a page is allocated iff no free range holds
//! it. A free page is reported absent and never read: since 7.2 a kernel fault may have
//! mapped the arena's scratch page there, which is not the arena's data. A kernel without the
//! tree (6.12 kept a maple tree) installs no scratch page either, so there a page is taken as
//! allocated iff it translates.

use crate::addr::VirtAddr;
use crate::bpf::arena::ArenaGeometry;
use crate::bpf::bytes::GuestSpan;
use crate::bpf::contents::{Anomaly, ContentsKind, ContentsWalk, Truncation};
use crate::bpf::header::{MapHeader, Window};
use crate::bpf::layout::ArenaFreeTreeLayout;
use crate::bpf::visit::{ArenaPage, BpfVisitor};
pub use crate::bpf::walked::ArenaError;
use crate::bpf::walker::{BpfError, BpfGroup, Walker};
use crate::error::{Field, ReadCause, ReadError};
use crate::memory::PhysMem;
use crate::translate::Translate;
use crate::translate::TranslateError;
use core::cell::Cell;
use core::ops::ControlFlow;

/// Deepest rb-tree path followed (the stack of the in-order walk): `MAX_RBTREE_DEPTH`.
const DEPTH: usize = 64;

/// One arena, as read from its `struct bpf_arena`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArenaInfo {
    /// The arena's `struct bpf_map` (its `struct bpf_arena` starts with it).
    pub map: VirtAddr,
    /// `kern_vm->addr`.
    pub vm_addr: VirtAddr,
    /// `bpf_arena.user_vm_start`.
    pub user_vm_start: u64,
    /// `bpf_map.max_entries`: pages.
    pub pages: u32,
    /// The root of the free-range tree (`None`: the kernel has no such tree).
    pub free_root: Option<VirtAddr>,
    /// `bpf_arena.nr_pages`: pages allocated (7.3+).
    pub nr_pages: Option<u64>,
}

/// Whether an arena page is the arena's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PageState {
    /// Allocated (by the free-range tree, or on a kernel without one, mapped).
    Allocated,
    /// Free: absent, never read.
    Free,
    /// The free-range tree could not be searched to the page (unreadable node, depth cap).
    Unknown,
}

/// Reads of one arena's objects by user address, each checked against the arena's bounds
/// and allocated pages (the last page found allocated is remembered: objects cluster), at
/// most `BpfLimits::arena_reads` of them.
#[derive(Debug)]
pub struct ArenaReader<'w, 'a, M: ?Sized, T: ?Sized> {
    walker: &'w Walker<'a, M, T>,
    /// The arena.
    pub info: ArenaInfo,
    /// Its addresses.
    pub geometry: ArenaGeometry,
    last_allocated: Cell<Option<u32>>,
    reads_left: Cell<u32>,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> ArenaReader<'_, '_, M, T> {
    /// Whether page `page` is the arena's.
    pub fn page_state(&self, page: u32) -> PageState {
        if self.last_allocated.get() == Some(page) {
            return PageState::Allocated;
        }
        let state = self.walker.page_state(&self.info, &self.geometry, page);
        if state == PageState::Allocated {
            self.last_allocated.set(Some(page));
        }
        state
    }

    /// Fills `buf` with the arena bytes at user address `uaddr`.
    ///
    /// # Errors
    /// They are not all inside the arena, on allocated pages, and readable.
    pub fn read(&self, uaddr: u64, buf: &mut [u8]) -> Result<(), ArenaError> {
        let left = self.reads_left.get().checked_sub(1).ok_or(ArenaError::Budget)?;
        self.reads_left.set(left);
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let last = uaddr.checked_add(len.saturating_sub(1)).ok_or(ArenaError::Outside { uaddr })?;
        let (first_page, _) = self.geometry.page_of(uaddr).ok_or(ArenaError::Outside { uaddr })?;
        let (last_page, _) = self.geometry.page_of(last).ok_or(ArenaError::Outside { uaddr: last })?;
        for page in first_page..=last_page {
            match self.page_state(page) {
                PageState::Allocated => {}
                PageState::Free => return Err(ArenaError::Unallocated { page }),
                PageState::Unknown => return Err(ArenaError::Unknown { page }),
            }
        }
        let kaddr = self.geometry.kaddr(uaddr).ok_or(ArenaError::Outside { uaddr })?;
        self.walker.guest.read_bytes(kaddr, buf, Field::ArenaObject).map_err(ArenaError::Read)
    }

    /// The little-endian `u64` (an arena pointer) at `uaddr`.
    ///
    /// # Errors
    /// As [`ArenaReader::read`].
    pub fn u64(&self, uaddr: u64) -> Result<u64, ArenaError> {
        let mut b = [0u8; 8];
        self.read(uaddr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// The `rb_node`s of a free-range tree and what their `range_node`s hold.
struct FreeTree<'w, 'a, M: ?Sized, T: ?Sized> {
    walker: &'w Walker<'a, M, T>,
    fl: ArenaFreeTreeLayout,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> FreeTree<'_, '_, M, T> {
    /// `(rb_left, rb_right, rn_start, rn_last)` of the tree node `rb`.
    fn node(&self, rb: VirtAddr) -> Result<(VirtAddr, VirtAddr, u32, u32), ReadError> {
        let g = &self.walker.guest;
        let f = Field::ArenaRangeNode;
        let range = rb.container_of(self.fl.rb_node, f)?;
        let w = Window::read(
            g,
            range,
            &[
                (self.fl.rb_node.saturating_add(self.fl.rb_left), 8),
                (self.fl.rb_node.saturating_add(self.fl.rb_right), 8),
                (self.fl.start, 4),
                (self.fl.last, 4),
            ],
            f,
        )?;
        Ok((
            VirtAddr(w.u64(g, self.fl.rb_node.saturating_add(self.fl.rb_left), f)?),
            VirtAddr(w.u64(g, self.fl.rb_node.saturating_add(self.fl.rb_right), f)?),
            w.u32(g, self.fl.start, f)?,
            w.u32(g, self.fl.last, f)?,
        ))
    }
}

/// How an in-order walk of the free ranges ended.
#[derive(Clone, Copy, Debug, Default)]
struct FreeWalk {
    truncated: bool,
    unordered: bool,
    error: Option<ReadError>,
}

impl<'a, M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'a, M, T> {
    /// The arena whose `struct bpf_map` is at `map` (its `struct bpf_arena` starts with it).
    ///
    /// # Errors
    /// The layout lacks the arena or map group, a member cannot be read, or the geometry
    /// cannot be the kernel's ([`BpfError::BadArena`]).
    pub fn arena(&self, map: VirtAddr) -> Result<ArenaReader<'_, 'a, M, T>, BpfError> {
        let info = self.arena_info(map)?;
        let geometry = ArenaGeometry::new(info.vm_addr, info.user_vm_start, info.pages, self.page_size)
            .ok_or(BpfError::BadArena)?;
        Ok(ArenaReader {
            walker: self,
            info,
            geometry,
            last_allocated: Cell::new(None),
            reads_left: Cell::new(self.limits.arena_reads),
        })
    }

    fn arena_info(&self, map: VirtAddr) -> Result<ArenaInfo, BpfError> {
        let al = self.layout().arena.ok_or(BpfError::MissingLayout(BpfGroup::Arena))?;
        let ml = self.layout().map.ok_or(BpfError::MissingLayout(BpfGroup::Map))?;
        let g = &self.guest;
        let f = Field::BpfArena;
        let pages = g.read_le::<u32>(map.member(ml.max_entries, Field::BpfMap)?, Field::BpfMap)?;
        let user_vm_start = g.read_le::<u64>(map.member(al.user_vm_start, f)?, f)?;
        let kern_vm = g.read_ptr(map.member(al.kern_vm, f)?, f)?;
        let vm_addr = g.read_ptr(kern_vm.member(al.vm_addr, Field::ArenaKernVm)?, Field::ArenaKernVm)?;
        let free_root = match al.free {
            Some(fl) => Some(g.read_ptr(map.member(fl.root, Field::ArenaFreeRoot)?, Field::ArenaFreeRoot)?),
            None => None,
        };
        let nr_pages =
            al.nr_pages.map(|o| map.member(o, f).and_then(|at| g.read_le::<u64>(at, f))).transpose()?;
        Ok(ArenaInfo { map, vm_addr, user_vm_start, pages, free_root, nr_pages })
    }

    /// Whether `page` is allocated: a search of the free-range tree (an interval tree keyed
    /// by `rn_start` over disjoint ranges), or without one whether the page translates.
    fn page_state(&self, info: &ArenaInfo, geometry: &ArenaGeometry, page: u32) -> PageState {
        let Some(kaddr) = geometry.page_kaddr(page) else { return PageState::Free };
        let (Some(mut rb), Some(fl)) = (info.free_root, self.layout().arena.and_then(|a| a.free)) else {
            // Only an absent entry says the page is not there; a bad descriptor or an
            // unreadable table says nothing (as `walk_arena` tells them apart).
            return match self.guest.translate(kaddr, Field::ArenaPage) {
                Ok(_) => PageState::Allocated,
                Err(ReadError { cause: ReadCause::Translate(TranslateError::NotMapped { .. }), .. }) => {
                    PageState::Free
                }
                Err(_) => PageState::Unknown,
            };
        };
        let tree = FreeTree { walker: self, fl };
        for _ in 0..DEPTH {
            if rb.0 == 0 {
                return PageState::Allocated;
            }
            let Ok((left, right, start, last)) = tree.node(rb) else { return PageState::Unknown };
            rb = if page < start {
                left
            } else if page > last {
                right
            } else {
                return PageState::Free;
            };
        }
        PageState::Unknown
    }

    /// The free ranges in page order, `f(start, last)` (inclusive) until it returns `Break`;
    /// at most `free_ranges` nodes, `MAX_RBTREE_DEPTH` deep.
    fn walk_free(
        &self,
        root: VirtAddr,
        fl: ArenaFreeTreeLayout,
        mut f: impl FnMut(u32, u32) -> ControlFlow<()>,
    ) -> FreeWalk {
        let tree = FreeTree { walker: self, fl };
        let mut out = FreeWalk::default();
        let mut stack = [(VirtAddr(0), VirtAddr(0), 0u32, 0u32); DEPTH];
        let mut depth = 0usize;
        let mut cur = root;
        let mut visited = 0u32;
        let mut prev_last: Option<u32> = None;
        loop {
            while cur.0 != 0 {
                if visited >= self.limits.free_ranges {
                    out.truncated = true;
                    return out;
                }
                visited = visited.saturating_add(1);
                let (left, right, start, last) = match tree.node(cur) {
                    Ok(n) => n,
                    Err(e) => {
                        out.error = Some(e);
                        return out;
                    }
                };
                let Some(slot) = stack.get_mut(depth) else {
                    out.truncated = true;
                    return out;
                };
                *slot = (cur, right, start, last);
                depth = depth.saturating_add(1);
                cur = left;
            }
            let Some(top) = depth.checked_sub(1) else { return out };
            depth = top;
            let Some(&(_, right, start, last)) = stack.get(top) else { return out };
            if start > last || prev_last.is_some_and(|p| start <= p) {
                out.unordered = true;
                return out;
            }
            prev_last = Some(last);
            if f(start, last).is_break() {
                return out;
            }
            cur = right;
        }
    }

    /// ARENA: the free ranges reported absent (`v.arena_free`) and every allocated page in
    /// between handed (`v.arena_page`), in page order, at most `elems` pages.
    pub(crate) fn walk_arena<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        v: &mut V,
    ) -> Result<ContentsWalk, (ContentsKind, BpfError)> {
        let kind = ContentsKind::Arena;
        let mut walk = ContentsWalk { kind, ..ContentsWalk::default() };
        let arena = match self.arena(map.kva) {
            Ok(a) => a,
            Err(BpfError::BadArena) => {
                walk.anomalies |= Anomaly::BAD_GEOMETRY;
                return Ok(walk);
            }
            Err(e) => return Err((kind, e)),
        };
        let pages = arena.geometry.pages;
        // No more pages can be allocated than the arena has (`max_entries`): on a kernel's
        // arena this cap never fires (`nr_pages`, 7.3+, is checked against the pages found).
        walk.elems_cap = self.limits.elems_cap(Some(pages), 0, 1);
        let elems_cap = walk.elems_cap.value;
        // Hands the mapped pages of `from..to` (none free), false when the pass must end.
        // A page that no free range holds and that is not mapped (its entry at the leaf or a
        // higher level not present) is reserved: `bpf_arena_reserve_pages` takes pages out of
        // the free ranges without allocating them. The whole run that one absent entry
        // leaves unmapped is counted at once, so a reserved 4-GiB arena costs a few thousand
        // translations, at most `arena_probes` of them.
        let mut next_page = 0u32;
        let mut probes = 0u32;
        let allocated = |walk: &mut ContentsWalk, v: &mut V, probes: &mut u32, from: u32, to: u32| -> bool {
            let mut index = from;
            while index < to {
                if walk.elems >= elems_cap {
                    walk.truncated |= Truncation::ELEMS;
                    return false;
                }
                if *probes >= self.limits.arena_probes {
                    walk.truncated |= Truncation::PROBES;
                    return false;
                }
                *probes = probes.saturating_add(1);
                let Some(kaddr) = arena.geometry.page_kaddr(index) else { return false };
                match self.guest.translate(kaddr, Field::ArenaPage) {
                    Ok(_) => {}
                    Err(ReadError {
                        cause: ReadCause::Translate(TranslateError::NotMapped { level, .. }),
                        ..
                    }) => {
                        let run = arena.geometry.unmapped_run(index, level, to).unwrap_or(1);
                        walk.reserved_pages = walk.reserved_pages.saturating_add(u64::from(run));
                        index = index.saturating_add(run);
                        continue;
                    }
                    Err(e) => {
                        walk.elems = walk.elems.saturating_add(1);
                        walk.broke(e);
                        index = index.saturating_add(1);
                        continue;
                    }
                }
                walk.elems = walk.elems.saturating_add(1);
                let uaddr = arena
                    .geometry
                    .user_vm_start
                    .saturating_add(u64::from(index).saturating_mul(self.page_size));
                let bytes = GuestSpan::new(&self.guest, kaddr, self.page_size, Field::ArenaPage);
                walk.values = walk.values.saturating_add(1);
                if v.arena_page(map, &ArenaPage { index, uaddr, bytes: &bytes }).is_break() {
                    walk.truncated |= Truncation::STOPPED;
                    return false;
                }
                index = index.saturating_add(1);
            }
            true
        };
        match (arena.info.free_root, self.layout().arena.and_then(|a| a.free)) {
            (Some(root), Some(fl)) => {
                let mut go = true;
                let free = self.walk_free(root, fl, |start, last| {
                    let last = last.min(pages.saturating_sub(1));
                    if start >= pages {
                        return ControlFlow::Continue(());
                    }
                    go = allocated(&mut walk, v, &mut probes, next_page, start);
                    if !go {
                        return ControlFlow::Break(());
                    }
                    v.arena_free(map, start, last);
                    walk.free_pages = walk
                        .free_pages
                        .saturating_add(u64::from(last.saturating_sub(start)).saturating_add(1));
                    next_page = last.saturating_add(1);
                    ControlFlow::Continue(())
                });
                if free.truncated {
                    walk.truncated |= Truncation::FREE_RANGES;
                }
                if free.unordered {
                    walk.anomalies |= Anomaly::UNORDERED_RANGES;
                }
                if let Some(e) = free.error {
                    walk.broke(e);
                }
                // The pages after the last free range, only when the tree was seen whole; a
                // whole pass must find the pages the kernel counts.
                if go && !free.truncated && !free.unordered && free.error.is_none() {
                    let whole = allocated(&mut walk, v, &mut probes, next_page, pages);
                    let counted = arena.info.nr_pages;
                    if whole && walk.broken == 0 && counted.is_some_and(|n| n != u64::from(walk.elems)) {
                        walk.anomalies |= Anomaly::PAGE_COUNT;
                    }
                }
            }
            _ => {
                // No tree: a page is the arena's iff it is mapped; the unmapped runs are
                // reported free. At most `elems` pages are probed.
                if pages > elems_cap {
                    walk.truncated |= Truncation::ELEMS;
                }
                let mut run: Option<u32> = None;
                let probed = pages.min(elems_cap);
                for index in 0..probed {
                    if arena.page_state(index) == PageState::Allocated {
                        if let Some(first) = run.take() {
                            v.arena_free(map, first, index.saturating_sub(1));
                        }
                        if !allocated(&mut walk, v, &mut probes, index, index.saturating_add(1)) {
                            return Ok(walk);
                        }
                    } else {
                        walk.free_pages = walk.free_pages.saturating_add(1);
                        run.get_or_insert(index);
                    }
                }
                if let Some(first) = run {
                    v.arena_free(map, first, probed.saturating_sub(1));
                }
            }
        }
        Ok(walk)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stack_is_as_deep_as_the_cap_says() {
        assert_eq!(super::DEPTH, crate::limits::MAX_RBTREE_DEPTH as usize);
    }
}
