//! One test per rule of `shared/design/walker-spec.md`, each written so that removing the
//! rule's code makes it fail. Guests are synthetic, laid out at Debian 7.3 amd64 offsets.

use scxray_core::{
    DsqOrigin, Field, LIST_NODES_FLOOR, LayoutGroup, Pass, Problem, Provenance, ReadCause, ReadError, Symbol,
    TaskEntry, VirtAddr,
};
use scxray_tests::kernels::{debian_7_2_amd64, debian_7_3_amd64};
use scxray_tests::{
    DIRECT_MAP, GuestBuilder, KERNEL_IMAGE, KitAddr, SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL, TestGuest,
};

fn machine(cpus: u32, nodes: u32) -> GuestBuilder {
    GuestBuilder::new(debian_7_3_amd64(), cpus, nodes)
}

/// An address no kit range maps (a vmalloc-like address).
const UNMAPPED: u64 = 0xffff_c900_dead_0000;

// ---- Pass 1: rq->scx ----------------------------------------------------------------------

#[test]
fn pass1_reports_rq_scx_scalars_curr_and_runnable_tasks() {
    let mut b = machine(2, 1);
    let t1 = b.add_task(101, b"worker-a");
    let t2 = b.add_task(102, b"worker-b");
    let running = b.add_task(103, b"busy");
    b.make_runnable(1, t1);
    b.make_runnable(1, t2);
    b.set_curr(1, running);
    b.set_rq_scalars(1, 3, 0x5, true);
    let l = b.layout.scx_rq.unwrap();
    b.set_scx_rq_u64(1, l.kick_sync.unwrap(), 77);
    b.set_scx_rq_u64(1, l.clock.unwrap(), 123_456_789);
    let g = b.build();
    let r = g.record();
    let cpu1 = r.cpus.iter().find(|c| c.cpu == 1).unwrap();
    assert_eq!(cpu1.nr_running, 3);
    assert_eq!(cpu1.flags, 0x5);
    assert!(cpu1.cpu_released);
    assert_eq!(cpu1.kick_sync, Some(77));
    assert_eq!(cpu1.clock, Some(123_456_789));
    assert_eq!(cpu1.ops_qseq, None, "7.3 has no ops_qseq");
    let curr = cpu1.curr.unwrap();
    assert_eq!((curr.kva, curr.pid, curr.comm.to_string().as_str()), (running, 103, "busy"));
    assert_eq!(r.runnable_of(1), vec![t1, t2]);
    assert!(r.runnable.iter().all(|(_, t)| t.runnable_in_scx), "runnable_list tasks are runnable in scx");
    assert!(r.runnable_of(0).is_empty());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn pass1_curr_that_does_not_translate_is_reported_without_detail() {
    let mut b = machine(1, 1);
    b.set_curr(0, VirtAddr(UNMAPPED));
    let r = b.build().record();
    assert_eq!(r.cpus[0].curr_kva, VirtAddr(UNMAPPED));
    assert_eq!(r.cpus[0].curr, None);
}

#[test]
fn pass1_optional_members_absent_are_reported_absent_and_never_read() {
    let mut b = GuestBuilder::new(debian_7_2_amd64(), 1, 1);
    b.set_rq_scalars(0, 1, 0, false);
    let mut g = b.build();
    {
        let sl = g.layout.scx_rq.as_mut().unwrap();
        sl.kick_sync = None;
        sl.nr_immed = None;
        sl.clock = None;
        sl.ops_qseq = None;
    }
    // Offset 0 of rq->scx (the local DSQ's lock) is unreadable: reading an absent member
    // "at offset 0" would fail the CPU.
    let scx = VirtAddr(g.per_cpu_offsets[0] + scxray_tests::RUNQUEUES_OFF + 2552);
    g.poison(scx, 8);
    let cpu = g.with(|gg| gg.collect_cpu::<16>(0));
    let s = cpu.scx.unwrap_or_else(|| panic!("cpu not reported: {:?}", cpu.problem));
    assert_eq!((s.kick_sync, s.nr_immed, s.clock, s.ops_qseq), (None, None, None, None));
    assert_eq!(s.nr_running, 1);

    // The same members present are read from their own offsets.
    let mut b = GuestBuilder::new(debian_7_2_amd64(), 1, 1);
    let mut layout = b.layout;
    layout.scx_rq.as_mut().unwrap().ops_qseq = Some(232);
    b.layout = layout;
    b.set_scx_rq_u64(0, 232, 0xabc);
    let g = b.build();
    let s = g.with(|gg| gg.collect_cpu::<16>(0)).scx.unwrap();
    assert_eq!(s.ops_qseq, Some(0xabc));
}

#[test]
fn pass1_without_see_group_reports_scalars_and_an_empty_list() {
    let mut b = machine(1, 1);
    let t = b.add_task(5, b"t");
    b.make_runnable(0, t);
    b.set_rq_scalars(0, 1, 0, false);
    let mut g = b.build();
    g.layout.see = None;
    let r = g.record();
    assert_eq!(r.cpus.len(), 1);
    assert_eq!(r.cpus[0].nr_running, 1);
    assert!(r.runnable.is_empty());
    assert!(r.problems.contains(&Problem::MissingLayout { pass: Pass::RqScx, group: LayoutGroup::See }));
}

#[test]
fn pass1_without_rq_scx_rq_or_task_the_cpu_yields_nothing() {
    for blank in 0..3 {
        let mut g = machine(2, 1).build();
        let group = match blank {
            0 => {
                g.layout.rq = None;
                LayoutGroup::Rq
            }
            1 => {
                g.layout.scx_rq = None;
                LayoutGroup::ScxRq
            }
            _ => {
                g.layout.task = None;
                LayoutGroup::Task
            }
        };
        let r = g.record();
        assert!(r.cpus.is_empty(), "group {group:?} blanked");
        assert!(r.problems.contains(&Problem::MissingLayout { pass: Pass::RqScx, group }));
    }
}

// ---- Pass 2: per-CPU DSQs ------------------------------------------------------------------

#[test]
fn pass2_zero_tail_cpu_skip() {
    // 4 CPUs, but nr_cpu_ids claims 8: slots 4..8 of __per_cpu_offset are zero and must be
    // skipped, from the slice the host read and from the guest's own array alike.
    for from_guest in [false, true] {
        let mut g = machine(4, 1).build();
        g.symbols.nr_cpus = 8;
        g.symbols.offsets_from_guest = from_guest;
        let r = g.record();
        let cpus: Vec<u32> = r.cpus.iter().map(|c| c.cpu).collect();
        assert_eq!(cpus, vec![0, 1, 2, 3], "from_guest={from_guest}");
        let locals = r.labels().into_iter().filter(|l| l.starts_with("local")).count();
        assert_eq!(locals, 4);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }
}

#[test]
fn pass2_cpu_without_an_offset_slot_is_skipped() {
    let mut g = machine(3, 1).build();
    g.per_cpu_offsets.truncate(2);
    g.symbols.nr_cpus = 3;
    let r = g.record();
    assert_eq!(r.cpus.iter().map(|c| c.cpu).collect::<Vec<_>>(), vec![0, 1]);
    assert!(r.dsq("local cpu 2").is_none());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn pass2_cpu0_with_a_nonzero_offset_is_walked() {
    // x86_64 SMP: CPU 0's per-CPU offset is not zero; skipping by "offset == 0" alone or by
    // comparing rq addresses would lose it.
    let g = machine(2, 1).build();
    assert_ne!(g.per_cpu_offsets[0], 0);
    let r = g.record();
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!(d.header.id, SCX_DSQ_LOCAL);
}

#[test]
fn pass2_walks_local_reject_and_rescue_dsqs_with_labels() {
    let mut b = machine(2, 1);
    let t = b.add_task(7, b"queued");
    let local1 = b.local_dsq(1);
    b.enqueue(local1, t);
    let r = b.build().record();
    let labels: Vec<String> = r.labels().into_iter().filter(|l| !l.starts_with("bypass")).collect();
    assert_eq!(
        labels,
        ["local cpu 0", "reject cpu 0", "rescue cpu 0", "local cpu 1", "reject cpu 1", "rescue cpu 1"]
    );
    let d = r.dsq("local cpu 1").unwrap();
    assert_eq!(d.tasks, vec![t]);
    assert_eq!((d.header.nr, d.header.kva), (1, local1));
    assert_eq!(r.dsq("reject cpu 0").unwrap().header.id, 0x8000_0000_0000_0004);
    // 7.2 has neither reject nor rescue DSQs.
    let r = GuestBuilder::new(debian_7_2_amd64(), 1, 1).build().record();
    assert_eq!(r.labels(), ["local cpu 0"]);
}

#[test]
fn dsq_iterator_cursor_is_skipped() {
    let mut b = machine(1, 1);
    let (a, c) = (b.add_task(1, b"a"), b.add_task(2, b"c"));
    let dsq = b.local_dsq(0);
    b.enqueue(dsq, a);
    b.add_dsq_cursor(dsq);
    b.enqueue(dsq, c);
    let r = b.build().record();
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!(d.tasks, vec![a, c]);
    let w = d.walk.unwrap();
    assert_eq!((w.reported, w.skipped, w.truncated, w.broken), (2, 1, false, None));
}

#[test]
fn dsq_node_whose_flags_cannot_be_read_is_skipped_and_said() {
    let mut b = machine(1, 1);
    let (a, c) = (b.add_task(1, b"a"), b.add_task(2, b"c"));
    let dsq = b.local_dsq(0);
    b.enqueue(dsq, a);
    b.enqueue(dsq, c);
    let l = b.layout;
    let flags_of_c = b.see(c).at(u64::from(l.see.unwrap().dsq_list) + u64::from(l.dsq_lnode.unwrap().flags));
    let mut g = b.build();
    g.poison(flags_of_c, 4);
    let r = g.record();
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!(d.tasks, vec![a], "a task whose list node could not be validated is not reported");
    let w = d.walk.unwrap();
    assert_eq!((w.reported, w.skipped, w.broken), (1, 1, None));
    // Not taken for an iterator cursor: the unreadable flags are a problem naming them.
    let said: Vec<_> = r
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::Unreadable { error, .. } => Some((error.field, error.kva)),
            _ => None,
        })
        .collect();
    assert_eq!(said, [(Field::DsqLnodeFlags, flags_of_c)]);
}

