//! Hostile BPF state, deterministically: loops in the ID tables, looping and foreign hash
//! chains, huge `max_entries`, BTF whose types loop, arena pointers to free pages, a FIFO
//! whose links loop, a looping storage list, a looping or disordered free-range tree. Every
//! walk ends, says what it met, and stays within the read bound of `scxray_core::limits`
//! (`BpfLimits`), checked with the kit's counting memory.

use scxray_btf::{Btf, BtfPlaceTypes};
use scxray_core::bpf::{
    Anomaly, ArenaError, ArenaList, BpfProblem, BpfVisitor, ContentsWalk, ElemKey, Ignore, MapHeader,
    MapType, Place, PlaceTypes, PlaceWalk, StorageLookup, Truncation, TypeRef, Waiting, Walker,
};
use scxray_core::bpf::{Elem, IdTable};
use scxray_core::{BpfLimits, Cap, CapBasis, Guest, Limit, LinearTranslator, ReadCost, VirtAddr, WalkCap};
use scxray_tests::bpf::{BpfBuilder, MapSpec, Qmap, kind, qmap_machine};
use scxray_tests::btf_blob::{ArenaProgram as P, Writer};
use scxray_tests::kernels::{debian_7_3_amd64, debian_7_3_amd64_bpf};
use scxray_tests::{GuestBuilder, KitAddr, KitMem, TestGuest};
use std::ops::ControlFlow;

const LINEAR: ReadCost = ReadCost::LINEAR;

type W<'a, 'g> = Walker<'a, KitMem<'g>, LinearTranslator<'g>>;

/// Runs `f` on a walker of `g` under `limits`; returns its result and the physical reads.
fn counted<R>(g: &TestGuest, q: &Qmap, limits: BpfLimits, f: impl FnOnce(&W<'_, '_>) -> R) -> (R, u64) {
    g.with(|guest: &Guest<'_, KitMem<'_>, LinearTranslator<'_>>| {
        let w = Walker::new(*guest, q.symbols).with_limits(limits);
        let before = guest.mem.reads.get();
        let r = f(&w);
        (r, guest.mem.reads.get() - before)
    })
}

fn map_named(q: &Qmap, n: &str) -> VirtAddr {
    q.maps.iter().find(|m| m.0 == n).unwrap().1
}

/// One map's contents under `limits`, checked against the contents bound.
fn contents(g: &TestGuest, q: &Qmap, map: VirtAddr, limits: BpfLimits) -> (ContentsWalk, Vec<ElemKey>) {
    #[derive(Default)]
    struct Keys(Vec<ElemKey>);
    impl BpfVisitor for Keys {
        fn elem(&mut self, _: &MapHeader, e: &Elem<'_>) -> ControlFlow<()> {
            self.0.push(e.key);
            ControlFlow::Continue(())
        }
    }
    let ((walk, keys), reads) = counted(g, q, limits, |w| {
        let h = w.read_map(map).unwrap();
        let mut keys = Keys::default();
        (w.walk_contents(&h, &mut keys), keys.0)
    });
    let bound = BpfLimits::map_header_reads(LINEAR) + limits.contents_reads(4, false, LINEAR);
    assert!(reads <= bound, "{walk:?}: {reads} reads, bound {bound}");
    (walk, keys)
}

/// A guest of Debian 7.3's layout with only the BPF objects `add` puts in it (its result
/// returned), and the kit scheduler's `Qmap` with those objects' symbols.
fn bpf_guest<R>(add: impl FnOnce(&mut GuestBuilder, &mut BpfBuilder) -> R) -> (TestGuest, Qmap, R) {
    let mut layout = debian_7_3_amd64();
    layout.bpf = debian_7_3_amd64_bpf();
    let mut b = GuestBuilder::new(layout, 2, 1);
    let mut k = BpfBuilder::new(&mut b, false);
    let r = add(&mut b, &mut k);
    let symbols = k.finish(&mut b);
    let (_, mut q) = qmap_machine();
    q.symbols = symbols;
    (b.build(), q, r)
}

/// A guest whose `map_idr` holds `n` ARRAY maps (ids 1..=n): a root of shift 6 over leaves
/// once `n` reaches 64.
fn many_maps(n: u32) -> (TestGuest, Qmap) {
    let (g, q, ()) = bpf_guest(|b, k| {
        for _ in 0..n {
            k.add_array(
                b,
                &MapSpec {
                    map_type: kind::ARRAY,
                    name: "a",
                    key_size: 4,
                    value_size: 8,
                    max_entries: 1,
                    ..MapSpec::default()
                },
            );
        }
    });
    (g, q)
}

