//! The `scxray` command.

use clap::{Args, Parser, Subcommand, ValueEnum};
use scxray::error::exit;
use scxray::source::qemu::layout::RamSpec;
use scxray::source::{AttachSpec, Memory};
use scxray::target::Preset;
use scxray::{Error, Inputs, Report, Target};
use scxray_core::Limits;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Read a Linux sched_ext scheduler's state out of a VM's memory or a memory dump.
///
/// scxray walks the kernel's own data structures (per-CPU rq->scx, every dispatch queue, the
/// scx_tasks list, the scx_sched root) in guest physical memory. Nothing runs inside the guest.
#[derive(Parser, Debug)]
#[command(
    name = "scxray",
    version,
    after_long_help = "EXAMPLES:\n  \
        scxray dump guest.core             (symbols and BTF found in the guest's own memory)\n  \
        scxray diff before.core after.core (what is stuck between two dumps; exit 4 if anything)\n  \
        scxray dump guest.core --vmlinux vmlinux-7.3.4+deb13-cloud-amd64\n  \
        scxray dump guest.core --vmlinux vmlinux --format json > state.json\n  \
        scxray dump guest.core --system-map System.map --btf vmlinux.btf\n  \
        scxray info guest.core --vmlinux vmlinux\n\n\
        scxray dump --qemu 4242            (a running QEMU, read through /proc/4242/mem; not paused)\n  \
        scxray dump --qmp /tmp/qmp.sock    (the same, its RAM layout from QEMU's monitor)\n  \
        scxray dump                        (the running host: /proc/kcore, as root)\n\n\
        Memory dumps: QEMU's `dump-guest-memory` (paging=false) or a kdump /proc/vmcore copy (ELF),\n\
        a kdump-compressed core (makedumpfile; QEMU's kdump-zlib/-lzo/-snappy, plain or flattened),\n\
        or a raw image of guest RAM (--raw-base gives its first physical address). A guest started\n\
        with -device vmcoreinfo (and qemu_fw_cfg loaded) writes the VMCOREINFO note scxray uses for\n\
        KASLR and page tables; without it scxray searches memory for the kernel's VMCOREINFO text.\n\n\
        EXIT STATUS:\n  \
        0  the walk ran (see `problems` and `truncated` in the output)\n  \
        1  internal error (a bug in scxray)\n  \
        2  bad input: unreadable, truncated or mismatched files, bad arguments\n  \
        3  unsupported kernel: no sched_ext in it, or not x86_64/aarch64\n  \
        4  `diff` found something stuck (dead DSQs, starving tasks, stalled CPUs)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Walk the scheduler's state and print it.
    Dump(DumpArgs),
    /// Say what was detected in a dump and how (architecture, release, KASLR, paging, BTF).
    Info(InfoArgs),
    /// Print guest kernel memory at a virtual address or symbol, as 64-bit words (like crash's
    /// `rd`), with the physical address each page translated to.
    Read(ReadArgs),
    /// Compare two dumps (or two `dump --format json` reports) of the same guest taken apart
    /// in time: which DSQs are dead (tasks queued, nothing moved), draining or growing, which
    /// tasks starve (runnable_at unchanged), which CPUs stalled (work queued, clock unchanged).
    /// Exit status 0 when healthy, 4 when something is stuck.
    Diff(DiffArgs),
    /// Turn a wire dump from an embedded scxray (firmware, a hypervisor's monitor; see the
    /// README's "Embedding scxray") into the report `dump` prints.
    Decode(DecodeArgs),
}

#[derive(Args, Debug)]
struct DecodeArgs {
    /// The postcard-encoded dump (wire format version 1).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The earlier dump (ELF core, raw image) or JSON report.
    a: PathBuf,
    /// The later dump or JSON report.
    b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Kernel files for dumps that need them (apply to both).
    #[command(flatten)]
    files: KernelFiles,
}

