//! The BPF walkers on the kit's qmap-like guest (`scxray_tests::bpf::qmap_machine`): the ID
//! tables, program and map headers with statistics, the scheduler's struct_ops map,
//! programs and maps, every map type's contents, task storage from the task's side, and the
//! arena read through its kernel mapping and free-range tree.

use scxray_core::bpf::{
    ArenaError, ArenaPage, BpfProblem, BpfVisitor, BtfHeader, ContentsKind, ContentsWalk, Elem, ElemKey,
    IdTable, IdTableWalk, LinkHeader, MapHeader, MapType, OpsMatch, ProgHeader, ProgType, SchedOps,
    SchedWalk, StatsState, StorageLookup, Walker,
};
use scxray_core::{BpfLimits, Guest, Limit, LinearTranslator, VirtAddr};
use scxray_tests::bpf::{QMAP_MAPS, Qmap, qmap_machine};
use scxray_tests::btf_blob::ArenaProgram;
use scxray_tests::{KitAddr, KitMem, TestGuest};
use std::ops::ControlFlow;

/// An element as recorded: key, CPU, key bytes, value bytes.
type Recorded = (ElemKey, Option<u32>, Option<Vec<u8>>, Vec<u8>);

/// Everything a walk reports, with each element's value bytes read whole.
#[derive(Default, Debug)]
struct Record {
    progs: Vec<ProgHeader>,
    maps: Vec<MapHeader>,
    btfs: Vec<BtfHeader>,
    links: Vec<LinkHeader>,
    tables: Vec<(IdTable, IdTableWalk)>,
    ops: Vec<SchedOps>,
    sched_progs: Vec<(u32, ProgHeader)>,
    sched_maps: Vec<MapHeader>,
    sched_end: Vec<SchedWalk>,
    elems: Vec<Recorded>,
    free: Vec<(u32, u32)>,
    pages: Vec<(u32, u64, Vec<u8>)>,
    ends: Vec<ContentsWalk>,
    problems: Vec<BpfProblem>,
}

fn bytes(b: &dyn scxray_core::bpf::GuestBytes) -> Vec<u8> {
    let mut v = vec![0u8; b.len() as usize];
    b.read_at(0, &mut v).expect("value readable");
    v
}

impl BpfVisitor for Record {
    fn prog(&mut self, p: &ProgHeader) {
        self.progs.push(*p);
    }
    fn map(&mut self, m: &MapHeader) {
        self.maps.push(*m);
    }
    fn btf(&mut self, b: &BtfHeader) {
        self.btfs.push(*b);
    }
    fn link(&mut self, l: &LinkHeader) {
        self.links.push(*l);
    }
    fn id_table_end(&mut self, t: IdTable, w: &IdTableWalk) {
        self.tables.push((t, *w));
    }
    fn sched_ops(&mut self, o: &SchedOps) {
        self.ops.push(*o);
    }
    fn sched_prog(&mut self, _: &SchedOps, slot: u32, p: &ProgHeader) {
        self.sched_progs.push((slot, *p));
    }
    fn sched_map(&mut self, _: &SchedOps, m: &MapHeader) {
        self.sched_maps.push(*m);
    }
    fn sched_end(&mut self, w: &SchedWalk) {
        self.sched_end.push(*w);
    }
    fn elem(&mut self, _: &MapHeader, e: &Elem<'_>) -> ControlFlow<()> {
        self.elems.push((e.key, e.cpu, e.key_bytes.map(bytes), bytes(e.value)));
        ControlFlow::Continue(())
    }
    fn arena_free(&mut self, _: &MapHeader, first: u32, last: u32) {
        self.free.push((first, last));
    }
    fn arena_page(&mut self, _: &MapHeader, p: &ArenaPage<'_>) -> ControlFlow<()> {
        self.pages.push((p.index, p.uaddr, bytes(p.bytes)));
        ControlFlow::Continue(())
    }
    fn contents_end(&mut self, _: &MapHeader, w: &ContentsWalk) {
        self.ends.push(*w);
    }
    fn problem(&mut self, p: &BpfProblem) {
        self.problems.push(*p);
    }
}

