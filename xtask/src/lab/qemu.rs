//! Boots a kernel and initramfs under QEMU (TCG; x86_64 q35 or aarch64 virt, 4 CPUs in two
//! NUMA nodes, `-device vmcoreinfo`), waits for the guest init's `SCXRAY-READY`, then over QMP
//! stops the guest, writes `dump-guest-memory` (an ELF core, `paging: false`) and quits.

use super::apt;
use super::kernels::Kernel;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
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
    /// How long to wait for `SCXRAY-READY` on the serial console.
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
        }
    }
}

/// What the guest printed about itself (see [`super::initramfs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTruth {
    pub release: String,
    /// `/sys/kernel/sched_ext/state`, or `absent`.
    pub state: String,
    /// `/sys/kernel/sched_ext/root/ops`, or `none`.
    pub ops: String,
    /// Every scheduler directory under `/sys/kernel/sched_ext` (`sched ...` lines), the root
    /// first, sub-schedulers depth first.
    pub scheds: Vec<GuestSched>,
    /// `(cgroup path, pids)`: a sub-scheduler cgroup's `cgroup.procs` (`cgroup_tasks ...`).
    pub cgroup_tasks: Vec<(String, Vec<u32>)>,
    pub cpus_online: String,
    pub nr_cpus: u32,
    pub cmdline: String,
    /// Every task /proc listed.
    pub tasks: Vec<GuestTask>,
}

/// One scheduler as sysfs showed it: `sched <level> <cgroup id|-> <ops> <sysfs dir> <cgroup path>`
/// (see [`super::initramfs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestSched {
    /// Nesting depth under `/sys/kernel/sched_ext/root` (0: the root scheduler).
    pub level: u32,
    /// From the directory name `sub-<cgroup id>`; `-` for the root.
    pub cgroup_id: String,
    /// Its `ops` file.
    pub ops: String,
    /// Relative to `/sys/kernel/sched_ext` (`root`, `root/sub/sub-42`).
    pub sysfs: String,
    /// The cgroup2 path of the cgroup with that id (`/` for the root, `?`: not found).
    pub cgroup_path: String,
}

/// One task as the guest saw it just before `SCXRAY-READY`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTask {
    pub tid: u32,
    pub tgid: u32,
    /// `/proc/.../stat` state letter (`R`, `S`, `D`, `I`, ...).
    pub state: String,
    /// The CPU it last ran on (`-1`: unknown).
    pub cpu: i32,
    pub comm: String,
}

impl GuestTruth {
    /// Parses the lines between `SCXRAY-TRUTH-BEGIN` and `SCXRAY-TRUTH-END` of a serial log.
    pub fn parse(log: &str) -> Option<GuestTruth> {
        let start = log.find("SCXRAY-TRUTH-BEGIN")?;
        let body = &log[start..];
        let end = body.find("SCXRAY-TRUTH-END")?;
        let mut t = GuestTruth::default();
        for line in body[..end].lines().skip(1) {
            let line = line.trim_end_matches('\r');
            let (key, val) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "release" => t.release = val.to_owned(),
                "state" => t.state = val.to_owned(),
                "ops" => t.ops = val.to_owned(),
                "sched" => {
                    let f: Vec<&str> = val.splitn(5, ' ').collect();
                    if let [level, id, ops, sysfs, path] = f[..]
                        && let Ok(level) = level.parse()
                    {
                        t.scheds.push(GuestSched {
                            level,
                            cgroup_id: id.to_owned(),
                            ops: ops.to_owned(),
                            sysfs: sysfs.to_owned(),
                            cgroup_path: path.to_owned(),
                        });
                    }
                }
                "cgroup_tasks" => {
                    let mut f = val.split_whitespace();
                    let path = f.next().unwrap_or_default().to_owned();
                    t.cgroup_tasks.push((path, f.filter_map(|p| p.parse().ok()).collect()));
                }
                "cpus_online" => t.cpus_online = val.to_owned(),
                "nr_cpus" => t.nr_cpus = val.parse().unwrap_or(0),
                "cmdline" => t.cmdline = val.to_owned(),
                "task" => {
                    let f: Vec<&str> = val.splitn(5, ' ').collect();
                    if let [tid, tgid, state, cpu, comm] = f[..]
                        && let (Ok(tid), Ok(tgid)) = (tid.parse(), tgid.parse())
                    {
                        let (state, comm) = (state.to_owned(), comm.to_owned());
                        t.tasks.push(GuestTask { tid, tgid, state, cpu: cpu.parse().unwrap_or(-1), comm });
                    }
                }
                _ => {}
            }
        }
        Some(t)
    }

    /// The `<name>.truth.txt` form: the same `key value` lines the guest printed.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "release {}\nstate {}\nops {}\ncpus_online {}\nnr_cpus {}\ncmdline {}\n",
            self.release, self.state, self.ops, self.cpus_online, self.nr_cpus, self.cmdline
        );
        for x in &self.scheds {
            s.push_str(&format!(
                "sched {} {} {} {} {}\n",
                x.level, x.cgroup_id, x.ops, x.sysfs, x.cgroup_path
            ));
        }
        for (path, pids) in &self.cgroup_tasks {
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            s.push_str(&format!("cgroup_tasks {path} {}\n", pids.join(" ")));
        }
        for k in &self.tasks {
            s.push_str(&format!("task {} {} {} {} {}\n", k.tid, k.tgid, k.state, k.cpu, k.comm));
        }
        s
    }
}

