//! Boots a kernel and initramfs under QEMU (TCG; x86_64 q35 or aarch64 virt, 4 CPUs in two
//! NUMA nodes, `-device vmcoreinfo`), waits for the guest init's `SCXRAY-READY`, then over QMP
//! stops the guest, writes `dump-guest-memory` (an ELF core, `paging: false`) and quits.
//! What a boot leaves is in the run directory ([`dumps_dir`]): `<name>.core`, `.truth.txt`,
//! `.serial.log`, `.qemu.log` (and `.later.core`, `.<format>.kdump` when asked).

use super::boot_kernel::BootKernel;
use super::dirs::dumps_dir;
use super::elf_core::{CoreSummary, check_core};
use super::qmp::Qmp;
use super::system::ensure_host_tool;
use super::truth::{GuestTruth, gone_after};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOptions {
    /// `false` adds `nokaslr` to the command line.
    pub kaslr: bool,
    /// x86 only: `false` boots `-cpu max,la57=off` (4-level paging); `true` lets `-cpu max`
    /// offer LA57 (the 7.x kernels then run 5-level paging).
    pub la57: bool,
    pub cpus: u32,
    pub mem_mib: u32,
    /// NUMA nodes (CPUs and memory split evenly); 0 or 1: none.
    pub numa_nodes: u32,
    /// How long the guest may go without progress, a new `SCXRAY-` line on its console,
    /// before the wait for `SCXRAY-READY` is given up; stretched by the boot's [`Pace`].
    pub ready_timeout: Duration,
    /// More kernel command line words.
    pub extra_append: Vec<String>,
    /// Let the guest run this long after the first dump, then dump it again to
    /// `<name>.later.core` (for `scxray diff`).
    pub later_dump: Option<Duration>,
    /// Back the guest's RAM with this file, shared (`memory-backend-file,share=on`), so the host
    /// can read it while the guest runs. Needs `numa_nodes <= 1`.
    pub ram_file: Option<PathBuf>,
    /// Also dump the stopped guest in these `dump-guest-memory` formats (`kdump-zlib`,
    /// `kdump-lzo`, `kdump-snappy`, `kdump-raw-*` on QEMU 8.2+), to `<name>.<format>.kdump`,
    /// right after the ELF core: the same instant, another writer's format. Formats this QEMU
    /// does not offer are skipped (see [`BootResult::extra_dumps`]).
    pub extra_formats: Vec<String>,
    /// More QEMU arguments (a second `-qmp` monitor for a tool that needs its own).
    pub extra_args: Vec<String>,
}

impl Default for BootOptions {
    fn default() -> Self {
        Self {
            kaslr: true,
            la57: true,
            cpus: 4,
            mem_mib: 512,
            numa_nodes: 2,
            ready_timeout: Duration::from_secs(900),
            extra_append: Vec::new(),
            later_dump: None,
            ram_file: None,
            extra_formats: Vec::new(),
            extra_args: Vec::new(),
        }
    }
}

/// A 7.x kernel's time from QEMU's start to the guest's `SCXRAY-BOOTED` under TCG on a quiet
/// lab host (6.12 and the 16 KiB arm64 kernel boot faster; the README has the times to ready).
const QUIET_BOOT: Duration = Duration::from_secs(15);
/// The most a slow boot stretches the waits for a guest.
const MAX_SLOWDOWN: f64 = 4.0;
/// How long the guest may take after its last dump to say which listed tasks are gone
/// (stretched by the pace): it waits 2 s, then looks for each (see `super::init`).
const GONE_WAIT: Duration = Duration::from_secs(60);

/// How slowly a guest runs compared with a quiet host: its time from QEMU's start to
/// `SCXRAY-BOOTED` over [`QUIET_BOOT`], between 1 and [`MAX_SLOWDOWN`]. Under TCG on a loaded
/// host everything in the guest stretches alike (the baseline run at load 15 booted in 29-38 s
/// and enabled scx_qmap in ~290 s instead of ~76), so the waits for a guest are stretched by
/// it: the wait for `SCXRAY-READY`, the stall hunt's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    factor: f64,
}

impl Default for Pace {
    /// A quiet host's pace (before the guest has booted).
    fn default() -> Self {
        Self { factor: 1.0 }
    }
}

