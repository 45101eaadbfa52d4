//! The walker against an independent oracle: 4-level tables built by the `x86_64` crate's
//! `MappedPageTable` in an arena this test owns, then serialised little-endian into guest
//! memory. Every mapped page must translate to the frame the oracle mapped it to, every probe
//! the oracle calls unmapped must fail; and 5-level tables built by `common::Builder` must
//! agree with the oracle where they overlap.

mod common;

use common::{CountingMem, GIB1, KIB4, MIB2, Mapped, XorShift, canonical, raw};
use scxray_core::{FlatImage, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr};
use scxray_x86_64::{Cr3, PageSize, PageWalker, PagingMode, X86Config, X86Translator};
use x86_64::structures::paging::mapper::{MappedPageTable, PageTableFrameMapping, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, Page, PageTable, PageTableFlags as F, PhysFrame, Size1GiB, Size2MiB, Size4KiB,
    Translate as _,
};

/// Where the oracle's table arena sits in guest-physical memory (above 4 GiB, so the walk
/// must carry high address bits).
const ARENA_PA: u64 = 0x1_2340_0000;
const ARENA_TABLES: usize = 4096;

/// Physical frame -> pointer into the arena. The arena never moves while the mapper lives.
struct ArenaFrames {
    first: *mut PageTable,
    len: usize,
}

// SAFETY: `frame_to_pointer` only returns pointers inside the arena (asserted), which
// outlives the mapper and is not otherwise accessed while the mapper exists.
unsafe impl PageTableFrameMapping for ArenaFrames {
    fn frame_to_pointer(&self, frame: PhysFrame) -> *mut PageTable {
        let index = ((frame.start_address().as_u64() - ARENA_PA) / KIB4) as usize;
        assert!(index < self.len, "frame {frame:?} outside the arena");
        // SAFETY: in bounds, checked above.
        unsafe { self.first.add(index) }
    }
}

/// Hands out arena frames 1.. (frame 0 is the PML4).
struct ArenaAllocator {
    next: usize,
    len: usize,
}

// SAFETY: each frame is handed out once and lies in the arena.
unsafe impl FrameAllocator<Size4KiB> for ArenaAllocator {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        (self.next < self.len).then(|| {
            let pa = ARENA_PA + self.next as u64 * KIB4;
            self.next += 1;
            PhysFrame::from_start_address(x86_64::PhysAddr::new(pa)).unwrap()
        })
    }
}

/// The oracle's tables as guest memory, plus what was mapped.
struct Oracle {
    image: Vec<u8>,
    mappings: Vec<Mapped>,
    /// The oracle's own answer for each probe address (`None` = not mapped).
    probes: Vec<(u64, Option<u64>)>,
}

impl Oracle {
    fn mem(&self) -> FlatImage<'_> {
        FlatImage::new(PhysAddr(ARENA_PA), &self.image)
    }
}

/// Leaf flags drawn from everything a Linux kernel or a hostile guest may set that does not
/// change the translation: NX, protection keys (59..62), software bits, G, U/S, R/W, PWT/PCD,
/// A/D.
fn random_leaf_flags(rng: &mut XorShift) -> F {
    let optional = F::WRITABLE
        | F::USER_ACCESSIBLE
        | F::WRITE_THROUGH
        | F::NO_CACHE
        | F::ACCESSED
        | F::DIRTY
        | F::GLOBAL
        | F::BIT_9
        | F::BIT_10
        | F::BIT_11
        | F::BIT_52
        | F::BIT_58
        | F::BIT_59
        | F::BIT_60
        | F::BIT_61
        | F::BIT_62
        | F::NO_EXECUTE;
    F::PRESENT | F::from_bits_truncate(rng.next() & optional.bits())
}

/// A random page-aligned physical address below 2^52.
fn random_frame(rng: &mut XorShift, size: u64) -> u64 {
    (rng.next() & ((1 << 52) - 1)) & !(size - 1)
}