#[test]
fn dsq_nr_may_exceed_what_was_walked() {
    let mut b = machine(1, 1);
    let t = b.add_task(1, b"a");
    let dsq = b.local_dsq(0);
    b.enqueue(dsq, t);
    b.set_dsq_counts(dsq, 9, 42);
    let r = b.build().record();
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!((d.header.nr, d.header.seq, d.tasks.len()), (9, 42, 1));
    assert!(!d.walk.unwrap().truncated);
}

#[test]
fn dsq_tasks_are_not_runnable_in_scx() {
    let mut b = machine(1, 1);
    let t = b.add_task(1, b"a");
    let dsq = b.local_dsq(0);
    b.enqueue(dsq, t);
    let g = b.build();
    let mut seen = Vec::new();
    struct Tasks<'a>(&'a mut Vec<TaskEntry>);
    impl scxray_core::Visitor for Tasks<'_> {
        fn dsq_task(&mut self, _d: &scxray_core::DsqHeader, t: TaskEntry) {
            self.0.push(t);
        }
    }
    g.with(|gg| gg.walk_local_dsqs(&mut Tasks(&mut seen)));
    assert_eq!(seen, vec![TaskEntry { task_kva: t, runnable_in_scx: false }]);
}

// ---- Pass 3: from the scheduler root -----------------------------------------------------

