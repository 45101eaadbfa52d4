//! A software TLB: [`CachedTranslate`] remembers the page-walked translations of an inner
//! [`Translate`], so walks that come back to the same pages (per-CPU areas and bucket tables
//! in vmalloc space, task structs read field by field) walk the page tables once per page.
//!
//! Fixed size, direct-mapped, no allocation, no `unsafe`: `N` entries of one 4 KiB page each
//! (key `va >> 12`, value the physical base of that 4 KiB page), held in [`Cell`]s because
//! [`Translate::translate`] takes `&self`. 4 KiB is the smallest page of every supported
//! guest, so one entry is correct whatever the real page size: a 2 MiB, 64 KiB or 1 GiB page
//! maps each of its 4 KiB pieces contiguously.
//!
//! What is cached:
//! - only addresses the inner translator walks ([`AddressKind::PageWalk`]): the direct-map and
//!   kernel-image rules are cheaper than a lookup and go straight through;
//! - only successes: an error is returned as the inner translator gave it and never stored;
//! - only pages the inner translator maps as a unit: before storing, the page's first and
//!   last byte are translated too and must land on the two ends of one physical 4 KiB page.
//!   A rule that ends inside a page (a RAM end that is not page-aligned, a linear range of
//!   odd length) then leaves that page uncached, and every translation stays exactly what
//!   the inner translator returns (checked by a property test over real page tables).
//!
//! The guest's page tables may change (a live guest): [`CachedTranslate::invalidate`] empties
//! the cache, [`CachedTranslate::invalidate_page`] drops one page.
//!
//! ```
//! use scxray_core::tlb::CachedTranslate;
//! use scxray_core::*;
//! # let bytes = [0u8; 0x2000];
//! let mem = FlatImage::new(PhysAddr(0), &bytes);
//! let ranges = [LinearRange {
//!     va_start: VirtAddr(0xffff_c900_0000_0000),
//!     len: 0x2000,
//!     pa_start: PhysAddr(0),
//!     kind: AddressKind::PageWalk,
//! }];
//! let tlb: CachedTranslate<_, 64> = CachedTranslate::new(LinearTranslator::new(&ranges));
//! let va = VirtAddr(0xffff_c900_0000_1008);
//! assert_eq!(tlb.translate(&mem, va), Ok(PhysAddr(0x1008)));
//! assert_eq!(tlb.translate(&mem, va), Ok(PhysAddr(0x1008)));
//! assert_eq!((tlb.hits(), tlb.misses()), (1, 1));
//! ```

use crate::addr::{PhysAddr, VirtAddr};
use crate::memory::PhysMem;
use crate::translate::{AddressKind, Translate, TranslateError};
use core::cell::Cell;
use core::fmt;

/// The cache's page size: the smallest page of every supported guest.
pub const TLB_PAGE_SHIFT: u32 = 12;
const TLB_PAGE: u64 = 1 << TLB_PAGE_SHIFT;
const TLB_OFFSET_MASK: u64 = TLB_PAGE - 1;

/// One cached page: virtual page number and the physical base of its 4 KiB page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    vpn: u64,
    pa_page: u64,
}

/// A [`Translate`] middleware with an `N`-entry direct-mapped cache of page-walked 4 KiB
/// pages (see the module docs). `N` must be at least 1 (a compile-time check).
pub struct CachedTranslate<T, const N: usize> {
    inner: T,
    entries: [Cell<Option<Entry>>; N],
    hits: Cell<u64>,
    misses: Cell<u64>,
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for CachedTranslate<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTranslate")
            .field("inner", &self.inner)
            .field("entries", &N)
            .field("hits", &self.hits.get())
            .field("misses", &self.misses.get())
            .finish()
    }
}

impl<T: Clone, const N: usize> Clone for CachedTranslate<T, N> {
    /// A clone shares nothing: it starts with an empty cache.
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<T, const N: usize> CachedTranslate<T, N> {
    const NONZERO: () = assert!(N > 0, "a CachedTranslate needs at least one entry");

    /// An empty cache in front of `inner`.
    #[must_use]
    pub const fn new(inner: T) -> Self {
        let () = Self::NONZERO;
        Self { inner, entries: [const { Cell::new(None) }; N], hits: Cell::new(0), misses: Cell::new(0) }
    }

    /// The inner translator.
    #[must_use]
    pub const fn inner(&self) -> &T {
        &self.inner
    }

    /// The inner translator, the cache dropped.
    #[must_use]
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// Empties the cache (the guest's page tables changed). Counters are kept.
    pub fn invalidate(&self) {
        for e in &self.entries {
            e.set(None);
        }
    }

    /// Drops the cached translation of the 4 KiB page holding `va`, if any.
    pub fn invalidate_page(&self, va: VirtAddr) {
        let vpn = va.0 >> TLB_PAGE_SHIFT;
        if let Some(slot) = self.slot(vpn)
            && slot.get().is_some_and(|e| e.vpn == vpn)
        {
            slot.set(None);
        }
    }

    /// Page-walked translations answered from the cache.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.hits.get()
    }

