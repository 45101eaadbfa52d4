//! The report's BPF section (`bpf` in `scxray.dump/2`), built from the walk stage's
//! [`BpfReads`]: the kernel-wide program and map tables, each scheduler's struct_ops map,
//! programs and maps with their decoded contents, the arena's globals and lists, and how the
//! placement of waiting tasks ended. Values arrive decoded; nothing here reads the guest.

use crate::walk::bpf::{BpfReads, MapRead, SchedBpf};
use scxray_core::bpf::{
    ContentsKind, ContentsWalk, IdTableWalk, MapHeader, OpsMatch, ProgHeader, StatsState,
};
use serde::{Deserialize, Serialize};

/// The BPF section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfReport {
    /// Each kernel-wide ID table walked.
    pub tables: Vec<BpfTable>,
    /// Every program of `prog_idr`, in id order.
    pub programs: Vec<BpfProg>,
    /// Every map of `map_idr`, in id order.
    pub maps: Vec<BpfMap>,
    /// Each scheduler's BPF objects, root first.
    pub schedulers: Vec<BpfSched>,
    /// What the BPF walks could not do.
    pub problems: Vec<String>,
    /// Whether any BPF cap fired.
    pub truncated: bool,
    /// Tasks holding task-local storage that are not in the task list (a task that died: off
    /// `scx_tasks` at its last switch, its storage freed with its last reference; one not yet
    /// on it, one whose detail could not be read, one past a list cut short); absent when
    /// there are none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unlisted_storage: Option<BpfUnlisted>,
}

/// Task-local storage of tasks on no walked list: how many, and the first ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfUnlisted {
    /// How many tasks.
    pub tasks: usize,
    /// How many storage elements they hold.
    pub elements: usize,
    /// The first ones met (64 at most, by address), each with its storage.
    pub first: Vec<BpfUnlistedTask>,
}

/// One task holding task-local storage that no walked list holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfUnlistedTask {
    /// `task_struct` address.
    pub kva: String,
    /// Its pid, as read.
    pub pid: Option<i32>,
    /// Its comm, as read.
    pub comm: Option<String>,
    /// `__state` (`0x80`: `TASK_DEAD`), as read.
    pub state: Option<String>,
    /// Why the task could not be read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Its storage, decoded.
    pub storage: Vec<BpfStorage>,
}

fn unlisted(b: &BpfReads) -> Option<BpfUnlisted> {
    let first = b
        .unlisted_storage
        .iter()
        .map(|u| {
            let (pid, comm, state, error) = match &u.detail {
                Ok((pid, comm, state)) => {
                    (Some(*pid), Some(comm.clone()), state.map(|s| format!("{s:#x}")), None)
                }
                Err(e) => (None, None, None, Some(e.clone())),
            };
            BpfUnlistedTask {
                kva: hex(u.task.0),
                pid,
                comm,
                state,
                error,
                storage: u
                    .values
                    .iter()
                    .map(|(map, value)| BpfStorage { map: map.clone(), value: value.clone() })
                    .collect(),
            }
        })
        .collect();
    (b.unlisted_tasks > 0).then_some(BpfUnlisted {
        tasks: b.unlisted_tasks,
        elements: b.unlisted_elems,
        first,
    })
}

/// An ID table's walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfTable {
    /// `prog_idr`, `map_idr`.
    pub table: String,
    /// Entries found.
    pub entries: u32,
    /// A cap fired.
    pub truncated: bool,
    /// Nodes skipped (unreadable, or breaking the xarray's rules).
    pub skipped_nodes: u32,
    /// Entries whose header could not be read.
    pub unreadable: u32,
    /// Entries whose own id differs from their index in the table (stale or foreign);
    /// written only when some do.
    #[serde(skip_serializing_if = "super::schema::is_zero", default)]
    pub id_mismatch: u32,
    /// The first failure.
    pub error: Option<String>,
}

