//! `scxray dump`: walk the scheduler's state and print the report.

use crate::args::{Format, KernelArgs, print_report};
use crate::progress::Progress;
use clap::Args;
use scxray::{Error, Report};
use scxray_core::{Cap, Limits};

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Nodes walked on one list (scx_tasks, a DSQ, a runnable_list) before it is reported
    /// truncated. Default: each list's own kernel count (nr_threads, the DSQ's nr,
    /// nr_running) with a margin, at least 4096 and at most 4210688 (no kernel has more).
    #[arg(long, value_name = "N")]
    max_list_nodes: Option<u32>,
    /// User DSQs walked in the dsq_hash rhashtable in all. Default: the table's nelems with
    /// a margin, at least 8192 and at most 1048576.
    #[arg(long, value_name = "N")]
    max_rht_nodes: Option<u32>,
    /// rhashtable buckets enumerated. Default: the table's size, at most 2097152.
    #[arg(long, value_name = "N")]
    max_buckets: Option<u32>,
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
    // A flag fixes its cap; without it, the cap is sized from the kernel's count.
    let sized = Limits::DEFAULT;
    let limits = Limits {
        list_nodes: d.max_list_nodes.map_or(sized.list_nodes, Cap::Fixed),
        rht_nodes: d.max_rht_nodes.map_or(sized.rht_nodes, Cap::Fixed),
        rht_buckets: d.max_buckets.map_or(sized.rht_buckets, Cap::Fixed),
        bucket_chain: d.max_chain,
        sub_scheds: d.max_sub_scheds,
    };
    let report = Report::build(&t, limits);
    progress.set("");
    print_report(&report, d.format)
}
