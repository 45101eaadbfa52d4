//! Real kernels' BTF (Debian 7.x packages, extracted by `cargo xtask`): when
//! `SCXRAY_KERNEL_BTF_DIR` is set, every `*.btf` file in it is parsed and resolved, and which
//! optional layout parts exist is compared with `tests/data/optional-members.txt`; the
//! kernels whose numbers the kernel matrix gives are compared member by member too.
//! Without the variable the test says it was skipped.

use std::collections::BTreeSet;
use std::path::Path;

mod common;

use scxray_btf::{Btf, ResolveError, resolve_layout};
use scxray_core::{Layout, RqLayout, SchedPcpuLayout, TaskLayout};

const TABLE: &str = include_str!("data/optional-members.txt");

/// Every token of a layout, in the table's vocabulary.
fn tokens(l: &Layout) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut put = |name: &str, present: bool| {
        out.insert(format!("{}{name}", if present { '+' } else { '-' }));
    };
    put("[rq]", l.rq.is_some());
    put("[scx_rq]", l.scx_rq.is_some());
    put("[task]", l.task.is_some());
    put("[see]", l.see.is_some());
    put("[dsq]", l.dsq.is_some());
    put("[dsq_lnode]", l.dsq_lnode.is_some());
    put("[sched]", l.sched.is_some());
    put("[sched_pcpu]", l.sched_pcpu.is_some());
    put("[sched_pnode]", l.sched_pnode.is_some());
    put("[rht]", l.rht.is_some());
    let rq = l.rq.unwrap_or_default();
    put("rq.cpu", rq.cpu.is_some());
    put("rq.clock", rq.clock.is_some());
    let s = l.scx_rq.unwrap_or_default();
    put("scx_rq.ops_qseq", s.ops_qseq.is_some());
    put("scx_rq.kick_sync", s.kick_sync.is_some());
    put("scx_rq.nr_immed", s.nr_immed.is_some());
    put("scx_rq.clock", s.clock.is_some());
    put("scx_rq.reject_dsq", s.reject_dsq.is_some());
    put("scx_rq.rescue", s.rescue_dsq.is_some());
    let t = l.task.unwrap_or_default();
    put("task_struct.tgid", t.tgid.is_some());
    put("task_struct.__state", t.state.is_some());
    put("task_struct.on_rq", t.on_rq.is_some());
    put("task_struct.cpus_ptr", t.cpus_ptr.is_some());
    let e = l.see.unwrap_or_default();
    put("sched_ext_entity.dsq", e.dsq.is_some());
    put("sched_ext_entity.ops_state", e.ops_state.is_some());
    put("sched_ext_entity.ddsp_dsq_id", e.ddsp_dsq_id.is_some());
    put("sched_ext_entity.weight", e.weight.is_some());
    put("sched_ext_entity.sticky_cpu", e.sticky_cpu.is_some());
    put("sched_ext_entity.holding_cpu", e.holding_cpu.is_some());
    put("sched_ext_entity.runnable_at", e.runnable_at.is_some());
    put("sched_ext_entity.slice", e.slice.is_some());
    put("sched_ext_entity.dsq_vtime", e.dsq_vtime.is_some());
    let sc = l.sched.unwrap_or_default();
    put("scx_sched.pnode", sc.pnode.is_some());
    put("scx_sched.pcpu", sc.pcpu.is_some());
    put("scx_sched.aborting", sc.aborting.is_some());
    put("scx_sched.bypass_depth", sc.bypass_depth.is_some());
    put("scx_sched.children", sc.children.is_some());
    put("scx_sched.sibling", sc.sibling.is_some());
    put("scx_sched.level", sc.level.is_some());
    let b = &l.bpf;
    put("[bpf.idr]", b.idr.is_some());
    put("[bpf.map]", b.map.is_some());
    put("[bpf.prog]", b.prog.is_some());
    put("[bpf.btf]", b.btf.is_some());
    put("[bpf.array]", b.array.is_some());
    put("[bpf.htab]", b.htab.is_some());
    put("[bpf.local_storage]", b.local_storage.is_some());
    put("[bpf.queue_stack]", b.queue_stack.is_some());
    put("[bpf.arena]", b.arena.is_some());
    put("[bpf.struct_ops]", b.struct_ops.is_some());
    put("idr.idr_base", b.idr.is_some_and(|i| i.base.is_some()));
    let m = b.map.unwrap_or_default();
    put("bpf_map.btf_vmlinux_value_type_id", m.btf_vmlinux_value_type_id.is_some());
    put("bpf_map.map_extra", m.map_extra.is_some());
    let p = b.prog.unwrap_or_default();
    put("bpf_prog.jited_len", p.jited_len.is_some());
    put("bpf_prog.stats", p.stats.is_some());
    put("bpf_prog_aux.btf", p.aux_btf.is_some());
    put("bpf_prog_aux.load_time", p.aux_load_time.is_some());
    put("bpf_prog_aux.verified_insns", p.aux_verified_insns.is_some());
    put("bpf_prog_aux.arena", p.aux_arena.is_some());
    put("bpf_prog_aux.attach_st_ops_member_off", p.aux_st_ops_member_off.is_some());
    put("bpf_prog_stats.misses", p.stats_misses.is_some());
    put("btf.id", b.btf.is_some_and(|k| k.id.is_some()));
    put("bpf_htab.count", b.htab.is_some_and(|h| h.count.is_some()));
    put("task_struct.bpf_storage", b.local_storage.is_some_and(|s| s.task_storage.is_some()));
    let a = b.arena.unwrap_or_default();
    put("bpf_arena.rt", a.free.is_some());
    put("bpf_arena.scratch_page", a.scratch_page.is_some());
    put("bpf_arena.nr_pages", a.nr_pages.is_some());
    put("sched_ext_ops.priv", b.struct_ops.is_some_and(|s| s.ops_priv.is_some()));
    put("scx_sched.arena_map", b.sched_arena_map.is_some());
    put("scx_sched.arena_kern_base", b.sched_arena_kern_base.is_some());
    out
}

