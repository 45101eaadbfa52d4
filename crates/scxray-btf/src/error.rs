//! Errors of the BTF reader and of the layout resolver. Each one names the place that failed:
//! a type id, a string offset or an offset in a section.

use core::fmt;

use crate::types::Kind;

/// A part of a BTF blob, for errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The header.
    Header,
    /// The type section.
    Types,
    /// The string section.
    Strings,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Types => "type section",
            Self::Strings => "string section",
        })
    }
}

/// Malformed or unexpected BTF, or a query the BTF cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BtfError {
    /// The blob is shorter than the fixed part of the header.
    TooShort {
        /// Length of the blob.
        len: usize,
    },
    /// The first two bytes are not `0xEB9F` in either byte order.
    BadMagic {
        /// The first two bytes.
        magic: [u8; 2],
    },
    /// A BTF version other than 1.
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
    /// `hdr_len` is shorter than the fixed header or runs past the blob.
    BadHeaderLength {
        /// `hdr_len` as read.
        hdr_len: u32,
        /// Length of the blob.
        len: usize,
    },
    /// A section named by the header does not lie inside the blob.
    SectionOutOfBounds {
        /// Which section.
        section: Section,
        /// Its offset after the header, as read.
        offset: u32,
        /// Its length, as read.
        len: u32,
        /// Length of the blob.
        blob_len: usize,
    },
    /// The string section of a base BTF does not start with an empty string, or a string
    /// section does not end with a NUL.
    BadStringSection,
    /// A type record runs past the end of the type section.
    TruncatedType {
        /// The id the record would have had.
        type_id: u32,
        /// Offset of the record in the type section.
        section_offset: usize,
    },
    /// A type record with a kind this reader does not know (0 or above 19).
    UnknownKind {
        /// The type's id.
        type_id: u32,
        /// The kind bits.
        kind: u32,
        /// Offset of the record in the type section.
        section_offset: usize,
    },
    /// More types than `u32` ids (or this target's `usize`) can count.
    TooManyTypes,
    /// A string offset past the end of the string section.
    StringOutOfBounds {
        /// The offset (in the combined base + split numbering).
        offset: u32,
    },
    /// A string that runs to the end of the section without a NUL.
    UnterminatedString {
        /// Its offset.
        offset: u32,
    },
    /// A string longer than [`crate::MAX_STRING_LEN`] bytes (the kernel's own limit for
    /// names is 512).
    StringTooLong {
        /// Its offset.
        offset: u32,
    },
    /// A string that is not UTF-8.
    InvalidUtf8 {
        /// Its offset.
        offset: u32,
    },
    /// A type id past the last type (or 0, `void`, where a real type is needed).
    TypeIdOutOfRange {
        /// The id.
        type_id: u32,
        /// The last valid id.
        last: u32,
    },
    /// The caller's scratch buffer cannot hold the type index.
    ScratchTooSmall {
        /// Words needed ([`crate::Btf::scratch_words`]).
        needed: usize,
        /// Words given.
        got: usize,
    },
    /// A [`crate::BtfIndex`] handed in with a blob it was not built from.
    IndexMismatch {
        /// Length of the blob the index was built from.
        indexed_len: usize,
        /// Length of the blob given.
        len: usize,
    },
    /// A type of the wrong kind for the query (e.g. members asked of an INT).
    WrongKind {
        /// The type's id.
        type_id: u32,
        /// Its kind.
        kind: Kind,
        /// What the query needed.
        expected: &'static str,
    },
    /// Typedef/modifier chains or nested anonymous members deeper than this reader follows
    /// (a cycle, in hostile BTF).
    TooDeep {
        /// The type where it gave up.
        type_id: u32,
    },
    /// A member search or flattening visited more than [`crate::MAX_MEMBER_VISITS`] members
    /// (only hostile BTF nests anonymous members that wide and deep).
    WorkLimit {
        /// The type where the search started.
        type_id: u32,
    },
    /// An offset that does not fit the numbers it must be returned in.
    OffsetOverflow {
        /// The type whose member offset overflowed.
        type_id: u32,
    },
    /// A record inside a type's trailing data that could not be read (a reader bug or a
    /// blob modified after parsing; parsing checks every record's extent).
    BadRecord {
        /// The type's id.
        type_id: u32,
        /// Index of the record.
        index: u32,
    },
}

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => write!(f, "BTF too short for its header ({len} bytes)"),
            Self::BadMagic { magic: [a, b] } => {
                write!(f, "not BTF: magic bytes {a:02x} {b:02x}, want 0xeb9f in either byte order")
            }
            Self::UnsupportedVersion { version } => write!(f, "unsupported BTF version {version}"),
            Self::BadHeaderLength { hdr_len, len } => {
                write!(f, "bad BTF header length {hdr_len} (blob is {len} bytes)")
            }
            Self::SectionOutOfBounds { section, offset, len, blob_len } => write!(
                f,
                "BTF {section} at offset {offset:#x} length {len:#x} lies outside the blob ({blob_len} bytes)"
            ),
            Self::BadStringSection => {
                f.write_str("BTF string section must start with an empty string and end with a NUL")
            }
            Self::TruncatedType { type_id, section_offset } => {
                write!(f, "BTF type {type_id} at type section offset {section_offset:#x} is truncated")
            }
            Self::UnknownKind { type_id, kind, section_offset } => write!(
                f,
                "BTF type {type_id} at type section offset {section_offset:#x} has unknown kind {kind}"
            ),
            Self::TooManyTypes => f.write_str("too many BTF types"),
            Self::StringOutOfBounds { offset } => {
                write!(f, "BTF string offset {offset:#x} is past the string section")
            }
            Self::UnterminatedString { offset } => {
                write!(f, "BTF string at offset {offset:#x} is not NUL-terminated")
            }
            Self::StringTooLong { offset } => {
                write!(f, "BTF string at offset {offset:#x} is longer than {} bytes", crate::MAX_STRING_LEN)
            }
            Self::WorkLimit { type_id } => write!(
                f,
                "BTF type {type_id}: more than {} members visited through anonymous members",
                crate::MAX_MEMBER_VISITS
            ),
            Self::InvalidUtf8 { offset } => write!(f, "BTF string at offset {offset:#x} is not UTF-8"),
            Self::TypeIdOutOfRange { type_id, last } => {
                write!(f, "BTF type id {type_id} out of range (last is {last})")
            }
            Self::ScratchTooSmall { needed, got } => {
                write!(f, "BTF index needs {needed} scratch words, got {got}")
            }
            Self::IndexMismatch { indexed_len, len } => {
                write!(f, "BTF index built for a {indexed_len}-byte blob, given a {len}-byte one")
            }
            Self::WrongKind { type_id, kind, expected } => {
                write!(f, "BTF type {type_id} is {kind}, expected {expected}")
            }
            Self::TooDeep { type_id } => {
                write!(f, "BTF type {type_id}: type chain or anonymous nesting too deep (cycle?)")
            }
            Self::OffsetOverflow { type_id } => write!(f, "BTF type {type_id}: member offset overflows"),
            Self::BadRecord { type_id, index } => {
                write!(f, "BTF type {type_id}: record {index} of its trailing data is unreadable")
            }
        }
    }
}

