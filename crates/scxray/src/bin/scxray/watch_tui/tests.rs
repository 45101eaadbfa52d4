//! The view model and the screen on samples of the kit's sampled machine (4 CPUs, user DSQ
//! 0x42, six runnable tasks, `watchdog_timeout` 7 500 jiffies), moved by hand between samples.

use super::KernelLabels;
use super::draw::{draw, sparkline};
use super::model::{Labels, Motion, WatchView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use scxray::watch::triggers::Thresholds;
use scxray_core::{Consistency, DsqOrigin, Sample};
use scxray_tests::sampled_machine;
use std::time::Duration;

type Small = Sample<8, 64, 4, 3>;

/// The names the kit's kernel (7.3) has.
fn labels() -> KernelLabels {
    let c = |v: &[(&str, u64)]| v.iter().map(|&(n, v)| (n.to_owned(), v)).collect();
    KernelLabels {
        enable_state: c(&[
            ("SCX_ENABLING", 0),
            ("SCX_ENABLED", 1),
            ("SCX_DISABLING", 2),
            ("SCX_DISABLED", 3),
        ]),
        exit_kind: c(&[("SCX_EXIT_NONE", 0), ("SCX_EXIT_DONE", 1), ("SCX_EXIT_ERROR_STALL", 1026)]),
        rq_flags: c(&[("SCX_RQ_ONLINE", 1), ("SCX_RQ_CAN_STOP_TICK", 2), ("SCX_RQ_CLK_VALID", 32)]),
    }
}

fn first_sample() -> Small {
    let (g, spec) = sampled_machine();
    let mut s = Small::default();
    g.with(|guest| guest.sample_into(&spec, &mut s));
    assert_eq!(s.consistency, Consistency::Stable);
    s
}

/// The sample after `s`, 100 jiffies on: CPU 0's clock and node 1's global DSQ moved, the
/// user DSQ (2 tasks) did not, CPU 1 (1 task) kept its clock.
fn second_sample(s: &Small) -> Small {
    let mut n = s.clone();
    n.jiffies = n.jiffies.map(|j| j + 100);
    n.cpus[0].rq_clock = Some(1500);
    n.cpus[0].flags = 1 | 32;
    let g = n.dsqs.iter_mut().find(|d| d.origin == DsqOrigin::Global { node: 1 }).unwrap();
    g.nr = 4;
    g.seq += 3;
    for t in &mut n.oldest {
        t.age_jiffies += 100;
    }
    n
}

/// The default thresholds, a DSQ or clock still for `n` samples stuck.
fn still_after(n: u32) -> Thresholds {
    Thresholds { still_samples: n, ..Thresholds::default() }
}

fn view_of(samples: &[&Small]) -> WatchView {
    let mut v = WatchView::new("guest.core", Duration::from_millis(100), still_after(2));
    for (i, s) in samples.iter().enumerate() {
        v.push(*s, Duration::from_millis(100 * i as u64), &[], &labels());
    }
    v
}

#[test]
fn the_first_sample_gives_rows_and_no_motion_yet() {
    let v = view_of(&[&first_sample()]);
    assert_eq!((v.samples, v.torn, v.jiffies), (1, 0, Some(10_000)));
    assert_eq!(v.scheduler.enable_state.as_deref(), Some("enabled"));
    assert_eq!(v.scheduler.exit_kind.as_deref(), Some("none"));
    assert_eq!(v.scheduler.watchdog_timeout, Some(7_500));
    assert_eq!(v.stall_threshold(), Some(3_750));
    let cpus: Vec<_> = v.cpus.iter().map(|c| (c.cpu, c.nr_running, c.curr.as_str(), c.clock)).collect();
    assert_eq!(
        cpus,
        [
            (0, 2, "runner[100]", Motion::Unknown),
            (1, 1, "runner[101]", Motion::Unknown),
            (2, 1, "runner[102]", Motion::Unknown),
            (3, 2, "runner[103]", Motion::Unknown)
        ]
    );
    // The DSQs that hold tasks first (user, then node 1's global), then the empty ones by kind.
    let dsqs: Vec<_> = v.dsqs.iter().take(4).map(|d| (d.label.as_str(), d.depth, d.seq)).collect();
    assert_eq!(
        dsqs,
        [("user 0x42", 2, 17), ("global node 1", 1, 0), ("global node 0", 0, 0), ("local cpu 0", 0, 0)]
    );
    assert_eq!(v.dsqs.len(), 19);
    let oldest: Vec<_> = v.oldest.iter().map(|t| (t.task.as_str(), t.cpu, t.age_jiffies)).collect();
    assert_eq!(oldest, [("waiter[303]", 2, 6_000), ("waiter[300]", 0, 4_000), ("waiter[302]", 1, 1_000)]);
}

#[test]
fn clocks_and_seqs_move_or_stay_between_valid_samples_and_a_torn_one_is_not_taken() {
    let s1 = first_sample();
    let s2 = second_sample(&s1);
    let mut torn = second_sample(&s2);
    torn.consistency = Consistency::Torn;
    torn.cpus[1].rq_clock = Some(9_999);
    let s3 = s2.clone();
    let v = view_of(&[&s1, &s2, &torn, &s3]);
    assert_eq!((v.samples, v.torn, v.last), (4, 1, Some(Consistency::Stable)));
    let clocks: Vec<_> = v.cpus.iter().map(|c| c.clock).collect();
    // CPU 0 moved in sample 2 and not since; the torn sample's CPU 1 clock was never taken.
    assert_eq!(clocks, [Motion::Still(1), Motion::Still(2), Motion::Still(2), Motion::Still(2)]);
    assert!(v.cpus.iter().all(|c| c.stopped_with_work(1)));
    // CPU 0's clock stayed for 1 sample only: below the trigger's 2, the others at it.
    let stuck: Vec<_> = v.cpus.iter().map(|c| c.stopped_with_work(2)).collect();
    assert_eq!(stuck, [false, true, true, true]);
    let user = &v.dsqs[0];
    assert_eq!(
        (user.label.as_str(), user.seq_motion, user.recent.as_slice()),
        ("user 0x42", Motion::Still(2), &[2, 2, 2][..])
    );
    assert!(user.still_with_tasks(2));
    let global = &v.dsqs[1];
    assert_eq!(
        (global.label.as_str(), global.seq_motion, global.recent.as_slice()),
        ("global node 1", Motion::Still(1), &[1, 4, 4][..])
    );

    let v = view_of(&[&s1, &s2]);
    assert_eq!(v.cpus[0].clock, Motion::Moving);
    assert_eq!(v.dsqs[1].seq_motion, Motion::Moving);
    assert!(!v.dsqs[1].still_with_tasks(1));
    assert_eq!(v.cpus[0].flags, "online|clk_valid");
}

#[test]
fn fired_triggers_keep_the_first_firing() {
    let s = first_sample();
    let mut v = WatchView::new("guest.core", Duration::from_millis(100), still_after(2));
    for i in 0..40 {
        v.push(&s, Duration::ZERO, &[format!("trigger {i}")], &labels());
    }
    assert_eq!(v.fired.len(), 16);
    assert_eq!(v.fired[0], (0, "trigger 0".to_owned()));
    assert_eq!(v.fired[15], (39, "trigger 39".to_owned()));
}

#[test]
fn sparklines_scale_to_the_largest_depth_and_align_right() {
    assert_eq!(sparkline(&[0, 1, 2, 4, 8], 6), "  ▁▂▄█");
    assert_eq!(sparkline(&[3, 3], 3), " ██");
    assert_eq!(sparkline(&[0, 0], 2), "  ");
    // Only the newest `width` depths are scaled and shown.
    assert_eq!(sparkline(&[100, 1, 2], 2), "▄█");
}

#[test]
fn the_kernels_enum_names_label_the_values() {
    let l = labels();
    assert_eq!(l.rq_flags(1 | 2 | 32 | 0x100), "online|can_stop_tick|clk_valid|0x100");
    assert_eq!(l.rq_flags(0), "-");
    assert_eq!(l.exit_kind(1026), "error_stall");
    assert_eq!(l.exit_kind(7), "7");
    let old = KernelLabels { enable_state: vec![("SCX_OPS_ENABLED".into(), 1)], ..KernelLabels::default() };
    assert_eq!(old.enable_state(1), "enabled");
}

fn screen(v: &WatchView, width: u16, height: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| draw(f, v)).unwrap();
    t.backend().buffer().clone()
}

