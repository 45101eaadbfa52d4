//! One test (at least) per descriptor or register bit the walk depends on; each fails if the
//! handling of that bit is removed.

mod common;

use common::{Builder, Cfg, Fmt};
use scxray_aarch64::{ConfigError, Granule, Level, PageWalker, TcrEl1, Ttbr1El1};
use scxray_core::{PhysAddr, TranslateError, VirtAddr};

/// Aligned for every granule.
const VA: u64 = 0xffff_8000_1234_0000;

fn walker(b: &Builder) -> PageWalker {
    PageWalker::from_registers(b.ttbr(), b.tcr()).unwrap()
}

fn page_4k() -> Builder {
    let mut b = Builder::with_default_base(Cfg::new(Granule::K4, 48, Fmt::Plain));
    b.map(VA, 0x8765_4000, 3);
    b
}

fn core(level: i8) -> u8 {
    Level::new(level).unwrap().core_level()
}

#[test]
fn valid_bit_on_pages_and_tables() {
    let mut b = page_4k();
    let w = walker(&b);
    assert_eq!(w.walk(&b.phys(), VirtAddr(VA + 0x10)).unwrap().pa, PhysAddr(0x8765_4010));
    // Clear bit 0 of the page: not mapped at the leaf.
    let at = b.slot(VA, 3);
    let page = b.read(at);
    b.write(at, page & !1);
    assert_eq!(
        w.walk(&b.phys(), VirtAddr(VA)),
        Err(TranslateError::NotMapped { va: VirtAddr(VA), level: 0 })
    );
    b.write(at, page);
    // Clear bit 0 of the root's table descriptor: not mapped at the root level.
    let root_at = b.slot(VA, 0);
    let d = b.read(root_at);
    b.write(root_at, d & !1);
    assert_eq!(
        w.walk(&b.phys(), VirtAddr(VA)),
        Err(TranslateError::NotMapped { va: VirtAddr(VA), level: core(0) })
    );
    // Bit 0 alone decides: everything else set, bit 0 clear, is still invalid.
    b.write(root_at, !1);
    assert!(matches!(w.walk(&b.phys(), VirtAddr(VA)), Err(TranslateError::NotMapped { .. })));
}

#[test]
fn table_bit_distinguishes_table_from_block_and_page_from_reserved() {
    let mut b = page_4k();
    let w = walker(&b);
    // The level-2 table descriptor with bit 1 cleared is a 2 MiB block at the table's address.
    let at = b.slot(VA, 2);
    let table = b.read(at);
    b.write(at, table & !0b10);
    let table_pa = table & 0x0000_ffff_ffe0_0000;
    let m = w.walk(&b.phys(), VirtAddr(VA)).unwrap();
    assert_eq!(m.level, Level::TWO);
    assert_eq!(m.pa, PhysAddr(table_pa | (VA & 0x1f_ffff)));
    b.write(at, table);
    // At level 3, bits[1:0] = 0b01 is reserved.
    let at = b.slot(VA, 3);
    let page = b.read(at);
    b.write(at, page & !0b10);
    assert_eq!(
        w.walk(&b.phys(), VirtAddr(VA)),
        Err(TranslateError::BadDescriptor { va: VirtAddr(VA), level: 0, descriptor: page & !0b10 })
    );
}

/// Block levels from the Arm ARM, written out independently of the crate and of the builder.
fn allowed(granule: Granule, fmt: Fmt, level: i8) -> bool {
    matches!(
        (granule, fmt, level),
        (Granule::K4, _, 1 | 2)
            | (Granule::K4, Fmt::Lpa2, 0)
            | (Granule::K16 | Granule::K64, _, 2)
            | (Granule::K16, Fmt::Lpa2, 1)
            | (Granule::K64, Fmt::Lpa, 1)
    )
}

