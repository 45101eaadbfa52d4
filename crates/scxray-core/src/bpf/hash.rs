//! HASH, PERCPU_HASH and the LRU variants (`struct bpf_htab`): every bucket's nulls list.
//!
//! `buckets[i].head.first` and each element's `hash_node.next` point to the next element's
//! `hash_node`; the list ends at a value with bit 0 set whose upper bits are the bucket's
//! index (`INIT_HLIST_NULLS_HEAD(&b->head, i)`). Preallocated free elements sit on a
//! freelist, not on a bucket, so the bucket walk sees exactly the live elements. A key is at
//! `htab_elem.key`, its value `round_up(key_size, 8)` after it (a per-CPU map's: a
//! `__percpu` pointer to the CPUs' copies).

use crate::addr::VirtAddr;
use crate::bpf::contents::{Anomaly, ContentsKind, ContentsWalk, Truncation, round8};
use crate::bpf::cycle::LoopCheck;
use crate::bpf::header::{MapHeader, Window};
use crate::bpf::visit::{BpfVisitor, ElemKey};
use crate::bpf::walker::{BpfError, BpfGroup, Walker};
use crate::error::{Field, ReadError};
use crate::limits::{Limit, WalkCap};
use crate::memory::PhysMem;
use crate::translate::Translate;
use core::ops::ControlFlow;

/// Bit 0 of a nulls-list pointer: the list's end marker.
const NULLS: u64 = 1;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// Walks a hash map's buckets: at most `hash_buckets` buckets, `chain` elements per
    /// bucket, `elems` elements in all (both sized from the map).
    pub(crate) fn walk_hash<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        v: &mut V,
    ) -> Result<ContentsWalk, (ContentsKind, BpfError)> {
        let percpu = map.map_type.is_percpu();
        let kind = if percpu { ContentsKind::PercpuHash } else { ContentsKind::Hash };
        let hl = self.layout().htab.ok_or((kind, BpfError::MissingLayout(BpfGroup::Htab)))?;
        let g = &self.guest;
        let mut walk = ContentsWalk { kind, ..ContentsWalk::default() };
        let f = Field::BpfHtab;
        let head = (|| -> Result<(VirtAddr, u32, u32), ReadError> {
            let w = Window::read(g, map.kva, &[(hl.buckets, 8), (hl.n_buckets, 4), (hl.elem_size, 4)], f)?;
            Ok((VirtAddr(w.u64(g, hl.buckets, f)?), w.u32(g, hl.n_buckets, f)?, w.u32(g, hl.elem_size, f)?))
        })();
        let (buckets, n_buckets, elem_size) = head.map_err(|e| (kind, e.into()))?;
        if map.max_entries.checked_next_power_of_two() != Some(n_buckets) {
            walk.anomalies |= Anomaly::BUCKET_COUNT;
        }
        let key_room = round8(map.key_size);
        let value_room = if percpu { Some(8) } else { round8(map.value_size) };
        let expected = key_room
            .zip(value_room)
            .and_then(|(k, v)| k.checked_add(v))
            .and_then(|kv| kv.checked_add(hl.elem_key));
        if expected != Some(elem_size) {
            walk.anomalies |= Anomaly::ELEM_SIZE;
        }
        let key_room = u64::from(key_room.unwrap_or(u32::MAX));
        // The kernel refuses an insertion into a full map, but one per CPU may race the check.
        let cpus = self.guest.cpu_count();
        walk.elems_cap = self.limits.elems_cap(Some(map.max_entries), cpus, if percpu { cpus } else { 1 });
        walk.buckets_cap = self.limits.hash_buckets.resolve(Limit::BpfHashBuckets, Some(n_buckets), 0);
        walk.chain_cap = WalkCap::fixed(Limit::BpfChain, self.limits.chain);
        if n_buckets > walk.buckets_cap.value {
            walk.truncated |= Truncation::BUCKETS;
        }
        'buckets: for i in 0..n_buckets.min(walk.buckets_cap.value) {
            let first = buckets
                .member(u64::from(i).saturating_mul(u64::from(hl.bucket_size)), Field::HtabBucketFirst)
                .and_then(|b| b.member(hl.bucket_first, Field::HtabBucketFirst))
                .and_then(|at| g.read_le::<u64>(at, Field::HtabBucketFirst));
            let mut node = match first {
                Ok(n) => n,
                Err(e) => {
                    walk.broke(e);
                    continue;
                }
            };
            let mut chain = 0u32;
            let mut check = LoopCheck::new(node);
            while node & NULLS == 0 {
                // A NULL is no kernel list's end (the nulls marker is): a broken chain.
                if node == 0 {
                    walk.anomalies |= Anomaly::FOREIGN_NULLS;
                    break;
                }
                if walk.elems >= walk.elems_cap.value {
                    walk.truncated |= Truncation::ELEMS;
                    break 'buckets;
                }
                if chain >= walk.chain_cap.value {
                    walk.truncated |= Truncation::CHAIN;
                    break;
                }
                chain = chain.saturating_add(1);
                let elem_at = VirtAddr(node).container_of(hl.elem_next, Field::HtabElemNext);
                let next = elem_at
                    .and_then(|e| e.member(hl.elem_next, Field::HtabElemNext))
                    .and_then(|at| g.read_le::<u64>(at, Field::HtabElemNext));
                let (elem, next) = match elem_at.and_then(|e| next.map(|n| (e, n))) {
                    Ok(pair) => pair,
                    Err(e) => {
                        walk.broke(e);
                        break;
                    }
                };
                walk.elems = walk.elems.saturating_add(1);
                let at = elem
                    .member(hl.elem_key, Field::MapKey)
                    .and_then(|k| k.member(key_room, Field::MapValue).map(|val| (k, val)));
                let flow = match at {
                    Ok((key_at, value_at)) => {
                        self.hash_elem(map, ElemKey::Hash { bucket: i, elem }, key_at, value_at, &mut walk, v)
                    }
                    Err(e) => {
                        walk.broke(e);
                        ControlFlow::Continue(())
                    }
                };
                if flow.is_break() {
                    walk.truncated |= Truncation::STOPPED;
                    break 'buckets;
                }
                node = next;
                if node & NULLS == 0 && check.step(node) {
                    walk.anomalies |= Anomaly::LOOP;
                    break;
                }
            }
            if node & NULLS != 0 && node >> 1 != u64::from(i) {
                walk.anomalies |= Anomaly::FOREIGN_NULLS;
            }
        }
        Ok(walk)
    }

    /// Hands one hash element: its key, and its value or each CPU's copy of it.
    fn hash_elem<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        key: ElemKey,
        key_at: VirtAddr,
        value_at: VirtAddr,
        walk: &mut ContentsWalk,
        v: &mut V,
    ) -> ControlFlow<()> {
        if map.map_type.is_percpu() {
            match self.guest.read_ptr(value_at, Field::HtabPercpuPtr) {
                Ok(pcpu) => self.hand_percpu(map, key, Some(key_at), pcpu, walk, v),
                Err(e) => {
                    walk.broke(e);
                    ControlFlow::Continue(())
                }
            }
        } else {
            walk.values = walk.values.saturating_add(1);
            self.hand(map, key, None, Some(key_at), value_at, v)
        }
    }
}
