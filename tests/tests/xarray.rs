//! The xarray walk behind the BPF ID tables (`prog_idr`, `map_idr`): trees shaped as the
//! kernel builds them for ids from 1, and hostile ones (cycles, a node shared by every slot,
//! a node in a leaf, unreadable nodes), over an in-memory node store.

use std::collections::HashMap;

use proptest::prelude::*;
use scxray_core::VirtAddr;
use scxray_core::bpf::xarray::{XaCap, XaEntry, XaEvent, XaLimits, XaNodes, XaSummary, walk_xarray};

/// Nodes by address: (shift, slots). A missing node or slot is unreadable.
#[derive(Default)]
struct Store {
    nodes: HashMap<u64, (u8, Vec<u64>)>,
}

impl XaNodes for Store {
    type Error = &'static str;

    fn shift(&mut self, node: VirtAddr) -> Result<u8, Self::Error> {
        self.nodes.get(&node.0).map(|n| n.0).ok_or("no node")
    }

    fn slot(&mut self, node: VirtAddr, slot: u32) -> Result<u64, Self::Error> {
        self.nodes.get(&node.0).and_then(|n| n.1.get(slot as usize).copied()).ok_or("no slot")
    }
}

const LIMITS: XaLimits = XaLimits { slots: 64, max_nodes: 1024, max_entries: 100_000 };

/// The internal entry naming the node at `addr`.
fn node_entry(addr: u64) -> u64 {
    addr + 2
}

/// An object's address for id `id`.
fn object(id: u64) -> u64 {
    0xffff_8880_0100_0000 + id * 0x400
}

/// The tree the kernel builds for ids `1..=n` (n < 4096): a root of shift 6 over leaves.
fn idr_tree(n: u64) -> (Store, u64) {
    let mut store = Store::default();
    let root = 0xffff_8880_2000_0000u64;
    let mut root_slots = vec![0u64; 64];
    for leaf in 0..=(n / 64) {
        let addr = root + 0x1000 * (leaf + 1);
        let slots = (0..64)
            .map(|i| leaf * 64 + i)
            .map(|id| if id >= 1 && id <= n { object(id) } else { 0 })
            .collect();
        store.nodes.insert(addr, (0, slots));
        root_slots[leaf as usize] = node_entry(addr);
    }
    store.nodes.insert(root, (6, root_slots));
    (store, node_entry(root))
}

fn walk(store: &mut Store, head: u64, limits: &XaLimits) -> (Vec<XaEvent<&'static str>>, XaSummary) {
    let mut events = Vec::new();
    let sum = walk_xarray(head, limits, store, |e| {
        events.push(e);
        true
    });
    (events, sum)
}

#[test]
fn entries_are_classified_by_the_xarray_encoding() {
    assert_eq!(XaEntry::classify(0), XaEntry::Empty);
    assert_eq!(XaEntry::classify(0xffff_8880_0000_1002), XaEntry::Node(VirtAddr(0xffff_8880_0000_1000)));
    assert_eq!(XaEntry::classify(0xffff_8880_0000_1000), XaEntry::Value(VirtAddr(0xffff_8880_0000_1000)));
    // Retry (256) and zero (257) entries, a sibling, a tagged value: skipped.
    for raw in [(256 << 2) | 2, (257 << 2) | 2, (3 << 2) | 2, 0x1235] {
        assert_eq!(XaEntry::classify(raw), XaEntry::Other(raw));
    }
}

