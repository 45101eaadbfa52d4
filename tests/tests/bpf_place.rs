//! Where each waiting task is (`scxray_core::bpf::place`) on the kit's qmap-like guest: ten
//! tasks on five arena FIFOs reached from their task storage, one in a QUEUE of bare pids,
//! one in a hash value's `pid`, one behind an array value's `struct task_struct *`. First
//! with the BTF answers written by hand (the core's logic alone), then with scxray-btf's
//! answers from the program's BTF read back out of guest memory, with names and hints.

use scxray_btf::{ArenaNamer, Btf, BtfPlaceTypes, DecodeLimits, PlaceHint, Style, format_value};
use scxray_core::bpf::ArenaError;
use scxray_core::bpf::place::{MAX_LINKS, MAX_OBJECT_POINTERS, MAX_TASK_FIELDS};
use scxray_core::bpf::{
    Anchor, Anchors, ArenaList, BpfProblem, BpfVisitor, ElemKey, MapHeader, ObjectPointer, Place, PlaceTypes,
    PlaceWalk, TaskField, TaskFieldKind, TypeRef, TypesError, Waiting, Walker,
};
use scxray_core::heapless::Vec as HVec;
use scxray_core::{BpfLimits, Guest, Limit, LinearTranslator, VirtAddr, WalkCap};
use scxray_tests::bpf::{Qmap, qmap_machine};
use scxray_tests::btf_blob::ArenaProgram as P;
use scxray_tests::{KitMem, TestGuest};

/// The answers scxray-btf gives for the kit's program, written out.
struct ByHand {
    q: Qmap,
}

impl ByHand {
    fn map_name(&self, map: &MapHeader) -> &'static str {
        self.q.maps.iter().find(|m| m.1 == map.kva).map_or("", |m| m.0)
    }
}

