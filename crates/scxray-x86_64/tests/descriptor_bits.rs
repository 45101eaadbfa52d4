//! One test per descriptor bit the walk depends on or must ignore. Each is built so that
//! removing the bit's handling from the walker changes the outcome: the bit under test is
//! the only difference between the passing and the failing reading of the tables.

mod common;

use common::{Builder, CountingMem, GIB1, KIB4, MIB2};
use scxray_core::{FlatImage, PhysAddr, TranslateError, VirtAddr};
use scxray_x86_64::{CR4_LA57, Cr3, PageWalker, PagingMode, X86Config, X86Translator};
use x86_64::structures::paging::PageTableFlags as F;

/// Tables at 16 MiB; nothing else is backed, so a walk that follows a page as if it were a
/// table fails with a memory error instead of reading stray zeros.
const TABLES_PA: u64 = 0x100_0000;

const VA_4K: u64 = 0xffff_c900_1234_5000;
const PA_4K: u64 = 0x0008_7654_3210_f000;
const VA_2M: u64 = 0xffff_ea00_0060_0000;
const PA_2M: u64 = 0x0000_0042_4220_0000;
const VA_1G: u64 = 0xffff_8880_c000_0000;
const PA_1G: u64 = 0x000a_bcde_c000_0000;

/// The three pages, by size: (va, pa, size, depth of the leaf below the root for 4-level).
const PAGES: [(u64, u64, u64); 3] = [(VA_4K, PA_4K, KIB4), (VA_2M, PA_2M, MIB2), (VA_1G, PA_1G, GIB1)];

/// The VA of a 4-level test page as seen through PML5 slot 0x1ff under 5-level paging.
fn va_for(levels: u32, va: u64) -> u64 {
    if levels == 5 { common::canonical((0x1ff << 48) | (va & 0xffff_ffff_ffff), 56) } else { va }
}

fn mode(levels: u32) -> PagingMode {
    if levels == 5 { PagingMode::FiveLevel } else { PagingMode::FourLevel }
}

fn guest(levels: u32) -> Builder {
    let mut b = Builder::new(levels, TABLES_PA, 64);
    for (va, pa, size) in PAGES {
        b.map(va_for(levels, va), pa, size, F::PRESENT | F::WRITABLE).unwrap();
    }
    b
}

fn tables(b: &Builder, max_phys_bits: u8) -> PageWalker {
    PageWalker { cr3: Cr3(b.root()), mode: mode(b.levels), max_phys_bits }
}

fn walk(b: &Builder, va: u64) -> Result<u64, TranslateError> {
    walk_with(b, va, 52)
}

fn walk_with(b: &Builder, va: u64, max_phys_bits: u8) -> Result<u64, TranslateError> {
    let image = b.image();
    let mem = CountingMem::new(FlatImage::new(PhysAddr(b.root()), &image));
    let result = tables(b, max_phys_bits).walk(&mem, VirtAddr(va)).map(|m| m.pa.0);
    assert!(mem.take() <= b.levels as usize);
    result
}

/// Depth below the root of the leaf for `size`.
fn leaf_depth(levels: u32, size: u64) -> u32 {
    levels - 1 - (size.trailing_zeros() - 12) / 9
}

/// The level number the walker reports for an entry `depth` levels below the root.
fn level_number(levels: u32, depth: u32) -> u8 {
    (levels - 1 - depth) as u8
}

/// Applies `change` to every entry on the path of every test page in turn, and checks the
/// walk with `check(levels, depth, page, changed entry, result)`.
fn for_each_entry_on_each_path(
    change: impl Fn(u64, u32, u32) -> Option<u64>,
    check: impl Fn(u32, u32, (u64, u64, u64), u64, Result<u64, TranslateError>),
) {
    for levels in [4, 5] {
        for page in PAGES {
            let (va, _, size) = page;
            let va = va_for(levels, va);
            for depth in 0..=leaf_depth(levels, size) {
                let mut b = guest(levels);
                let at = b.entry_pa(va, depth).unwrap();
                let Some(new) = change(b.entry(at), levels, depth) else { continue };
                b.set_entry(at, new);
                check(levels, depth, page, new, walk(&b, va + size / 2 + 0x18));
            }
        }
    }
}

