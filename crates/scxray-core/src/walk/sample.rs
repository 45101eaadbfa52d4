//! The sampler: one [`Sample`] of a running scheduler, checked for consistency (see
//! [`crate::sample`]). It runs pass 1 (each CPU with its runnable list, whose tasks' ages it
//! reads), the DSQ passes without their task lists, and reads the event counters; it never
//! walks `scx_tasks`.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadError};
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::limits::{Cap, Limits, ListBudget};
use crate::memory::PhysMem;
use crate::output::{
    CpuScx, DsqHeader, HashWalk, ListWalk, Pass, Problem, Provenance, SchedState, TaskEntry,
};
use crate::sample::{
    Consistency, CpuSample, DsqSample, EventStatsAt, RunnableAge, Sample, SampleRoot, SampleSpec,
    WatchdogTimeoutAt,
};
use crate::symbols::Symbol;
use crate::translate::Translate;
use crate::visit::Visitor;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Takes one sample into `out` (cleared first): samples, reads the defining values again,
    /// samples once more when one moved, and marks the sample torn when one moved again.
    pub fn sample_into<const C: usize, const D: usize, const E: usize, const W: usize>(
        &self,
        spec: &SampleSpec,
        out: &mut Sample<C, D, E, W>,
    ) {
        self.sample_into_refreshing(spec, out, || {});
    }

    /// [`Self::sample_into`] over memory that caches what it read (a VMM process's pages):
    /// `refresh` drops the cache before each read that must see the guest as it is now (the
    /// re-read and the second sample), else the check would compare the cache with itself.
    pub fn sample_into_refreshing<const C: usize, const D: usize, const E: usize, const W: usize>(
        &self,
        spec: &SampleSpec,
        out: &mut Sample<C, D, E, W>,
        mut refresh: impl FnMut(),
    ) {
        self.sample_once(spec, out);
        refresh();
        if self.sample_moved(spec, out) {
            refresh();
            self.sample_once(spec, out);
            refresh();
            out.consistency =
                if self.sample_moved(spec, out) { Consistency::Torn } else { Consistency::Retried };
        }
    }

    fn sample_once<const C: usize, const D: usize, const E: usize, const W: usize>(
        &self,
        spec: &SampleSpec,
        out: &mut Sample<C, D, E, W>,
    ) {
        out.clear();
        out.jiffies = self.sample_read(spec.jiffies, Field::Jiffies, out);
        out.enable_state = self.sample_read(spec.enable_state, Field::EnableStateVar, out);
        let root = match self.read_root() {
            Ok(r) => r,
            Err(p) => {
                note(out, p);
                None
            }
        };
        out.root = root.map(|r| SampleRoot {
            sched_kva: r.sched_kva,
            exit_kind: r.exit_kind,
            aborting: r.aborting,
            bypass_depth: r.bypass_depth,
            watchdog_timeout: self.watchdog_timeout(spec, &r, out),
        });

        let mut v = SampleVisitor { guest: self, out, runnable_at: self.runnable_at_offset() };
        if self.symbols.runqueues.is_none() {
            v.problem(&Problem::MissingSymbol { pass: Pass::RqScx, symbol: Symbol::Runqueues });
        } else if self.symbols.per_cpu_offsets.is_none() {
            v.problem(&Problem::MissingSymbol { pass: Pass::RqScx, symbol: Symbol::PerCpuOffset });
        } else {
            let mut budget = ListBudget::new(&self.limits);
            for cpu in 0..self.cpu_count() {
                self.rq_scx(cpu, &mut v, &mut budget);
            }
        }
        // The DSQs' headers only: a list cap of 0 reads each list's head and no task.
        let headers = Self { limits: Limits { list_nodes: Cap::Fixed(0), ..self.limits }, ..*self };
        let mut budget = ListBudget::new(&headers.limits);
        headers.local_dsqs(&mut v, &mut budget);
        if let Some(root) = root {
            match (root.provenance, self.symbols.globals) {
                (Provenance::Globals, Some(g)) => headers.walk_globals_dsqs(&g, &mut v, &mut budget),
                _ => {
                    headers.walk_sched_dsqs(root.sched_kva, &mut v, &mut budget);
                    headers.sub_scheds(root.sched_kva, &mut v, &mut budget);
                }
            }
            self.sample_events(spec, &root, out);
        }
        for cpu in &mut out.cpus {
            cpu.rq_clock = self.rq_clock(cpu.rq_kva).ok().flatten();
        }
        for task in &mut out.oldest {
            if let Ok(id) = self.read_task_identity(task.kva) {
                task.pid = Some(id.pid);
                task.comm = Some(id.comm);
            }
        }
    }

    /// Reads the value at `at` (none when the spec has no address), counting a failure as a
    /// problem of the sample.
    fn sample_read<
        V: crate::memory::LeInt,
        const C: usize,
        const D: usize,
        const E: usize,
        const W: usize,
    >(
        &self,
        at: Option<VirtAddr>,
        field: Field,
        out: &mut Sample<C, D, E, W>,
    ) -> Option<V> {
        match self.read_le::<V>(at?, field) {
            Ok(v) => Some(v),
            Err(error) => {
                note(out, Problem::Unreadable { pass: Pass::Root, error });
                None
            }
        }
    }

    fn watchdog_timeout<const C: usize, const D: usize, const E: usize, const W: usize>(
        &self,
        spec: &SampleSpec,
        root: &SchedState,
        out: &mut Sample<C, D, E, W>,
    ) -> Option<u64> {
        let at = match spec.watchdog_timeout? {
            WatchdogTimeoutAt::SchedMember(off) => {
                (root.sched_kva.member(off, Field::SchedWatchdogTimeout), Field::SchedWatchdogTimeout)
            }
            WatchdogTimeoutAt::Global(kva) => (Ok(kva), Field::WatchdogTimeoutVar),
        };
        match at.0.and_then(|a| self.read_le::<u64>(a, at.1)) {
            Ok(v) => Some(v),
            Err(error) => {
                note(out, Problem::Unreadable { pass: Pass::Root, error });
                None
            }
        }
    }

    /// `sched_ext_entity.runnable_at` from a `task_struct`.
    fn runnable_at_offset(&self) -> Option<u64> {
        let (tl, see) = (self.layout.task?, self.layout.see?);
        Some(u64::from(tl.scx).saturating_add(u64::from(see.runnable_at?)))
    }

    /// `rq.clock` of the rq at `rq_kva` (`None` when the layout lacks it).
    fn rq_clock(&self, rq_kva: VirtAddr) -> Result<Option<u64>, ReadError> {
        let Some(off) = self.layout.rq.and_then(|rl| rl.clock) else { return Ok(None) };
        self.read_le::<u64>(rq_kva.member(off, Field::RqClock)?, Field::RqClock).map(Some)
    }

    /// The event counters of the root, summed over the CPUs with a per-CPU area.
    fn sample_events<const C: usize, const D: usize, const E: usize, const W: usize>(
        &self,
        spec: &SampleSpec,
        root: &SchedState,
        out: &mut Sample<C, D, E, W>,
    ) {
        let Some(at) = spec.events else { return };
        let base = match at {
            EventStatsAt::SchedPcpu { pcpu, stats } => root
                .sched_kva
                .member(pcpu, Field::SchedPcpu)
                .and_then(|a| self.read_ptr(a, Field::SchedPcpu))
                .and_then(|p| p.member(stats, Field::SchedPcpu)),
            EventStatsAt::PerCpu(kva) => Ok(kva),
        };
        let base = match base {
            Ok(b) => b,
            Err(error) => return note(out, Problem::Unreadable { pass: Pass::Root, error }),
        };
        for _ in &spec.event_offsets {
            if out.events.push(0).is_err() {
                out.truncated = true;
            }
        }
        for cpu in 0..self.cpu_count() {
            let stats = match self.per_cpu_ptr(base, cpu) {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(_) => {
                    out.events_unread = out.events_unread.saturating_add(1);
                    continue;
                }
            };
            let mut unread = false;
            for (sum, &off) in out.events.iter_mut().zip(&spec.event_offsets) {
                match stats
                    .member(off, Field::EventStat)
                    .and_then(|a| self.read_le::<i64>(a, Field::EventStat))
                {
                    Ok(v) => *sum = sum.wrapping_add(v),
                    Err(_) => unread = true,
                }
            }
            out.events_unread = out.events_unread.saturating_add(u32::from(unread));
        }
    }

    /// Whether a defining value moved since `out` was sampled (a value that no longer reads
    /// counts as moved).
    fn sample_moved<const C: usize, const D: usize, const E: usize, const W: usize>(
        &self,
        spec: &SampleSpec,
        out: &Sample<C, D, E, W>,
    ) -> bool {
        let jiffies = spec.jiffies.and_then(|a| self.read_le::<u64>(a, Field::Jiffies).ok());
        let enable = spec.enable_state.and_then(|a| self.read_le::<u32>(a, Field::EnableStateVar).ok());
        if jiffies != out.jiffies || enable != out.enable_state {
            return true;
        }
        let exit_kind = match self.read_root() {
            Ok(r) => r.map(|r| (r.sched_kva, r.exit_kind)),
            Err(_) => return true,
        };
        if exit_kind != out.root.map(|r| (r.sched_kva, r.exit_kind)) {
            return true;
        }
        let cpus_moved = out.cpus.iter().any(|c| match self.cpu_values(c.rq_kva) {
            Ok(now) => now != (c.nr_running, c.flags, c.scx_clock, c.rq_clock),
            Err(_) => true,
        });
        cpus_moved
            || out.dsqs.iter().any(|d| match self.dsq_values(d.kva) {
                Ok(now) => now != (d.nr, d.seq),
                Err(_) => true,
            })
    }

    /// A CPU's `nr_running`, flags, `scx_rq.clock` and `rq.clock` again.
    fn cpu_values(&self, rq_kva: VirtAddr) -> Result<(u32, u32, Option<u64>, Option<u64>), ReadError> {
        let missing = |field| ReadError {
            field,
            kva: rq_kva,
            cause: crate::error::ReadCause::MissingLayout(LayoutGroup::ScxRq),
        };
        let (rl, sl) = self.layout.rq.zip(self.layout.scx_rq).ok_or(missing(Field::Rq))?;
        let scx = rq_kva.member(rl.scx, Field::Rq)?;
        let nr =
            self.read_le::<u32>(scx.member(sl.nr_running, Field::ScxRqNrRunning)?, Field::ScxRqNrRunning)?;
        let flags = self.read_le::<u32>(scx.member(sl.flags, Field::ScxRqFlags)?, Field::ScxRqFlags)?;
        let scx_clock = match sl.clock {
            Some(o) => Some(self.read_le::<u64>(scx.member(o, Field::ScxRqClock)?, Field::ScxRqClock)?),
            None => None,
        };
        Ok((nr, flags, scx_clock, self.rq_clock(rq_kva)?))
    }

    /// A DSQ's `nr` and `seq` again.
    fn dsq_values(&self, kva: VirtAddr) -> Result<(u32, u32), ReadError> {
        let dl = self.layout.dsq.ok_or(ReadError {
            field: Field::Dsq,
            kva,
            cause: crate::error::ReadCause::MissingLayout(LayoutGroup::Dsq),
        })?;
        Ok((
            self.read_le::<u32>(kva.member(dl.nr, Field::DsqNr)?, Field::DsqNr)?,
            self.read_le::<u32>(kva.member(dl.seq, Field::DsqSeq)?, Field::DsqSeq)?,
        ))
    }
}

