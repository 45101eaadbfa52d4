//! `cargo xtask lab wire`: the wire format on real kernels. The matrix's dumps of guests
//! running a scheduler go through the host's request, scxray-wire's `serve` (the embedded side)
//! and the decoder; each decoded report must be the direct report of the same dump
//! (`crates/scxray/tests/wire_real.rs`, an ignored test this runs with the dumps named).

use crate::lab::host::dirs::dumps_dir;
use crate::util::{Step, cargo};

/// The matrix cases whose dumps go over the wire: a nested sub-scheduler hierarchy (names and
/// cgroup paths), arm64 (the aarch64 translator's configuration), 7.2, x86 without KASLR, and
/// the self-built 6.12 (the globals) when it was built.
const CASES: &[(&str, bool)] = &[
    ("lab-7.3-amd64-qmap-sub-nested", true),
    ("lab-7.3-arm64-qmap", true),
    ("lab-7.2-amd64-qmap", true),
    ("lab-7.3-amd64-nokaslr-central", true),
    ("lab-6.12sb-amd64-qmap", false),
];

/// Runs the check over the cached dumps; a required one missing is an error.
pub fn run(_args: &[String]) -> Result<(), String> {
    let dir = dumps_dir();
    let mut dumps = Vec::new();
    for &(case, required) in CASES {
        let p = dir.join(format!("{case}.core"));
        if p.is_file() {
            dumps.push(p.display().to_string());
        } else if required {
            return Err(format!("lab wire: no dump {} (run `cargo xtask lab` first)", p.display()));
        } else {
            eprintln!("xtask: lab wire: {case} skipped: not dumped (its kernel is opt-in)");
        }
    }
    let mut c =
        cargo(&["test", "--quiet", "-p", "scxray", "--test", "wire_real", "--", "--ignored", "--nocapture"]);
    c.env("SCXRAY_WIRE_DUMPS", dumps.join(":"));
    Step::new(&format!("wire: {} real dumps walked by scxray-wire's serve, decoded, compared", dumps.len()))
        .run(c)
}
