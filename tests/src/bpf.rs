//! BPF objects in a synthetic guest: the ID tables (`prog_idr`, `map_idr`, `btf_idr`,
//! `link_idr` as real xarrays), BTF objects, programs with their aux and per-CPU stats, maps
//! of every type the walkers read (array, per-CPU array, hash with nulls lists, task storage
//! reachable from the map and from each task, queue, arena with its kernel mapping and
//! free-range tree) and a scheduler's struct_ops map, all at the offsets of the guest's
//! `layout.bpf` ([`crate::kernels::debian_7_3_amd64_bpf`]).
//!
//! [`qmap_machine`] puts them together as scx_qmap on 7.3 keeps them: see its docs.

use crate::btf_blob::ArenaProgram;
use crate::{GuestBuilder, KitAddr, PERCPU_AREA, TestGuest};
use scxray_core::bpf::BpfLayout;
use scxray_core::bpf::arena::guard_size;
use scxray_core::{BpfSymbols, VirtAddr};

/// Where dynamic per-CPU allocations start in each CPU's per-CPU area.
const PERCPU_DYN: u64 = 0x1_0000;
/// Bytes allocated for any map's struct (the largest, `bpf_htab`, ends near 840).
const MAP_STRUCT: u64 = 1024;
/// `struct xa_node`'s size (64 slots).
const XA_NODE: u64 = 576;
/// `struct bpf_prog`, `struct bpf_prog_aux`, `struct btf` sizes (generous).
const PROG: u64 = 128;
const PROG_AUX: u64 = 1280;
const BTF_OBJ: u64 = 256;
/// `struct bpf_local_storage` (`cache[16]`, `list`, `owner`, ...).
const LOCAL_STORAGE: u64 = 192;

/// `BPF_MAP_TYPE_*` and `BPF_PROG_TYPE_*` numbers the kit uses.
pub mod kind {
    /// `BPF_MAP_TYPE_HASH`.
    pub const HASH: u32 = 1;
    /// `BPF_MAP_TYPE_ARRAY`.
    pub const ARRAY: u32 = 2;
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    pub const PERCPU_ARRAY: u32 = 6;
    /// `BPF_MAP_TYPE_QUEUE`.
    pub const QUEUE: u32 = 22;
    /// `BPF_MAP_TYPE_STACK`.
    pub const STACK: u32 = 23;
    /// `BPF_MAP_TYPE_STRUCT_OPS`.
    pub const STRUCT_OPS: u32 = 26;
    /// `BPF_MAP_TYPE_RINGBUF`.
    pub const RINGBUF: u32 = 27;
    /// `BPF_MAP_TYPE_TASK_STORAGE`.
    pub const TASK_STORAGE: u32 = 29;
    /// `BPF_MAP_TYPE_ARENA`.
    pub const ARENA: u32 = 33;
    /// `BPF_PROG_TYPE_STRUCT_OPS`.
    pub const PROG_STRUCT_OPS: u32 = 27;
    /// `BPF_PROG_TYPE_SYSCALL`.
    pub const PROG_SYSCALL: u32 = 31;
}

/// A map to create.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapSpec<'n> {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Name (up to 15 bytes).
    pub name: &'n str,
    /// `key_size`.
    pub key_size: u32,
    /// `value_size`.
    pub value_size: u32,
    /// `max_entries`.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
    /// The BTF object (0: none).
    pub btf: VirtAddr,
    /// `btf_key_type_id`.
    pub key_type: u32,
    /// `btf_value_type_id`.
    pub value_type: u32,
    /// `map_extra`.
    pub map_extra: u64,
}

/// A program to create.
#[derive(Debug, Clone, Default)]
pub struct ProgSpec<'n> {
    /// Name.
    pub name: &'n str,
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// `tag`.
    pub tag: [u8; 8],
    /// Instructions.
    pub insns: u32,
    /// Maps it uses.
    pub used_maps: Vec<VirtAddr>,
    /// Its BTF object.
    pub btf: VirtAddr,
    /// The arena it uses (its `bpf_map`), 0 for none.
    pub arena: VirtAddr,
    /// `attach_st_ops_member_off`.
    pub st_ops_member_off: u32,
    /// Per-CPU `(cnt, nsecs, misses)`, one per CPU.
    pub stats: Vec<(u64, u64, u64)>,
}

/// An ID table being filled.
#[derive(Debug, Clone)]
struct Table {
    idr: VirtAddr,
    next_id: u32,
    entries: Vec<(u32, VirtAddr)>,
}

/// The BPF objects of one guest, being built (see the module docs).
#[derive(Debug)]
pub struct BpfBuilder {
    tables: [Table; 4],
    stats_key: VirtAddr,
    next_percpu: u64,
}

/// Table indices.
const PROGS: usize = 0;
const MAPS: usize = 1;
const BTFS: usize = 2;
const LINKS: usize = 3;

fn bl(b: &GuestBuilder) -> BpfLayout {
    b.layout.bpf
}

fn name16(name: &str) -> [u8; 16] {
    let mut n = [0u8; 16];
    n[..name.len().min(15)].copy_from_slice(&name.as_bytes()[..name.len().min(15)]);
    n
}

