//! `scxray watch`: sample a running guest again and again, without pausing it, and fire on
//! what stalls.

use crate::args::KernelArgs;
use crate::progress::Progress;
use crate::watch_tui::Tui;
use crate::watch_tui::model::WatchView;
use clap::Args;
use scxray::Error;
use scxray::source::qemu::qmp::Qmp;
use scxray::watch::trace::Trace;
use scxray::watch::triggers::Thresholds;
use scxray::watch::{WatchOptions, watch, watch_with};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
#[command(after_long_help = "\
WHAT A SAMPLE HOLDS (one JSON object per line on standard output, schema scxray.watch/1):\n  \
    per CPU nr_running, flags, rq clock, the current task; every DSQ's nr and seq; the event\n  \
    counters as deltas; the enable state and exit kind; the oldest runnable tasks with their age\n  \
    against the scheduler's watchdog_timeout. The guest runs on while it is read: a sample whose\n  \
    values moved under it is read again, and marked \"torn\" if they moved again (never fatal;\n  \
    triggers skip it).\n\n\
TRIGGERS (judged on valid samples; the first firing ends the watch unless --keep-going):\n  \
    stall          a runnable task waited >= --stall-fraction of watchdog_timeout (the kernel\n                 \
                   disables the scheduler at 1)\n  \
    stuck_dsq      a DSQ holds tasks and its nr and seq did not move for --still-samples samples\n                 \
                   spanning --still-fraction of watchdog_timeout in guest time\n  \
    stopped_clock  a CPU with work whose rq clock did not move as long\n  \
    exit_kind      the scheduler's exit kind changed\n  \
    dsq_depth      a DSQ deeper than --max-dsq-depth\n  \
    imbalance      CPUs' nr_running further apart than --max-imbalance\n\
When one fires, scxray writes the full report (scxray-watch-N.txt and .json in --out); with\n\
--qmp it first stops the guest, so report and dump (scxray-watch-N.core, dump-guest-memory)\n\
are one instant, then continues it.\n\n\
EXAMPLES:\n  \
    scxray watch --qemu 4242 --for 60s             (a running QEMU; JSON lines on stdout)\n  \
    scxray watch --qemu 4242 --qmp /tmp/qmp.sock --out /tmp/stall  (capture a dump too)\n  \
    scxray watch --qemu 4242 --interval 10ms --trace watch.json     (open it in ui.perfetto.dev)\n  \
    scxray watch guest.core                        (a dump: one sample, judged alone)\n\n\
EXIT STATUS: 0 nothing fired, 4 a trigger fired, 2 bad input, 3 unsupported kernel.")]
pub struct WatchArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Time between two samples' starts (units ms, s, m; 0 for back to back).
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration)]
    interval: Duration,
    /// How long to watch a running guest (default: until a trigger fires).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// The stall trigger's age, as a fraction of the scheduler's watchdog_timeout.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5)]
    stall_fraction: f64,
    /// Valid samples in a row a DSQ holding tasks (its nr and seq) or a busy CPU's clock may
    /// stay unchanged before it fires.
    #[arg(long, value_name = "N", default_value_t = 20)]
    still_samples: u32,
    /// ... and the guest time (jiffies) those samples must span, as a fraction of the
    /// scheduler's watchdog_timeout (a guest the host did not run keeps its clocks without
    /// being stuck).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1)]
    still_fraction: f64,
    /// Fire when a DSQ holds more tasks than this.
    #[arg(long, value_name = "N")]
    max_dsq_depth: Option<u32>,
    /// Fire when the busiest CPU's nr_running exceeds the idlest's by more than this.
    #[arg(long, value_name = "N")]
    max_imbalance: Option<u32>,
    /// Where a trigger's report and dump go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Also write the watch as a Chrome JSON trace (Perfetto's UI opens it): DSQ depths and
    /// nr_running as counters, each CPU's current task as slices.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Keep watching after a trigger fired (only the first firing is captured).
    #[arg(long)]
    keep_going: bool,
    /// Show the watch in the terminal instead of writing JSON lines: rows per CPU (nr_running,
    /// the current task, whether the clock moves, flags) and per DSQ (depth with a sparkline
    /// of recent depths, whether seq moves), the oldest runnable tasks against
    /// watchdog_timeout, the scheduler's state, the triggers. Keys: p pause/resume, r a full
    /// report now (into --out), q quit. The screen stays after the watch ends until q.
    #[arg(long)]
    tui: bool,
}

pub fn run(w: &WatchArgs, progress: &Progress) -> Result<(), Error> {
    if w.stall_fraction.is_nan() || w.stall_fraction <= 0.0 {
        return Err(Error::BadInput(format!("--stall-fraction {}: must be above 0", w.stall_fraction)));
    }
    progress.set("configuring");
    let target = w.kernel.configure()?;
    progress.set("");
    // One monitor connection for the whole watch (attaching released its own).
    let mut qmp = match w.kernel.qmp_socket() {
        Some(s) => {
            Some(Qmp::connect(s, Duration::from_secs(10)).map_err(|e| Error::BadInput(e.to_string()))?)
        }
        None => None,
    };
    let opts = WatchOptions {
        interval: w.interval,
        duration: w.duration,
        thresholds: Thresholds {
            stall_fraction: w.stall_fraction,
            still_samples: w.still_samples,
            still_fraction: w.still_fraction,
            max_dsq_depth: w.max_dsq_depth,
            max_imbalance: w.max_imbalance,
        },
        out_dir: w.out.clone(),
        keep_going: w.keep_going,
    };
    let mut trace = w.trace.as_ref().map(|_| Trace::new());
    let summary = if w.tui {
        let view = WatchView::new(w.kernel.source_name(), w.interval, opts.thresholds.clone());
        let mut tui = Tui::open(view, &target, w.out.clone())?;
        // Standard output is the screen: no JSON lines.
        let summary =
            watch_with(&target, &opts, qmp.as_mut(), &mut std::io::sink(), trace.as_mut(), &mut tui)?;
        let why = match (target.memory().is_running(), summary.fired.is_empty()) {
            (false, true) => "a dump is one sample: q quits",
            (false, false) => "a dump is one sample, and it fired: q quits (exit status 4)",
            (true, true) => "the watch ended: q quits",
            (true, false) => "the watch stopped on the trigger: q quits (exit status 4)",
        };
        tui.hold(why.to_owned(), qmp.as_mut())?;
        summary
    } else {
        let stdout = std::io::stdout();
        let mut lines = std::io::BufWriter::new(stdout.lock());
        watch(&target, &opts, qmp.as_mut(), &mut lines, trace.as_mut())?
    };
    if let (Some(path), Some(t)) = (&w.trace, trace) {
        let bytes = serde_json::to_vec(&t.finish()).map_err(|e| Error::Internal(format!("trace: {e}")))?;
        std::fs::write(path, bytes).map_err(|e| Error::io(path, e))?;
    }
    eprintln!(
        "scxray: {} samples in {:.1} s ({:.0}/s), {} torn, {} retried{}",
        summary.samples,
        summary.seconds,
        summary.rate(),
        summary.torn,
        summary.retried,
        summary.core_share().map_or_else(String::new, |c| format!(", {:.1}% of one host core", c * 100.0))
    );
    if summary.fired.is_empty() { Ok(()) } else { Err(Error::Stuck) }
}

/// A duration: a number with ms, s or m (a bare number is seconds).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("{s}: not a duration (e.g. 100ms, 2s, 1m)"))?;
    if v.is_nan() || v < 0.0 || v.is_infinite() {
        return Err(format!("{s}: not a duration (e.g. 100ms, 2s, 1m)"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}
