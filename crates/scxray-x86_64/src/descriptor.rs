//! Decoding one paging-structure entry (Intel SDM Vol. 3A, 4.5, tables 4-15 to 4-20).
//!
//! An entry is a little-endian `u64`: attribute bits low and high, a physical address field
//! in bits 12..51 whose usable width is MAXPHYADDR. Only PRESENT, PS and the address field
//! decide a translation; access rights (R/W, U/S, NX, protection keys) do not, because the
//! host reads memory, it does not execute or write it.

use crate::geometry::{Level, PageSize};
use bitflags::bitflags;
use scxray_core::PhysAddr;

bitflags! {
    /// The attribute bits of a paging-structure entry.
    ///
    /// Bits 9..11 and 52..58 are ignored by the processor (software may use them) and have
    /// no flag here; the address field is not a flag, see [`Descriptor`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct DescriptorBits: u64 {
        /// P: the entry is valid. When clear the processor ignores every other bit.
        const PRESENT = 1 << 0;
        /// R/W: writes allowed (not used for translation).
        const WRITABLE = 1 << 1;
        /// U/S: user-mode access allowed (not used for translation).
        const USER = 1 << 2;
        /// PWT: write-through caching.
        const WRITE_THROUGH = 1 << 3;
        /// PCD: caching disabled.
        const CACHE_DISABLE = 1 << 4;
        /// A: set by the processor on access.
        const ACCESSED = 1 << 5;
        /// D: set by the processor on write (leaf entries only).
        const DIRTY = 1 << 6;
        /// PS: in a PDPTE or PDE the entry maps a 1 GiB or 2 MiB page instead of a table;
        /// reserved (must be 0) in a PML5E or PML4E; in a PTE the same bit is PAT.
        const PAGE_SIZE = 1 << 7;
        /// G: global translation (leaf entries only).
        const GLOBAL = 1 << 8;
        /// Protection key (bits 59..62 of a leaf entry, with CR4.PKE). Ignored here.
        const PROTECTION_KEY = 0xf << 59;
        /// XD/NX: instruction fetches not allowed. Ignored here.
        const NO_EXECUTE = 1 << 63;
    }
}

/// The widest physical address field the architecture defines: bits 12..51.
pub const ARCH_MAX_PHYS_BITS: u8 = 52;

/// Bits 12..51: where a 4 KiB page or a next-level table is addressed.
const ADDRESS_FIELD: u64 = 0x000f_ffff_ffff_f000;
/// PAT of a 1 GiB or 2 MiB page entry: bit 12 is the lowest bit of its address field.
const LARGE_PAGE_PAT: u64 = 1 << 12;

/// The physical addresses a guest with `max_phys_bits` of MAXPHYADDR can form: a mask of
/// bits `0..max_phys_bits`, capped at the architectural 52.
#[must_use]
pub const fn phys_addr_mask(max_phys_bits: u8) -> u64 {
    let bits = if max_phys_bits > ARCH_MAX_PHYS_BITS { ARCH_MAX_PHYS_BITS } else { max_phys_bits };
    // bits <= 52: the shift cannot overflow.
    (1u64 << bits).wrapping_sub(1)
}

/// What an entry is at its level, with the address it holds (`scxray-aarch64`'s
/// `DescriptorKind`, which leaves the address to `Descriptor::address`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptorKind {
    /// P = 0: nothing mapped through this entry.
    NotPresent,
    /// The physical address of the next-level table.
    Table(PhysAddr),
    /// A leaf: the physical base of the page it maps.
    Page {
        /// Base address of the page (aligned to its size).
        base: PhysAddr,
        /// Size of the page.
        size: PageSize,
    },
}

/// Why a present entry is malformed; the walk reports all of them as
/// [`scxray_core::TranslateError::BadDescriptor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// PS set in a PML5E or PML4E, where it is reserved.
    PageSizeAtRoot,
    /// Address bits at or above MAXPHYADDR are set.
    AboveMaxPhysAddr,
    /// Address bits of a 1 GiB or 2 MiB page below its alignment (other than PAT) are set.
    MisalignedLargePage,
}

/// One raw paging-structure entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Descriptor(pub u64);

impl Descriptor {
    /// The attribute bits.
    #[must_use]
    pub const fn flags(self) -> DescriptorBits {
        DescriptorBits::from_bits_truncate(self.0)
    }

    /// Bits 12..51, unmasked by MAXPHYADDR.
    #[must_use]
    pub const fn address_field(self) -> u64 {
        self.0 & ADDRESS_FIELD
    }