impl BpfBuilder {
    /// The ID tables and `bpf_stats_enabled_key` in `b`'s kernel image (its layout must have
    /// the BPF groups), statistics `stats_on`.
    pub fn new(b: &mut GuestBuilder, stats_on: bool) -> Self {
        assert!(bl(b).idr.is_some(), "the guest's layout has no BPF groups");
        let table = |b: &mut GuestBuilder, name: &'static str| {
            let idr = b.alloc_image(24);
            b.image_vars.push((name, idr));
            Table { idr, next_id: 1, entries: Vec::new() }
        };
        let tables = [table(b, "prog_idr"), table(b, "map_idr"), table(b, "btf_idr"), table(b, "link_idr")];
        let stats_key = b.alloc_image(16);
        b.image_vars.push(("bpf_stats_enabled_key", stats_key));
        b.write_u32(stats_key, u32::from(stats_on));
        Self { tables, stats_key, next_percpu: PERCPU_DYN }
    }

    /// A `__percpu` pointer to `size` fresh bytes in every CPU's area.
    pub fn alloc_percpu(&mut self, b: &GuestBuilder, size: u64) -> u64 {
        let off = self.next_percpu.next_multiple_of(16);
        self.next_percpu = off + size;
        assert!(self.next_percpu <= PERCPU_AREA, "per-CPU area full");
        b.scheme().percpu_base.wrapping_add(off)
    }

    /// CPU `cpu`'s copy of the per-CPU allocation `pcpu`.
    pub fn percpu_copy(b: &GuestBuilder, pcpu: u64, cpu: u32) -> VirtAddr {
        VirtAddr(pcpu.wrapping_add(b.per_cpu_offsets()[cpu as usize]))
    }

    fn register(&mut self, table: usize, kva: VirtAddr) -> u32 {
        let t = &mut self.tables[table];
        let id = t.next_id;
        t.next_id += 1;
        t.entries.push((id, kva));
        id
    }

    /// Skips `n` ids of table `table` (objects that came and went).
    pub fn skip_ids(&mut self, table: usize, n: u32) {
        self.tables[table].next_id += n;
    }

    /// A standalone BTF object holding `blob`; returns its `struct btf`.
    pub fn add_btf(&mut self, b: &mut GuestBuilder, blob: &[u8]) -> VirtAddr {
        let l = bl(b).btf.unwrap();
        let obj = b.alloc(BTF_OBJ, 64);
        let data = b.alloc(blob.len() as u64, 8);
        b.write(data, blob);
        b.write_u64(obj.at(l.data), data.0);
        b.write_u32(obj.at(l.data_size), blob.len() as u32);
        let id = self.register(BTFS, obj);
        if let Some(o) = l.id {
            b.write_u32(obj.at(o), id);
        }
        obj
    }

    /// A map of `spec` with `extra` bytes after `struct bpf_map` for its type's struct;
    /// returns its `struct bpf_map` (its id is written in it).
    pub fn add_map(&mut self, b: &mut GuestBuilder, spec: &MapSpec<'_>, extra: u64) -> VirtAddr {
        let l = bl(b).map.unwrap();
        let map = b.alloc(MAP_STRUCT + extra, 64);
        b.write_u32(map.at(l.map_type), spec.map_type);
        b.write_u32(map.at(l.key_size), spec.key_size);
        b.write_u32(map.at(l.value_size), spec.value_size);
        b.write_u32(map.at(l.max_entries), spec.max_entries);
        b.write_u32(map.at(l.map_flags), spec.flags);
        b.write(map.at(l.name), &name16(spec.name));
        b.write_u64(map.at(l.btf), spec.btf.0);
        b.write_u32(map.at(l.btf_key_type_id), spec.key_type);
        b.write_u32(map.at(l.btf_value_type_id), spec.value_type);
        if let Some(o) = l.map_extra {
            b.write_u64(map.at(o), spec.map_extra);
        }
        let id = self.register(MAPS, map);
        b.write_u32(map.at(l.id), id);
        map
    }

    /// The id written in a map.
    pub fn map_id(b: &GuestBuilder, map: VirtAddr) -> u32 {
        b.read_u32(map.at(bl(b).map.unwrap().id))
    }

    /// An ARRAY (or a global-data map): the elements follow `bpf_array.value`. Returns the
    /// map; [`Self::array_elem`] is element `i`.
    pub fn add_array(&mut self, b: &mut GuestBuilder, spec: &MapSpec<'_>) -> VirtAddr {
        let al = bl(b).array.unwrap();
        let elem = u64::from(spec.value_size.next_multiple_of(8));
        let map = self.add_map(b, spec, elem * u64::from(spec.max_entries));
        b.write_u32(map.at(al.elem_size), elem as u32);
        map
    }

    /// Element `i` of the ARRAY `map` of `value_size`-byte values.
    pub fn array_elem(b: &GuestBuilder, map: VirtAddr, value_size: u32, i: u32) -> VirtAddr {
        let al = bl(b).array.unwrap();
        map.at(al.value).at(u64::from(value_size.next_multiple_of(8)) * u64::from(i))
    }

    /// A PERCPU_ARRAY: each slot a `__percpu` pointer. Returns the map and the slots' per-CPU
    /// pointers.
    pub fn add_percpu_array(&mut self, b: &mut GuestBuilder, spec: &MapSpec<'_>) -> (VirtAddr, Vec<u64>) {
        let al = bl(b).array.unwrap();
        let map = self.add_map(b, spec, 8 * u64::from(spec.max_entries));
        let elem = spec.value_size.next_multiple_of(8);
        b.write_u32(map.at(al.elem_size), elem);
        let slots = (0..spec.max_entries)
            .map(|i| {
                let p = self.alloc_percpu(b, u64::from(elem));
                b.write_u64(map.at(al.value).at(u64::from(i) * 8), p);
                p
            })
            .collect();
        (map, slots)
    }

    /// A HASH with `roundup_pow_of_two(max_entries)` empty buckets (each ending in its own
    /// nulls marker). Returns the map.
    pub fn add_hash(&mut self, b: &mut GuestBuilder, spec: &MapSpec<'_>) -> VirtAddr {
        let hl = bl(b).htab.unwrap();
        let map = self.add_map(b, spec, 0);
        let n = spec.max_entries.next_power_of_two();
        let buckets = b.alloc(u64::from(n) * u64::from(hl.bucket_size), 64);
        for i in 0..n {
            b.write_u64(
                buckets.at(u64::from(i) * u64::from(hl.bucket_size) + u64::from(hl.bucket_first)),
                (u64::from(i) << 1) | 1,
            );
        }
        b.write_u64(map.at(hl.buckets), buckets.0);
        b.write_u32(map.at(hl.n_buckets), n);
        let elem_size = hl.elem_key + spec.key_size.next_multiple_of(8) + spec.value_size.next_multiple_of(8);
        b.write_u32(map.at(hl.elem_size), elem_size);
        map
    }

    /// Pushes an element with `key` and `value` on the front of bucket `bucket` of the HASH
    /// `map` (as `hlist_nulls_add_head_rcu`); returns the `struct htab_elem`.
    pub fn hash_insert(
        b: &mut GuestBuilder,
        map: VirtAddr,
        bucket: u32,
        hash: u32,
        key: &[u8],
        value: &[u8],
    ) -> VirtAddr {
        let hl = bl(b).htab.unwrap();
        let key_room = (key.len() as u64).next_multiple_of(8);
        let elem = b.alloc(u64::from(hl.elem_key) + key_room + (value.len() as u64).next_multiple_of(8), 8);
        let buckets = VirtAddr(b.read_u64(map.at(hl.buckets)));
        let head = buckets.at(u64::from(bucket) * u64::from(hl.bucket_size) + u64::from(hl.bucket_first));
        let old = b.read_u64(head);
        b.write_u64(elem.at(hl.elem_next), old);
        b.write_u32(elem.at(hl.elem_hash), hash);
        b.write(elem.at(hl.elem_key), key);
        b.write(elem.at(hl.elem_key).at(key_room), value);
        b.write_u64(head, elem.at(hl.elem_next).0);
        elem
    }

    /// A TASK_STORAGE map with `1 << bucket_log` empty buckets.
    pub fn add_task_storage(
        &mut self,
        b: &mut GuestBuilder,
        spec: &MapSpec<'_>,
        bucket_log: u32,
    ) -> VirtAddr {
        let ll = bl(b).local_storage.unwrap();
        let map = self.add_map(b, spec, 0);
        let buckets = b.alloc((1u64 << bucket_log) * u64::from(ll.bucket_size), 64);
        b.write_u64(map.at(ll.map_buckets), buckets.0);
        b.write_u32(map.at(ll.map_bucket_log), bucket_log);
        map
    }

    /// `task`'s value `value` in the TASK_STORAGE `map`: an element on the map's bucket
    /// `bucket` and on the task's own storage list (created on first use). Returns the
    /// value's address.
    pub fn task_storage_insert(
        b: &mut GuestBuilder,
        map: VirtAddr,
        bucket: u32,
        task: VirtAddr,
        value: &[u8],
    ) -> VirtAddr {
        let ll = bl(b).local_storage.unwrap();
        let selem = b.alloc(u64::from(ll.elem_data) + (value.len() as u64).next_multiple_of(8), 64);
        let storage_at = task.at(ll.task_storage.unwrap());
        let mut storage = VirtAddr(b.read_u64(storage_at));
        if storage.0 == 0 {
            storage = b.alloc(LOCAL_STORAGE, 64);
            b.write_u64(storage.at(ll.storage_owner), task.0);
            b.write_u64(storage_at, storage.0);
        }
        // On the owner's list, at its head (hlist_add_head: `next` is the node's first word).
        let first_at = storage.at(ll.storage_first);
        let snode = selem.at(ll.elem_snode);
        b.write_u64(snode, b.read_u64(first_at));
        b.write_u64(first_at, snode.0);
        // On the map's bucket.
        let buckets = VirtAddr(b.read_u64(map.at(ll.map_buckets)));
        let head = buckets.at(u64::from(bucket) * u64::from(ll.bucket_size) + u64::from(ll.bucket_first));
        let node = selem.at(ll.elem_map_next);
        b.write_u64(node, b.read_u64(head));
        b.write_u64(head, node.0);
        b.write_u64(selem.at(ll.elem_local_storage), storage.0);
        b.write_u64(selem.at(ll.elem_smap), map.0);
        let data = selem.at(ll.elem_data);
        b.write(data, value);
        data
    }

    /// A QUEUE (or STACK) holding `values` (each `value_size` bytes) pushed in order, its ring
    /// starting at slot `start` (so it may wrap).
    pub fn add_queue(
        &mut self,
        b: &mut GuestBuilder,
        spec: &MapSpec<'_>,
        start: u32,
        values: &[Vec<u8>],
    ) -> VirtAddr {
        let ql = bl(b).queue_stack.unwrap();
        let size = spec.max_entries + 1;
        let map = self.add_map(b, spec, u64::from(size) * u64::from(spec.value_size));
        let mut head = start % size;
        for v in values {
            assert_eq!(v.len() as u32, spec.value_size);
            b.write(map.at(ql.elements).at(u64::from(head) * u64::from(spec.value_size)), v);
            head = (head + 1) % size;
        }
        b.write_u32(map.at(ql.head), head);
        b.write_u32(map.at(ql.tail), start % size);
        b.write_u32(map.at(ql.size), size);
        map
    }

    /// An ARENA of `spec.max_entries` pages at user address `spec.map_extra`, its kernel
    /// mapping in a fresh vmalloc area (`kern_vm->addr`), the pages `allocated` mapped, and
    /// the others in the free-range tree. Returns the map and `kern_vm_start`.
    pub fn add_arena(&mut self, b: &mut GuestBuilder, spec: &MapSpec<'_>, allocated: &[u32]) -> Arena {
        let al = bl(b).arena.unwrap();
        let page = b.scheme().page();
        let map = self.add_map(b, spec, 0);
        let user_vm_start = spec.map_extra;
        let pages = spec.max_entries;
        b.write_u64(map.at(al.user_vm_start), user_vm_start);
        b.write_u64(map.at(al.user_vm_end), user_vm_start + u64::from(pages) * page);
        let vm_struct = b.alloc(64, 8);
        // A vmalloc area of 4 GiB + GUARD_SZ, far from anything else the kit maps.
        let vm_addr = 0xffff_c900_0000_0000u64 + self.tables[MAPS].next_id as u64 * (8 << 30);
        b.write_u64(vm_struct.at(al.vm_addr), vm_addr);
        b.write_u64(map.at(al.kern_vm), vm_struct.0);
        let kern_vm_start = vm_addr + guard_size(page).unwrap() / 2;
        let mut sorted = allocated.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for &p in &sorted {
            let uaddr = user_vm_start + u64::from(p) * page;
            b.map_page_at(VirtAddr(kern_vm_start + (uaddr & 0xffff_ffff)));
        }
        // The free ranges: the complement of `allocated` in 0..pages.
        let mut free = Vec::new();
        let mut start = 0u32;
        for &p in sorted.iter().chain(std::iter::once(&pages)) {
            if p > start {
                free.push((start, p - 1));
            }
            start = p + 1;
        }
        if let Some(fl) = al.free {
            let root = build_rb(b, &free, fl);
            b.write_u64(map.at(fl.root), root.0);
        }
        if let Some(o) = al.nr_pages {
            b.write_u64(map.at(o), sorted.len() as u64);
        }
        Arena { map, user_vm_start, kern_vm_start, page, free }
    }

    /// A STRUCT_OPS map registering a `sched_ext_ops` whose first eight callbacks are
    /// `callbacks` and whose `priv` is `sched` (0: none), with a link per program in
    /// `progs` (packed, in order, `funcs_cnt` slots). Returns the map.
    pub fn add_struct_ops(
        &mut self,
        b: &mut GuestBuilder,
        spec: &MapSpec<'_>,
        sched: VirtAddr,
        callbacks: &[u64; 8],
        progs: &[VirtAddr],
        funcs_cnt: u32,
    ) -> VirtAddr {
        let sl = bl(b).struct_ops.unwrap();
        let map = self.add_map(b, spec, u64::from(spec.value_size) + 512);
        let data = map.at(sl.kvalue_data);
        for (i, cb) in callbacks.iter().enumerate() {
            b.write_u64(data.at(i as u64 * 8), *cb);
        }
        if let Some(p) = sl.ops_priv {
            b.write_u64(data.at(p), sched.0);
        }
        let links = b.alloc(u64::from(funcs_cnt.max(1)) * 8, 8);
        for (i, &prog) in progs.iter().enumerate() {
            let link = b.alloc(64, 8);
            b.write_u64(link.at(sl.link_prog), prog.0);
            b.write_u64(links.at(i as u64 * 8), link.0);
            self.register(LINKS, link);
        }
        b.write_u64(map.at(sl.links), links.0);
        b.write_u32(map.at(sl.funcs_cnt), funcs_cnt);
        map
    }

    /// A program of `spec`; returns its `struct bpf_prog`.
    pub fn add_prog(&mut self, b: &mut GuestBuilder, spec: &ProgSpec<'_>) -> VirtAddr {
        let pl = bl(b).prog.unwrap();
        let prog = b.alloc(PROG, 64);
        let aux = b.alloc(PROG_AUX, 64);
        b.write_u32(prog.at(pl.prog_type), spec.prog_type);
        b.write_u32(prog.at(pl.len), spec.insns);
        if let Some(o) = pl.jited_len {
            b.write_u32(prog.at(o), spec.insns * 6);
        }
        b.write(prog.at(pl.tag), &spec.tag);
        b.write_u64(prog.at(pl.aux), aux.0);
        if let Some(o) = pl.stats {
            let pcpu = self.alloc_percpu(b, 32);
            b.write_u64(prog.at(o), pcpu);
            for (cpu, &(cnt, nsecs, misses)) in spec.stats.iter().enumerate() {
                let at = Self::percpu_copy(b, pcpu, cpu as u32);
                b.write_u64(at.at(pl.stats_cnt), cnt);
                b.write_u64(at.at(pl.stats_nsecs), nsecs);
                if let Some(m) = pl.stats_misses {
                    b.write_u64(at.at(m), misses);
                }
            }
        }
        let used = b.alloc(8 * spec.used_maps.len().max(1) as u64, 8);
        for (i, m) in spec.used_maps.iter().enumerate() {
            b.write_u64(used.at(i as u64 * 8), m.0);
        }
        b.write_u64(aux.at(pl.aux_used_maps), used.0);
        b.write_u32(aux.at(pl.aux_used_map_cnt), spec.used_maps.len() as u32);
        b.write(aux.at(pl.aux_name), &name16(spec.name));
        for (off, v) in
            [(pl.aux_btf, spec.btf.0), (pl.aux_arena, spec.arena.0), (pl.aux_load_time, 1_000_000)]
        {
            if let Some(o) = off {
                b.write_u64(aux.at(o), v);
            }
        }
        if let Some(o) = pl.aux_verified_insns {
            b.write_u32(aux.at(o), spec.insns * 3);
        }
        if let Some(o) = pl.aux_st_ops_member_off {
            b.write_u32(aux.at(o), spec.st_ops_member_off);
        }
        let id = self.register(PROGS, prog);
        b.write_u32(aux.at(pl.aux_id), id);
        prog
    }

    /// Writes the ID tables' xarrays; returns the symbols.
    pub fn finish(self, b: &mut GuestBuilder) -> BpfSymbols {
        let il = bl(b).idr.unwrap();
        for t in &self.tables {
            let head = write_xarray(b, &t.entries, il.node_shift, il.node_slots);
            b.write_u64(t.idr.at(il.head), head);
            if let Some(o) = il.base {
                b.write_u32(t.idr.at(o), 0);
            }
        }
        BpfSymbols {
            prog_idr: Some(self.tables[PROGS].idr),
            map_idr: Some(self.tables[MAPS].idr),
            btf_idr: Some(self.tables[BTFS].idr),
            link_idr: Some(self.tables[LINKS].idr),
            stats_enabled_key: Some(self.stats_key),
        }
    }
}

