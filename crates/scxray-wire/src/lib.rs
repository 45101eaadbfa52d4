//! # scxray-wire
//!
//! The wire format between a host that knows the kernel (its BTF and symbols) and an
//! embedded scxray that has the memory (firmware, a hypervisor's own monitor), and both ends
//! of it. `no_std`, no allocator, no `unsafe`; the encoding is `postcard` (serde's compact,
//! no_std wire format).
//!
//! Two messages, each a [`Header`] (4 magic bytes, a version) followed by a body:
//!
//! - **request**, host -> embedded ([`request`]): [`Header::REQUEST`] then one [`Request`]:
//!   the translator configuration, the [`Layout`], the symbols, the [`Limits`], and a
//!   [`Context`] the embedded side does not interpret but echoes back;
//! - **dump**, embedded -> host ([`record`], [`dump`]): [`Header::DUMP`] then a stream of
//!   [`Record`]s, one per event of the walk in [`scxray_core::Visitor`] order, ending with
//!   [`Record::End`]. A stream needs no buffer of its own on the embedded side, only the
//!   output bytes; records that did not fit are counted in the end record.
//!
//! A third message is a stream: the **samples** of a running guest ([`mod@sample`]),
//! [`Header::SAMPLES`] then one [`scxray_core::Sample`] per frame, for a VMM's monitor that
//! watches a scheduler over time ([`scxray_core::Guest::sample_into`]) without the host crate.
//!
//! A reader checks the header before anything else ([`header`]): another magic is another
//! message, and another version is refused rather than misread.
//!
//! Both ends walk with the same [`Translator`] ([`translator`]): the host configures it for
//! the guest it reads and sends it as a [`TranslatorConfig`], the embedded side rebuilds it
//! from that, and it forwards every [`scxray_core::Translate`] method to the architecture's
//! translator. [`serve()`] ([`mod@serve`]) is the embedded side whole: request and guest
//! memory in, dump out.
//!
//! ```
//! use scxray_core::{FlatImage, PhysAddr};
//! use scxray_wire::{WireError, serve};
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
//!     nr_threads: Some(VirtAddr(0xffff_ffff_8350_1250)),     // sizes the scx_tasks cap
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
//! [`Layout`]: scxray_core::Layout
//! [`Limits`]: scxray_core::Limits

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

pub mod dump;
pub mod error;
pub mod header;
pub mod record;
pub mod request;
pub mod sample;
pub mod serve;
pub mod translator;

pub use dump::{DumpWriter, END_RESERVE, RecordError, Records};
pub use error::WireError;
pub use header::{DUMP_MAGIC, Header, REQUEST_MAGIC, VERSION};
pub use record::{CGROUP_PATH_LEN, OPS_NAME_LEN, Record, SchedNames, SchedulerExtra, TaskRecord, Trailer};
pub use request::{Context, EnumName, MAX_ENUM_NAMES, Request, Symbols};
pub use sample::{SAMPLES_MAGIC, SAMPLES_VERSION, SampleReader, encode_sample, encode_samples_header};
pub use serve::{serve, serve_with};
pub use translator::{
    Aarch64Config, LinearRanges, LinearRule, MAX_LINEAR_RANGES, Translator, TranslatorConfig, X86_64Config,
};
