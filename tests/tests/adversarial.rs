//! Hostile guests, deterministically: every walk ends, sets the right `truncated` flags,
//! never panics, and makes at most the physical reads the caps imply (the formulas of
//! `scxray_core::limits`, checked with the kit's counting memory).

use scxray_core::{
    Cap, CapBasis, DsqOrigin, Field, FlatImage, Guest, HashTruncation, KernelSymbols, LIST_NODES_CEILING,
    Layout, Limit, Limits, ListWalk, MemError, PerCpuOffsets, PhysAddr, PhysMem, Problem,
    RHT_BUCKETS_CEILING, ReadCause, ReadCost, Translate, TranslateError, VirtAddr,
};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{DIRECT_MAP, GuestBuilder, KitAddr, KitMem, Recorder, TestGuest};
use std::cell::Cell;

const LINEAR: ReadCost = ReadCost::LINEAR;
const DEFAULT: Limits = Limits::DEFAULT;
/// An address no kit range maps.
const UNMAPPED: u64 = 0xffff_c900_dead_0000;

fn machine(cpus: u32, nodes: u32) -> GuestBuilder {
    GuestBuilder::new(debian_7_3_amd64(), cpus, nodes)
}

/// Runs `f` on the guest and returns its result and the physical reads it made.
fn counted<R>(
    g: &TestGuest,
    f: impl FnOnce(&Guest<'_, KitMem<'_>, scxray_core::LinearTranslator<'_>>) -> R,
) -> (R, u64) {
    g.with(|gg| {
        let before = gg.mem.reads.get();
        let r = f(gg);
        (r, gg.mem.reads.get() - before)
    })
}

/// The whole machine, recorded, with its read count checked against the machine bound.
fn walk_machine_within_bound(g: &TestGuest) -> Recorder {
    let (r, reads) = counted(g, |gg| {
        let mut r = Recorder::default();
        gg.walk_machine(&mut r);
        r
    });
    let bound =
        g.limits.machine_reads(g.symbols.nr_cpus, g.symbols.nr_nodes, g.symbols.offsets_from_guest, LINEAR);
    assert!(reads <= bound, "walk_machine made {reads} reads, bound {bound}");
    r
}

fn scx_tasks_walk(g: &TestGuest) -> ListWalk {
    let (w, reads) = counted(g, |gg| gg.walk_scx_tasks(&mut Recorder::default()));
    let bound = g.limits.scx_tasks_reads(LINEAR);
    assert!(reads <= bound, "scx_tasks: {reads} reads, bound {bound}");
    w
}

fn tasks_node(b: &GuestBuilder, task: VirtAddr) -> VirtAddr {
    b.see(task).at(b.layout.see.unwrap().tasks_node)
}

// ---- the bound itself ------------------------------------------------------------------------

#[test]
fn the_bound_formulas_have_the_documented_values() {
    // One DSQ walked alone under the default caps, linear translation: its header (4 values
    // of 2 reads) and a list at the ceiling, 3 values a node (next, flags, and the flags again
    // when they fail, for their error): 8 + 6 * 4 210 688.
    assert_eq!(DEFAULT.dsq_reads(LINEAR), 25_264_136);
    assert_eq!(DEFAULT.list_walk_values(1), 2 * 4_210_688 + 1);
    // scx_tasks: nr_threads, then the list at the ceiling.
    assert_eq!(DEFAULT.scx_tasks_reads(LINEAR), 16_842_756);
    // Per value 2 (1 + L): a 5-level walk makes one value cost 12 reads.
    assert_eq!(ReadCost { levels: 5 }.value(), 12);
    // One dsq_hash: 2^21 bucket heads and tbl, size, nelems (2 reads each), 2^20 DSQs of
    // 8 header and 14 chain reads, and their lists' nodes (the budget): 4 194 310 +
    // 23 068 672 + 25 264 128.
    assert_eq!(DEFAULT.user_dsqs_reads(LINEAR), 52_527_110);
    // 64 CPUs, one node: the root's own passes, then up to 32 sub-schedulers with theirs. The
    // lists of the whole machine (DSQ nodes, runnable nodes, scx_tasks) are 50.5 million of
    // it, whatever the number of DSQs: every DSQ list shares one budget, every runnable_list
    // another.
    let no_subs = Limits { sub_scheds: 0, ..DEFAULT };
    assert_eq!(no_subs.machine_reads(64, 1, false, LINEAR), 77_794_722);
    assert_eq!(DEFAULT.sub_scheds_reads(64, 1, false, LINEAR), 897_696_770);
    let m64 = DEFAULT.machine_reads(64, 1, false, LINEAR);
    let worst = DEFAULT.machine_reads(u32::MAX, u32::MAX, true, LINEAR);
    assert_eq!(m64, 950_227_362);
    assert_eq!(worst, 953_658_072);
    // Beyond MAX_CPUS and MAX_NODES nothing grows.
    assert_eq!(DEFAULT.machine_reads(8192, 1024, true, LINEAR), worst);
    // The old caps, fixed: smaller, still bounded by the same budgets.
    assert_eq!(Limits::FLOORS.machine_reads(64, 1, false, LINEAR), 36_098_466);
    assert_eq!(Limits::FLOORS.machine_reads(8192, 1024, true, LINEAR), 47_426_264);
}

// ---- lists -----------------------------------------------------------------------------------

#[test]
fn a_self_loop_is_walked_to_the_cap_and_truncated() {
    let mut b = machine(1, 1);
    let t = b.add_task(1, b"loop");
    let node = tasks_node(&b, t);
    b.write_u64(node, node.0);
    let w = scx_tasks_walk(&b.build());
    assert!(w.truncated);
    assert_eq!((w.reported + w.skipped, w.broken), (4096, None));
}

#[test]
fn a_cycle_that_never_returns_to_the_head_is_truncated() {
    let mut b = machine(1, 1);
    let tasks: Vec<VirtAddr> = (0..3).map(|i| b.add_task(i, b"c")).collect();
    // head -> t0 -> t1 -> t2 -> t0 -> ...
    let last = tasks_node(&b, tasks[2]);
    let first = tasks_node(&b, tasks[0]);
    b.write_u64(last, first.0);
    let g = b.build();
    let w = scx_tasks_walk(&g);
    assert!(w.truncated && w.broken.is_none());
    assert_eq!(w.reported, 4096);
    // The same under a small caller cap, with fewer reads.
    let mut g = g;
    g.limits.list_nodes = Cap::Fixed(10);
    let w = scx_tasks_walk(&g);
    assert_eq!((w.reported, w.truncated), (10, true));
}

#[test]
fn head_next_zero_is_a_broken_walk_not_an_empty_one() {
    let mut b = machine(1, 1);
    b.add_task(1, b"a");
    let head = b.build().symbols.scx_tasks.unwrap();
    let mut b = machine(1, 1);
    b.add_task(1, b"a");
    b.write_u64(head, 0);
    let w = scx_tasks_walk(&b.build());
    assert_eq!((w.reported, w.skipped, w.truncated), (0, 0, false));
    let e = w.broken.expect("a NULL head.next is no empty list");
    assert_eq!((e.field, e.kva, e.cause), (Field::ListHeadNext, head, ReadCause::NullPointer));
}

#[test]
fn a_null_next_breaks_every_kind_of_list() {
    // A DSQ, a runnable_list, scx_tasks, and the sub-scheduler children and sibling lists:
    // each holds a node whose next is NULL.
    let mut b = machine(2, 1);
    let root = b.attach_scheduler(0, 4);
    let sub = b.add_sub_sched(root, 0, 4);
    let sl = b.layout.sched.unwrap();
    let (sub_children, sub_sibling) = (sub.at(sl.children.unwrap()), sub.at(sl.sibling.unwrap()));
    b.write_u64(sub_sibling, 0);
    b.write_u64(sub_children, 0);
    let q = b.add_detached_task(1, b"q");
    let dsq = b.local_dsq(0);
    b.enqueue(dsq, q);
    let qnode = dsq_node(&b, q);
    b.write_u64(qnode, 0);
    let r1 = b.add_detached_task(2, b"r");
    b.make_runnable(1, r1);
    let rnode = b.see(r1).at(b.layout.see.unwrap().runnable_node);
    b.write_u64(rnode, 0);
    let t = b.add_task(3, b"t");
    let tnode = tasks_node(&b, t);
    b.write_u64(tnode, 0);
    let r = walk_machine_within_bound(&b.build());
    let null_at = |w: ListWalk, kva: VirtAddr, field: Field| {
        let e = w.broken.expect("broken");
        assert_eq!((e.field, e.kva, e.cause, w.truncated), (field, kva, ReadCause::NullPointer, false));
    };
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!(d.tasks, vec![q], "the node before the NULL is reported");
    null_at(d.walk.unwrap(), qnode, Field::ListHeadNext);
    assert_eq!(r.runnable_of(1), vec![r1]);
    null_at(r.runnable_ends.iter().find(|(c, _)| *c == 1).unwrap().1, rnode, Field::ListHeadNext);
    assert_eq!(r.task_kvas(), vec![t]);
    null_at(r.scx_tasks_ends[0], tnode, Field::ListHeadNext);
    // The sub-scheduler's own children list is NULL at its head, and its sibling link is
    // NULL too: the first NULL met (its children's) is the one kept.
    assert_eq!(r.sub_scheds.len(), 1);
    null_at(r.sub_scheds_ends[0], sub_children, Field::SchedChildren);
    // The sibling link alone.
    let mut b = machine(1, 1);
    let root = b.attach_scheduler(0, 4);
    let sub = b.add_sub_sched(root, 0, 4);
    let sub_sibling = sub.at(sl.sibling.unwrap());
    b.write_u64(sub_sibling, 0);
    let r = walk_machine_within_bound(&b.build());
    assert_eq!(r.sub_scheds.len(), 1);
    null_at(r.sub_scheds_ends[0], sub_sibling, Field::SchedSibling);
}

fn dsq_node(b: &GuestBuilder, task: VirtAddr) -> VirtAddr {
    b.see(task).at(u64::from(b.layout.see.unwrap().dsq_list) + u64::from(b.layout.dsq_lnode.unwrap().node))
}

#[test]
fn a_pointer_into_unmapped_space_breaks_the_walk_without_truncation() {
    let mut b = machine(1, 1);
    let t = b.add_task(1, b"a");
    b.write_u64(tasks_node(&b, t), UNMAPPED);
    let w = scx_tasks_walk(&b.build());
    assert_eq!((w.reported, w.truncated), (1, false));
    let e = w.broken.expect("broken");
    assert_eq!(e.kva, VirtAddr(UNMAPPED));
    assert!(matches!(e.cause, ReadCause::Translate(TranslateError::NotMapped { .. })), "{e:?}");
}

#[test]
fn a_pointer_to_physical_zero_is_read_not_trusted() {
    // head.next -> the direct map's PA 0 (a reserved, zero page): its next is 0, which ends
    // the walk. Nothing is truncated and no read goes past it.
    let mut b = machine(1, 1);
    let t = b.add_task(1, b"a");
    b.write_u64(tasks_node(&b, t), DIRECT_MAP);
    let w = scx_tasks_walk(&b.build());
    assert_eq!((w.reported + w.skipped, w.truncated), (2, false));
    let e = w.broken.expect("a NULL next breaks the list");
    assert_eq!((e.kva, e.cause), (VirtAddr(DIRECT_MAP), ReadCause::NullPointer));
}

#[test]
fn a_dsq_at_physical_zero_is_never_reported() {
    // pnode[0] points so that the global DSQ lies at PA 0.
    let mut b = machine(1, 1);
    let sched = b.attach_scheduler(0, 4);
    let sl = b.layout.sched.unwrap();
    let array = VirtAddr(b.read_u64(sched.at(sl.pnode.unwrap())));
    let global_off = u64::from(b.layout.sched_pnode.unwrap().global_dsq);
    b.write_u64(array, DIRECT_MAP.wrapping_sub(global_off));
    let r = walk_machine_within_bound(&b.build());
    assert!(r.dsq("global node 0").is_none(), "{:?}", r.labels());
    assert!(r.dsqs.iter().all(|d| d.header.pa.0 != 0));
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::Unreadable { pass: scxray_core::Pass::GlobalDsqs, error }
            if error.cause == ReadCause::PhysicalZero && error.kva == VirtAddr(DIRECT_MAP))),
        "{:?}",
        r.problems
    );
}

