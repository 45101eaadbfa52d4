//! End to end: synthetic guests written as real ELF cores (VMCOREINFO and CPU notes, PT_LOAD
//! segments with a hole, real page tables, KASLR), with a System.map and a BTF, read by the
//! `scxray` binary; its JSON report is compared field by field with what the builder put in.

mod common;

use common::{Expect, Task, populated, scxray, temp_dir, write, write_temp};
use scxray::report::{Report, TaskRef};
use scxray_core::{FlatImage, PhysAddr, Translate, VirtAddr};
use scxray_tests::AddressScheme;
use scxray_tests::elf_core::{CoreFiles, CoreSpec};

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn task_eq(got: &TaskRef, want: Task, e: &Expect, what: &str) {
    assert_eq!(got.pid, Some(want.0), "{what}: pid");
    assert_eq!(got.comm.as_ref().map(ToString::to_string).as_deref(), Some(want.1), "{what}: comm");
    assert_eq!(got.error, None, "{what}: error");
    let kva = e.task_kvas.iter().find(|(p, _)| *p == want.0).unwrap().1;
    assert_eq!(got.kva.to_string(), hex(kva), "{what}: task_struct address");
}

fn tasks_eq(got: &[TaskRef], want: &[Task], e: &Expect, what: &str) {
    let pids: Vec<_> = got.iter().map(|t| t.pid).collect();
    let want_pids: Vec<_> = want.iter().map(|t| Some(t.0)).collect();
    assert_eq!(pids, want_pids, "{what}: pids in order");
    for (g, w) in got.iter().zip(want) {
        task_eq(g, *w, e, what);
    }
}