/// A program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfProg {
    /// `bpf_prog_aux.id`.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its type (`struct_ops`, `syscall`, ...).
    pub prog_type: String,
    /// Its tag (hex), as `bpftool prog` prints it.
    pub tag: String,
    /// `bpf_prog` address (hex).
    pub kva: String,
    /// Instructions.
    pub insns: u32,
    /// `on`, `off` (bpf_stats_enabled is off: nothing counted) or `unknown`.
    pub stats: String,
    /// Runs, when counted.
    pub run_cnt: Option<u64>,
    /// Time in the program (ns), when counted.
    pub run_time_ns: Option<u64>,
    /// Runs skipped for recursion.
    pub recursion_misses: Option<u64>,
    /// CPUs whose counts could not be read: the sums leave them out; written only when some.
    #[serde(skip_serializing_if = "super::schema::is_zero", default)]
    pub unreadable_cpus: u32,
    /// The first such failure.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stats_error: Option<String>,
}

/// A map's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfMap {
    /// `bpf_map.id`.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its type (`array`, `hash`, `arena`, ...).
    pub map_type: String,
    /// `bpf_map` address (hex).
    pub kva: String,
    /// Key size.
    pub key_size: u32,
    /// Value size.
    pub value_size: u32,
    /// Max entries.
    pub max_entries: u32,
    /// Flags (hex).
    pub flags: String,
}

/// One scheduler's BPF objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfSched {
    /// The scheduler (hex).
    pub sched_kva: String,
    /// Its struct_ops map, when found.
    pub ops_map: Option<BpfMap>,
    /// How it was recognised: `priv` (`kvalue.data.priv` is the scheduler) or `callbacks`.
    pub matched_by: Option<String>,
    /// The registered callbacks equal the scheduler's copy.
    pub callbacks_agree: Option<bool>,
    /// STRUCT_OPS maps looked at.
    pub candidates: u32,
    /// The programs behind its callbacks: slot, id, name.
    pub programs: Vec<BpfSchedProg>,
    /// The maps its programs use, with contents.
    pub maps: Vec<BpfMapContents>,
    /// The arena globals, decoded by name.
    pub arena_globals: Option<String>,
    /// The arena's lists and whether their links agree.
    pub arena_lists: Vec<BpfList>,
    /// Waiting tasks given to the placement, and how many were placed.
    pub placement: Option<BpfPlacement>,
    /// A cap fired in this scheduler's walks.
    pub truncated: bool,
    /// Programs or maps that could not be read.
    pub unreadable: u32,
    /// The first such failure.
    pub error: Option<String>,
}

/// A callback's program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfSchedProg {
    /// Its slot among the set callbacks.
    pub slot: u32,
    /// Program id.
    pub id: u32,
    /// Program name.
    pub name: String,
}

/// A map and its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfMapContents {
    /// Its header.
    #[serde(flatten)]
    pub map: BpfMap,
    /// Elements (or allocated arena pages) counted.
    pub count: u32,
    /// Free arena pages (absent, not read).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub free_pages: Option<u64>,
    /// Reserved arena pages: in no free range and not mapped (`bpf_arena_reserve_pages`),
    /// absent as well.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reserved_pages: Option<u64>,
    /// The first elements: key and decoded value.
    pub elems: Vec<BpfElem>,
    /// Caps that fired (`elems`, `buckets`, `chain`, `free_ranges`, `probes`).
    pub truncated: Vec<String>,
    /// What was not as the kernel leaves it (`loop`, `foreign_nulls`, ...).
    pub anomalies: Vec<String>,
    /// Elements skipped as unreadable.
    pub unreadable: u32,
    /// The first failure, or why values are raw bytes.
    pub error: Option<String>,
    /// Why the contents were not read at all (a type no walker reads, such as a ringbuf): its
    /// `count` of 0 is then no empty map. Not an error: the map is listed by its metadata.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_read: Option<String>,
}

/// An element: its key and decoded value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfElem {
    /// `[3]`, `{key}`, `task 42`, `#0`.
    pub key: String,
    /// The value, decoded with the map's BTF (raw hex without it).
    pub value: String,
}

