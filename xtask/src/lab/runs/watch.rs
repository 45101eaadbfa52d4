//! `cargo xtask lab watch [--seconds N] [--only stall|healthy]`: `scxray watch` on running guests, attached by PID
//! (issue 19), each booted normally (TCG, no memory backend) with a second QMP monitor for
//! scxray's consistent dump.
//!
//! - stall: the stalled case's guest (scx_qmap `-t 2 -d 1`, 5 s watchdog) watched from the
//!   scheduler's start. The watch must fire (exit 4) before the kernel disables the scheduler:
//!   the report it captured with the guest stopped says the scheduler is enabled and has not
//!   exited, and the kernel's "runnable task stall" exit shows in the guest's log only after.
//!   The trigger must name the task the kernel names, and leave a report and a dump.
//! - healthy: scx_simple watched for N s (default 65) of guest time (the largest advance of a
//!   CPU's `rq.clock`, at least 60 s): no trigger, every sample valid or marked torn. Then the
//!   cost: 30 s at a 10 ms interval, samples/s and the share of a host core scxray used.

use super::boot::{example_guest, initramfs_path};
use super::cases::CASES;
use super::scxray::build_scxray;
use crate::lab::host::dirs::scratch_dir;
use crate::lab::host::guest::GuestSpec;
use crate::lab::host::initramfs;
use crate::lab::host::qemu::{self, BootOptions};
use crate::lab::host::qmp::Qmp;
use crate::lab::kernels::kernel::Kernel;
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::schedulers::SCX_SIMPLE;
use crate::lab::kernels::spec::spec;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs both watches; fails when either fails.
pub fn run(args: &[String]) -> Result<(), String> {
    let seconds: u64 = crate::util::seconds_arg(args, 65)?;
    let scxray = build_scxray()?;
    let kernel = prepare(spec("7.3-amd64")?)?;
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(String::as_str);
    let mut failures = Vec::new();
    if only.is_none_or(|o| o == "stall") {
        match stalled(&scxray, &kernel) {
            Ok(s) => println!("watch stall: {s}"),
            Err(e) => failures.push(format!("stall: {e}")),
        }
    }
    if only.is_none_or(|o| o == "healthy") {
        match healthy(&scxray, &kernel, seconds) {
            Ok(s) => println!("watch healthy: {s}"),
            Err(e) => failures.push(format!("healthy: {e}")),
        }
    }
    for f in &failures {
        println!("    FAIL {f}");
    }
    if failures.is_empty() { Ok(()) } else { Err(format!("lab watch: {} failed", failures.len())) }
}

/// The run directory of one watch, emptied, with its monitor socket (in the temp dir: socket
/// paths are limited to ~108 bytes).
fn watch_dir(name: &str) -> Result<(PathBuf, PathBuf), String> {
    let dir = scratch_dir("watch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let sock = std::env::temp_dir().join(format!("scxray-watch-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    Ok((dir, sock))
}

/// Boot options with scxray's own monitor at `sock`.
fn options(sock: &Path, mem_mib: u32) -> BootOptions {
    BootOptions {
        mem_mib,
        numa_nodes: 1,
        ready_timeout: Duration::from_secs(900),
        extra_args: vec!["-qmp".into(), format!("unix:{},server=on,wait=off", sock.display())],
        ..BootOptions::default()
    }
}

/// The QEMU process whose command line names `sock` (ours: the path holds this run's pid).
fn qemu_pid(sock: &Path) -> Result<u32, String> {
    let needle = sock.to_string_lossy().into_owned();
    let entries = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            return Ok(pid);
        }
    }
    Err(format!("no QEMU process with {needle} on its command line"))
}

/// What one `scxray watch` printed.
struct Watched {
    code: Option<i32>,
    lines: Vec<Value>,
    stderr: String,
}

