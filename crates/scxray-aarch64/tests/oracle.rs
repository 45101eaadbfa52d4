//! The independent 4 KiB oracle: page tables built by the `aarch64-paging` crate (its
//! `TargetAllocator` places every table at an address we choose and hands the bytes back),
//! walked by scxray; every mapped page must translate as mapped, unmapped ones must fail.
//! The same mappings built by this crate's own builder (tests/common) must agree, which is
//! what lets the 16K/64K/52-bit tests trust that builder.

mod common;

use aarch64_paging::descriptor::{El1Attributes, PhysicalAddress};
use aarch64_paging::paging::{Constraints, El1And0, MemoryRegion, RootTable, VaRange};
use aarch64_paging::target::TargetAllocator;
use common::{Builder, Cfg, Fmt};
use proptest::prelude::*;
use scxray_aarch64::{Granule, PageWalker, TcrEl1};
use scxray_core::{FlatImage, PhysAddr, TranslateError, VirtAddr};

const BASE: u64 = 0x8000_0000;
const PAGE: u64 = 0x1000;

/// One mapped region: `pages` pages from `va` to `pa`.
#[derive(Clone, Debug)]
struct Region {
    va: u64,
    pa: u64,
    pages: u64,
}

fn attrs() -> El1Attributes {
    El1Attributes::VALID
        | El1Attributes::ATTRIBUTE_INDEX_1
        | El1Attributes::INNER_SHAREABLE
        | El1Attributes::ACCESSED
        | El1Attributes::NON_GLOBAL
        | El1Attributes::UXN
        | El1Attributes::PXN
}

struct Oracle {
    bytes: Vec<u8>,
    root: u64,
    tcr: u64,
}

fn build_oracle(root_level: usize, regions: &[Region], constraints: Constraints) -> Oracle {
    let mut map = RootTable::with_va_range(TargetAllocator::new(BASE), root_level, El1And0, VaRange::Upper);
    for r in regions {
        let end = r.va + r.pages * PAGE;
        map.map_range(
            &MemoryRegion::new(r.va as usize, end as usize),
            PhysicalAddress(r.pa as usize),
            attrs(),
            constraints,
        )
        .unwrap();
    }
    let va_bits = 12 + 9 * (4 - root_level as u32);
    let tcr = TcrEl1::new((64 - va_bits) as u8, Granule::K4, 0b101, false).bits();
    Oracle { bytes: map.translation().as_bytes(), root: map.to_physical().0 as u64, tcr }
}

/// The same regions with this crate's builder, greedily in the largest aligned leaves.
fn build_ours(root_level: usize, regions: &[Region]) -> Builder {
    let va_bits = 12 + 9 * (4 - root_level as u32);
    let cfg = Cfg::new(Granule::K4, va_bits, Fmt::Plain);
    let mut b = Builder::new(cfg, 0x1_0000_0000);
    for r in regions {
        let mut off = 0;
        while off < r.pages * PAGE {
            let (va, pa) = (r.va + off, r.pa + off);
            let left = r.pages * PAGE - off;
            let level = cfg
                .block_levels()
                .into_iter()
                .chain([3])
                .filter(|&l| {
                    let s = 1u64 << cfg.shift(l);
                    va % s == 0 && pa % s == 0 && left >= s
                })
                .min()
                .unwrap();
            b.map(va, pa, level);
            off += 1 << cfg.shift(level);
        }
    }
    b
}

fn check(root_level: usize, regions: &[Region], constraints: Constraints) {
    let o = build_oracle(root_level, regions, constraints);
    let w = PageWalker::from_registers(o.root, o.tcr).unwrap();
    let mem = FlatImage::new(PhysAddr(BASE), &o.bytes);
    let ours = build_ours(root_level, regions);
    let ours_w = PageWalker::from_registers(ours.ttbr(), ours.tcr()).unwrap();
    let ours_mem = ours.phys();
    for r in regions {
        for p in 0..r.pages {
            let va = VirtAddr(r.va + p * PAGE + 0x9a8);
            let want = Ok(PhysAddr(r.pa + p * PAGE + 0x9a8));
            assert_eq!(w.walk(&mem, va).map(|m| m.pa), want, "oracle tables, {va:?}");
            assert_eq!(ours_w.walk(&ours_mem, va).map(|m| m.pa), want, "our builder, {va:?}");
        }
        // The page after each region is unmapped unless another region starts there.
        let after = r.va + r.pages * PAGE;
        if after != 0 && !regions.iter().any(|q| q.va <= after && after < q.va + q.pages * PAGE) {
            assert!(matches!(w.walk(&mem, VirtAddr(after)), Err(TranslateError::NotMapped { .. })));
            assert!(matches!(ours_w.walk(&ours_mem, VirtAddr(after)), Err(TranslateError::NotMapped { .. })));
        }
    }
}

