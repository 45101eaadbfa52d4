//! `scxray diff A B`: two dumps of the same guest taken apart in time, compared to find what
//! is stuck. A healthy scheduler moves tasks: DSQ sequence numbers advance, runnable tasks get
//! to run (their `runnable_at` moves), CPUs with work see their clock advance.

use crate::report::Report;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write as _;

/// What happened to one DSQ between the dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DsqTrend {
    /// Empty in both.
    Idle,
    /// Tasks queued in both and nothing moved (`nr` and `seq` unchanged): stuck.
    Dead,
    /// Fewer tasks than before.
    Draining,
    /// More tasks than before.
    Growing,
    /// Same depth, but tasks went through (`seq` advanced).
    Flowing,
}

/// One DSQ's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsqChange {
    /// Label (`local cpu 3`, `user`, ...).
    pub label: String,
    /// Address.
    pub kva: String,
    /// Id (hex).
    pub id: String,
    /// `nr` in A and B.
    pub nr: (u32, u32),
    /// `seq` in A and B.
    pub seq: (u32, u32),
    /// `nr` B - A.
    pub delta_nr: i64,
    /// `seq` B - A (wrapping u32).
    pub delta_seq: u32,
    /// The classification.
    pub trend: DsqTrend,
}

/// A task runnable in both dumps whose `runnable_at` did not move: it waited the whole time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarvingTask {
    /// pid.
    pub pid: i32,
    /// comm.
    pub comm: String,
    /// `task_struct` address.
    pub kva: String,
    /// `runnable_at` (jiffies), unchanged.
    pub runnable_at: u64,
    /// Where it was in B.
    pub found_on: Vec<String>,
}

/// A CPU with work whose `rq->scx.clock` did not advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StalledCpu {
    /// CPU.
    pub cpu: u32,
    /// `nr_running` in B.
    pub nr_running: u32,
    /// The clock, unchanged.
    pub clock: u64,
    /// The running task in B.
    pub curr: Option<String>,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Schema tag.
    pub schema: String,
    /// `jiffies` of A and B, and the difference.
    pub jiffies: (Option<u64>, Option<u64>),
    /// Same scheduler instance in both (same `scx_sched` address and `enable_seq`).
    pub same_scheduler: bool,
    /// Every DSQ present in both.
    pub dsqs: Vec<DsqChange>,
    /// DSQs only in A or only in B (labels).
    pub dsqs_gone: Vec<String>,
    /// DSQs that appeared in B.
    pub dsqs_new: Vec<String>,
    /// Starving tasks.
    pub starving: Vec<StarvingTask>,
    /// Stalled CPUs.
    pub stalled_cpus: Vec<StalledCpu>,
    /// Nothing dead, starving or stalled.
    pub healthy: bool,
}

fn key(label: &str, kva: &str) -> String {
    format!("{label}@{kva}")
}