/// An arena list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfList {
    /// Its parent in the arena globals (`qa.fifos[2]`).
    pub name: String,
    /// Objects on it.
    pub length: u32,
    /// Head, tail, next and prev agree.
    pub agree: bool,
    /// The walk came back to an object it passed.
    pub looped: bool,
    /// The walk reached its cap.
    pub truncated: bool,
    /// Why an object on it could not be read (the walk stopped there); written only then.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// How the placement ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfPlacement {
    /// Waiting tasks given.
    pub tasks: u32,
    /// Placed.
    pub placed: u32,
    /// Placed with an equally good other place.
    pub ambiguous: u32,
    /// A cap fired.
    pub truncated: bool,
    /// Reads that failed (maps, task storage, arena objects and anchors): the tasks they
    /// would have placed may be left unplaced; written only when some did.
    #[serde(skip_serializing_if = "super::schema::is_zero", default)]
    pub errors: u32,
    /// Tasks whose task-storage list loops (not the kernel's shape), left unplaced; written
    /// only when some do.
    #[serde(skip_serializing_if = "super::schema::is_zero", default)]
    pub storage_loops: u32,
}

/// A task-local storage value of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfStorage {
    /// The TASK_STORAGE map's name.
    pub map: String,
    /// The value, decoded.
    pub value: String,
}

/// An address as the report writes one (`0xffff...`); schema.rs's own `hex` would make the
/// two modules import each other.
fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn table(t: scxray_core::bpf::IdTable, w: &IdTableWalk) -> BpfTable {
    BpfTable {
        table: t.to_string(),
        entries: w.entries,
        truncated: w.truncated,
        skipped_nodes: w.skipped_nodes,
        unreadable: w.unreadable,
        id_mismatch: w.id_mismatch,
        error: w.first_error.map(|e| e.to_string()),
    }
}

fn prog(p: &ProgHeader) -> BpfProg {
    let runs = p.runs.filter(|_| p.stats != StatsState::Off);
    BpfProg {
        id: p.id,
        name: p.name.to_string(),
        prog_type: p.prog_type.to_string(),
        tag: p.tag.iter().map(|b| format!("{b:02x}")).collect(),
        kva: hex(p.kva.0),
        insns: p.insns,
        stats: match p.stats {
            StatsState::On => "on",
            StatsState::Off => "off",
            StatsState::Unknown => "unknown",
        }
        .into(),
        run_cnt: runs.map(|r| r.cnt),
        run_time_ns: runs.map(|r| r.nsecs),
        recursion_misses: runs.and_then(|r| r.misses),
        unreadable_cpus: runs.map_or(0, |r| r.unreadable_cpus),
        stats_error: runs.and_then(|r| r.first_error).map(|e| e.to_string()),
    }
}

/// A map's header in the report.
pub fn map(m: &MapHeader) -> BpfMap {
    BpfMap {
        id: m.id,
        name: m.name.to_string(),
        map_type: m.map_type.to_string(),
        kva: hex(m.kva.0),
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: format!("{:#x}", m.flags),
    }
}

fn contents(m: &MapRead) -> BpfMapContents {
    let w = m.walk.unwrap_or_default();
    let truncated = w.truncated.difference(scxray_core::bpf::Truncation::STOPPED);
    let truncated = truncated.iter_names().map(|(n, _)| n.to_ascii_lowercase()).collect();
    BpfMapContents {
        map: map(&m.header),
        count: w.elems,
        free_pages: (m.header.map_type == scxray_core::bpf::MapType::ARENA).then_some(w.free_pages),
        reserved_pages: (m.header.map_type == scxray_core::bpf::MapType::ARENA).then_some(w.reserved_pages),
        elems: m
            .elems
            .iter()
            .map(|(key, value)| BpfElem { key: key.clone(), value: value.clone() })
            .collect(),
        truncated,
        anomalies: w.anomalies.iter_names().map(|(n, _)| n.to_ascii_lowercase()).collect(),
        unreadable: w.broken,
        error: m.btf_error.clone().or_else(|| w.first_error.map(|e| e.to_string())),
        // A type no walker reads: its count of 0 is not an empty map.
        not_read: (m.walk.is_some_and(|w| w.kind == ContentsKind::MetadataOnly))
            .then(|| format!("{} maps are shown by their metadata only", m.header.map_type)),
    }
}

