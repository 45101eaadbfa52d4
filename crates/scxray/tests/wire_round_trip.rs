//! The wire format end to end: a synthetic guest from the test kit, the request the host
//! encodes for it, scxray-wire's `serve` (the embedded side) over a window of the guest's
//! RAM, the dump it writes, and `scxray decode` on that dump — whose JSON must be exactly
//! what `scxray dump` builds from the same guest directly.

mod common;

use common::{wire_part, write_temp};
use scxray::source::Memory;
use scxray::target::{MachineShape, Paging, RuntimeSymbols};
use scxray::{Report, Target};
use scxray_core::{FlatImage, Limits, PhysAddr, VirtAddr};
use scxray_tests::{DIRECT_MAP, IMAGE_PA, KERNEL_IMAGE, TestGuest};
use scxray_wire::{Translator, WireError};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch file of its own (tests run in parallel; a file one maps must not be rewritten).
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("scxray-wire-{}-{n}-{name}", std::process::id()))
}

/// The synthetic_dump example's machine: 4 CPUs on 2 nodes, a root scheduler, tasks running,
/// runnable, on local, global and user DSQs, plus `scx_enable_state_var`.
fn guest() -> (TestGuest, VirtAddr) {
    let mut b = scxray_tests::demo_machine(1024, 0x40);
    let state = b.alloc_image(4);
    b.write_u32(state, 1);
    (b.build(), state)
}

/// The host's configured target for the kit guest: its RAM as a raw image, Linux's x86_64
/// linear rules at the kit's addresses, no BTF beyond the layout.
fn target(g: &TestGuest, enable_state: VirtAddr) -> Target {
    let image = scratch("guest.raw");
    std::fs::write(&image, &g.mem).unwrap();
    let memory = Memory::open(&image, 0).unwrap();
    // The open image (mapped or read) outlives its name.
    std::fs::remove_file(&image).unwrap();
    let phys_end = g.mem.len() as u64;
    let config = X86Config {
        page_offset_base: VirtAddr(DIRECT_MAP),
        direct_map_size: phys_end.next_multiple_of(1 << 30),
        phys_base: PhysAddr(IMAGE_PA),
        kernel_map_start: VirtAddr(KERNEL_IMAGE),
        phys_end: Some(PhysAddr(phys_end)),
        ..X86Config::new(Cr3(0), PagingMode::FourLevel)
    };
    let s = &g.symbols;
    let symbols = RuntimeSymbols {
        runqueues: s.runqueues.map(|v| v.0),
        per_cpu_offset: Some(s.per_cpu_offset_kva.0),
        scx_root: s.scx_root.map(|v| v.0),
        scx_tasks: s.scx_tasks.map(|v| v.0),
        scx_enable_state_var: Some(enable_state.0),
        ..RuntimeSymbols::default()
    };
    let machine = MachineShape::new(g.per_cpu_offsets[..s.nr_cpus as usize].to_vec(), s.nr_nodes).unwrap();
    Target::from_parts(
        memory,
        Translator::X86_64(X86Translator::new(config)),
        Paging::X86_64 { levels: 4 },
        g.layout,
        symbols,
        machine,
    )
    .with_release("7.3.0-synthetic")
}

