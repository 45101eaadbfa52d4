//! The text report's "BPF state" section: the kernel-wide ID tables, each scheduler's
//! struct_ops map with its programs (ids, names, run statistics) and maps (type, sizes,
//! entries, the first elements decoded), the arena's globals and lists, the placement, then
//! the programs and maps that are no scheduler's, listed.

use super::bpf::{BpfMap, BpfProg, BpfReport, BpfSched};
use super::schema::TaskReport;
use foldhash::{HashMap, HashSet};
use std::fmt::Write as _;

fn map_line(m: &BpfMap) -> String {
    format!(
        "id {} {} {} key={} value={} max_entries={} flags={}",
        m.id, m.name, m.map_type, m.key_size, m.value_size, m.max_entries, m.flags
    )
}

fn prog_line(p: &BpfProg) -> String {
    let mut runs = match (p.run_cnt, p.run_time_ns) {
        (Some(c), Some(ns)) => format!(" run_cnt={c} run_time_ns={ns}"),
        _ => format!(" (run stats {})", p.stats),
    };
    if p.unreadable_cpus > 0 {
        let _ = write!(
            runs,
            " ({} CPUs unreadable: {})",
            p.unreadable_cpus,
            p.stats_error.as_deref().unwrap_or("?")
        );
    }
    format!("id {} {} {} tag {} insns={}{runs}", p.id, p.name, p.prog_type, p.tag, p.insns)
}

fn sched(o: &mut String, s: &BpfSched, progs: &HashMap<u32, &BpfProg>, tasks: &HashMap<i32, &TaskReport>) {
    let _ = write!(o, "scheduler {}: ", s.sched_kva);
    match &s.ops_map {
        Some(m) => {
            let _ = writeln!(
                o,
                "struct_ops map id {} {} (matched by {}, callbacks agree: {})",
                m.id,
                m.name,
                s.matched_by.as_deref().unwrap_or("?"),
                s.callbacks_agree.map_or_else(|| "?".into(), |a| a.to_string())
            );
        }
        None => {
            let _ = writeln!(o, "no struct_ops map found ({} STRUCT_OPS maps looked at)", s.candidates);
        }
    }
    let _ = writeln!(o, "  programs ({}):", s.programs.len());
    for p in &s.programs {
        match progs.get(&p.id) {
            Some(full) => {
                let _ = writeln!(o, "    {}", prog_line(full));
            }
            None => {
                let _ = writeln!(o, "    id {} {}", p.id, p.name);
            }
        }
    }
    let _ = writeln!(o, "  maps ({}):", s.maps.len());
    for m in &s.maps {
        let free = m.free_pages.map_or_else(String::new, |f| format!(", {f} free"));
        let free = match m.reserved_pages {
            Some(r) if r > 0 => format!("{free}, {r} reserved"),
            _ => free,
        };
        let unit = if m.free_pages.is_some() { "pages" } else { "elements" };
        match &m.not_read {
            Some(why) => {
                let _ = writeln!(o, "    {}: contents not read ({why})", map_line(&m.map));
            }
            None => {
                let _ = writeln!(o, "    {}: {} {unit}{free}", map_line(&m.map), m.count);
            }
        }
        for e in &m.elems {
            // A task's storage names the task.
            let key = e
                .key
                .strip_prefix("task ")
                .and_then(|pid| pid.parse::<i32>().ok().filter(|p| p.to_string() == pid))
                .and_then(|pid| tasks.get(&pid))
                .map_or_else(|| e.key.clone(), |t| format!("{}[{}]", t.comm, t.pid));
            let _ = writeln!(o, "      {key} {}", e.value);
        }
        if (m.count as usize) > m.elems.len() && m.free_pages.is_none() {
            let _ = writeln!(o, "      ... {} more", m.count as usize - m.elems.len());
        }
        if !m.truncated.is_empty() || !m.anomalies.is_empty() || m.unreadable > 0 || m.error.is_some() {
            let _ = writeln!(
                o,
                "      (truncated: {}; anomalies: {}; unreadable: {}{})",
                if m.truncated.is_empty() { "no".into() } else { m.truncated.join(",") },
                if m.anomalies.is_empty() { "none".into() } else { m.anomalies.join(",") },
                m.unreadable,
                m.error.as_ref().map_or_else(String::new, |e| format!(", {e}"))
            );
        }
    }
    if let Some(g) = &s.arena_globals {
        let _ = writeln!(o, "  arena globals: {g}");
    }
    for l in &s.arena_lists {
        let _ = writeln!(
            o,
            "  arena list {}: {} objects, links {}{}{}{}",
            l.name,
            l.length,
            if l.agree { "agree" } else { "DISAGREE" },
            if l.looped { ", loops" } else { "" },
            if l.truncated { ", truncated" } else { "" },
            l.error.as_ref().map_or_else(String::new, |e| format!(", unreadable: {e}"))
        );
    }
    if let Some(p) = &s.placement {
        let _ = writeln!(
            o,
            "  waiting tasks: {} given, {} placed, {} ambiguous{}{}{}",
            p.tasks,
            p.placed,
            p.ambiguous,
            if p.truncated { " (truncated)" } else { "" },
            if p.errors > 0 { format!(" ({} reads failed)", p.errors) } else { String::new() },
            if p.storage_loops > 0 {
                format!(" ({} tasks' storage lists loop: not placed)", p.storage_loops)
            } else {
                String::new()
            }
        );
    }
    if s.unreadable > 0 {
        let _ = writeln!(
            o,
            "  ({} programs or maps unreadable: {})",
            s.unreadable,
            s.error.as_deref().unwrap_or("?")
        );
    } else if let Some(e) = &s.error {
        // A map_idr node the search for the struct_ops map could not read.
        let _ = writeln!(o, "  (map_idr not read whole: {e})");
    }
}

