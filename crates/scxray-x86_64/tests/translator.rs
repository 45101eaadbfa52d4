//! The Linux address kinds: which rule applies where, the region boundaries, the checks on
//! every result (MAXPHYADDR, end of RAM) and `prefer_walk`.

mod common;

use common::{Builder, CountingMem, GIB1, KIB4, MIB2};
use scxray_core::{AddressKind, FlatImage, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr};
use scxray_x86_64::{
    Cr3, DIRECT_MAP_SIZE_L4, DIRECT_MAP_SIZE_L5, KERNEL_IMAGE_SIZE, PAGE_OFFSET_BASE_L4, PAGE_OFFSET_BASE_L5,
    PageSize, PagingMode, START_KERNEL_MAP, X86Config, X86Translator,
};
use x86_64::structures::paging::PageTableFlags as F;

const TABLES_PA: u64 = 0x20_0000;
/// KASLR'd `page_offset_base`, `vmalloc_base` and `phys_base`, as a real guest has them.
const KASLR_PAGE_OFFSET: u64 = 0xffff_9a40_0000_0000;
const KASLR_VMALLOC_BASE: u64 = 0xffff_b3c0_0000_0000;
const KASLR_PHYS_BASE: u64 = 0x1_2a00_0000;
const VMALLOC_VA: u64 = KASLR_VMALLOC_BASE + 0x3000;
const VMALLOC_PA: u64 = 0x1_0000_7000;

/// A guest with one vmalloc page mapped; 4- or 5-level.
fn guest(mode: PagingMode) -> Builder {
    let levels = if mode == PagingMode::FiveLevel { 5 } else { 4 };
    let mut b = Builder::new(levels, TABLES_PA, 64);
    b.map(vmalloc_va(mode), VMALLOC_PA, KIB4, F::PRESENT | F::WRITABLE | F::NO_EXECUTE).unwrap();
    b
}

fn vmalloc_va(mode: PagingMode) -> u64 {
    match mode {
        PagingMode::FourLevel => VMALLOC_VA,
        PagingMode::FiveLevel => 0xff5a_0000_0000_3000,
    }
}

fn kaslr_config(mode: PagingMode) -> X86Config {
    let page_offset_base = match mode {
        PagingMode::FourLevel => KASLR_PAGE_OFFSET,
        PagingMode::FiveLevel => 0xff35_4000_0000_0000,
    };
    // vmalloc follows the direct map: it bounds the direct-map rule.
    let vmalloc_base = vmalloc_va(mode) & !0xffff_ffff;
    X86Config {
        page_offset_base: VirtAddr(page_offset_base),
        phys_base: PhysAddr(KASLR_PHYS_BASE),
        ..X86Config::new(Cr3(TABLES_PA), mode)
    }
    .with_direct_map_end(VirtAddr(vmalloc_base))
}

fn check(t: &X86Translator, mem: &impl PhysMem, va: u64) -> Result<u64, TranslateError> {
    t.translate(mem, VirtAddr(va)).map(|pa| pa.0)
}