/// Runs `scxray watch --qemu PID --qmp SOCK ARGS`, its lines and messages into `dir`.
fn watch(scxray: &Path, pid: u32, sock: &Path, dir: &Path, args: &[&str]) -> Result<Watched, String> {
    let (out, err) = (dir.join("lines.jsonl"), dir.join("watch.err"));
    let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let status = Command::new(scxray)
        .args(["watch", "--qemu", &pid.to_string(), "--qmp"])
        .arg(sock)
        .arg("--out")
        .arg(dir)
        .args(args)
        .stdout(Stdio::from(file(&out)?))
        .stderr(Stdio::from(file(&err)?))
        .status()
        .map_err(|e| format!("cannot run scxray: {e}"))?;
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let lines = text
        .lines()
        .map(|l| {
            serde_json::from_str(l).map_err(|e| format!("a line of {} does not parse: {e}", out.display()))
        })
        .collect::<Result<Vec<Value>, String>>()?;
    Ok(Watched { code: status.code(), lines, stderr: std::fs::read_to_string(&err).unwrap_or_default() })
}

/// The stalled guest (see the module doc).
fn stalled(scxray: &Path, kernel: &Kernel) -> Result<String, String> {
    let case = CASES.iter().find(|c| c.stall).ok_or("no stalled case in the matrix")?;
    let guest = GuestSpec { quick_truth: true, ..case.guest(kernel)? };
    let name = "lab-watch-stall";
    let (dir, sock) = watch_dir(name)?;
    let initrd = initramfs_path(name);
    initramfs::build(&kernel.boot_kernel(), &guest, &initrd)?;
    let serial = crate::lab::host::dirs::dumps_dir().join(format!("{name}.serial.log"));
    let mut result: Result<String, String> = Err("the guest never started its scheduler".into());
    let mut drive = |qmp: &mut Qmp, _pace| -> Result<(), String> {
        let pid = qemu_pid(&sock)?;
        let w = watch(scxray, pid, &sock, &dir, &["--interval", "100ms", "--for", "600s"])?;
        // The kernel's own stall exit, after scxray's capture: wait for it (guest time runs on).
        let start = Instant::now();
        let log = loop {
            let log = std::fs::read_to_string(&serial).unwrap_or_default();
            if log.contains("runnable task stall") || start.elapsed() > Duration::from_secs(120) {
                break log;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        let _ = qmp.execute("stop", None);
        result = judge_stall(&w, &log, &dir);
        Ok(())
    };
    qemu::boot_drive(
        &kernel.boot_kernel(),
        &initrd,
        &options(&sock, 256),
        name,
        "SCXRAY-SCHED-START",
        &mut drive,
    )?;
    let _ = std::fs::remove_file(&sock);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "core")) {
            qemu::dig_holes(&e.path());
        }
    }
    result
}

/// The stalled watch's checks.
fn judge_stall(w: &Watched, log: &str, dir: &Path) -> Result<String, String> {
    if w.code != Some(4) {
        return Err(format!("scxray watch exited {:?}, not 4: {}", w.code, w.stderr.trim()));
    }
    let last = w.lines.last().ok_or("no sample")?;
    let trigger = last["triggers"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["kind"] == "stall"))
        .ok_or_else(|| format!("the last sample fired no stall trigger: {}", last["triggers"]))?;
    let named: Vec<i64> =
        trigger["tasks"].as_array().into_iter().flatten().filter_map(|t| t["pid"].as_i64()).collect();
    // The kernel names the task it judged: "init[118] failed to run for 6.344s".
    let kernel_pid = log
        .lines()
        .find_map(|l| l.split_once(" failed to run for ").map(|(a, _)| a.to_owned()))
        .and_then(|a| a.rsplit_once('[').and_then(|(_, p)| p.trim_end_matches(']').parse::<i64>().ok()))
        .ok_or("the guest's log shows no stall exit naming a task (within 120 s after the trigger)")?;
    // The trigger names every task of its sample past the threshold.
    let threshold = trigger["threshold_jiffies"].as_i64().ok_or("the trigger has no threshold")?;
    let past: Vec<i64> = last["oldest_runnable"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["age_jiffies"].as_i64().is_some_and(|a| a >= threshold))
        .filter_map(|t| t["pid"].as_i64())
        .collect();
    if past.is_empty() || past.iter().any(|p| !named.contains(p)) {
        return Err(format!(
            "the trigger named {named:?}, the sample's tasks past {threshold} jiffies are {past:?}"
        ));
    }
    let seq = last["seq"].as_u64().unwrap_or_default();
    let report: Value = std::fs::read(dir.join(format!("scxray-watch-{seq}.json")))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("no JSON report captured")?;
    // The task the kernel's watchdog names later is one the trigger named, or one that was
    // already waiting on a runnable list at the trigger though not yet past half the timeout:
    // the watchdog names the first task it finds past the whole timeout, and the tasks named
    // at the trigger may have run since (scx_qmap's stall mode lets some through).
    let waiting: Vec<i64> = report["cpus"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["runnable"].as_array().into_iter().flatten())
        .filter_map(|t| t["pid"].as_i64())
        .collect();
    let kernels = if named.contains(&kernel_pid) {
        "among them"
    } else if waiting.contains(&kernel_pid) {
        "waiting on a runnable list at the trigger, below the threshold then"
    } else {
        return Err(format!(
            "the kernel's starving task {kernel_pid} is neither among the trigger's {named:?} nor waiting on a \
             runnable list in its report ({waiting:?})"
        ));
    };
    let sched = &report["scheduler"];
    if sched["exit_kind"] != 0 || sched["state"] != "enabled" {
        return Err(format!(
            "the capture came too late: the scheduler was {} with exit kind {}",
            sched["state"], sched["exit_kind"]
        ));
    }
    let core = dir.join(format!("scxray-watch-{seq}.core"));
    let magic = std::fs::read(&core).map(|b| b.get(..4) == Some(b"\x7fELF")).unwrap_or(false);
    if !magic || !dir.join(format!("scxray-watch-{seq}.txt")).exists() {
        return Err(format!("no text report or no ELF dump at {}", core.display()));
    }
    let age = trigger["tasks"][0]["age_jiffies"].as_i64().unwrap_or_default();
    Ok(format!(
        "fired at sample {seq} ({:.1} s into the watch): {} starving task(s) named, the oldest {age} jiffies of a {} \
         jiffy timeout, the kernel's pid {kernel_pid} {kernels}; captured with the scheduler still enabled; the \
         kernel's stall exit came after",
        last["t_ms"].as_f64().unwrap_or_default() / 1000.0,
        named.len(),
        trigger["watchdog_timeout_jiffies"]
    ))
}