impl Pace {
    /// The pace of a guest that took `booted` from QEMU's start to `SCXRAY-BOOTED`.
    pub fn of_boot(booted: Duration) -> Pace {
        Pace { factor: (booted.as_secs_f64() / QUIET_BOOT.as_secs_f64()).clamp(1.0, MAX_SLOWDOWN) }
    }

    /// How many times slower than a quiet host (1 to [`MAX_SLOWDOWN`]).
    pub fn factor(self) -> f64 {
        self.factor
    }

    /// `d` at this pace.
    pub fn stretch(self, d: Duration) -> Duration {
        d.mul_f64(self.factor)
    }
}

/// The result of one boot.
#[derive(Debug, Clone)]
pub struct BootResult {
    /// `<dumps>/<name>.core`: QEMU's ELF core of the guest.
    pub dump: PathBuf,
    /// `<dumps>/<name>.truth.txt`.
    pub truth_file: PathBuf,
    /// `<dumps>/<name>.serial.log`.
    pub serial_log: PathBuf,
    pub truth: GuestTruth,
    /// QEMU start to `SCXRAY-READY`.
    pub boot_secs: f64,
    /// How fast the guest ran (see [`Pace`]).
    pub pace: Pace,
    /// Why the truth may not describe the dump ([`GuestTruth::unsettled`] with the console as
    /// it was a moment after the last dump), or `None`. The dump is not to be checked then.
    pub unsettled: Option<String>,
    /// `dump-guest-memory` duration.
    pub dump_secs: f64,
    /// What [`check_core`] found in the dump.
    pub core: CoreSummary,
    /// `(format, Some(path))` for each of [`BootOptions::extra_formats`] written, `(format,
    /// None)` for one this QEMU does not offer.
    pub extra_dumps: Vec<(String, Option<PathBuf>)>,
    /// `<dumps>/<name>.later.core`, when [`BootOptions::later_dump`] asked for it.
    pub later_dump: Option<PathBuf>,
}

/// The QEMU command line (without the QMP and serial arguments) for `kernel`.
fn qemu_command(kernel: &BootKernel<'_>, initrd: &Path, opts: &BootOptions) -> Result<Command, String> {
    let arm = kernel.is_arm64();
    let (bin, pkg) = if arm {
        ("qemu-system-aarch64", "qemu-system-arm")
    } else {
        ("qemu-system-x86_64", "qemu-system-x86")
    };
    ensure_host_tool(bin, pkg)?;
    let mut c = Command::new(bin);
    if arm {
        c.args(["-machine", "virt", "-accel", "tcg,thread=single", "-cpu", "max,pauth-impdef=on"]);
    } else {
        let cpu = if opts.la57 { "max" } else { "max,la57=off" };
        c.args(["-machine", "q35", "-accel", "tcg,thread=single", "-cpu", cpu]);
    }
    c.args(["-smp", &opts.cpus.to_string(), "-m", &format!("{}M", opts.mem_mib)]);
    if let Some(file) = &opts.ram_file {
        if opts.numa_nodes > 1 {
            return Err("a shared RAM file needs a guest without NUMA nodes".into());
        }
        c.args([
            "-object",
            &format!(
                "memory-backend-file,id=ram0,size={}M,mem-path={},share=on",
                opts.mem_mib,
                file.display()
            ),
            "-machine",
            "memory-backend=ram0",
        ]);
    }
    if opts.numa_nodes > 1 {
        let n = opts.numa_nodes;
        if !opts.mem_mib.is_multiple_of(n) || !opts.cpus.is_multiple_of(n) {
            return Err(format!("{n} NUMA nodes need CPUs and memory divisible by {n}"));
        }
        let (per_cpu, per_mem) = (opts.cpus / n, opts.mem_mib / n);
        for i in 0..n {
            c.args(["-object", &format!("memory-backend-ram,id=m{i},size={per_mem}M")]);
            let cpus = format!("{}-{}", i * per_cpu, (i + 1) * per_cpu - 1);
            c.args(["-numa", &format!("node,nodeid={i},cpus={cpus},memdev=m{i}")]);
        }
    }
    let console = if arm { "ttyAMA0" } else { "ttyS0" };
    let mut append = vec![format!("console={console}"), "panic=-1".into(), "loglevel=4".into()];
    if !arm {
        // The IO-APIC timer check counts timer interrupts in a fixed window: under TCG on a
        // loaded host it misses them and panics ("IO-APIC + timer doesn't work!", 6.12 in the
        // baseline run at load 15). It only skips that check; the timer is the same.
        append.push("no_timer_check".into());
    }
    if !opts.kaslr {
        append.push("nokaslr".into());
    }
    append.extend(opts.extra_append.iter().cloned());
    c.args(["-device", "vmcoreinfo", "-kernel"]).arg(kernel.image).arg("-initrd").arg(initrd);
    c.args(["-append", &append.join(" ")]);
    c.args(["-nodefaults", "-display", "none", "-no-reboot"]);
    c.args(&opts.extra_args);
    Ok(c)
}