/// The `map_idr` walk, checked against its bound.
fn map_table(g: &TestGuest, q: &Qmap, limits: BpfLimits) -> scxray_core::bpf::IdTableWalk {
    let (walk, reads) = counted(g, q, limits, |w| w.walk_id_table(IdTable::Map, &mut Ignore));
    let bound = limits.id_table_reads(BpfLimits::map_header_reads(LINEAR), LINEAR);
    assert!(reads <= bound, "{walk:?}: {reads} reads, bound {bound}");
    walk
}

#[test]
fn id_tables_with_loops_and_shared_nodes_end_within_their_bound() {
    let (mut g, q) = many_maps(100);
    let il = debian_7_3_amd64_bpf().idr.unwrap();
    let head = g.read_u64(q.symbols.map_idr.unwrap().at(il.head));
    let root = VirtAddr(head - 2);
    let slot = |node: VirtAddr, i: u64| node.at(il.node_slots).at(i * 8);
    let leaf0 = VirtAddr(g.read_u64(slot(root, 0)) - 2);
    let whole = map_table(&g, &q, BpfLimits::DEFAULT);
    assert_eq!((whole.entries, whole.nodes, whole.skipped_nodes, whole.truncated), (100, 3, 0, false));
    // A slot of the root pointing back at the root (a cycle), a leaf slot holding a node.
    g.write_u64(slot(root, 5), head);
    g.write_u64(slot(leaf0, 7), head);
    let w = map_table(&g, &q, BpfLimits::DEFAULT);
    // The root's extra visit is refused for its shift, the leaf's node skipped: id 7 lost.
    assert_eq!((w.entries, w.skipped_nodes, w.truncated), (99, 2, false));
    // Every root slot pointing at the first leaf: finite, but capped.
    for i in 2..64 {
        g.write_u64(slot(root, i), leaf0.0 + 2);
    }
    let limits = BpfLimits { idr_nodes: 10, ..BpfLimits::DEFAULT };
    let w = map_table(&g, &q, limits);
    assert!(w.truncated && w.nodes == 10 && w.cap == Some(Limit::BpfIdrNodes), "{w:?}");
    // The node cap fires with exactly as many entries as the entry cap allows: the walk says
    // which cap cut it (the count alone would name the entry cap).
    let at_nodes_cap = w.entries;
    let w = map_table(&g, &q, BpfLimits { ids: at_nodes_cap, ..limits });
    assert_eq!((w.entries, w.cap), (at_nodes_cap, Some(Limit::BpfIdrNodes)), "{w:?}");
    let limits = BpfLimits { ids: 50, ..BpfLimits::DEFAULT };
    let w = map_table(&g, &q, limits);
    assert!(w.truncated && w.entries == 50 && w.cap == Some(Limit::BpfIds), "{w:?}");
}

/// The two elements of `pid_slots`' bucket 5, head first.
fn bucket5(g: &TestGuest, q: &Qmap) -> Vec<VirtAddr> {
    let (_, keys) = contents(g, q, map_named(q, "pid_slots"), BpfLimits::DEFAULT);
    keys.iter()
        .map(|k| match k {
            ElemKey::Hash { elem, .. } => *elem,
            _ => panic!("{k:?}"),
        })
        .collect()
}

#[test]
fn hash_chains_that_loop_or_end_elsewhere_are_said() {
    let (mut g, q) = qmap_machine();
    let elems = bucket5(&g, &q);
    assert_eq!(elems.len(), 2);
    let next = debian_7_3_amd64_bpf().htab.unwrap().elem_next;
    let hash = map_named(&q, "pid_slots");
    // The second element back to the first: a loop, found long before the chain cap.
    g.write_u64(elems[1].at(next), elems[0].at(next).0);
    let (walk, keys) = contents(&g, &q, hash, BpfLimits::DEFAULT);
    assert!(walk.anomalies.contains(Anomaly::LOOP), "{walk:?}");
    assert!(keys.len() <= 4 && walk.truncated.is_empty(), "{walk:?} {keys:?}");
    // Under a chain cap smaller than the loop's detection: the cap says so.
    let (walk, keys) = contents(&g, &q, hash, BpfLimits { chain: 1, ..BpfLimits::DEFAULT });
    assert!(walk.truncated.contains(Truncation::CHAIN) && keys.len() == 1, "{walk:?}");
    // Ending in bucket 7's nulls marker: an element moved, or corruption.
    g.write_u64(elems[1].at(next), (7 << 1) | 1);
    let (walk, keys) = contents(&g, &q, hash, BpfLimits::DEFAULT);
    assert_eq!((walk.anomalies, keys.len()), (Anomaly::FOREIGN_NULLS, 2));
    // A NULL is no nulls list's end.
    g.write_u64(elems[1].at(next), 0);
    let (walk, _) = contents(&g, &q, hash, BpfLimits::DEFAULT);
    assert_eq!(walk.anomalies, Anomaly::FOREIGN_NULLS);
}

