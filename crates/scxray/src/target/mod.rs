//! Configuration: from a memory dump (and whatever kernel files the user has) to a
//! [`Target`] the walkers read, as a short pipeline of named steps, each in its own module:
//! `inputs` (VMCOREINFO, architecture, release, KASLR), `symbols` (a symbol table and the
//! runtime addresses), `paging` (the translators, one builder per architecture), `btf` (the
//! BTF and the `Layout` from it), `machine` (CPUs, nodes, per-CPU offsets). The [`live`] host
//! presets symbols and BTF from its own files. What each step found is a [`SetupStep`], for
//! `scxray info`.

mod btf;
mod inputs;
pub mod live;
mod machine;
mod paging;
mod read;
pub mod setup;
mod symbols;

pub use inputs::{Inputs, Preset};
pub use machine::MachineShape;
pub use setup::{Paging, SetupStep};
pub use symbols::RuntimeSymbols;

use crate::error::Error;
use crate::kernel::SymbolTable;
use crate::kernel::btf::{KernelBtf, KernelTypes};
use crate::kernel::symbols::SymbolSource;
use crate::kernel::vmlinux::Arch;
use crate::source::{Memory, VmcoreInfo};
use scxray_core::{Guest, KernelSymbols, Layout, Limits, PerCpuOffsets, VirtAddr};
use scxray_wire::Translator;

/// A configured guest: memory, translator, layout, symbols, and how each was found.
#[derive(Debug)]
pub struct Target {
    memory: Memory,
    release: Option<String>,
    vmcoreinfo: Option<VmcoreInfo>,
    kaslr_offset: u64,
    translator: Translator,
    paging: Paging,
    btf: KernelBtf,
    layout: Layout,
    symbols: RuntimeSymbols,
    /// The symbol table (addresses as the source gives them; see [`Target::symbol`]).
    table: SymbolTable,
    machine: MachineShape,
    setup: Vec<SetupStep>,
}

impl Target {
    /// Configures a guest from `inputs`.
    pub fn configure(inputs: &Inputs) -> Result<Self, Error> {
        let memory = Memory::open(&inputs.memory, inputs.raw_base)?;
        let raw = matches!(memory, Memory::Raw(_));
        Self::configure_with(memory, inputs, Preset::default()).map_err(|e| match e {
            // Any file without a dump's magic opens as a raw image: when that reading fails,
            // say what the file is not before what the raw reading missed.
            Error::BadInput(m) if raw => Error::BadInput(format!(
                "{}: no ELF or kdump magic, so it was read as a raw RAM image from physical {:#x}, which \
                 failed: {m}; a raw image needs --raw-base ADDR, the physical address of its first byte, \
                 unless that is 0",
                inputs.memory.display(),
                inputs.raw_base
            )),
            e => e,
        })
    }

    /// Configures a guest whose memory is already open, with symbols and BTF the caller has
    /// already read (the live host's /proc/kallsyms and /sys/kernel/btf/vmlinux).
    pub fn configure_with(memory: Memory, inputs: &Inputs, preset: Preset) -> Result<Self, Error> {
        let mut setup = vec![SetupStep::Memory(memory.describe())];
        let id = inputs::identify(&memory, inputs, &mut setup)?;
        let table = symbols::table(&memory, &id, inputs, preset.symbols, &mut setup)?;
        let runtime = |name: &str| symbols::runtime_address(&table, id.arch, id.kaslr_offset, name);
        let mut runtime_symbols = symbols::runtime_symbols(&table, id.arch, id.kaslr_offset);
        let (translator, paging) = paging::translator(&memory, &id, &runtime, &mut setup)?;
        let types = btf::load(preset.btf, inputs, &id, &memory, &translator, &runtime, &mut setup)?;
        if runtime_symbols.scx_root.is_none() {
            runtime_symbols.globals = btf::sched_globals(&types.btf.types(), &runtime);
            if runtime_symbols.globals.is_some() {
                setup.push(SetupStep::SchedulerGlobals);
            }
        }
        let machine = machine::read(&memory, &translator, &runtime_symbols, &mut setup)?;
        Ok(Self {
            memory,
            release: id.release,
            vmcoreinfo: id.vmcoreinfo,
            kaslr_offset: id.kaslr_offset,
            translator,
            paging,
            btf: types.btf,
            layout: types.layout,
            symbols: runtime_symbols,
            table,
            machine,
            setup,
        })
    }

