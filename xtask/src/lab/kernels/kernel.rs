//! A kernel of the lab in the cache, `<cache>/kernels/<release>/`, whether Debian's
//! ([`super::debian`]) or built here ([`super::selfbuilt`]); both leave the same files:
//!
//! - `vmlinuz`: what QEMU's `-kernel` boots (x86 bzImage; arm64 raw `Image`);
//! - `vmlinux` (x86): the ELF vmlinux (Debian's: decompressed from the bzImage, no symbols but
//!   `.BTF`; self-built: with symbols and DWARF);
//! - `vmlinux.btf`: the kernel's BTF;
//! - `config`: the kernel config (`CONFIG_SCHED_CLASS_EXT`);
//! - `System.map` only when real;
//! - `modules/*.ko` and `modules/load-order`: the guest's modules, in load order;
//! - `kernel.txt`: the manifest, whose first line is the cache key, then `release`, `package`
//!   and `note` lines.

use super::spec::KernelSpec;
use crate::lab::host::boot_kernel::BootKernel;
use crate::lab::host::dirs::cache_dir;
use std::fs;
use std::path::{Path, PathBuf};

/// A kernel unpacked (or built) in the cache.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub spec: KernelSpec,
    /// `uname -r`, e.g. `7.3.4+deb13-cloud-amd64`.
    pub release: String,
    /// The Debian version of the kernel packages, e.g. `7.3.4-1~bpo13+1`.
    pub version: String,
    /// `<cache>/kernels/<release>`.
    pub dir: PathBuf,
    /// What QEMU boots (x86 bzImage; arm64 raw `Image`).
    pub vmlinuz: PathBuf,
    pub btf: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// Only when the package's System.map is real.
    pub system_map: Option<PathBuf>,
    /// Decompressed modules for the guest, in load order (dependencies first).
    pub modules: Vec<PathBuf>,
    /// Whether the config has `CONFIG_SCHED_CLASS_EXT=y` (`None`: no config).
    pub sched_ext: Option<bool>,
    /// What is missing or odd about this kernel.
    pub notes: Vec<String>,
}

impl Kernel {
    /// What the host's tools need to boot it.
    pub fn boot_kernel(&self) -> BootKernel<'_> {
        BootKernel {
            name: self.spec.name,
            arch: self.spec.arch,
            release: &self.release,
            version: &self.version,
            image: &self.vmlinuz,
            config: self.config.as_deref(),
            modules: &self.modules,
        }
    }
}

/// `<cache>/kernels`.
pub fn kernels_dir() -> PathBuf {
    cache_dir().join("kernels")
}

/// A [`Kernel`] from the files present in `dir` and its manifest.
pub fn describe(spec: &KernelSpec, release: &str, version: &str, dir: &Path, manifest: &str) -> Kernel {
    let opt = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let config = opt("config");
    let btf = opt("vmlinux.btf");
    let system_map = opt("System.map");
    let mut notes: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("note "))
        .filter(|n| system_map.is_none() || !n.contains("placeholder"))
        .map(str::to_owned)
        .collect();
    let sched_ext = match &config {
        Some(c) => Some(
            fs::read_to_string(c).is_ok_and(|t| t.lines().any(|l| l.trim() == "CONFIG_SCHED_CLASS_EXT=y")),
        ),
        // Without a config, the BTF tells: sched_ext kernels have `struct sched_ext_ops`.
        None => btf.as_ref().and_then(|b| fs::read(b).ok()).map(|data| {
            notes.push("sched_ext judged from the BTF (no config)".into());
            data.windows(15).any(|w| w == b"\0sched_ext_ops\0")
        }),
    };
    let modules = fs::read_to_string(dir.join("modules/load-order"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|m| dir.join("modules").join(format!("{m}.ko")))
        .collect();
    Kernel {
        spec: *spec,
        release: release.to_owned(),
        version: version.to_owned(),
        dir: dir.to_owned(),
        vmlinuz: dir.join("vmlinuz"),
        btf,
        config,
        system_map,
        modules,
        sched_ext,
        notes,
    }
}