/// The healthy guest and the cost (see the module doc).
fn healthy(scxray: &Path, kernel: &Kernel, seconds: u64) -> Result<String, String> {
    let guest = example_guest(kernel, &SCX_SIMPLE)?;
    let name = "lab-watch-healthy";
    let (dir, sock) = watch_dir(name)?;
    let initrd = initramfs_path(name);
    initramfs::build(&kernel.boot_kernel(), &guest, &initrd)?;
    let mut result: Result<String, String> = Err("the guest never got ready".into());
    let mut live = |truth: &crate::lab::host::truth::GuestTruth| -> Result<(), String> {
        if truth.state != "enabled" {
            return Err(format!("scx_simple did not enable sched_ext (state {})", truth.state));
        }
        let pid = qemu_pid(&sock)?;
        let long = dir.join("long");
        let cost = dir.join("cost");
        for d in [&long, &cost] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let w = watch(scxray, pid, &sock, &long, &["--interval", "100ms", "--for", &format!("{seconds}s")])?;
        let c = watch(scxray, pid, &sock, &cost, &["--interval", "10ms", "--for", "30s"])?;
        result = judge_healthy(&w, &c);
        Ok(())
    };
    qemu::boot_live(&kernel.boot_kernel(), &initrd, &options(&sock, 512), name, &mut live)?;
    let _ = std::fs::remove_file(&sock);
    result
}

