//! The CLI end to end on real lab dumps: `scxray dump CORE --format json`, the release-built
//! binary spawned per iteration, the dump mmap'd from a warm page cache (read once before
//! timing). Dumps live in `~/.cache/scxray/dumps` (`$SCXRAY_CACHE/dumps`), made by
//! `cargo xtask lab`; a dump that is not there is reported and skipped.

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

fn dumps_dir() -> PathBuf {
    match std::env::var_os("SCXRAY_CACHE") {
        Some(c) => PathBuf::from(c).join("dumps"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/scxray/dumps"),
    }
}

fn run(core: &PathBuf) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_scxray"))
        .args(["dump", "--format", "json"])
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
        let Some((name, core)) = names.iter().map(|n| (n, dumps_dir().join(n))).find(|(_, p)| p.exists())
        else {
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

criterion_group! { name = benches; config = config(); targets = cli }
criterion_main!(benches);
