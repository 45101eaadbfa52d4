//! The host crate's ELF core parser (`ElfCore::from_bytes`, the same code `open` runs on a
//! mapped file) and its reads: never a panic, and a read returns the bytes the segment
//! table says or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray::source::{ElfCore, Memory};
use scxray_core::{PhysAddr, PhysMem};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(core) = ElfCore::from_bytes(data, Path::new("fuzz-input")) else { return };
    let _ = core.describe();
    let end = core.phys_end();
    let mut buf = [0u8; 24];
    for (pa, len) in core.ranges().into_iter().take(16) {
        for at in
            [pa, pa.saturating_add(len / 2), pa.saturating_add(len).saturating_sub(1), pa.saturating_add(len)]
        {
            let _ = core.read(PhysAddr(at), &mut buf);
            let _ = core.read(PhysAddr(at), &mut buf[..1]);
        }
    }
    let _ = core.read(PhysAddr(end.saturating_sub(3)), &mut buf);
    let _ = core.read(PhysAddr(u64::MAX - 4), &mut buf);
    let _ = Memory::Elf(core).scan(b"VMCOREINFO", 4);
});
