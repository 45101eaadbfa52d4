//! What the watch screen shows, built from the sequence of samples: each CPU's and DSQ's latest
//! values, whether the clocks and the DSQs' `seq` moved since the sample before, each DSQ's
//! recent depths, the oldest runnable tasks against the watchdog's timeout, the scheduler's
//! state, the triggers. Kept apart from drawing, so it is tested without a terminal.
//!
//! A torn sample is counted and shown as torn, but its values are not taken: the rows stay
//! those of the last valid sample, and motion is judged between valid samples only (as the
//! watch stage judges its triggers).

use scxray::watch::triggers::{Thresholds, dsq_label};
use scxray_core::{Consistency, DsqOrigin, Sample, VirtAddr};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Depths a DSQ's sparkline shows (one per valid sample, the newest last).
pub const DEPTH_HISTORY: usize = 16;

/// Names for the kernel's enum values, from its BTF (the terminal UI has no kernel of its own).
pub trait Labels {
    /// `enum scx_enable_state` (`enabled`).
    fn enable_state(&self, value: u32) -> String;
    /// `enum scx_exit_kind` (`SCX_EXIT_NONE`).
    fn exit_kind(&self, value: u32) -> String;
    /// `scx_rq.flags` as `enum scx_rq_flags`'s names (`online|clk_valid`).
    fn rq_flags(&self, value: u32) -> String;
}

/// Whether a value moved since the previous valid sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Motion {
    /// No earlier valid sample, or the value did not read.
    Unknown,
    /// It changed.
    Moving,
    /// Unchanged for this many valid samples in a row.
    Still(u32),
}

impl Motion {
    /// The motion of `now` after `before` (which was still `still` samples in a row).
    fn of<V: PartialEq>(before: Option<(V, Motion)>, now: &V) -> Self {
        match before {
            None => Self::Unknown,
            Some((b, _)) if b != *now => Self::Moving,
            Some((_, Self::Still(n))) => Self::Still(n.saturating_add(1)),
            Some(_) => Self::Still(1),
        }
    }
}

/// One CPU's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuRow {
    /// CPU index.
    pub cpu: u32,
    /// `scx_rq.nr_running`.
    pub nr_running: u32,
    /// Tasks on its runnable list.
    pub runnable: u32,
    /// The current task as `comm[pid]` (`-` when none, `?` when it did not read).
    pub curr: String,
    /// `rq.clock` (else `scx_rq.clock`).
    pub clock: Motion,
    /// `scx_rq.flags`, named.
    pub flags: String,
}

impl CpuRow {
    /// Work queued and a clock that stayed for `samples` valid samples or more: at the
    /// watch's `still_samples`, what its stopped-clock trigger fires on.
    #[must_use]
    pub fn stopped_with_work(&self, samples: u32) -> bool {
        self.nr_running > 0 && matches!(self.clock, Motion::Still(n) if n >= samples)
    }
}

/// One DSQ's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsqRow {
    /// Where it is (`user 0x42`, `local cpu 3`).
    pub label: String,
    /// `nr` now.
    pub depth: u32,
    /// Its recent depths, oldest first, ending with `depth`.
    pub recent: Vec<u32>,
    /// `seq` now.
    pub seq: u32,
    /// Whether `seq` moved.
    pub seq_motion: Motion,
}

impl DsqRow {
    /// Tasks queued and no dispatch into it for `samples` valid samples or more: at the
    /// watch's `still_samples`, what its stuck-DSQ trigger fires on.
    #[must_use]
    pub fn still_with_tasks(&self, samples: u32) -> bool {
        self.depth > 0 && matches!(self.seq_motion, Motion::Still(n) if n >= samples)
    }
}

/// A runnable task and how long it has waited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRow {
    /// `comm[pid]` (`?` for what did not read).
    pub task: String,
    /// The CPU whose runnable list holds it.
    pub cpu: u32,
    /// `jiffies - runnable_at`.
    pub age_jiffies: i64,
}

/// The root scheduler as the last valid sample saw it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SchedulerState {
    /// The enable state, named (none when it did not read).
    pub enable_state: Option<String>,
    /// Whether a root scheduler is attached.
    pub attached: bool,
    /// The exit kind, named.
    pub exit_kind: Option<String>,
    /// `scx_sched.aborting`.
    pub aborting: bool,
    /// `scx_sched.bypass_depth`.
    pub bypass_depth: i32,
    /// `watchdog_timeout` (jiffies).
    pub watchdog_timeout: Option<u64>,
}

