//! `scxray watch --tui` in a real terminal: tmux runs it at 120 x 40 on a synthetic dump, its
//! screen is captured and read line by line, and its keys are typed (`r` a full report, `q`
//! quit). `cargo xtask test-all` installs tmux when it is missing.

mod common;

use common::temp_dir;
use scxray_tests::elf_core::CoreSpec;
use scxray_tests::{AddressScheme, GuestBuilder, kernels};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A guest at jiffies 50 000 with a 2 000-jiffy watchdog timeout: pid 701 runnable on CPU 0
/// for 1 500 jiffies (75%: past the stall trigger at 1 000), pid 702 for 40; pids 410-411
/// running; user DSQ 0x7 holding 3 tasks.
fn guest() -> scxray_tests::elf_core::CoreFiles {
    let mut b = GuestBuilder::with_scheme(kernels::debian_7_3_amd64(), AddressScheme::x86_kaslr(4), 2, 1);
    b.attach_scheduler(0, 8);
    let jiffies = b.image_var("jiffies", 8);
    b.write_u64(jiffies, 50_000);
    let timeout = b.image_var("scx_watchdog_timeout", 8);
    b.write_u64(timeout, 2_000);
    for cpu in 0..2u32 {
        let t = b.add_task(410 + cpu as i32, b"worker");
        b.set_curr(cpu, t);
        b.set_rq_scalars(cpu, 1, 0, false);
    }
    for (pid, age) in [(701, 1_500u64), (702, 40)] {
        let t = b.add_task(pid, b"hungry");
        b.make_runnable(0, t);
        b.set_runnable_at(t, 50_000 - age);
    }
    b.set_rq_scalars(0, 3, 0, false);
    let user = b.add_user_dsq(0x7, 1, false);
    for pid in [800, 801, 802] {
        let t = b.add_task(pid, b"queued");
        b.enqueue(user, t);
    }
    b.write_core(&CoreSpec::default())
}

/// tmux on its own server socket (never the user's).
fn tmux(socket: &str, args: &[&str]) -> Output {
    Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("run tmux (cargo xtask test-all installs it; else apt-get install tmux)")
}

/// The pane's text once it contains `needle` (within 60 s).
fn screen_with(socket: &str, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let o = tmux(socket, &["capture-pane", "-p"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        if text.contains(needle) {
            return text;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no {needle:?} on the screen:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills this test's tmux server when the test ends, however it ends.
struct Server<'a>(&'a str);

impl Drop for Server<'_> {
    fn drop(&mut self) {
        let _ = tmux(self.0, &["kill-server"]);
    }
}

#[test]
fn the_terminal_ui_shows_the_stall_takes_a_report_on_r_and_quits_on_q() {
    let dir = temp_dir("watch-tui");
    let w = common::write(&dir, &guest());
    let status = dir.join("status");
    let socket = format!("scxray-tui-{}", std::process::id());
    let command = format!(
        "cd {dir} && {bin} watch {core} --system-map {map} --btf {btf} --tui; echo $? > {status}; sleep 60",
        dir = dir.display(),
        bin = env!("CARGO_BIN_EXE_scxray"),
        core = w.core,
        map = w.map,
        btf = w.btf,
        status = status.display()
    );
    let o = tmux(&socket, &["new-session", "-d", "-x", "120", "-y", "40", &command]);
    assert!(o.status.success(), "tmux: {}", String::from_utf8_lossy(&o.stderr));
    let _server = Server(&socket);

    let text = screen_with(&socket, "a dump is one sample, and it fired");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let core = Path::new(&w.core).display().to_string();
    assert_eq!(lines[0], format!("scxray watch {core} · sample 1 at 0.0 s · every 100 ms"), "{text}");
    assert_eq!(lines[1], "scheduler enabled · exit none", "{text}");
    assert_eq!(
        lines[2], "samples 1: 0 retried, 0 torn; newest stable · jiffies 50000 · runnable 2",
        "{text}"
    );
    assert!(
        lines[3].starts_with("FIRED at sample 0: stall: 1 runnable task(s) waited >= 1000 jiffies"),
        "{text}"
    );
    // The trigger's capture was written before the screen showed it.
    assert_eq!(lines[4], "captured: ./scxray-watch-0.txt and ./scxray-watch-0.json", "{text}");
    assert!(dir.join("scxray-watch-0.txt").is_file() && dir.join("scxray-watch-0.json").is_file());
    assert!(lines[5].starts_with("┌ CPUs: 2 (0 with work, clock still 20+ samples) ─"), "{text}");
    assert!(lines[5].contains("┌ DSQs: 10 (1 holding tasks, 0 still 20+ samples) ─"), "{text}");
    assert!(lines[7].starts_with("│0   3      worker[410]      -           "), "{text}");
    assert!(lines[7].contains("││user 0x7       3                    █ 0          -        │"), "{text}");
    assert!(lines[8].starts_with("│1   1      worker[411]      -           "), "{text}");
    let task = lines.iter().position(|l| l.starts_with("│hungry[701]")).expect("the starving task's row");
    assert_eq!(
        lines[task],
        "│hungry[701]              0    1500           75%         ███████████████░░░░░                                         │"
    );
    assert!(
        lines[task + 1].starts_with("│hungry[702]              0    40             2%          ░░░░"),
        "{text}"
    );
    assert_eq!(
        lines[39],
        " p pause  r report now  q quit  │ a dump is one sample, and it fired: q quits (exit status 4)",
        "{text}"
    );

    tmux(&socket, &["send-keys", "r"]);
    let text = screen_with(&socket, "report: ./scxray-report-1.txt and ./scxray-report-1.json");
    assert!(text.contains("hungry[701]"), "{text}");
    let report = std::fs::read_to_string(dir.join("scxray-report-1.txt")).unwrap();
    assert!(report.contains("hungry"), "{report}");

    tmux(&socket, &["send-keys", "q"]);
    let start = Instant::now();
    while !status.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "scxray did not quit on q");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    // A trigger fired: exit status 4, as without --tui.
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "4");
}
