//! The report's BPF section (issue 18) against what the guest itself shows of its BPF state.
//!
//! Every case with a scheduler:
//! - the BPF section is there, without problems; each scheduler's struct_ops map is found and
//!   its callbacks agree with the scheduler's; every map of each scheduler is read without
//!   error, and its global-data maps (`*.bss`, `*.data`, `*.rodata`, `*.kconfig`, `.data.*`)
//!   are decoded by variable name (`{.name = ...}`), not shown as bytes;
//! - every task with task-local storage of a scheduler shows it (as many tasks as the
//!   TASK_STORAGE maps hold elements), decoded;
//! - every task in BPF custody (`ops_state` QUEUED or DISPATCHING) is placed somewhere, and
//!   the placement counts agree with the tasks.
//!
//! scx_qmap without an arena (6.12's): every task in custody is in one of its QUEUE maps
//! `queue0` to `queue4`. With one (7.2 on; `qmap-stats` truth on 7.3: the last counters it
//! printed, `grep -A1 '^stats  :' /scheduler.log`): every task in custody is on exactly one of `qa.fifos[0..5]`, never
//! ambiguous; the five FIFOs' links agree (head, tail, prev, next), none loops or is cut, and
//! (one scheduler) each FIFO's length is the number of tasks placed on it; the arena counters
//! decode by name, and each counter qmap printed is no greater than the dump's.
//!
//! scx_simple, scx_central (`bpftool-*` truth, the guest's own bpftool just before the dump):
//! - the programs (`bpftool -j prog show`) and maps (`bpftool -j map show`) are the same sets
//!   as the report's, by id, name and type (a program's name as bpftool prints it, from its
//!   BTF, is its full function name; the kernel's, which scxray reads, is its first 15 bytes),
//!   and each map's key and value size, max_entries and flags are the same;
//! - each of the schedulers' maps bpftool could dump (`bpftool -j map dump id N`, values of at
//!   most [`DUMPED_VALUE_MAX`] bytes: the 32 KiB `.data.uei_dump` is left out) has the same
//!   elements, and for the maps nothing writes after the scheduler is loaded the same values,
//!   field by field: `.rodata` and `.kconfig` (frozen by libbpf at load, read-only to BPF),
//!   `.data` (scx_simple's and scx_central's hold the exit info, written only when the
//!   scheduler exits, format strings, and scx_central's `timer_pinned`, written only by
//!   `central_init`). In every other map (`.bss`, the `stats` per-CPU array, ...) each counter
//!   ([`COUNTERS`], named from the schedulers' sources) is no smaller in the dump than bpftool
//!   printed; their other fields (gauges such as scx_central's `nr_queued`, timestamps) may
//!   change and are only checked to be there. QUEUE maps cannot be dumped by bpftool.

use super::shown_value::Shown;
use super::verdict::Verdict;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `bpftool -j prog show` (one JSON line).
pub const BPFTOOL_PROGS: &str = "bpftool-progs";
/// `bpftool -j map show` (one JSON line).
pub const BPFTOOL_MAPS: &str = "bpftool-maps";
/// `<map id> <bpftool -j map dump id N>`, one line per map whose values are at most
/// [`DUMPED_VALUE_MAX`] bytes.
pub const BPFTOOL_DUMP: &str = "bpftool-dump";
/// The largest value bpftool is asked to dump: the guest prints the truth over its serial
/// console, where a 32 KiB value (`.data.uei_dump`) would cost ~230 KB of hex.
pub const DUMPED_VALUE_MAX: u64 = 4096;
/// Reads `bpftool map show`'s plain lines (`N: type name X ...`, then `key KB value VB ...`)
/// with shell builtins: the guest's busybox has no sed or awk.
pub const BPFTOOL_DUMP_COMMAND: &str = "bpftool map show >/tmp/maps; \
     while read -r a b; do case $a in [0-9]*:) id=${a%:};; key) set -- $b; \
     [ ${3%B} -le 4096 ] && echo \"$id $(bpftool -j map dump id $id 2>&1)\";; esac; done </tmp/maps";
