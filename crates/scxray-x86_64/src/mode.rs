//! 4-level or 5-level (LA57) paging, and what each implies for virtual addresses.

use crate::level::Level;
use scxray_core::VirtAddr;

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
