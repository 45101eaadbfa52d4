//! The caps: sized from the kernel's own counts by default (a big machine is walked whole),
//! cut where a list is longer than its count and slack, never above the ceilings, fixed by the
//! caller when asked; truncation at exactly a cap; every cut records the cap that made it.

use scxray_core::{
    Cap, CapBasis, DsqOrigin, Field, HashTruncation, LIST_NODES_CEILING, LIST_NODES_FLOOR, Limit, Limits,
    ListWalk, MAX_BUCKET_CHAIN, Pass, Problem, RHT_BUCKETS_CEILING, RHT_BUCKETS_FLOOR, RHT_NODES_CEILING,
    RHT_NODES_FLOOR, VirtAddr, WalkCap,
};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{GuestBuilder, KitAddr, Recorder, TestGuest};

#[test]
fn caps_have_the_specified_values() {
    assert_eq!(
        (LIST_NODES_FLOOR, RHT_NODES_FLOOR, RHT_BUCKETS_FLOOR, MAX_BUCKET_CHAIN),
        (4096, 8192, 65536, 1024)
    );
    // PID_MAX_LIMIT, then one idle task and one cursor per CPU of the largest machine.
    assert_eq!(LIST_NODES_CEILING, 4_194_304 + 2 * 8192);
    assert_eq!((RHT_NODES_CEILING, RHT_BUCKETS_CEILING), (1 << 20, 1 << 21));
    let d = Limits::default();
    assert_eq!(d.list_nodes, Cap::Kernel { floor: 4096, ceiling: 4_210_688 });
    assert_eq!(d.rht_nodes, Cap::Kernel { floor: 8192, ceiling: 1 << 20 });
    assert_eq!(d.rht_buckets, Cap::Kernel { floor: 65536, ceiling: 1 << 21 });
    assert_eq!((d.bucket_chain, d.sub_scheds), (1024, 32));
    let f = Limits::FLOORS;
    assert_eq!(
        (f.list_nodes, f.rht_nodes, f.rht_buckets),
        (Cap::Fixed(4096), Cap::Fixed(8192), Cap::Fixed(65536))
    );
    // The list budget is the ceiling, or a larger fixed cap.
    assert_eq!(d.list_budget(), LIST_NODES_CEILING);
    assert_eq!(Limits { list_nodes: Cap::Fixed(5_000_000), ..d }.list_budget(), 5_000_000);
    assert_eq!(Limits { list_nodes: Cap::Fixed(10), ..d }.list_budget(), LIST_NODES_CEILING);
}

#[test]
fn a_cap_resolves_from_its_count_within_floor_and_ceiling() {
    let k = Cap::Kernel { floor: 100, ceiling: 1000 };
    let l = Limit::ListNodes;
    let cap = |value, basis| WalkCap { limit: l, value, basis };
    assert_eq!(k.resolve(l, Some(10), 5), cap(100, CapBasis::Floor { count: 10 }));
    assert_eq!(k.resolve(l, Some(500), 5), cap(505, CapBasis::Count { count: 500 }));
    assert_eq!(k.resolve(l, Some(996), 5), cap(1000, CapBasis::Ceiling { count: 996 }));
    assert_eq!(k.resolve(l, Some(u32::MAX), 5), cap(1000, CapBasis::Ceiling { count: u32::MAX }));
    assert_eq!(k.resolve(l, None, 5), cap(1000, CapBasis::NoCount));
    assert_eq!(Cap::Fixed(7).resolve(l, Some(500), 5), cap(7, CapBasis::Fixed));
    // A floor above the ceiling: the ceiling wins.
    let odd = Cap::Kernel { floor: 50, ceiling: 20 };
    assert_eq!(odd.resolve(l, Some(1), 0).value, 20);
    assert_eq!(odd.resolve(l, Some(30), 0).value, 20);
}

fn tasks_walk(g: &TestGuest) -> (ListWalk, Vec<Problem>, usize) {
    let mut r = Recorder::default();
    let w = g.with(|gg| gg.walk_scx_tasks(&mut r));
    (w, r.problems, r.scx_tasks.len())
}