/// scx_qmap's last counters: `stats  : enq=N dsp=N ...` and `exp_local=N ...`.
pub const QMAP_STATS: &str = "qmap-stats";
pub const QMAP_STATS_COMMAND: &str = "grep -A1 '^stats  :' /scheduler.log | tail -n 2";

/// scx_qmap's printed counter names and the `qa` members they print (scx_qmap.c's stats loop).
const QMAP_COUNTERS: &[(&str, &str)] = &[
    ("enq", "nr_enqueued"),
    ("dsp", "nr_dispatched"),
    ("reenq", "nr_reenqueued"),
    ("cid0", "nr_reenqueued_cid0"),
    ("deq", "nr_dequeued"),
    ("core", "nr_core_sched_execed"),
    ("enq_ddsp", "nr_ddsp_from_enq"),
    ("exp_local", "nr_expedited_local"),
    ("exp_remote", "nr_expedited_remote"),
    ("exp_timer", "nr_expedited_from_timer"),
    ("exp_lost", "nr_expedited_lost"),
];

fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// A global-data map of libbpf's: its variables are its value's members.
fn is_global_data(name: &str) -> bool {
    [".bss", ".data", ".rodata", ".kconfig"].iter().any(|x| name.ends_with(x))
        || (name.starts_with(".data.") && !name.starts_with(".rodata.str"))
}

/// A global-data map that nothing writes once the scheduler is loaded (see the module doc).
fn is_fixed(name: &str) -> bool {
    [".rodata", ".kconfig", ".data"].iter().any(|x| name.ends_with(x))
}

/// The fields of scx_simple's and scx_central's global data that only grow (each only ever
/// `__sync_fetch_and_add`ed, or raised: `vtime_now` is the largest vtime seen). Not
/// `nr_queued`: scx_central adds to it on enqueue and takes from it on dispatch.
const COUNTERS: &[&str] = &[
    "vtime_now",
    "nr_total",
    "nr_locals",
    "nr_lost_pids",
    "nr_timers",
    "nr_dispatches",
    "nr_mismatches",
    "nr_retries",
    "nr_overflows",
];

/// A field that only grows: one of [`COUNTERS`], or any element of scx_simple's `stats`
/// per-CPU array (its local and global queueing counts, only incremented).
fn is_counter(map: &str, field: &str) -> bool {
    map == "stats" || COUNTERS.contains(&field)
}

/// The map types whose contents scxray reads (`scxray_core::bpf::Walker::walk_contents`).
const READ_MAP_TYPES: &[&str] = &[
    "hash",
    "array",
    "percpu_hash",
    "percpu_array",
    "lru_hash",
    "lru_percpu_hash",
    "queue",
    "stack",
    "sk_storage",
    "struct_ops",
    "inode_storage",
    "task_storage",
    "cgrp_storage",
    "arena",
];

/// The BPF checks of a report `r` against the guest's extra truth `extra` (see the module doc).
pub fn check(r: &Value, extra: &BTreeMap<String, Vec<String>>, v: &mut Verdict) {
    let b = &r["bpf"];
    if !b.is_object() {
        v.check_named(false, "no BPF section in the report");
        return;
    }
    v.check(arr(&b["problems"]).is_empty(), || format!("BPF problems: {}", b["problems"]));
    let scheds = arr(&b["schedulers"]);
    v.check(!scheds.is_empty(), || "the BPF section has no scheduler".into());
    for x in scheds {
        let ops = &x["ops_map"];
        v.check(ops.is_object() && x["callbacks_agree"] != false, || {
            format!(
                "scheduler {}: struct_ops map {ops}, callbacks agree: {}",
                s(&x["sched_kva"]),
                x["callbacks_agree"]
            )
        });
    }
    let maps: Vec<&Value> = scheds.iter().flat_map(|x| arr(&x["maps"])).collect();
    check_map_reads(&maps, v);
    let globals: Vec<&Value> = maps.iter().copied().filter(|m| is_global_data(&s(&m["name"]))).collect();
    v.each("global-data maps not decoded by name", &globals, |m| {
        let first = arr(&m["elems"]).first().map(|e| s(&e["value"])).unwrap_or_default();
        (!first.starts_with("{.")).then(|| format!("{}: {first:.60}", s(&m["name"])))
    });
    check_task_storage(r, &maps, v);
    check_custody(r, scheds, v);
    if s(&r["scheduler"]["ops_name"]) == "qmap" {
        check_qmap(r, scheds, extra.get(QMAP_STATS), v);
    }
    if let (Some(progs), Some(bmaps)) = (extra.get(BPFTOOL_PROGS), extra.get(BPFTOOL_MAPS)) {
        check_bpftool_lists(b, progs, bmaps, v);
        if let Some(dump) = extra.get(BPFTOOL_DUMP) {
            check_bpftool_dump(&maps, bmaps, dump, v);
        }
    }
}

