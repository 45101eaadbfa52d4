//! `scxray info`: what was detected in a dump and how.

use crate::args::KernelArgs;
use crate::progress::Progress;
use clap::Args;
use scxray::Error;
use scxray_core::LayoutGroup;

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
    println!("release: {}", t.release().unwrap_or("unknown"));
    for step in t.setup() {
        println!("{step}");
    }
    let groups = LayoutGroup::STRUCTS;
    let missing: Vec<&str> = groups
        .iter()
        .filter(|&&g| !t.layout().has(g))
        .map(|g| g.kernel_name().trim_start_matches("struct "))
        .collect();
    println!(
        "layout: {} of {} struct groups resolved from BTF{}",
        groups.len() - missing.len(),
        groups.len(),
        if missing.is_empty() { String::new() } else { format!(" (missing: {})", missing.join(", ")) }
    );
    if a.layout {
        println!("{:#?}", t.layout());
        println!("{:#x?}", t.symbols());
    }
    Ok(())
}
