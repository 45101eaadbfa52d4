//! The wire format between a host and an embedded scxray (firmware, a hypervisor's own
//! monitor): types only, shared by both sides; the encoding is `postcard` (serde's compact, no_std wire format).
//!
//! Two messages, each a [`Header`] (4 magic bytes, a version) followed by a body:
//!
//! - **request**, host -> embedded: [`Header::REQUEST`] then one [`Request`]: the translator
//!   configuration, the [`Layout`], the symbols, the [`Limits`], and a [`Context`] the
//!   embedded side does not interpret but echoes back;
//! - **dump**, embedded -> host: [`Header::DUMP`] then a stream of [`Record`]s, one per
//!   event of the walk in [`crate::Visitor`] order, ending with [`Record::End`]. A stream
//!   needs no buffer of its own on the embedded side, only the output bytes; records that
//!   did not fit are counted in the end record.
//!
//! A reader checks the header before anything else: another magic is another message, and
//! another version is refused rather than misread. Version 1 had no sub-schedulers and no DSQ
//! owner; version 2 no scheduler names beyond the root's `ops.name`.
//!
//! Every body type borrows its strings and byte strings from the message, so decoding a
//! request on the embedded side copies nothing.
//!

use crate::addr::{PhysAddr, VirtAddr};
use crate::error::ReadError;
use crate::layout::Layout;
use crate::limits::Limits;
use crate::output::{CpuScx, DsqHeader, HashWalk, ListWalk, Problem, SchedState, SubSched, TaskIdentity};
use crate::symbols::{KernelSymbols, PerCpuOffsets, SchedGlobals};
use crate::translate::LinearRange;
use serde::{Deserialize, Serialize};

/// The wire format version this crate reads and writes.
pub const VERSION: u16 = 3;
/// Magic of a request.
pub const REQUEST_MAGIC: [u8; 4] = *b"SXRQ";
/// Magic of a dump.
pub const DUMP_MAGIC: [u8; 4] = *b"SXDP";
/// Most linear ranges a [`TranslatorConfig::Linear`] carries.
pub const MAX_LINEAR_RANGES: usize = 8;
/// Most constants of one enum a [`Context`] carries.
pub const MAX_ENUM_NAMES: usize = 32;
/// Bytes of `scx_sched.ops.name` read (the kernel's `SCX_OPS_NAME_LEN`).
pub const OPS_NAME_LEN: usize = 128;
/// Most bytes of a scheduler's cgroup path sent; a longer one is cut and says so
/// ([`SchedNames::cgroup_path_cut`]). The kernel bounds it by `PATH_MAX` (4096), more than an
/// embedded side wants on its stack for a name.
pub const CGROUP_PATH_LEN: usize = 256;

/// The first thing in every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`REQUEST_MAGIC`] or [`DUMP_MAGIC`].
    pub magic: [u8; 4],
    /// [`VERSION`].
    pub version: u16,
}

impl Header {
    /// The header of a request of this version.
    pub const REQUEST: Self = Self { magic: REQUEST_MAGIC, version: VERSION };
    /// The header of a dump of this version.
    pub const DUMP: Self = Self { magic: DUMP_MAGIC, version: VERSION };

    /// Whether `self` is `expected`: the magic first (another message), then the version.
    ///
    /// # Errors
    /// [`WireError::Magic`] or [`WireError::Version`].
    pub fn check(self, expected: Self) -> Result<(), WireError> {
        if self.magic != expected.magic {
            Err(WireError::Magic { found: self.magic })
        } else if self.version != expected.version {
            Err(WireError::Version { found: self.version })
        } else {
            Ok(())
        }
    }
}

/// Why a message could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// Not the message expected (or not a message at all).
    Magic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A version this build does not read.
    Version {
        /// The version found.
        found: u16,
    },
    /// The body does not decode.
    Malformed,
    /// The output buffer cannot even hold the header and the end record.
    OutputTooSmall,
    /// The translator configuration is not a valid one (e.g. a `TCR_EL1` without a granule).
    Translator,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Magic { found } => {
                write!(f, "not an scxray wire message of this kind (magic {found:02x?})")
            }
            Self::Version { found } => {
                write!(f, "wire format version {found}, this build reads version {VERSION}")
            }
            Self::Malformed => f.write_str("the message body does not decode"),
            Self::OutputTooSmall => f.write_str("the output buffer is too small for a dump"),
            Self::Translator => f.write_str("the translator configuration is invalid"),
        }
    }
}

impl core::error::Error for WireError {}

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
    /// `scx_enable_state_var`: its value goes in [`Record::Scheduler`].
    pub scx_enable_state_var: Option<VirtAddr>,
    /// Offset of `scx_sched.ops.name` (6.12-6.15: `sched_ext_ops.name`): every scheduler's
    /// name goes in its [`SchedNames`].
    pub ops_name_offset: Option<u32>,
    /// Offset of `scx_sched.cgrp_path` (7.2+, a `char *`): every scheduler's cgroup path goes
    /// in its [`SchedNames`].
    pub cgrp_path_offset: Option<u32>,
    /// 6.12-6.15: the scheduler globals (see [`KernelSymbols::globals`]).
    pub globals: Option<SchedGlobals>,
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
            nr_cpus: self.nr_cpus,
            nr_nodes: self.nr_nodes,
            globals: self.globals,
        }
    }
}

