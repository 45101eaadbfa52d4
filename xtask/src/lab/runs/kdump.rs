//! `cargo xtask lab kdump [--kernel NAME]`: scxray's kdump reader against an independent
//! writer. A guest runs scx_qmap; at `SCXRAY-READY` QEMU, with the guest stopped, writes an
//! ELF core and then kdump-compressed dumps of the same instant in every `kdump-*` format it
//! offers (`kdump-zlib`, `kdump-lzo`, `kdump-snappy`; flattened on QEMU before 8.2, and the
//! `kdump-raw-*` ones from 8.2). `scxray dump --format json` must report the same thing from
//! each of them as from the ELF core (only `machine.memory`, which names the format, differs).

use super::boot::{boot, example_guest};
use super::scxray::build_scxray;
use crate::lab::host::qemu::BootOptions;
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::schedulers::SCX_QMAP;
use crate::lab::kernels::spec::spec;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Every kdump format QEMU has had.
const FORMATS: &[&str] =
    &["kdump-zlib", "kdump-lzo", "kdump-snappy", "kdump-raw-zlib", "kdump-raw-lzo", "kdump-raw-snappy"];

/// Runs `scxray dump --format json` on `dump`; returns the report and how long it took.
fn dump_json(scxray: &Path, dump: &Path) -> Result<(Value, f64), String> {
    let t = Instant::now();
    let out = Command::new(scxray)
        .arg("dump")
        .arg(dump)
        .args(["--format", "json"])
        .output()
        .map_err(|e| format!("run scxray: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "scxray dump {} exited {:?}: {}",
            dump.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v = serde_json::from_slice(&out.stdout).map_err(|e| format!("{}: JSON: {e}", dump.display()))?;
    Ok((v, secs))
}

/// The first path where two reports differ.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                if let Some(d) = first_difference(va, vb, &format!("{at}.{k}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{at}: {a} vs {b}")),
    }
}

/// Runs the comparison.
pub fn run(args: &[String]) -> Result<(), String> {
    let kname = args
        .iter()
        .position(|a| a == "--kernel")
        .and_then(|i| args.get(i + 1))
        .map_or("7.3-amd64", String::as_str);
    let scxray = build_scxray()?;
    let spec = spec(kname)?;
    let kernel = prepare(spec)?;
    let guest = example_guest(&kernel, &SCX_QMAP)?;
    let opts = BootOptions {
        extra_formats: FORMATS.iter().map(|f| (*f).to_owned()).collect(),
        ..BootOptions::default()
    };
    let name = format!("lab-kdump-{}", spec.name);
    let r = boot(&kernel, &guest, &opts, &name)?;
    if r.truth.state != "enabled" {
        return Err(format!("scx_qmap did not enable sched_ext (state {})", r.truth.state));
    }
    let (mut want, secs) = dump_json(&scxray, &r.dump)?;
    println!(
        "ELF core      {:>8.1} MiB  scxray {secs:5.2} s  {}",
        r.core.size as f64 / 1048576.0,
        want["machine"]["memory"].as_str().unwrap_or("?")
    );
    want["machine"]["memory"] = Value::Null;
    let tasks = want["scx_tasks"]["tasks"].as_array().map_or(0, Vec::len);
    let dsqs = want["dsqs"].as_array().map_or(0, Vec::len);
    let mut failures = Vec::new();
    let mut compared = 0;
    for (format, path) in &r.extra_dumps {
        let Some(path) = path else {
            println!("{format:<14} not offered by this QEMU");
            continue;
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        match dump_json(&scxray, path) {
            Ok((mut got, secs)) => {
                let memory = got["machine"]["memory"].as_str().unwrap_or("?").to_owned();
                got["machine"]["memory"] = Value::Null;
                let verdict = match first_difference(&want, &got, "") {
                    None => "same report".to_owned(),
                    Some(d) => {
                        failures.push(format!("{format}: {d}"));
                        format!("DIFFERS ({d})")
                    }
                };
                compared += 1;
                println!(
                    "{format:<14}{:>8.1} MiB  scxray {secs:5.2} s  {verdict}; {memory}",
                    size as f64 / 1048576.0
                );
            }
            Err(e) => {
                println!("{format:<14}{:>8.1} MiB  FAILED: {e}", size as f64 / 1048576.0);
                failures.push(format!("{format}: {e}"));
            }
        }
    }
    println!(
        "kdump: {compared} QEMU kdump formats compared with the ELF core of the same instant ({tasks} sched_ext \
         tasks, {dsqs} DSQs): {}",
        if failures.is_empty() { "all the same".to_owned() } else { format!("{} failed", failures.len()) }
    );
    if compared == 0 {
        return Err("this QEMU offered no kdump format".into());
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}
