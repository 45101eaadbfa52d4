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
//! ## Values
//!
//! [`Btf::decode_value`] walks the bytes of a value (a BPF map's key or value, read with the
//! map's own BTF, standalone or split over vmlinux's) along its type and streams every field
//! to a [`ValueVisitor`] with its [`FieldPath`] (`qa.fifos[2].head`), without allocation:
//! STRUCT/UNION members (bitfields too), ARRAY elements (`char` arrays as strings), ENUMs by
//! name, ints of every size and signedness, pointers as addresses, DATASEC variables by name
//! (global-data maps: `.bss`, `.data`, `.rodata`). [`format_value`] writes the same as text,
//! with a [`PointerNamer`] hook for addresses the caller can name; [`Btf::locate`] names the
//! field at a byte offset (an arena pointer as an arena global's field). Every walk is capped
//! ([`DecodeLimits`]) and a field outside the value is a [`DecodeError`] naming type and offset.
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
mod format;
mod group;
mod guest;
mod place;
mod query;
mod raw;
mod resolve;
mod resolve_bpf;
mod types;
mod value;

#[cfg(feature = "alloc")]
pub use btf::BtfIndex;
pub use btf::{Btf, MAX_STRING_LEN, TypeIter};
pub use error::{BtfError, ResolveError, Section};
pub use format::{FormatError, NoNames, PointerNamer, Style, ValueWriter, format_value};
pub use guest::GuestValue;
pub use place::{ARENA_GLOBALS, ArenaNamer, BtfPlaceTypes, PlaceHint, arena_globals};
pub use query::{FlatMember, FlatMembers, MAX_ANON_DEPTH, MAX_MEMBER_VISITS, Member, MemberOffset, Members};
pub use raw::Endian;
pub use resolve::resolve_layout;
pub use resolve_bpf::resolve_bpf_layout;
pub use types::{ArrayInfo, EnumValue, IntInfo, Kind, RawEnumerator, RawMember, Type};
pub use value::{
    DecodeError, DecodeLimits, DecodeSummary, Field, FieldPath, Flow, IntValue, Located, MAX_DECODE_DEPTH,
    MAX_STRING_BYTES, POINTER_SIZE, ReadFailed, Segment, Value, ValueBytes, ValueVisitor,
};
