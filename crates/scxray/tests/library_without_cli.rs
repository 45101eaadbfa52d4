//! A library user (a VMM, a test harness) depends on `scxray = { default-features = false }`
//! and gets no clap: the command line is the `cli` feature's alone.

use std::process::Command;

/// The crates `scxray` builds with, as `cargo tree` lists them (normal dependencies only).
fn dependencies(features: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-p", "scxray"])
        .args(features)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_library_builds_without_clap() {
    assert!(dependencies(&[]).iter().any(|c| c == "clap"), "the CLI (default) has clap");
    let lib = dependencies(&["--no-default-features"]);
    assert!(lib.iter().any(|c| c == "scxray-core"), "{lib:?}");
    assert!(!lib.iter().any(|c| c.starts_with("clap")), "clap without the cli feature: {lib:?}");
}