#[test]
fn a_6000_task_machine_is_walked_whole_by_default() {
    // 6000 tasks on scx_tasks, 6000 queued on one DSQ and 6000 runnable on one CPU: every
    // list is longer than the old 4096 cap, and each one's own count sizes its cap.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
    let dsq = b.local_dsq(0);
    for i in 0..6000 {
        let t = b.add_task(i, b"t");
        if i % 2 == 0 {
            b.enqueue(dsq, t);
        }
        let r = b.add_detached_task(i, b"r");
        b.make_runnable(1, r);
        let q = b.add_detached_task(i, b"q");
        if i % 2 == 1 {
            b.enqueue(dsq, q);
        }
    }
    b.set_rq_scalars(1, 6000, 0, false);
    let r = b.build().record();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let tasks = r.scx_tasks_ends[0];
    assert_eq!((r.scx_tasks.len(), tasks.truncated, tasks.broken), (6000, false, None));
    // 2 nr_threads + 2 C + 1.
    assert_eq!(
        tasks.cap,
        WalkCap { limit: Limit::ListNodes, value: 12_005, basis: CapBasis::Count { count: 6000 } }
    );
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!((d.tasks.len(), d.header.nr), (6000, 6000));
    assert_eq!(
        d.walk.unwrap().cap,
        WalkCap { limit: Limit::ListNodes, value: 6005, basis: CapBasis::Count { count: 6000 } }
    );
    assert!(!d.walk.unwrap().truncated);
    assert_eq!(r.runnable_of(1).len(), 6000);
    let run = r.runnable_ends.iter().find(|(c, _)| *c == 1).unwrap().1;
    assert_eq!((run.truncated, run.cap.value, run.cap.basis), (false, 6005, CapBasis::Count { count: 6000 }));
}

#[test]
fn a_list_longer_than_its_count_and_slack_is_cut_there() {
    // scx_tasks holds 7000 tasks, nr_threads says 3000: cut at 2 * 3000 + 2 * 1 + 1.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    for i in 0..7000 {
        b.add_task(i, b"t");
    }
    let nr_threads = b.nr_threads();
    b.write_u32(nr_threads, 3000);
    let (w, problems, n) = tasks_walk(&b.build());
    assert!(problems.is_empty());
    assert_eq!((n, w.truncated, w.broken), (6003, true, None));
    assert_eq!(
        w.cap,
        WalkCap { limit: Limit::ListNodes, value: 6003, basis: CapBasis::Count { count: 3000 } }
    );

    // A DSQ of 5000 tasks whose nr says 4500: cut at 4500 + 3.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    let dsq = b.local_dsq(0);
    for i in 0..5000 {
        let t = b.add_detached_task(i, b"q");
        b.enqueue(dsq, t);
    }
    b.set_dsq_counts(dsq, 4500, 0);
    let r = b.build().record();
    let w = r.dsq("local cpu 0").unwrap().walk.unwrap();
    assert_eq!((w.reported, w.truncated), (4503, true));
    assert_eq!(w.cap.basis, CapBasis::Count { count: 4500 });

    // A count below the floor: the floor (the cap of earlier versions) holds.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    let dsq = b.local_dsq(0);
    for i in 0..4097 {
        let t = b.add_detached_task(i, b"q");
        b.enqueue(dsq, t);
    }
    b.set_dsq_counts(dsq, 3, 0);
    let r = b.build().record();
    let w = r.dsq("local cpu 0").unwrap().walk.unwrap();
    assert_eq!(
        (w.reported, w.truncated, w.cap.value, w.cap.basis),
        (4096, true, 4096, CapBasis::Floor { count: 3 })
    );
}

#[test]
fn without_a_count_the_ceiling_holds_and_the_walk_says_why() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    for i in 0..5000 {
        b.add_task(i, b"t");
    }
    let nr_threads = b.nr_threads();
    let mut g = b.build();
    // No nr_threads symbol: no count, the ceiling.
    g.symbols.nr_threads = None;
    let (w, problems, n) = tasks_walk(&g);
    assert_eq!(
        (n, w.truncated, w.cap.value, w.cap.basis),
        (5000, false, LIST_NODES_CEILING, CapBasis::NoCount)
    );
    assert!(problems.is_empty());
    // An unreadable one: the same, and a problem naming it.
    g.symbols.nr_threads = Some(nr_threads);
    g.poison(nr_threads, 4);
    let (w, problems, n) = tasks_walk(&g);
    assert_eq!((n, w.cap.basis), (5000, CapBasis::NoCount));
    assert!(
        matches!(problems[..], [Problem::Unreadable { pass: Pass::ScxTasks, error }]
            if error.field == Field::NrThreadsVar && error.kva == nr_threads),
        "{problems:?}"
    );
    // A negative one is no count either.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    b.add_task(1, b"t");
    let nr_threads = b.nr_threads();
    b.write_u32(nr_threads, (-5i32) as u32);
    let (w, _, n) = tasks_walk(&b.build());
    assert_eq!((n, w.cap.basis), (1, CapBasis::NoCount));
}

