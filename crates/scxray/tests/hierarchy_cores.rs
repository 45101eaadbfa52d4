//! End to end on synthetic ELF cores: a 7.3 guest whose root scheduler has sub-schedulers
//! (each named, with its cgroup and its own DSQs), and a 6.12-style guest whose scheduler
//! lives in kernel globals (`scx_ops`, `global_dsqs`, `dsq_hash`).

mod common;

use common::{scxray, write_temp};
use scxray::report::Report;
use scxray_tests::elf_core::CoreSpec;
use scxray_tests::{AddressScheme, GuestBuilder, kernels};

fn dump(name: &str, f: &scxray_tests::elf_core::CoreFiles) -> (Report, String) {
    let w = write_temp(name, f);
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf]);
    assert_eq!(text.status.code(), Some(0));
    (serde_json::from_slice(&out.stdout).unwrap(), String::from_utf8(text.stdout).unwrap())
}

#[test]
fn sub_schedulers_are_reported_with_name_level_cgroup_and_dsqs() {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(5), 2, 1);
    let root = b.attach_scheduler(0, 8);
    b.set_ops_name_of(root, "qmap");
    b.set_cgroup_path(root, "/");
    let sub = b.add_sub_sched(root, 0, 8);
    b.set_ops_name_of(sub, "qmap_sub");
    b.set_cgroup_path(sub, "/sub");
    let t = b.add_task(777, b"sub-worker");
    let d = b.add_user_dsq_in(sub, 0x1000, 1);
    b.enqueue(d, t);
    let f = b.write_core(&CoreSpec::default());
    let (r, text) = dump("hierarchy-7.3", &f);

    let got: Vec<_> =
        r.schedulers.iter().map(|s| (s.name.as_deref(), s.level, s.cgroup_path.as_deref(), s.dsqs)).collect();
    // Each: 2 bypass + 1 global; the sub-scheduler also its user DSQ.
    assert_eq!(got, [(Some("qmap"), 0, Some("/"), 3), (Some("qmap_sub"), 1, Some("/sub"), 4)]);
    assert_eq!(r.schedulers[1].parent_kva.as_deref(), Some(r.schedulers[0].sched_kva.as_str()));
    assert_eq!(r.scheduler.as_ref().unwrap().ops_name.as_deref(), Some("qmap"));
    let user = r.dsqs.iter().find(|d| d.kind == "user").unwrap();
    assert_eq!(user.sched.as_deref(), Some(r.schedulers[1].sched_kva.as_str()));
    assert_eq!(user.tasks.iter().map(|t| t.pid).collect::<Vec<_>>(), [Some(777)]);
    // The task on the sub-scheduler's DSQ has detail, its DSQ id decoded as a user DSQ.
    let detail = r.tasks.iter().find(|t| t.pid == 777).unwrap();
    assert!(detail.found_on.iter().any(|p| &**p == "dsq user"), "{:?}", detail.found_on);
    let walk = r.sub_scheds_walk.as_ref().unwrap();
    assert_eq!((walk.reported, walk.truncated), (1, false));
    assert!(text.contains("qmap_sub"), "{text}");
    assert!(text.contains("/sub"), "{text}");
}

#[test]
fn a_6_12_style_kernel_reports_its_globals_like_a_scheduler() {
    let mut b = GuestBuilder::with_scheme(kernels::globals_era(), AddressScheme::x86_kaslr(4), 2, 2);
    let g = b.attach_globals(true, 0, 8);
    b.set_ops_name_of(g.ops, "simple");
    let t1 = b.add_task(501, b"glob");
    let t2 = b.add_task(502, b"user");
    let gd = b.globals_global_dsq(1);
    b.enqueue(gd, t1);
    let ud = b.add_user_dsq(0, 4, false);
    b.enqueue(ud, t2);
    b.add_global_event_stats(&[[3, 100], [4, 200]]);
    let f = b.write_core(&CoreSpec::default());
    let (r, text) = dump("globals-6.12", &f);
    assert!(text.contains("scheduler \"simple\": scx_ops 0x"), "{text}");

    let s = r.scheduler.as_ref().expect("a scheduler from the globals");
    assert_eq!(s.provenance, "globals");
    assert_eq!(s.ops_name.as_deref(), Some("simple"));
    assert_eq!(s.state.as_deref(), Some("enabled"), "scx_ops_enable_state named from BTF");
    assert_eq!(s.sched_kva, format!("{:#x}", g.ops.0));
    // 6.15's per-CPU event counters, summed over the CPUs.
    let events: Vec<(&str, i64)> = s.events.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(events, [("BYPASS_DURATION", 300), ("SELECT_CPU_FALLBACK", 7)]);
    assert_eq!(r.schedulers.len(), 1);
    let kinds: Vec<_> = r.dsqs.iter().filter(|d| d.sched.is_some()).map(|d| d.label.as_str()).collect();
    assert_eq!(kinds, ["global node 0", "global node 1", "user"]);
    let pids = |label: &str| {
        r.dsqs.iter().find(|d| d.label == label).unwrap().tasks.iter().map(|t| t.pid).collect::<Vec<_>>()
    };
    assert_eq!(pids("global node 1"), [Some(501)]);
    assert_eq!(pids("user"), [Some(502)]);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}
