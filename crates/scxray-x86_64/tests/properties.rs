//! Property tests: random mappings against the reference answer, the read bound, and hostile
//! tables (random bytes, cycles) that must never panic or loop.

mod common;

use common::{Builder, CountingMem, GIB1, KIB4, MIB2, Mapped, canonical};
use proptest::prelude::*;
use scxray_core::{FlatImage, PhysAddr, Translate, TranslateError, VirtAddr};
use scxray_x86_64::{Cr3, PageWalker, PagingMode, X86Config, X86Translator};
use x86_64::structures::paging::PageTableFlags as F;

const TABLES_PA: u64 = 0x4000_0000;

fn mode_of(levels: u32) -> PagingMode {
    if levels == 5 { PagingMode::FiveLevel } else { PagingMode::FourLevel }
}

fn sign_bit(levels: u32) -> u32 {
    if levels == 5 { 56 } else { 47 }
}

/// A page to map: the VA is drawn from a few regions so that mappings share tables and
/// collide, the size from 4 KiB / 2 MiB / 1 GiB, the PA from anywhere below 2^52.
#[derive(Clone, Debug)]
struct Request {
    region: usize,
    va_low: u64,
    size: u64,
    pa: u64,
    flags: u64,
}

fn request() -> impl Strategy<Value = Request> {
    (
        0usize..6,
        any::<u64>(),
        prop_oneof![4 => Just(KIB4), 2 => Just(MIB2), 1 => Just(GIB1)],
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(region, va_low, size, pa, flags)| Request { region, va_low, size, pa, flags })
}

/// Bits a leaf may carry without changing the translation (NX, keys, software, attributes).
const NEUTRAL_BITS: u64 = 0xfff0_0000_0000_0f7e;

impl Request {
    /// The page's VA: region bits above bit 39 (plus a PML5 slot for 5-level), random below,
    /// within 64 GiB so that pages of different sizes meet.
    fn va(&self, levels: u32) -> u64 {
        const REGIONS: [u64; 6] = [
            0xffff_c900_0000_0000,
            0xffff_c980_0000_0000,
            0xffff_8880_0000_0000,
            0x0000_7f00_0000_0000,
            0x0000_0000_0000_0000,
            0xffff_ff80_0000_0000,
        ];
        let base = REGIONS[self.region];
        let low = (self.va_low & (64 * GIB1 - 1)) & !(self.size - 1);
        let va = base | low;
        if levels == 5 {
            // Spread over PML5 slots 0, 1, 0x1ff.
            let slot = [0u64, 1, 0x1ff][(self.va_low >> 60) as usize % 3];
            canonical((slot << 48) | (va & 0xffff_ffff_ffff), 56)
        } else {
            va
        }
    }

    fn pa(&self) -> u64 {
        self.pa & ((1 << 52) - 1) & !(self.size - 1)
    }

    fn flags(&self) -> F {
        F::PRESENT | F::from_bits_truncate(self.flags & NEUTRAL_BITS)
    }
}

/// Builds the tables for the requests the builder accepts (conflicts are skipped).
fn build(levels: u32, requests: &[Request]) -> Builder {
    let mut b = Builder::new(levels, TABLES_PA, 4096);
    for r in requests {
        let _ = b.map(r.va(levels), r.pa(), r.size, r.flags());
    }
    b
}

fn walk(mem: &CountingMem<FlatImage<'_>>, levels: u32, va: u64) -> Result<u64, TranslateError> {
    let tables = PageWalker { cr3: Cr3(TABLES_PA), mode: mode_of(levels), max_phys_bits: 52 };
    let got = tables.walk(mem, VirtAddr(va)).map(|m| m.pa.0);
    let reads = mem.take();
    assert!(reads <= levels as usize, "{reads} reads for {va:#x}");
    got
}

