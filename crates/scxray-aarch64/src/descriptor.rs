//! VMSAv8-64 stage 1 descriptors (64-bit format): table, block and page.
//!
//! | `bits[1:0]` | level < 3                         | level 3   |
//! |-----------|-----------------------------------|-----------|
//! | `x0`      | invalid                           | invalid   |
//! | `01`      | block, where the level allows one | reserved  |
//! | `11`      | table                             | page      |

use crate::geometry::{AddressFormat, Geometry, Level};
use bitflags::bitflags;

bitflags! {
    /// The bits of a stage 1 descriptor. Attribute bits are named for completeness; the walk
    /// reads only the type bits and the address fields.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct DescriptorBits: u64 {
        /// The descriptor is valid.
        const VALID = 1 << 0;
        /// Table (levels < 3) or page (level 3); clear for a block.
        const TABLE_OR_PAGE = 1 << 1;
        /// Index into `MAIR_EL1`.
        const ATTR_INDX = 0b111 << 2;
        /// Non-secure.
        const NS = 1 << 5;
        /// Access permissions.
        const AP = 0b11 << 6;
        /// Shareability, when `TCR_EL1.DS = 0`.
        const SH = 0b11 << 8;
        /// With `TCR_EL1.DS = 1`: output address bits 51:50 (the same bits as `SH`).
        const OA_51_50_LPA2 = 0b11 << 8;
        /// Access flag.
        const AF = 1 << 10;
        /// Not global.
        const NG = 1 << 11;
        /// With 64K granules and FEAT_LPA: output address bits 51:48.
        const OA_51_48_LPA = 0xf << 12;
        /// Block translation entry hint (FEAT_BBM).
        const NT = 1 << 16;
        /// With `TCR_EL1.DS = 1`: output address bits 49:48.
        const OA_49_48_LPA2 = 0b11 << 48;
        /// Guarded page.
        const GP = 1 << 50;
        /// Dirty bit modifier.
        const DBM = 1 << 51;
        /// Contiguous hint: a TLB hint, each entry still holds its own address.
        const CONTIGUOUS = 1 << 52;
        /// Privileged execute never.
        const PXN = 1 << 53;
        /// Unprivileged execute never.
        const UXN = 1 << 54;
        /// Hierarchical PXN (table descriptors).
        const PXN_TABLE = 1 << 59;
        /// Hierarchical UXN (table descriptors).
        const UXN_TABLE = 1 << 60;
        /// Hierarchical access permissions (table descriptors).
        const AP_TABLE = 0b11 << 61;
        /// Hierarchical non-secure (table descriptors).
        const NS_TABLE = 1 << 63;
        const _ = !0;
    }
}

/// What a descriptor is, given the level it was read at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DescriptorKind {
    /// Bit 0 clear: nothing mapped.
    Invalid,
    /// Points at the next level's table.
    Table,
    /// Maps a block of `2^shift_at(level)` bytes.
    Block,
    /// Maps one page (level 3).
    Page,
    /// Valid but not allowed here: a block at a level without blocks, or `0b01` at level 3.
    Reserved,
}

/// One raw 64-bit descriptor as read from guest memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Descriptor(pub u64);

impl Descriptor {
    /// The bits, unknown ones kept.
    #[must_use]
    pub const fn bits(self) -> DescriptorBits {
        DescriptorBits::from_bits_retain(self.0)
    }

