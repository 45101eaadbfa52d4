//! What the translator must know about the guest: CR3, the paging mode, and where Linux put
//! its two linearly mapped regions.
//!
//! Defaults follow Linux's `Documentation/arch/x86/x86_64/mm.rst` and
//! `arch/x86/include/asm/page_64_types.h` for a kernel without KASLR; under KASLR the
//! caller fills in `page_offset_base` and `phys_base` with the values read from the guest.

use crate::descriptor::ARCH_MAX_PHYS_BITS;
use crate::geometry::PagingMode;
use scxray_core::{PhysAddr, VirtAddr};

/// `__START_KERNEL_map`: where the kernel image mapping starts. Fixed; KASLR moves the
/// image inside the region and records the physical side in `phys_base`.
pub const START_KERNEL_MAP: VirtAddr = VirtAddr(0xffff_ffff_8000_0000);
/// `KERNEL_IMAGE_SIZE` with `CONFIG_RANDOMIZE_BASE` (every distribution kernel): 1 GiB.
/// Without KASLR it is 512 MiB; the larger default only adds unused addresses.
pub const KERNEL_IMAGE_SIZE: u64 = 1 << 30;
/// Direct map start under 4-level paging without KASLR (mm.rst: `ffff888000000000`).
pub const PAGE_OFFSET_BASE_L4: VirtAddr = VirtAddr(0xffff_8880_0000_0000);
/// Direct map start under 5-level paging without KASLR (mm.rst: `ff11000000000000`).
pub const PAGE_OFFSET_BASE_L5: VirtAddr = VirtAddr(0xff11_0000_0000_0000);
/// Size of the direct map region under 4-level paging (mm.rst: 64 TB).
pub const DIRECT_MAP_SIZE_L4: u64 = 64 << 40;
/// Size of the direct map region under 5-level paging (mm.rst: 32 PB).
pub const DIRECT_MAP_SIZE_L5: u64 = 32 << 50;

/// The guest's CR3: the physical address of the root table plus PCID or flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Cr3(pub u64);

impl Cr3 {
    /// Bits 12..51: the root table's physical address. Bits 0..11 (PCID with CR4.PCIDE,
    /// else PWT/PCD) and 52..63 (LAM enables, the no-flush hint) are not part of it.
    #[must_use]
    pub const fn table_base(self) -> PhysAddr {
        PhysAddr(self.0 & 0x000f_ffff_ffff_f000)
    }

    /// Bits 0..11: the process-context identifier when CR4.PCIDE is set.
    #[must_use]
    pub const fn pcid(self) -> u16 {
        // Masked to 12 bits: the narrowing is lossless.
        let [low, high, ..] = (self.0 & 0xfff).to_le_bytes();
        u16::from_le_bytes([low, high])
    }
}

/// Everything [`crate::X86Translator`] assumes about the guest.
///
/// Build one with [`X86Config::new`] (Linux defaults for the paging mode) and override the
/// fields the guest randomised:
///
/// ```
/// use scxray_x86_64::{Cr3, PagingMode, X86Config};
/// use scxray_core::{PhysAddr, VirtAddr};
/// let config = X86Config {
///     page_offset_base: VirtAddr(0xffff_9a40_0000_0000), // read from `page_offset_base`
///     phys_base: PhysAddr(0x1_2a00_0000),                 // read from `phys_base`
///     phys_end: Some(PhysAddr(0x2_8000_0000)),            // 10 GiB of RAM
///     ..X86Config::new(Cr3(0x1_0c0a_e001), PagingMode::from_cr4(0x0035_06f0))
/// }
/// .with_direct_map_end(VirtAddr(0xffff_b3c0_0000_0000)); // read from `vmalloc_base`
/// assert_eq!(config.direct_map_size, 0x1980_0000_0000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X86Config {
    /// The kernel's CR3 (any task's: kernel mappings are shared). PCID and flag bits are
    /// masked off.
    pub cr3: Cr3,
    /// 4- or 5-level paging; see [`PagingMode::from_cr4`].
    pub paging_mode: PagingMode,
    /// Start of the direct map of all RAM: the kernel variable `page_offset_base`
    /// (randomised under KASLR). Physical address 0 is mapped here.
    pub page_offset_base: VirtAddr,
    /// Bytes of virtual space covered by the direct-map rule from `page_offset_base` on:
    /// 64 TiB for 4-level, 32 PiB for 5-level by default (the whole region of mm.rst).
    ///
    /// Under KASLR (`CONFIG_RANDOMIZE_MEMORY`) the kernel packs the direct map, vmalloc and
    /// vmemmap regions into that space in this order, so the default size overlaps vmalloc:
    /// bound it with [`X86Config::with_direct_map_end`] and the kernel's `vmalloc_base`.
    pub direct_map_size: u64,
    /// The kernel variable `phys_base`: the physical address `kernel_map_start` maps to.
    /// Added modulo 2^64, as the kernel's `__pa_symbol` does: KASLR can make it "negative".
    pub phys_base: PhysAddr,
    /// Start of the kernel image mapping: `__START_KERNEL_map`, [`START_KERNEL_MAP`].
    pub kernel_map_start: VirtAddr,
    /// Bytes covered by the kernel-image rule: `KERNEL_IMAGE_SIZE`, 1 GiB by default.
    /// Modules follow the image and are page-walked.
    pub kernel_image_size: u64,
    /// MAXPHYADDR (CPUID 0x80000008, EAX bits 7..0): page-table address bits at or above it are
    /// reserved. At most 52, the default; a larger value counts as 52.
    pub max_phys_bits: u8,
    /// End of guest RAM (exclusive), when known: any translation at or beyond it is
    /// `OutsideMemory` rather than a read that would fail later or read the wrong thing.
    pub phys_end: Option<PhysAddr>,
    /// Translate direct-map addresses by walking the page tables instead of by the linear
    /// rule: slower, but checks the two agree (validation of a configuration).
    pub prefer_walk: bool,
}