#[test]
fn huge_counts_are_capped_and_impossible_shapes_refused() {
    let (mut g, q) = qmap_machine();
    let ml = debian_7_3_amd64_bpf().map.unwrap();
    // The caps are sized from each map's own count, under a ceiling that holds whatever it says.
    let small = BpfLimits {
        elems: Cap::Kernel { floor: 16, ceiling: 64 },
        hash_buckets: Cap::Kernel { floor: 16, ceiling: 256 },
        storage_bucket_log: 4,
        ..BpfLimits::DEFAULT
    };
    // An array claiming 2^32 - 1 elements.
    let owners = map_named(&q, "owners");
    g.write(owners.at(ml.max_entries), &u32::MAX.to_le_bytes());
    let (walk, keys) = contents(&g, &q, owners, small);
    assert!(walk.truncated.contains(Truncation::ELEMS) && keys.len() == 64, "{walk:?}");
    assert_eq!(
        walk.elems_cap,
        WalkCap { limit: Limit::BpfElems, value: 64, basis: CapBasis::Ceiling { count: u32::MAX } }
    );
    // A per-CPU array likewise: its slots past the map are unreadable, each said. Each of its
    // elements is handed once per CPU (4 here): its elements are held to the ceiling / 4,
    // so the values handed stay within the ceiling.
    let stats = map_named(&q, "cpu_stats");
    g.write(stats.at(ml.max_entries), &u32::MAX.to_le_bytes());
    let (walk, _) = contents(&g, &q, stats, small);
    assert!(walk.truncated.contains(Truncation::ELEMS) && walk.elems == 16, "{walk:?}");
    assert_eq!(
        walk.elems_cap,
        WalkCap { limit: Limit::BpfElems, value: 16, basis: CapBasis::Ceiling { count: u32::MAX } }
    );
    // A hash claiming 2^31 buckets.
    let hash = map_named(&q, "pid_slots");
    let hl = debian_7_3_amd64_bpf().htab.unwrap();
    g.write(hash.at(hl.n_buckets), &(1u32 << 31).to_le_bytes());
    let (walk, _) = contents(&g, &q, hash, small);
    assert!(walk.truncated.contains(Truncation::BUCKETS), "{walk:?}");
    assert!(walk.anomalies.contains(Anomaly::BUCKET_COUNT), "{walk:?}");
    assert_eq!(
        walk.buckets_cap,
        WalkCap { limit: Limit::BpfHashBuckets, value: 256, basis: CapBasis::Ceiling { count: 1 << 31 } }
    );
    // Task storage with 2^40 buckets.
    let stor = map_named(&q, "task_ctx_stor");
    let ll = debian_7_3_amd64_bpf().local_storage.unwrap();
    g.write(stor.at(ll.map_bucket_log), &40u32.to_le_bytes());
    let (walk, _) = contents(&g, &q, stor, small);
    assert!(walk.truncated.contains(Truncation::BUCKETS), "{walk:?}");
    assert_eq!(walk.buckets_cap, WalkCap::fixed(Limit::BpfStorageBuckets, 16));
    // A queue whose size is not max_entries + 1, and one whose head is past it.
    let queue = map_named(&q, "pid_queue");
    let ql = debian_7_3_amd64_bpf().queue_stack.unwrap();
    g.write(queue.at(ql.size), &9u32.to_le_bytes());
    let (walk, keys) = contents(&g, &q, queue, small);
    assert_eq!((walk.anomalies, keys.len()), (Anomaly::BAD_INDICES, 0));
    g.write(queue.at(ql.size), &5u32.to_le_bytes());
    g.write(queue.at(ql.head), &u32::MAX.to_le_bytes());
    let (walk, _) = contents(&g, &q, queue, small);
    assert_eq!(walk.anomalies, Anomaly::BAD_INDICES);
    // An arena of 2^32 - 1 pages cannot be: its pages are not read.
    let arena = q.arena.map;
    g.write(arena.at(ml.max_entries), &u32::MAX.to_le_bytes());
    let (walk, keys) = contents(&g, &q, arena, small);
    assert_eq!((walk.anomalies, walk.elems, keys.len()), (Anomaly::BAD_GEOMETRY, 0, 0));
}

