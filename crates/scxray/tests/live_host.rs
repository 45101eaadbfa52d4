//! The running host as the guest (no MEMORY argument): this machine's own kernel, and a
//! synthetic "host" (a kcore-shaped ELF of a kit guest, its kallsyms and BTF) configured
//! through the same path.

mod common;

use common::{populated, scxray, temp_dir, write};
use scxray::target::live::{HostPaths, configure_from};
use scxray::{Inputs, Report};
use scxray_core::{Limits, PhysAddr, PhysMem};
use scxray_tests::AddressScheme;
use scxray_tests::elf_core::{CoreFiles, CoreSpec, EHDR_SIZE, PHDR_SIZE};
use std::path::Path;

/// This machine's kernel: without sched_ext (as this workplace's 6.18 is) `scxray dump` and
/// `info` exit 3 saying so; with it, they read it (as root) or say what is missing.
#[test]
fn this_host() {
    let btf_path = Path::new("/sys/kernel/btf/vmlinux");
    let Ok(btf) = std::fs::read(btf_path) else {
        eprintln!("skipped: no {}", btf_path.display());
        return;
    };
    let has_scx = scxray_btf::Btf::parse(&btf).ok().is_some_and(|b| {
        !matches!(scxray_btf::resolve_layout(&b), Err(scxray_btf::ResolveError::NoSchedExt))
    });
    for cmd in ["info", "dump"] {
        let out = scxray(&[cmd]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if !has_scx {
            assert_eq!(out.status.code(), Some(3), "{cmd}: {stderr}");
            assert!(stderr.contains("built without sched_ext"), "{stderr}");
        } else if !Path::new("/proc/kcore").exists() {
            assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
            assert!(stderr.contains("/proc/kcore"), "{stderr}");
        } else {
            assert_eq!(out.status.code(), Some(0), "{cmd}: {stderr}");
        }
    }
}

/// A kcore-shaped file of the kit guest: PT_LOADs by direct-map virtual address with the
/// physical address in `p_paddr`, a kernel-text PT_LOAD inside one of them, and a vmalloc
/// PT_LOAD with `p_paddr` = -1; the notes as they were. The original core's bytes follow the
/// new headers and the segments point into them.
fn kcore_of(f: &CoreFiles) -> Vec<u8> {
    let core = &f.core;
    let ph = |i: usize| &core[EHDR_SIZE + i * PHDR_SIZE..EHDR_SIZE + (i + 1) * PHDR_SIZE];
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let notes = ph(0);
    let base = 0x10000u64;
    let mut phdrs: Vec<(u32, u64, u64, u64, u64)> =
        vec![(4, u64_at(notes, 8) + base, 0, 0, u64_at(notes, 32))];
    for s in &f.segments {
        phdrs.push((1, s.offset + base, f.scheme.direct_va(s.pa), s.pa, s.len));
    }
    let text_off = f.file_offset(f.scheme.image_pa).unwrap() as u64;
    phdrs.push((1, text_off + base, f.scheme.image_va, f.scheme.image_pa, f.scheme.image_size));
    phdrs.push((1, f.segments[0].offset + base, f.scheme.vmalloc.unwrap(), u64::MAX, 0x10000));
    let mut out = core[..EHDR_SIZE].to_vec();
    out[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for (ty, off, va, pa, len) in phdrs {
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&7u32.to_le_bytes());
        for v in [off, va, pa, len, len, 4096] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.resize(base as usize, 0);
    out.extend_from_slice(core);
    out
}

/// `/proc/kallsyms` text: runtime addresses, padded with filler symbols to a real size.
fn kallsyms_of(f: &CoreFiles, zeroed: bool) -> String {
    let mut t = String::new();
    for (n, a) in &f.symbols {
        t += &format!("{:016x} D {n}\n", if zeroed { 0 } else { *a });
    }
    for i in 0..200 {
        t += &format!("{:016x} t filler_{i}\n", if zeroed { 0 } else { f.scheme.image_va + 0x10 * i });
    }
    t
}

#[test]
fn a_synthetic_host_reads_like_its_elf_core() {
    let (f, _) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    let dir = temp_dir("live-synthetic");
    let w = write(&dir, &f);
    let paths = HostPaths {
        kcore: dir.join("kcore"),
        btf: dir.join("vmlinux.btf"),
        kallsyms: dir.join("kallsyms"),
        kptr_restrict: dir.join("kptr_restrict"),
    };
    std::fs::write(&paths.kcore, kcore_of(&f)).unwrap();
    std::fs::write(&paths.kallsyms, kallsyms_of(&f, false)).unwrap();
    std::fs::write(&paths.kptr_restrict, "2\n").unwrap();

    let t = configure_from(&paths, &Inputs::default()).unwrap_or_else(|e| panic!("{e}"));
    let how = t.setup().iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    for needle in [
        "memory: live host memory via",
        "2 physical segments",
        "VMCOREINFO: from the core's note",
        "symbols: ",
        "BTF: ",
    ] {
        assert!(how.contains(needle), "`{needle}` not in:\n{how}");
    }
    // The kernel-text segment inside RAM and the vmalloc one (no p_paddr) add no segment;
    // bytes read match the guest's.
    let mut b = [0u8; 64];
    let pa = f.scheme.image_pa + 0x40;
    t.memory().read(PhysAddr(pa), &mut b).unwrap();
    let off = usize::try_from(pa - f.guest.mem_base).unwrap();
    assert_eq!(b[..], f.guest.mem[off..off + 64]);

    let mut got = serde_json::to_value(Report::build(&t, Limits::DEFAULT)).unwrap();
    let out =
        scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--format", "json", "--no-bpf"]);
    assert_eq!(out.status.code(), Some(0));
    let mut want: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    got["machine"]["memory"] = serde_json::Value::Null;
    want["machine"]["memory"] = serde_json::Value::Null;
    assert_eq!(got, want);

    // Hidden kallsyms addresses (not root, or kptr_restrict): said so.
    std::fs::write(&paths.kallsyms, kallsyms_of(&f, true)).unwrap();
    let e = configure_from(&paths, &Inputs::default()).unwrap_err().to_string();
    assert!(
        e.contains("every address reads 0") && e.contains("kptr_restrict = 2") && e.contains("root"),
        "{e}"
    );
    // No kcore: said so.
    let gone = HostPaths { kcore: dir.join("no-kcore"), ..paths.clone() };
    let e = configure_from(&gone, &Inputs::default()).unwrap_err().to_string();
    assert!(e.contains("no-kcore: not found") && e.contains("CONFIG_PROC_KCORE"), "{e}");
    // A BTF without sched_ext: unsupported, before anything else is read.
    let plain = HostPaths { btf: dir.join("empty.btf"), kcore: dir.join("no-kcore"), ..paths };
    std::fs::write(
        &plain.btf,
        [0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    )
    .unwrap();
    match configure_from(&plain, &Inputs::default()) {
        Err(scxray::Error::Unsupported(m)) => assert!(m.contains("built without sched_ext"), "{m}"),
        other => panic!("{other:?}"),
    }
}
