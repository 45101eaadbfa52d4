//! One sample of a running scheduler: the few values that move (per CPU, per DSQ, the event
//! counters, the scheduler's state, the oldest runnable tasks) read in one pass, cheap enough to
//! take a hundred times a second from a running guest. The sampler is
//! [`Guest::sample_into`](crate::Guest::sample_into); what it reads beyond the walk
//! [`Layout`](crate::Layout) is a [`SampleSpec`].
//!
//! A running guest changes while it is read. The sampler reads the values that define a sample
//! (each DSQ's `nr` and `seq`, each CPU's `nr_running`, flags and clocks, the enable state, the
//! exit kind, `jiffies`) once more at the end; when one moved, it samples again, and when one
//! moves again the sample is marked [`Consistency::Torn`]. A torn sample is still a sample (its
//! values were each read), but the watch loop does not judge by it.

use crate::addr::VirtAddr;
use crate::output::{Comm, DsqOrigin, Problem};
use heapless::Vec;

/// Counters of `struct scx_event_stats` a [`SampleSpec`] can name.
pub const MAX_EVENTS: usize = 32;

/// Where `watchdog_timeout` (jiffies) lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WatchdogTimeoutAt {
    /// `scx_sched.watchdog_timeout` (6.16+): the member's offset in the root scheduler.
    SchedMember(u32),
    /// The `scx_watchdog_timeout` variable (6.12-6.15).
    Global(VirtAddr),
}

/// Where the per-CPU `struct scx_event_stats` lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EventStatsAt {
    /// In the root scheduler's per-CPU data: `scx_sched.pcpu` (a `__percpu` pointer) at
    /// offset `pcpu`, `scx_sched_pcpu.event_stats` at offset `stats` in it (6.16+).
    SchedPcpu {
        /// `scx_sched.pcpu`.
        pcpu: u32,
        /// `scx_sched_pcpu.event_stats`.
        stats: u32,
    },
    /// The per-CPU variable `event_stats_cpu` (6.15).
    PerCpu(VirtAddr),
}

/// What the sampler reads beyond the walk layout and symbols (the host fills it from kallsyms
/// and BTF; an embedder from its own knowledge of the kernel).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SampleSpec {
    /// `jiffies`.
    pub jiffies: Option<VirtAddr>,
    /// `scx_enable_state_var` (`scx_ops_enable_state_var` before 6.15).
    pub enable_state: Option<VirtAddr>,
    /// `watchdog_timeout`.
    pub watchdog_timeout: Option<WatchdogTimeoutAt>,
    /// The event counters' per-CPU structure.
    pub events: Option<EventStatsAt>,
    /// The offsets of the counters (`s64` members of `struct scx_event_stats`) to sum; a
    /// sample's [`Sample::events`] holds their sums in this order.
    pub event_offsets: Vec<u32, MAX_EVENTS>,
}

/// One CPU in a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CpuSample {
    /// CPU index.
    pub cpu: u32,
    /// `struct rq` address (what the consistency check reads again).
    pub rq_kva: VirtAddr,
    /// `scx_rq.nr_running`.
    pub nr_running: u32,
    /// `scx_rq.flags`.
    pub flags: u32,
    /// `rq.clock` (ns), when the layout has it and it read.
    pub rq_clock: Option<u64>,
    /// `scx_rq.clock` (ns; 6.14+).
    pub scx_clock: Option<u64>,
    /// `rq.curr` (0: none).
    pub curr_kva: VirtAddr,
    /// The current task's pid, when it read.
    pub curr_pid: Option<i32>,
    /// The current task's comm, when it read.
    pub curr_comm: Option<Comm>,
    /// Tasks on this CPU's `runnable_list` (the watchdog's list), as walked.
    pub runnable: u32,
}

