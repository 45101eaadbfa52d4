//! The wire format on real kernels: for each lab dump named in `SCXRAY_WIRE_DUMPS`
//! (`:`-separated), the host encodes the request, scxray-wire's `serve` (the embedded side)
//! walks the dump's memory, and the decoded report must be the direct report of the same
//! dump, less what only the host reads (per-task detail, the global state, exit info, event
//! counters).
//!
//! Ignored by `cargo test`: the dumps come from the real-kernel lab, which runs this after its
//! matrix (`cargo xtask lab wire`).

mod common;

use common::wire_part;
use scxray::{Inputs, Report, Target};
use scxray_core::Limits;
use std::path::PathBuf;

#[test]
#[ignore = "needs the lab's dumps: cargo xtask lab wire"]
fn the_embedded_walk_of_a_real_dump_is_the_direct_report() {
    let list = std::env::var("SCXRAY_WIRE_DUMPS").expect("SCXRAY_WIRE_DUMPS names the dumps");
    let dumps: Vec<PathBuf> = list.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect();
    assert!(!dumps.is_empty(), "SCXRAY_WIRE_DUMPS names no dump");
    for dump in &dumps {
        let inputs = Inputs { memory: dump.clone(), vmlinux: None, btf: None, system_map: None, raw_base: 0 };
        let t = Target::configure(&inputs).unwrap_or_else(|e| panic!("{}: {e}", dump.display()));
        let limits = Limits::DEFAULT;
        let direct = Report::build(&t, limits);
        assert!(direct.scheduler.is_some(), "{}: no scheduler in the dump", dump.display());

        let request = scxray::wire::request(&t, limits).unwrap();
        let mut out = vec![0u8; 16 << 20];
        let n = scxray_wire::serve(&request, t.memory(), &mut out)
            .unwrap_or_else(|e| panic!("{}: serve: {e:?}", dump.display()));
        let decoded = scxray::wire::decode(&out[..n]).unwrap();

        let d = serde_json::to_value(wire_part(direct)).unwrap();
        let w = serde_json::to_value(&decoded).unwrap();
        assert!(d == w, "{}: the decoded wire dump differs from the direct report", dump.display());
        eprintln!(
            "{}: wire dump of {n} bytes: {} schedulers ({}), {} DSQs, {} scx_tasks: same report",
            dump.display(),
            decoded.schedulers.len(),
            decoded.schedulers.iter().filter_map(|s| s.name.as_deref()).collect::<Vec<_>>().join(", "),
            decoded.dsqs.len(),
            decoded.scx_tasks.tasks.len()
        );
    }
}
