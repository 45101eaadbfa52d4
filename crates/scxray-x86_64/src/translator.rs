//! [`X86Translator`]: the three Linux x86_64 kernel address kinds and their rules.

use crate::config::X86Config;
use crate::descriptor::phys_addr_mask;
use crate::walker::{Mapping, PageWalker};
use scxray_core::{AddressKind, LinearRange, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr};

/// Translates Linux x86_64 kernel virtual addresses:
/// - the direct map, `pa = va - page_offset_base`, inside
///   `[page_offset_base, page_offset_base + direct_map_size)`;
/// - the kernel image, `pa = va - kernel_map_start + phys_base` (mod 2^64), inside
///   `[kernel_map_start, kernel_map_start + kernel_image_size)`;
/// - anything else (vmalloc, per-CPU chunks, modules, vmemmap) by walking the page tables
///   from CR3.
///
/// Every result is checked against MAXPHYADDR and, when configured, the end of RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X86Translator {
    config: X86Config,
}

impl X86Translator {
    /// A translator for the guest `config` describes.
    #[must_use]
    pub const fn new(config: X86Config) -> Self {
        Self { config }
    }

    /// The configuration in use.
    #[must_use]
    pub const fn config(&self) -> &X86Config {
        &self.config
    }

    /// The walker behind the rules: the guest's page tables as the walk reads them.
    #[must_use]
    pub const fn walker(&self) -> PageWalker {
        PageWalker {
            cr3: self.config.cr3,
            mode: self.config.paging_mode,
            max_phys_bits: self.config.max_phys_bits,
        }
    }

    /// Which region `va` lies in, whatever rule `prefer_walk` makes [`Translate::kind`]
    /// report: [`AddressKind::PageWalk`] outside the two linear regions.
    #[must_use]
    pub fn region(&self, va: VirtAddr) -> AddressKind {
        if self.direct_map_offset(va).is_some() {
            AddressKind::DirectMap
        } else if self.kernel_image_offset(va).is_some() {
            AddressKind::KernelImage
        } else {
            AddressKind::PageWalk
        }
    }

    /// Walks the page tables for `va` whatever region it is in, reporting the page size.
    ///
    /// # Errors
    /// As [`PageWalker::walk`], plus `OutsideMemory` beyond the configured RAM end.
    pub fn walk<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<Mapping, TranslateError> {
        let mapping = self.walker().walk(mem, va)?;
        self.check_in_memory(va, mapping.pa)?;
        Ok(mapping)
    }

    /// `va - page_offset_base` inside the direct map.
    fn direct_map_offset(&self, va: VirtAddr) -> Option<u64> {
        let offset = va.checked_offset_from(self.config.page_offset_base)?;
        (offset < self.config.direct_map_size).then_some(offset)
    }

    /// The direct-map offset when the linear rule applies (not under `prefer_walk`).
    fn linear_direct_map_offset(&self, va: VirtAddr) -> Option<u64> {
        self.direct_map_offset(va).filter(|_| !self.config.prefer_walk)
    }

    /// `va - kernel_map_start` inside the kernel image.
    fn kernel_image_offset(&self, va: VirtAddr) -> Option<u64> {
        let offset = va.checked_offset_from(self.config.kernel_map_start)?;
        (offset < self.config.kernel_image_size).then_some(offset)
    }

    /// `pa` if the guest can hold it: below MAXPHYADDR and the RAM end.
    fn check_in_memory(&self, va: VirtAddr, pa: PhysAddr) -> Result<PhysAddr, TranslateError> {
        let above_max = pa.0 & !phys_addr_mask(self.config.max_phys_bits) != 0;
        let beyond_ram = self.config.phys_end.is_some_and(|end| pa >= end);
        if above_max || beyond_ram { Err(TranslateError::OutsideMemory { va, pa }) } else { Ok(pa) }
    }
}

impl Translate for X86Translator {
    /// The rule [`Translate::translate`] applies: the region ([`X86Translator::region`]),
    /// except that direct-map addresses are [`AddressKind::PageWalk`] under `prefer_walk`.
    fn kind(&self, va: VirtAddr) -> AddressKind {
        if self.linear_direct_map_offset(va).is_some() {
            AddressKind::DirectMap
        } else if self.kernel_image_offset(va).is_some() {
            AddressKind::KernelImage
        } else {
            AddressKind::PageWalk
        }
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        if !self.config.paging_mode.is_canonical(va) {
            let level = self.config.paging_mode.root().core_level();
            return Err(TranslateError::NotMapped { va, level });
        }
        if let Some(offset) = self.linear_direct_map_offset(va) {
            // The direct map starts at physical 0.
            return self.check_in_memory(va, PhysAddr(offset));
        }
        if let Some(offset) = self.kernel_image_offset(va) {
            // The kernel's own `__pa_symbol` arithmetic is modular: `phys_base` is "negative"
            // when KASLR loads the image below LOAD_PHYSICAL_ADDR (seen on real 7.3 guests:
            // phys_base = -0x2a00000). The result is still checked against memory.
            let pa = self.config.phys_base.wrapping_add(offset);
            return self.check_in_memory(va, pa);
        }
        self.walk(mem, va).map(|m| m.pa)
    }

    /// A direct-map address answers for the direct map as far as the checks every result
    /// goes through allow (MAXPHYADDR, the RAM end) and the canonical half it sits in: a
    /// list walk through the direct map then translates once. Other addresses give no span.
    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        let pa = self.translate(mem, va)?;
        if self.linear_direct_map_offset(va).is_none() {
            return Ok((pa, None));
        }
        let start = self.config.page_offset_base;
        let mut len = self.config.direct_map_size;
        // pa = offset, so `pa <= mask` and `pa < phys_end` bound the offsets.
        len = len.min(phys_addr_mask(self.config.max_phys_bits).saturating_add(1));
        if let Some(end) = self.config.phys_end {
            len = len.min(end.0);
        }
        let last = len.checked_sub(1).and_then(|l| start.checked_add(l));
        let canonical = |a: VirtAddr| self.config.paging_mode.is_canonical(a);
        let span = last.filter(|&l| canonical(start) && canonical(l)).map(|_| LinearRange {
            va_start: start,
            len,
            pa_start: PhysAddr(0),
            kind: AddressKind::DirectMap,
        });
        Ok((pa, span))
    }
}