#[test]
fn the_untouched_guest_translates() {
    for levels in [4, 5] {
        let b = guest(levels);
        for (va, pa, size) in PAGES {
            for offset in [0, 0x18, size - 1] {
                assert_eq!(walk(&b, va_for(levels, va) + offset), Ok(pa + offset));
            }
        }
    }
}

#[test]
fn present_clear_stops_the_walk_at_every_level() {
    // Only PRESENT changes: a walker that ignored it would follow the intact address.
    for_each_entry_on_each_path(
        |entry, _, _| Some(entry & !F::PRESENT.bits()),
        |levels, depth, (va, _, size), _, got| {
            let va = VirtAddr(va_for(levels, va) + size / 2 + 0x18);
            assert_eq!(got, Err(TranslateError::NotMapped { va, level: level_number(levels, depth) }));
        },
    );
}

#[test]
fn a_non_present_entry_may_hold_anything() {
    // Linux keeps swap entries and PROT_NONE markers in non-present entries.
    for_each_entry_on_each_path(
        |_, _, _| Some(!F::PRESENT.bits()),
        |_, _, _, _, got| assert!(matches!(got, Err(TranslateError::NotMapped { .. })), "{got:?}"),
    );
}

#[test]
fn ps_in_a_pdpte_maps_a_1gib_page() {
    for levels in [4, 5] {
        let b = guest(levels);
        let va = va_for(levels, VA_1G);
        // The offset spans bits 0..29: all of them must come from the VA.
        assert_eq!(walk(&b, va + 0x3fff_f123), Ok(PA_1G + 0x3fff_f123));
        // Without PS the same entry is a table, here at unbacked memory.
        let mut b = b;
        let at = b.entry_pa(va, leaf_depth(levels, GIB1)).unwrap();
        b.set_entry(at, b.entry(at) & !F::HUGE_PAGE.bits());
        assert!(matches!(walk(&b, va), Err(TranslateError::Memory(_))));
    }
}

#[test]
fn ps_in_a_pde_maps_a_2mib_page() {
    for levels in [4, 5] {
        let b = guest(levels);
        let va = va_for(levels, VA_2M);
        assert_eq!(walk(&b, va + 0x1f_f456), Ok(PA_2M + 0x1f_f456));
        let mut b = b;
        let at = b.entry_pa(va, leaf_depth(levels, MIB2)).unwrap();
        b.set_entry(at, b.entry(at) & !F::HUGE_PAGE.bits());
        assert!(matches!(walk(&b, va), Err(TranslateError::Memory(_))));
    }
}

#[test]
fn ps_is_reserved_in_pml4_and_pml5_entries() {
    // PS added to an otherwise valid table entry at the root levels only.
    for_each_entry_on_each_path(
        |entry, levels, depth| (level_number(levels, depth) >= 3).then_some(entry | F::HUGE_PAGE.bits()),
        |levels, depth, (va, _, size), descriptor, got| {
            let va = VirtAddr(va_for(levels, va) + size / 2 + 0x18);
            let level = level_number(levels, depth);
            assert_eq!(got, Err(TranslateError::BadDescriptor { va, level, descriptor }));
        },
    );
}

#[test]
fn bit_7_of_a_pte_is_pat_not_ps() {
    for levels in [4, 5] {
        let mut b = guest(levels);
        let va = va_for(levels, VA_4K);
        let at = b.entry_pa(va, leaf_depth(levels, KIB4)).unwrap();
        b.set_entry(at, b.entry(at) | F::HUGE_PAGE.bits());
        assert_eq!(walk(&b, va + 0x18), Ok(PA_4K + 0x18));
    }
}