impl core::error::Error for BtfError {}

/// Why [`crate::resolve_layout`] could not produce a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveError {
    /// The kernel has neither `struct sched_ext_entity` nor `struct scx_rq`: it was built
    /// without `CONFIG_SCHED_CLASS_EXT`.
    NoSchedExt,
    /// A struct the layout needs exists, but a member every sched_ext kernel has is missing.
    MissingMember {
        /// The struct's name.
        strukt: &'static str,
        /// The member's name.
        member: &'static str,
    },
    /// A member is a bitfield, not byte-aligned, or its byte offset does not fit `u32`.
    UnusableOffset {
        /// The struct's name.
        strukt: &'static str,
        /// The member's name.
        member: &'static str,
        /// Its offset in bits from the start of the struct.
        bit_offset: u64,
    },
    /// `scx_rq.rescue` exists but holds no `struct scx_dispatch_q`.
    RescueWithoutDsq,
    /// A cursor flag's enum constant does not fit 32 bits.
    BadFlagValue {
        /// The constant's name.
        constant: &'static str,
    },
    /// The BTF itself is malformed.
    Btf(BtfError),
}

impl From<BtfError> for ResolveError {
    fn from(e: BtfError) -> Self {
        Self::Btf(e)
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSchedExt => f.write_str(
                "this kernel was built without sched_ext (CONFIG_SCHED_CLASS_EXT not set): \
                 its BTF has no struct sched_ext_entity and no struct scx_rq",
            ),
            Self::MissingMember { strukt, member } => {
                write!(f, "kernel BTF lacks {strukt}.{member}, which the layout requires")
            }
            Self::UnusableOffset { strukt, member, bit_offset } => write!(
                f,
                "{strukt}.{member} at bit offset {bit_offset} is not a byte offset that fits 32 bits"
            ),
            Self::RescueWithoutDsq => {
                f.write_str("scx_rq.rescue holds no struct scx_dispatch_q (unknown kernel layout)")
            }
            Self::BadFlagValue { constant } => write!(f, "enum constant {constant} does not fit 32 bits"),
            Self::Btf(e) => write!(f, "bad BTF: {e}"),
        }
    }
}

impl core::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Btf(e) => Some(e),
            _ => None,
        }
    }
}
