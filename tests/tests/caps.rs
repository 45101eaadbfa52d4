//! Truncation at exactly the caps: at the cap nothing is truncated, one past it is.

use scxray_core::{
    DsqOrigin, HashTruncation, Limits, MAX_BUCKET_CHAIN, MAX_LIST_NODES, MAX_RHT_BUCKETS, MAX_RHT_NODES,
};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{GuestBuilder, KitAddr};

#[test]
fn caps_have_the_specified_values() {
    assert_eq!((MAX_LIST_NODES, MAX_RHT_NODES, MAX_RHT_BUCKETS, MAX_BUCKET_CHAIN), (4096, 8192, 65536, 1024));
    let d = Limits::default();
    assert_eq!((d.list_nodes, d.rht_nodes, d.rht_buckets, d.bucket_chain), (4096, 8192, 65536, 1024));
}

#[test]
fn scx_tasks_truncates_at_exactly_4096() {
    for (n, truncated) in [(4096u32, false), (4097, true)] {
        let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
        for i in 0..n {
            b.add_task(i as i32, b"t");
        }
        let g = b.build();
        let tl = g.with(|gg| gg.collect_scx_tasks::<5000>());
        assert_eq!(tl.walk.truncated, truncated, "n={n}");
        assert_eq!(tl.truncated, truncated, "n={n}");
        assert_eq!(tl.tasks.len(), 4096, "n={n}");
    }
}

#[test]
fn a_dsq_list_and_a_runnable_list_truncate_at_exactly_4096() {
    for (n, truncated) in [(4096u32, false), (4097, true)] {
        let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
        let dsq = b.local_dsq(0);
        for i in 0..n {
            let t = b.add_detached_task(i as i32, b"q");
            b.enqueue(dsq, t);
            let r = b.add_detached_task(i as i32, b"r");
            b.make_runnable(1, r);
        }
        let g = b.build();
        let r = g.record();
        let d = r.dsq("local cpu 0").unwrap();
        assert_eq!((d.tasks.len(), d.walk.unwrap().truncated), (4096, truncated), "n={n}");
        assert_eq!(d.header.nr, n, "nr is what the kernel says, not what was walked");
        assert_eq!(r.runnable_of(1).len(), 4096);
        let end = r.runnable_ends.iter().find(|(c, _)| *c == 1).unwrap().1;
        assert_eq!(end.truncated, truncated, "n={n}");
    }
}

#[test]
fn the_list_cap_is_the_callers_choice() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    for i in 0..6000 {
        b.add_task(i, b"t");
    }
    let mut g = b.build();
    g.limits.list_nodes = 10_000;
    let tl = g.with(|gg| gg.collect_scx_tasks::<8000>());
    assert_eq!((tl.tasks.len(), tl.truncated), (6000, false));
    // A container smaller than the list says so too.
    let tl = g.with(|gg| gg.collect_scx_tasks::<100>());
    assert_eq!((tl.tasks.len(), tl.truncated, tl.walk.truncated), (100, true, false));
}

fn user_dsq_walk(total: u32, buckets: u32) -> (u32, HashTruncation) {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    b.attach_scheduler(0, buckets);
    for i in 0..total {
        b.add_user_dsq(u64::from(i), i % buckets, false);
    }
    let g = b.build();
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    // Recorded on the heap: a 9000-entry heapless index (~936 KB) overflows a debug test
    // thread's stack.
    let mut r = scxray_tests::Recorder::default();
    g.with(|gg| gg.walk_user_dsqs(sched, &mut r));
    assert!(r.dsqs.iter().all(|d| d.header.origin == DsqOrigin::User));
    let walk = r.user_ends[0];
    assert_eq!(r.dsqs.len() as u32, walk.nodes);
    (walk.nodes, walk.truncated)
}

#[test]
fn rhashtable_truncates_at_exactly_8192_nodes() {
    assert_eq!(user_dsq_walk(8192, 16), (8192, HashTruncation::empty()));
    assert_eq!(user_dsq_walk(8193, 16), (8192, HashTruncation::NODES));
}

#[test]
fn rhashtable_chain_truncates_at_exactly_1024() {
    assert_eq!(user_dsq_walk(1024, 1), (1024, HashTruncation::empty()));
    let (nodes, t) = user_dsq_walk(1025, 1);
    assert_eq!((nodes, t), (1024, HashTruncation::CHAIN));

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
fn rhashtable_truncates_at_exactly_65536_buckets() {
    for (size, truncated) in [(65536u32, false), (65537, true)] {
        let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
        b.attach_scheduler(0, size);
        b.add_user_dsq(1, 65535, false); // the last bucket under the cap
        b.add_user_dsq(2, size - 1, false); // the table's own last bucket
        let r = b.build().record();
        let hw = r.user_ends[0];
        assert_eq!(hw.table_size, size);
        assert_eq!(hw.buckets_visited, 65536);
        assert_eq!(hw.truncated.contains(HashTruncation::BUCKETS), truncated, "size={size}");
        let ids: Vec<u64> =
            r.dsqs.iter().filter(|d| d.header.origin == DsqOrigin::User).map(|d| d.header.id).collect();
        if truncated {
            assert_eq!(ids, vec![1], "bucket 65536 lies past the cap");
        } else {
            assert_eq!(ids, vec![2, 1], "both DSQs share bucket 65535");
        }
    }
}

#[test]
fn bucket_table_size_u32_max_is_bounded_by_the_bucket_cap() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    b.attach_scheduler(0, 4);
    let g0 = b.build();
    // Claim u32::MAX buckets in a 4-bucket table: reads past the table fail or read zeros,
    // and the walk visits at most the cap.
    let mut g = g0;
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    let tbl_ptr = sched.at(g.layout.sched.unwrap().dsq_hash);
    let pa = scxray_tests::pa_of(tbl_ptr) as usize;
    let tbl = u64::from_le_bytes(g.mem[pa..pa + 8].try_into().unwrap());
    let tpa = scxray_tests::pa_of(scxray_core::VirtAddr(tbl)) as usize;
    g.mem[tpa..tpa + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let idx = g.with(|gg| gg.collect_user_dsqs::<16>(sched));
    assert_eq!(idx.walk.table_size, u32::MAX);
    assert_eq!(idx.walk.buckets_visited, MAX_RHT_BUCKETS);
    assert!(idx.walk.truncated.contains(HashTruncation::BUCKETS));
}
