//! One dispatch queue: header fields and its task list, iterator cursors skipped.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadCause, ReadError};
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::limits::{Limit, ListBudget, queue_slack};
use crate::memory::PhysMem;
use crate::output::{DsqHeader, DsqOrigin, ListWalk, Pass, Problem, TaskEntry};
use crate::translate::Translate;
use crate::visit::Visitor;
use crate::walk::list::{FlagsAt, Node, walk_list};

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks the DSQ at `kva`: reports its header, then every queued task, then how the walk
    /// ended. A DSQ whose physical address is 0 is not walked (it would read as an all-zero
    /// phantom queue) but reported as a problem ([`crate::ReadCause::PhysicalZero`]). `pass`
    /// labels any problem. The list's cap is sized from the DSQ's own `nr`
    /// ([`crate::limits`]).
    pub fn walk_dsq<V: Visitor + ?Sized>(&self, origin: DsqOrigin, kva: VirtAddr, pass: Pass, v: &mut V) {
        let mut budget = ListBudget::new(&self.limits);
        self.walk_owned_dsq(origin, kva, None, pass, v, &mut budget);
    }

    /// [`Self::walk_dsq`] for a DSQ of the scheduler at `sched` (see [`DsqHeader::sched`]),
    /// its list's nodes charged to `budget`.
    pub(crate) fn walk_owned_dsq<V: Visitor + ?Sized>(
        &self,
        origin: DsqOrigin,
        kva: VirtAddr,
        sched: Option<VirtAddr>,
        pass: Pass,
        v: &mut V,
        budget: &mut ListBudget,
    ) {
        let Some(dl) = self.layout.dsq else {
            v.problem(&Problem::MissingLayout { pass, group: LayoutGroup::Dsq });
            return;
        };
        let pa = match self.translate(kva, Field::Dsq) {
            Ok(pa) => pa,
            Err(error) => return v.problem(&Problem::Unreadable { pass, error }),
        };
        if pa.0 == 0 {
            let error = ReadError { field: Field::Dsq, kva, cause: ReadCause::PhysicalZero };
            return v.problem(&Problem::Unreadable { pass, error });
        }
        let header = (|| {
            Ok(DsqHeader {
                origin,
                kva,
                pa,
                id: self.read_le::<u64>(kva.member(dl.id, Field::DsqId)?, Field::DsqId)?,
                nr: self.read_le::<u32>(kva.member(dl.nr, Field::DsqNr)?, Field::DsqNr)?,
                seq: self.read_le::<u32>(kva.member(dl.seq, Field::DsqSeq)?, Field::DsqSeq)?,
                sched,
            })
        })();
        let header = match header {
            Ok(h) => h,
            Err(error) => return v.problem(&Problem::Unreadable { pass, error }),
        };
        v.dsq(&header);

        let (Some(ln), Some(tl), Some(see)) = (self.layout.dsq_lnode, self.layout.task, self.layout.see)
        else {
            let group = match (self.layout.dsq_lnode, self.layout.task) {
                (None, _) => LayoutGroup::DsqLnode,
                (_, None) => LayoutGroup::Task,
                _ => LayoutGroup::See,
            };
            v.problem(&Problem::MissingLayout { pass, group });
            return v.dsq_end(&header, &ListWalk::default());
        };
        let task_from_node =
            u64::from(tl.scx).saturating_add(u64::from(see.dsq_list)).saturating_add(u64::from(ln.node));
        let cursor = self.layout.flags.dsq_lnode_iter_cursor;
        let head = match kva.member(dl.list, Field::Dsq) {
            Ok(h) => h,
            Err(error) => {
                v.problem(&Problem::Unreadable { pass, error });
                return v.dsq_end(&header, &ListWalk::default());
            }
        };
        // The list node's flags tell a task from an iterator cursor; a node whose flags
        // cannot be read is not reported (never report a task that was not validated), and
        // why is: read again out of the hot path for its error, it is a problem of the pass
        // (else it would pass for a cursor, counted skipped).
        let flags = FlagsAt { back: ln.node.into(), forward: ln.flags.into() };
        let cap =
            self.limits.list_nodes.resolve(Limit::ListNodes, Some(header.nr), queue_slack(self.cpu_count()));
        let walk = ListBudget::spend(&mut budget.dsq, cap, |cap| {
            walk_list(self, head, cap, Some(flags), |node, node_flags| {
                let read = match node_flags {
                    Some(f) => Ok(f),
                    None => flags.of(node).map_or(
                        Err(ReadError {
                            field: Field::DsqLnodeFlags,
                            kva: node,
                            cause: ReadCause::AddressOverflow,
                        }),
                        |at| self.read_le::<u32>(at, Field::DsqLnodeFlags),
                    ),
                };
                let task = read.and_then(|f| {
                    if f & cursor != 0 {
                        return Ok(None);
                    }
                    node.container_of(task_from_node, Field::ListHeadNext).map(Some)
                });
                match task {
                    Ok(Some(task_kva)) => {
                        v.dsq_task(&header, TaskEntry { task_kva, runnable_in_scx: false });
                        Node::Reported
                    }
                    Ok(None) => Node::Skipped,
                    Err(error) => {
                        v.problem(&Problem::Unreadable { pass, error });
                        Node::Skipped
                    }
                }
            })
        });
        v.dsq_end(&header, &walk);
    }
}
