//! The parsed blob: header, sections, the type-offset table and the name index.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::fmt;

use crate::error::{BtfError, Section};
use crate::raw::{Endian, read_record};
use crate::types::{Kind, Type};

/// Size of the fixed part of `struct btf_header`.
const HEADER_LEN: u32 = 24;
/// Size of `struct btf_type`.
const TYPE_HEAD_LEN: usize = 12;
/// How many typedef/modifier hops [`Btf::resolve_alias`] follows before calling it a cycle.
pub(crate) const MAX_ALIAS_HOPS: u32 = 64;

/// A base blob's index apart from its bytes ([`Btf::to_index`], [`Btf::with_index`]).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfIndex {
    words: Vec<u32>,
    count: u32,
    /// The type and string sections' lengths together: a cheap check that the bytes match.
    sections_len: usize,
}

/// The index words: type offsets, then the name hash table.
enum Words<'a> {
    Borrowed(&'a [u32]),
    #[cfg(feature = "alloc")]
    Owned(Vec<u32>),
}

impl Words<'_> {
    fn as_slice(&self) -> &[u32] {
        match self {
            Self::Borrowed(s) => s,
            #[cfg(feature = "alloc")]
            Self::Owned(v) => v,
        }
    }
}

/// A parsed BTF blob (base, or split on top of a base), with its index.
///
/// Parsing checks the header, that both sections lie inside the blob, and walks every type
/// record once, checking its kind and the extent of its trailing data; it stores each type's
/// offset (O(1) lookup by id) and a hash table from name to type id for the named kinds one
/// looks up by name (INT, STRUCT, UNION, ENUM, ENUM64, FWD, TYPEDEF, VAR, DATASEC, FLOAT).
/// Nothing else is trusted: every later read is bounds-checked and fails with a [`BtfError`].
pub struct Btf<'a> {
    endian: Endian,
    types: &'a [u8],
    strings: &'a [u8],
    words: Words<'a>,
    /// Number of types in this blob (not counting the base's, nor `void`).
    count: u32,
    /// Mask of the hash table (capacity - 1); the table follows the `count` offsets.
    table_mask: u32,
    base: Option<&'a Btf<'a>>,
    /// Id of this blob's first type (1 for a base).
    first_id: u32,
    /// Offset of this blob's first string in the combined numbering (0 for a base).
    str_start: u32,
}

impl fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("types_len", &self.types.len())
            .field("strings_len", &self.strings.len())
            .field("first_id", &self.first_id)
            .field("count", &self.count)
            .field("str_start", &self.str_start)
            .field("split", &self.base.is_some())
            .finish_non_exhaustive()
    }
}

/// The two sections of a blob, once the header is checked.
struct Sections<'a> {
    endian: Endian,
    types: &'a [u8],
    strings: &'a [u8],
}

fn sections(data: &[u8], is_base: bool) -> Result<Sections<'_>, BtfError> {
    let too_short = BtfError::TooShort { len: data.len() };
    let magic: [u8; 2] = data.get(..2).and_then(|m| m.try_into().ok()).ok_or(too_short)?;
    let endian = if u16::from_le_bytes(magic) == 0xeb9f {
        Endian::Little
    } else if u16::from_be_bytes(magic) == 0xeb9f {
        Endian::Big
    } else {
        return Err(BtfError::BadMagic { magic });
    };
    let (version, hdr_len, type_off, type_len, str_off, str_len) = read_record!(data, endian, Header, |h| (
        h.version,
        h.hdr_len.get(),
        h.type_off.get(),
        h.type_len.get(),
        h.str_off.get(),
        h.str_len.get()
    ))
    .ok_or(too_short)?;
    if version != 1 {
        return Err(BtfError::UnsupportedVersion { version });
    }
    let bad_hdr = BtfError::BadHeaderLength { hdr_len, len: data.len() };
    let hdr = usize::try_from(hdr_len).map_err(|_| bad_hdr)?;
    if hdr_len < HEADER_LEN || hdr > data.len() {
        return Err(bad_hdr);
    }
    let body = data.get(hdr..).ok_or(bad_hdr)?;
    let section = |section: Section, offset: u32, len: u32| {
        let err = BtfError::SectionOutOfBounds { section, offset, len, blob_len: data.len() };
        let start = usize::try_from(offset).map_err(|_| err)?;
        let end = start.checked_add(usize::try_from(len).map_err(|_| err)?).ok_or(err)?;
        body.get(start..end).ok_or(err)
    };
    let types = section(Section::Types, type_off, type_len)?;
    let strings = section(Section::Strings, str_off, str_len)?;
    // A base's string 0 is the empty string; every string section ends with a NUL.
    if (is_base && strings.first().is_some_and(|&b| b != 0)) || strings.last().is_some_and(|&b| b != 0) {
        return Err(BtfError::BadStringSection);
    }
    if is_base && strings.is_empty() {
        return Err(BtfError::BadStringSection);
    }
    Ok(Sections { endian, types, strings })
}