#[test]
fn root_state_is_read_from_scx_root() {
    let mut b = machine(1, 1);
    let sched = b.attach_scheduler(0x402, 4);
    let sl = b.layout.sched.unwrap();
    b.write_u8(sched.at(sl.aborting.unwrap()), 1);
    b.write_i32(sched.at(sl.bypass_depth.unwrap()), 2);
    let r = b.build().record();
    let root = r.roots[0];
    assert_eq!(root.sched_kva, sched);
    assert_eq!(root.exit_kind, 0x402);
    assert!(root.aborting);
    assert_eq!(root.bypass_depth, 2);
    assert_eq!(root.provenance, Provenance::Live);
}

#[test]
fn root_members_absent_read_as_false_and_zero() {
    let mut b = machine(1, 1);
    let sched = b.attach_scheduler(1, 4);
    let sl = b.layout.sched.unwrap();
    b.write_u8(sched.at(sl.aborting.unwrap()), 1);
    b.write_i32(sched.at(sl.bypass_depth.unwrap()), 2);
    let mut g = b.build();
    let s = g.layout.sched.as_mut().unwrap();
    s.aborting = None;
    s.bypass_depth = None;
    let root = g.with(|gg| gg.read_root()).unwrap().unwrap();
    assert!(!root.aborting);
    assert_eq!(root.bypass_depth, 0);
    assert_eq!(root.exit_kind, 1);
}

