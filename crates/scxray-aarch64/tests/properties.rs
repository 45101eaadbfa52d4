//! Property tests: random mappings of random sizes in every matrix cell against a model,
//! bounded descriptor reads, and hostile registers and memory that must never panic.

mod common;

use common::{Builder, CELLS};
use proptest::prelude::*;
use scxray_aarch64::{Aarch64Translator, Granule, PageWalker, TcrEl1};
use scxray_core::{FlatImage, PhysAddr, Translate, TranslateError, VirtAddr};

/// A run of `count` leaves at `level`, placed in slot `slot` of the lower half of the space.
#[derive(Clone, Debug)]
struct Run {
    slot: u64,
    level_pick: usize,
    offset: u64,
    count: u64,
    pa_pick: u64,
}

const SLOTS: u64 = 32;

fn runs() -> impl Strategy<Value = Vec<Run>> {
    proptest::collection::vec(
        (0..SLOTS, 0usize..8, any::<u64>(), 1u64..4, any::<u64>()).prop_map(
            |(slot, level_pick, offset, count, pa_pick)| Run { slot, level_pick, offset, count, pa_pick },
        ),
        1..8,
    )
}

/// The model: `(va, pa, size)` of every leaf.
fn place(b: &mut Builder, runs: &[Run]) -> Vec<(u64, u64, u64)> {
    let cfg = b.cfg;
    let slot_size = 1u64 << (cfg.va_bits - 6);
    let mut used = std::collections::BTreeSet::new();
    let mut model = Vec::new();
    let mut levels = cfg.block_levels();
    levels.push(3);
    for r in runs {
        if !used.insert(r.slot) {
            continue;
        }
        let level = levels[r.level_pick % levels.len()];
        let size = 1u64 << cfg.shift(level);
        let room = slot_size / size;
        if room < r.count {
            continue;
        }
        let first = r.offset % (room - r.count + 1);
        let pa_room = (1u64 << cfg.pa_bits) / size;
        let pa_first = r.pa_pick % (pa_room - r.count);
        for i in 0..r.count {
            let va = cfg.va_base() + r.slot * slot_size + (first + i) * size;
            let pa = (pa_first + i) * size;
            b.map(va, pa, level);
            model.push((va, pa, size));
        }
    }
    model
}

