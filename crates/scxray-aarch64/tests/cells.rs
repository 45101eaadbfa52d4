//! The README's VA size x granule matrix: one test per cell maps pages and every block size the
//! level structure allows, translates them (offsets included) and checks that unmapped and
//! out-of-range addresses fail.

mod common;

use common::{Builder, CELLS, Cfg, Fmt};
use scxray_aarch64::{Aarch64Translator, Granule, Level, PageWalker};
use scxray_core::{PhysAddr, Translate, TranslateError, VirtAddr};

struct Placed {
    va: u64,
    pa: u64,
    level: i8,
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// Maps one leaf at every level that allows one (pages and blocks), each followed by an
/// unmapped gap of its own size, plus a page at the very top of the space.
fn populate(b: &mut Builder) -> Vec<Placed> {
    let cfg = b.cfg;
    let mut levels = cfg.block_levels();
    levels.sort_unstable();
    levels.push(3);
    let pa_top: u64 = if cfg.fmt == Fmt::Plain { 0x0000_9000_0000_0000 } else { 0x000a_0000_0000_0000 };
    let mut cursor = cfg.va_base();
    let mut placed = Vec::new();
    for (j, &level) in levels.iter().enumerate() {
        let size = 1u64 << cfg.shift(level);
        // Two leaves of each size, so the second shares its parent table with the first.
        for k in 0..2u64 {
            // Leaves stay in the lower half of the space; the top page is in the upper half.
            let off = align_up(cursor.wrapping_sub(cfg.va_base()), size);
            if off + 2 * size > 1u64 << (cfg.va_bits - 1) {
                break;
            }
            cursor = off.wrapping_add(cfg.va_base());
            let pa = align_up(pa_top | ((j as u64 * 2 + k + 1) << 40) | 0x1234_5000, size);
            b.map(cursor, pa, level);
            placed.push(Placed { va: cursor, pa, level });
            cursor = cursor.wrapping_add(2 * size);
        }
    }
    let top = !(cfg.page() - 1);
    let top_pa = pa_top | 0x7777_0000_0000;
    b.map(top, top_pa, 3);
    placed.push(Placed { va: top, pa: top_pa, level: 3 });
    placed
}

fn exercise(name: &str, cfg: Cfg) {
    let mut b = Builder::with_default_base(cfg);
    let placed = populate(&mut b);
    let w = PageWalker::from_registers(b.ttbr(), b.tcr()).unwrap();
    assert_eq!(w.geometry().start().get(), cfg.start(), "{name}: start level");
    assert_eq!(w.geometry().levels(), cfg.levels(), "{name}: levels");
    let mem = b.phys();
    let levels = cfg.levels();
    for p in &placed {
        let size = 1u64 << cfg.shift(p.level);
        for off in [0, 8, size / 2 + 0x18, size - 1] {
            let va = VirtAddr(p.va + off);
            mem.take_reads();
            let m = w.walk(&mem, va).unwrap_or_else(|e| panic!("{name}: {va:?}: {e}"));
            assert_eq!(m.pa, PhysAddr(p.pa + off), "{name}: {va:?} at level {}", p.level);
            assert_eq!(m.level, Level::new(p.level).unwrap(), "{name}: {va:?}");
            assert_eq!(m.size_shift, cfg.shift(p.level));
            assert!(mem.take_reads() <= levels, "{name}: too many reads");
        }
        // The gap after each leaf (same parent table) is unmapped.
        if p.va.checked_add(size).is_some() {
            let gap = VirtAddr(p.va + size);
            assert!(
                matches!(w.walk(&mem, gap), Err(TranslateError::NotMapped { .. })),
                "{name}: {gap:?} should be unmapped"
            );
        }
    }
    // Below the TTBR1 range (top bits not all ones) nothing is mapped, whatever the tables say.
    if cfg.va_bits < 64 {
        let below = VirtAddr(cfg.va_base() - cfg.page());
        assert_eq!(
            w.walk(&mem, below),
            Err(TranslateError::NotMapped {
                va: below,
                level: Level::new(cfg.start()).unwrap().core_level()
            })
        );
        // The same index bits with one top bit cleared: out of range too.
        let cleared = VirtAddr(placed[0].va & !(1u64 << 63));
        assert!(matches!(w.walk(&mem, cleared), Err(TranslateError::NotMapped { .. })));
    }
    // The translator (no linear rules) agrees with the walker.
    let t = Aarch64Translator::from_registers(b.ttbr(), b.tcr()).unwrap();
    for p in &placed {
        assert_eq!(t.translate(&mem, VirtAddr(p.va + 0x10)), Ok(PhysAddr(p.pa + 0x10)));
        assert_eq!(t.kind(VirtAddr(p.va)), scxray_core::AddressKind::PageWalk);
    }
}

fn cell(name: &str) -> Cfg {
    CELLS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).unwrap()
}

#[test]
fn cell_4k_va39() {
    exercise("4K/39", cell("4K/39"));
}
#[test]
fn cell_4k_va48() {
    exercise("4K/48", cell("4K/48"));
}
#[test]
fn cell_4k_va52_lpa2() {
    let cfg = cell("4K/52 LPA2");
    assert_eq!(cfg.start(), -1);
    exercise("4K/52 LPA2", cfg);
}
#[test]
fn cell_16k_va36() {
    exercise("16K/36", cell("16K/36"));
}
#[test]
fn cell_16k_va47() {
    exercise("16K/47", cell("16K/47"));
}
#[test]
fn cell_16k_va48() {
    exercise("16K/48", cell("16K/48"));
}
#[test]
fn cell_16k_va52_lpa2() {
    exercise("16K/52 LPA2", cell("16K/52 LPA2"));
}
#[test]
fn cell_64k_va42() {
    exercise("64K/42", cell("64K/42"));
}
#[test]
fn cell_64k_va48() {
    exercise("64K/48", cell("64K/48"));
}
#[test]
fn cell_64k_va52_lpa() {
    exercise("64K/52 LPA", cell("64K/52 LPA"));
}

/// Beyond the README matrix: every granule with every VA size from the smallest start level
/// to the largest, each in the plain and (where it exists) the 52-bit format.
#[test]
fn every_va_size_and_granule() {
    for granule in Granule::ALL {
        let gshift = match granule {
            Granule::K4 => 12,
            Granule::K16 => 14,
            Granule::K64 => 16,
        };
        for va_bits in (gshift + 4)..=52u32 {
            let fmts: &[Fmt] = match (granule, va_bits > 48) {
                (Granule::K64, false) => &[Fmt::Plain, Fmt::Lpa],
                (Granule::K64, true) => &[Fmt::Plain, Fmt::Lpa],
                (_, false) => &[Fmt::Plain, Fmt::Lpa2],
                (_, true) => &[Fmt::Lpa2],
            };
            for &fmt in fmts {
                let cfg = Cfg::new(granule, va_bits, fmt);
                exercise(&format!("{granule:?}/{va_bits}/{fmt:?}"), cfg);
            }
        }
    }
}