/// The healthy watches' checks: no trigger, every sample valid or torn, 60 s of guest time; the
/// cost line.
fn judge_healthy(w: &Watched, cost: &Watched) -> Result<String, String> {
    if w.code != Some(0) {
        return Err(format!("scxray watch exited {:?}: {}", w.code, w.stderr.trim()));
    }
    let mut torn = 0;
    for l in &w.lines {
        if !l["triggers"].as_array().is_some_and(Vec::is_empty) {
            return Err(format!("sample {} fired: {}", l["seq"], l["triggers"]));
        }
        match (l["consistency"].as_str(), l["valid"].as_bool()) {
            (Some("stable" | "retried"), Some(true)) => {}
            (Some("torn"), Some(false)) => torn += 1,
            other => return Err(format!("sample {} is neither valid nor torn: {other:?}", l["seq"])),
        }
    }
    // Guest time: the largest advance of one CPU's rq clock (ns) between the first and last
    // valid samples.
    let valid: Vec<&Value> = w.lines.iter().filter(|l| l["valid"] == true).collect();
    let clocks = |l: &Value| -> Vec<u64> {
        l["cpus"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["rq_clock"].as_u64().unwrap_or_default())
            .collect()
    };
    let (first, last) = (valid.first().ok_or("no valid sample")?, valid.last().ok_or("no valid sample")?);
    let guest_s =
        clocks(first).iter().zip(clocks(last)).map(|(a, b)| b.saturating_sub(*a)).max().unwrap_or_default()
            as f64
            / 1e9;
    if guest_s < 60.0 {
        return Err(format!("only {guest_s:.1} s of guest time watched"));
    }
    if cost.code != Some(0) {
        return Err(format!("the cost watch exited {:?}: {}", cost.code, cost.stderr.trim()));
    }
    let end = cost.stderr.lines().rfind(|l| l.contains("samples in")).unwrap_or_default().to_owned();
    Ok(format!(
        "{} samples over {guest_s:.1} s of guest time, no trigger, {torn} torn, the rest valid; cost at 10 ms: {}",
        w.lines.len(),
        end.trim_start_matches("scxray: ")
    ))
}

#[cfg(test)]
mod tests {
    use super::{Watched, judge_stall};
    use serde_json::json;

    /// A stalled watch's last sample (tasks 120 and 121 past the threshold, 122 below it),
    /// and its capture in a fresh directory: the report lists `waiting` on runnable lists.
    fn capture(name: &str, named: &[i64], waiting: &[i64], exit_kind: u32) -> (Watched, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("scxray-judge-stall-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let task = |pid: i64, age: i64| json!({"pid": pid, "comm": "init", "cpu": 1, "age_jiffies": age});
        let last = json!({
            "seq": 7,
            "t_ms": 1500.0,
            "oldest_runnable": [task(120, 634), task(121, 630), task(122, 300)],
            "triggers": [{
                "kind": "stall",
                "threshold_jiffies": 625,
                "watchdog_timeout_jiffies": 1250,
                "tasks": named.iter().map(|&p| task(p, 634)).collect::<Vec<_>>(),
            }],
        });
        let report = json!({
            "scheduler": {"exit_kind": exit_kind, "state": "enabled"},
            "cpus": [{"runnable": waiting.iter().map(|&p| json!({"pid": p})).collect::<Vec<_>>()}],
        });
        std::fs::write(dir.join("scxray-watch-7.json"), report.to_string()).unwrap();
        std::fs::write(dir.join("scxray-watch-7.txt"), "report").unwrap();
        std::fs::write(dir.join("scxray-watch-7.core"), b"\x7fELF....").unwrap();
        (Watched { code: Some(4), lines: vec![last], stderr: String::new() }, dir)
    }

    const LOG: &str = "sched_ext: qmap: scheduler[133] failed to run for 6.360s\n";

    #[test]
    fn the_kernels_task_is_named_or_was_already_waiting() {
        let (w, dir) = capture("named", &[120, 121, 133], &[120, 121, 133], 0);
        assert!(judge_stall(&w, LOG, &dir).unwrap().contains("pid 133 among them"));
        // 133 waiting below the threshold at the trigger (the lab saw it at 357 of 625).
        let (w, dir) = capture("waiting", &[120, 121], &[120, 121, 122, 133], 0);
        assert!(judge_stall(&w, LOG, &dir).unwrap().contains("pid 133 waiting on a runnable list"));
        // Not runnable at all at the trigger: the watch missed it.
        let (w, dir) = capture("missed", &[120, 121], &[120, 121, 122], 0);
        let e = judge_stall(&w, LOG, &dir).unwrap_err();
        assert!(e.contains("neither among the trigger's [120, 121]"), "{e}");
    }

    #[test]
    fn every_task_past_the_threshold_is_named_and_the_capture_is_in_time() {
        let (w, dir) = capture("short", &[120], &[120, 121, 133], 0);
        let e = judge_stall(&w, LOG, &dir).unwrap_err();
        assert!(e.contains("the sample's tasks past 625 jiffies are [120, 121]"), "{e}");
        let (w, dir) = capture("late", &[120, 121], &[120, 121, 133], 1026);
        assert!(judge_stall(&w, LOG, &dir).unwrap_err().contains("the capture came too late"));
    }
}
