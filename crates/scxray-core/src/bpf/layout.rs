//! Offsets of the kernel's BPF objects: the ID tables, maps of each type, programs, BTF
//! objects, struct_ops maps and arenas, resolved from the kernel's BTF like the rest of the
//! [`crate::Layout`] (see `README.md` beside this file for what each walker reads).
//!
//! Each group is one kernel struct (or a few that only make sense together) and is `None`
//! when the kernel lacks it; members that only some kernels have are `Option`. Offsets are
//! bytes from the start of the group's first struct, with nested members already added up
//! (e.g. [`BpfIdrLayout::head`] is `idr.idr_rt.xa_head`).

/// `struct idr` over `struct xarray`, and `struct xa_node`: the kernel-wide ID tables
/// (`prog_idr`, `map_idr`, `link_idr`, `btf_idr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfIdrLayout {
    /// `idr.idr_rt.xa_head`: the root entry (a node, tagged, or the only entry).
    pub head: u32,
    /// `idr.idr_base`: the id of index 0 (0 for the BPF tables).
    pub base: Option<u32>,
    /// `xa_node.shift` (u8): index bits below this node's slots.
    pub node_shift: u32,
    /// `xa_node.slots` (array of entries).
    pub node_slots: u32,
    /// Entries per node: `xa_node.slots`' length (`XA_CHUNK_SIZE`, 64 or 16).
    pub node_slot_count: u32,
}

/// `struct bpf_map`, the head of every map type's struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfMapLayout {
    /// `bpf_map.map_type` (enum bpf_map_type, u32).
    pub map_type: u32,
    /// `bpf_map.key_size` (u32).
    pub key_size: u32,
    /// `bpf_map.value_size` (u32).
    pub value_size: u32,
    /// `bpf_map.max_entries` (u32).
    pub max_entries: u32,
    /// `bpf_map.map_flags` (u32).
    pub map_flags: u32,
    /// `bpf_map.id` (u32).
    pub id: u32,
    /// `bpf_map.name` (`char[BPF_OBJ_NAME_LEN]`).
    pub name: u32,
    /// `bpf_map.name`'s length (16).
    pub name_len: u32,
    /// `bpf_map.btf` (pointer to `struct btf`, NULL without BTF).
    pub btf: u32,
    /// `bpf_map.btf_key_type_id` (u32).
    pub btf_key_type_id: u32,
    /// `bpf_map.btf_value_type_id` (u32).
    pub btf_value_type_id: u32,
    /// `bpf_map.btf_vmlinux_value_type_id` (u32): a struct_ops map's value type in vmlinux.
    pub btf_vmlinux_value_type_id: Option<u32>,
    /// `bpf_map.map_extra` (u64): an arena's user address, a bloom filter's hashes.
    pub map_extra: Option<u32>,
}

/// `struct bpf_prog`, its `struct bpf_prog_aux` and `struct bpf_prog_stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfProgLayout {
    /// `bpf_prog.type` (enum bpf_prog_type, u32).
    pub prog_type: u32,
    /// `bpf_prog.len` (u32): instructions.
    pub len: u32,
    /// `bpf_prog.tag` (`u8[8]`).
    pub tag: u32,
    /// `bpf_prog.aux` (pointer to `struct bpf_prog_aux`).
    pub aux: u32,
    /// `bpf_prog.jited_len` (u32).
    pub jited_len: Option<u32>,
    /// `bpf_prog.stats` (`__percpu` pointer to `struct bpf_prog_stats`).
    pub stats: Option<u32>,
    /// `bpf_prog_aux.id` (u32).
    pub aux_id: u32,
    /// `bpf_prog_aux.name` (`char[BPF_OBJ_NAME_LEN]`).
    pub aux_name: u32,
    /// `bpf_prog_aux.used_maps` (pointer to an array of map pointers).
    pub aux_used_maps: u32,
    /// `bpf_prog_aux.used_map_cnt` (u32).
    pub aux_used_map_cnt: u32,
    /// `bpf_prog_aux.btf` (pointer to the program's `struct btf`).
    pub aux_btf: Option<u32>,
    /// `bpf_prog_aux.load_time` (u64, ns since boot).
    pub aux_load_time: Option<u32>,
    /// `bpf_prog_aux.verified_insns` (u32).
    pub aux_verified_insns: Option<u32>,
    /// `bpf_prog_aux.arena` (pointer to the `struct bpf_arena` the program uses).
    pub aux_arena: Option<u32>,
    /// `bpf_prog_aux.attach_st_ops_member_off` (u32): which struct_ops member (byte offset
    /// in the ops struct) a struct_ops program implements; 7.1+.
    pub aux_st_ops_member_off: Option<u32>,
    /// `bpf_prog_stats.cnt` (u64_stats_t): runs, counted while BPF stats are on.
    pub stats_cnt: u32,
    /// `bpf_prog_stats.nsecs` (u64_stats_t): run time.
    pub stats_nsecs: u32,
    /// `bpf_prog_stats.misses` (u64_stats_t): runs skipped for recursion.
    pub stats_misses: Option<u32>,
}

