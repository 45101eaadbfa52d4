//! # scxray-bare-metal
//!
//! The embedded side of scxray's wire format ([`scxray_core::wire`]), as a library the
//! bare-metal program (`src/main.rs`) and the host's tests both call: [`serve`] takes a
//! postcard request (translator configuration, layout, symbols, caps) and guest memory, walks
//! the scheduler's state and writes a postcard dump into a caller's buffer. No allocator, no
//! `unsafe`, no buffer but the output: the dump is written while the walk runs.
//!
//! ```
//! use scxray_bare_metal::serve;
//! use scxray_core::wire::WireError;
//! use scxray_core::{FlatImage, PhysAddr};
//!
//! let ram = [0u8; 4096];
//! let mem = FlatImage::new(PhysAddr(0), &ram);
//! let mut out = [0u8; 512];
//! // Not a request: refused before anything is read.
//! assert_eq!(serve(b"nope", &mem, &mut out), Err(WireError::Magic { found: *b"nope" }));
//! ```
//!
//! ## Embedding scxray in a VMM, without the wire format
//!
//! A VMM that links scxray-core directly implements [`PhysMem`] over its guest RAM, builds
//! the translator from the vCPU's registers, and walks. The layout and the symbols come from
//! the host (`scxray-btf` on the kernel's BTF, the kernel's symbol table), once per kernel.
//!
//! ```
//! use scxray_core::{
//!     Guest, KernelSymbols, Layout, MachineSummary, MemError, PerCpuOffsets, PhysAddr, PhysMem, VirtAddr,
//! };
//! use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
//! use scxray_aarch64::Aarch64Translator;
//!
//! /// The VMM's guest RAM: one slot of `bytes` at guest-physical `base`.
//! struct GuestRam<'a> {
//!     base: u64,
//!     bytes: &'a [u8],
//! }
//!
//! impl PhysMem for GuestRam<'_> {
//!     fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
//!         let not_backed = MemError::NotBacked { pa, len: buf.len() as u64 };
//!         let start = pa.0.checked_sub(self.base).ok_or(not_backed)? as usize;
//!         let src = self.bytes.get(start..start + buf.len()).ok_or(not_backed)?;
//!         buf.copy_from_slice(src);
//!         Ok(())
//!     }
//! }
//!
//! let ram = vec![0u8; 1 << 20];
//! let mem = GuestRam { base: 0, bytes: &ram };
//!
//! // x86_64: CR3 and CR4 from any vCPU (kernel mappings are shared), and the values of the
//! // kernel variables `page_offset_base` and `phys_base` under KASLR.
//! let x86 = X86Translator::new(X86Config {
//!     phys_end: Some(PhysAddr(ram.len() as u64)),
//!     ..X86Config::new(Cr3(0x10_0000), PagingMode::from_cr4(0x0035_06f0))
//! });
//! // aarch64: TTBR1_EL1 and TCR_EL1 (4K granule, 48-bit VA here), plus the linear map.
//! let arm = Aarch64Translator::from_registers(0x4000_0000, (16 << 16) | (0b10 << 30) | (0b101 << 32))
//!     .map(|t| t.with_linux_linear_map(0x4000_0000));
//! assert!(arm.is_ok());
//!
//! let layout = Layout::default(); // scxray_btf::resolve_layout(&btf) on the host
//! let symbols = KernelSymbols {
//!     runqueues: Some(VirtAddr(0x3_4c40)),                    // KASLR applied
//!     per_cpu_offsets: Some(PerCpuOffsets::Guest { kva: VirtAddr(0xffff_ffff_8300_0000), slots: 4 }),
//!     scx_root: Some(VirtAddr(0xffff_ffff_8350_1230)),
//!     scx_tasks: Some(VirtAddr(0xffff_ffff_8350_1240)),
//!     nr_cpus: 4,
//!     nr_nodes: 1,
//!     globals: None,
//! };
//! let guest = Guest::new(&mem, &x86, &layout, symbols);
//!
//! // Collected, fixed capacity (or `guest.walk_machine(&mut visitor)` to stream):
//! let summary: MachineSummary<64, 256> = guest.collect_machine();
//! // Nothing to find in zeroed RAM with an empty layout, and the summary says why.
//! assert!(summary.root.is_none());
//! assert!(!summary.problems.is_empty());
//! ```
//!
//! [`PhysMem`]: scxray_core::PhysMem

#![no_std]
#![forbid(unsafe_code)]

use scxray_aarch64::{Aarch64Translator, KernelImage, LinearMap};
use scxray_core::wire::{
    CGROUP_PATH_LEN, END_RESERVE, Header, OPS_NAME_LEN, Record, Request, SchedNames, SchedulerExtra, Symbols,
    TaskRecord, Trailer, TranslatorConfig, WireError,
};
use scxray_core::{
    AddressKind, CpuScx, DsqHeader, Field, Guest, HashWalk, LinearTranslator, ListWalk, PhysAddr, PhysMem,
    Problem, Provenance, SchedState, SubSched, TaskEntry, Translate, TranslateError, VirtAddr, Visitor,
};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use serde::Serialize;

