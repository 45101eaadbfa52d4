//! Fills the BPF part of scxray-core's [`Layout`](scxray_core::Layout) ([`BpfLayout`]) from a
//! kernel's BTF.
//!
//! Policy: the BPF objects are a pass of their own, so a group whose struct is absent, or
//! lacks one of its required members, is `None` (the BPF pass then says which group it
//! missed) instead of failing the whole layout; optional members are `None` when absent.
//! Only malformed BTF is an error. Sizes that no member gives (a hash bucket, a local-storage
//! bucket) come from the type the map's `buckets` pointer points to, not from a lookup by a
//! name as common as `bucket`.

use scxray_core::bpf::{
    ArenaFreeTreeLayout, BpfArenaLayout, BpfArrayLayout, BpfHtabLayout, BpfIdrLayout, BpfLayout,
    BpfLocalStorageLayout, BpfMapLayout, BpfProgLayout, BpfQueueStackLayout, BpfStructOpsLayout,
    KernelBtfLayout,
};

use crate::btf::Btf;
use crate::error::ResolveError;
use crate::group::Group;
use crate::types::Kind;

/// A group's result: a missing struct or required member is `None`, malformed BTF an error.
fn lenient<T>(r: Result<Option<T>, ResolveError>) -> Result<Option<T>, ResolveError> {
    match r {
        Err(ResolveError::MissingMember { .. } | ResolveError::UnusableOffset { .. }) => Ok(None),
        other => other,
    }
}

impl Group<'_, '_> {
    /// The size of what the pointer member `member` points to.
    fn pointee_size(&self, member: &'static str) -> Result<u32, ResolveError> {
        let missing = ResolveError::MissingMember { strukt: self.name, member };
        let m = self.member(member)?.ok_or(missing)?;
        let ptr = self.btf.resolve_alias(m.type_id)?;
        if ptr.kind != Kind::Ptr {
            return Err(missing);
        }
        let size = self.btf.type_size(ptr.size_or_type)?;
        u32::try_from(size).map_err(|_| missing)
    }

    /// The number of elements of the array member `member`.
    fn array_len(&self, member: &'static str) -> Result<u32, ResolveError> {
        let missing = ResolveError::MissingMember { strukt: self.name, member };
        let m = self.member(member)?.ok_or(missing)?;
        self.btf.resolve_alias(m.type_id)?.array().map(|a| a.nelems).ok_or(missing)
    }
}

/// Resolves [`BpfLayout`] from `btf` (see the module docs for the policy).
///
/// # Errors
/// Malformed BTF.
pub fn resolve_bpf_layout(btf: &Btf<'_>) -> Result<BpfLayout, ResolveError> {
    Ok(BpfLayout {
        idr: lenient(idr(btf))?,
        map: lenient(map(btf))?,
        prog: lenient(prog(btf))?,
        btf: lenient(kernel_btf(btf))?,
        array: lenient(array(btf))?,
        htab: lenient(htab(btf))?,
        local_storage: lenient(local_storage(btf))?,
        queue_stack: lenient(queue_stack(btf))?,
        arena: lenient(arena(btf))?,
        struct_ops: lenient(struct_ops(btf))?,
        sched_arena_map: sched_member(btf, "arena_map")?,
        sched_arena_kern_base: sched_member(btf, "arena_kern_base")?,
    })
}

fn idr(btf: &Btf<'_>) -> Result<Option<BpfIdrLayout>, ResolveError> {
    let (Some(idr), Some(node)) = (Group::find(btf, "idr")?, Group::find(btf, "xa_node")?) else {
        return Ok(None);
    };
    Ok(Some(BpfIdrLayout {
        head: idr.req("idr_rt.xa_head")?,
        base: idr.opt("idr_base")?,
        node_shift: node.req("shift")?,
        node_slots: node.req("slots")?,
        node_slot_count: node.array_len("slots")?,
    }))
}

fn map(btf: &Btf<'_>) -> Result<Option<BpfMapLayout>, ResolveError> {
    let Some(g) = Group::find(btf, "bpf_map")? else { return Ok(None) };
    Ok(Some(BpfMapLayout {
        map_type: g.req("map_type")?,
        key_size: g.req("key_size")?,
        value_size: g.req("value_size")?,
        max_entries: g.req("max_entries")?,
        map_flags: g.req("map_flags")?,
        id: g.req("id")?,
        name: g.req("name")?,
        name_len: g.array_len("name")?,
        btf: g.req("btf")?,
        btf_key_type_id: g.req("btf_key_type_id")?,
        btf_value_type_id: g.req("btf_value_type_id")?,
        btf_vmlinux_value_type_id: g.opt("btf_vmlinux_value_type_id")?,
        map_extra: g.opt("map_extra")?,
    }))
}