/// `scxray decode <file>`'s standard output.
fn scxray_decode(dump: &[u8], name: &str) -> String {
    let file = scratch(name);
    std::fs::write(&file, dump).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scxray")).arg("decode").arg(&file).output().unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(out.status.success(), "scxray decode failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn decode_of_the_embedded_dump_is_the_direct_report() {
    let (g, state) = guest();
    let t = target(&g, state);
    let limits = Limits::DEFAULT;
    let direct = Report::build(&t, limits);
    assert_eq!(direct.cpus.len(), 4, "{:?}", direct.problems);
    assert_eq!(direct.scheduler.as_ref().and_then(|s| s.state.as_deref()), Some("state 1"));
    assert!(direct.dsqs.iter().any(|d| d.kind == "user" && d.tasks.len() == 4));
    assert!(direct.scx_tasks.tasks.iter().all(|t| t.pid.is_some()));

    let request = scxray::wire::request(&t, limits).unwrap();
    // The embedded side sees only the request and a window of guest RAM.
    let window = FlatImage::new(PhysAddr(0), &g.mem);
    let mut out = vec![0u8; 64 << 10];
    let n = scxray_wire::serve(&request, &window, &mut out).unwrap();
    assert!(n < out.len());

    let json = scxray_decode(&out[..n], "dump.bin");
    assert!(!direct.tasks.is_empty(), "the direct report has task detail");
    let expected = serde_json::to_string_pretty(&wire_part(direct)).unwrap() + "\n";
    assert_eq!(json, expected);
}

/// The dump the embedded side writes for `t` into a buffer of `len` bytes.
fn served(g: &TestGuest, t: &Target, len: usize) -> Vec<u8> {
    let request = scxray::wire::request(t, Limits::DEFAULT).unwrap();
    let window = FlatImage::new(PhysAddr(0), &g.mem);
    let mut out = vec![0u8; len];
    let n = scxray_wire::serve(&request, &window, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The embedded dump's records re-written with `edit` applied to the list (the end record
/// is written by the writer).
fn rewritten(dump: &[u8], edit: impl FnOnce(&mut Vec<scxray_wire::Record<'_>>)) -> Vec<u8> {
    let mut records: Vec<_> = scxray_wire::Records::new(dump).unwrap().map(Result::unwrap).collect();
    assert!(matches!(records.pop(), Some(scxray_wire::Record::End(_))));
    edit(&mut records);
    let mut out = vec![0u8; dump.len() + 4096];
    let mut w = scxray_wire::DumpWriter::new(&mut out).unwrap();
    for r in &records {
        w.record(r);
    }
    let n = w.finish();
    out.truncate(n);
    out
}

#[test]
fn a_stream_out_of_order_is_refused_not_partly_dropped() {
    use scxray_wire::Record;
    let (g, state) = guest();
    let dump = &served(&g, &target(&g, state), 64 << 10)[..];
    // Re-written as it was: decodes.
    assert!(scxray::wire::decode(&rewritten(dump, |_| {})).is_ok());
    // CPU 0's runnable-list end moved after CPU 1's record: it would be dropped.
    let moved = rewritten(dump, |r| {
        let end = r.iter().position(|x| matches!(x, Record::RunnableEnd { cpu: 0, .. })).unwrap();
        let end = r.remove(end);
        let cpu1 = r.iter().position(|x| matches!(x, Record::Cpu(c) if c.cpu == 1)).unwrap();
        r.insert(cpu1 + 1, end);
    });
    let err = scxray::wire::decode(&moved).unwrap_err().to_string();
    assert!(err.contains("a runnable-list record of CPU 0 after CPU 1's"), "{err}");
    // A DSQ's end before any DSQ.
    let early = rewritten(dump, |r| {
        let end = r.iter().position(|x| matches!(x, Record::DsqEnd(_))).unwrap();
        let end = r.remove(end);
        r.insert(0, end);
    });
    let err = scxray::wire::decode(&early).unwrap_err().to_string();
    assert!(err.contains("record 0: a DSQ's task or end before any DSQ record"), "{err}");
}

#[test]
fn a_full_output_buffer_is_a_truncated_dump_not_a_wrong_one() {
    let (g, state) = guest();
    let t = target(&g, state);
    let dump = served(&g, &t, 600);
    let report = scxray::wire::decode(&dump).unwrap();
    assert!(report.truncated);
    assert!(report.problems.last().unwrap().contains("records of the dump were dropped"));
    // What did fit is what the direct walk saw first.
    let direct = Report::build(&t, Limits::DEFAULT);
    assert_eq!(report.machine, direct.machine);
}

#[test]
fn requests_and_dumps_of_another_kind_or_version_are_refused() {
    let (g, state) = guest();
    let t = target(&g, state);
    let mut request = scxray::wire::request(&t, Limits::DEFAULT).unwrap();
    let window = FlatImage::new(PhysAddr(0), &g.mem);
    let mut out = vec![0u8; 64 << 10];
    // A dump handed in as a request.
    let n = scxray_wire::serve(&request, &window, &mut out).unwrap();
    assert_eq!(
        scxray_wire::serve(&out[..n], &window, &mut [0u8; 64]),
        Err(WireError::Magic { found: *b"SXDP" })
    );
    // Versions 1 (before the DSQ owner and sub-schedulers) and 2 (before the schedulers'
    // names): the postcard varint right after the magic.
    for old in [1, 2] {
        request[4] = old;
        assert_eq!(
            scxray_wire::serve(&request, &window, &mut out),
            Err(WireError::Version { found: old.into(), expected: scxray_wire::VERSION })
        );
    }
    // A request handed to the decoder.
    request[4] = u8::try_from(scxray_wire::VERSION).unwrap();
    assert!(scxray::wire::decode(&request).is_err());
    // Too small for even an empty dump.
    assert_eq!(scxray_wire::serve(&request, &window, &mut [0u8; 8]), Err(WireError::OutputTooSmall));
}

/// A 7.3 guest with a sub-scheduler, from a real ELF core with BTF: the embedded side reads
/// every scheduler's `ops.name` and cgroup path (wire v3), so the decoded `schedulers[]` is
/// the direct report's; a cgroup path longer than the wire's buffer is cut and says so.
#[test]
fn every_schedulers_name_and_cgroup_path_travel() {
    use scxray_tests::elf_core::CoreSpec;
    use scxray_tests::{AddressScheme, GuestBuilder, kernels};
    let long_path = format!("/{}", "deep/".repeat(60));
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    let root = b.attach_scheduler(0, 8);
    b.set_ops_name_of(root, "qmap");
    b.set_cgroup_path(root, "/");
    let sub = b.add_sub_sched(root, 0, 8);
    b.set_ops_name_of(sub, "qmap_sub");
    b.set_cgroup_path(sub, "/scxsub1");
    let inner = b.add_sub_sched(sub, 0, 8);
    b.set_ops_name_of(inner, "qmap_inner");
    b.set_cgroup_path(inner, &long_path);
    let f = b.write_core(&CoreSpec::default());

    let w = write_temp("wire-names", &f);
    let t = Target::configure(&scxray::Inputs {
        memory: w.core.clone().into(),
        vmlinux: None,
        btf: Some(w.btf.clone().into()),
        system_map: Some(w.map.clone().into()),
        raw_base: 0,
    })
    .unwrap();
    let direct = Report::build(&t, Limits::DEFAULT);
    let names = |r: &Report| -> Vec<(Option<String>, Option<String>, i32)> {
        r.schedulers.iter().map(|s| (s.name.clone(), s.cgroup_path.clone(), s.level)).collect()
    };
    assert_eq!(
        names(&direct),
        [
            (Some("qmap".into()), Some("/".into()), 0),
            (Some("qmap_sub".into()), Some("/scxsub1".into()), 1),
            (Some("qmap_inner".into()), Some(long_path.clone()), 2),
        ]
    );

    let request = scxray::wire::request(&t, Limits::DEFAULT).unwrap();
    let window = FlatImage::new(PhysAddr(f.guest.mem_base), &f.guest.mem);
    let mut out = vec![0u8; 64 << 10];
    let n = scxray_wire::serve(&request, &window, &mut out).unwrap();
    let decoded = scxray::wire::decode(&out[..n]).unwrap();
    let cut = long_path[..scxray_wire::CGROUP_PATH_LEN].to_owned();
    let mut want = names(&direct);
    want[2].1 = Some(cut);
    assert_eq!(names(&decoded), want);
    assert!(decoded.truncated, "a cut path is a cap that fired");
    assert!(
        decoded.problems.iter().any(|p| p.contains("cut its cgroup path at 256 bytes")),
        "{:?}",
        decoded.problems
    );
    assert!(!direct.truncated);
}

#[test]
fn decode_help_names_the_version_it_reads() {
    let out = Command::new(env!("CARGO_BIN_EXE_scxray")).args(["decode", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let version = format!("wire format version {};", scxray_wire::VERSION);
    assert!(help.contains(&version), "decode --help does not say `{version}`:\n{help}");
}

/// A list that breaks decodes as the direct report has it: the break in its walk and among
/// the problems (a broken walk is no cut one: without the problem a script reading
/// `problems` and `truncated` would take the list as whole).
#[test]
fn a_broken_list_is_a_problem_over_the_wire_as_directly() {
    let (g, state) = guest();
    let head = g.symbols.scx_tasks.unwrap();
    let mut b = scxray_tests::demo_machine(1024, 0x40);
    let state_again = b.alloc_image(4);
    assert_eq!(state_again, state, "the same machine");
    b.write_u32(state, 1);
    // The first task's link to the second: NULL.
    let first = VirtAddr(b.read_u64(head));
    b.write_u64(first, 0);
    let g = b.build();
    let t = target(&g, state);
    let direct = Report::build(&t, Limits::DEFAULT);
    assert_eq!(direct.scx_tasks.tasks.len(), 1);
    let broke: Vec<&String> = direct.problems.iter().filter(|p| p.contains("the walk broke")).collect();
    assert_eq!(broke.len(), 1, "{:?}", direct.problems);
    assert!(broke[0].starts_with("scx_tasks: the walk broke after 1 tasks: "), "{}", broke[0]);
    assert!(!direct.truncated);

    let n = 64 << 10;
    let dump = served(&g, &t, n);
    let json = scxray_decode(&dump, "broken.bin");
    let expected = serde_json::to_string_pretty(&wire_part(direct)).unwrap() + "\n";
    assert_eq!(json, expected);
}
