//! The watch stage: samples a guest again and again without pausing it
//! ([`crate::walk::Sampler`]), writes each sample as a JSON line ([`lines`]) and to a trace
//! ([`trace`]), judges the valid ones ([`triggers`]), and when a trigger fires captures the
//! state: a full report (text and JSON) and, with the guest's QMP monitor, a consistent dump
//! (stop, report, `dump-guest-memory`, cont). A dump is sampled once; a running guest until
//! the duration ends or a trigger fires.

pub mod lines;
pub mod trace;
pub mod triggers;

use crate::error::Error;
use crate::report::Report;
use crate::report::text::render;
use crate::source::qemu::qmp::Qmp;
use crate::target::Target;
use crate::walk::{HostSample, Sampler};
use scxray_core::Limits;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trace::Trace;
use triggers::{Judge, Thresholds, Trigger};

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Time between the starts of two samples (0: back to back).
    pub interval: Duration,
    /// How long to watch a running guest (`None`: until a trigger fires).
    pub duration: Option<Duration>,
    /// When triggers fire.
    pub thresholds: Thresholds,
    /// Where a capture's report and dump are written.
    pub out_dir: PathBuf,
    /// Keep watching after a trigger fired (only the first firing is captured).
    pub keep_going: bool,
}

/// What a trigger left behind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Capture {
    /// The full report, as text.
    pub report_text: PathBuf,
    /// The full report, as JSON.
    pub report_json: PathBuf,
    /// The guest's dump (with QMP only).
    pub dump: Option<PathBuf>,
    /// Why no dump was taken, when QMP was there and it failed.
    pub dump_error: Option<String>,
}

/// The files written: `a.txt and a.json[ and a.core][ (no dump: why)]`.
impl std::fmt::Display for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} and {}", self.report_text.display(), self.report_json.display())?;
        if let Some(d) = &self.dump {
            write!(f, " and {}", d.display())?;
        }
        if let Some(e) = &self.dump_error {
            write!(f, " (no dump: {e})")?;
        }
        Ok(())
    }
}

/// How a watch ended.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WatchSummary {
    /// Samples taken.
    pub samples: u64,
    /// Of those, torn.
    pub torn: u64,
    /// Of those, stable only after a retry.
    pub retried: u64,
    /// Wall time watched (s).
    pub seconds: f64,
    /// The host CPU this process used meanwhile (user + system, s), when known.
    pub cpu_seconds: Option<f64>,
    /// The triggers of the first sample that fired any.
    pub fired: Vec<Trigger>,
    /// What the first firing left behind.
    pub capture: Option<Capture>,
}

impl WatchSummary {
    /// Samples per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 { self.samples as f64 / self.seconds } else { 0.0 }
    }

    /// The share of one host core used (0.05: 5%).
    pub fn core_share(&self) -> Option<f64> {
        self.cpu_seconds.filter(|_| self.seconds > 0.0).map(|c| c / self.seconds)
    }
}

/// Watches `target` as `opts` says: one JSON line per sample on `lines`, the trace into
/// `trace` when given; on a trigger, a capture (`qmp`: stop the guest for a consistent report
/// and dump). Returns how it went.
pub fn watch(
    target: &Target,
    opts: &WatchOptions,
    qmp: Option<&mut Qmp>,
    lines: &mut dyn Write,
    trace: Option<&mut Trace>,
) -> Result<WatchSummary, Error> {
    watch_with(target, opts, qmp, lines, trace, &mut StderrNotes)
}

/// What follows a watch sample by sample besides its lines and trace (the CLI's terminal UI):
/// it sees each sample, may take the time until the next one is due and longer (a screen
/// answering keys, or paused), may end the watch, and is told what a trigger's capture wrote.
pub trait Observer {
    /// Sample number `seq`, taken `t_ms` after the watch began, and the triggers it fired;
    /// the next sample is due at `next`. `qmp` is the guest's monitor, for a capture of its
    /// own. Returns false to end the watch.
    fn sample(
        &mut self,
        seq: u64,
        t_ms: f64,
        sample: &HostSample,
        fired: &[Trigger],
        next: Instant,
        qmp: Option<&mut Qmp>,
    ) -> Result<bool, Error>;

    /// The first firing's triggers and what its capture wrote.
    fn captured(&mut self, fired: &[Trigger], capture: &Capture);
}

/// The observer of a plain watch: triggers and captures said on standard error.
#[derive(Debug)]
pub struct StderrNotes;

impl Observer for StderrNotes {
    fn sample(
        &mut self,
        _: u64,
        _: f64,
        _: &HostSample,
        _: &[Trigger],
        _: Instant,
        _: Option<&mut Qmp>,
    ) -> Result<bool, Error> {
        Ok(true)
    }