#[test]
fn bit_12_of_a_large_page_is_pat_not_address() {
    for_each_entry_on_each_path(
        |entry, levels, depth| {
            let is_large_leaf = entry & F::HUGE_PAGE.bits() != 0 && level_number(levels, depth) >= 1;
            is_large_leaf.then_some(entry | 1 << 12)
        },
        |levels, _, (va, pa, size), _, got| {
            let offset = size / 2 + 0x18;
            assert_eq!(got, Ok(pa + offset), "{:#x}", va_for(levels, va));
        },
    );
}

#[test]
fn the_reserved_low_address_bits_of_large_pages() {
    for levels in [4, 5] {
        for (va, _, size) in [(VA_2M, PA_2M, MIB2), (VA_1G, PA_1G, GIB1)] {
            let va = va_for(levels, va);
            for bit in 13..size.trailing_zeros() {
                let mut b = guest(levels);
                let at = b.entry_pa(va, leaf_depth(levels, size)).unwrap();
                let descriptor = b.entry(at) | 1 << bit;
                b.set_entry(at, descriptor);
                let level = if size == GIB1 { 2 } else { 1 };
                assert_eq!(
                    walk(&b, va),
                    Err(TranslateError::BadDescriptor { va: VirtAddr(va), level, descriptor }),
                    "bit {bit}"
                );
            }
        }
    }
}

#[test]
fn nx_is_ignored_at_every_level() {
    for_each_entry_on_each_path(
        |entry, _, _| Some(entry | F::NO_EXECUTE.bits()),
        |levels, _, (va, pa, size), _, got| {
            assert_eq!(got, Ok(pa + size / 2 + 0x18), "{:#x}", va_for(levels, va));
        },
    );
}

#[test]
fn protection_keys_are_ignored_at_every_level() {
    for key in [0x1u64, 0x5, 0xa, 0xf] {
        for_each_entry_on_each_path(
            |entry, _, _| Some(entry | key << 59),
            |levels, _, (va, pa, size), _, got| {
                assert_eq!(got, Ok(pa + size / 2 + 0x18), "{:#x}", va_for(levels, va));
            },
        );
    }
}

#[test]
fn software_and_attribute_bits_are_ignored() {
    // Bits 9..11 and 52..58 are the OS's; R/W, U/S, PWT, PCD, A, D, G change no address.
    let ignored = 0x07f0_0000_0000_0e7e;
    for_each_entry_on_each_path(
        |entry, _, _| Some(entry | ignored),
        |levels, _, (va, pa, size), _, got| {
            assert_eq!(got, Ok(pa + size / 2 + 0x18), "{:#x}", va_for(levels, va));
        },
    );
}

#[test]
fn address_bits_at_or_above_maxphyaddr_are_reserved() {
    // The test pages sit below 2^52 but use bits up to 51: MAXPHYADDR 52 accepts them.
    for levels in [4, 5] {
        let b = guest(levels);
        assert_eq!(walk_with(&b, va_for(levels, VA_4K), 52), Ok(PA_4K));
        // PA_4K has bit 51 set: a 46-bit guest calls its PTE malformed (level 0).
        let va = va_for(levels, VA_4K);
        let pte = b.entry(b.entry_pa(va, leaf_depth(levels, KIB4)).unwrap());
        assert_eq!(
            walk_with(&b, va, 46),
            Err(TranslateError::BadDescriptor { va: VirtAddr(va), level: 0, descriptor: pte })
        );
    }
    // A table entry with bit 46 set, at each depth above the leaf: reserved for a 46-bit
    // guest (MAXPHYADDR 46), an address (here unbacked) for a 52-bit one.
    for levels in [4, 5] {
        for (va, _, size) in PAGES {
            let va = va_for(levels, va);
            for depth in 0..leaf_depth(levels, size) {
                let mut b = guest(levels);
                let at = b.entry_pa(va, depth).unwrap();
                let descriptor = b.entry(at) | 1 << 46;
                b.set_entry(at, descriptor);
                let level = level_number(levels, depth);
                assert_eq!(
                    walk_with(&b, va, 46),
                    Err(TranslateError::BadDescriptor { va: VirtAddr(va), level, descriptor })
                );
                assert!(matches!(walk_with(&b, va, 52), Err(TranslateError::Memory(_))));
            }
        }
    }
}