fn expected(model: &[(u64, u64, u64)], va: u64) -> Option<u64> {
    model.iter().find(|(v, _, s)| va >= *v && va - v < *s).map(|(v, p, _)| p + (va - v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Mapping addresses translate as the model says, others fail; no walk reads more than one
    /// descriptor a level.
    #[test]
    fn random_mappings_translate_as_mapped(
        cell in 0..CELLS.len(),
        runs in runs(),
        probes in proptest::collection::vec((any::<u64>(), any::<u64>()), 64),
    ) {
        let cfg = CELLS[cell].1;
        let mut b = Builder::with_default_base(cfg);
        let model = place(&mut b, &runs);
        let w = PageWalker::from_registers(b.ttbr(), b.tcr()).unwrap();
        let mem = b.phys();
        let levels = cfg.levels();
        let mut vas: Vec<u64> = Vec::new();
        for (i, (pick, off)) in probes.iter().enumerate() {
            let va = match i % 4 {
                // Inside a mapped leaf.
                0 | 1 if !model.is_empty() => {
                    let (v, _, s) = model[(*pick as usize) % model.len()];
                    v + off % s
                }
                // Anywhere in the TTBR1 range (mostly unmapped).
                2 => cfg.va_base() | (off & !cfg.va_base()),
                // Anywhere at all.
                _ => *off,
            };
            vas.push(va);
        }
        for va in vas {
            mem.take_reads();
            let got = w.walk(&mem, VirtAddr(va));
            prop_assert!(mem.take_reads() <= levels);
            match expected(&model, va) {
                Some(pa) => prop_assert_eq!(got.map(|m| m.pa), Ok(PhysAddr(pa)), "{:#x}", va),
                None => prop_assert!(
                    matches!(got, Err(TranslateError::NotMapped { .. })),
                    "{:#x} -> {:?}", va, got
                ),
            }
        }
    }

    /// Any register values: construction never panics, and what it accepts walks random
    /// memory without panicking and within the read bound.
    #[test]
    fn hostile_registers_never_panic(
        ttbr in any::<u64>(),
        tcr in any::<u64>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..0x4000),
        vas in proptest::collection::vec(any::<u64>(), 16),
        tame in any::<bool>(),
    ) {
        // Half the cases keep the random bits but make the configuration usable, so that
        // walks happen and not only rejections.
        let (ttbr, tcr) = if tame {
            let t1sz = 12 + (tcr >> 16) % 36;
            let tcr = (tcr & !(0x3f << 16) & !(0b111 << 32) & !(0b11 << 30)) | (t1sz << 16) | (0b101 << 32) | (0b10 << 30);
            (ttbr & 0x0000_00ff_ffff_ffc3, tcr & !(1 << 23))
        } else {
            (ttbr, tcr)
        };
        let Ok(t) = Aarch64Translator::from_registers(ttbr, tcr) else {
            prop_assert!(!tame || (tcr >> 16) & 0x3f < 16 && tcr & (1 << 59) == 0);
            return Ok(());
        };
        let t = t.with_linux_linear_map(ttbr);
        let levels = t.walker().geometry().levels();
        prop_assert!((1..=5).contains(&levels));
        let base = t.walker().root().0 & !0xfff;
        let mem = common::Mem { base, bytes: &bytes, reads: Default::default() };
        for va in vas {
            let va = VirtAddr(va | (tcr & 0xffff_0000_0000_0000));
            let _ = t.kind(va);
            let _ = t.translate(&mem, va);
            prop_assert!(mem.take_reads() <= levels);
        }
    }

    /// Valid registers over random descriptor bytes: every descriptor value is handled.
    #[test]
    fn hostile_descriptors_never_panic(
        cell in 0..CELLS.len(),
        words in proptest::collection::vec(any::<u64>(), 1..2048),
        vas in proptest::collection::vec(any::<u64>(), 32),
        self_ref in any::<bool>(),
    ) {
        let cfg = CELLS[cell].1;
        let base = Builder::default_base(&cfg);
        let mut bytes: Vec<u8> = Vec::with_capacity(words.len() * 8);
        for (i, w) in words.iter().enumerate() {
            // Half the time, steer table descriptors back into the random tables (and at
            // the root itself), so walks go deep instead of failing at the first read.
            let w = if self_ref && i % 2 == 0 { (w & 0xf000_0000_0000_0ffc) | base | 0b11 } else { *w };
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let w = PageWalker::from_registers(Builder::new(cfg, base).ttbr(), cfg.tcr()).unwrap();
        let mem = common::Mem { base, bytes: &bytes, reads: Default::default() };
        for va in vas {
            let va = VirtAddr(va | cfg.va_base());
            let _ = w.walk(&mem, va);
            prop_assert!(mem.take_reads() <= cfg.levels());
        }
    }
}

/// Every entry of every table points back at the root: each walk ends after one read a level
/// (the leaf read as a page of the root table), for every cell.
#[test]
fn self_referencing_tables_terminate() {
    for (name, cfg) in CELLS {
        let b = Builder::with_default_base(cfg);
        let desc = b.table_desc(b.root);
        let mut bytes = Vec::new();
        for _ in 0..(cfg.page() / 8) {
            bytes.extend_from_slice(&desc.to_le_bytes());
        }
        let w = PageWalker::from_registers(b.ttbr(), b.tcr()).unwrap();
        let mem = common::Mem { base: b.root, bytes: &bytes, reads: Default::default() };
        for va in [cfg.va_base(), u64::MAX, cfg.va_base() | 0x1234_5678_9abc] {
            let got = w.walk(&mem, VirtAddr(va));
            assert_eq!(mem.take_reads(), cfg.levels(), "{name}");
            // At the leaf, `0b11` is a page: the walk ends there, mapping the root table.
            let page = va & (cfg.page() - 1);
            assert_eq!(got.map(|m| m.pa), Ok(PhysAddr(b.root | page)), "{name}");
        }
    }
}

/// A descriptor pointing at the very top of the physical address space: the index addition
/// must not overflow, with any address format.
#[test]
fn tables_at_the_top_of_memory_do_not_overflow() {
    let bytes = [0xffu8; 4096];
    for granule in Granule::ALL {
        for ds in [false, true] {
            let tcr = TcrEl1::new(16, granule, 0b110, ds).bits();
            let ttbr = 0x000f_ffff_ffff_f000 & !(granule.size() - 1);
            let Ok(w) = PageWalker::from_registers(ttbr | 0x3c, tcr) else { continue };
            let mem = FlatImage::new(PhysAddr(w.root().0), &bytes);
            let _ = w.walk(&mem, VirtAddr(u64::MAX));
            let _ = w.walk(&mem, VirtAddr(0xffff_0000_0000_0000));
        }
    }
}
