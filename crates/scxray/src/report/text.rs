//! The text form of a report, laid out like the kernel's own `scx_dump_state` output
//! (a "CPU states" section with per-CPU headers and task lines: `*` marks the running task,
//! the state letter follows), plus what the kernel's dump does not show: the global state,
//! every DSQ with its depth, seq and queued tasks, and what scxray could not read.

use super::schema::{Hex, Report, TaskRef, TaskReport};
use foldhash::{HashMap, HashMapExt};
use std::fmt::Write as _;

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn name(t: &TaskRef) -> String {
    match (&t.comm, t.pid) {
        (Some(c), Some(p)) => format!("{c}[{p}]"),
        _ => format!("<unreadable {}: {}>", t.kva, t.error.as_deref().unwrap_or("?")),
    }
}

/// One task the way `scx_dump_task` prints it; `marker` is `*` for the running task.
fn task_block(o: &mut String, marker: char, r: &TaskRef, d: Option<&TaskReport>) {
    let Some(d) = d else {
        let _ = writeln!(o, " {marker}? {}", name(r));
        return;
    };
    let age = d.runnable_age_jiffies.map_or_else(String::new, |a| format!(" {a:+}j"));
    let _ = writeln!(o, " {marker}{} {}[{}]{age}", d.state.unwrap_or('?'), d.comm, d.pid);
    let f = &d.scx_flags;
    let flags = if f.flags.is_empty() { f.raw.clone() } else { f.flags.join("|") };
    let (ops_state, qseq) = d.ops_state.map_or((None, None), |v| (Some(v & 3), Some(v >> 2)));
    let _ = writeln!(
        o,
        "      scx_state/flags={}/{} ops_state/qseq={}/{}",
        f.state.as_deref().unwrap_or("?"),
        flags,
        opt(ops_state),
        opt(qseq)
    );
    let _ = writeln!(
        o,
        "      sticky/holding_cpu={}/{} dsq_id={}",
        opt(d.sticky_cpu),
        opt(d.holding_cpu),
        // `(n/a)`: on no DSQ; `?`: on one whose id could not be read.
        d.dsq.as_deref().unwrap_or(if d.dsq_kva.is_some() { "?" } else { "(n/a)" })
    );
    let _ =
        writeln!(o, "      dsq_vtime={} slice={} weight={}", opt(d.dsq_vtime), opt(d.slice), opt(d.weight));
    let _ = writeln!(o, "      cpus={}", d.cpus_allowed.as_deref().unwrap_or("?"));
    if let Some(p) = &d.bpf_place {
        let _ = writeln!(o, "      bpf_place={p}");
    }
    for st in &d.bpf_storage {
        let _ = writeln!(o, "      bpf_storage {}={}", st.map, st.value);
    }
}