#[test]
fn the_three_rules_under_kaslr() {
    for mode in [PagingMode::FourLevel, PagingMode::FiveLevel] {
        let b = guest(mode);
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        let config = kaslr_config(mode);
        let t = X86Translator::new(config);
        let base = config.page_offset_base.0;
        // Direct map: from physical 0, no table read.
        assert_eq!(check(&t, &mem, base), Ok(0));
        assert_eq!(check(&t, &mem, base + 0x1_2345_6789), Ok(0x1_2345_6789));
        assert_eq!(t.kind(VirtAddr(base + 0x1000)), AddressKind::DirectMap);
        // Kernel image: relative to __START_KERNEL_map plus phys_base.
        assert_eq!(check(&t, &mem, START_KERNEL_MAP.0), Ok(KASLR_PHYS_BASE));
        assert_eq!(check(&t, &mem, 0xffff_ffff_8320_0040), Ok(KASLR_PHYS_BASE + 0x320_0040));
        assert_eq!(t.kind(VirtAddr(0xffff_ffff_8320_0040)), AddressKind::KernelImage);
        assert_eq!(mem.take(), 0);
        // The rest: a walk of as many entries as levels.
        let va = vmalloc_va(mode);
        // Without the vmalloc bound the default region would have swallowed vmalloc.
        let unbounded = X86Config { direct_map_size: X86Config::new(Cr3(0), mode).direct_map_size, ..config };
        assert_eq!(X86Translator::new(unbounded).kind(VirtAddr(va)), AddressKind::DirectMap);
        assert_eq!(t.kind(VirtAddr(va)), AddressKind::PageWalk);
        assert_eq!(check(&t, &mem, va + 0x123), Ok(VMALLOC_PA + 0x123));
        assert_eq!(mem.take(), b.levels as usize);
        assert_eq!(t.config(), &config);
    }
}

#[test]
fn direct_map_bounds() {
    let b = guest(PagingMode::FourLevel);
    let image = b.image();
    let mem = FlatImage::new(PhysAddr(TABLES_PA), &image);
    let config = X86Config { direct_map_size: 16 * GIB1, ..kaslr_config(PagingMode::FourLevel) };
    let default_end = kaslr_config(PagingMode::FourLevel);
    assert_eq!(default_end.page_offset_base.0 + default_end.direct_map_size, KASLR_VMALLOC_BASE);
    let t = X86Translator::new(config);
    let last = KASLR_PAGE_OFFSET + 16 * GIB1 - 1;
    assert_eq!(check(&t, &mem, last), Ok(16 * GIB1 - 1));
    // One past the end and one before the start are walked, and nothing maps them here.
    for va in [last + 1, KASLR_PAGE_OFFSET - 1] {
        assert_eq!(t.kind(VirtAddr(va)), AddressKind::PageWalk);
        assert!(matches!(check(&t, &mem, va), Err(TranslateError::NotMapped { .. })), "{va:#x}");
    }
}

#[test]
fn kernel_image_bounds() {
    let b = guest(PagingMode::FourLevel);
    let image = b.image();
    let mem = FlatImage::new(PhysAddr(TABLES_PA), &image);
    let t = X86Translator::new(kaslr_config(PagingMode::FourLevel));
    let last = START_KERNEL_MAP.0 + KERNEL_IMAGE_SIZE - 1;
    assert_eq!(check(&t, &mem, last), Ok(KASLR_PHYS_BASE + KERNEL_IMAGE_SIZE - 1));
    // Modules follow the image (MODULES_VADDR) and need the walk.
    assert_eq!(t.kind(VirtAddr(last + 1)), AddressKind::PageWalk);
    assert!(matches!(check(&t, &mem, last + 1), Err(TranslateError::NotMapped { .. })));
    assert_eq!(t.kind(VirtAddr(START_KERNEL_MAP.0 - 1)), AddressKind::PageWalk);
    // A 512 MiB image (no KASLR) when configured so.
    let small =
        X86Translator::new(X86Config { kernel_image_size: 512 << 20, ..kaslr_config(PagingMode::FourLevel) });
    assert_eq!(small.kind(VirtAddr(START_KERNEL_MAP.0 + (512 << 20))), AddressKind::PageWalk);
}