/// The table: release -> tokens (or {"no-sched-ext"}).
fn table() -> Vec<(String, BTreeSet<String>)> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, rest) = l.split_once(": ").unwrap_or_else(|| panic!("bad table line: {l}"));
            (name.to_string(), rest.split_whitespace().map(str::to_string).collect())
        })
        .collect()
}

/// The kernel matrix's numbers, for the kernels it measured.
fn matrix_layout(release: &str) -> Option<Layout> {
    match release {
        "7.2.13+deb14-cloud-amd64" => Some(Layout {
            bpf: scxray_tests::kernels::debian_7_2_amd64_bpf(),
            ..scxray_tests::kernels::debian_7_2_amd64()
        }),
        "7.3.4+deb13-cloud-amd64" => Some(Layout {
            bpf: scxray_tests::kernels::debian_7_3_amd64_bpf(),
            ..scxray_tests::kernels::debian_7_3_amd64()
        }),
        "7.3.4+deb13-cloud-arm64" => {
            let mut l = scxray_tests::kernels::debian_7_3_amd64();
            l.bpf = scxray_tests::kernels::debian_7_3_amd64_bpf();
            if let Some(s) = l.bpf.local_storage.as_mut() {
                s.task_storage = Some(3600);
            }
            l.rq = Some(RqLayout { scx: 2424, curr: 24, cpu: Some(4008), clock: Some(3856) });
            l.task = Some(TaskLayout {
                scx: 776,
                pid: 1880,
                comm: 2416,
                tgid: Some(1884),
                state: Some(32),
                on_rq: Some(61),
                cpus_ptr: Some(1440),
            });
            l.sched_pcpu = Some(SchedPcpuLayout { bypass_dsq: 304 });
            Some(l)
        }
        _ => None,
    }
}