#[test]
fn no_scheduler_attached_means_no_root_and_no_pass3() {
    let mut b = machine(2, 1);
    b.attach_scheduler(0, 4);
    b.set_scx_root(0);
    let r = b.build().record();
    assert!(r.roots.is_empty());
    assert!(
        r.labels()
            .iter()
            .all(|l| l.starts_with("local") || l.starts_with("reject") || l.starts_with("rescue"))
    );
    assert!(r.user_ends.is_empty());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn pass3_bypass_dsqs_per_cpu_with_zero_tail_skip() {
    let mut b = machine(3, 1);
    b.attach_scheduler(0, 4);
    let t = b.add_task(9, b"bypassed");
    let d = b.bypass_dsq(2);
    b.enqueue(d, t);
    let mut g = b.build();
    g.symbols.nr_cpus = 6;
    let r = g.record();
    let bypass: Vec<String> = r.labels().into_iter().filter(|l| l.starts_with("bypass")).collect();
    assert_eq!(bypass, ["bypass cpu 0", "bypass cpu 1", "bypass cpu 2"]);
    assert_eq!(r.dsq("bypass cpu 2").unwrap().tasks, vec![t]);
    assert_eq!(r.dsq("bypass cpu 0").unwrap().header.id, scxray_tests::SCX_DSQ_BYPASS);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn pass3_bypass_needs_both_sched_pcpu_and_bypass_dsq() {
    for which in [0, 1] {
        let mut b = machine(2, 1);
        b.attach_scheduler(0, 4);
        let mut g = b.build();
        let group = if which == 0 {
            g.layout.sched.as_mut().unwrap().pcpu = None;
            LayoutGroup::SchedPcpuMember
        } else {
            g.layout.sched_pcpu = None;
            LayoutGroup::SchedPcpu
        };
        let r = g.record();
        assert!(!r.labels().iter().any(|l| l.starts_with("bypass")));
        assert!(r.problems.contains(&Problem::MissingLayout { pass: Pass::BypassDsqs, group }));
        // The other sub-passes still run.
        assert!(r.dsq("global node 0").is_some());
        assert_eq!(r.user_ends.len(), 1);
    }
}

#[test]
fn pass3_global_dsqs_per_node_null_entries_skipped() {
    let mut b = machine(2, 3);
    let sched = b.attach_scheduler(0, 4);
    let t = b.add_task(11, b"global");
    let g1 = b.global_dsq(1);
    b.enqueue(g1, t);
    // Node 2's pnode pointer is NULL.
    let array = VirtAddr(b.read_u64(sched.at(b.layout.sched.unwrap().pnode.unwrap())));
    b.write_u64(array.at(16u64), 0);
    let r = b.build().record();
    let globals: Vec<String> = r.labels().into_iter().filter(|l| l.starts_with("global")).collect();
    assert_eq!(globals, ["global node 0", "global node 1"]);
    let d = r.dsq("global node 1").unwrap();
    assert_eq!((d.header.id, d.tasks.clone()), (SCX_DSQ_GLOBAL, vec![t]));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn pa_zero_dsq_is_never_reported() {
    let mut b = machine(1, 2);
    let sched = b.attach_scheduler(0, 4);
    // Node 1's pnode points at the direct-map address of PA 0, with a plausible DSQ there.
    let array = VirtAddr(b.read_u64(sched.at(b.layout.sched.unwrap().pnode.unwrap())));
    b.write_u64(array.at(8u64), DIRECT_MAP);
    let dl = b.layout.dsq.unwrap();
    b.write_pa(u64::from(dl.id), &SCX_DSQ_GLOBAL.to_le_bytes());
    b.write_pa(u64::from(dl.nr), &3u32.to_le_bytes());
    let list = DIRECT_MAP + u64::from(dl.list);
    b.write_pa(u64::from(dl.list), &list.to_le_bytes());
    let r = b.build().record();
    assert!(r.dsq("global node 0").is_some());
    assert!(r.dsq("global node 1").is_none(), "a DSQ at PA 0 is a phantom");
    // Not walked, but not dropped without a word either.
    let want = ReadError { field: Field::Dsq, kva: VirtAddr(DIRECT_MAP), cause: ReadCause::PhysicalZero };
    assert_eq!(r.problems, vec![Problem::Unreadable { pass: Pass::GlobalDsqs, error: want }]);
}

#[test]
fn pass3_user_dsqs_from_dsq_hash() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 8);
    let t = b.add_task(21, b"user-q");
    let d0 = b.add_user_dsq(0, 3, false);
    let d1 = b.add_user_dsq(1, 3, false);
    let d2 = b.add_user_dsq(2, 7, false);
    b.enqueue(d1, t);
    let r = b.build().record();
    let users: Vec<&scxray_tests::record::RecordedDsq> =
        r.dsqs.iter().filter(|d| d.header.origin == DsqOrigin::User).collect();
    // Bucket 3 holds d1 then d0 (pushed at the head), bucket 7 holds d2.
    let kvas: Vec<VirtAddr> = users.iter().map(|d| d.header.kva).collect();
    assert_eq!(kvas, vec![d1, d0, d2]);
    assert_eq!(users[0].tasks, vec![t]);
    assert_eq!(users.iter().map(|d| d.header.id).collect::<Vec<_>>(), vec![1, 0, 2]);
    let hw = r.user_ends[0];
    assert_eq!((hw.table_size, hw.buckets_visited, hw.nodes, hw.broken_chains), (8, 8, 3, 0));
    assert!(!hw.is_truncated());
}

#[test]
fn rhashtable_bucket_lock_bit_is_stripped() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    let d = b.add_user_dsq(5, 1, true);
    assert_eq!(b.read_u64(b.bucket(1)) & 1, 1, "the kit left the lock bit set");
    let r = b.build().record();
    let users: Vec<_> = r.dsqs.iter().filter(|x| x.header.origin == DsqOrigin::User).collect();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].header.kva, users[0].header.id), (d, 5));
}