/// Every map read without an error, and left unread only when no walker reads its type.
fn check_map_reads(maps: &[&Value], v: &mut Verdict) {
    v.each("BPF maps read with an error", maps, |m| {
        (!m["error"].is_null()).then(|| format!("{} (id {}): {}", s(&m["name"]), m["id"], s(&m["error"])))
    });
    // Listed by metadata only is by design for the types no walker reads (ringbufs...), and a
    // defect for any type scxray does read.
    v.each("BPF maps of a read type left unread", maps, |m| {
        (!m["not_read"].is_null() && READ_MAP_TYPES.contains(&s(&m["map_type"]).as_str())).then(|| {
            format!("{} (id {}, {}): {}", s(&m["name"]), m["id"], s(&m["map_type"]), s(&m["not_read"]))
        })
    });
}

/// Every task a scheduler keeps task-local storage for shows it, decoded.
fn check_task_storage(r: &Value, maps: &[&Value], v: &mut Verdict) {
    let stored: u64 = maps
        .iter()
        .filter(|m| s(&m["map_type"]) == "task_storage")
        .map(|m| m["count"].as_u64().unwrap_or(0))
        .sum();
    let tasks = arr(&r["tasks"]);
    let shown: Vec<&Value> = tasks.iter().flat_map(|t| arr(&t["bpf_storage"])).collect();
    // Storage of a task not in the task list (one that died: off scx_tasks at its last
    // switch, its storage freed with its last reference, as the lab's own `tasks` lister
    // often is at the dump) is counted apart; each element is in one place or the other.
    let unlisted = &r["bpf"]["unlisted_storage"];
    let apart = unlisted["elements"].as_u64().unwrap_or(0);
    v.check(shown.len() as u64 + apart == stored, || {
        format!(
            "task storage: the maps hold {stored} elements, {} tasks show one, {apart} listed apart ({})",
            shown.len(),
            unlisted["first"]
        )
    });
    v.each("task storage not decoded", &shown, |x| {
        (!s(&x["value"]).starts_with("{.")).then(|| format!("{}: {:.60}", s(&x["map"]), s(&x["value"])))
    });
}

/// Whether `ops_state` (`p->scx.ops_state`, its low 2 bits the state) is QUEUED or DISPATCHING.
fn in_custody(t: &Value) -> bool {
    matches!(t["ops_state"].as_u64().map(|o| o & 3), Some(2 | 3))
}

/// Every task in BPF custody is placed, and the placement's counts agree.
fn check_custody(r: &Value, scheds: &[Value], v: &mut Verdict) {
    let custody: Vec<&Value> = arr(&r["tasks"]).iter().filter(|t| in_custody(t)).collect();
    v.each("tasks in BPF custody not placed", &custody, |t| {
        t["bpf_place"].is_null().then(|| format!("{}[{}]", s(&t["comm"]), t["pid"]))
    });
    let placed: u64 = scheds.iter().map(|x| x["placement"]["placed"].as_u64().unwrap_or(0)).sum();
    let with_place = arr(&r["tasks"]).iter().filter(|t| !t["bpf_place"].is_null()).count() as u64;
    v.check(placed == with_place, || {
        format!("the placements say {placed} tasks placed, {with_place} tasks show a place")
    });
}

/// `qa.fifos[N]` when `place` is on one of qmap's five FIFOs.
fn qmap_fifo(place: &str) -> Option<usize> {
    let rest = place.strip_prefix("qa.fifos[")?;
    let (n, after) = rest.split_once(']')?;
    let n: usize = n.parse().ok()?;
    (n < 5 && (after.is_empty() || after.starts_with(' '))).then_some(n)
}

