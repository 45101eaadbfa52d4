//! What makes a watch fire: judged on valid samples only (a torn one is skipped), each against
//! the samples before it.

use crate::walk::HostSample;
use scxray_core::{DsqOrigin, VirtAddr};
use std::collections::HashMap;
use std::fmt;

/// When the triggers fire.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// A runnable task this old, as a fraction of the scheduler's `watchdog_timeout`, is
    /// stalling (the kernel disables the scheduler at 1).
    pub stall_fraction: f64,
    /// Valid samples in a row a DSQ holding tasks may keep its `nr` and `seq`, and a CPU with
    /// work its clock, before they count as stuck...
    pub still_samples: u32,
    /// ... and the guest time (`jiffies`) those samples must span, as a fraction of
    /// `watchdog_timeout`: a guest whose vCPUs the host did not run (TCG's round robin, a
    /// loaded host) keeps its clocks without being stuck.
    pub still_fraction: f64,
    /// A DSQ deeper than this fires.
    pub max_dsq_depth: Option<u32>,
    /// `nr_running` of the busiest CPU minus that of the idlest above this fires.
    pub max_imbalance: Option<u32>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            stall_fraction: 0.5,
            still_samples: 20,
            still_fraction: 0.1,
            max_dsq_depth: None,
            max_imbalance: None,
        }
    }
}

/// A runnable task that waited too long.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Starving {
    /// pid (none when it did not read).
    pub pid: Option<i32>,
    /// comm.
    pub comm: Option<String>,
    /// The CPU whose runnable list holds it.
    pub cpu: u32,
    /// `jiffies - runnable_at`.
    pub age_jiffies: i64,
}

/// A trigger that fired.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// Runnable tasks at least `threshold` jiffies old (`stall_fraction` of the timeout).
    Stall {
        /// The tasks, oldest first.
        tasks: Vec<Starving>,
        /// The age that fires.
        threshold_jiffies: u64,
        /// The scheduler's `watchdog_timeout`.
        watchdog_timeout_jiffies: u64,
    },
    /// A DSQ holds tasks and neither `nr` nor `seq` moved.
    StuckDsq {
        /// Its label (`local cpu 2`, `user 0x42`).
        dsq: String,
        /// Tasks it holds.
        nr: u32,
        /// Valid samples in a row unchanged.
        samples: u32,
    },
    /// A CPU with work whose `rq.clock` stopped.
    StoppedClock {
        /// The CPU.
        cpu: u32,
        /// Its `nr_running`.
        nr_running: u32,
        /// Valid samples in a row unchanged.
        samples: u32,
    },
    /// The scheduler's exit kind changed (it is exiting or exited).
    ExitKind {
        /// Before.
        from: u32,
        /// Now.
        to: u32,
    },
    /// A DSQ deeper than the user's threshold.
    DsqDepth {
        /// Its label.
        dsq: String,
        /// Its depth.
        nr: u32,
        /// The threshold.
        max: u32,
    },
    /// CPUs' `nr_running` further apart than the user's threshold.
    Imbalance {
        /// The busiest CPU and its `nr_running`.
        busiest: (u32, u32),
        /// The idlest CPU and its `nr_running`.
        idlest: (u32, u32),
        /// The threshold.
        max: u32,
    },
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stall { tasks, threshold_jiffies, watchdog_timeout_jiffies } => {
                write!(
                    f,
                    "stall: {} runnable task(s) waited >= {threshold_jiffies} jiffies (watchdog_timeout \
                     {watchdog_timeout_jiffies}):",
                    tasks.len()
                )?;
                for t in tasks {
                    let comm = t.comm.as_deref().unwrap_or("?");
                    let pid = t.pid.map_or_else(|| "?".into(), |p| p.to_string());
                    write!(f, " {comm}[{pid}] on cpu {} for {} jiffies;", t.cpu, t.age_jiffies)?;
                }
                Ok(())
            }
            Self::StuckDsq { dsq, nr, samples } => {
                write!(f, "stuck DSQ: {dsq} holds {nr} task(s), nr and seq unchanged for {samples} samples")
            }
            Self::StoppedClock { cpu, nr_running, samples } => write!(
                f,
                "stopped clock: cpu {cpu} has {nr_running} task(s) and its rq clock did not move for {samples} samples"
            ),
            Self::ExitKind { from, to } => write!(f, "exit kind changed: {from} -> {to}"),
            Self::DsqDepth { dsq, nr, max } => write!(f, "DSQ depth: {dsq} holds {nr} task(s) (max {max})"),
            Self::Imbalance { busiest, idlest, max } => write!(
                f,
                "imbalance: cpu {} runs {} and cpu {} runs {} (max difference {max})",
                busiest.0, busiest.1, idlest.0, idlest.1
            ),
        }
    }
}

