//! Address newtypes: a guest-physical address and a kernel virtual address are different
//! things, and mixing them up is the classic bug of memory-dump tools.
//!
//! Arithmetic on them is by method, checked unless the kernel's own arithmetic is modular:
//! [`VirtAddr::checked_add`] and friends for pointers read from the guest (hostile ones wrap),
//! `wrapping_add` only where the kernel computes modulo 2^64 itself. The `Field`-labelled forms
//! the walkers use ([`VirtAddr::member`], [`VirtAddr::container_of`]) are in [`crate::error`],
//! beside the error they return.

use core::fmt;

/// A guest-physical address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PhysAddr(pub u64);

/// A guest kernel virtual address (KVA).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VirtAddr(pub u64);

macro_rules! addr_common {
    ($t:ident, $prefix:literal) => {
        impl $t {
            /// The raw address value.
            #[must_use]
            pub const fn get(self) -> u64 {
                self.0
            }
            /// `self + off`, or `None` when it would wrap (hostile pointers do that).
            #[must_use]
            pub const fn checked_add(self, off: u64) -> Option<Self> {
                match self.0.checked_add(off) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
            /// `self - off`, or `None` when it would wrap (container_of on a bogus pointer).
            #[must_use]
            pub const fn checked_sub(self, off: u64) -> Option<Self> {
                match self.0.checked_sub(off) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
            /// `self + off` modulo 2^64: only where the kernel's own arithmetic is modular
            /// (an `unsigned long` offset that is "negative": arm64's per-CPU offsets and
            /// `PHYS_OFFSET`, x86's `phys_base` under KASLR). Anything derived from a guest
            /// pointer and a size uses [`Self::checked_add`].
            #[must_use]
            pub const fn wrapping_add(self, off: u64) -> Self {
                Self(self.0.wrapping_add(off))
            }
            /// `self - off` modulo 2^64, as [`Self::wrapping_add`].
            #[must_use]
            pub const fn wrapping_sub(self, off: u64) -> Self {
                Self(self.0.wrapping_sub(off))
            }
            /// How far `self` lies above `base`, or `None` when it lies below.
            #[must_use]
            pub const fn checked_offset_from(self, base: Self) -> Option<u64> {
                self.0.checked_sub(base.0)
            }
            /// `self` rounded down to a multiple of `align`, a power of two (a page's base).
            #[must_use]
            pub const fn align_down(self, align: u64) -> Self {
                Self(self.0 & !align.wrapping_sub(1))
            }
            /// `self`'s offset inside its `align`-sized block, `align` a power of two (the
            /// offset in a page).
            #[must_use]
            pub const fn offset_in(self, align: u64) -> u64 {
                self.0 & align.wrapping_sub(1)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{:#x}"), self.0)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
        impl From<u64> for $t {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }
    };
}
addr_common!(PhysAddr, "PA ");
addr_common!(VirtAddr, "VA ");
