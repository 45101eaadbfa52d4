//! # scxray-aarch64
//!
//! Kernel virtual -> guest physical translation for aarch64 Linux guests, from any host:
//! the VMSAv8-64 stage 1 walk through `TTBR1_EL1`, configured from `TCR_EL1` as the hardware
//! is, and Linux's two linear rules (the linear map and the kernel image) beside it.
//!
//! - Granules 4K, 16K and 64K; any `T1SZ` from 12 to 48; start levels -1 to 3.
//! - 52-bit output addresses: LPA2 (`TCR_EL1.DS`, 4K/16K) and LPA (64K, `IPS = 52`), in the
//!   descriptors and in `TTBR1_EL1`.
//! - Block descriptors exactly where the architecture allows them.
//! - Guest memory is hostile: every walk reads at most one descriptor a level, so a table
//!   that points at itself cannot loop; nothing panics on any register or descriptor value.
//!
//! `no_std`, no `alloc`, no `unsafe`, no `cfg(target_arch)`.
//!
//! ## Configurations
//!
//! Each cell names the levels walked and the block sizes allowed; every cell has a test
//! (`tests/cells.rs`) that maps pages and every allowed block size, translates them, and
//! checks that unmapped and out-of-range addresses fail. Beyond these cells, every VA size
//! from 16 (or 18/20) to 52 bits is exercised with each granule.
//!
//! | granule | VA 36 | VA 39 | VA 42 | VA 47 | VA 48 | VA 52 |
//! |---------|-------|-------|-------|-------|-------|-------|
//! | 4 KiB   |  | L1-L3; 1G, 2M |  |  | L0-L3; 1G, 2M | LPA2: L-1-L3; 512G, 1G, 2M |
//! | 16 KiB  | L2-L3; 32M |  |  | L1-L3; 32M | L0-L3; 32M | LPA2: L0-L3; 64G, 32M |
//! | 64 KiB  |  |  | L2-L3; 512M |  | L1-L3; 512M | LPA: L1-L3; 4T, 512M |
//!
//! ## Entry points
//!
//! - [`Aarch64Translator::from_registers`]`(ttbr1_el1, tcr_el1)` when the dump has registers;
//! - [`Aarch64Translator::from_kernel_config`] when it does not (QEMU's arm64 dumps): the
//!   registers are rebuilt from an [`Aarch64KernelConfig`] (`swapper_pg_dir`, `VA_BITS`,
//!   `TCR_EL1_T1SZ`, the page size and whether LPA2 is on, all from VMCOREINFO);
//! - then [`Aarch64Translator::with_linux_linear_map`] (`PHYS_OFFSET`) and
//!   [`Aarch64Translator::with_kernel_image`] (`kimage_voffset`) add the cheap linear rules,
//!   applied only inside their ranges; everything else walks.
//!
//! Errors name levels as [`scxray_core::TranslateError`] does, 0 being the leaf: see
//! [`Level::core_level`].
//!
//! ## Modules
//!
//! Named as in `scxray-x86_64` for the same concepts:
//! - [`config`]: what the translator must know, the registers [`TcrEl1`] and [`Ttbr1El1`] or
//!   the [`Aarch64KernelConfig`], and the [`ConfigError`] of one it cannot walk;
//! - [`geometry`]: the shape of the walk, [`Granule`], [`Level`], [`AddressFormat`] and
//!   [`Geometry`];
//! - [`descriptor`]: one stage 1 descriptor, [`Descriptor`] with its [`DescriptorBits`] and
//!   its [`DescriptorKind`] at a level;
//! - [`walker`]: the bare TTBR1 walk, [`PageWalker`], returning a [`Mapping`] with the level
//!   and block or page size;
//! - [`translator`]: [`Aarch64Translator`], the [`scxray_core::Translate`] implementation (the
//!   [`LinearMap`] and [`KernelImage`] rules, the walk for everything else).
//!
//! Not modelled: 128-bit descriptors (FEAT_D128), TTBR0, stage 2, and the CPU's own PA
//! limit: 64K level-1 blocks are accepted only when `TCR_EL1.IPS` selects 52 bits.
//!
//! ```
//! use scxray_aarch64::{Aarch64Translator, Granule, TcrEl1};
//! use scxray_core::{FlatImage, PhysAddr, Translate, VirtAddr};
//!
//! // One 4K page at VA 0xffff_0000_0000_0000 -> PA 0x5000, VA 48 bits, 4 levels.
//! let mut mem = [0u8; 0x5000];
//! let table = |level: u64, next: u64| (0x1000 * level, next | 0b11);
//! for (at, desc) in [table(0, 0x1000), table(1, 0x2000), table(2, 0x3000), (0x3000, 0x5000 | 0x403)] {
//!     mem[at as usize..at as usize + 8].copy_from_slice(&desc.to_le_bytes());
//! }
//! let tcr = TcrEl1::new(16, Granule::K4, 0b101, false);
//! let t = Aarch64Translator::from_registers(0, tcr.bits()).unwrap();
//! let mem = FlatImage::new(PhysAddr(0), &mem);
//! assert_eq!(t.translate(&mem, VirtAddr(0xffff_0000_0000_0123)), Ok(PhysAddr(0x5123)));
//! assert!(t.translate(&mem, VirtAddr(0xffff_0000_0000_1000)).is_err());
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

pub mod config;
pub mod descriptor;
pub mod geometry;
pub mod translator;
pub mod walker;

pub use config::{Aarch64KernelConfig, ConfigError, TcrEl1, Ttbr1El1, bits_to_ips, ips_to_bits};
pub use descriptor::{Descriptor, DescriptorBits, DescriptorKind};
pub use geometry::{AddressFormat, Geometry, Granule, Level};
pub use translator::{Aarch64Translator, KernelImage, LinearMap};
pub use walker::{Mapping, PageWalker};
