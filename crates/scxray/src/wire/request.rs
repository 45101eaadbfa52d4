//! The request the host sends an embedded scxray for a configured [`Target`]: the
//! translator in its wire form, the layout, the symbols, the caps, and the host facts the
//! embedded side cannot know (release, paging, memory, the names of `enum scx_exit_kind` and
//! `enum scx_enable_state` from BTF), which it echoes in the dump.

use crate::error::Error;
use crate::kernel::btf::EnumConstants;
use crate::target::Target;
use scxray_core::{Limits, VirtAddr};
use scxray_wire::{Context, EnumName, MAX_ENUM_NAMES, Request, Symbols};

/// Encodes the request that makes an embedded scxray walk `target` under `limits`.
pub fn request(target: &Target, limits: Limits) -> Result<Vec<u8>, Error> {
    let types = target.types();
    let exit_kinds = types.enum_constants("scx_exit_kind");
    // 6.12-6.14 name the enum `scx_ops_enable_state`.
    let enable_states = match types.enum_constants("scx_enable_state") {
        v if v.is_empty() => types.enum_constants("scx_ops_enable_state"),
        v => v,
    };
    // The root's `sched_kva` is `&scx_ops` itself on a kernel with the globals.
    let ops_name_path =
        if target.symbols().globals.is_some() { "sched_ext_ops.name" } else { "scx_sched.ops.name" };
    let offset = |path: &str| types.offset(path).and_then(|o| u32::try_from(o).ok());
    fn names(v: &EnumConstants) -> heapless::Vec<EnumName<'_>, MAX_ENUM_NAMES> {
        v.iter().take(MAX_ENUM_NAMES).map(|(name, value)| EnumName { value: *value, name }).collect()
    }
    let arch = target.arch().to_string();
    let memory = target.memory().describe();
    let paging = target.paging().to_string();
    let s = target.symbols();
    let req = Request {
        translator: target.translator().to_config().map_err(|e| Error::Internal(format!("wire: {e}")))?,
        layout: *target.layout(),
        symbols: Symbols {
            runqueues: s.runqueues.map(VirtAddr),
            per_cpu_offset: s.per_cpu_offset.map(VirtAddr),
            per_cpu_slots: target.nr_cpus(),
            scx_root: s.scx_root.map(VirtAddr),
            scx_tasks: s.scx_tasks.map(VirtAddr),
            nr_cpus: target.nr_cpus(),
            nr_nodes: target.nr_nodes(),
            scx_enable_state_var: s.scx_enable_state_var.map(VirtAddr),
            ops_name_offset: offset(ops_name_path),
            cgrp_path_offset: if s.globals.is_some() { None } else { offset("scx_sched.cgrp_path") },
            globals: s.globals,
            nr_threads: s.nr_threads.map(VirtAddr),
        },
        limits,
        context: Context {
            arch: &arch,
            release: target.release(),
            paging: &paging,
            kaslr_offset: target.kaslr_offset(),
            memory: &memory,
            exit_kinds: names(&exit_kinds),
            enable_states: names(&enable_states),
        },
    };
    req.encode_with(postcard::ser_flavors::StdVec::new()).map_err(|e| Error::Internal(format!("wire: {e}")))
}
