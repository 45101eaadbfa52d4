//! Issue 16's host defects, end to end on synthetic ELF cores: the caps sized from the
//! kernel's own counts (nr_threads resolved), a cap that fires stated first, unreadable event
//! counters and an unreadable `scx_root` said as such, each user DSQ once with a looping chain
//! reported, and a file that is no dump said to be none.

mod common;

use common::{populated, scxray, temp_dir, write_temp};
use scxray::report::Report;
use scxray_core::{Field, Limits, MemError, PhysAddr, ReadCause, ReadError, VirtAddr};
use scxray_tests::elf_core::{CoreFiles, CoreSpec};
use scxray_tests::{AddressScheme, GuestBuilder, KitAddr, kernels};
use serde_json::Value;

fn json(r: &Report) -> Value {
    serde_json::to_value(r).unwrap()
}

fn problems(r: &Report) -> Vec<String> {
    json(r)["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect()
}

/// A guest whose `scx_tasks` loops back on its second task, `nr_threads` claiming `threads`.
fn looping_tasks(threads: u32) -> CoreFiles {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"init");
    let t = b.add_task(2, b"looper");
    let node = b.see(t).at(u64::from(b.layout.see.unwrap().tasks_node));
    b.write_u64(node, node.0);
    let n = b.nr_threads();
    b.write_u32(n, threads);
    b.write_core(&CoreSpec::default())
}

#[test]
fn nr_threads_sizes_the_scx_tasks_cap() {
    let w = write_temp("nr-threads", &looping_tasks(3000));
    let t = common::configure(&w);
    let s = scxray::walk::walk(&t, Limits::DEFAULT);
    // 2 nr_threads + 2 per CPU + 1; without nr_threads, the ceiling (4 210 688).
    assert_eq!(s.walks.tasks_walk.cap.value, 2 * 3000 + 2 * 2 + 1, "{:?}", s.walks.tasks_walk);
    assert!(s.walks.tasks_walk.truncated);
}

#[test]
fn a_cap_that_fires_is_stated_first_and_in_problems() {
    let w = write_temp("cap-fires", &looping_tasks(3000));
    let r = Report::build(&common::configure(&w), Limits::DEFAULT);
    let line =
        "scx_tasks cut at 6005 nodes (sized from the kernel's count, 3000); raise it with --max-list-nodes N";
    assert_eq!(problems(&r).first().map(String::as_str), Some(line));
    let text = scxray::report::text::render(&r);
    assert_eq!(text.lines().nth(1), Some(format!("TRUNCATED: {line}").as_str()), "{text}");
    // Once: not again among the problems at the end.
    assert_eq!(text.matches(line).count(), 1, "{text}");
    let caps = &json(&r)["caps_fired"];
    assert_eq!(caps[0]["flag"], "--max-list-nodes");
    assert_eq!(caps[0]["value"], 6005);

    // A fixed cap says so, through the CLI too.
    let (f, _) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    let w = write_temp("cap-fixed", &f);
    let out = scxray(&["dump", &w.core, "--system-map", &w.map, "--btf", &w.btf, "--max-list-nodes", "3"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().nth(1),
        Some("TRUNCATED: scx_tasks cut at 3 nodes (a fixed cap); raise it with --max-list-nodes N"),
        "{text}"
    );
}

#[test]
fn an_unreadable_scx_root_is_not_none_attached() {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"init");
    // Into the direct map, past the end of RAM.
    let bogus = b.scheme().direct_map + (64 << 30);
    b.set_scx_root(bogus);
    let b_layout = b.layout;
    let w = write_temp("root-unreadable", &b.write_core(&CoreSpec::default()));
    let r = Report::build(&common::configure(&w), Limits::DEFAULT);
    let text = scxray::report::text::render(&r);
    let line = text.lines().find(|l| l.starts_with("scheduler")).unwrap();
    // The first member read, in the scx_sched scx_root points to.
    let aborting = bogus + u64::from(b_layout.sched.unwrap().aborting.unwrap());
    let at = format!("scheduler: unreadable at {aborting:#x}: virtual {aborting:#x} is not mapped");
    assert!(line.starts_with(&at), "{text}");
    assert!(line.ends_with("(scx_sched.aborting)"), "{line}");
    assert!(json(&r)["scheduler_unknown"].as_str().unwrap().starts_with("unreadable at"));

    // NULL is none attached.
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.add_task(1, b"init");
    let w = write_temp("root-null", &b.write_core(&CoreSpec::default()));
    let text = scxray::report::text::render(&Report::build(&common::configure(&w), Limits::DEFAULT));
    assert!(text.contains("\nscheduler: none attached\n"), "{text}");
}

