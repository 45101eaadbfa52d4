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

pub mod descriptor;
pub mod geometry;
pub mod regs;
pub mod translator;
pub mod walker;

pub use descriptor::{Descriptor, DescriptorBits, DescriptorKind};
pub use geometry::{AddressFormat, Geometry, Granule, Level};
pub use regs::{TcrEl1, Ttbr1El1, bits_to_ips, ips_to_bits};
pub use translator::{Aarch64Translator, KernelImage, LinearMap, VmcoreInfo};
pub use walker::{Aarch64Walker, ConfigError, Mapped};
