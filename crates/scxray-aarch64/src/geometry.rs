//! The shape of a VMSAv8-64 stage 1 translation: granule, levels, and which address format
//! the descriptors use.
//!
//! With a granule of `2^s` bytes every table holds `2^(s-3)` eight-byte descriptors, so each
//! level resolves `s - 3` bits of the virtual address. Level 3 is always the last; the level a
//! walk starts at follows from how many bits the VA space has above the page offset:
//!
//! | granule | bits/level | VA 36 | VA 39 | VA 42 | VA 47 | VA 48 | VA 52        |
//! |---------|-----------:|-------|-------|-------|-------|-------|--------------|
//! | 4 KiB   | 9          | 1     | 1     | 0     | 0     | 0     | -1 (DS=1)    |
//! | 16 KiB  | 11         | 2     | 1     | 1     | 1     | 0     | 0 (DS=1)     |
//! | 64 KiB  | 13         | 2     | 2     | 2     | 1     | 1     | 1 (FEAT_LVA) |

use core::fmt;

/// The translation granule (`TCR_EL1.TG1`; Linux's `PAGE_SIZE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granule {
    /// 4 KiB pages, 512 descriptors a table.
    K4,
    /// 16 KiB pages, 2048 descriptors a table.
    K16,
    /// 64 KiB pages, 8192 descriptors a table.
    K64,
}

impl Granule {
    /// All three granules.
    pub const ALL: [Self; 3] = [Self::K4, Self::K16, Self::K64];

    /// `log2` of the page size.
    #[must_use]
    pub const fn shift(self) -> u32 {
        match self {
            Self::K4 => 12,
            Self::K16 => 14,
            Self::K64 => 16,
        }
    }

    /// The page size in bytes.
    #[must_use]
    pub const fn size(self) -> u64 {
        1u64 << self.shift()
    }

    /// Virtual-address bits resolved by one table (`shift - 3`).
    #[must_use]
    pub const fn bits_per_level(self) -> u32 {
        match self {
            Self::K4 => 9,
            Self::K16 => 11,
            Self::K64 => 13,
        }
    }

    /// Decodes `TCR_EL1.TG1` (already shifted down): `0b10` = 4K, `0b01` = 16K, `0b11` = 64K.
    /// `0b00` is reserved for TG1 and gives `None`.
    #[must_use]
    pub const fn from_tg1(tg1: u64) -> Option<Self> {
        match tg1 {
            0b10 => Some(Self::K4),
            0b01 => Some(Self::K16),
            0b11 => Some(Self::K64),
            _ => None,
        }
    }

    /// The `TCR_EL1.TG1` encoding (not shifted into place).
    #[must_use]
    pub const fn tg1(self) -> u64 {
        match self {
            Self::K4 => 0b10,
            Self::K16 => 0b01,
            Self::K64 => 0b11,
        }
    }

    /// The granule whose page size is `bytes` (VMCOREINFO's `PAGESIZE`).
    #[must_use]
    pub const fn from_page_size(bytes: u64) -> Option<Self> {
        match bytes {
            0x1000 => Some(Self::K4),
            0x4000 => Some(Self::K16),
            0x1_0000 => Some(Self::K64),
            _ => None,
        }
    }
}

/// A translation table level, `-1..=3` as the Arm ARM numbers them. Level 3 holds pages; level
/// -1 exists only for 4 KiB granules with 52-bit VAs (`TCR_EL1.DS = 1`).
///
/// [`scxray_core::TranslateError`] carries a `u8` level where 0 is the leaf: this crate reports
/// [`Level::core_level`] (`3 - level`, so -1 becomes 4), and [`Level::from_core_level`] undoes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(i8);

impl Level {
    /// Level -1 (4 KiB, 52-bit VA).
    pub const MINUS_ONE: Self = Self(-1);
    /// Level 0.
    pub const ZERO: Self = Self(0);
    /// Level 1.
    pub const ONE: Self = Self(1);
    /// Level 2.
    pub const TWO: Self = Self(2);
    /// Level 3, the page level.
    pub const LEAF: Self = Self(3);

    /// `level` when it is in `-1..=3`.
    #[must_use]
    pub const fn new(level: i8) -> Option<Self> {
        match level {
            -1..=3 => Some(Self(level)),
            _ => None,
        }
    }

