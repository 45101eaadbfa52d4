//! Type records: kinds, the common head, and the trailing records of each kind.

use core::fmt;

use crate::raw::{self, Endian};

/// A BTF kind (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `BTF_KIND_INT` (1).
    Int,
    /// `BTF_KIND_PTR` (2).
    Ptr,
    /// `BTF_KIND_ARRAY` (3).
    Array,
    /// `BTF_KIND_STRUCT` (4).
    Struct,
    /// `BTF_KIND_UNION` (5).
    Union,
    /// `BTF_KIND_ENUM` (6).
    Enum,
    /// `BTF_KIND_FWD` (7).
    Fwd,
    /// `BTF_KIND_TYPEDEF` (8).
    Typedef,
    /// `BTF_KIND_VOLATILE` (9).
    Volatile,
    /// `BTF_KIND_CONST` (10).
    Const,
    /// `BTF_KIND_RESTRICT` (11).
    Restrict,
    /// `BTF_KIND_FUNC` (12).
    Func,
    /// `BTF_KIND_FUNC_PROTO` (13).
    FuncProto,
    /// `BTF_KIND_VAR` (14).
    Var,
    /// `BTF_KIND_DATASEC` (15).
    Datasec,
    /// `BTF_KIND_FLOAT` (16).
    Float,
    /// `BTF_KIND_DECL_TAG` (17).
    DeclTag,
    /// `BTF_KIND_TYPE_TAG` (18).
    TypeTag,
    /// `BTF_KIND_ENUM64` (19).
    Enum64,
}

impl Kind {
    /// The kind for the kind bits of `info`, `None` for 0 (`UNKN`) and unknown kinds.
    #[must_use]
    pub const fn from_raw(kind: u32) -> Option<Self> {
        Some(match kind {
            1 => Self::Int,
            2 => Self::Ptr,
            3 => Self::Array,
            4 => Self::Struct,
            5 => Self::Union,
            6 => Self::Enum,
            7 => Self::Fwd,
            8 => Self::Typedef,
            9 => Self::Volatile,
            10 => Self::Const,
            11 => Self::Restrict,
            12 => Self::Func,
            13 => Self::FuncProto,
            14 => Self::Var,
            15 => Self::Datasec,
            16 => Self::Float,
            17 => Self::DeclTag,
            18 => Self::TypeTag,
            19 => Self::Enum64,
            _ => return None,
        })
    }

    /// The kind's number in `info`.
    #[must_use]
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::Int => 1,
            Self::Ptr => 2,
            Self::Array => 3,
            Self::Struct => 4,
            Self::Union => 5,
            Self::Enum => 6,
            Self::Fwd => 7,
            Self::Typedef => 8,
            Self::Volatile => 9,
            Self::Const => 10,
            Self::Restrict => 11,
            Self::Func => 12,
            Self::FuncProto => 13,
            Self::Var => 14,
            Self::Datasec => 15,
            Self::Float => 16,
            Self::DeclTag => 17,
            Self::TypeTag => 18,
            Self::Enum64 => 19,
        }
    }

    /// bpftool's name of the kind (`STRUCT`, `FUNC_PROTO`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int => "INT",
            Self::Ptr => "PTR",
            Self::Array => "ARRAY",
            Self::Struct => "STRUCT",
            Self::Union => "UNION",
            Self::Enum => "ENUM",
            Self::Fwd => "FWD",
            Self::Typedef => "TYPEDEF",
            Self::Volatile => "VOLATILE",
            Self::Const => "CONST",
            Self::Restrict => "RESTRICT",
            Self::Func => "FUNC",
            Self::FuncProto => "FUNC_PROTO",
            Self::Var => "VAR",
            Self::Datasec => "DATASEC",
            Self::Float => "FLOAT",
            Self::DeclTag => "DECL_TAG",
            Self::TypeTag => "TYPE_TAG",
            Self::Enum64 => "ENUM64",
        }
    }

    /// Size in bytes of one trailing record, and whether there are `vlen` of them (else one).
    pub(crate) const fn trailing(self) -> (u32, bool) {
        match self {
            Self::Int | Self::Var | Self::DeclTag => (4, false),
            Self::Array => (12, false),
            Self::Struct | Self::Union | Self::Datasec | Self::Enum64 => (12, true),
            Self::Enum | Self::FuncProto => (8, true),
            Self::Ptr
            | Self::Fwd
            | Self::Typedef
            | Self::Volatile
            | Self::Const
            | Self::Restrict
            | Self::Func
            | Self::Float
            | Self::TypeTag => (0, false),
        }
    }

    /// STRUCT or UNION.
    #[must_use]
    pub const fn is_composite(self) -> bool {
        matches!(self, Self::Struct | Self::Union)
    }

    /// ENUM or ENUM64.
    #[must_use]
    pub const fn is_enum(self) -> bool {
        matches!(self, Self::Enum | Self::Enum64)
    }

    /// TYPEDEF, VOLATILE, CONST, RESTRICT or TYPE_TAG: kinds that only name another type.
    #[must_use]
    pub const fn is_alias(self) -> bool {
        matches!(self, Self::Typedef | Self::Volatile | Self::Const | Self::Restrict | Self::TypeTag)
    }

    /// Kinds entered in the name index (types one looks up by name; not FUNC, FUNC_PROTO,
    /// DECL_TAG, nor the unnamed modifiers).
    pub(crate) const fn indexed(self) -> bool {
        matches!(
            self,
            Self::Int
                | Self::Struct
                | Self::Union
                | Self::Enum
                | Self::Enum64
                | Self::Fwd
                | Self::Typedef
                | Self::Var
                | Self::Datasec
                | Self::Float
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One type record: the head, and its trailing data (already bounds-checked at parse time).
#[derive(Clone, Copy, Debug)]
pub struct Type<'a> {
    /// The type's id.
    pub id: u32,
    /// Its kind.
    pub kind: Kind,
    /// Offset of its name in the (combined) string section; 0 for anonymous.
    pub name_off: u32,
    /// `vlen`: the number of members, enumerators, parameters or variables.
    pub vlen: u16,
    /// `kind_flag`: bitfield encoding for STRUCT/UNION, signedness for ENUM/ENUM64, union for
    /// FWD, attribute for DECL_TAG/TYPE_TAG.
    pub kind_flag: bool,
    /// `size` (INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT) or `type` (the others).
    pub size_or_type: u32,
    /// Offset of the record in its type section.
    pub section_offset: usize,
    pub(crate) tail: &'a [u8],
    pub(crate) endian: Endian,
}

/// A raw member of a STRUCT or UNION, as its record says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawMember {
    /// Offset of its name (0: anonymous).
    pub name_off: u32,
    /// Its type.
    pub type_id: u32,
    /// Offset in bits from the start of the containing struct/union.
    pub bit_offset: u32,
    /// Width of a bitfield in bits (kind_flag encoding), 0 when not a bitfield.
    pub bitfield_size: u8,
}

