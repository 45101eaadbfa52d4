//! Damaged and mismatched inputs: each is a clear error with the documented exit code
//! (2 = bad input, 3 = unsupported), never a panic.

mod common;

use common::{populated, scxray, temp_dir, write};
use scxray_tests::AddressScheme;
use scxray_tests::btf_blob;
use scxray_tests::elf_core::{CoreFiles, CoreSpec, EM_AARCH64, EM_X86_64, tiny_elf_header, tiny_vmlinux};
use std::path::Path;
use std::process::Output;

const BAD_INPUT: i32 = 2;
const UNSUPPORTED: i32 = 3;

fn guest() -> CoreFiles {
    populated(AddressScheme::x86_kaslr(4), &CoreSpec::default()).0
}

/// Asserts the exit code, that stderr says `needle` in one `scxray: error:` line, and that
/// nothing panicked.
fn fails(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.starts_with("scxray: error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "`{n}` not in: {stderr}");
    }
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    stderr
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn truncated_core_cut_mid_segment() {
    let f = guest();
    let dir = temp_dir("truncated");
    let w = write(&dir, &f);
    let last = f.segments.last().unwrap();
    let cut = usize::try_from(last.offset + last.len / 2).unwrap();
    std::fs::write(&w.core, &f.core[..cut]).unwrap();
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    let e = fails(&out, BAD_INPUT, &["runs past the end of the file", "truncated dump?"]);
    assert!(e.contains(&format!("PT_LOAD #{}", last.phdr)), "{e}");
    assert!(e.contains(&format!("physical {:#x}", last.pa)), "{e}");
}

#[test]
fn core_cut_inside_the_headers() {
    let f = guest();
    let dir = temp_dir("cut-headers");
    let w = write(&dir, &f);
    for cut in [16, 63, 100] {
        std::fs::write(&w.core, &f.core[..cut]).unwrap();
        let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
        fails(&out, BAD_INPUT, &["guest.core"]);
    }
}

#[test]
fn pt_load_past_the_end_of_the_file() {
    let f = guest();
    let dir = temp_dir("pt-load-past-end");
    let w = write(&dir, &f);
    let first = f.segments[0];
    for filesz in [f.core.len() as u64, u64::MAX - 4] {
        let mut core = f.core.clone();
        let at = CoreFiles::phdr_filesz_offset(first.phdr);
        core[at..at + 8].copy_from_slice(&filesz.to_le_bytes());
        std::fs::write(&w.core, &core).unwrap();
        let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
        fails(&out, BAD_INPUT, &[&format!("PT_LOAD #{}", first.phdr), "runs past the end of the file"]);
    }
}

#[test]
fn no_btf_anywhere() {
    let f = guest();
    assert!(!f.symbols.contains_key("__start_BTF"));
    let dir = temp_dir("no-btf");
    let w = write(&dir, &f);
    let out = scxray(&["dump", &w.core, "--system-map", &w.map]);
    fails(&out, BAD_INPUT, &["no BTF", "--btf", "--vmlinux"]);
}

#[test]
fn vmlinux_of_another_architecture() {
    let f = guest();
    let dir = temp_dir("wrong-arch");
    let w = write(&dir, &f);
    // A RISC-V kernel: not one scxray walks.
    let riscv = dir.join("vmlinux-riscv");
    std::fs::write(&riscv, tiny_elf_header(243, 2)).unwrap();
    let out = scxray(&["dump", &w.core, "--vmlinux", path(&riscv), "--system-map", &w.map]);
    fails(&out, UNSUPPORTED, &["vmlinux-riscv", "x86_64 and aarch64"]);
    // An arm64 kernel for an x86_64 dump: a mismatch, said as one.
    let arm = dir.join("vmlinux-arm64");
    std::fs::write(&arm, tiny_vmlinux(EM_AARCH64, "7.3.4+deb13-synthetic", &f.btf)).unwrap();
    let out = scxray(&["dump", &w.core, "--vmlinux", path(&arm), "--system-map", &w.map]);
    fails(&out, BAD_INPUT, &["vmlinux-arm64 is an aarch64 kernel, but the dump is of an x86_64 machine"]);
}

#[test]
fn btf_of_another_kernel_by_release() {
    let f = guest();
    let dir = temp_dir("other-release");
    let w = write(&dir, &f);
    let v = dir.join("vmlinux-6.12");
    std::fs::write(&v, tiny_vmlinux(EM_X86_64, "6.12.48+deb13-amd64", &f.btf)).unwrap();
    let out = scxray(&["dump", &w.core, "--vmlinux", path(&v), "--system-map", &w.map]);
    fails(&out, BAD_INPUT, &["is the kernel 6.12.48+deb13-amd64", "the dump is of 7.3.4+deb13-synthetic"]);
}

#[test]
fn btf_without_sched_ext() {
    let f = guest();
    let dir = temp_dir("no-sched-ext");
    let w = write(&dir, &f);
    let btf = btf_blob::for_layout(&f.guest.layout, btf_blob::Options { sched_ext: false });
    let p = dir.join("no-scx.btf");
    std::fs::write(&p, btf).unwrap();
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", path(&p)]);
    fails(&out, UNSUPPORTED, &["built without sched_ext", "CONFIG_SCHED_CLASS_EXT"]);
}

#[test]
fn garbage_btf() {
    let f = guest();
    let dir = temp_dir("garbage-btf");
    let w = write(&dir, &f);
    let p = dir.join("garbage.btf");
    for bytes in [&b""[..], b"\x9f\xeb\x01\x00garbage", &f.btf[..f.btf.len() / 2]] {
        std::fs::write(&p, bytes).unwrap();
        let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", path(&p)]);
        fails(&out, BAD_INPUT, &["BTF"]);
    }
}

/// Not an ELF file: read as a raw RAM image, in which nothing is found.
#[test]
fn garbage_read_as_raw_memory() {
    let f = guest();
    let dir = temp_dir("garbage-raw");
    let w = write(&dir, &f);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let garbage: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let p = dir.join("garbage.img");
    std::fs::write(&p, &garbage).unwrap();
    let out = scxray(&["dump", path(&p)]);
    fails(&out, BAD_INPUT, &["no page-table root", "no VMCOREINFO"]);
    let out = scxray(&["dump", path(&p), "--system-map", &w.map, "--btf", &w.btf]);
    fails(&out, BAD_INPUT, &["no page-table root"]);
    let out = scxray(&["info", path(&p), "--system-map", &w.map, "--btf", &w.btf]);
    fails(&out, BAD_INPUT, &["no page-table root"]);
    // An empty file.
    let empty = dir.join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    let out = scxray(&["dump", path(&empty), "--system-map", &w.map, "--btf", &w.btf]);
    fails(&out, BAD_INPUT, &[]);
}

/// The System.map of another build: its addresses read garbage, which is said.
#[test]
fn system_map_of_another_build() {
    let f = guest();
    let dir = temp_dir("other-map");
    let w = write(&dir, &f);
    let shifted: String = f
        .system_map
        .lines()
        .map(|l| {
            let (a, rest) = l.split_once(' ').unwrap();
            let a = u64::from_str_radix(a, 16).unwrap();
            let a = if a >= 0xffff_ffff_8000_0000 { a + 0x20_0000 } else { a };
            format!("{a:016x} {rest}\n")
        })
        .collect();
    let p = dir.join("System.map-other");
    std::fs::write(&p, shifted).unwrap();
    let out = scxray(&["dump", &w.core, "--system-map", path(&p), "--btf", &w.btf]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(BAD_INPUT), "stderr: {stderr}");
}

/// A core of another machine, a big-endian core, and a vmlinux passed as the memory.
#[test]
fn cores_scxray_does_not_read() {
    let f = guest();
    let dir = temp_dir("foreign-cores");
    let w = write(&dir, &f);
    let mut riscv = f.core.clone();
    riscv[18..20].copy_from_slice(&243u16.to_le_bytes()); // e_machine = EM_RISCV
    std::fs::write(&w.core, &riscv).unwrap();
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    fails(&out, UNSUPPORTED, &["ELF machine 243", "not x86_64 or aarch64"]);

    let mut big = f.core.clone();
    big[5] = 2; // EI_DATA = ELFDATA2MSB
    std::fs::write(&w.core, &big).unwrap();
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    fails(&out, BAD_INPUT, &["guest.core"]);

    let v = dir.join("vmlinux");
    std::fs::write(&v, tiny_vmlinux(EM_X86_64, "7.3.4+deb13-synthetic", &f.btf)).unwrap();
    let out = scxray(&["dump", path(&v), "--system-map", &w.map, "--btf", &w.btf]);
    fails(&out, BAD_INPUT, &["not a core (ET_CORE)", "vmlinux passed as MEMORY"]);
}
