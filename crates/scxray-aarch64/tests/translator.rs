//! Linux's linear rules beside the walk, and the VMCOREINFO constructor.

mod common;

use common::{Builder, Cfg, Fmt};
use scxray_aarch64::{
    Aarch64KernelConfig, Aarch64Translator, ConfigError, Granule, KernelImage, LinearMap, PageWalker,
};
use scxray_core::{AddressKind, PhysAddr, Translate, TranslateError, VirtAddr};

#[test]
fn linux_page_offset_and_page_end() {
    let l = |va, g| LinearMap::linux(va, g, 0).map(|m| (m.start.0, m.end.0));
    assert_eq!(l(39, Granule::K4), Some((0xffff_ff80_0000_0000, 0xffff_ffc0_0000_0000)));
    assert_eq!(l(48, Granule::K4), Some((0xffff_0000_0000_0000, 0xffff_8000_0000_0000)));
    assert_eq!(l(47, Granule::K16), Some((0xffff_8000_0000_0000, 0xffff_c000_0000_0000)));
    assert_eq!(l(42, Granule::K64), Some((0xffff_fc00_0000_0000, 0xffff_fe00_0000_0000)));
    // 52-bit kernels end the linear map at VA_BITS_MIN's half: 48 bits, 47 with 16K.
    assert_eq!(l(52, Granule::K4), Some((0xfff0_0000_0000_0000, 0xffff_8000_0000_0000)));
    assert_eq!(l(52, Granule::K64), Some((0xfff0_0000_0000_0000, 0xffff_8000_0000_0000)));
    assert_eq!(l(52, Granule::K16), Some((0xfff0_0000_0000_0000, 0xffff_c000_0000_0000)));
    assert_eq!(l(53, Granule::K4), None);
    assert_eq!(l(0, Granule::K4), None);
}

fn linear_4k() -> (Builder, Aarch64Translator) {
    let cfg = Cfg::new(Granule::K4, 48, Fmt::Plain);
    let b = Builder::with_default_base(cfg);
    let t = Aarch64Translator::from_registers(b.ttbr(), b.tcr())
        .unwrap()
        .with_linux_linear_map(0x8000_0000)
        .with_kernel_image(KernelImage {
            start: VirtAddr(0xffff_8000_8000_0000),
            end: VirtAddr(0xffff_8000_8300_0000),
            voffset: 0xffff_8000_4000_0000,
        });
    (b, t)
}

#[test]
fn linear_rules_apply_inside_their_ranges_only() {
    let (mut b, t) = linear_4k();
    b.map(0xffff_8000_1000_0000, 0x7_0000_0000, 3);
    let mem = b.phys();
    // Linear map, though no table maps it: pa = va - PAGE_OFFSET + PHYS_OFFSET.
    let va = VirtAddr(0xffff_0000_1234_5678);
    assert_eq!(t.kind(va), AddressKind::DirectMap);
    assert_eq!(t.translate(&mem, va), Ok(PhysAddr(0x9234_5678)));
    assert_eq!(t.translate(&mem, VirtAddr(0xffff_0000_0000_0000)), Ok(PhysAddr(0x8000_0000)));
    let last = VirtAddr(0xffff_7fff_ffff_ffff);
    assert_eq!(t.kind(last), AddressKind::DirectMap);
    // PAGE_END itself is not linear: the walk decides, and nothing is mapped there.
    let end = VirtAddr(0xffff_8000_0000_0000);
    assert_eq!(t.kind(end), AddressKind::PageWalk);
    assert!(matches!(t.translate(&mem, end), Err(TranslateError::NotMapped { .. })));
    // Kernel image: pa = va - kimage_voffset, end exclusive.
    let img = VirtAddr(0xffff_8000_8001_2345);
    assert_eq!(t.kind(img), AddressKind::KernelImage);
    assert_eq!(t.translate(&mem, img), Ok(PhysAddr(0x4001_2345)));
    let after = VirtAddr(0xffff_8000_8300_0000);
    assert_eq!(t.kind(after), AddressKind::PageWalk);
    assert!(t.translate(&mem, after).is_err());
    // vmalloc-like addresses walk the tables.
    mem.take_reads();
    assert_eq!(t.translate(&mem, VirtAddr(0xffff_8000_1000_0010)), Ok(PhysAddr(0x7_0000_0010)));
    assert_eq!(mem.take_reads(), 4);
    // The linear rules read nothing.
    t.translate(&mem, va).unwrap();
    t.translate(&mem, img).unwrap();
    assert_eq!(mem.take_reads(), 0);
}