/// The translator a request configures.
#[derive(Debug, Clone, Copy)]
pub enum Translator<'r> {
    /// x86_64 page tables and Linux's two linear rules.
    X86_64(X86Translator),
    /// aarch64 TTBR1 walk and the linear rules.
    Aarch64(Aarch64Translator),
    /// Linear ranges only.
    Linear(LinearTranslator<'r>),
}

impl<'r> Translator<'r> {
    /// Builds the translator `config` describes.
    ///
    /// # Errors
    /// [`WireError::Translator`] for aarch64 registers the walker refuses.
    pub fn new(config: &'r TranslatorConfig) -> Result<Self, WireError> {
        Ok(match config {
            TranslatorConfig::X86_64(c) => {
                let mode = if c.five_level { PagingMode::FiveLevel } else { PagingMode::FourLevel };
                Self::X86_64(X86Translator::new(X86Config {
                    page_offset_base: c.page_offset_base,
                    direct_map_size: c.direct_map_size,
                    phys_base: c.phys_base,
                    kernel_map_start: c.kernel_map_start,
                    kernel_image_size: c.kernel_image_size,
                    max_phys_bits: c.max_phys_bits,
                    phys_end: c.phys_end,
                    prefer_walk: c.prefer_walk,
                    ..X86Config::new(Cr3(c.cr3), mode)
                }))
            }
            TranslatorConfig::Aarch64(c) => {
                let mut t = Aarch64Translator::from_registers(c.ttbr1_el1, c.tcr_el1)
                    .map_err(|_| WireError::Translator)?;
                if let Some(l) = c.linear_map {
                    t = t.with_linear_map(LinearMap { start: l.start, end: l.end, phys_offset: l.offset });
                }
                if let Some(i) = c.kernel_image {
                    t = t.with_kernel_image(KernelImage { start: i.start, end: i.end, voffset: i.offset });
                }
                Self::Aarch64(t)
            }
            TranslatorConfig::Linear(ranges) => Self::Linear(LinearTranslator::new(ranges)),
        })
    }
}

impl Translate for Translator<'_> {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        match self {
            Self::X86_64(t) => t.kind(va),
            Self::Aarch64(t) => t.kind(va),
            Self::Linear(t) => t.kind(va),
        }
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        match self {
            Self::X86_64(t) => t.translate(mem, va),
            Self::Aarch64(t) => t.translate(mem, va),
            Self::Linear(t) => t.translate(mem, va),
        }
    }
}

/// Writes postcard records into a fixed buffer, keeping [`END_RESERVE`] bytes for the end
/// record; once one record does not fit, the rest are counted, not written.
#[derive(Debug)]
pub struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
    dropped: u32,
}

impl<'o> Writer<'o> {
    /// A writer over `out` that has written `header`.
    ///
    /// # Errors
    /// [`WireError::OutputTooSmall`] when not even the header and the end record fit.
    pub fn new(out: &'o mut [u8], header: &Header) -> Result<Self, WireError> {
        let mut w = Self { out, pos: 0, dropped: 0 };
        if !w.put(header) {
            return Err(WireError::OutputTooSmall);
        }
        Ok(w)
    }

    fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> bool {
        let limit = self.out.len().saturating_sub(END_RESERVE);
        let Some(free) = self.out.get_mut(self.pos..limit) else { return false };
        match postcard::to_slice(value, free) {
            Ok(used) => {
                self.pos = self.pos.saturating_add(used.len());
                true
            }
            Err(_) => false,
        }
    }

