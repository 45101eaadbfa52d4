//! The aarch64 translator over arbitrary registers (or VMCOREINFO values), linear rules and
//! page tables, every granule and VA size: never a panic, at most one descriptor read per
//! level of the configured walk, every physical address inside the output address size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_aarch64::{Aarch64KernelConfig, Aarch64Translator, KernelImage};
use scxray_core::{AddressKind, PhysAddr, Translate, VirtAddr};
use scxray_fuzz::{MemSpec, Reader};

fuzz_target!(|data: &[u8]| {
    let r = &mut Reader::new(data);
    let from_registers = r.bool();
    let (ttbr1, tcr) = (r.u64(), r.u64());
    let page_size = match r.u8() % 4 {
        0 => 4096,
        1 => 16384,
        2 => 65536,
        _ => r.u64(),
    };
    let info = Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(r.u64()),
        va_bits: u32::from(r.u8()),
        tcr_el1_t1sz: if r.bool() { Some(r.u8()) } else { None },
        page_size,
        lpa2: r.bool(),
    };
    let linear = r.opt_u64();
    let image = if r.bool() {
        Some(KernelImage { start: VirtAddr(r.u64()), end: VirtAddr(r.u64()), voffset: r.u64() })
    } else {
        None
    };
    let n = usize::from(r.u8() % 16);
    let vas: Vec<VirtAddr> = (0..n).map(|_| VirtAddr(r.u64())).collect();
    let mem = MemSpec::decode(r).build();

    let t = if from_registers {
        Aarch64Translator::from_registers(ttbr1, tcr)
    } else {
        Aarch64Translator::from_kernel_config(&info)
    };
    let Ok(mut t) = t else { return };
    if let Some(phys_offset) = linear {
        t = t.with_linux_linear_map(phys_offset);
    }
    if let Some(image) = image {
        t = t.with_kernel_image(image);
    }
    let g = *t.walker().geometry();
    let levels = u64::from(g.levels());
    assert!(levels <= 5, "{g:?}");
    for va in vas {
        let before = mem.reads.get();
        let kind = t.kind(va);
        let result = t.translate(&mem, va);
        let reads = mem.reads.get() - before;
        assert!(reads <= levels, "{reads} descriptor reads for {va:?} in {g:?}");
        if kind != AddressKind::PageWalk {
            assert_eq!(reads, 0, "a linear rule read page tables for {va:?}");
        }
        if let Ok(pa) = result {
            assert_eq!(
                pa.0.checked_shr(g.pa_bits()).unwrap_or(0),
                0,
                "{va:?} -> {pa:?} beyond {} bits",
                g.pa_bits()
            );
        }
        let before = mem.reads.get();
        if let Ok(m) = t.walker().walk(&mem, va) {
            assert!(m.size_shift < 64 && m.pa.0.checked_shr(g.pa_bits()).unwrap_or(0) == 0, "{m:?}");
        }
        assert!(mem.reads.get() - before <= levels);
    }
});
