//! `scxray info`: what was detected in a dump and how.

use crate::args::KernelArgs;
use crate::progress::Progress;
use clap::Args;
use scxray::Error;
use scxray_core::LayoutGroup;
use std::fmt::Write as _;

#[derive(Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Also print every member offset resolved from BTF and the symbol addresses.
    #[arg(long)]
    layout: bool,
}

pub fn run(a: &InfoArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("configuring");
    let t = a.kernel.configure()?;
    progress.set("");
    let mut text = format!("release: {}\n", t.release().unwrap_or("unknown"));
    for step in t.setup() {
        let _ = writeln!(text, "{step}");
    }
    let groups = LayoutGroup::STRUCTS;
    let missing: Vec<&str> = groups
        .iter()
        .filter(|&&g| !t.layout().has(g))
        .map(|g| g.kernel_name().trim_start_matches("struct "))
        .collect();
    let _ = writeln!(
        text,
        "layout: {} of {} struct groups resolved from BTF{}",
        groups.len() - missing.len(),
        groups.len(),
        if missing.is_empty() { String::new() } else { format!(" (missing: {})", missing.join(", ")) }
    );
    if a.layout {
        let _ = writeln!(text, "{:#?}", t.layout());
        let _ = writeln!(text, "{:#x?}", t.symbols());
    }
    // A reader that closes the pipe early (`| head`) is no error.
    crate::args::print_text(&text)
}