/// Every field of the report against the builder's truth.
fn check_report(r: &Report, e: &Expect, f: &CoreFiles, arch: &str, paging: &str) {
    assert_eq!(r.schema, "scxray.dump/2");
    let m = &r.machine;
    assert_eq!(m.arch, arch);
    assert_eq!(m.release.as_deref(), Some(e.release.as_str()));
    assert_eq!(m.cpus, e.cpus.len() as u32);
    assert_eq!(m.nodes, e.nodes);
    assert_eq!(m.paging, paging);
    assert_eq!(m.kaslr_offset, hex(f.scheme.kaslr_offset));
    if !m.memory.starts_with("raw image") {
        assert!(m.memory.contains("ELF core"), "{}", m.memory);
        assert_eq!(f.segments.len(), 2, "the core has a hole");
        assert!(m.memory.contains("2 PT_LOAD segments"), "{}", m.memory);
    }
    assert!(r.problems.is_empty(), "problems: {:?}", r.problems);
    assert!(!r.truncated);

    let s = r.scheduler.as_ref().expect("a scheduler is attached");
    assert_eq!(s.ops_name.as_deref(), Some(e.ops_name));
    assert_eq!(s.state.as_deref(), Some("enabled"));
    assert_eq!(s.sched_kva, hex(e.sched_kva));
    assert_eq!(s.exit_kind, e.exit_kind);
    assert_eq!(s.exit_kind_name.as_deref(), Some(e.exit_kind_name));
    assert!(!s.aborting);
    assert_eq!(s.bypass_depth, e.bypass_depth);
    assert_eq!(s.provenance, "live");

    assert_eq!(r.cpus.len(), e.cpus.len());
    for (i, (c, w)) in r.cpus.iter().zip(&e.cpus).enumerate() {
        let what = format!("cpu {i}");
        assert_eq!(c.cpu, i as u32);
        assert_eq!(c.rq_kva, hex(w.rq), "{what}: rq");
        assert_eq!(c.nr_running, w.nr_running, "{what}: nr_running");
        assert_eq!(c.flags, w.flags, "{what}: flags");
        assert_eq!(c.cpu_released, w.cpu_released, "{what}: cpu_released");
        assert_eq!(c.ops_qseq, None, "{what}: 7.3 has no ops_qseq");
        assert_eq!(c.kick_sync, Some(0), "{what}: kick_sync");
        task_eq(c.curr.as_ref().expect("curr"), w.curr, e, &format!("{what} curr"));
        tasks_eq(&c.runnable, &w.runnable, e, &format!("{what} runnable"));
        assert_eq!(c.runnable_walk.reported, w.runnable.len() as u32);
        assert_eq!(c.runnable_walk.skipped, 0);
        assert!(!c.runnable_walk.truncated && c.runnable_walk.broken.is_none());
    }

    assert_eq!(r.dsqs.len(), e.dsqs.len(), "DSQs: {:?}", r.dsqs.iter().map(|d| &d.label).collect::<Vec<_>>());
    for w in &e.dsqs {
        let d = r
            .dsqs
            .iter()
            .find(|d| d.kva == hex(w.kva))
            .unwrap_or_else(|| panic!("no DSQ at {:#x} ({})", w.kva, w.label));
        let what = format!("{} {:#x}", w.label, w.id);
        assert_eq!(d.label, w.label, "{what}: label");
        assert_eq!(d.kind, w.kind, "{what}: kind");
        assert_eq!(d.cpu, w.cpu, "{what}: cpu");
        assert_eq!(d.node, w.node, "{what}: node");
        assert_eq!(d.id, hex(w.id), "{what}: id");
        assert_eq!(d.nr, w.nr, "{what}: nr");
        assert_eq!(d.seq, w.seq, "{what}: seq");
        tasks_eq(&d.tasks, &w.tasks, e, &what);
        assert!(!d.walk.truncated && d.walk.broken.is_none(), "{what}: {:?}", d.walk);
    }
    // The cursors: one on cpu 0's local DSQ, one on node 1's global DSQ.
    let skipped: u32 = r.dsqs.iter().map(|d| d.walk.skipped).sum();
    assert_eq!(skipped, 2);
    // User DSQs in chain order: bucket 3 holds 0x11 then 0x10, bucket 5 holds 0x20.
    let user: Vec<&str> = r.dsqs.iter().filter(|d| d.kind == "user").map(|d| d.id.as_str()).collect();
    assert_eq!(user, ["0x11", "0x10", "0x20"]);
    let u = r.user_dsqs.as_ref().expect("dsq_hash walked");
    assert_eq!((u.table_size, u.buckets_visited, u.nodes, u.broken_chains), (8, 8, 3, 0));
    assert!(u.truncated.is_empty() && u.first_error.is_none());

    tasks_eq(&r.scx_tasks.tasks, &e.scx_tasks, e, "scx_tasks");
    assert_eq!(r.scx_tasks.walk.skipped, 1, "the scx_tasks cursor");
    assert!(!r.scx_tasks.walk.truncated && r.scx_tasks.walk.broken.is_none());
}

/// Writes the guest, runs `dump --format json` and `info`, checks both.
fn run_case(
    name: &str,
    scheme: AddressScheme,
    spec: &CoreSpec,
    arch: &str,
    paging: &str,
) -> (CoreFiles, Report) {
    let (f, e) = populated(scheme, spec);
    let dir = temp_dir(name);
    let w = write(&dir, &f);
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let r: Report = serde_json::from_slice(&out.stdout).expect("JSON report");
    check_report(&r, &e, &f, arch, paging);

    // The text report names the same things.
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["synthetic", "a-fifteen-chars", &e.release] {
        assert!(text.contains(needle), "text report lacks {needle}:\n{text}");
    }

    // The synthetic kernel has no BPF (no offsets in its BTF): the section says so.
    let b = r.bpf.as_ref().expect("the BPF section");
    assert!(b.programs.is_empty() && b.maps.is_empty(), "{b:?}");
    assert_eq!(
        b.problems,
        [
            "BPF prog_idr: the layout has no offsets for struct idr / struct xa_node",
            "BPF map_idr: the layout has no offsets for struct idr / struct xa_node",
            "BPF scheduler walk: the layout has no offsets for struct bpf_map"
        ]
    );
    assert!(text.contains("\nBPF state\n---------\n"), "{text}");
    // --no-bpf: the kernel half alone, the same text without the section.
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--no-bpf"]);
    assert_eq!(out.status.code(), Some(0));
    let bare = String::from_utf8_lossy(&out.stdout);
    let (before, _) = text.split_once("\nBPF state\n").unwrap();
    assert_eq!(bare.trim_end(), before.trim_end());
    let out =
        scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--no-bpf", "--format", "json"]);
    let bare: Report = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(bare.bpf, None);
    assert!(bare.tasks.iter().all(|t| t.bpf_place.is_none() && t.bpf_storage.is_empty()));
    (f, r)
}

