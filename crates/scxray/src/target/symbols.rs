//! The symbols step: a symbol table (the live host's kallsyms, a vmlinux, a System.map, else
//! the kernel's own kallsyms tables decoded in guest memory) and the runtime addresses the
//! walk needs.

use super::inputs::{Identity, Inputs};
use super::paging::{self, X86_START_KERNEL_MAP};
use super::read::{read_virt, share_virt};
use super::setup::{SetupStep, SymbolsFrom};
use crate::error::Error;
use crate::kernel::SymbolTable;
use crate::kernel::symbols::SymbolSource;
use crate::kernel::vmlinux::Arch;
use crate::source::Memory;
use scxray_core::VirtAddr;
use std::path::PathBuf;

/// Symbols the walk needs, at runtime (KASLR-applied) addresses.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RuntimeSymbols {
    /// `runqueues` (a per-CPU symbol).
    pub runqueues: Option<u64>,
    /// `__per_cpu_offset`.
    pub per_cpu_offset: Option<u64>,
    /// `scx_root`.
    pub scx_root: Option<u64>,
    /// `scx_tasks`.
    pub scx_tasks: Option<u64>,
    /// `nr_threads`: sizes the `scx_tasks` walk's cap.
    pub nr_threads: Option<u64>,
    /// `nr_cpu_ids`.
    pub nr_cpu_ids: Option<u64>,
    /// `nr_node_ids`.
    pub nr_node_ids: Option<u64>,
    /// `scx_enable_state_var`.
    pub scx_enable_state_var: Option<u64>,
    /// `jiffies`.
    pub jiffies: Option<u64>,
    /// 6.12-6.15 (no `scx_root`): the scheduler globals.
    pub globals: Option<scxray_core::SchedGlobals>,
}

/// Symbols configuration and the walk look up, resolved in one pass over a big table.
const WANTED_SYMBOLS: &[&str] = &[
    "runqueues",
    "__per_cpu_offset",
    "scx_root",
    "scx_tasks",
    "nr_threads",
    "nr_cpu_ids",
    "nr_node_ids",
    "scx_enable_state_var",
    "scx_ops_enable_state_var",
    "jiffies",
    "jiffies_64",
    "page_offset_base",
    "_text",
    "_end",
    "__start_BTF",
    "__stop_BTF",
    "linux_banner",
    "__scx_enabled",
    "__scx_ops_enabled",
    "scx_switching_all",
    "__scx_switched_all",
    "scx_in_softlockup",
    "scx_breather_depth",
    "scx_ops_breather_depth",
    "scx_nr_rejected",
    "scx_enable_seq",
    "scx_watchdog_timestamp",
    "scx_watchdog_timeout",
    "scx_ops",
    "scx_exit_kind",
    "scx_exit_info",
    "scx_ops_bypass_depth",
    "scx_bypass_depth",
    "global_dsqs",
    "dsq_hash",
    "event_stats_cpu",
];

/// The symbol table: `preset` (the live host's), the vmlinux's, a System.map, else the
/// kernel's kallsyms tables read through a first translator that needs no symbols (the image
/// rule and the page walk). The wanted symbols are resolved in one pass.
pub(super) fn table(
    memory: &Memory,
    id: &Identity,
    inputs: &Inputs,
    preset: Option<(SymbolTable, PathBuf)>,
    setup: &mut Vec<SetupStep>,
) -> Result<SymbolTable, Error> {
    let file = |t: SymbolTable, path: PathBuf, setup: &mut Vec<SetupStep>| {
        setup.push(SetupStep::Symbols { count: t.len(), from: SymbolsFrom::File(path) });
        t
    };
    let table = match (&id.vmlinux, &inputs.system_map, preset) {
        (_, _, Some((t, from))) => file(t, from, setup),
        (Some(v), _, None) if !v.symbols.is_empty() => file(v.symbols.clone(), v.path.clone(), setup),
        (_, Some(p), None) => file(SymbolTable::read_system_map(p)?, p.clone(), setup),
        _ => {
            let translator = paging::without_symbols(memory, id)?;
            let Some(info) = id.vmcoreinfo.as_ref() else {
                return Err(Error::BadInput(
                    "no kernel symbols: the dump has no VMCOREINFO to find the kernel's kallsyms through; pass \
                     --vmlinux (with symbols, e.g. Debian's linux-image-*-dbg) or --system-map"
                        .into(),
                ));
            };
            let read = |va, buf: &mut [u8], field| read_virt(memory, &translator, va, buf, field);
            let share =
                |va: VirtAddr, len: usize| share_virt(memory, &translator, va.0, u64::try_from(len).ok()?);
            let t = crate::kernel::kallsyms::read_kallsyms_shared(info, &read, &share)?;
            setup.push(SetupStep::Symbols { count: t.len(), from: SymbolsFrom::KallsymsInMemory });
            t
        }
    };
    table.prefetch(WANTED_SYMBOLS);
    Ok(table)
}

/// The runtime addresses the walk needs.
pub(super) fn runtime_symbols(table: &SymbolTable, arch: Arch, kaslr_offset: u64) -> RuntimeSymbols {
    let runtime = |name: &str| runtime_address(table, arch, kaslr_offset, name);
    RuntimeSymbols {
        runqueues: runtime("runqueues"),
        per_cpu_offset: runtime("__per_cpu_offset"),
        scx_root: runtime("scx_root"),
        scx_tasks: runtime("scx_tasks"),
        nr_threads: runtime("nr_threads"),
        nr_cpu_ids: runtime("nr_cpu_ids"),
        nr_node_ids: runtime("nr_node_ids"),
        scx_enable_state_var: runtime("scx_enable_state_var").or_else(|| runtime("scx_ops_enable_state_var")),
        jiffies: runtime("jiffies").or_else(|| runtime("jiffies_64")),
        globals: None,
    }
}

/// A symbol's runtime address: kallsyms already are; link-time addresses move by the KASLR
/// offset, except x86_64's zero-based per-CPU symbols (below `__START_KERNEL_map`).
pub(super) fn runtime_address(table: &SymbolTable, arch: Arch, kaslr_offset: u64, name: &str) -> Option<u64> {
    let a = table.get(name)?;
    Some(match table.source {
        SymbolSource::Kallsyms => a,
        _ if arch == Arch::X86_64 && a < X86_START_KERNEL_MAP => a,
        _ => a.wrapping_add(kaslr_offset),
    })
}
