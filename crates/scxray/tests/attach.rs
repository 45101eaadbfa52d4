//! Attaching to a running VMM process (`--qemu`, `--qmp`, `--ram`): each way it can be refused
//! is exit 2 with a message that names the process, the file and what to do. (The lab attaches
//! to real QEMU guests; these need no QEMU.)

mod common;

use common::scxray;
use std::process::{Child, Command, Output};

/// A process that is not QEMU, killed on drop.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Self {
        Self(Command::new("sleep").arg("60").spawn().expect("run sleep"))
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_missing_process_is_named() {
    // Linux PIDs stop at 2^22.
    let out = scxray(&["dump", "--qemu", "4194305"]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("/proc/4194305/comm: no process 4194305") && e.contains("ENOENT"), "{e}");
}

#[test]
fn a_process_that_is_not_qemu_is_refused_with_the_way_for_other_vmms() {
    let s = Sleeper::start();
    let out = scxray(&["info", "--qemu", &s.pid().to_string()]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains(&format!("process {} (", s.pid())) && e.contains("is not QEMU"), "{e}");
    assert!(e.contains("--ram GPA:SIZE@PID:HVA"), "{e}");
}

#[test]
fn bad_ram_specs_and_mixed_options_are_bad_input() {
    for args in [
        &["dump", "--ram", "0:512M"][..],
        &["dump", "--ram", "0:0@1:0x1000"],
        &["dump", "--ram", "0:4K@1:0x1000", "--qemu", "1"],
        &["dump", "guest.core", "--qemu", "1"],
    ] {
        let out = scxray(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let e = stderr(&scxray(&["dump", "--ram", "0:4K@1:0x1000", "--ram", "0x1000:4K@2:0x1000"]));
    assert!(e.contains("all of guest RAM must be in one process"), "{e}");
}

/// Reading a process scxray has no ptrace rights over: the error names the mem file, the
/// errno, the uids and the fix. As root, scxray runs as `nobody` without capabilities
/// (`setpriv`) against a root-owned process; as another user, against PID 1.
#[test]
fn ptrace_denied_names_the_file_the_errno_and_the_fix() {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    let sleeper;
    let (pid, out) = if root {
        sleeper = Sleeper::start();
        let pid = sleeper.pid();
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
            ])
            .arg(env!("CARGO_BIN_EXE_scxray"))
            .args(["dump", "--ram", &format!("0:4K@{pid}:0x1000")])
            .output();
        match out {
            Ok(o) if !String::from_utf8_lossy(&o.stderr).starts_with("setpriv:") => (pid, o),
            other => {
                eprintln!("skipped: setpriv cannot run scxray as nobody here: {other:?}");
                return;
            }
        }
    } else {
        (1, scxray(&["dump", "--ram", "0:4K@1:0x1000"]))
    };
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains(&format!("/proc/{pid}/mem: Permission denied")), "{e}");
    assert!(e.contains("EACCES") || e.contains("EPERM"), "{e}");
    assert!(e.contains("needs ptrace rights over it (PTRACE_MODE_ATTACH)"), "{e}");
    assert!(e.contains(&format!("Process {pid} runs as uid 0, scxray as uid")), "{e}");
    assert!(e.contains("Fix: run scxray as root, or give scxray CAP_SYS_PTRACE"), "{e}");
    assert!(e.contains("Fix:") && e.contains("CAP_SYS_PTRACE"), "{e}");
}
