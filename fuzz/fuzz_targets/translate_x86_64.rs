//! The x86_64 translator (4- and 5-level) over arbitrary page tables and configurations:
//! never a panic, at most one descriptor read per level, and every physical address it
//! returns below MAXPHYADDR and the configured end of RAM.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_core::{AddressKind, PhysAddr, Translate, VirtAddr};
use scxray_fuzz::{MemSpec, Reader};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator, phys_addr_mask};

fuzz_target!(|data: &[u8]| {
    let r = &mut Reader::new(data);
    let mode = if r.bool() { PagingMode::FiveLevel } else { PagingMode::FourLevel };
    let base = X86Config::new(Cr3(r.u64()), mode);
    let config = X86Config {
        page_offset_base: r.opt_u64().map_or(base.page_offset_base, VirtAddr),
        direct_map_size: r.opt_u64().unwrap_or(base.direct_map_size),
        phys_base: PhysAddr(r.u64()),
        kernel_map_start: r.opt_u64().map_or(base.kernel_map_start, VirtAddr),
        kernel_image_size: r.opt_u64().unwrap_or(base.kernel_image_size),
        max_phys_bits: r.u8(),
        phys_end: r.opt_u64().map(PhysAddr),
        prefer_walk: r.bool(),
        ..base
    };
    let n = usize::from(r.u8() % 16);
    let vas: Vec<VirtAddr> = (0..n).map(|_| VirtAddr(r.u64())).collect();
    let mem = MemSpec::decode(r).build();
    let t = X86Translator::new(config);
    let levels: u64 = match mode {
        PagingMode::FourLevel => 4,
        PagingMode::FiveLevel => 5,
    };
    let mask = phys_addr_mask(config.max_phys_bits);
    for va in vas {
        let before = mem.reads.get();
        let kind = t.kind(va);
        let result = t.translate(&mem, va);
        let reads = mem.reads.get() - before;
        assert!(reads <= levels, "{reads} descriptor reads for {va:?}");
        if kind != AddressKind::PageWalk {
            assert_eq!(reads, 0, "a linear rule read page tables for {va:?}");
        }
        if let Ok(pa) = result {
            assert_eq!(pa.0 & !mask, 0, "{va:?} -> {pa:?} above MAXPHYADDR");
            if let Some(end) = config.phys_end {
                assert!(pa < end, "{va:?} -> {pa:?} beyond RAM end {end:?}");
            }
        }
        // The bare walk agrees with itself: the address lies in the page it names.
        let before = mem.reads.get();
        if let Ok(m) = t.walk(&mem, va) {
            let size = m.page_size.bytes();
            assert!(m.pa.checked_offset_from(m.page_base).is_some_and(|o| o < size), "{m:?}");
        }
        assert!(mem.reads.get() - before <= levels);
    }
});
