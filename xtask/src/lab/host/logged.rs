//! Long host commands (`make` of a kernel or of the schedulers) run as a named step with their
//! output in a log file, and the log's end in the error when they fail.

use crate::util::Step;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `cmd` as a named step with stdout and stderr appended to `log`; on failure the error
/// carries the log's last lines.
pub fn run_logged(mut cmd: Command, what: &str, log: &Path) -> Result<(), String> {
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("open {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| format!("log: {e}"))?;
    cmd.stdout(Stdio::from(file)).stderr(Stdio::from(err));
    Step::new(&format!("{what} (log: {})", log.display())).run(cmd).map_err(|e| {
        let text = fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "{e}\n--- last lines of {}:\n{}",
            log.display(),
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    })
}
