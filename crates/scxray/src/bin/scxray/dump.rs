//! `scxray dump`: walk the scheduler's state and print the report.

use crate::args::{CapArgs, Format, KernelArgs, print_report};
use crate::progress::Progress;
use clap::Args;
use scxray::{Error, Report};

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    caps: CapArgs,
}

pub fn run(d: &DumpArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("configuring");
    let t = d.kernel.configure()?;
    progress.set("walking");
    let report = Report::build(&t, d.caps.limits());
    progress.set("");
    print_report(&report, d.format)
}
