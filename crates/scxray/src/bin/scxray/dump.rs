//! `scxray dump`: walk the scheduler's state and print the report.

use crate::args::{CapArgs, Format, KernelArgs, print_report};
use crate::progress::Progress;
use clap::Args;
use scxray::walk::Passes;
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
    /// Skip the scheduler's BPF half: its programs, maps (decoded with their BTF), arena,
    /// task storage, and where each waiting task is in them. The report is then the kernel
    /// half alone, as before scxray read BPF.
    #[arg(long)]
    no_bpf: bool,
}

pub fn run(d: &DumpArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("configuring");
    let t = d.kernel.configure()?;
    progress.set("walking");
    let report = Report::build_with(&t, d.caps.limits(), Passes { bpf: !d.no_bpf });
    progress.set("");
    print_report(&report, d.format)
}