/// scx_qmap's FIFOs and counters (see the module doc).
fn check_qmap(r: &Value, scheds: &[Value], stats: Option<&Vec<String>>, v: &mut Verdict) {
    let custody: Vec<&Value> = arr(&r["tasks"]).iter().filter(|t| in_custody(t)).collect();
    let arena = scheds.first().is_some_and(|x| arr(&x["maps"]).iter().any(|m| s(&m["map_type"]) == "arena"));
    if !arena {
        // 6.12's scx_qmap queues pids in five QUEUE maps, `queue0` to `queue4`.
        v.each("qmap tasks in custody not in exactly one of its queue maps", &custody, |t| {
            let place = s(&t["bpf_place"]);
            let queue = place.strip_prefix("queue").and_then(|q| q.split_once(' ')).map(|(n, _)| n);
            (!queue.is_some_and(|n| ["0", "1", "2", "3", "4"].contains(&n)) || place.contains("ambiguous"))
                .then(|| format!("{}[{}] at {place}", s(&t["comm"]), t["pid"]))
        });
        return;
    }
    let mut per_fifo = [0u64; 5];
    v.each("qmap tasks in custody not on exactly one FIFO", &custody, |t| {
        let place = s(&t["bpf_place"]);
        match qmap_fifo(&place) {
            Some(n) if !place.contains("ambiguous") => {
                per_fifo[n] += 1;
                None
            }
            _ => Some(format!("{}[{}] at {place}", s(&t["comm"]), t["pid"])),
        }
    });
    let lists: Vec<&Value> = scheds.iter().flat_map(|x| arr(&x["arena_lists"])).collect();
    // Sub-schedulers' placements report no lists yet (issue 18 follow-up): the root's five.
    let root_lists = scheds.first().map_or(0, |x| arr(&x["arena_lists"]).len());
    v.check(root_lists == 5, || format!("{root_lists} arena lists for qmap's five FIFOs"));
    v.each("qmap FIFOs whose links disagree, loop or are cut", &lists, |l| {
        let ok = qmap_fifo(&s(&l["name"])).is_some()
            && l["agree"] == true
            && l["looped"] == false
            && l["truncated"] == false;
        (!ok).then(|| l.to_string())
    });
    if scheds.len() == 1 {
        let lengths: Vec<u64> = lists.iter().map(|l| l["length"].as_u64().unwrap_or(u64::MAX)).collect();
        v.check(lengths == per_fifo, || {
            format!("qmap FIFO lengths {lengths:?}, tasks placed on them {per_fifo:?}")
        });
    }
    let globals = scheds.first().and_then(|x| Shown::parse_cut(x["arena_globals"].as_str()?));
    let qa = globals.as_ref().and_then(|g| g.member("qa"));
    v.check(qa.is_some(), || "qmap's arena globals do not decode to `qa`".into());
    let Some(qa) = qa else { return };
    // The cases that collect it: see `cases::QMAP_STATS_TRUTH`.
    let Some(stats) = stats else { return };
    let printed = qmap_printed(stats);
    let found = QMAP_COUNTERS.iter().filter(|(word, _)| printed.contains_key(*word)).count();
    v.check(found == QMAP_COUNTERS.len(), || {
        format!("qmap-stats: {found} of {} counters printed: {stats:?}", QMAP_COUNTERS.len())
    });
    for (word, field) in QMAP_COUNTERS {
        let Some(&was) = printed.get(*word) else { continue };
        let now = qa.member(field).and_then(Shown::integer);
        v.check(now.is_some_and(|n| n >= was), || {
            format!("qa.{field}: qmap printed {was} ({word}), the dump has {now:?}")
        });
    }
}

/// The counters of qmap's stats lines: `enq=1 dsp=2 delta=1 reenq/cid0=0/0 ...`.
fn qmap_printed(lines: &[String]) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    for word in lines.iter().flat_map(|l| l.split_whitespace()) {
        let Some((names, values)) = word.split_once('=') else { continue };
        for (n, x) in names.split('/').zip(values.split('/')) {
            if let Ok(x) = x.parse() {
                out.insert(n.to_owned(), x);
            }
        }
    }
    out
}

