//! The translators step: the guest's page tables and linear rules, one builder per
//! architecture. Each runs twice: first without symbols (enough to read the kernel's kallsyms
//! from memory), then with them (x86's direct map base, arm64's kernel image range).

mod aarch64;
mod x86_64;

use super::inputs::Identity;
use super::setup::{Paging, SetupStep};
use crate::error::Error;
use crate::kernel::symbols::SymbolLookup;
use crate::kernel::vmlinux::Arch;
use crate::source::Memory;
use scxray_wire::Translator;

pub(super) use x86_64::START_KERNEL_MAP as X86_START_KERNEL_MAP;

/// The translator and paging mode of `id`'s architecture, with symbols from `runtime`; the
/// steps it took are appended to `setup`.
pub(super) fn translator(
    memory: &Memory,
    id: &Identity,
    runtime: &SymbolLookup<'_>,
    setup: &mut Vec<SetupStep>,
) -> Result<(Translator, Paging), Error> {
    let info = id.vmcoreinfo.as_ref();
    let (t, paging) = match id.arch {
        Arch::X86_64 => x86_64::translator(memory, info, runtime, setup)?,
        Arch::Aarch64 => aarch64::translator(info, runtime, setup)?,
    };
    setup.push(SetupStep::Paging(paging));
    Ok((t, paging))
}

/// The translator before any symbol is known (its steps are not recorded: the one with
/// symbols repeats them).
pub(super) fn without_symbols(memory: &Memory, id: &Identity) -> Result<Translator, Error> {
    let no_symbols = |_: &str| None;
    let info = id.vmcoreinfo.as_ref();
    let (t, _) = match id.arch {
        Arch::X86_64 => x86_64::translator(memory, info, &no_symbols, &mut Vec::new())?,
        Arch::Aarch64 => aarch64::translator(info, &no_symbols, &mut Vec::new())?,
    };
    Ok(t)
}
