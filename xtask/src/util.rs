//! Small helpers shared by the xtask commands: running steps, finding the workspace.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map_or(here.clone(), std::path::Path::to_path_buf)
}

/// `cargo <args>` run from the workspace root, with the same cargo that runs xtask.
pub fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(args).current_dir(workspace_root());
    // The xtask's runs build whole suites once (CI: from a clean clone); incremental state
    // would only add ~0.8 GB to the target dir. An explicit CARGO_INCREMENTAL wins.
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        c.env("CARGO_INCREMENTAL", "0");
    }
    c
}

/// A named step: prints what runs, how long it took, and fails with the step's name.
pub struct Step {
    name: String,
}

impl Step {
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned() }
    }

    pub fn run(&self, mut cmd: Command) -> Result<(), String> {
        eprintln!("xtask: ==> {}", self.name);
        let start = Instant::now();
        let status = cmd.status().map_err(|e| format!("{}: cannot start {:?}: {e}", self.name, cmd))?;
        let secs = start.elapsed().as_secs_f64();
        if status.success() {
            eprintln!("xtask: <== {} ok ({secs:.1} s)", self.name);
            Ok(())
        } else {
            Err(format!("{} failed ({status}) after {secs:.1} s", self.name))
        }
    }
}

/// Adds the rustup targets that are missing: RUSTUP_AUTO_INSTALL may be off, and a fresh
/// machine has only the host target.
pub fn ensure_rust_targets(targets: &[&str]) -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> =
        targets.iter().copied().filter(|t| !installed.lines().any(|l| l.trim() == *t)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut c = Command::new("rustup");
    c.args(["target", "add"]).args(&missing).current_dir(workspace_root());
    Step::new(&format!("rustup target add {}", missing.join(" "))).run(c)
}