/// Appends the BPF section of `b` to `o`.
/// `tasks`: the report's tasks by pid (the first of each pid), to name a task's storage.
pub(super) fn render(o: &mut String, b: &BpfReport, tasks: &HashMap<i32, &TaskReport>) {
    let _ = writeln!(o);
    let _ = writeln!(o, "BPF state");
    let _ = writeln!(o, "---------");
    for t in &b.tables {
        let _ = writeln!(
            o,
            "{}: {} entries{}{}{}{}",
            t.table,
            t.entries,
            if t.truncated { " (truncated)" } else { "" },
            if t.skipped_nodes + t.unreadable > 0 {
                format!(", {} nodes skipped, {} unreadable", t.skipped_nodes, t.unreadable)
            } else {
                String::new()
            },
            if t.id_mismatch > 0 {
                format!(", {} whose own id is not their index", t.id_mismatch)
            } else {
                String::new()
            },
            t.error.as_ref().map_or_else(String::new, |e| format!(": {e}"))
        );
    }
    let progs: HashMap<u32, &BpfProg> = b.programs.iter().map(|p| (p.id, p)).collect();
    for s in &b.schedulers {
        sched(o, s, &progs, tasks);
    }
    if let Some(u) = &b.unlisted_storage {
        let _ = writeln!(
            o,
            "task storage of {} tasks not in the task list ({} elements; died, not yet on scx_tasks, unreadable, or past a list cut short):",
            u.tasks, u.elements
        );
        for t in &u.first {
            let who = match (&t.comm, t.pid, &t.error) {
                (Some(comm), Some(pid), _) => {
                    format!("{comm}[{pid}] state {}", t.state.as_deref().unwrap_or("?"))
                }
                (_, _, e) => format!("unreadable: {}", e.as_deref().unwrap_or("?")),
            };
            for s in &t.storage {
                let _ = writeln!(o, "    {} {who}: {} {}", t.kva, s.map, s.value);
            }
        }
        if u.tasks > u.first.len() {
            let _ = writeln!(o, "    ... {} more", u.tasks - u.first.len());
        }
    }
    let ours: HashSet<u32> = b.schedulers.iter().flat_map(|s| s.programs.iter().map(|p| p.id)).collect();
    let our_maps: HashSet<u32> = b
        .schedulers
        .iter()
        .flat_map(|s| s.maps.iter().map(|m| m.map.id).chain(s.ops_map.iter().map(|m| m.id)))
        .collect();
    let other: Vec<&BpfProg> = b.programs.iter().filter(|p| !ours.contains(&p.id)).collect();
    if !other.is_empty() {
        let _ = writeln!(o, "other programs ({}):", other.len());
        for p in other {
            let _ = writeln!(o, "    {}", prog_line(p));
        }
    }
    let other: Vec<&BpfMap> = b.maps.iter().filter(|m| !our_maps.contains(&m.id)).collect();
    if !other.is_empty() {
        let _ = writeln!(o, "other maps ({}):", other.len());
        for m in other {
            let _ = writeln!(o, "    {}", map_line(m));
        }
    }
    for p in &b.problems {
        let _ = writeln!(o, "  - {p}");
    }
}