    /// The Arm ARM's number for this level.
    #[must_use]
    pub const fn get(self) -> i8 {
        self.0
    }

    /// The next level down, `None` below the leaf.
    #[must_use]
    pub const fn next(self) -> Option<Self> {
        match self.0 {
            -1 => Some(Self(0)),
            0 => Some(Self(1)),
            1 => Some(Self(2)),
            2 => Some(Self(3)),
            _ => None,
        }
    }

    /// Whether this is level 3.
    #[must_use]
    pub const fn is_leaf(self) -> bool {
        self.0 == 3
    }

    /// Levels below this one (0 for the leaf, 4 for level -1): the `level` reported in
    /// [`scxray_core::TranslateError`], where 0 is the leaf level.
    #[must_use]
    pub const fn core_level(self) -> u8 {
        match self.0 {
            -1 => 4,
            0 => 3,
            1 => 2,
            2 => 1,
            _ => 0,
        }
    }

    /// The level a [`scxray_core::TranslateError`] names (see [`Level::core_level`]).
    #[must_use]
    pub const fn from_core_level(level: u8) -> Option<Self> {
        match level {
            4 => Some(Self(-1)),
            3 => Some(Self(0)),
            2 => Some(Self(1)),
            1 => Some(Self(2)),
            0 => Some(Self(3)),
            _ => None,
        }
    }

    /// How many levels below this one (0 for the leaf).
    const fn below(self) -> u32 {
        match self.0 {
            -1 => 4,
            0 => 3,
            1 => 2,
            2 => 1,
            _ => 0,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {}", self.0)
    }
}

/// Where descriptors and `TTBR1_EL1` keep the output address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressFormat {
    /// Plain VMSAv8-64: output address bits `47..granule` in descriptor bits `47..granule`;
    /// bits 9:8 are the shareability field.
    Pa48,
    /// FEAT_LPA2 (`TCR_EL1.DS = 1`, 4 KiB and 16 KiB): address bits `49..granule` in place and
    /// bits 51:50 in descriptor bits 9:8 (shareability moves to `TCR_EL1.SH1`); `TTBR1_EL1`
    /// bits 5:2 hold base address bits 51:48.
    Lpa2,
    /// FEAT_LPA with 64 KiB granules and `TCR_EL1.IPS = 0b110`: address bits `47..16` in place
    /// and bits 51:48 in descriptor bits 15:12; `TTBR1_EL1` bits 5:2 hold base bits 51:48.
    Lpa,
}

impl AddressFormat {
    /// Whether output addresses can have 52 bits.
    #[must_use]
    pub const fn is_52bit(self) -> bool {
        !matches!(self, Self::Pa48)
    }
}

/// The full shape of one TTBR1 translation: derived from `TCR_EL1` by
/// [`crate::PageWalker::from_registers`], never stored inconsistently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    pub(crate) granule: Granule,
    pub(crate) va_bits: u32,
    pub(crate) pa_bits: u32,
    pub(crate) start: Level,
    pub(crate) format: AddressFormat,
}

impl Geometry {
    /// The level a walk of a `va_bits`-bit space starts at with `granule`, or `None` when
    /// `va_bits` does not reach past the page offset or exceeds 52.
    #[must_use]
    pub const fn start_level(granule: Granule, va_bits: u32) -> Option<Level> {
        let shift = granule.shift();
        if va_bits <= shift || va_bits > 52 {
            return None;
        }
        let bpl = granule.bits_per_level();
        let above = va_bits.saturating_sub(shift);
        let levels = above.div_ceil(bpl);
        match levels {
            1 => Some(Level(3)),
            2 => Some(Level(2)),
            3 => Some(Level(1)),
            4 => Some(Level(0)),
            5 => Some(Level(-1)),
            _ => None,
        }
    }

    /// The granule.
    #[must_use]
    pub const fn granule(&self) -> Granule {
        self.granule
    }
    /// Size of the TTBR1 VA space in bits (`64 - T1SZ`).
    #[must_use]
    pub const fn va_bits(&self) -> u32 {
        self.va_bits
    }
    /// Output (physical) address size in bits, from `TCR_EL1.IPS`.
    #[must_use]
    pub const fn pa_bits(&self) -> u32 {
        self.pa_bits
    }
    /// The level the walk starts at.
    #[must_use]
    pub const fn start(&self) -> Level {
        self.start
    }
    /// The descriptor address format.
    #[must_use]
    pub const fn format(&self) -> AddressFormat {
        self.format
    }
    /// Number of levels a walk visits at most (= descriptors it reads at most).
    #[must_use]
    pub const fn levels(&self) -> u32 {
        self.start.below().saturating_add(1)
    }