/// The xarray of `entries` (id -> object) as the kernel builds it for 64-slot nodes: the
/// head is a node (tagged `| 2`) of the smallest shift that covers the largest id.
pub fn write_xarray(
    b: &mut GuestBuilder,
    entries: &[(u32, VirtAddr)],
    shift_off: u32,
    slots_off: u32,
) -> u64 {
    let Some(max) = entries.iter().map(|e| e.0).max() else { return 0 };
    let mut shift = 0u32;
    while u64::from(max) >> shift >= 64 {
        shift += 6;
    }
    fn node(
        b: &mut GuestBuilder,
        entries: &[(u32, VirtAddr)],
        shift: u32,
        base: u64,
        shift_off: u32,
        slots_off: u32,
    ) -> u64 {
        let n = b.alloc(XA_NODE, 64);
        b.write_u8(n.at(shift_off), shift as u8);
        for slot in 0..64u64 {
            let lo = base + (slot << shift);
            let hi = lo + (1 << shift);
            let inside: Vec<_> =
                entries.iter().copied().filter(|e| (lo..hi).contains(&u64::from(e.0))).collect();
            let v = if inside.is_empty() {
                0
            } else if shift == 0 {
                inside[0].1.0
            } else {
                node(b, &inside, shift - 6, lo, shift_off, slots_off)
            };
            b.write_u64(n.at(slots_off).at(slot * 8), v);
        }
        n.0 | 2
    }
    node(b, entries, shift, 0, shift_off, slots_off)
}