#[test]
fn unreadable_event_counters_name_the_cpus_missing() {
    let mut b = GuestBuilder::with_scheme(kernels::globals_era(), AddressScheme::x86_kaslr(4), 2, 2);
    let g = b.attach_globals(true, 0, 8);
    b.set_ops_name_of(g.ops, "simple");
    b.add_task(1, b"init");
    b.add_global_event_stats(&[[3, 100], [4, 200]]);
    let w = write_temp("events", &b.write_core(&CoreSpec::default()));
    let t = common::configure(&w);
    let mut s = scxray::walk::walk(&t, Limits::DEFAULT);
    let error = |cpu: u64| ReadError {
        field: Field::EventStat,
        kva: VirtAddr(0xffff_8881_0000_7000 + cpu),
        cause: ReadCause::Memory(MemError::NotBacked { pa: PhysAddr(0x1_0000_7000), len: 8 }),
    };
    let root = s.root.as_mut().unwrap();
    let scxray::walk::Reading::Value(events) = &mut root.events else { panic!("{:?}", root.events) };
    // CPU 1's copy unreadable: the sums are CPU 0's alone, and say so.
    events.unread = vec![(1, error(1)), (1, error(1))];
    events.sums = vec![("SCX_EV_SELECT_CPU_FALLBACK".into(), 3)];
    let r = Report::from_snapshot(&t, s.clone());
    let text = scxray::report::text::render(&r);
    assert!(text.contains("  events: SELECT_CPU_FALLBACK=3 (without CPUs 1: unreadable)\n"), "{text}");
    let p = problems(&r);
    assert!(
        p.iter().any(|p| p.starts_with("event counters: summed without CPUs 1 (1 of 2; CPU 1: cannot read")
            && p.contains("0xffff888100007001")),
        "{p:?}"
    );
    // Every CPU's: the line stays, with the first error.
    let root = s.root.as_mut().unwrap();
    let scxray::walk::Reading::Value(events) = &mut root.events else { unreachable!() };
    events.unread = vec![(0, error(0)), (1, error(1))];
    events.sums = vec![("SCX_EV_SELECT_CPU_FALLBACK".into(), 0)];
    let r = Report::from_snapshot(&t, s.clone());
    let text = scxray::report::text::render(&r);
    assert!(text.contains("  events:  (unreadable on every CPU (2 CPUs))\n"), "{text}");
    assert!(
        problems(&r)
            .iter()
            .any(|p| p.starts_with("event counters: unreadable on every CPU (2 CPUs; CPU 0: "))
    );
}