fn line(b: &Buffer, y: u16) -> String {
    (0..b.area.width).map(|x| b[(x, y)].symbol()).collect::<String>().trim_end().to_owned()
}

#[test]
fn the_screen_shows_cpus_dsqs_and_stall_ages() {
    let s1 = first_sample();
    let s2 = second_sample(&s1);
    let mut v = view_of(&[&s1, &s2]);
    // Stuck after 1 still sample (the watch's --still-samples 1).
    v.thresholds.still_samples = 1;
    v.fired.push((1, "stopped clock: cpu 1 has 1 task(s)".to_owned()));
    let b = screen(&v, 120, 34);
    let text: Vec<String> = (0..b.area.height).map(|y| line(&b, y)).collect();
    let dump = text.iter().enumerate().map(|(y, l)| format!("{y:2} {l}\n")).collect::<String>();
    let expected = [
        (0, "scxray watch guest.core · sample 2 at 0.1 s · every 100 ms"),
        (1, "scheduler enabled · exit none"),
        (2, "samples 2: 0 retried, 0 torn; newest stable · jiffies 10100 · runnable 6"),
        (3, "FIRED at sample 1: stopped clock: cpu 1 has 1 task(s)"),
        (
            4,
            "┌ CPUs: 4 (3 with work, clock still 1+ samples) ───────────┐┌ DSQs: 19 (2 holding tasks, 1 still 1+ samples) ──────────┐",
        ),
        (
            6,
            "│0   2      runner[100]      moving      online|clk_valid  ││user 0x42      2                   ██ 17         still 1  │",
        ),
        (
            7,
            "│1   1      runner[101]      stopped 1   -                 ││global node 1  4                   ▂█ 3          moving   │",
        ),
        (
            8,
            "│2   1      runner[102]      stopped 1   -                 ││global node 0  0                      0          still 1  │",
        ),
        (
            27,
            "┌ Oldest runnable tasks: 3 of 6 runnable; watchdog_timeout 7500 jiffies, stall trigger at 3750 ────────────────────────┐",
        ),
        (
            29,
            "│waiter[303]              2    6100           81%         ████████████████░░░░                                         │",
        ),
        (
            31,
            "│waiter[302]              1    1100           15%         ██░░░░░░░░░░░░░░░░░░                                         │",
        ),
        (33, " p pause  r report now  q quit"),
    ];
    for (y, want) in expected {
        assert_eq!(text[y], want, "line {y} of\n{dump}");
    }
    // What is stuck is red: a CPU with work whose clock stopped, a DSQ holding tasks whose seq
    // did not move, a task past the stall threshold; CPU 0 (its clock moved), the moving DSQ
    // and a young task are not. A DSQ empty all through its sparkline is grey.
    let fg = |x: u16, y: u16| b[(x, y)].fg;
    assert_eq!((fg(1, 7), fg(1, 6)), (Color::Red, Color::Reset));
    assert_eq!((fg(61, 6), fg(61, 7), fg(61, 8)), (Color::Red, Color::Reset, Color::DarkGray));
    assert_eq!((fg(1, 29), fg(1, 30), fg(1, 31)), (Color::Red, Color::Red, Color::Reset));
    assert_eq!(fg(0, 3), Color::Red);
}

