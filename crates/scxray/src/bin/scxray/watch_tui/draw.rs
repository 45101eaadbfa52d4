//! Draws a [`WatchView`]: a header (what is watched, the samples, the scheduler's state, the
//! triggers), the CPUs beside the DSQs, the oldest runnable tasks against the watchdog's
//! timeout, and the keys. What is stuck is red: a CPU with work whose clock stayed, a DSQ
//! holding tasks whose `seq` stayed, each for the watch's `still_samples` or more, a task past
//! the stall threshold; yellow when the clock or `seq` stayed for fewer samples.

use super::model::{CpuRow, DsqRow, Motion, TaskRow, WatchView};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use scxray_core::Consistency;

/// The bars of a sparkline, lowest first (a depth of 0 is blank).
const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Width of the stall gauge (the whole of `watchdog_timeout`).
const GAUGE: usize = 20;
const GAUGE_CELLS: u16 = 20;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, view: &WatchView) {
    let worst_rows = u16::try_from(view.oldest.len().max(1)).unwrap_or(u16::MAX).saturating_add(3).min(11);
    let header_rows = if view.captured.is_some() { 5 } else { 4 };
    let [header, body, stall, keys] = Layout::vertical([
        Constraint::Length(header_rows),
        Constraint::Min(6),
        Constraint::Length(worst_rows),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header_lines(view)), header);
    let [cpus, dsqs] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    draw_cpus(frame, cpus, view);
    draw_dsqs(frame, dsqs, view);
    draw_stall(frame, stall, view);
    frame.render_widget(Paragraph::new(key_line(view)), keys);
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn stuck() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// Still, but not yet as long as the trigger waits.
fn stilling() -> Style {
    Style::new().fg(Color::Yellow)
}

fn header_lines(view: &WatchView) -> Vec<Line<'static>> {
    let mut title = vec![
        Span::styled("scxray watch ", bold()),
        Span::raw(format!(
            "{} · sample {} at {:.1} s · every {} ms",
            view.source,
            view.samples,
            view.elapsed.as_secs_f64(),
            view.interval.as_millis()
        )),
    ];
    if view.paused {
        title.push(Span::styled("  PAUSED", Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)));
    }
    let s = &view.scheduler;
    let state = s.enable_state.as_deref().unwrap_or("?");
    let scheduler = if s.attached {
        let mut line = format!("scheduler {state} · exit {}", s.exit_kind.as_deref().unwrap_or("?"));
        if s.aborting {
            line.push_str(" · aborting");
        }
        if s.bypass_depth != 0 {
            line.push_str(&format!(" · bypass depth {}", s.bypass_depth));
        }
        line
    } else {
        format!("scheduler {state} · no root scheduler attached")
    };
    let jiffies = view.jiffies.map_or_else(|| "?".to_owned(), |j| j.to_string());
    let newest = match view.last {
        None => "none yet",
        Some(Consistency::Stable) => "stable",
        Some(Consistency::Retried) => "retried",
        Some(Consistency::Torn) => "torn (rows from the last valid one)",
    };
    let mut samples = format!(
        "samples {}: {} retried, {} torn; newest {newest} · jiffies {jiffies} · runnable {}",
        view.samples, view.retried, view.torn, view.runnable
    );
    if view.problems > 0 || view.truncated {
        samples.push_str(&format!(
            " · problems {}{}",
            view.problems,
            if view.truncated { ", truncated" } else { "" }
        ));
    }
    let triggers = match view.fired.first() {
        None => Line::from(format!(
            "triggers: none fired (stall at {})",
            view.stall_threshold()
                .map_or_else(|| "? jiffies: no watchdog_timeout".to_owned(), |t| format!("{t} jiffies"))
        )),
        Some((n, first)) => {
            let more = view.fired.len() - 1;
            let tail = if more > 0 { format!(" (+{more} more)") } else { String::new() };
            Line::from(vec![
                Span::styled(format!("FIRED at sample {n}: "), stuck()),
                Span::raw(format!("{first}{tail}")),
            ])
        }
    };
    let mut lines = vec![Line::from(title), Line::from(scheduler), Line::from(samples), triggers];
    if let Some(c) = &view.captured {
        lines.push(Line::from(format!("captured: {c}")));
    }
    lines
}

/// A value's motion as the screen says it (`stopped` for a clock, `still` for a `seq`).
fn motion(m: Motion, still: &str) -> String {
    match m {
        Motion::Unknown => "-".to_owned(),
        Motion::Moving => "moving".to_owned(),
        Motion::Still(n) => format!("{still} {n}"),
    }
}

fn draw_cpus(frame: &mut Frame<'_>, area: Rect, view: &WatchView) {
    let n = view.thresholds.still_samples;
    let stopped = view.cpus.iter().filter(|c| c.stopped_with_work(n)).count();
    let title = format!(" CPUs: {} ({stopped} with work, clock still {n}+ samples) ", view.cpus.len());
    let rows = view.cpus.iter().map(|c: &CpuRow| {
        let row = Row::new([
            c.cpu.to_string(),
            c.nr_running.to_string(),
            c.curr.clone(),
            motion(c.clock, "stopped"),
            c.flags.clone(),
        ]);
        if c.stopped_with_work(n) {
            row.style(stuck())
        } else if c.stopped_with_work(1) {
            row.style(stilling())
        } else {
            row
        }
    });
    let widths = [
        Constraint::Length(3),
        Constraint::Length(6),
        Constraint::Length(16),
        Constraint::Length(11),
        Constraint::Min(5),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["cpu", "nr_run", "curr", "clock", "flags"]).style(bold()))
        .block(Block::bordered().title(title));
    frame.render_widget(table, area);
}

