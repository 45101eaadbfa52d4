//! kdump-compressed cores written by the kit (every compression, plain and flattened) from
//! the same synthetic guest as an ELF core: `scxray dump` must report the same thing from
//! both; pages left out of the dump read as not backed, never as zeros; damaged files are
//! refused or read as errors, never a panic.

mod common;

use common::{populated, scxray, temp_dir, write};
use scxray::report::Report;
use scxray::source::KdumpCore;
use scxray_core::{MemError, PhysAddr, PhysMem};
use scxray_tests::AddressScheme;
use scxray_tests::elf_core::{CoreFiles, CoreSpec};
use scxray_tests::kdump::{Compression, KdumpSpec, write_kdump};
use std::path::Path;

fn dump_json(core: &str, w: &common::Written) -> Report {
    let out = scxray(&["dump", core, "--system-map", &w.map, "--btf", &w.btf, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{core}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// The report as JSON with the memory description (which names the file's format) blanked.
fn comparable(mut r: Report) -> serde_json::Value {
    r.machine.memory = String::new();
    serde_json::to_value(r).unwrap()
}

/// Every byte of guest memory reads the same from the kdump core as from the kit's image,
/// across page boundaries and through the page cache.
fn same_bytes(k: &KdumpCore, f: &CoreFiles) {
    for s in &f.segments {
        let mut at = s.pa;
        let mut len = 1usize;
        while at < s.pa + s.len {
            let n = (len as u64).min(s.pa + s.len - at) as usize;
            let mut buf = vec![0u8; n];
            k.read(PhysAddr(at), &mut buf).unwrap_or_else(|e| panic!("{at:#x}+{n}: {e}"));
            let off = usize::try_from(at - f.guest.mem_base).unwrap();
            assert!(buf == f.guest.mem[off..off + n], "bytes at {at:#x}+{n}");
            at += n as u64;
            len = len * 3 % 10007 + 1;
        }
    }
}

#[test]
fn every_compression_plain_and_flattened_reads_like_the_elf_core() {
    let (f, _) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    let dir = temp_dir("kdump-all");
    let w = write(&dir, &f);
    let want = comparable(dump_json(&w.core, &w));
    for c in Compression::ALL {
        for flattened in [false, true] {
            let name = format!("{c:?}{}", if flattened { "-flat" } else { "" });
            let spec = KdumpSpec { compression: c, flattened, ..KdumpSpec::default() };
            let bytes = write_kdump(&f, &spec);
            let path = dir.join(format!("guest.{name}.kdump"));
            std::fs::write(&path, &bytes).unwrap();
            let k = KdumpCore::from_bytes(&bytes, &path).unwrap();
            same_bytes(&k, &f);
            assert_eq!(k.vmcoreinfo.as_deref(), Some(f.vmcoreinfo.as_str()), "{name}");
            assert_eq!(k.cpus.len(), 4, "{name}: one NT_PRSTATUS per vCPU");
            assert_eq!(k.cpus[0].cr3, Some(f.root), "{name}: CR3 from the QEMU note");
            let got = dump_json(path.to_str().unwrap(), &w);
            assert!(got.machine.memory.starts_with("kdump-compressed core"), "{}", got.machine.memory);
            assert_eq!(got.machine.memory.contains("flattened"), flattened);
            assert_eq!(comparable(got), want, "{name}: the report differs from the ELF core's");
        }
    }
    // `info` says what it read.
    let path = dir.join("guest.Zstd-flat.kdump");
    let out = scxray(&["info", path.to_str().unwrap(), "--system-map", &w.map, "--btf", &w.btf]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "memory: kdump-compressed core, flattened (x86_64, zstd), header version 6, 4 KiB pages",
        "VMCOREINFO: from the core's note",
        &format!("CR3: {:#x} from the core's QEMU note", f.root),
    ] {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
}

/// Pages the dump left out read as `NotBacked`, not as zeros; all-zero pages that were
/// dumped (one shared stored page) read as zeros; and a walk through a left-out page breaks
/// with the address named while the rest is reported.
#[test]
fn pages_not_dumped_are_not_backed_and_zero_pages_are_zero() {
    let (f, e) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    // The page of cpu 0's local DSQ's first task.
    let l0 = e.dsqs.iter().find(|d| d.label == "local cpu 0").unwrap();
    let pid = l0.tasks[0].0;
    let kva = e.task_kvas.iter().find(|(p, _)| *p == pid).unwrap().1;
    let pa = f.guest.map.pa(kva);
    let page = f.scheme.page();
    // A zero page that is dumped (stored once, shared by every zero page).
    let last = f
        .segments
        .iter()
        .flat_map(|s| (s.pa..s.pa + s.len).step_by(page as usize))
        .find(|&p| {
            let off = usize::try_from(p - f.guest.mem_base).unwrap();
            f.guest.mem[off..off + page as usize].iter().all(|&b| b == 0)
        })
        .expect("a zero page");

    for c in [Compression::Zlib, Compression::Lzo] {
        let spec = KdumpSpec { compression: c, excluded: vec![pa], ..KdumpSpec::default() };
        let bytes = write_kdump(&f, &spec);
        let dir = temp_dir(&format!("kdump-excluded-{c:?}"));
        let w = write(&dir, &f);
        let path = dir.join("guest.kdump");
        std::fs::write(&path, &bytes).unwrap();
        let k = KdumpCore::from_bytes(&bytes, &path).unwrap();
        let start = pa & !(page - 1);
        let mut b = [0xffu8; 8];
        assert_eq!(k.read(PhysAddr(pa), &mut b), Err(MemError::NotBacked { pa: PhysAddr(pa), len: 8 }));
        assert_eq!(b, [0xff; 8], "no partial result");
        // A read that starts in the page before and runs into it fails whole.
        let mut b = [0u8; 16];
        assert!(matches!(k.read(PhysAddr(start - 8), &mut b), Err(MemError::NotBacked { .. })));
        let mut z = vec![0xffu8; page as usize];
        k.read(PhysAddr(last), &mut z).unwrap();
        assert!(z.iter().all(|&b| b == 0));
        // Past the end and in the hole: not backed.
        let hole = f.scheme.hole.clone().unwrap();
        assert!(matches!(k.read(PhysAddr(hole.start + 64), &mut b), Err(MemError::NotBacked { .. })));
        assert!(matches!(k.read(PhysAddr(u64::MAX - 4), &mut b), Err(MemError::NotBacked { .. })));

        let r = dump_json(path.to_str().unwrap(), &w);
        let d = r.dsqs.iter().find(|d| d.label == "local cpu 0").unwrap();
        // The DSQ's list runs through the task's page: its walk breaks there.
        assert!(d.tasks.is_empty(), "{d:?}");
        let err = d.walk.broken.as_deref().expect("the walk breaks at the left-out page");
        assert!(err.contains("no guest memory backs"), "{err}");
        // scx_tasks also runs through it: the tasks before it are reported, then the break.
        let pids: Vec<_> = r.scx_tasks.tasks.iter().filter_map(|t| t.pid).collect();
        assert!(!pids.contains(&pid), "{pids:?}");
        assert!(r.scx_tasks.walk.broken.as_deref().is_some_and(|b| b.contains("no guest memory backs")));
        // The other CPUs' DSQs are whole.
        let l1 = r.dsqs.iter().find(|d| d.label == "local cpu 1").unwrap();
        assert!(l1.walk.broken.is_none() && l1.tasks.iter().all(|t| t.error.is_none()));
    }
}

/// Truncated files are refused at open or read as errors; flipped bytes anywhere in the
/// headers, bitmaps and descriptors never panic.
#[test]
fn truncated_and_damaged_kdump_files_never_panic() {
    let (f, _) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    for c in [Compression::Zlib, Compression::Snappy, Compression::Lzo, Compression::Zstd] {
        for flattened in [false, true] {
            let good = write_kdump(&f, &KdumpSpec { compression: c, flattened, ..KdumpSpec::default() });
            let probe = |bytes: Vec<u8>| {
                if let Ok(k) = KdumpCore::from_bytes(&bytes, Path::new("damaged")) {
                    let mut buf = [0u8; 256];
                    for s in &f.segments {
                        for pa in (s.pa..s.pa + s.len).step_by(4096 * 7 + 100) {
                            let _ = k.read(PhysAddr(pa), &mut buf);
                        }
                    }
                    let _ = (k.describe(), k.phys_end(), k.ranges());
                }
            };
            // Truncations at many points.
            let mut cut = 0usize;
            while cut < good.len() {
                probe(good[..cut].to_vec());
                cut = cut * 2 + 333;
            }
            // Byte damage: headers, bitmaps, descriptors, data.
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ c.flag() as u64;
            for i in 0..120 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let mut b = good.clone();
                let span = if i % 3 == 0 { 8192 } else { b.len() };
                let at = (seed as usize) % span.min(b.len());
                for j in 0..8 {
                    if let Some(x) = b.get_mut(at + j) {
                        *x ^= (seed >> (8 * j)) as u8 | 1;
                    }
                }
                probe(b);
            }
        }
    }
    // The CLI on a truncated kdump: bad input (2), a message, no panic.
    let good = write_kdump(&f, &KdumpSpec::default());
    let dir = temp_dir("kdump-truncated");
    let path = dir.join("cut.kdump");
    std::fs::write(&path, &good[..6000]).unwrap();
    let out = scxray(&["info", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// aarch64 guests (4K pages, and 64K pages: the block size is the page size), and an x86_64
/// kdump without ELF notes (VMCOREINFO text only: CR3 from `init_top_pgt`), each against
/// its ELF core.
#[test]
fn aarch64_page_sizes_and_a_kdump_without_notes() {
    let cases = [
        ("arm-4k", AddressScheme::aarch64_kaslr(4096, 48), "aarch64", Compression::Zstd, true, "4 KiB pages"),
        (
            "arm-64k",
            AddressScheme::aarch64_kaslr(65536, 52),
            "aarch64",
            Compression::Snappy,
            true,
            "64 KiB pages",
        ),
        ("x86-no-notes", AddressScheme::x86_kaslr(5), "x86_64", Compression::Lzo, false, "0 vCPU notes"),
    ];
    for (name, scheme, machine, compression, notes, needle) in cases {
        let (f, _) = populated(scheme, &CoreSpec::default());
        let dir = temp_dir(&format!("kdump-{name}"));
        let w = write(&dir, &f);
        let want = comparable(dump_json(&w.core, &w));
        let spec = KdumpSpec { compression, machine, notes, flattened: true, ..KdumpSpec::default() };
        let path = dir.join("guest.kdump");
        std::fs::write(&path, write_kdump(&f, &spec)).unwrap();
        let got = dump_json(path.to_str().unwrap(), &w);
        assert!(got.machine.memory.contains(needle), "{name}: {}", got.machine.memory);
        assert_eq!(comparable(got), want, "{name}");
        if !notes {
            let out = scxray(&["info", path.to_str().unwrap(), "--system-map", &w.map, "--btf", &w.btf]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("VMCOREINFO: from the core's note"), "{text}");
            assert!(text.contains("(VMCOREINFO)") && text.contains("CR3: init_top_pgt"), "{text}");
        }
    }
}
