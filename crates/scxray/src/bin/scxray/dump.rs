//! `scxray dump`: walk the scheduler's state and print the report.

use crate::args::{Format, KernelArgs, print_report};
use crate::progress::Progress;
use clap::Args;
use scxray::{Error, Report};
use scxray_core::Limits;

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Nodes walked on one list (scx_tasks, a DSQ, a runnable_list) before it is reported
    /// truncated. Raise it to walk a big machine in full (a server has more than 4096 tasks).
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_LIST_NODES)]
    max_list_nodes: u32,
    /// User DSQs walked in the dsq_hash rhashtable in all.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_RHT_NODES)]
    max_rht_nodes: u32,
    /// rhashtable buckets enumerated.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_RHT_BUCKETS)]
    max_buckets: u32,
    /// Nodes walked on one rhashtable bucket chain.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_BUCKET_CHAIN)]
    max_chain: u32,
    /// Sub-schedulers walked below the root (7.2+), in all.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_SUB_SCHEDS)]
    max_sub_scheds: u32,
}

pub fn run(d: &DumpArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("configuring");
    let t = d.kernel.configure()?;
    progress.set("walking");
    let limits = Limits {
        list_nodes: d.max_list_nodes,
        rht_nodes: d.max_rht_nodes,
        rht_buckets: d.max_buckets,
        bucket_chain: d.max_chain,
        sub_scheds: d.max_sub_scheds,
    };
    let report = Report::build(&t, limits);
    progress.set("");
    print_report(&report, d.format)
}
