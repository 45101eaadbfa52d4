//! Where the lab keeps its files. Two places, because several lab runs may go at once (one per
//! worktree):
//!
//! - the cache ([`cache_dir`]), shared by every run: downloads, unpacked kernels and sources,
//!   clang, busybox, sysroots, built schedulers and kernels. What is there is keyed by its
//!   inputs, so two runs want the same files;
//! - the run directory ([`dumps_dir`], `$SCXRAY_DUMPS`), one per run: the dumps, truth files,
//!   serial and QEMU logs, and the run's scratch files ([`scratch_dir`]: initramfs archives,
//!   the soak's and the stall hunt's RAM files, the BTF check's links), which are made for one
//!   run and would clobber another run's.

use std::path::PathBuf;

/// The lab's cache directory: `$SCXRAY_CACHE`, else `$HOME/.cache/scxray` (outside git).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SCXRAY_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache").join("scxray")
}

/// The run directory: `$SCXRAY_DUMPS`, else `<cache>/dumps`.
pub fn dumps_dir() -> PathBuf {
    match std::env::var_os("SCXRAY_DUMPS").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => cache_dir().join("dumps"),
    }
}

/// The run's scratch files of one kind: `<run directory>/<kind>` (not created here).
pub fn scratch_dir(kind: &str) -> PathBuf {
    dumps_dir().join(kind)
}