#[test]
fn a_cr3_above_maxphyaddr_is_reported() {
    let b = guest(4);
    let image = b.image();
    let mem = FlatImage::new(PhysAddr(b.root()), &image);
    let cr3 = Cr3(b.root() | 1 << 40);
    let t = PageWalker { cr3, mode: PagingMode::FourLevel, max_phys_bits: 40 };
    assert_eq!(
        t.walk(&mem, VirtAddr(VA_4K)),
        Err(TranslateError::BadDescriptor { va: VirtAddr(VA_4K), level: 3, descriptor: cr3.0 })
    );
}

#[test]
fn pcid_and_flag_bits_of_cr3_are_masked() {
    for levels in [4, 5] {
        let b = guest(levels);
        let image = b.image();
        let mem = FlatImage::new(PhysAddr(b.root()), &image);
        // PCID 0xabc (or PWT/PCD), LAM_U57/LAM_U48 (62, 61), the no-flush hint (63).
        for extra in [0xabc, 0x018, 0xfff, 1 << 63, 0x7 << 61 | 0x123] {
            let t = PageWalker { cr3: Cr3(b.root() | extra), mode: mode(levels), max_phys_bits: 52 };
            for (va, pa, _) in PAGES {
                let va = va_for(levels, va);
                assert_eq!(t.walk(&mem, VirtAddr(va)).map(|m| m.pa), Ok(PhysAddr(pa)), "{extra:#x}");
            }
        }
    }
}

#[test]
fn la57_in_cr4_selects_the_five_level_walk() {
    let b = guest(5);
    let image = b.image();
    let mem = FlatImage::new(PhysAddr(b.root()), &image);
    let va = VirtAddr(va_for(5, VA_4K));
    // A typical CR4 without and with LA57 (bit 12), as literals.
    let cr4 = 0x0037_06f0;
    assert_eq!(cr4 | 0x1000, cr4 | CR4_LA57);
    let translator = |cr4| {
        X86Translator::new(X86Config {
            direct_map_size: 0,
            kernel_image_size: 0,
            ..X86Config::new(Cr3(b.root()), PagingMode::from_cr4(cr4))
        })
    };
    use scxray_core::Translate;
    assert_eq!(translator(0x0037_16f0).translate(&mem, va), Ok(PhysAddr(PA_4K)));
    // Read as 4-level the same tables do not give the page: `va` is not even canonical for
    // 48 bits, and the 48-bit version of it walks the PML5 as a PML4.
    assert!(translator(cr4).translate(&mem, va).is_err());
    let va48 = VirtAddr(VA_4K);
    assert_ne!(translator(cr4).translate(&mem, va48), Ok(PhysAddr(PA_4K)));
    // Same from the kernel's `__pgtable_l5_enabled`.
    let from_var = |value| {
        X86Translator::new(X86Config {
            direct_map_size: 0,
            kernel_image_size: 0,
            ..X86Config::new(Cr3(b.root()), PagingMode::from_pgtable_l5_enabled(value))
        })
    };
    assert_eq!(from_var(1).translate(&mem, va), Ok(PhysAddr(PA_4K)));
    assert!(from_var(0).translate(&mem, va).is_err());
}

#[test]
fn non_canonical_addresses_are_not_mapped_and_read_nothing() {
    for levels in [4, 5] {
        let b = guest(levels);
        let image = b.image();
        let mem = CountingMem::new(FlatImage::new(PhysAddr(b.root()), &image));
        let sign_bit = if levels == 5 { 56 } else { 47 };
        let root_level = (levels - 1) as u8;
        for (va, _, _) in PAGES {
            let va = va_for(levels, va);
            // Flip one bit above the sign bit: the low bits still index a real mapping.
            for bit in [sign_bit + 1, 60, 63] {
                let bad = VirtAddr(va ^ 1 << bit);
                let got = tables(&b, 52).walk(&mem, bad);
                assert_eq!(got, Err(TranslateError::NotMapped { va: bad, level: root_level }));
            }
        }
        assert_eq!(mem.take(), 0);
    }
}
