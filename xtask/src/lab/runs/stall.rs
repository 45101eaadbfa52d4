//! The stalled case: scx_qmap made to stall (`-t 2`) is disabled by its 5 s watchdog soon after
//! the stall begins, often before it is even fully enabled under TCG. So the host hunts: from
//! the scheduler's start it lets the guest run in slices of guest time, stops it, dumps it and
//! compares the dump with the previous one (`scxray diff`) until a pair shows tasks stuck;
//! `diff` must name them (exit 4).

use super::boot::initramfs_path;
use super::cases::Case;
use super::check::Verdict;
use super::diff::Diff;
use super::table::Row;
use crate::lab::host::dirs::dumps_dir;
use crate::lab::host::guest::GuestSpec;
use crate::lab::host::initramfs;
use crate::lab::host::qemu::{self, BootOptions};
use crate::lab::host::qmp::Qmp;
use crate::lab::kernels::kernel::Kernel;
use std::path::Path;
use std::time::Duration;

/// Guest-time slices between the stall hunt's dumps, and how many at most.
const HUNT_SLICE: Duration = Duration::from_secs(2);
const HUNT_MAX: u32 = 60;
/// The stall never begins this early after the scheduler starts (its BPF program is still
/// being verified): no dumps before.
const HUNT_HEAD_START: Duration = Duration::from_secs(20);

/// Hunts the stall of case `c` (see the module doc).
pub fn hunt_stall(scxray: &Path, kernel: &Kernel, c: &Case) -> Row {
    let mut v = Verdict::default();
    let guest = match c.guest(kernel) {
        Ok(g) => GuestSpec { quick_truth: true, ..g },
        Err(e) => return Row::failed(c.name, format!("guest: {e}")),
    };
    // A smaller guest dumps faster: each slice is a full dump.
    let opts = BootOptions {
        ready_timeout: Duration::from_secs(600),
        mem_mib: 256,
        numa_nodes: 1,
        ..BootOptions::default()
    };
    let initrd = initramfs_path(c.name);
    if let Err(e) = initramfs::build(&kernel.boot_kernel(), &guest, &initrd) {
        return Row::failed(c.name, format!("initramfs: {e}"));
    }
    let dir = dumps_dir();
    let files = [dir.join(format!("{}.core", c.name)), dir.join(format!("{}.later.core", c.name))];
    let mut found: Option<Diff> = None;
    let mut slices = 0;
    let mut drive = |qmp: &mut Qmp| -> Result<(), String> {
        std::thread::sleep(HUNT_HEAD_START);
        let mut prev: Option<usize> = None;
        for i in 0..HUNT_MAX {
            slices = i + 1;
            let cur = (i % 2) as usize;
            qemu::stop_and_dump(qmp, &files[cur], false)?;
            if let Some(p) = prev {
                let d = Diff::run(scxray, &files[p], &files[cur])?;
                if d.code == Some(4) && d.same_scheduler() {
                    found = Some(d);
                    return Ok(());
                }
            }
            prev = Some(cur);
            qmp.execute("cont", None)?;
            std::thread::sleep(HUNT_SLICE);
        }
        Ok(())
    };
    let boot =
        qemu::boot_drive(&kernel.boot_kernel(), &initrd, &opts, c.name, "SCXRAY-SCHED-START", &mut drive);
    let boot_secs = boot.as_ref().ok().copied();
    for f in &files {
        qemu::dig_holes(f);
    }
    if let Err(e) = boot {
        v.failures.push(format!("boot: {e}"));
    }
    match found {
        Some(d) => {
            let stuck = d.stuck();
            eprintln!(
                "xtask:     stuck pair after {slices} slices: {} starving tasks, {} stalled CPUs, {} dead DSQs",
                stuck.starving, stuck.stalled_cpus, stuck.dead_dsqs
            );
            v.check_named(stuck.total() > 0, "diff names what is stuck");
            v.tasks = stuck.starving;
        }
        None => v
            .failures
            .push(format!("no stuck pair of dumps in {slices} slices of {} s", HUNT_SLICE.as_secs())),
    }
    Row { name: c.name.into(), boot_secs, verdict: v }
}
