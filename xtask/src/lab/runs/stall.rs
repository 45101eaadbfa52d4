//! The stalled case: scx_qmap made to stall (`-t 2`) is disabled by its 5 s watchdog soon after
//! the stall begins, often before it is even fully enabled under TCG, and how long its BPF
//! program takes to load before that depends on the host's load (~76 s quiet, ~290 s at load
//! 15). So the host hunts in two steps:
//!
//! 1. it watches: the guest's RAM is a shared file, and scxray reads it while the guest runs
//!    (as the soak does), until a scheduler is attached, neither stopping nor dumping the
//!    guest;
//! 2. it hunts: it lets the guest run in slices of guest time, stops it, dumps it and compares
//!    the dump with the previous one (`scxray diff`) until a pair shows tasks stuck; `diff`
//!    must name them (exit 4).
//!
//! A hunt that found no stuck pair because the scheduler came and went first (the kernel logged
//! its exit before a pair was dumped) is tried once more.

use super::boot::initramfs_path;
use super::cases::Case;
use super::check::Verdict;
use super::diff::Diff;
use super::retry::{Try, at_most_twice};
use super::table::Row;
use crate::lab::host::dirs::{dumps_dir, scratch_dir};
use crate::lab::host::guest::GuestSpec;
use crate::lab::host::initramfs;
use crate::lab::host::qemu::{self, BootOptions, Pace, console_text};
use crate::lab::host::qmp::Qmp;
use crate::lab::host::truth::sched_ext_exits;
use crate::lab::kernels::kernel::Kernel;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Guest-time slices between the hunt's dumps, and how many at most: the watchdog ends the
/// stall 5 to 7.5 s of guest time after it begins, so a pair inside it comes early or never.
const HUNT_SLICE: Duration = Duration::from_secs(2);
const HUNT_MAX: u32 = 30;
/// How long the watch waits for a scheduler on a quiet host (stretched by the guest's pace):
/// the guest itself gives up on the scheduler after 240 s.
const WATCH_MAX: Duration = Duration::from_secs(300);
/// Between two reads of the running guest's RAM.
const WATCH_POLL: Duration = Duration::from_millis(200);

/// How a hunt ended.
enum Hunt {
    /// A pair of dumps `diff` calls stuck, after this many dumps.
    Found(Diff, u32),
    /// The stall came and went (or never came): why.
    Missed(String),
}

/// Hunts the stall of case `c` (see the module doc), twice if the first hunt missed it.
pub fn hunt_stall(scxray: &Path, kernel: &Kernel, c: &Case) -> Row {
    let guest = match c.guest(kernel) {
        Ok(g) => GuestSpec { quick_truth: true, ..g },
        Err(e) => return Row::failed(c.name, format!("guest: {e}")),
    };
    let initrd = initramfs_path(c.name);
    if let Err(e) = initramfs::build(&kernel.boot_kernel(), &guest, &initrd) {
        return Row::failed(c.name, format!("initramfs: {e}"));
    }
    at_most_twice(c.name, || hunt_once(scxray, kernel, c, &initrd))
}

