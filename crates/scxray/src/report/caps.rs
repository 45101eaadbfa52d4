//! The caps that fired: which walk each cut, at what value, how that value was set, and the
//! flag that raises it. The report states them first (text) and in `problems` (JSON): a
//! report cut short must say so before anything else in it.

use super::schema::{CapFired, hex};
use crate::walk::Walks;
use crate::walk::bpf::{BpfReads, MapRead, SCHED_MAPS, SchedBpf};
use scxray_core::bpf::{ContentsWalk, IdTableWalk};
use scxray_core::{BpfLimits, CapBasis, HashTruncation, HashWalk, Limit, ListWalk, VirtAddr, WalkCap};

/// The `scxray dump` flag that fixes `limit`, when one does.
fn flag(limit: Limit) -> Option<&'static str> {
    match limit {
        Limit::ListNodes => Some("--max-list-nodes"),
        Limit::RhtNodes => Some("--max-rht-nodes"),
        Limit::RhtBuckets => Some("--max-buckets"),
        Limit::BucketChain => Some("--max-chain"),
        Limit::SubScheds => Some("--max-sub-scheds"),
        Limit::SchedDepth
        | Limit::BpfIds
        | Limit::BpfIdrNodes
        | Limit::BpfSchedProgs
        | Limit::BpfUsedMaps
        | Limit::BpfElems
        | Limit::BpfHashBuckets
        | Limit::BpfStorageBuckets
        | Limit::BpfChain
        | Limit::BpfFreeRanges
        | Limit::BpfLinks
        | Limit::BpfArenaReads
        | Limit::BpfArenaProbes
        | Limit::BpfOwnerStorages
        | Limit::PlaceObjectTypes
        | Limit::PlaceAnchors => None,
    }
}

/// Whether `limit` is one of [`BpfLimits`]'.
fn is_bpf(limit: Limit) -> bool {
    !matches!(
        limit,
        Limit::ListNodes
            | Limit::RhtNodes
            | Limit::RhtBuckets
            | Limit::BucketChain
            | Limit::SubScheds
            | Limit::SchedDepth
    )
}

fn unit(limit: Limit) -> &'static str {
    match limit {
        Limit::ListNodes => "nodes",
        Limit::RhtNodes => "user DSQs",
        Limit::RhtBuckets => "buckets",
        Limit::BucketChain => "nodes on one bucket chain",
        Limit::SubScheds => "sub-schedulers",
        Limit::SchedDepth => "levels",
        Limit::BpfIds => "ids",
        Limit::BpfIdrNodes => "xarray nodes",
        Limit::BpfSchedProgs => "programs",
        Limit::BpfUsedMaps => "maps",
        Limit::BpfElems => "elements",
        Limit::BpfHashBuckets | Limit::BpfStorageBuckets => "buckets",
        Limit::BpfChain => "nodes on one bucket chain",
        Limit::BpfFreeRanges => "free ranges",
        Limit::BpfLinks => "links",
        Limit::BpfArenaReads => "arena reads",
        Limit::BpfArenaProbes => "arena page probes",
        Limit::BpfOwnerStorages => "storages on one task's list",
        Limit::PlaceObjectTypes => "arena object types",
        Limit::PlaceAnchors => "anchors of one object type",
    }
}

/// How the cap got its value, in words.
fn basis(b: CapBasis) -> String {
    match b {
        CapBasis::Fixed => "a fixed cap".into(),
        CapBasis::Floor { count } => format!("the floor; the kernel counts {count}"),
        CapBasis::Count { count } => format!("sized from the kernel's count, {count}"),
        // The count may be under the ceiling and its margin (or a per-CPU map's copies) past it.
        CapBasis::Ceiling { count } => {
            format!("the ceiling; the kernel's count, {count}, with its margin or per-CPU copies, is past it")
        }
        CapBasis::NoCount => "the ceiling; no kernel count to size it".into(),
        CapBasis::Budget => "what the machine-wide budget of list nodes had left".into(),
    }
}

impl CapFired {
    fn new(walk: String, cap: WalkCap) -> Self {
        Self {
            walk,
            flag: flag(cap.limit).map(str::to_owned),
            value: cap.value,
            basis: basis(cap.basis),
            limit: cap.limit,
        }
    }

    /// One line: what stopped where, and how to walk past it.
    pub fn describe(&self) -> String {
        let raise = match &self.flag {
            Some(f) => format!("raise it with {f} N"),
            None if is_bpf(self.limit) => "a cap of the BPF walks, no flag raises it".into(),
            None => "the kernel's own maximum, no flag raises it".into(),
        };
        format!("{} cut at {} {} ({}); {raise}", self.walk, self.value, unit(self.limit), self.basis)
    }
}

fn list(out: &mut Vec<CapFired>, walk: impl FnOnce() -> String, w: &ListWalk) {
    if w.truncated {
        out.push(CapFired::new(walk(), w.cap));
    }
}

