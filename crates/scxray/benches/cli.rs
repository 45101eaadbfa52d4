//! The CLI end to end on real lab dumps: `scxray dump CORE --format json`, the release-built
//! binary spawned per iteration, the dump mmap'd from a warm page cache (read once before
//! timing). Dumps live in `~/.cache/scxray/dumps` (`$SCXRAY_CACHE/dumps`), made by
//! `cargo xtask lab`; a dump that is not there is reported and skipped.

mod common;

use common::{dumps_dir, find};
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The dumps timed, x86_64 and arm64 7.3 guests running scx_qmap: the first of each row
/// that exists (the lab's names changed over time).
const DUMPS: &[&[&str]] = &[
    &["sched-test-qmap.core", "7.3-amd64-kaslr-scx_qmap.core", "lab-7.3-amd64-qmap.core"],
    &["7.3-arm64-kaslr-scx_qmap.core", "lab-7.3-arm64-qmap.core", "sched-test-arm64-qmap.core"],
];

/// The demo dump and the big guest's, for the text report's ratio.
const DEMO: &[&str] = &["lab-7.3-amd64-qmap.core", "7.3-amd64-kaslr-scx_qmap.core"];
const BIG: &[&str] = &["lab-7.3-amd64-big.core"];

fn run(core: &PathBuf) -> usize {
    run_as(core, "json")
}

/// `scxray dump --format FORMAT CORE` (its caps sized from the kernel's counts), its output's
/// length.
fn run_as(core: &PathBuf, format: &str) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_scxray"))
        .args(["dump", "--format", format])
        .arg(core)
        .output()
        .expect("cannot run scxray");
    assert!(
        out.status.success(),
        "scxray dump {} failed: {}",
        core.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.len()
}

fn cli(c: &mut Criterion) {
    for names in DUMPS {
        let Some((name, core)) = find(names) else {
            println!(
                "cli: none of {names:?} is in {} (cargo xtask lab makes them): skipped",
                dumps_dir().display()
            );
            continue;
        };
        // Warm the page cache and check the run.
        let bytes = run(&core);
        println!("cli: {name}: {bytes} bytes of JSON");
        c.bench_function(&format!("cli/scxray dump {name} --format json"), |b| b.iter(|| run(&core)));
        // The undisturbed figure on a shared machine: the best of 20 runs.
        let best = (0..20)
            .map(|_| {
                let t = std::time::Instant::now();
                run(&core);
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        println!(
            "figure: scxray dump {name} --format json, warm = {:.1} ms (best of 20 runs)",
            best.as_secs_f64() * 1e3
        );
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1))
}

/// The best wall time of `n` runs of `f`, nanoseconds.
fn best(n: u32, mut f: impl FnMut()) -> f64 {
    (0..n)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_nanos() as f64
        })
        .fold(f64::MAX, f64::min)
}

/// The big guest's text report against the demo dump's.
fn big_against_demo(c: &mut Criterion) {
    let (Some((demo_name, demo)), Some((big_name, big))) = (find(DEMO), find(BIG)) else {
        println!(
            "cli: the demo dump {DEMO:?} or the big guest's {BIG:?} is missing (cargo xtask lab): skipped"
        );
        return;
    };
    let mut g = c.benchmark_group("cli text");
    for (name, core) in [(&demo_name, &demo), (&big_name, &big)] {
        println!("cli: {name}: {} bytes of text", run_as(core, "text"));
        g.bench_function(format!("scxray dump {name}"), |b| b.iter(|| run_as(core, "text")));
    }
    g.finish();
    // Interleaved, so that both see the same load.
    let (mut d, mut b) = (f64::MAX, f64::MAX);
    for _ in 0..10 {
        d = d.min(best(1, || {
            run_as(&demo, "text");
        }));
        b = b.min(best(1, || {
            run_as(&big, "text");
        }));
    }
    println!(
        "ratio: text report, big guest / demo dump = {:.2}x, target <= 2x ({big_name} {:.1} ms, {demo_name} {:.1} ms, best of 10 interleaved)",
        b / d,
        b / 1e6,
        d / 1e6
    );
}

criterion_group! { name = benches; config = config(); targets = cli, big_against_demo }
criterion_main!(benches);