    /// Page-walked translations passed to the inner translator.
    #[must_use]
    pub fn misses(&self) -> u64 {
        self.misses.get()
    }

    /// The slot for `vpn`: a multiplicative hash, so pages at a regular stride (per-CPU
    /// areas, one task struct per few pages) spread over the slots.
    fn slot(&self, vpn: u64) -> Option<&Cell<Option<Entry>>> {
        // The high half of the product: below 2^32, so it fits a usize on every target.
        let h = usize::try_from(vpn.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32).ok()?;
        self.entries.get(h.checked_rem(N)?)
    }
}

impl<T: Translate, const N: usize> CachedTranslate<T, N> {
    /// Whether the inner translator maps the whole 4 KiB page of `va` linearly onto one
    /// physical 4 KiB page, `va` itself having translated to `pa`.
    fn page_is_uniform<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr, pa: PhysAddr) -> bool {
        let off = va.0 & TLB_OFFSET_MASK;
        if pa.0 & TLB_OFFSET_MASK != off {
            return false;
        }
        let first_va = VirtAddr(va.0 & !TLB_OFFSET_MASK);
        let last_va = VirtAddr(first_va.0 | TLB_OFFSET_MASK);
        let first_pa = PhysAddr(pa.0 & !TLB_OFFSET_MASK);
        let last_pa = PhysAddr(first_pa.0 | TLB_OFFSET_MASK);
        let same_kind = self.inner.kind(first_va) == AddressKind::PageWalk
            && self.inner.kind(last_va) == AddressKind::PageWalk;
        same_kind
            && self.inner.translate(mem, first_va) == Ok(first_pa)
            && self.inner.translate(mem, last_va) == Ok(last_pa)
    }
}

