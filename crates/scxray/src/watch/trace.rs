//! The watch as a trace Perfetto's UI opens (the Chrome JSON trace event format): each DSQ's
//! depth and each CPU's `nr_running` as counters, each CPU's current task as slices on that
//! CPU's track. Torn samples are left out.

use super::triggers::dsq_label;
use crate::walk::HostSample;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The process id every event carries (one process: the guest).
const PID: u32 = 1;

/// The events so far.
#[derive(Debug, Default)]
pub struct Trace {
    events: Vec<Value>,
    /// Each CPU's current task (pid, comm) and since when (µs).
    running: BTreeMap<u32, (Option<i32>, String, f64)>,
    /// CPUs whose track is named.
    tracks: BTreeSet<u32>,
    last_us: f64,
}

impl Trace {
    /// A trace with its process and CPU tracks named.
    pub fn new() -> Self {
        let mut t = Self::default();
        t.events.push(
            json!({"ph": "M", "name": "process_name", "pid": PID, "args": {"name": "guest (scxray watch)"}}),
        );
        t
    }

    /// Adds the sample taken `t_ms` after the watch began.
    pub fn add(&mut self, t_ms: f64, s: &HostSample) {
        if !s.is_valid() {
            return;
        }
        let ts = t_ms * 1000.0;
        self.last_us = ts;
        for d in &s.dsqs {
            let name = format!("dsq {}", dsq_label(d.origin, d.id));
            self.events.push(json!({"ph": "C", "name": name, "pid": PID, "ts": ts, "args": {"nr": d.nr}}));
        }
        for c in &s.cpus {
            let name = format!("cpu {} nr_running", c.cpu);
            self.events.push(
                json!({"ph": "C", "name": name, "pid": PID, "ts": ts, "args": {"nr_running": c.nr_running}}),
            );
            let now = (c.curr_pid, c.curr_comm.map(|x| x.to_string()).unwrap_or_default());
            match self.running.get(&c.cpu) {
                Some((pid, comm, _)) if (*pid, comm.as_str()) == (now.0, now.1.as_str()) => {}
                _ => {
                    self.close(c.cpu, ts);
                    if self.tracks.insert(c.cpu) {
                        self.events.push(json!({"ph": "M", "name": "thread_name", "pid": PID, "tid": c.cpu,
                                                "args": {"name": format!("cpu {}", c.cpu)}}));
                    }
                    self.running.insert(c.cpu, (now.0, now.1, ts));
                }
            }
        }
    }

    /// Ends `cpu`'s current slice at `ts`.
    fn close(&mut self, cpu: u32, ts: f64) {
        if let Some((pid, comm, since)) = self.running.remove(&cpu) {
            let name = match pid {
                Some(p) => format!("{comm}[{p}]"),
                None => "(none)".into(),
            };
            self.events.push(json!({"ph": "X", "name": name, "pid": PID, "tid": cpu, "ts": since,
                                    "dur": ts - since, "args": {"pid": pid, "comm": comm}}));
        }
    }

    /// The trace, every open slice ended at the last sample.
    pub fn finish(mut self) -> Value {
        let cpus: Vec<u32> = self.running.keys().copied().collect();
        for cpu in cpus {
            self.close(cpu, self.last_us);
        }
        json!({"traceEvents": self.events, "displayTimeUnit": "ms"})
    }
}