/// Counts a problem, keeping the first.
fn note<const C: usize, const D: usize, const E: usize, const W: usize>(
    out: &mut Sample<C, D, E, W>,
    p: Problem,
) {
    out.first_problem.get_or_insert(p);
    out.problems = out.problems.saturating_add(1);
}

/// Collects the walks' events into a sample.
struct SampleVisitor<
    's,
    'g,
    'a,
    M: ?Sized,
    T: ?Sized,
    const C: usize,
    const D: usize,
    const E: usize,
    const W: usize,
> {
    guest: &'g Guest<'a, M, T>,
    out: &'s mut Sample<C, D, E, W>,
    /// `task_struct` -> `sched_ext_entity.runnable_at` (none: ages are not read).
    runnable_at: Option<u64>,
}

/// Keeps `age` among the oldest, oldest first.
fn keep_oldest<const W: usize>(oldest: &mut heapless::Vec<RunnableAge, W>, age: RunnableAge) {
    let at = oldest.iter().position(|o| o.age_jiffies < age.age_jiffies).unwrap_or(oldest.len());
    if oldest.is_full() {
        if at >= oldest.len() {
            return;
        }
        oldest.pop();
    }
    // Cannot fail: there is room and `at` is at most the length.
    let _ = oldest.insert(at, age);
}

