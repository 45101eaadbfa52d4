//! The `scxray` command: parses the arguments and runs the command, one module each.

mod args;
mod decode;
mod diff;
mod dump;
mod info;
mod progress;
mod read;
mod tasks;
mod watch;
mod watch_tui;

use clap::{Parser, Subcommand};
use decode::DecodeArgs;
use diff::DiffArgs;
use dump::DumpArgs;
use info::InfoArgs;
use progress::Progress;
use read::ReadArgs;
use scxray::Error;
use scxray::error::exit;
use std::process::ExitCode;
use tasks::TasksArgs;
use watch::WatchArgs;

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
        scxray tasks guest.core            (the tasks sched_ext owns, one line each, like ps)\n  \
        scxray diff before.core after.core (what is stuck between two dumps; exit 4 if anything)\n  \
        scxray dump guest.core --vmlinux vmlinux-7.3.4+deb13-cloud-amd64\n  \
        scxray dump guest.core --vmlinux vmlinux --format json > state.json\n  \
        scxray dump guest.core --system-map System.map --btf vmlinux.btf\n  \
        scxray info guest.core --vmlinux vmlinux\n\n  \
        scxray dump --qemu 4242            (a running QEMU, read through /proc/4242/mem; not paused)\n  \
        scxray dump --qmp /tmp/qmp.sock    (the same, its RAM layout from QEMU's monitor)\n  \
        scxray dump                        (the running host: /proc/kcore, as root)\n  \
        scxray watch --qemu 4242 --for 60s (sample it without pausing; fire on stalls)\n\n\
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
        4  `diff` found something stuck (dead DSQs, starving tasks, stalled CPUs), or a `watch`\n     \
           trigger fired"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Walk the scheduler's state and print it.
    Dump(DumpArgs),
    /// List the tasks sched_ext owns (the kernel's scx_tasks list), one line each like `ps`:
    /// address, pid, state, scx flags, DSQ, runnable age, comm. Walks that list alone (no CPU,
    /// DSQ or BPF walks): `dump` for the whole scheduler.
    Tasks(TasksArgs),
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
    /// Sample a running guest again and again without pausing it (JSON lines on stdout, a
    /// Perfetto trace), and fire when something stalls: a runnable task near the watchdog's
    /// timeout, a DSQ or a CPU's clock that stopped, the scheduler exiting, user thresholds.
    /// A trigger leaves a full report (and with --qmp a dump). Exit status 4 when one fired.
    Watch(WatchArgs),
}

fn run(cli: Cli) -> Result<(), Error> {
    let progress = Progress::start();
    match cli.command {
        Command::Dump(d) => dump::run(&d, &progress),
        Command::Tasks(t) => tasks::run(&t, &progress),
        Command::Info(i) => info::run(&i, &progress),
        Command::Read(r) => read::run(&r, &progress),
        Command::Diff(d) => diff::run(&d, &progress),
        Command::Decode(d) => decode::run(&d),
        Command::Watch(w) => watch::run(&w, &progress),
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
