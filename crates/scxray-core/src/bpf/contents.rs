//! A map's contents, by its type (see `README.md`, "Maps"): each pass streams the elements to
//! the visitor with readers of their bytes, capped, and says how it ended.
//!
//! ARRAY and PERCPU_ARRAY (and the global-data maps) here, with QUEUE/STACK and a STRUCT_OPS
//! map's one value; hash maps in `crate::bpf::hash`, local storage in
//! `crate::bpf::storage`, arenas in `crate::bpf::arena_map`. Any other type is listed
//! with its metadata only.

use crate::addr::VirtAddr;
use crate::bpf::bytes::{GuestBytes, GuestSpan};
use crate::bpf::header::MapHeader;
use crate::bpf::queue::QueueSlots;
use crate::bpf::types::MapType;
use crate::bpf::visit::{BpfVisitor, Elem, ElemKey};
pub use crate::bpf::walked::{Anomaly, ContentsKind, ContentsWalk, Truncation};
use crate::bpf::walker::{BpfError, BpfGroup, BpfPass, BpfProblem, Walker};
use crate::error::{Field, ReadError};
use crate::memory::PhysMem;
use crate::translate::Translate;
use core::ops::ControlFlow;

/// `n` rounded up to a multiple of 8 (the kernel's `round_up(size, 8)`), `None` on overflow.
pub(crate) fn round8(n: u32) -> Option<u32> {
    n.checked_next_multiple_of(8)
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// Streams `map`'s contents to `v` by its type (`elem`, or `arena_free`/`arena_page`),
    /// then `v.contents_end`: see the module docs for which types are read.
    pub fn walk_contents<V: BpfVisitor + ?Sized>(&self, map: &MapHeader, v: &mut V) -> ContentsWalk {
        let t = map.map_type;
        let result = if t == MapType::ARRAY {
            self.walk_array(map, false, v)
        } else if t == MapType::PERCPU_ARRAY {
            self.walk_array(map, true, v)
        } else if t.is_hash() {
            self.walk_hash(map, v)
        } else if t.is_local_storage() {
            self.walk_local_storage(map, v)
        } else if t == MapType::QUEUE || t == MapType::STACK {
            self.walk_queue(map, v)
        } else if t == MapType::ARENA {
            self.walk_arena(map, v)
        } else if t == MapType::STRUCT_OPS {
            self.walk_struct_ops_value(map, v)
        } else {
            Ok(ContentsWalk::default())
        };
        let walk = match result {
            Ok(w) => w,
            Err((kind, e)) => {
                v.problem(&BpfProblem::from_error(BpfPass::Contents, e));
                let mut w = ContentsWalk { kind, ..ContentsWalk::default() };
                if let BpfError::Read(r) = e {
                    w.broke(r);
                }
                w
            }
        };
        v.contents_end(map, &walk);
        walk
    }

    /// Hands one value (at `kva`, `value_size` bytes) to the visitor; `Break` when it stops.
    pub(crate) fn hand<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        key: ElemKey,
        cpu: Option<u32>,
        key_at: Option<VirtAddr>,
        kva: VirtAddr,
        v: &mut V,
    ) -> ControlFlow<()> {
        let g = &self.guest;
        let value = GuestSpan::new(g, kva, u64::from(map.value_size), Field::MapValue);
        let key_span = key_at.map(|k| GuestSpan::new(g, k, u64::from(map.key_size), Field::MapKey));
        let elem =
            Elem { key, cpu, key_bytes: key_span.as_ref().map(|k| -> &dyn GuestBytes { k }), value: &value };
        v.elem(map, &elem)
    }

    /// Hands each CPU's copy of a per-CPU value whose `__percpu` pointer is `pcpu`; `Break`
    /// when the visitor stops.
    pub(crate) fn hand_percpu<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        key: ElemKey,
        key_at: Option<VirtAddr>,
        pcpu: VirtAddr,
        walk: &mut ContentsWalk,
        v: &mut V,
    ) -> ControlFlow<()> {
        for cpu in 0..self.guest.cpu_count() {
            match self.guest.per_cpu_ptr(pcpu, cpu) {
                Ok(Some(at)) => {
                    walk.values = walk.values.saturating_add(1);
                    self.hand(map, key, Some(cpu), key_at, at, v)?;
                }
                Ok(None) => {}
                Err(e) => walk.broke(e),
            }
        }
        ControlFlow::Continue(())
    }

    /// ARRAY (and the global-data maps) and PERCPU_ARRAY: `max_entries` elements at
    /// `bpf_array.value`, `round_up(value_size, 8)` apart; a per-CPU array's slots are
    /// `__percpu` pointers.
    fn walk_array<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        percpu: bool,
        v: &mut V,
    ) -> Result<ContentsWalk, (ContentsKind, BpfError)> {
        let kind = if percpu { ContentsKind::PercpuArray } else { ContentsKind::Array };
        let al = self.layout().array.ok_or((kind, BpfError::MissingLayout(BpfGroup::Array)))?;
        let g = &self.guest;
        let mut walk = ContentsWalk { kind, ..ContentsWalk::default() };
        let elem_size = round8(map.value_size).unwrap_or(u32::MAX);
        let kernel_elem_size = map
            .kva
            .member(al.elem_size, Field::BpfArray)
            .and_then(|at| g.read_le::<u32>(at, Field::BpfArray))
            .map_err(|e| (kind, e.into()))?;
        if kernel_elem_size != elem_size {
            walk.anomalies |= Anomaly::ELEM_SIZE;
        }
        let values = map.kva.member(al.value, Field::BpfArray).map_err(|e| (kind, e.into()))?;
        let copies = if percpu { self.guest.cpu_count() } else { 1 };
        walk.elems_cap = self.limits.elems_cap(Some(map.max_entries), 0, copies);
        if map.max_entries > walk.elems_cap.value {
            walk.truncated |= Truncation::ELEMS;
        }
        for i in 0..map.max_entries.min(walk.elems_cap.value) {
            let step = if percpu { 8 } else { u64::from(elem_size) };
            let at = match values.member(u64::from(i).saturating_mul(step), Field::ArrayPercpuPtr) {
                Ok(at) => at,
                Err(e) => {
                    walk.broke(e);
                    break;
                }
            };
            walk.elems = walk.elems.saturating_add(1);
            let flow = if percpu {
                match g.read_ptr(at, Field::ArrayPercpuPtr) {
                    Ok(pcpu) => self.hand_percpu(map, ElemKey::Index(i), None, pcpu, &mut walk, v),
                    Err(e) => {
                        walk.broke(e);
                        ControlFlow::Continue(())
                    }
                }
            } else {
                walk.values = walk.values.saturating_add(1);
                self.hand(map, ElemKey::Index(i), None, None, at, v)
            };
            if flow.is_break() {
                walk.truncated |= Truncation::STOPPED;
                break;
            }
        }
        Ok(walk)
    }

    /// QUEUE and STACK: the ring's occupied slots in order (see [`QueueSlots`]).
    fn walk_queue<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        v: &mut V,
    ) -> Result<ContentsWalk, (ContentsKind, BpfError)> {
        let stack = map.map_type == MapType::STACK;
        let kind = if stack { ContentsKind::Stack } else { ContentsKind::Queue };
        let ql = self.layout().queue_stack.ok_or((kind, BpfError::MissingLayout(BpfGroup::QueueStack)))?;
        let g = &self.guest;
        let mut walk = ContentsWalk { kind, ..ContentsWalk::default() };
        let f = Field::QueueStack;
        let w = crate::bpf::header::Window::read(g, map.kva, &[(ql.head, 4), (ql.tail, 4), (ql.size, 4)], f)
            .map_err(|e| (kind, e.into()))?;
        let idx =
            (|| Ok::<_, ReadError>((w.u32(g, ql.head, f)?, w.u32(g, ql.tail, f)?, w.u32(g, ql.size, f)?)))();
        let (head, tail, size) = idx.map_err(|e| (kind, e.into()))?;
        let slots = match QueueSlots::new(head, tail, size, map.max_entries, stack) {
            Ok(s) => s,
            Err(_) => {
                walk.anomalies |= Anomaly::BAD_INDICES;
                return Ok(walk);
            }
        };
        walk.elems_cap = self.limits.elems_cap(Some(map.max_entries), 0, 1);
        if slots.len() > walk.elems_cap.value {
            walk.truncated |= Truncation::ELEMS;
        }
        let elements = map.kva.member(ql.elements, f).map_err(|e| (kind, e.into()))?;
        for (position, slot) in (0..walk.elems_cap.value).zip(slots) {
            let at = match elements.member(u64::from(slot).saturating_mul(u64::from(map.value_size)), f) {
                Ok(at) => at,
                Err(e) => {
                    walk.broke(e);
                    break;
                }
            };
            walk.elems = walk.elems.saturating_add(1);
            walk.values = walk.values.saturating_add(1);
            if self.hand(map, ElemKey::Slot { position, slot }, None, None, at, v).is_break() {
                walk.truncated |= Truncation::STOPPED;
                break;
            }
        }
        Ok(walk)
    }

    /// STRUCT_OPS: the registered value `kvalue` (`value_size` bytes, decoded with vmlinux's
    /// BTF: `btf_vmlinux_value_type_id`).
    fn walk_struct_ops_value<V: BpfVisitor + ?Sized>(
        &self,
        map: &MapHeader,
        v: &mut V,
    ) -> Result<ContentsWalk, (ContentsKind, BpfError)> {
        let kind = ContentsKind::StructOps;
        let sl = self.layout().struct_ops.ok_or((kind, BpfError::MissingLayout(BpfGroup::StructOps)))?;
        let mut walk = ContentsWalk { kind, ..ContentsWalk::default() };
        // `kvalue` is the value whose `data` member is at `kvalue_data`.
        let kvalue = map
            .kva
            .member(sl.kvalue_data, Field::StructOpsMap)
            .and_then(|d| d.container_of(sl.value_data, Field::StructOpsMap))
            .map_err(|e| (kind, e.into()))?;
        walk.elems = 1;
        walk.values = 1;
        if self.hand(map, ElemKey::StructOps, None, None, kvalue, v).is_break() {
            walk.truncated |= Truncation::STOPPED;
        }
        Ok(walk)
    }
}