    /// Writes one record (or counts it dropped).
    pub fn record(&mut self, record: &Record<'_>) {
        if self.dropped > 0 || !self.put(record) {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Writes the end record; returns the dump's length.
    pub fn finish(self) -> usize {
        let end = Record::End(Trailer { records_dropped: self.dropped });
        let Some(free) = self.out.get_mut(self.pos..) else { return self.pos };
        // END_RESERVE bytes were kept for this: it always fits.
        let used = postcard::to_slice(&end, free).map_or(0, |u| u.len());
        self.pos.saturating_add(used)
    }
}

/// The visitor that turns walk events into records.
struct Encoder<'g, 'o, 's, M: ?Sized, T: ?Sized> {
    guest: Guest<'g, M, T>,
    out: Writer<'o>,
    symbols: &'s Symbols,
    root: Option<SchedState>,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Encoder<'_, '_, '_, M, T> {
    fn task(&self, kva: VirtAddr) -> TaskRecord {
        TaskRecord { kva, identity: self.guest.read_task_identity(kva) }
    }

    /// Reads `sched`'s names into the two buffers and passes them to `f` (they live on this
    /// stack frame only: records are written at once, never kept).
    fn with_names(&mut self, state: &SchedState, f: impl FnOnce(&mut Writer<'_>, SchedNames<'_>)) {
        let mut name = [0u8; OPS_NAME_LEN];
        let mut path = [0u8; CGROUP_PATH_LEN];
        let g = &self.guest;
        let sched = state.sched_kva;
        // 6.12-6.15 have no `struct scx_sched`: the name is the `scx_ops` variable's.
        let name_field =
            if state.provenance == Provenance::Globals { Field::OpsNameVar } else { Field::SchedOpsName };
        let ops_name = self.symbols.ops_name_offset.and_then(|off| {
            let at = sched.member(off, name_field).ok()?;
            g.read_bytes(at, &mut name, name_field).ok()?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            name.get(..end)
        });
        let path_ptr = self.symbols.cgrp_path_offset.and_then(|off| {
            let ptr = g.read_ptr(sched.member(off, Field::SchedCgrpPath).ok()?, Field::SchedCgrpPath).ok()?;
            (ptr.0 != 0).then_some(ptr)
        });
        let (cgroup_path, cgroup_path_cut) = path_ptr
            .and_then(|p| g.read_c_string(p, &mut path, Field::SchedCgrpPathString).ok())
            .map_or((None, false), |(p, cut)| (Some(p), cut));
        f(&mut self.out, SchedNames { ops_name, cgroup_path, cgroup_path_cut });
    }
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Visitor for Encoder<'_, '_, '_, M, T> {
    fn root(&mut self, root: &SchedState) {
        self.root = Some(*root);
        self.out.record(&Record::Root(*root));
    }
    fn cpu(&mut self, cpu: &CpuScx) {
        self.out.record(&Record::Cpu(*cpu));
    }
    fn runnable_task(&mut self, cpu: u32, task: TaskEntry) {
        let task = self.task(task.task_kva);
        self.out.record(&Record::RunnableTask { cpu, task });
    }
    fn runnable_end(&mut self, cpu: u32, walk: &ListWalk) {
        self.out.record(&Record::RunnableEnd { cpu, walk: *walk });
    }
    fn dsq(&mut self, dsq: &DsqHeader) {
        self.out.record(&Record::Dsq(*dsq));
    }
    fn dsq_task(&mut self, _dsq: &DsqHeader, task: TaskEntry) {
        let task = self.task(task.task_kva);
        self.out.record(&Record::DsqTask(task));
    }
    fn dsq_end(&mut self, _dsq: &DsqHeader, walk: &ListWalk) {
        self.out.record(&Record::DsqEnd(*walk));
    }
    fn user_dsqs_end(&mut self, walk: &HashWalk) {
        self.out.record(&Record::UserDsqsEnd(*walk));
    }
    fn sub_sched(&mut self, sched: &SubSched) {
        self.out.record(&Record::SubSched(*sched));
        self.with_names(&sched.state, |out, names| out.record(&Record::SubSchedNames(names)));
    }
    fn sub_scheds_end(&mut self, walk: &ListWalk) {
        self.out.record(&Record::SubSchedsEnd(*walk));
    }
    fn scx_task(&mut self, task: TaskEntry) {
        let task = self.task(task.task_kva);
        self.out.record(&Record::ScxTask(task));
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.out.record(&Record::ScxTasksEnd(*walk));
    }
    fn problem(&mut self, problem: &Problem) {
        self.out.record(&Record::Problem(*problem));
    }
}

/// Decodes a request (header checked first).
///
/// # Errors
/// [`WireError::Magic`], [`WireError::Version`], [`WireError::Malformed`].
pub fn decode_request(bytes: &[u8]) -> Result<Request<'_>, WireError> {
    let (header, body) = postcard::take_from_bytes::<Header>(bytes).map_err(|_| WireError::Malformed)?;
    header.check(Header::REQUEST)?;
    postcard::from_bytes(body).map_err(|_| WireError::Malformed)
}

/// Serves one request: walks the guest in `mem` as `request` describes and writes the dump
/// into `out`. Returns the dump's length.
///
/// # Errors
/// A request that does not decode or configures no valid translator, or an `out` too small
/// for even an empty dump. A dump that does not fit is not an error: its end record counts
/// the records dropped.
pub fn serve<M: PhysMem + ?Sized>(request: &[u8], mem: &M, out: &mut [u8]) -> Result<usize, WireError> {
    // Too short for a header is another message, as is a wrong magic.
    if let Some(magic) = request.get(..4).and_then(|m| <[u8; 4]>::try_from(m).ok())
        && magic != Header::REQUEST.magic
    {
        return Err(WireError::Magic { found: magic });
    }
    let req = decode_request(request)?;
    let translator = Translator::new(&req.translator)?;
    let guest =
        Guest::new(mem, &translator, &req.layout, req.symbols.kernel_symbols()).with_limits(req.limits);
    let mut writer = Writer::new(out, &Header::DUMP)?;
    writer.record(&Record::Context(req.context.clone()));
    writer.record(&Record::Shape { nr_cpus: req.symbols.nr_cpus, nr_nodes: req.symbols.nr_nodes });
    let mut enc = Encoder { guest, out: writer, symbols: &req.symbols, root: None };
    guest.walk_machine(&mut enc);
    if let Some(root) = enc.root {
        let enable_state = req
            .symbols
            .scx_enable_state_var
            .and_then(|a| guest.read_le::<u32>(a, Field::EnableStateVar).ok());
        enc.with_names(&root, |out, names| {
            out.record(&Record::Scheduler(SchedulerExtra { names, enable_state }));
        });
    }
    Ok(enc.out.finish())
}