/// Builds a balanced rb-tree of `range_node`s for `ranges` (sorted, disjoint); returns the
/// root's `rb_node`.
fn build_rb(
    b: &mut GuestBuilder,
    ranges: &[(u32, u32)],
    fl: scxray_core::bpf::ArenaFreeTreeLayout,
) -> VirtAddr {
    if ranges.is_empty() {
        return VirtAddr(0);
    }
    let mid = ranges.len() / 2;
    let left = build_rb(b, &ranges[..mid], fl);
    let right = build_rb(b, &ranges[mid + 1..], fl);
    let node = b.alloc(64, 8);
    let rb = node.at(fl.rb_node);
    b.write_u64(rb.at(fl.rb_left), left.0);
    b.write_u64(rb.at(fl.rb_right), right.0);
    b.write_u32(node.at(fl.start), ranges[mid].0);
    b.write_u32(node.at(fl.last), ranges[mid].1);
    rb
}

/// An arena built by [`BpfBuilder::add_arena`].
#[derive(Debug, Clone)]
pub struct Arena {
    /// Its `struct bpf_map` (`struct bpf_arena`).
    pub map: VirtAddr,
    /// User address of page 0.
    pub user_vm_start: u64,
    /// `kern_vm->addr + GUARD_SZ / 2`.
    pub kern_vm_start: u64,
    /// Page size.
    pub page: u64,
    /// The free ranges (inclusive).
    pub free: Vec<(u32, u32)>,
}

