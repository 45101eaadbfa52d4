//! Kernel virtual -> guest physical translation: the [`Translate`] trait, the three kinds of
//! kernel address, and a table-driven translator for guests whose mappings are known ranges.
//!
//! Page-table walkers live in `scxray-x86_64` and `scxray-aarch64`; they implement
//! [`Translate`] and apply the cheap linear rules only inside the ranges those rules cover.

use crate::addr::{PhysAddr, VirtAddr};
use crate::memory::{MemError, PhysMem};
use core::fmt;

/// The three kinds of kernel address; each has its own translation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AddressKind {
    /// The linear map of all RAM (`page_offset_base` on x86_64, `PAGE_OFFSET` on arm64):
    /// `pa = va - start + phys_start`.
    DirectMap,
    /// The kernel image (text, data, bss, the per-CPU template and static lists):
    /// `va - __START_KERNEL_map + phys_base` on x86_64, `va - kimage_voffset` on arm64.
    KernelImage,
    /// Everything else (vmalloc, per-CPU chunks, modules): needs a page-table walk.
    PageWalk,
}

/// Why a kernel virtual address could not be translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TranslateError {
    /// No mapping: an entry at `level` was not present, or no rule covers `va`.
    NotMapped {
        /// The address being translated.
        va: VirtAddr,
        /// Table level where the walk stopped (0 = leaf level; translators without tables
        /// report 0).
        level: u8,
    },
    /// A descriptor was malformed: reserved bits set, an invalid type, a block where the
    /// level allows none.
    BadDescriptor {
        /// The address being translated.
        va: VirtAddr,
        /// Table level of the bad descriptor.
        level: u8,
        /// The raw descriptor.
        descriptor: u64,
    },
    /// The translation produced a physical address outside what the guest can address.
    OutsideMemory {
        /// The address being translated.
        va: VirtAddr,
        /// The physical address it translated to.
        pa: PhysAddr,
    },
    /// A page-table entry could not be read.
    Memory(MemError),
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMapped { va, level } => {
                write!(f, "virtual {va} is not mapped (stopped at level {level})")
            }
            Self::BadDescriptor { va, level, descriptor } => {
                write!(f, "virtual {va}: bad descriptor {descriptor:#018x} at level {level}")
            }
            Self::OutsideMemory { va, pa } => {
                write!(f, "virtual {va} maps to {pa}, outside guest memory")
            }
            Self::Memory(e) => write!(f, "page-table read failed: {e}"),
        }
    }
}

impl core::error::Error for TranslateError {}

impl From<MemError> for TranslateError {
    fn from(e: MemError) -> Self {
        Self::Memory(e)
    }
}

/// Kernel virtual -> guest physical translation.
pub trait Translate {
    /// Which rule applies to `va`.
    fn kind(&self, va: VirtAddr) -> AddressKind;

    /// Translates `va`, reading page tables from `mem` where the address needs a walk.
    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError>;

    /// Translates `va` as [`Translate::translate`] does, and says whether that one
    /// translation answers for the whole 4 KiB page holding `va`: `true` promises that
    /// `translate` would map every address `x` of that page to `pa - va + x`, so a caller
    /// reading more of the page (a list node's flags next to its `next` pointer) may derive
    /// those addresses instead of translating each. `false` promises nothing.
    ///
    /// The default says `false`; translators that know their rules cover whole pages say more.
    fn translate_in_page<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, bool), TranslateError> {
        self.translate(mem, va).map(|pa| (pa, false))
    }

    /// Translates `va` as [`Translate::translate`] does, and gives the span of addresses that
    /// one translation answers for: `Some(r)` promises that `r` holds `va` and that
    /// `translate` maps every address `x` of `r` to `r.apply(x)`, so a caller walking nodes
    /// spread over a linear region (a list through the direct map) translates once per
    /// region instead of once per node. `None` promises nothing.
    ///
    /// The default gives the 4 KiB page when [`Translate::translate_in_page`] answers for it.
    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        let (pa, whole_page) = self.translate_in_page(mem, va)?;
        let span = pa.checked_sub(va.offset_in(PAGE_4K)).filter(|_| whole_page).map(|pa_start| LinearRange {
            va_start: va.align_down(PAGE_4K),
            len: PAGE_4K,
            pa_start,
            kind: AddressKind::PageWalk,
        });
        Ok((pa, span))
    }
}

impl<T: Translate + ?Sized> Translate for &T {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        (**self).kind(va)
    }
    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        (**self).translate(mem, va)
    }
    fn translate_in_page<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, bool), TranslateError> {
        (**self).translate_in_page(mem, va)
    }
    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        (**self).translate_span(mem, va)
    }
}