#[test]
fn free_range_trees_that_loop_or_are_out_of_order_are_said() {
    let (mut g, q) = qmap_machine();
    let fl = debian_7_3_amd64_bpf().arena.unwrap().free.unwrap();
    let root = VirtAddr(g.read_u64(q.arena.map.at(fl.root)));
    // Two ranges: [2, 4] and [6, 14]; the root is the second, [2, 4] its left child.
    let left = VirtAddr(g.read_u64(root.at(fl.rb_left)));
    assert_ne!(left.0, 0);
    // The left child's left pointing at the root: descent without end, cut at the depth cap.
    g.write_u64(left.at(fl.rb_left), root.0);
    let (walk, _) = contents(&g, &q, q.arena.map, BpfLimits::DEFAULT);
    assert!(walk.truncated.contains(Truncation::FREE_RANGES), "{walk:?}");
    let (walk, _) = contents(&g, &q, q.arena.map, BpfLimits { free_ranges: 5, ..BpfLimits::DEFAULT });
    assert!(walk.truncated.contains(Truncation::FREE_RANGES), "{walk:?}");
    // Back to a tree, its ranges swapped: out of order.
    g.write_u64(left.at(fl.rb_left), 0);
    let range = |rb: VirtAddr| rb.at(0u64).0 - u64::from(fl.rb_node);
    let (l, r) = (VirtAddr(range(left)), VirtAddr(range(root)));
    g.write(l.at(fl.start), &6u32.to_le_bytes());
    g.write(l.at(fl.last), &14u32.to_le_bytes());
    g.write(r.at(fl.start), &2u32.to_le_bytes());
    g.write(r.at(fl.last), &4u32.to_le_bytes());
    let (walk, _) = contents(&g, &q, q.arena.map, BpfLimits::DEFAULT);
    assert!(walk.anomalies.contains(Anomaly::UNORDERED_RANGES), "{walk:?}");
    // A tree saying pages 3 and 4 are not free, though the kernel never mapped them: they are
    // what `bpf_arena_reserve_pages` leaves (scx_lavd reserves the arena's first pages so),
    // absent like free pages: neither read as zeros nor taken for unreadable pages.
    g.write(l.at(fl.start), &2u32.to_le_bytes());
    g.write(l.at(fl.last), &2u32.to_le_bytes());
    g.write(r.at(fl.start), &6u32.to_le_bytes());
    g.write(r.at(fl.last), &14u32.to_le_bytes());
    let (walk, keys) = contents(&g, &q, q.arena.map, BpfLimits::DEFAULT);
    assert_eq!(
        (walk.elems, walk.values, walk.free_pages, walk.reserved_pages, walk.broken, keys.len()),
        (4, 4, 10, 2, 0, 0),
        "{walk:?}"
    );
    assert!(walk.truncated.is_empty() && walk.anomalies.is_empty() && walk.first_error.is_none(), "{walk:?}");
    // The kernel counting another number of allocated pages than are mapped (here 5: a page
    // mapped though not allocated, or a dump racing an allocation) is said.
    let nr_pages = debian_7_3_amd64_bpf().arena.unwrap().nr_pages.unwrap();
    g.write_u64(q.arena.map.at(nr_pages), 5);
    let (walk, _) = contents(&g, &q, q.arena.map, BpfLimits::DEFAULT);
    assert_eq!((walk.elems, walk.anomalies), (4, Anomaly::PAGE_COUNT), "{walk:?}");
    g.write_u64(q.arena.map.at(nr_pages), 4);
    // The translations spent finding them are capped: pages 0 and 1, then reserved page 3,
    // and page 4 finds the cap.
    let (walk, _) = contents(&g, &q, q.arena.map, BpfLimits { arena_probes: 3, ..BpfLimits::DEFAULT });
    assert_eq!((walk.elems, walk.reserved_pages, walk.truncated), (2, 1, Truncation::PROBES), "{walk:?}");
}