/// Maps one 4 KiB page at `va` to a random frame with random flags; `None` when the
/// oracle refuses (already mapped, under a large page).
fn map_4k(
    mapper: &mut MappedPageTable<'_, ArenaFrames>,
    alloc: &mut ArenaAllocator,
    rng: &mut XorShift,
    va: u64,
) -> Option<Mapped> {
    let page = Page::<Size4KiB>::from_start_address(x86_64::VirtAddr::new(va)).unwrap();
    let pa = random_frame(rng, KIB4);
    let frame = PhysFrame::from_start_address(x86_64::PhysAddr::new(pa)).unwrap();
    // (PTE bit 7, PAT, is tested with the own builder: this mapper asserts it is clear.)
    let flags = random_leaf_flags(rng);
    // SAFETY: the frame is a number only; nothing dereferences it.
    let flush = unsafe { mapper.map_to(page, frame, flags, alloc) }.ok()?;
    flush.ignore();
    Some(Mapped { va, pa, size: KIB4 })
}

/// Maps thousands of 4 KiB pages (dense runs and scattered), hundreds of 2 MiB pages and a
/// few 1 GiB pages in both halves of the address space, with the `x86_64` crate's mapper.
fn build_oracle(seed: u64) -> Oracle {
    let mut arena: Vec<PageTable> = (0..ARENA_TABLES).map(|_| PageTable::new()).collect();
    let first = arena.as_mut_ptr();
    let mut alloc = ArenaAllocator { next: 1, len: ARENA_TABLES };
    let mut rng = XorShift(seed);
    let mut mappings = Vec::new();
    let probes;
    {
        // SAFETY: `first` is the arena's PML4; `ArenaFrames` resolves frames inside it.
        let mut mapper =
            unsafe { MappedPageTable::new(&mut *first, ArenaFrames { first, len: ARENA_TABLES }) };

        // vmalloc: a dense run crossing page-table and page-directory boundaries.
        for i in 0..1200u64 {
            mappings.extend(map_4k(&mut mapper, &mut alloc, &mut rng, 0xffff_c900_001d_c000 + i * KIB4));
        }
        // Scattered 4 KiB pages over the whole upper and lower halves.
        for _ in 0..800 {
            let va = canonical(rng.next() & 0xffff_ffff_f000, 47);
            mappings.extend(map_4k(&mut mapper, &mut alloc, &mut rng, va));
        }
        // 2 MiB pages: vmemmap-like run plus scattered.
        for i in 0..300u64 {
            let va = if i < 200 {
                0xffff_ea00_0000_0000 + i * MIB2
            } else {
                canonical(rng.next() & 0xffff_ffe0_0000, 47)
            };
            let pa = random_frame(&mut rng, MIB2);
            let page = Page::<Size2MiB>::from_start_address(x86_64::VirtAddr::new(va)).unwrap();
            let frame = PhysFrame::<Size2MiB>::from_start_address(x86_64::PhysAddr::new(pa)).unwrap();
            let flags = random_leaf_flags(&mut rng);
            // SAFETY: as in `map_4k`.
            if let Ok(flush) = unsafe { mapper.map_to(page, frame, flags, &mut alloc) } {
                flush.ignore();
                mappings.push(Mapped { va, pa, size: MIB2 });
            }
        }
        // 1 GiB pages: a direct-map-like run and a few in the lower half.
        for i in 0..24u64 {
            let va = if i < 16 { 0xffff_8880_0000_0000 + i * GIB1 } else { rng.next() & 0x7fff_c000_0000 };
            let pa = random_frame(&mut rng, GIB1);
            let page = Page::<Size1GiB>::from_start_address(x86_64::VirtAddr::new(va)).unwrap();
            let frame = PhysFrame::<Size1GiB>::from_start_address(x86_64::PhysAddr::new(pa)).unwrap();
            let flags = random_leaf_flags(&mut rng);
            // SAFETY: as in `map_4k`.
            if let Ok(flush) = unsafe { mapper.map_to(page, frame, flags, &mut alloc) } {
                flush.ignore();
                mappings.push(Mapped { va, pa, size: GIB1 });
            }
        }
        // Probes near and far from the mappings, answered by the oracle's own walk.
        let mut probe_vas: Vec<u64> = Vec::new();
        for m in &mappings {
            probe_vas.push(m.va + rng.below(m.size));
            probe_vas.push(canonical((m.va + m.size) & 0xffff_ffff_ffff, 47));
            probe_vas.push(canonical(m.va.wrapping_sub(1) & 0xffff_ffff_ffff, 47));
        }
        for _ in 0..4000 {
            probe_vas.push(canonical(rng.next() & 0xffff_ffff_ffff, 47));
        }
        probes = probe_vas
            .into_iter()
            .map(|va| {
                let answer = match mapper.translate(x86_64::VirtAddr::new(va)) {
                    TranslateResult::Mapped { frame, offset, .. } => {
                        Some(frame.start_address().as_u64() + offset)
                    }
                    _ => None,
                };
                (va, answer)
            })
            .collect();
    }
    let image = common::tables_to_bytes(arena.iter().flat_map(|t| t.iter().map(raw)));
    Oracle { image, mappings, probes }
}