fn prog(btf: &Btf<'_>) -> Result<Option<BpfProgLayout>, ResolveError> {
    let (Some(p), Some(aux)) = (Group::find(btf, "bpf_prog")?, Group::find(btf, "bpf_prog_aux")?) else {
        return Ok(None);
    };
    let stats = Group::find(btf, "bpf_prog_stats")?;
    let stats_member = |m: &'static str| -> Result<Option<u32>, ResolveError> {
        match &stats {
            Some(s) => s.opt(m),
            None => Ok(None),
        }
    };
    let (stats_cnt, stats_nsecs) = (stats_member("cnt")?, stats_member("nsecs")?);
    let prog_stats = p.opt("stats")?;
    // The run counters only make sense with the pointer and both counters.
    let (stats_ptr, stats_cnt, stats_nsecs) = match (prog_stats, stats_cnt, stats_nsecs) {
        (Some(ptr), Some(cnt), Some(nsecs)) => (Some(ptr), cnt, nsecs),
        _ => (None, 0, 0),
    };
    Ok(Some(BpfProgLayout {
        prog_type: p.req("type")?,
        len: p.req("len")?,
        tag: p.req("tag")?,
        aux: p.req("aux")?,
        jited_len: p.opt("jited_len")?,
        stats: stats_ptr,
        aux_id: aux.req("id")?,
        aux_name: aux.req("name")?,
        aux_used_maps: aux.req("used_maps")?,
        aux_used_map_cnt: aux.req("used_map_cnt")?,
        aux_btf: aux.opt("btf")?,
        aux_load_time: aux.opt("load_time")?,
        aux_verified_insns: aux.opt("verified_insns")?,
        aux_arena: aux.opt("arena")?,
        aux_st_ops_member_off: aux.opt("attach_st_ops_member_off")?,
        stats_cnt,
        stats_nsecs,
        stats_misses: if stats_ptr.is_some() { stats_member("misses")? } else { None },
    }))
}

fn kernel_btf(btf: &Btf<'_>) -> Result<Option<KernelBtfLayout>, ResolveError> {
    let Some(g) = Group::find(btf, "btf")? else { return Ok(None) };
    Ok(Some(KernelBtfLayout {
        data: g.req("data")?,
        data_size: g.req("data_size")?,
        base_btf: g.req("base_btf")?,
        start_id: g.req("start_id")?,
        start_str_off: g.req("start_str_off")?,
        id: g.opt("id")?,
    }))
}

fn array(btf: &Btf<'_>) -> Result<Option<BpfArrayLayout>, ResolveError> {
    let Some(g) = Group::find(btf, "bpf_array")? else { return Ok(None) };
    Ok(Some(BpfArrayLayout { elem_size: g.req("elem_size")?, value: g.req("value")? }))
}

fn htab(btf: &Btf<'_>) -> Result<Option<BpfHtabLayout>, ResolveError> {
    let (Some(h), Some(e)) = (Group::find(btf, "bpf_htab")?, Group::find(btf, "htab_elem")?) else {
        return Ok(None);
    };
    let bucket_first = bucket_first(&h)?;
    Ok(Some(BpfHtabLayout {
        buckets: h.req("buckets")?,
        n_buckets: h.req("n_buckets")?,
        elem_size: h.req("elem_size")?,
        count: h.opt("count")?,
        bucket_size: h.pointee_size("buckets")?,
        bucket_first,
        elem_next: e.req("hash_node.next")?,
        elem_hash: e.req("hash")?,
        elem_key: e.req("key")?,
    }))
}

/// `bucket.head.first`, through the type `bpf_htab.buckets` points to.
fn bucket_first(h: &Group<'_, '_>) -> Result<u32, ResolveError> {
    let missing = ResolveError::MissingMember { strukt: "bucket", member: "head.first" };
    let m = h.member("buckets")?.ok_or(missing)?;
    let ptr = h.btf.resolve_alias(m.type_id)?;
    let bucket = h.btf.resolve_alias(ptr.referenced().ok_or(missing)?)?;
    if !bucket.kind.is_composite() {
        return Err(missing);
    }
    Group { btf: h.btf, ty: bucket, name: "bucket" }.req("head.first")
}