/// A report from a JSON file, or from walking a dump.
fn load_report(path: &std::path::Path, d: &DiffArgs) -> Result<Report, Error> {
    let head = std::fs::read(path).map_err(|e| Error::io(path, e)).map(|b| b.first().copied())?;
    if head == Some(b'{') {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        return serde_json::from_str(&text)
            .map_err(|e| Error::BadInput(format!("{}: not a scxray JSON report: {e}", path.display())));
    }
    Ok(Report::build(&Target::configure(&inputs(path, &d.files))?, Limits::DEFAULT))
}

#[derive(Args, Debug)]
struct ReadArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// A kernel virtual address (hex with 0x) or a symbol name, optionally `+offset`.
    #[arg(long)]
    at: String,
    /// Bytes to print.
    #[arg(long, default_value_t = 64)]
    len: u64,
    /// Dereference the pointer at --at first (like `*scx_root`).
    #[arg(long)]
    deref: bool,
}

#[derive(Args, Debug)]
struct KernelArgs {
    /// The guest memory: an ELF core (QEMU dump-guest-memory, kdump vmcore), a
    /// kdump-compressed core (makedumpfile, QEMU kdump-*), or a raw RAM image. Without it (and
    /// without --qemu, --qmp, --ram), the running host itself: /proc/kcore,
    /// /sys/kernel/btf/vmlinux and /proc/kallsyms (needs root).
    memory: Option<PathBuf>,
    /// A running QEMU (KVM or TCG, started normally): its guest RAM is read through
    /// /proc/PID/mem while the guest runs, which needs ptrace rights over the process (its uid,
    /// or CAP_SYS_PTRACE). Alone, the layout comes from the process: one RAM block (x86 up to
    /// 2.75 GiB, arm64 virt), checked against the guest kernel; with --qmp, from QEMU.
    #[arg(long, value_name = "PID", conflicts_with = "memory")]
    qemu: Option<u32>,
    /// The running QEMU's QMP socket (-qmp unix:SOCKET,server=on,wait=off): QEMU names every
    /// RAM range (any size, NUMA nodes, memory devices), each checked against QEMU's own reads.
    /// The QEMU process is the socket's owner (or --qemu). The socket is released after
    /// attaching.
    #[arg(long, value_name = "SOCKET", conflicts_with = "memory")]
    qmp: Option<PathBuf>,
    /// A guest RAM range of any VMM's process, given by hand (repeat for each range): SIZE bytes
    /// from guest-physical GPA are at host virtual address HVA in process PID. Numbers are
    /// decimal or 0x-hex, sizes may end in K, M, G, T. Checked against the guest kernel when
    /// its VMCOREINFO is in memory. Example: --ram 0:2G@4242:0x7f3a00000000 --ram
    /// 0x100000000:2G@4242:0x7f3a80000000
    #[arg(long, value_name = "GPA:SIZE@PID:HVA", conflicts_with_all = ["memory", "qemu", "qmp"])]
    ram: Vec<RamSpec>,
    #[command(flatten)]
    files: KernelFiles,
}

impl KernelArgs {
    fn attach_spec(&self) -> AttachSpec {
        AttachSpec { pid: self.qemu, qmp: self.qmp.clone(), ram: self.ram.clone() }
    }
}

/// Kernel files that override what scxray finds in the dump itself.
#[derive(Args, Debug, Clone)]
struct KernelFiles {
    /// The guest kernel's vmlinux ELF: symbols, .BTF and release (e.g. Debian's
    /// linux-image-*-dbg). Any vmlinux of the same build works, KASLR or not.
    #[arg(long, value_name = "FILE")]
    vmlinux: Option<PathBuf>,
    /// Raw BTF of the guest kernel (a copy of its /sys/kernel/btf/vmlinux), overriding the
    /// vmlinux's .BTF section.
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
    /// The guest kernel's System.map (symbols), when there is no vmlinux with symbols.
    #[arg(long, value_name = "FILE")]
    system_map: Option<PathBuf>,
    /// Physical address of a raw image's first byte.
    #[arg(long, value_name = "ADDR", default_value = "0", value_parser = parse_u64)]
    raw_base: u64,
}