#[test]
fn rhashtable_nulls_marker_ends_a_chain() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    b.add_user_dsq(1, 2, false);
    b.add_user_dsq(2, 2, false);
    let r = b.build().record();
    let hw = r.user_ends[0];
    assert_eq!((hw.nodes, hw.broken_chains, hw.first_error), (2, 0, None));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn rhashtable_untranslatable_chain_node_is_a_broken_chain_not_a_truncation() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    let d = b.add_user_dsq(1, 0, false);
    b.add_user_dsq(2, 1, false);
    let next_at = d.at(b.layout.dsq.unwrap().hash_node);
    b.write_u64(next_at, UNMAPPED);
    let r = b.build().record();
    let hw = r.user_ends[0];
    assert_eq!(hw.broken_chains, 1);
    assert!(!hw.is_truncated());
    // The DSQ in the other bucket is still found.
    assert!(r.dsqs.iter().any(|x| x.header.id == 2));
}

// ---- Pass 4: scx_tasks -------------------------------------------------------------------

#[test]
fn pass4_scx_tasks_in_list_order() {
    let mut b = machine(1, 1);
    let ts: Vec<VirtAddr> = (0..5).map(|i| b.add_task(100 + i, b"t")).collect();
    let r = b.build().record();
    assert_eq!(r.task_kvas(), ts);
    assert!(r.scx_tasks.iter().all(|t| !t.runnable_in_scx));
    let w = r.scx_tasks_ends[0];
    assert_eq!((w.reported, w.skipped, w.truncated, w.broken), (5, 0, false, None));
}