impl RawMember {
    /// Its offset in bytes, when it is byte-aligned and no bitfield (the members a reader of
    /// whole values, or of pointers, can take).
    #[must_use]
    pub fn byte_offset(&self) -> Option<u32> {
        (self.bitfield_size == 0 && self.bit_offset.is_multiple_of(8)).then_some(self.bit_offset / 8)
    }
}

/// A raw enumerator of an ENUM or ENUM64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawEnumerator {
    /// Offset of its name.
    pub name_off: u32,
    /// Its value (sign-extended from 32 bits for a signed ENUM).
    pub value: EnumValue,
}

/// An enumerator's value, with the signedness and size of its enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// The value.
    pub value: i128,
    /// Size of the enum in bytes.
    pub size: u32,
    /// Whether the enum is signed (kind_flag).
    pub signed: bool,
}

impl EnumValue {
    /// The value as the bit pattern the kernel stores in an object of the enum's size
    /// (e.g. `SCX_TASK_CURSOR`, `-2147483648` in a signed 4-byte enum, is `0x8000_0000`);
    /// `None` for an enum size above 8 bytes.
    #[must_use]
    pub fn bits(&self) -> Option<u64> {
        let width = self.size.checked_mul(8)?;
        if width == 0 || width > 64 {
            return None;
        }
        let modulus = 1i128.checked_shl(width)?;
        u64::try_from(self.value.checked_rem_euclid(modulus)?).ok()
    }
}

impl<'a> Type<'a> {
    /// Number of trailing records.
    fn records(&self) -> u32 {
        u32::from(self.vlen)
    }

    /// `size` for kinds that have one (INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT).
    #[must_use]
    pub fn size(&self) -> Option<u32> {
        match self.kind {
            Kind::Int
            | Kind::Struct
            | Kind::Union
            | Kind::Enum
            | Kind::Enum64
            | Kind::Datasec
            | Kind::Float => Some(self.size_or_type),
            _ => None,
        }
    }

    /// The type referred to (PTR, TYPEDEF, modifiers, FUNC, FUNC_PROTO return, VAR,
    /// DECL_TAG, TYPE_TAG); ARRAY gives its element type.
    #[must_use]
    pub fn referenced(&self) -> Option<u32> {
        match self.kind {
            Kind::Ptr
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::FuncProto
            | Kind::Var
            | Kind::DeclTag
            | Kind::TypeTag => Some(self.size_or_type),
            Kind::Array => self.array().map(|a| a.elem_type),
            _ => None,
        }
    }

    /// Member `index` of a STRUCT or UNION.
    #[must_use]
    pub fn member(&self, index: u32) -> Option<RawMember> {
        if !self.kind.is_composite() || index >= self.records() {
            return None;
        }
        let off = usize::try_from(index.checked_mul(12)?).ok()?;
        let [name_off, type_id, offset] = raw::words3(self.tail, off, self.endian)?;
        let (bit_offset, bitfield_size) = if self.kind_flag {
            (offset & 0x00ff_ffff, u8::try_from(offset >> 24).ok()?)
        } else {
            (offset, 0)
        };
        Some(RawMember { name_off, type_id, bit_offset, bitfield_size })
    }