#[test]
fn defaults_cover_the_mm_rst_regions() {
    let four = X86Translator::new(X86Config::new(Cr3(0), PagingMode::FourLevel));
    assert_eq!(four.kind(PAGE_OFFSET_BASE_L4), AddressKind::DirectMap);
    assert_eq!(four.kind(VirtAddr(0xffff_c87f_ffff_ffff)), AddressKind::DirectMap);
    assert_eq!(four.kind(VirtAddr(0xffff_c880_0000_0000)), AddressKind::PageWalk);
    // vmalloc, vmemmap, percpu/cpu_entry_area, modules.
    for va in [0xffff_c900_0000_0000, 0xffff_ea00_0000_0000, 0xffff_fe00_0000_0000, 0xffff_ffff_c000_0000] {
        assert_eq!(four.kind(VirtAddr(va)), AddressKind::PageWalk, "{va:#x}");
    }
    let five = X86Translator::new(X86Config::new(Cr3(0), PagingMode::FiveLevel));
    assert_eq!(five.kind(PAGE_OFFSET_BASE_L5), AddressKind::DirectMap);
    assert_eq!(five.kind(VirtAddr(0xff90_ffff_ffff_ffff)), AddressKind::DirectMap);
    assert_eq!(five.kind(VirtAddr(0xff91_0000_0000_0000)), AddressKind::PageWalk);
    assert_eq!(five.kind(VirtAddr(0xffa0_0000_0000_0000)), AddressKind::PageWalk);
    assert_eq!(five.kind(START_KERNEL_MAP), AddressKind::KernelImage);
    assert_eq!(DIRECT_MAP_SIZE_L4, 1 << 46);
    assert_eq!(DIRECT_MAP_SIZE_L5, 1 << 55);
}

#[test]
fn results_beyond_maxphyaddr_are_outside_memory() {
    let mem = FlatImage::new(PhysAddr(0), &[]);
    // The 5-level direct map (32 PiB) is larger than 52 bits of physical address space.
    let five = X86Translator::new(X86Config::new(Cr3(0), PagingMode::FiveLevel));
    let va = PAGE_OFFSET_BASE_L5.0 + (1 << 52);
    assert_eq!(
        five.translate(&mem, VirtAddr(va)),
        Err(TranslateError::OutsideMemory { va: VirtAddr(va), pa: PhysAddr(1 << 52) })
    );
    assert_eq!(five.translate(&mem, VirtAddr(va - 1)), Ok(PhysAddr((1 << 52) - 1)));
    // A 39-bit guest.
    let small =
        X86Translator::new(X86Config { max_phys_bits: 39, ..X86Config::new(Cr3(0), PagingMode::FourLevel) });
    let va = PAGE_OFFSET_BASE_L4.0 + (1 << 39);
    assert!(matches!(small.translate(&mem, VirtAddr(va)), Err(TranslateError::OutsideMemory { .. })));
    assert_eq!(small.translate(&mem, VirtAddr(va - 1)), Ok(PhysAddr((1 << 39) - 1)));
    let image_va = VirtAddr(START_KERNEL_MAP.0 + 0x10);
    let high_base = X86Translator::new(X86Config { phys_base: PhysAddr(1 << 39), ..*small.config() });
    assert_eq!(
        high_base.translate(&mem, image_va),
        Err(TranslateError::OutsideMemory { va: image_va, pa: PhysAddr((1 << 39) + 0x10) })
    );
}

#[test]
fn phys_base_is_modular_like_the_kernels_own_arithmetic() {
    let mem = FlatImage::new(PhysAddr(0), &[]);
    // A "negative" phys_base (image loaded below LOAD_PHYSICAL_ADDR): -16 here.
    let t = X86Translator::new(X86Config {
        phys_base: PhysAddr(0u64.wrapping_sub(0x10)),
        ..X86Config::new(Cr3(0), PagingMode::FourLevel)
    });
    let va = VirtAddr(START_KERNEL_MAP.0 + 0x20);
    assert_eq!(t.translate(&mem, va), Ok(PhysAddr(0x10)));
    // Below it the sum wraps under 0, far above MAXPHYADDR: outside memory.
    let va = VirtAddr(START_KERNEL_MAP.0 + 0x8);
    assert_eq!(t.translate(&mem, va), Err(TranslateError::OutsideMemory { va, pa: PhysAddr(u64::MAX - 7) }));
}

