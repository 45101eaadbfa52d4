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
