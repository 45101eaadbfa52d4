//! `cargo xtask bench`: runs every criterion benchmark (3 s of measurement each), then reads
//! the estimates criterion wrote (`target/criterion/<id>/new/estimates.json`) and prints one
//! table, with the ratios the performance issue asks for computed from this one run.
//! `cargo xtask bench NAME` runs only the benches of package NAME, or named NAME (`cli`).

use crate::size::target_dir;
use crate::util::cargo;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::SystemTime;

/// (package, bench target) pairs, in the order of the table.
const BENCHES: &[(&str, &str)] = &[
    ("scxray-core", "walk"),
    ("scxray-x86_64", "translate"),
    ("scxray-aarch64", "translate"),
    ("scxray-btf", "resolve"),
    ("scxray-btf", "bpf"),
    ("scxray", "sample"),
    ("scxray", "cli"),
    ("scxray", "bpf"),
    ("scxray", "process_memory"),
    ("scxray", "report"),
];

/// One benchmark's result.
struct Estimate {
    id: String,
    /// Time per iteration (criterion's slope estimate, else the mean), nanoseconds.
    mean: f64,
    /// Half-width of the mean's 95 % confidence interval, nanoseconds.
    ci: f64,
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Every `new/estimates.json` under `dir` written after `since`.
fn collect(dir: &Path, since: SystemTime, out: &mut Vec<Estimate>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        let est = p.join("new/estimates.json");
        let meta = p.join("new/benchmark.json");
        let fresh = std::fs::metadata(&est).and_then(|m| m.modified()).is_ok_and(|t| t >= since);
        if fresh
            && let (Ok(e), Ok(m)) = (std::fs::read_to_string(&est), std::fs::read_to_string(&meta))
            && let (Ok(e), Ok(m)) = (serde_json::from_str::<Value>(&e), serde_json::from_str::<Value>(&m))
        {
            let id = m["full_id"].as_str().unwrap_or("?").to_owned();
            // Criterion's headline figure: the slope of a linear sampling, else the mean.
            let est = if e["slope"].is_object() { &e["slope"] } else { &e["mean"] };
            let mean = est["point_estimate"].as_f64().unwrap_or(f64::NAN);
            let lo = est["confidence_interval"]["lower_bound"].as_f64().unwrap_or(mean);
            let hi = est["confidence_interval"]["upper_bound"].as_f64().unwrap_or(mean);
            out.push(Estimate { id, mean, ci: (hi - lo) / 2.0 });
        } else {
            collect(&p, since, out);
        }
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let filter = args.first().map(String::as_str).unwrap_or("");
    let start = SystemTime::now();
    let mut ratios = Vec::new();
    for (package, bench) in BENCHES.iter().filter(|(p, b)| filter.is_empty() || *p == filter || *b == filter)
    {
        let name = format!("cargo bench -p {package} --bench {bench}");
        eprintln!("xtask: ==> {name}");
        let mut child = cargo(&[
            "bench",
            "--quiet",
            "-p",
            package,
            "--bench",
            bench,
            "--",
            "--measurement-time",
            "3",
            "--warm-up-time",
            "1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: {e}"))?;
        // Echo the bench's output, keeping the ratio lines it prints.
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("{line}");
                if let Some(r) = line.strip_prefix("ratio: ").or_else(|| line.strip_prefix("figure: ")) {
                    ratios.push(r.to_owned());
                }
            }
        }
        let status = child.wait().map_err(|e| format!("{name}: {e}"))?;
        if !status.success() {
            return Err(format!("{name} failed ({status})"));
        }
    }
    let mut found = Vec::new();
    collect(&target_dir().join("criterion"), start, &mut found);
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let get = |needle: &str| found.iter().find(|e| e.id.contains(needle)).map(|e| e.mean);

    println!("\n| benchmark | time | ± (95 % CI) |");
    println!("|---|---:|---:|");
    for e in &found {
        println!("| {} | {} | {} |", e.id, human(e.mean), human(e.ci));
    }
    println!("\n| figure (this run) | measured | target |");
    println!("|---|---:|---|");
    if let (Some(s), Some(b)) = (get("list/scxray"), get("list/bare chase")) {
        println!(
            "| list walking: scxray's speed / bare pointer chase (criterion means) | {:.2}x | >= 0.5x |",
            b / s
        );
    }
    if let Some(m) = get("machine/walk_machine") {
        println!("| walk_machine, 256 CPUs, 10 000 tasks, 8192 user DSQs | {} | <= 2 ms |", human(m));
    }
    if let (Some(plain), Some(tlb)) = (get("no TLB"), get("256-entry TLB")) {
        println!(
            "| vmalloc-heavy walk_machine: time without TLB / with (criterion means) | {:.2}x | > 1 = TLB wins |",
            plain / tlb
        );
    }
    if let (Some(small), Some(big)) =
        (get("report/build 512 CPUs, 10000 tasks"), get("report/build 512 CPUs, 100000 tasks"))
    {
        println!(
            "| walk + per-task detail + report build, per task (slope 10 000 -> 100 000 tasks, criterion means) | {} | <= 0.5 µs |",
            human((big - small) / 90_000.0)
        );
    }
    if let Some(full) = get("report/full text 512 CPUs, 100000 tasks") {
        println!("| full text report, 512 CPUs, 100 000 tasks (library) | {} | <= 100 ms |", human(full));
    }
    for r in &ratios {
        println!("| {r} | | |");
    }
    for e in found.iter().filter(|e| e.id.starts_with("cli/")) {
        println!("| {} (warm, wall) | {} | <= 100 ms |", e.id.trim_start_matches("cli/"), human(e.mean));
    }
    if !found.iter().any(|e| e.id.starts_with("cli/")) && filter.is_empty() {
        println!("| CLI on a lab dump | skipped: no dump in ~/.cache/scxray/dumps (cargo xtask lab) | |");
    }
    Ok(())
}