/// The result of one boot.
#[derive(Debug, Clone)]
pub struct BootResult {
    /// `<cache>/dumps/<name>.core`: QEMU's ELF core of the guest.
    pub dump: PathBuf,
    /// `<cache>/dumps/<name>.truth.txt`.
    pub truth_file: PathBuf,
    /// `<cache>/dumps/<name>.serial.log`.
    pub serial_log: PathBuf,
    pub truth: GuestTruth,
    /// QEMU start to `SCXRAY-READY`.
    pub boot_secs: f64,
    /// `dump-guest-memory` duration.
    pub dump_secs: f64,
    /// What [`check_core`] found in the dump.
    pub core: CoreSummary,
    /// `(format, Some(path))` for each of [`BootOptions::extra_formats`] written, `(format,
    /// None)` for one this QEMU does not offer.
    pub extra_dumps: Vec<(String, Option<PathBuf>)>,
    /// `<cache>/dumps/<name>.later.core`, when [`BootOptions::later_dump`] asked for it.
    pub later_dump: Option<PathBuf>,
}

/// `<cache>/dumps`, or `$SCXRAY_DUMPS`: several lab runs at once (one per worktree) share the
/// cache's downloads and builds but must not overwrite each other's dumps.
pub fn dumps_dir() -> PathBuf {
    match std::env::var_os("SCXRAY_DUMPS").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => apt::cache_dir().join("dumps"),
    }
}

/// The QEMU command line (without the QMP and serial arguments) for `kernel`.
pub fn qemu_command(kernel: &Kernel, initrd: &Path, opts: &BootOptions) -> Result<Command, String> {
    let arm = kernel.spec.arch == "arm64";
    let (bin, pkg) = if arm {
        ("qemu-system-aarch64", "qemu-system-arm")
    } else {
        ("qemu-system-x86_64", "qemu-system-x86")
    };
    apt::ensure_host_tool(bin, pkg)?;
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
    if !opts.kaslr {
        append.push("nokaslr".into());
    }
    append.extend(opts.extra_append.iter().cloned());
    c.args(["-device", "vmcoreinfo", "-kernel"]).arg(&kernel.vmlinuz).arg("-initrd").arg(initrd);
    c.args(["-append", &append.join(" ")]);
    c.args(["-nodefaults", "-display", "none", "-no-reboot"]);
    Ok(c)
}