/// One DSQ in a sample: its header only (the tasks are not walked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DsqSample {
    /// Where it was found.
    pub origin: DsqOrigin,
    /// `struct scx_dispatch_q` address.
    pub kva: VirtAddr,
    /// `scx_dispatch_q.id`.
    pub id: u64,
    /// `scx_dispatch_q.nr`.
    pub nr: u32,
    /// `scx_dispatch_q.seq`: moves on every dispatch into the queue.
    pub seq: u32,
}

/// A task on a CPU's `runnable_list` and how long it has waited, as the kernel's watchdog
/// judges it (`jiffies - runnable_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RunnableAge {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// The CPU whose list holds it.
    pub cpu: u32,
    /// `task_struct.pid`, when it read.
    pub pid: Option<i32>,
    /// `task_struct.comm`, when it read.
    pub comm: Option<Comm>,
    /// `sched_ext_entity.runnable_at` (jiffies).
    pub runnable_at: u64,
    /// `jiffies - runnable_at` (signed: a task made runnable after `jiffies` was read is
    /// slightly negative).
    pub age_jiffies: i64,
}

/// The root scheduler in a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SampleRoot {
    /// `struct scx_sched` (or `&scx_ops` on 6.12-6.15).
    pub sched_kva: VirtAddr,
    /// `enum scx_exit_kind` (0: running).
    pub exit_kind: u32,
    /// `scx_sched.aborting`.
    pub aborting: bool,
    /// `scx_sched.bypass_depth`.
    pub bypass_depth: i32,
    /// The watchdog's timeout (jiffies), when the spec says where and it read.
    pub watchdog_timeout: Option<u64>,
}

/// Whether a sample's values hang together (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Consistency {
    /// Nothing moved between the sample and its re-read.
    #[default]
    Stable,
    /// Something moved; the second sample was stable.
    Retried,
    /// Something moved during the second sample too.
    Torn,
}

/// One sample: `CPUS` CPUs, `DSQS` DSQs, `EVENTS` counters and the `WORST` oldest runnable
/// tasks at most (a full container sets `truncated`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sample<
    const CPUS: usize = 64,
    const DSQS: usize = 256,
    const EVENTS: usize = 32,
    const WORST: usize = 8,
> {
    /// `jiffies`, when it read.
    pub jiffies: Option<u64>,
    /// The enable state (`enum scx_enable_state`), when it read.
    pub enable_state: Option<u32>,
    /// The root scheduler, when one is attached.
    pub root: Option<SampleRoot>,
    /// Each readable CPU.
    pub cpus: Vec<CpuSample, CPUS>,
    /// Every DSQ found (per-CPU, bypass, global, user; sub-schedulers' too).
    pub dsqs: Vec<DsqSample, DSQS>,
    /// The event counters summed over the CPUs, in the spec's order (empty when not read).
    pub events: Vec<i64, EVENTS>,
    /// Per-CPU copies of the counters that did not read (their values are not in the sums).
    pub events_unread: u32,
    /// Tasks on the runnable lists, in all.
    pub runnable: u32,
    /// The oldest runnable tasks, oldest first.
    pub oldest: Vec<RunnableAge, WORST>,
    /// The first problem met.
    pub first_problem: Option<Problem>,
    /// Problems met, in all.
    pub problems: u32,
    /// A walk cap fired or a container was full.
    pub truncated: bool,
    /// Whether the values hang together.
    pub consistency: Consistency,
}

impl<const CPUS: usize, const DSQS: usize, const EVENTS: usize, const WORST: usize>
    Sample<CPUS, DSQS, EVENTS, WORST>
{
    /// Empties the sample for reuse (keeps nothing of the previous one).
    pub fn clear(&mut self) {
        self.jiffies = None;
        self.enable_state = None;
        self.root = None;
        self.cpus.clear();
        self.dsqs.clear();
        self.events.clear();
        self.events_unread = 0;
        self.runnable = 0;
        self.oldest.clear();
        self.first_problem = None;
        self.problems = 0;
        self.truncated = false;
        self.consistency = Consistency::Stable;
    }

    /// Whether the watch loop may judge by it.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.consistency != Consistency::Torn
    }
}
