//! Address newtypes: a guest-physical address and a kernel virtual address are different
//! things, and mixing them up is the classic bug of memory-dump tools.

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