#[test]
fn a_fixed_cap_is_the_callers_whatever_the_kernel_counts() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    for i in 0..6000 {
        b.add_task(i, b"t");
    }
    let mut g = b.build();
    g.limits.list_nodes = Cap::Fixed(100);
    let (w, _, n) = tasks_walk(&g);
    assert_eq!(
        (n, w.truncated, w.cap),
        (100, true, WalkCap { limit: Limit::ListNodes, value: 100, basis: CapBasis::Fixed })
    );
    // The old caps, in one word.
    g.limits = Limits::FLOORS;
    let (w, _, n) = tasks_walk(&g);
    assert_eq!((n, w.truncated, w.cap.value), (4096, true, 4096));
    // A container smaller than the list says so too.
    g.limits = Limits::DEFAULT;
    let tl = g.with(|gg| gg.collect_scx_tasks::<100>());
    assert_eq!((tl.tasks.len(), tl.truncated, tl.walk.truncated), (100, true, false));
}

#[test]
fn at_a_cap_nothing_is_cut_and_one_past_it_is() {
    for (n, truncated) in [(4096u32, false), (4097, true)] {
        let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
        let dsq = b.local_dsq(0);
        for i in 0..n {
            let t = b.add_detached_task(i as i32, b"q");
            b.enqueue(dsq, t);
            let r = b.add_detached_task(i as i32, b"r");
            b.make_runnable(1, r);
        }
        let mut g = b.build();
        g.limits = Limits::FLOORS;
        let r = g.record();
        let d = r.dsq("local cpu 0").unwrap();
        assert_eq!((d.tasks.len(), d.walk.unwrap().truncated), (4096, truncated), "n={n}");
        assert_eq!(d.header.nr, n, "nr is what the kernel says, not what was walked");
        assert_eq!(r.runnable_of(1).len(), 4096);
        let end = r.runnable_ends.iter().find(|(c, _)| *c == 1).unwrap().1;
        assert_eq!(end.truncated, truncated, "n={n}");
    }
}

/// The user DSQs of `b`'s root, recorded (on the heap: a heapless index of 9000 entries
/// overflows a debug test thread's stack).
fn user_walk(g: &TestGuest) -> (Recorder, scxray_core::HashWalk) {
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    let mut r = Recorder::default();
    let hw = g.with(|gg| gg.walk_user_dsqs(sched, &mut r));
    assert!(r.dsqs.iter().all(|d| d.header.origin == DsqOrigin::User));
    assert_eq!(r.dsqs.len() as u32, hw.nodes);
    (r, hw)
}

fn user_dsqs(total: u32, buckets: u32) -> GuestBuilder {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    b.attach_scheduler(0, buckets);
    for i in 0..total {
        b.add_user_dsq(u64::from(i), i % buckets, false);
    }
    b
}

