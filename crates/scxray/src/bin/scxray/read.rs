//! `scxray read`: guest kernel memory as 64-bit words, like crash's `rd`.

use crate::args::{KernelArgs, parse_u64};
use crate::progress::Progress;
use clap::Args;
use scxray::Error;
use std::fmt::Write as _;

#[derive(Args, Debug)]
pub struct ReadArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// A kernel virtual address (hex with 0x) or a symbol name, optionally `+offset`.
    #[arg(long)]
    at: String,
    /// Bytes to print (at most 1 MiB; rounded up to whole 8-byte words).
    #[arg(long, default_value_t = 64)]
    len: u64,
    /// Dereference the pointer at --at first (like `*scx_root`).
    #[arg(long)]
    deref: bool,
}

pub fn run(r: &ReadArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("configuring");
    let t = r.kernel.configure()?;
    progress.set("");
    let (base, off) = match r.at.split_once('+') {
        Some((b, o)) => (b, parse_u64(o).map_err(Error::BadInput)?),
        None => (r.at.as_str(), 0),
    };
    let mut addr = match parse_u64(base) {
        Ok(a) => a,
        Err(_) => t
            .symbol(base)
            .ok_or_else(|| Error::BadInput(format!("{base}: not an address and not a known symbol")))?,
    }
    .wrapping_add(off);
    let mut text = String::new();
    if r.deref {
        let mut b = [0u8; 8];
        t.read_virt(addr, &mut b).map_err(|e| Error::BadInput(format!("{addr:#x}: {}", e.cause)))?;
        addr = u64::from_le_bytes(b);
        let _ = writeln!(text, "*{} = {addr:#x}", r.at);
    }
    let len = usize::try_from(r.len).ok().filter(|&l| l <= MAX_LEN).ok_or_else(|| {
        Error::BadInput(format!("--len {}: at most {MAX_LEN} bytes are printed at once", r.len))
    })?;
    let mut buf = vec![0u8; len.next_multiple_of(8)];
    t.read_virt(addr, &mut buf).map_err(|e| Error::BadInput(format!("{addr:#x}: {}", e.cause)))?;
    for (i, w) in buf.chunks_exact(8).enumerate() {
        let va = addr.wrapping_add(8 * i as u64);
        if i % 2 == 0 {
            let _ = write!(text, "{va:#018x}:");
        }
        let _ = write!(text, "  {:016x}", u64::from_le_bytes(w.try_into().unwrap_or_default()));
        if i % 2 == 1 {
            text.push('\n');
        }
    }
    if !buf.len().is_multiple_of(16) {
        text.push('\n');
    }
    // A reader that closes the pipe early (`| head`) is no error.
    crate::args::print_text(&text)
}

/// The most bytes one `read` prints: the buffer is read whole before printing, so it is bounded.
const MAX_LEN: usize = 1 << 20;
