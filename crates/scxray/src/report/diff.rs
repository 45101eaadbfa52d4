//! `scxray diff A B`: two dumps of the same guest taken apart in time, compared to find what
//! is stuck. A healthy scheduler moves tasks: DSQ sequence numbers advance, runnable tasks get
//! to run (their `runnable_at` moves), CPUs with work see their clock advance.

use super::schema::{CpuReport, DsqReport, Hex, Report, TaskReport};
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
    pub kva: Hex,
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
    /// Why either report is incomplete (a cap cut a walk), which the verdict cannot see past;
    /// absent when both are whole.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub incomplete: Vec<String>,
}

/// What cut `r` short, each prefixed with `side`.
fn incomplete(side: &str, r: &Report) -> Vec<String> {
    let mut out: Vec<String> = r.caps_fired.iter().map(|c| format!("{side}: {}", c.describe())).collect();
    if out.is_empty() && r.truncated {
        // A report written before caps_fired existed, or cut by what the wire dropped.
        out.push(format!("{side}: truncated (see its problems)"));
    }
    out
}

fn key(label: &str, kva: &str) -> String {
    format!("{label}@{kva}")
}

/// Compares `a` (earlier) with `b` (later).
pub fn diff(a: &Report, b: &Report) -> Diff {
    let in_a: HashMap<String, &DsqReport> = a.dsqs.iter().map(|d| (key(&d.label, &d.kva), d)).collect();
    let in_b: HashMap<String, &DsqReport> = b.dsqs.iter().map(|d| (key(&d.label, &d.kva), d)).collect();
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
    fn waiting(r: &Report) -> HashMap<Hex, &TaskReport> {
        r.tasks
            .iter()
            .filter(|t| t.scx_flags.flags.iter().any(|f| f == "QUEUED"))
            .filter(|t| !t.found_on.iter().any(|p| p.starts_with("curr")))
            .map(|t| (t.kva, t))
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
                comm: t.comm.to_string(),
                kva: t.kva,
                runnable_at: at,
                found_on: t.found_on.iter().map(ToString::to_string).collect(),
            })
        })
        .collect();
    starving.sort_by_key(|t| t.pid);

    let cpus_a: HashMap<u32, &CpuReport> = a.cpus.iter().map(|c| (c.cpu, c)).collect();
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
        incomplete: incomplete("before", a).into_iter().chain(incomplete("after", b)).collect(),
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
    for i in &d.incomplete {
        let _ = writeln!(o, "INCOMPLETE: {i}");
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn walk() -> serde_json::Value {
        json!({"reported": 0, "skipped": 0, "truncated": false, "broken": null})
    }

    fn dsq(label: &str, kva: &str, nr: u32, seq: u32) -> serde_json::Value {
        json!({"label": label, "kind": "user", "cpu": null, "node": null, "kva": kva, "id": "0x0",
               "nr": nr, "seq": seq, "tasks": [], "walk": walk()})
    }

    fn task(kva: &str, pid: i32, flags: &[&str], runnable_at: u64, found_on: &[&str]) -> serde_json::Value {
        json!({"kva": kva, "pid": pid, "tgid": pid, "comm": "t", "state": "R",
               "scx_flags": {"raw": "0x1", "flags": flags, "state": "ENABLED", "reenq_reason": null},
               "dsq_kva": null, "dsq_id": null, "dsq": null, "ops_state": 0, "ddsp_dsq": null,
               "weight": 100, "sticky_cpu": -1, "holding_cpu": -1, "runnable_at": runnable_at,
               "runnable_age_jiffies": 0, "slice": 0, "dsq_vtime": 0, "cpus_allowed": "0-3",
               "found_on": found_on})
    }

    fn cpu(n: u32, nr_running: u32, clock: u64) -> serde_json::Value {
        json!({"cpu": n, "rq_kva": "0x1", "nr_running": nr_running, "flags": 0, "cpu_released": false,
               "ops_qseq": null, "kick_sync": null, "nr_immed": null, "clock": clock,
               "curr": {"kva": "0x9", "pid": 9, "comm": "busy", "error": null},
               "runnable": [], "runnable_walk": walk()})
    }

    fn report(
        jiffies: u64,
        dsqs: Vec<serde_json::Value>,
        tasks: Vec<serde_json::Value>,
        cpus: Vec<serde_json::Value>,
    ) -> Report {
        serde_json::from_value(json!({
            "schema": "scxray.dump/1",
            "machine": {"arch": "x86_64", "release": null, "cpus": 4, "nodes": 1, "paging": "",
                        "kaslr_offset": "0x0", "memory": ""},
            "sched_ext": {"enable_state": null, "enable_state_value": null, "enabled": null,
                          "switching_all": null, "switched_all": null, "in_softlockup": null,
                          "breather_depth": null, "nr_rejected": null, "enable_seq": 7,
                          "jiffies": jiffies, "watchdog_age_jiffies": null},
            "scheduler": {"state": "enabled", "ops_name": "qmap", "sched_kva": "0xffff1", "exit_kind": 0,
                          "exit_kind_name": null, "aborting": false, "bypass_depth": 0,
                          "provenance": "live", "exit": null, "events": {}},
            "cpus": cpus, "dsqs": dsqs, "user_dsqs": null,
            "scx_tasks": {"tasks": [], "walk": walk()},
            "tasks": tasks, "unreadable_tasks": [], "problems": [], "truncated": false
        }))
        .unwrap()
    }

    #[test]
    fn dsqs_are_classified_by_depth_and_sequence() {
        let a = report(
            100,
            vec![
                dsq("user", "0xa", 3, 10),
                dsq("user", "0xb", 3, 10),
                dsq("user", "0xc", 3, 10),
                dsq("user", "0xd", 3, 10),
                dsq("user", "0xe", 0, 5),
                dsq("user", "0xf", 1, 1),
            ],
            vec![],
            vec![],
        );
        let b = report(
            400,
            vec![
                dsq("user", "0xa", 3, 10),
                dsq("user", "0xb", 1, 14),
                dsq("user", "0xc", 5, 12),
                dsq("user", "0xd", 3, 19),
                dsq("user", "0xe", 0, 5),
                dsq("user", "0x10", 2, 2),
            ],
            vec![],
            vec![],
        );
        let d = diff(&a, &b);
        let trend = |kva: &str| d.dsqs.iter().find(|c| c.kva == kva).map(|c| c.trend);
        assert_eq!(trend("0xa"), Some(DsqTrend::Dead));
        assert_eq!(trend("0xb"), Some(DsqTrend::Draining));
        assert_eq!(trend("0xc"), Some(DsqTrend::Growing));
        assert_eq!(trend("0xd"), Some(DsqTrend::Flowing));
        assert_eq!(trend("0xe"), Some(DsqTrend::Idle));
        assert_eq!(
            (d.dsqs_gone.clone(), d.dsqs_new.clone()),
            (vec!["user".to_owned()], vec!["user".to_owned()])
        );
        let c = d.dsqs.iter().find(|c| c.kva == "0xd").unwrap();
        assert_eq!((c.delta_nr, c.delta_seq), (0, 9));
        assert!(!d.healthy, "a dead DSQ is stuck");
        assert!(d.same_scheduler);
        assert_eq!(d.jiffies, (Some(100), Some(400)));
    }

    #[test]
    fn queued_tasks_whose_runnable_at_did_not_move_starve() {
        let t = |ra, on: &[&str]| task("0x100", 42, &["QUEUED"], ra, on);
        let a = report(
            100,
            vec![],
            vec![t(90, &["scx_tasks"]), task("0x200", 43, &["QUEUED"], 90, &["scx_tasks"])],
            vec![],
        );
        // 0x100 waited the whole time; 0x200 ran in between (runnable_at moved).
        let b = report(
            400,
            vec![],
            vec![t(90, &["dsq user", "scx_tasks"]), task("0x200", 43, &["QUEUED"], 350, &[])],
            vec![],
        );
        let d = diff(&a, &b);
        assert_eq!(d.starving.len(), 1);
        assert_eq!((d.starving[0].pid, d.starving[0].runnable_at), (42, 90));
        assert_eq!(d.starving[0].found_on, ["dsq user", "scx_tasks"]);
        assert!(!d.healthy);
        // The running task and a task that is not queued never starve.
        let a = report(
            100,
            vec![],
            vec![task("0x300", 44, &["QUEUED"], 90, &["curr cpu 0"]), task("0x400", 45, &[], 90, &[])],
            vec![],
        );
        let b = report(
            400,
            vec![],
            vec![task("0x300", 44, &["QUEUED"], 90, &["curr cpu 0"]), task("0x400", 45, &[], 90, &[])],
            vec![],
        );
        assert!(diff(&a, &b).starving.is_empty());
    }

    #[test]
    fn cpus_with_work_and_a_frozen_clock_are_stalled() {
        let a = report(100, vec![], vec![], vec![cpu(0, 2, 5000), cpu(1, 2, 5000), cpu(2, 0, 5000)]);
        let b = report(400, vec![], vec![], vec![cpu(0, 2, 5000), cpu(1, 2, 9000), cpu(2, 0, 5000)]);
        let d = diff(&a, &b);
        assert_eq!(d.stalled_cpus.len(), 1);
        assert_eq!((d.stalled_cpus[0].cpu, d.stalled_cpus[0].clock), (0, 5000));
        assert_eq!(d.stalled_cpus[0].curr.as_deref(), Some("busy[9]"));
        let text = render(&d);
        assert!(text.contains("STUCK") && text.contains("CPU 0 nr_running=2 clock=5000"), "{text}");
    }

    #[test]
    fn a_healthy_pair_is_healthy() {
        let a = report(
            100,
            vec![dsq("user", "0xa", 3, 10)],
            vec![task("0x100", 42, &["QUEUED"], 90, &[])],
            vec![cpu(0, 1, 10)],
        );
        let b = report(
            400,
            vec![dsq("user", "0xa", 3, 11)],
            vec![task("0x100", 42, &["QUEUED"], 380, &[])],
            vec![cpu(0, 1, 99)],
        );
        let d = diff(&a, &b);
        assert!(d.healthy, "{d:?}");
        assert!(render(&d).contains("healthy"));
    }
}
