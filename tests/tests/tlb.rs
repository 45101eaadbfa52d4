//! The software TLB (`scxray_core::tlb::CachedTranslate`) in front of the real translators,
//! over page tables the kit writes (x86_64 4- and 5-level, aarch64 4K and 64K with 52-bit
//! PAs): every translation is exactly what the inner translator returns, for pages, blocks,
//! guard pages and unmapped or non-canonical addresses, through evictions.

use proptest::prelude::*;
use scxray_aarch64::{Aarch64KernelConfig, Aarch64Translator};
use scxray_core::tlb::CachedTranslate;
use scxray_core::{FlatImage, PhysAddr, Translate, VirtAddr};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::scheme::Paging;
use scxray_tests::{AddressScheme, GuestBuilder, TestGuest};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use std::sync::OnceLock;

/// A guest of the scheme with its page tables, and a translator that walks them for every
/// address it can (the direct map too, through its blocks).
struct Walked {
    guest: TestGuest,
    translator: Walker,
}

#[derive(Clone, Copy)]
enum Walker {
    X86(X86Translator),
    Arm(Aarch64Translator),
}

impl Translate for Walker {
    fn kind(&self, va: VirtAddr) -> scxray_core::AddressKind {
        match self {
            Self::X86(t) => t.kind(va),
            Self::Arm(t) => t.kind(va),
        }
    }
    fn translate<M: scxray_core::PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<PhysAddr, scxray_core::TranslateError> {
        match self {
            Self::X86(t) => t.translate(mem, va),
            Self::Arm(t) => t.translate(mem, va),
        }
    }
}

fn walked(scheme: AddressScheme) -> Walked {
    let mut b = GuestBuilder::with_scheme(debian_7_3_amd64(), scheme.clone(), 4, 2);
    b.attach_scheduler(0, 64);
    let page = scheme.page();
    let root = b.alloc_phys(page, page);
    b.map_kernel(root);
    let translator = match scheme.paging {
        Paging::X86 { levels } => {
            let mode = if levels == 5 { PagingMode::FiveLevel } else { PagingMode::FourLevel };
            Walker::X86(X86Translator::new(X86Config {
                page_offset_base: VirtAddr(scheme.direct_map),
                phys_base: PhysAddr(scheme.phys_base),
                prefer_walk: true,
                ..X86Config::new(Cr3(root), mode)
            }))
        }
        Paging::Aarch64 { page_size, va_bits } => Walker::Arm(
            Aarch64Translator::from_kernel_config(&Aarch64KernelConfig {
                swapper_pg_dir: PhysAddr(root),
                va_bits,
                tcr_el1_t1sz: None,
                page_size,
                lpa2: scheme.lpa,
            })
            .unwrap(),
        ),
    };
    Walked { guest: b.build(), translator }
}

fn schemes() -> &'static [Walked] {
    static S: OnceLock<Vec<Walked>> = OnceLock::new();
    S.get_or_init(|| {
        vec![
            walked(AddressScheme::x86_kaslr(4)),
            walked(AddressScheme::x86_kaslr(5)),
            walked(AddressScheme::aarch64_kaslr(4096, 48)),
            walked(AddressScheme::aarch64_lpa()),
        ]
    })
}

/// An address of one of the kinds the walk meets, from two random numbers.
fn address(w: &Walked, kind: u8, r: u64) -> VirtAddr {
    let s = &w.guest.map.scheme;
    let pages: Vec<u64> = w.guest.map.vmalloc_pages.keys().copied().collect();
    let page = s.page();
    let mem_len = w.guest.mem.len() as u64;
    VirtAddr(match kind % 6 {
        // A vmalloc page, or the guard page after an area.
        0 | 1 => pages[(r as usize) % pages.len()] + (r >> 32) % (page + page / 2),
        // The direct map, to a little past the end of memory.
        2 => s.direct_va(s.mem_base) + (r % (mem_len + 0x10_0000)),
        // The kernel image.
        3 => s.image_va + r % s.image_size,
        // Near the start of vmalloc (mapped or not).
        4 => s.vmalloc.unwrap() + r % 0x100_0000,
        // Anything, non-canonical included.
        _ => r,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_tlb_returns_exactly_what_the_translator_returns(
        which in 0usize..4,
        seq in proptest::collection::vec((any::<u8>(), any::<u64>()), 1..400),
    ) {
        let w = &schemes()[which];
        let mem = FlatImage::new(PhysAddr(w.guest.mem_base), &w.guest.mem);
        // Few slots, so pages evict each other.
        let tlb: CachedTranslate<Walker, 8> = CachedTranslate::new(w.translator);
        for (kind, r) in seq {
            let va = address(w, kind, r);
            // Each address twice: the second is a hit when the first was cached.
            for _ in 0..2 {
                prop_assert_eq!(tlb.translate(&mem, va), w.translator.translate(&mem, va), "{:#x}", va.0);
            }
        }
    }
}

#[test]
fn every_mapped_vmalloc_byte_hits_after_its_page_is_cached() {
    for w in schemes() {
        let mem = FlatImage::new(PhysAddr(w.guest.mem_base), &w.guest.mem);
        let tlb: CachedTranslate<Walker, 512> = CachedTranslate::new(w.translator);
        let pages: Vec<(u64, u64)> = w.guest.map.vmalloc_pages.iter().map(|(&v, &p)| (v, p)).collect();
        let page = w.guest.map.scheme.page();
        for &(va, pa) in &pages {
            for off in (0..page).step_by(0x7f8) {
                assert_eq!(tlb.translate(&mem, VirtAddr(va + off)), Ok(PhysAddr(pa + off)));
            }
        }
        // One miss per 4 KiB piece of each page, whatever the granule.
        assert_eq!(tlb.misses(), pages.len() as u64 * (page / 4096));
        assert!(tlb.hits() > 0);
    }
}

#[test]
fn a_failing_translation_stays_a_failure() {
    for w in schemes() {
        let mem = FlatImage::new(PhysAddr(w.guest.mem_base), &w.guest.mem);
        let tlb: CachedTranslate<Walker, 64> = CachedTranslate::new(w.translator);
        let (&last, _) = w.guest.map.vmalloc_pages.iter().next_back().unwrap();
        // The guard page after the last area.
        let guard = VirtAddr(last + w.guest.map.scheme.page());
        let want = w.translator.translate(&mem, guard);
        assert!(want.is_err());
        for _ in 0..3 {
            assert_eq!(tlb.translate(&mem, guard), want);
        }
        assert_eq!(tlb.hits(), 0);
    }
}