#[test]
fn phys_end_bounds_every_rule() {
    let mut b = guest(PagingMode::FourLevel);
    // A vmalloc page past the end of RAM (an ioremap of a device, say).
    b.map(VMALLOC_VA + KIB4, 0x40_0000_0000, KIB4, F::PRESENT).unwrap();
    let image = b.image();
    let mem = FlatImage::new(PhysAddr(TABLES_PA), &image);
    let end = KASLR_PHYS_BASE + 0x2000_0000; // the image is loaded near the end of RAM
    let t = X86Translator::new(X86Config {
        phys_end: Some(PhysAddr(end)),
        ..kaslr_config(PagingMode::FourLevel)
    });
    let outside =
        |va: u64, pa: u64| Err(TranslateError::OutsideMemory { va: VirtAddr(va), pa: PhysAddr(pa) });
    assert_eq!(check(&t, &mem, KASLR_PAGE_OFFSET + end - 1), Ok(end - 1));
    assert_eq!(check(&t, &mem, KASLR_PAGE_OFFSET + end), outside(KASLR_PAGE_OFFSET + end, end));
    let image_va = START_KERNEL_MAP.0 + (end - KASLR_PHYS_BASE);
    assert_eq!(check(&t, &mem, image_va - 1), Ok(end - 1));
    assert_eq!(check(&t, &mem, image_va), outside(image_va, end));
    assert_eq!(check(&t, &mem, VMALLOC_VA), Ok(VMALLOC_PA));
    assert_eq!(check(&t, &mem, VMALLOC_VA + KIB4 + 8), outside(VMALLOC_VA + KIB4 + 8, 0x40_0000_0008));
    // The bare walk reports the mapping regardless; the translator's walk applies the bound.
    let tables = t.walker();
    assert_eq!(tables.walk(&mem, VirtAddr(VMALLOC_VA + KIB4)).map(|m| m.pa), Ok(PhysAddr(0x40_0000_0000)));
    assert!(matches!(t.walk(&mem, VirtAddr(VMALLOC_VA + KIB4)), Err(TranslateError::OutsideMemory { .. })));
}

#[test]
fn non_canonical_addresses_are_not_mapped_even_inside_a_configured_region() {
    let mem = FlatImage::new(PhysAddr(0), &[]);
    // A hostile or mistaken page_offset_base in the non-canonical hole.
    let t = X86Translator::new(X86Config {
        page_offset_base: VirtAddr(0x0000_8000_0000_0000),
        ..X86Config::new(Cr3(0), PagingMode::FourLevel)
    });
    let va = VirtAddr(0x0000_8000_0000_1000);
    assert_eq!(t.translate(&mem, va), Err(TranslateError::NotMapped { va, level: 3 }));
    // Under 5-level paging the same address is canonical and linear.
    let t5 = X86Translator::new(X86Config { paging_mode: PagingMode::FiveLevel, ..*t.config() });
    assert_eq!(t5.translate(&mem, va), Ok(PhysAddr(0x1000)));
    let bad = VirtAddr(0x0100_0000_0000_0000);
    assert_eq!(t5.translate(&mem, bad), Err(TranslateError::NotMapped { va: bad, level: 4 }));
}

/// Tables that map the first 6 GiB of the direct map the way Linux does (1 GiB pages, then
/// 2 MiB pages for the last GiB) plus the kernel image with 2 MiB pages.
fn linux_like_tables(mode: PagingMode, config: &X86Config) -> Builder {
    let mut b = guest(mode);
    let base = config.page_offset_base.0;
    for gib in 0..5 {
        b.map(base + gib * GIB1, gib * GIB1, GIB1, F::PRESENT | F::WRITABLE | F::GLOBAL | F::NO_EXECUTE)
            .unwrap();
    }
    for mib2 in 0..512 {
        let off = 5 * GIB1 + mib2 * MIB2;
        b.map(base + off, off, MIB2, F::PRESENT | F::WRITABLE | F::NO_EXECUTE).unwrap();
    }
    for mib2 in 0..32 {
        let off = mib2 * MIB2;
        b.map(START_KERNEL_MAP.0 + off, KASLR_PHYS_BASE + off, MIB2, F::PRESENT | F::GLOBAL).unwrap();
    }
    b
}