#[test]
fn pass4_scx_tasks_cursor_is_skipped() {
    let mut b = machine(1, 1);
    let a = b.add_task(1, b"a");
    b.add_tasks_cursor();
    let c = b.add_task(2, b"c");
    let r = b.build().record();
    assert_eq!(r.task_kvas(), vec![a, c]);
    assert_eq!(r.scx_tasks_ends[0].skipped, 1);
}

#[test]
fn pass4_node_whose_flags_cannot_be_read_is_kept() {
    let mut b = machine(1, 1);
    let a = b.add_task(1, b"a");
    let flags = b.see(a).at(b.layout.see.unwrap().flags);
    // A set cursor bit the walker must not see: the flags are unreadable.
    b.set_see_flags(a, 1 << 31);
    let mut g = b.build();
    g.poison(flags, 4);
    let r = g.record();
    assert_eq!(r.task_kvas(), vec![a]);
}

#[test]
fn pass4_scx_tasks_is_read_through_the_kernel_image_mapping() {
    let g = machine(1, 1).build();
    assert!(g.symbols.scx_tasks.unwrap().0 >= KERNEL_IMAGE);
    let kind = g.with(|gg| scxray_core::Translate::kind(gg.translator, g.symbols.scx_tasks.unwrap()));
    assert_eq!(kind, scxray_core::AddressKind::KernelImage);
}

// ---- List walking rules -----------------------------------------------------------------

#[test]
fn list_untranslatable_node_ends_the_walk_without_truncated() {
    let mut b = machine(1, 1);
    let a = b.add_task(1, b"a");
    b.add_task(2, b"b");
    let node_a = b.see(a).at(b.layout.see.unwrap().tasks_node);
    b.write_u64(node_a, UNMAPPED);
    let r = b.build().record();
    assert_eq!(r.task_kvas(), vec![a]);
    let w = r.scx_tasks_ends[0];
    assert!(!w.truncated);
    let e = w.broken.unwrap();
    assert_eq!((e.field, e.kva), (Field::ListHeadNext, VirtAddr(UNMAPPED)));
    assert!(matches!(e.cause, ReadCause::Translate(_)));
}

#[test]
fn list_next_pointer_zero_breaks_the_walk() {
    // A kernel's circular list never holds NULL: the walk ends there as broken (the list goes
    // on where it cannot be followed), not as complete.
    let mut b = machine(1, 1);
    let a = b.add_task(1, b"a");
    b.add_task(2, b"b");
    let node_a = b.see(a).at(b.layout.see.unwrap().tasks_node);
    b.write_u64(node_a, 0);
    let r = b.build().record();
    assert_eq!(r.task_kvas(), vec![a]);
    let w = r.scx_tasks_ends[0];
    assert!(!w.truncated);
    let e = w.broken.expect("broken at the NULL");
    assert_eq!((e.field, e.kva, e.cause), (Field::ListHeadNext, node_a, ReadCause::NullPointer));
    assert!(e.to_string().contains("is NULL"), "{e}");
}

