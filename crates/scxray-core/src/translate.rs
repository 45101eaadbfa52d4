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
}

impl<T: Translate + ?Sized> Translate for &T {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        (**self).kind(va)
    }
    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        (**self).translate(mem, va)
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
        let off = va.0.checked_sub(self.va_start.0)?;
        (off < self.len).then_some(())?;
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
}

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
}