#[derive(Args, Debug)]
struct InfoArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Also print every member offset resolved from BTF and the symbol addresses.
    #[arg(long)]
    layout: bool,
}

#[derive(Args, Debug)]
struct DumpArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Nodes walked on one list (scx_tasks, a DSQ, a runnable_list) before it is reported
    /// truncated. Raise it to walk a big machine in full (a server has more than 4096 tasks).
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_LIST_NODES)]
    max_list_nodes: u32,
    /// User DSQs walked in the dsq_hash rhashtable in all.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_RHT_NODES)]
    max_rht_nodes: u32,
    /// rhashtable buckets enumerated.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_RHT_BUCKETS)]
    max_buckets: u32,
    /// Nodes walked on one rhashtable bucket chain.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_BUCKET_CHAIN)]
    max_chain: u32,
    /// Sub-schedulers walked below the root (7.2+), in all.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_SUB_SCHEDS)]
    max_sub_scheds: u32,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Format {
    /// A report laid out like the kernel's scx_dump_state, plus every DSQ.
    Text,
    /// The full report as JSON (schema scxray.dump/1).
    Json,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s}: {e}"))
}

/// Configures the dump named by `k`, the running guest it attaches to, or the running host
/// when there is neither.
fn configure(k: &KernelArgs) -> Result<Target, Error> {
    let spec = k.attach_spec();
    match &k.memory {
        Some(m) => Target::configure(&inputs(m, &k.files)),
        None if !spec.is_empty() => {
            let memory = Memory::attach(&spec)?;
            Target::configure_with(memory, &inputs(std::path::Path::new(""), &k.files), Preset::default())
        }
        None => scxray::target::live::configure(&inputs(std::path::Path::new(""), &k.files)),
    }
}

/// Prints the current step on stderr when it has run for more than a second.
struct Progress {
    step: Arc<Mutex<(String, Instant, bool)>>,
}

impl Progress {
    fn start() -> Self {
        let step = Arc::new(Mutex::new((String::new(), Instant::now(), false)));
        let s = Arc::clone(&step);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let Ok(mut g) = s.lock() else { return };
                if !g.0.is_empty() && !g.2 && g.1.elapsed() > Duration::from_secs(1) {
                    eprintln!("scxray: {}...", g.0);
                    g.2 = true;
                }
            }
        });
        Self { step }
    }
    fn set(&self, what: &str) {
        if let Ok(mut g) = self.step.lock() {
            *g = (what.to_owned(), Instant::now(), false);
        }
    }
}

