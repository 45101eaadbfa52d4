//! Kernels 6.12-6.15, before `struct scx_sched`: one scheduler at most, its state and its
//! DSQs in kernel globals (`scx_ops`, `scx_ops_enable_state_var`, `scx_exit_kind`,
//! `global_dsqs`, `dsq_hash`). The same passes as from a `scx_sched`, minus bypass DSQs,
//! which these kernels do not have.

use crate::addr::VirtAddr;
use crate::error::Field;
use crate::guest::Guest;
use crate::limits::{ListBudget, MAX_NODES};
use crate::memory::PhysMem;
use crate::output::{DsqOrigin, Pass, Problem, Provenance, SchedState};
use crate::symbols::{SchedGlobals, Symbol};
use crate::translate::Translate;
use crate::visit::Visitor;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// The root state from the globals; `Ok(None)` while the enable state is "disabled".
    pub(crate) fn read_root_globals(&self, g: &SchedGlobals) -> Result<Option<SchedState>, Problem> {
        let unreadable = |error| Problem::Unreadable { pass: Pass::Root, error };
        let state = self.read_le::<u32>(g.enable_state, Field::EnableStateVar).map_err(unreadable)?;
        if state == g.disabled {
            return Ok(None);
        }
        let exit_kind = match g.exit_kind {
            Some(at) => self.read_le::<u32>(at, Field::ExitKindVar).map_err(unreadable)?,
            None => 0,
        };
        let bypass_depth = match g.bypass_depth {
            Some(at) => self.read_le::<i32>(at, Field::BypassDepthVar).map_err(unreadable)?,
            None => 0,
        };
        Ok(Some(SchedState {
            sched_kva: g.ops,
            exit_kind,
            aborting: false,
            bypass_depth,
            provenance: Provenance::Globals,
        }))
    }

    /// The global and user DSQs of a 6.12-6.15 kernel, owned by `scx_ops`, their nodes
    /// charged to `budget`.
    pub(crate) fn walk_globals_dsqs<V: Visitor + ?Sized>(
        &self,
        g: &SchedGlobals,
        v: &mut V,
        budget: &mut ListBudget,
    ) {
        match g.global_dsqs {
            Some(at) => self.walk_global_dsqs_array(at, g.ops, v, budget),
            None => {
                v.problem(&Problem::MissingSymbol { pass: Pass::GlobalDsqs, symbol: Symbol::GlobalDsqs });
            }
        }
        match g.dsq_hash {
            Some(ht) => {
                self.walk_dsq_hash(ht, g.ops, v, budget);
            }
            None => v.problem(&Problem::MissingSymbol { pass: Pass::UserDsqs, symbol: Symbol::DsqHash }),
        }
    }

    /// `*global_dsqs` is an array of `nr_node_ids` DSQ pointers, NULL before the first enable.
    fn walk_global_dsqs_array<V: Visitor + ?Sized>(
        &self,
        global_dsqs: VirtAddr,
        owner: VirtAddr,
        v: &mut V,
        budget: &mut ListBudget,
    ) {
        let pass = Pass::GlobalDsqs;
        let array = match self.read_ptr(global_dsqs, Field::GlobalDsqs) {
            Ok(a) if a.0 == 0 => return,
            Ok(a) => a,
            Err(error) => return v.problem(&Problem::Unreadable { pass, error }),
        };
        for node in 0..self.symbols.nr_nodes.min(MAX_NODES) {
            let entry = array
                .member(u64::from(node).saturating_mul(8), Field::GlobalDsqsEntry)
                .and_then(|at| self.read_ptr(at, Field::GlobalDsqsEntry));
            match entry {
                Ok(p) if p.0 == 0 => {}
                Ok(dsq) => self.walk_owned_dsq(DsqOrigin::Global { node }, dsq, Some(owner), pass, v, budget),
                Err(error) => v.problem(&Problem::Unreadable { pass, error }),
            }
        }
    }
}