impl<T: Translate, const N: usize> Translate for CachedTranslate<T, N> {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        self.inner.kind(va)
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        if self.inner.kind(va) != AddressKind::PageWalk {
            return self.inner.translate(mem, va);
        }
        let vpn = va.0 >> TLB_PAGE_SHIFT;
        let off = va.0 & TLB_OFFSET_MASK;
        let slot = self.slot(vpn);
        if let Some(e) = slot.and_then(Cell::get)
            && e.vpn == vpn
        {
            self.hits.set(self.hits.get().wrapping_add(1));
            return Ok(PhysAddr(e.pa_page | off));
        }
        self.misses.set(self.misses.get().wrapping_add(1));
        let pa = self.inner.translate(mem, va)?;
        if let Some(slot) = slot
            && self.page_is_uniform(mem, va, pa)
        {
            slot.set(Some(Entry { vpn, pa_page: pa.0 & !TLB_OFFSET_MASK }));
        }
        Ok(pa)
    }

    /// A page-walked address answers for its page when its page is (or was just found to
    /// be) cacheable: the cache serves every address of that page from the one entry.
    /// Other addresses: as the inner translator says.
    fn translate_in_page<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, bool), TranslateError> {
        if self.inner.kind(va) != AddressKind::PageWalk {
            return self.inner.translate_in_page(mem, va);
        }
        let pa = self.translate(mem, va)?;
        let vpn = va.0 >> TLB_PAGE_SHIFT;
        let cached = self.slot(vpn).and_then(Cell::get).is_some_and(|e| e.vpn == vpn);
        Ok((pa, cached))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::FlatImage;
    use crate::translate::{LinearRange, LinearTranslator};

    const VM: u64 = 0xffff_c900_0000_0000;

    fn walked(va: u64, len: u64, pa: u64) -> LinearRange {
        LinearRange { va_start: VirtAddr(va), len, pa_start: PhysAddr(pa), kind: AddressKind::PageWalk }
    }

    #[test]
    fn hits_after_the_first_walk_and_returns_the_inner_result() {
        let ranges = [walked(VM, 0x3000, 0x5000)];
        let inner = LinearTranslator::new(&ranges);
        let t: CachedTranslate<_, 8> = CachedTranslate::new(inner);
        let mem = FlatImage::new(PhysAddr(0), &[]);
        for va in [VM, VM + 8, VM + 0xfff, VM + 0x1000, VM + 0x2ff8, VM + 0x10] {
            assert_eq!(t.translate(&mem, VirtAddr(va)), inner.translate(&mem, VirtAddr(va)));
        }
        assert_eq!((t.misses(), t.hits()), (3, 3));
    }

    #[test]
    fn errors_are_never_cached() {
        let ranges = [walked(VM, 0x1000, 0x5000)];
        let t: CachedTranslate<_, 8> = CachedTranslate::new(LinearTranslator::new(&ranges));
        let mem = FlatImage::new(PhysAddr(0), &[]);
        let unmapped = VirtAddr(VM + 0x1000);
        for _ in 0..3 {
            assert_eq!(
                t.translate(&mem, unmapped),
                Err(TranslateError::NotMapped { va: unmapped, level: 0 })
            );
        }
        assert_eq!((t.misses(), t.hits()), (3, 0));
    }

    #[test]
    fn a_page_the_inner_rule_ends_inside_is_not_cached() {
        // The range ends 16 bytes into its second page: that page's tail is unmapped.
        let ranges = [walked(VM, 0x1010, 0x5000)];
        let inner = LinearTranslator::new(&ranges);
        let t: CachedTranslate<_, 8> = CachedTranslate::new(inner);
        let mem = FlatImage::new(PhysAddr(0), &[]);
        assert_eq!(t.translate(&mem, VirtAddr(VM + 0x1008)), Ok(PhysAddr(0x6008)));
        let tail = VirtAddr(VM + 0x1100);
        assert_eq!(t.translate(&mem, tail), inner.translate(&mem, tail));
        assert!(t.translate(&mem, tail).is_err());
    }

    #[test]
    fn answers_for_a_page_only_when_it_caches_it() {
        // The second page is mapped only in part: never cached, never answered for.
        let ranges = [walked(VM, 0x1010, 0x5000)];
        let t: CachedTranslate<_, 8> = CachedTranslate::new(LinearTranslator::new(&ranges));
        let mem = FlatImage::new(PhysAddr(0), &[]);
        assert_eq!(t.translate_in_page(&mem, VirtAddr(VM + 8)), Ok((PhysAddr(0x5008), true)));
        assert_eq!(t.translate_in_page(&mem, VirtAddr(VM + 0x10)), Ok((PhysAddr(0x5010), true)));
        assert_eq!(t.translate_in_page(&mem, VirtAddr(VM + 0x1008)), Ok((PhysAddr(0x6008), false)));
        assert!(t.translate_in_page(&mem, VirtAddr(VM + 0x1100)).is_err());
        assert_eq!((t.misses(), t.hits()), (3, 1));
    }

    #[test]
    fn linear_rules_pass_straight_through() {
        let ranges = [LinearRange {
            va_start: VirtAddr(0xffff_8880_0000_0000),
            len: 0x1000,
            pa_start: PhysAddr(0),
            kind: AddressKind::DirectMap,
        }];
        let t: CachedTranslate<_, 4> = CachedTranslate::new(LinearTranslator::new(&ranges));
        let mem = FlatImage::new(PhysAddr(0), &[]);
        assert_eq!(t.translate(&mem, VirtAddr(0xffff_8880_0000_0010)), Ok(PhysAddr(0x10)));
        assert_eq!((t.misses(), t.hits()), (0, 0));
    }

    #[test]
    fn invalidation_forgets() {
        let ranges = [walked(VM, 0x2000, 0x5000)];
        let t: CachedTranslate<_, 1> = CachedTranslate::new(LinearTranslator::new(&ranges));
        let mem = FlatImage::new(PhysAddr(0), &[]);
        let va = VirtAddr(VM + 0x20);
        t.translate(&mem, va).unwrap();
        t.invalidate_page(VirtAddr(VM + 0x1000)); // another page: kept
        t.translate(&mem, va).unwrap();
        assert_eq!((t.misses(), t.hits()), (1, 1));
        t.invalidate_page(va);
        t.translate(&mem, va).unwrap();
        t.invalidate();
        t.translate(&mem, va).unwrap();
        assert_eq!((t.misses(), t.hits()), (3, 1));
        // One slot: two pages evict each other and stay correct.
        for _ in 0..2 {
            assert_eq!(t.translate(&mem, VirtAddr(VM + 0x1008)), Ok(PhysAddr(0x6008)));
            assert_eq!(t.translate(&mem, VirtAddr(VM + 0x8)), Ok(PhysAddr(0x5008)));
        }
    }
}