/// `scxray info`'s lines for this guest.
fn info(name: &str, f: &CoreFiles) -> String {
    let dir = temp_dir(&format!("{name}-info"));
    let w = write(&dir, f);
    let out = scxray(&["info", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn assert_lines(text: &str, needles: &[String]) {
    for n in needles {
        assert!(text.contains(n.as_str()), "`{n}` not in:\n{text}");
    }
}

/// The kit's page tables agree with its own address map, through the real x86_64 walker
/// (every address walked, no linear shortcut).
fn x86_walk_agrees(f: &CoreFiles, levels: u32) {
    use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
    let mode = if levels == 5 { PagingMode::FiveLevel } else { PagingMode::FourLevel };
    let cfg = X86Config {
        prefer_walk: true,
        phys_base: PhysAddr(f.scheme.phys_base),
        kernel_image_size: 0, // walk the image too
        ..X86Config::new(Cr3(f.root), mode)
    };
    let t = X86Translator::new(cfg);
    walk_agrees(f, &t);
}

fn walk_agrees<T: Translate>(f: &CoreFiles, t: &T) {
    let g = &f.guest;
    let mem = FlatImage::new(PhysAddr(g.mem_base), &g.mem);
    let mut kvas: Vec<u64> =
        f.symbols.values().copied().filter(|&a| f.guest.map.try_pa(a).is_some()).collect();
    kvas.extend(g.map.vmalloc_pages.keys().map(|v| v + 0x18));
    kvas.extend(
        g.per_cpu_offsets.iter().filter(|&&o| o != 0).map(|o| o.wrapping_add(f.scheme.percpu_base) + 0x1000),
    );
    assert!(kvas.len() > 10);
    for va in kvas {
        let want = g.map.pa(va);
        let got = t.translate(&mem, VirtAddr(va)).unwrap_or_else(|e| panic!("{va:#x}: {e}"));
        assert_eq!(got.0, want, "{va:#x}");
    }
}

#[test]
fn x86_64_4_level_kaslr() {
    let scheme = AddressScheme::x86_kaslr(4);
    let (f, _) = run_case("x86-4", scheme, &CoreSpec::default(), "x86_64", "x86_64 4-level");
    x86_walk_agrees(&f, 4);
    let text = info("x86-4", &f);
    assert_lines(
        &text,
        &[
            "release: 7.3.4+deb13-synthetic".into(),
            "architecture: x86_64".into(),
            "VMCOREINFO: from the core's note".into(),
            "KASLR offset: 0x2000000".into(),
            format!("CR3: {:#x} from the core's QEMU note", f.root),
            format!("direct map: page_offset_base = {:#x}", f.scheme.direct_map),
            "paging: x86_64 4-level".into(),
            "machine: 4 possible CPUs, 2 NUMA nodes".into(),
            "layout: 10 of 10 struct groups resolved from BTF".into(),
        ],
    );
}

#[test]
fn x86_64_5_level_kaslr() {
    let scheme = AddressScheme::x86_kaslr(5);
    assert!(scheme.percpu_in_vmalloc);
    let (f, _) = run_case("x86-5", scheme, &CoreSpec::default(), "x86_64", "x86_64 5-level");
    x86_walk_agrees(&f, 5);
    let text = info("x86-5", &f);
    assert_lines(
        &text,
        &["CR4 0x1".into(), "paging: x86_64 5-level".into(), "KASLR offset: 0x2000000".into()],
    );
}

/// Without QEMU's CPU notes: CR3 from `SYMBOL(init_top_pgt)` and the negative `phys_base`,
/// the mode from `NUMBER(pgtable_l5_enabled)`; the BTF read from the image in memory.
#[test]
fn x86_64_5_level_from_vmcoreinfo_alone() {
    let spec = CoreSpec { qemu_notes: false, btf_in_image: true, ..CoreSpec::default() };
    let (f, e) = populated(AddressScheme::x86_kaslr(5), &spec);
    let w = write_temp("x86-5-vmcoreinfo", &f);
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    check_report(&r, &e, &f, "x86_64", "x86_64 5-level");
    let out = scxray(&["info", &w.core, "--system-map", &w.map]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_lines(
        &text,
        &[
            "paging mode: NUMBER(pgtable_l5_enabled) from VMCOREINFO".into(),
            format!("CR3: init_top_pgt at physical {:#x} (VMCOREINFO)", f.root),
            "read from the kernel image in memory (__start_BTF)".into(),
        ],
    );
    // The BTF is the mapped core's own bytes, shared, not a heap copy; the same bytes.
    let t = scxray::Target::configure(&scxray::Inputs {
        memory: w.core.clone().into(),
        vmlinux: None,
        btf: None,
        system_map: Some(w.map.clone().into()),
        raw_base: 0,
    })
    .unwrap();
    assert!(t.btf().is_shared());
    assert_eq!(t.btf().bytes(), &f.btf[..]);
}

#[test]
fn aarch64_4k_48_bit_kaslr() {
    let scheme = AddressScheme::aarch64_kaslr(4096, 48);
    let (f, _) =
        run_case("arm-4k-48", scheme, &CoreSpec::default(), "aarch64", "aarch64 4K granule, 48-bit VA");
    aarch64_walk_agrees(&f, 4096, 48, false);
    let text = info("arm-4k-48", &f);
    assert_lines(
        &text,
        &[
            "architecture: aarch64".into(),
            format!("kimage_voffset {:#x}", f.scheme.kimage_voffset()),
            format!("PHYS_OFFSET {:#x}", f.scheme.phys_offset),
            format!("swapper_pg_dir at physical {:#x}", f.root),
        ],
    );
}

#[test]
fn aarch64_64k_52_bit_kaslr() {
    let scheme = AddressScheme::aarch64_kaslr(65536, 52);
    let (f, _) =
        run_case("arm-64k-52", scheme, &CoreSpec::default(), "aarch64", "aarch64 64K granule, 52-bit VA");
    aarch64_walk_agrees(&f, 65536, 52, false);
    let text = info("arm-64k-52", &f);
    assert_lines(
        &text,
        &["paging: aarch64 64K granule, 52-bit VA".into(), "KASLR offset: 0x10a400000".into()],
    );
}

/// The kit's arm64 tables agree with its address map through the real walker alone.
fn aarch64_walk_agrees(f: &CoreFiles, page_size: u64, va_bits: u32, lpa: bool) {
    use scxray_aarch64::{Aarch64KernelConfig, Aarch64Translator};
    let info = Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(f.root),
        va_bits,
        tcr_el1_t1sz: Some((64 - va_bits) as u8),
        page_size,
        lpa2: lpa,
    };
    let t = Aarch64Translator::from_kernel_config(&info).unwrap();
    walk_agrees(f, &t);
}

/// 64K pages with 52-bit physical addresses (FEAT_LPA): RAM above 2^48, so the descriptors,
/// the TTBR, the linear map and the image rule all carry PA bits 51:48.
#[test]
fn aarch64_64k_52_bit_lpa_ram_above_2_pow_48() {
    let scheme = AddressScheme::aarch64_lpa();
    assert!(scheme.mem_base >> 48 == 0xf);
    let paging = "aarch64 64K granule, 52-bit VA, LPA";
    let (f, _) = run_case("arm-64k-52-lpa", scheme, &CoreSpec::default(), "aarch64", paging);
    let text = info("arm-64k-52-lpa", &f);
    assert_lines(&text, &[format!("swapper_pg_dir at physical {:#x}", f.root)]);
    aarch64_walk_agrees(&f, 65536, 52, true);
    assert!(f.segments.iter().all(|s| s.pa >> 48 == 0xf));
}

/// Nothing but the core: symbols decoded from the kernel's kallsyms tables in memory
/// (VMCOREINFO exports them), BTF read from the image (`__start_BTF`), x86_64 5-level with
/// per-CPU symbols in the image (6.15+).
#[test]
fn x86_64_5_level_core_alone_kallsyms_and_btf_from_memory() {
    let spec = CoreSpec { kallsyms: true, btf_in_image: true, ..CoreSpec::default() };
    let scheme = AddressScheme::x86_kaslr(5);
    assert!(scheme.percpu_base >= scheme.image_va, "image-based per-CPU symbols");
    let (f, e) = populated(scheme, &spec);
    let w = write_temp("x86-5-core-alone", &f);
    let out = scxray(&["dump", &w.core, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    check_report(&r, &e, &f, "x86_64", "x86_64 5-level");
    let text = String::from_utf8(scxray(&["info", &w.core]).stdout).unwrap();
    assert_lines(
        &text,
        &[
            format!("symbols: {} decoded from the kernel's kallsyms tables in memory", f.symbols.len()),
            "read from the kernel image in memory (__start_BTF)".into(),
        ],
    );
}

/// A core without the VMCOREINFO note (QEMU without `-device vmcoreinfo`): the text is
/// found in memory; symbols from kallsyms and BTF from the image, nothing else given.
#[test]
fn aarch64_core_alone_vmcoreinfo_found_in_memory() {
    let spec = CoreSpec {
        kallsyms: true,
        btf_in_image: true,
        vmcoreinfo_note: false,
        vmcoreinfo_in_memory: true,
        ..CoreSpec::default()
    };
    let (f, e) = populated(AddressScheme::aarch64_kaslr(4096, 48), &spec);
    let w = write_temp("arm-core-alone", &f);
    let out = scxray(&["dump", &w.core, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    check_report(&r, &e, &f, "aarch64", "aarch64 4K granule, 48-bit VA");
    let text = String::from_utf8(scxray(&["info", &w.core]).stdout).unwrap();
    assert_lines(
        &text,
        &["VMCOREINFO: found in memory at physical".into(), "decoded from the kernel's kallsyms".into()],
    );
}

/// Pointers into the physical hole and into unmapped vmalloc space: the walks that meet
/// them end `broken` with the address named, everything else is still reported, and the
/// exit status is 0 (the walk ran).
#[test]
fn pointers_into_the_hole_and_unmapped_vmalloc_break_only_their_walk() {
    let (mut f, e) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    let layout = f.guest.layout;
    let hole = f.scheme.hole.clone().unwrap();
    let in_hole = f.scheme.direct_va(hole.start + 0x100);
    assert!(f.file_offset(hole.start + 0x100).is_none());
    // cpu 1's local DSQ: list.next into the hole.
    let l1 = e.dsqs.iter().find(|d| d.label == "local cpu 1").unwrap().kva;
    f.patch_u64(l1 + u64::from(layout.dsq.unwrap().list), in_hole);
    // scx_tasks: the third task's tasks_node.next into vmalloc space nothing maps.
    let unmapped = f.scheme.vmalloc.unwrap() + 0x4000_0000;
    let t3 = e.task_kvas[2].1;
    let node = t3 + u64::from(layout.task.unwrap().scx) + u64::from(layout.see.unwrap().tasks_node);
    f.patch_u64(node, unmapped);
    // cpu 2's rq->curr: a task nothing maps.
    let bad_curr = unmapped + 0x10_0000;
    f.patch_u64(e.cpus[2].rq + u64::from(layout.rq.unwrap().curr), bad_curr);

    let w = write_temp("broken-pointers", &f);
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();

    let d = r.dsqs.iter().find(|d| d.label == "local cpu 1").unwrap();
    assert!(d.tasks.is_empty());
    let broken = d.walk.broken.as_deref().expect("broken");
    assert!(broken.contains(&format!("{in_hole:#x}")), "{broken}");
    assert!(!d.walk.truncated);
    // The other DSQs are whole.
    let l0 = r.dsqs.iter().find(|d| d.label == "local cpu 0").unwrap();
    assert_eq!(l0.tasks.iter().map(|t| t.pid).collect::<Vec<_>>(), [Some(104), Some(105)]);
    assert!(l0.walk.broken.is_none());

    // scx_tasks: the first three tasks, then the break.
    let pids: Vec<_> = r.scx_tasks.tasks.iter().map(|t| t.pid).collect();
    assert_eq!(pids, [Some(1), Some(101), Some(102)]);
    let broken = r.scx_tasks.walk.broken.as_deref().expect("broken");
    assert!(broken.contains(&format!("{unmapped:#x}")), "{broken}");
    assert!(!r.truncated);
    // A broken walk is no cut one (`truncated` stays false): each is a problem, so that a
    // script reading `problems` and `truncated` does not take the report as whole.
    let broke: Vec<&String> = r.problems.iter().filter(|p| p.contains("the walk broke")).collect();
    assert_eq!(broke.len(), 2, "{:?}", r.problems);
    assert!(broke[0].starts_with("DSQ local cpu 1: the walk broke after 0 tasks: "), "{}", broke[0]);
    assert!(broke[0].contains(&format!("{in_hole:#x}")), "{}", broke[0]);
    assert!(broke[1].starts_with("scx_tasks: the walk broke after 3 tasks: "), "{}", broke[1]);
    assert!(broke[1].contains(&format!("{unmapped:#x}")), "{}", broke[1]);

    // An unreadable rq->curr is an unreadable task, not "no current task".
    let curr = r.cpus[2].curr.as_ref().expect("cpu 2's curr is reported");
    assert_eq!((curr.kva.to_string(), curr.pid), (format!("{bad_curr:#x}"), None));
    assert!(curr.error.is_some());
    let unreadable = r.unreadable_tasks.iter().find(|t| t.kva == curr.kva).expect("in unreadable_tasks");
    let why = unreadable.error.as_deref().unwrap();
    assert!(why.contains("task_struct.pid") && why.contains("is not mapped"), "{why}");
    assert_eq!(r.cpus[1].curr.as_ref().and_then(|t| t.pid), Some(e.cpus[1].curr.0));

    // The text report says where scx_tasks broke, not only JSON: among its problems.
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let problems = text.split_once("\nProblems\n").unwrap_or_else(|| panic!("{text}")).1;
    let line = problems
        .lines()
        .find(|l| l.starts_with("  - scx_tasks: the walk broke after 3 tasks: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(&format!("{unmapped:#x}")), "{line}");
}

/// The same guest as a raw RAM image (what `pmemsave` or a `memory-backend-file` gives): no
/// notes at all, VMCOREINFO found in memory, CR3 from `init_top_pgt`.
#[test]
fn x86_64_raw_ram_image() {
    let spec = CoreSpec { vmcoreinfo_in_memory: true, ..CoreSpec::default() };
    let (f, e) = populated(AddressScheme::x86_kaslr(4), &spec);
    assert_eq!(f.guest.mem_base, 0);
    let dir = temp_dir("x86-raw");
    let w = write(&dir, &f);
    let raw = dir.join("guest.ram");
    std::fs::write(&raw, &f.guest.mem).unwrap();
    let raw = raw.to_str().unwrap();
    let out = scxray(&["dump", raw, "--system-map", &w.map, "--btf", &w.btf, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r.machine.memory.starts_with("raw image"), "{}", r.machine.memory);
    check_report(&r, &e, &f, "x86_64", "x86_64 4-level");
    let text =
        String::from_utf8(scxray(&["info", raw, "--system-map", &w.map, "--btf", &w.btf]).stdout).unwrap();
    assert_lines(
        &text,
        &[
            "VMCOREINFO: found in memory at physical".into(),
            format!("CR3: init_top_pgt at physical {:#x} (VMCOREINFO)", f.root),
        ],
    );
}
