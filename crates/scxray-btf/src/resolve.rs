//! Fills scxray-core's [`Layout`] from a kernel's BTF.
//!
//! Policy, per group: a group whose struct the kernel lacks is `None`; a group whose struct
//! exists must have its required members (those every sched_ext kernel since 6.12 has), else
//! [`ResolveError::MissingMember`] names `struct.member`; optional members are `None` when
//! absent. Two groups exist only for one member, and older kernels have the struct without
//! it: `scx_sched_pcpu` (6.18 has it, with only `event_stats`) is `None` without
//! `bypass_dsq`, and `scx_sched_pnode` likewise without `global_dsq`. The `rht` group needs all
//! of `struct rhashtable`, `struct bucket_table` and `struct rhash_head`.

use scxray_core::{
    DsqLayout, DsqLnodeLayout, Layout, LayoutFlags, RhtLayout, RqLayout, SchedLayout, SchedPcpuLayout,
    SchedPnodeLayout, ScxRqLayout, SeeLayout, TaskLayout,
};

use crate::btf::Btf;
use crate::error::{BtfError, ResolveError};
use crate::group::Group;
use crate::query::MemberOffset;
use crate::types::{Kind, Type};

/// Resolves every group and member of [`Layout`] from `btf` (a vmlinux BTF; split BTF
/// resolves through its base).
///
/// # Errors
/// [`ResolveError::NoSchedExt`] for a kernel built without `CONFIG_SCHED_CLASS_EXT`;
/// [`ResolveError::MissingMember`] when a present struct lacks a required member; a
/// [`ResolveError::Btf`] for malformed BTF.
pub fn resolve_layout(btf: &Btf<'_>) -> Result<Layout, ResolveError> {
    let see = Group::find(btf, "sched_ext_entity")?;
    let scx_rq = Group::find(btf, "scx_rq")?;
    if see.is_none() && scx_rq.is_none() {
        return Err(ResolveError::NoSchedExt);
    }

    let rq = match Group::find(btf, "rq")? {
        Some(g) => Some(RqLayout {
            scx: g.req("scx")?,
            curr: g.req("curr")?,
            cpu: g.opt("cpu")?,
            clock: g.opt("clock")?,
        }),
        None => None,
    };

    let scx_rq = match scx_rq {
        Some(g) => Some(ScxRqLayout {
            local_dsq: g.req("local_dsq")?,
            runnable_list: g.req("runnable_list")?,
            nr_running: g.req("nr_running")?,
            flags: g.req("flags")?,
            cpu_released: g.req("cpu_released")?,
            ops_qseq: g.opt("ops_qseq")?,
            kick_sync: g.opt("kick_sync")?,
            nr_immed: g.opt("nr_immed")?,
            clock: g.opt("clock")?,
            reject_dsq: g.opt("reject_dsq")?,
            rescue_dsq: rescue_dsq(&g)?,
        }),
        None => None,
    };

    let task = match Group::find(btf, "task_struct")? {
        Some(g) => Some(TaskLayout {
            scx: g.req("scx")?,
            pid: g.req("pid")?,
            comm: g.req("comm")?,
            tgid: g.opt("tgid")?,
            state: g.opt("__state")?,
            on_rq: g.opt("on_rq")?,
            cpus_ptr: g.opt("cpus_ptr")?,
        }),
        None => None,
    };

    let see = match see {
        Some(g) => Some(SeeLayout {
            runnable_node: g.req("runnable_node")?,
            dsq_list: g.req("dsq_list")?,
            tasks_node: g.req("tasks_node")?,
            flags: g.req("flags")?,
            dsq: g.opt("dsq")?,
            ops_state: g.opt("ops_state")?,
            ddsp_dsq_id: g.opt("ddsp_dsq_id")?,
            weight: g.opt("weight")?,
            sticky_cpu: g.opt("sticky_cpu")?,
            holding_cpu: g.opt("holding_cpu")?,
            runnable_at: g.opt("runnable_at")?,
            slice: g.opt("slice")?,
            dsq_vtime: g.opt("dsq_vtime")?,
        }),
        None => None,
    };

    let dsq = match Group::find(btf, "scx_dispatch_q")? {
        Some(g) => Some(DsqLayout {
            list: g.req("list")?,
            nr: g.req("nr")?,
            seq: g.req("seq")?,
            id: g.req("id")?,
            hash_node: g.req("hash_node")?,
        }),
        None => None,
    };

    let dsq_lnode = match Group::find(btf, "scx_dsq_list_node")? {
        Some(g) => Some(DsqLnodeLayout { node: g.req("node")?, flags: g.req("flags")? }),
        None => None,
    };

    let sched = match Group::find(btf, "scx_sched")? {
        Some(g) => Some(SchedLayout {
            dsq_hash: g.req("dsq_hash")?,
            exit_kind: g.req("exit_kind")?,
            pnode: g.opt("pnode")?,
            pcpu: g.opt("pcpu")?,
            aborting: g.opt("aborting")?,
            bypass_depth: g.opt("bypass_depth")?,
            children: g.opt("children")?,
            sibling: g.opt("sibling")?,
            level: g.opt("level")?,
        }),
        None => None,
    };

    let sched_pcpu = match Group::find(btf, "scx_sched_pcpu")? {
        Some(g) if g.has("bypass_dsq")? => Some(SchedPcpuLayout { bypass_dsq: g.req("bypass_dsq")? }),
        _ => None,
    };

    let sched_pnode = match Group::find(btf, "scx_sched_pnode")? {
        Some(g) if g.has("global_dsq")? => Some(SchedPnodeLayout { global_dsq: g.req("global_dsq")? }),
        _ => None,
    };

    let rht = match (
        Group::find(btf, "rhashtable")?,
        Group::find(btf, "bucket_table")?,
        Group::find(btf, "rhash_head")?,
    ) {
        (Some(ht), Some(bt), Some(head)) => Some(RhtLayout {
            tbl: ht.req("tbl")?,
            bucket_table_size: bt.req("size")?,
            bucket_table_buckets: bt.req("buckets")?,
            rhash_head_next: head.req("next")?,
            nelems: ht.opt("nelems")?,
        }),
        _ => None,
    };

    let defaults = LayoutFlags::KERNEL_DEFAULT;
    let flags = LayoutFlags {
        task_cursor: flag(btf, "scx_ent_flags", "SCX_TASK_CURSOR")?.unwrap_or(defaults.task_cursor),
        dsq_lnode_iter_cursor: flag(btf, "scx_dsq_lnode_flags", "SCX_DSQ_LNODE_ITER_CURSOR")?
            .unwrap_or(defaults.dsq_lnode_iter_cursor),
    };

    let bpf = crate::resolve_bpf::resolve_bpf_layout(btf)?;
    Ok(Layout { rq, scx_rq, task, see, dsq, dsq_lnode, sched, sched_pcpu, sched_pnode, rht, flags, bpf })
}