    /// Whether bit 0 is set.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        self.0 & DescriptorBits::VALID.bits() != 0
    }

    /// The descriptor's kind at `level` of a walk shaped like `geometry`.
    #[must_use]
    pub const fn kind(self, geometry: &Geometry, level: Level) -> DescriptorKind {
        if !self.is_valid() {
            return DescriptorKind::Invalid;
        }
        let table_or_page = self.0 & DescriptorBits::TABLE_OR_PAGE.bits() != 0;
        match (level.is_leaf(), table_or_page) {
            (true, true) => DescriptorKind::Page,
            (true, false) => DescriptorKind::Reserved,
            (false, true) => DescriptorKind::Table,
            (false, false) if geometry.block_allowed(level) => DescriptorKind::Block,
            (false, false) => DescriptorKind::Reserved,
        }
    }

    /// The address this descriptor holds (next table, block or page), aligned to
    /// `2^align_shift`, in `format`. Attribute bits, and with LPA2 the bits standing in for
    /// 51:50, never leak into the result.
    #[must_use]
    pub const fn address(self, format: AddressFormat, align_shift: u32) -> u64 {
        let high = match format {
            AddressFormat::Pa48 => 0,
            AddressFormat::Lpa2 => (self.0 & DescriptorBits::OA_51_50_LPA2.bits()) << 42,
            AddressFormat::Lpa => (self.0 & DescriptorBits::OA_51_48_LPA.bits()) << 36,
        };
        let in_place = match format {
            AddressFormat::Pa48 | AddressFormat::Lpa => 0x0000_ffff_ffff_ffff,
            AddressFormat::Lpa2 => 0x0003_ffff_ffff_ffff,
        };
        let align = if align_shift > 52 { 52 } else { align_shift };
        let below = (1u64 << align).wrapping_sub(1);
        // The in-place field starts at bit 12 at the lowest (16 with 64K, where bits 15:12
        // are the LPA field), so masking the alignment clears every attribute bit.
        let low_attrs = if matches!(format, AddressFormat::Lpa) { 0xffff } else { 0xfff };
        ((self.0 & in_place & !low_attrs) | high) & !below
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Granule;

    fn geometry(granule: Granule, format: AddressFormat) -> Geometry {
        Geometry { granule, va_bits: 48, pa_bits: 52, start: Level::ZERO, format }
    }

    #[test]
    fn kinds_by_level() {
        let g = geometry(Granule::K4, AddressFormat::Pa48);
        assert_eq!(Descriptor(0).kind(&g, Level::ONE), DescriptorKind::Invalid);
        assert_eq!(Descriptor(0b10).kind(&g, Level::ONE), DescriptorKind::Invalid);
        assert_eq!(Descriptor(0b11).kind(&g, Level::ONE), DescriptorKind::Table);
        assert_eq!(Descriptor(0b01).kind(&g, Level::ONE), DescriptorKind::Block);
        assert_eq!(Descriptor(0b01).kind(&g, Level::ZERO), DescriptorKind::Reserved);
        assert_eq!(Descriptor(0b11).kind(&g, Level::LEAF), DescriptorKind::Page);
        assert_eq!(Descriptor(0b01).kind(&g, Level::LEAF), DescriptorKind::Reserved);
        let g = geometry(Granule::K4, AddressFormat::Lpa2);
        assert_eq!(Descriptor(0b01).kind(&g, Level::ZERO), DescriptorKind::Block);
    }

    #[test]
    fn addresses_by_format() {
        let raw = 0xfff3_ffff_ffff_ffff;
        assert_eq!(Descriptor(raw).address(AddressFormat::Pa48, 12), 0x0000_ffff_ffff_f000);
        assert_eq!(Descriptor(raw).address(AddressFormat::Lpa2, 12), 0x000f_ffff_ffff_f000);
        assert_eq!(Descriptor(raw).address(AddressFormat::Lpa2, 30), 0x000f_ffff_c000_0000);
        assert_eq!(Descriptor(raw).address(AddressFormat::Lpa, 16), 0x000f_ffff_ffff_0000);
        assert_eq!(Descriptor(0x5000 | (0b11 << 8)).address(AddressFormat::Pa48, 12), 0x5000);
        assert_eq!(Descriptor(0x5000 | (0b11 << 8)).address(AddressFormat::Lpa2, 12), 0x000c_0000_0000_5000);
        assert_eq!(Descriptor(0x5_0000 | (0x3 << 12)).address(AddressFormat::Lpa, 16), 0x0003_0000_0005_0000);
        assert_eq!(Descriptor(u64::MAX).address(AddressFormat::Lpa, 60), 0);
    }
}