    /// Enumerator `index` of an ENUM or ENUM64.
    #[must_use]
    pub fn enumerator(&self, index: u32) -> Option<RawEnumerator> {
        if index >= self.records() {
            return None;
        }
        let size = self.size_or_type;
        let signed = self.kind_flag;
        match self.kind {
            Kind::Enum => {
                let off = usize::try_from(index.checked_mul(8)?).ok()?;
                let [name_off, val] = raw::words2(self.tail, off, self.endian)?;
                let value =
                    if signed { i128::from(i32::from_ne_bytes(val.to_ne_bytes())) } else { i128::from(val) };
                Some(RawEnumerator { name_off, value: EnumValue { value, size, signed } })
            }
            Kind::Enum64 => {
                let off = usize::try_from(index.checked_mul(12)?).ok()?;
                let [name_off, lo, hi] = raw::words3(self.tail, off, self.endian)?;
                let bits = (u64::from(hi) << 32) | u64::from(lo);
                let value = if signed {
                    i128::from(i64::from_ne_bytes(bits.to_ne_bytes()))
                } else {
                    i128::from(bits)
                };
                Some(RawEnumerator { name_off, value: EnumValue { value, size, signed } })
            }
            _ => None,
        }
    }

    /// The ARRAY record.
    #[must_use]
    pub fn array(&self) -> Option<ArrayInfo> {
        if self.kind != Kind::Array {
            return None;
        }
        let [elem_type, index_type, nelems] = raw::words3(self.tail, 0, self.endian)?;
        Some(ArrayInfo { elem_type, index_type, nelems })
    }

    /// The INT encoding word: (encoding bits 24..27, bit offset 16..23, bits 0..7).
    #[must_use]
    pub fn int_info(&self) -> Option<IntInfo> {
        if self.kind != Kind::Int {
            return None;
        }
        let w = raw::word(self.tail, 0, self.endian)?;
        Some(IntInfo {
            encoding: u8::try_from((w >> 24) & 0x0f).ok()?,
            offset: u8::try_from((w >> 16) & 0xff).ok()?,
            bits: u8::try_from(w & 0xff).ok()?,
        })
    }

    /// Parameter `index` of a FUNC_PROTO: (name offset, type).
    #[must_use]
    pub fn param(&self, index: u32) -> Option<(u32, u32)> {
        if self.kind != Kind::FuncProto || index >= self.records() {
            return None;
        }
        let off = usize::try_from(index.checked_mul(8)?).ok()?;
        let [name_off, ty] = raw::words2(self.tail, off, self.endian)?;
        Some((name_off, ty))
    }

    /// Variable `index` of a DATASEC: (type, offset, size).
    #[must_use]
    pub fn secinfo(&self, index: u32) -> Option<[u32; 3]> {
        if self.kind != Kind::Datasec || index >= self.records() {
            return None;
        }
        let off = usize::try_from(index.checked_mul(12)?).ok()?;
        raw::words3(self.tail, off, self.endian)
    }

    /// The single trailing word of VAR (linkage) and DECL_TAG (component index).
    #[must_use]
    pub fn extra_word(&self) -> Option<u32> {
        match self.kind {
            Kind::Var | Kind::DeclTag => raw::word(self.tail, 0, self.endian),
            _ => None,
        }
    }
}

/// The record of an ARRAY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayInfo {
    /// Element type.
    pub elem_type: u32,
    /// Index type.
    pub index_type: u32,
    /// Number of elements.
    pub nelems: u32,
}

/// The encoding word of an INT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntInfo {
    /// `BTF_INT_SIGNED` (1), `BTF_INT_CHAR` (2), `BTF_INT_BOOL` (4).
    pub encoding: u8,
    /// Bit offset (legacy bitfield encoding).
    pub offset: u8,
    /// Width in bits.
    pub bits: u8,
}

#[cfg(test)]
mod tests {
    use super::{EnumValue, Kind};

    #[test]
    fn kinds_round_trip() {
        for raw in 0..32 {
            match Kind::from_raw(raw) {
                Some(k) => assert_eq!(k.to_raw(), raw),
                None => assert!(raw == 0 || raw > 19),
            }
        }
    }

    #[test]
    fn enum_bits() {
        let v = |value, size, signed| EnumValue { value, size, signed };
        assert_eq!(v(-2_147_483_648, 4, true).bits(), Some(0x8000_0000));
        assert_eq!(v(-1, 8, true).bits(), Some(u64::MAX));
        assert_eq!(v(i128::from(u64::MAX), 8, false).bits(), Some(u64::MAX));
        assert_eq!(v(-1, 1, true).bits(), Some(0xff));
        assert_eq!(v(1, 0, false).bits(), None);
        assert_eq!(v(1, 16, false).bits(), None);
    }
}