#[test]
fn still_for_fewer_samples_than_the_trigger_waits_is_yellow() {
    let s1 = first_sample();
    let v = view_of(&[&s1, &second_sample(&s1)]);
    let b = screen(&v, 120, 34);
    assert!(line(&b, 4).starts_with("┌ CPUs: 4 (0 with work, clock still 2+ samples) ─"), "{}", line(&b, 4));
    // CPU 1's row and the user DSQ's: still 1 sample of 2.
    assert_eq!((b[(1, 7)].fg, b[(61, 6)].fg), (Color::Yellow, Color::Yellow));
}

#[test]
fn a_paused_screen_says_so_and_a_status_shows_on_the_key_line() {
    let mut v = view_of(&[&first_sample()]);
    v.paused = true;
    v.status = Some("report: ./scxray-report-1.txt".to_owned());
    let b = screen(&v, 120, 30);
    assert_eq!(line(&b, 0), "scxray watch guest.core · sample 1 at 0.0 s · every 100 ms  PAUSED");
    assert_eq!(line(&b, 3), "triggers: none fired (stall at 3750 jiffies)");
    assert_eq!(line(&b, 29), " p resume  r report now  q quit  │ report: ./scxray-report-1.txt");
    // Before a second sample nothing is known to move or stay.
    assert_eq!(
        line(&b, 6),
        "│0   2      runner[100]      -           -                 ││user 0x42      2                    █ 17         -        │"
    );
}
