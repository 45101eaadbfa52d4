//! The running Linux host as the guest: `scxray dump` / `info` / `read` with no MEMORY.
//! Memory from `/proc/kcore`, BTF from `/sys/kernel/btf/vmlinux`, symbols from
//! `/proc/kallsyms` (runtime addresses, KASLR applied), each overridable by `--btf` and
//! `--system-map`. The BTF is read first: a kernel without sched_ext is told so (exit 3)
//! without root; reading memory needs root.

use super::setup::BtfFrom;
use super::{Inputs, Preset, Target};
use crate::error::Error;
use crate::kernel::SymbolTable;
use crate::kernel::symbols::SymbolSource;
use crate::source::{Kcore, Memory};
use std::path::{Path, PathBuf};

/// Where the host's files are.
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// `/proc/kcore`.
    pub kcore: PathBuf,
    /// `/sys/kernel/btf/vmlinux`.
    pub btf: PathBuf,
    /// `/proc/kallsyms`.
    pub kallsyms: PathBuf,
    /// `/proc/sys/kernel/kptr_restrict`.
    pub kptr_restrict: PathBuf,
}

impl Default for HostPaths {
    fn default() -> Self {
        Self {
            kcore: "/proc/kcore".into(),
            btf: "/sys/kernel/btf/vmlinux".into(),
            kallsyms: "/proc/kallsyms".into(),
            kptr_restrict: "/proc/sys/kernel/kptr_restrict".into(),
        }
    }
}

/// Configures the running host (the default paths).
pub fn configure(inputs: &Inputs) -> Result<Target, Error> {
    configure_from(&HostPaths::default(), inputs)
}

/// Configures a live kernel from `paths` (tests point them at synthetic files).
pub fn configure_from(paths: &HostPaths, inputs: &Inputs) -> Result<Target, Error> {
    // BTF first: whether there is anything to read at all.
    let (btf_path, btf_from) = match &inputs.btf {
        Some(p) => (p.clone(), BtfFrom::File(p.clone())),
        None => (paths.btf.clone(), BtfFrom::RunningKernel(paths.btf.clone())),
    };
    let btf = std::fs::read(&btf_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound && inputs.btf.is_none() {
            Error::BadInput(format!(
                "{}: not found: the running kernel exposes no BTF (CONFIG_DEBUG_INFO_BTF is off); pass --btf",
                btf_path.display()
            ))
        } else {
            Error::io(&btf_path, e)
        }
    })?;
    super::btf::check(&btf)?;

    let kcore = Kcore::open(&paths.kcore)?;
    // --system-map, when given, is read by configuration as link-time addresses.
    let preset_symbols = match &inputs.system_map {
        Some(_) => None,
        None => Some((read_kallsyms(&paths.kallsyms, &paths.kptr_restrict)?, paths.kallsyms.clone())),
    };
    let memory = Memory::Live(kcore);
    let preset = Preset { symbols: preset_symbols, btf: Some((btf, btf_from)) };
    Target::configure_with(memory, inputs, preset)
}

/// Reads `/proc/kallsyms`; refuses the zeroed addresses an unprivileged reader (or
/// `kptr_restrict` = 2) sees.
fn read_kallsyms(path: &Path, kptr_restrict: &Path) -> Result<SymbolTable, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let t = SymbolTable::parse_map(&text, SymbolSource::Kallsyms);
    let real = text
        .lines()
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
        .any(|a| a != 0);
    if !real {
        let restrict =
            std::fs::read_to_string(kptr_restrict).map(|s| s.trim().to_owned()).unwrap_or_default();
        return Err(Error::BadInput(format!(
            "{}: every address reads 0: kernel addresses are hidden from this user (kernel.kptr_restrict = {}); \
             run as root{}",
            path.display(),
            if restrict.is_empty() { "?" } else { &restrict },
            if restrict == "2" { ", with kernel.kptr_restrict set to 0 or 1" } else { "" }
        )));
    }
    if t.len() < 100 {
        return Err(Error::BadInput(format!("{}: only {} symbols", path.display(), t.len())));
    }
    Ok(t)
}