/// The `.BTF` section of an ELF file (64-bit, either byte order), for a directory that holds
/// whole vmlinux files instead of extracted sections.
fn elf_btf(data: &[u8]) -> Option<&[u8]> {
    if data.get(..4)? != b"\x7fELF" || *data.get(4)? != 2 {
        return None;
    }
    let big = *data.get(5)? == 2;
    let rd = |at: usize, n: usize| -> Option<u64> {
        let b = data.get(at..at + n)?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if big { b[i] } else { b[n - 1 - i] };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    };
    let shoff = usize::try_from(rd(0x28, 8)?).ok()?;
    let shentsize = usize::try_from(rd(0x3a, 2)?).ok()?;
    let shnum = usize::try_from(rd(0x3c, 2)?).ok()?;
    let shstrndx = usize::try_from(rd(0x3e, 2)?).ok()?;
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = usize::try_from(rd(sh(shstrndx) + 0x18, 8)?).ok()?;
    for i in 0..shnum {
        let name = usize::try_from(rd(sh(i), 4)?).ok()?;
        let n = data.get(strtab + name..)?;
        if n.starts_with(b".BTF\0") {
            let off = usize::try_from(rd(sh(i) + 0x18, 8)?).ok()?;
            let size = usize::try_from(rd(sh(i) + 0x20, 8)?).ok()?;
            return data.get(off..off + size);
        }
    }
    None
}

#[test]
fn real_kernels_match_the_expectations_table() {
    let Ok(dir) = std::env::var("SCXRAY_KERNEL_BTF_DIR") else {
        println!(
            "SKIPPED: SCXRAY_KERNEL_BTF_DIR is not set (`cargo xtask` sets it after extracting Debian kernels' BTF)"
        );
        return;
    };
    let (files, failures) = check_dir(Path::new(&dir));
    assert!(files > 0, "no *.btf files in SCXRAY_KERNEL_BTF_DIR={dir}");
    assert!(failures.is_empty(), "{} of {files} kernels differ:\n{}", failures.len(), failures.join("\n"));
}

/// Checks every `*.btf` in `dir`; returns (files, failures).
fn check_dir(dir: &Path) -> (usize, Vec<String>) {
    let table = table();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "btf"))
        .collect();
    files.sort();

    let mut failures = Vec::new();
    for path in &files {
        let release = path.file_stem().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(path).unwrap();
        let data = elf_btf(&raw).unwrap_or(&raw);
        let mut scratch = vec![0u32; Btf::scratch_words(data).unwrap_or_else(|e| panic!("{release}: {e}"))];
        let btf = Btf::parse_in(data, &mut scratch).unwrap_or_else(|e| panic!("{release}: {e}"));
        let got: BTreeSet<String> = match resolve_layout(&btf) {
            Ok(layout) => {
                if let Some(want) = matrix_layout(&release)
                    && want != layout
                {
                    failures.push(format!(
                        "{release}: layout differs from the kernel matrix (tests/src/kernels.rs; its rescue_dsq \
                         assumes the DSQ leads scx_rq.rescue)\n  ours:   {layout:?}\n  matrix: {want:?}"
                    ));
                }
                println!("{release}: {} types, layout {layout:?}", btf.last_id());
                tokens(&layout)
            }
            Err(ResolveError::NoSchedExt) => {
                println!("{release}: no sched_ext");
                ["no-sched-ext".to_string()].into()
            }
            Err(e) => {
                failures.push(format!("{release}: resolve_layout failed: {e}"));
                continue;
            }
        };
        let line = got.iter().cloned().collect::<Vec<_>>().join(" ");
        match table.iter().find(|(name, _)| *name == release) {
            None => failures.push(format!(
                "{release}: not in tests/data/optional-members.txt; its line would be:\n{release}: {line}"
            )),
            Some((_, want)) if *want != got => {
                let missing: Vec<_> = want.difference(&got).collect();
                let extra: Vec<_> = got.difference(want).collect();
                failures.push(format!("{release}: table says {missing:?}, BTF says {extra:?}"));
            }
            Some(_) => println!("{release}: optional members as expected"),
        }
    }
    (files.len(), failures)
}