#[test]
fn an_unreadable_curr_keeps_the_error_that_made_it_so() {
    let mut b = machine(2, 1);
    let t = b.add_detached_task(5, b"gone");
    b.set_curr(0, t);
    b.set_curr(1, VirtAddr(UNMAPPED));
    let r = walk_machine_within_bound(&b.build());
    let (c0, c1) = (r.cpus[0], r.cpus[1]);
    assert_eq!((c0.curr.map(|c| c.pid), c0.curr_error), (Some(5), None));
    assert_eq!((c1.curr, c1.curr_kva), (None, VirtAddr(UNMAPPED)));
    let e = c1.curr_error.expect("the failed read is kept");
    assert_eq!(e.field, Field::TaskPid);
    assert!(matches!(e.cause, ReadCause::Translate(_)), "{e:?}");
    // No current task: neither.
    let r = walk_machine_within_bound(&machine(1, 1).build());
    assert_eq!((r.cpus[0].curr, r.cpus[0].curr_error), (None, None));
}

#[test]
fn a_list_that_runs_into_another_list_is_truncated() {
    // The local DSQ's only node points into scx_tasks, a ring that never comes back to the
    // DSQ's head: the walk goes round scx_tasks until the cap.
    let mut b = machine(1, 1);
    let other = b.add_task(1, b"other");
    let queued = b.add_detached_task(2, b"queued");
    let dsq = b.local_dsq(0);
    b.enqueue(dsq, queued);
    let ln = b.layout.dsq_lnode.unwrap();
    let node = b.see(queued).at(u64::from(b.layout.see.unwrap().dsq_list) + u64::from(ln.node));
    b.write_u64(node, tasks_node(&b, other).0);
    let g = b.build();
    let (r, reads) = counted(&g, |gg| {
        let mut r = Recorder::default();
        gg.walk_dsq(DsqOrigin::Local { cpu: 0 }, dsq, scxray_core::Pass::LocalDsqs, &mut r);
        r
    });
    assert!(reads <= DEFAULT.dsq_reads(LINEAR), "{reads}");
    let w = r.dsqs[0].walk.unwrap();
    assert!(w.truncated);
    assert_eq!(w.reported + w.skipped, 4096);
}