impl<
    M: PhysMem + ?Sized,
    T: Translate + ?Sized,
    const C: usize,
    const D: usize,
    const E: usize,
    const W: usize,
> Visitor for SampleVisitor<'_, '_, '_, M, T, C, D, E, W>
{
    fn cpu(&mut self, c: &CpuScx) {
        let cpu = CpuSample {
            cpu: c.cpu,
            rq_kva: c.rq_kva,
            nr_running: c.nr_running,
            flags: c.flags,
            rq_clock: None,
            scx_clock: c.clock,
            curr_kva: c.curr_kva,
            curr_pid: c.curr.map(|t| t.pid),
            curr_comm: c.curr.map(|t| t.comm),
            runnable: 0,
        };
        if self.out.cpus.push(cpu).is_err() {
            self.out.truncated = true;
        }
    }

    fn runnable_task(&mut self, cpu: u32, t: TaskEntry) {
        self.out.runnable = self.out.runnable.saturating_add(1);
        if let Some(last) = self.out.cpus.last_mut().filter(|c| c.cpu == cpu) {
            last.runnable = last.runnable.saturating_add(1);
        }
        let (Some(off), Some(jiffies)) = (self.runnable_at, self.out.jiffies) else { return };
        let at = t.task_kva.member(off, Field::SeeRunnableAt);
        match at.and_then(|a| self.guest.read_le::<u64>(a, Field::SeeRunnableAt)) {
            Ok(runnable_at) => keep_oldest(
                &mut self.out.oldest,
                RunnableAge {
                    kva: t.task_kva,
                    cpu,
                    pid: None,
                    comm: None,
                    runnable_at,
                    age_jiffies: i64::from_le_bytes(jiffies.wrapping_sub(runnable_at).to_le_bytes()),
                },
            ),
            Err(error) => note(self.out, Problem::Unreadable { pass: Pass::RqScx, error }),
        }
    }

    fn runnable_end(&mut self, _cpu: u32, w: &ListWalk) {
        self.out.truncated |= w.truncated;
        if let Some(error) = w.broken {
            note(self.out, Problem::Unreadable { pass: Pass::RqScx, error });
        }
    }

    fn dsq(&mut self, h: &DsqHeader) {
        let d = DsqSample { origin: h.origin, kva: h.kva, id: h.id, nr: h.nr, seq: h.seq };
        if self.out.dsqs.push(d).is_err() {
            self.out.truncated = true;
        }
    }

    fn user_dsqs_end(&mut self, w: &HashWalk) {
        self.out.truncated |= w.is_truncated();
    }

    fn sub_scheds_end(&mut self, w: &ListWalk) {
        self.out.truncated |= w.truncated;
    }

    fn problem(&mut self, p: &Problem) {
        note(self.out, *p);
    }
}
