//! Local storage (TASK_STORAGE, and SK/INODE/CGRP storage alike): the map's buckets list
//! every element of the map by `selem.map_node`, each element's value is `sdata.data` and its
//! owner `local_storage->owner`; one owner's elements (one per storage map) hang on its
//! `struct bpf_local_storage` by `selem.snode` (a task's: `task_struct.bpf_storage`). Both
//! lists are NULL-terminated `hlist`s whose `next` is the node's first word.

use crate::addr::VirtAddr;
use crate::bpf::contents::{Anomaly, ContentsKind, ContentsWalk, Truncation};
use crate::bpf::cycle::LoopCheck;
use crate::bpf::header::MapHeader;
use crate::bpf::layout::BpfLocalStorageLayout;
use crate::bpf::visit::{BpfVisitor, ElemKey};
use crate::bpf::walker::{BpfError, BpfGroup, Walker};
use crate::error::{Field, ReadError};
use crate::limits::{Limit, WalkCap};
use crate::memory::PhysMem;
use crate::translate::Translate;

/// One owner's value in a local-storage map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StorageValue {
    /// The `struct bpf_local_storage_elem`.
    pub elem: VirtAddr,
    /// The value (`sdata.data`, `value_size` bytes).
    pub value: VirtAddr,
}

/// What one owner's storage list holds for a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StorageLookup {
    /// Its value.
    Found(StorageValue),
    /// The list ended without one: the owner holds no value in the map.
    Absent,
    /// The list was not seen to its end (`owner_storages` cap, or it loops): unknown.
    Cut {
        /// It came back to an element it passed.
        looped: bool,
    },
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// Walks a local-storage map's buckets: every (owner, value) of the map, at most
    /// `1 << storage_bucket_log` buckets, `elems` nodes visited in all (another map's too).
    pub(crate) fn walk_local_storage<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        v: &mut V,
    ) -> Result<ContentsWalk, (ContentsKind, BpfError)> {
        let kind = ContentsKind::LocalStorage;
        let ll =
            self.layout().local_storage.ok_or((kind, BpfError::MissingLayout(BpfGroup::LocalStorage)))?;
        let g = &self.guest;
        // The kernel counts no local storage's elements (one per owner at most): the ceiling.
        // And it sizes the buckets by the CPUs, not the elements (`bucket_log` is
        // `ilog2(roundup_pow_of_two(num_possible_cpus()))`): the lab's 4-CPU guest of 6000 tasks
        // has 4 chains of ~1500, so one chain may hold every element too. So no chain cap of
        // its own: every node visited, the map's or (not the kernel's shape) another map's,
        // counts against the elements' cap, which bounds the whole pass.
        let elems_cap = self.limits.elems_cap(None, 0, 1);
        // Its buckets' cap, fixed: the kernel sizes them to the CPUs.
        let buckets_cap =
            WalkCap::fixed(Limit::BpfStorageBuckets, 1u32 << self.limits.storage_bucket_log.min(31));
        let mut walk = ContentsWalk { kind, elems_cap, buckets_cap, ..ContentsWalk::default() };
        let mut visited = 0u32;
        let head = (|| -> Result<(VirtAddr, u32), ReadError> {
            let f = Field::LocalStorageMap;
            Ok((
                g.read_ptr(map.kva.member(ll.map_buckets, f)?, f)?,
                g.read_le::<u32>(map.kva.member(ll.map_bucket_log, f)?, f)?,
            ))
        })();
        let (buckets, bucket_log) = head.map_err(|e| (kind, e.into()))?;
        if bucket_log > self.limits.storage_bucket_log.min(31) {
            walk.truncated |= Truncation::BUCKETS;
        }
        let n = 1u32 << bucket_log.min(self.limits.storage_bucket_log).min(31);
        'buckets: for i in 0..n {
            let first = buckets
                .member(
                    u64::from(i).saturating_mul(u64::from(ll.bucket_size)),
                    Field::LocalStorageBucketFirst,
                )
                .and_then(|b| b.member(ll.bucket_first, Field::LocalStorageBucketFirst))
                .and_then(|at| g.read_ptr(at, Field::LocalStorageBucketFirst));
            let mut node = match first {
                Ok(n) => n,
                Err(e) => {
                    walk.broke(e);
                    continue;
                }
            };
            let mut check = LoopCheck::new(node.0);
            while node.0 != 0 {
                if visited >= walk.elems_cap.value {
                    walk.truncated |= Truncation::ELEMS;
                    break 'buckets;
                }
                visited = visited.saturating_add(1);
                let elem = (|| -> Result<(VirtAddr, VirtAddr, VirtAddr, VirtAddr), ReadError> {
                    let selem = node.container_of(ll.elem_map_next, Field::LocalStorageElemNext)?;
                    let next = g.read_ptr(node, Field::LocalStorageElemNext)?;
                    let smap = g.read_ptr(
                        selem.member(ll.elem_smap, Field::LocalStorageElemSmap)?,
                        Field::LocalStorageElemSmap,
                    )?;
                    let owner = self.owner_of(&ll, selem)?;
                    Ok((selem, next, smap, owner))
                })();
                let (selem, next, smap, owner) = match elem {
                    Ok(e) => e,
                    Err(e) => {
                        walk.broke(e);
                        break;
                    }
                };
                if smap == map.kva {
                    walk.elems = walk.elems.saturating_add(1);
                    walk.values = walk.values.saturating_add(1);
                    let flow = match selem.member(ll.elem_data, Field::MapValue) {
                        Ok(value) => {
                            self.hand(map, ElemKey::Owner { owner, elem: selem }, None, None, value, v)
                        }
                        Err(e) => {
                            walk.broke(e);
                            core::ops::ControlFlow::Continue(())
                        }
                    };
                    if flow.is_break() {
                        walk.truncated |= Truncation::STOPPED;
                        break 'buckets;
                    }
                } else {
                    walk.anomalies |= Anomaly::FOREIGN_ELEM;
                }
                node = next;
                if node.0 != 0 && check.step(node.0) {
                    walk.anomalies |= Anomaly::LOOP;
                    break;
                }
            }
        }
        Ok(walk)
    }

    /// `selem->local_storage->owner`.
    fn owner_of(&self, ll: &BpfLocalStorageLayout, selem: VirtAddr) -> Result<VirtAddr, ReadError> {
        let g = &self.guest;
        let f = Field::LocalStorageElemStorage;
        let storage = g.read_ptr(selem.member(ll.elem_local_storage, f)?, f)?;
        g.read_ptr(storage.member(ll.storage_owner, Field::LocalStorageOwner)?, Field::LocalStorageOwner)
    }

    /// The value `task` holds in the local-storage map `map` (a TASK_STORAGE map's
    /// `struct bpf_map`), through `task_struct.bpf_storage`. At most `owner_storages` of the
    /// task's storages are looked at.
    ///
    /// # Errors
    /// The layout lacks the local-storage group or `task_struct.bpf_storage`, or a pointer on
    /// the way cannot be read.
    pub fn task_storage(&self, task: VirtAddr, map: VirtAddr) -> Result<StorageLookup, BpfError> {
        let ll = self.layout().local_storage.ok_or(BpfError::MissingLayout(BpfGroup::LocalStorage))?;
        let off = ll.task_storage.ok_or(BpfError::MissingLayout(BpfGroup::TaskStorage))?;
        let g = &self.guest;
        let storage = g.read_ptr(task.member(off, Field::TaskBpfStorage)?, Field::TaskBpfStorage)?;
        if storage.0 == 0 {
            return Ok(StorageLookup::Absent);
        }
        let mut node = g.read_ptr(
            storage.member(ll.storage_first, Field::LocalStorageFirst)?,
            Field::LocalStorageFirst,
        )?;
        let mut check = LoopCheck::new(node.0);
        for _ in 0..self.limits.owner_storages {
            if node.0 == 0 {
                return Ok(StorageLookup::Absent);
            }
            let selem = node.container_of(ll.elem_snode, Field::LocalStorageSnodeNext)?;
            let smap = g.read_ptr(
                selem.member(ll.elem_smap, Field::LocalStorageElemSmap)?,
                Field::LocalStorageElemSmap,
            )?;
            if smap == map {
                let value = selem.member(ll.elem_data, Field::MapValue)?;
                return Ok(StorageLookup::Found(StorageValue { elem: selem, value }));
            }
            node = g.read_ptr(node, Field::LocalStorageSnodeNext)?;
            if node.0 != 0 && check.step(node.0) {
                return Ok(StorageLookup::Cut { looped: true });
            }
        }
        Ok(if node.0 == 0 { StorageLookup::Absent } else { StorageLookup::Cut { looped: false } })
    }
}