#[test]
fn every_list_of_a_machine_self_looping_stays_within_the_machine_bound() {
    // runnable_list, the local/reject/rescue DSQs, bypass and global DSQs, scx_tasks: each
    // one node that points to itself, on 2 CPUs.
    let mut b = machine(2, 2);
    b.attach_scheduler(0, 2);
    let mut heads = Vec::new();
    for cpu in 0..2 {
        let t = b.add_detached_task(10 + cpu as i32, b"r");
        b.make_runnable(cpu, t);
        let node = b.see(t).at(b.layout.see.unwrap().runnable_node);
        heads.push(node);
        for dsq in [b.local_dsq(cpu), b.bypass_dsq(cpu)] {
            let q = b.add_detached_task(20, b"q");
            b.enqueue(dsq, q);
            let n = VirtAddr(
                b.see(q).0
                    + u64::from(b.layout.see.unwrap().dsq_list)
                    + u64::from(b.layout.dsq_lnode.unwrap().node),
            );
            heads.push(n);
        }
    }
    for n in 0..2 {
        let q = b.add_detached_task(30, b"g");
        let d = b.global_dsq(n);
        b.enqueue(d, q);
        heads.push(VirtAddr(
            b.see(q).0
                + u64::from(b.layout.see.unwrap().dsq_list)
                + u64::from(b.layout.dsq_lnode.unwrap().node),
        ));
    }
    let t = b.add_task(1, b"t");
    heads.push(tasks_node(&b, t));
    for h in heads {
        b.write_u64(h, h.0);
    }
    let r = walk_machine_within_bound(&b.build());
    assert!(r.runnable_ends.iter().all(|(_, w)| w.truncated));
    for label in
        ["local cpu 0", "local cpu 1", "bypass cpu 0", "bypass cpu 1", "global node 0", "global node 1"]
    {
        assert!(r.dsq(label).unwrap().walk.unwrap().truncated, "{label}");
    }
    assert!(r.scx_tasks_ends[0].truncated);
}