fn four_level_tables(cr3: u64) -> PageWalker {
    PageWalker { cr3: Cr3(cr3), mode: PagingMode::FourLevel, max_phys_bits: 52 }
}

#[test]
fn every_page_the_oracle_mapped_translates_to_its_frame() {
    for seed in [0x9e37_79b9_7f4a_7c15, 0x2545_f491_4f6c_dd1d] {
        let oracle = build_oracle(seed);
        assert!(oracle.mappings.len() > 2000, "only {} mappings", oracle.mappings.len());
        let counts = [KIB4, MIB2, GIB1].map(|s| oracle.mappings.iter().filter(|m| m.size == s).count());
        assert!(counts.iter().all(|&c| c > 10), "{counts:?}");
        let mem = CountingMem::new(oracle.mem());
        let tables = four_level_tables(ARENA_PA);
        for m in &oracle.mappings {
            for offset in [0, m.size / 2 + 8, m.size - 1] {
                let va = VirtAddr(m.va + offset);
                let got = tables.walk(&mem, va).unwrap_or_else(|e| panic!("{m:?} +{offset:#x}: {e}"));
                assert_eq!(got.pa, PhysAddr(m.pa + offset), "{m:?} +{offset:#x}");
                assert_eq!(got.page_base, PhysAddr(m.pa));
                let size = match got.page_size {
                    PageSize::Size4KiB => KIB4,
                    PageSize::Size2MiB => MIB2,
                    PageSize::Size1GiB => GIB1,
                };
                assert_eq!(size, m.size, "{m:?}");
                // One entry per level down to the leaf, never more.
                let expected_reads = match m.size {
                    KIB4 => 4,
                    MIB2 => 3,
                    _ => 2,
                };
                assert_eq!(mem.take(), expected_reads, "{m:?}");
            }
        }
    }
}

#[test]
fn probes_agree_with_the_oracles_own_walk() {
    let oracle = build_oracle(0x1234_5678_9abc_def1);
    let mem = CountingMem::new(oracle.mem());
    let tables = four_level_tables(ARENA_PA);
    let mut unmapped = 0;
    for &(va, answer) in &oracle.probes {
        let got = tables.walk(&mem, VirtAddr(va));
        assert!(mem.take() <= 4);
        match answer {
            Some(pa) => assert_eq!(got.map(|m| m.pa), Ok(PhysAddr(pa)), "{va:#x}"),
            None => {
                unmapped += 1;
                assert!(matches!(got, Err(TranslateError::NotMapped { .. })), "{va:#x}: {got:?}");
                assert_eq!(common::expected(&oracle.mappings, va), None, "{va:#x}");
            }
        }
    }
    assert!(unmapped > 1000, "too few unmapped probes: {unmapped}");
}

#[test]
fn the_translator_walks_everything_outside_its_linear_regions() {
    let oracle = build_oracle(7);
    let mem = oracle.mem();
    // Linear regions moved out of the way: every address is page-walked.
    let config = X86Config {
        page_offset_base: VirtAddr(0xffff_f000_0000_0000),
        direct_map_size: 0,
        kernel_image_size: 0,
        // PCID and the no-flush hint in CR3 are not part of the table address.
        ..X86Config::new(Cr3(ARENA_PA | 0x5a5 | 1 << 63), PagingMode::from_cr4(0x3406f0))
    };
    let t = X86Translator::new(config);
    for &(va, answer) in &oracle.probes {
        let got = t.translate(&mem, VirtAddr(va)).ok();
        assert_eq!(got, answer.map(PhysAddr), "{va:#x}");
    }
}

/// Appends a PML5 table after the oracle's arena with `slots` pointing at the oracle's PML4.
fn with_pml5(oracle: &Oracle, slots: &[usize]) -> (Vec<u8>, u64) {
    let pml5_pa = ARENA_PA + oracle.image.len() as u64;
    let mut pml5 = [0u64; 512];
    for &slot in slots {
        pml5[slot] = common::encode(ARENA_PA, common::TABLE_FLAGS);
    }
    let mut image = oracle.image.clone();
    image.extend(common::tables_to_bytes(pml5.into_iter()));
    (image, pml5_pa)
}