/// One JSON document of an extra truth's lines.
fn json_of(lines: &[String]) -> Value {
    serde_json::from_str(&lines.join("\n")).unwrap_or(Value::Null)
}

/// The programs and maps, as bpftool listed them, against the report's.
fn check_bpftool_lists(b: &Value, progs: &[String], maps: &[String], v: &mut Verdict) {
    let (progs, maps) = (json_of(progs), json_of(maps));
    v.check(progs.is_array() && maps.is_array(), || "bpftool's listings do not parse".into());
    let theirs: BTreeMap<u64, (String, String)> = arr(&progs)
        .iter()
        .filter_map(|p| Some((p["id"].as_u64()?, (s(&p["name"]), s(&p["type"])))))
        .collect();
    let ours: BTreeMap<u64, (String, String)> = arr(&b["programs"])
        .iter()
        .filter_map(|p| Some((p["id"].as_u64()?, (s(&p["name"]), s(&p["prog_type"])))))
        .collect();
    let same_name =
        |ours: &str, theirs: &str| ours == theirs || (ours.len() == 15 && theirs.starts_with(ours));
    let ids = |m: &BTreeMap<u64, (String, String)>| m.keys().copied().collect::<BTreeSet<_>>();
    v.check(ids(&ours) == ids(&theirs), || {
        format!("program ids {:?}, bpftool's {:?}", ids(&ours), ids(&theirs))
    });
    let differ: Vec<String> = ours
        .iter()
        .filter_map(|(id, (n, t))| {
            let (bn, bt) = theirs.get(id)?;
            (!same_name(n, bn) || t != bt).then(|| format!("{id}: {n} {t} vs bpftool's {bn} {bt}"))
        })
        .collect();
    v.check(differ.is_empty() && !ours.is_empty(), || format!("programs differ: {differ:?}"));
    let header = |id: u64, name: String, ty: String, k: &Value, val: &Value, max: &Value, flags: String| {
        (id, (name, ty, k.as_u64(), val.as_u64(), max.as_u64(), flags))
    };
    let theirs: BTreeMap<_, _> = arr(&maps)
        .iter()
        .filter_map(|m| {
            let flags = format!("{:#x}", m["flags"].as_u64()?);
            Some(header(
                m["id"].as_u64()?,
                s(&m["name"]),
                s(&m["type"]),
                &m["bytes_key"],
                &m["bytes_value"],
                &m["max_entries"],
                flags,
            ))
        })
        .collect();
    let ours: BTreeMap<_, _> = arr(&b["maps"])
        .iter()
        .filter_map(|m| {
            let (k, val, max) = (&m["key_size"], &m["value_size"], &m["max_entries"]);
            Some(header(m["id"].as_u64()?, s(&m["name"]), s(&m["map_type"]), k, val, max, s(&m["flags"])))
        })
        .collect();
    v.check(ours == theirs && !ours.is_empty(), || {
        let differ: Vec<String> = ours
            .keys()
            .chain(theirs.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|id| ours.get(id) != theirs.get(id))
            .map(|id| format!("{id}: {:?} vs bpftool's {:?}", ours.get(id), theirs.get(id)))
            .collect();
        format!("maps differ (id: name, type, key, value, max_entries, flags): {differ:?}")
    });
}