/// The last value of each DSQ's `seq`, its motion and its recent depths, by address.
#[derive(Debug)]
struct DsqHistory {
    seq: (u32, Motion),
    depths: VecDeque<u32>,
}

/// Everything the watch screen shows.
#[derive(Debug)]
pub struct WatchView {
    /// What is watched (a dump's path, `qemu pid 4242`).
    pub source: String,
    /// Time between samples.
    pub interval: Duration,
    /// When the watch's triggers fire (the screen marks what is at or past them).
    pub thresholds: Thresholds,
    /// Samples taken, of them retried and torn.
    pub samples: u64,
    /// Stable only after a retry.
    pub retried: u64,
    /// Torn (not judged, not shown).
    pub torn: u64,
    /// The newest sample's consistency.
    pub last: Option<Consistency>,
    /// When the newest sample was taken, from the start of the watch.
    pub elapsed: Duration,
    /// `jiffies` in the last valid sample.
    pub jiffies: Option<u64>,
    /// The root scheduler.
    pub scheduler: SchedulerState,
    /// One row per CPU.
    pub cpus: Vec<CpuRow>,
    /// One row per DSQ: those that held tasks within the sparkline's window first, then by
    /// kind (user, global, local, bypass, the rest), then in the sample's order.
    pub dsqs: Vec<DsqRow>,
    /// The oldest runnable tasks, oldest first.
    pub oldest: Vec<TaskRow>,
    /// Tasks on the runnable lists, in all.
    pub runnable: u32,
    /// Problems the last valid sample met, and whether a cap fired.
    pub problems: u32,
    /// A walk cap fired or a container was full.
    pub truncated: bool,
    /// The triggers that fired, with the sample number they fired in (the first firing first).
    pub fired: Vec<(u64, String)>,
    /// What the first firing's capture wrote.
    pub captured: Option<String>,
    /// The newest message for the status line (a report written, an error).
    pub status: Option<String>,
    /// Sampling is paused.
    pub paused: bool,
    clocks: BTreeMap<u32, (u64, Motion)>,
    history: BTreeMap<VirtAddr, DsqHistory>,
}

/// How many fired triggers the view keeps (the first firing and the newest ones).
const FIRED_KEPT: usize = 16;

impl WatchView {
    /// An empty view of `source`, sampled every `interval`, its triggers at `thresholds`.
    pub fn new(source: impl Into<String>, interval: Duration, thresholds: Thresholds) -> Self {
        Self {
            source: source.into(),
            interval,
            thresholds,
            samples: 0,
            retried: 0,
            torn: 0,
            last: None,
            elapsed: Duration::ZERO,
            jiffies: None,
            scheduler: SchedulerState::default(),
            cpus: Vec::new(),
            dsqs: Vec::new(),
            oldest: Vec::new(),
            runnable: 0,
            problems: 0,
            truncated: false,
            fired: Vec::new(),
            captured: None,
            status: None,
            paused: false,
            clocks: BTreeMap::new(),
            history: BTreeMap::new(),
        }
    }

    /// Takes the sample taken `elapsed` after the watch began, with the triggers it fired.
    pub fn push<const C: usize, const D: usize, const E: usize, const W: usize>(
        &mut self,
        s: &Sample<C, D, E, W>,
        elapsed: Duration,
        fired: &[String],
        labels: &dyn Labels,
    ) {
        self.samples += 1;
        self.elapsed = elapsed;
        self.last = Some(s.consistency);
        match s.consistency {
            Consistency::Torn => {
                self.torn += 1;
                return;
            }
            Consistency::Retried => self.retried += 1,
            Consistency::Stable => {}
        }
        for f in fired {
            if self.fired.len() == FIRED_KEPT {
                // Keep the first firing: it is the one the capture was taken for.
                self.fired.remove(1);
            }
            self.fired.push((self.samples - 1, f.clone()));
        }
        self.jiffies = s.jiffies;
        self.scheduler = SchedulerState {
            enable_state: s.enable_state.map(|v| labels.enable_state(v)),
            attached: s.root.is_some(),
            exit_kind: s.root.map(|r| labels.exit_kind(r.exit_kind)),
            aborting: s.root.is_some_and(|r| r.aborting),
            bypass_depth: s.root.map_or(0, |r| r.bypass_depth),
            watchdog_timeout: s.root.and_then(|r| r.watchdog_timeout),
        };
        self.runnable = s.runnable;
        self.problems = s.problems;
        self.truncated = s.truncated;
        self.push_cpus(s, labels);
        self.push_dsqs(s);
        self.oldest = s
            .oldest
            .iter()
            .map(|t| TaskRow { task: task_name(t.comm, t.pid), cpu: t.cpu, age_jiffies: t.age_jiffies })
            .collect();
    }