fn expected_reads(levels: u32, m: &Mapped) -> usize {
    levels as usize - (m.size.trailing_zeros() as usize - 12) / 9
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_mappings_translate_to_their_frames(
        levels in prop_oneof![Just(4u32), Just(5u32)],
        requests in prop::collection::vec(request(), 1..64),
        offsets in prop::collection::vec(any::<u64>(), 64),
    ) {
        let b = build(levels, &requests);
        prop_assume!(!b.mappings.is_empty());
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        for (m, offset) in b.mappings.iter().zip(offsets.iter().cycle()) {
            let offset = offset % m.size;
            let tables = PageWalker { cr3: Cr3(TABLES_PA), mode: mode_of(levels), max_phys_bits: 52 };
            let got = tables.walk(&mem, VirtAddr(m.va + offset));
            prop_assert_eq!(got.map(|x| x.pa.0), Ok(m.pa + offset), "{:?}", m);
            // Exactly one entry per level down to the leaf.
            prop_assert_eq!(mem.take(), expected_reads(levels, m));
        }
    }

    #[test]
    fn probes_match_the_reference(
        levels in prop_oneof![Just(4u32), Just(5u32)],
        requests in prop::collection::vec(request(), 0..48),
        probes in prop::collection::vec((request(), any::<u64>()), 64),
    ) {
        let b = build(levels, &requests);
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        // Probes land in the same regions as the mappings, and next to each mapping, so many
        // hit and many miss.
        let random = probes.iter().map(|(p, offset)| p.va(levels) + offset % p.size);
        let sign = sign_bit(levels);
        let around = b.mappings.iter().flat_map(|m| {
            [m.va.wrapping_sub(1), m.va + m.size / 3, m.va.wrapping_add(m.size), m.va ^ (1 << 12), m.va ^ (1 << 21)]
                .map(|va| canonical(va, sign))
        });
        for va in random.chain(around) {
            let got = walk(&mem, levels, va);
            match common::expected(&b.mappings, va) {
                Some(pa) => prop_assert_eq!(got, Ok(pa), "{:#x}", va),
                None => prop_assert!(matches!(got, Err(TranslateError::NotMapped { .. })), "{:#x}: {:?}", va, got),
            }
        }
    }

    #[test]
    fn the_translator_agrees_with_the_walk_outside_linear_regions(
        levels in prop_oneof![Just(4u32), Just(5u32)],
        requests in prop::collection::vec(request(), 1..32),
        va in any::<u64>(),
    ) {
        let b = build(levels, &requests);
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        let t = X86Translator::new(X86Config {
            direct_map_size: 0,
            kernel_image_size: 0,
            ..X86Config::new(Cr3(TABLES_PA), mode_of(levels))
        });
        for va in [va, canonical(va, sign_bit(levels))] {
            let via_translator = t.translate(&mem, VirtAddr(va)).map(|pa| pa.0);
            mem.take();
            prop_assert_eq!(via_translator, walk(&mem, levels, va));
        }
    }

    /// Guest memory of random entries, some pointing back into it with random flags: the walk
    /// never panics, never reads more than one entry per level, and a success is a page.
    #[test]
    fn hostile_tables_never_panic(
        levels in prop_oneof![Just(4u32), Just(5u32)],
        entries in prop::collection::vec(
            prop_oneof![
                any::<u64>(),
                // A present entry into the arena, random attribute and high bits.
                (0u64..8, any::<u64>()).prop_map(|(t, bits)| (TABLES_PA + t * KIB4) | (bits & 0xfff0_0000_0000_0fff) | 1),
            ],
            512 * 8,
        ),
        cr3 in prop_oneof![Just(TABLES_PA), any::<u64>(), (0u64..8, 0u64..4096).prop_map(|(t, low)| TABLES_PA + t * KIB4 + low)],
        max_phys_bits in 0u8..70,
        vas in prop::collection::vec(any::<u64>(), 16),
    ) {
        let image = common::tables_to_bytes(entries.into_iter());
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        let tables = PageWalker { cr3: Cr3(cr3), mode: mode_of(levels), max_phys_bits };
        for va in vas {
            for va in [va, canonical(va, sign_bit(levels))] {
                let _ = tables.walk(&mem, VirtAddr(va));
                prop_assert!(mem.take() <= levels as usize);
            }
        }
    }

    /// Any configuration, however hostile (values read from a corrupt guest), any address:
    /// no panic, no arithmetic overflow, at most one read per level.
    #[test]
    fn hostile_configurations_never_panic(
        five in any::<bool>(),
        cr3 in any::<u64>(),
        page_offset_base in any::<u64>(),
        direct_map_size in any::<u64>(),
        phys_base in any::<u64>(),
        kernel_map_start in any::<u64>(),
        kernel_image_size in any::<u64>(),
        max_phys_bits in any::<u8>(),
        phys_end in any::<Option<u64>>(),
        prefer_walk in any::<bool>(),
        va in any::<u64>(),
        memory in prop::collection::vec(any::<u8>(), 0..8192),
    ) {
        let levels = if five { 5 } else { 4 };
        let config = X86Config {
            cr3: Cr3(cr3),
            paging_mode: mode_of(levels),
            page_offset_base: VirtAddr(page_offset_base),
            direct_map_size,
            phys_base: PhysAddr(phys_base),
            kernel_map_start: VirtAddr(kernel_map_start),
            kernel_image_size,
            max_phys_bits,
            phys_end: phys_end.map(PhysAddr),
            prefer_walk,
        };
        let t = X86Translator::new(config);
        let mem = CountingMem::new(FlatImage::new(PhysAddr(cr3 & 0x000f_ffff_ffff_f000), &memory));
        for va in [va, page_offset_base.wrapping_add(va % 4096), kernel_map_start.wrapping_add(va % 4096)] {
            let _ = t.kind(VirtAddr(va));
            let _ = t.region(VirtAddr(va));
            if let Ok(pa) = t.translate(&mem, VirtAddr(va)) {
                // Whatever the rule, a success respects MAXPHYADDR and the RAM end.
                prop_assert!(pa.0 < 1 << max_phys_bits.min(52));
                prop_assert!(phys_end.is_none_or(|end| pa.0 < end));
            }
            prop_assert!(mem.take() <= levels as usize);
        }
    }

    /// A table whose entries all point at itself (a recursive mapping) or at each other: the
    /// walk visits exactly one entry per level and ends on a PTE that maps a table frame.
    #[test]
    fn cycles_end_after_one_read_per_level(
        levels in prop_oneof![Just(4u32), Just(5u32)],
        targets in prop::collection::vec(0u64..3, 512 * 3),
        va in any::<u64>(),
    ) {
        let entries = targets.iter().map(|&t| common::encode(TABLES_PA + t * KIB4, F::PRESENT | F::WRITABLE));
        let image = common::tables_to_bytes(entries);
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        let va = canonical(va, sign_bit(levels));
        let tables = PageWalker { cr3: Cr3(TABLES_PA), mode: mode_of(levels), max_phys_bits: 52 };
        let got = tables.walk(&mem, VirtAddr(va));
        prop_assert_eq!(mem.take(), levels as usize);
        let pa = got.map(|m| m.pa.0).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert!((TABLES_PA..TABLES_PA + 3 * KIB4).contains(&pa));
        prop_assert_eq!(pa % KIB4, va % KIB4);
    }
}

#[test]
fn a_self_referencing_root_maps_itself() {
    // PML4[0x1ed] -> PML4, as in a recursive mapping: the VA whose indices are all 0x1ed
    // reads the root once per level and lands on the root's own frame.
    for levels in [4u32, 5] {
        let mut b = Builder::new(levels, TABLES_PA, 4);
        let slot = 0x1ed_u64;
        b.tables[0][slot as usize] = common::encode(TABLES_PA, F::PRESENT | F::WRITABLE);
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        let indices = (0..levels).fold(0u64, |va, i| va | slot << (12 + 9 * i));
        let va = canonical(indices | 0x7f8, sign_bit(levels));
        assert_eq!(walk(&mem, levels, va), Ok(TABLES_PA + 0x7f8));
        // The same entry with PS set is reserved at the root.
        b.tables[0][slot as usize] |= F::HUGE_PAGE.bits();
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(TABLES_PA), &image));
        assert!(matches!(walk(&mem, levels, va), Err(TranslateError::BadDescriptor { .. })));
    }
}
