//! `cargo xtask lab soak [--seconds N]`: scxray as a hypervisor-side monitor would use it.
//! A guest runs scx_qmap under load with its RAM in a shared file
//! (`memory-backend-file,share=on`, `<run directory>/soak/guest-ram`); scxray reads that file
//! in a loop while the guest keeps running, never pausing it, so every walk sees memory
//! changing under it (torn lists, tasks moving between queues). The soak passes when no walk panics or hangs, every walk ends within
//! the time bound, and every result stays within the caps.

use super::boot::{example_guest, initramfs_path};
use super::scxray::build_scxray;
use crate::lab::host::dirs::scratch_dir;
use crate::lab::host::initramfs;
use crate::lab::host::qemu::{self, BootOptions};
use crate::lab::host::truth::GuestTruth;
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::schedulers::SCX_QMAP;
use crate::lab::kernels::spec::spec;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A walk slower than this counts as hung.
const WALK_BOUND: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Stats {
    walks: u32,
    ok: u32,
    /// Exit 2/3: the dump could not be configured at that instant (e.g. a torn VMCOREINFO).
    refused: u32,
    failures: Vec<String>,
    slowest: Duration,
    total: Duration,
    broken_walks: u32,
    truncated_walks: u32,
    max_tasks: usize,
}

/// Runs the soak.
pub fn run(args: &[String]) -> Result<(), String> {
    let seconds: u64 = crate::util::seconds_arg(args, 60)?;
    let scxray = build_scxray()?;
    let kernel = prepare(spec("7.3-amd64")?)?;
    let guest = example_guest(&kernel, &SCX_QMAP)?;
    let dir = scratch_dir("soak");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ram = dir.join("guest-ram");
    let _ = std::fs::remove_file(&ram);
    let opts = BootOptions { numa_nodes: 1, ram_file: Some(ram.clone()), ..BootOptions::default() };
    let initrd = initramfs_path("lab-soak");
    initramfs::build(&kernel.boot_kernel(), &guest, &initrd)?;
    let mut stats = Stats::default();
    let mut live = |truth: &GuestTruth| -> Result<(), String> {
        if truth.state != "enabled" {
            return Err(format!("scx_qmap did not enable sched_ext (state {})", truth.state));
        }
        eprintln!("xtask: ==> soak: reading the live guest's RAM for {seconds} s");
        let end = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < end {
            walk_once(&scxray, &ram, &mut stats);
        }
        Ok(())
    };
    let r = qemu::boot_live(&kernel.boot_kernel(), &initrd, &opts, "lab-soak", &mut live);
    let _ = std::fs::remove_file(&ram);
    r?;
    let avg = stats.total.as_secs_f64() * 1000.0 / f64::from(stats.walks.max(1));
    println!(
        "soak: {} walks in {seconds} s of a running guest: {} complete, {} refused (exit 2/3), {} with a broken \
         list, {} truncated; up to {} tasks; {avg:.0} ms average, {:.0} ms slowest",
        stats.walks,
        stats.ok,
        stats.refused,
        stats.broken_walks,
        stats.truncated_walks,
        stats.max_tasks,
        stats.slowest.as_secs_f64() * 1000.0
    );
    for f in &stats.failures {
        println!("    FAIL {f}");
    }
    if stats.failures.is_empty() && stats.ok > 0 {
        Ok(())
    } else if stats.ok == 0 {
        Err("soak: no walk of the live guest completed".into())
    } else {
        Err(format!("soak: {} failed walks", stats.failures.len()))
    }
}

/// One walk of the live RAM file.
fn walk_once(scxray: &std::path::Path, ram: &std::path::Path, stats: &mut Stats) {
    stats.walks += 1;
    // Output goes to files: a pipe nobody drains while waiting would block the walk once full.
    let (out_path, err_path) = (ram.with_extension("json"), ram.with_extension("err"));
    let (Ok(out_file), Ok(err_file)) = (std::fs::File::create(&out_path), std::fs::File::create(&err_path))
    else {
        stats.failures.push(format!("cannot create {}", out_path.display()));
        return;
    };
    let start = Instant::now();
    let child = Command::new(scxray)
        .arg("dump")
        .arg(ram)
        .args(["--format", "json"])
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::from(err_file))
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            stats.failures.push(format!("cannot run scxray: {e}"));
            return;
        }
    };
    // Wait with a bound: a walk that does not end is the failure this soak exists to find.
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() > WALK_BOUND => {
                let _ = child.kill();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let took = start.elapsed();
    stats.total += took;
    stats.slowest = stats.slowest.max(took);
    let Some(status) = status else {
        stats.failures.push(format!("walk {} did not end within {} s", stats.walks, WALK_BOUND.as_secs()));
        return;
    };
    let out = (std::fs::read(&out_path).unwrap_or_default(), std::fs::read(&err_path).unwrap_or_default());
    match status.code() {
        Some(0) => {
            let r: Value = match serde_json::from_slice(&out.0) {
                Ok(r) => r,
                Err(e) => {
                    stats.failures.push(format!("walk {}: JSON does not parse: {e}", stats.walks));
                    return;
                }
            };
            stats.ok += 1;
            let within_caps = within_caps(&r);
            if let Err(e) = within_caps {
                stats.failures.push(format!("walk {}: {e}", stats.walks));
            }
            let walks = r["dsqs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| &d["walk"])
                .chain(r["cpus"].as_array().into_iter().flatten().map(|c| &c["runnable_walk"]));
            let (mut broken, mut truncated) = (false, false);
            for w in walks.chain(std::iter::once(&r["scx_tasks"]["walk"])) {
                broken |= !w["broken"].is_null();
                truncated |= w["truncated"] == true;
            }
            stats.broken_walks += u32::from(broken);
            stats.truncated_walks += u32::from(truncated);
            stats.max_tasks = stats.max_tasks.max(r["scx_tasks"]["tasks"].as_array().map_or(0, Vec::len));
        }
        Some(2 | 3) => stats.refused += 1,
        other => stats.failures.push(format!(
            "walk {} ended with {other:?} (a panic or a signal): {}",
            stats.walks,
            String::from_utf8_lossy(&out.1).lines().last().unwrap_or_default()
        )),
    }
}

/// Every list the report holds is within the default caps.
fn within_caps(r: &Value) -> Result<(), String> {
    let len = |v: &Value| v.as_array().map_or(0, Vec::len);
    for d in r["dsqs"].as_array().into_iter().flatten() {
        if len(&d["tasks"]) > 4096 {
            return Err(format!("DSQ {} lists {} tasks, beyond the cap", d["label"], len(&d["tasks"])));
        }
    }
    if len(&r["scx_tasks"]["tasks"]) > 4096 {
        return Err("scx_tasks lists more than the cap".into());
    }
    if len(&r["dsqs"]) > 4 * 8192 + 8192 {
        return Err("more DSQs than the caps allow".into());
    }
    Ok(())
}