// ---- DSQ headers, comm ---------------------------------------------------------------------

#[test]
fn nr_u32_max_is_reported_as_read_and_its_cap_is_the_ceiling() {
    let mut b = machine(1, 1);
    let dsq = b.local_dsq(0);
    let t = b.add_detached_task(1, b"a");
    b.enqueue(dsq, t);
    b.set_dsq_counts(dsq, u32::MAX, u32::MAX);
    let r = walk_machine_within_bound(&b.build());
    let d = r.dsq("local cpu 0").unwrap();
    assert_eq!((d.header.nr, d.header.seq), (u32::MAX, u32::MAX));
    assert_eq!(d.tasks, vec![t]);
    let w = d.walk.unwrap();
    assert!(!w.truncated);
    assert_eq!((w.cap.value, w.cap.basis), (LIST_NODES_CEILING, CapBasis::Ceiling { count: u32::MAX }));
}

#[test]
fn dsqs_claiming_u32_max_tasks_on_looping_lists_stop_at_the_ceiling_then_the_budget() {
    // Two local DSQs claiming u32::MAX tasks, each list one node pointing to itself. The first
    // is walked to the ceiling, which spends the machine's DSQ budget (no kernel has more
    // queued tasks): the second is cut at once. Within the machine bound.
    let mut b = machine(2, 1);
    for cpu in 0..2 {
        let dsq = b.local_dsq(cpu);
        let q = b.add_detached_task(1, b"q");
        b.enqueue(dsq, q);
        b.set_dsq_counts(dsq, u32::MAX, 0);
        let node = dsq_node(&b, q);
        b.write_u64(node, node.0);
    }
    let r = walk_machine_within_bound(&b.build());
    let w0 = r.dsq("local cpu 0").unwrap().walk.unwrap();
    assert_eq!((w0.reported, w0.truncated), (LIST_NODES_CEILING, true));
    assert_eq!(w0.cap.basis, CapBasis::Ceiling { count: u32::MAX });
    let w1 = r.dsq("local cpu 1").unwrap().walk.unwrap();
    assert_eq!((w1.reported, w1.truncated, w1.cap.value, w1.cap.basis), (0, true, 0, CapBasis::Budget));
}

#[test]
fn nr_threads_i32_max_on_a_looping_scx_tasks_stops_at_the_ceiling() {
    let mut b = machine(2, 1);
    let t = b.add_task(2, b"t");
    let node = tasks_node(&b, t);
    b.write_u64(node, node.0);
    let nr_threads = b.nr_threads();
    b.write_u32(nr_threads, i32::MAX as u32);
    let r = walk_machine_within_bound(&b.build());
    let w = r.scx_tasks_ends[0];
    assert_eq!((w.reported, w.truncated), (LIST_NODES_CEILING, true));
    let ceiling = CapBasis::Ceiling { count: i32::MAX as u32 };
    assert_eq!(
        w.cap,
        scxray_core::WalkCap { limit: Limit::ListNodes, value: LIST_NODES_CEILING, basis: ceiling }
    );
}

#[test]
fn comm_without_nul_and_not_utf8_is_reported_lossily() {
    let mut b = machine(1, 1);
    let comm =
        [0xffu8, 0xfe, b'a', 0xc3, 0x28, 0x80, b'b', 0xf0, 0x9f, 0x92, b'c', 0xed, 0xa0, 0x80, 0xff, 0xff];
    let t = b.add_task(7, &comm);
    b.set_curr(0, t);
    let r = walk_machine_within_bound(&b.build());
    let curr = r.cpus[0].curr.unwrap();
    assert_eq!(curr.comm.bytes(), &comm[..], "all 16 bytes: there is no NUL");
    let shown = curr.comm.to_string();
    assert!(shown.contains('\u{fffd}') && shown.contains('a') && shown.contains('c'), "{shown:?}");
    assert!(format!("{:?}", curr.comm).starts_with('"'));
}

// ---- rhashtable ------------------------------------------------------------------------------

fn user_walk(g: &TestGuest) -> scxray_core::HashWalk {
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    let (hw, reads) = counted(g, |gg| gg.walk_user_dsqs(sched, &mut Recorder::default()));
    let bound = g.limits.user_dsqs_reads(LINEAR);
    assert!(reads <= bound, "user DSQs: {reads} reads, bound {bound}");
    hw
}

#[test]
fn bucket_table_size_u32_max_reads_at_most_the_bucket_ceiling() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    let size_at = {
        let sl = b.layout.sched.unwrap();
        let rl = b.layout.rht.unwrap();
        let tbl = b.read_u64(b.sched().at(u64::from(sl.dsq_hash) + u64::from(rl.tbl)));
        VirtAddr(tbl + u64::from(rl.bucket_table_size))
    };
    b.write_u32(size_at, u32::MAX);
    let hw = user_walk(&b.build());
    assert_eq!((hw.table_size, hw.buckets_visited), (u32::MAX, RHT_BUCKETS_CEILING));
    assert!(hw.truncated.contains(HashTruncation::BUCKETS));
}

