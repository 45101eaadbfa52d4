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

/// Free bytes on the filesystem holding `path` (`df -Pk`; None when df cannot say).
pub fn free_bytes(path: &std::path::Path) -> Option<u64> {
    let out = Command::new("df").arg("-Pk").arg(path).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let kib: u64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

/// Below this much free disk, test-all removes each step's build directories once the step
/// has passed (a clean run's builds peak at ~3.1 GB; the lab's dumps need ~1.5 GB more).
pub const LOW_DISK: u64 = 8 << 30;

/// Removes `dirs` when the disk is low, saying so; a developer's machine with room keeps
/// them for the next run.
pub fn prune_when_disk_low(dirs: &[PathBuf]) {
    prune_below(dirs, LOW_DISK);
}

fn prune_below(dirs: &[PathBuf], low: u64) {
    let Some(free) = free_bytes(&workspace_root()) else { return };
    if free >= low {
        return;
    }
    for d in dirs.iter().filter(|d| d.exists()) {
        eprintln!(
            "xtask: {:.1} GiB free (< {} GiB): removing {} (built and used by the step that passed)",
            free as f64 / f64::from(1u32 << 30),
            low >> 30,
            d.display()
        );
        if let Err(e) = std::fs::remove_dir_all(d) {
            eprintln!("xtask: cannot remove {}: {e}", d.display());
        }
    }
}

/// The number after `--seconds` in `args`, `default` without one: the lab's live runs (soak,
/// watch) take how long to run this way.
pub fn seconds_arg(args: &[String], default: u64) -> Result<u64, String> {
    args.iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(default), |v| v.parse().map_err(|_| format!("--seconds {v}: not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_reports_the_workspace_disk() {
        let free = free_bytes(&workspace_root()).expect("df -Pk on the workspace");
        assert!(free > 0);
    }

    #[test]
    fn build_dirs_are_removed_only_when_the_disk_is_low() {
        let dir = std::env::temp_dir().join(format!("xtask-prune-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("deps")).unwrap();
        prune_below(std::slice::from_ref(&dir), 0);
        assert!(dir.exists(), "room on the disk: kept");
        prune_below(std::slice::from_ref(&dir), u64::MAX);
        assert!(!dir.exists(), "low disk: removed");
    }
}