fn hash(out: &mut Vec<CapFired>, sched: Option<VirtAddr>, w: &HashWalk) {
    let of = sched.map_or_else(|| "the root scheduler".to_owned(), |k| format!("scx_sched {}", hex(k.0)));
    for (flag, cap) in [
        (HashTruncation::BUCKETS, w.bucket_cap),
        (HashTruncation::NODES, w.node_cap),
        (HashTruncation::CHAIN, WalkCap::fixed(Limit::BucketChain, w.chain_cap)),
    ] {
        if w.truncated.contains(flag) {
            out.push(CapFired::new(format!("dsq_hash of {of}"), cap));
        }
    }
}

impl<T> Walks<T> {
    /// Every cap that cut a walk, in walk order.
    pub fn caps_fired(&self) -> Vec<CapFired> {
        let mut out = Vec::new();
        for (s, _, w) in &self.cpus {
            list(&mut out, || format!("the runnable_list of CPU {}", s.cpu), w);
        }
        for (h, _, w) in &self.dsqs {
            list(&mut out, || format!("DSQ {} at {}", h.origin, hex(h.kva.0)), w);
        }
        if let Some(u) = &self.user {
            hash(&mut out, None, u);
        }
        for (s, u) in &self.subs {
            if let Some(u) = u {
                hash(&mut out, Some(s.state.sched_kva), u);
            }
        }
        if let Some(w) = &self.subs_walk {
            list(&mut out, || "the sub-scheduler tree".into(), w);
        }
        out.extend(scx_tasks_cap(&self.tasks_walk));
        out
    }
}

/// The cap that cut the `scx_tasks` walk `w`, when one did (what `scxray tasks` states, in
/// the words of `dump`).
pub fn scx_tasks_cap(w: &ListWalk) -> Option<CapFired> {
    let mut out = Vec::new();
    list(&mut out, || "scx_tasks".into(), w);
    out.pop()
}

fn fixed(out: &mut Vec<CapFired>, walk: String, limit: Limit, value: u32) {
    out.push(CapFired::new(walk, WalkCap::fixed(limit, value)));
}

/// The cap of `l` that is `limit`, as the walks record it.
fn bpf_cap(l: &BpfLimits, limit: Limit) -> u32 {
    match limit {
        Limit::BpfIds => l.ids,
        Limit::BpfIdrNodes => l.idr_nodes,
        Limit::BpfSchedProgs => l.sched_progs,
        Limit::BpfUsedMaps => l.used_maps,
        _ => 0,
    }
}

/// An ID table's cap, as its walk recorded it (entries or xarray nodes).
fn id_table(out: &mut Vec<CapFired>, table: scxray_core::bpf::IdTable, w: &IdTableWalk, l: &BpfLimits) {
    if let Some(limit) = w.cap {
        fixed(out, table.to_string(), limit, bpf_cap(l, limit));
    }
}

fn contents(out: &mut Vec<CapFired>, m: &MapRead, w: &ContentsWalk, l: &BpfLimits) {
    for cap in w.caps(l) {
        out.push(CapFired::new(format!("map {} (id {})", m.header.name, m.header.id), cap));
    }
}

fn sched(out: &mut Vec<CapFired>, s: &SchedBpf, l: &BpfLimits) {
    let of = || format!("the BPF objects of scx_sched {}", hex(s.sched.0));
    // As the walk recorded it: funcs_cnt past the program cap, or a program's used_map_cnt
    // past the map cap; then the distinct maps past the buffer the walk stage gives it.
    if let Some(limit) = s.walk.cap {
        fixed(out, of(), limit, bpf_cap(l, limit));
    }
    if s.walk.maps_full {
        fixed(out, of(), Limit::BpfUsedMaps, u32::try_from(SCHED_MAPS).unwrap_or(u32::MAX));
    }
    let first = out.len();
    for m in &s.maps {
        if let Some(w) = m.walk.as_ref() {
            contents(out, m, w, l);
        }
    }
    for list in &s.lists {
        if let Some(cap) = list.list.cap {
            out.push(CapFired::new(format!("the arena list {}", list.name), cap));
        }
    }
    // The placement names the cap that cut it, unless a map or a list of this scheduler
    // already named that one (the placement searches the same maps, walks the same lists).
    // A placement cut with no cap (a task's storage list that loops) names none.
    if let Some(cap) = s.placed.filter(|p| p.truncated).and_then(|p| p.cap)
        && !out[first..].iter().any(|c| c.limit == cap.limit)
    {
        out.push(CapFired::new(format!("the placement of waiting tasks by {}", of()), cap));
    }
}

