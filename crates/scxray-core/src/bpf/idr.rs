//! The kernel-wide ID tables (`prog_idr`, `map_idr`, `btf_idr`, `link_idr`) walked over guest
//! memory: `xarray::walk_xarray` over a node reader that reads through the [`Guest`], each
//! entry's header read and handed to the visitor.

use crate::addr::VirtAddr;
use crate::bpf::header::{LinkHeader, StatsState};
use crate::bpf::layout::BpfIdrLayout;
use crate::bpf::visit::BpfVisitor;
pub use crate::bpf::walked::IdTableWalk;
use crate::bpf::walker::{BpfError, BpfGroup, BpfPass, BpfProblem, IdTable, Walker};
use crate::bpf::xarray::{XaCap, XaEvent, XaLimits, XaNodes, walk_xarray};
use crate::error::{Field, ReadError};
use crate::guest::Guest;
use crate::limits::Limit;
use crate::memory::PhysMem;
use crate::translate::Translate;

/// Reads `struct xa_node`s through the guest.
struct GuestNodes<'w, 'a, M: ?Sized, T: ?Sized> {
    guest: &'w Guest<'a, M, T>,
    il: BpfIdrLayout,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> XaNodes for GuestNodes<'_, '_, M, T> {
    type Error = ReadError;

    fn shift(&mut self, node: VirtAddr) -> Result<u8, ReadError> {
        self.guest.read_le(node.member(self.il.node_shift, Field::XaNodeShift)?, Field::XaNodeShift)
    }

    fn slot(&mut self, node: VirtAddr, slot: u32) -> Result<u64, ReadError> {
        let off = u64::from(self.il.node_slots).saturating_add(u64::from(slot).saturating_mul(8));
        self.guest.read_le(node.member(off, Field::XaNodeSlot)?, Field::XaNodeSlot)
    }
}

/// What [`Walker::for_each_id`] hands its callback.
pub(crate) enum IdEvent {
    /// The object with this id is at this address.
    Entry(u32, VirtAddr),
    /// A node, a slot or the table's head could not be read (its subtree is skipped).
    Unreadable(ReadError),
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// Every entry of the ID table `table`, in id order, and every node that could not be
    /// read: `f` returns false to stop. `Err` when the walk cannot start (no layout, no
    /// symbol). The table's caps apply.
    pub(crate) fn for_each_id(
        &self,
        table: IdTable,
        mut f: impl FnMut(IdEvent) -> bool,
    ) -> Result<IdTableWalk, BpfProblem> {
        let pass = BpfPass::IdTable(table);
        let mut walk = IdTableWalk::default();
        let il = self.layout().idr.ok_or(BpfProblem::MissingLayout { pass, group: BpfGroup::Idr })?;
        let idr = table.symbol(&self.symbols).ok_or(BpfProblem::MissingTable { pass, table })?;
        let g = &self.guest;
        let root = (|| -> Result<(u64, u32), ReadError> {
            let head = g.read_le::<u64>(idr.member(il.head, Field::XaHead)?, Field::XaHead)?;
            let base = match il.base {
                Some(o) => g.read_le::<u32>(idr.member(o, Field::IdrBase)?, Field::IdrBase)?,
                None => 0,
            };
            Ok((head, base))
        })();
        let (head, base) = match root {
            Ok(r) => r,
            Err(error) => {
                walk.first_error = Some(error);
                f(IdEvent::Unreadable(error));
                return Ok(walk);
            }
        };
        let limits = XaLimits {
            slots: il.node_slot_count,
            max_nodes: self.limits.idr_nodes,
            max_entries: self.limits.ids,
        };
        let mut nodes = GuestNodes { guest: g, il };
        let mut bad_index = 0u32;
        let mut first_error = None;
        let sum = walk_xarray(head, &limits, &mut nodes, |event| match event {
            XaEvent::Entry { index, entry } => {
                // Ids are positive `int`s: an index that makes none is not the kernel's.
                match u32::try_from(index).ok().and_then(|i| i.checked_add(base)) {
                    Some(id) => f(IdEvent::Entry(id, entry)),
                    None => {
                        bad_index = bad_index.saturating_add(1);
                        true
                    }
                }
            }
            XaEvent::Unreadable { error, .. } => {
                first_error.get_or_insert(error);
                f(IdEvent::Unreadable(error))
            }
            XaEvent::BadShift { .. } | XaEvent::NodeInLeaf { .. } => true,
        });
        walk.entries = sum.entries;
        walk.nodes = sum.nodes;
        walk.truncated = sum.truncated;
        walk.cap = sum.cap.map(|c| match c {
            XaCap::Entries => Limit::BpfIds,
            XaCap::Nodes => Limit::BpfIdrNodes,
        });
        walk.skipped_nodes = sum.skipped;
        walk.id_mismatch = bad_index;
        walk.first_error = first_error;
        Ok(walk)
    }

    /// Walks the ID table `table`: every program, map, BTF object or link it holds, in id
    /// order, each header read and handed to `v` (`prog`, `map`, `btf`, `link`), then
    /// `v.id_table_end`. Programs' statistics are summed when they are on.
    pub fn walk_id_table<V: BpfVisitor + ?Sized>(&self, table: IdTable, v: &mut V) -> IdTableWalk {
        let pass = BpfPass::IdTable(table);
        let stats = if table == IdTable::Prog { self.stats_state() } else { StatsState::Off };
        let mut unreadable = 0u32;
        let mut mismatch = 0u32;
        let mut first: Option<ReadError> = None;
        let result = self.for_each_id(table, |event| {
            let (id, kva) = match event {
                IdEvent::Entry(id, kva) => (id, kva),
                IdEvent::Unreadable(error) => {
                    v.problem(&BpfProblem::Unreadable { pass, error });
                    return true;
                }
            };
            let own_id = match table {
                IdTable::Prog => self.read_prog(kva, stats).map(|p| {
                    v.prog(&p);
                    Some(p.id)
                }),
                IdTable::Map => self.read_map(kva).map(|m| {
                    v.map(&m);
                    Some(m.id)
                }),
                IdTable::Btf => self.read_btf(kva).map(|b| {
                    v.btf(&b);
                    b.id
                }),
                IdTable::Link => self.link_prog(kva).map(|prog| {
                    v.link(&LinkHeader { kva, id, prog });
                    Some(id)
                }),
            };
            match own_id {
                Ok(Some(own)) if own != id => mismatch = mismatch.saturating_add(1),
                Ok(_) => {}
                Err(e) => {
                    unreadable = unreadable.saturating_add(1);
                    if let BpfError::Read(r) = e {
                        first.get_or_insert(r);
                    }
                    v.problem(&BpfProblem::from_error(pass, e));
                }
            }
            true
        });
        let walk = match result {
            Ok(mut w) => {
                w.unreadable = unreadable;
                w.id_mismatch = w.id_mismatch.saturating_add(mismatch);
                w.first_error = w.first_error.or(first);
                w
            }
            Err(problem) => {
                v.problem(&problem);
                IdTableWalk::default()
            }
        };
        v.id_table_end(table, &walk);
        walk
    }
}
