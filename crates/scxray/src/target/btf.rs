//! The BTF and layout step: the kernel's BTF (`--btf`, the vmlinux's `.BTF`, else the kernel
//! image in memory), the walkers' `Layout` resolved from it, and on 6.12-6.15 the scheduler
//! globals whose "disabled" value only BTF knows.

use super::inputs::{Identity, Inputs};
use super::read::{read_virt, share_virt};
use super::setup::{BtfFrom, SetupStep};
use crate::error::Error;
use crate::kernel::btf::{BtfBytes, KernelBtf, KernelTypes};
use crate::kernel::symbols::SymbolLookup;
use crate::source::Memory;
use scxray_core::{Field, Layout, SchedGlobals, VirtAddr};
use scxray_wire::Translator;

/// The kernel's BTF and the layout resolved from it.
pub(super) struct Types {
    pub btf: KernelBtf,
    pub layout: Layout,
}

/// Reads the BTF from the first place that has it and resolves the layout.
pub(super) fn load(
    preset: Option<(Vec<u8>, BtfFrom)>,
    inputs: &Inputs,
    id: &Identity,
    memory: &Memory,
    translator: &Translator,
    runtime: &SymbolLookup<'_>,
    setup: &mut Vec<SetupStep>,
) -> Result<Types, Error> {
    let (bytes, from): (BtfBytes, _) = if let Some((b, from)) = preset {
        (b.into(), from)
    } else if let Some(p) = &inputs.btf {
        (std::fs::read(p).map_err(|e| Error::io(p, e))?.into(), BtfFrom::File(p.clone()))
    } else if let Some(b) = id.vmlinux.as_ref().and_then(|v| v.btf.clone()) {
        (b.into(), BtfFrom::VmlinuxSection)
    } else {
        let (Some(start), Some(stop)) = (runtime("__start_BTF"), runtime("__stop_BTF")) else {
            return Err(Error::BadInput("no BTF: pass --btf or a --vmlinux with a .BTF section".into()));
        };
        let len = stop.checked_sub(start).filter(|&l| l > 0 && l < 256 << 20).ok_or_else(|| {
            Error::BadInput(format!("__start_BTF {start:#x} / __stop_BTF {stop:#x}: not a plausible range"))
        })?;
        // Where the kernel image is physically contiguous (it is), a mapped dump's own
        // bytes are shared, not copied.
        let shared = share_virt(memory, translator, start, len);
        let bytes = match shared {
            Some(shared) => BtfBytes::Shared(shared),
            None => {
                let mut b = vec![0u8; len as usize];
                read_virt(memory, translator, VirtAddr(start), &mut b, Field::KernelBtf).map_err(|e| {
                    Error::BadInput(format!("reading the kernel's BTF from memory: {}", e.cause))
                })?;
                BtfBytes::Owned(b)
            }
        };
        (bytes, BtfFrom::KernelImage { len })
    };
    setup.push(SetupStep::Btf(from));
    let btf = KernelBtf::new(bytes).map_err(|e| Error::BadInput(format!("BTF: {e}")))?;
    let layout = layout_of(btf.parsed().as_ref())?;
    Ok(Types { btf, layout })
}

/// Checks that `btf` is valid and has sched_ext, before anything else is read (the live
/// host's BTF: a kernel without sched_ext is told so without root).
pub(super) fn check(btf: &[u8]) -> Result<(), Error> {
    let parsed = scxray_btf::Btf::parse(btf).map_err(|e| Error::BadInput(format!("BTF: {e}")))?;
    layout_of(Some(&parsed)).map(drop)
}

fn layout_of(parsed: Option<&scxray_btf::Btf<'_>>) -> Result<Layout, Error> {
    let parsed = parsed.ok_or_else(|| Error::Internal("BTF: its index does not fit its own bytes".into()))?;
    scxray_btf::resolve_layout(parsed).map_err(|e| match e {
        scxray_btf::ResolveError::NoSchedExt => Error::Unsupported(
            "this kernel was built without sched_ext (CONFIG_SCHED_CLASS_EXT is not set): there is no \
             sched_ext state to read"
                .into(),
        ),
        other => Error::BadInput(format!("BTF layout: {other}")),
    })
}

/// A 6.12-6.15 kernel's scheduler globals, when it has `scx_ops` and an enable state whose
/// "disabled" value its BTF names (6.12-6.14: `scx_ops_enable_state_var`, `SCX_OPS_DISABLED`;
/// 6.15: `scx_enable_state_var`, `SCX_DISABLED`).
pub(super) fn sched_globals(types: &KernelTypes<'_>, runtime: &SymbolLookup<'_>) -> Option<SchedGlobals> {
    let ops = runtime("scx_ops")?;
    let enable_state = runtime("scx_ops_enable_state_var").or_else(|| runtime("scx_enable_state_var"))?;
    let disabled = [("scx_ops_enable_state", "SCX_OPS_DISABLED"), ("scx_enable_state", "SCX_DISABLED")]
        .into_iter()
        .find_map(|(e, c)| types.enum_value(e, c))?;
    Some(SchedGlobals {
        ops: VirtAddr(ops),
        enable_state: VirtAddr(enable_state),
        disabled: u32::try_from(disabled).ok()?,
        exit_kind: runtime("scx_exit_kind").map(VirtAddr),
        bypass_depth: runtime("scx_ops_bypass_depth").or_else(|| runtime("scx_bypass_depth")).map(VirtAddr),
        global_dsqs: runtime("global_dsqs").map(VirtAddr),
        dsq_hash: runtime("dsq_hash").map(VirtAddr),
    })
}
