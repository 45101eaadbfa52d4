//! The request, host -> embedded: everything the embedded side needs to walk but the memory.
//!
//! Every string of a request is borrowed from the message, so decoding one on the embedded
//! side copies nothing.

use crate::error::WireError;
use crate::header::Header;
use crate::translator::TranslatorConfig;
use scxray_core::{KernelSymbols, Layout, Limits, PerCpuOffsets, SchedGlobals, VirtAddr};
use serde::{Deserialize, Serialize};

/// Most constants of one enum a [`Context`] carries.
pub const MAX_ENUM_NAMES: usize = 32;

/// What the embedded side needs to walk: everything but the memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request<'a> {
    /// How kernel virtual addresses translate.
    pub translator: TranslatorConfig,
    /// Member offsets (from BTF on the host).
    pub layout: Layout,
    /// Symbol addresses and machine shape.
    pub symbols: Symbols,
    /// Caps on every pointer chase.
    pub limits: Limits,
    /// Host facts, echoed in the dump.
    #[serde(borrow)]
    pub context: Context<'a>,
}

impl<'a> Request<'a> {
    /// Decodes a request, its header checked first.
    ///
    /// # Errors
    /// [`WireError::Magic`], [`WireError::Version`], [`WireError::Malformed`].
    pub fn decode(message: &'a [u8]) -> Result<Self, WireError> {
        let body = Header::take(message, Header::REQUEST)?;
        postcard::from_bytes(body).map_err(|_| WireError::Malformed)
    }

    /// Encodes the request, [`Header::REQUEST`] first, into a postcard flavor: a slice on
    /// the embedded side or in a test (`postcard::ser_flavors::Slice`), a growable vector on
    /// the host.
    ///
    /// # Errors
    /// The flavor's: a slice too small for the request.
    pub fn encode_with<F: postcard::ser_flavors::Flavor>(&self, flavor: F) -> postcard::Result<F::Output> {
        // A tuple is its elements one after the other: the header, then the body.
        postcard::serialize_with_flavor(&(Header::REQUEST, self), flavor)
    }
}

/// The symbols of a request, all at runtime (KASLR-applied) addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Symbols {
    /// `runqueues` (a per-CPU symbol).
    pub runqueues: Option<VirtAddr>,
    /// `__per_cpu_offset`, read from the guest.
    pub per_cpu_offset: Option<VirtAddr>,
    /// Slots of `__per_cpu_offset` that may be read (at least `nr_cpus`).
    pub per_cpu_slots: u32,
    /// `scx_root`.
    pub scx_root: Option<VirtAddr>,
    /// `scx_tasks`.
    pub scx_tasks: Option<VirtAddr>,
    /// `nr_cpu_ids`.
    pub nr_cpus: u32,
    /// `nr_node_ids`.
    pub nr_nodes: u32,
    /// `scx_enable_state_var`: its value goes in [`crate::Record::Scheduler`].
    pub scx_enable_state_var: Option<VirtAddr>,
    /// Offset of `scx_sched.ops.name` (6.12-6.15: `sched_ext_ops.name`): every scheduler's
    /// name goes in its [`crate::SchedNames`].
    pub ops_name_offset: Option<u32>,
    /// Offset of `scx_sched.cgrp_path` (7.2+, a `char *`): every scheduler's cgroup path goes
    /// in its [`crate::SchedNames`].
    pub cgrp_path_offset: Option<u32>,
    /// 6.12-6.15: the scheduler globals (see [`KernelSymbols::globals`]).
    pub globals: Option<SchedGlobals>,
    /// `nr_threads` (see [`KernelSymbols::nr_threads`]).
    pub nr_threads: Option<VirtAddr>,
}

impl Symbols {
    /// The walkers' symbols.
    #[must_use]
    pub fn kernel_symbols(&self) -> KernelSymbols<'static> {
        KernelSymbols {
            runqueues: self.runqueues,
            per_cpu_offsets: self
                .per_cpu_offset
                .map(|kva| PerCpuOffsets::Guest { kva, slots: self.per_cpu_slots }),
            scx_root: self.scx_root,
            scx_tasks: self.scx_tasks,
            nr_threads: self.nr_threads,
            nr_cpus: self.nr_cpus,
            nr_nodes: self.nr_nodes,
            globals: self.globals,
        }
    }
}

/// Host facts the embedded side cannot know and does not interpret: it copies them into the
/// dump so the host that decodes it names the machine and the enum values.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context<'a> {
    /// `x86_64` or `aarch64`.
    pub arch: &'a str,
    /// Kernel release.
    pub release: Option<&'a str>,
    /// Paging mode, in words.
    pub paging: &'a str,
    /// KASLR displacement.
    pub kaslr_offset: u64,
    /// What the memory is.
    pub memory: &'a str,
    /// `enum scx_exit_kind`, value by value.
    #[serde(borrow)]
    pub exit_kinds: heapless::Vec<EnumName<'a>, MAX_ENUM_NAMES>,
    /// `enum scx_enable_state`, value by value.
    #[serde(borrow)]
    pub enable_states: heapless::Vec<EnumName<'a>, MAX_ENUM_NAMES>,
}

/// One enum constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumName<'a> {
    /// Its value, as the enum's own width.
    pub value: u64,
    /// Its name.
    pub name: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translator::{LinearRanges, TranslatorConfig};
    use postcard::ser_flavors::Slice;

    fn request() -> Request<'static> {
        let mut exit_kinds = heapless::Vec::new();
        exit_kinds.push(EnumName { value: 1024, name: "SCX_EXIT_ERROR" }).unwrap();
        Request {
            translator: TranslatorConfig::Linear(LinearRanges::new()),
            layout: Layout::default(),
            symbols: Symbols { nr_cpus: 4, nr_nodes: 1, ops_name_offset: Some(0x3a8), ..Symbols::default() },
            limits: Limits::DEFAULT,
            context: Context { arch: "aarch64", release: Some("7.3.0"), exit_kinds, ..Context::default() },
        }
    }

    #[test]
    fn a_request_decodes_as_encoded_and_borrows_its_strings() {
        let req = request();
        let mut buf = [0u8; 1024];
        let bytes = req.encode_with(Slice::new(&mut buf)).unwrap();
        assert_eq!(bytes[..5], *b"SXRQ\x04");
        let back = Request::decode(bytes).unwrap();
        assert_eq!(back, req);
        let range = bytes.as_ptr_range();
        assert!(range.contains(&back.context.release.unwrap().as_ptr()));
        // Too small a buffer is the flavor's error, and a cut request does not decode.
        let n = bytes.len();
        assert!(req.encode_with(Slice::new(&mut [0u8; 16])).is_err());
        assert_eq!(Request::decode(&bytes[..n - 1]), Err(WireError::Malformed));
    }
}