/// The offset (from `rq.scx`) of the `struct scx_dispatch_q` inside `scx_rq.rescue`.
fn rescue_dsq(g: &Group<'_, '_>) -> Result<Option<u32>, ResolveError> {
    let btf = g.btf;
    let Some(rescue) = btf.find_member(g.ty, "rescue")? else { return Ok(None) };
    let ty = btf.resolve_alias(rescue.type_id)?;
    let inner = if is_dsq(btf, &ty)? {
        Some(0)
    } else if ty.kind.is_composite() {
        let mut found = None;
        for m in btf.flat_members(ty)? {
            let m = m?;
            if is_dsq(btf, &btf.resolve_alias(m.type_id)?)? {
                found = Some(m.bit_offset);
                break;
            }
        }
        found
    } else {
        None
    };
    let inner = inner.ok_or(ResolveError::RescueWithoutDsq)?;
    let bit_offset = rescue.bit_offset.checked_add(inner).ok_or(ResolveError::RescueWithoutDsq)?;
    let combined = MemberOffset { bit_offset, ..rescue };
    combined.byte_offset().map(Some).ok_or(ResolveError::UnusableOffset {
        strukt: "scx_rq",
        member: "rescue",
        bit_offset,
    })
}

fn is_dsq(btf: &Btf<'_>, ty: &Type<'_>) -> Result<bool, BtfError> {
    Ok(ty.kind == Kind::Struct && btf.str_eq(ty.name_off, b"scx_dispatch_q")?)
}

/// A cursor flag from its enum (or, if the enum is renamed or anonymous, any enum holding
/// the constant); `None` when the kernel has neither.
fn flag(btf: &Btf<'_>, enum_name: &str, constant: &'static str) -> Result<Option<u32>, ResolveError> {
    let value = match btf.enum_value(enum_name, constant)? {
        Some(v) => Some(v),
        None => btf.find_enum_constant(constant)?,
    };
    let Some(value) = value else { return Ok(None) };
    value.bits().and_then(|b| u32::try_from(b).ok()).map(Some).ok_or(ResolveError::BadFlagValue { constant })
}