/// The scheduler's maps bpftool dumped, element by element, against the report's.
fn check_bpftool_dump(maps: &[&Value], listed: &[String], dump: &[String], v: &mut Verdict) {
    let dumped: BTreeMap<u64, Value> = dump
        .iter()
        .filter_map(|l| {
            let (id, json) = l.split_once(' ')?;
            Some((id.parse().ok()?, serde_json::from_str(json).ok()?))
        })
        .collect();
    // Every map bpftool listed with a small enough value was dumped.
    let small: BTreeSet<u64> = arr(&json_of(listed))
        .iter()
        .filter(|m| m["bytes_value"].as_u64().is_some_and(|n| n <= DUMPED_VALUE_MAX))
        .filter_map(|m| m["id"].as_u64())
        .collect();
    v.check(dumped.keys().copied().collect::<BTreeSet<_>>() == small, || {
        format!("bpftool dumped maps {:?} of {small:?}", dumped.keys().collect::<Vec<_>>())
    });
    let mut compared = Vec::new();
    for m in maps {
        let (Some(id), name) = (m["id"].as_u64(), s(&m["name"])) else { continue };
        let Some(d) = dumped.get(&id) else { continue };
        let ty = s(&m["map_type"]);
        if ty != "array" && ty != "percpu_array" {
            // bpftool dumps no queue or stack; other types are not among these schedulers'.
            v.check(ty == "queue" || ty == "stack", || format!("{name}: a {ty} map is not compared"));
            continue;
        }
        let mut diff = Vec::new();
        compare_map(m, d, &name, &mut diff);
        compared.push(name.clone());
        v.check(diff.is_empty(), || {
            let how = if is_fixed(&name) { "equal" } else { "counters >=" };
            format!("map {name} (id {id}) against bpftool's dump ({how}): {}", diff.join("; "))
        });
    }
    v.check(compared.iter().any(|n| is_fixed(n)), || {
        format!("no map that cannot change was compared with bpftool's dump (compared: {compared:?})")
    });
}

/// An ARRAY or PERCPU_ARRAY's elements (scxray's keys `[i]`, `[i] cpuN`) against bpftool's
/// (`formatted` with the map's BTF, else the raw bytes as a little-endian integer).
fn compare_map(m: &Value, dump: &Value, name: &str, diff: &mut Vec<String>) {
    let Some(elems) = dump.as_array() else {
        diff.push(format!("bpftool could not dump it: {dump}"));
        return;
    };
    // (key index, cpu) -> bpftool's value.
    let mut theirs: BTreeMap<(u64, Option<u64>), Value> = BTreeMap::new();
    for e in elems {
        let f = &e["formatted"];
        let key = f["key"].as_u64().or_else(|| le_integer(&e["key"]).and_then(|k| u64::try_from(k).ok()));
        let Some(key) = key else { continue };
        match (f.is_object(), e["values"].as_array()) {
            (true, None) => drop(theirs.insert((key, None), f["value"].clone())),
            (false, None) => drop(theirs.insert((key, None), raw_number(&e["value"]))),
            (formatted, Some(cpus)) => {
                let cpus = if formatted { arr(&f["values"]) } else { cpus.as_slice() };
                for c in cpus {
                    let val = if formatted { c["value"].clone() } else { raw_number(&c["value"]) };
                    theirs.insert((key, c["cpu"].as_u64()), val);
                }
            }
        }
    }
    let fixed = is_fixed(name);
    let shown = arr(&m["elems"]);
    if shown.is_empty() {
        diff.push("no elements shown".into());
    }
    for e in shown {
        let key = s(&e["key"]);
        let (index, cpu) = key.split_once(' ').map_or((key.as_str(), None), |(i, c)| (i, Some(c)));
        let index = index.trim_start_matches('[').trim_end_matches(']').parse::<u64>().ok();
        let cpu = cpu.and_then(|c| c.strip_prefix("cpu")?.parse::<u64>().ok());
        let Some(theirs) = index.and_then(|i| theirs.get(&(i, cpu))) else {
            diff.push(format!("{key}: not in bpftool's dump"));
            continue;
        };
        let Some(ours) = Shown::parse(&s(&e["value"])) else {
            diff.push(format!("{key}: value does not read back"));
            continue;
        };
        let theirs = datasec_vars(theirs);
        compare(&ours, &theirs, &key, name, fixed, diff);
    }
}

/// A DATASEC value as bpftool prints it (`{".bss": [{"var": value}, ...]}`) as one object
/// of its variables; any other value as it is.
fn datasec_vars(v: &Value) -> Value {
    match v.as_object().map(|o| o.iter().collect::<Vec<_>>()).as_deref() {
        Some([(name, Value::Array(vars))]) if name.starts_with('.') => {
            let mut all = serde_json::Map::new();
            for var in vars.iter().filter_map(Value::as_object) {
                all.extend(var.clone());
            }
            Value::Object(all)
        }
        _ => v.clone(),
    }
}

