//! The first step: what the user handed in, and what the dump says about itself before any
//! symbol is known (VMCOREINFO, architecture, release, KASLR offset).

use super::setup::{BtfFrom, SetupStep, VmcoreinfoFrom};
use crate::error::Error;
use crate::kernel::vmlinux::Arch;
use crate::kernel::{SymbolTable, Vmlinux};
use crate::source::Memory;
use crate::source::vmcoreinfo::{VmcoreInfo, find_vmcoreinfo};
use object::elf;
use std::path::PathBuf;

/// What the user handed in.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The memory: ELF core or raw image.
    pub memory: PathBuf,
    /// A vmlinux ELF (symbols, `.BTF`, release).
    pub vmlinux: Option<PathBuf>,
    /// A raw BTF file (e.g. a copy of /sys/kernel/btf/vmlinux).
    pub btf: Option<PathBuf>,
    /// A System.map.
    pub system_map: Option<PathBuf>,
    /// Physical address of a raw image's first byte.
    pub raw_base: u64,
}

/// Facts read before configuration, each with where it came from (the live host's
/// /proc/kallsyms and /sys/kernel/btf/vmlinux).
#[derive(Debug, Default)]
pub struct Preset {
    /// The symbol table and its file.
    pub symbols: Option<(SymbolTable, PathBuf)>,
    /// Raw BTF.
    pub btf: Option<(Vec<u8>, BtfFrom)>,
}

/// What the dump (and the vmlinux, when given) say about the kernel.
#[derive(Debug)]
pub(super) struct Identity {
    /// VMCOREINFO, when found.
    pub vmcoreinfo: Option<VmcoreInfo>,
    /// The vmlinux, when given.
    pub vmlinux: Option<Vmlinux>,
    /// Guest architecture.
    pub arch: Arch,
    /// Kernel release (VMCOREINFO's OSRELEASE, else the vmlinux banner).
    pub release: Option<String>,
    /// KASLR displacement of the kernel image.
    pub kaslr_offset: u64,
}

/// Reads VMCOREINFO and the vmlinux, and decides architecture, release and KASLR offset;
/// a vmlinux of another machine or release than the dump's is refused.
pub(super) fn identify(
    memory: &Memory,
    inputs: &Inputs,
    setup: &mut Vec<SetupStep>,
) -> Result<Identity, Error> {
    // VMCOREINFO: the core's note, else its text found in memory.
    let (vmcoreinfo, from) = match memory.vmcoreinfo_note() {
        Some(text) => (Some(VmcoreInfo::parse(text)), VmcoreinfoFrom::Note),
        None => match scan_vmcoreinfo(memory) {
            Some((pa, info)) => (Some(info), VmcoreinfoFrom::Memory(pa)),
            None => (None, VmcoreinfoFrom::Nowhere),
        },
    };
    setup.push(SetupStep::Vmcoreinfo(from));
    let vmlinux = inputs.vmlinux.as_deref().map(Vmlinux::read).transpose()?;

    let core_arch = match memory.machine().filter(|&m| m != 0) {
        Some(elf::EM_X86_64) => Some(Arch::X86_64),
        Some(elf::EM_AARCH64) => Some(Arch::Aarch64),
        Some(other) => {
            return Err(Error::Unsupported(format!("ELF machine {other}: not x86_64 or aarch64")));
        }
        None => None,
    };
    let arch = if let Some(v) = &vmlinux {
        if let Some(c) = core_arch.filter(|&c| c != v.machine) {
            return Err(Error::BadInput(format!(
                "{} is an {} kernel, but the dump is of an {c} machine: pass the vmlinux of the dumped kernel",
                v.path.display(),
                v.machine
            )));
        }
        v.machine
    } else if let Some(c) = core_arch {
        c
    } else if vmcoreinfo.as_ref().is_some_and(|v| v.number("kimage_voffset").is_some()) {
        Arch::Aarch64
    } else {
        Arch::X86_64
    };
    setup.push(SetupStep::Architecture(arch));

    let release = vmcoreinfo.as_ref().and_then(|v| v.osrelease().map(str::to_owned));
    if let (Some(dump), Some(v)) = (&release, &vmlinux)
        && let Some(vr) = &v.release
        && vr != dump
    {
        return Err(Error::BadInput(format!(
            "{} is the kernel {vr}, but the dump is of {dump}: pass the vmlinux (or BTF) of the dumped kernel",
            v.path.display()
        )));
    }
    let release = release.or_else(|| vmlinux.as_ref().and_then(|v| v.release.clone()));

    let kaslr_offset = vmcoreinfo.as_ref().and_then(VmcoreInfo::kernel_offset).unwrap_or(0);
    setup.push(SetupStep::KaslrOffset(kaslr_offset));
    Ok(Identity { vmcoreinfo, vmlinux, arch, release, kaslr_offset })
}

/// The vmcoreinfo text found in memory: the page that starts with `OSRELEASE=`.
fn scan_vmcoreinfo(mem: &Memory) -> Option<(u64, VmcoreInfo)> {
    find_vmcoreinfo(mem, &mem.scan(b"OSRELEASE=", 64)).map(|(pa, _, info)| (pa, info))
}
