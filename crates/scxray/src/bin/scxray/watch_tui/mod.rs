//! `scxray watch --tui`: the watch in a terminal. [`model`] turns the samples into what the
//! screen shows, [`draw`] draws it (both pure: tested on ratatui's `TestBackend`), [`terminal`]
//! runs the screen and its keys between the watch's samples; [`Tui`] is the watch stage's
//! observer that ties them together.

pub mod draw;
pub mod model;
pub mod terminal;

use model::{Labels, WatchView};
use scxray::Error;
use scxray::kernel::btf::KernelTypes;
use scxray::source::qemu::qmp::Qmp;
use scxray::target::Target;
use scxray::walk::HostSample;
use scxray::watch::triggers::Trigger;
use scxray::watch::{Capture, Observer, capture};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use terminal::{Asked, Screen};

/// The watch on the terminal: each sample into the view, the keys answered until the next one
/// is due; `r` writes a full report (with QMP, stopping the guest for it and a dump, as a
/// trigger's capture does) into the watch's output directory.
#[derive(Debug)]
pub struct Tui<'t> {
    screen: Screen,
    target: &'t Target,
    labels: KernelLabels,
    out_dir: PathBuf,
    reports: u32,
    quit: bool,
}

impl<'t> Tui<'t> {
    /// Takes over the terminal to show the watch of `target` in `view`.
    pub fn open(view: WatchView, target: &'t Target, out_dir: PathBuf) -> Result<Self, Error> {
        let labels = KernelLabels::new(&target.types());
        Ok(Self { screen: Screen::open(view)?, target, labels, out_dir, reports: 0, quit: false })
    }

    /// After the watch ended: shows `why` and the last sample until the user quits (unless
    /// they already did).
    pub fn hold(&mut self, why: String, qmp: Option<&mut Qmp>) -> Result<(), Error> {
        if self.quit {
            return Ok(());
        }
        let (target, out_dir, reports) = (self.target, &self.out_dir, &mut self.reports);
        let mut qmp = qmp;
        self.screen.hold(why, &mut || report_now(target, qmp.as_deref_mut(), out_dir, reports))
    }
}

/// A full report now, as `scxray-report-N` in `out_dir`; says what it wrote.
fn report_now(
    target: &Target,
    qmp: Option<&mut Qmp>,
    out_dir: &std::path::Path,
    n: &mut u32,
) -> Result<String, Error> {
    *n += 1;
    let c = capture(target, qmp, out_dir, &format!("scxray-report-{n}"))?;
    Ok(c.to_string())
}

impl Observer for Tui<'_> {
    fn sample(
        &mut self,
        _seq: u64,
        t_ms: f64,
        sample: &HostSample,
        fired: &[Trigger],
        next: Instant,
        qmp: Option<&mut Qmp>,
    ) -> Result<bool, Error> {
        let fired: Vec<String> = fired.iter().map(ToString::to_string).collect();
        let elapsed = Duration::from_secs_f64(t_ms.max(0.0) / 1000.0);
        self.screen.view.push(sample, elapsed, &fired, &self.labels);
        let (target, out_dir, reports) = (self.target, &self.out_dir, &mut self.reports);
        let mut qmp = qmp;
        let asked =
            self.screen.wait(next, &mut || report_now(target, qmp.as_deref_mut(), out_dir, reports))?;
        self.quit = asked == Asked::Quit;
        Ok(!self.quit)
    }

    fn captured(&mut self, _fired: &[Trigger], c: &Capture) {
        self.screen.view.captured = Some(c.to_string());
    }
}

/// The kernel's enum names a watch shows, read from its BTF once (a sample names them many
/// times a second).
#[derive(Debug, Default)]
pub struct KernelLabels {
    enable_state: Vec<(String, u64)>,
    exit_kind: Vec<(String, u64)>,
    rq_flags: Vec<(String, u64)>,
}

impl KernelLabels {
    /// The names of `enum scx_enable_state` (`scx_ops_enable_state` before 6.15),
    /// `enum scx_exit_kind` and `enum scx_rq_flags` in `types`.
    pub fn new(types: &KernelTypes<'_>) -> Self {
        let mut enable_state = types.enum_constants("scx_enable_state");
        if enable_state.is_empty() {
            enable_state = types.enum_constants("scx_ops_enable_state");
        }
        let rq_flags =
            types.enum_constants("scx_rq_flags").into_iter().filter(|(_, v)| v.is_power_of_two()).collect();
        Self { enable_state, exit_kind: types.enum_constants("scx_exit_kind"), rq_flags }
    }
}

/// `name` without `prefix`, lower case (`SCX_RQ_CLK_VALID` -> `clk_valid`).
fn short(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_ascii_lowercase()
}

fn named(constants: &[(String, u64)], value: u32, prefix: &str) -> String {
    constants
        .iter()
        .find(|&&(_, v)| v == u64::from(value))
        .map_or_else(|| value.to_string(), |(n, _)| short(n, prefix))
}

impl Labels for KernelLabels {
    fn enable_state(&self, value: u32) -> String {
        // SCX_OPS_ENABLED before 6.15, SCX_ENABLED since.
        named(&self.enable_state, value, "SCX_OPS_").trim_start_matches("scx_").to_owned()
    }

    fn exit_kind(&self, value: u32) -> String {
        named(&self.exit_kind, value, "SCX_EXIT_")
    }

    fn rq_flags(&self, value: u32) -> String {
        let raw = u64::from(value);
        let mut names: Vec<String> =
            self.rq_flags.iter().filter(|&&(_, v)| raw & v != 0).map(|(n, _)| short(n, "SCX_RQ_")).collect();
        let known = self.rq_flags.iter().fold(0, |a, &(_, v)| a | v);
        if raw & !known != 0 {
            names.push(format!("{:#x}", raw & !known));
        }
        if names.is_empty() { "-".to_owned() } else { names.join("|") }
    }
}

#[cfg(test)]
mod tests;