#[test]
fn blocks_only_where_the_granule_and_format_allow() {
    let cfgs = [
        Cfg::new(Granule::K4, 48, Fmt::Plain),
        Cfg::new(Granule::K4, 48, Fmt::Lpa2),
        Cfg::new(Granule::K4, 52, Fmt::Lpa2),
        Cfg::new(Granule::K16, 48, Fmt::Plain),
        Cfg::new(Granule::K16, 52, Fmt::Lpa2),
        Cfg::new(Granule::K64, 48, Fmt::Plain),
        Cfg::new(Granule::K64, 52, Fmt::Plain),
        Cfg::new(Granule::K64, 52, Fmt::Lpa),
    ];
    let mut checked = 0;
    for cfg in cfgs {
        for level in cfg.start()..3 {
            let mut b = Builder::with_default_base(cfg);
            let va = cfg.va_base() + (1u64 << cfg.shift(level));
            let pa = 1u64 << cfg.shift(level).min(cfg.pa_bits - 1);
            let pa = pa & !((1u64 << cfg.shift(level)) - 1);
            let desc = b.encode_addr(pa, cfg.shift(level)) | common::LEAF_ATTRS | 0b01;
            b.set_raw(va, level, desc);
            let got = walker(&b).walk(&b.phys(), VirtAddr(va + 0x40));
            if allowed(cfg.granule, cfg.fmt, level) {
                assert_eq!(got.map(|m| m.pa), Ok(PhysAddr(pa + 0x40)), "{cfg:?} level {level}");
            } else {
                assert_eq!(
                    got,
                    Err(TranslateError::BadDescriptor {
                        va: VirtAddr(va + 0x40),
                        level: core(level),
                        descriptor: desc
                    }),
                    "{cfg:?} level {level}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20);
}

#[test]
fn lpa2_output_bits_51_50_in_bits_9_8_and_49_48_in_place() {
    // Tables below 2^48 encode the same with and without DS, so one memory serves both.
    let cfg = Cfg::new(Granule::K4, 48, Fmt::Lpa2);
    let mut b = Builder::new(cfg, 0x4000_0000);
    let desc = 0x0003_2345_6789_a000 | (0b10 << 8) | (1 << 10) | 0b11;
    b.set_raw(VA, 3, desc);
    let ds = walker(&b);
    assert_eq!(ds.walk(&b.phys(), VirtAddr(VA + 7)).unwrap().pa, PhysAddr(0x000b_2345_6789_a007));
    // DS = 0: bits 9:8 are shareability and bits 49:48 RES0, neither is address.
    let plain = Cfg::new(Granule::K4, 48, Fmt::Plain);
    let w = PageWalker::from_registers(b.ttbr(), plain.tcr()).unwrap();
    assert_eq!(w.walk(&b.phys(), VirtAddr(VA + 7)).unwrap().pa, PhysAddr(0x2345_6789_a007));
    // The same for 16K, and for a table address: a level-2 table above 2^50.
    let cfg = Cfg::new(Granule::K16, 47, Fmt::Lpa2);
    let mut b = Builder::new(cfg, 0x000c_0000_0000_0000);
    b.map(VA, 0x0004_0000_0000_4000, 3);
    let m = walker(&b).walk(&b.phys(), VirtAddr(VA + 1)).unwrap();
    assert_eq!(m.pa, PhysAddr(0x0004_0000_0000_4001));
    let no_ds = (Cfg::new(Granule::K16, 47, Fmt::Plain).tcr() & !(0b111 << 32)) | (0b110 << 32);
    let no_ds = PageWalker::from_registers(b.ttbr(), no_ds).unwrap();
    assert!(no_ds.walk(&b.phys(), VirtAddr(VA + 1)).is_err());
}

#[test]
fn lpa_output_bits_51_48_in_bits_15_12_with_64k() {
    let cfg = Cfg::new(Granule::K64, 48, Fmt::Lpa);
    let mut b = Builder::new(cfg, 0x4000_0000);
    let desc = 0x0000_2345_6789_0000 | (0xa << 12) | (3 << 8) | (1 << 10) | 0b11;
    b.set_raw(VA, 3, desc);
    let lpa = walker(&b);
    assert_eq!(lpa.walk(&b.phys(), VirtAddr(VA + 0x123)).unwrap().pa, PhysAddr(0x000a_2345_6789_0123));
    // IPS 48: no LPA, bits 15:12 are RES0 and not address.
    let plain = PageWalker::from_registers(b.ttbr(), Cfg::new(Granule::K64, 48, Fmt::Plain).tcr()).unwrap();
    assert_eq!(plain.walk(&b.phys(), VirtAddr(VA + 0x123)).unwrap().pa, PhysAddr(0x2345_6789_0123));
    // DS means nothing with 64K: bits 9:8 stay shareability.
    let ds = Cfg::new(Granule::K64, 48, Fmt::Plain).tcr() | (1 << 59);
    let ds = PageWalker::from_registers(b.ttbr(), ds).unwrap();
    assert_eq!(ds.walk(&b.phys(), VirtAddr(VA + 0x123)).unwrap().pa, PhysAddr(0x2345_6789_0123));
}

#[test]
fn ttbr_asid_and_cnp_are_not_address() {
    let b = page_4k();
    let w = PageWalker::from_registers(b.ttbr_with(0xabcd, true), b.tcr()).unwrap();
    assert_eq!(w.root(), PhysAddr(b.root));
    assert_eq!(w.walk(&b.phys(), VirtAddr(VA)).unwrap().pa, PhysAddr(0x8765_4000));
    let reg = Ttbr1El1::from_bits_retain(b.ttbr_with(0xabcd, true));
    assert!(reg.contains(Ttbr1El1::CNP) && reg.intersects(Ttbr1El1::ASID));
}

#[test]
fn ttbr_bits_5_2_hold_base_bits_51_48_in_52bit_formats() {
    for (cfg, base) in [
        (Cfg::new(Granule::K4, 52, Fmt::Lpa2), 0x000a_0000_4000_0000u64),
        (Cfg::new(Granule::K16, 48, Fmt::Lpa2), 0x0005_0000_4000_0000),
        (Cfg::new(Granule::K64, 52, Fmt::Lpa), 0x000f_0000_4000_0000),
    ] {
        let mut b = Builder::new(cfg, base);
        b.map(VA, 0x1_0000_0000, 3);
        let ttbr = b.ttbr_with(0x42, true);
        assert_eq!(ttbr & 0x3c, (base >> 48) << 2);
        let w = PageWalker::from_registers(ttbr, b.tcr()).unwrap();
        assert_eq!(w.root(), PhysAddr(base), "{cfg:?}");
        assert_eq!(w.walk(&b.phys(), VirtAddr(VA)).unwrap().pa, PhysAddr(0x1_0000_0000));
    }
    // Without a 52-bit format, bits 5:2 are low address bits below the root's alignment.
    let w =
        PageWalker::from_registers(0x4000_0000 | 0x3c, Cfg::new(Granule::K4, 48, Fmt::Plain).tcr()).unwrap();
    assert_eq!(w.root(), PhysAddr(0x4000_0000));
}

#[test]
fn t1sz_sets_the_range_and_the_start_level() {
    let cfg39 = Cfg::new(Granule::K4, 39, Fmt::Plain);
    let mut b = Builder::with_default_base(cfg39);
    let first = 0xffff_ff80_0000_0000u64;
    b.map(first, 0x5000, 3);
    let w = walker(&b);
    assert_eq!(w.geometry().va_bits(), 39);
    assert_eq!(w.geometry().start(), Level::ONE);
    assert_eq!(w.walk(&b.phys(), VirtAddr(first)).unwrap().pa, PhysAddr(0x5000));
    let below = VirtAddr(first - 0x1000);
    assert_eq!(w.walk(&b.phys(), below), Err(TranslateError::NotMapped { va: below, level: core(1) }));
    // The same tables read with T1SZ = 16 index a level-0 table instead: not the same walk.
    let w48 = PageWalker::from_registers(b.ttbr(), Cfg::new(Granule::K4, 48, Fmt::Plain).tcr()).unwrap();
    assert_ne!(w48.walk(&b.phys(), VirtAddr(first)).map(|m| m.pa), Ok(PhysAddr(0x5000)));
    // Every T1SZ each granule accepts gives the start level the Arm ARM's tables give.
    for granule in Granule::ALL {
        for t1sz in 0u8..64 {
            for ds in [false, true] {
                let tcr = TcrEl1::new(t1sz, granule, 0b110, ds).bits();
                let got = PageWalker::from_registers(0, tcr);
                let lva = granule == Granule::K64 || ds;
                let max = if granule == Granule::K64 { 47 } else { 48 };
                let ok = (if lva { 12 } else { 16 }..=max).contains(&t1sz);
                assert_eq!(got.is_ok(), ok, "{granule:?} T1SZ {t1sz} DS {ds}");
                if let Ok(w) = got {
                    let fmt = if ds && granule != Granule::K64 { Fmt::Lpa2 } else { Fmt::Lpa };
                    let cfg = Cfg::new(granule, 64 - u32::from(t1sz), fmt);
                    assert_eq!(w.geometry().start().get(), cfg.start());
                    assert_eq!(w.geometry().levels(), cfg.levels());
                }
            }
        }
    }
}

#[test]
fn tg1_encodings() {
    for (tg1, granule) in
        [(0b10u64, Some(Granule::K4)), (0b01, Some(Granule::K16)), (0b11, Some(Granule::K64)), (0b00, None)]
    {
        let tcr = (16u64 << 16) | (tg1 << 30) | (0b101 << 32);
        let got = PageWalker::from_registers(0x4000_0000, tcr).map(|w| w.geometry().granule());
        match granule {
            Some(g) => assert_eq!(got, Ok(g)),
            None => assert_eq!(got, Err(ConfigError::Granule { raw: 0 })),
        }
    }
    // Tables built for 16K read as 4K (or 64K) do not give the 16K answer.
    let cfg = Cfg::new(Granule::K16, 47, Fmt::Plain);
    let mut b = Builder::with_default_base(cfg);
    b.map(VA, 0x9_8765_4000, 3);
    assert_eq!(walker(&b).walk(&b.phys(), VirtAddr(VA)).unwrap().pa, PhysAddr(0x9_8765_4000));
    for g in [Granule::K4, Granule::K64] {
        let tcr = (b.tcr() & !(0b11 << 30)) | (g.tg1() << 30);
        let w = PageWalker::from_registers(b.ttbr(), tcr).unwrap();
        assert_ne!(w.walk(&b.phys(), VirtAddr(VA)).map(|m| m.pa), Ok(PhysAddr(0x9_8765_4000)));
    }
}

#[test]
fn ips_limits_outputs_tables_and_the_root() {
    let mut cfg = Cfg::new(Granule::K4, 48, Fmt::Plain);
    for (ips, bits) in [(0u64, 32u32), (1, 36), (2, 40), (3, 42), (4, 44), (5, 48)] {
        cfg.pa_bits = bits;
        let mut b = Builder::with_default_base(cfg);
        let last = (1u64 << bits) - 0x1000;
        b.map(VA, last, 3);
        // (2^48 has no encoding without a 52-bit format.)
        if bits < 48 {
            b.map(VA + 0x1000, 1u64 << bits, 3);
        }
        let w = walker(&b);
        assert_eq!(w.geometry().pa_bits(), bits);
        assert_eq!(b.tcr() >> 32 & 0b111, ips);
        assert_eq!(w.walk(&b.phys(), VirtAddr(VA + 0xfff)).unwrap().pa, PhysAddr(last + 0xfff));
        let over = VirtAddr(VA + 0x1000);
        if bits == 48 {
            continue;
        }
        assert_eq!(
            w.walk(&b.phys(), over),
            Err(TranslateError::OutsideMemory { va: over, pa: PhysAddr(1 << bits) })
        );
    }
    // A table beyond the output size: bad descriptor at the level that points at it.
    cfg.pa_bits = 32;
    let mut b = Builder::with_default_base(cfg);
    let desc = (1u64 << 32) | 0b11;
    b.set_raw(VA, 2, desc);
    assert_eq!(
        walker(&b).walk(&b.phys(), VirtAddr(VA)),
        Err(TranslateError::BadDescriptor { va: VirtAddr(VA), level: core(2), descriptor: desc })
    );
    // The root beyond it: a configuration error, as is the reserved IPS encoding.
    let tcr = cfg.tcr();
    assert_eq!(
        PageWalker::from_registers(1 << 32, tcr),
        Err(ConfigError::TableBase { pa: PhysAddr(1 << 32) })
    );
    let reserved = (tcr & !(0b111 << 32)) | (0b111 << 32);
    assert_eq!(PageWalker::from_registers(0, reserved), Err(ConfigError::PaSize { ips: 0b111 }));
    // LPA2 with IPS 48: 52-bit descriptors, but output above 2^48 is outside.
    let mut cfg = Cfg::new(Granule::K4, 48, Fmt::Lpa2);
    cfg.pa_bits = 48;
    let mut b = Builder::new(cfg, 0x4000_0000);
    b.set_raw(VA, 3, (0b01 << 8) | (1 << 10) | 0b11);
    let w = walker(&b);
    assert_eq!(
        w.walk(&b.phys(), VirtAddr(VA)),
        Err(TranslateError::OutsideMemory { va: VirtAddr(VA), pa: PhysAddr(1 << 50) })
    );
}

#[test]
fn epd1_disables_ttbr1_walks() {
    let b = page_4k();
    let w = PageWalker::from_registers(b.ttbr(), b.tcr() | (1 << 23)).unwrap();
    assert!(matches!(w.walk(&b.phys(), VirtAddr(VA)), Err(TranslateError::NotMapped { .. })));
}

#[test]
fn tbi1_ignores_the_top_byte() {
    let b = page_4k();
    let tagged = VirtAddr((VA & 0x00ff_ffff_ffff_ffff) | (0x3c << 56));
    assert!(matches!(walker(&b).walk(&b.phys(), tagged), Err(TranslateError::NotMapped { .. })));
    let w = PageWalker::from_registers(b.ttbr(), b.tcr() | (1 << 38)).unwrap();
    assert_eq!(w.walk(&b.phys(), tagged).unwrap().pa, PhysAddr(0x8765_4000));
    // Bits 55:48 still have to be ones.
    let bad = VirtAddr(tagged.0 & !(1 << 50));
    assert!(matches!(w.walk(&b.phys(), bad), Err(TranslateError::NotMapped { .. })));
}

#[test]
fn attribute_bits_never_leak_into_addresses() {
    // Every leaf the builder writes carries AF, nG, AttrIndx, PXN/UXN, DBM, the contiguous
    // hint and software bits; every table NSTable/APTable/XNTable and ignored bits. Set the
    // rest too: NS, AP, nT on a block.
    let cfg = Cfg::new(Granule::K4, 48, Fmt::Plain);
    let mut b = Builder::with_default_base(cfg);
    let block =
        0x4000_0000 | common::LEAF_ATTRS | (1 << 5) | (3 << 6) | (3 << 8) | (1 << 16) | (1 << 50) | 0b01;
    b.set_raw(VA & !0x3fff_ffff, 1, block);
    let m = walker(&b).walk(&b.phys(), VirtAddr(VA)).unwrap();
    assert_eq!(m.pa, PhysAddr(0x4000_0000 | (VA & 0x3fff_ffff)));
}