/// The head of the type record at `off`, and the end of its trailing data.
struct Head {
    kind: Kind,
    name_off: u32,
    info: u32,
    size_or_type: u32,
    end: usize,
}

fn read_head(types: &[u8], off: usize, endian: Endian, type_id: u32) -> Result<Head, BtfError> {
    let truncated = BtfError::TruncatedType { type_id, section_offset: off };
    let (name_off, info, size_or_type) = types
        .get(off..)
        .and_then(|b| {
            read_record!(b, endian, TypeHead, |r| (r.name_off.get(), r.info.get(), r.size_or_type.get()))
        })
        .ok_or(truncated)?;
    let raw_kind = (info >> 24) & 0x1f;
    let kind = Kind::from_raw(raw_kind).ok_or(BtfError::UnknownKind {
        type_id,
        kind: raw_kind,
        section_offset: off,
    })?;
    let (rec, per_vlen) = kind.trailing();
    let tail = if per_vlen { rec.checked_mul(info & 0xffff).ok_or(truncated)? } else { rec };
    let end = off
        .checked_add(TYPE_HEAD_LEN)
        .and_then(|e| e.checked_add(usize::try_from(tail).ok()?))
        .ok_or(truncated)?;
    if end > types.len() {
        return Err(truncated);
    }
    Ok(Head { kind, name_off, info, size_or_type, end })
}

/// Walks every record, calling `f(index, offset, kind, name_off)`; returns (types, named).
fn walk(
    types: &[u8],
    endian: Endian,
    first_id: u32,
    mut f: impl FnMut(u32, u32, Kind, u32) -> Result<(), BtfError>,
) -> Result<(u32, u32), BtfError> {
    let mut off = 0usize;
    let mut index = 0u32;
    let mut named = 0u32;
    while off < types.len() {
        let type_id = first_id.checked_add(index).ok_or(BtfError::TooManyTypes)?;
        let head = read_head(types, off, endian, type_id)?;
        f(index, u32::try_from(off).map_err(|_| BtfError::TooManyTypes)?, head.kind, head.name_off)?;
        if head.kind.indexed() && head.name_off != 0 {
            named = named.checked_add(1).ok_or(BtfError::TooManyTypes)?;
        }
        index = index.checked_add(1).ok_or(BtfError::TooManyTypes)?;
        off = head.end;
    }
    Ok((index, named))
}

/// Capacity of the name hash table for `named` entries: a power of two, at least twice.
fn table_capacity(named: u32) -> Result<u32, BtfError> {
    named
        .checked_mul(2)
        .map(|n| n.max(2))
        .and_then(u32::checked_next_power_of_two)
        .ok_or(BtfError::TooManyTypes)
}

fn usize_of(v: u32) -> Result<usize, BtfError> {
    usize::try_from(v).map_err(|_| BtfError::TooManyTypes)
}

/// FNV-1a, 32 bits: its offset basis.
const FNV_BASIS: u32 = 0x811c_9dc5;
/// FNV-1a, 32 bits: its prime.
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a, 32 bits.
fn hash(name: &[u8]) -> u32 {
    name.iter().fold(FNV_BASIS, |h, &b| (h ^ u32::from(b)).wrapping_mul(FNV_PRIME))
}

/// [`hash`] of the string at `off` (what [`str_bytes`] reads), hashed as its end is sought:
/// one pass over its bytes. Fails as [`str_bytes`] does.
fn str_hash<'a>(
    base: Option<&'a Btf<'a>>,
    strings: &'a [u8],
    str_start: u32,
    off: u32,
) -> Result<u32, BtfError> {
    let rest = str_rest(base, strings, str_start, off)?;
    let window = rest.get(..=MAX_STRING_LEN).unwrap_or(rest);
    let mut h = FNV_BASIS;
    for &b in window {
        if b == 0 {
            return Ok(h);
        }
        h = (h ^ u32::from(b)).wrapping_mul(FNV_PRIME);
    }
    Err(if window.len() > MAX_STRING_LEN {
        BtfError::StringTooLong { offset: off }
    } else {
        BtfError::UnterminatedString { offset: off }
    })
}