/// `depths` as bars scaled to their largest, right-aligned in `width` cells.
pub fn sparkline(depths: &[u32], width: usize) -> String {
    let shown = &depths[depths.len().saturating_sub(width)..];
    let max = shown.iter().copied().max().unwrap_or(0);
    let bar = |n: u32| -> char {
        if n == 0 || max == 0 {
            return BARS[0];
        }
        // 1..=8 in proportion, any nonzero depth at least the lowest bar.
        let level = (u64::from(n) * 8).div_ceil(u64::from(max));
        BARS.get(usize::try_from(level).unwrap_or(8)).copied().unwrap_or(BARS[8])
    };
    let pad = width.saturating_sub(shown.len());
    std::iter::repeat_n(' ', pad).chain(shown.iter().map(|&n| bar(n))).collect()
}

fn draw_dsqs(frame: &mut Frame<'_>, area: Rect, view: &WatchView) {
    let holding = view.dsqs.iter().filter(|d| d.depth > 0).count();
    let n = view.thresholds.still_samples;
    let still = view.dsqs.iter().filter(|d| d.still_with_tasks(n)).count();
    let title = format!(" DSQs: {} ({holding} holding tasks, {still} still {n}+ samples) ", view.dsqs.len());
    let rows = view.dsqs.iter().map(|d: &DsqRow| {
        let row = Row::new([
            d.label.clone(),
            d.depth.to_string(),
            sparkline(&d.recent, super::model::DEPTH_HISTORY),
            d.seq.to_string(),
            motion(d.seq_motion, "still"),
        ]);
        if d.still_with_tasks(n) {
            row.style(stuck())
        } else if d.still_with_tasks(1) {
            row.style(stilling())
        } else if d.recent.iter().all(|&n| n == 0) {
            // Empty all through the sparkline's window: there, but not what to look at.
            row.style(Style::new().fg(Color::DarkGray))
        } else {
            row
        }
    });
    let widths = [
        Constraint::Length(14),
        Constraint::Length(5),
        Constraint::Length(u16::try_from(super::model::DEPTH_HISTORY).unwrap_or(16)),
        Constraint::Length(10),
        Constraint::Min(8),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["dsq", "depth", "recent depths", "seq", "seq moved"]).style(bold()))
        .block(Block::bordered().title(title));
    frame.render_widget(table, area);
}

/// `age` of `timeout` as a bar of [`GAUGE`] cells.
fn gauge(age: i64, timeout: u64) -> String {
    let age = u64::try_from(age).unwrap_or(0);
    let cells = u64::try_from(GAUGE).unwrap_or(20);
    let filled = age.saturating_mul(cells).checked_div(timeout).unwrap_or(cells).min(cells);
    let filled = usize::try_from(filled).unwrap_or(GAUGE);
    "█".repeat(filled) + &"░".repeat(GAUGE - filled)
}

fn draw_stall(frame: &mut Frame<'_>, area: Rect, view: &WatchView) {
    let timeout = view.scheduler.watchdog_timeout;
    let threshold = view.stall_threshold();
    let title = match timeout {
        Some(t) => format!(
            " Oldest runnable tasks: {} of {} runnable; watchdog_timeout {t} jiffies, stall trigger at {} ",
            view.oldest.len(),
            view.runnable,
            threshold.map_or_else(String::new, |t| t.to_string())
        ),
        None => format!(
            " Oldest runnable tasks: {} of {} (watchdog_timeout unknown) ",
            view.oldest.len(),
            view.runnable
        ),
    };
    let rows = view.oldest.iter().map(|t: &TaskRow| {
        let share = timeout.map_or_else(
            || "?".to_owned(),
            #[expect(clippy::cast_precision_loss)]
            |to| format!("{:.0}%", t.age_jiffies as f64 * 100.0 / to.max(1) as f64),
        );
        let row = Row::new([
            t.task.clone(),
            t.cpu.to_string(),
            t.age_jiffies.to_string(),
            share,
            timeout.map_or_else(String::new, |to| gauge(t.age_jiffies, to)),
        ]);
        let past = threshold.is_some_and(|th| u64::try_from(t.age_jiffies).is_ok_and(|a| a >= th));
        if past { row.style(stuck()) } else { row }
    });
    let widths = [
        Constraint::Length(24),
        Constraint::Length(4),
        Constraint::Length(14),
        Constraint::Length(11),
        Constraint::Min(GAUGE_CELLS),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(["task", "cpu", "age (jiffies)", "of timeout", "age / watchdog_timeout"]).style(bold()),
        )
        .block(Block::bordered().title(title));
    frame.render_widget(table, area);
}

fn key_line(view: &WatchView) -> Line<'static> {
    let mut spans = vec![
        Span::styled(" p", bold()),
        Span::raw(if view.paused { " resume  " } else { " pause  " }),
        Span::styled("r", bold()),
        Span::raw(" report now  "),
        Span::styled("q", bold()),
        Span::raw(" quit"),
    ];
    if let Some(s) = &view.status {
        spans.push(Span::raw(format!("  │ {s}")));
    }
    Line::from(spans)
}