/// A user DSQ in `bucket` whose `rhash_head.next` is set to `next(node)`.
fn user_dsq_pointing(
    b: &mut GuestBuilder,
    bucket: u32,
    id: u64,
    next: impl FnOnce(VirtAddr) -> u64,
) -> VirtAddr {
    let dsq = b.add_user_dsq(id, bucket, false);
    let node = dsq.at(b.layout.dsq.unwrap().hash_node);
    let at = node.at(b.layout.rht.unwrap().rhash_head_next);
    b.write_u64(at, next(node));
    dsq
}

/// The user DSQs a walk of `g`'s root reported, in order, and how it ended.
fn user_dsqs_of(g: &TestGuest) -> (Vec<VirtAddr>, scxray_core::HashWalk) {
    let sched = g.with(|gg| gg.read_root()).unwrap().unwrap().sched_kva;
    let (r, reads) = counted(g, |gg| {
        let mut r = Recorder::default();
        gg.walk_user_dsqs(sched, &mut r);
        r
    });
    let bound = g.limits.user_dsqs_reads(LINEAR);
    assert!(reads <= bound, "user DSQs: {reads} reads, bound {bound}");
    (r.dsqs.iter().map(|d| d.header.kva).collect(), r.user_ends[0])
}

#[test]
fn a_self_looping_chain_reports_its_dsq_once_and_the_loop() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    let d = user_dsq_pointing(&mut b, 2, 7, |node| node.0);
    let (dsqs, hw) = user_dsqs_of(&b.build());
    assert_eq!(dsqs, vec![d]);
    assert_eq!((hw.nodes, hw.looped_chains, hw.first_looped_bucket), (1, 1, Some(2)));
    assert_eq!((hw.truncated, hw.broken_chains), (HashTruncation::empty(), 0));
}

#[test]
fn a_chain_that_loops_back_past_the_buffer_reports_each_dsq_once() {
    // 40 DSQs in one chain (more than the 32 the walk buffers), the last one pointing back to
    // the 10th: the chain is measured, and each DSQ reported once, in chain order.
    for (len, back) in [(3u64, 0usize), (33, 32), (40, 9), (100, 99), (100, 0)] {
        let mut b = machine(1, 1);
        b.attach_scheduler(0, 1);
        // add_user_dsq pushes on the front: the first added is the chain's last.
        let mut dsqs: Vec<VirtAddr> = (0..len).map(|i| b.add_user_dsq(i, 0, false)).collect();
        dsqs.reverse();
        let node = |d: VirtAddr| d.at(b.layout.dsq.unwrap().hash_node);
        let last = node(dsqs[dsqs.len() - 1]).at(b.layout.rht.unwrap().rhash_head_next);
        b.write_u64(last, node(dsqs[back]).0);
        let (got, hw) = user_dsqs_of(&b.build());
        assert_eq!(got, dsqs, "len {len} back to {back}");
        assert_eq!((hw.nodes, hw.looped_chains, hw.truncated), (len as u32, 1, HashTruncation::empty()));
    }
}

#[test]
fn a_chain_longer_than_its_cap_that_loops_is_cut_at_the_cap() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 1);
    let mut dsqs: Vec<VirtAddr> = (0..1100).map(|i| b.add_user_dsq(i, 0, false)).collect();
    dsqs.reverse();
    let node = |d: VirtAddr| d.at(b.layout.dsq.unwrap().hash_node);
    let last = node(dsqs[1099]).at(b.layout.rht.unwrap().rhash_head_next);
    b.write_u64(last, node(dsqs[500]).0);
    let (got, hw) = user_dsqs_of(&b.build());
    assert_eq!(got[..], dsqs[..1024]);
    assert_eq!((hw.nodes, hw.looped_chains, hw.truncated), (1024, 0, HashTruncation::CHAIN));
}

#[test]
fn a_chain_of_1025_nodes_stops_at_1024() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 1);
    for i in 0..1025 {
        b.add_user_dsq(i, 0, i % 2 == 0);
    }
    let (_, hw) = user_dsqs_of(&b.build());
    assert_eq!((hw.nodes, hw.truncated), (1024, HashTruncation::CHAIN));
}

#[test]
fn looping_chains_in_every_bucket_report_each_dsq_once_within_the_bound() {
    // 64 buckets, each chain 40 DSQs long looping back to its 5th: the long path in every
    // bucket, each DSQ once.
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 64);
    let rl = b.layout.rht.unwrap();
    let hash_node = b.layout.dsq.unwrap().hash_node;
    let mut all = Vec::new();
    for bucket in 0..64u32 {
        let mut chain: Vec<VirtAddr> =
            (0..40).map(|i| b.add_user_dsq(u64::from(bucket) * 100 + i, bucket, false)).collect();
        chain.reverse();
        let last = chain[39].at(hash_node).at(rl.rhash_head_next);
        b.write_u64(last, chain[4].at(hash_node).0);
        all.extend(chain);
    }
    let (got, hw) = user_dsqs_of(&b.build());
    assert_eq!(got, all);
    assert_eq!((hw.nodes, hw.looped_chains, hw.first_looped_bucket), (64 * 40, 64, Some(0)));
}

