//! Every pass over a whole machine, in one call.

use crate::guest::Guest;
use crate::limits::ListBudget;
use crate::memory::PhysMem;
use crate::output::{Pass, Problem, Provenance};
use crate::symbols::Symbol;
use crate::translate::Translate;
use crate::visit::Visitor;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Runs every pass: the root state, pass 1 per CPU, pass 2 (per-CPU DSQs), pass 3
    /// (bypass, global and user DSQs, when a scheduler is attached, then every sub-scheduler
    /// with its own), pass 4 (`scx_tasks`).
    /// A pass that lacks a layout group or symbol is reported as a problem and skipped; the
    /// others still run. All DSQ lists share one node budget, all runnable_lists another
    /// ([`crate::Limits::list_budget`]).
    pub fn walk_machine<V: Visitor + ?Sized>(&self, v: &mut V) {
        let mut budget = ListBudget::new(&self.limits);
        let root = match self.read_root() {
            Ok(r) => r,
            Err(p) => {
                v.problem(&p);
                None
            }
        };
        if let Some(root) = &root {
            v.root(root);
        }
        let missing = if self.symbols.runqueues.is_none() {
            Some(Symbol::Runqueues)
        } else if self.symbols.per_cpu_offsets.is_none() {
            Some(Symbol::PerCpuOffset)
        } else {
            None
        };
        if let Some(symbol) = missing {
            // Reported once here rather than once per CPU.
            v.problem(&Problem::MissingSymbol { pass: Pass::RqScx, symbol });
        } else {
            for cpu in 0..self.cpu_count() {
                self.rq_scx(cpu, v, &mut budget);
            }
        }
        self.local_dsqs(v, &mut budget);
        if let Some(root) = root {
            match (root.provenance, self.symbols.globals) {
                (Provenance::Globals, Some(g)) => self.walk_globals_dsqs(&g, v, &mut budget),
                _ => {
                    self.walk_sched_dsqs(root.sched_kva, v, &mut budget);
                    self.sub_scheds(root.sched_kva, v, &mut budget);
                }
            }
        }
        self.walk_scx_tasks(v);
    }
}