/// Kills QEMU if the boot is abandoned.
struct Guard(Child);

/// How long a guest may take to reach its init (`SCXRAY-BOOTED`) before its boot is taken
/// for hung and QEMU is started again: boots take 10-95 s on this lab's hosts, 300 s leaves
/// room for a loaded one.
const EARLY_BOOT_HANG: Duration = Duration::from_secs(300);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Boots `kernel` with `initrd`, waits for `SCXRAY-READY`, dumps the guest's memory and quits.
/// Leaves `<dumps>/<name>.{core,truth.txt,serial.log}`.
pub fn boot_and_dump(
    kernel: &BootKernel<'_>,
    initrd: &Path,
    opts: &BootOptions,
    name: &str,
) -> Result<BootResult, String> {
    boot_and(kernel, initrd, opts, name, Mode::Dump)
}

/// What to do with a booted guest.
enum Mode<'a> {
    /// At `SCXRAY-READY`: stop, dump, quit.
    Dump,
    /// At `SCXRAY-READY`: run the closure while the guest keeps running, then quit.
    Live(&'a mut dyn FnMut(&GuestTruth) -> Result<(), String>),
    /// At `marker`: hand QEMU's monitor and the guest's pace to the closure, then quit.
    Drive(&'a str, &'a mut dyn FnMut(&mut Qmp, Pace) -> Result<(), String>),
}

/// Boots `kernel` and, as soon as the guest prints `marker`, hands QEMU's monitor to `drive`
/// with the guest's [`Pace`] (to stop, dump and continue the guest as it likes); then quits.
/// Returns the time to `marker`.
pub fn boot_drive(
    kernel: &BootKernel<'_>,
    initrd: &Path,
    opts: &BootOptions,
    name: &str,
    marker: &str,
    drive: &mut dyn FnMut(&mut Qmp, Pace) -> Result<(), String>,
) -> Result<f64, String> {
    boot_and(kernel, initrd, opts, name, Mode::Drive(marker, drive)).map(|r| r.boot_secs)
}

/// Stops the guest, dumps its memory to `path` (an ELF core; `sparse` punches holes in its
/// zero pages afterwards), and leaves it stopped.
pub fn stop_and_dump(qmp: &mut Qmp, path: &Path, sparse: bool) -> Result<(), String> {
    qmp.execute("stop", None)?;
    let _ = fs::remove_file(path);
    qmp.dump_guest_memory(path, None)?;
    if sparse {
        dig_holes(path);
    }
    Ok(())
}

/// Boots like [`boot_and_dump`], but at `SCXRAY-READY` runs `live` while the guest keeps
/// running (no dump), then quits it.
pub fn boot_live(
    kernel: &BootKernel<'_>,
    initrd: &Path,
    opts: &BootOptions,
    name: &str,
    live: &mut dyn FnMut(&GuestTruth) -> Result<(), String>,
) -> Result<BootResult, String> {
    boot_and(kernel, initrd, opts, name, Mode::Live(live))
}