/// bpftool's raw bytes (`["0x01", "0x00", ...]`) as a little-endian integer (up to 16 bytes).
fn le_integer(bytes: &Value) -> Option<i128> {
    let b = bytes.as_array()?;
    if b.len() > 16 {
        return None;
    }
    let mut n: u128 = 0;
    for (i, x) in b.iter().enumerate() {
        let byte = u128::from_str_radix(x.as_str()?.trim_start_matches("0x"), 16).ok()?;
        n |= byte << (8 * i);
    }
    i128::try_from(n).ok()
}

fn raw_number(bytes: &Value) -> Value {
    le_integer(bytes).map_or(Value::Null, |n| Value::String(n.to_string()))
}

/// `ours` (scxray's) against `theirs` (bpftool's) at `path` of map `map`: every leaf equal
/// when `fixed`, else counters `>=` and the rest present.
fn compare(ours: &Shown, theirs: &Value, path: &str, map: &str, fixed: bool, diff: &mut Vec<String>) {
    match (ours, theirs) {
        (Shown::Struct(members), Value::Object(o)) => {
            for (name, x) in members.iter().filter(|(n, _)| !n.is_empty()) {
                match o.get(name) {
                    Some(t) => compare(x, t, &format!("{path}.{name}"), map, fixed, diff),
                    None => diff.push(format!("{path}.{name}: not in bpftool's")),
                }
            }
            if !members.iter().any(|(n, _)| n.is_empty()) {
                for k in o.keys().filter(|k| !members.iter().any(|(n, _)| n == *k)) {
                    diff.push(format!("{path}.{k}: bpftool's only"));
                }
            }
        }
        (Shown::Array { items, cut }, Value::Array(t)) => {
            if items.len() > t.len() || (!cut && items.len() != t.len()) {
                diff.push(format!(
                    "{path}: {} elements{}, bpftool's {}",
                    items.len(),
                    if *cut { "+" } else { "" },
                    t.len()
                ));
            }
            for (i, (x, y)) in items.iter().zip(t).enumerate() {
                compare(x, y, &format!("{path}[{i}]"), map, fixed, diff);
            }
        }
        (Shown::Str(a), t) => {
            let b = match t {
                Value::String(b) => Some(b.clone()),
                // A char array bpftool did not take for a string (all NULs, say).
                Value::Array(bytes) => {
                    let b: Vec<u8> = bytes
                        .iter()
                        .map_while(|x| x.as_u64())
                        .map_while(|x| u8::try_from(x).ok())
                        .take_while(|&x| x != 0)
                        .collect();
                    Some(String::from_utf8_lossy(&b).into_owned())
                }
                _ => None,
            };
            if fixed && b.as_deref() != Some(a.as_str()) {
                diff.push(format!("{path}: {a:?} vs bpftool's {t}"));
            }
        }
        (Shown::Atom(a), t) => {
            let field = path.rsplit(['.', ' ']).next().unwrap_or(path);
            let ours = ours.integer();
            let theirs = match t {
                Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
                Value::String(x) => x.parse().ok(),
                _ => None,
            };
            let ok = match (ours, theirs) {
                (Some(x), Some(y)) if fixed => x == y,
                (Some(x), Some(y)) if is_counter(map, field) => x >= y,
                (Some(_), Some(_)) => true,
                _ => match t {
                    Value::Bool(b) => !fixed || a == &b.to_string(),
                    Value::String(x) => !fixed || a == x,
                    _ => false,
                },
            };
            if !ok {
                diff.push(format!("{path}: {a} vs bpftool's {t}"));
            }
        }
        (o, t) => diff.push(format!("{path}: {o:?} vs bpftool's {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_left_unread_is_a_failure_only_for_a_type_scxray_reads() {
        let ringbuf = serde_json::json!({"name": "events", "id": 4, "map_type": "ringbuf",
            "error": null, "not_read": "ringbuf maps are shown by their metadata only"});
        let hash = serde_json::json!({"name": "task_ctx", "id": 5, "map_type": "hash",
            "error": null, "not_read": "hash maps are shown by their metadata only"});
        let broken = serde_json::json!({"name": "stats", "id": 6, "map_type": "percpu_array",
            "error": "cpu 1 unreadable"});
        let mut v = Verdict::default();
        check_map_reads(&[&ringbuf], &mut v);
        assert_eq!((v.passed, v.failures.len()), (2, 0));
        let mut v = Verdict::default();
        check_map_reads(&[&ringbuf, &hash, &broken], &mut v);
        assert_eq!(
            v.failures,
            vec![
                "BPF maps read with an error (1 of 3): [\"stats (id 6): cpu 1 unreadable\"]",
                "BPF maps of a read type left unread (1 of 3): [\"task_ctx (id 5, hash): hash maps are shown by their metadata only\"]",
            ]
        );
    }

    #[test]
    fn reads_qmaps_printed_counters() {
        let lines = vec![
            "stats  : enq=1522 dsp=1516 delta=6 reenq/cid0=0/0 deq=1516 core=0 enq_ddsp=0".to_owned(),
            "         exp_local=0 exp_remote=0 exp_timer=0 exp_lost=0".to_owned(),
        ];
        let p = qmap_printed(&lines);
        assert_eq!((p["enq"], p["dsp"], p["cid0"], p["exp_lost"]), (1522, 1516, 0, 0));
        assert!(QMAP_COUNTERS.iter().all(|(w, _)| p.contains_key(*w)));
        assert_eq!(
            (qmap_fifo("qa.fifos[2] (#0)"), qmap_fifo("qa.fifos[5]"), qmap_fifo("qa.fifos[1]x")),
            (Some(2), None, None)
        );
    }

    #[test]
    fn a_qmap_without_an_arena_holds_its_tasks_in_queue_maps() {
        let r = serde_json::json!({"tasks": [
            {"pid": 1, "comm": "a", "ops_state": 2, "bpf_place": "queue3 #0 (by pid)"},
            {"pid": 2, "comm": "b", "ops_state": 6, "bpf_place": "queue5 #1 (by pid)"},
            {"pid": 3, "comm": "c", "ops_state": 0, "bpf_place": null},
        ]});
        let scheds = [serde_json::json!({"maps": [{"map_type": "queue", "name": "queue3"}]})];
        let mut v = Verdict::default();
        check_qmap(&r, &scheds, None, &mut v);
        assert_eq!(v.passed, 1);
        assert_eq!(
            v.failures,
            vec![
                "qmap tasks in custody not in exactly one of its queue maps (1 of 2): [\"b[2] at queue5 #1 (by pid)\"]"
            ]
        );
    }

    #[test]
    fn compares_values_with_bpftools() {
        let bss = serde_json::json!({".bss": [{"nr_total": 10}, {"timer_started": true}, {"name": "ab"}, {"nr_queued": 8}]});
        let ours =
            Shown::parse("{.nr_total = 12, .timer_started = true, .name = \"ab\", .nr_queued = 5}").unwrap();
        let mut diff = Vec::new();
        compare(&ours, &datasec_vars(&bss), "[0]", "x.bss", false, &mut diff);
        assert!(diff.is_empty(), "{diff:?}");
        // Fixed: 12 != 10; a counter that went down fails either way.
        compare(&ours, &datasec_vars(&bss), "[0]", "x.rodata", true, &mut diff);
        assert_eq!(diff, vec!["[0].nr_total: 12 vs bpftool's 10", "[0].nr_queued: 5 vs bpftool's 8"]);
        let less =
            Shown::parse("{.nr_total = 9, .timer_started = false, .name = \"x\", .nr_queued = 9}").unwrap();
        diff.clear();
        compare(&less, &datasec_vars(&bss), "[0]", "x.bss", false, &mut diff);
        assert_eq!(diff, vec!["[0].nr_total: 9 vs bpftool's 10"]);
        // A field bpftool has and scxray does not show.
        diff.clear();
        compare(
            &Shown::parse("{.nr_total = 10}").unwrap(),
            &datasec_vars(&bss),
            "[0]",
            "x.bss",
            false,
            &mut diff,
        );
        assert_eq!(diff.len(), 3, "{diff:?}");
        assert_eq!(le_integer(&serde_json::json!(["0x7b", "0x01", "0x00"])), Some(0x17b));
    }
}