    /// `log2` of the region one descriptor at `level` covers.
    #[must_use]
    pub const fn shift_at(&self, level: Level) -> u32 {
        self.granule.shift().saturating_add(level.below().saturating_mul(self.granule.bits_per_level()))
    }

    /// Number of VA bits the table at `level` indexes (fewer at the start level).
    #[must_use]
    pub const fn index_bits_at(&self, level: Level) -> u32 {
        if level.0 == self.start.0 {
            self.va_bits.saturating_sub(self.shift_at(level))
        } else {
            self.granule.bits_per_level()
        }
    }

    /// Whether a block descriptor is architecturally allowed at `level`: 4K at levels 1-2
    /// (and 0 with LPA2), 16K at level 2 (and 1 with LPA2), 64K at level 2 (and 1 with LPA).
    #[must_use]
    pub const fn block_allowed(&self, level: Level) -> bool {
        let big = self.format.is_52bit();
        match (self.granule, level.0) {
            (Granule::K4, 1 | 2) | (Granule::K16 | Granule::K64, 2) => true,
            (Granule::K4, 0) | (Granule::K16 | Granule::K64, 1) => big,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_levels_match_the_module_table() {
        let rows: [(Granule, [(u32, i8); 6]); 3] = [
            (Granule::K4, [(36, 1), (39, 1), (42, 0), (47, 0), (48, 0), (52, -1)]),
            (Granule::K16, [(36, 2), (39, 1), (42, 1), (47, 1), (48, 0), (52, 0)]),
            (Granule::K64, [(36, 2), (39, 2), (42, 2), (47, 1), (48, 1), (52, 1)]),
        ];
        for (g, cells) in rows {
            for (va, level) in cells {
                assert_eq!(Geometry::start_level(g, va), Level::new(level), "{g:?} {va}");
            }
        }
        assert_eq!(Geometry::start_level(Granule::K4, 12), None);
        assert_eq!(Geometry::start_level(Granule::K4, 13), Some(Level::LEAF));
        assert_eq!(Geometry::start_level(Granule::K4, 57), None);
    }

    #[test]
    fn levels_convert_to_and_from_core_levels() {
        for l in -1i8..=3 {
            let level = Level::new(l).unwrap();
            assert_eq!(Level::from_core_level(level.core_level()), Some(level));
            assert_eq!(level.core_level(), u8::try_from(3 - l).unwrap());
        }
        assert_eq!(Level::new(4), None);
        assert_eq!(Level::new(-2), None);
        assert_eq!(Level::from_core_level(5), None);
        assert_eq!(Level::LEAF.next(), None);
        assert_eq!(Level::MINUS_ONE.next(), Some(Level::ZERO));
    }

    #[test]
    fn granule_encodings() {
        for g in Granule::ALL {
            assert_eq!(Granule::from_tg1(g.tg1()), Some(g));
            assert_eq!(Granule::from_page_size(g.size()), Some(g));
            assert_eq!(g.bits_per_level(), g.shift() - 3);
        }
        assert_eq!(Granule::from_tg1(0), None);
        assert_eq!(Granule::from_page_size(8192), None);
    }

    #[test]
    fn shifts_and_index_bits() {
        let g = Geometry {
            granule: Granule::K4,
            va_bits: 52,
            pa_bits: 52,
            start: Level::MINUS_ONE,
            format: AddressFormat::Lpa2,
        };
        assert_eq!(g.levels(), 5);
        assert_eq!(g.shift_at(Level::MINUS_ONE), 48);
        assert_eq!(g.shift_at(Level::ONE), 30);
        assert_eq!(g.index_bits_at(Level::MINUS_ONE), 4);
        assert_eq!(g.index_bits_at(Level::ZERO), 9);
        assert!(g.block_allowed(Level::ZERO) && !g.block_allowed(Level::MINUS_ONE));
        assert!(!g.block_allowed(Level::LEAF));
    }
}
