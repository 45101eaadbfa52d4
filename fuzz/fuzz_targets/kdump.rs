//! The host crate's kdump-compressed core parser (`KdumpCore::from_bytes`, the same code
//! `open` runs on a mapped file: plain and flattened layouts, bitmaps, descriptors, notes) and
//! its page reads (zlib, LZO, snappy, zstd): never a panic, never a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray::source::{KdumpCore, Memory};
use scxray_core::{PhysAddr, PhysMem};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(core) = KdumpCore::from_bytes(data, Path::new("fuzz-input")) else { return };
    let _ = core.describe();
    let end = core.phys_end();
    let page = core.page_size();
    let mut buf = [0u8; 24];
    for (pa, len) in core.ranges().into_iter().take(16) {
        for at in [
            pa,
            pa.saturating_add(len / 2),
            pa.saturating_add(len).saturating_sub(1),
            pa.saturating_add(page),
        ] {
            let _ = core.read(PhysAddr(at), &mut buf);
            let _ = core.read(PhysAddr(at), &mut buf[..1]);
        }
    }
    let _ = core.read(PhysAddr(end.saturating_sub(3)), &mut buf);
    let _ = core.read(PhysAddr(u64::MAX - 4), &mut buf);
    let _ = Memory::Kdump(Box::new(core)).scan(b"VMCOREINFO", 4);
});