    /// Decodes this entry as found at `level`, for a guest whose physical addresses fit
    /// `phys_mask` (see [`phys_addr_mask`]).
    ///
    /// # Errors
    /// The reserved-bit violation of a present entry.
    pub const fn decode(self, level: Level, phys_mask: u64) -> Result<DescriptorKind, Reserved> {
        let flags = self.flags();
        if !flags.contains(DescriptorBits::PRESENT) {
            return Ok(DescriptorKind::NotPresent);
        }
        let address = self.address_field();
        if address & !phys_mask != 0 {
            return Err(Reserved::AboveMaxPhysAddr);
        }
        let maps_page = flags.contains(DescriptorBits::PAGE_SIZE);
        match (level, level.leaf_page_size()) {
            // A PTE is always a leaf; its bit 7 is PAT, not PS.
            (Level::Pt, _) => Ok(DescriptorKind::Page { base: PhysAddr(address), size: PageSize::Size4KiB }),
            (_, None) if maps_page => Err(Reserved::PageSizeAtRoot),
            (_, Some(size)) if maps_page => {
                // The field's bits below the page alignment are reserved, except PAT (bit 12).
                let base_mask = !size.offset_mask();
                if address & !base_mask & !LARGE_PAGE_PAT != 0 {
                    return Err(Reserved::MisalignedLargePage);
                }
                Ok(DescriptorKind::Page { base: PhysAddr(address & base_mask), size })
            }
            _ => Ok(DescriptorKind::Table(PhysAddr(address))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESENT: u64 = DescriptorBits::PRESENT.bits();
    const PS: u64 = DescriptorBits::PAGE_SIZE.bits();
    const FULL: u64 = phys_addr_mask(52);

    #[test]
    fn not_present_ignores_every_other_bit() {
        let d = Descriptor(!PRESENT);
        for level in Level::FIVE_LEVEL_WALK {
            assert_eq!(d.decode(level, FULL), Ok(DescriptorKind::NotPresent));
        }
    }

    #[test]
    fn table_entries_take_bits_12_to_51() {
        let d = Descriptor(0xfff0_0000_1234_5000 | 0xfff);
        // NX, protection key, ignored bits 52..58 and all low attribute bits except PS.
        let d = Descriptor(d.0 & !PS);
        assert_eq!(d.decode(Level::Pml4, FULL), Ok(DescriptorKind::Table(PhysAddr(0x1234_5000))));
        assert_eq!(d.decode(Level::Pd, FULL), Ok(DescriptorKind::Table(PhysAddr(0x1234_5000))));
    }

    #[test]
    fn ps_is_reserved_at_the_root_levels_only() {
        let d = Descriptor(0x4000_0000 | PS | PRESENT);
        assert_eq!(d.decode(Level::Pml5, FULL), Err(Reserved::PageSizeAtRoot));
        assert_eq!(d.decode(Level::Pml4, FULL), Err(Reserved::PageSizeAtRoot));
        assert_eq!(
            d.decode(Level::Pdpt, FULL),
            Ok(DescriptorKind::Page { base: PhysAddr(0x4000_0000), size: PageSize::Size1GiB })
        );
        assert_eq!(
            d.decode(Level::Pd, FULL),
            Ok(DescriptorKind::Page { base: PhysAddr(0x4000_0000), size: PageSize::Size2MiB })
        );
        // In a PTE bit 7 is PAT: still a 4 KiB page.
        assert_eq!(
            d.decode(Level::Pt, FULL),
            Ok(DescriptorKind::Page { base: PhysAddr(0x4000_0000), size: PageSize::Size4KiB })
        );
    }

    #[test]
    fn large_page_low_address_bits_are_reserved_except_pat() {
        let pat = Descriptor(0x4000_0000 | LARGE_PAGE_PAT | PS | PRESENT);
        assert_eq!(
            pat.decode(Level::Pdpt, FULL),
            Ok(DescriptorKind::Page { base: PhysAddr(0x4000_0000), size: PageSize::Size1GiB })
        );
        assert_eq!(
            pat.decode(Level::Pd, FULL),
            Ok(DescriptorKind::Page { base: PhysAddr(0x4000_0000), size: PageSize::Size2MiB })
        );
        for bit in 13..30 {
            let d = Descriptor(0x4000_0000 | (1 << bit) | PS | PRESENT);
            assert_eq!(d.decode(Level::Pdpt, FULL), Err(Reserved::MisalignedLargePage), "bit {bit}");
            let expect_pd = if bit < 21 {
                Err(Reserved::MisalignedLargePage)
            } else {
                Ok(DescriptorKind::Page {
                    base: PhysAddr(0x4000_0000 | (1 << bit)),
                    size: PageSize::Size2MiB,
                })
            };
            assert_eq!(d.decode(Level::Pd, FULL), expect_pd, "bit {bit}");
        }
    }

    #[test]
    fn address_bits_above_maxphyaddr_are_reserved() {
        let mask = phys_addr_mask(39);
        let ok = Descriptor((1 << 38) | PRESENT);
        let bad = Descriptor((1 << 39) | PRESENT);
        assert_eq!(
            ok.decode(Level::Pt, mask),
            Ok(DescriptorKind::Page { base: PhysAddr(1 << 38), size: PageSize::Size4KiB })
        );
        for level in Level::FIVE_LEVEL_WALK {
            assert_eq!(bad.decode(level, mask), Err(Reserved::AboveMaxPhysAddr), "{level:?}");
        }
        assert_eq!(phys_addr_mask(60), phys_addr_mask(52));
        assert_eq!(phys_addr_mask(0), 0);
    }
}