/// A DSQ's label: where it was found, and a user DSQ's id.
pub fn dsq_label(origin: DsqOrigin, id: u64) -> String {
    match origin {
        DsqOrigin::User => format!("user {id:#x}"),
        o => o.to_string(),
    }
}

/// How long a value stayed: valid samples in a row, and `jiffies` when it was first seen.
#[derive(Debug, Clone, Copy, Default)]
struct Still {
    samples: u32,
    since: Option<u64>,
}

impl Still {
    /// `self` one sample on when the value is unchanged, else a new count from `jiffies`.
    fn next(self, unchanged: bool, jiffies: Option<u64>) -> Self {
        if unchanged {
            Self { samples: self.samples + 1, ..self }
        } else {
            Self { samples: 0, since: jiffies }
        }
    }

    /// Whether it stayed `samples` samples over at least `span` jiffies (no span needed when
    /// either is unknown).
    fn stuck(self, samples: u32, span: Option<u64>, jiffies: Option<u64>) -> bool {
        let spanned = match (span, self.since, jiffies) {
            (Some(span), Some(since), Some(now)) => now.wrapping_sub(since) >= span,
            _ => true,
        };
        self.samples >= samples && spanned
    }
}

/// Judges samples one after another.
#[derive(Debug, Default)]
pub struct Judge {
    thresholds: Thresholds,
    /// Each DSQ's `(nr, seq)`, for how many valid samples it was so, and since when.
    dsqs: HashMap<VirtAddr, ((u32, u32), Still)>,
    /// Each CPU's `rq.clock`, for how many valid samples it was so while it had work, and
    /// since when.
    clocks: HashMap<u32, (Option<u64>, Still)>,
    /// The exit kind of the last valid sample (with the scheduler it belonged to).
    exit_kind: Option<(VirtAddr, u32)>,
}

impl Judge {
    /// A judge with `thresholds`.
    pub fn new(thresholds: Thresholds) -> Self {
        Self { thresholds, ..Self::default() }
    }