/// Renders `r` as text.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let m = &r.machine;
    let details: HashMap<Hex, &TaskReport> = r.tasks.iter().map(|t| (t.kva, t)).collect();
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
    // A report cut short says so before anything else.
    let caps: Vec<String> = r.caps_fired.iter().map(super::schema::CapFired::describe).collect();
    for c in &caps {
        let _ = writeln!(o, "TRUNCATED: {c}");
    }
    let g = &r.sched_ext;
    let _ = writeln!(
        o,
        "sched_ext: enable_state={}({}) enabled={} switching_all={} switched_all={} nr_rejected={} enable_seq={}{}",
        g.enable_state.as_deref().unwrap_or("?"),
        opt(g.enable_state_value),
        opt(g.enabled),
        opt(g.switching_all.map(u8::from)),
        opt(g.switched_all),
        opt(g.nr_rejected),
        opt(g.enable_seq),
        g.watchdog_age_jiffies.map_or_else(String::new, |a| format!(" watchdog_age={a}j"))
    );
    match &r.scheduler {
        Some(s) => {
            let _ = writeln!(
                o,
                "scheduler \"{}\": {} {} exit_kind={}{} aborting={} bypass_depth={} ({})",
                s.ops_name.as_deref().unwrap_or("?"),
                // 6.12-6.15 have no scx_sched: the scheduler is the `scx_ops` global.
                if s.provenance == "globals" { "scx_ops" } else { "scx_sched" },
                s.sched_kva,
                s.exit_kind,
                s.exit_kind_name.as_ref().map(|n| format!("({n})")).unwrap_or_default(),
                u8::from(s.aborting),
                s.bypass_depth,
                s.provenance
            );
            if let Some(e) = &s.exit {
                let _ = writeln!(
                    o,
                    "  exit: kind={} code={} reason: {}",
                    opt(e.kind),
                    opt(e.exit_code),
                    e.reason.as_deref().unwrap_or("?")
                );
                if let Some(msg) = e.msg.as_deref().filter(|m| !m.is_empty()) {
                    let _ = writeln!(o, "  exit message: {msg}");
                }
            }
            let events: Vec<String> =
                s.events.iter().filter(|(_, v)| **v != 0).map(|(k, v)| format!("{k}={v}")).collect();
            // Counters that could not be read keep the line, saying which CPUs are missing.
            let missing = s.events_missing.as_ref().map(|m| format!(" ({m})"));
            if !events.is_empty() || missing.is_some() {
                let _ = writeln!(o, "  events: {}{}", events.join(" "), missing.unwrap_or_default());
            }
            for sub in r.schedulers.iter().skip(1) {
                let _ = writeln!(
                    o,
                    "{:indent$}sub-scheduler \"{}\" level {} cgroup {}: scx_sched {} exit_kind={}{} aborting={} bypass_depth={} dsqs={}",
                    "",
                    sub.name.as_deref().unwrap_or("?"),
                    sub.level,
                    sub.cgroup_path.as_deref().unwrap_or("?"),
                    sub.sched_kva,
                    sub.exit_kind,
                    sub.exit_kind_name.as_ref().map(|n| format!("({n})")).unwrap_or_default(),
                    u8::from(sub.aborting),
                    sub.bypass_depth,
                    sub.dsqs,
                    indent = 2 * usize::try_from(sub.level.max(1)).unwrap_or(1),
                );
            }
            if let Some(w) = &r.sub_scheds_walk
                && (w.truncated || w.broken.is_some())
            {
                let _ = writeln!(
                    o,
                    "  (sub-schedulers: {} walked, truncated {}, broken: {})",
                    w.reported,
                    w.truncated,
                    w.broken.as_deref().unwrap_or("no")
                );
            }
        }
        None => match &r.scheduler_unknown {
            Some(why) => {
                let _ = writeln!(o, "scheduler: {why}");
            }
            None => {
                let _ = writeln!(o, "scheduler: none attached");
            }
        },
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "CPU states");
    let _ = writeln!(o, "----------");
    for c in &r.cpus {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "CPU {:<4}: nr_run={} flags={:#x} cpu_rel={} ops_qseq={} ksync={} clock={}",
            c.cpu,
            c.nr_running,
            c.flags,
            u8::from(c.cpu_released),
            opt(c.ops_qseq),
            opt(c.kick_sync),
            opt(c.clock),
        );
        let _ = writeln!(o, "          curr={}", c.curr.as_ref().map_or_else(|| "-".into(), name));
        if let Some(curr) = &c.curr
            && details.get(&curr.kva).is_some_and(|d| d.scx_flags.state.as_deref() == Some("ENABLED"))
        {
            let _ = writeln!(o);
            task_block(&mut o, '*', curr, details.get(&curr.kva).copied());
        }
        for t in &c.runnable {
            task_block(&mut o, ' ', t, details.get(&t.kva).copied());
        }
        if c.runnable_walk.truncated {
            let _ = writeln!(o, "  (runnable_list truncated after {} tasks)", c.runnable_walk.reported);
        }
        if let Some(b) = &c.runnable_walk.broken {
            let _ = writeln!(o, "  (runnable_list broken: {b})");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Dispatch queues");
    let _ = writeln!(o, "---------------");
    let mut empty = 0;
    // DSQs of a sub-scheduler say whose they are.
    let root_kva = r.schedulers.first().map(|s| s.sched_kva.as_str());
    let owners: HashMap<&str, &str> = r
        .schedulers
        .iter()
        .skip(1)
        .map(|s| (s.sched_kva.as_str(), s.name.as_deref().unwrap_or("?")))
        .collect();
    for d in &r.dsqs {
        // A DSQ whose walk was cut or broke is no empty one, whatever its `nr` says.
        if d.nr == 0 && d.tasks.is_empty() && !d.walk.truncated && d.walk.broken.is_none() {
            empty += 1;
            continue;
        }
        let id =
            scxray_core::DsqId::decode(u64::from_str_radix(d.id.trim_start_matches("0x"), 16).unwrap_or(0));
        let owner = match d.sched.as_deref() {
            Some(k) if Some(k) != root_kva => {
                format!(" of \"{}\" ({k})", owners.get(k).copied().unwrap_or("?"))
            }
            _ => String::new(),
        };
        let _ = writeln!(o, "DSQ {:<14} id={} nr={} seq={} at {}{owner}", d.label, id, d.nr, d.seq, d.kva);
        for t in &d.tasks {
            let age = details
                .get(&t.kva)
                .and_then(|x| x.runnable_age_jiffies)
                .map_or_else(String::new, |a| format!(" {a:+}j"));
            let _ = writeln!(o, "    {}{age}", name(t));
        }
        if d.walk.truncated || d.walk.broken.is_some() {
            let _ = writeln!(
                o,
                "    (walked {}, truncated {}, broken: {})",
                d.walk.reported,
                d.walk.truncated,
                d.walk.broken.as_deref().unwrap_or("no")
            );
        }
    }
    let _ = writeln!(o, "({} DSQs walked, {empty} empty)", r.dsqs.len());
    if let Some(u) = &r.user_dsqs {
        let _ = writeln!(
            o,
            "dsq_hash: {} buckets, {} user DSQs{}{}{}{}",
            u.table_size,
            u.nodes,
            if u.truncated.is_empty() {
                String::new()
            } else {
                format!(", truncated: {}", u.truncated.join(","))
            },
            if u.broken_chains > 0 {
                // A chain that broke may have run into another bucket's first.
                format!(", {} broken chains (a DSQ may be listed twice)", u.broken_chains)
            } else {
                String::new()
            },
            match u.first_looped_bucket {
                Some(b) if u.looped_chains > 0 =>
                    format!(", {} looped chains (first in bucket {b})", u.looped_chains),
                _ => String::new(),
            },
            match u.first_stray_bucket {
                Some(b) if u.stray_chains > 0 => {
                    format!(", {} chains ran into another bucket's (first in bucket {b})", u.stray_chains)
                }
                _ => String::new(),
            }
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "scx_tasks: {} tasks{}; {} with detail, {} unreadable",
        r.scx_tasks.tasks.len(),
        if r.scx_tasks.walk.truncated { " (truncated)" } else { "" },
        r.tasks.len(),
        r.unreadable_tasks.len()
    );
    if let Some(b) = &r.bpf {
        let mut by_pid: HashMap<i32, &TaskReport> = HashMap::with_capacity(r.tasks.len());
        for t in &r.tasks {
            by_pid.entry(t.pid).or_insert(t);
        }
        super::bpf_text::render(&mut o, b, &by_pid);
    }
    // The caps were stated at the top.
    let problems: Vec<&String> = r.problems.iter().filter(|p| !caps.contains(p)).collect();
    if !problems.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Problems");
        let _ = writeln!(o, "--------");
        for p in problems {
            let _ = writeln!(o, "  - {p}");
        }
    }
    o
}
