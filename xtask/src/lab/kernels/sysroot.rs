//! The sysroot the arm64 example schedulers are linked against: trixie's arm64 C library,
//! zlib, zstd and trixie-backports' libelf (the scheduler build's recipe says why these),
//! unpacked into `<cache>/sysroots/arm64`.

use crate::lab::host::apt;
use crate::lab::host::dirs::cache_dir;
use std::fs;
use std::path::PathBuf;

/// The arm64 sysroot: (package, suite).
const ARM64_SYSROOT: &[(&str, &str)] = &[
    ("libc6-dev", "trixie"),
    ("libc6", "trixie"),
    ("linux-libc-dev", "trixie"),
    ("zlib1g-dev", "trixie"),
    ("zlib1g", "trixie"),
    ("libzstd-dev", "trixie"),
    ("libzstd1", "trixie"),
    ("libelf-dev", "trixie-backports"),
    ("libelf1t64", "trixie-backports"),
];

/// The arm64 sysroot's packages, newest of each suite.
pub fn sysroot_packages() -> Result<Vec<apt::PackageInfo>, String> {
    ARM64_SYSROOT
        .iter()
        .map(|(name, suite)| {
            apt::newest(name, "arm64", Some(suite))?.ok_or_else(|| format!("no {name} for arm64 in {suite}"))
        })
        .collect()
}

/// Unpacks the arm64 sysroot into `<cache>/sysroots/arm64` (reused while its packages match).
pub fn ensure_sysroot(pkgs: &[apt::PackageInfo]) -> Result<PathBuf, String> {
    let dir = cache_dir().join("sysroots").join("arm64");
    let key: String = pkgs.iter().map(|p| format!("{} {} {}\n", p.name, p.version, p.suite)).collect();
    let stamp = dir.join(".packages");
    if fs::read_to_string(&stamp).is_ok_and(|s| s == key) {
        return Ok(dir);
    }
    eprintln!("xtask: ==> arm64 sysroot in {}", dir.display());
    let _ = fs::remove_dir_all(&dir);
    for p in pkgs {
        apt::extract(&apt::fetch_info(p)?, &dir)?;
    }
    // libc.so's linker script names /lib/aarch64-linux-gnu/...: merged-/usr layout.
    if !dir.join("lib").exists() {
        std::os::unix::fs::symlink("usr/lib", dir.join("lib")).map_err(|e| format!("symlink lib: {e}"))?;
    }
    fs::write(&stamp, key).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    Ok(dir)
}