fn space(root_level: usize) -> u64 {
    1u64 << (12 + 9 * (4 - root_level as u32))
}

#[test]
fn oracle_pages_and_blocks_48bit() {
    let base = 0u64.wrapping_sub(space(0));
    let regions = [
        // A 1 GiB block, a 2 MiB block, and pages around them.
        Region { va: base, pa: 0x4000_0000, pages: 0x4_0000 },
        Region { va: base + (1 << 39), pa: 0x8020_0000, pages: 512 },
        Region { va: base + (1 << 39) + (4 << 20), pa: 0x9000_3000, pages: 3 },
        Region { va: 0xffff_8000_1234_5000, pa: 0x7_ffff_f000, pages: 2 },
        // The oracle cannot map the very last page (its regions end at `end`, which would wrap).
        Region { va: u64::MAX - 3 * PAGE + 1, pa: 0xffff_ffff_e000, pages: 2 },
    ];
    check(0, &regions, Constraints::empty());
    check(0, &regions, Constraints::NO_BLOCK_MAPPINGS);
    // The oracle really used blocks where it could, and pages when told not to.
    let level_of = |c, va| {
        let o = build_oracle(0, &regions, c);
        let w = PageWalker::from_registers(o.root, o.tcr).unwrap();
        w.walk(&FlatImage::new(PhysAddr(BASE), &o.bytes), VirtAddr(va)).unwrap().level.get()
    };
    assert_eq!(level_of(Constraints::empty(), base + 0x1234), 1);
    assert_eq!(level_of(Constraints::empty(), base + (1 << 39) + 0x1234), 2);
    assert_eq!(level_of(Constraints::NO_BLOCK_MAPPINGS, base + (1 << 39)), 3);
}

#[test]
fn oracle_pages_and_blocks_39bit() {
    let base = 0u64.wrapping_sub(space(1));
    let regions = [
        Region { va: base + (3 << 30), pa: 0xc000_0000, pages: 0x4_0000 },
        Region { va: base + (5 << 21), pa: 0x20_0000, pages: 1024 },
        Region { va: base + 0x7000, pa: 0x1_2345_6000, pages: 5 },
        Region { va: u64::MAX - 2 * PAGE + 1, pa: 0x5000, pages: 1 },
    ];
    check(1, &regions, Constraints::empty());
}

#[test]
fn oracle_30bit_two_levels() {
    let base = 0u64.wrapping_sub(space(2));
    let regions = [
        Region { va: base, pa: 0x40_0000, pages: 512 },
        Region { va: base + (9 << 21) + 0x3000, pa: 0x3000, pages: 7 },
    ];
    check(2, &regions, Constraints::empty());
}

/// Random regions: start page, length (sometimes block-sized and aligned), physical page.
fn regions_strategy(root_level: usize) -> impl Strategy<Value = Vec<Region>> {
    let slots = 16u64;
    let slot_size = space(root_level) / slots;
    proptest::collection::vec(
        (0..slots, 0u64..(1 << 20), prop_oneof![1u64..40, Just(512u64), Just(1024u64)], 0u64..(1 << 24)),
        1..6,
    )
    .prop_map(move |v| {
        let mut used = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (slot, page, pages, pa_page) in v {
            if !used.insert(slot) {
                continue;
            }
            let max_pages = (slot_size / PAGE).saturating_sub(pages);
            let (page, pa_page) = if pages >= 512 { (page & !511, pa_page & !511) } else { (page, pa_page) };
            let page = (page % max_pages.max(1)) & if pages >= 512 { !511 } else { !0 };
            let va = 0u64.wrapping_sub(space(root_level)) + slot * slot_size + page * PAGE;
            out.push(Region { va, pa: pa_page * PAGE, pages });
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn oracle_random_48bit(regions in regions_strategy(0)) {
        check(0, &regions, Constraints::empty());
    }

    #[test]
    fn oracle_random_39bit(regions in regions_strategy(1)) {
        check(1, &regions, Constraints::empty());
    }
}
