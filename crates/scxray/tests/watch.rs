//! `scxray watch` end to end on a synthetic dump: one sample, the stall trigger naming the
//! task, the capture's reports, and the trace read back by a generic JSON parser (the schema
//! of the Chrome trace event format Perfetto opens: metadata, counters, complete slices).

mod common;

use common::{scxray, temp_dir};
use scxray_tests::elf_core::CoreSpec;
use scxray_tests::{AddressScheme, GuestBuilder, kernels};
use serde_json::Value;

/// A guest at jiffies 100 000 with a 1 250-jiffy watchdog timeout: pid 501 runnable on CPU 1
/// for 700 jiffies (past half the timeout), pid 502 for 10; pids 400-403 running; user DSQ
/// 0x42 holding 2 tasks.
fn stalled_guest() -> scxray_tests::elf_core::CoreFiles {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 4, 2);
    b.attach_scheduler(0, 8);
    b.set_ops_name("synthetic");
    let jiffies = b.image_var("jiffies", 8);
    b.write_u64(jiffies, 100_000);
    let timeout = b.image_var("scx_watchdog_timeout", 8);
    b.write_u64(timeout, 1250);
    for cpu in 0..4u32 {
        let t = b.add_task(400 + cpu as i32, b"spinner");
        b.set_curr(cpu, t);
        b.set_rq_scalars(cpu, 1, 0, false);
    }
    for (pid, age) in [(501, 700u64), (502, 10)] {
        let t = b.add_task(pid, b"starved");
        b.make_runnable(1, t);
        b.set_runnable_at(t, 100_000 - age);
    }
    b.set_rq_scalars(1, 3, 0, false);
    let user = b.add_user_dsq(0x42, 1, false);
    for pid in [600, 601] {
        let t = b.add_task(pid, b"queued");
        b.enqueue(user, t);
    }
    b.write_core(&CoreSpec::default())
}

#[test]
fn a_dump_gives_one_sample_whose_stall_fires_and_is_captured() {
    let f = stalled_guest();
    let w = common::write_temp("watch-stall", &f);
    let out = temp_dir("watch-stall-out");
    let trace = out.join("trace.json");
    let o = scxray(&[
        "watch",
        &w.core,
        "--system-map",
        &w.map,
        "--btf",
        &w.btf,
        "--out",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("starved[501] on cpu 1 for 700 jiffies"), "{stderr}");

    let stdout = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "a dump is sampled once");
    let s = &lines[0];
    assert_eq!(s["schema"], "scxray.watch/1");
    assert_eq!(
        (s["seq"].as_u64(), s["valid"].as_bool(), s["consistency"].as_str()),
        (Some(0), Some(true), Some("stable"))
    );
    assert_eq!(s["jiffies"], 100_000);
    assert_eq!(s["scheduler"]["watchdog_timeout_jiffies"], 1250);
    assert_eq!(s["cpus"].as_array().unwrap().len(), 4);
    assert_eq!(s["cpus"][1]["nr_running"], 3);
    assert_eq!(s["cpus"][1]["runnable"], 2);
    assert_eq!(s["cpus"][2]["curr_pid"], 402);
    let user = s["dsqs"].as_array().unwrap().iter().find(|d| d["dsq"] == "user 0x42").unwrap();
    assert_eq!(user["nr"], 2);
    assert_eq!(s["oldest_runnable"][0]["pid"], 501);
    assert_eq!(s["oldest_runnable"][0]["age_jiffies"], 700);
    assert_eq!(s["oldest_runnable"][0]["age_of_timeout"], 0.56);
    let t = &s["triggers"][0];
    assert_eq!((t["kind"].as_str(), t["threshold_jiffies"].as_u64()), (Some("stall"), Some(625)));
    assert_eq!(t["tasks"].as_array().unwrap().len(), 1, "pid 502 is young");
    assert_eq!((t["tasks"][0]["pid"].as_i64(), t["tasks"][0]["comm"].as_str()), (Some(501), Some("starved")));

    // The capture: the full report, text and JSON.
    let text = std::fs::read_to_string(out.join("scxray-watch-0.txt")).unwrap();
    assert!(text.contains("starved"), "{text}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("scxray-watch-0.json")).unwrap()).unwrap();
    assert_eq!(report["schema"], "scxray.dump/2");
    assert!(!out.join("scxray-watch-0.core").exists(), "no dump without QMP");

    // The trace, read as generic JSON.
    let tr: Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let events = tr["traceEvents"].as_array().unwrap();
    for e in events {
        assert!(["M", "C", "X"].contains(&e["ph"].as_str().unwrap()), "{e}");
        assert_eq!(e["pid"], 1);
    }
    let counter = |name: &str| events.iter().find(|e| e["ph"] == "C" && e["name"] == name).unwrap();
    assert_eq!(counter("cpu 1 nr_running")["args"]["nr_running"], 3);
    assert_eq!(counter("dsq user 0x42")["args"]["nr"], 2);
    assert_eq!(counter("dsq local cpu 0")["args"]["nr"], 0);
    let slices: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| (e["tid"].as_u64().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(slices, [(0, "spinner[400]"), (1, "spinner[401]"), (2, "spinner[402]"), (3, "spinner[403]")]);
    let tracks = events.iter().filter(|e| e["ph"] == "M" && e["name"] == "thread_name").count();
    assert_eq!(tracks, 4);
}

#[test]
fn watch_help_teaches_the_triggers_and_bad_durations_are_refused() {
    let o = scxray(&["watch", "--help"]);
    let help = String::from_utf8(o.stdout).unwrap();
    for needle in ["stall", "stuck_dsq", "stopped_clock", "exit_kind", "--interval", "--qmp", "EXIT STATUS"] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    let o = scxray(&["watch", "x.core", "--interval", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a duration"));
}
