//! The lab's own programs for the guest, written in C (`xtask/guest/*.c`: a many-task
//! workload, a fast task listing) and compiled on the host, statically linked (the guest has
//! no libc): with the host's gcc for amd64, its `aarch64-linux-gnu-gcc` for arm64. Each is
//! cached as `<cache>/guest-programs/<arch>/<name>`, with what it was built from (compiler,
//! flags, source) in `<name>.built`: a changed source or compiler builds it again.

use super::dirs::cache_dir;
use super::elf;
use super::system::{ensure_host_packages, tool_version};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// Warnings are errors: the programs are small, and a warning in them is a bug in the lab.
const FLAGS: &[&str] = &["-static", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror"];

/// A C program of the lab's guests.
#[derive(Debug, Clone, Copy)]
pub struct GuestProgram {
    /// Its file name in the cache and in the guest's `/bin`.
    pub name: &'static str,
    /// Its C source (the file under `xtask/guest/`, built into xtask).
    pub source: &'static str,
}

impl GuestProgram {
    /// Where it is for `arch` once built.
    pub fn path(&self, arch: &str) -> PathBuf {
        cache_dir().join("guest-programs").join(arch).join(self.name)
    }

    /// Builds it for `arch` (`amd64`, `arm64`) unless it is built from the same source with
    /// the same compiler already; its path.
    pub fn build(&self, arch: &str) -> Result<PathBuf, String> {
        let (cc, packages): (&str, &[(&str, &str)]) = match arch {
            "amd64" => ("gcc", &[("gcc", "/usr/bin/gcc"), ("libc6-dev", "/usr/lib/x86_64-linux-gnu/libc.a")]),
            "arm64" => (
                "aarch64-linux-gnu-gcc",
                &[
                    ("gcc-aarch64-linux-gnu", "/usr/bin/aarch64-linux-gnu-gcc"),
                    ("libc6-dev-arm64-cross", "/usr/aarch64-linux-gnu/lib/libc.a"),
                ],
            ),
            other => return Err(format!("{}: no C compiler for {other}", self.name)),
        };
        ensure_host_packages(packages)?;
        let out = self.path(arch);
        let dir = out.parent().ok_or("guest program path has no parent")?;
        let key = format!("{} {}\n{}\n{}", cc, tool_version(cc), FLAGS.join(" "), self.source);
        let stamp = dir.join(format!("{}.built", self.name));
        if out.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s == key) {
            return Ok(out);
        }
        fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        // Two lab runs may build at once: each in its own files, renamed into place.
        let tmp = dir.join(format!("{}.{}", self.name, std::process::id()));
        let src = tmp.with_extension("c");
        fs::write(&src, self.source).map_err(|e| format!("write {}: {e}", src.display()))?;
        let res = Command::new(cc).args(FLAGS).arg("-o").arg(&tmp).arg(&src).output();
        let _ = fs::remove_file(&src);
        let o = res.map_err(|e| format!("cannot run {cc}: {e}"))?;
        if !o.status.success() {
            let _ = fs::remove_file(&tmp);
            return Err(format!(
                "{cc} {}.c for {arch}: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        let data = fs::read(&tmp).map_err(|e| format!("read {}: {e}", tmp.display()))?;
        if elf::has_interpreter(&data) != Some(false) {
            let _ = fs::remove_file(&tmp);
            return Err(format!("{} for {arch} is not a static ELF program", self.name));
        }
        fs::rename(&tmp, &out).map_err(|e| format!("rename to {}: {e}", out.display()))?;
        fs::write(&stamp, key).map_err(|e| format!("write {}: {e}", stamp.display()))?;
        eprintln!("xtask: built {} for {arch} ({} bytes)", out.display(), data.len());
        Ok(out)
    }
}
