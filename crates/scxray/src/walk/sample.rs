//! The sampler's host side: where the sample reads what the walk layout does not hold (from
//! the target's symbols and BTF), and one sample of the guest as it is now.

use crate::target::Target;
use scxray_core::{EventStatsAt, Limits, MAX_EVENTS, Sample, SampleSpec, VirtAddr, WatchdogTimeoutAt};

/// A sample as the host takes it: up to 1024 CPUs, 4096 DSQs, every event counter, the 8
/// oldest runnable tasks.
pub type HostSample = Sample<1024, 4096, MAX_EVENTS, 8>;

/// Takes samples of one target.
#[derive(Debug)]
pub struct Sampler {
    spec: SampleSpec,
    event_names: Vec<String>,
    sample: Box<HostSample>,
}

impl Sampler {
    /// The sampler of `target`: `jiffies`, the enable state, `watchdog_timeout`
    /// (`scx_sched.watchdog_timeout`, else `scx_watchdog_timeout`) and the event counters
    /// (`scx_sched_pcpu.event_stats`, else `event_stats_cpu`), each where this kernel has it.
    pub fn new(target: &Target) -> Self {
        let types = target.types();
        let off = |path: &str| types.offset(path).and_then(|o| u32::try_from(o).ok());
        let symbols = target.symbols();
        let watchdog_timeout =
            off("scx_sched.watchdog_timeout").map(WatchdogTimeoutAt::SchedMember).or_else(|| {
                target.symbol("scx_watchdog_timeout").map(|a| WatchdogTimeoutAt::Global(VirtAddr(a)))
            });
        let events = match (off("scx_sched.pcpu"), off("scx_sched_pcpu.event_stats")) {
            (Some(pcpu), Some(stats)) => Some(EventStatsAt::SchedPcpu { pcpu, stats }),
            _ => target.symbol("event_stats_cpu").map(|a| EventStatsAt::PerCpu(VirtAddr(a))),
        };
        let mut spec = SampleSpec {
            jiffies: symbols.jiffies.map(VirtAddr),
            enable_state: symbols.scx_enable_state_var.map(VirtAddr),
            watchdog_timeout,
            events,
            event_offsets: heapless::Vec::new(),
        };
        let mut event_names = Vec::new();
        for (name, o) in types.s64_members("scx_event_stats") {
            let Ok(o) = u32::try_from(o) else { continue };
            if spec.event_offsets.push(o).is_ok() {
                event_names.push(name);
            }
        }
        Self { spec, event_names, sample: Box::default() }
    }

    /// What the sampler reads.
    pub fn spec(&self) -> &SampleSpec {
        &self.spec
    }

    /// The event counters' names (`SCX_EV_*` members), in the order of a sample's `events`.
    pub fn event_names(&self) -> &[String] {
        &self.event_names
    }

    /// Samples the guest as it is now (a running guest's cached pages are dropped first).
    pub fn sample(&mut self, target: &Target) -> &HostSample {
        let memory = target.memory();
        memory.forget();
        target
            .guest(Limits::DEFAULT)
            .sample_into_refreshing(&self.spec, &mut self.sample, || memory.forget());
        &self.sample
    }
}
