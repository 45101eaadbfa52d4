//! `scxray diff`: what is stuck between two dumps (or two JSON reports) of one guest.

use crate::args::{Format, KernelFiles, print_json};
use crate::progress::Progress;
use clap::Args;
use scxray::report::diff;
use scxray::{Error, Report, Target};
use scxray_core::Limits;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier dump (ELF core, raw image) or JSON report.
    a: PathBuf,
    /// The later dump or JSON report.
    b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Kernel files for dumps that need them (apply to both).
    #[command(flatten)]
    files: KernelFiles,
}

/// A report from a JSON file, or from walking a dump.
fn load_report(path: &Path, files: &KernelFiles) -> Result<Report, Error> {
    let head = std::fs::read(path).map_err(|e| Error::io(path, e)).map(|b| b.first().copied())?;
    if head == Some(b'{') {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        return serde_json::from_str(&text)
            .map_err(|e| Error::BadInput(format!("{}: not a scxray JSON report: {e}", path.display())));
    }
    Ok(Report::build(&Target::configure(&files.inputs(path))?, Limits::DEFAULT))
}

pub fn run(d: &DiffArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("reading the first dump");
    let a = load_report(&d.a, &d.files)?;
    progress.set("reading the second dump");
    let b = load_report(&d.b, &d.files)?;
    progress.set("");
    if let (Some(ja), Some(jb)) = (a.sched_ext.jiffies, b.sched_ext.jiffies)
        && ja == jb
    {
        return Err(Error::BadInput(format!(
            "both dumps are from the same instant (jiffies {ja}): take them some seconds apart"
        )));
    }
    let diff = diff::diff(&a, &b);
    match d.format {
        Format::Json => print_json(&diff)?,
        Format::Text => print!("{}", diff::render(&diff)),
    }
    if !diff.healthy {
        return Err(Error::Stuck);
    }
    Ok(())
}
