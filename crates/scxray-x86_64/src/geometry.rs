//! The shape of an x86_64 walk: 4-level or 5-level (LA57) paging, the levels of the hierarchy
//! and the page sizes their leaves map (Intel SDM Vol. 3A, 4.5).

use scxray_core::VirtAddr;

/// Bits of a virtual address that index one table: 512 entries of 8 bytes per 4 KiB table.
const INDEX_BITS: u32 = 9;
/// Mask of one table index once shifted down.
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// log2 of the size of one paging-structure entry (8 bytes).
const ENTRY_SHIFT: u32 = 3;

/// One level of the paging hierarchy, from the root down (Intel SDM Vol. 3A, 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Page-map level 5, the root under LA57; indexed by VA bits 56..48.
    Pml5,
    /// Page-map level 4, the root under 4-level paging; indexed by VA bits 47..39.
    Pml4,
    /// Page-directory-pointer table; indexed by VA bits 38..30; may map a 1 GiB page.
    Pdpt,
    /// Page directory; indexed by VA bits 29..21; may map a 2 MiB page.
    Pd,
    /// Page table; indexed by VA bits 20..12; always maps a 4 KiB page.
    Pt,
}

impl Level {
    /// Every level, root first, as a 5-level walk visits them.
    pub const FIVE_LEVEL_WALK: [Self; 5] = [Self::Pml5, Self::Pml4, Self::Pdpt, Self::Pd, Self::Pt];
    /// The levels a 4-level walk visits, root first.
    pub const FOUR_LEVEL_WALK: [Self; 4] = [Self::Pml4, Self::Pdpt, Self::Pd, Self::Pt];

    /// Position of this level's index field in a virtual address.
    #[must_use]
    pub const fn index_shift(self) -> u32 {
        match self {
            Self::Pml5 => 48,
            Self::Pml4 => 39,
            Self::Pdpt => 30,
            Self::Pd => 21,
            Self::Pt => 12,
        }
    }

    /// Which of the table's 512 entries translates `va`.
    #[must_use]
    pub const fn index(self, va: VirtAddr) -> u64 {
        (va.0 >> self.index_shift()) & INDEX_MASK
    }

    /// Byte offset of `va`'s entry inside this level's table.
    #[must_use]
    pub const fn entry_offset(self, va: VirtAddr) -> u64 {
        // At most 511 * 8: cannot overflow.
        self.index(va) << ENTRY_SHIFT
    }

    /// The level reported in [`scxray_core::TranslateError`]: levels below this one, 0 for
    /// the page table (the leaf level), up to 4 for PML5 (as `scxray-aarch64` counts).
    #[must_use]
    pub const fn core_level(self) -> u8 {
        match self {
            Self::Pml5 => 4,
            Self::Pml4 => 3,
            Self::Pdpt => 2,
            Self::Pd => 1,
            Self::Pt => 0,
        }
    }

    /// The page an entry of this level maps when it is a leaf: `None` for PML5 and PML4,
    /// whose entries always reference a table.
    #[must_use]
    pub const fn leaf_page_size(self) -> Option<PageSize> {
        match self {
            Self::Pml5 | Self::Pml4 => None,
            Self::Pdpt => Some(PageSize::Size1GiB),
            Self::Pd => Some(PageSize::Size2MiB),
            Self::Pt => Some(PageSize::Size4KiB),
        }
    }
}

/// The sizes of page an x86_64 leaf entry maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSize {
    /// A 4 KiB page, mapped by a PTE.
    Size4KiB,
    /// A 2 MiB page, mapped by a PDE with PS set.
    Size2MiB,
    /// A 1 GiB page, mapped by a PDPTE with PS set.
    Size1GiB,
}

impl PageSize {
    /// log2 of the size: how many low VA bits are the offset inside the page.
    #[must_use]
    pub const fn shift(self) -> u32 {
        match self {
            Self::Size4KiB => 12,
            Self::Size2MiB => 21,
            Self::Size1GiB => 30,
        }
    }

    /// The size in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        1 << self.shift()
    }

    /// Mask of the offset-within-page bits of an address.
    #[must_use]
    pub const fn offset_mask(self) -> u64 {
        // bytes() >= 4096: never wraps.
        self.bytes().wrapping_sub(1)
    }
}

/// CR4.LA57: 57-bit linear addresses, i.e. 5-level paging (Intel SDM Vol. 3A, 2.5).
pub const CR4_LA57: u64 = 1 << 12;

/// Which paging hierarchy the guest kernel runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PagingMode {
    /// 4-level paging: 48-bit virtual addresses, root table PML4.
    FourLevel,
    /// 5-level paging (LA57): 57-bit virtual addresses, root table PML5.
    FiveLevel,
}

impl PagingMode {
    /// The mode from a CR4 value (from a vCPU's registers or a crash dump's notes).
    #[must_use]
    pub const fn from_cr4(cr4: u64) -> Self {
        if cr4 & CR4_LA57 != 0 { Self::FiveLevel } else { Self::FourLevel }
    }

    /// The mode from the value of the kernel's `__pgtable_l5_enabled` variable (an
    /// `unsigned int`, non-zero when the kernel enabled LA57), for callers without CR4.
    #[must_use]
    pub const fn from_pgtable_l5_enabled(value: u32) -> Self {
        if value != 0 { Self::FiveLevel } else { Self::FourLevel }
    }