/// The raw kinds [`Kind::indexed`] holds, as bits: INT, STRUCT, UNION, ENUM, FWD, TYPEDEF,
/// VAR, DATASEC, FLOAT and ENUM64.
const INDEXED_KINDS: u32 =
    1 << 1 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 14 | 1 << 15 | 1 << 16 | 1 << 19;

/// Whether the kind bits of `info` name a kind [`Kind::indexed`] holds.
pub(crate) fn indexed_raw(info: u32) -> bool {
    INDEXED_KINDS.checked_shr((info >> 24) & 0x1f).is_some_and(|bits| bits & 1 != 0)
}

/// `name_off` and `info` of the type record at `off`.
fn name_and_info(types: &[u8], off: usize, endian: Endian) -> Option<(u32, u32)> {
    let head = types.get(off..)?.first_chunk::<8>()?;
    let (name, info) = (head.first_chunk::<4>()?, head.last_chunk::<4>()?);
    Some(match endian {
        Endian::Little => (u32::from_le_bytes(*name), u32::from_le_bytes(*info)),
        Endian::Big => (u32::from_be_bytes(*name), u32::from_be_bytes(*info)),
    })
}

/// The local bytes from `off` (combined numbering) to the end of its string section.
fn str_rest<'a>(
    base: Option<&'a Btf<'a>>,
    strings: &'a [u8],
    str_start: u32,
    off: u32,
) -> Result<&'a [u8], BtfError> {
    if off < str_start {
        return match base {
            Some(b) => str_rest(b.base, b.strings, b.str_start, off),
            None => Err(BtfError::StringOutOfBounds { offset: off }),
        };
    }
    let local = off.checked_sub(str_start).ok_or(BtfError::StringOutOfBounds { offset: off })?;
    usize::try_from(local)
        .ok()
        .and_then(|l| strings.get(l..))
        .filter(|r| !r.is_empty())
        .ok_or(BtfError::StringOutOfBounds { offset: off })
}

/// The NUL-terminated bytes at `off` of the combined string numbering (at most
/// [`MAX_STRING_LEN`] bytes are scanned).
fn str_bytes<'a>(
    base: Option<&'a Btf<'a>>,
    strings: &'a [u8],
    str_start: u32,
    off: u32,
) -> Result<&'a [u8], BtfError> {
    let rest = str_rest(base, strings, str_start, off)?;
    let window = rest.get(..=MAX_STRING_LEN).unwrap_or(rest);
    match window.iter().position(|&b| b == 0) {
        Some(len) => rest.get(..len).ok_or(BtfError::UnterminatedString { offset: off }),
        None if window.len() > MAX_STRING_LEN => Err(BtfError::StringTooLong { offset: off }),
        None => Err(BtfError::UnterminatedString { offset: off }),
    }
}

/// Longest string this reader accepts, in bytes (without the NUL).
pub const MAX_STRING_LEN: usize = 4096;

impl<'a> Btf<'a> {
    /// How many `u32` words of scratch [`Btf::parse_in`] (or [`Btf::parse_split_in`]) needs
    /// for `data`: one per type plus the name table. Walks the type section once.
    ///
    /// # Errors
    /// The blob is malformed.
    pub fn scratch_words(data: &[u8]) -> Result<usize, BtfError> {
        // A split blob's string section need not start with NUL: check it as split.
        let s = sections(data, false)?;
        let (count, named) = walk(s.types, s.endian, 1, |_, _, _, _| Ok(()))?;
        usize_of(count)?.checked_add(usize_of(table_capacity(named)?)?).ok_or(BtfError::TooManyTypes)
    }

    /// Parses a base BTF blob (`/sys/kernel/btf/vmlinux`, a vmlinux's `.BTF` section),
    /// building the index in `scratch` (at least [`Btf::scratch_words`] words).
    ///
    /// # Errors
    /// The blob is malformed, or `scratch` is too small.
    pub fn parse_in(data: &'a [u8], scratch: &'a mut [u32]) -> Result<Self, BtfError> {
        Self::parse_impl(data, None, scratch)
    }