impl Arena {
    /// The kernel address of user address `uaddr`.
    pub fn kaddr(&self, uaddr: u64) -> VirtAddr {
        VirtAddr(self.kern_vm_start + (uaddr & 0xffff_ffff))
    }

    /// The user address of page `p`.
    pub fn page_uaddr(&self, p: u32) -> u64 {
        self.user_vm_start + u64::from(p) * self.page
    }
}

impl GuestBuilder {
    /// Maps a fresh physical page at the page-aligned `va` (page-walk only, like vmalloc).
    pub fn map_page_at(&mut self, va: VirtAddr) -> u64 {
        let page = self.map.scheme.page();
        assert_eq!(va.0 % page, 0, "unaligned page");
        let pa = self.alloc_phys(page, page);
        self.map.vmalloc_pages.insert(va.0, pa);
        pa
    }
}

/// What [`qmap_machine`] built, for the tests to check against.
#[derive(Debug, Clone)]
pub struct Qmap {
    /// The BPF symbols.
    pub symbols: BpfSymbols,
    /// The scheduler (`scx_sched`).
    pub sched: VirtAddr,
    /// The program's BTF object.
    pub btf: VirtAddr,
    /// The program BTF's type ids.
    pub prog: ArenaProgram,
    /// The scheduler's struct_ops map.
    pub ops_map: VirtAddr,
    /// A struct_ops map of another subsystem (`priv` is not the scheduler).
    pub other_ops_map: VirtAddr,
    /// The scheduler's programs, in callback order: (name, address).
    pub progs: Vec<(&'static str, VirtAddr)>,
    /// The maps its programs use, in the order first used: (name, address).
    pub maps: Vec<(&'static str, VirtAddr)>,
    /// A map no scheduler program uses.
    pub unrelated_map: VirtAddr,
    /// The arena.
    pub arena: Arena,
    /// Where the arena globals (`qa`) are (user address).
    pub qa: u64,
    /// The FIFOs: each one's tasks, head first, as (task, pid, task_ctx user address).
    pub fifos: [Vec<(VirtAddr, i32, u64)>; 5],
    /// The task in the bare-pid QUEUE (`pid_queue`), and its pid.
    pub queued_pid: (VirtAddr, i32),
    /// The task whose pid is in the hash `pid_slots`, its bucket.
    pub hashed: (VirtAddr, i32, u32),
    /// The task an `owner_rec` of the array `owners` points at (element 1).
    pub owned: (VirtAddr, i32),
    /// Tasks with a `task_ctx` that are on no FIFO.
    pub idle: Vec<(VirtAddr, i32)>,
    /// Per-CPU `(cnt, nsecs, misses)` of `qmap_enqueue`.
    pub enqueue_stats: Vec<(u64, u64, u64)>,
}

impl Qmap {
    /// Every task waiting in BPF: the FIFOs' tasks, the queued, hashed and owned ones.
    pub fn waiting(&self) -> Vec<(VirtAddr, i32)> {
        let mut w: Vec<_> = self.fifos.iter().flatten().map(|&(t, p, _)| (t, p)).collect();
        w.extend([self.queued_pid, (self.hashed.0, self.hashed.1), self.owned]);
        w
    }
}

/// Map names of [`qmap_machine`], in the order its programs first use them.
pub const QMAP_MAPS: [&str; 9] = [
    ".bss",
    "task_ctx_stor",
    "arena",
    "pid_queue",
    "pid_slots",
    "owners",
    "cpu_stats",
    "events",
    "pid_stack",
];

/// A 4-CPU guest (Debian 7.3 amd64 offsets, BPF groups included) running a qmap-like
/// scheduler, its state as scx_qmap on 7.3 keeps it: a root `scx_sched` with a struct_ops
/// map (found by `priv`; a second struct_ops map of another subsystem beside it), five
/// programs using nine maps (`.bss`, the TASK_STORAGE `task_ctx_stor`, the `arena`, a QUEUE
/// of bare pids, a HASH of `pid_slot`s, an ARRAY of `owner_rec`s pointing at tasks, a
/// PERCPU_ARRAY of `cpu_stat`s, a RINGBUF listed by metadata only, a STACK), and an arena of
/// 16 pages with pages 0, 1, 5 and 15 allocated: the `task_ctx` slab on pages 0-1, `qa` at
/// the end (page 15), page 5 a stray allocation. Ten tasks wait on the five FIFOs (3, 1, 0, 4
/// and 2 of them; the slab's first entry is in the middle of FIFO 3, so `qa.task_ctxs` also
/// reaches some of them), linked through `q_next`/`q_prev`, each with `fifo` pointing at its
/// FIFO; the free list threads the unused slab entries through `next_free`; two more tasks
/// have a `task_ctx` on no FIFO. ID tables: a BTF, 7 programs (5 scheduler, 2 others), 12
/// maps (with a gap of skipped ids), links.
pub fn qmap_machine() -> (TestGuest, Qmap) {
    let mut layout = crate::kernels::debian_7_3_amd64();
    layout.bpf = crate::kernels::debian_7_3_amd64_bpf();
    let mut b = GuestBuilder::new(layout, 4, 1);
    let sched = b.attach_scheduler(0, 16);
    let mut k = BpfBuilder::new(&mut b, true);
    let prog = ArenaProgram::new();
    let btf = k.add_btf(&mut b, &prog.blob);

    // Tasks: ten on FIFOs, one queued by pid, one hashed, one owned, two idle.
    let mut next_pid = 1000;
    let mut task = |b: &mut GuestBuilder, name: &[u8]| {
        next_pid += 1;
        (b.add_task(next_pid, name), next_pid)
    };
    let fifo_sizes = [3usize, 1, 0, 4, 2];
    let fifo_tasks: Vec<Vec<(VirtAddr, i32)>> =
        fifo_sizes.iter().map(|&n| (0..n).map(|_| task(&mut b, b"stress-ng")).collect()).collect();
    let queued_pid = task(&mut b, b"queued");
    let hashed = task(&mut b, b"hashed");
    let owned = task(&mut b, b"owned");
    let idle: Vec<_> = (0..2).map(|_| task(&mut b, b"idle")).collect();

    // Maps.
    let bss = k.add_array(
        &mut b,
        &MapSpec {
            map_type: kind::ARRAY,
            name: ".bss",
            key_size: 4,
            value_size: ArenaProgram::BSS_SIZE,
            max_entries: 1,
            flags: 0x400,
            btf,
            key_type: 0,
            value_type: prog.bss,
            map_extra: 0,
        },
    );
    let stor = k.add_task_storage(
        &mut b,
        &MapSpec {
            map_type: kind::TASK_STORAGE,
            name: "task_ctx_stor",
            key_size: 4,
            value_size: 8,
            max_entries: 0,
            flags: 1,
            btf,
            key_type: prog.int,
            value_type: prog.stor_val,
            map_extra: 0,
        },
        2,
    );
    let user_vm_start = 1u64 << 44;
    let arena = k.add_arena(
        &mut b,
        &MapSpec {
            map_type: kind::ARENA,
            name: "arena",
            key_size: 0,
            value_size: 0,
            max_entries: 16,
            flags: 0x400,
            btf: VirtAddr(0),
            key_type: 0,
            value_type: 0,
            map_extra: user_vm_start,
        },
        &[0, 1, 5, 15],
    );
    let queue = k.add_queue(
        &mut b,
        &MapSpec {
            map_type: kind::QUEUE,
            name: "pid_queue",
            key_size: 0,
            value_size: 4,
            max_entries: 4,
            flags: 0,
            btf,
            key_type: 0,
            value_type: prog.u32_,
            map_extra: 0,
        },
        3,
        &[(queued_pid.1 as u32).to_le_bytes().to_vec()],
    );
    let hash = k.add_hash(
        &mut b,
        &MapSpec {
            map_type: kind::HASH,
            name: "pid_slots",
            key_size: 4,
            value_size: 8,
            max_entries: 8,
            flags: 0,
            btf,
            key_type: prog.int,
            value_type: prog.pid_slot,
            map_extra: 0,
        },
    );
    let owners = k.add_array(
        &mut b,
        &MapSpec {
            map_type: kind::ARRAY,
            name: "owners",
            key_size: 4,
            value_size: 16,
            max_entries: 2,
            flags: 0,
            btf,
            key_type: prog.int,
            value_type: prog.owner_rec,
            map_extra: 0,
        },
    );
    let (cpu_stats, cpu_slots) = k.add_percpu_array(
        &mut b,
        &MapSpec {
            map_type: kind::PERCPU_ARRAY,
            name: "cpu_stats",
            key_size: 4,
            value_size: 16,
            max_entries: 1,
            flags: 0,
            btf,
            key_type: prog.int,
            value_type: prog.cpu_stat,
            map_extra: 0,
        },
    );
    let events = k.add_map(
        &mut b,
        &MapSpec {
            map_type: kind::RINGBUF,
            name: "events",
            key_size: 0,
            value_size: 0,
            max_entries: 4096,
            flags: 0,
            btf: VirtAddr(0),
            key_type: 0,
            value_type: 0,
            map_extra: 0,
        },
        0,
    );
    let stack = k.add_queue(
        &mut b,
        &MapSpec {
            map_type: kind::STACK,
            name: "pid_stack",
            key_size: 0,
            value_size: 8,
            max_entries: 3,
            flags: 0,
            btf,
            key_type: 0,
            value_type: 0,
            map_extra: 0,
        },
        0,
        &[7u64.to_le_bytes().to_vec(), 8u64.to_le_bytes().to_vec()],
    );
    k.skip_ids(MAPS, 3);
    let unrelated_map = k.add_array(
        &mut b,
        &MapSpec {
            map_type: kind::ARRAY,
            name: "other_prog_map",
            key_size: 4,
            value_size: 8,
            max_entries: 2,
            flags: 0,
            btf: VirtAddr(0),
            key_type: 0,
            value_type: 0,
            map_extra: 0,
        },
    );

    // .bss values; the hash's one element; the owner record; per-CPU stats.
    let bss_at = BpfBuilder::array_elem(&b, bss, ArenaProgram::BSS_SIZE, 0);
    b.write_u64(bss_at, 17);
    b.write_u32(bss_at.at(8u64), 4);
    b.write(bss_at.at(12u64), b"qmap\0");
    let bucket = 5;
    let mut slot = (hashed.1).to_le_bytes().to_vec();
    slot.extend(100u32.to_le_bytes());
    BpfBuilder::hash_insert(&mut b, hash, bucket, 0xabcd_0005, &7u32.to_le_bytes(), &slot);
    BpfBuilder::hash_insert(
        &mut b,
        hash,
        bucket,
        0xabcd_1005,
        &9u32.to_le_bytes(),
        &[0, 0, 0, 0, 1, 0, 0, 0],
    );
    let owner_at = BpfBuilder::array_elem(&b, owners, 16, 1);
    b.write_u64(owner_at, owned.0.0);
    b.write_u64(owner_at.at(8u64), 12345);
    for cpu in 0..4u32 {
        let at = BpfBuilder::percpu_copy(&b, cpu_slots[0], cpu);
        b.write_u64(at, 10 + u64::from(cpu));
        b.write_u64(at.at(8u64), 20 + u64::from(cpu));
    }

    // The arena: the slab on pages 0-1, `qa` at the end.
    let qa = arena.page_uaddr(15);
    let slab = arena.page_uaddr(0);
    let ctx = |i: u64| slab + i * u64::from(ArenaProgram::TASK_CTX_SIZE);
    let nr_slab = 2 * 4096 / u64::from(ArenaProgram::TASK_CTX_SIZE);
    // Slab entries: FIFO 3's second task gets entry 0; the others from 1 on.
    let mut next_entry = 1u64;
    let mut fifos: [Vec<(VirtAddr, i32, u64)>; 5] = Default::default();
    for (f, tasks) in fifo_tasks.iter().enumerate() {
        for (i, &(t, pid)) in tasks.iter().enumerate() {
            let entry = if f == 3 && i == 1 {
                0
            } else {
                next_entry += 1;
                next_entry - 1
            };
            fifos[f].push((t, pid, ctx(entry)));
        }
    }
    let w64 = |b: &mut GuestBuilder, uaddr: u64, v: u64| b.write_u64(arena.kaddr(uaddr), v);
    for (f, list) in fifos.iter().enumerate() {
        let fifo = qa + u64::from(ArenaProgram::QA_FIFOS) + f as u64 * u64::from(ArenaProgram::FIFO_SIZE);
        b.write_i32(arena.kaddr(fifo + 16), f as i32);
        for (i, &(t, pid, c)) in list.iter().enumerate() {
            let prev = if i == 0 { 0 } else { list[i - 1].2 };
            let next = list.get(i + 1).map_or(0, |n| n.2);
            w64(&mut b, c + u64::from(ArenaProgram::Q_PREV), prev);
            w64(&mut b, c + u64::from(ArenaProgram::Q_NEXT), next);
            w64(&mut b, c + u64::from(ArenaProgram::FIFO), fifo);
            b.write_i32(arena.kaddr(c + u64::from(ArenaProgram::PID)), pid);
            BpfBuilder::task_storage_insert(&mut b, stor, (pid % 4) as u32, t, &c.to_le_bytes());
        }
        w64(&mut b, fifo, list.first().map_or(0, |h| h.2));
        w64(&mut b, fifo + 8, list.last().map_or(0, |h| h.2));
    }
    for &(t, pid) in &idle {
        let c = ctx(next_entry);
        next_entry += 1;
        b.write_i32(arena.kaddr(c + u64::from(ArenaProgram::PID)), pid);
        BpfBuilder::task_storage_insert(&mut b, stor, (pid % 4) as u32, t, &c.to_le_bytes());
    }
    // The free list: every unused slab entry, through `next_free`.
    let free: Vec<u64> = (next_entry..nr_slab).map(ctx).collect();
    for (i, &c) in free.iter().enumerate() {
        w64(&mut b, c + u64::from(ArenaProgram::NEXT_FREE), free.get(i + 1).copied().unwrap_or(0));
    }
    w64(&mut b, qa + u64::from(ArenaProgram::QA_TASK_CTXS), slab);
    w64(&mut b, qa + u64::from(ArenaProgram::QA_FREE_HEAD), free[0]);
    w64(&mut b, qa + u64::from(ArenaProgram::QA_NR_ENQUEUED), 4242);
    w64(&mut b, qa + u64::from(ArenaProgram::QA_NR_DISPATCHED), 4200);

    // Programs: five callbacks of the scheduler, two others.
    let enqueue_stats = vec![(100, 5_000, 0), (200, 7_000, 1), (0, 0, 0), (50, 1_000, 0)];
    let uses = |names: &[&str]| -> Vec<VirtAddr> {
        names
            .iter()
            .map(|n| match *n {
                ".bss" => bss,
                "task_ctx_stor" => stor,
                "arena" => arena.map,
                "pid_queue" => queue,
                "pid_slots" => hash,
                "owners" => owners,
                "cpu_stats" => cpu_stats,
                "events" => events,
                "pid_stack" => stack,
                _ => unreachable!(),
            })
            .collect()
    };
    let prog_defs: [(&'static str, u32, &[&str]); 5] = [
        ("qmap_select_cpu", 0, &[".bss"]),
        ("qmap_enqueue", 8, &[".bss", "task_ctx_stor", "arena", "pid_queue", "pid_slots"]),
        ("qmap_dispatch", 24, &["arena", "owners", "cpu_stats", ".bss"]),
        ("qmap_init_task", 200, &["task_ctx_stor", "arena", "events"]),
        ("qmap_init", 296, &["arena", "pid_stack", ".bss"]),
    ];
    let mut progs = Vec::new();
    for (i, (name, member, maps)) in prog_defs.iter().enumerate() {
        let p = k.add_prog(
            &mut b,
            &ProgSpec {
                name,
                prog_type: kind::PROG_STRUCT_OPS,
                tag: [0xa0 + i as u8, 1, 2, 3, 4, 5, 6, 7],
                insns: 100 + i as u32,
                used_maps: uses(maps),
                btf,
                arena: arena.map,
                st_ops_member_off: *member,
                stats: if *name == "qmap_enqueue" { enqueue_stats.clone() } else { vec![] },
            },
        );
        progs.push((*name, p));
    }
    k.add_prog(
        &mut b,
        &ProgSpec {
            name: "other_syscall",
            prog_type: kind::PROG_SYSCALL,
            insns: 9,
            used_maps: vec![unrelated_map],
            ..ProgSpec::default()
        },
    );
    let other_cong = k.add_prog(
        &mut b,
        &ProgSpec { name: "cong_cb", prog_type: kind::PROG_STRUCT_OPS, insns: 9, ..ProgSpec::default() },
    );

    // The struct_ops maps: another subsystem's first (not this scheduler's), then qmap's.
    let callbacks: [u64; 8] = std::array::from_fn(|i| 0xffff_ffff_c000_0000 + 0x100 * i as u64);
    let other_ops_map = k.add_struct_ops(
        &mut b,
        &MapSpec {
            map_type: kind::STRUCT_OPS,
            name: "cong",
            key_size: 4,
            value_size: 256,
            max_entries: 1,
            ..MapSpec::default()
        },
        VirtAddr(0xffff_8880_dead_0000),
        &[0x1111; 8],
        &[other_cong],
        4,
    );
    let prog_addrs: Vec<_> = progs.iter().map(|p| p.1).collect();
    let ops_map = k.add_struct_ops(
        &mut b,
        &MapSpec {
            map_type: kind::STRUCT_OPS,
            name: "qmap_ops",
            key_size: 4,
            value_size: 1024,
            max_entries: 1,
            ..MapSpec::default()
        },
        sched,
        &callbacks,
        &prog_addrs,
        40,
    );
    // The scheduler's copy of its ops (`scx_sched.ops`, its first member).
    for (i, cb) in callbacks.iter().enumerate() {
        b.write_u64(sched.at(i as u64 * 8), *cb);
    }

    let symbols = k.finish(&mut b);
    let maps = QMAP_MAPS.iter().map(|&n| (n, uses(&[n])[0])).collect();
    let g = b.build();
    let q = Qmap {
        symbols,
        sched,
        btf,
        prog,
        ops_map,
        other_ops_map,
        progs,
        maps,
        unrelated_map,
        arena,
        qa,
        fifos,
        queued_pid,
        hashed: (hashed.0, hashed.1, bucket),
        owned,
        idle,
        enqueue_stats,
    };
    (g, q)
}
