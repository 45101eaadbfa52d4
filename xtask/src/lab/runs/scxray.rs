//! The scxray under test: the workspace's release binary, which every run checks.

use crate::util::{Step, cargo, workspace_root};
use std::path::PathBuf;

/// Builds the release `scxray` binary and returns its path.
pub fn build_scxray() -> Result<PathBuf, String> {
    Step::new("build scxray (release)").run(cargo(&["build", "--quiet", "--release", "-p", "scxray"]))?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    Ok(target.join("release").join("scxray"))
}