    /// Parses a split BTF blob (a module's, `/sys/kernel/btf/<module>`) on top of `base`:
    /// its type ids continue after the base's last id, its string offsets after the base's
    /// string section.
    ///
    /// # Errors
    /// The blob is malformed, or `scratch` is too small.
    pub fn parse_split_in(
        data: &'a [u8],
        base: &'a Btf<'a>,
        scratch: &'a mut [u32],
    ) -> Result<Self, BtfError> {
        Self::parse_impl(data, Some(base), scratch)
    }

    /// Parses a base BTF blob into an owned index.
    ///
    /// # Errors
    /// The blob is malformed.
    #[cfg(feature = "alloc")]
    pub fn parse(data: &'a [u8]) -> Result<Self, BtfError> {
        Self::parse_owned(data, None)
    }

    /// Parses a split BTF blob on top of `base` into an owned index.
    ///
    /// # Errors
    /// The blob is malformed.
    #[cfg(feature = "alloc")]
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Self, BtfError> {
        Self::parse_owned(data, Some(base))
    }

    /// This base blob's index, owned apart from the bytes, or `None` for a split blob. Kept
    /// next to the bytes (where a `Btf` that borrows them cannot be), it makes a later
    /// [`Btf::with_index`] of the same bytes a header read instead of a walk of every type.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_index(&self) -> Option<BtfIndex> {
        if self.base.is_some() {
            return None;
        }
        let len = self.types.len().checked_add(self.strings.len())?;
        Some(BtfIndex { words: self.words.as_slice().to_vec(), count: self.count, sections_len: len })
    }

    /// [`Btf::to_index`] without copying: the index this parse built, moved out (copied
    /// only when this `Btf` borrows its index), or `None` for a split blob.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn into_index(self) -> Option<BtfIndex> {
        if self.base.is_some() {
            return None;
        }
        let sections_len = self.types.len().checked_add(self.strings.len())?;
        let words = match self.words {
            Words::Owned(v) => v,
            Words::Borrowed(w) => w.to_vec(),
        };
        Some(BtfIndex { words, count: self.count, sections_len })
    }

    /// The base blob `data` with the `index` an earlier parse of the same bytes built. Only
    /// the header is read again. An index of other bytes of the same section lengths gives
    /// wrong answers, never a panic or an out-of-bounds read: every lookup is checked.
    ///
    /// # Errors
    /// The header is malformed, or the index was built for other section lengths.
    #[cfg(feature = "alloc")]
    pub fn with_index(data: &'a [u8], index: &'a BtfIndex) -> Result<Self, BtfError> {
        let s = sections(data, true)?;
        let len = s.types.len().saturating_add(s.strings.len());
        let words = index.words.as_slice();
        let cap = words.len().checked_sub(usize_of(index.count)?);
        match cap {
            Some(cap) if len == index.sections_len && cap.is_power_of_two() => {
                Self::finish(s, Words::Borrowed(words), index.count, cap, None, 1, 0)
            }
            _ => Err(BtfError::IndexMismatch { indexed_len: index.sections_len, len }),
        }
    }

    #[cfg(feature = "alloc")]
    fn parse_owned(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Self, BtfError> {
        let s = sections(data, base.is_none())?;
        let (first_id, str_start) = Self::continuation(base)?;
        let mut words = Vec::new();
        // The named, indexed types (a few in ten of a kernel's): the table is filled from
        // them alone.
        let mut named_list = Vec::new();
        let (count, named) = walk(s.types, s.endian, first_id, |index, off, kind, name_off| {
            words.push(off);
            if kind.indexed() && name_off != 0 {
                named_list.push(index);
            }
            Ok(())
        })?;
        let cap = usize_of(table_capacity(named)?)?;
        words.resize(words.len().checked_add(cap).ok_or(BtfError::TooManyTypes)?, 0);
        Self::fill_table(&s, base, str_start, first_id, count, &mut words, Some(&named_list))?;
        Self::finish(s, Words::Owned(words), count, cap, base, first_id, str_start)
    }

    fn parse_impl(
        data: &'a [u8],
        base: Option<&'a Btf<'a>>,
        scratch: &'a mut [u32],
    ) -> Result<Self, BtfError> {
        let s = sections(data, base.is_none())?;
        let (first_id, str_start) = Self::continuation(base)?;
        let got = scratch.len();
        let (count, named) = walk(s.types, s.endian, first_id, |index, off, _, _| {
            // Past the end of scratch, keep walking to report the size needed.
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| scratch.get_mut(i)) {
                *slot = off;
            }
            Ok(())
        })?;
        let cap = usize_of(table_capacity(named)?)?;
        let needed = usize_of(count)?.checked_add(cap).ok_or(BtfError::TooManyTypes)?;
        if needed > got {
            return Err(BtfError::ScratchTooSmall { needed, got });
        }
        let (used, _) = scratch.split_at_mut(needed);
        Self::fill_table(&s, base, str_start, first_id, count, used, None)?;
        Self::finish(s, Words::Borrowed(used), count, cap, base, first_id, str_start)
    }

    /// First type id and first string offset of a blob on top of `base`.
    fn continuation(base: Option<&'a Btf<'a>>) -> Result<(u32, u32), BtfError> {
        match base {
            None => Ok((1, 0)),
            Some(b) => {
                let first = b.last_id().checked_add(1).ok_or(BtfError::TooManyTypes)?;
                let strings = u32::try_from(b.strings.len()).map_err(|_| BtfError::TooManyTypes)?;
                let str_start = b.str_start.checked_add(strings).ok_or(BtfError::TooManyTypes)?;
                Ok((first, str_start))
            }
        }
    }

    /// Enters every named, indexed type in the hash table after the `count` offsets: those of
    /// `named` (their indexes, when the walk listed them), else of every type. Every record
    /// was checked by the walk that found the offsets: only its name and kind are read again.
    fn fill_table(
        s: &Sections<'a>,
        base: Option<&'a Btf<'a>>,
        str_start: u32,
        first_id: u32,
        count: u32,
        words: &mut [u32],
        named: Option<&[u32]>,
    ) -> Result<(), BtfError> {
        let (offsets, table) = words.split_at_mut(usize_of(count)?);
        let mask = u32::try_from(table.len()).map_err(|_| BtfError::TooManyTypes)?.wrapping_sub(1);
        table.fill(0);
        let all = 0..count;
        let indexes: &mut dyn Iterator<Item = u32> = match named {
            Some(list) => &mut list.iter().copied(),
            None => &mut all.into_iter(),
        };
        for index in indexes {
            let off = offsets.get(usize_of(index)?).copied().ok_or(BtfError::TooManyTypes)?;
            let section_offset = usize_of(off)?;
            let (name_off, info) = name_and_info(s.types, section_offset, s.endian).ok_or_else(|| {
                let type_id = first_id.saturating_add(index);
                BtfError::TruncatedType { type_id, section_offset }
            })?;
            if name_off == 0 || !indexed_raw(info) {
                continue;
            }
            let type_id = first_id.checked_add(index).ok_or(BtfError::TooManyTypes)?;
            let mut slot = str_hash(base, s.strings, str_start, name_off)? & mask;
            loop {
                let entry = table.get_mut(usize_of(slot)?).ok_or(BtfError::TooManyTypes)?;
                if *entry == 0 {
                    *entry = type_id;
                    break;
                }
                slot = slot.wrapping_add(1) & mask;
            }
        }
        Ok(())
    }

    fn finish(
        s: Sections<'a>,
        words: Words<'a>,
        count: u32,
        cap: usize,
        base: Option<&'a Btf<'a>>,
        first_id: u32,
        str_start: u32,
    ) -> Result<Self, BtfError> {
        let table_mask = u32::try_from(cap).map_err(|_| BtfError::TooManyTypes)?.wrapping_sub(1);
        // Every id must fit u32.
        first_id.checked_add(count).ok_or(BtfError::TooManyTypes)?;
        Ok(Self {
            endian: s.endian,
            types: s.types,
            strings: s.strings,
            words,
            count,
            table_mask,
            base,
            first_id,
            str_start,
        })
    }

    /// The blob's byte order.
    #[must_use]
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The base this split BTF sits on, `None` for a base.
    #[must_use]
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }

    /// Id of this blob's first type (1 for a base; the base's last id + 1 for split BTF).
    #[must_use]
    pub fn first_id(&self) -> u32 {
        self.first_id
    }

    /// The last valid type id (counting the base's types).
    #[must_use]
    pub fn last_id(&self) -> u32 {
        // Checked at parse time not to overflow.
        self.first_id.saturating_add(self.count).saturating_sub(1)
    }

    /// Number of types in this blob (not the base's).
    #[must_use]
    pub fn type_count(&self) -> u32 {
        self.count
    }

    /// Offset of this blob's first string in the combined numbering (0 for a base).
    #[must_use]
    pub fn str_start(&self) -> u32 {
        self.str_start
    }

    /// The type with id `type_id` (in this blob or its base).
    ///
    /// # Errors
    /// `type_id` is 0 (`void`) or past the last type, or its record cannot be read.
    pub fn type_by_id(&self, type_id: u32) -> Result<Type<'a>, BtfError> {
        if type_id < self.first_id {
            return match self.base {
                Some(b) => b.type_by_id(type_id),
                None => Err(BtfError::TypeIdOutOfRange { type_id, last: self.last_id() }),
            };
        }
        let out_of_range = BtfError::TypeIdOutOfRange { type_id, last: self.last_id() };
        let index = type_id.checked_sub(self.first_id).ok_or(out_of_range)?;
        if index >= self.count {
            return Err(out_of_range);
        }
        let off = self.words.as_slice().get(usize_of(index)?).copied().ok_or(out_of_range)?;
        let off = usize_of(off)?;
        let head = read_head(self.types, off, self.endian, type_id)?;
        let tail_start = off.checked_add(TYPE_HEAD_LEN).ok_or(out_of_range)?;
        let tail = self
            .types
            .get(tail_start..head.end)
            .ok_or(BtfError::TruncatedType { type_id, section_offset: off })?;
        Ok(Type {
            id: type_id,
            kind: head.kind,
            name_off: head.name_off,
            vlen: u16::try_from(head.info & 0xffff).map_err(|_| out_of_range)?,
            kind_flag: head.info & 0x8000_0000 != 0,
            size_or_type: head.size_or_type,
            section_offset: off,
            tail,
            endian: self.endian,
        })
    }

    /// The NUL-terminated string at `offset` (combined numbering), without the NUL.
    ///
    /// # Errors
    /// The offset is past the string section, or the string has no NUL.
    pub fn str_bytes_at(&self, offset: u32) -> Result<&'a [u8], BtfError> {
        str_bytes(self.base, self.strings, self.str_start, offset)
    }

    /// Whether the string at `offset` is `name`, in O(`name.len()`).
    ///
    /// # Errors
    /// The offset is past the string section.
    pub fn str_eq(&self, offset: u32, name: &[u8]) -> Result<bool, BtfError> {
        let rest = str_rest(self.base, self.strings, self.str_start, offset)?;
        Ok(rest.get(..name.len()) == Some(name) && rest.get(name.len()) == Some(&0))
    }

    /// The string at `offset` (combined numbering).
    ///
    /// # Errors
    /// As [`Btf::str_bytes_at`], or the string is not UTF-8.
    pub fn str_at(&self, offset: u32) -> Result<&'a str, BtfError> {
        core::str::from_utf8(self.str_bytes_at(offset)?).map_err(|_| BtfError::InvalidUtf8 { offset })
    }

    /// The name of `ty` (`""` for an anonymous type).
    ///
    /// # Errors
    /// Its name offset is bad.
    pub fn name(&self, ty: &Type<'_>) -> Result<&'a str, BtfError> {
        self.str_at(ty.name_off)
    }

    /// Every type, base types first, in id order.
    #[must_use]
    pub fn types(&self) -> TypeIter<'_, 'a> {
        TypeIter { btf: self, next: 1 }
    }

    /// The first type (lowest id, base first) named `name` among the indexed kinds that
    /// `accept` accepts. One hash probe sequence per blob.
    ///
    /// # Errors
    /// A probed type or its name cannot be read.
    pub fn find_type(
        &self,
        name: &str,
        mut accept: impl FnMut(&Type<'a>) -> bool,
    ) -> Result<Option<Type<'a>>, BtfError> {
        let mut found = None;
        self.for_each_named(name.as_bytes(), &mut |t| {
            if accept(&t) {
                found = Some(t);
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Calls `f` on every indexed type named `name`, base first, in id order within a blob,
    /// until `f` returns false. Returns false when stopped.
    pub(crate) fn for_each_named(
        &self,
        name: &[u8],
        f: &mut dyn FnMut(Type<'a>) -> bool,
    ) -> Result<bool, BtfError> {
        if let Some(b) = self.base
            && !b.for_each_named(name, f)?
        {
            return Ok(false);
        }
        let words = self.words.as_slice();
        let table = words.get(usize_of(self.count)?..).unwrap_or(&[]);
        let mut slot = hash(name) & self.table_mask;
        // Linear probing keeps equal names in insertion (= id) order along the chain.
        for _ in 0..table.len() {
            let Some(&type_id) = table.get(usize_of(slot)?) else { break };
            if type_id == 0 {
                break;
            }
            let t = self.type_by_id(type_id)?;
            if self.str_eq(t.name_off, name)? && !f(t) {
                return Ok(false);
            }
            slot = slot.wrapping_add(1) & self.table_mask;
        }
        Ok(true)
    }

    /// The first STRUCT or UNION named `name`.
    ///
    /// # Errors
    /// The BTF is malformed.
    pub fn find_composite(&self, name: &str) -> Result<Option<Type<'a>>, BtfError> {
        self.find_type(name, |t| t.kind.is_composite())
    }

    /// The first STRUCT named `name` (not a UNION).
    ///
    /// # Errors
    /// The BTF is malformed.
    pub fn find_struct(&self, name: &str) -> Result<Option<Type<'a>>, BtfError> {
        self.find_type(name, |t| t.kind == Kind::Struct)
    }

    /// The first ENUM or ENUM64 named `name`.
    ///
    /// # Errors
    /// The BTF is malformed.
    pub fn find_enum(&self, name: &str) -> Result<Option<Type<'a>>, BtfError> {
        self.find_type(name, |t| t.kind.is_enum())
    }

    /// Follows TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG from `type_id` to the first
    /// other type.
    ///
    /// # Errors
    /// A bad id on the way, or a chain longer than 64 (a cycle).
    pub fn resolve_alias(&self, type_id: u32) -> Result<Type<'a>, BtfError> {
        let mut t = self.type_by_id(type_id)?;
        for _ in 0..MAX_ALIAS_HOPS {
            if !t.kind.is_alias() {
                return Ok(t);
            }
            t = self.type_by_id(t.size_or_type)?;
        }
        Err(BtfError::TooDeep { type_id })
    }
}

/// Every type of a [`Btf`] in id order (see [`Btf::types`]).
#[derive(Debug)]
pub struct TypeIter<'b, 'a> {
    btf: &'b Btf<'a>,
    next: u32,
}

impl<'a> Iterator for TypeIter<'_, 'a> {
    type Item = Result<Type<'a>, BtfError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == 0 || self.next > self.btf.last_id() {
            return None;
        }
        let id = self.next;
        // Past u32::MAX, wrap to 0, which ends the walk.
        self.next = self.next.wrapping_add(1);
        Some(self.btf.type_by_id(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fill step's kind test says what [`Kind::indexed`] says, for every kind value.
    #[test]
    fn indexed_raw_matches_the_kinds() {
        for raw in 0..32u32 {
            let want = Kind::from_raw(raw).is_some_and(Kind::indexed);
            assert_eq!(indexed_raw(raw << 24 | 0x00ab_cdef), want, "{raw}");
        }
    }

    /// The hash of a string read to its NUL is the hash of its bytes; errors as `str_bytes`.
    #[test]
    fn str_hash_hashes_what_str_bytes_reads() {
        let mut strings = b"\0scx_sched\0a\0".to_vec();
        for (off, name) in [(1u32, &b"scx_sched"[..]), (11, b"a"), (0, b"")] {
            assert_eq!(str_hash(None, &strings, 0, off), Ok(hash(name)));
            assert_eq!(str_bytes(None, &strings, 0, off), Ok(name));
        }
        assert_eq!(str_hash(None, &strings, 0, 13), Err(BtfError::StringOutOfBounds { offset: 13 }));
        strings.pop();
        assert_eq!(str_hash(None, &strings, 0, 11), Err(BtfError::UnterminatedString { offset: 11 }));
        let long = [b'x'; MAX_STRING_LEN + 8];
        assert_eq!(str_hash(None, &long, 0, 0), Err(BtfError::StringTooLong { offset: 0 }));
        assert_eq!(str_bytes(None, &long, 0, 0).err(), str_hash(None, &long, 0, 0).err());
    }
}
