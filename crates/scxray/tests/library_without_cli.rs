//! A library user (a VMM, a test harness) depends on `scxray = { default-features = false }`
//! and gets no clap, no ratatui, no crossterm: the command line and the watch's terminal UI are
//! the `cli` feature's alone.

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

/// What only the CLI needs: its argument parser and the terminal UI with its backend.
const CLI_ONLY: [&str; 3] = ["clap", "ratatui", "crossterm"];

#[test]
fn the_library_builds_without_clap_ratatui_or_crossterm() {
    let cli = dependencies(&[]);
    for c in CLI_ONLY {
        assert!(cli.iter().any(|d| d == c), "the CLI (default) has {c}: {cli:?}");
    }
    let lib = dependencies(&["--no-default-features"]);
    assert!(lib.iter().any(|c| c == "scxray-core"), "{lib:?}");
    for c in CLI_ONLY {
        assert!(!lib.iter().any(|d| d.starts_with(c)), "{c} without the cli feature: {lib:?}");
    }
}
