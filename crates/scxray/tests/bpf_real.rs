//! The BPF half on real kernels: for each lab dump named in `SCXRAY_BPF_DUMPS`
//! (`:`-separated) whose scheduler is scx_qmap, scx_simple or scx_central, what the report
//! must say of its BPF state. Ignored by `cargo test`: the dumps come from the real-kernel lab
//! (`SCXRAY_BPF_DUMPS=$HOME/.cache/scxray/dumps/lab-7.3-amd64-qmap.core:... cargo test -p
//! scxray --test bpf_real -- --ignored`).
//!
//! - Every scheduler's struct_ops map is found (by `kvalue.data.priv` on 6.16+), its callbacks
//!   agree with the scheduler's copy, and its programs are struct_ops programs named after the
//!   scheduler (`qmap_`, `simple_`, `central_`).
//! - The scheduler's global-data maps (`<name>.bss`, `.data`, `.rodata`) are decoded by
//!   variable name, not as bytes.
//! - scx_qmap: every task in BPF custody (ops_state QUEUED or DISPATCHING) is placed on one of
//!   `qa.fifos[0..5]`, unambiguously; the FIFOs' links agree (head, tail, next, prev) and
//!   their lengths add up to the tasks placed on them; the arena counters decode by name, and
//!   `qa.nr_dispatched <= qa.nr_enqueued`; no cap fires.

use scxray::report::bpf::BpfReport;
use scxray::walk::Passes;
use scxray::{Inputs, Report, Target};
use scxray_core::Limits;
use std::path::PathBuf;

fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    text[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

fn check_qmap(name: &str, r: &Report, b: &BpfReport) {
    let s = &b.schedulers[0];
    // Nothing cut short: the free list (`qa.task_free_head` through `next_free`, the unused
    // part of the 16384-entry slab) ends within its arena-sized cap.
    assert!(!b.truncated && !r.truncated && r.caps_fired.is_empty(), "{name}: {:?}", r.caps_fired);
    // Sub-schedulers (qmap too, in the lab) keep their own FIFOs.
    let mut lengths = [0u32; 5];
    for sub in &b.schedulers {
        for (i, l) in sub.arena_lists.iter().enumerate() {
            assert_eq!(l.name, format!("qa.fifos[{i}]"), "{name}");
            assert!(l.agree && !l.looped && !l.truncated, "{name}: {l:?}");
            lengths[i] += l.length;
        }
    }
    let custody: Vec<_> =
        r.tasks.iter().filter(|t| matches!(t.ops_state.map(|v| v & 3), Some(2 | 3))).collect();
    let mut per_fifo = [0u32; 5];
    for t in &custody {
        let place =
            t.bpf_place.as_deref().unwrap_or_else(|| panic!("{name}: {}[{}] not placed", t.comm, t.pid));
        let fifo = (0..5)
            .find(|i| place.starts_with(&format!("qa.fifos[{i}] ")))
            .unwrap_or_else(|| panic!("{name}: {}[{}] placed at {place}, not a FIFO", t.comm, t.pid));
        assert!(!place.contains("ambiguous"), "{name}: {place}");
        per_fifo[fifo] += 1;
    }
    assert_eq!(s.arena_lists.len(), 5, "{name}: {:?}", s.arena_lists);
    // With sub-schedulers, their placements report no lists yet (issue 18 follow-up): the
    // lengths are checked on a lone root.
    if b.schedulers.len() == 1 {
        assert_eq!(lengths, per_fifo, "{name}: the FIFOs' lengths against the tasks placed on them");
    }
    let g = s.arena_globals.as_deref().expect("arena globals decoded");
    let enq = number_after(g, ".qa = {.nr_enqueued = ").expect("qa.nr_enqueued by name");
    let disp = number_after(g, ".nr_dispatched = ").expect("qa.nr_dispatched by name");
    assert!(disp <= enq && enq > 0, "{name}: enqueued {enq}, dispatched {disp}");
    eprintln!(
        "{name}: {} tasks in custody, FIFOs {per_fifo:?} over {} schedulers, nr_enqueued {enq}",
        custody.len(),
        b.schedulers.len()
    );
}

#[test]
#[ignore = "needs the lab's dumps: SCXRAY_BPF_DUMPS"]
fn the_bpf_half_of_real_dumps() {
    let list = std::env::var("SCXRAY_BPF_DUMPS").expect("SCXRAY_BPF_DUMPS names the dumps");
    let dumps: Vec<PathBuf> = list.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect();
    assert!(!dumps.is_empty(), "SCXRAY_BPF_DUMPS names no dump");
    for dump in &dumps {
        let name = dump.display().to_string();
        let inputs = Inputs { memory: dump.clone(), vmlinux: None, btf: None, system_map: None, raw_base: 0 };
        let t = Target::configure(&inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = Report::build_with(&t, Limits::DEFAULT, Passes { bpf: true });
        let ops = r
            .scheduler
            .as_ref()
            .and_then(|s| s.ops_name.clone())
            .unwrap_or_else(|| panic!("{name}: no scheduler"));
        let b = r.bpf.as_ref().expect("the BPF section");
        assert!(b.problems.is_empty(), "{name}: {:?}", b.problems);
        assert!(
            b.tables.iter().all(|t| t.entries > 0 && !t.truncated && t.error.is_none()),
            "{name}: {:?}",
            b.tables
        );
        let s = &b.schedulers[0];
        let map = s.ops_map.as_ref().unwrap_or_else(|| panic!("{name}: no struct_ops map"));
        assert_eq!(
            (map.map_type.as_str(), s.matched_by.as_deref(), s.callbacks_agree),
            ("struct_ops", Some("priv"), Some(true)),
            "{name}"
        );
        assert_eq!(map.name, format!("{ops}_ops"), "{name}");
        assert!(!s.programs.is_empty(), "{name}");
        for p in &s.programs {
            let full =
                b.programs.iter().find(|q| q.id == p.id).expect("a scheduler's program is in prog_idr");
            assert_eq!(full.prog_type, "struct_ops", "{name}: {full:?}");
            assert!(p.name.starts_with(&format!("{ops}_")), "{name}: {}", p.name);
        }
        for m in s.maps.iter().filter(|m| m.map.name.ends_with(".bss") || m.map.name.ends_with(".data")) {
            assert_eq!(m.count, 1, "{name}: {}", m.map.name);
            assert!(
                m.elems[0].value.starts_with("{."),
                "{name}: {} not decoded: {}",
                m.map.name,
                m.elems[0].value
            );
            assert!(m.error.is_none(), "{name}: {:?}", m.error);
        }
        // Every map the scheduler uses is in map_idr, with the same header.
        for m in &s.maps {
            assert!(b.maps.contains(&m.map), "{name}: {} not in map_idr", m.map.name);
        }
        if ops == "qmap" {
            check_qmap(&name, &r, b);
        }
        eprintln!(
            "{name}: {ops}: {} programs, {} maps, {} of the scheduler's",
            b.programs.len(),
            b.maps.len(),
            s.maps.len()
        );
    }
}
