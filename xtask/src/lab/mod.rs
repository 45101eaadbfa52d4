//! `cargo xtask lab ...`: the real-kernel lab. Boots Debian's kernels under QEMU, runs a
//! sched_ext scheduler in the guest and takes memory dumps that scxray is checked against.
//!
//! Three layers, each a folder, each importing only from itself and the layers below it:
//!
//! - [`host`]: the host's tools and files (where files go, the host's packages, a private apt,
//!   kernel source unpacking, the private clang, ELF reading, the initramfs, QEMU);
//! - [`kernels`]: the kernels the lab tests (the matrix, Debian's fetched, the self-built one,
//!   image and BTF helpers) and the example schedulers built for them;
//! - [`runs`]: guests booted and checked (one boot, the case matrix, the stall hunt, soak,
//!   kdump, wire, BTF, the checks and the table).
//!
//! This module only dispatches the commands and prints their help. `xtask/tests/lab_layers.rs`
//! checks the layering.

pub mod host;
pub mod kernels;
pub mod runs;

/// Entry point of `cargo xtask lab <command> ...`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (cmd, rest) = match args.split_first() {
        // `--help` is a command, not one of the matrix's flags (it once ran the whole matrix).
        Some((c, r)) if !c.starts_with("--") || c == "--help" => (c.as_str(), r),
        _ => ("all", args),
    };
    match cmd {
        "apt" => host::apt::cmd(rest),
        "kernels" => kernels::list::cmd(rest),
        "schedulers" => kernels::schedulers::cmd(rest),
        "production" => kernels::production::cmd(rest),
        "boot" => runs::boot::cmd(rest),
        "check" => runs::recheck::cmd(rest),
        "all" => runs::matrix::run(rest),
        "soak" => runs::soak::run(rest),
        "kdump" => runs::kdump::run(rest),
        "wire" => runs::wire::run(rest),
        "watch" => runs::watch::run(rest),
        "drgn" => runs::drgn::run(rest),
        "btf" => runs::btf::btf_check(),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown lab command `{other}`; run `cargo xtask lab help`")),
    }
}

fn print_help() {
    println!(
        "cargo xtask lab <command>\n\n\
         commands:\n  \
         (none) [--quick] [--only CASE...]  the whole matrix: fetch, build, boot, dump, check, table\n  \
         \x20   --with-612: also build the self-built 6.12 kernel (sched_ext on; long) and run its\n  \
         \x20   case lab-6.12sb-amd64-qmap, which otherwise runs only once that kernel is built\n  \
         kernels [--dbg] [name...]          fetch and unpack the kernel matrix, print a table\n  \
         \x20   6.12sb-amd64: build the lab's own 6.12 with sched_ext from Debian's linux-source-6.12\n  \
         \x20   --dbg: real System.map from the -dbg package; --dbg-vmlinux: also its vmlinux\n  \
         boot --kernel K [options]          boot K under QEMU, dump its memory at SCXRAY-READY\n  \
         \x20   --nokaslr  --la57=off  --name N  --mem MIB  --timeout SECS (without progress)  --spinners N  --sleepers N\n  \
         \x20   --workload-after-enable: start the spinners and sleepers once sched_ext is enabled\n  \
         \x20   --scheduler PATH|scx_qmap|scx_simple|scx_central (built by `lab schedulers`)|\n  \
         \x20   scx_bpfland|scx_lavd (built by `lab production`); a\n  \
         \x20   dynamically linked PATH takes its loader and libraries along\n  \
         \x20   --scheduler-args 'ARGS'  --enable-timeout SECS  --settle SECS\n  \
         \x20   --attached-output TEXT: also wait for the scheduler to print TEXT (truth: attached)\n  \
         \x20   --extra-truth NAME=COMMAND: COMMAND's output as `extra NAME` truth (repeatable)\n  \
         \x20   --program PATH: PATH at /bin/<file name> in the guest, with its libraries (repeatable)\n  \
         \x20   --after-attach COMMAND: run COMMAND once the schedulers are attached (repeatable)\n  \
         \x20   --task-lister COMMAND: COMMAND prints the truth's task lines (e.g. the lab's `tasks`)\n  \
         \x20   --later-dump SECS: run SECS more, then dump again to <name>.later.core\n  \
         \x20   --sub CGROUP: then the scheduler again with -c /sys/fs/cgroup/CGROUP (repeatable)\n  \
         schedulers [--kernel S] [--arch A]  build scx_qmap, scx_simple, scx_central (static)\n  \
         \x20   S: a series (7.3) or a kernel's name (6.12sb-amd64)\n  \
         production                         scx_bpfland and scx_lavd, pinned, from the crate registry\n  \
         \x20   (amd64, dynamically linked; cached: a warm run builds nothing)\n  \
         btf                                resolve every matrix kernel's BTF, compare with the table\n  \
         soak [--seconds N]                 read a running guest's shared RAM file in a loop (default 60 s)\n  \
         watch [--seconds N] [--only W]     `scxray watch` by PID: a stalled scx_qmap must fire before the\n  \
         \x20   kernel's watchdog (report and dump captured); scx_simple for N s (65) must not;\n  \
         \x20   then the cost at a 10 ms interval (~10 min)\n  \
         kdump [--kernel K]                 QEMU's kdump-zlib/lzo/snappy dumps of one instant read like its ELF core\n  \
         drgn [--runs N] [--core PATH]      scxray vs drgn (PyPI, with the -dbg vmlinux) on the big guest's dump:\n  \
         \x20   the same tasks on scx_tasks, paired timing, ratio (opt-in: ~350 MB download)\n  \
         check [name...]                    run scxray on the run directory's dumps, check each against its truth\n  \
         wire                               the matrix's dumps over the wire format: embedded walk == direct report\n  \
         apt newest <glob> <arch> [suite]   newest package of the private apt environment\n  \
         apt fetch <name> <arch> [suite]    download a .deb (cached, SHA256-checked), print its path\n\n\
         environment:\n  \
         SCXRAY_CACHE      the cache shared by every run: downloads, kernels, clang, busybox, built\n  \
         \x20                 schedulers and kernels (default ~/.cache/scxray)\n  \
         SCXRAY_DUMPS      this run's directory: dumps, truth files, serial logs, and the run's scratch\n  \
         \x20                 files (initramfs/, soak/, stall/, btf-check/) (default <cache>/dumps). Give each\n  \
         \x20                 worktree its own to run labs side by side: they share the cache only\n  \
         SCXRAY_LAB_JOBS   guests booted at once by the matrix (default 2)\n  \
         SCXRAY_APT_UPDATE=1  refresh the private apt lists now (else at most daily)\n  \
         SCXRAY_DEBIAN_MIRROR, SCXRAY_APT_KEYRING  the archive and keyring (default: the system's)\n  \
         SCXRAY_KEEP_DBG=1  keep the -dbg packages `kernels --dbg` downloads\n"
    );
}