fn truncated(w: &Option<ContentsWalk>) -> bool {
    w.is_some_and(|w| w.is_truncated())
}

fn sched(s: &SchedBpf) -> BpfSched {
    let lists: Vec<BpfList> = s
        .lists
        .iter()
        .map(|l| BpfList {
            name: l.name.clone(),
            length: l.list.length,
            agree: l.list.agree,
            looped: l.list.looped,
            truncated: l.list.truncated,
            error: l.list.error.map(|e| e.to_string()),
        })
        .collect();
    BpfSched {
        sched_kva: hex(s.sched.0),
        ops_map: s.ops.as_ref().map(|o| map(&o.map)),
        matched_by: s.ops.as_ref().map(|o| {
            match o.matched_by {
                OpsMatch::Priv => "priv",
                OpsMatch::Callbacks => "callbacks",
            }
            .into()
        }),
        callbacks_agree: s.ops.as_ref().and_then(|o| o.callbacks_agree),
        candidates: s.walk.candidates,
        programs: s
            .progs
            .iter()
            .map(|(slot, p)| BpfSchedProg { slot: *slot, id: p.id, name: p.name.to_string() })
            .collect(),
        maps: s.maps.iter().map(contents).collect(),
        arena_globals: s.arena_globals.clone(),
        truncated: s.walk.truncated
            || s.maps.iter().any(|m| truncated(&m.walk))
            || s.placed.is_some_and(|p| p.truncated)
            || lists.iter().any(|l| l.truncated),
        arena_lists: lists,
        placement: s.placed.map(|p| BpfPlacement {
            tasks: p.tasks,
            placed: p.placed,
            ambiguous: p.ambiguous,
            truncated: p.truncated,
            errors: p.errors,
            storage_loops: p.storage_loops,
        }),
        unreadable: s.walk.unreadable,
        error: s.walk.first_error.map(|e| e.to_string()),
    }
}

/// An ID table cut with no cap named: the layout's xarray geometry is invalid and nothing
/// was walked (the table shows only `truncated`; no cap fired to say why).
fn unwalkable(t: scxray_core::bpf::IdTable, w: &IdTableWalk) -> Option<String> {
    (w.truncated && w.cap.is_none())
        .then(|| format!("BPF {t}: the layout's xarray geometry (slots per node) is invalid: not walked"))
}

/// More than one struct_ops map names the scheduler (the walk used the first): said, since
/// its programs and maps may be another's.
fn ambiguous_ops(s: &SchedBpf) -> Option<String> {
    let ops = s.ops.as_ref().filter(|_| s.walk.matches > 1)?;
    Some(format!(
        "BPF scheduler walk: {} struct_ops maps match scx_sched {}; the first (id {} {}) is used",
        s.walk.matches,
        hex(s.sched.0),
        ops.map.id,
        ops.map.name
    ))
}