    /// A target from parts the caller already knows (a VMM that set its guest up, a test's
    /// synthetic guest): no symbol table, no BTF beyond `layout`, no KASLR, no release.
    pub fn from_parts(
        memory: Memory,
        translator: Translator,
        paging: Paging,
        layout: Layout,
        symbols: RuntimeSymbols,
        machine: MachineShape,
    ) -> Self {
        Self {
            memory,
            release: None,
            vmcoreinfo: None,
            kaslr_offset: 0,
            translator,
            paging,
            btf: KernelBtf::none(),
            layout,
            symbols,
            table: SymbolTable::from_pairs([], SymbolSource::Kallsyms),
            machine,
            setup: Vec::new(),
        }
    }

    /// With the kernel release known.
    #[must_use]
    pub fn with_release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// Guest memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Guest architecture (its paging's).
    pub fn arch(&self) -> Arch {
        match self.paging {
            Paging::X86_64 { .. } => Arch::X86_64,
            Paging::Aarch64 { .. } => Arch::Aarch64,
        }
    }

    /// Kernel release (VMCOREINFO's OSRELEASE, else the vmlinux banner).
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// VMCOREINFO, when found.
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// KASLR displacement of the kernel image.
    pub fn kaslr_offset(&self) -> u64 {
        self.kaslr_offset
    }

    /// The translator.
    pub fn translator(&self) -> &Translator {
        &self.translator
    }

    /// The paging mode.
    pub fn paging(&self) -> Paging {
        self.paging
    }

    /// The kernel's BTF.
    pub fn btf(&self) -> &KernelBtf {
        &self.btf
    }

    /// By-name lookups in the kernel's BTF.
    pub fn types(&self) -> KernelTypes<'_> {
        self.btf.types()
    }

    /// The kernel layout from BTF.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Runtime symbol addresses.
    pub fn symbols(&self) -> &RuntimeSymbols {
        &self.symbols
    }

    /// CPUs, nodes and per-CPU offsets.
    pub fn machine(&self) -> &MachineShape {
        &self.machine
    }

    /// `nr_cpu_ids`.
    pub fn nr_cpus(&self) -> u32 {
        self.machine.nr_cpus()
    }

    /// `nr_node_ids`.
    pub fn nr_nodes(&self) -> u32 {
        self.machine.nr_nodes()
    }

    /// What each configuration step found, in order.
    pub fn setup(&self) -> &[SetupStep] {
        &self.setup
    }

    /// The walker over this guest.
    pub fn guest(&self, limits: Limits) -> Guest<'_, Memory, Translator> {
        let s = &self.symbols;
        let symbols = KernelSymbols {
            runqueues: s.runqueues.map(VirtAddr),
            per_cpu_offsets: s.per_cpu_offset.map(|_| PerCpuOffsets::Slice(self.machine.per_cpu_offsets())),
            scx_root: s.scx_root.map(VirtAddr),
            scx_tasks: s.scx_tasks.map(VirtAddr),
            nr_threads: s.nr_threads.map(VirtAddr),
            nr_cpus: self.nr_cpus(),
            nr_nodes: self.nr_nodes(),
            globals: s.globals,
        };
        Guest::new(&self.memory, &self.translator, &self.layout, symbols).with_limits(limits)
    }

    /// The runtime address of a kernel symbol.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        symbols::runtime_address(&self.table, self.arch(), self.kaslr_offset, name)
    }

    /// Reads `buf.len()` bytes at kernel virtual `va` (what the user asked for:
    /// [`Field::Requested`](scxray_core::Field::Requested)).
    pub fn read_virt(&self, va: u64, buf: &mut [u8]) -> Result<(), scxray_core::ReadError> {
        read::read_virt(&self.memory, &self.translator, VirtAddr(va), buf, scxray_core::Field::Requested)
    }
}
