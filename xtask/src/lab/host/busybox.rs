//! The guest's only userspace program: a statically linked busybox (the guest has no libc).

use super::dirs::cache_dir;
use super::{apt, elf, system};
use std::fs;
use std::path::PathBuf;

/// A statically linked busybox for `arch` (`amd64`/`arm64`): the system's `/bin/busybox` on
/// amd64 when it is static (installing `busybox-static` if busybox is missing), otherwise
/// Debian's `busybox-static` for `arch` from the private apt environment (sid), unpacked into
/// `<cache>/busybox/<arch>`.
pub fn busybox_for(arch: &str) -> Result<PathBuf, String> {
    if arch == "amd64" && cfg!(target_arch = "x86_64") {
        system::ensure_host_tool("busybox", "busybox-static")?;
        if let Some(bb) = system::which("busybox")
            && fs::read(&bb).is_ok_and(|d| elf::has_interpreter(&d) == Some(false))
        {
            return Ok(bb);
        }
    }
    let dir = cache_dir().join("busybox").join(arch);
    let find = || ["usr/bin/busybox", "bin/busybox"].iter().map(|p| dir.join(p)).find(|p| p.is_file());
    if let Some(bb) = find() {
        return Ok(bb);
    }
    let deb = apt::fetch_from("busybox-static", arch, "sid")?;
    apt::extract(&deb, &dir)?;
    find().ok_or_else(|| format!("busybox-static for {arch} has no busybox binary"))
}