#[test]
fn linear_rules_agree_with_tables_that_map_the_same() {
    let (mut b, t) = linear_4k();
    // The kernel maps its linear map and image in swapper_pg_dir too: blocks and pages.
    b.map(0xffff_0000_0000_0000, 0x8000_0000, 1);
    b.map(0xffff_0000_4020_0000, 0xc020_0000, 2);
    b.map(0xffff_8000_8000_0000, 0x4000_0000, 2);
    b.map(0xffff_8000_8020_3000, 0x4020_3000, 3);
    let mem = b.phys();
    let w = t.walker();
    for va in [
        0xffff_0000_0000_0000u64,
        0xffff_0000_3fff_fff8,
        0xffff_0000_4020_1234,
        0xffff_8000_8000_0040,
        0xffff_8000_8020_3ff0,
    ] {
        let va = VirtAddr(va);
        assert_ne!(t.kind(va), AddressKind::PageWalk);
        assert_eq!(t.translate(&mem, va), w.walk(&mem, va).map(|m| m.pa), "{va:?}");
    }
}

#[test]
fn linear_results_beyond_the_pa_size_are_outside_memory() {
    let (b, _) = linear_4k();
    // A 52-bit kernel on 48-bit hardware has a negative PHYS_OFFSET; below the real start
    // of the linear map the rule wraps past the physical address space.
    let t = Aarch64Translator::from_registers(b.ttbr(), b.tcr()).unwrap().with_linear_map(
        LinearMap::linux(52, Granule::K4, 0u64.wrapping_sub(0x000f_0000_0000_0000)).unwrap(),
    );
    let mem = b.phys();
    assert_eq!(t.translate(&mem, VirtAddr(0xffff_0000_0000_1000)), Ok(PhysAddr(0x1000)));
    let low = VirtAddr(0xfff0_0000_0000_0000);
    assert!(matches!(t.translate(&mem, low), Err(TranslateError::OutsideMemory { va, .. }) if va == low));
}

#[test]
fn tagged_pointers_use_the_rules_with_tbi1() {
    let (b, _) = linear_4k();
    let t =
        Aarch64Translator::from_registers(b.ttbr(), b.tcr() | (1 << 38)).unwrap().with_linux_linear_map(0);
    let tagged = VirtAddr(0xf4ff_0000_0000_2000);
    assert_eq!(t.kind(tagged), AddressKind::DirectMap);
    assert_eq!(t.translate(&b.phys(), tagged), Ok(PhysAddr(0x2000)));
}

fn vmcore_case(cfg: Cfg, base: u64, t1sz: Option<u8>, va_bits: u32) {
    let mut b = Builder::new(cfg, base);
    let va = 0xffff_ffc0_1234_0000u64;
    let pa = if cfg.fmt == Fmt::Plain { 0x8_7654_0000 } else { 0x000d_8765_4321_0000 };
    b.map(va, pa, 3);
    let info = Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(b.root),
        va_bits,
        tcr_el1_t1sz: t1sz,
        page_size: cfg.page(),
        lpa2: cfg.fmt != Fmt::Plain,
    };
    let t = Aarch64Translator::from_kernel_config(&info).unwrap();
    let regs = PageWalker::from_registers(b.ttbr(), b.tcr()).unwrap();
    assert_eq!(t.walker().geometry(), regs.geometry(), "{cfg:?}");
    assert_eq!(t.walker().root(), regs.root());
    assert_eq!(t.translate(&b.phys(), VirtAddr(va + 0x18)), Ok(PhysAddr(pa + 0x18)), "{cfg:?}");
    // VA_BITS places the linear map.
    let t = t.with_linux_linear_map(0x4000_0000);
    let start = LinearMap::linux(va_bits, cfg.granule, 0).unwrap().start;
    assert_eq!(t.linear_map().map(|l| l.start), Some(start));
    assert_eq!(t.translate(&b.phys(), VirtAddr(start.0 + 0x1000)), Ok(PhysAddr(0x4000_1000)));
}

#[test]
fn vmcoreinfo_constructor_matches_the_registers_the_kernel_runs_with() {
    vmcore_case(Cfg::new(Granule::K4, 48, Fmt::Plain), 0x4123_0000, Some(16), 48);
    vmcore_case(Cfg::new(Granule::K4, 39, Fmt::Plain), 0x4123_0000, Some(25), 39);
    vmcore_case(Cfg::new(Granule::K4, 48, Fmt::Plain), 0x4123_0000, None, 48);
    vmcore_case(Cfg::new(Granule::K16, 47, Fmt::Plain), 0x4124_0000, Some(17), 47);
    vmcore_case(Cfg::new(Granule::K64, 42, Fmt::Plain), 0x4125_0000, Some(22), 42);
    // 52-bit: swapper_pg_dir above 2^48 exercises the TTBR's bits 5:2.
    vmcore_case(Cfg::new(Granule::K4, 52, Fmt::Lpa2), 0x000b_0000_4123_0000, Some(12), 52);
    vmcore_case(Cfg::new(Granule::K16, 52, Fmt::Lpa2), 0x000b_0000_4124_0000, Some(12), 52);
    vmcore_case(Cfg::new(Granule::K64, 52, Fmt::Lpa), 0x000b_0000_4125_0000, Some(12), 52);
}

