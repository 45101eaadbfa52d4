//! The scheduler root (`*scx_root`) and the DSQs reachable from it: per-CPU bypass DSQs and
//! per-node global DSQs (user DSQs are in `rhashtable.rs`).

use crate::addr::VirtAddr;
use crate::error::Field;
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::limits::{ListBudget, MAX_NODES};
use crate::memory::PhysMem;
use crate::output::{DsqOrigin, Pass, Problem, Provenance, SchedState};
use crate::symbols::Symbol;
use crate::translate::Translate;
use crate::visit::Visitor;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Reads the root scheduler's state from `*scx_root`, or on 6.12-6.15 (no `scx_root`)
    /// from the kernel globals ([`KernelSymbols::globals`](crate::KernelSymbols)). `Ok(None)`:
    /// no scheduler attached. Members this kernel lacks read as false / 0.
    pub fn read_root(&self) -> Result<Option<SchedState>, Problem> {
        let pass = Pass::Root;
        let Some(scx_root) = self.symbols.scx_root else {
            return match self.symbols.globals {
                Some(g) => self.read_root_globals(&g),
                None => Err(Problem::MissingSymbol { pass, symbol: Symbol::ScxRoot }),
            };
        };
        let unreadable = |error| Problem::Unreadable { pass, error };
        let sched = self.read_ptr(scx_root, Field::ScxRoot).map_err(unreadable)?;
        if sched.0 == 0 {
            return Ok(None);
        }
        self.read_sched_state(sched, pass).map(Some)
    }

    /// The state of the `struct scx_sched` at `sched`.
    pub(crate) fn read_sched_state(&self, sched: VirtAddr, pass: Pass) -> Result<SchedState, Problem> {
        let Some(sl) = self.layout.sched else {
            return Err(Problem::MissingLayout { pass, group: LayoutGroup::Sched });
        };
        let unreadable = |error| Problem::Unreadable { pass, error };
        let at = |off: u32, f: Field| sched.member(off, f).map_err(unreadable);
        let exit_kind = self.read_le::<u32>(at(sl.exit_kind, Field::SchedExitKind)?, Field::SchedExitKind);
        let aborting = match sl.aborting {
            Some(o) => {
                self.read_le::<u8>(at(o, Field::SchedAborting)?, Field::SchedAborting).map_err(unreadable)?
                    != 0
            }
            None => false,
        };
        let bypass_depth = match sl.bypass_depth {
            Some(o) => self
                .read_le::<i32>(at(o, Field::SchedBypassDepth)?, Field::SchedBypassDepth)
                .map_err(unreadable)?,
            None => 0,
        };
        Ok(SchedState {
            sched_kva: sched,
            exit_kind: exit_kind.map_err(unreadable)?,
            aborting,
            bypass_depth,
            provenance: Provenance::Live,
        })
    }

    /// The scheduler's DSQs (bypass, global, user) of the `struct scx_sched` at `sched`, their
    /// nodes charged to `budget`.
    pub(crate) fn walk_sched_dsqs<V: Visitor + ?Sized>(
        &self,
        sched: VirtAddr,
        v: &mut V,
        budget: &mut ListBudget,
    ) {
        self.bypass_dsqs(sched, v, budget);
        self.global_dsqs(sched, v, budget);
        self.user_dsqs(sched, v, budget);
    }

    /// Pass 3.1: each CPU's bypass DSQ at
    /// `sched->pcpu + __per_cpu_offset[cpu] + scx_sched_pcpu.bypass_dsq`. Needs both
    /// `scx_sched.pcpu` and `scx_sched_pcpu.bypass_dsq`.
    pub fn walk_bypass_dsqs<V: Visitor + ?Sized>(&self, sched: VirtAddr, v: &mut V) {
        self.bypass_dsqs(sched, v, &mut ListBudget::new(&self.limits));
    }

    /// [`Self::walk_bypass_dsqs`], the DSQs' nodes charged to `budget`.
    fn bypass_dsqs<V: Visitor + ?Sized>(&self, sched: VirtAddr, v: &mut V, budget: &mut ListBudget) {
        let pass = Pass::BypassDsqs;
        let Some(sl) = self.layout.sched else {
            return v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::Sched });
        };
        let Some(pcpu_off) = sl.pcpu else {
            return v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::SchedPcpuMember });
        };
        let Some(ppl) = self.layout.sched_pcpu else {
            return v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::SchedPcpu });
        };
        if self.symbols.per_cpu_offsets.is_none() {
            return v.problem(&Problem::MissingSymbol { pass, symbol: Symbol::PerCpuOffset });
        }
        let pcpu =
            sched.member(pcpu_off, Field::SchedPcpu).and_then(|at| self.read_ptr(at, Field::SchedPcpu));
        let pcpu = match pcpu {
            Ok(p) => p,
            Err(error) => return v.problem(&Problem::Unreadable { pass, error }),
        };
        for cpu in 0..self.cpu_count() {
            let dsq = self
                .per_cpu_ptr(pcpu, cpu)
                .and_then(|p| p.map(|p| p.member(ppl.bypass_dsq, Field::Dsq)).transpose());
            match dsq {
                Ok(Some(kva)) => {
                    self.walk_owned_dsq(DsqOrigin::Bypass { cpu }, kva, Some(sched), pass, v, budget)
                }
                Ok(None) => {}
                Err(error) => v.problem(&Problem::Unreadable { pass, error }),
            }
        }
    }

    /// Pass 3.2: each node's global DSQ at `sched->pnode[n] + scx_sched_pnode.global_dsq`;
    /// NULL entries are skipped.
    pub fn walk_global_dsqs<V: Visitor + ?Sized>(&self, sched: VirtAddr, v: &mut V) {
        self.global_dsqs(sched, v, &mut ListBudget::new(&self.limits));
    }

    /// [`Self::walk_global_dsqs`], the DSQs' nodes charged to `budget`.
    fn global_dsqs<V: Visitor + ?Sized>(&self, sched: VirtAddr, v: &mut V, budget: &mut ListBudget) {
        let pass = Pass::GlobalDsqs;
        let Some(sl) = self.layout.sched else {
            return v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::Sched });
        };
        let Some(pnode_off) = sl.pnode else {
            return v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::SchedPnodeMember });
        };
        let Some(pnl) = self.layout.sched_pnode else {
            return v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::SchedPnode });
        };
        let array =
            sched.member(pnode_off, Field::SchedPnode).and_then(|at| self.read_ptr(at, Field::SchedPnode));
        let array = match array {
            Ok(a) => a,
            Err(error) => return v.problem(&Problem::Unreadable { pass, error }),
        };
        for node in 0..self.symbols.nr_nodes.min(MAX_NODES) {
            let entry = array
                .member(u64::from(node).saturating_mul(8), Field::SchedPnodeEntry)
                .and_then(|at| self.read_ptr(at, Field::SchedPnodeEntry));
            match entry {
                Ok(p) if p.0 == 0 => {}
                Ok(p) => match p.member(pnl.global_dsq, Field::Dsq) {
                    Ok(kva) => {
                        self.walk_owned_dsq(DsqOrigin::Global { node }, kva, Some(sched), pass, v, budget)
                    }
                    Err(error) => v.problem(&Problem::Unreadable { pass, error }),
                },
                Err(error) => v.problem(&Problem::Unreadable { pass, error }),
            }
        }
    }
}