#[test]
fn an_idr_of_200_ids_walks_in_id_order() {
    let (mut store, head) = idr_tree(200);
    let (events, sum) = walk(&mut store, head, &LIMITS);
    let got: Vec<(u64, u64)> = events
        .iter()
        .map(|e| match e {
            XaEvent::Entry { index, entry } => (*index, entry.0),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let want: Vec<(u64, u64)> = (1..=200).map(|id| (id, object(id))).collect();
    assert_eq!(got, want);
    assert_eq!(
        sum,
        XaSummary { entries: 200, nodes: 5, truncated: false, cap: None, skipped: 0, stopped: false }
    );
}

#[test]
fn a_head_entry_is_index_zero_and_an_empty_head_is_nothing() {
    let mut store = Store::default();
    let (events, sum) = walk(&mut store, object(0), &LIMITS);
    assert_eq!(events, vec![XaEvent::Entry { index: 0, entry: VirtAddr(object(0)) }]);
    assert_eq!(sum.entries, 1);
    let (events, sum) = walk(&mut store, 0, &LIMITS);
    assert!(events.is_empty());
    assert_eq!(sum, XaSummary::default());
}

#[test]
fn a_cycle_back_to_the_root_is_a_bad_shift_and_is_skipped() {
    let (mut store, head) = idr_tree(10);
    let root = head - 2;
    // The root's second slot points back at the root (shift 6, where 0 is due).
    store.nodes.get_mut(&root).unwrap().1[1] = head;
    let (events, sum) = walk(&mut store, head, &LIMITS);
    assert_eq!(sum.entries, 10);
    assert_eq!(sum.skipped, 1);
    assert!(events.contains(&XaEvent::BadShift { node: VirtAddr(root), shift: 6, expected: Some(0) }));
}

#[test]
fn a_node_shared_by_every_slot_stops_at_the_node_cap() {
    // Four levels whose every slot points at the one node below: 64^3 leaf visits uncapped.
    let mut store = Store::default();
    let mut below = 0u64;
    for (level, shift) in [0u8, 6, 12, 18].into_iter().enumerate() {
        let addr = 0xffff_8880_3000_0000 + 0x1000 * level as u64;
        let slots =
            if shift == 0 { (0..64).map(|i| object(i + 1)).collect() } else { vec![node_entry(below); 64] };
        store.nodes.insert(addr, (shift, slots));
        below = addr;
    }
    let limits = XaLimits { max_nodes: 100, ..LIMITS };
    let (_, sum) = walk(&mut store, node_entry(below), &limits);
    assert!(sum.truncated);
    assert_eq!((sum.nodes, sum.cap), (100, Some(XaCap::Nodes)));
    // And the entry cap, on the same tree.
    let limits = XaLimits { max_entries: 1000, max_nodes: u32::MAX, ..LIMITS };
    let (events, sum) = walk(&mut store, node_entry(below), &limits);
    assert!(sum.truncated);
    assert_eq!((sum.entries, events.len(), sum.cap), (1000, 1000, Some(XaCap::Entries)));
}

#[test]
fn unreadable_nodes_and_nodes_in_leaves_are_reported_and_skipped() {
    let (mut store, head) = idr_tree(130);
    let root = head - 2;
    let leaf1 = root + 0x2000;
    // Leaf 1 (ids 64..127) unreadable; leaf 2 holds a node pointer in its slot 5.
    store.nodes.remove(&leaf1);
    store.nodes.get_mut(&(root + 0x3000)).unwrap().1[5] = head;
    let (events, sum) = walk(&mut store, head, &LIMITS);
    assert!(events.contains(&XaEvent::Unreadable { node: VirtAddr(leaf1), slot: None, error: "no node" }));
    assert!(events.contains(&XaEvent::NodeInLeaf { node: VirtAddr(root + 0x3000), slot: 5 }));
    // ids 1..=63 and 128..=130 (slot 5 of leaf 2, id 133, was empty before).
    assert_eq!(sum.entries, 63 + 3);
    assert_eq!(sum.skipped, 2);
}

#[test]
fn the_callback_stops_the_walk_and_a_bad_geometry_walks_nothing() {
    let (mut store, head) = idr_tree(50);
    let mut seen = 0;
    let sum = walk_xarray(head, &LIMITS, &mut store, |_| {
        seen += 1;
        seen < 3
    });
    assert!(sum.stopped);
    assert_eq!(sum.entries, 3);
    for slots in [0, 3, 48, 128] {
        let (events, sum) = walk(&mut store, head, &XaLimits { slots, ..LIMITS });
        assert!(events.is_empty() && sum.truncated, "{slots} slots");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Any node store, any head: the walk ends within its caps and never panics.
    #[test]
    fn random_trees_end_within_the_caps(
        nodes in proptest::collection::vec((0u64..8, any::<u8>(), proptest::collection::vec(0u64..24, 16)), 0..8),
        head in 0u64..24,
    ) {
        // Addresses 0x1000 * k; slot values name nodes (k * 0x1000 + 2), objects, or junk.
        let decode = |v: u64| match v % 4 {
            0 => 0,
            1 => (v / 4 % 8) * 0x1000 + 0x1000 + 2,
            2 => 0xffff_8880_0000_0000 + v * 8,
            _ => (v << 2) | 2,
        };
        let mut store = Store::default();
        for (k, shift, slots) in &nodes {
            store.nodes.insert(k * 0x1000 + 0x1000, (*shift % 16, slots.iter().map(|&v| decode(v)).collect()));
        }
        let limits = XaLimits { slots: 16, max_nodes: 64, max_entries: 256 };
        let (events, sum) = walk(&mut store, decode(head), &limits);
        prop_assert!(sum.nodes <= 64 && sum.entries <= 256);
        let entries = events.iter().filter(|e| matches!(e, XaEvent::Entry { .. })).count();
        prop_assert_eq!(entries as u32, sum.entries);
    }
}