#[test]
fn prefer_walk_checks_the_direct_map_against_the_tables() {
    for mode in [PagingMode::FourLevel, PagingMode::FiveLevel] {
        let config = kaslr_config(mode);
        let mut b = linux_like_tables(mode, &config);
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        let linear = X86Translator::new(config);
        let walking = X86Translator::new(X86Config { prefer_walk: true, ..config });
        let base = config.page_offset_base.0;
        let va = VirtAddr(base + 5 * GIB1 + 0x12_3456);
        assert_eq!(linear.kind(va), AddressKind::DirectMap);
        assert_eq!(walking.kind(va), AddressKind::PageWalk);
        assert_eq!(walking.region(va), AddressKind::DirectMap);
        for off in [0, 0x1234, GIB1 + 8, 5 * GIB1 - 1, 5 * GIB1, 6 * GIB1 - 1] {
            let va = VirtAddr(base + off);
            assert_eq!(linear.translate(&mem, va), Ok(PhysAddr(off)));
            assert_eq!(mem.take(), 0);
            assert_eq!(walking.translate(&mem, va), Ok(PhysAddr(off)));
            assert!(mem.take() >= 2);
        }
        // Beyond what the tables map the linear rule still answers; the walk does not.
        let va = VirtAddr(base + 6 * GIB1);
        assert_eq!(linear.translate(&mem, va), Ok(PhysAddr(6 * GIB1)));
        assert!(matches!(walking.translate(&mem, va), Err(TranslateError::NotMapped { .. })));
        // The kernel image keeps its linear rule; the walk agrees with it.
        let va = VirtAddr(START_KERNEL_MAP.0 + 0x1_2345);
        assert_eq!(walking.kind(va), AddressKind::KernelImage);
        assert_eq!(walking.translate(&mem, va), Ok(PhysAddr(KASLR_PHYS_BASE + 0x1_2345)));
        let walked = walking.walk(&mem, va).unwrap();
        assert_eq!((walked.pa, walked.page_size), (PhysAddr(KASLR_PHYS_BASE + 0x1_2345), PageSize::Size2MiB));
        // A page the tables map elsewhere shows up as a disagreement.
        let va = base + 5 * GIB1 + 7 * MIB2;
        let at = b.entry_pa(va, b.levels - 2).unwrap();
        b.set_entry(at, common::encode(0x9_9960_0000, F::PRESENT | F::HUGE_PAGE));
        let image = b.image();
        let mem = FlatImage::new(PhysAddr(TABLES_PA), &image);
        assert_eq!(linear.translate(&mem, VirtAddr(va)), Ok(PhysAddr(5 * GIB1 + 7 * MIB2)));
        assert_eq!(walking.translate(&mem, VirtAddr(va)), Ok(PhysAddr(0x9_9960_0000)));
    }
}

#[test]
fn works_through_a_reference_and_in_a_const() {
    const T: X86Translator = X86Translator::new(X86Config::new(Cr3(0x1000), PagingMode::FourLevel));
    let mem = FlatImage::new(PhysAddr(0), &[]);
    let by_ref: &X86Translator = &T;
    assert_eq!(
        by_ref.translate(&mem, VirtAddr(KASLR_PAGE_OFFSET)),
        Ok(PhysAddr(KASLR_PAGE_OFFSET - PAGE_OFFSET_BASE_L4.0))
    );
    // The root table is not backed: the walk's read fails with the memory error.
    let va = VirtAddr(0xffff_c900_0000_0000);
    assert!(matches!(by_ref.translate(&mem, va), Err(TranslateError::Memory(_))));
}
