//! Pass 3.3: user DSQs in the scheduler's `dsq_hash` rhashtable.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadError};
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::memory::PhysMem;
use crate::output::{DsqOrigin, HashTruncation, HashWalk, Pass, Problem};
use crate::translate::Translate;
use crate::visit::Visitor;

/// Bit 0 of a bucket head is the bucket's lock bit; bit 0 of a `next` pointer marks a
/// "nulls" end-of-chain value.
const LOW_BIT: u64 = 1;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks `sched->dsq_hash`: every bucket up to the bucket cap, every chain up to the chain
    /// cap, at most the node cap in all, and every DSQ found (label `user`). Returns how the
    /// walk ended, which is also reported to `v.user_dsqs_end`.
    pub fn walk_user_dsqs<V: Visitor + ?Sized>(&self, sched: VirtAddr, v: &mut V) -> HashWalk {
        let Some(sl) = self.layout.sched else {
            v.problem(&Problem::MissingLayout { pass: Pass::UserDsqs, group: LayoutGroup::Sched });
            let hw = HashWalk::default();
            v.user_dsqs_end(&hw);
            return hw;
        };
        match sched.member(sl.dsq_hash, Field::RhashtableTbl) {
            Ok(ht) => self.walk_dsq_hash(ht, sched, v),
            Err(error) => {
                let hw = HashWalk { first_error: Some(error), ..HashWalk::default() };
                v.problem(&Problem::Unreadable { pass: Pass::UserDsqs, error });
                v.user_dsqs_end(&hw);
                hw
            }
        }
    }

    /// Walks the `struct rhashtable` at `ht` holding the user DSQs of the scheduler `owner`
    /// (`sched->dsq_hash`, or the `dsq_hash` global of 6.12-6.15).
    pub(crate) fn walk_dsq_hash<V: Visitor + ?Sized>(
        &self,
        ht: VirtAddr,
        owner: VirtAddr,
        v: &mut V,
    ) -> HashWalk {
        let pass = Pass::UserDsqs;
        let mut hw = HashWalk::default();
        let (Some(rl), Some(dl)) = (self.layout.rht, self.layout.dsq) else {
            let group = if self.layout.rht.is_none() { LayoutGroup::Rht } else { LayoutGroup::Dsq };
            v.problem(&Problem::MissingLayout { pass, group });
            v.user_dsqs_end(&hw);
            return hw;
        };
        let table = (|| -> Result<(VirtAddr, u32), ReadError> {
            let tbl = self.read_ptr(ht.member(rl.tbl, Field::RhashtableTbl)?, Field::RhashtableTbl)?;
            let size_at = tbl.member(rl.bucket_table_size, Field::BucketTableSize)?;
            Ok((tbl, self.read_le::<u32>(size_at, Field::BucketTableSize)?))
        })();
        let (tbl, size) = match table {
            Ok(t) => t,
            Err(error) => {
                hw.first_error = Some(error);
                v.problem(&Problem::Unreadable { pass, error });
                v.user_dsqs_end(&hw);
                return hw;
            }
        };
        hw.table_size = size;
        if size > self.limits.rht_buckets {
            hw.truncated |= HashTruncation::BUCKETS;
        }
        let note_break = |hw: &mut HashWalk, e: ReadError| {
            hw.broken_chains = hw.broken_chains.saturating_add(1);
            hw.first_error.get_or_insert(e);
        };
        'buckets: for i in 0..size.min(self.limits.rht_buckets) {
            hw.buckets_visited = hw.buckets_visited.saturating_add(1);
            let bucket = tbl
                .member(u64::from(rl.bucket_table_buckets), Field::BucketTableBucket)
                .and_then(|b| b.member(u64::from(i).saturating_mul(8), Field::BucketTableBucket))
                .and_then(|at| self.read_le::<u64>(at, Field::BucketTableBucket));
            let mut node = match bucket {
                Ok(head) => head & !LOW_BIT,
                Err(e) => {
                    note_break(&mut hw, e);
                    continue;
                }
            };
            let mut chain: u32 = 0;
            while node != 0 && node & LOW_BIT == 0 {
                if hw.nodes >= self.limits.rht_nodes {
                    hw.truncated |= HashTruncation::NODES;
                    break 'buckets;
                }
                if chain >= self.limits.bucket_chain {
                    hw.truncated |= HashTruncation::CHAIN;
                    break;
                }
                chain = chain.saturating_add(1);
                hw.nodes = hw.nodes.saturating_add(1);
                let here = VirtAddr(node);
                match here.container_of(dl.hash_node, Field::RhashHeadNext) {
                    Ok(dsq) => self.walk_owned_dsq(DsqOrigin::User, dsq, Some(owner), pass, v),
                    Err(e) => {
                        note_break(&mut hw, e);
                        break;
                    }
                }
                let next = here
                    .member(rl.rhash_head_next, Field::RhashHeadNext)
                    .and_then(|at| self.read_le::<u64>(at, Field::RhashHeadNext));
                node = match next {
                    Ok(n) => n,
                    Err(e) => {
                        note_break(&mut hw, e);
                        break;
                    }
                };
            }
        }
        v.user_dsqs_end(&hw);
        hw
    }
}
