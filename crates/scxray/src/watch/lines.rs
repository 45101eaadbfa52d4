//! One JSON object per sample (`scxray.watch/1`, the README's "Watching a running guest"
//! documents each field).

use super::triggers::{Trigger, dsq_label};
use crate::kernel::btf::KernelTypes;
use crate::report::diagnose::enable_state_name;
use crate::walk::HostSample;
use scxray_core::Consistency;
use serde_json::{Map, Value, json};

/// The schema name every line carries.
pub const SCHEMA: &str = "scxray.watch/1";

/// The event counters as deltas from the previous valid sample.
#[derive(Debug, Default)]
pub struct EventDeltas {
    last: Option<Vec<i64>>,
}

impl EventDeltas {
    /// `name: delta` for each counter of `s` (the first sample's deltas are from 0: the
    /// totals so far); `null` for a torn sample, whose counters are not kept.
    pub fn of(&mut self, s: &HostSample, names: &[String]) -> Value {
        if !s.is_valid() || s.events.is_empty() {
            return Value::Null;
        }
        let mut m = Map::new();
        let last = self.last.as_deref().unwrap_or(&[]);
        for (i, (name, &v)) in names.iter().zip(&s.events).enumerate() {
            let before = last.get(i).copied().unwrap_or(0);
            m.insert(name.clone(), json!(v.wrapping_sub(before)));
        }
        self.last = Some(s.events.to_vec());
        Value::Object(m)
    }
}

/// The line of sample number `seq`, taken `t_ms` after the watch began.
pub fn sample_line(
    seq: u64,
    t_ms: f64,
    s: &HostSample,
    types: &KernelTypes<'_>,
    events: Value,
    triggers: &[Trigger],
) -> Value {
    let consistency = match s.consistency {
        Consistency::Stable => "stable",
        Consistency::Retried => "retried",
        Consistency::Torn => "torn",
    };
    let root = s.root.map(|r| {
        json!({
            "sched_kva": format!("{:#x}", r.sched_kva.0),
            "exit_kind": r.exit_kind,
            "exit_kind_name": types.enum_name("scx_exit_kind", u64::from(r.exit_kind)),
            "aborting": r.aborting,
            "bypass_depth": r.bypass_depth,
            "watchdog_timeout_jiffies": r.watchdog_timeout,
        })
    });
    let cpus: Vec<Value> = s
        .cpus
        .iter()
        .map(|c| {
            json!({
                "cpu": c.cpu,
                "nr_running": c.nr_running,
                "flags": c.flags,
                "rq_clock": c.rq_clock,
                "scx_clock": c.scx_clock,
                "curr_pid": c.curr_pid,
                "curr_comm": c.curr_comm.map(|x| x.to_string()),
                "runnable": c.runnable,
            })
        })
        .collect();
    let dsqs: Vec<Value> = s
        .dsqs
        .iter()
        .map(|d| json!({ "dsq": dsq_label(d.origin, d.id), "id": format!("{:#x}", d.id), "nr": d.nr, "seq": d.seq }))
        .collect();
    let timeout = s.root.and_then(|r| r.watchdog_timeout);
    let oldest: Vec<Value> = s
        .oldest
        .iter()
        .map(|o| {
            json!({
                "pid": o.pid,
                "comm": o.comm.map(|x| x.to_string()),
                "cpu": o.cpu,
                "runnable_at": o.runnable_at,
                "age_jiffies": o.age_jiffies,
                "age_of_timeout": timeout.filter(|&t| t > 0).map(|t| o.age_jiffies as f64 / t as f64),
            })
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "seq": seq,
        "t_ms": (t_ms * 1000.0).round() / 1000.0,
        "consistency": consistency,
        "valid": s.is_valid(),
        "jiffies": s.jiffies,
        "enable_state": s.enable_state.map(|v| enable_state_name(types, v)),
        "scheduler": root,
        "cpus": cpus,
        "dsqs": dsqs,
        "events_delta": events,
        "runnable": s.runnable,
        "oldest_runnable": oldest,
        "problems": s.problems,
        "first_problem": s.first_problem.as_ref().map(crate::report::schema::describe_problem),
        "truncated": s.truncated,
        "triggers": triggers,
    })
}