/// The placement on `g` with the kit program's BTF, checked against its bound.
fn place(g: &TestGuest, q: &Qmap, limits: BpfLimits) -> (Vec<Waiting>, Vec<ArenaList>, PlaceWalk) {
    #[derive(Default)]
    struct Lists(Vec<ArenaList>, Vec<BpfProblem>);
    impl BpfVisitor for Lists {
        fn arena_list(&mut self, l: &ArenaList) {
            self.0.push(*l);
        }
        fn problem(&mut self, p: &BpfProblem) {
            self.1.push(*p);
        }
    }
    let btf = Btf::parse(&q.prog.blob).unwrap();
    let objects = [(q.btf, &btf)];
    let mut types = BtfPlaceTypes::new(&objects, &[]);
    let mut maps = [VirtAddr(0); 16];
    let n = counted(g, q, limits, |w| w.walk_sched(q.sched, q.sched, &mut maps, &mut Ignore)).0;
    let mut tasks: Vec<Waiting> = q.waiting().into_iter().map(|(t, p)| Waiting::new(t, p)).collect();
    let ((lists, walk), reads) = counted(g, q, limits, |w| {
        let mut lists = Lists::default();
        let walk = w.place_tasks(&maps[..n.maps as usize], n.arena, &mut types, &mut tasks, &mut lists);
        (lists, walk)
    });
    let bound = limits.place_reads(u64::from(n.maps), tasks.len() as u64, 4, false, LINEAR);
    assert!(reads <= bound, "{walk:?}: {reads} reads, bound {bound}");
    (tasks, lists.0, walk)
}

fn find(tasks: &[Waiting], task: VirtAddr) -> &Waiting {
    tasks.iter().find(|w| w.task == task).unwrap()
}

#[test]
fn a_fifo_whose_links_loop_ends_and_says_so() {
    let (mut g, q) = qmap_machine();
    let (a, c) = (q.fifos[0][0].2, q.fifos[0][2].2);
    // The tail's q_next back to the head.
    g.write_u64(q.arena.kaddr(c + u64::from(P::Q_NEXT)), a);
    for limits in [BpfLimits::DEFAULT, BpfLimits { links: 3, arena_reads: 200, ..BpfLimits::DEFAULT }] {
        let (tasks, lists, walk) = place(&g, &q, limits);
        let fifo0 = lists.iter().find(|l| l.parent == u64::from(P::QA_FIFOS));
        if limits == BpfLimits::DEFAULT {
            let l = fifo0.unwrap();
            assert!(l.looped && !l.agree && l.length <= 3 + 6, "{l:?}");
            // Its tasks are still on it: the head and tail anchors reach all three.
            for &(t, ..) in &q.fifos[0] {
                assert!(
                    matches!(find(&tasks, t).place, Some(Place::Arena { parent, .. }) if parent == u64::from(P::QA_FIFOS))
                );
            }
            // The other lists are unharmed.
            assert_eq!(lists.iter().filter(|l| l.agree).count(), 4);
        } else {
            assert!(walk.truncated, "{walk:?}");
        }
    }
}

#[test]
fn arena_pointers_to_free_pages_are_refused() {
    let (mut g, q) = qmap_machine();
    let free_page = q.arena.page_uaddr(3);
    // FIFO 1's head anchor points into a free page; FIFO 0's middle task's storage too.
    let fifo1 = q.qa + u64::from(P::QA_FIFOS) + u64::from(P::FIFO_SIZE);
    g.write_u64(q.arena.kaddr(fifo1), free_page);
    let (task, ..) = q.fifos[0][1];
    let ll = debian_7_3_amd64_bpf().local_storage.unwrap();
    let storage = VirtAddr(g.read_u64(task.at(ll.task_storage.unwrap())));
    let selem = VirtAddr(g.read_u64(storage.at(ll.storage_first)) - u64::from(ll.elem_snode));
    g.write_u64(selem.at(ll.elem_data), free_page + 64);
    let (tasks, lists, walk) = place(&g, &q, BpfLimits::DEFAULT);
    // FIFO 1's one task is still reached from its tail; its list's head cannot be read.
    let l1 = lists.iter().find(|l| l.parent == fifo1 - q.qa).unwrap();
    assert_eq!((l1.agree, l1.error), (false, Some(ArenaError::Unallocated { page: 3 })));
    assert!(find(&tasks, q.fifos[1][0].0).place.is_some());
    // The task whose storage points at a free page has that object and no place.
    let w = find(&tasks, task);
    assert_eq!((w.object.map(|o| o.uaddr), w.place), (Some(free_page + 64), None));
    assert!(walk.errors > 0, "{walk:?}");
}

#[test]
fn two_parents_with_as_many_anchors_are_ambiguous() {
    let (mut g, q) = qmap_machine();
    // Empty FIFO 2 made to point at FIFO 0's head and tail.
    let fifo = |f: u64| q.qa + u64::from(P::QA_FIFOS) + f * u64::from(P::FIFO_SIZE);
    g.write_u64(q.arena.kaddr(fifo(2)), q.fifos[0][0].2);
    g.write_u64(q.arena.kaddr(fifo(2) + 8), q.fifos[0][2].2);
    let (tasks, _, walk) = place(&g, &q, BpfLimits::DEFAULT);
    for &(t, ..) in &q.fifos[0] {
        let w = find(&tasks, t);
        assert!(w.ambiguous && w.claims == 2, "{w:?}");
    }
    assert_eq!(walk.ambiguous, 3);
}

