//! The text form of a report, laid out like the kernel's own `scx_dump_state` output
//! (per-CPU headers, task lines with runnable/current markers), plus every DSQ.

use crate::report::{Report, TaskRef};
use std::fmt::Write as _;

fn task(t: &TaskRef) -> String {
    match (&t.comm, t.pid) {
        (Some(c), Some(p)) => format!("{c}[{p}]"),
        _ => format!("<unreadable {}: {}>", t.kva, t.error.as_deref().unwrap_or("?")),
    }
}

/// Renders `r` as text.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let m = &r.machine;
    let _ = writeln!(
        o,
        "Linux {} ({}), {} CPUs, {} nodes, {}, KASLR offset {}",
        m.release.as_deref().unwrap_or("(release unknown)"),
        m.arch,
        m.cpus,
        m.nodes,
        m.paging,
        m.kaslr_offset
    );
    match &r.scheduler {
        Some(s) => {
            let _ = writeln!(
                o,
                "sched_ext: {} scheduler \"{}\"  scx_sched {}  exit_kind {}{}  aborting {}  bypass_depth {}  ({})",
                s.state.as_deref().unwrap_or("?"),
                s.ops_name.as_deref().unwrap_or("?"),
                s.sched_kva,
                s.exit_kind,
                s.exit_kind_name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
                s.aborting,
                s.bypass_depth,
                s.provenance
            );
        }
        None => {
            let _ = writeln!(o, "sched_ext: no BPF scheduler attached (scx_root is NULL)");
        }
    }
    for c in &r.cpus {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "CPU {:<3}: nr_run={} flags={:#x} cpu_rel={} ops_qseq={} kick_sync={} clock={}",
            c.cpu,
            c.nr_running,
            c.flags,
            u8::from(c.cpu_released),
            c.ops_qseq.map_or("-".into(), |v| v.to_string()),
            c.kick_sync.map_or("-".into(), |v| v.to_string()),
            c.clock.map_or("-".into(), |v| v.to_string()),
        );
        let _ = writeln!(o, "          curr={}", c.curr.as_ref().map_or("-".into(), task));
        for t in &c.runnable {
            let _ = writeln!(o, "  R {:<24} {}", task(t), t.kva);
        }
        if c.runnable_walk.truncated {
            let _ = writeln!(o, "  (runnable_list truncated at {})", c.runnable_walk.reported);
        }
        if let Some(b) = &c.runnable_walk.broken {
            let _ = writeln!(o, "  (runnable_list broken: {b})");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Dispatch queues ({}):", r.dsqs.len());
    for d in &r.dsqs {
        if d.nr == 0 && d.tasks.is_empty() {
            continue;
        }
        let _ = writeln!(o, "  DSQ {:<14} id={} nr={} seq={} at {}", d.label, d.id, d.nr, d.seq, d.kva);
        for t in &d.tasks {
            let _ = writeln!(o, "      {:<24} {}", task(t), t.kva);
        }
        if d.walk.truncated || d.walk.broken.is_some() {
            let _ = writeln!(
                o,
                "      (walked {}, truncated {}, broken {})",
                d.walk.reported,
                d.walk.truncated,
                d.walk.broken.as_deref().unwrap_or("no")
            );
        }
    }
    let empty = r.dsqs.iter().filter(|d| d.nr == 0 && d.tasks.is_empty()).count();
    let _ = writeln!(o, "  ({empty} empty DSQs not shown)");
    if let Some(u) = &r.user_dsqs {
        let _ = writeln!(
            o,
            "  dsq_hash: {} buckets, {} user DSQs{}{}",
            u.table_size,
            u.nodes,
            if u.truncated.is_empty() {
                String::new()
            } else {
                format!(", truncated: {}", u.truncated.join(","))
            },
            if u.broken_chains > 0 { format!(", {} broken chains", u.broken_chains) } else { String::new() }
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "scx_tasks: {} tasks{}",
        r.scx_tasks.tasks.len(),
        if r.scx_tasks.walk.truncated { " (truncated)" } else { "" }
    );
    if !r.problems.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Problems:");
        for p in &r.problems {
            let _ = writeln!(o, "  - {p}");
        }
    }
    o
}
