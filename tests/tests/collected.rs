//! The collected (heapless) outputs: contents, the sizes the docs promise, and the postcard
//! wire round-trip of the serde feature.

use scxray_core::{CpuRunnable, DsqTasks, MachineSummary, TaskList, UserDsqIndex};
use scxray_tests::GuestBuilder;
use scxray_tests::kernels::debian_7_3_amd64;

#[test]
fn collected_sizes_match_the_documented_table() {
    // The table in scxray_core::collect's docs (64-bit targets).
    if size_of::<usize>() != 8 {
        return;
    }
    assert_eq!(size_of::<TaskList<4096>>(), 8 * 4096 + size_of::<TaskList<0>>());
    println!(
        "TaskList<0>={} DsqTasks<0>={} CpuRunnable<0>={} UserDsqIndex<0>={} DsqSummary={} CpuSummary={} MachineSummary<0,0>={}",
        size_of::<TaskList<0>>(),
        size_of::<DsqTasks<0>>(),
        size_of::<CpuRunnable<0>>(),
        size_of::<UserDsqIndex<0>>(),
        size_of::<scxray_core::DsqSummary>(),
        size_of::<scxray_core::CpuSummary>(),
        size_of::<MachineSummary<0, 0>>()
    );
    println!(
        "TaskList<4096>={} DsqTasks<4096>={} CpuRunnable<4096>={} UserDsqIndex<8192>={} MachineSummary<64,256>={}",
        size_of::<TaskList<4096>>(),
        size_of::<DsqTasks<4096>>(),
        size_of::<CpuRunnable<4096>>(),
        size_of::<UserDsqIndex<8192>>(),
        size_of::<MachineSummary<64, 256>>()
    );
    assert_eq!(size_of::<TaskList<4096>>(), 32_864);
    assert_eq!(size_of::<DsqTasks<4096>>(), 32_976);
    assert_eq!(size_of::<CpuRunnable<4096>>(), 33_104);
    assert_eq!(size_of::<UserDsqIndex<8192>>(), 1_114_256);
    assert_eq!(size_of::<MachineSummary<64, 256>>(), 52_960);
}

fn busy_guest() -> scxray_tests::TestGuest {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 4, 2);
    b.attach_scheduler(0x402, 16);
    for i in 0..12u32 {
        let t = b.add_task(i as i32 + 1, b"w");
        match i % 3 {
            0 => b.make_runnable(i % 4, t),
            1 => {
                let d = b.local_dsq(i % 4);
                b.enqueue(d, t);
            }
            _ => {
                let d = b.add_user_dsq(u64::from(i), i % 16, false);
                b.enqueue(d, t);
            }
        }
    }
    b.build()
}

#[test]
fn machine_summary_collects_every_pass() {
    let g = busy_guest();
    let s: MachineSummary<8, 64> = g.with(|gg| gg.collect_machine());
    assert_eq!(s.root.unwrap().exit_kind, 0x402);
    assert_eq!(s.cpus.len(), 4);
    assert_eq!(s.cpus.iter().map(|c| c.runnable.reported).sum::<u32>(), 4);
    // 4 x 3 per-CPU + 4 bypass + 2 global + 4 user.
    assert_eq!(s.dsqs.len(), 22);
    assert_eq!(s.dsqs.iter().map(|d| d.walk.reported).sum::<u32>(), 8);
    assert_eq!(s.user_dsqs.nodes, 4);
    assert_eq!(s.scx_tasks.reported, 12);
    assert!(s.problems.is_empty());
    assert!(!s.truncated);

    // Too small a container is a truncation, not a silent loss.
    let small: MachineSummary<2, 4> = g.with(|gg| gg.collect_machine());
    assert_eq!((small.cpus.len(), small.dsqs.len(), small.truncated), (2, 4, true));
}

#[test]
fn collected_outputs_round_trip_through_postcard() {
    let g = busy_guest();
    let s: MachineSummary<8, 64> = g.with(|gg| gg.collect_machine());
    let bytes = postcard::to_allocvec(&s).unwrap();
    let back: MachineSummary<8, 64> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, s);

    let tl: TaskList<64> = g.with(|gg| gg.collect_scx_tasks());
    let back: TaskList<64> = postcard::from_bytes(&postcard::to_allocvec(&tl).unwrap()).unwrap();
    assert_eq!(back, tl);
    assert_eq!(back.tasks.len(), 12);

    let layout = debian_7_3_amd64();
    let back: scxray_core::Layout = postcard::from_bytes(&postcard::to_allocvec(&layout).unwrap()).unwrap();
    assert_eq!(back, layout);
    // The BPF layout is not serialized (wire version 3 has no BPF pass): it comes back empty,
    // and the encoding is the same bytes as without it.
    let with_bpf = scxray_core::Layout { bpf: scxray_tests::kernels::debian_7_3_amd64_bpf(), ..layout };
    assert_eq!(postcard::to_allocvec(&with_bpf).unwrap(), postcard::to_allocvec(&layout).unwrap());
    let back: scxray_core::Layout = postcard::from_bytes(&postcard::to_allocvec(&with_bpf).unwrap()).unwrap();
    assert_eq!(back, layout);
}

#[test]
fn machine_summary_keeps_the_roots_user_dsqs_and_the_hierarchys_end() {
    // The root has 3 user DSQs; its two sub-schedulers have none and 1, and the hierarchy is
    // cut by a cap of 1 sub-scheduler.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    let root = b.attach_scheduler(0, 4);
    for i in 0..3 {
        b.add_user_dsq(i, i as u32, false);
    }
    let a = b.add_sub_sched(root, 0, 4);
    b.add_user_dsq_in(a, 9, 1);
    b.add_sub_sched(root, 0, 4);
    let mut g = b.build();
    let s: MachineSummary<4, 64> = g.with(|gg| gg.collect_machine());
    assert_eq!(
        (s.user_dsqs.nodes, s.sub_sched_count),
        (3, 2),
        "the root's dsq_hash, not the last one walked"
    );
    assert_eq!((s.sub_scheds.reported, s.sub_scheds.truncated, s.truncated), (2, false, false));
    g.limits.sub_scheds = 1;
    let s: MachineSummary<4, 64> = g.with(|gg| gg.collect_machine());
    assert_eq!((s.user_dsqs.nodes, s.sub_sched_count), (3, 1));
    assert!(s.sub_scheds.truncated && s.truncated, "the hierarchy's cut reaches the summary");
}
