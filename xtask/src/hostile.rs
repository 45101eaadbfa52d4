//! `cargo xtask fuzz` and `cargo xtask miri`: hostile input (issue 7).
//!
//! - `fuzz [--seconds N] [TARGET...]`: builds the cargo-fuzz targets of `fuzz/` (nightly,
//!   AddressSanitizer) and runs each for N seconds (default 60) from its corpus
//!   (`fuzz/corpus/<target>`, kept between runs, gitignored) and the committed seeds
//!   (`fuzz/corpus-seed/<target>`); prints executions per target and fails on a crash, whose
//!   input libFuzzer writes to `fuzz/artifacts/<target>/`.
//! - `miri`: the unit tests of the code that uses `unsafe` under Miri.
//!
//! Both need the nightly toolchain: installed with rustup when missing (a machine that
//! cannot fetch toolchains fails `fuzz` and `miri`; test-all then skips its smoke and says
//! so). cargo-fuzz is installed from crates.io when missing.

use crate::util::{Step, workspace_root};
use std::process::Command;
use std::time::Instant;

/// Every fuzz target of `fuzz/`.
pub const TARGETS: &[&str] = &[
    "walk_machine",
    "walk_bpf",
    "serve",
    "translate_x86_64",
    "translate_aarch64",
    "btf",
    "btf_decode",
    "elf_core",
    "kdump",
    "lzo",
    "vmcoreinfo",
    "kallsyms",
];

/// `cargo +nightly <args>` through rustup's proxy, without the outer cargo's toolchain
/// pins (`cargo xtask` runs under the workspace's pinned toolchain).
fn nightly(args: &[&str]) -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly").args(args).current_dir(workspace_root());
    for v in ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTDOC", "RUSTC_WRAPPER"] {
        c.env_remove(v);
    }
    c
}

fn quiet_ok(mut c: Command) -> bool {
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    c.status().is_ok_and(|s| s.success())
}

/// The nightly toolchain, installed when missing.
fn ensure_nightly() -> Result<(), String> {
    if quiet_ok(nightly(&["--version"])) {
        return Ok(());
    }
    let mut c = Command::new("rustup");
    c.args(["toolchain", "install", "nightly", "--profile", "minimal"]);
    Step::new("rustup toolchain install nightly").run(c)
}

/// cargo-fuzz, installed from crates.io when missing.
fn ensure_cargo_fuzz() -> Result<(), String> {
    ensure_nightly()?;
    if quiet_ok(nightly(&["fuzz", "--version"])) {
        return Ok(());
    }
    let mut c = Command::new("cargo");
    c.args(["install", "cargo-fuzz", "--locked"]).env_remove("RUSTUP_TOOLCHAIN");
    Step::new("cargo install cargo-fuzz").run(c)
}

/// One target's run.
struct Run {
    target: &'static str,
    execs: Option<u64>,
    secs: f64,
    ok: bool,
}

fn stat(log: &str, key: &str) -> Option<u64> {
    log.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().parse().ok())
}

/// Builds the targets and runs each for `seconds`.
fn run_targets(targets: &[&'static str], seconds: u64) -> Result<Vec<Run>, String> {
    // No separate `cargo fuzz build`: its flags differ from `run`'s and each would rebuild
    // what the other built. The first `run` builds every dependency once.
    ensure_cargo_fuzz()?;
    let root = workspace_root();
    let mut runs = Vec::new();
    for &target in targets {
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        // `serve` decodes the same input as walk_machine: it starts from its seeds.
        let seeds = format!("fuzz/corpus-seed/{}", if target == "serve" { "walk_machine" } else { target });
        let corpus = format!("fuzz/corpus/{target}");
        let max_time = format!("-max_total_time={seconds}");
        eprintln!("xtask: ==> fuzz {target} for {seconds} s");
        let start = Instant::now();
        let out = nightly(&[
            "fuzz",
            "run",
            "--fuzz-dir",
            "fuzz",
            target,
            &corpus,
            &seeds,
            "--",
            &max_time,
            "-rss_limit_mb=4096",
            "-timeout=30",
            "-print_final_stats=1",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let run = Run {
            target,
            execs: stat(&log, "stat::number_of_executed_units:"),
            secs: start.elapsed().as_secs_f64(),
            ok: out.status.success(),
        };
        if !run.ok {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        runs.push(run);
    }
    Ok(runs)
}

fn report(runs: &[Run]) -> Result<(), String> {
    println!("{:<20} {:>12} {:>8}  result", "target", "executions", "seconds");
    for r in runs {
        let execs = r.execs.map_or_else(|| "?".to_owned(), |e| e.to_string());
        let result = if r.ok { "ok" } else { "CRASH (input in fuzz/artifacts/)" };
        println!("{:<20} {execs:>12} {:>8.0}  {result}", r.target, r.secs);
    }
    let crashed: Vec<&str> = runs.iter().filter(|r| !r.ok).map(|r| r.target).collect();
    if crashed.is_empty() { Ok(()) } else { Err(format!("fuzz targets failed: {}", crashed.join(", "))) }
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
pub fn fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut targets: Vec<&'static str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().ok_or("--seconds needs a value")?;
                seconds = v.parse().map_err(|_| format!("--seconds {v}: not a number"))?;
            }
            t => {
                let known = TARGETS
                    .iter()
                    .find(|k| **k == t)
                    .ok_or_else(|| format!("unknown fuzz target `{t}`; targets: {}", TARGETS.join(", ")))?;
                targets.push(known);
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    report(&run_targets(&targets, seconds)?)
}

/// test-all's smoke: every target for a few seconds. Skipped (loudly) when no nightly
/// toolchain can be had; a crash fails.
pub fn smoke() -> Result<(), String> {
    if let Err(e) = ensure_nightly() {
        eprintln!("xtask: fuzz smoke SKIPPED: no nightly toolchain ({e})");
        return Ok(());
    }
    report(&run_targets(TARGETS, 4)?)
}

/// `cargo xtask miri`: the unit tests of the `unsafe` code under Miri: the host crate's
/// memory sources (the parsing and reading behind the mmap, on in-memory buffers) and the
/// test kit's counting allocator. Not part of test-all: from a cold target directory it
/// takes about 4 minutes (Miri's sysroot and the host crate's dependencies).
pub fn miri(_args: &[String]) -> Result<(), String> {
    ensure_nightly()?;
    if !quiet_ok(nightly(&["miri", "--version"])) {
        let mut c = Command::new("rustup");
        c.args(["component", "add", "miri", "rust-src", "--toolchain", "nightly"]);
        Step::new("rustup component add miri").run(c)?;
    }
    Step::new("miri: scxray memory sources")
        .run(nightly(&["miri", "test", "-p", "scxray", "--lib", "source"]))?;
    // Only the allocator's own test: the 64-CPU walk in the same file takes many minutes
    // under Miri, and runs natively in `cargo test`.
    Step::new("miri: the kit's counting allocator").run(nightly(&[
        "miri",
        "test",
        "-p",
        "scxray-tests",
        "--test",
        "no_alloc",
        "the_allocation_counter_is_armed",
    ]))
}