/// `struct btf`: a BTF object in kernel memory (vmlinux's, a module's split on it, or a
/// program's, standalone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KernelBtfLayout {
    /// `btf.data` (pointer to the raw blob: header, types, strings).
    pub data: u32,
    /// `btf.data_size` (u32).
    pub data_size: u32,
    /// `btf.base_btf` (pointer; NULL for a standalone blob).
    pub base_btf: u32,
    /// `btf.start_id` (u32): the first type id of a split blob (the base's type count).
    pub start_id: u32,
    /// `btf.start_str_off` (u32): the first string offset of a split blob.
    pub start_str_off: u32,
    /// `btf.id` (u32).
    pub id: Option<u32>,
}

/// `struct bpf_array` (ARRAY, PERCPU_ARRAY, PROG_ARRAY, ... and the global-data maps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfArrayLayout {
    /// `bpf_array.elem_size` (u32): `value_size` rounded up to 8.
    pub elem_size: u32,
    /// `bpf_array.value`: the elements (a PERCPU_ARRAY's `pptrs`, per-CPU pointers, share
    /// the offset).
    pub value: u32,
}

/// `struct bpf_htab`, `struct bucket` and `struct htab_elem` (HASH, PERCPU_HASH, the LRU
/// variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfHtabLayout {
    /// `bpf_htab.buckets` (pointer to `n_buckets` buckets).
    pub buckets: u32,
    /// `bpf_htab.n_buckets` (u32).
    pub n_buckets: u32,
    /// `bpf_htab.elem_size` (u32).
    pub elem_size: u32,
    /// `bpf_htab.count` (atomic_t): elements, when not counted per CPU.
    pub count: Option<u32>,
    /// Size of one bucket (`struct bucket`, the type `bpf_htab.buckets` points to).
    pub bucket_size: u32,
    /// `bucket.head.first`: the first element of the bucket's nulls list.
    pub bucket_first: u32,
    /// `htab_elem.hash_node.next`: the next element (low bit set: the list's nulls end).
    pub elem_next: u32,
    /// `htab_elem.hash` (u32).
    pub elem_hash: u32,
    /// `htab_elem.key`: the key; the value follows at `key + round_up(key_size, 8)` (a
    /// per-CPU map's: a per-CPU pointer).
    pub elem_key: u32,
}

/// Local storage: `struct bpf_local_storage_map` (the map), `_map_bucket`, `_elem`, `_data`,
/// `struct bpf_local_storage` (an owner's storages), and `task_struct.bpf_storage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfLocalStorageLayout {
    /// `bpf_local_storage_map.buckets` (pointer to `1 << bucket_log` buckets).
    pub map_buckets: u32,
    /// `bpf_local_storage_map.bucket_log` (u32).
    pub map_bucket_log: u32,
    /// Size of one `struct bpf_local_storage_map_bucket`.
    pub bucket_size: u32,
    /// `bpf_local_storage_map_bucket.list.first`: the first element in the map's bucket.
    pub bucket_first: u32,
    /// `bpf_local_storage_elem.map_node.next` (the map's bucket list).
    pub elem_map_next: u32,
    /// `bpf_local_storage_elem.snode` (the `hlist_node` on the owner's list; its `next` is
    /// at the same offset).
    pub elem_snode: u32,
    /// `bpf_local_storage_elem.local_storage` (pointer to the owner's storage).
    pub elem_local_storage: u32,
    /// `bpf_local_storage_elem.sdata.smap`: the map this element belongs to.
    pub elem_smap: u32,
    /// `bpf_local_storage_elem.sdata.data`: the value.
    pub elem_data: u32,
    /// `bpf_local_storage.list.first`: the owner's first element (via `snode`).
    pub storage_first: u32,
    /// `bpf_local_storage.owner` (pointer to the task, cgroup, socket, inode).
    pub storage_owner: u32,
    /// `task_struct.bpf_storage` (pointer to the task's `struct bpf_local_storage`).
    pub task_storage: Option<u32>,
}