#[test]
fn a_chain_into_another_bucket_is_reported_as_stray() {
    // Bucket 0's chain ends in bucket 3's chain: its DSQs are listed twice, and the walk says
    // which chain ran astray.
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    let d3 = b.add_user_dsq(3, 3, false);
    let node3 = d3.at(b.layout.dsq.unwrap().hash_node);
    let d0 = user_dsq_pointing(&mut b, 0, 0, |_| node3.0);
    let (got, hw) = user_dsqs_of(&b.build());
    assert_eq!(got, vec![d0, d3, d3]);
    assert_eq!((hw.stray_chains, hw.first_stray_bucket, hw.looped_chains), (1, Some(0), 0));
    // A kernel chain ends at its own bucket's marker: nothing stray.
    let (_, hw) = user_dsqs_of(&user_dsqs_machine(8, 4));
    assert_eq!((hw.nodes, hw.stray_chains), (8, 0));
}

fn user_dsqs_machine(n: u32, buckets: u32) -> TestGuest {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, buckets);
    for i in 0..n {
        b.add_user_dsq(u64::from(i), i % buckets, i % 3 == 0);
    }
    b.build()
}

#[test]
fn a_null_next_in_a_chain_breaks_it() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    let d = user_dsq_pointing(&mut b, 1, 1, |_| 0);
    let at = d.at(b.layout.dsq.unwrap().hash_node).at(b.layout.rht.unwrap().rhash_head_next);
    b.add_user_dsq(2, 2, false);
    let (got, hw) = user_dsqs_of(&b.build());
    assert_eq!(got.len(), 2, "the DSQ before the NULL is reported, and the next chain walked");
    assert_eq!(hw.broken_chains, 1);
    let e = hw.first_error.unwrap();
    assert_eq!((e.field, e.kva, e.cause), (Field::RhashHeadNext, at, ReadCause::NullPointer));
}

#[test]
fn distinct_dsqs_past_a_fixed_node_cap_stop_at_it() {
    let mut g = user_dsqs_machine(8193, 16);
    g.limits.rht_nodes = Cap::Fixed(8192);
    let (_, hw) = user_dsqs_of(&g);
    assert_eq!((hw.nodes, hw.truncated), (8192, HashTruncation::NODES));
    // nelems sizes the cap by default: all of them.
    g.limits = Limits::DEFAULT;
    let (_, hw) = user_dsqs_of(&g);
    assert_eq!((hw.nodes, hw.truncated), (8193, HashTruncation::empty()));
}

#[test]
fn a_bucket_pointing_into_unmapped_space_is_a_broken_chain_not_a_truncation() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 2);
    let slot = b.bucket(1);
    b.write_u64(slot, UNMAPPED);
    let hw = user_walk(&b.build());
    assert_eq!((hw.broken_chains, hw.truncated), (1, HashTruncation::empty()));
    assert!(hw.first_error.is_some());
}

#[test]
fn an_unreadable_or_negative_nelems_gives_the_ceiling() {
    let mut b = machine(1, 1);
    b.attach_scheduler(0, 4);
    b.add_user_dsq(1, 0, false);
    let nelems = b.sched().at(b.layout.sched.unwrap().dsq_hash).at(b.layout.rht.unwrap().nelems.unwrap());
    b.write_u32(nelems, u32::MAX); // -1
    let mut g = b.build();
    let (_, hw) = user_dsqs_of(&g);
    assert_eq!(
        (hw.nodes, hw.node_cap.basis, hw.node_cap.value),
        (1, CapBasis::NoCount, scxray_core::RHT_NODES_CEILING)
    );
    g.poison(nelems, 4);
    let r = g.record();
    assert!(
        r.problems.iter().any(
            |p| matches!(p, Problem::Unreadable { error, .. } if error.field == Field::RhashtableNelems)
        )
    );
    assert_eq!(r.user_ends[0].node_cap.basis, CapBasis::NoCount);
}

// ---- CPU and node counts --------------------------------------------------------------------

#[test]
fn nr_cpus_and_nr_nodes_u32_max_are_bounded_by_the_kernel_maxima() {
    let mut b = machine(2, 1);
    b.attach_scheduler(0, 2);
    let mut g = b.build();
    g.symbols.nr_cpus = u32::MAX;
    g.symbols.nr_nodes = u32::MAX;
    g.symbols.offsets_from_guest = true;
    g.symbols.per_cpu_offset_slots = u32::MAX; // reads past the array: zeros, or failures
    // Slots past the array read whatever follows it (here scx_root and scx_tasks, taken as
    // offsets): what they give is reported, but the walk never visits more than MAX_CPUS.
    let r = walk_machine_within_bound(&g);
    assert!(r.cpus.len() <= 8192);
    assert!(r.cpus.iter().any(|c| c.cpu == 1) && r.dsq("local cpu 1").is_some());
}

// ---- translators over hostile page tables ----------------------------------------------------

/// Flat memory that counts its reads.
struct Counting<'a> {
    image: FlatImage<'a>,
    reads: Cell<u64>,
}

impl PhysMem for Counting<'_> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.reads.set(self.reads.get() + 1);
        self.image.read(pa, buf)
    }
}

