//! Sub-schedulers (7.2+: `scx_sched.children` / `sibling` / `level`) and the scheduler
//! globals of 6.12-6.15 (`scx_ops`, `global_dsqs`, `dsq_hash`), on synthetic guests.

use scxray_core::{DsqOrigin, Limits, MAX_SCHED_DEPTH, Pass, Problem, Provenance, Symbol, VirtAddr};
use scxray_tests::kernels::{debian_7_3_amd64, globals_era};
use scxray_tests::{GuestBuilder, KitAddr, Recorder, SCX_DSQ_GLOBAL};

fn machine(cpus: u32, nodes: u32) -> GuestBuilder {
    GuestBuilder::new(debian_7_3_amd64(), cpus, nodes)
}

/// The DSQs of `r` owned by `sched`, as labels.
fn owned(r: &Recorder, sched: VirtAddr) -> Vec<String> {
    r.dsqs.iter().filter(|d| d.header.sched == Some(sched)).map(|d| d.header.origin.to_string()).collect()
}

#[test]
fn sub_schedulers_are_walked_depth_first_each_with_its_own_dsqs() {
    let mut b = machine(2, 2);
    let root = b.attach_scheduler(0, 16);
    let a = b.add_sub_sched(root, 0, 8);
    let a1 = b.add_sub_sched(a, 1024, 8);
    let c = b.add_sub_sched(root, 0, 8);
    let t = b.add_task(300, b"in-a1");
    let dsq = b.add_user_dsq_in(a1, 0x77, 3);
    b.enqueue(dsq, t);
    let r = b.build().record();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let order: Vec<_> =
        r.sub_scheds.iter().map(|s| (s.state.sched_kva, s.parent_kva, s.depth, s.level)).collect();
    assert_eq!(order, vec![(a, root, 1, Some(1)), (a1, a, 2, Some(2)), (c, root, 1, Some(1))]);
    assert_eq!(r.sub_scheds[1].state.exit_kind, 1024);
    assert_eq!(r.sub_scheds_ends.len(), 1);
    let end = r.sub_scheds_ends[0];
    assert_eq!((end.reported, end.skipped, end.truncated, end.broken), (3, 0, false, None));
    // Every scheduler owns 2 bypass, 2 global DSQs; a1 also its user DSQ with the task.
    for s in [root, a, c] {
        assert_eq!(owned(&r, s), ["bypass cpu 0", "bypass cpu 1", "global node 0", "global node 1"], "{s}");
    }
    assert_eq!(owned(&r, a1), ["bypass cpu 0", "bypass cpu 1", "global node 0", "global node 1", "user"]);
    let user =
        r.dsqs.iter().find(|d| d.header.sched == Some(a1) && d.header.origin == DsqOrigin::User).unwrap();
    assert_eq!((user.header.id, user.tasks.clone()), (0x77, vec![t]));
    // Per-CPU DSQs belong to no scheduler.
    assert!(
        r.dsqs
            .iter()
            .filter(|d| matches!(d.header.origin, DsqOrigin::Local { .. }))
            .all(|d| d.header.sched.is_none())
    );
    // One dsq_hash walk per scheduler, root first.
    assert_eq!(r.user_ends.iter().map(|h| h.nodes).collect::<Vec<_>>(), [0, 0, 1, 0]);
}

#[test]
fn the_sub_scheduler_cap_truncates_the_hierarchy() {
    let mut b = machine(1, 1);
    let root = b.attach_scheduler(0, 4);
    for _ in 0..3 {
        b.add_sub_sched(root, 0, 4);
    }
    let mut g = b.build();
    g.limits = Limits { sub_scheds: 2, ..Limits::DEFAULT };
    let r = g.record();
    assert_eq!(r.sub_scheds.len(), 2);
    let end = r.sub_scheds_ends[0];
    assert!(end.truncated);
    assert_eq!(end.reported, 2);
    // At the cap exactly, nothing is cut.
    g.limits.sub_scheds = 3;
    let r = g.record();
    assert_eq!((r.sub_scheds.len(), r.sub_scheds_ends[0].truncated), (3, false));
}

#[test]
fn a_hierarchy_deeper_than_the_depth_cap_is_truncated() {
    let mut b = machine(1, 1);
    let mut parent = b.attach_scheduler(0, 4);
    let mut chain = Vec::new();
    for _ in 0..=MAX_SCHED_DEPTH {
        parent = b.add_sub_sched(parent, 0, 4);
        chain.push(parent);
    }
    let r = b.build().record();
    let depths: Vec<u32> = r.sub_scheds.iter().map(|s| s.depth).collect();
    assert_eq!(depths, (1..=MAX_SCHED_DEPTH).collect::<Vec<_>>());
    assert!(r.sub_scheds_ends[0].truncated);
    assert_eq!(r.sub_scheds.last().unwrap().state.sched_kva, chain[MAX_SCHED_DEPTH as usize - 1]);
}