impl PlaceTypes for ByHand {
    fn task_fields(
        &mut self,
        map: &MapHeader,
        out: &mut HVec<TaskField, MAX_TASK_FIELDS>,
    ) -> Result<(), TypesError> {
        let field = match self.map_name(map) {
            "pid_queue" | "pid_slots" => TaskField { offset: 0, kind: TaskFieldKind::Pid },
            "owners" => TaskField { offset: 0, kind: TaskFieldKind::Task },
            _ => return Ok(()),
        };
        out.push(field).map_err(|_| TypesError)
    }
    fn object_pointers(
        &mut self,
        map: &MapHeader,
        out: &mut HVec<ObjectPointer, MAX_OBJECT_POINTERS>,
    ) -> Result<(), TypesError> {
        if self.map_name(map) == "task_ctx_stor" {
            let object = TypeRef { btf: self.q.btf, id: self.q.prog.task_ctx };
            out.push(ObjectPointer { offset: 0, object }).map_err(|_| TypesError)?;
        }
        Ok(())
    }
    fn links(&mut self, object: TypeRef, out: &mut HVec<u32, MAX_LINKS>) -> Result<(), TypesError> {
        assert_eq!(object.id, self.q.prog.task_ctx);
        out.extend_from_slice(&[P::NEXT_FREE, P::Q_NEXT, P::Q_PREV]).map_err(|_| TypesError)
    }
    fn anchors(&mut self, _: TypeRef, out: &mut Anchors) -> Result<(), TypesError> {
        out.globals_size = u64::from(P::QA_SIZE);
        let qa = self.q.prog.qmap_arena;
        for off in [P::QA_TASK_CTXS, P::QA_FREE_HEAD] {
            out.list
                .push(Anchor { offset: u64::from(off), parent: 0, parent_type: qa })
                .map_err(|_| TypesError)?;
        }
        for f in 0..5u64 {
            let fifo = u64::from(P::QA_FIFOS) + f * u64::from(P::FIFO_SIZE);
            for end in [0, 8] {
                let a = Anchor { offset: fifo + end, parent: fifo, parent_type: self.q.prog.qmap_fifo };
                out.list.push(a).map_err(|_| TypesError)?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Seen {
    lists: Vec<ArenaList>,
    problems: Vec<BpfProblem>,
}

impl BpfVisitor for Seen {
    fn arena_list(&mut self, list: &ArenaList) {
        self.lists.push(*list);
    }
    fn problem(&mut self, p: &BpfProblem) {
        self.problems.push(*p);
    }
}

/// Places `q`'s waiting tasks (and the idle ones) with `types`.
fn place(g: &TestGuest, q: &Qmap, types: &mut impl PlaceTypes) -> (Vec<Waiting>, Seen, PlaceWalk) {
    place_under(g, q, types, BpfLimits::DEFAULT)
}

/// [`place`] under `limits`.
fn place_under(
    g: &TestGuest,
    q: &Qmap,
    types: &mut impl PlaceTypes,
    limits: BpfLimits,
) -> (Vec<Waiting>, Seen, PlaceWalk) {
    g.with(|guest: &Guest<'_, KitMem<'_>, LinearTranslator<'_>>| {
        let w = Walker::new(*guest, q.symbols).with_limits(limits);
        let mut maps = [VirtAddr(0); 16];
        let sched = w.walk_sched(q.sched, q.sched, &mut maps, &mut scxray_core::bpf::Ignore);
        let mut tasks: Vec<Waiting> =
            q.waiting().into_iter().chain(q.idle.iter().copied()).map(|(t, p)| Waiting::new(t, p)).collect();
        let mut seen = Seen::default();
        let walk = w.place_tasks(&maps[..sched.maps as usize], sched.arena, types, &mut tasks, &mut seen);
        (tasks, seen, walk)
    })
}

fn find(tasks: &[Waiting], task: VirtAddr) -> &Waiting {
    tasks.iter().find(|w| w.task == task).unwrap()
}

fn fifo_offset(f: usize) -> u64 {
    u64::from(P::QA_FIFOS) + f as u64 * u64::from(P::FIFO_SIZE)
}

/// What every way of answering must find.
fn check(q: &Qmap, tasks: &[Waiting], seen: &Seen, walk: &PlaceWalk) {
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
    for (f, list) in q.fifos.iter().enumerate() {
        for (i, &(task, pid, ctx)) in list.iter().enumerate() {
            let w = find(tasks, task);
            assert_eq!(w.object.map(|o| o.uaddr), Some(ctx), "pid {pid}");
            let Some(Place::Arena { parent, parent_type, anchors, anchor, steps, link, .. }) = w.place else {
                panic!("pid {pid} on FIFO {f} placed {:?}", w.place)
            };
            assert_eq!((parent, parent_type, anchors), (fifo_offset(f), q.prog.qmap_fifo, 2), "pid {pid}");
            assert!(!w.ambiguous, "pid {pid}");
            // The nearest anchor: the head (following q_next) for the first half, the tail
            // (following q_prev) past it.
            let from_tail = list.len() - 1 - i;
            let want = if i <= from_tail {
                (fifo_offset(f), (i > 0).then_some(P::Q_NEXT), i as u32)
            } else {
                (fifo_offset(f) + 8, (from_tail > 0).then_some(P::Q_PREV), from_tail as u32)
            };
            assert_eq!((anchor, link, steps), want, "pid {pid}");
        }
    }
    // FIFO 3 runs through the slab's first entry: `qa.task_ctxs` reaches all of it too, but
    // only through one anchor.
    for &(task, ..) in &q.fifos[3] {
        assert_eq!(find(tasks, task).claims, 2);
    }
    for &(task, ..) in q.fifos.iter().enumerate().filter(|(f, _)| *f != 3).flat_map(|(_, l)| l) {
        assert_eq!(find(tasks, task).claims, 1);
    }
    let queue = q.maps.iter().find(|m| m.0 == "pid_queue").unwrap().1;
    assert_eq!(
        find(tasks, q.queued_pid.0).place,
        Some(Place::Elem {
            map: queue,
            map_id: 4,
            key: ElemKey::Slot { position: 0, slot: 3 },
            cpu: None,
            offset: 0,
            kind: TaskFieldKind::Pid
        })
    );
    let Some(Place::Elem { map_id, key: ElemKey::Hash { bucket, .. }, kind, .. }) =
        find(tasks, q.hashed.0).place
    else {
        panic!("{:?}", find(tasks, q.hashed.0))
    };
    assert_eq!((map_id, bucket, kind), (5, q.hashed.2, TaskFieldKind::Pid));
    let Some(Place::Elem { map_id, key, kind, .. }) = find(tasks, q.owned.0).place else { panic!() };
    assert_eq!((map_id, key, kind), (6, ElemKey::Index(1), TaskFieldKind::Task));
    for &(task, _) in &q.idle {
        let w = find(tasks, task);
        assert!(w.object.is_some() && w.place.is_none() && w.claims == 0, "{w:?}");
    }
    assert_eq!((walk.tasks, walk.placed, walk.ambiguous, walk.objects), (15, 13, 0, 12));
    assert_eq!((walk.maps_searched, walk.globals, walk.truncated, walk.errors), (3, Some(q.qa), false, 0));

    // Every FIFO checked: head to tail along q_next, q_prev pointing back.
    let lists: Vec<_> = seen
        .lists
        .iter()
        .map(|l| (l.parent, l.first, l.last, l.forward, l.back, l.length, l.agree))
        .collect();
    let want: Vec<_> = (0..5)
        .map(|f| {
            (
                fifo_offset(f),
                fifo_offset(f),
                fifo_offset(f) + 8,
                P::Q_NEXT,
                Some(P::Q_PREV),
                q.fifos[f].len() as u32,
                true,
            )
        })
        .collect();
    assert_eq!(lists, want);
}

#[test]
fn the_core_places_every_task_from_answers_written_by_hand() {
    let (g, q) = qmap_machine();
    let (tasks, seen, walk) = place(&g, &q, &mut ByHand { q: q.clone() });
    check(&q, &tasks, &seen, &walk);
}

/// The lists checked, by FIFO: (parent, length, agree, cap).
fn fifo_lists(seen: &Seen) -> Vec<(u64, u32, bool, Option<WalkCap>)> {
    seen.lists.iter().map(|l| (l.parent, l.length, l.agree, l.cap)).collect()
}

#[test]
fn a_placement_cut_by_the_link_cap_says_links() {
    let (g, q) = qmap_machine();
    // Two objects per chain: FIFO 0 (3 tasks) and FIFO 3 (4) are longer, and so is the
    // free list; FIFO 4 (2) fits and gives the lists' shape.
    let limits = BpfLimits { links: 2, ..BpfLimits::DEFAULT };
    let (tasks, seen, walk) = place_under(&g, &q, &mut ByHand { q: q.clone() }, limits);
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
    let links = WalkCap::fixed(Limit::BpfLinks, 2);
    assert_eq!((walk.truncated, walk.cap, walk.errors), (true, Some(links), 0), "{walk:?}");
    assert_eq!(
        fifo_lists(&seen),
        vec![
            (fifo_offset(0), 2, false, Some(links)),
            (fifo_offset(1), 1, true, None),
            (fifo_offset(2), 0, true, None),
            (fifo_offset(3), 2, false, Some(links)),
            (fifo_offset(4), 2, true, None),
        ]
    );
    // FIFO 0's middle task is one link from either end: still found.
    let (middle, ..) = q.fifos[0][1];
    assert!(
        matches!(find(&tasks, middle).place, Some(Place::Arena { parent, .. }) if parent == fifo_offset(0))
    );
}

#[test]
fn a_placement_cut_by_the_read_budget_says_arena_reads() {
    let (g, q) = qmap_machine();
    // The 12 anchors cost 12 reads; the chains run out of the other 8.
    let limits = BpfLimits { arena_reads: 20, ..BpfLimits::DEFAULT };
    let (_, seen, walk) = place_under(&g, &q, &mut ByHand { q: q.clone() }, limits);
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
    let reads = WalkCap::fixed(Limit::BpfArenaReads, 20);
    assert_eq!((walk.truncated, walk.cap, walk.errors), (true, Some(reads), 0), "{walk:?}");
    // Not one list's shape could be learnt from a whole walk: none is checked.
    assert_eq!(fifo_lists(&seen), vec![]);
}

/// [`ByHand`]'s answers with the arena globals said to span the whole arena (16 pages, so they
/// start at page 0 and `qa` is 15 pages in), and one more FIFO-typed parent whose head and
/// tail sit in page 3, which is free.
struct WithFreeAnchors(ByHand);

/// Where `qa` is in [`WithFreeAnchors`]'s globals, and where its bad parent is.
const QA_AT: u64 = 15 * 4096;
const BAD_PARENT: u64 = 3 * 4096;

impl PlaceTypes for WithFreeAnchors {
    fn task_fields(
        &mut self,
        map: &MapHeader,
        out: &mut HVec<TaskField, MAX_TASK_FIELDS>,
    ) -> Result<(), TypesError> {
        self.0.task_fields(map, out)
    }
    fn object_pointers(
        &mut self,
        map: &MapHeader,
        out: &mut HVec<ObjectPointer, MAX_OBJECT_POINTERS>,
    ) -> Result<(), TypesError> {
        self.0.object_pointers(map, out)
    }
    fn links(&mut self, object: TypeRef, out: &mut HVec<u32, MAX_LINKS>) -> Result<(), TypesError> {
        self.0.links(object, out)
    }
    fn anchors(&mut self, object: TypeRef, out: &mut Anchors) -> Result<(), TypesError> {
        self.0.anchors(object, out)?;
        out.globals_size = 16 * 4096;
        for a in &mut out.list {
            a.offset += QA_AT;
            a.parent += QA_AT;
        }
        let parent_type = self.0.q.prog.qmap_fifo;
        for end in [0, 8] {
            let a = Anchor { offset: BAD_PARENT + end, parent: BAD_PARENT, parent_type };
            out.list.push(a).map_err(|_| TypesError)?;
        }
        Ok(())
    }
}

#[test]
fn an_unreadable_anchor_is_one_failed_read() {
    let (g, q) = qmap_machine();
    let (tasks, seen, walk) = place(&g, &q, &mut WithFreeAnchors(ByHand { q: q.clone() }));
    // Two anchors in a free page: two failed reads, not one per look at them (the chains,
    // the shape's pairs, the list: six).
    assert_eq!(
        (walk.errors, walk.truncated, walk.globals),
        (2, false, Some(q.arena.page_uaddr(0))),
        "{walk:?}"
    );
    assert_eq!(walk.placed, 13);
    let lists: Vec<_> = seen.lists.iter().map(|l| (l.parent, l.length, l.agree, l.error)).collect();
    let mut want = vec![(BAD_PARENT, 0, false, Some(ArenaError::Unallocated { page: 3 }))];
    want.extend((0..5).map(|f| (QA_AT + fifo_offset(f), q.fifos[f].len() as u32, true, None)));
    assert_eq!(lists, want);
    let (middle, ..) = q.fifos[3][2];
    assert!(
        matches!(find(&tasks, middle).place, Some(Place::Arena { parent, .. }) if parent == QA_AT + fifo_offset(3))
    );
}

#[test]
fn the_placement_s_cap_round_trips_and_older_limits_keep_their_encoding() {
    let cap =
        WalkCap { limit: Limit::BpfLinks, value: 1538, basis: scxray_core::CapBasis::Count { count: 4 } };
    let walk = PlaceWalk { tasks: 5, truncated: true, cap: Some(cap), errors: 1, ..PlaceWalk::default() };
    let back: PlaceWalk = postcard::from_bytes(&postcard::to_allocvec(&walk).unwrap()).unwrap();
    assert_eq!(back, walk);
    // The variants appended after BpfArenaProbes (17) take the next numbers; none moves.
    let limits = [
        Limit::SchedDepth,
        Limit::BpfArenaProbes,
        Limit::BpfOwnerStorages,
        Limit::PlaceObjectTypes,
        Limit::PlaceAnchors,
    ];
    let bytes: Vec<Vec<u8>> = limits.iter().map(|l| postcard::to_allocvec(l).unwrap()).collect();
    assert_eq!(bytes, vec![vec![5], vec![17], vec![18], vec![19], vec![20]]);
    for l in limits {
        assert_eq!(postcard::from_bytes::<Limit>(&postcard::to_allocvec(&l).unwrap()).unwrap(), l);
    }
}

/// Places under every read budget from none to enough: the guest's lists are sound, so each
/// list checked agrees or is cut by the budget, no back link is called bad, and a walk that
/// checked fewer lists than there are says it was cut. Returns the lists cut.
fn under_every_budget(g: &TestGuest, q: &Qmap) -> usize {
    let (_, whole_seen, whole) = place_under(g, q, &mut ByHand { q: q.clone() }, BpfLimits::DEFAULT);
    assert_eq!((whole.truncated, whole.cap, whole_seen.lists.len()), (false, None, 5));
    let mut cut_lists = 0;
    for n in 0..2000 {
        let limits = BpfLimits { arena_reads: n, ..BpfLimits::DEFAULT };
        let (_, seen, walk) = place_under(g, q, &mut ByHand { q: q.clone() }, limits);
        let reads = WalkCap::fixed(Limit::BpfArenaReads, n);
        assert!(walk.cap.is_none_or(|c| c == reads), "{n}: {walk:?}");
        assert_eq!(walk.truncated, walk.cap.is_some(), "{n}: {walk:?}");
        assert!(walk.truncated || seen.lists.len() == 5, "{n}: {walk:?} {:?}", seen.lists);
        for l in &seen.lists {
            assert_eq!(l.bad_back, None, "{n}: {l:?}");
            assert!(l.agree != (l.cap == Some(reads)) && l.truncated == l.cap.is_some(), "{n}: {l:?}");
            cut_lists += usize::from(l.truncated);
        }
    }
    cut_lists
}

#[test]
fn the_read_budget_cuts_list_checks_and_says_so_without_false_findings() {
    let (mut g, q) = qmap_machine();
    // A back link the budget refuses was called bad.
    assert!(under_every_budget(&g, &q) > 0);
    // FIFOs 0 and 3 emptied: FIFO 4, the last, is the only one whose list is long enough to
    // learn the lists' shape from, and a budget that cuts its trial walk left no list
    // checked, and the walk not cut.
    for f in [0, 3] {
        for end in [0, 8] {
            g.write_u64(q.arena.kaddr(q.qa + fifo_offset(f) + end), 0);
        }
    }
    under_every_budget(&g, &q);
}

/// The program's BTF as the host will get it: `struct btf`'s blob read out of the guest.
fn guest_btf(g: &TestGuest, q: &Qmap) -> Vec<u8> {
    g.with(|guest| {
        let w = Walker::new(*guest, q.symbols);
        let h = w.read_btf(q.btf).unwrap();
        let mut blob = vec![0u8; h.data_size as usize];
        guest.read_bytes(h.data, &mut blob, scxray_core::Field::KernelBtfObject).unwrap();
        blob
    })
}

#[test]
fn the_btf_answers_place_every_task_and_name_its_fifo() {
    let (g, q) = qmap_machine();
    let blob = guest_btf(&g, &q);
    assert_eq!(blob, q.prog.blob);
    let btf = Btf::parse(&blob).unwrap();
    let objects = [(q.btf, &btf)];
    let mut types = BtfPlaceTypes::new(&objects, &[]);
    let (tasks, seen, walk) = place(&g, &q, &mut types);
    check(&q, &tasks, &seen, &walk);
    // Each place by name.
    for (f, list) in q.fifos.iter().enumerate() {
        for &(task, ..) in list {
            let Some(Place::Arena { btf, parent, parent_type, .. }) = find(&tasks, task).place else {
                panic!()
            };
            let mut name = String::new();
            assert!(types.name_place(btf, parent, parent_type, &mut name).unwrap());
            assert_eq!(name, format!("qa.fifos[{f}]"));
        }
    }
    let mut name = String::new();
    let l = &seen.lists[3];
    types.name_place(l.btf, l.parent, l.parent_type, &mut name).unwrap();
    assert_eq!(name, "qa.fifos[3]");

    // A task_ctx decoded from the arena: its `fifo` named by its arena path, its links as
    // arena addresses.
    let (_, _, ctx) = q.fifos[3][1];
    let mut bytes = vec![0u8; P::TASK_CTX_SIZE as usize];
    g.with(|guest| {
        let w = Walker::new(*guest, q.symbols);
        w.arena(q.arena.map).unwrap().read(ctx, &mut bytes).unwrap();
    });
    let end = q.arena.page_uaddr(16);
    let namer = ArenaNamer::new(&btf, q.arena.user_vm_start, end, walk.globals.unwrap());
    let mut text = String::new();
    format_value(
        &btf,
        q.prog.task_ctx,
        &mut &bytes[..],
        &DecodeLimits::DEFAULT,
        Style::Compact,
        namer,
        &mut text,
    )
    .unwrap();
    let (prev, next) = (q.fifos[3][0].2, q.fifos[3][2].2);
    let off = |u: u64| u - q.arena.user_vm_start;
    assert!(text.contains(&format!(".q_next = {next:#x} (arena+{:#x})", off(next))), "{text}");
    assert!(text.contains(&format!(".q_prev = {prev:#x} (arena+{:#x})", off(prev))), "{text}");
    assert!(text.contains(&format!(".fifo = {:#x} (qa.fifos[3])", q.qa + fifo_offset(3))), "{text}");
    assert!(text.contains(&format!(".pid = {}", q.fifos[3][1].1)), "{text}");
}

#[test]
fn hints_narrow_the_search() {
    let (g, q) = qmap_machine();
    let blob = guest_btf(&g, &q);
    let btf = Btf::parse(&blob).unwrap();
    let objects = [(q.btf, &btf)];
    let hints = [
        PlaceHint::AnchorsUnder("qa.fifos"),
        PlaceHint::Links { object: "task_ctx", members: &["q_next", "q_prev"] },
        PlaceHint::NoBarePids,
    ];
    let mut types = BtfPlaceTypes::new(&objects, &hints);
    let (tasks, seen, walk) = place(&g, &q, &mut types);
    // `qa.task_ctxs` is no anchor now: FIFO 3's tasks have one claim, their FIFO.
    for &(task, ..) in &q.fifos[3] {
        let w = find(&tasks, task);
        assert_eq!((w.claims, w.ambiguous), (1, false));
        assert!(matches!(w.place, Some(Place::Arena { parent, .. }) if parent == fifo_offset(3)));
    }
    // Bare pids are not taken: the queued task is not placed.
    assert_eq!(find(&tasks, q.queued_pid.0).place, None);
    assert_eq!((walk.placed, walk.anchors, seen.lists.len()), (12, 8, 5));
}