#[test]
fn a_task_storage_list_that_loops_is_cut_not_absent() {
    let (mut g, q) = qmap_machine();
    let (task, ..) = q.fifos[3][0];
    let ll = debian_7_3_amd64_bpf().local_storage.unwrap();
    let storage = VirtAddr(g.read_u64(task.at(ll.task_storage.unwrap())));
    let first = VirtAddr(g.read_u64(storage.at(ll.storage_first)));
    g.write_u64(first, first.0);
    let (found, reads) =
        counted(&g, &q, BpfLimits::DEFAULT, |w| w.task_storage(task, q.unrelated_map).unwrap());
    assert_eq!(found, StorageLookup::Cut { looped: true });
    assert!(reads <= BpfLimits::DEFAULT.task_storage_reads(LINEAR));
    // With its one element another map's, the placement's lookup in the scheduler's storage
    // loops too: counted (no cap cut it: none would help), the task left unplaced.
    let selem = VirtAddr(first.0 - u64::from(ll.elem_snode));
    let smap = selem.at(ll.elem_smap);
    let own = g.read_u64(smap);
    g.write_u64(smap, q.unrelated_map.0);
    let (tasks, _, walk) = place(&g, &q, BpfLimits::DEFAULT);
    assert_eq!((walk.storage_loops, walk.truncated, walk.cap), (1, false, None), "{walk:?}");
    assert_eq!(find(&tasks, task).place, None);
    g.write_u64(smap, own);
    let small = BpfLimits { owner_storages: 1, ..BpfLimits::DEFAULT };
    g.write_u64(first, 0);
    let (found, _) = counted(&g, &q, small, |w| w.task_storage(q.fifos[3][1].0, q.unrelated_map).unwrap());
    assert_eq!(found, StorageLookup::Absent);
}

#[test]
fn btf_whose_types_loop_gives_bounded_answers() {
    // struct a { struct b b; struct a *next; }, struct b { struct a a; }: a struct that
    // contains itself; typedefs t1 -> t2 -> t1; the arena globals a var of `struct a` and
    // one of `t1`.
    let mut w = Writer::new();
    let int = w.int("int", 4, true);
    let n = w.next_id();
    let a_ptr = w.ptr(n + 1);
    let a = w.struct_("a", 16, &[("b", n + 2, 0), ("next", a_ptr, 8), ("pid", int, 0)]);
    let b = w.struct_("b", 16, &[("a", a, 0)]);
    assert_eq!((a, b), (n + 1, n + 2));
    let t1 = w.typedef("t1", n + 4);
    let t2 = w.typedef("t2", t1);
    assert_eq!(t2, n + 4);
    let va = w.var("g", a);
    let vt = w.var("h", t1);
    let sec = w.datasec(".addr_space.1", 32, &[(va, 0, 16), (vt, 16, 16)]);
    let blob = w.build();
    let btf = Btf::parse(&blob).unwrap();
    let at = VirtAddr(0xffff_8880_0000_1000);
    let objects = [(at, &btf)];
    let mut types = BtfPlaceTypes::new(&objects, &[]);
    let map = |map_type: MapType, value_type: u32| MapHeader {
        kva: VirtAddr(0),
        id: 1,
        name: Default::default(),
        map_type,
        key_size: 4,
        value_size: 16,
        max_entries: 1,
        flags: 0,
        map_extra: None,
        btf: at,
        btf_key_type_id: 0,
        btf_value_type_id: value_type,
        btf_vmlinux_value_type_id: None,
    };
    let mut fields = scxray_core::heapless::Vec::new();
    types.task_fields(&map(MapType::HASH, a), &mut fields).unwrap();
    // The pid at offset 0 of `a`, of its `b.a`, ... down to the depth cap: bounded.
    assert!(!fields.is_empty() && fields.len() <= 8, "{fields:?}");
    assert!(types.task_fields(&map(MapType::HASH, t1), &mut scxray_core::heapless::Vec::new()).is_err());
    let mut anchors = scxray_core::bpf::Anchors::default();
    types.anchors(TypeRef { btf: at, id: a }, &mut anchors).unwrap();
    // `h`'s typedefs loop: not searched, and said.
    assert!(anchors.truncated && anchors.list.len() <= 64 && anchors.globals_size == 32, "{anchors:?}");
    assert!(anchors.list.iter().any(|x| x.offset == 8), "{anchors:?}");
    let _ = sec;
    let mut links = scxray_core::heapless::Vec::new();
    types.links(TypeRef { btf: at, id: a }, &mut links).unwrap();
    assert_eq!(&links[..], &[8]);
}

