//! The kernel-image rule on values seen in real guests.

use scxray_core::{FlatImage, PhysAddr, Translate, TranslateError, VirtAddr};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};

#[test]
fn negative_phys_base_wraps_like_the_kernels_own_arithmetic() {
    // A Debian 7.3 guest under KASLR: phys_base = -44040192 (-0x2a00000), and
    // kallsyms_num_syms at 0xffffffff9a19f760 lives at physical 0x1779f760.
    let config = X86Config {
        phys_base: PhysAddr((-44_040_192_i64) as u64),
        phys_end: Some(PhysAddr(0x1_0000_0000)),
        ..X86Config::new(Cr3(0x1000), PagingMode::FiveLevel)
    };
    let t = X86Translator::new(config);
    let mem = FlatImage::new(PhysAddr(0), &[]);
    assert_eq!(t.translate(&mem, VirtAddr(0xffff_ffff_9a19_f760)), Ok(PhysAddr(0x1779_f760)));
    // Below the load address the result would wrap under 0: outside memory, not a panic.
    let low = VirtAddr(0xffff_ffff_8000_1000);
    assert!(matches!(t.translate(&mem, low), Err(TranslateError::OutsideMemory { .. })));
}

/// `translate_span` on a direct-map address gives the part of the direct map the rule and its
/// checks answer for; every address inside translates as the span says, and the first one
/// past it does not (the RAM end, MAXPHYADDR, the canonical edge).
#[test]
fn direct_map_spans_end_where_the_rule_and_its_checks_end() {
    let mem = FlatImage::new(PhysAddr(0), &[]);
    let span_of = |config: X86Config, va: u64| {
        let t = X86Translator::new(config);
        let (pa, span) = t.translate_span(&mem, VirtAddr(va)).unwrap();
        assert_eq!(Ok(pa), t.translate(&mem, VirtAddr(va)));
        let s = span.unwrap();
        let last = s.va_start.0 + (s.len - 1);
        for x in [s.va_start.0, va, last, s.va_start.0 + s.len / 3] {
            assert_eq!(t.translate(&mem, VirtAddr(x)).ok(), s.apply(VirtAddr(x)), "{x:#x}");
        }
        // The address past the span does not translate as its continuation would.
        if let Some(past) = last.checked_add(1) {
            let continued = PhysAddr(s.pa_start.0 + s.len);
            assert_ne!(t.translate(&mem, VirtAddr(past)).ok(), Some(continued), "{past:#x}");
        }
        s
    };
    let base = X86Config::new(Cr3(0x1000), PagingMode::FiveLevel);
    let pob = base.page_offset_base.0;
    // 4 GiB of RAM: the span is the RAM, not the 2^52-byte direct-map window.
    let s = span_of(X86Config { phys_end: Some(PhysAddr(1 << 32)), ..base }, pob + 0x1234);
    assert_eq!((s.va_start.0, s.len, s.pa_start.0), (pob, 1 << 32, 0));
    // Without a RAM end, MAXPHYADDR bounds it.
    let s = span_of(X86Config { max_phys_bits: 40, ..base }, pob + 0x1234);
    assert_eq!(s.len, 1 << 40);
    // Kernel-image and page-walked addresses give no span.
    let t = X86Translator::new(X86Config { phys_end: Some(PhysAddr(1 << 32)), ..base });
    assert_eq!(t.translate_span(&mem, VirtAddr(0xffff_ffff_8100_0000)).map(|(_, s)| s), Ok(None));
    // prefer_walk: the direct map is walked, so no span (and here no tables: an error).
    let t = X86Translator::new(X86Config { prefer_walk: true, ..base });
    assert!(t.translate_span(&mem, VirtAddr(pob + 0x1000)).is_err());
}
