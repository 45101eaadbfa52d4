//! Address schemes: how a synthetic guest's kernel virtual addresses map to its physical
//! memory. The default is the kit's historical x86-like scheme (a direct map at the default
//! `page_offset_base` from physical 0, a 1 MiB kernel-image window at `__START_KERNEL_map`);
//! the others are what real kernels do under KASLR, for guests written as ELF cores with real
//! page tables ([`crate::elf_core`]).

use std::ops::Range;

/// x86_64's page size (and the granularity the kit splits its writes at).
pub const PAGE: u64 = 4096;

/// The guest's architecture and paging, for schemes written as ELF cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// x86_64 with 4 or 5 levels.
    X86 {
        /// 4 or 5.
        levels: u32,
    },
    /// aarch64 with a 4K or 64K granule and a 48- or 52-bit VA.
    Aarch64 {
        /// 4096 or 65536.
        page_size: u64,
        /// 48 or 52.
        va_bits: u32,
    },
}

/// How kit addresses map (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressScheme {
    /// Architecture and paging (used by the ELF-core writer; the flat kit ignores it).
    pub paging: Paging,
    /// VA of the direct (linear) map's start: `page_offset_base` / `PAGE_OFFSET`.
    pub direct_map: u64,
    /// The physical address `direct_map` maps: 0 on x86_64, `PHYS_OFFSET` (`memstart_addr`)
    /// on arm64, where KASLR may make it "negative" (the arithmetic wraps).
    pub phys_offset: u64,
    /// Physical address of the kit memory's first byte (where guest RAM starts).
    pub mem_base: u64,
    /// VA of the kernel-image window.
    pub image_va: u64,
    /// Physical address of the kernel-image window.
    pub image_pa: u64,
    /// Size of the kernel-image window.
    pub image_size: u64,
    /// What `__per_cpu_offset[cpu]` is relative to: 0 on x86_64 (zero-based per-CPU
    /// symbols), the runtime `__per_cpu_start` on arm64.
    pub percpu_base: u64,
    /// A vmalloc-like window reached only by the page walk.
    pub vmalloc: Option<u64>,
    /// Physical addresses the allocator skips and the core leaves out (no PT_LOAD).
    pub hole: Option<Range<u64>>,
    /// Allocate the per-CPU areas in the vmalloc window.
    pub percpu_in_vmalloc: bool,
    /// Allocate `dsq_hash`'s bucket table in the vmalloc window.
    pub bucket_table_in_vmalloc: bool,
    /// KASLR displacement of the kernel image (`KERNELOFFSET`).
    pub kaslr_offset: u64,
    /// x86_64 `phys_base` (wrapping: "negative" under KASLR).
    pub phys_base: u64,
    /// arm64 with 64K pages: 52-bit physical addresses (FEAT_LPA, `CONFIG_ARM64_PA_BITS_52`):
    /// descriptors carry PA bits 51:48 in bits 15:12, VMCOREINFO says `MAX_PHYSMEM_BITS=52`.
    pub lpa: bool,
}

impl Default for AddressScheme {
    fn default() -> Self {
        Self {
            paging: Paging::X86 { levels: 4 },
            direct_map: crate::DIRECT_MAP,
            phys_offset: 0,
            mem_base: 0,
            image_va: crate::KERNEL_IMAGE,
            image_pa: crate::IMAGE_PA,
            image_size: crate::IMAGE_SIZE,
            percpu_base: 0,
            vmalloc: None,
            hole: None,
            percpu_in_vmalloc: false,
            bucket_table_in_vmalloc: false,
            kaslr_offset: 0,
            // __pa_symbol(KERNEL_IMAGE) = IMAGE_PA.
            phys_base: crate::IMAGE_PA,
            lpa: false,
        }
    }
}

/// x86_64's `__START_KERNEL_map`.
pub const X86_START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// Link-time `_text` of an x86_64 kernel (`__START_KERNEL`, 16 MiB into the map).
pub const X86_LINK_TEXT: u64 = 0xffff_ffff_8100_0000;
/// arm64 `KIMAGE_VADDR` (link-time `_text`) for 48- and 52-bit kernels since 6.x.
pub const ARM64_LINK_TEXT: u64 = 0xffff_8000_8000_0000;

