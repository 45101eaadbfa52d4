//! The BPF walkers' shared context and what they report when they cannot do something.

use crate::addr::VirtAddr;
use crate::bpf::layout::BpfLayout;
use crate::error::ReadError;
use crate::guest::Guest;
use crate::limits::BpfLimits;
use crate::memory::PhysMem;
use crate::symbols::BpfSymbols;
use crate::translate::Translate;
use core::fmt;

/// The page size the walkers assume unless told otherwise (x86_64; arm64 may use 16 or
/// 64 KiB: [`Walker::with_page_size`]).
pub const DEFAULT_PAGE_SIZE: u64 = 4096;

/// The BPF walkers over one [`Guest`]: its memory, translator and layout (`Layout::bpf`),
/// the BPF symbols and the BPF caps. Cheap to copy.
#[derive(Debug)]
pub struct Walker<'a, M: ?Sized, T: ?Sized> {
    /// The guest.
    pub guest: Guest<'a, M, T>,
    /// Where the ID tables are.
    pub symbols: BpfSymbols,
    /// The caps.
    pub limits: BpfLimits,
    /// The kernel's page size (an arena's pages).
    pub page_size: u64,
}

impl<M: ?Sized, T: ?Sized> Clone for Walker<'_, M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: ?Sized, T: ?Sized> Copy for Walker<'_, M, T> {}

impl<'a, M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'a, M, T> {
    /// The walkers over `guest`, with the default caps and 4 KiB pages.
    pub fn new(guest: Guest<'a, M, T>, symbols: BpfSymbols) -> Self {
        Self { guest, symbols, limits: BpfLimits::DEFAULT, page_size: DEFAULT_PAGE_SIZE }
    }

    /// The same walkers under other caps.
    #[must_use]
    pub fn with_limits(mut self, limits: BpfLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The same walkers for a kernel with `page_size`-byte pages.
    #[must_use]
    pub fn with_page_size(mut self, page_size: u64) -> Self {
        self.page_size = page_size;
        self
    }

    /// The BPF part of the guest's layout.
    pub(crate) fn layout(&self) -> &'a BpfLayout {
        &self.guest.layout.bpf
    }
}

/// A group of the BPF layout, for reporting which one a walk was missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BpfGroup {
    /// `struct idr` and `struct xa_node`.
    Idr,
    /// `struct bpf_map`.
    Map,
    /// `struct bpf_prog` and `struct bpf_prog_aux`.
    Prog,
    /// `struct btf`.
    Btf,
    /// `struct bpf_array`.
    Array,
    /// `struct bpf_htab`.
    Htab,
    /// The local-storage structs.
    LocalStorage,
    /// `task_struct.bpf_storage`.
    TaskStorage,
    /// `struct bpf_queue_stack`.
    QueueStack,
    /// `struct bpf_arena`.
    Arena,
    /// `struct bpf_struct_ops_map`.
    StructOps,
    /// `sched_ext_ops.priv` and callbacks equal: neither way to match a scheduler.
    SchedOpsPriv,
    /// `task_struct.pid` (matching task pointers by pid).
    Task,
}

impl BpfGroup {
    /// The kernel's name for the group.
    #[must_use]
    pub const fn kernel_name(self) -> &'static str {
        match self {
            Self::Idr => "struct idr / struct xa_node",
            Self::Map => "struct bpf_map",
            Self::Prog => "struct bpf_prog / struct bpf_prog_aux",
            Self::Btf => "struct btf",
            Self::Array => "struct bpf_array",
            Self::Htab => "struct bpf_htab",
            Self::LocalStorage => "struct bpf_local_storage_map",
            Self::TaskStorage => "task_struct.bpf_storage",
            Self::QueueStack => "struct bpf_queue_stack",
            Self::Arena => "struct bpf_arena",
            Self::StructOps => "struct bpf_struct_ops_map",
            Self::SchedOpsPriv => "sched_ext_ops.priv",
            Self::Task => "task_struct.pid",
        }
    }
}

impl fmt::Display for BpfGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kernel_name())
    }
}

/// A kernel-wide ID table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdTable {
    /// `prog_idr`: every loaded program.
    Prog,
    /// `map_idr`: every map.
    Map,
    /// `btf_idr`: every BTF object.
    Btf,
    /// `link_idr`: every link.
    Link,
}

impl IdTable {
    /// The symbol's name.
    #[must_use]
    pub const fn kernel_name(self) -> &'static str {
        match self {
            Self::Prog => "prog_idr",
            Self::Map => "map_idr",
            Self::Btf => "btf_idr",
            Self::Link => "link_idr",
        }
    }

    /// The table's address among `symbols`.
    #[must_use]
    pub const fn symbol(self, symbols: &BpfSymbols) -> Option<VirtAddr> {
        match self {
            Self::Prog => symbols.prog_idr,
            Self::Map => symbols.map_idr,
            Self::Btf => symbols.btf_idr,
            Self::Link => symbols.link_idr,
        }
    }
}

impl fmt::Display for IdTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kernel_name())
    }
}

/// A pass of the BPF walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BpfPass {
    /// A kernel-wide ID table.
    IdTable(IdTable),
    /// From a scheduler to its struct_ops map, programs and maps.
    Sched,
    /// One map's contents.
    Contents,
    /// Where each waiting task is.
    Place,
}

/// Something a BPF walk could not do, reported instead of guessed around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BpfProblem {
    /// The layout lacks a group the pass needs.
    MissingLayout {
        /// The pass.
        pass: BpfPass,
        /// What was missing.
        group: BpfGroup,
    },
    /// The pass needs an ID table whose symbol is unknown.
    MissingTable {
        /// The pass.
        pass: BpfPass,
        /// The table.
        table: IdTable,
    },
    /// A read failed; the pass skipped what depended on it.
    Unreadable {
        /// The pass.
        pass: BpfPass,
        /// The failed read.
        error: ReadError,
    },
    /// An arena whose geometry cannot be the kernel's: its pages are not read.
    BadArena {
        /// The pass.
        pass: BpfPass,
    },
}

/// Why a BPF read could not be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BpfError {
    /// The layout lacks the group the read needs.
    MissingLayout(BpfGroup),
    /// Guest memory could not be read.
    Read(ReadError),
    /// An arena whose geometry cannot be the kernel's (no pages, more than 4 GiB, across a
    /// 4 GiB boundary, or an address overflow).
    BadArena,
}

impl From<ReadError> for BpfError {
    fn from(e: ReadError) -> Self {
        Self::Read(e)
    }
}

impl fmt::Display for BpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayout(g) => write!(f, "the layout has no offsets for {g}"),
            Self::Read(e) => e.fmt(f),
            Self::BadArena => f.write_str("the arena's geometry cannot be the kernel's"),
        }
    }
}

impl core::error::Error for BpfError {}

impl BpfProblem {
    /// The problem `error` is in `pass`.
    #[must_use]
    pub const fn from_error(pass: BpfPass, error: BpfError) -> Self {
        match error {
            BpfError::MissingLayout(group) => Self::MissingLayout { pass, group },
            BpfError::Read(error) => Self::Unreadable { pass, error },
            BpfError::BadArena => Self::BadArena { pass },
        }
    }
}