fn local_storage(btf: &Btf<'_>) -> Result<Option<BpfLocalStorageLayout>, ResolveError> {
    let (Some(map), Some(elem), Some(storage)) = (
        Group::find(btf, "bpf_local_storage_map")?,
        Group::find(btf, "bpf_local_storage_elem")?,
        Group::find(btf, "bpf_local_storage")?,
    ) else {
        return Ok(None);
    };
    let bucket = Group::find(btf, "bpf_local_storage_map_bucket")?
        .ok_or(ResolveError::MissingMember { strukt: "bpf_local_storage_map_bucket", member: "list" })?;
    let task_storage = match Group::find(btf, "task_struct")? {
        Some(t) => t.opt("bpf_storage")?,
        None => None,
    };
    Ok(Some(BpfLocalStorageLayout {
        map_buckets: map.req("buckets")?,
        map_bucket_log: map.req("bucket_log")?,
        bucket_size: map.pointee_size("buckets")?,
        bucket_first: bucket.req("list.first")?,
        elem_map_next: elem.req("map_node.next")?,
        elem_snode: elem.req("snode")?,
        elem_local_storage: elem.req("local_storage")?,
        elem_smap: elem.req("sdata.smap")?,
        elem_data: elem.req("sdata.data")?,
        storage_first: storage.req("list.first")?,
        storage_owner: storage.req("owner")?,
        task_storage,
    }))
}

fn queue_stack(btf: &Btf<'_>) -> Result<Option<BpfQueueStackLayout>, ResolveError> {
    let Some(g) = Group::find(btf, "bpf_queue_stack")? else { return Ok(None) };
    Ok(Some(BpfQueueStackLayout {
        head: g.req("head")?,
        tail: g.req("tail")?,
        size: g.req("size")?,
        elements: g.req("elements")?,
    }))
}

fn arena(btf: &Btf<'_>) -> Result<Option<BpfArenaLayout>, ResolveError> {
    let (Some(a), Some(vm)) = (Group::find(btf, "bpf_arena")?, Group::find(btf, "vm_struct")?) else {
        return Ok(None);
    };
    let free = match (
        a.opt("rt.it_root.rb_root.rb_node")?,
        Group::find(btf, "range_node")?,
        Group::find(btf, "rb_node")?,
    ) {
        (Some(root), Some(node), Some(rb)) => lenient((|| {
            Ok(Some(ArenaFreeTreeLayout {
                root,
                rb_node: node.req("rn_rbnode")?,
                start: node.req("rn_start")?,
                last: node.req("rn_last")?,
                rb_left: rb.req("rb_left")?,
                rb_right: rb.req("rb_right")?,
            }))
        })())?,
        _ => None,
    };
    Ok(Some(BpfArenaLayout {
        user_vm_start: a.req("user_vm_start")?,
        user_vm_end: a.req("user_vm_end")?,
        kern_vm: a.req("kern_vm")?,
        vm_addr: vm.req("addr")?,
        free,
        scratch_page: a.opt("scratch_page")?,
        nr_pages: a.opt("nr_pages")?,
    }))
}

fn struct_ops(btf: &Btf<'_>) -> Result<Option<BpfStructOpsLayout>, ResolveError> {
    let (Some(m), Some(value), Some(link)) = (
        Group::find(btf, "bpf_struct_ops_map")?,
        Group::find(btf, "bpf_struct_ops_value")?,
        Group::find(btf, "bpf_link")?,
    ) else {
        return Ok(None);
    };
    let ops_priv = match Group::find(btf, "sched_ext_ops")? {
        Some(ops) => ops.opt("priv")?,
        None => None,
    };
    Ok(Some(BpfStructOpsLayout {
        links: m.req("links")?,
        funcs_cnt: m.req("funcs_cnt")?,
        uvalue: m.req("uvalue")?,
        kvalue_data: m.req("kvalue.data")?,
        value_data: value.req("data")?,
        link_prog: link.req("prog")?,
        ops_priv,
    }))
}

/// An optional member of `struct scx_sched`.
fn sched_member(btf: &Btf<'_>, member: &'static str) -> Result<Option<u32>, ResolveError> {
    match Group::find(btf, "scx_sched")? {
        Some(g) => lenient(g.opt(member).map(Some)).map(Option::flatten),
        None => Ok(None),
    }
}
