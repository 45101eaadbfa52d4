//! Debian's `linux-source-<series>` packages unpacked: the kernel tree as a tarball inside the
//! .deb, taken out whole (a kernel build) or in parts (the tools a scheduler build needs).

use super::apt;
use crate::util::Step;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Unpacks `parts` of `linux-source-<series>`'s tarball (all of it when empty) into
/// `base/linux-source-<series>` and returns that tree. Reused while `base/.complete` holds
/// `stamp` and the tree has `marker`; otherwise `base` is made anew.
pub fn unpack_linux_source(
    p: &apt::PackageInfo,
    series: &str,
    base: &Path,
    parts: &[&str],
    stamp: &str,
    marker: &str,
) -> Result<PathBuf, String> {
    let top = format!("linux-source-{series}");
    let tree = base.join(&top);
    let done = base.join(".complete");
    if fs::read_to_string(&done).is_ok_and(|s| s == stamp) && tree.join(marker).is_file() {
        return Ok(tree);
    }
    let _ = fs::remove_dir_all(base);
    let deb = apt::fetch_info(p)?;
    let unpacked = base.join("deb");
    apt::extract(&deb, &unpacked)?;
    let tarball = unpacked.join(format!("usr/src/{top}.tar.xz"));
    if !tarball.is_file() {
        return Err(format!("{} has no {}", p.name, tarball.display()));
    }
    let mut tar = Command::new("tar");
    tar.current_dir(base).arg("-xJf").arg(&tarball);
    for part in parts {
        tar.arg(format!("{top}/{part}"));
    }
    let what = if parts.is_empty() { String::new() } else { "tools/ and headers of ".into() };
    Step::new(&format!("unpack {what}{} {}", p.name, p.version)).run(tar)?;
    let _ = fs::remove_dir_all(&unpacked);
    fs::write(&done, stamp).map_err(|e| format!("write {}: {e}", done.display()))?;
    Ok(tree)
}
