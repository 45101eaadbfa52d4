//! # scxray-x86_64
//!
//! Kernel virtual -> guest physical translation for x86_64 Linux guests, read from the host
//! side: an implementation of [`scxray_core::Translate`] that knows Linux's direct map and
//! kernel image mappings and walks the guest's 4-level or 5-level (LA57) page tables for
//! everything else.
//!
//! `no_std`, no `alloc`, no `unsafe`, no architecture-specific code: an aarch64 or big-endian
//! host reads an x86_64 guest the same way, since every entry is read with
//! [`scxray_core::PhysMem::read_le`] (little-endian).
//!
//! The modules, named as in `scxray-aarch64` for the same concepts:
//! - [`config`]: what the translator must know, [`X86Config`] (CR3, the paging mode,
//!   `page_offset_base`, `phys_base`, the region sizes) and the register [`Cr3`];
//! - [`geometry`]: the shape of the walk, [`PagingMode`] (4- or 5-level), [`Level`],
//!   [`PageSize`];
//! - [`descriptor`]: one paging-structure entry, [`Descriptor`] with its [`DescriptorBits`],
//!   decoded to a [`DescriptorKind`] (or the [`Reserved`] violation);
//! - [`walker`]: the bare walk, [`PageWalker`], returning a [`Mapping`] with the page size;
//! - [`translator`]: [`X86Translator`], the [`scxray_core::Translate`] implementation (the
//!   direct map and kernel image rules, the walk for everything else).
//!
//! ```
//! use scxray_core::{FlatImage, PhysAddr, Translate, TranslateError, VirtAddr};
//! use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
//!
//! // Guest RAM from physical 0; the root table (all entries non-present) at 0x1000.
//! let ram = [0u8; 0x2000];
//! let mem = FlatImage::new(PhysAddr(0), &ram);
//! let config = X86Config {
//!     phys_base: PhysAddr(0x100_0000),
//!     ..X86Config::new(Cr3(0x1000), PagingMode::from_pgtable_l5_enabled(0))
//! };
//! let t = X86Translator::new(config);
//! // Direct map and kernel image are linear, no table read needed.
//! assert_eq!(t.translate(&mem, VirtAddr(0xffff_8880_0000_1234)), Ok(PhysAddr(0x1234)));
//! assert_eq!(t.translate(&mem, VirtAddr(0xffff_ffff_8100_0000)), Ok(PhysAddr(0x200_0000)));
//! // vmalloc needs the walk; the empty PML4 maps nothing (level 3 = PML4).
//! let vmalloc = VirtAddr(0xffff_c900_0000_0000);
//! assert_eq!(t.translate(&mem, vmalloc), Err(TranslateError::NotMapped { va: vmalloc, level: 3 }));
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

pub use config::{
    Cr3, DIRECT_MAP_SIZE_L4, DIRECT_MAP_SIZE_L5, KERNEL_IMAGE_SIZE, PAGE_OFFSET_BASE_L4, PAGE_OFFSET_BASE_L5,
    START_KERNEL_MAP, X86Config,
};
pub use descriptor::{
    ARCH_MAX_PHYS_BITS, Descriptor, DescriptorBits, DescriptorKind, Reserved, phys_addr_mask,
};
pub use geometry::{CR4_LA57, Level, PageSize, PagingMode};
pub use translator::X86Translator;
pub use walker::{Mapping, PageWalker};