#[test]
fn a_map_whose_own_id_is_not_its_index_is_counted() {
    let (mut g, q) = qmap_machine();
    let clean = map_table(&g, &q, BpfLimits::DEFAULT);
    assert_eq!((clean.id_mismatch, clean.unreadable), (0, 0), "{clean:?}");
    // One map's own id rewritten: a stale or foreign entry in its slot.
    let id_at = map_named(&q, "task_ctx_stor").at(u64::from(debian_7_3_amd64_bpf().map.unwrap().id));
    let word = g.read_u64(id_at);
    g.write_u64(id_at, (word & !0xffff_ffff) | 0x7fff_0000);
    let w = map_table(&g, &q, BpfLimits::DEFAULT);
    // Still walked and handed on, and counted: the report writes it as `id_mismatch`.
    assert_eq!((w.entries, w.id_mismatch, w.unreadable, w.truncated), (clean.entries, 1, 0, false), "{w:?}");
}

#[test]
fn a_fifo_whose_anchors_point_outside_the_arena_is_not_an_empty_list() {
    let (mut g, q) = qmap_machine();
    // FIFO 1 (one task) with both its head and tail pointing outside the arena.
    let fifo1 = q.qa + u64::from(P::QA_FIFOS) + u64::from(P::FIFO_SIZE);
    let outside = 0x1000u64;
    assert!(q.arena.page_uaddr(0) > outside);
    g.write_u64(q.arena.kaddr(fifo1), outside);
    g.write_u64(q.arena.kaddr(fifo1 + 8), outside);
    let (tasks, lists, _) = place(&g, &q, BpfLimits::DEFAULT);
    let l1 = lists.iter().find(|l| l.parent == fifo1 - q.qa).unwrap();
    // Not "0 objects, links agree": the anchors are not the kernel's.
    assert_eq!(
        (l1.length, l1.agree, l1.error, l1.truncated),
        (0, false, Some(ArenaError::Outside { uaddr: outside }), false),
        "{l1:?}"
    );
    // Its task is reached from nowhere; the other FIFOs are unharmed.
    assert_eq!(find(&tasks, q.fifos[1][0].0).place, None);
    assert_eq!(lists.iter().filter(|l| l.agree).count(), 4);
    // NULL anchors are an empty list that agrees.
    g.write_u64(q.arena.kaddr(fifo1), 0);
    g.write_u64(q.arena.kaddr(fifo1 + 8), 0);
    let (_, lists, _) = place(&g, &q, BpfLimits::DEFAULT);
    let l1 = lists.iter().find(|l| l.parent == fifo1 - q.qa).unwrap();
    assert_eq!((l1.length, l1.agree, l1.error), (0, true, None), "{l1:?}");
}

/// A guest whose only map is an ARRAY of `n` elements (the map returned).
fn one_big_array(n: u32) -> (TestGuest, Qmap, VirtAddr) {
    bpf_guest(|b, k| {
        let spec = MapSpec {
            map_type: kind::ARRAY,
            name: "per_task",
            key_size: 4,
            value_size: 8,
            max_entries: n,
            ..MapSpec::default()
        };
        let map = k.add_array(b, &spec);
        for i in 0..n {
            b.write_u64(BpfBuilder::array_elem(b, map, 8, i), u64::from(i) * 3);
        }
        map
    })
}

#[test]
fn a_map_past_the_default_floor_is_walked_whole() {
    // A big machine's per-task map holds more elements than the old fixed cap (4096): its
    // cap is sized from the map's own max_entries, so it is walked whole by default.
    let (g, q, map) = one_big_array(6000);
    let (walk, keys) = contents(&g, &q, map, BpfLimits::DEFAULT);
    assert_eq!((walk.elems, walk.truncated, keys.len()), (6000, Truncation::empty(), 6000));
    assert_eq!(keys.last(), Some(&ElemKey::Index(5999)));
    assert_eq!(
        walk.elems_cap,
        WalkCap { limit: Limit::BpfElems, value: 6000, basis: CapBasis::Count { count: 6000 } }
    );
    // A hash map's cap is its max_entries plus one per CPU (an insertion racing the check).
    let (g, q) = qmap_machine();
    let hash = map_named(&q, "pid_slots");
    let max_entries = g.read_u64(hash.at(debian_7_3_amd64_bpf().map.unwrap().max_entries)) as u32;
    let sized = BpfLimits { elems: Cap::Kernel { floor: 1, ceiling: 1000 }, ..BpfLimits::DEFAULT };
    let (walk, _) = contents(&g, &q, hash, sized);
    assert_eq!(
        walk.elems_cap,
        WalkCap {
            limit: Limit::BpfElems,
            value: max_entries + 4,
            basis: CapBasis::Count { count: max_entries }
        }
    );
    // A small one still gets the floor.
    let (g, q, map) = one_big_array(3);
    let (walk, _) = contents(&g, &q, map, BpfLimits::DEFAULT);
    assert_eq!(
        (walk.elems, walk.elems_cap),
        (3, WalkCap { limit: Limit::BpfElems, value: 4096, basis: CapBasis::Floor { count: 3 } })
    );
}