    /// Width of a virtual address: 48 or 57 bits.
    #[must_use]
    pub const fn virtual_bits(self) -> u32 {
        match self {
            Self::FourLevel => 48,
            Self::FiveLevel => 57,
        }
    }

    /// The highest translated VA bit (47 or 56), which canonical addresses sign-extend.
    #[must_use]
    pub const fn sign_bit(self) -> u32 {
        match self {
            Self::FourLevel => 47,
            Self::FiveLevel => 56,
        }
    }

    /// The levels a walk visits, root first.
    #[must_use]
    pub const fn levels(self) -> &'static [Level] {
        match self {
            Self::FourLevel => &Level::FOUR_LEVEL_WALK,
            Self::FiveLevel => &Level::FIVE_LEVEL_WALK,
        }
    }

    /// The root table CR3 points at.
    #[must_use]
    pub const fn root(self) -> Level {
        match self {
            Self::FourLevel => Level::Pml4,
            Self::FiveLevel => Level::Pml5,
        }
    }

    /// Whether `va` is canonical: every bit above the top translated bit (47 or 56) equals
    /// that bit. The processor faults on any other address, so nothing maps it.
    #[must_use]
    pub const fn is_canonical(self, va: VirtAddr) -> bool {
        // The sign bit and everything above it: all clear (lower half) or all set (upper).
        let high = va.0 >> self.sign_bit();
        high == 0 || high == u64::MAX >> self.sign_bit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_come_from_the_sdm_bit_ranges() {
        // One distinct index per level: PML5 1, PML4 2, PDPT 3, PD 4, PT 5, offset 0x678.
        let va = VirtAddr((1 << 48) | (2 << 39) | (3 << 30) | (4 << 21) | (5 << 12) | 0x678);
        let indices: [u64; 5] = Level::FIVE_LEVEL_WALK.map(|l| l.index(va));
        assert_eq!(indices, [1, 2, 3, 4, 5]);
        assert_eq!(Level::Pt.entry_offset(va), 40);
        assert_eq!(Level::Pml4.index(VirtAddr(u64::MAX)), 511);
    }

    #[test]
    fn levels_number_down_to_the_leaf() {
        assert_eq!(Level::FIVE_LEVEL_WALK.map(Level::core_level), [4, 3, 2, 1, 0]);
        assert_eq!(Level::FOUR_LEVEL_WALK.map(Level::core_level), [3, 2, 1, 0]);
    }

    #[test]
    fn page_sizes() {
        assert_eq!(PageSize::Size4KiB.bytes(), 0x1000);
        assert_eq!(PageSize::Size2MiB.bytes(), 0x20_0000);
        assert_eq!(PageSize::Size1GiB.bytes(), 0x4000_0000);
        assert_eq!(PageSize::Size2MiB.offset_mask(), 0x1f_ffff);
        assert_eq!(Level::Pml4.leaf_page_size(), None);
        assert_eq!(Level::Pdpt.leaf_page_size(), Some(PageSize::Size1GiB));
    }

    #[test]
    fn la57_selects_five_levels() {
        assert_eq!(PagingMode::from_cr4(0x0037_06f0 & !CR4_LA57), PagingMode::FourLevel);
        assert_eq!(PagingMode::from_cr4(0x0037_06f0 | CR4_LA57), PagingMode::FiveLevel);
        // Literal values: a typical CR4 without and with LA57.
        assert_eq!(PagingMode::from_cr4(0x0037_06f0), PagingMode::FourLevel);
        assert_eq!(PagingMode::from_cr4(0x0037_16f0), PagingMode::FiveLevel);
        assert_eq!(CR4_LA57, 0x1000);
        // Only bit 12 matters.
        assert_eq!(PagingMode::from_cr4(!CR4_LA57), PagingMode::FourLevel);
        assert_eq!(PagingMode::from_cr4(CR4_LA57), PagingMode::FiveLevel);
    }

    #[test]
    fn pgtable_l5_enabled_value() {
        assert_eq!(PagingMode::from_pgtable_l5_enabled(0), PagingMode::FourLevel);
        assert_eq!(PagingMode::from_pgtable_l5_enabled(1), PagingMode::FiveLevel);
    }

    #[test]
    fn canonical_addresses() {
        let four = PagingMode::FourLevel;
        let five = PagingMode::FiveLevel;
        for va in [0, 0x7fff_ffff_ffff, 0xffff_8000_0000_0000, u64::MAX] {
            assert!(four.is_canonical(VirtAddr(va)), "{va:#x}");
            assert!(five.is_canonical(VirtAddr(va)), "{va:#x}");
        }
        for va in [0x8000_0000_0000, 0xff11_0000_0000_0000, 0x00ff_ffff_ffff_ffff, 0xff00_0000_0000_0000] {
            assert!(!four.is_canonical(VirtAddr(va)), "{va:#x}");
            assert_eq!(five.is_canonical(VirtAddr(va)), va >> 56 == 0xff || va >> 56 == 0, "{va:#x}");
        }
        for va in [0x0100_0000_0000_0000, 0xfe00_0000_0000_0000, 0x8000_0000_0000_0000] {
            assert!(!five.is_canonical(VirtAddr(va)), "{va:#x}");
        }
    }
}