fn boot_and(
    kernel: &BootKernel<'_>,
    initrd: &Path,
    opts: &BootOptions,
    name: &str,
    mode: Mode<'_>,
) -> Result<BootResult, String> {
    let marker = match &mode {
        Mode::Drive(m, _) => *m,
        _ => "SCXRAY-READY",
    };
    let dir = dumps_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let dump = dir.join(format!("{name}.core"));
    let truth_file = dir.join(format!("{name}.truth.txt"));
    let serial_log = dir.join(format!("{name}.serial.log"));
    for f in [&dump, &truth_file, &serial_log] {
        let _ = fs::remove_file(f);
    }
    // The socket lives in the temp dir: unix socket paths are limited to ~108 bytes.
    let sock = std::env::temp_dir().join(format!("scxray-qmp-{}-{name}.sock", std::process::id()));
    let qemu_log = dir.join(format!("{name}.qemu.log"));
    let launch = || -> Result<(Guard, Qmp, Instant), String> {
        let _ = fs::remove_file(&serial_log);
        let _ = fs::remove_file(&sock);
        let mut cmd = qemu_command(kernel, initrd, opts)?;
        cmd.arg("-serial").arg(format!("file:{}", serial_log.display()));
        cmd.arg("-qmp").arg(format!("unix:{},server=on,wait=off", sock.display()));
        let errf = fs::File::create(&qemu_log).map_err(|e| format!("create {}: {e}", qemu_log.display()))?;
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(errf);
        let start = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("cannot start QEMU: {e}"))?;
        let guard = Guard(child);
        let qmp = Qmp::connect(&sock, Duration::from_secs(30))?;
        Ok((guard, qmp, start))
    };
    eprintln!("xtask: ==> boot {} ({name})", kernel.release);
    let (mut guard, mut qmp, mut start) = launch()?;
    let mut relaunched = false;
    // Wait for the ready marker while the guest makes progress.
    let (mut seen, mut pace, mut progress_at, mut booted) = (0, Pace::default(), start, false);
    let log = loop {
        let text = console_text(&serial_log);
        if text.contains(marker) {
            break text;
        }
        if let Ok(Some(status)) = guard.0.try_wait() {
            let err = fs::read_to_string(&qemu_log).unwrap_or_default();
            return Err(format!(
                "QEMU exited ({status}) before the guest was ready: {err}\n{}",
                tail(&text, 40)
            ));
        }
        // Whole lines only: a marker is looked at once, when it is complete.
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        for l in text.get(seen..complete).unwrap_or_default().lines().filter(|l| l.starts_with("SCXRAY-")) {
            eprintln!("xtask:     {name} {:6.1} s  {}", start.elapsed().as_secs_f64(), l.trim_end());
            progress_at = Instant::now();
            if l.starts_with("SCXRAY-BOOTED") {
                booted = true;
                pace = Pace::of_boot(start.elapsed());
                eprintln!(
                    "xtask:     {name} booted {:.1}x slower than a quiet host: waits stretched as much",
                    pace.factor()
                );
            }
        }
        seen = complete.max(seen);
        // A guest that never reaches its init hung in early boot (seen once under TCG: an
        // empty console for 15 minutes, where a boot takes 10-95 s): QEMU is started again,
        // once, rather than waiting out the progress timeout and failing the run.
        if !booted && !relaunched && start.elapsed() > EARLY_BOOT_HANG {
            eprintln!(
                "xtask:     {name}: no SCXRAY-BOOTED after {} s (an early-boot hang): starting QEMU again",
                start.elapsed().as_secs()
            );
            let _ = qmp.execute("quit", None);
            drop(guard);
            (guard, qmp, start) = launch()?;
            (seen, progress_at, relaunched) = (0, start, true);
            continue;
        }
        let limit = pace.stretch(opts.ready_timeout);
        if progress_at.elapsed() > limit {
            return Err(format!(
                "no SCXRAY-READY: no progress for {} s ({} s after QEMU's start); serial log {}:\n{}",
                limit.as_secs(),
                start.elapsed().as_secs(),
                serial_log.display(),
                tail(&text, 40)
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let boot_secs = start.elapsed().as_secs_f64();
    let mut truth = match &mode {
        Mode::Drive(..) => GuestTruth::default(),
        _ => GuestTruth::parse(&log).ok_or("the guest printed no truth block")?,
    };
    // The modes that do not dump: the closure runs while the guest is up, then QEMU quits.
    let ran = match mode {
        Mode::Drive(_, drive) => Some(drive(&mut qmp, pace)),
        Mode::Live(live) => Some(live(&truth)),
        Mode::Dump => None,
    };
    if let Some(r) = ran {
        let _ = qmp.execute("quit", None);
        drop(guard);
        let _ = fs::remove_file(&sock);
        r?;
        return Ok(BootResult {
            dump: PathBuf::new(),
            truth_file,
            serial_log,
            truth,
            boot_secs,
            pace,
            unsettled: None,
            dump_secs: 0.0,
            core: CoreSummary::default(),
            extra_dumps: Vec::new(),
            later_dump: None,
        });
    }
    qmp.execute("stop", None)?;
    let t = Instant::now();
    qmp.dump_guest_memory(&dump, None)?;
    let dump_secs = t.elapsed().as_secs_f64();
    let mut extra_dumps = Vec::new();
    if !opts.extra_formats.is_empty() {
        let offered = qmp.execute("query-dump-guest-memory-capability", None)?;
        for format in &opts.extra_formats {
            if !offered.contains(&format!("\"{format}\"")) {
                eprintln!("xtask:     this QEMU does not offer dump format {format}");
                extra_dumps.push((format.clone(), None));
                continue;
            }
            let path = dir.join(format!("{name}.{format}.kdump"));
            let _ = fs::remove_file(&path);
            let t = Instant::now();
            qmp.dump_guest_memory(&path, Some(format))?;
            eprintln!("xtask:     {format} dump in {:.1} s", t.elapsed().as_secs_f64());
            extra_dumps.push((format.clone(), Some(path)));
        }
    }
    let later_dump = match opts.later_dump {
        Some(wait) => {
            let later = dir.join(format!("{name}.later.core"));
            let _ = fs::remove_file(&later);
            qmp.execute("cont", None)?;
            std::thread::sleep(wait);
            stop_and_dump(&mut qmp, &later, true)?;
            Some(later)
        }
        None => None,
    };
    // The guest runs on to say which listed tasks are gone; an exit under way at the last dump
    // shows on the console by then.
    qmp.execute("cont", None)?;
    let deadline = Instant::now() + pace.stretch(GONE_WAIT);
    let console = loop {
        let text = console_text(&serial_log);
        if gone_after(&text).is_some() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    match gone_after(&console) {
        Some(gone) => truth.gone_after = gone,
        None => eprintln!(
            "xtask:     {name}: the guest did not say which listed tasks are gone after the dump \
             (no SCXRAY-GONE-END in {} s): a listed task missing from the dump is a failure",
            pace.stretch(GONE_WAIT).as_secs()
        ),
    }
    let unsettled = truth.unsettled(&console);
    if let Some(why) = &unsettled {
        eprintln!("xtask:     {name}: the truth may not describe the dump: {why}");
    }
    let _ = qmp.execute("quit", None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while matches!(guard.0.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(guard);
    let _ = fs::remove_file(&sock);
    let mut core = check_core(&dump)?;
    dig_holes(&dump);
    core.disk_bytes =
        fs::metadata(&dump).map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512).unwrap_or(0);
    let header = format!(
        "# scxray lab guest truth: kernel {} ({}), {}, boot {boot_secs:.1} s, dump {dump_secs:.1} s\n",
        kernel.name,
        kernel.version,
        if opts.kaslr { "kaslr" } else { "nokaslr" },
    );
    fs::write(&truth_file, header + &truth.to_text()).map_err(|e| format!("write truth: {e}"))?;
    eprintln!("xtask: <== boot {name}: ready after {boot_secs:.1} s, dump {dump_secs:.1} s");
    Ok(BootResult {
        dump,
        truth_file,
        serial_log,
        truth,
        boot_secs,
        pace,
        unsettled,
        dump_secs,
        core,
        extra_dumps,
        later_dump,
    })
}

/// Punches holes where a dump's pages are zero (`fallocate --dig-holes`; contents unchanged):
/// most of a small guest's memory is zero, and a sparse file takes a fraction of the disk.
pub fn dig_holes(dump: &Path) {
    let _ = Command::new("fallocate").arg("--dig-holes").arg(dump).status();
}

/// What the guest wrote to its console so far (the serial log; empty before it exists).
pub fn console_text(serial_log: &Path) -> String {
    fs::read(serial_log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