/// Every cap that cut a BPF walk, in walk order: the ID tables, then
/// each scheduler's objects, maps, arena lists and placement.
pub fn bpf_caps_fired(b: &BpfReads) -> Vec<CapFired> {
    let limits = &b.limits;
    let mut out = Vec::new();
    for (t, w) in &b.tables {
        id_table(&mut out, *t, w, limits);
    }
    for s in &b.scheds {
        sched(&mut out, s, limits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::bpf::tests::{arena_list, map_header};
    use crate::walk::bpf::ListRead;
    use scxray_core::bpf::{
        ArenaList, ContentsKind, IdTable, MapHeader, MapType, PlaceWalk, SchedWalk, Truncation,
    };
    use serde_json::Value;

    fn reads(tables: Vec<(IdTable, IdTableWalk)>, walk: SchedWalk) -> BpfReads {
        let sched = SchedBpf {
            sched: VirtAddr(0xffff_8880_0000_1000),
            ops: None,
            progs: Vec::new(),
            maps: Vec::new(),
            walk,
            arena_globals: None,
            lists: Vec::new(),
            placed: None,
        };
        BpfReads { tables, scheds: vec![sched], limits: BpfLimits::DEFAULT, ..BpfReads::default() }
    }

    #[test]
    fn the_bpf_caps_named_are_the_ones_the_walks_recorded() {
        let l = BpfLimits::DEFAULT;
        // The node cap fired with as many entries as the entry cap allows: the node cap it is.
        let nodes = IdTableWalk {
            entries: l.ids,
            truncated: true,
            cap: Some(Limit::BpfIdrNodes),
            ..Default::default()
        };
        // funcs_cnt past the program cap, and then the map buffer full.
        let sched = SchedWalk {
            truncated: true,
            cap: Some(Limit::BpfSchedProgs),
            maps_full: true,
            ..Default::default()
        };
        let fired: Vec<(String, Limit, u32)> = bpf_caps_fired(&reads(vec![(IdTable::Map, nodes)], sched))
            .into_iter()
            .map(|c| (c.walk, c.limit, c.value))
            .collect();
        let of = "the BPF objects of scx_sched 0xffff888000001000".to_owned();
        assert_eq!(
            fired,
            vec![
                (IdTable::Map.to_string(), Limit::BpfIdrNodes, l.idr_nodes),
                (of.clone(), Limit::BpfSchedProgs, l.sched_progs),
                (of, Limit::BpfUsedMaps, 64),
            ]
        );
        // An invalid xarray geometry cuts the walk without a cap: none is named.
        let geometry = IdTableWalk { truncated: true, ..Default::default() };
        assert!(bpf_caps_fired(&reads(vec![(IdTable::Prog, geometry)], SchedWalk::default())).is_empty());
    }

    #[test]
    fn a_map_contents_cut_names_the_cap_sized_for_that_map() {
        let header = MapHeader {
            key_size: 4,
            value_size: 8,
            max_entries: u32::MAX,
            ..map_header(0xffff_8880_0000_7000, 21, b"task_ctx", MapType::HASH)
        };
        let walk = ContentsWalk {
            kind: ContentsKind::Hash,
            truncated: Truncation::ELEMS | Truncation::BUCKETS,
            elems_cap: WalkCap {
                limit: Limit::BpfElems,
                value: 4_210_688,
                basis: CapBasis::Ceiling { count: u32::MAX },
            },
            buckets_cap: WalkCap {
                limit: Limit::BpfHashBuckets,
                value: 1 << 23,
                basis: CapBasis::Ceiling { count: 1 << 31 },
            },
            ..ContentsWalk::default()
        };
        let mut r = reads(Vec::new(), SchedWalk::default());
        r.scheds[0].maps = vec![MapRead { header, elems: Vec::new(), walk: Some(walk), btf_error: None }];
        let lines: Vec<String> = bpf_caps_fired(&r).iter().map(CapFired::describe).collect();
        assert_eq!(
            lines,
            [
                "map task_ctx (id 21) cut at 4210688 elements (the ceiling; the kernel's count, 4294967295, with its margin or per-CPU copies, is past it); a cap of the BPF walks, no flag raises it",
                "map task_ctx (id 21) cut at 8388608 buckets (the ceiling; the kernel's count, 2147483648, with its margin or per-CPU copies, is past it); a cap of the BPF walks, no flag raises it",
            ]
        );
    }

    /// The scheduler of [`reads`] with `placed`, a map `pids` whose contents pass ended as
    /// `map` and an arena list `qa.fifos[0]` cut by `list`: every cap named, as the JSON's
    /// `caps_fired` writes it (walk, limit, flag, value) and as the text says it.
    fn placement(
        placed: PlaceWalk,
        map: Option<ContentsWalk>,
        list: Option<WalkCap>,
    ) -> Vec<(Value, String)> {
        let mut b = reads(Vec::new(), SchedWalk::default());
        let s = &mut b.scheds[0];
        s.placed = Some(placed);
        let header = MapHeader {
            key_size: 4,
            value_size: 4,
            max_entries: 1 << 20,
            ..map_header(0xffff_8880_0000_3000, 7, b"pids", MapType::HASH)
        };
        s.maps.push(MapRead { header, elems: Vec::new(), walk: map, btf_error: None });
        let list = ArenaList { truncated: list.is_some(), cap: list, ..arena_list(3) };
        s.lists.push(ListRead { name: "qa.fifos[0]".into(), list });
        bpf_caps_fired(&b)
            .into_iter()
            .map(|c| {
                let json = serde_json::json!([c.walk, c.limit, c.flag, c.value]);
                (json, c.describe())
            })
            .collect()
    }

    const PLACEMENT: &str =
        "the placement of waiting tasks by the BPF objects of scx_sched 0xffff888000001000";

    #[test]
    fn a_placement_names_the_cap_that_cut_it() {
        let l = BpfLimits::DEFAULT;
        let cut = |cap: WalkCap| PlaceWalk { truncated: true, cap: Some(cap), ..PlaceWalk::default() };
        // (a) A chain's link cap, sized from the arena's 4 pages: links, not arena reads.
        let links = WalkCap { limit: Limit::BpfLinks, value: 1538, basis: CapBasis::Count { count: 4 } };
        assert_eq!(
            placement(cut(links), None, None),
            vec![(
                serde_json::json!([PLACEMENT, "BpfLinks", null, 1538]),
                format!(
                    "{PLACEMENT} cut at 1538 links (sized from the kernel's count, 4); a cap of the BPF \
                     walks, no flag raises it"
                )
            )]
        );
        // (b) The read budget, while a searched map was cut too: both named, each its own.
        let elems_cap =
            WalkCap { limit: Limit::BpfElems, value: 5000, basis: CapBasis::Count { count: 5000 } };
        let elems = ContentsWalk { truncated: Truncation::ELEMS, elems_cap, ..ContentsWalk::default() };
        let reads = WalkCap::fixed(Limit::BpfArenaReads, l.arena_reads);
        let map = "map pids (id 7)";
        assert_eq!(
            placement(cut(reads), Some(elems), None).into_iter().map(|(j, _)| j).collect::<Vec<_>>(),
            vec![
                serde_json::json!([map, "BpfElems", null, 5000]),
                serde_json::json!([PLACEMENT, "BpfArenaReads", null, l.arena_reads]),
            ]
        );
        // A full fixed buffer: the constant, which no flag raises.
        let kinds = WalkCap::fixed(Limit::PlaceObjectTypes, 4);
        assert_eq!(
            placement(cut(kinds), None, None),
            vec![(
                serde_json::json!([PLACEMENT, "PlaceObjectTypes", null, 4]),
                format!(
                    "{PLACEMENT} cut at 4 arena object types (a fixed cap); a cap of the BPF walks, no \
                     flag raises it"
                )
            )]
        );
        // A task's storage list past owner_storages.
        let storages = WalkCap::fixed(Limit::BpfOwnerStorages, l.owner_storages);
        assert_eq!(
            placement(cut(storages), None, None).into_iter().map(|(j, _)| j).collect::<Vec<_>>(),
            vec![serde_json::json!([PLACEMENT, "BpfOwnerStorages", null, l.owner_storages])]
        );
    }

    #[test]
    fn a_cap_a_map_or_a_list_names_is_not_named_again_for_the_placement() {
        let cut = |cap: WalkCap| PlaceWalk { truncated: true, cap: Some(cap), ..PlaceWalk::default() };
        // The placement's map search cut by the element cap: the map says it.
        let elems_cap =
            WalkCap { limit: Limit::BpfElems, value: 5000, basis: CapBasis::Count { count: 5000 } };
        let elems = ContentsWalk { truncated: Truncation::ELEMS, elems_cap, ..ContentsWalk::default() };
        assert_eq!(
            placement(cut(elems_cap), Some(elems), None).into_iter().map(|(j, _)| j).collect::<Vec<_>>(),
            vec![serde_json::json!(["map pids (id 7)", "BpfElems", null, 5000])]
        );
        // A list cut by the read budget says arena reads (not links), and the placement
        // cut by the same budget is not named twice.
        let reads = WalkCap::fixed(Limit::BpfArenaReads, 200);
        assert_eq!(
            placement(cut(reads), None, Some(reads)).into_iter().map(|(j, _)| j).collect::<Vec<_>>(),
            vec![serde_json::json!(["the arena list qa.fifos[0]", "BpfArenaReads", null, 200])]
        );
        // A placement cut only by a task's storage list that loops: no cap to name.
        let looped = PlaceWalk { truncated: true, ..PlaceWalk::default() };
        assert!(placement(looped, None, None).is_empty());
    }
}