impl X86Config {
    /// Linux's defaults for `paging_mode` without KASLR: direct map at
    /// [`PAGE_OFFSET_BASE_L4`] / [`PAGE_OFFSET_BASE_L5`] over
    /// [`DIRECT_MAP_SIZE_L4`] / [`DIRECT_MAP_SIZE_L5`], kernel image at
    /// [`START_KERNEL_MAP`] over [`KERNEL_IMAGE_SIZE`] with `phys_base` 0, MAXPHYADDR 52,
    /// RAM end unknown, linear rules preferred.
    #[must_use]
    pub const fn new(cr3: Cr3, paging_mode: PagingMode) -> Self {
        let (page_offset_base, direct_map_size) = match paging_mode {
            PagingMode::FourLevel => (PAGE_OFFSET_BASE_L4, DIRECT_MAP_SIZE_L4),
            PagingMode::FiveLevel => (PAGE_OFFSET_BASE_L5, DIRECT_MAP_SIZE_L5),
        };
        Self {
            cr3,
            paging_mode,
            page_offset_base,
            direct_map_size,
            phys_base: PhysAddr(0),
            kernel_map_start: START_KERNEL_MAP,
            kernel_image_size: KERNEL_IMAGE_SIZE,
            max_phys_bits: ARCH_MAX_PHYS_BITS,
            phys_end: None,
            prefer_walk: false,
        }
    }
}

impl X86Config {
    /// Ends the direct map at `end` (exclusive): pass the kernel's `vmalloc_base`, which
    /// KASLR places after the direct map. An `end` below `page_offset_base` leaves no direct
    /// map.
    #[must_use]
    pub const fn with_direct_map_end(self, end: VirtAddr) -> Self {
        Self { direct_map_size: end.0.saturating_sub(self.page_offset_base.0), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr3_masks_pcid_and_high_flags() {
        let cr3 = Cr3(0x8000_0000_1234_5fff);
        assert_eq!(cr3.table_base(), PhysAddr(0x1234_5000));
        assert_eq!(cr3.pcid(), 0xfff);
        assert_eq!(Cr3(0x000f_ffff_ffff_f000).table_base(), PhysAddr(0x000f_ffff_ffff_f000));
        assert_eq!(Cr3(0x7ff0_0000_0000_0000).table_base(), PhysAddr(0));
    }

    #[test]
    fn defaults_follow_mm_rst() {
        let four = X86Config::new(Cr3(0), PagingMode::FourLevel);
        assert_eq!(four.page_offset_base, VirtAddr(0xffff_8880_0000_0000));
        // 0xffff888000000000 + 64 TiB - 1 is the region's last address in mm.rst.
        assert_eq!(four.page_offset_base.0 + (four.direct_map_size - 1), 0xffff_c87f_ffff_ffff);
        let five = X86Config::new(Cr3(0), PagingMode::FiveLevel);
        assert_eq!(five.page_offset_base.0 + (five.direct_map_size - 1), 0xff90_ffff_ffff_ffff);
        assert_eq!(four.kernel_map_start.0 + (four.kernel_image_size - 1), 0xffff_ffff_bfff_ffff);
        assert_eq!(four.max_phys_bits, 52);
        assert!(!four.prefer_walk);
    }

    #[test]
    fn direct_map_end() {
        let c = X86Config::new(Cr3(0), PagingMode::FourLevel);
        assert_eq!(c.with_direct_map_end(VirtAddr(0xffff_8890_0000_0000)).direct_map_size, 0x10_0000_0000);
        assert_eq!(c.with_direct_map_end(VirtAddr(0)).direct_map_size, 0);
    }
}
