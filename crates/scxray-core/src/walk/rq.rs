//! Passes 1 and 2: each CPU's `rq->scx` with its runnable_list, and the DSQs embedded in it.

use crate::addr::{PhysAddr, VirtAddr};
use crate::error::{Field, ReadError};
use crate::guest::{Guest, Near};
use crate::layout::{LayoutGroup, RqLayout, ScxRqLayout};
use crate::limits::{Limit, ListBudget, queue_slack};
use crate::memory::PhysMem;
use crate::output::{Comm, CpuScx, DsqOrigin, ListWalk, Pass, Problem, TaskEntry, TaskIdentity};
use crate::symbols::Symbol;
use crate::translate::Translate;
use crate::visit::Visitor;
use crate::walk::list::{Node, walk_list};

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// `cpu`'s `struct rq` address, or `None` when the CPU has no per-CPU area.
    fn rq_kva(&self, cpu: u32, pass: Pass) -> Result<Option<VirtAddr>, Problem> {
        let Some(runqueues) = self.symbols.runqueues else {
            return Err(Problem::MissingSymbol { pass, symbol: Symbol::Runqueues });
        };
        if self.symbols.per_cpu_offsets.is_none() {
            return Err(Problem::MissingSymbol { pass, symbol: Symbol::PerCpuOffset });
        }
        self.per_cpu_ptr(runqueues, cpu).map_err(|error| Problem::Unreadable { pass, error })
    }

    /// Pass 1 for one CPU: reports `rq->scx`'s scalars and `rq->curr`, then walks
    /// `runnable_list`, marking each task "runnable in scx". Members this kernel lacks are
    /// reported as absent and never read. Without `sched_ext_entity` offsets the scalars are
    /// still reported and the list is empty. The list's cap is sized from `scx_rq.nr_running`
    /// ([`crate::limits`]).
    pub fn walk_rq_scx<V: Visitor + ?Sized>(&self, cpu: u32, v: &mut V) {
        self.rq_scx(cpu, v, &mut ListBudget::new(&self.limits));
    }

    /// [`Self::walk_rq_scx`], the runnable nodes charged to `budget`.
    pub(crate) fn rq_scx<V: Visitor + ?Sized>(&self, cpu: u32, v: &mut V, budget: &mut ListBudget) {
        let pass = Pass::RqScx;
        let (Some(rl), Some(sl), Some(tl)) = (self.layout.rq, self.layout.scx_rq, self.layout.task) else {
            let group = match (self.layout.rq, self.layout.scx_rq) {
                (None, _) => LayoutGroup::Rq,
                (_, None) => LayoutGroup::ScxRq,
                _ => LayoutGroup::Task,
            };
            return v.problem(&Problem::MissingLayout { pass, group });
        };
        let rq_kva = match self.rq_kva(cpu, pass) {
            Ok(Some(kva)) => kva,
            Ok(None) => return,
            Err(p) => return v.problem(&p),
        };
        let scalars = self
            .translate(rq_kva, Field::Rq)
            .and_then(|rq_pa| self.read_cpu_scalars(cpu, rq_kva, rq_pa, &rl, &sl));
        let state = match scalars {
            Ok(s) => s,
            Err(error) => return v.problem(&Problem::Unreadable { pass, error }),
        };
        v.cpu(&state);

        let Some(see) = self.layout.see else {
            v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::See });
            return v.runnable_end(cpu, &ListWalk::default());
        };
        let task_from_node = u64::from(tl.scx).saturating_add(u64::from(see.runnable_node));
        let head = rq_kva.member(u64::from(rl.scx).saturating_add(sl.runnable_list.into()), Field::Rq);
        let cap = self.limits.list_nodes.resolve(
            Limit::ListNodes,
            Some(state.nr_running),
            queue_slack(self.cpu_count()),
        );
        let walk = match head {
            Ok(head) => ListBudget::spend(&mut budget.runnable, cap, |cap| {
                walk_list(self, head, cap, None, |node, _| {
                    match node.container_of(task_from_node, Field::ListHeadNext) {
                        Ok(task_kva) => {
                            v.runnable_task(cpu, TaskEntry { task_kva, runnable_in_scx: true });
                            Node::Reported
                        }
                        Err(_) => Node::Skipped,
                    }
                })
            }),
            Err(error) => ListWalk { broken: Some(error), cap, ..ListWalk::default() },
        };
        v.runnable_end(cpu, &walk);
    }

    fn read_cpu_scalars(
        &self,
        cpu: u32,
        rq_kva: VirtAddr,
        rq_pa: PhysAddr,
        rl: &RqLayout,
        sl: &ScxRqLayout,
    ) -> Result<CpuScx, ReadError> {
        let scx = rq_kva.member(rl.scx, Field::Rq)?;
        let at = |off: u32, f: Field| scx.member(off, f);
        let opt_u64 = |off: Option<u32>, f: Field| -> Result<Option<u64>, ReadError> {
            off.map(|o| self.read_le::<u64>(at(o, f)?, f)).transpose()
        };
        let curr_kva = self.read_ptr(rq_kva.member(rl.curr, Field::RqCurr)?, Field::RqCurr)?;
        // NULL: no current task; otherwise its identity, or why it could not be read.
        let (curr, curr_error) = match (curr_kva.0 != 0).then(|| self.read_task_identity(curr_kva)) {
            None => (None, None),
            Some(Ok(t)) => (Some(t), None),
            Some(Err(e)) => (None, Some(e)),
        };
        Ok(CpuScx {
            cpu,
            rq_kva,
            rq_pa,
            nr_running: self
                .read_le::<u32>(at(sl.nr_running, Field::ScxRqNrRunning)?, Field::ScxRqNrRunning)?,
            flags: self.read_le::<u32>(at(sl.flags, Field::ScxRqFlags)?, Field::ScxRqFlags)?,
            cpu_released: self
                .read_le::<u8>(at(sl.cpu_released, Field::ScxRqCpuReleased)?, Field::ScxRqCpuReleased)?
                != 0,
            ops_qseq: opt_u64(sl.ops_qseq, Field::ScxRqOpsQseq)?,
            kick_sync: opt_u64(sl.kick_sync, Field::ScxRqKickSync)?,
            nr_immed: sl
                .nr_immed
                .map(|o| self.read_le::<u32>(at(o, Field::ScxRqNrImmed)?, Field::ScxRqNrImmed))
                .transpose()?,
            clock: opt_u64(sl.clock, Field::ScxRqClock)?,
            curr_kva,
            curr,
            curr_error,
        })
    }

    /// A task's pid and comm (`comm` is 16 raw bytes: a hostile one need not end in NUL
    /// nor be UTF-8).
    pub fn read_task_identity(&self, kva: VirtAddr) -> Result<TaskIdentity, ReadError> {
        let near = self.layout.task.map_or_else(Near::default, |tl| {
            let ends = [(tl.pid, 4), (tl.comm, 16)];
            self.near(kva, crate::task::window(ends))
        });
        self.read_task_identity_in(kva, &near)
    }

    /// [`Self::read_task_identity`] through `near`, the translation of the task's address
    /// (see [`Guest::near`]): the same values and errors, one translation for the task.
    pub(crate) fn read_task_identity_in(
        &self,
        kva: VirtAddr,
        near: &Near<'_>,
    ) -> Result<TaskIdentity, ReadError> {
        let tl = self.layout.task.ok_or(ReadError {
            field: Field::TaskPid,
            kva,
            cause: crate::error::ReadCause::MissingLayout(LayoutGroup::Task),
        })?;
        let pid = self.read_le_in::<i32>(kva.member(tl.pid, Field::TaskPid)?, near, Field::TaskPid)?;
        let mut comm = [0u8; 16];
        self.read_bytes_in(kva.member(tl.comm, Field::TaskComm)?, &mut comm, near, Field::TaskComm)?;
        Ok(TaskIdentity { kva, pid, comm: Comm(comm) })
    }

    /// Pass 2: every per-CPU DSQ embedded in `rq->scx` (the local DSQ, and in 7.3+ the
    /// reject DSQ and the rescue DSQ), for every CPU with a per-CPU area. Runs whether or not
    /// a scheduler is attached.
    pub fn walk_local_dsqs<V: Visitor + ?Sized>(&self, v: &mut V) {
        self.local_dsqs(v, &mut ListBudget::new(&self.limits));
    }

    /// [`Self::walk_local_dsqs`], the DSQs' nodes charged to `budget`.
    pub(crate) fn local_dsqs<V: Visitor + ?Sized>(&self, v: &mut V, budget: &mut ListBudget) {
        let pass = Pass::LocalDsqs;
        let (Some(rl), Some(sl)) = (self.layout.rq, self.layout.scx_rq) else {
            let group = if self.layout.rq.is_none() { LayoutGroup::Rq } else { LayoutGroup::ScxRq };
            return v.problem(&Problem::MissingLayout { pass, group });
        };
        for cpu in 0..self.cpu_count() {
            let rq_kva = match self.rq_kva(cpu, pass) {
                Ok(Some(kva)) => kva,
                Ok(None) => continue,
                Err(p) => {
                    v.problem(&p);
                    if matches!(p, Problem::MissingSymbol { .. }) {
                        return;
                    }
                    continue;
                }
            };
            let embedded = [
                (Some(sl.local_dsq), DsqOrigin::Local { cpu }),
                (sl.reject_dsq, DsqOrigin::Reject { cpu }),
                (sl.rescue_dsq, DsqOrigin::Rescue { cpu }),
            ];
            for (off, origin) in embedded {
                let Some(off) = off else { continue };
                match rq_kva.member(u64::from(rl.scx).saturating_add(off.into()), Field::Dsq) {
                    Ok(kva) => self.walk_owned_dsq(origin, kva, None, pass, v, budget),
                    Err(error) => v.problem(&Problem::Unreadable { pass, error }),
                }
            }
        }
    }
}