    fn push_cpus<const C: usize, const D: usize, const E: usize, const W: usize>(
        &mut self,
        s: &Sample<C, D, E, W>,
        labels: &dyn Labels,
    ) {
        let mut clocks = BTreeMap::new();
        self.cpus = s
            .cpus
            .iter()
            .map(|c| {
                let clock = match c.rq_clock.or(c.scx_clock) {
                    Some(now) => {
                        let motion = Motion::of(self.clocks.get(&c.cpu).copied(), &now);
                        clocks.insert(c.cpu, (now, motion));
                        motion
                    }
                    None => Motion::Unknown,
                };
                let curr =
                    if c.curr_kva.0 == 0 { "-".to_owned() } else { task_name(c.curr_comm, c.curr_pid) };
                CpuRow {
                    cpu: c.cpu,
                    nr_running: c.nr_running,
                    runnable: c.runnable,
                    curr,
                    clock,
                    flags: labels.rq_flags(c.flags),
                }
            })
            .collect();
        self.clocks = clocks;
    }

    fn push_dsqs<const C: usize, const D: usize, const E: usize, const W: usize>(
        &mut self,
        s: &Sample<C, D, E, W>,
    ) {
        let mut history = BTreeMap::new();
        let mut rows: Vec<(bool, u8, usize, DsqRow)> = Vec::with_capacity(s.dsqs.len());
        for (i, d) in s.dsqs.iter().enumerate() {
            let before = self.history.remove(&d.kva);
            let seq_motion = Motion::of(before.as_ref().map(|h| h.seq), &d.seq);
            let mut depths = before.map(|h| h.depths).unwrap_or_default();
            if depths.len() == DEPTH_HISTORY {
                depths.pop_front();
            }
            depths.push_back(d.nr);
            let held = depths.iter().any(|&n| n > 0);
            let row = DsqRow {
                label: dsq_label(d.origin, d.id),
                depth: d.nr,
                recent: depths.iter().copied().collect(),
                seq: d.seq,
                seq_motion,
            };
            rows.push((!held, kind_rank(d.origin), i, row));
            history.insert(d.kva, DsqHistory { seq: (d.seq, seq_motion), depths });
        }
        rows.sort_by_key(|&(empty, rank, i, _)| (empty, rank, i));
        self.dsqs = rows.into_iter().map(|(.., r)| r).collect();
        self.history = history;
    }

    /// The age at which the stall trigger fires (jiffies), when the timeout is known.
    #[must_use]
    pub fn stall_threshold(&self) -> Option<u64> {
        let t = self.scheduler.watchdog_timeout?;
        // Jiffies are far below 2^52: the float is exact enough for a threshold.
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        Some((t as f64 * self.thresholds.stall_fraction).ceil() as u64)
    }
}

/// The order of DSQ kinds on screen: the scheduler's own queues before the kernel's.
fn kind_rank(origin: DsqOrigin) -> u8 {
    match origin {
        DsqOrigin::User => 0,
        DsqOrigin::Global { .. } => 1,
        DsqOrigin::Local { .. } => 2,
        DsqOrigin::Bypass { .. } => 3,
        DsqOrigin::Reject { .. } | DsqOrigin::Rescue { .. } => 4,
    }
}

fn task_name(comm: Option<scxray_core::Comm>, pid: Option<i32>) -> String {
    let comm = comm.map_or_else(|| "?".to_owned(), |c| c.to_string());
    let pid = pid.map_or_else(|| "?".to_owned(), |p| p.to_string());
    format!("{comm}[{pid}]")
}