/// The 57-bit address that reaches, through PML5 slot `slot`, what the 48-bit `va4` reaches.
fn five_level_va(slot: usize, va4: u64) -> u64 {
    canonical(((slot as u64) << 48) | (va4 & 0xffff_ffff_ffff), 56)
}

#[test]
fn five_level_over_the_oracles_pml4_agrees_with_four_level() {
    let oracle = build_oracle(99);
    let slots = [0usize, 0x11, 0x1ff];
    let (image, pml5_pa) = with_pml5(&oracle, &slots);
    let mem = CountingMem::new(FlatImage::new(PhysAddr(ARENA_PA), &image));
    let five = PageWalker { cr3: Cr3(pml5_pa), mode: PagingMode::FiveLevel, max_phys_bits: 52 };
    let four = four_level_tables(ARENA_PA);
    for &(va4, answer) in oracle.probes.iter().step_by(3) {
        let via_four = four.walk(&mem, VirtAddr(va4)).map(|m| m.pa).ok();
        assert_eq!(via_four, answer.map(PhysAddr));
        mem.take();
        for slot in slots {
            let va5 = five_level_va(slot, va4);
            assert_eq!(five.walk(&mem, VirtAddr(va5)).map(|m| m.pa).ok(), via_four, "{va5:#x}");
            assert!(mem.take() <= 5);
        }
        // An empty PML5 slot maps nothing, and says so at level 4.
        let va5 = five_level_va(0x22, va4);
        assert_eq!(
            five.walk(&mem, VirtAddr(va5)),
            Err(TranslateError::NotMapped { va: VirtAddr(va5), level: 4 })
        );
    }
}

#[test]
fn own_five_level_builder_agrees_with_the_oracle() {
    let oracle = build_oracle(0xfeed);
    let four = four_level_tables(ARENA_PA);
    let oracle_mem = oracle.mem();
    // The same mappings through PML5 slot 0x1fe (upper half) with the independent builder.
    let slot = 0x1fe;
    let mut builder = common::Builder::new(5, 0x8000_0000, 8192);
    for m in &oracle.mappings {
        builder.map(five_level_va(slot, m.va), m.pa, m.size, F::PRESENT | F::NO_EXECUTE | F::BIT_60).unwrap();
    }
    let image = builder.image();
    let mem = CountingMem::new(FlatImage::new(PhysAddr(builder.root()), &image));
    let five = PageWalker { cr3: Cr3(builder.root()), mode: PagingMode::FiveLevel, max_phys_bits: 52 };
    let mut reads = [0usize; 3];
    for &(va4, answer) in &oracle.probes {
        let via_four = four.walk(&oracle_mem, VirtAddr(va4)).map(|m| m.pa).ok();
        assert_eq!(via_four, answer.map(PhysAddr));
        let got = five.walk(&mem, VirtAddr(five_level_va(slot, va4)));
        assert_eq!(got.map(|m| m.pa).ok(), via_four, "{va4:#x}");
        let n = mem.take();
        assert!(n <= 5);
        if let Ok(m) = got {
            reads[m.page_size as usize] = n;
        }
    }
    // One more read than 4-level for each page size.
    assert_eq!(reads, [5, 4, 3]);
}

/// Reads the oracle memory through a mutated view: checks that a deliberately broken PML4
/// entry (PS set) is reported as a bad descriptor, whatever the `x86_64` crate would do.
#[test]
fn ps_in_an_oracle_pml4_entry_is_a_bad_descriptor() {
    let oracle = build_oracle(3);
    let m = oracle.mappings[0];
    let slot = ((m.va >> 39) & 511) as usize;
    let mut image = oracle.image.clone();
    let at = slot * 8;
    let entry = u64::from_le_bytes(image[at..at + 8].try_into().unwrap()) | F::HUGE_PAGE.bits();
    image[at..at + 8].copy_from_slice(&entry.to_le_bytes());
    let mem = FlatImage::new(PhysAddr(ARENA_PA), &image);
    let got = four_level_tables(ARENA_PA).walk(&mem, VirtAddr(m.va));
    assert_eq!(got, Err(TranslateError::BadDescriptor { va: VirtAddr(m.va), level: 3, descriptor: entry }));
    assert_eq!(mem.read_le::<u64>(PhysAddr(ARENA_PA + at as u64)), Ok(entry));
}