/// A 64K kernel built for 52-bit VAs on 48-bit hardware: swapper_pg_dir has 1024 entries, and
/// the kernel points TTBR1 at the last 64 of them (`TTBR1_BADDR_4852_OFFSET`).
#[test]
fn vmcoreinfo_64k_52bit_kernel_on_48bit_hardware() {
    // Tables laid out as the 52-bit kernel builds them (48-bit PAs: FEAT_LVA without LPA).
    let cfg = Cfg::new(Granule::K64, 52, Fmt::Plain);
    let mut b = Builder::new(cfg, 0x4125_0000);
    let va = 0xffff_8000_1234_0000u64;
    b.map(va, 0x8_7654_0000, 3);
    let info = Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(b.root),
        va_bits: 52,
        tcr_el1_t1sz: Some(16),
        page_size: 0x1_0000,
        lpa2: false,
    };
    let t = Aarch64Translator::from_kernel_config(&info).unwrap();
    assert_eq!(t.walker().root(), PhysAddr(b.root + 0x1e00));
    assert_eq!(t.walker().geometry().va_bits(), 48);
    assert_eq!(t.translate(&b.phys(), VirtAddr(va + 0x18)), Ok(PhysAddr(0x8_7654_0018)));
    // The linear map still starts at -(1 << 52), with PHYS_OFFSET making up the difference.
    let t = t.with_linux_linear_map(0);
    assert_eq!(t.linear_map().map(|l| l.start), Some(VirtAddr(0xfff0_0000_0000_0000)));
    // Without the offset, the 48-bit walk would read the root's first 64 entries.
    let plain = PageWalker::from_registers(b.root, Cfg::new(Granule::K64, 48, Fmt::Plain).tcr()).unwrap();
    assert!(plain.walk(&b.phys(), VirtAddr(va)).is_err());
    // With registers, the offset is in TTBR1 already (512-byte aligned, so kept).
    let tcr48 = Cfg::new(Granule::K64, 48, Fmt::Plain).tcr();
    let regs = PageWalker::from_registers(b.root + 0x1e00, tcr48).unwrap();
    assert_eq!(regs.walk(&b.phys(), VirtAddr(va)).map(|m| m.pa), Ok(PhysAddr(0x8_7654_0000)));
}

#[test]
fn vmcoreinfo_rejects_what_no_kernel_has() {
    let info = Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(0x4000_0000),
        va_bits: 48,
        tcr_el1_t1sz: Some(16),
        page_size: 8192,
        lpa2: false,
    };
    assert_eq!(Aarch64Translator::from_kernel_config(&info), Err(ConfigError::Granule { raw: 8192 }));
    let info = Aarch64KernelConfig { page_size: 4096, tcr_el1_t1sz: Some(12), ..info };
    assert_eq!(Aarch64Translator::from_kernel_config(&info), Err(ConfigError::VaSize { t1sz: 12 }));
    let info = Aarch64KernelConfig { tcr_el1_t1sz: None, va_bits: 200, ..info };
    assert!(Aarch64Translator::from_kernel_config(&info).is_err());
}

/// `translate_span` on a linear-map address gives the linear map, cut where physical
/// addresses would no longer fit PA bits; every probed address inside translates as the span
/// says. Image and walked addresses give none.
#[test]
fn linear_map_spans_follow_the_rule_and_the_pa_size() {
    let (b, t) = linear_4k();
    let mem = b.phys();
    let va = 0xffff_0000_1234_5678u64;
    let (pa, span) = t.translate_span(&mem, VirtAddr(va)).unwrap();
    assert_eq!(Ok(pa), t.translate(&mem, VirtAddr(va)));
    let s = span.unwrap();
    assert_eq!(s.va_start.0, 0xffff_0000_0000_0000);
    let last = s.va_start.0 + (s.len - 1);
    for x in [s.va_start.0, va, last, s.va_start.0 + s.len / 2] {
        assert_eq!(t.translate(&mem, VirtAddr(x)).ok(), s.apply(VirtAddr(x)), "{x:#x}");
    }
    // Past the span: outside the map, or a physical address beyond PA bits.
    if let Some(past) = last.checked_add(1) {
        let continued = s.pa_start.0.checked_add(s.len).map(PhysAddr);
        assert!(continued.is_none() || t.translate(&mem, VirtAddr(past)).ok() != continued);
    }
    assert_eq!(t.translate_span(&mem, VirtAddr(0xffff_8000_8000_1000)).map(|(_, s)| s), Ok(None));
}
