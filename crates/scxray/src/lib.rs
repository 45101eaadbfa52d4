//! # scxray (host crate)
//!
//! Reads a Linux `sched_ext` scheduler's state out of a VM's memory or a memory dump. The
//! crate is laid out by stage, in the order data flows; a module uses only its own stage and
//! earlier ones (`tests/stages.rs` checks it):
//!
//! 1. [`source`]: where guest-physical bytes come from (ELF and kdump-compressed cores, raw
//!    images, running QEMU and other VMM processes, the live host's `/proc/kcore`, rust-vmm's
//!    `GuestMemory`) and what a dump says about itself (VMCOREINFO, CPU notes).
//! 2. [`kernel`]: what the kernel says about itself (kallsyms in memory, vmlinux, System.map,
//!    and its BTF by name: enum constants, member offsets).
//! 3. [`target`]: configuration as a pipeline of named steps (inputs, symbols, paging,
//!    BTF and layout, machine shape; the live host), each recorded as a
//!    [`target::SetupStep`]; the result, a [`Target`], is what the walkers read.
//! 4. [`walk`]: the core walks and every other guest read one report needs, returned as data
//!    ([`walk::Snapshot`], failed reads kept as their `ReadError`). Nothing after this stage
//!    reads guest memory.
//! 5. [`report`]: the `scxray.dump/2` schema, the builder from a snapshot, what is derived
//!    from it (decoded flags, names, ages), the text renderer, `diff`, and the task list of
//!    `scx_tasks` alone (`scxray.tasks/1`, [`report::tasks`], from [`walk::scx_tasks`]).
//! 6. [`watch`]: a guest sampled again and again ([`walk::Sampler`]) without pausing it: JSON
//!    lines, a Perfetto trace, triggers (stalls, stuck DSQs, stopped clocks, exit, thresholds)
//!    and what a trigger captures (a full report, with QMP a consistent dump).
//! 7. [`wire`]: the wire format's host side over `scxray-wire` (the request for an embedded
//!    walker, the decoder of its dump).
//!
//! [`error`] (exit codes and host errors) serves every stage. The `scxray` command (`src/bin/scxray`, one module per
//! command) is the default feature `cli`; `scxray = { default-features = false }` is the
//! library alone, without clap.
//!
//! Where what comes next goes: the scheduler's BPF state (issue 18) is walked in `walk/`
//! beside the kernel walks (the walkers themselves in `scxray-core`) and shown in a BPF section
//! of `report/`; a terminal UI for the watch (issue 19) belongs to `watch/`, over the same samples.

pub mod error;
pub mod kernel;
pub mod report;
pub mod source;
pub mod target;
pub mod walk;
pub mod watch;
pub mod wire;

pub use error::Error;
pub use report::Report;
pub use target::{Inputs, Target};