    fn captured(&mut self, fired: &[Trigger], c: &Capture) {
        for f in fired {
            eprintln!("scxray: trigger: {f}");
        }
        eprintln!("scxray: captured {c}");
    }
}

/// [`watch`], each sample shown to `observer` too.
pub fn watch_with(
    target: &Target,
    opts: &WatchOptions,
    mut qmp: Option<&mut Qmp>,
    lines: &mut dyn Write,
    mut trace: Option<&mut Trace>,
    observer: &mut dyn Observer,
) -> Result<WatchSummary, Error> {
    let types = target.types();
    let mut sampler = Sampler::new(target);
    let event_names = sampler.event_names().to_vec();
    let mut judge = Judge::new(opts.thresholds.clone());
    let mut deltas = lines::EventDeltas::default();
    let running = target.memory().is_running();
    let mut summary = WatchSummary::default();
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let mut next = start;
    loop {
        let t_ms = start.elapsed().as_secs_f64() * 1000.0;
        let s = sampler.sample(target);
        summary.samples += 1;
        match s.consistency {
            scxray_core::Consistency::Torn => summary.torn += 1,
            scxray_core::Consistency::Retried => summary.retried += 1,
            scxray_core::Consistency::Stable => {}
        }
        let fired = judge.judge(s);
        let events = deltas.of(s, &event_names);
        let line = lines::sample_line(summary.samples - 1, t_ms, s, &types, events, &fired);
        if let Some(t) = trace.as_deref_mut() {
            t.add(t_ms, s);
        }
        writeln!(lines, "{line}").map_err(|e| Error::Internal(format!("writing a sample line: {e}")))?;
        let first_firing = !fired.is_empty() && summary.fired.is_empty();
        if first_firing {
            // Captured before the observer may take its time: the stall is caught as it is.
            let stem = format!("scxray-watch-{}", summary.samples - 1);
            let c = capture(target, qmp.as_deref_mut(), &opts.out_dir, &stem)?;
            observer.captured(&fired, &c);
            summary.capture = Some(c);
        }
        next += opts.interval;
        let go_on = observer.sample(summary.samples - 1, t_ms, s, &fired, next, qmp.as_deref_mut())?;
        if first_firing {
            summary.fired = fired;
            if !opts.keep_going {
                break;
            }
        }
        if !go_on || !running || opts.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > opts.interval * 10 {
            // Far behind (the host did not run us): start again from now rather than sampling
            // in a burst; a little behind, catch up, so the rate holds on average.
            next = now;
        }
    }
    lines.flush().map_err(|e| Error::Internal(format!("writing a sample line: {e}")))?;
    summary.seconds = start.elapsed().as_secs_f64();
    summary.cpu_seconds = cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    Ok(summary)
}

/// The full report and, with `qmp`, a dump, written to `dir` as `stem.txt`, `stem.json` and
/// `stem.core`. With QMP the guest is stopped first, so the report and the dump are one
/// instant, and continued after whatever happened.
pub fn capture(target: &Target, qmp: Option<&mut Qmp>, dir: &Path, stem: &str) -> Result<Capture, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let report_text = dir.join(format!("{stem}.txt"));
    let report_json = dir.join(format!("{stem}.json"));
    let qmp_err = |e: crate::source::qemu::qmp::QmpError| Error::BadInput(e.to_string());
    let Some(q) = qmp else {
        write_report(target, &report_text, &report_json)?;
        return Ok(Capture { report_text, report_json, dump: None, dump_error: None });
    };
    q.stop().map_err(qmp_err)?;
    let written = write_report(target, &report_text, &report_json);
    let core = dir.join(format!("{stem}.core"));
    let dumped = q.dump_guest_memory(&core, Duration::from_secs(600), &mut |_, _| {});
    let resumed = q.cont();
    written?;
    resumed.map_err(qmp_err)?;
    let (dump, dump_error) = match dumped {
        Ok(()) => (Some(core), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Capture { report_text, report_json, dump, dump_error })
}

fn write_report(target: &Target, text: &Path, json: &Path) -> Result<(), Error> {
    target.memory().forget();
    let report = Report::build(target, Limits::DEFAULT);
    std::fs::write(text, render(&report)).map_err(|e| Error::io(text, e))?;
    let j = serde_json::to_vec_pretty(&report).map_err(|e| Error::Internal(format!("JSON encoding: {e}")))?;
    std::fs::write(json, j).map_err(|e| Error::io(json, e))
}

/// This process's user + system CPU time (s), from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command (which may hold spaces) in parentheses: utime and stime are the
    // 14th and 15th of the whole line, the 12th and 13th after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace().skip(11);
    let (u, s): (u64, u64) = (f.next()?.parse().ok()?, f.next()?.parse().ok()?);
    // USER_HZ is 100 on every Linux the host runs.
    Some((u + s) as f64 / 100.0)
}