#[test]
fn a_looping_bucket_chain_lists_each_user_dsq_once_and_is_reported() {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"init");
    let mut chain: Vec<_> = (0..40).map(|i| b.add_user_dsq(0x100 + i, 1, false)).collect();
    chain.reverse(); // in chain order
    let (rl, hash_node) = (b.layout.rht.unwrap(), b.layout.dsq.unwrap().hash_node);
    b.write_u64(
        chain[39].at(u64::from(hash_node)).at(u64::from(rl.rhash_head_next)),
        chain[5].at(u64::from(hash_node)).0,
    );
    let w = write_temp("looping-chain", &b.write_core(&CoreSpec::default()));
    let r = Report::build(&common::configure(&w), Limits::DEFAULT);
    let users: Vec<&str> = r.dsqs.iter().filter(|d| d.kind == "user").map(|d| d.kva.as_str()).collect();
    assert_eq!(users.len(), 40, "{users:?}");
    let u = &json(&r)["user_dsqs"];
    assert_eq!((u["looped_chains"].as_u64(), u["first_looped_bucket"].as_u64()), (Some(1), Some(1)), "{u}");
    let text = scxray::report::text::render(&r);
    assert!(
        text.contains("dsq_hash: 4 buckets, 40 user DSQs, 1 looped chains (first in bucket 1)"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_no_dump_says_so() {
    let dir = temp_dir("no-dump");
    let p = dir.join("notes.txt");
    std::fs::write(&p, "this is a text file, not a dump\n".repeat(200)).unwrap();
    let p = p.to_str().unwrap();
    for args in [vec!["dump", p], vec!["info", p], vec!["diff", p, p]] {
        let out = scxray(&args);
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(&format!("{p}: no ELF or kdump magic")), "{args:?}: {e}");
        assert!(e.contains("needs --raw-base ADDR"), "{args:?}: {e}");
    }
}

#[test]
fn diff_takes_the_caps_of_dump() {
    let (f, _) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    let w = write_temp("diff-caps", &f);
    let out = scxray(&[
        "diff",
        &w.core,
        &w.core,
        "--system-map",
        &w.map,
        "--btf",
        &w.btf,
        "--max-list-nodes",
        "3",
        "--max-chain",
        "2",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    // The flags are taken, and cut both walks: the diff says its verdict saw only part.
    assert_eq!(out.status.code(), Some(4), "{e}");
    let text = String::from_utf8(out.stdout).unwrap();
    let cut = "scx_tasks cut at 3 nodes (a fixed cap); raise it with --max-list-nodes N";
    let lines: Vec<&str> = text.lines().skip(1).take(2).collect();
    assert_eq!(lines, [format!("INCOMPLETE: before: {cut}"), format!("INCOMPLETE: after: {cut}")], "{text}");
}

#[test]
fn an_unreadable_curr_names_what_could_not_be_read() {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"init");
    let bogus = VirtAddr(b.scheme().direct_map + (64 << 30));
    b.set_curr(1, bogus);
    let w = write_temp("curr-unreadable", &b.write_core(&CoreSpec::default()));
    let r = Report::build(&common::configure(&w), Limits::DEFAULT);
    let curr = r.cpus[1].curr.as_ref().unwrap();
    assert_eq!(curr.kva.to_string(), format!("{:#x}", bogus.0));
    let e = curr.error.as_deref().unwrap();
    assert!(e.starts_with("cannot read task_struct."), "{e}");
    assert!(e.contains("is not mapped"), "{e}");
}

/// A DSQ whose list cannot be walked is no empty DSQ, whatever its `nr` says: the text
/// states where its walk broke (issue 16: a flag lost between core and report). A user DSQ
/// with `nr` 0 and its list head's `next` NULL was counted among the "empty" ones, and its
/// break was in the JSON alone.
#[test]
fn a_dsq_that_breaks_before_its_first_task_is_not_counted_empty() {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"init");
    let dsq = b.add_user_dsq(0x42, 1, false);
    let head = dsq.at(u64::from(b.layout.dsq.unwrap().list));
    b.write_u64(head, 0);
    let w = write_temp("dsq-broken-empty", &b.write_core(&CoreSpec::default()));
    let r = Report::build(&common::configure(&w), Limits::DEFAULT);
    let d = r.dsqs.iter().find(|d| d.kva == format!("{:#x}", dsq.0)).unwrap();
    assert_eq!((d.nr, d.tasks.len(), d.walk.reported), (0, 0, 0));
    let broken = d.walk.broken.as_deref().unwrap();
    assert!(broken.contains(&format!("{:#x}", head.0)), "{broken}");
    let text = scxray::report::text::render(&r);
    assert!(text.contains(&format!("DSQ user           id=0x42 nr=0 seq=0 at {:#x}\n", dsq.0)), "{text}");
    assert!(text.contains(&format!("    (walked 0, truncated false, broken: {broken})\n")), "{text}");
    // Every other DSQ of the guest is empty; this one is not counted with them.
    let empty = r.dsqs.len() - 1;
    assert!(text.contains(&format!("({} DSQs walked, {empty} empty)", r.dsqs.len())), "{text}");
}

/// A task whose allowed-CPU mask cannot be read is stated among the problems of dump's
/// report as of the task list's (issue 16: a flag lost between core and report): the dump
/// report took the snapshot's tasks for its own before it looked through them for unreadable
/// masks, and found none.
#[test]
fn an_unreadable_cpu_mask_is_a_problem_of_the_dump_report() {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"init");
    let t = b.add_task(2, b"maskless");
    // Into the direct map, past the end of RAM.
    let bogus = b.scheme().direct_map + (64 << 30);
    b.write_u64(t.at(u64::from(b.layout.task.unwrap().cpus_ptr.unwrap())), bogus);
    let w = write_temp("mask-unreadable", &b.write_core(&CoreSpec::default()));
    let target = common::configure(&w);
    let r = Report::build(&target, Limits::DEFAULT);
    let task = r.tasks.iter().find(|x| x.pid == 2).unwrap();
    assert_eq!(task.cpus_allowed, None);
    let want = format!(
        "allowed-CPU masks of 1 tasks unreadable (the first: cannot read *task_struct.cpus_ptr at {bogus:#x}: \
         virtual {bogus:#x} is not mapped (stopped at level 2))"
    );
    let list = scxray::report::tasks::TaskList::build(&target, Limits::DEFAULT);
    assert_eq!(list.problems, std::slice::from_ref(&want));
    assert_eq!(problems(&r), std::slice::from_ref(&want));
    let text = scxray::report::text::render(&r);
    assert!(text.contains(&format!("\nProblems\n--------\n  - {want}\n")), "{text}");
}