#[test]
fn list_cycle_that_never_returns_to_the_head_is_capped() {
    let mut b = machine(1, 1);
    let a = b.add_task(1, b"a");
    let node_a = b.see(a).at(b.layout.see.unwrap().tasks_node);
    b.write_u64(node_a, node_a.0); // a self-loop
    let r = b.build().record();
    let w = r.scx_tasks_ends[0];
    assert!(w.truncated);
    // nr_threads is 1: the floor.
    assert_eq!(w.reported, LIST_NODES_FLOOR);
}

// ---- Blinding and errors ----------------------------------------------------------------

#[test]
fn a_missing_group_blinds_only_its_passes() {
    let mut b = machine(2, 1);
    b.attach_scheduler(0, 4);
    b.add_task(1, b"a");
    let mut g = b.build();
    g.layout.rht = None;
    let r = g.record();
    assert!(r.problems.contains(&Problem::MissingLayout { pass: Pass::UserDsqs, group: LayoutGroup::Rht }));
    assert_eq!(r.cpus.len(), 2);
    assert!(r.dsq("bypass cpu 1").is_some());
    assert!(r.dsq("global node 0").is_some());
    assert_eq!(r.scx_tasks.len(), 1);
}

#[test]
fn missing_symbols_are_reported_once_and_blind_their_passes() {
    let mut g = machine(2, 1).build();
    g.symbols.runqueues = None;
    g.symbols.scx_tasks = None;
    g.symbols.scx_root = None;
    let r = g.record();
    assert!(r.cpus.is_empty() && r.dsqs.is_empty() && r.scx_tasks.is_empty());
    let count = |s| {
        r.problems
            .iter()
            .filter(|p| matches!(p, Problem::MissingSymbol { symbol, .. } if *symbol == s))
            .count()
    };
    assert_eq!(count(Symbol::ScxRoot), 1);
    assert_eq!(count(Symbol::ScxTasks), 1);
    assert_eq!(count(Symbol::Runqueues), 2, "once for pass 1, once for pass 2");
}

#[test]
fn unreadable_rq_names_the_field_and_address() {
    let mut g = machine(2, 1).build();
    g.per_cpu_offsets[1] = UNMAPPED - scxray_tests::RUNQUEUES_OFF;
    let r = g.record();
    assert_eq!(r.cpus.len(), 1);
    let e = r
        .problems
        .iter()
        .find_map(|p| match p {
            Problem::Unreadable { pass: Pass::RqScx, error } => Some(*error),
            _ => None,
        })
        .unwrap();
    assert_eq!((e.field, e.kva), (Field::Rq, VirtAddr(UNMAPPED)));
    assert!(e.to_string().contains("runqueues"), "{e}");
}

#[test]
fn test_guest_is_reusable_and_walks_are_deterministic() {
    let mut b = machine(4, 2);
    b.attach_scheduler(0, 16);
    for i in 0..20 {
        let t = b.add_task(i, b"x");
        if i % 2 == 0 {
            b.make_runnable((i % 4) as u32, t);
        } else {
            let d = b.local_dsq((i % 4) as u32);
            b.enqueue(d, t);
        }
    }
    let g: TestGuest = b.build();
    let (r1, r2) = (g.record(), g.record());
    assert_eq!(format!("{r1:?}"), format!("{r2:?}"));
    assert_eq!(r1.runnable.len(), 10);
    assert_eq!(r1.dsqs.iter().map(|d| d.tasks.len()).sum::<usize>(), 10);
}