/// A linear rule: `[va_start, va_start + len)` maps to `pa_start + (va - va_start)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinearRange {
    /// First virtual address covered.
    pub va_start: VirtAddr,
    /// Number of bytes covered.
    pub len: u64,
    /// Physical address of `va_start`.
    pub pa_start: PhysAddr,
    /// The kind of address this range holds.
    pub kind: AddressKind,
}

impl LinearRange {
    /// The physical address of `va`, when this range covers it.
    #[must_use]
    #[inline]
    pub fn apply(&self, va: VirtAddr) -> Option<PhysAddr> {
        let off = va.checked_offset_from(self.va_start)?;
        (off < self.len).then_some(())?;
        self.pa_start.checked_add(off)
    }

    /// The physical address of `va` when all `len` bytes from `va` lie in this range.
    #[must_use]
    #[inline]
    pub fn apply_len(&self, va: VirtAddr, len: u64) -> Option<PhysAddr> {
        let off = va.checked_offset_from(self.va_start)?;
        (off <= self.len.checked_sub(len)?).then_some(())?;
        self.pa_start.checked_add(off)
    }
}

/// A translator made of linear ranges only: for guests (or tests) where every address the
/// walkers touch lies in a known linear mapping. An address no range covers is `NotMapped`.
#[derive(Clone, Copy, Debug)]
pub struct LinearTranslator<'a> {
    ranges: &'a [LinearRange],
}

impl<'a> LinearTranslator<'a> {
    /// Ranges are tried in slice order.
    #[must_use]
    pub const fn new(ranges: &'a [LinearRange]) -> Self {
        Self { ranges }
    }
}

impl Translate for LinearTranslator<'_> {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        self.ranges.iter().find(|r| r.apply(va).is_some()).map_or(AddressKind::PageWalk, |r| r.kind)
    }

    fn translate<M: PhysMem + ?Sized>(&self, _mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        self.ranges.iter().find_map(|r| r.apply(va)).ok_or(TranslateError::NotMapped { va, level: 0 })
    }

    /// The whole page is answered for when the first range that touches the page covers all
    /// of it (no range tried before it takes any of the page's addresses). A page a range
    /// covers only in part gets the plain translation, and `false`.
    fn translate_in_page<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, bool), TranslateError> {
        let first = va.align_down(PAGE_4K);
        let last = first.0 | (PAGE_4K - 1);
        for r in self.ranges {
            if let Some(off) = first.checked_offset_from(r.va_start) {
                if off >= r.len {
                    continue;
                }
                // `off < len`: the range starts at or before the page and reaches into it. It
                // covers the page when the page's last byte is inside it too, and that byte's
                // physical address does not wrap (then no address of the page wraps).
                let last_off = off.wrapping_add(PAGE_4K - 1);
                let va_off = off.wrapping_add(va.offset_in(PAGE_4K));
                let whole = r.len.wrapping_sub(off) >= PAGE_4K && r.pa_start.checked_add(last_off).is_some();
                if let Some(pa) = r.pa_start.checked_add(va_off).filter(|_| whole) {
                    return Ok((pa, true));
                }
            } else if r.va_start.0 > last || r.len == 0 {
                continue;
            }
            return self.translate(mem, va).map(|pa| (pa, false));
        }
        Err(TranslateError::NotMapped { va, level: 0 })
    }

    /// The span is the first range holding `va`, clipped so no earlier range overlaps it
    /// (those win for their addresses) and no physical address in it wraps.
    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        _mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        let mut earlier = 0usize;
        let Some((r, pa)) = self.ranges.iter().find_map(|r| {
            let hit = r.apply(va).map(|pa| (r, pa));
            if hit.is_none() {
                earlier = earlier.saturating_add(1);
            }
            hit
        }) else {
            return Err(TranslateError::NotMapped { va, level: 0 });
        };
        // [lo, hi] inclusive, so a range reaching the top of the address space is expressible.
        let mut lo = r.va_start.0;
        let mut hi = r.va_start.0.saturating_add(r.len.saturating_sub(1));
        if r.pa_start.checked_add(hi.wrapping_sub(lo)).is_none() {
            return Ok((pa, None));
        }
        for e in self.ranges.iter().take(earlier) {
            if e.len == 0 {
                continue;
            }
            let e_hi = e.va_start.0.saturating_add(e.len.saturating_sub(1));
            if e_hi < va.0 {
                lo = lo.max(e_hi.saturating_add(1));
            } else if e.va_start.0 > va.0 {
                hi = hi.min(e.va_start.0.saturating_sub(1));
            } else {
                // `e` holds `va` but its physical address wraps there (and above): below `va`
                // it may still answer, so the span starts at `va`.
                lo = lo.max(va.0);
            }
        }
        let len = hi.wrapping_sub(lo).checked_add(1);
        // `lo` lies in `r` (clipping only raises it, up to `va` at most).
        let span = len.zip(r.apply(VirtAddr(lo))).map(|(len, pa_start)| LinearRange {
            va_start: VirtAddr(lo),
            len,
            pa_start,
            kind: r.kind,
        });
        Ok((pa, span))
    }
}