fn put(mem: &mut [u8], at: u64, v: u64) {
    let at = at as usize;
    mem[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Translates each address, checking at most `levels` reads per translation.
fn translate_all<T: Translate>(
    t: &T,
    mem: &[u8],
    vas: &[u64],
    levels: u64,
) -> Vec<Result<PhysAddr, TranslateError>> {
    let m = Counting { image: FlatImage::new(PhysAddr(0), mem), reads: Cell::new(0) };
    vas.iter()
        .map(|&va| {
            let before = m.reads.get();
            let r = t.translate(&m, VirtAddr(va));
            assert!(m.reads.get() - before <= levels, "{va:#x}: {} reads", m.reads.get() - before);
            r
        })
        .collect()
}

const VMALLOC: [u64; 4] =
    [0xffff_c900_0000_0000, 0xffff_c900_1234_5678, 0xffff_ffff_ffff_f000, 0xff00_0000_0000_0000];

#[test]
fn x86_64_page_tables_that_point_to_themselves_end_within_the_levels() {
    use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
    // Every entry of the root table points back at the root: each level reads the same page.
    let mut mem = vec![0u8; 0x3000];
    for i in 0..512 {
        put(&mut mem, 0x1000 + i * 8, 0x1000 | 0x3);
    }
    for (mode, levels) in [(PagingMode::FourLevel, 4), (PagingMode::FiveLevel, 5)] {
        let t = X86Translator::new(X86Config {
            phys_end: Some(PhysAddr(0x3000)),
            ..X86Config::new(Cr3(0x1000), mode)
        });
        // The recursive entry maps the table page itself, or the address is refused.
        for pa in translate_all(&t, &mem, &VMALLOC, levels).into_iter().flatten() {
            assert!((0x1000..0x2000).contains(&pa.0), "{pa:?}");
        }
    }
}

#[test]
fn x86_64_descriptors_with_reserved_bits_or_beyond_memory_are_refused() {
    use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
    let va: u64 = 0xffff_c900_0000_0000;
    let idx = |level: u32| (va >> (12 + 9 * level)) & 511;
    let mut mem = vec![0u8; 0x6000];
    put(&mut mem, 0x1000 + idx(3) * 8, 0x2000 | 3);
    put(&mut mem, 0x2000 + idx(2) * 8, 0x3000 | 3);
    put(&mut mem, 0x3000 + idx(1) * 8, 0x4000 | 3);
    let config = X86Config {
        max_phys_bits: 40,
        phys_end: Some(PhysAddr(0x6000)),
        ..X86Config::new(Cr3(0x1000), PagingMode::FourLevel)
    };
    let t = X86Translator::new(config);
    // A PTE with an address bit above MAXPHYADDR (bit 45 with 40 bits): reserved.
    put(&mut mem, 0x4000, (1 << 45) | 0x5000 | 3);
    assert!(matches!(translate_all(&t, &mem, &[va], 4)[0], Err(TranslateError::BadDescriptor { .. })));
    // A PTE to a page beyond the end of RAM.
    put(&mut mem, 0x4000, 0x10_0000 | 3);
    assert!(matches!(translate_all(&t, &mem, &[va], 4)[0], Err(TranslateError::OutsideMemory { .. })));
    // A PML4 whose table lies beyond memory: the read fails, named as a memory error.
    put(&mut mem, 0x1000 + idx(3) * 8, 0x80_0000 | 3);
    assert!(matches!(translate_all(&t, &mem, &[va], 4)[0], Err(TranslateError::Memory(_))));
    // A 2 MiB page with misaligned address bits (reserved bits 13..20).
    put(&mut mem, 0x1000 + idx(3) * 8, 0x2000 | 3);
    put(&mut mem, 0x3000 + idx(1) * 8, 0x20_2000 | 0x83);
    assert!(matches!(translate_all(&t, &mem, &[va], 4)[0], Err(TranslateError::BadDescriptor { .. })));
}

#[test]
fn aarch64_tables_that_point_to_themselves_end_within_the_levels() {
    use scxray_aarch64::{Aarch64Translator, Granule, TcrEl1};
    // 4K granule, 48 and 39-bit VAs; every descriptor of the root table is a table
    // descriptor pointing back at the root.
    let mut mem = vec![0u8; 0x2000];
    for i in 0..512 {
        put(&mut mem, i * 8, 0x3);
    }
    for (t1sz, levels) in [(16u8, 4u64), (25, 3)] {
        let tcr = TcrEl1::new(t1sz, Granule::K4, 0b101, false);
        let t = Aarch64Translator::from_registers(0, tcr.bits()).unwrap();
        let vas = [0xffff_0000_0000_0000, 0xffff_ff80_0000_1000, 0xffff_ffff_ffff_fff8];
        // The leaf level reads a table descriptor as a page: it maps the root page.
        for pa in translate_all(&t, &mem, &vas, levels).into_iter().flatten() {
            assert!(pa.0 < 0x1000, "{pa:?}");
        }
    }
}

#[test]
fn aarch64_descriptors_beyond_the_output_size_or_reserved_are_refused() {
    use scxray_aarch64::{Aarch64Translator, Granule, TcrEl1};
    let tcr = TcrEl1::new(16, Granule::K4, 0b000, false); // IPS = 32 bits
    let t = Aarch64Translator::from_registers(0, tcr.bits()).unwrap();
    let va = 0xffff_0000_0000_0000u64;
    let mut mem = vec![0u8; 0x5000];
    put(&mut mem, 0, 0x1000 | 3);
    put(&mut mem, 0x1000, 0x2000 | 3);
    put(&mut mem, 0x2000, 0x3000 | 3);
    // A page beyond 32 bits of output address.
    put(&mut mem, 0x3000, 0x1_0000_0000 | 0x403);
    assert!(translate_all(&t, &mem, &[va], 4)[0].is_err());
    // A block descriptor at level 0, where 4K allows none (reserved).
    put(&mut mem, 0, 0x1);
    assert!(matches!(
        translate_all(&t, &mem, &[va], 4)[0],
        Err(TranslateError::BadDescriptor { .. } | TranslateError::NotMapped { .. })
    ));
    // A table beyond memory.
    put(&mut mem, 0, 0x8000_0000 | 3);
    assert!(matches!(translate_all(&t, &mem, &[va], 4)[0], Err(TranslateError::Memory(_))));
}

// ---- a whole walk through hostile page tables ------------------------------------------------

#[test]
fn a_walk_through_self_referencing_page_tables_stays_within_the_page_walk_bound() {
    use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
    // The kit guest's memory with a recursive root table in page 0x1000 (reserved, zero in the
    // kit), and every pointer the walks start from moved into vmalloc space, which only the
    // page walk translates.
    let mut b = machine(1, 1);
    b.add_task(1, b"a");
    let mut g = b.build();
    for i in 0..512 {
        put(&mut g.mem, 0x1000 + i * 8, 0x1000 | 0x3);
    }
    let t = X86Translator::new(X86Config {
        phys_base: PhysAddr(scxray_tests::IMAGE_PA),
        phys_end: Some(PhysAddr(g.mem.len() as u64)),
        ..X86Config::new(Cr3(0x1000), PagingMode::FourLevel)
    });
    let mem = Counting { image: FlatImage::new(PhysAddr(0), &g.mem), reads: Cell::new(0) };
    let offsets = [0xffff_c900_0000_0000u64, 0];
    let layout: Layout = g.layout;
    let symbols = KernelSymbols {
        runqueues: Some(VirtAddr(0x1000)),
        per_cpu_offsets: Some(PerCpuOffsets::Slice(&offsets)),
        scx_root: Some(VirtAddr(0xffff_c900_0000_0040)),
        scx_tasks: Some(VirtAddr(0xffff_c900_0000_0080)),
        nr_threads: None,
        nr_cpus: 2,
        nr_nodes: 1,
        globals: None,
    };
    let guest = Guest::new(&mem, &t, &layout, symbols);
    let mut r = Recorder::default();
    guest.walk_machine(&mut r);
    let bound = DEFAULT.machine_reads(2, 1, false, ReadCost { levels: 4 });
    assert!(mem.reads.get() <= bound, "{} reads, bound {bound}", mem.reads.get());
}

// ---- sub-schedulers --------------------------------------------------------------------------

#[test]
fn a_hierarchy_that_loops_reports_each_scheduler_once_within_the_bound() {
    // (a) a sibling list that never returns to its head: a.sibling -> a.sibling;
    // (b) a scheduler on its own children list: a.children -> a.sibling;
    // (c) a grandchild whose children list leads back to its grandparent: b.children -> a.
    for case in ['a', 'b', 'c'] {
        let mut b = machine(2, 1);
        let root = b.attach_scheduler(0, 4);
        let a = b.add_sub_sched(root, 0, 4);
        let sl = b.layout.sched.unwrap();
        let (children, sibling) = (sl.children.unwrap(), sl.sibling.unwrap());
        let (at, field, want) = match case {
            'a' => {
                b.write_u64(a.at(sibling), a.at(sibling).0);
                (a.at(sibling), Field::SchedSibling, vec![a])
            }
            'b' => {
                b.write_u64(a.at(children), a.at(sibling).0);
                (a.at(children), Field::SchedChildren, vec![a])
            }
            _ => {
                let c = b.add_sub_sched(a, 0, 4);
                b.write_u64(c.at(children), a.at(sibling).0);
                (c.at(children), Field::SchedChildren, vec![a, c])
            }
        };
        let r = walk_machine_within_bound(&b.build());
        let got: Vec<VirtAddr> = r.sub_scheds.iter().map(|s| s.state.sched_kva).collect();
        assert_eq!(got, want, "case {case}");
        let end = r.sub_scheds_ends[0];
        assert!(!end.truncated, "case {case}");
        let e = end.broken.expect("a loop breaks the hierarchy");
        assert_eq!((e.field, e.kva, e.cause), (field, at, ReadCause::Cycle), "case {case}");
    }
}

#[test]
fn the_sub_scheduler_cap_still_bounds_a_hierarchy_wider_than_it() {
    let mut b = machine(1, 1);
    let root = b.attach_scheduler(0, 2);
    for _ in 0..40 {
        b.add_sub_sched(root, 0, 2);
    }
    let r = walk_machine_within_bound(&b.build());
    let end = r.sub_scheds_ends[0];
    assert_eq!((end.reported, end.truncated), (scxray_core::MAX_SUB_SCHEDS, true));
    assert_eq!(end.cap, scxray_core::WalkCap { limit: Limit::SubScheds, value: 32, basis: CapBasis::Fixed });
}

#[test]
fn a_children_list_into_unmapped_space_is_broken_within_the_bound() {
    let mut b = machine(1, 1);
    let root = b.attach_scheduler(0, 4);
    let sl = b.layout.sched.unwrap();
    b.write_u64(root.at(sl.children.unwrap()), UNMAPPED);
    let r = walk_machine_within_bound(&b.build());
    assert!(r.sub_scheds.is_empty());
    assert!(r.sub_scheds_ends[0].broken.is_some());
}