#[test]
fn a_task_storage_the_kernel_does_not_count_gets_the_ceiling_not_the_floor() {
    let (g, q) = qmap_machine();
    let stor = map_named(&q, "task_ctx_stor");
    // 12 elements: past a floor of 4, under a ceiling of 100.
    let limits = BpfLimits { elems: Cap::Kernel { floor: 4, ceiling: 100 }, ..BpfLimits::DEFAULT };
    let (walk, keys) = contents(&g, &q, stor, limits);
    assert_eq!((walk.elems, walk.truncated, keys.len()), (12, Truncation::empty(), 12));
    assert_eq!(walk.elems_cap, WalkCap { limit: Limit::BpfElems, value: 100, basis: CapBasis::NoCount });
    // Its buckets are as many as the CPUs, whatever the elements: one chain may hold them all,
    // so the hash maps' chain cap does not apply (the elements' cap bounds the pass).
    let one = BpfLimits { chain: 1, ..limits };
    let (walk, keys) = contents(&g, &q, stor, one);
    assert_eq!((walk.elems, walk.truncated, keys.len()), (12, Truncation::empty(), 12));
    // Under a ceiling of 8 it is cut there, and says by what.
    let limits = BpfLimits { elems: Cap::Kernel { floor: 4, ceiling: 8 }, ..BpfLimits::DEFAULT };
    let (walk, keys) = contents(&g, &q, stor, limits);
    assert_eq!((walk.elems, walk.truncated.contains(Truncation::ELEMS), keys.len()), (8, true, 8));
    assert_eq!(walk.elems_cap, WalkCap { limit: Limit::BpfElems, value: 8, basis: CapBasis::NoCount });
}

#[test]
fn a_local_storage_whose_buckets_all_lead_to_another_maps_chain_stays_in_its_bound() {
    // Every bucket of map `a` leads to one chain of 64 elements of map `other`: none is a's,
    // so none counts as an element, but each node visited costs reads. Every node counts
    // against the elements' cap, so the pass ends within the contents bound.
    let ll = debian_7_3_amd64_bpf().local_storage.unwrap();
    let (g, q, a) = bpf_guest(|b, k| {
        let spec = MapSpec {
            map_type: kind::TASK_STORAGE,
            name: "a",
            key_size: 4,
            value_size: 8,
            max_entries: 0,
            ..MapSpec::default()
        };
        let a = k.add_task_storage(b, &spec, 2);
        let other = k.add_task_storage(b, &MapSpec { name: "other", ..spec }, 0);
        let task = b.alloc(16384, 64);
        for _ in 0..64 {
            BpfBuilder::task_storage_insert(b, other, 0, task, &[0; 8]);
        }
        let first = b.read_u64(VirtAddr(b.read_u64(other.at(ll.map_buckets))).at(u64::from(ll.bucket_first)));
        let buckets = VirtAddr(b.read_u64(a.at(ll.map_buckets)));
        for i in 0..4u64 {
            b.write_u64(buckets.at(i * u64::from(ll.bucket_size) + u64::from(ll.bucket_first)), first);
        }
        a
    });
    let limits = BpfLimits {
        elems: Cap::Kernel { floor: 4, ceiling: 64 },
        storage_bucket_log: 2,
        hash_buckets: Cap::Fixed(16),
        free_ranges: 1,
        arena_probes: 1,
        ..BpfLimits::DEFAULT
    };
    let (walk, keys) = contents(&g, &q, a, limits);
    assert!(keys.is_empty(), "{keys:?}");
    assert_eq!((walk.elems, walk.truncated, walk.anomalies), (0, Truncation::ELEMS, Anomaly::FOREIGN_ELEM));
}
