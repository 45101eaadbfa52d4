//! # scxray (host crate)
//!
//! Reads a Linux `sched_ext` scheduler's state out of a VM's memory or a memory dump:
//! memory sources ([`source`]), kernel knowledge ([`kernel`]: VMCOREINFO, symbols, vmlinux),
//! auto-configuration ([`target`]), the owned report ([`report`], JSON and text), and the
//! host's side of the wire format to an embedded scxray ([`wire`]).

pub mod error;
pub mod kernel;
pub mod report;
pub mod source;
pub mod target;
pub mod walk;
pub mod wire;

pub use error::Error;
pub use report::Report;
pub use target::{Inputs, Target};