#[test]
fn table_lines_cover_every_token() {
    // Every sched_ext line lists exactly the tokens `tokens` produces (no typos, no gaps).
    let all: BTreeSet<String> = tokens(&matrix_layout("7.3.4+deb13-cloud-amd64").unwrap())
        .iter()
        .map(|t| t[1..].to_string())
        .collect();
    for (name, toks) in table() {
        if toks.len() == 1 && toks.contains("no-sched-ext") {
            continue;
        }
        let names: BTreeSet<String> = toks.iter().map(|t| t[1..].to_string()).collect();
        assert_eq!(names, all, "{name}");
    }
    // The matrix kernels' own layouts agree with their lines.
    for (name, toks) in table() {
        if let Some(l) = matrix_layout(&name) {
            assert_eq!(tokens(&l), toks, "{name}");
        }
    }
}

/// Wraps a BTF blob as the `.BTF` section of a minimal little-endian ELF64 file.
fn wrap_in_elf(btf: &[u8]) -> Vec<u8> {
    let shstrtab = b"\0.shstrtab\0.BTF\0";
    let btf_off = 64usize;
    let str_off = btf_off + btf.len();
    let sh_off = (str_off + shstrtab.len() + 7) & !7;
    let mut out = vec![0u8; sh_off + 3 * 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1;
    out[0x28..0x30].copy_from_slice(&(sh_off as u64).to_le_bytes());
    out[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
    out[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
    out[btf_off..str_off].copy_from_slice(btf);
    out[str_off..str_off + shstrtab.len()].copy_from_slice(shstrtab);
    let mut section = |i: usize, name: u32, off: usize, size: usize| {
        let h = sh_off + i * 64;
        out[h..h + 4].copy_from_slice(&name.to_le_bytes());
        out[h + 0x18..h + 0x20].copy_from_slice(&(off as u64).to_le_bytes());
        out[h + 0x20..h + 0x28].copy_from_slice(&(size as u64).to_le_bytes());
    };
    section(1, 1, str_off, shstrtab.len());
    section(2, 11, btf_off, btf.len());
    out
}

#[test]
fn harness_checks_a_directory_of_kernels() {
    use common::kernel::{self, Opts};
    let dir = std::env::temp_dir().join(format!("scxray-btf-real-kernels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let synthetic = kernel::build(&Opts::default());
    std::fs::write(dir.join("7.3.4+deb13-cloud-amd64.btf"), &synthetic).unwrap();
    // A whole ELF instead of the extracted section is read too.
    std::fs::write(dir.join("7.3.4+deb13-cloud-arm64.btf"), wrap_in_elf(&synthetic)).unwrap();
    std::fs::write(
        dir.join("6.12.117+deb13-cloud-amd64.btf"),
        kernel::build(&Opts { sched_ext: false, ..Opts::default() }),
    )
    .unwrap();
    std::fs::write(
        dir.join("9.9.9-unknown.btf"),
        kernel::build(&Opts { rescue_dsq_inner: None, ..Opts::default() }),
    )
    .unwrap();
    std::fs::write(dir.join("ignored.txt"), b"not a kernel").unwrap();
    let (files, failures) = check_dir(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(files, 4);
    // The synthetic 7.3 amd64 kernel matches; as "arm64" its rq/task numbers do not; the
    // unknown kernel is reported with the line to add.
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].starts_with("7.3.4+deb13-cloud-arm64: layout differs"), "{}", failures[0]);
    assert!(
        failures[1].starts_with("9.9.9-unknown: not in tests/data/optional-members.txt"),
        "{}",
        failures[1]
    );
    assert!(failures[1].contains("-scx_rq.rescue"), "{}", failures[1]);
}