/// A translator, as plain values: the embedded side builds the translator from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TranslatorConfig {
    /// `scxray_x86_64::X86Config`, field by field.
    X86_64(X86_64Config),
    /// `scxray_aarch64::Aarch64Translator`: the registers and the two linear rules.
    Aarch64(Aarch64Config),
    /// [`crate::LinearTranslator`] over these ranges (no page tables).
    Linear(heapless::Vec<LinearRange, MAX_LINEAR_RANGES>),
}

/// The fields of `scxray_x86_64::X86Config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct X86_64Config {
    /// CR3 (PCID and flag bits are masked off by the translator).
    pub cr3: u64,
    /// 5-level paging (CR4.LA57).
    pub five_level: bool,
    /// `page_offset_base`.
    pub page_offset_base: VirtAddr,
    /// Bytes covered by the direct-map rule.
    pub direct_map_size: u64,
    /// `phys_base`.
    pub phys_base: PhysAddr,
    /// `__START_KERNEL_map`.
    pub kernel_map_start: VirtAddr,
    /// Bytes covered by the kernel-image rule.
    pub kernel_image_size: u64,
    /// MAXPHYADDR.
    pub max_phys_bits: u8,
    /// End of guest RAM, when known.
    pub phys_end: Option<PhysAddr>,
    /// Walk the page tables even where a linear rule applies.
    pub prefer_walk: bool,
}

/// An aarch64 translator: `TTBR1_EL1`, `TCR_EL1` and the optional linear rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aarch64Config {
    /// `TTBR1_EL1`.
    pub ttbr1_el1: u64,
    /// `TCR_EL1`.
    pub tcr_el1: u64,
    /// The linear map `[start, end)`, `pa = va - start + phys_offset`.
    pub linear_map: Option<LinearRule>,
    /// The kernel image `[start, end)`, `pa = va - voffset`.
    pub kernel_image: Option<LinearRule>,
}

/// One linear rule of [`Aarch64Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearRule {
    /// First address.
    pub start: VirtAddr,
    /// One past the last (0: the top of the address space, for the linear map).
    pub end: VirtAddr,
    /// `PHYS_OFFSET` for the linear map, `kimage_voffset` for the image.
    pub offset: u64,
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

/// A task found by a walk, with its identity read where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// pid and comm, or why they could not be read.
    pub identity: Result<TaskIdentity, ReadError>,
}

/// What the embedded side read about the root scheduler beyond [`SchedState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerExtra<'a> {
    /// The root's name and cgroup path.
    #[serde(borrow)]
    pub names: SchedNames<'a>,
    /// `scx_enable_state_var`, when read.
    pub enable_state: Option<u32>,
}

/// A scheduler's names, as the embedded side read them (each `None` when its offset was not
/// in the request or the read failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedNames<'a> {
    /// `ops.name` up to its NUL (at most [`OPS_NAME_LEN`] bytes).
    pub ops_name: Option<&'a [u8]>,
    /// `*cgrp_path` up to its NUL, at most [`CGROUP_PATH_LEN`] bytes.
    pub cgroup_path: Option<&'a [u8]>,
    /// The cgroup path went on past [`CGROUP_PATH_LEN`] bytes.
    pub cgroup_path_cut: bool,
}

/// One event of a dump, in [`crate::Visitor`] order.
///
/// Records are written and read one at a time, never stored in bulk: the size of the
/// context variant (its enum name tables) costs one stack slot.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record<'a> {
    /// The request's context, first.
    Context(#[serde(borrow)] Context<'a>),
    /// The machine shape walked (the request's `nr_cpus`, `nr_nodes`), second.
    Shape {
        /// `nr_cpu_ids`.
        nr_cpus: u32,
        /// `nr_node_ids`.
        nr_nodes: u32,
    },
    /// [`crate::Visitor::root`].
    Root(SchedState),
    /// After the walk, when a root was found.
    Scheduler(#[serde(borrow)] SchedulerExtra<'a>),
    /// [`crate::Visitor::cpu`].
    Cpu(CpuScx),
    /// [`crate::Visitor::runnable_task`].
    RunnableTask {
        /// CPU index.
        cpu: u32,
        /// The task.
        task: TaskRecord,
    },
    /// [`crate::Visitor::runnable_end`].
    RunnableEnd {
        /// CPU index.
        cpu: u32,
        /// How the walk ended.
        walk: ListWalk,
    },
    /// [`crate::Visitor::dsq`].
    Dsq(DsqHeader),
    /// [`crate::Visitor::dsq_task`], for the last [`Record::Dsq`].
    DsqTask(TaskRecord),
    /// [`crate::Visitor::dsq_end`], for the last [`Record::Dsq`].
    DsqEnd(ListWalk),
    /// [`crate::Visitor::user_dsqs_end`].
    UserDsqsEnd(HashWalk),
    /// [`crate::Visitor::sub_sched`].
    SubSched(SubSched),
    /// The names of the last [`Record::SubSched`], right after it.
    SubSchedNames(#[serde(borrow)] SchedNames<'a>),
    /// [`crate::Visitor::sub_scheds_end`].
    SubSchedsEnd(ListWalk),
    /// [`crate::Visitor::scx_task`].
    ScxTask(TaskRecord),
    /// [`crate::Visitor::scx_tasks_end`].
    ScxTasksEnd(ListWalk),
    /// [`crate::Visitor::problem`].
    Problem(Problem),
    /// Last.
    End(Trailer),
}

/// The end of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trailer {
    /// Records that did not fit the output buffer (the dump is then incomplete).
    pub records_dropped: u32,
}

/// Bytes a writer keeps free for [`Record::End`]: enough for any [`Trailer`].
pub const END_RESERVE: usize = 8;