/// A minimal QMP client.
#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects (retrying while QEMU creates the socket), reads the greeting and negotiates
    /// capabilities.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, String> {
        let start = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if start.elapsed() > timeout => {
                    return Err(format!("QMP connect {}: {e}", path.display()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        let writer = stream.try_clone().map_err(|e| format!("QMP: {e}"))?;
        let mut q = Qmp { reader: BufReader::new(stream), writer };
        let greeting = q.read_line()?;
        if !greeting.contains("\"QMP\"") {
            return Err(format!("unexpected QMP greeting: {greeting}"));
        }
        q.execute("qmp_capabilities", None)?;
        Ok(q)
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| format!("QMP read: {e}"))?;
        if n == 0 {
            return Err("QMP: connection closed".into());
        }
        Ok(line)
    }

    /// Sends one command (arguments as a JSON object text) and returns its `return` line,
    /// skipping asynchronous events; an `error` reply is an error.
    pub fn execute(&mut self, cmd: &str, args: Option<&str>) -> Result<String, String> {
        let msg = match args {
            Some(a) => format!("{{\"execute\":\"{cmd}\",\"arguments\":{a}}}\n"),
            None => format!("{{\"execute\":\"{cmd}\"}}\n"),
        };
        self.writer.write_all(msg.as_bytes()).map_err(|e| format!("QMP write: {e}"))?;
        loop {
            let line = self.read_line()?;
            if line.contains("\"return\"") {
                return Ok(line);
            }
            if line.contains("\"error\"") {
                return Err(format!("QMP {cmd}: {}", line.trim()));
            }
        }
    }
}

/// JSON string literal for a path (escapes `\` and `"`).
fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Kills QEMU if the boot is abandoned.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Boots `kernel` with `initrd`, waits for `SCXRAY-READY`, dumps the guest's memory and quits.
/// Leaves `<cache>/dumps/<name>.{core,truth.txt,serial.log}`.
pub fn boot_and_dump(
    kernel: &Kernel,
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
    /// At `marker`: hand QEMU's monitor to the closure, then quit.
    Drive(&'a str, &'a mut dyn FnMut(&mut Qmp) -> Result<(), String>),
}

/// Boots `kernel` and, as soon as the guest prints `marker`, hands QEMU's monitor to `drive`
/// (to stop, dump and continue the guest as it likes); then quits.
pub fn boot_drive(
    kernel: &Kernel,
    initrd: &Path,
    opts: &BootOptions,
    name: &str,
    marker: &str,
    drive: &mut dyn FnMut(&mut Qmp) -> Result<(), String>,
) -> Result<f64, String> {
    boot_and(kernel, initrd, opts, name, Mode::Drive(marker, drive)).map(|r| r.boot_secs)
}

/// Stops the guest, dumps its memory to `path` (an ELF core; `sparse` punches holes in its
/// zero pages afterwards), and leaves it stopped.
pub fn stop_and_dump(qmp: &mut Qmp, path: &Path, sparse: bool) -> Result<(), String> {
    qmp.execute("stop", None)?;
    let _ = fs::remove_file(path);
    let args = format!("{{\"paging\":false,\"protocol\":{}}}", json_str(&format!("file:{}", path.display())));
    qmp.execute("dump-guest-memory", Some(&args))?;
    if sparse {
        let _ = Command::new("fallocate").arg("--dig-holes").arg(path).status();
    }
    Ok(())
}

/// Boots like [`boot_and_dump`], but at `SCXRAY-READY` runs `live` while the guest keeps
/// running (no dump), then quits it.
pub fn boot_live(
    kernel: &Kernel,
    initrd: &Path,
    opts: &BootOptions,
    name: &str,
    live: &mut dyn FnMut(&GuestTruth) -> Result<(), String>,
) -> Result<BootResult, String> {
    boot_and(kernel, initrd, opts, name, Mode::Live(live))
}