/// `struct bpf_queue_stack` (QUEUE and STACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfQueueStackLayout {
    /// `bpf_queue_stack.head` (u32): the next slot pushed.
    pub head: u32,
    /// `bpf_queue_stack.tail` (u32): the oldest element of a queue.
    pub tail: u32,
    /// `bpf_queue_stack.size` (u32): `max_entries + 1` slots.
    pub size: u32,
    /// `bpf_queue_stack.elements`: the slots, `value_size` bytes each.
    pub elements: u32,
}

/// `struct bpf_arena` and its `vm_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfArenaLayout {
    /// `bpf_arena.user_vm_start` (u64): the user address of page 0.
    pub user_vm_start: u32,
    /// `bpf_arena.user_vm_end` (u64).
    pub user_vm_end: u32,
    /// `bpf_arena.kern_vm` (pointer to the `struct vm_struct` of the kernel mapping).
    pub kern_vm: u32,
    /// `vm_struct.addr`: the kernel mapping's start; page 0 is `GUARD_SZ / 2` above it.
    pub vm_addr: u32,
    /// The interval tree of free page ranges (6.13+; 6.12 kept a maple tree).
    pub free: Option<ArenaFreeTreeLayout>,
    /// `bpf_arena.scratch_page` (`struct page *`): mapped where a kernel fault hit an
    /// unallocated page (7.2+); such a page is not the arena's.
    pub scratch_page: Option<u32>,
    /// `bpf_arena.nr_pages` (u64): pages allocated (7.3+).
    pub nr_pages: Option<u32>,
}

/// `bpf_arena.rt`: the `struct range_tree` of free pages, its `struct range_node`s and their
/// `struct rb_node`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArenaFreeTreeLayout {
    /// `bpf_arena.rt.it_root.rb_root.rb_node`: the root (offset in `struct bpf_arena`).
    pub root: u32,
    /// `range_node.rn_rbnode`: the tree node inside a range node.
    pub rb_node: u32,
    /// `range_node.rn_start` (u32): first free page of the range.
    pub start: u32,
    /// `range_node.rn_last` (u32): last free page (inclusive).
    pub last: u32,
    /// `rb_node.rb_left`.
    pub rb_left: u32,
    /// `rb_node.rb_right`.
    pub rb_right: u32,
}

/// `struct bpf_struct_ops_map` and the `struct bpf_link` of each member program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfStructOpsLayout {
    /// `bpf_struct_ops_map.links` (pointer to `funcs_cnt` link pointers).
    pub links: u32,
    /// `bpf_struct_ops_map.funcs_cnt` (u32).
    pub funcs_cnt: u32,
    /// `bpf_struct_ops_map.uvalue` (pointer to the user's view: each member program's id
    /// where the kernel's view has its trampoline).
    pub uvalue: u32,
    /// `bpf_struct_ops_map.kvalue.data`: the kernel struct registered (`sched_ext_ops`).
    pub kvalue_data: u32,
    /// `bpf_struct_ops_value.data`: where the struct sits in a value (`uvalue` too).
    pub value_data: u32,
    /// `bpf_link.prog`: a member's program (the links are `bpf_tramp_link`s, whose `link`
    /// comes first).
    pub link_prog: u32,
    /// `sched_ext_ops.priv`: the `scx_sched` a sched_ext struct_ops map was registered as
    /// (6.16+); 6.12-6.15 have only the global `scx_ops`.
    pub ops_priv: Option<u32>,
}

/// Every group of the BPF layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BpfLayout {
    /// The ID tables.
    pub idr: Option<BpfIdrLayout>,
    /// `struct bpf_map`.
    pub map: Option<BpfMapLayout>,
    /// `struct bpf_prog` and its aux and stats.
    pub prog: Option<BpfProgLayout>,
    /// `struct btf`.
    pub btf: Option<KernelBtfLayout>,
    /// `struct bpf_array`.
    pub array: Option<BpfArrayLayout>,
    /// `struct bpf_htab`.
    pub htab: Option<BpfHtabLayout>,
    /// Local storage (TASK_STORAGE and its kin).
    pub local_storage: Option<BpfLocalStorageLayout>,
    /// `struct bpf_queue_stack`.
    pub queue_stack: Option<BpfQueueStackLayout>,
    /// `struct bpf_arena`.
    pub arena: Option<BpfArenaLayout>,
    /// `struct bpf_struct_ops_map`.
    pub struct_ops: Option<BpfStructOpsLayout>,
    /// `scx_sched.arena_map` (pointer to the `bpf_map` of a cid-form scheduler's arena);
    /// 7.2+.
    pub sched_arena_map: Option<u32>,
    /// `scx_sched.arena_kern_base` (the arena's kernel address of page 0); 7.2+.
    pub sched_arena_kern_base: Option<u32>,
}