fn hunt_once(scxray: &Path, kernel: &Kernel, c: &Case, initrd: &Path) -> Try {
    let ram_dir = scratch_dir("stall");
    if let Err(e) = std::fs::create_dir_all(&ram_dir) {
        return Try::Row(Row::failed(c.name, format!("{}: {e}", ram_dir.display())));
    }
    let ram = ram_dir.join(format!("{}.ram", c.name));
    let _ = std::fs::remove_file(&ram);
    // A smaller guest dumps faster: each slice is a full dump. One NUMA node: a shared RAM file.
    let opts = BootOptions {
        ready_timeout: Duration::from_secs(600),
        mem_mib: 256,
        numa_nodes: 1,
        ram_file: Some(ram.clone()),
        ..BootOptions::default()
    };
    let dir = dumps_dir();
    let serial = dir.join(format!("{}.serial.log", c.name));
    let files = [dir.join(format!("{}.core", c.name)), dir.join(format!("{}.later.core", c.name))];
    let mut hunt: Option<Hunt> = None;
    let mut drive = |qmp: &mut Qmp, pace: Pace| -> Result<(), String> {
        hunt = Some(match watch(scxray, &ram, &serial, pace) {
            Err(missed) => Hunt::Missed(missed),
            Ok(()) => dump_pairs(scxray, qmp, &files, &serial)?,
        });
        Ok(())
    };
    let boot =
        qemu::boot_drive(&kernel.boot_kernel(), initrd, &opts, c.name, "SCXRAY-SCHED-START", &mut drive);
    let _ = std::fs::remove_file(&ram);
    for f in &files {
        qemu::dig_holes(f);
    }
    let mut v = Verdict::default();
    let boot_secs = match boot {
        Ok(secs) => Some(secs),
        Err(e) => return Try::Row(Row::failed(c.name, format!("boot: {e}"))),
    };
    match hunt {
        Some(Hunt::Found(d, dumps)) => {
            let stuck = d.stuck();
            eprintln!(
                "xtask:     stuck pair after {dumps} dumps: {} starving tasks, {} stalled CPUs, {} dead DSQs",
                stuck.starving, stuck.stalled_cpus, stuck.dead_dsqs
            );
            v.check_named(stuck.total() > 0, "diff names what is stuck");
            v.tasks = stuck.starving;
            Try::Row(Row::checked(c.name, boot_secs, v))
        }
        Some(Hunt::Missed(why)) => Try::Again(why),
        None => Try::Row(Row::failed(c.name, "the hunt did not run".into())),
    }
}

/// Step 1: reads the running guest's RAM (`ram`) with scxray until a scheduler is attached.
/// `Err` says why there will be none: the kernel logged its exit, the guest gave up on it, or
/// none came in [`WATCH_MAX`] at the guest's pace.
fn watch(scxray: &Path, ram: &Path, serial: &Path, pace: Pace) -> Result<(), String> {
    let start = Instant::now();
    let limit = pace.stretch(WATCH_MAX);
    loop {
        let console = console_text(serial);
        if let Some(exit) = sched_ext_exits(&console).first() {
            return Err(format!("the kernel logged `{exit}` before scxray saw the scheduler attached"));
        }
        if let Some(l) = console
            .lines()
            .find(|l| l.starts_with("SCXRAY-SCHED-EXITED") || l.starts_with("SCXRAY-SCHED-FAILED"))
        {
            return Err(format!(
                "the guest said `{}` before scxray saw the scheduler attached",
                l.trim_end()
            ));
        }
        if start.elapsed() > limit {
            return Err(format!("no scheduler attached in {} s", limit.as_secs()));
        }
        // Exit 2/3 (a torn moment of a running guest) or no scheduler yet: read again.
        let out = Command::new(scxray).arg("dump").arg(ram).args(["--format", "json"]).output();
        if let Ok(o) = out
            && o.status.success()
            && serde_json::from_slice::<Value>(&o.stdout).is_ok_and(|r| !r["scheduler"].is_null())
        {
            eprintln!(
                "xtask:     scheduler attached after {:.1} s of watching",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        std::thread::sleep(WATCH_POLL);
    }
}

/// Step 2: dumps the guest every [`HUNT_SLICE`] of guest time and diffs each dump with the one
/// before until a pair is stuck, the kernel logs the scheduler's exit, or [`HUNT_MAX`] dumps.
fn dump_pairs(
    scxray: &Path,
    qmp: &mut Qmp,
    files: &[std::path::PathBuf; 2],
    serial: &Path,
) -> Result<Hunt, String> {
    let mut prev: Option<usize> = None;
    for i in 0..HUNT_MAX {
        let cur = (i % 2) as usize;
        qemu::stop_and_dump(qmp, &files[cur], false)?;
        if let Some(p) = prev {
            let d = Diff::run(scxray, &files[p], &files[cur])?;
            if d.code == Some(4) && d.same_scheduler() {
                return Ok(Hunt::Found(d, i + 1));
            }
        }
        // The guest is stopped: everything the kernel printed up to this dump is on the console.
        if let Some(exit) = sched_ext_exits(&console_text(serial)).first() {
            return Ok(Hunt::Missed(format!(
                "the kernel logged `{exit}` after {} dumps without a stuck pair",
                i + 1
            )));
        }
        prev = Some(cur);
        qmp.execute("cont", None)?;
        std::thread::sleep(HUNT_SLICE);
    }
    Ok(Hunt::Missed(format!("no stuck pair in {HUNT_MAX} dumps {} s apart", HUNT_SLICE.as_secs())))
}