impl AddressScheme {
    /// x86_64 under KASLR as real guests run (4-level with zero-based per-CPU symbols, 5-level
    /// with the per-CPU section in the image): image displaced by 32 MiB, a negative
    /// `phys_base` (-0x2a00000, the image loaded below `LOAD_PHYSICAL_ADDR`), a randomised
    /// `page_offset_base`, a vmalloc window about 27 TiB above it (inside the 64 TiB a
    /// non-KASLR direct map would span), the per-CPU areas and bucket table in it, and a
    /// hole in physical memory.
    pub fn x86_kaslr(levels: u32) -> Self {
        assert!(levels == 4 || levels == 5);
        let kaslr_offset = 0x200_0000;
        let phys_base = 0u64.wrapping_sub(0x2a0_0000);
        let image_va = X86_LINK_TEXT + kaslr_offset;
        // __pa_symbol: va - __START_KERNEL_map + phys_base.
        let image_pa = (image_va - X86_START_KERNEL_MAP).wrapping_add(phys_base);
        let (direct_map, vmalloc) = if levels == 5 {
            (0xff45_6a00_0000_0000, 0xff45_8540_0000_0000)
        } else {
            (0xffff_9a4c_8000_0000, 0xffff_b5a2_c000_0000)
        };
        let image_size = 0x40_0000;
        let heap = image_pa + image_size;
        Self {
            paging: Paging::X86 { levels },
            direct_map,
            phys_offset: 0,
            mem_base: 0,
            image_va,
            image_pa,
            image_size,
            // 4-level: zero-based per-CPU symbols (kernels before 6.15); 5-level: a per-CPU
            // section in the image, `__per_cpu_offset` relative to it (6.15+).
            percpu_base: if levels == 5 { image_va + 0x30_0000 } else { 0 },
            vmalloc: Some(vmalloc),
            hole: Some(heap + 0x4_0000..heap + 0x14_0000),
            percpu_in_vmalloc: levels == 5,
            bucket_table_in_vmalloc: true,
            kaslr_offset,
            phys_base,
            lpa: false,
        }
    }

    /// arm64 with 64K pages, 52-bit VAs and 52-bit physical addresses (FEAT_LPA): as
    /// [`AddressScheme::aarch64_kaslr`] with RAM above 2^48 (bits 51:48 all set), so every
    /// table descriptor, the TTBR and the linear map carry the high address bits.
    pub fn aarch64_lpa() -> Self {
        let mut s = Self::aarch64_kaslr(65536, 52);
        let high = 0x000f_0000_0000_0000;
        s.mem_base += high;
        s.image_pa += high;
        s.phys_offset = s.phys_offset.wrapping_add(high);
        s.hole = s.hole.map(|h| h.start + high..h.end + high);
        s.lpa = true;
        s
    }

    /// arm64 under KASLR: RAM at 1 GiB (QEMU `virt`), a randomised linear map (`PHYS_OFFSET`
    /// below RAM, wrapping), the image at `KIMAGE_VADDR + KERNELOFFSET`, a vmalloc window,
    /// the bucket table in it, and a hole in physical memory.
    pub fn aarch64_kaslr(page_size: u64, va_bits: u32) -> Self {
        assert!(page_size == 4096 || page_size == 65536);
        assert!(va_bits == 48 || va_bits == 52);
        let mem_base: u64 = 0x4000_0000;
        let kaslr_offset = 0x1_0a40_0000;
        let image_va = ARM64_LINK_TEXT + kaslr_offset;
        let image_pa = mem_base + 0x20_0000;
        let image_size = 0x80_0000;
        // memstart_addr lowered by the linear-map randomisation: 64 GiB below RAM, so it is
        // "negative" and RAM sits 64 GiB into the linear map.
        let phys_offset = mem_base.wrapping_sub(0x10_0000_0000);
        let heap = image_pa + image_size;
        Self {
            paging: Paging::Aarch64 { page_size, va_bits },
            direct_map: u64::MAX << va_bits,
            phys_offset,
            mem_base,
            image_va,
            image_pa,
            image_size,
            // __per_cpu_start: the per-CPU section, in the image.
            percpu_base: image_va + 0x40_0000,
            vmalloc: Some(0xffff_8000_a000_0000),
            hole: Some(heap + 0x8_0000..heap + 0x28_0000),
            percpu_in_vmalloc: false,
            bucket_table_in_vmalloc: true,
            kaslr_offset,
            phys_base: 0,
            lpa: false,
        }
    }

    /// The page size of the guest (x86_64: 4 KiB; arm64: its granule): vmalloc pages and
    /// page-table frames have this size.
    pub fn page(&self) -> u64 {
        match self.paging {
            Paging::X86 { .. } => PAGE,
            Paging::Aarch64 { page_size, .. } => page_size,
        }
    }

    /// The direct-map VA of physical `pa`.
    pub fn direct_va(&self, pa: u64) -> u64 {
        self.direct_map.wrapping_add(pa.wrapping_sub(self.phys_offset))
    }

    /// `kimage_voffset` (arm64): image VA minus image PA.
    pub fn kimage_voffset(&self) -> u64 {
        self.image_va.wrapping_sub(self.image_pa)
    }

    /// Link-time address of a runtime image address.
    pub fn link_addr(&self, runtime: u64) -> u64 {
        runtime.wrapping_sub(self.kaslr_offset)
    }

    /// The physical address of `kva` through the two linear windows (image, direct map),
    /// `None` outside them. The direct map spans at most 1 GiB here.
    pub fn pa_linear(&self, kva: u64) -> Option<u64> {
        let off = kva.wrapping_sub(self.image_va);
        if off < self.image_size {
            return Some(self.image_pa + off);
        }
        let off = kva.wrapping_sub(self.direct_va(self.mem_base));
        (off < 1 << 30).then_some(self.mem_base + off)
    }
}
