//! Pass 3.3: user DSQs in the scheduler's `dsq_hash` rhashtable.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadCause, ReadError};
use crate::guest::Guest;
use crate::layout::{LayoutGroup, RhtLayout};
use crate::limits::{Limit, ListBudget, hash_slack};
use crate::memory::PhysMem;
use crate::output::{DsqOrigin, HashTruncation, HashWalk, Pass, Problem};
use crate::translate::Translate;
use crate::visit::Visitor;
use crate::walk::chain::{ChainEnd, scan_chain};

/// Bit 0 of a bucket head is the bucket's lock bit; bit 0 of a `next` pointer marks a
/// "nulls" end-of-chain value.
const LOW_BIT: u64 = 1;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Walks `sched->dsq_hash`: every bucket up to the bucket cap, every chain up to the chain
    /// cap, at most the DSQ cap in all, and every DSQ found (label `user`), each once however
    /// its chain loops. The DSQ cap is sized from `rhashtable.nelems`, the bucket cap from
    /// `bucket_table.size` ([`crate::limits`]). Returns how the walk ended, which is also
    /// reported to `v.user_dsqs_end`.
    pub fn walk_user_dsqs<V: Visitor + ?Sized>(&self, sched: VirtAddr, v: &mut V) -> HashWalk {
        self.user_dsqs(sched, v, &mut ListBudget::new(&self.limits))
    }

    /// [`Self::walk_user_dsqs`], the DSQs' nodes charged to `budget`.
    pub(crate) fn user_dsqs<V: Visitor + ?Sized>(
        &self,
        sched: VirtAddr,
        v: &mut V,
        budget: &mut ListBudget,
    ) -> HashWalk {
        let Some(sl) = self.layout.sched else {
            v.problem(&Problem::MissingLayout { pass: Pass::UserDsqs, group: LayoutGroup::Sched });
            let hw = HashWalk::default();
            v.user_dsqs_end(&hw);
            return hw;
        };
        match sched.member(sl.dsq_hash, Field::RhashtableTbl) {
            Ok(ht) => self.walk_dsq_hash(ht, sched, v, budget),
            Err(error) => {
                let hw = HashWalk { first_error: Some(error), ..HashWalk::default() };
                v.problem(&Problem::Unreadable { pass: Pass::UserDsqs, error });
                v.user_dsqs_end(&hw);
                hw
            }
        }
    }

    /// `rhashtable.nelems` of the table at `ht`, when the layout names it and it reads as a
    /// count; an unreadable one is reported.
    fn read_nelems<V: Visitor + ?Sized>(&self, ht: VirtAddr, rl: &RhtLayout, v: &mut V) -> Option<u32> {
        let read = ht
            .member(rl.nelems?, Field::RhashtableNelems)
            .and_then(|at| self.read_le::<i32>(at, Field::RhashtableNelems));
        match read {
            // A negative count is no count.
            Ok(n) => u32::try_from(n).ok(),
            Err(error) => {
                v.problem(&Problem::Unreadable { pass: Pass::UserDsqs, error });
                None
            }
        }
    }

    /// Walks the `struct rhashtable` at `ht` holding the user DSQs of the scheduler `owner`
    /// (`sched->dsq_hash`, or the `dsq_hash` global of 6.12-6.15), the DSQs' nodes charged to
    /// `budget`.
    ///
    /// A chain is measured before its DSQs are reported (`walk/chain.rs`): one that loops
    /// back is reported up to its last distinct DSQ and counted in `looped_chains`. A chain
    /// that ends at another bucket's nulls marker ran into that bucket's chain, whose DSQs
    /// it may report again (`stray_chains`): telling them apart would need a memory of every
    /// DSQ seen, which a walker without an allocator does not have, and a kernel table never
    /// holds such a chain but while a rehash moves an entry. A NULL `next` ends a chain as
    /// broken (a kernel chain ends at a nulls marker, never at NULL); a broken chain may
    /// likewise have run into another bucket's chain before it broke (the fuzzer found one),
    /// so its DSQs may be reported again too: the report says so with the broken count.
    pub(crate) fn walk_dsq_hash<V: Visitor + ?Sized>(
        &self,
        ht: VirtAddr,
        owner: VirtAddr,
        v: &mut V,
        budget: &mut ListBudget,
    ) -> HashWalk {
        let pass = Pass::UserDsqs;
        let mut hw = HashWalk { chain_cap: self.limits.bucket_chain, ..HashWalk::default() };
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
        let nelems = self.read_nelems(ht, &rl, v);
        let slack = hash_slack(self.cpu_count());
        hw.node_cap = self.limits.rht_nodes.resolve(Limit::RhtNodes, nelems, slack);
        hw.bucket_cap = self.limits.rht_buckets.resolve(Limit::RhtBuckets, Some(size), 0);
        if size > hw.bucket_cap.value {
            hw.truncated |= HashTruncation::BUCKETS;
        }
        let note_break = |hw: &mut HashWalk, e: ReadError| {
            hw.broken_chains = hw.broken_chains.saturating_add(1);
            hw.first_error.get_or_insert(e);
        };
        let next_of = |node: u64| -> Result<u64, ReadError> {
            VirtAddr(node)
                .member(rl.rhash_head_next, Field::RhashHeadNext)
                .and_then(|at| self.read_le::<u64>(at, Field::RhashHeadNext))
        };
        let chain_cap = self.limits.bucket_chain;
        for i in 0..size.min(hw.bucket_cap.value) {
            hw.buckets_visited = hw.buckets_visited.saturating_add(1);
            let slot = tbl
                .member(u64::from(rl.bucket_table_buckets), Field::BucketTableBucket)
                .and_then(|b| b.member(u64::from(i).saturating_mul(8), Field::BucketTableBucket));
            let head = match slot.and_then(|at| self.read_le::<u64>(at, Field::BucketTableBucket)) {
                Ok(head) => head & !LOW_BIT,
                Err(e) => {
                    note_break(&mut hw, e);
                    continue;
                }
            };
            // An empty bucket holds NULL (the kernel never stores its nulls marker there).
            if head == 0 {
                continue;
            }
            // The DSQ cap left, or the chain cap, whichever is smaller, bounds this chain.
            let nodes_left = hw.node_cap.value.saturating_sub(hw.nodes);
            let chain = scan_chain(head, chain_cap.min(nodes_left), next_of);
            let mut cut = None;
            let reread = chain.report(next_of, |node| {
                hw.nodes = hw.nodes.saturating_add(1);
                match VirtAddr(node).container_of(dl.hash_node, Field::RhashHeadNext) {
                    Ok(dsq) => {
                        self.walk_owned_dsq(DsqOrigin::User, dsq, Some(owner), pass, v, budget);
                        true
                    }
                    Err(e) => {
                        cut = Some(e);
                        false
                    }
                }
            });
            if let Some(e) = cut.or(reread.err()) {
                note_break(&mut hw, e);
                continue;
            }
            match chain.end {
                ChainEnd::End(0) => {
                    let kva = VirtAddr(chain.last).wrapping_add(u64::from(rl.rhash_head_next));
                    note_break(
                        &mut hw,
                        ReadError { field: Field::RhashHeadNext, kva, cause: ReadCause::NullPointer },
                    );
                }
                // A kernel chain ends at its own bucket's marker: the slot's address, bit 0 set.
                ChainEnd::End(marker) => {
                    if slot.is_ok_and(|s| s.0 | LOW_BIT != marker) {
                        hw.stray_chains = hw.stray_chains.saturating_add(1);
                        hw.first_stray_bucket.get_or_insert(i);
                    }
                }
                ChainEnd::Loop => {
                    hw.looped_chains = hw.looped_chains.saturating_add(1);
                    hw.first_looped_bucket.get_or_insert(i);
                }
                ChainEnd::Broken(e) => note_break(&mut hw, e),
                ChainEnd::Limit if nodes_left <= chain_cap => {
                    hw.truncated |= HashTruncation::NODES;
                    break;
                }
                ChainEnd::Limit => hw.truncated |= HashTruncation::CHAIN,
            }
        }
        v.user_dsqs_end(&hw);
        hw
    }
}