#[test]
fn user_dsqs_are_sized_from_nelems() {
    // 9000 DSQs, more than the old 8192 cap: walked whole.
    let (_, hw) = user_walk(&user_dsqs(9000, 16).build());
    assert_eq!((hw.nodes, hw.truncated), (9000, HashTruncation::empty()));
    assert_eq!(
        hw.node_cap,
        WalkCap { limit: Limit::RhtNodes, value: 9001, basis: CapBasis::Count { count: 9000 } }
    );
    assert_eq!(
        hw.bucket_cap,
        WalkCap { limit: Limit::RhtBuckets, value: 65536, basis: CapBasis::Floor { count: 16 } }
    );
    // nelems says 10: the floor holds, and 8193 DSQs are cut at 8192.
    let b = user_dsqs(8193, 16);
    let mut g = b.build();
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    let nelems = sched.at(g.layout.sched.unwrap().dsq_hash).at(g.layout.rht.unwrap().nelems.unwrap());
    let pa = g.map.pa(nelems.0) as usize;
    g.mem[pa..pa + 4].copy_from_slice(&10u32.to_le_bytes());
    let (_, hw) = user_walk(&g);
    assert_eq!((hw.nodes, hw.truncated), (8192, HashTruncation::NODES));
    assert_eq!(hw.node_cap.basis, CapBasis::Floor { count: 10 });
    // Fixed by the caller.
    g.limits.rht_nodes = Cap::Fixed(5);
    let (_, hw) = user_walk(&g);
    assert_eq!((hw.nodes, hw.truncated, hw.node_cap.basis), (5, HashTruncation::NODES, CapBasis::Fixed));
}

#[test]
fn rhashtable_chain_truncates_at_exactly_1024() {
    let (_, hw) = user_walk(&user_dsqs(1024, 1).build());
    assert_eq!((hw.nodes, hw.truncated, hw.chain_cap), (1024, HashTruncation::empty(), 1024));
    let (_, hw) = user_walk(&user_dsqs(1025, 1).build());
    assert_eq!((hw.nodes, hw.truncated), (1024, HashTruncation::CHAIN));

    // The walk goes on with the next bucket after a capped chain.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    b.attach_scheduler(0, 2);
    for i in 0..1025 {
        b.add_user_dsq(i, 0, false);
    }
    b.add_user_dsq(99_999, 1, false);
    let r = b.build().record();
    assert!(r.dsqs.iter().any(|d| d.header.id == 99_999));
    assert_eq!(r.user_ends[0].truncated, HashTruncation::CHAIN);
}

#[test]
fn rhashtable_buckets_are_cut_at_the_fixed_cap_or_the_ceiling() {
    for (size, truncated) in [(65536u32, false), (65537, true)] {
        let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
        b.attach_scheduler(0, size);
        b.add_user_dsq(1, 65535, false); // the last bucket under the cap
        b.add_user_dsq(2, size - 1, false); // the table's own last bucket
        let mut g = b.build();
        g.limits.rht_buckets = Cap::Fixed(65536);
        let r = g.record();
        let hw = r.user_ends[0];
        assert_eq!((hw.table_size, hw.buckets_visited), (size, 65536));
        assert_eq!(hw.truncated.contains(HashTruncation::BUCKETS), truncated, "size={size}");
        let ids: Vec<u64> =
            r.dsqs.iter().filter(|d| d.header.origin == DsqOrigin::User).map(|d| d.header.id).collect();
        if truncated {
            assert_eq!(ids, vec![1], "bucket 65536 lies past the cap");
        } else {
            assert_eq!(ids, vec![2, 1], "both DSQs share bucket 65535");
        }
        // By default the table's own size is the cap: every bucket is walked.
        g.limits = Limits::DEFAULT;
        let hw = g.record().user_ends[0];
        assert_eq!(
            (hw.buckets_visited, hw.truncated, hw.bucket_cap.basis),
            (size, HashTruncation::empty(), CapBasis::Count { count: size })
        );
    }
}

#[test]
fn bucket_table_size_u32_max_is_cut_at_the_bucket_ceiling() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    b.attach_scheduler(0, 4);
    let mut g = b.build();
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    let tbl_ptr = sched.at(g.layout.sched.unwrap().dsq_hash);
    let pa = scxray_tests::pa_of(tbl_ptr) as usize;
    let tbl = u64::from_le_bytes(g.mem[pa..pa + 8].try_into().unwrap());
    let tpa = scxray_tests::pa_of(VirtAddr(tbl)) as usize;
    g.mem[tpa..tpa + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let idx = g.with(|gg| gg.collect_user_dsqs::<16>(sched));
    assert_eq!(idx.walk.table_size, u32::MAX);
    assert_eq!(idx.walk.buckets_visited, RHT_BUCKETS_CEILING);
    assert!(idx.walk.truncated.contains(HashTruncation::BUCKETS));
    assert_eq!(idx.walk.bucket_cap.basis, CapBasis::Ceiling { count: u32::MAX });
}