fn boot_and(
    kernel: &Kernel,
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
    let _ = fs::remove_file(&sock);
    let mut cmd = qemu_command(kernel, initrd, opts)?;
    cmd.arg("-serial").arg(format!("file:{}", serial_log.display()));
    cmd.arg("-qmp").arg(format!("unix:{},server=on,wait=off", sock.display()));
    let qemu_log = dir.join(format!("{name}.qemu.log"));
    let errf = fs::File::create(&qemu_log).map_err(|e| format!("create {}: {e}", qemu_log.display()))?;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(errf);
    eprintln!("xtask: ==> boot {} ({name})", kernel.release);
    let start = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("cannot start QEMU: {e}"))?;
    let mut guard = Guard(child);
    let mut qmp = Qmp::connect(&sock, Duration::from_secs(30))?;
    // Wait for the ready marker.
    let mut last_len = 0;
    let log = loop {
        let text =
            fs::read(&serial_log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
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
        if start.elapsed() > opts.ready_timeout {
            return Err(format!(
                "no SCXRAY-READY after {} s; serial log {}:\n{}",
                opts.ready_timeout.as_secs(),
                serial_log.display(),
                tail(&text, 40)
            ));
        }
        if text.len() != last_len {
            for l in text[last_len..].lines().filter(|l| l.starts_with("SCXRAY-")) {
                eprintln!("xtask:     {:6.1} s  {}", start.elapsed().as_secs_f64(), l.trim_end());
            }
            last_len = text.len();
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let boot_secs = start.elapsed().as_secs_f64();
    let truth = match &mode {
        Mode::Drive(..) => GuestTruth::default(),
        _ => GuestTruth::parse(&log).ok_or("the guest printed no truth block")?,
    };
    // The modes that do not dump: the closure runs while the guest is up, then QEMU quits.
    let ran = match mode {
        Mode::Drive(_, drive) => Some(drive(&mut qmp)),
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
            dump_secs: 0.0,
            core: CoreSummary::default(),
            extra_dumps: Vec::new(),
            later_dump: None,
        });
    }
    qmp.execute("stop", None)?;
    let t = Instant::now();
    let args = format!("{{\"paging\":false,\"protocol\":{}}}", json_str(&format!("file:{}", dump.display())));
    qmp.execute("dump-guest-memory", Some(&args))?;
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
            let args = format!(
                "{{\"paging\":false,\"format\":{},\"protocol\":{}}}",
                json_str(format),
                json_str(&format!("file:{}", path.display()))
            );
            qmp.execute("dump-guest-memory", Some(&args))?;
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
            qmp.execute("stop", None)?;
            let args = format!(
                "{{\"paging\":false,\"protocol\":{}}}",
                json_str(&format!("file:{}", later.display()))
            );
            qmp.execute("dump-guest-memory", Some(&args))?;
            let _ = Command::new("fallocate").arg("--dig-holes").arg(&later).status();
            Some(later)
        }
        None => None,
    };
    let _ = qmp.execute("quit", None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while matches!(guard.0.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(guard);
    let _ = fs::remove_file(&sock);
    let mut core = check_core(&dump)?;
    // Most of a small guest's memory is zero: punch holes so the file is sparse on disk
    // (contents unchanged).
    let _ = Command::new("fallocate").arg("--dig-holes").arg(&dump).status();
    core.disk_bytes =
        fs::metadata(&dump).map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512).unwrap_or(0);
    let header = format!(
        "# scxray lab guest truth: kernel {} ({}), {}, boot {boot_secs:.1} s, dump {dump_secs:.1} s\n",
        kernel.spec.name,
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
        dump_secs,
        core,
        extra_dumps,
        later_dump,
    })
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What an ELF core holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreSummary {
    pub size: u64,
    /// Bytes the (sparse) file takes on disk.
    pub disk_bytes: u64,
    pub pt_load: usize,
    /// Bytes of guest memory the PT_LOAD segments carry.
    pub load_bytes: u64,
    /// The VMCOREINFO note's text, when present.
    pub vmcoreinfo: Option<String>,
    /// Names of the notes (e.g. `CORE`, `QEMU`, `VMCOREINFO`), with counts.
    pub notes: Vec<(String, usize)>,
}

