//! `scxray diff` on two dumps of one guest, and what it names stuck.

use super::check::Verdict;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// What `scxray diff` ran to: its exit code and its JSON report (`Null` when it printed none).
#[derive(Debug)]
pub struct Diff {
    pub code: Option<i32>,
    pub json: Value,
    pub stderr: String,
}

impl Diff {
    /// Runs `scxray diff A B --format json`.
    pub fn run(scxray: &Path, a: &Path, b: &Path) -> Result<Diff, String> {
        let out = Command::new(scxray)
            .arg("diff")
            .arg(a)
            .arg(b)
            .args(["--format", "json"])
            .output()
            .map_err(|e| format!("scxray diff: {e}"))?;
        Ok(Diff {
            code: out.status.code(),
            json: serde_json::from_slice(&out.stdout).unwrap_or_default(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    /// Whether both dumps show the same scheduler instance.
    pub fn same_scheduler(&self) -> bool {
        self.json["same_scheduler"] == true
    }

    /// What the report names stuck.
    pub fn stuck(&self) -> Stuck {
        let len = |v: &Value| v.as_array().map_or(0, Vec::len);
        Stuck {
            starving: len(&self.json["starving"]),
            stalled_cpus: len(&self.json["stalled_cpus"]),
            dead_dsqs: self.json["dsqs"]
                .as_array()
                .map_or(0, |d| d.iter().filter(|x| x["trend"] == "dead").count()),
        }
    }
}

/// What a diff names stuck.
#[derive(Debug, Clone, Copy)]
pub struct Stuck {
    /// Tasks that waited through both dumps.
    pub starving: usize,
    /// CPUs that ran the same task through both.
    pub stalled_cpus: usize,
    /// DSQs whose tasks did not move.
    pub dead_dsqs: usize,
}

impl Stuck {
    /// How many stuck items in all.
    pub fn total(&self) -> usize {
        self.starving + self.stalled_cpus + self.dead_dsqs
    }
}

/// `scxray diff` on the two dumps of one guest: a stalled scheduler must be named stuck (exit
/// 4) with what is stuck; a healthy one must not (exit 0).
pub fn check_diff(scxray: &Path, a: &Path, b: &Path, want_stuck: bool, v: &mut Verdict) {
    let Ok(d) = Diff::run(scxray, a, b) else {
        v.failures.push("cannot run scxray diff".into());
        return;
    };
    let want = if want_stuck { 4 } else { 0 };
    let named = d.stuck().total();
    if d.code == Some(want) && (named > 0) == want_stuck && d.same_scheduler() {
        v.passed += 1;
    } else {
        v.failures.push(format!(
            "scxray diff: exit {:?} (want {want}), {named} stuck items named, same_scheduler {}: {}",
            d.code, d.json["same_scheduler"], d.stderr
        ));
    }
}
