//! `scxray diff`: what is stuck between two dumps (or two JSON reports) of one guest.

use crate::args::{CapArgs, Format, KernelFiles, print_json, print_text};
use crate::progress::Progress;
use clap::Args;
use scxray::report::diff;
use scxray::{Error, Report, Target};
use scxray_core::Limits;
use std::io::Read as _;
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
    /// The walk caps of both dumps, as `scxray dump` takes them.
    #[command(flatten)]
    caps: CapArgs,
}

/// A report from a JSON file, or from walking a dump (opened as `dump` opens it: only the
/// first byte is read to tell a JSON report from a dump, never the whole file).
fn load_report(path: &Path, files: &KernelFiles, limits: Limits) -> Result<Report, Error> {
    let mut head = [0u8; 1];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).map_err(|e| Error::io(path, e))?;
    if n == 1 && head[0] == b'{' {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        return serde_json::from_str(&text)
            .map_err(|e| Error::BadInput(format!("{}: not a scxray JSON report: {e}", path.display())));
    }
    Ok(Report::build(&Target::configure(&files.inputs(path))?, limits))
}

pub fn run(d: &DiffArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("reading the first dump");
    let limits = d.caps.limits();
    let a = load_report(&d.a, &d.files, limits)?;
    progress.set("reading the second dump");
    let b = load_report(&d.b, &d.files, limits)?;
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
        Format::Text => print_text(&diff::render(&diff))?,
    }
    if !diff.healthy {
        return Err(Error::Stuck);
    }
    Ok(())
}
