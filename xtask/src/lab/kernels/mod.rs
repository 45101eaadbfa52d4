//! The lab's middle layer: the kernels it tests and what it builds for them. Which kernels
//! ([`spec`]), a kernel in the cache ([`kernel`]), Debian's fetched and unpacked ([`debian`],
//! with [`image`], [`btf`], [`modules`]) or the lab's own built ([`selfbuilt`]), either one
//! ready ([`prepare`]), the table of them ([`list`]), and the kernel's example schedulers built
//! for each ([`schedulers`], with [`sysroot`]), the lab's own C programs ([`lab_programs`],
//! [`hold_cpu`]) and the sched-ext project's production schedulers ([`production`]) as
//! [`program`]s the runs put in their guests.
//!
//! Imports from itself and the host layer ([`super::host`]) only; the runs layer builds on it.

pub mod btf;
pub mod debian;
pub mod hold_cpu;
pub mod image;
pub mod kernel;
pub mod lab_programs;
pub mod list;
pub mod modules;
pub mod prepare;
pub mod production;
pub mod program;
pub mod schedulers;
pub mod selfbuilt;
pub mod spec;
pub mod sysroot;
