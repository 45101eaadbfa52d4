//! `cargo xtask <command>`: the project's own task runner (std only, no dependencies).
//!
//! - `test-all`: everything CI checks (the README's test command).
//! - `demo`: the README's main command.

mod embed;
mod hostile;
mod lab;
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
         test-all   fmt check, clippy -D warnings, every test, no_std builds (what CI runs)\n  \
         demo       build a synthetic sched_ext guest and print scxray's dump of it\n  \
         cross      no_std builds for four bare-metal targets, the bare-metal example's size\n  \
         foreign    core and translator tests on aarch64 and s390x Linux under qemu-user\n  \
         lab        the real-kernel lab: Debian kernels under QEMU (`cargo xtask lab help`)\n  \
         fuzz       cargo-fuzz targets, [--seconds N] [TARGET...] each (nightly)\n  \
         miri       the unit tests of the unsafe code under Miri (nightly)\n"
    );
}

fn test_all(_args: &[String]) -> Result<(), String> {
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
    Step::new("tests").run(cargo(&["test", "--workspace", "--all-features"]))?;
    for target in NO_STD_TARGETS {
        for krate in NO_STD_CRATES {
            Step::new(&format!("no_std build of {krate} for {target}"))
                .run(cargo(&["build", "--quiet", "-p", krate, "--target", target]))?;
        }
    }
    embed::cross(&[]).and_then(|()| embed::foreign(&[]))?;
    hostile::smoke()?;
    println!("xtask: test-all passed");
    Ok(())
}

fn demo(_args: &[String]) -> Result<(), String> {
    Step::new("synthetic guest dump").run(cargo(&[
        "run",
        "--quiet",
        "-p",
        "scxray-tests",
        "--example",
        "synthetic_dump",
    ]))
}