/// Compares `a` (earlier) with `b` (later).
pub fn diff(a: &Report, b: &Report) -> Diff {
    let in_a: HashMap<String, &crate::report::DsqReport> =
        a.dsqs.iter().map(|d| (key(&d.label, &d.kva), d)).collect();
    let in_b: HashMap<String, &crate::report::DsqReport> =
        b.dsqs.iter().map(|d| (key(&d.label, &d.kva), d)).collect();
    let mut dsqs = Vec::new();
    for d in &b.dsqs {
        let Some(old) = in_a.get(&key(&d.label, &d.kva)) else { continue };
        let delta_nr = i64::from(d.nr) - i64::from(old.nr);
        let delta_seq = d.seq.wrapping_sub(old.seq);
        let trend = match (old.nr, d.nr, delta_seq) {
            (0, 0, _) => DsqTrend::Idle,
            (_, _, 0) if delta_nr == 0 => DsqTrend::Dead,
            _ if delta_nr < 0 => DsqTrend::Draining,
            _ if delta_nr > 0 => DsqTrend::Growing,
            _ => DsqTrend::Flowing,
        };
        dsqs.push(DsqChange {
            label: d.label.clone(),
            kva: d.kva.clone(),
            id: d.id.clone(),
            nr: (old.nr, d.nr),
            seq: (old.seq, d.seq),
            delta_nr,
            delta_seq,
            trend,
        });
    }
    let dsqs_gone = a
        .dsqs
        .iter()
        .filter(|d| !in_b.contains_key(&key(&d.label, &d.kva)))
        .map(|d| d.label.clone())
        .collect();
    let dsqs_new = b
        .dsqs
        .iter()
        .filter(|d| !in_a.contains_key(&key(&d.label, &d.kva)))
        .map(|d| d.label.clone())
        .collect();

    // A task is waiting when the kernel has it queued (QUEUED) and it is not running.
    fn waiting(r: &Report) -> HashMap<String, &crate::diagnose::TaskReport> {
        r.tasks
            .iter()
            .filter(|t| t.scx_flags.flags.iter().any(|f| f == "QUEUED"))
            .filter(|t| !t.found_on.iter().any(|p| p.starts_with("curr")))
            .map(|t| (t.kva.clone(), t))
            .collect()
    }
    let (wa, wb) = (waiting(a), waiting(b));
    let mut starving: Vec<StarvingTask> = wb
        .values()
        .filter_map(|t| {
            let old = wa.get(&t.kva)?;
            let at = t.runnable_at?;
            (old.pid == t.pid && old.runnable_at == Some(at)).then(|| StarvingTask {
                pid: t.pid,
                comm: t.comm.clone(),
                kva: t.kva.clone(),
                runnable_at: at,
                found_on: t.found_on.clone(),
            })
        })
        .collect();
    starving.sort_by_key(|t| t.pid);

    let cpus_a: HashMap<u32, &crate::report::CpuReport> = a.cpus.iter().map(|c| (c.cpu, c)).collect();
    let stalled_cpus: Vec<StalledCpu> = b
        .cpus
        .iter()
        .filter_map(|c| {
            let old = cpus_a.get(&c.cpu)?;
            let clock = c.clock?;
            (c.nr_running > 0 && old.nr_running > 0 && old.clock == Some(clock)).then(|| StalledCpu {
                cpu: c.cpu,
                nr_running: c.nr_running,
                clock,
                curr: c.curr.as_ref().and_then(|t| Some(format!("{}[{}]", t.comm.as_ref()?, t.pid?))),
            })
        })
        .collect();
    let same_scheduler = match (&a.scheduler, &b.scheduler) {
        (Some(x), Some(y)) => x.sched_kva == y.sched_kva && a.sched_ext.enable_seq == b.sched_ext.enable_seq,
        _ => false,
    };
    let healthy =
        starving.is_empty() && stalled_cpus.is_empty() && !dsqs.iter().any(|d| d.trend == DsqTrend::Dead);
    Diff {
        schema: "scxray.diff/1".into(),
        jiffies: (a.sched_ext.jiffies, b.sched_ext.jiffies),
        same_scheduler,
        dsqs,
        dsqs_gone,
        dsqs_new,
        starving,
        stalled_cpus,
        healthy,
    }
}

/// Renders a diff as text.
pub fn render(d: &Diff) -> String {
    let mut o = String::new();
    let elapsed = match d.jiffies {
        (Some(a), Some(b)) => format!("{} jiffies apart", b.wrapping_sub(a) as i64),
        _ => "time apart unknown".into(),
    };
    let _ = writeln!(
        o,
        "scxray diff: {elapsed}; {}",
        if d.same_scheduler {
            "same scheduler instance"
        } else {
            "NOT the same scheduler instance (reloaded or absent)"
        }
    );
    let _ = writeln!(
        o,
        "verdict: {}",
        if d.healthy { "healthy: nothing dead, starving or stalled" } else { "STUCK" }
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "DSQs ({} in both):", d.dsqs.len());
    for c in d.dsqs.iter().filter(|c| c.trend != DsqTrend::Idle) {
        let _ = writeln!(
            o,
            "  {:<9} {:<14} id={} nr {}->{} ({:+}) seq {}->{} (+{})",
            format!("{:?}", c.trend).to_lowercase(),
            c.label,
            c.id,
            c.nr.0,
            c.nr.1,
            c.delta_nr,
            c.seq.0,
            c.seq.1,
            c.delta_seq
        );
    }
    let idle = d.dsqs.iter().filter(|c| c.trend == DsqTrend::Idle).count();
    let _ = writeln!(o, "  ({idle} idle)");
    if !d.dsqs_gone.is_empty() || !d.dsqs_new.is_empty() {
        let _ = writeln!(o, "  gone: {:?}  new: {:?}", d.dsqs_gone, d.dsqs_new);
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "starving tasks (queued in both, runnable_at unchanged): {}", d.starving.len());
    for t in &d.starving {
        let _ =
            writeln!(o, "  {}[{}] runnable_at={} on {}", t.comm, t.pid, t.runnable_at, t.found_on.join(", "));
    }
    let _ = writeln!(o, "stalled CPUs (work queued, clock unchanged): {}", d.stalled_cpus.len());
    for c in &d.stalled_cpus {
        let _ = writeln!(
            o,
            "  CPU {} nr_running={} clock={} curr={}",
            c.cpu,
            c.nr_running,
            c.clock,
            c.curr.as_deref().unwrap_or("-")
        );
    }
    o
}
