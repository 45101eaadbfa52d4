//! `cargo xtask <command>`: the project's own task runner (std only, no dependencies).
//!
//! - `test-all`: everything CI checks (the README's test command).
//! - `demo`: the README's main command (a real guest; `--synthetic` for the in-memory one).

mod bench;
mod embed;
mod hostile;
mod lab;
mod size;
mod util;

use std::process::ExitCode;
use util::{Step, cargo, ensure_rust_targets};

/// The no_std targets the test run builds the embedded crates for.
const NO_STD_TARGETS: &[&str] = &["thumbv7em-none-eabihf"];
/// The crates that must build without std and without alloc.
const NO_STD_CRATES: &[&str] = &["scxray-core", "scxray-x86_64", "scxray-aarch64", "scxray-btf"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "test-all" => test_all(rest),
        "demo" => demo(rest),
        "lab" => lab::run(rest),
        "cross" => embed::cross(rest),
        "foreign" => embed::foreign(rest),
        "fuzz" => hostile::fuzz(rest),
        "miri" => hostile::miri(rest),
        "bench" => bench::run(rest),
        "size" => size::run(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <command>\n\n\
         commands:\n  \
         test-all   fmt check, clippy -D warnings, every test, no_std builds, the real-kernel lab\n  \
         \x20          (what CI runs); --quick-lab: 3 lab cases; --no-lab: none\n  \
         demo       boot Debian 7.3 with scx_qmap under QEMU, dump it, print scxray's report\n  \
         \x20          (--synthetic: a synthetic guest in memory instead, in a second)\n  \
         cross      no_std builds for four bare-metal targets, the bare-metal example's size\n  \
         foreign    core and translator tests on aarch64 and s390x Linux under qemu-user\n  \
         lab        the real-kernel lab: Debian kernels under QEMU (`cargo xtask lab help`)\n  \
         fuzz       cargo-fuzz targets, [--seconds N] [TARGET...] each (nightly)\n  \
         miri       the unit tests of the unsafe code under Miri (nightly)\n  \
         bench      every criterion benchmark, then a summary table with the ratios\n  \
         size       .text of the walk (scxray-core + scxray-x86_64) for thumbv7em at opt-level s\n"
    );
}

fn test_all(args: &[String]) -> Result<(), String> {
    let no_lab = args.iter().any(|a| a == "--no-lab");
    let quick_lab = args.iter().any(|a| a == "--quick-lab");
    let start = std::time::Instant::now();
    if let Some(free) = util::free_bytes(&util::workspace_root()) {
        // A full disk fails a step with a message far from the cause: say it up front.
        eprintln!("xtask: {:.1} GiB free on the workspace's disk", free as f64 / f64::from(1u32 << 30));
    }
    ensure_rust_targets(NO_STD_TARGETS)?;
    Step::new("rustfmt").run(cargo(&["fmt", "--all", "--", "--check"]))?;
    Step::new("clippy").run(cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The library as a VMM or test harness depends on it: no default features, so no clap.
    Step::new("clippy of the scxray library without the cli feature").run(cargo(&[
        "clippy",
        "-p",
        "scxray",
        "--lib",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    // `scxray watch --tui` is tested in a real terminal: tmux runs it and captures its screen.
    embed::ensure_command("tmux", "tmux")?;
    Step::new("tests").run(cargo(&["test", "--workspace", "--all-features"]))?;
    for target in NO_STD_TARGETS {
        for krate in NO_STD_CRATES {
            Step::new(&format!("no_std build of {krate} for {target}"))
                .run(cargo(&["build", "--quiet", "-p", krate, "--target", target]))?;
        }
    }
    let target = size::target_dir();
    let triples = |ts: &[&str]| ts.iter().map(|t| target.join(t)).collect::<Vec<_>>();
    embed::cross(&[])?;
    util::prune_when_disk_low(&triples(embed::CROSS_TARGETS));
    embed::foreign(&[])?;
    util::prune_when_disk_low(&triples(&embed::foreign_triples()));
    hostile::smoke()?;
    util::prune_when_disk_low(&[util::workspace_root().join("fuzz").join("target")]);
    // The real-kernel lab: Debian's kernels under QEMU running the kernel's own schedulers,
    // each dump checked against the guest's own truth (see xtask/src/lab).
    if !no_lab {
        lab::runs::btf::btf_check()?;
        let lab_args: Vec<String> = if quick_lab { vec!["--quick".into()] } else { Vec::new() };
        eprintln!("xtask: ==> real-kernel lab{}", if quick_lab { " (quick)" } else { "" });
        lab::runs::matrix::run(&lab_args)?;
        if !quick_lab {
            // scxray reading a running guest's RAM in a loop, as a hypervisor's monitor would.
            lab::runs::soak::run(&["--seconds".into(), "20".into()])?;
            // The same guest as an ELF core and as QEMU's kdump-compressed cores: same report.
            lab::runs::kdump::run(&[])?;
            // The matrix's dumps walked by the embedded side over the wire: same report.
            lab::runs::wire::run(&[])?;
            // scxray watch by PID: a stall caught before the kernel's watchdog, a healthy guest
            // quiet for 65 s of guest time, the cost at 10 ms (two boots, ~10 minutes).
            lab::runs::watch::run(&[])?;
        }
    }
    println!("xtask: test-all passed in {:.0} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn demo(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--synthetic") {
        return Step::new("synthetic guest dump").run(cargo(&[
            "run",
            "--quiet",
            "-p",
            "scxray-tests",
            "--example",
            "synthetic_dump",
        ]));
    }
    // A real guest: Debian's 7.3 kernel running the kernel's own scx_qmap under QEMU.
    let scxray = lab::runs::scxray::build_scxray()?;
    let kernel = lab::kernels::prepare::prepare(lab::kernels::spec::spec("7.3-amd64")?)?;
    let guest = lab::runs::boot::example_guest(&kernel, &lab::kernels::schedulers::SCX_QMAP)?;
    let boot = lab::runs::boot::boot(&kernel, &guest, &lab::host::qemu::BootOptions::default(), "demo")?;
    eprintln!(
        "xtask: the guest ran scx_qmap (sched_ext {}); its memory is in {}",
        boot.truth.state,
        boot.dump.display()
    );
    eprintln!("xtask: $ scxray dump {}", boot.dump.display());
    let status = std::process::Command::new(&scxray)
        .arg("dump")
        .arg(&boot.dump)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", scxray.display()))?;
    if status.success() { Ok(()) } else { Err(format!("scxray dump failed ({status})")) }
}
