//! What the host's tools need of a kernel to boot it: the image QEMU loads, the files the
//! initramfs carries, and its names for the logs. The kernels layer hands one out for each of
//! its kernels (`Kernel::boot_kernel`); the tools never see how the kernel was obtained.

use std::path::{Path, PathBuf};

/// A kernel ready to boot (borrowed from its owner).
#[derive(Debug, Clone, Copy)]
pub struct BootKernel<'a> {
    /// The lab's name of the kernel (`7.3-amd64`).
    pub name: &'a str,
    /// Debian architecture: `amd64` or `arm64`.
    pub arch: &'a str,
    /// `uname -r`.
    pub release: &'a str,
    /// Its package version (for the truth file's header).
    pub version: &'a str,
    /// What QEMU's `-kernel` boots (x86 bzImage; arm64 raw `Image`).
    pub image: &'a Path,
    /// The kernel config, for the guest's `/boot/config-<release>` (libbpf reads Kconfig
    /// externs from it).
    pub config: Option<&'a Path>,
    /// Modules for the guest init to load, in load order (dependencies first).
    pub modules: &'a [PathBuf],
}

impl BootKernel<'_> {
    /// Whether it is an arm64 kernel (else x86-64).
    pub fn is_arm64(&self) -> bool {
        self.arch == "arm64"
    }
}