    /// The triggers `s` fires (none for a torn sample, which is skipped).
    pub fn judge(&mut self, s: &HostSample) -> Vec<Trigger> {
        if !s.is_valid() {
            return Vec::new();
        }
        let t = &self.thresholds;
        let mut fired = Vec::new();
        if let Some(timeout) = s.root.and_then(|r| r.watchdog_timeout) {
            // Rounded up: never fire below the fraction.
            let threshold = (timeout as f64 * t.stall_fraction).ceil() as u64;
            let tasks: Vec<Starving> = s
                .oldest
                .iter()
                .filter(|o| o.age_jiffies >= 0 && o.age_jiffies as u64 >= threshold)
                .map(|o| Starving {
                    pid: o.pid,
                    comm: o.comm.map(|c| c.to_string()),
                    cpu: o.cpu,
                    age_jiffies: o.age_jiffies,
                })
                .collect();
            if !tasks.is_empty() {
                fired.push(Trigger::Stall {
                    tasks,
                    threshold_jiffies: threshold,
                    watchdog_timeout_jiffies: timeout,
                });
            }
        }
        let span =
            s.root.and_then(|r| r.watchdog_timeout).map(|w| (w as f64 * t.still_fraction).ceil() as u64);
        let mut seen = HashMap::with_capacity(s.dsqs.len());
        for d in &s.dsqs {
            let now = (d.nr, d.seq);
            let before = self.dsqs.get(&d.kva).copied();
            let still =
                before.map(|b| b.1).unwrap_or_default().next(before.is_some_and(|b| b.0 == now), s.jiffies);
            seen.insert(d.kva, (now, still));
            if d.nr > 0 && still.stuck(t.still_samples, span, s.jiffies) {
                fired.push(Trigger::StuckDsq {
                    dsq: dsq_label(d.origin, d.id),
                    nr: d.nr,
                    samples: still.samples,
                });
            }
            if let Some(max) = t.max_dsq_depth.filter(|&m| d.nr > m) {
                fired.push(Trigger::DsqDepth { dsq: dsq_label(d.origin, d.id), nr: d.nr, max });
            }
        }
        self.dsqs = seen;
        for c in &s.cpus {
            let before = self.clocks.get(&c.cpu).copied();
            let unchanged =
                c.nr_running > 0 && c.rq_clock.is_some() && before.is_some_and(|b| b.0 == c.rq_clock);
            let still = before.map(|b| b.1).unwrap_or_default().next(unchanged, s.jiffies);
            self.clocks.insert(c.cpu, (c.rq_clock, still));
            if still.stuck(t.still_samples, span, s.jiffies) {
                fired.push(Trigger::StoppedClock {
                    cpu: c.cpu,
                    nr_running: c.nr_running,
                    samples: still.samples,
                });
            }
        }
        if let Some(max) = t.max_imbalance {
            let busiest = s.cpus.iter().max_by_key(|c| c.nr_running);
            let idlest = s.cpus.iter().min_by_key(|c| c.nr_running);
            if let (Some(b), Some(i)) = (busiest, idlest)
                && b.nr_running - i.nr_running > max
            {
                fired.push(Trigger::Imbalance {
                    busiest: (b.cpu, b.nr_running),
                    idlest: (i.cpu, i.nr_running),
                    max,
                });
            }
        }
        let exit = s.root.map(|r| (r.sched_kva, r.exit_kind));
        if let (Some((was_sched, from)), Some((sched, to))) = (self.exit_kind, exit)
            && was_sched == sched
            && from != to
        {
            fired.push(Trigger::ExitKind { from, to });
        }
        if exit.is_some() {
            self.exit_kind = exit;
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scxray_core::{Comm, Consistency, CpuSample, DsqSample, RunnableAge, SampleRoot};

    fn sample(age: i64, dsq: (u32, u32), clock: u64, exit_kind: u32) -> Box<HostSample> {
        let mut s: Box<HostSample> = Box::default();
        s.jiffies = Some(10_000);
        s.root = Some(SampleRoot {
            sched_kva: VirtAddr(0x1000),
            exit_kind,
            aborting: false,
            bypass_depth: 0,
            watchdog_timeout: Some(1250),
        });
        for cpu in 0..2u32 {
            let c = CpuSample {
                cpu,
                rq_kva: VirtAddr(0x2000 + u64::from(cpu)),
                nr_running: if cpu == 0 { 3 } else { 0 },
                flags: 0,
                rq_clock: Some(clock),
                scx_clock: None,
                curr_kva: VirtAddr(0),
                curr_pid: None,
                curr_comm: None,
                runnable: 0,
            };
            s.cpus.push(c).unwrap();
        }
        let d = DsqSample { origin: DsqOrigin::User, kva: VirtAddr(0x3000), id: 0x42, nr: dsq.0, seq: dsq.1 };
        s.dsqs.push(d).unwrap();
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"work");
        let o = RunnableAge {
            kva: VirtAddr(0x4000),
            cpu: 1,
            pid: Some(77),
            comm: Some(Comm(comm)),
            runnable_at: 10_000 - age as u64,
            age_jiffies: age,
        };
        s.oldest.push(o).unwrap();
        s
    }

    fn kinds(t: &[Trigger]) -> Vec<String> {
        t.iter().map(|t| serde_json::to_value(t).unwrap()["kind"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn a_task_at_half_the_watchdog_timeout_stalls_and_is_named() {
        let mut j = Judge::new(Thresholds::default());
        assert!(j.judge(&sample(624, (1, 1), 1, 0)).is_empty(), "624 < 625 = 1250 / 2");
        let fired = j.judge(&sample(625, (1, 2), 2, 0));
        assert_eq!(kinds(&fired), ["stall"]);
        let Trigger::Stall { tasks, threshold_jiffies, watchdog_timeout_jiffies } = &fired[0] else {
            panic!()
        };
        assert_eq!((*threshold_jiffies, *watchdog_timeout_jiffies), (625, 1250));
        assert_eq!((tasks[0].pid, tasks[0].comm.as_deref(), tasks[0].cpu), (Some(77), Some("work"), 1));
        assert!(fired[0].to_string().contains("work[77] on cpu 1 for 625 jiffies"));
        // Another fraction.
        let mut j = Judge::new(Thresholds { stall_fraction: 0.9, ..Thresholds::default() });
        assert!(j.judge(&sample(1124, (1, 1), 1, 0)).is_empty());
        assert_eq!(kinds(&j.judge(&sample(1125, (1, 2), 2, 0))), ["stall"]);
    }

    #[test]
    fn a_still_dsq_with_tasks_and_a_still_clock_with_work_fire_after_n_samples() {
        let at = |jiffies: u64| {
            let mut s = sample(0, (2, 5), 100, 0);
            s.jiffies = Some(jiffies);
            s
        };
        let mut j = Judge::new(Thresholds { still_samples: 3, ..Thresholds::default() });
        for i in 0..3 {
            assert!(j.judge(&at(10_000 + 100 * i)).is_empty());
        }
        assert_eq!(kinds(&j.judge(&at(10_300))), ["stuck_dsq", "stopped_clock"]);
        // One move starts the count again; an empty DSQ never fires.
        let mut j = Judge::new(Thresholds { still_samples: 3, ..Thresholds::default() });
        for i in 0..10 {
            assert!(j.judge(&sample(0, (0, 5), 100 + i, 0)).is_empty());
        }
        // Samples enough but guest time too short (jiffies stood still: the host did not run
        // the guest): no trigger until the span reaches 1/10 of the 1250-jiffy timeout.
        let mut j = Judge::new(Thresholds { still_samples: 3, ..Thresholds::default() });
        for jiffies in [10_000, 10_001, 10_002, 10_003, 10_124] {
            assert!(j.judge(&at(jiffies)).is_empty(), "at {jiffies}");
        }
        assert_eq!(kinds(&j.judge(&at(10_125))), ["stuck_dsq", "stopped_clock"]);
        // A torn sample is skipped: it neither fires nor breaks a count.
        let mut torn = sample(5000, (9, 9), 1, 1024);
        torn.consistency = Consistency::Torn;
        assert!(j.judge(&torn).is_empty());
    }

    #[test]
    fn an_exit_kind_change_and_user_thresholds_fire() {
        let mut j = Judge::new(Thresholds {
            max_dsq_depth: Some(4),
            max_imbalance: Some(2),
            ..Thresholds::default()
        });
        let fired = j.judge(&sample(0, (5, 1), 1, 0));
        assert_eq!(kinds(&fired), ["dsq_depth", "imbalance"]);
        assert_eq!(fired[1].to_string(), "imbalance: cpu 0 runs 3 and cpu 1 runs 0 (max difference 2)");
        let mut j = Judge::new(Thresholds::default());
        assert!(j.judge(&sample(0, (0, 1), 1, 0)).is_empty());
        assert_eq!(j.judge(&sample(0, (0, 1), 2, 1025)), [Trigger::ExitKind { from: 0, to: 1025 }]);
    }
}
