//! The TTBR1 page-table walk, configured from the registers exactly as the hardware is.

use crate::config::{ConfigError, TcrEl1, Ttbr1El1};
use crate::descriptor::{Descriptor, DescriptorKind};
use crate::geometry::{AddressFormat, Geometry, Granule, Level};
use scxray_core::{AddressKind, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr};

/// How a translated address was mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// The physical address.
    pub pa: PhysAddr,
    /// Level of the block or page descriptor.
    pub level: Level,
    /// `log2` of the block or page size.
    pub size_shift: u32,
}

/// A TTBR1 page-table walker: every address goes through the tables.
///
/// The walk reads at most [`Geometry::levels`] descriptors, one a level, so a table that
/// points at itself (or any loop) ends at the leaf level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageWalker {
    geometry: Geometry,
    root: PhysAddr,
    walks_disabled: bool,
    top_byte_ignored: bool,
}

impl PageWalker {
    /// Configures the walk from `TTBR1_EL1` and `TCR_EL1` as the hardware does: `T1SZ` gives
    /// the VA size, `TG1` the granule, both together the start level; `IPS` the output size,
    /// `DS` (4K/16K) or a 52-bit `IPS` (64K) the 52-bit formats; `EPD1` disables walks and
    /// `TBI1` ignores the top byte. `TTBR1_EL1`'s ASID and CnP are not part of the address.
    ///
    /// # Errors
    /// [`ConfigError`] for reserved encodings, a `T1SZ` the granule cannot use, or a root
    /// table beyond the output address size.
    pub fn from_registers(ttbr1_el1: u64, tcr_el1: u64) -> Result<Self, ConfigError> {
        let tcr = TcrEl1::from_bits_retain(tcr_el1);
        let granule = tcr.granule().ok_or(ConfigError::Granule { raw: (tcr_el1 >> 30) & 0b11 })?;
        let pa_bits = tcr.pa_bits().ok_or(ConfigError::PaSize { ips: tcr.ips() })?;
        let format = tcr.address_format(granule);
        let t1sz = tcr.t1sz();
        let min = if granule == Granule::K64 || format == AddressFormat::Lpa2 { 12 } else { 16 };
        let max = if granule == Granule::K64 { 47 } else { 48 };
        if t1sz < min || t1sz > max {
            return Err(ConfigError::VaSize { t1sz });
        }
        let va_bits = 64u32.saturating_sub(u32::from(t1sz));
        let start = Geometry::start_level(granule, va_bits).ok_or(ConfigError::VaSize { t1sz })?;
        let geometry = Geometry { granule, va_bits, pa_bits, start, format };
        // The root table is aligned to its own size (at least 8 bytes; 64 in the 52-bit
        // formats, which the register encoding takes care of).
        let root_shift = geometry.index_bits_at(start).saturating_add(3);
        let root = Ttbr1El1::from_bits_retain(ttbr1_el1).table_address(format, root_shift);
        if root >> pa_bits != 0 {
            return Err(ConfigError::TableBase { pa: PhysAddr(root) });
        }
        Ok(Self {
            geometry,
            root: PhysAddr(root),
            walks_disabled: tcr.contains(TcrEl1::EPD1),
            top_byte_ignored: tcr.contains(TcrEl1::TBI1),
        })
    }

    /// The walk's shape.
    #[must_use]
    pub const fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The root table's physical address.
    #[must_use]
    pub const fn root(&self) -> PhysAddr {
        self.root
    }

    /// `va` with its top byte forced to ones when `TBI1` is set, so tagged pointers match.
    #[must_use]
    pub const fn untag(&self, va: VirtAddr) -> VirtAddr {
        if self.top_byte_ignored { VirtAddr(va.0 | 0xff00_0000_0000_0000) } else { va }
    }

    /// Whether `va` is in the TTBR1 range: bits 63 down to the VA size all ones (bits 55 down
    /// with `TBI1`).
    #[must_use]
    pub const fn in_range(&self, va: VirtAddr) -> bool {
        let va = self.untag(va);
        let shift = self.geometry.va_bits;
        if shift >= 64 {
            return true;
        }
        va.0 >> shift == u64::MAX >> shift
    }

    /// Walks the tables for `va` and says how it was mapped.
    ///
    /// # Errors
    /// `NotMapped` outside the TTBR1 range, with `EPD1` set, or at an invalid descriptor;
    /// `BadDescriptor` for a reserved descriptor type or a table address beyond the output
    /// size; `OutsideMemory` for an output address beyond it; `Memory` when a descriptor
    /// cannot be read. Levels are reported as [`Level::core_level`].
    pub fn walk<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<Mapping, TranslateError> {
        let g = &self.geometry;
        let start = g.start;
        if self.walks_disabled || !self.in_range(va) {
            return Err(TranslateError::NotMapped { va, level: start.core_level() });
        }
        let pa_limit_shift = g.pa_bits;
        let mut table = self.root.0;
        let mut level = start;
        // One descriptor a level; the loop cannot outlive the leaf level.
        for _ in 0..g.levels() {
            let shift = g.shift_at(level);
            let index_mask = low_mask(g.index_bits_at(level));
            let index = va.0.checked_shr(shift).unwrap_or(0) & index_mask;
            let entry = table.checked_add(index.saturating_mul(8));
            let entry = entry.ok_or(TranslateError::NotMapped { va, level: level.core_level() })?;
            let raw: u64 = mem.read_le(PhysAddr(entry))?;
            let desc = Descriptor(raw);
            match desc.kind(g, level) {
                DescriptorKind::Invalid => {
                    return Err(TranslateError::NotMapped { va, level: level.core_level() });
                }
                DescriptorKind::Reserved => {
                    return Err(bad(va, level, raw));
                }
                DescriptorKind::Table => {
                    let next = desc.address(g.format, g.granule.shift());
                    if next.checked_shr(pa_limit_shift).unwrap_or(0) != 0 {
                        return Err(bad(va, level, raw));
                    }
                    // `Table` is never returned at the leaf, so `next()` is `Some`.
                    level = level.next().ok_or(bad(va, level, raw))?;
                    table = next;
                }
                DescriptorKind::Block | DescriptorKind::Page => {
                    let base = desc.address(g.format, shift);
                    let pa = base | (va.0 & low_mask(shift));
                    if pa.checked_shr(pa_limit_shift).unwrap_or(0) != 0 {
                        return Err(TranslateError::OutsideMemory { va, pa: PhysAddr(pa) });
                    }
                    return Ok(Mapping { pa: PhysAddr(pa), level, size_shift: shift });
                }
            }
        }
        // Unreachable for a consistent geometry: the leaf level returns above.
        Err(TranslateError::NotMapped { va, level: 0 })
    }
}

fn bad(va: VirtAddr, level: Level, descriptor: u64) -> TranslateError {
    TranslateError::BadDescriptor { va, level: level.core_level(), descriptor }
}

/// `2^bits - 1`, saturating at all ones.
pub(crate) const fn low_mask(bits: u32) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits).wrapping_sub(1) }
}

impl Translate for PageWalker {
    fn kind(&self, _va: VirtAddr) -> AddressKind {
        AddressKind::PageWalk
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        self.walk(mem, va).map(|m| m.pa)
    }
}