/// The smallest page of every supported guest.
const PAGE_4K: u64 = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::FlatImage;

    #[test]
    fn linear_translator_applies_only_inside_its_ranges() {
        let ranges = [
            LinearRange {
                va_start: VirtAddr(0xffff_8880_0000_0000),
                len: 0x1000_0000,
                pa_start: PhysAddr(0),
                kind: AddressKind::DirectMap,
            },
            LinearRange {
                va_start: VirtAddr(0xffff_ffff_8000_0000),
                len: 0x100_0000,
                pa_start: PhysAddr(0x100_0000),
                kind: AddressKind::KernelImage,
            },
        ];
        let t = LinearTranslator::new(&ranges);
        let mem = FlatImage::new(PhysAddr(0), &[]);
        assert_eq!(t.translate(&mem, VirtAddr(0xffff_8880_0000_1234)), Ok(PhysAddr(0x1234)));
        assert_eq!(t.translate(&mem, VirtAddr(0xffff_ffff_8000_0010)), Ok(PhysAddr(0x100_0010)));
        assert_eq!(t.kind(VirtAddr(0xffff_ffff_8000_0010)), AddressKind::KernelImage);
        assert_eq!(
            t.translate(&mem, VirtAddr(0xffff_8880_1000_0000)),
            Err(TranslateError::NotMapped { va: VirtAddr(0xffff_8880_1000_0000), level: 0 })
        );
        assert_eq!(t.kind(VirtAddr(0xffff_c900_0000_0000)), AddressKind::PageWalk);
    }

    /// `translate_in_page` says `true` only when `translate` maps every byte of the page
    /// `pa - va + x`, and always returns what `translate` returns for `va` itself.
    fn check_in_page(t: &LinearTranslator<'_>, va: u64) -> bool {
        let mem = FlatImage::new(PhysAddr(0), &[]);
        let va = VirtAddr(va);
        let got = t.translate_in_page(&mem, va);
        assert_eq!(got.map(|(pa, _)| pa), t.translate(&mem, va), "at {va:?}");
        let Ok((pa, true)) = got else { return false };
        let first = va.0 & !0xfff;
        for x in first..=first | 0xfff {
            let want = PhysAddr(pa.0.wrapping_sub(va.0).wrapping_add(x));
            assert_eq!(t.translate(&mem, VirtAddr(x)), Ok(want), "{x:#x} from {va:?}");
        }
        true
    }

    #[test]
    fn linear_translator_answers_for_a_page_only_when_one_range_maps_all_of_it() {
        let range = |va: u64, len: u64, pa: u64| LinearRange {
            va_start: VirtAddr(va),
            len,
            pa_start: PhysAddr(pa),
            kind: AddressKind::DirectMap,
        };
        // Page-aligned, and a range that is not (both cover whole pages inside them).
        let t = [range(0x10_0000, 0x4000, 0), range(0x20_0800, 0x3000, 0x9_0000)];
        let t = LinearTranslator::new(&t);
        assert!(check_in_page(&t, 0x10_0000));
        assert!(check_in_page(&t, 0x10_3ff8));
        assert!(check_in_page(&t, 0x20_1010));
        // Pages the unaligned range covers only in part: its first and last pages.
        assert!(!check_in_page(&t, 0x20_0808));
        assert!(!check_in_page(&t, 0x20_3000));
        // Unmapped.
        assert!(!check_in_page(&t, 0x30_0000));

        // An earlier range takes part of the page: not answered for, even where a later range
        // covers the whole page.
        let t = [range(0x10_0f00, 0x10, 0x5_0000), range(0x10_0000, 0x4000, 0)];
        let t = LinearTranslator::new(&t);
        assert!(!check_in_page(&t, 0x10_0008));
        assert!(!check_in_page(&t, 0x10_0f08));
        assert!(check_in_page(&t, 0x10_1008));
        // An earlier range ending inside the page.
        let t = [range(0x10_0000, 0x800, 0x5_0000), range(0x10_0000, 0x4000, 0)];
        let t = LinearTranslator::new(&t);
        assert!(!check_in_page(&t, 0x10_0900));
        // The page's last byte would wrap the physical address.
        let t = [range(0x10_0000, 0x2000, u64::MAX - 0x1800)];
        let t = LinearTranslator::new(&t);
        assert!(check_in_page(&t, 0x10_0000));
        assert!(!check_in_page(&t, 0x10_1000));
        // An empty range never takes anything.
        let t = [range(0x10_0010, 0, 0x5_0000), range(0x10_0000, 0x1000, 0)];
        let t = LinearTranslator::new(&t);
        assert!(check_in_page(&t, 0x10_0010));
    }

    /// `translate_span`'s span holds `va`, and `translate` maps its addresses as the span
    /// does: checked at its ends, at every range boundary inside it, and at spread points.
    fn check_span(t: &LinearTranslator<'_>, ranges: &[LinearRange], va: u64) -> Option<LinearRange> {
        let mem = FlatImage::new(PhysAddr(0), &[]);
        let got = t.translate_span(&mem, VirtAddr(va));
        assert_eq!(got.map(|(pa, _)| pa), t.translate(&mem, VirtAddr(va)), "at {va:#x}");
        let Ok((_, Some(span))) = got else { return None };
        assert!(span.apply(VirtAddr(va)).is_some(), "{span:?} holds {va:#x}");
        let last = span.va_start.0 + (span.len - 1);
        let probe = |p: u64| {
            if span.apply(VirtAddr(p)).is_some() {
                assert_eq!(
                    t.translate(&mem, VirtAddr(p)).ok(),
                    span.apply(VirtAddr(p)),
                    "{p:#x} in {span:?}"
                );
            }
        };
        for p in [span.va_start.0, last, va] {
            probe(p);
        }
        for r in ranges {
            for b in [r.va_start.0, r.va_start.0.wrapping_add(r.len)] {
                for p in [b.wrapping_sub(1), b, b.wrapping_add(1)] {
                    probe(p);
                }
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..256 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            probe(span.va_start.0.wrapping_add(x % span.len));
        }
        Some(span)
    }

    #[test]
    fn linear_translator_spans_are_its_ranges_minus_what_earlier_ranges_take() {
        let range = |va: u64, len: u64, pa: u64| LinearRange {
            va_start: VirtAddr(va),
            len,
            pa_start: PhysAddr(pa),
            kind: AddressKind::DirectMap,
        };
        // One range: the span is all of it.
        let r = [range(0x10_0000, 0x4000, 0x1000)];
        let t = LinearTranslator::new(&r);
        assert_eq!(check_span(&t, &r, 0x10_2000), Some(r[0]));
        assert_eq!(check_span(&t, &r, 0x20_0000), None);
        // An earlier range inside a later one: the span stops short of it on va's side.
        let r = [range(0x10_1000, 0x100, 0x5_0000), range(0x10_0000, 0x4000, 0)];
        let t = LinearTranslator::new(&r);
        let below = check_span(&t, &r, 0x10_0800).unwrap();
        assert_eq!((below.va_start.0, below.len), (0x10_0000, 0x1000));
        let above = check_span(&t, &r, 0x10_2000).unwrap();
        assert_eq!((above.va_start.0, above.len), (0x10_1100, 0x2f00));
        assert_eq!(check_span(&t, &r, 0x10_1010).map(|s| s.va_start.0), Some(0x10_1000));
        // An earlier range whose physical address wraps at va: the later range answers from va.
        let r = [range(0x10_0000, 0x2000, u64::MAX - 0x800), range(0x10_0000, 0x4000, 0)];
        let t = LinearTranslator::new(&r);
        let s = check_span(&t, &r, 0x10_1000).unwrap();
        assert_eq!(s.va_start.0, 0x10_1000);
        // A range whose own physical addresses would wrap gives no span, only the translation.
        let r = [range(0x10_0000, 0x2000, u64::MAX - 0x1800)];
        let t = LinearTranslator::new(&r);
        assert_eq!(check_span(&t, &r, 0x10_0000), None);
        // A range reaching the top of the address space.
        let r = [range(u64::MAX - 0xfff, 0x1000, 0x1000)];
        let t = LinearTranslator::new(&r);
        assert_eq!(check_span(&t, &r, u64::MAX - 8).map(|s| s.len), Some(0x1000));
        // Empty ranges are ignored.
        let r = [range(0x10_0010, 0, 0x5_0000), range(0x10_0000, 0x1000, 0)];
        let t = LinearTranslator::new(&r);
        assert_eq!(check_span(&t, &r, 0x10_0010).map(|s| s.len), Some(0x1000));
    }
}
