//! The failure case: a production scheduler made to fail, dumped between its failure and the
//! end of its disable, and the report's exit checked against what the guest's kernel logged.
//!
//! On 7.x the window is short: the error fills `scx_sched.exit_info` (kind, reason, message)
//! and queues the disable work on the scheduler's `sched_ext_helper` kthread, which switches
//! every task back, logs `sched_ext: BPF scheduler "NAME" disabled (REASON)` and `sched_ext:
//! NAME: MESSAGE` and clears `scx_root` within milliseconds; after that no scheduler is left to
//! report. So the guest holds the disable open: before the scheduler starts it arms a trace
//! probe on `scx_disable_irq_workfn` (the error's hand-off to the disable work), turns off RT
//! throttling and CPU 3's ext deadline server, and once the scheduler's `sched_ext_helper`
//! exists it starts a busy loop pinned to CPU 3 and runs `hold-cpu` there (the guest script is
//! `kernels::hold_cpu::HOLD_SETUP`) (FIFO 99 for
//! 60 s, the helper moved onto CPU 3 first). The pinned loop never runs: the watchdog fails
//! the scheduler with a runnable task stall, whose disable work waits on CPU 3. From then on
//! no task of the scheduler runs anywhere until the disable's bypass (7.3 stops dispatching
//! once the exit is claimed: the guest's shell cannot even print), so `hold-cpu`, still
//! running, watches the trace and says when the probe fired; the host dumps at that line,
//! lets the guest go on, and once the hold has ended and the kernel logged the exit, the guest
//! prints the scheduler's output (the kernel's exit dump, `... triggered exit kind N ...`).
//! The host then reads the serial log.

use super::boot::initramfs_path;
use super::cases::Case;
use super::check::Verdict;
use super::table::Row;
use crate::lab::host::dirs::dumps_dir;
use crate::lab::host::initramfs;
use crate::lab::host::qemu::{self, BootOptions, Pace};
use crate::lab::host::qmp::Qmp;
use crate::lab::kernels::kernel::Kernel;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What `hold-cpu` prints once the probe fired: the host dumps then.
const EXIT_SEEN: &str = "hold-cpu: /sys/kernel/tracing/trace shows exit_kicked";
/// What the guest prints after the scheduler's output, once the hold has ended.
const LOG_END: &str = "SCXRAY-SCHEDULER-LOG-END";
/// How long the host waits for [`LOG_END`] after the dump (the hold's 60 s and the
/// scheduler's exit), on a quiet host (stretched with the guest's pace).
const LOG_WAIT: Duration = Duration::from_secs(240);

/// What the guest's kernel logged about the scheduler's exit (see [`kernel_log_exit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedExit {
    pub name: String,
    pub reason: String,
    /// The second line (errors only).
    pub msg: Option<String>,
    /// `triggered exit kind N`, from the kernel's exit dump the scheduler printed.
    pub kind: Option<u32>,
}

/// The last `sched_ext: BPF scheduler "NAME" disabled (REASON)` of a serial log, the
/// `sched_ext: NAME: MSG` line after it, and the exit kind of the dump the scheduler printed.
pub fn kernel_log_exit(log: &str) -> Option<LoggedExit> {
    const HEAD: &str = "sched_ext: BPF scheduler \"";
    let lines: Vec<&str> = log.lines().map(|l| l.trim_end_matches('\r')).collect();
    let at = lines.iter().rposition(|l| l.contains(HEAD))?;
    let rest = &lines[at][lines[at].find(HEAD)? + HEAD.len()..];
    let (name, rest) = rest.split_once("\" disabled (")?;
    let reason = rest.strip_suffix(')')?.to_owned();
    let prefix = format!("sched_ext: {name}: ");
    let msg = lines[at + 1..].iter().find_map(|l| l.find(&prefix).map(|i| l[i + prefix.len()..].to_owned()));
    let kind = lines[at..].iter().find_map(|l| {
        let i = l.find("triggered exit kind ")?;
        l[i + "triggered exit kind ".len()..].split_whitespace().next()?.trim_end_matches(':').parse().ok()
    });
    Some(LoggedExit { name: name.to_owned(), reason, msg, kind })
}

