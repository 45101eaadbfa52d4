//! `cargo xtask lab kernels`: the lab's kernels prepared, and a table of what each has.

use super::debian::fetch_debug;
use super::kernel::kernels_dir;
use super::prepare::prepare;
use super::spec::{KernelSpec, MATRIX, spec};
use std::fs;
use std::path::PathBuf;

/// `cargo xtask lab kernels [--dbg] [--dbg-vmlinux] [name...]`: prepares the matrix (or the
/// named kernels) and prints a table.
pub fn cmd(args: &[String]) -> Result<(), String> {
    let dbg_vmlinux = args.iter().any(|a| a == "--dbg-vmlinux");
    let dbg = dbg_vmlinux || args.iter().any(|a| a == "--dbg");
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let specs: Vec<&KernelSpec> = if names.is_empty() {
        MATRIX.iter().collect()
    } else {
        names.iter().map(|a| spec(a)).collect::<Result<_, _>>()?
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for s in specs {
        match prepare(s) {
            Ok(k) if dbg => match fetch_debug(&k, dbg_vmlinux) {
                Ok(k) => rows.push(k),
                Err(e) => {
                    let mut k = k;
                    k.notes.push(format!("-dbg: {e}"));
                    rows.push(k);
                }
            },
            Ok(k) => rows.push(k),
            Err(e) => errors.push(format!("{}: {e}", s.name)),
        }
    }
    let size = |p: &Option<PathBuf>| {
        p.as_ref().and_then(|p| fs::metadata(p).ok()).map_or("-".to_owned(), |m| m.len().to_string())
    };
    println!(
        "{:<11} {:<28} {:<6} {:<17} {:<9} {:>10} {:>9} {:>10} {:<7}",
        "kernel", "release", "arch", "version", "sched_ext", "vmlinuz", "BTF", "System.map", "modules"
    );
    for k in &rows {
        println!(
            "{:<11} {:<28} {:<6} {:<17} {:<9} {:>10} {:>9} {:>10} {:<7}",
            k.spec.name,
            k.release,
            k.spec.arch,
            k.version,
            match k.sched_ext {
                Some(true) => "y",
                Some(false) => "n",
                None => "?",
            },
            size(&Some(k.vmlinuz.clone())),
            size(&k.btf),
            size(&k.system_map),
            if k.modules.is_empty() { "none".to_owned() } else { k.modules.len().to_string() },
        );
    }
    for k in &rows {
        for n in &k.notes {
            println!("note: {}: {n}", k.spec.name);
        }
    }
    println!("kernels in {}", kernels_dir().display());
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}