/// Reads a dump's ELF header, program headers and notes (not the memory).
pub fn check_core(path: &Path) -> Result<CoreSummary, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = fs::File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut eh = [0u8; 64];
    f.read_exact(&mut eh).map_err(|e| format!("read ELF header: {e}"))?;
    if &eh[..4] != b"\x7fELF" || eh[4] != 2 || u16::from_le_bytes([eh[16], eh[17]]) != 4 {
        return Err(format!("{} is not an ELF64 core", path.display()));
    }
    let phoff = u64::from_le_bytes(eh[0x20..0x28].try_into().unwrap_or([0; 8]));
    let phentsize = u64::from(u16::from_le_bytes([eh[0x36], eh[0x37]]));
    let phnum = u64::from(u16::from_le_bytes([eh[0x38], eh[0x39]]));
    let mut ph = vec![0u8; (phentsize * phnum) as usize];
    f.seek(SeekFrom::Start(phoff))
        .and_then(|_| f.read_exact(&mut ph))
        .map_err(|e| format!("read phdrs: {e}"))?;
    let mut s = CoreSummary { size, ..Default::default() };
    let u32at = |d: &[u8], o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64at = |d: &[u8], o: usize| u64::from_le_bytes(d[o..o + 8].try_into().unwrap_or([0; 8]));
    for i in 0..phnum as usize {
        let p = &ph[i * phentsize as usize..];
        match u32at(p, 0) {
            1 => {
                s.pt_load += 1;
                s.load_bytes += u64at(p, 32);
            }
            4 => {
                let (off, len) = (u64at(p, 8), u64at(p, 32));
                let mut notes = vec![0u8; len as usize];
                f.seek(SeekFrom::Start(off))
                    .and_then(|_| f.read_exact(&mut notes))
                    .map_err(|e| format!("read notes: {e}"))?;
                let mut o = 0usize;
                while o + 12 <= notes.len() {
                    let (nsz, dsz) = (u32at(&notes, o) as usize, u32at(&notes, o + 4) as usize);
                    let name_end = (o + 12 + nsz).min(notes.len());
                    let name =
                        String::from_utf8_lossy(&notes[o + 12..name_end]).trim_end_matches('\0').to_owned();
                    let d0 = o + 12 + nsz.div_ceil(4) * 4;
                    let d1 = (d0 + dsz).min(notes.len());
                    if name == "VMCOREINFO" && d0 <= d1 {
                        s.vmcoreinfo = Some(String::from_utf8_lossy(&notes[d0..d1]).into_owned());
                    }
                    match s.notes.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, c)) => *c += 1,
                        None => s.notes.push((name, 1)),
                    }
                    o = d0 + dsz.div_ceil(4) * 4;
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_parses_and_round_trips() {
        let log = "noise\r\nSCXRAY-TRUTH-BEGIN\r\nrelease 7.3.4+deb13-cloud-amd64\r\nstate enabled\r\n\
                   ops qmap\r\nsched 0 - qmap root /\r\nsched 1 42 qmap root/sub/sub-42 /scxsub1\r\n\
                   cgroup_tasks /scxsub1 120 121\r\ncpus_online 0-3\r\nnr_cpus 4\r\ncmdline console=ttyS0\r\n\
                   task 1 1 S 0 init\r\ntask 7 7 I -1 kworker/R-a b\r\nSCXRAY-TRUTH-END\r\nSCXRAY-READY\r\n";
        let t = GuestTruth::parse(log).unwrap();
        assert_eq!(
            (t.release.as_str(), t.state.as_str(), t.ops.as_str()),
            ("7.3.4+deb13-cloud-amd64", "enabled", "qmap")
        );
        assert_eq!(t.nr_cpus, 4);
        assert_eq!(t.scheds.len(), 2);
        assert_eq!(
            t.scheds[1],
            GuestSched {
                level: 1,
                cgroup_id: "42".into(),
                ops: "qmap".into(),
                sysfs: "root/sub/sub-42".into(),
                cgroup_path: "/scxsub1".into()
            }
        );
        assert_eq!(t.cgroup_tasks, vec![("/scxsub1".to_owned(), vec![120, 121])]);
        assert_eq!(t.tasks.len(), 2);
        assert_eq!(
            t.tasks[1],
            GuestTask { tid: 7, tgid: 7, state: "I".into(), cpu: -1, comm: "kworker/R-a b".into() }
        );
        let again =
            GuestTruth::parse(&format!("SCXRAY-TRUTH-BEGIN\n{}SCXRAY-TRUTH-END\n", t.to_text())).unwrap();
        assert_eq!(again, t);
    }
}
