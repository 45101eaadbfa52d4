//! What the benches on real lab dumps share: where the dumps are. Dumps live in
//! `~/.cache/scxray/dumps` (`$SCXRAY_CACHE/dumps`), made by `cargo xtask lab`; a run of one's
//! own may leave them in `$SCXRAY_DUMPS`. A bench whose dump is not there says so and skips it.

use std::path::PathBuf;

/// The lab cache's dump directory.
pub fn dumps_dir() -> PathBuf {
    match std::env::var_os("SCXRAY_CACHE") {
        Some(c) => PathBuf::from(c).join("dumps"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/scxray/dumps"),
    }
}

/// The first of `names` in the lab's dump directories (the cache's, then `$SCXRAY_DUMPS`),
/// with its name.
pub fn find(names: &[&str]) -> Option<(String, PathBuf)> {
    let dirs = [Some(dumps_dir()), std::env::var_os("SCXRAY_DUMPS").map(PathBuf::from)];
    names.iter().find_map(|n| {
        dirs.iter().flatten().map(|d| d.join(n)).find(|p| p.exists()).map(|p| (n.to_string(), p))
    })
}