#[test]
fn a_kernel_without_sub_schedulers_has_no_hierarchy_events() {
    let mut l = debian_7_3_amd64();
    if let Some(s) = l.sched.as_mut() {
        s.children = None;
        s.sibling = None;
        s.level = None;
    }
    let mut b = GuestBuilder::new(l, 1, 1);
    b.attach_scheduler(0, 4);
    let r = b.build().record();
    assert_eq!(r.roots.len(), 1);
    assert!(r.sub_scheds.is_empty() && r.sub_scheds_ends.is_empty());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn an_unreadable_sibling_link_breaks_the_walk_without_inventing_schedulers() {
    let mut b = machine(1, 1);
    let root = b.attach_scheduler(0, 4);
    let a = b.add_sub_sched(root, 0, 4);
    b.add_sub_sched(root, 0, 4);
    let sibling = u64::from(b.layout.sched.unwrap().sibling.unwrap());
    let mut g = b.build();
    g.poison(a.at(sibling), 8);
    let r = g.record();
    assert!(r.sub_scheds.is_empty(), "a node whose next pointer is unreadable is not reported");
    let end = r.sub_scheds_ends[0];
    assert_eq!(end.broken.unwrap().field, scxray_core::Field::SchedSibling);
    assert!(!end.truncated);
}

// ---- 6.12-6.15: the globals ----------------------------------------------------------------

#[test]
fn globals_give_the_root_its_global_and_user_dsqs() {
    let mut b = GuestBuilder::new(globals_era(), 2, 2);
    let g = b.attach_globals(true, 0, 16);
    let t1 = b.add_task(41, b"on-global");
    let t2 = b.add_task(42, b"on-user");
    let global1 = b.globals_global_dsq(1);
    b.enqueue(global1, t1);
    let user = b.add_user_dsq(5, 2, false);
    b.enqueue(user, t2);
    let r = b.build().record();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.roots.len(), 1);
    let root = r.roots[0];
    assert_eq!((root.sched_kva, root.provenance, root.exit_kind), (g.ops, Provenance::Globals, 0));
    // No bypass DSQs before 6.16; the global and user DSQs are owned by scx_ops.
    assert_eq!(owned(&r, g.ops), ["global node 0", "global node 1", "user"]);
    let gd = r.dsq("global node 1").unwrap();
    assert_eq!((gd.header.id, gd.tasks.clone()), (SCX_DSQ_GLOBAL, vec![t1]));
    assert_eq!(r.dsq("user").unwrap().tasks, vec![t2]);
    assert!(r.sub_scheds_ends.is_empty());
    assert_eq!(r.user_ends.len(), 1);
}

#[test]
fn globals_of_a_disabled_scheduler_mean_no_scheduler() {
    let mut b = GuestBuilder::new(globals_era(), 1, 1);
    b.attach_globals(false, 1, 4);
    let r = b.build().record();
    assert!(r.roots.is_empty());
    assert!(r.dsqs.iter().all(|d| d.header.sched.is_none()), "only per-CPU DSQs");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn globals_before_the_first_enable_have_no_global_dsqs() {
    let mut b = GuestBuilder::new(globals_era(), 1, 2);
    let g = b.attach_globals(true, 0, 4);
    b.write_u64(g.global_dsqs.unwrap(), 0);
    let r = b.build().record();
    assert_eq!(owned(&r, g.ops), Vec::<String>::new());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn globals_without_global_dsqs_or_dsq_hash_symbols_are_named() {
    let mut b = GuestBuilder::new(globals_era(), 1, 1);
    b.attach_globals(true, 0, 4);
    let mut g = b.build();
    let globals = g.symbols.globals.as_mut().unwrap();
    globals.global_dsqs = None;
    globals.dsq_hash = None;
    let r = g.record();
    assert_eq!(r.roots.len(), 1);
    assert!(
        r.problems.contains(&Problem::MissingSymbol { pass: Pass::GlobalDsqs, symbol: Symbol::GlobalDsqs })
    );
    assert!(r.problems.contains(&Problem::MissingSymbol { pass: Pass::UserDsqs, symbol: Symbol::DsqHash }));
}

#[test]
fn an_unreadable_enable_state_is_a_problem_not_a_disabled_scheduler() {
    let mut b = GuestBuilder::new(globals_era(), 1, 1);
    let gl = b.attach_globals(true, 0, 4);
    let mut g = b.build();
    g.poison(gl.enable_state, 4);
    let r = g.record();
    assert!(r.roots.is_empty());
    assert!(
        r.problems.iter().any(|p| matches!(p, Problem::Unreadable { pass: Pass::Root, error }
        if error.field == scxray_core::Field::EnableStateVar)),
        "{:?}",
        r.problems
    );
}
