//! # scxray-core
//!
//! Walks the state of a Linux `sched_ext` scheduler in a guest's physical memory: per-CPU
//! `rq->scx` and runnable lists, every dispatch queue (local, reject, rescue, bypass, global,
//! user DSQs in `dsq_hash`), the `scx_tasks` list, the root `scx_sched` and its
//! sub-schedulers (7.2+), or the same state from the kernel globals of 6.12-6.15.
//!
//! `no_std`, no `alloc`, no `unsafe`. Guest memory is hostile input: every pointer chase is
//! capped ([`limits`]), every cap that fires sets a visible `truncated`, every unreadable
//! address is an error value naming the field ([`ReadError`]), and every guest value is
//! decoded as little-endian whatever the host.
//!
//! The modules, in the order data flows through them:
//! - [`addr`]: the address newtypes [`PhysAddr`] and [`VirtAddr`], with their checked (and,
//!   where the kernel's own arithmetic is modular, wrapping) arithmetic as methods;
//! - [`memory`]: [`PhysMem`], fallible guest-physical reads with one typed family
//!   ([`PhysMem::read_obj`] for any plain-bytes type, [`PhysMem::read_le`] for the
//!   little-endian integers of [`LeInt`]); [`FlatImage`] and [`RegionSet`] provided;
//! - [`translate`]: [`Translate`], kernel virtual -> physical ([`LinearTranslator`] here, the
//!   page-table walkers in `scxray-x86_64` and `scxray-aarch64`); [`tlb`]: [`CachedTranslate`],
//!   a software TLB over any of them;
//! - [`layout`]: [`Layout`], member offsets from BTF (`scxray-btf`) or the embedder;
//!   [`symbols`]: [`KernelSymbols`], where the walks start; [`limits`]: the caps, sized from
//!   the kernel's own counts under ceilings, and the read bounds they imply;
//! - [`guest`]: [`Guest`], the context every walker shares, with the one `Field`-labelled
//!   typed read ([`Guest::read_obj`], [`Guest::read_le`], [`Guest::read_ptr`],
//!   [`Guest::read_bytes`], [`Guest::read_c_string`]); [`error`]: [`ReadError`] naming the
//!   [`Field`], its address and the cause;
//! - the walks, methods of [`Guest`] in the private `walk` module (per-CPU `rq->scx`,
//!   DSQs, `dsq_hash`, `scx_tasks`, the scheduler and its sub-schedulers, the 6.12-6.15
//!   globals) and [`task`] (one task's detail);
//! - [`visit`]: [`Visitor`], the streaming output, and [`output`], the values it carries;
//!   [`collect`]: the `heapless` collected outputs;
//! - [`sample`]: one [`Sample`] of a running scheduler for watching it over time
//!   ([`Guest::sample_into`]: per CPU, per DSQ header, event counters, the oldest runnable
//!   tasks, checked for consistency);
//! - `wire` (feature `serde`): the embedded wire format's message types.
//!
//! [`bpf`] is the scheduler's BPF state (its maps and programs, issue 18): so far the layout
//! of the kernel's BPF objects ([`Layout::bpf`]), the ID tables' xarray walk and an arena's
//! and a queue's arithmetic, with a design note on how each object is reached; its walkers
//! will live there, beside `walk`, on the same [`Guest`] reads. Decoding their values with
//! the BPF objects' BTF belongs to `scxray-btf`.
//!
//! ```
//! use scxray_core::*;
//! # let bytes = [0u8; 64];
//! let mem = FlatImage::new(PhysAddr(0), &bytes);
//! let ranges = [LinearRange {
//!     va_start: VirtAddr(0xffff_8880_0000_0000),
//!     len: 64,
//!     pa_start: PhysAddr(0),
//!     kind: AddressKind::DirectMap,
//! }];
//! let translator = LinearTranslator::new(&ranges);
//! let layout = Layout::default(); // from scxray-btf in real use
//! let symbols = KernelSymbols {
//!     runqueues: None,
//!     per_cpu_offsets: None,
//!     scx_root: None,
//!     scx_tasks: None,
//!     nr_threads: None,
//!     nr_cpus: 1,
//!     nr_nodes: 1,
//!     globals: None,
//! };
//! let guest = Guest::new(&mem, &translator, &layout, symbols);
//! let summary: MachineSummary<4, 16> = guest.collect_machine();
//! // Nothing to walk without a layout or symbols, and the summary says why.
//! assert!(summary.cpus.is_empty());
//! assert!(!summary.problems.is_empty());
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unreachable,
        clippy::as_conversions
    )
)]

pub mod addr;
pub mod bpf;
pub mod collect;
pub mod error;
pub mod guest;
pub mod layout;
pub mod limits;
pub mod memory;
pub mod output;
pub mod sample;
pub mod symbols;
pub mod task;
pub mod tlb;
pub mod translate;
pub mod visit;
mod walk;

pub use addr::{PhysAddr, VirtAddr};
pub use collect::{CpuRunnable, CpuSummary, DsqSummary, DsqTasks, MachineSummary, TaskList, UserDsqIndex};
pub use error::{Field, ReadCause, ReadError};
pub use guest::Guest;
/// The heapless whose `Vec` the placement's BTF questions fill ([`bpf::PlaceTypes`]), for
/// implementors.
pub use heapless;
pub use layout::{
    DsqLayout, DsqLnodeLayout, Layout, LayoutFlags, LayoutGroup, RhtLayout, RqLayout, SchedLayout,
    SchedPcpuLayout, SchedPnodeLayout, ScxRqLayout, SeeLayout, TaskLayout,
};
pub use limits::{
    BpfLimits, CHAIN_BUFFER, Cap, CapBasis, LIST_NODES_CEILING, LIST_NODES_FLOOR, Limit, Limits,
    MAX_BUCKET_CHAIN, MAX_CPUS, MAX_NODES, MAX_SCHED_DEPTH, MAX_SUB_SCHEDS, PID_MAX_LIMIT,
    RHT_BUCKETS_CEILING, RHT_BUCKETS_FLOOR, RHT_NODES_CEILING, RHT_NODES_FLOOR, ReadCost, WalkCap,
};
pub use memory::{FlatImage, LeInt, MemError, PhysMem, RegionSet};
pub use output::{
    Comm, CpuScx, DsqHeader, DsqOrigin, HashTruncation, HashWalk, ListWalk, Pass, Problem, Provenance,
    SchedState, SubSched, TaskEntry, TaskIdentity,
};
pub use sample::{
    Consistency, CpuSample, DsqSample, EventStatsAt, MAX_EVENTS, RunnableAge, Sample, SampleRoot, SampleSpec,
    WatchdogTimeoutAt,
};
pub use symbols::{BpfSymbols, KernelSymbols, PerCpuOffsets, SchedGlobals, Symbol};
pub use task::{DsqId, TaskDetail, TaskDetails};
pub use tlb::CachedTranslate;
pub use translate::{AddressKind, LinearRange, LinearTranslator, Translate, TranslateError};
pub use visit::Visitor;
/// The zerocopy that [`PhysMem::read_obj`] and [`Guest::read_obj`] are generic over, for
/// implementors that override `read_obj` and for callers reading their own structs.
pub use zerocopy;
