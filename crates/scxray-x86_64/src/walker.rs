//! The page-table walk: from CR3 down through 4 or 5 levels to a leaf.

use crate::config::Cr3;
use crate::descriptor::{Descriptor, DescriptorKind, phys_addr_mask};
use crate::geometry::PagingMode;
use crate::geometry::{Level, PageSize};
use scxray_core::{PhysAddr, PhysMem, TranslateError, VirtAddr};

/// A successful walk: where `va` lives and the page that maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The physical address of the byte at `va`.
    pub pa: PhysAddr,
    /// Base of the physical page holding it.
    pub page_base: PhysAddr,
    /// Size of that page.
    pub page_size: PageSize,
}

/// The page-table walker: one guest address space as the processor sees it, the root table
/// and how to read it. Every address goes through the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageWalker {
    /// CR3, PCID and flag bits included; only the table base is used.
    pub cr3: Cr3,
    /// 4- or 5-level.
    pub mode: PagingMode,
    /// MAXPHYADDR: table and page addresses at or above `1 << max_phys_bits` are reserved.
    pub max_phys_bits: u8,
}

impl PageWalker {
    /// Walks the tables for `va`, reading at most one entry per level (4 or 5 reads), so a
    /// hostile or self-referencing table cannot make it loop.
    ///
    /// # Errors
    /// - `NotMapped` for a non-canonical `va` (at the root's level) or a non-present entry;
    /// - `BadDescriptor` for a present entry with reserved bits set (PS at PML4/PML5, address
    ///   bits at or above MAXPHYADDR, misaligned 1 GiB/2 MiB page), or for a CR3 whose table
    ///   base is above MAXPHYADDR (reported at the root's level with CR3 as the descriptor);
    /// - `Memory` when an entry cannot be read.
    pub fn walk<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<Mapping, TranslateError> {
        let root = self.mode.root();
        if !self.mode.is_canonical(va) {
            return Err(TranslateError::NotMapped { va, level: root.core_level() });
        }
        let phys_mask = phys_addr_mask(self.max_phys_bits);
        let mut table = self.cr3.table_base();
        if table.0 & !phys_mask != 0 {
            return Err(TranslateError::BadDescriptor {
                va,
                level: root.core_level(),
                descriptor: self.cr3.0,
            });
        }
        for &level in self.mode.levels() {
            let descriptor = Descriptor(mem.read_le(entry_address(table, level, va))?);
            match descriptor.decode(level, phys_mask) {
                Ok(DescriptorKind::Table(next)) => table = next,
                Ok(DescriptorKind::Page { base, size }) => {
                    // The base is aligned to `size`: OR-ing in the offset cannot carry.
                    let pa = PhysAddr(base.0 | (va.0 & size.offset_mask()));
                    return Ok(Mapping { pa, page_base: base, page_size: size });
                }
                Ok(DescriptorKind::NotPresent) => {
                    return Err(TranslateError::NotMapped { va, level: level.core_level() });
                }
                Err(_) => {
                    return Err(TranslateError::BadDescriptor {
                        va,
                        level: level.core_level(),
                        descriptor: descriptor.0,
                    });
                }
            }
        }
        // Not reached: a PTE always decodes to a page or an error.
        Err(TranslateError::NotMapped { va, level: Level::Pt.core_level() })
    }
}

/// Where `va`'s entry sits in the table at `table` of `level`.
fn entry_address(table: PhysAddr, level: Level, va: VirtAddr) -> PhysAddr {
    // `table` is 4 KiB aligned and the offset is below 4 KiB: OR is addition without carry.
    PhysAddr(table.0 | level.entry_offset(va))
}