fn inputs(memory: &std::path::Path, f: &KernelFiles) -> Inputs {
    Inputs {
        memory: memory.to_owned(),
        vmlinux: f.vmlinux.clone(),
        btf: f.btf.clone(),
        system_map: f.system_map.clone(),
        raw_base: f.raw_base,
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let progress = Progress::start();
    match cli.command {
        Command::Info(InfoArgs { kernel: k, layout }) => {
            progress.set("configuring");
            let t = configure(&k)?;
            progress.set("");
            println!("release: {}", t.release().unwrap_or("unknown"));
            for line in t.setup() {
                println!("{line}");
            }
            let l = t.layout();
            let groups = [
                ("rq", l.rq.is_some()),
                ("scx_rq", l.scx_rq.is_some()),
                ("task_struct", l.task.is_some()),
                ("sched_ext_entity", l.see.is_some()),
                ("scx_dispatch_q", l.dsq.is_some()),
                ("scx_dsq_list_node", l.dsq_lnode.is_some()),
                ("scx_sched", l.sched.is_some()),
                ("scx_sched_pcpu", l.sched_pcpu.is_some()),
                ("scx_sched_pnode", l.sched_pnode.is_some()),
                ("rhashtable", l.rht.is_some()),
            ];
            let missing: Vec<&str> = groups.iter().filter(|g| !g.1).map(|g| g.0).collect();
            println!(
                "layout: {} of {} struct groups resolved from BTF{}",
                groups.len() - missing.len(),
                groups.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (missing: {})", missing.join(", "))
                }
            );
            if layout {
                println!("{:#?}", t.layout());
                println!("{:#x?}", t.symbols());
            }
            Ok(())
        }
        Command::Read(r) => {
            progress.set("configuring");
            let t = configure(&r.kernel)?;
            progress.set("");
            let (base, off) = match r.at.split_once('+') {
                Some((b, o)) => (b, parse_u64(o).map_err(Error::BadInput)?),
                None => (r.at.as_str(), 0),
            };
            let mut addr = match parse_u64(base) {
                Ok(a) => a,
                Err(_) => t.symbol(base).ok_or_else(|| {
                    Error::BadInput(format!("{base}: not an address and not a known symbol"))
                })?,
            }
            .wrapping_add(off);
            if r.deref {
                let mut b = [0u8; 8];
                t.read_virt(addr, &mut b).map_err(|e| Error::BadInput(format!("{addr:#x}: {e}")))?;
                addr = u64::from_le_bytes(b);
                println!("*{} = {addr:#x}", r.at);
            }
            let len = r.len.min(1 << 20) as usize;
            let mut buf = vec![0u8; len.next_multiple_of(8)];
            t.read_virt(addr, &mut buf).map_err(|e| Error::BadInput(format!("{addr:#x}: {e}")))?;
            for (i, w) in buf.chunks_exact(8).enumerate() {
                let va = addr + 8 * i as u64;
                if i % 2 == 0 {
                    print!("{va:#018x}:");
                }
                print!("  {:016x}", u64::from_le_bytes(w.try_into().unwrap_or_default()));
                if i % 2 == 1 {
                    println!();
                }
            }
            if !buf.len().is_multiple_of(16) {
                println!();
            }
            Ok(())
        }
        Command::Diff(d) => {
            progress.set("reading the first dump");
            let a = load_report(&d.a, &d)?;
            progress.set("reading the second dump");
            let b = load_report(&d.b, &d)?;
            progress.set("");
            if let (Some(ja), Some(jb)) = (a.sched_ext.jiffies, b.sched_ext.jiffies)
                && ja == jb
            {
                return Err(Error::BadInput(format!(
                    "both dumps are from the same instant (jiffies {ja}): take them some seconds apart"
                )));
            }
            let diff = scxray::report::diff::diff(&a, &b);
            match d.format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&diff)
                        .map_err(|e| Error::Internal(format!("JSON encoding: {e}")))?
                ),
                Format::Text => print!("{}", scxray::report::diff::render(&diff)),
            }
            if !diff.healthy {
                return Err(Error::Stuck);
            }
            Ok(())
        }
        Command::Decode(d) => {
            let bytes = std::fs::read(&d.file).map_err(|e| Error::io(&d.file, e))?;
            let report = scxray::wire::decode(&bytes)?;
            match d.format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report)
                        .map_err(|e| Error::Internal(format!("JSON: {e}")))?
                ),
                Format::Text => print!("{}", scxray::report::text::render(&report)),
            }
            Ok(())
        }
        Command::Dump(d) => {
            progress.set("configuring");
            let t = configure(&d.kernel)?;
            progress.set("walking");
            let limits = Limits {
                list_nodes: d.max_list_nodes,
                rht_nodes: d.max_rht_nodes,
                rht_buckets: d.max_buckets,
                bucket_chain: d.max_chain,
                sub_scheds: d.max_sub_scheds,
            };
            let report = Report::build(&t, limits);
            progress.set("");
            match d.format {
                Format::Json => {
                    let s = serde_json::to_string_pretty(&report)
                        .map_err(|e| Error::Internal(format!("JSON encoding: {e}")))?;
                    println!("{s}");
                }
                Format::Text => print!("{}", scxray::report::text::render(&report)),
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Error::Stuck) => ExitCode::from(exit::STUCK),
        Err(e) => {
            eprintln!("scxray: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
