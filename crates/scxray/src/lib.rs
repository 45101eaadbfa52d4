//! # scxray (host crate)
//!
//! Reads a Linux `sched_ext` scheduler's state out of a VM's memory or a memory dump:
//! memory sources ([`source`]), kernel knowledge ([`kernel`]: VMCOREINFO, symbols, vmlinux),
//! auto-configuration ([`config`]), and the owned report ([`report`], JSON and text).

pub mod config;
pub mod decode;
pub mod diagnose;
pub mod diff;
pub mod error;
pub mod kernel;
pub mod live;
pub mod report;
pub mod source;
pub mod text;
pub mod translator;
mod walks;

pub use config::{Inputs, Target};
pub use error::Error;
pub use report::Report;
