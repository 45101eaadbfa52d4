//! The BPF walkers' streaming output: a [`BpfVisitor`] receives every program, map, element
//! and arena page as the walk finds it; the walkers keep no buffers. Every method has an
//! empty default.

use crate::addr::VirtAddr;
use crate::bpf::bytes::GuestBytes;
use crate::bpf::header::{BtfHeader, LinkHeader, MapHeader, ProgHeader};
use crate::bpf::walked::{ArenaList, ContentsWalk, IdTableWalk, SchedOps, SchedWalk};
use crate::bpf::walker::{BpfProblem, IdTable};
use core::ops::ControlFlow;

/// Which element of its map an [`Elem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ElemKey {
    /// An ARRAY's (or PERCPU_ARRAY's) index.
    Index(u32),
    /// A hash map's element: its bucket and `htab_elem.hash`; the key's bytes come with it.
    Hash {
        /// The bucket it was found in.
        bucket: u32,
        /// Its `struct htab_elem` address.
        elem: VirtAddr,
    },
    /// A local-storage map's value of this owner (a `task_struct` for TASK_STORAGE).
    Owner {
        /// The owner (`bpf_local_storage.owner`).
        owner: VirtAddr,
        /// The `struct bpf_local_storage_elem` holding the value.
        elem: VirtAddr,
    },
    /// A QUEUE's or STACK's element: its position (0 is the next one popped) and ring slot.
    Slot {
        /// Position: a queue's oldest or a stack's top is 0.
        position: u32,
        /// Slot in the ring.
        slot: u32,
    },
    /// A STRUCT_OPS map's one value (`kvalue`, the kernel's registered struct).
    StructOps,
}

/// One element of a map: its key, the CPU whose copy this is, and readers of its bytes.
#[derive(Clone, Copy)]
pub struct Elem<'r> {
    /// Which element.
    pub key: ElemKey,
    /// For per-CPU maps, the CPU whose copy `value` is.
    pub cpu: Option<u32>,
    /// The key's bytes, for maps whose key is stored (hash maps).
    pub key_bytes: Option<&'r dyn GuestBytes>,
    /// The value's bytes (`value_size` of them).
    pub value: &'r dyn GuestBytes,
}

impl core::fmt::Debug for Elem<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Elem")
            .field("key", &self.key)
            .field("cpu", &self.cpu)
            .field("key_at", &self.key_bytes.map(|k| k.kva()))
            .field("value_at", &self.value.kva())
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// One allocated page of an arena, read through the kernel's mapping.
#[derive(Clone, Copy)]
pub struct ArenaPage<'r> {
    /// Page number from the arena's start.
    pub index: u32,
    /// Its user address (what BPF pointers into it hold).
    pub uaddr: u64,
    /// The page's bytes at its kernel address.
    pub bytes: &'r dyn GuestBytes,
}

impl core::fmt::Debug for ArenaPage<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ArenaPage")
            .field("index", &self.index)
            .field("uaddr", &format_args!("{:#x}", self.uaddr))
            .field("kaddr", &self.bytes.kva())
            .finish()
    }
}

/// Receives the BPF walks as they happen.
pub trait BpfVisitor {
    /// A program from `prog_idr`.
    fn prog(&mut self, _prog: &ProgHeader) {}
    /// A map from `map_idr`.
    fn map(&mut self, _map: &MapHeader) {}
    /// A BTF object from `btf_idr`.
    fn btf(&mut self, _btf: &BtfHeader) {}
    /// A link from `link_idr`.
    fn link(&mut self, _link: &LinkHeader) {}
    /// An ID table's walk ended.
    fn id_table_end(&mut self, _table: IdTable, _walk: &IdTableWalk) {}

    /// A scheduler's struct_ops map; its programs and maps follow.
    fn sched_ops(&mut self, _ops: &SchedOps) {}
    /// The program behind the struct_ops map's `slot`-th set callback.
    fn sched_prog(&mut self, _ops: &SchedOps, _slot: u32, _prog: &ProgHeader) {}
    /// A map the scheduler's programs use (each once).
    fn sched_map(&mut self, _ops: &SchedOps, _map: &MapHeader) {}
    /// The scheduler's walk ended.
    fn sched_end(&mut self, _walk: &SchedWalk) {}

    /// An element of `map`; `Break` ends the pass.
    fn elem(&mut self, _map: &MapHeader, _elem: &Elem<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// Pages `first..=last` of the arena `map` are free (not allocated): absent, not read.
    fn arena_free(&mut self, _map: &MapHeader, _first: u32, _last: u32) {}
    /// An allocated page of the arena `map`; `Break` ends the pass.
    fn arena_page(&mut self, _map: &MapHeader, _page: &ArenaPage<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// A map's contents pass ended.
    fn contents_end(&mut self, _map: &MapHeader, _walk: &ContentsWalk) {}

    /// A list in an arena, anchored at a global, walked and its links checked.
    fn arena_list(&mut self, _list: &ArenaList) {}

    /// Something a walk could not do.
    fn problem(&mut self, _problem: &BpfProblem) {}
}

impl<V: BpfVisitor + ?Sized> BpfVisitor for &mut V {
    fn prog(&mut self, prog: &ProgHeader) {
        (**self).prog(prog);
    }
    fn map(&mut self, map: &MapHeader) {
        (**self).map(map);
    }
    fn btf(&mut self, btf: &BtfHeader) {
        (**self).btf(btf);
    }
    fn link(&mut self, link: &LinkHeader) {
        (**self).link(link);
    }
    fn id_table_end(&mut self, table: IdTable, walk: &IdTableWalk) {
        (**self).id_table_end(table, walk);
    }
    fn sched_ops(&mut self, ops: &SchedOps) {
        (**self).sched_ops(ops);
    }
    fn sched_prog(&mut self, ops: &SchedOps, slot: u32, prog: &ProgHeader) {
        (**self).sched_prog(ops, slot, prog);
    }
    fn sched_map(&mut self, ops: &SchedOps, map: &MapHeader) {
        (**self).sched_map(ops, map);
    }
    fn sched_end(&mut self, walk: &SchedWalk) {
        (**self).sched_end(walk);
    }
    fn elem(&mut self, map: &MapHeader, elem: &Elem<'_>) -> ControlFlow<()> {
        (**self).elem(map, elem)
    }
    fn arena_free(&mut self, map: &MapHeader, first: u32, last: u32) {
        (**self).arena_free(map, first, last);
    }
    fn arena_page(&mut self, map: &MapHeader, page: &ArenaPage<'_>) -> ControlFlow<()> {
        (**self).arena_page(map, page)
    }
    fn contents_end(&mut self, map: &MapHeader, walk: &ContentsWalk) {
        (**self).contents_end(map, walk);
    }
    fn arena_list(&mut self, list: &ArenaList) {
        (**self).arena_list(list);
    }
    fn problem(&mut self, problem: &BpfProblem) {
        (**self).problem(problem);
    }
}

/// A visitor that drops everything (the walkers' own internal passes use it for what they
/// do not need).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ignore;

impl BpfVisitor for Ignore {}