impl BpfReport {
    /// The section from what the walk stage read.
    pub fn new(b: &BpfReads) -> Self {
        let schedulers: Vec<BpfSched> = b.scheds.iter().map(sched).collect();
        let tables: Vec<BpfTable> = b.tables.iter().map(|(t, w)| table(*t, w)).collect();
        Self {
            truncated: tables.iter().any(|t| t.truncated) || schedulers.iter().any(|s| s.truncated),
            tables,
            programs: b.progs.iter().map(prog).collect(),
            maps: b.maps.iter().map(map).collect(),
            schedulers,
            problems: b
                .problems
                .iter()
                .cloned()
                .chain(b.tables.iter().filter_map(|(t, w)| unwalkable(*t, w)))
                .chain(b.scheds.iter().filter_map(ambiguous_ops))
                .collect(),
            unlisted_storage: unlisted(b),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::walk::bpf::ListRead;
    use scxray_core::bpf::{ArenaError, ArenaList, IdTable, PlaceWalk, SchedWalk};
    use scxray_core::{BpfLimits, VirtAddr};

    /// A `map_idr` walk with one entry whose id is not its index, and a scheduler whose
    /// arena list's head points at a free page (the core's answer in
    /// `bpf_adversarial::arena_pointers_to_free_pages_are_refused`) and whose placement
    /// counted the failed reads.
    fn reads() -> BpfReads {
        let list = ArenaList {
            btf: VirtAddr(0xffff_8880_0000_2000),
            error: Some(ArenaError::Unallocated { page: 3 }),
            ..arena_list(0)
        };
        let sched = SchedBpf {
            sched: VirtAddr(0xffff_8880_0000_1000),
            ops: None,
            progs: Vec::new(),
            maps: Vec::new(),
            walk: SchedWalk::default(),
            arena_globals: None,
            lists: vec![ListRead { name: "qa.fifos[1]".into(), list }],
            placed: Some(PlaceWalk {
                tasks: 5,
                placed: 4,
                errors: 2,
                storage_loops: 1,
                ..PlaceWalk::default()
            }),
        };
        let map_idr = IdTableWalk { entries: 17, id_mismatch: 1, ..IdTableWalk::default() };
        BpfReads {
            tables: vec![(IdTable::Map, map_idr)],
            scheds: vec![sched],
            limits: BpfLimits::DEFAULT,
            ..BpfReads::default()
        }
    }

    #[test]
    fn unreadable_lists_failed_placement_reads_and_foreign_ids_reach_json_and_text() {
        let r = BpfReport::new(&reads());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["tables"][0]["id_mismatch"], 1);
        assert_eq!(json["schedulers"][0]["arena_lists"][0]["error"], "arena page 3 is not allocated");
        assert_eq!(json["schedulers"][0]["placement"]["errors"], 2);
        assert_eq!(json["schedulers"][0]["placement"]["storage_loops"], 1);
        let mut text = String::new();
        super::super::bpf_text::render(&mut text, &r, &Default::default());
        assert!(text.contains("map_idr: 17 entries, 1 whose own id is not their index\n"), "{text}");
        assert!(
            text.contains(
                "arena list qa.fifos[1]: 0 objects, links DISAGREE, unreadable: arena page 3 is not allocated\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("waiting tasks: 5 given, 4 placed, 0 ambiguous (2 reads failed) (1 tasks' storage lists loop: not placed)\n"),
            "{text}"
        );
    }

    /// A map's header: `name` (at most 16 bytes), no key, value, entries, flags or BTF.
    /// An arena list for the report's tests: `length` objects from the parent at 0x10 of type
    /// 7 (first anchor 0x10, last 0x18, back link 8), not agreeing, nothing else known.
    pub(crate) fn arena_list(length: u32) -> ArenaList {
        ArenaList {
            btf: VirtAddr(0),
            parent: 0x10,
            parent_type: 7,
            first: 0x10,
            last: 0x18,
            forward: 0,
            back: Some(8),
            length,
            agree: false,
            bad_back: None,
            looped: false,
            truncated: false,
            cap: None,
            error: None,
        }
    }

    /// A map's header for the report's tests: these four, the rest zero.
    pub(crate) fn map_header(
        kva: u64,
        id: u32,
        name: &[u8],
        map_type: scxray_core::bpf::MapType,
    ) -> MapHeader {
        let mut bytes = [0u8; 16];
        bytes[..name.len()].copy_from_slice(name);
        MapHeader {
            kva: VirtAddr(kva),
            id,
            name: scxray_core::bpf::ObjName(bytes),
            map_type,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            flags: 0,
            map_extra: None,
            btf: VirtAddr(0),
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            btf_vmlinux_value_type_id: None,
        }
    }

    #[test]
    fn two_struct_ops_maps_naming_one_scheduler_are_a_problem() {
        let header = MapHeader {
            key_size: 4,
            value_size: 1024,
            max_entries: 1,
            ..map_header(0xffff_8880_0000_3000, 12, b"qmap_ops", scxray_core::bpf::MapType::STRUCT_OPS)
        };
        let mut b = reads();
        let s = &mut b.scheds[0];
        s.ops = Some(scxray_core::bpf::SchedOps {
            sched: s.sched,
            map: header,
            matched_by: OpsMatch::Priv,
            callbacks_agree: Some(true),
            funcs_cnt: 40,
        });
        s.walk.matches = 1;
        assert!(BpfReport::new(&b).problems.is_empty());
        b.scheds[0].walk.matches = 2;
        assert_eq!(
            BpfReport::new(&b).problems,
            [
                "BPF scheduler walk: 2 struct_ops maps match scx_sched 0xffff888000001000; the first (id 12 qmap_ops) is used"
            ]
        );
    }

    #[test]
    fn a_scheduler_walk_error_without_an_unreadable_object_is_in_the_text() {
        let mut b = reads();
        let e = scxray_core::ReadError {
            field: scxray_core::Field::XaNodeSlot,
            kva: VirtAddr(0xffff_8880_0000_4000),
            cause: scxray_core::ReadCause::AddressOverflow,
        };
        b.scheds[0].walk.first_error = Some(e);
        let r = BpfReport::new(&b);
        let mut text = String::new();
        super::super::bpf_text::render(&mut text, &r, &Default::default());
        assert!(text.contains(&format!("  (map_idr not read whole: {e})\n")), "{text}");
    }

    #[test]
    fn run_counts_that_leave_out_unreadable_cpus_say_so() {
        let e = scxray_core::ReadError {
            field: scxray_core::Field::BpfProgStats,
            kva: VirtAddr(0xffff_8880_0000_5000),
            cause: scxray_core::ReadCause::AddressOverflow,
        };
        let runs = scxray_core::bpf::RunStats {
            cnt: 350,
            nsecs: 13_000,
            misses: Some(0),
            cpus: 3,
            unreadable_cpus: 1,
            first_error: Some(e),
        };
        let p = ProgHeader {
            kva: VirtAddr(0xffff_c900_0000_1000),
            aux: VirtAddr(0xffff_8880_0000_6000),
            id: 30,
            prog_type: scxray_core::bpf::ProgType(27),
            name: scxray_core::bpf::ObjName(*b"qmap_enqueue\0\0\0\0"),
            tag: [0; 8],
            insns: 10,
            jited_len: None,
            used_maps: VirtAddr(0),
            used_map_cnt: 0,
            btf: None,
            arena: None,
            load_time: None,
            verified_insns: None,
            st_ops_member_off: None,
            stats: StatsState::On,
            runs: Some(runs),
        };
        let mut b = reads();
        b.progs = vec![p];
        let r = BpfReport::new(&b);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            (json["programs"][0]["run_cnt"].as_u64(), json["programs"][0]["unreadable_cpus"].as_u64()),
            (Some(350), Some(1))
        );
        assert_eq!(json["programs"][0]["stats_error"], e.to_string());
        let mut text = String::new();
        super::super::bpf_text::render(&mut text, &r, &Default::default());
        assert!(
            text.contains(&format!("run_cnt=350 run_time_ns=13000 (1 CPUs unreadable: {e})\n")),
            "{text}"
        );
        // All CPUs read: neither field written.
        b.progs[0].runs =
            Some(scxray_core::bpf::RunStats { unreadable_cpus: 0, first_error: None, cpus: 4, ..runs });
        let json = serde_json::to_string(&BpfReport::new(&b)).unwrap();
        assert!(!json.contains("unreadable_cpus") && !json.contains("stats_error"), "{json}");
    }

    #[test]
    fn a_map_whose_type_is_not_read_is_not_an_empty_map() {
        let header = MapHeader {
            max_entries: 4096,
            ..map_header(0xffff_8880_0000_7000, 21, b"events", scxray_core::bpf::MapType(27))
        };
        let read = |kind| MapRead {
            header,
            elems: Vec::new(),
            walk: Some(ContentsWalk { kind, ..ContentsWalk::default() }),
            btf_error: None,
        };
        let c = contents(&read(ContentsKind::MetadataOnly));
        assert_eq!(c.count, 0);
        assert_eq!(c.not_read.as_deref(), Some("ringbuf maps are shown by their metadata only"));
        // Not read by design is no read error (the lab counts those).
        assert_eq!(c.error, None);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""not_read":"ringbuf maps are shown by their metadata only""#), "{json}");
        // A map that was read and is empty says nothing more.
        let empty = contents(&read(ContentsKind::Hash));
        assert_eq!((empty.error, empty.not_read), (None, None));
        assert!(!serde_json::to_string(&contents(&read(ContentsKind::Hash))).unwrap().contains("not_read"));
        // The text says it in place of a count.
        let mut b = reads();
        b.scheds[0].maps = vec![read(ContentsKind::MetadataOnly)];
        let mut text = String::new();
        super::super::bpf_text::render(&mut text, &BpfReport::new(&b), &Default::default());
        assert!(
            text.contains(": contents not read (ringbuf maps are shown by their metadata only)\n")
                && !text.contains("0 elements"),
            "{text}"
        );
    }

    #[test]
    fn storage_of_tasks_not_in_the_task_list_is_shown_not_dropped() {
        let mut b = reads();
        assert!(!serde_json::to_string(&BpfReport::new(&b)).unwrap().contains("unlisted_storage"));
        let dead = VirtAddr(0xff3a_68b5_4225_8000);
        let value = ("task_ctx_stor".to_owned(), "{.slice = 5000000}".to_owned());
        b.unlisted_tasks = 3;
        b.unlisted_elems = 4;
        b.unlisted_storage = vec![
            crate::walk::bpf::UnlistedStorage {
                task: dead,
                detail: Ok((6269, "tasks".into(), Some(0x80))),
                values: vec![value.clone()],
            },
            crate::walk::bpf::UnlistedStorage {
                task: VirtAddr(0xff3a_68b5_4226_0000),
                detail: Err("task_struct.pid at 0xff3a68b542260000: not mapped".into()),
                values: vec![value],
            },
        ];
        let r = BpfReport::new(&b);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            (json["unlisted_storage"]["tasks"].as_u64(), json["unlisted_storage"]["elements"].as_u64()),
            (Some(3), Some(4))
        );
        assert_eq!(
            json["unlisted_storage"]["first"][0],
            serde_json::json!({"kva": "0xff3a68b542258000", "pid": 6269, "comm": "tasks", "state": "0x80",
                "storage": [{"map": "task_ctx_stor", "value": "{.slice = 5000000}"}]})
        );
        let mut text = String::new();
        super::super::bpf_text::render(&mut text, &r, &Default::default());
        assert!(
            text.contains(
                "task storage of 3 tasks not in the task list (4 elements; died, not yet on scx_tasks, \
                 unreadable, or past a list cut short):\n    \
                 0xff3a68b542258000 tasks[6269] state 0x80: task_ctx_stor {.slice = 5000000}\n    \
                 0xff3a68b542260000 unreadable: task_struct.pid at 0xff3a68b542260000: not mapped: \
                 task_ctx_stor {.slice = 5000000}\n    ... 1 more\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_id_table_cut_by_no_cap_says_why() {
        let mut b = reads();
        b.tables = vec![(IdTable::Map, IdTableWalk { truncated: true, ..IdTableWalk::default() })];
        assert_eq!(
            BpfReport::new(&b).problems,
            ["BPF map_idr: the layout's xarray geometry (slots per node) is invalid: not walked"]
        );
        // A cap that fired is named by the caps, not here.
        b.tables[0].1.cap = Some(scxray_core::Limit::BpfIds);
        assert!(BpfReport::new(&b).problems.is_empty());
    }

    #[test]
    fn a_clean_walk_writes_none_of_the_added_fields() {
        let mut b = reads();
        b.tables[0].1.id_mismatch = 0;
        b.scheds[0].lists[0].list.error = None;
        b.scheds[0].placed = Some(PlaceWalk { tasks: 5, placed: 5, ..PlaceWalk::default() });
        let json = serde_json::to_string(&BpfReport::new(&b)).unwrap();
        for field in ["id_mismatch", "\"errors\"", "\"error\":\"arena"] {
            assert!(!json.contains(field), "{field} in {json}");
        }
        // The lists' and tables' other fields stay as they were.
        assert!(json.contains("\"skipped_nodes\":0,\"unreadable\":0,\"error\":null"), "{json}");
    }
}