/// Runs the failure case `c` (see the module doc).
pub fn run_failure(scxray: &Path, kernel: &Kernel, c: &Case) -> Row {
    let guest = match c.guest(kernel) {
        Ok(g) => g,
        Err(e) => return Row::failed(c.name, format!("guest: {e}")),
    };
    let opts = BootOptions {
        kaslr: c.kaslr,
        la57: c.la57,
        ready_timeout: Duration::from_secs(900),
        ..BootOptions::default()
    };
    let initrd = initramfs_path(c.name);
    if let Err(e) = initramfs::build(&kernel.boot_kernel(), &guest, &initrd) {
        return Row::failed(c.name, format!("initramfs: {e}"));
    }
    let dir = dumps_dir();
    let (dump, serial_log) =
        (dir.join(format!("{}.core", c.name)), dir.join(format!("{}.serial.log", c.name)));
    let mut drive = |qmp: &mut Qmp, pace: Pace| -> Result<(), String> {
        qemu::stop_and_dump(qmp, &dump, true)?;
        qmp.execute("cont", None)?;
        let start = Instant::now();
        while !std::fs::read_to_string(&serial_log).is_ok_and(|l| l.contains(LOG_END)) {
            if start.elapsed() > pace.stretch(LOG_WAIT) {
                return Err(format!("no {LOG_END} {} s after the dump", pace.stretch(LOG_WAIT).as_secs()));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        Ok(())
    };
    let boot = qemu::boot_drive(&kernel.boot_kernel(), &initrd, &opts, c.name, EXIT_SEEN, &mut drive);
    let mut v = Verdict::default();
    match &boot {
        Ok(_) => check_exit(scxray, &dump, &serial_log, &mut v),
        Err(e) => v.failures.push(format!("boot: {e}")),
    }
    Row { name: c.name.into(), boot_secs: boot.ok(), verdict: v, notes: Vec::new() }
}

/// Checks the report of `dump` (taken while the disable was held) against the exit the
/// guest's kernel logged in `serial_log` afterwards.
fn check_exit(scxray: &Path, dump: &Path, serial_log: &Path, v: &mut Verdict) {
    let log = std::fs::read_to_string(serial_log).unwrap_or_default();
    let Some(logged) = kernel_log_exit(&log) else {
        return v
            .failures
            .push(format!("no `sched_ext: BPF scheduler ... disabled` in {}", serial_log.display()));
    };
    let start = Instant::now();
    let out = match Command::new(scxray).arg("dump").arg(dump).args(["--format", "json"]).output() {
        Ok(o) => o,
        Err(e) => return v.failures.push(format!("cannot run {}: {e}", scxray.display())),
    };
    v.scxray_time = start.elapsed();
    let r: Value = match serde_json::from_slice(&out.stdout) {
        Ok(r) => r,
        Err(e) => return v.failures.push(format!("scxray's JSON does not parse: {e}")),
    };
    let sched = &r["scheduler"];
    let exit = &sched["exit"];
    let text = |x: &Value| x.as_str().map(str::to_owned);
    v.check_named(
        text(&sched["ops_name"]).as_deref() == Some(logged.name.as_str()),
        &format!("exit: scheduler {} != the kernel log's {:?}", sched["ops_name"], logged.name),
    );
    v.check_named(
        text(&exit["reason"]).as_deref() == Some(logged.reason.as_str()),
        &format!("exit reason {} != the kernel log's {:?}", exit["reason"], logged.reason),
    );
    v.check_named(
        logged.msg.is_some() && text(&exit["msg"]) == logged.msg,
        &format!("exit message {} != the kernel log's {:?}", exit["msg"], logged.msg),
    );
    // The kernel logs the message line for errors only (`kind >= SCX_EXIT_ERROR`); its exit
    // dump names the kind.
    let kind = sched["exit_kind"].as_u64();
    v.check_named(
        logged.kind.is_some() && kind == logged.kind.map(u64::from) && exit["kind"].as_u64() == kind,
        &format!(
            "exit kind {kind:?} (exit.kind {}) != the kernel's exit dump's {:?}",
            exit["kind"], logged.kind
        ),
    );
    v.check_named(
        text(&sched["exit_kind_name"]).is_some_and(|n| n.starts_with("SCX_EXIT_ERROR")),
        &format!("exit kind name {} is not an error's", sched["exit_kind_name"]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_logs_exit() {
        // As 7.3's console and scx_bpfland printed a runnable task stall.
        let log = "SCXRAY-READY\r\n[   61.710461] sched_ext: BPF scheduler \"bpfland_1.1.4_x86_64_unknown_linux_gnu\" disabled (runnable task stall)\r\n\
                   [   61.710601] sched_ext: bpfland_1.1.4_x86_64_unknown_linux_gnu: watchdog failed to check in for 5.004s\r\n\
                   SCXRAY-SCHEDULER-LOG-BEGIN\r\nDEBUG DUMP\r\nbpfland_1.1.4_x86_64_unknown_linux_gnu: root\r\n\
                   swapper/0[0] triggered exit kind 1026 on CPU 0:\r\n  runnable task stall (watchdog failed to check in for 5.004s)\r\n";
        assert_eq!(
            kernel_log_exit(log),
            Some(LoggedExit {
                name: "bpfland_1.1.4_x86_64_unknown_linux_gnu".into(),
                reason: "runnable task stall".into(),
                msg: Some("watchdog failed to check in for 5.004s".into()),
                kind: Some(1026),
            })
        );
        assert_eq!(kernel_log_exit("SCXRAY-READY\n"), None);
        // A non-error exit has no message line.
        let unreg = "sched_ext: BPF scheduler \"x\" disabled (unregistered from user space)\n";
        assert_eq!(
            kernel_log_exit(unreg).map(|e| (e.reason, e.msg)),
            Some(("unregistered from user space".into(), None))
        );
    }
}
