//! # scxray-btf
//!
//! Reads raw BTF (the bytes of `/sys/kernel/btf/vmlinux`, or of a vmlinux ELF's `.BTF`
//! section; a module's split BTF on top of it) and resolves scxray's kernel [`Layout`]
//! from it with [`resolve_layout`].
//!
//! `no_std`, no `unsafe`; `alloc` only behind the `alloc` feature. Without it, the type
//! index lives in a caller-provided scratch buffer of [`Btf::scratch_words`] words. Both
//! byte orders are read (the magic `0xEB9F` tells which), every kind up to ENUM64 is walked,
//! and the input is untrusted: malformed BTF gives a [`BtfError`] naming the type id, string
//! offset or section offset that failed, never a panic.
//!
//! Parsing walks the type section once, storing every type's offset and a hash table from
//! name to type id, so lookups by id are O(1) and by name O(1) expected.
//!
//! ```
//! # fn demo(data: &[u8]) -> Result<(), scxray_btf::BtfError> {
//! use scxray_btf::Btf;
//! let mut scratch = [0u32; 64];
//! let btf = Btf::parse_in(data, &mut scratch)?;
//! let _rq_size = btf.struct_size("rq")?;
//! let _scx = btf.member_offset("rq.scx")?.and_then(|m| m.byte_offset());
//! match scxray_btf::resolve_layout(&btf) {
//!     Ok(layout) => { let _ = layout; }
//!     Err(e) => { let _ = e; } // e.g. "this kernel was built without sched_ext ..."
//! }
//! # Ok(()) }
//! ```
//!
//! [`Layout`]: scxray_core::Layout

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

#[cfg(feature = "alloc")]
extern crate alloc;

mod btf;
mod error;
mod query;
mod raw;
mod resolve;
mod types;

#[cfg(feature = "alloc")]
pub use btf::BtfIndex;
pub use btf::{Btf, MAX_STRING_LEN, TypeIter};
pub use error::{BtfError, ResolveError, Section};
pub use query::{FlatMember, FlatMembers, MAX_ANON_DEPTH, MAX_MEMBER_VISITS, Member, MemberOffset, Members};
pub use raw::Endian;
pub use resolve::resolve_layout;
pub use types::{ArrayInfo, EnumValue, IntInfo, Kind, RawEnumerator, RawMember, Type};