fn with_walker<R>(
    g: &TestGuest,
    q: &Qmap,
    f: impl FnOnce(&Walker<'_, KitMem<'_>, LinearTranslator<'_>>) -> R,
) -> R {
    with_walker_limits(g, q, BpfLimits::DEFAULT, f)
}

fn with_walker_limits<R>(
    g: &TestGuest,
    q: &Qmap,
    limits: BpfLimits,
    f: impl FnOnce(&Walker<'_, KitMem<'_>, LinearTranslator<'_>>) -> R,
) -> R {
    g.with(|guest: &Guest<'_, KitMem<'_>, LinearTranslator<'_>>| {
        f(&Walker::new(*guest, q.symbols).with_limits(limits))
    })
}

fn name(n: &scxray_core::bpf::ObjName) -> String {
    n.to_string()
}

#[test]
fn the_id_tables_list_every_program_map_btf_and_link() {
    let (g, q) = qmap_machine();
    let r = with_walker(&g, &q, |w| {
        let mut r = Record::default();
        for t in [IdTable::Prog, IdTable::Map, IdTable::Btf, IdTable::Link] {
            w.walk_id_table(t, &mut r);
        }
        r
    });
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let progs: Vec<_> = r.progs.iter().map(|p| (p.id, name(&p.name), p.prog_type)).collect();
    assert_eq!(
        progs,
        [
            (1, "qmap_select_cpu".into(), ProgType::STRUCT_OPS),
            (2, "qmap_enqueue".into(), ProgType::STRUCT_OPS),
            (3, "qmap_dispatch".into(), ProgType::STRUCT_OPS),
            (4, "qmap_init_task".into(), ProgType::STRUCT_OPS),
            (5, "qmap_init".into(), ProgType::STRUCT_OPS),
            (6, "other_syscall".into(), ProgType::SYSCALL),
            (7, "cong_cb".into(), ProgType::STRUCT_OPS),
        ]
    );
    let enqueue = &r.progs[1];
    assert_eq!(enqueue.tag, [0xa1, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!((enqueue.insns, enqueue.jited_len, enqueue.verified_insns), (101, Some(606), Some(303)));
    assert_eq!(enqueue.used_map_cnt, 5);
    assert_eq!((enqueue.btf, enqueue.arena), (Some(q.btf), Some(q.arena.map)));
    assert_eq!(enqueue.st_ops_member_off, Some(8));
    assert_eq!(enqueue.stats, StatsState::On);
    let runs = enqueue.runs.expect("stats on");
    let sum = |f: fn(&(u64, u64, u64)) -> u64| q.enqueue_stats.iter().map(f).sum::<u64>();
    assert_eq!((runs.cnt, runs.nsecs, runs.misses), (sum(|s| s.0), sum(|s| s.1), Some(sum(|s| s.2))));
    assert_eq!((runs.cnt, runs.nsecs, runs.cpus, runs.unreadable_cpus), (350, 13_000, 4, 0));

    // Maps: nine of the scheduler's, three ids skipped, then the others.
    let maps: Vec<_> = r.maps.iter().map(|m| (m.id, name(&m.name), m.map_type)).collect();
    let mut want: Vec<(u32, String, MapType)> = QMAP_MAPS
        .iter()
        .zip([2, 29, 33, 22, 1, 2, 6, 27, 23])
        .enumerate()
        .map(|(i, (n, t))| (i as u32 + 1, n.to_string(), MapType(t)))
        .collect();
    want.extend([
        (13, "other_prog_map".to_string(), MapType::ARRAY),
        (14, "cong".to_string(), MapType::STRUCT_OPS),
        (15, "qmap_ops".to_string(), MapType::STRUCT_OPS),
    ]);
    assert_eq!(maps, want);
    let bss = &r.maps[0];
    assert_eq!(
        (bss.key_size, bss.value_size, bss.max_entries, bss.flags),
        (4, ArenaProgram::BSS_SIZE, 1, 0x400)
    );
    assert_eq!((bss.btf, bss.btf_value_type_id), (q.btf, q.prog.bss));
    let arena = &r.maps[2];
    assert_eq!((arena.max_entries, arena.map_extra), (16, Some(1 << 44)));

    assert_eq!(r.btfs.len(), 1);
    assert_eq!(
        (r.btfs[0].kva, r.btfs[0].id, r.btfs[0].data_size),
        (q.btf, Some(1), q.prog.blob.len() as u32)
    );
    assert_eq!(r.btfs[0].base_btf, VirtAddr(0));
    // One link per struct_ops program: the other subsystem's first.
    assert_eq!(r.links.len(), 6);
    assert_eq!(r.links.iter().map(|l| l.id).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(r.links[1].prog, q.progs[0].1);

    for (t, w) in &r.tables {
        assert!(
            !w.truncated && w.unreadable == 0 && w.id_mismatch == 0 && w.first_error.is_none(),
            "{t}: {w:?}"
        );
    }
    let entries: Vec<_> = r.tables.iter().map(|(_, w)| w.entries).collect();
    assert_eq!(entries, [7, 12, 1, 6]);
}

#[test]
fn stats_off_are_said_and_not_read() {
    let (mut g, q) = qmap_machine();
    let key = q.symbols.stats_enabled_key.unwrap();
    let at = g.map.pa(key.0) as usize;
    g.mem[at] = 0;
    let r = with_walker(&g, &q, |w| {
        let mut r = Record::default();
        w.walk_id_table(IdTable::Prog, &mut r);
        r
    });
    assert!(r.progs.iter().all(|p| p.stats == StatsState::Off && p.runs.is_none()));
    // Without the key's symbol, the counts are read and said to be of unknown freshness.
    let mut q2 = q.clone();
    q2.symbols.stats_enabled_key = None;
    let r = with_walker(&g, &q2, |w| {
        let mut r = Record::default();
        w.walk_id_table(IdTable::Prog, &mut r);
        r
    });
    assert_eq!(r.progs[1].stats, StatsState::Unknown);
    assert_eq!(r.progs[1].runs.map(|s| s.cnt), Some(350));
}

#[test]
fn a_scheduler_leads_to_its_struct_ops_map_programs_and_maps() {
    let (g, q) = qmap_machine();
    let mut buf = [VirtAddr(0); 32];
    let (r, walk) = with_walker(&g, &q, |w| {
        let mut r = Record::default();
        let walk = w.walk_sched(q.sched, q.sched, &mut buf, &mut r);
        (r, walk)
    });
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.ops.len(), 1);
    let ops = &r.ops[0];
    assert_eq!(
        (ops.map.kva, name(&ops.map.name), ops.matched_by),
        (q.ops_map, "qmap_ops".into(), OpsMatch::Priv)
    );
    assert_eq!((ops.callbacks_agree, ops.funcs_cnt), (Some(true), 40));
    let progs: Vec<_> = r.sched_progs.iter().map(|(s, p)| (*s, name(&p.name), p.kva)).collect();
    let want: Vec<_> = q.progs.iter().enumerate().map(|(i, (n, a))| (i as u32, n.to_string(), *a)).collect();
    assert_eq!(progs, want);
    let maps: Vec<_> = r.sched_maps.iter().map(|m| name(&m.name)).collect();
    assert_eq!(maps, QMAP_MAPS);
    assert_eq!(&buf[..9], &q.maps.iter().map(|m| m.1).collect::<Vec<_>>()[..]);
    assert_eq!(
        (walk.ops_map, walk.candidates, walk.matches, walk.progs, walk.maps, walk.truncated),
        (Some(q.ops_map), 2, 1, 5, 9, false)
    );
    assert_eq!((walk.arena, walk.prog_btf), (Some(q.arena.map), Some(q.btf)));
    assert_eq!(r.sched_end, [walk]);

    // Fewer programs, or fewer used maps per program, than the scheduler has: the cap named.
    for (limits, cap) in [
        (BpfLimits { sched_progs: 2, ..BpfLimits::DEFAULT }, Limit::BpfSchedProgs),
        (BpfLimits { used_maps: 1, ..BpfLimits::DEFAULT }, Limit::BpfUsedMaps),
    ] {
        let walk = with_walker_limits(&g, &q, limits, |w| {
            w.walk_sched(q.sched, q.sched, &mut buf, &mut Record::default())
        });
        assert_eq!((walk.truncated, walk.cap, walk.maps_full), (true, Some(cap), false), "{limits:?}");
    }

    // A map buffer too small: truncated, the first maps still right.
    let mut small = [VirtAddr(0); 3];
    let walk = with_walker(&g, &q, |w| w.walk_sched(q.sched, q.sched, &mut small, &mut Record::default()));
    assert!(walk.truncated);
    assert_eq!((walk.maps, walk.maps_full, walk.cap), (3, true, None));
    assert_eq!(small.to_vec(), q.maps[..3].iter().map(|m| m.1).collect::<Vec<_>>());

    // Another scheduler address: no struct_ops map is it.
    let walk = with_walker(&g, &q, |w| {
        w.walk_sched(VirtAddr(q.sched.0 + 64), q.sched, &mut buf, &mut Record::default())
    });
    assert_eq!((walk.ops_map, walk.candidates, walk.matches, walk.progs), (None, 2, 0, 0));
}

#[test]
fn without_priv_the_callbacks_find_the_scheduler() {
    // 6.12-6.15: `sched_ext_ops` has no `priv`, the scheduler is `scx_ops` (a copy).
    let (mut g, q) = qmap_machine();
    g.layout.bpf.struct_ops.as_mut().unwrap().ops_priv = None;
    let mut buf = [VirtAddr(0); 16];
    let (r, walk) = with_walker(&g, &q, |w| {
        let mut r = Record::default();
        let walk = w.walk_sched(q.sched, q.sched, &mut buf, &mut r);
        (r, walk)
    });
    assert_eq!((walk.ops_map, walk.matches, walk.maps), (Some(q.ops_map), 1, 9));
    assert_eq!((r.ops[0].matched_by, r.ops[0].callbacks_agree), (OpsMatch::Callbacks, Some(true)));
}

/// The contents of the map named `n`.
fn contents(g: &TestGuest, q: &Qmap, n: &str) -> (MapHeader, Record, ContentsWalk) {
    let kva = q.maps.iter().find(|m| m.0 == n).unwrap().1;
    with_walker(g, q, |w| {
        let header = w.read_map(kva).unwrap();
        let mut r = Record::default();
        let walk = w.walk_contents(&header, &mut r);
        (header, r, walk)
    })
}

#[test]
fn arrays_hand_each_element_and_per_cpu_arrays_each_cpus_copy() {
    let (g, q) = qmap_machine();
    let (_, r, walk) = contents(&g, &q, ".bss");
    assert_eq!(
        (walk.kind, walk.elems, walk.truncated.is_empty(), walk.anomalies.is_empty()),
        (ContentsKind::Array, 1, true, true)
    );
    assert_eq!(r.elems.len(), 1);
    let (key, cpu, _, value) = &r.elems[0];
    assert_eq!((*key, *cpu), (ElemKey::Index(0), None));
    assert_eq!(value.len(), ArenaProgram::BSS_SIZE as usize);
    assert_eq!(u64::from_le_bytes(value[..8].try_into().unwrap()), 17);
    assert_eq!(&value[12..17], b"qmap\0");

    let (_, r, _) = contents(&g, &q, "owners");
    assert_eq!(r.elems.len(), 2);
    assert_eq!(u64::from_le_bytes(r.elems[1].3[..8].try_into().unwrap()), q.owned.0.0);

    let (_, r, walk) = contents(&g, &q, "cpu_stats");
    assert_eq!((walk.kind, walk.elems, walk.values), (ContentsKind::PercpuArray, 1, 4));
    let got: Vec<_> = r
        .elems
        .iter()
        .map(|(k, cpu, _, v)| {
            (
                *k,
                cpu.unwrap(),
                u64::from_le_bytes(v[..8].try_into().unwrap()),
                u64::from_le_bytes(v[8..].try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        got,
        (0..4).map(|c| (ElemKey::Index(0), c, 10 + u64::from(c), 20 + u64::from(c))).collect::<Vec<_>>()
    );
}

#[test]
fn hashes_walk_their_buckets_nulls_lists() {
    let (g, q) = qmap_machine();
    let (_, r, walk) = contents(&g, &q, "pid_slots");
    assert_eq!(
        (walk.kind, walk.elems, walk.anomalies.is_empty(), walk.truncated.is_empty()),
        (ContentsKind::Hash, 2, true, true)
    );
    // Both in bucket 5, the last inserted first.
    let got: Vec<_> = r
        .elems
        .iter()
        .map(|(k, _, key, v)| {
            let ElemKey::Hash { bucket, .. } = k else { panic!("{k:?}") };
            (*bucket, u32::from_le_bytes(key.as_ref().unwrap()[..].try_into().unwrap()), v.clone())
        })
        .collect();
    let mut slot = q.hashed.1.to_le_bytes().to_vec();
    slot.extend(100u32.to_le_bytes());
    assert_eq!(got, [(5, 9, vec![0, 0, 0, 0, 1, 0, 0, 0]), (5, 7, slot)]);
}

#[test]
fn task_storage_lists_every_owner_and_each_task_finds_its_own() {
    let (g, q) = qmap_machine();
    let (header, r, walk) = contents(&g, &q, "task_ctx_stor");
    assert_eq!((walk.kind, walk.elems, walk.anomalies.is_empty()), (ContentsKind::LocalStorage, 12, true));
    // Every FIFO task and both idle ones, each with its task_ctx's address.
    let mut want: Vec<(u64, u64)> = q.fifos.iter().flatten().map(|&(t, _, c)| (t.0, c)).collect();
    let mut got: Vec<(u64, u64)> = r
        .elems
        .iter()
        .map(|(k, _, _, v)| {
            let ElemKey::Owner { owner, .. } = k else { panic!("{k:?}") };
            (owner.0, u64::from_le_bytes(v[..].try_into().unwrap()))
        })
        .filter(|(o, _)| q.fifos.iter().flatten().any(|f| f.0.0 == *o))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    let (task, _, ctx) = q.fifos[3][2];
    let found = with_walker(&g, &q, |w| w.task_storage(task, header.kva).unwrap());
    let StorageLookup::Found(v) = found else { panic!("{found:?}") };
    assert_eq!(
        g.map.try_pa(v.value.0).map(|pa| g.mem[pa as usize..pa as usize + 8].to_vec()),
        Some(ctx.to_le_bytes().to_vec())
    );
    // A task without storage, and a map it holds nothing in.
    assert_eq!(
        with_walker(&g, &q, |w| w.task_storage(q.queued_pid.0, header.kva).unwrap()),
        StorageLookup::Absent
    );
    assert_eq!(
        with_walker(&g, &q, |w| w.task_storage(task, q.unrelated_map).unwrap()),
        StorageLookup::Absent
    );
}

#[test]
fn queues_and_stacks_come_in_order_and_other_types_as_metadata() {
    let (g, q) = qmap_machine();
    let (_, r, walk) = contents(&g, &q, "pid_queue");
    assert_eq!((walk.kind, walk.elems), (ContentsKind::Queue, 1));
    assert_eq!(r.elems[0].0, ElemKey::Slot { position: 0, slot: 3 });
    assert_eq!(r.elems[0].3, (q.queued_pid.1 as u32).to_le_bytes());
    let (_, r, walk) = contents(&g, &q, "pid_stack");
    assert_eq!((walk.kind, walk.elems), (ContentsKind::Stack, 2));
    let got: Vec<_> =
        r.elems.iter().map(|e| (e.0, u64::from_le_bytes(e.3[..].try_into().unwrap()))).collect();
    assert_eq!(
        got,
        [(ElemKey::Slot { position: 0, slot: 1 }, 8), (ElemKey::Slot { position: 1, slot: 0 }, 7)]
    );
    let (_, r, walk) = contents(&g, &q, "events");
    assert_eq!((walk.kind, walk.elems, r.elems.len()), (ContentsKind::MetadataOnly, 0, 0));
}

#[test]
fn arenas_hand_allocated_pages_and_report_free_ones_absent() {
    let (g, q) = qmap_machine();
    let (_, r, walk) = contents(&g, &q, "arena");
    assert_eq!((walk.kind, walk.elems, walk.free_pages), (ContentsKind::Arena, 4, 12));
    assert!(walk.truncated.is_empty() && walk.anomalies.is_empty() && walk.broken == 0, "{walk:?}");
    assert_eq!(r.free, [(2, 4), (6, 14)]);
    let pages: Vec<_> = r.pages.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(pages, [0, 1, 5, 15].map(|p| (p, q.arena.page_uaddr(p))));
    // `qa` is on the last page: its counters, read through the kernel mapping.
    let qa = &r.pages[3].2;
    assert_eq!(u64::from_le_bytes(qa[..8].try_into().unwrap()), 4242);

    // By user address, through the reader: allocated pages read, free ones refused.
    with_walker(&g, &q, |w| {
        let a = w.arena(q.arena.map).unwrap();
        assert_eq!(a.info.nr_pages, Some(4));
        assert_eq!(a.u64(q.qa + u64::from(ArenaProgram::QA_NR_DISPATCHED)), Ok(4200));
        assert_eq!(a.u64(q.arena.page_uaddr(3)), Err(ArenaError::Unallocated { page: 3 }));
        assert_eq!(a.u64(q.arena.page_uaddr(16)), Err(ArenaError::Outside { uaddr: q.arena.page_uaddr(16) }));
        // Across the end of page 1 into free page 2: refused, not half read.
        assert_eq!(a.u64(q.arena.page_uaddr(2) - 4), Err(ArenaError::Unallocated { page: 2 }));
    });
}

#[test]
fn a_struct_ops_map_whose_owner_cannot_be_read_is_said_not_passed_over() {
    let (mut g, q) = qmap_machine();
    let sl = g.layout.bpf.struct_ops.unwrap();
    let priv_at = q.ops_map.at(u64::from(sl.kvalue_data)).at(u64::from(sl.ops_priv.unwrap()));
    g.poison(priv_at, 8);
    let mut buf = [VirtAddr(0); 16];
    let (r, walk) = with_walker(&g, &q, |w| {
        let mut r = Record::default();
        let walk = w.walk_sched(q.sched, q.sched, &mut buf, &mut r);
        (r, walk)
    });
    // The scheduler's own map could not be told: no map found, and the walk says why.
    assert_eq!((walk.ops_map, walk.candidates, walk.matches, walk.unreadable), (None, 2, 0, 1), "{walk:?}");
    let e = walk.first_error.expect("the failed read");
    assert_eq!((e.field, e.kva), (scxray_core::Field::StructOpsPriv, priv_at));
    assert!(
        matches!(r.problems[..], [BpfProblem::Unreadable { pass: scxray_core::bpf::BpfPass::Sched, error }] if error == e),
        "{:?}",
        r.problems
    );
}

/// The kit's translator, with one page whose descriptor is bad (reserved bits set).
struct BadPage<'a> {
    inner: &'a LinearTranslator<'a>,
    page: VirtAddr,
}

impl scxray_core::Translate for BadPage<'_> {
    fn kind(&self, va: VirtAddr) -> scxray_core::AddressKind {
        self.inner.kind(va)
    }
    fn translate<M: scxray_core::PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<scxray_core::PhysAddr, scxray_core::TranslateError> {
        if va.0 & !0xfff == self.page.0 {
            return Err(scxray_core::TranslateError::BadDescriptor { va, level: 0, descriptor: 1 << 51 });
        }
        self.inner.translate(mem, va)
    }
}

#[test]
fn without_a_free_tree_an_untranslatable_arena_page_is_unknown_not_free() {
    // A kernel whose layout has no free-range tree: whether a page is allocated is whether
    // it translates.
    let (mut g, q) = qmap_machine();
    g.layout.bpf.arena.as_mut().unwrap().free = None;
    let (allocated, free) = (q.arena.page_uaddr(1), q.arena.page_uaddr(3));
    let states = g.with(|guest| {
        let tr = BadPage { inner: guest.translator, page: q.arena.kaddr(allocated) };
        let bad = Guest::new(guest.mem, &tr, guest.layout, guest.symbols).with_limits(guest.limits);
        let w = Walker::new(bad, q.symbols);
        let a = w.arena(q.arena.map).unwrap();
        (a.u64(allocated), a.u64(free))
    });
    // The bad descriptor says nothing of the page: unknown, not "not allocated".
    assert_eq!(states, (Err(ArenaError::Unknown { page: 1 }), Err(ArenaError::Unallocated { page: 3 })));
}
