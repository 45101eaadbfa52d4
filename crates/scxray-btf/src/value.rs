//! Values decoded with BTF: the bytes of a BPF map's key or value (or any object) walked along
//! its type, streamed into a [`ValueVisitor`] without allocation.
//!
//! The decoder follows the type: STRUCT, UNION and DATASEC give their members (DATASEC: its
//! variables, by name), ARRAY its elements (a `char` array is one string), INT, ENUM, ENUM64,
//! FLOAT and PTR are leaves; TYPEDEF, CONST, VOLATILE, RESTRICT and TYPE_TAG are looked
//! through. Bitfields (both encodings: the member's `kind_flag` width and the INT's own
//! offset/bits) are extracted in the blob's byte order, which is the byte order of the machine
//! the BTF describes.
//!
//! The BTF and the bytes are untrusted. Nesting deeper than [`DecodeLimits::max_depth`] is
//! reported as [`Value::TooDeep`] (a type that contains itself ends there), arrays show at
//! most [`DecodeLimits::max_array_elems`] elements, and one decode visits at most
//! [`DecodeLimits::max_nodes`] values: every cap that fires sets
//! [`DecodeSummary::truncated`]. A field whose bytes lie past the value, or cannot be read,
//! is a [`DecodeError`] naming the type and the offset.
//!
//! The bytes come from a [`ValueBytes`]: a byte slice, or the caller's reader of guest memory
//! (only the leaves are read, at most 16 bytes at a time, or a string's first bytes).

use core::fmt;

use crate::btf::Btf;
use crate::error::BtfError;
use crate::types::{Kind, Type};

/// Deepest nesting of members and elements a decode or a [`FieldPath`] holds.
pub const MAX_DECODE_DEPTH: usize = 32;

/// Steps a [`FieldPath`] holds: one more than the deepest decode, to name a cut field.
const PATH_CAPACITY: usize = MAX_DECODE_DEPTH + 1;

/// Longest string (`char` array) read for one value, in bytes.
pub const MAX_STRING_BYTES: usize = 256;

/// Size of a pointer in the values decoded: BPF is a 64-bit machine, and so are the kernels
/// scxray reads.
pub const POINTER_SIZE: u32 = 8;

/// The decoder's caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// How deep members and elements nest (at most [`MAX_DECODE_DEPTH`]).
    pub max_depth: usize,
    /// Elements shown per array.
    pub max_array_elems: u32,
    /// Values (leaves, structs and arrays) one decode visits.
    pub max_nodes: u32,
    /// Bytes read of one string (at most [`MAX_STRING_BYTES`]).
    pub max_string: usize,
}

impl DecodeLimits {
    /// The caps for a report: 16 levels, 64 elements per array, 4096 values, 128-byte strings.
    pub const DEFAULT: Self = Self { max_depth: 16, max_array_elems: 64, max_nodes: 4096, max_string: 128 };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A read of the value's bytes that failed (the reader keeps the cause if it needs it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadFailed;

/// Where the decoder reads a value's bytes.
pub trait ValueBytes {
    /// Length of the value in bytes: nothing at or past it is read.
    fn len(&self) -> u64;

    /// Whether the value has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `offset` (the decoder has checked that they lie inside
    /// [`ValueBytes::len`]).
    ///
    /// # Errors
    /// The bytes cannot be read.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadFailed>;
}

impl ValueBytes for &[u8] {
    fn len(&self) -> u64 {
        u64::try_from(<[u8]>::len(self)).unwrap_or(u64::MAX)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadFailed> {
        let start = usize::try_from(offset).map_err(|_| ReadFailed)?;
        let end = start.checked_add(buf.len()).ok_or(ReadFailed)?;
        buf.copy_from_slice(self.get(start..end).ok_or(ReadFailed)?);
        Ok(())
    }
}

/// Why a value could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The BTF is malformed (a bad id, a record that cannot be read, an alias cycle).
    Btf(BtfError),
    /// A field's bytes lie (partly) past the end of the value.
    OutOfRange {
        /// The field's type.
        type_id: u32,
        /// Its offset in the value.
        offset: u64,
        /// Bytes it needs.
        len: u64,
        /// Length of the value.
        value_len: u64,
    },
    /// The reader could not read a field's bytes.
    Unreadable {
        /// The field's type.
        type_id: u32,
        /// Its offset in the value.
        offset: u64,
        /// Bytes asked for.
        len: u64,
    },
    /// An INT, ENUM, FLOAT or bitfield whose size or width this decoder cannot hold (more
    /// than 16 bytes, a zero width, bits past the type's size).
    BadScalar {
        /// The type.
        type_id: u32,
        /// The field's offset in the value.
        offset: u64,
    },
    /// A member that is neither byte-aligned nor a bitfield.
    Misaligned {
        /// The struct or union.
        type_id: u32,
        /// The member's offset in bits from the start of the value.
        bit_offset: u64,
    },
    /// An offset or size that overflows 64 bits.
    Overflow {
        /// The type being sized or walked.
        type_id: u32,
    },
}

impl From<BtfError> for DecodeError {
    fn from(e: BtfError) -> Self {
        Self::Btf(e)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Btf(e) => write!(f, "bad BTF: {e}"),
            Self::OutOfRange { type_id, offset, len, value_len } => write!(
                f,
                "BTF type {type_id} at offset {offset:#x} needs {len} bytes, past the {value_len}-byte value"
            ),
            Self::Unreadable { type_id, offset, len } => {
                write!(f, "BTF type {type_id} at offset {offset:#x}: {len} bytes unreadable")
            }
            Self::BadScalar { type_id, offset } => {
                write!(f, "BTF type {type_id} at offset {offset:#x}: unusable scalar size or bitfield width")
            }
            Self::Misaligned { type_id, bit_offset } => write!(
                f,
                "BTF type {type_id}: member at bit offset {bit_offset} is neither byte-aligned nor a bitfield"
            ),
            Self::Overflow { type_id } => write!(f, "BTF type {type_id}: size or offset overflows"),
        }
    }
}

impl core::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Btf(e) => Some(e),
            _ => None,
        }
    }
}

/// One step of a [`FieldPath`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// A named member or a DATASEC variable.
    Name(&'a str),
    /// An array element.
    Index(u32),
    /// An anonymous struct or union member (C reaches its members as the parent's).
    Anon,
}

/// The path from the start of a value to one of its fields, `qa.fifos[2].head` style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPath<'a> {
    segments: [Segment<'a>; PATH_CAPACITY],
    len: usize,
}

impl Default for FieldPath<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> FieldPath<'a> {
    /// The empty path (the value itself).
    #[must_use]
    pub const fn new() -> Self {
        Self { segments: [Segment::Anon; PATH_CAPACITY], len: 0 }
    }

    /// The steps, outermost first.
    #[must_use]
    pub fn segments(&self) -> &[Segment<'a>] {
        self.segments.get(..self.len).unwrap_or(&[])
    }

    /// Number of steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether this is the value itself.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The last step.
    #[must_use]
    pub fn last(&self) -> Option<Segment<'a>> {
        self.segments().last().copied()
    }

    /// Appends a step; false when the path is full.
    pub fn push(&mut self, seg: Segment<'a>) -> bool {
        match self.segments.get_mut(self.len) {
            Some(slot) => {
                *slot = seg;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Drops the last step.
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in self.segments() {
            match seg {
                Segment::Name(n) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(n)?;
                    first = false;
                }
                Segment::Index(i) => {
                    write!(f, "[{i}]")?;
                    first = false;
                }
                Segment::Anon => {}
            }
        }
        Ok(())
    }
}

/// An integer read from a value: its bits zero-extended, with its width and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntValue {
    /// The bits, zero-extended from `width`.
    pub raw: u128,
    /// Width in bits (1 to 128).
    pub width: u8,
    /// Whether the type is signed.
    pub signed: bool,
}

impl IntValue {
    /// The value, sign-extended when signed (an unsigned value above `i128::MAX` wraps).
    #[must_use]
    pub fn to_i128(&self) -> i128 {
        let raw = i128::from_ne_bytes(self.raw.to_ne_bytes());
        let shift = 128u32.saturating_sub(u32::from(self.width));
        if self.signed && shift > 0 && shift < 128 {
            raw.wrapping_shl(shift).wrapping_shr(shift)
        } else {
            raw
        }
    }

    /// The low 64 bits of the value, sign-extended when signed.
    #[must_use]
    pub fn to_u64(&self) -> u64 {
        let bytes = self.to_i128().to_le_bytes();
        let mut low = [0u8; 8];
        if let Some(src) = bytes.get(..8) {
            low.copy_from_slice(src);
        }
        u64::from_le_bytes(low)
    }
}

impl fmt::Display for IntValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signed { write!(f, "{}", self.to_i128()) } else { write!(f, "{}", self.raw) }
    }
}

/// One decoded value, as a [`ValueVisitor`] sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'v, 'a> {
    /// A STRUCT, UNION or DATASEC starts; its members follow, then [`Value::End`].
    Begin {
        /// STRUCT, UNION or DATASEC.
        kind: Kind,
        /// Its name (`""` when anonymous; a DATASEC's is its section, e.g. `.bss`).
        name: &'a str,
        /// Its size in bytes.
        size: u64,
    },
    /// The STRUCT, UNION or DATASEC begun last ends.
    End,
    /// An ARRAY starts; up to [`DecodeLimits::max_array_elems`] elements follow, then
    /// [`Value::ArrayEnd`].
    ArrayBegin {
        /// Its number of elements.
        len: u32,
    },
    /// The array begun last ends.
    ArrayEnd {
        /// Elements visited.
        shown: u32,
        /// Its number of elements.
        len: u32,
    },
    /// An INT (or a bitfield of one).
    Int(IntValue),
    /// An INT with the BOOL encoding.
    Bool(bool),
    /// An ENUM or ENUM64 (or a bitfield of one), with the name of the enumerator that has
    /// its value, if one has.
    Enum {
        /// The value.
        value: IntValue,
        /// The enumerator's name.
        name: Option<&'a str>,
    },
    /// A FLOAT of 4 or 8 bytes, as its bits.
    Float {
        /// The bits.
        bits: u64,
        /// 4 or 8.
        size: u32,
    },
    /// A PTR: the address it holds and the type it points to (0: `void`).
    Pointer {
        /// The address.
        addr: u64,
        /// The pointee's type id.
        pointee: u32,
    },
    /// A `char` array, up to its first NUL.
    Str {
        /// The bytes before the NUL (or all that were read).
        bytes: &'v [u8],
        /// No NUL was found within the bytes read, and the array is longer.
        truncated: bool,
    },
    /// A type with nothing to show (FWD, FUNC, FUNC_PROTO, a FLOAT of another size, `void`).
    Opaque {
        /// Its kind (`None` for `void`).
        kind: Option<Kind>,
        /// Its size in bytes as far as known.
        size: u64,
    },
    /// Nested deeper than [`DecodeLimits::max_depth`]: not decoded.
    TooDeep,
}

/// Where a [`Value`] sits.
#[derive(Clone, Copy, Debug)]
pub struct Field<'p, 'a> {
    /// Its path from the start of the value.
    pub path: &'p FieldPath<'a>,
    /// Its type as declared (before typedefs and modifiers are looked through).
    pub type_id: u32,
    /// Its byte offset from the start of the value (a bitfield's: of the byte holding its
    /// first bit).
    pub offset: u64,
}

/// What the visitor wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// After a [`Value::Begin`] or [`Value::ArrayBegin`]: do not visit its members or
    /// elements (the matching end is still sent). Elsewhere the same as `Continue`.
    Skip,
    /// End the decode now.
    Stop,
}

/// Receives a decode's values in order.
pub trait ValueVisitor<'a> {
    /// One value at `field`.
    fn visit(&mut self, field: &Field<'_, 'a>, value: &Value<'_, 'a>) -> Flow;
}

/// What one decode did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DecodeSummary {
    /// Values visited.
    pub nodes: u32,
    /// A cap fired: something was not shown (an array's tail, a nesting, the rest of the
    /// value after [`DecodeLimits::max_nodes`]).
    pub truncated: bool,
    /// The visitor stopped the decode.
    pub stopped: bool,
}

/// A scalar to read: an INT, ENUM or FLOAT of `size` bytes, or a bitfield in them.
#[derive(Clone, Copy)]
struct Bits {
    /// Byte offset of the first byte read.
    offset: u64,
    /// Bit offset of the field inside those bytes (from the low end in little-endian order).
    shift: u32,
    /// Width in bits.
    width: u32,
}

struct Decoder<'b, 'a, 'v, S, V> {
    btf: &'b Btf<'a>,
    bytes: &'v mut S,
    visitor: &'v mut V,
    limits: DecodeLimits,
    path: FieldPath<'a>,
    summary: DecodeSummary,
}

/// Whether to go on after a step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Go,
    Halt,
}

impl<'a, S: ValueBytes, V: ValueVisitor<'a>> Decoder<'_, 'a, '_, S, V> {
    fn emit(&mut self, type_id: u32, offset: u64, value: &Value<'_, 'a>) -> Flow {
        let field = Field { path: &self.path, type_id, offset };
        let flow = self.visitor.visit(&field, value);
        if flow == Flow::Stop {
            self.summary.stopped = true;
        }
        flow
    }

    fn step(flow: Flow) -> Step {
        if flow == Flow::Stop { Step::Halt } else { Step::Go }
    }

    /// Reads `buf.len()` bytes at `offset`, checked against the value's length.
    fn read(&mut self, type_id: u32, offset: u64, buf: &mut [u8]) -> Result<(), DecodeError> {
        let len = u64::try_from(buf.len()).map_err(|_| DecodeError::Overflow { type_id })?;
        let value_len = self.bytes.len();
        let end = offset.checked_add(len).ok_or(DecodeError::Overflow { type_id })?;
        if end > value_len {
            return Err(DecodeError::OutOfRange { type_id, offset, len, value_len });
        }
        self.bytes.read_at(offset, buf).map_err(|_| DecodeError::Unreadable { type_id, offset, len })
    }

    /// The bits of a scalar, zero-extended. The field and its shift fit 128 bits (a
    /// bitfield that starts mid-byte is narrower than its 64-bit integer at most).
    fn bits(&mut self, type_id: u32, b: Bits) -> Result<u128, DecodeError> {
        let bad = DecodeError::BadScalar { type_id, offset: b.offset };
        let total = b.shift.checked_add(b.width).ok_or(bad)?;
        if b.width == 0 || total > 128 {
            return Err(bad);
        }
        let nbytes = usize::try_from(total.div_ceil(8)).map_err(|_| bad)?;
        let mut buf = [0u8; 16];
        let window = buf.get_mut(..nbytes).ok_or(bad)?;
        self.read(type_id, b.offset, window)?;
        let value = match self.btf.endian() {
            // Bit 0 is the first byte's low bit: the field starts `shift` bits up.
            crate::Endian::Little => u128::from_le_bytes(buf).checked_shr(b.shift).unwrap_or(0),
            // Bit 0 is the first byte's high bit: the field ends `total` bits down.
            crate::Endian::Big => {
                let acc = window
                    .iter()
                    .fold(0u128, |acc, &byte| acc.checked_shl(8).unwrap_or(0) | u128::from(byte));
                let window_bits = u32::try_from(nbytes).map_err(|_| bad)?.saturating_mul(8);
                acc.checked_shr(window_bits.saturating_sub(total)).unwrap_or(0)
            }
        };
        let mask = u128::MAX.checked_shr(128u32.saturating_sub(b.width)).unwrap_or(u128::MAX);
        Ok(value & mask)
    }
}

impl<'a, S: ValueBytes, V: ValueVisitor<'a>> Decoder<'_, 'a, '_, S, V> {
    /// After a halt inside a STRUCT, UNION, DATASEC or ARRAY: when a cap halted the walk (not
    /// the visitor), its end is still sent, so that what was shown stays well-formed.
    fn close(&mut self, type_id: u32, offset: u64, end: &Value<'_, 'a>) -> Step {
        if !self.summary.stopped {
            self.emit(type_id, offset, end);
        }
        Step::Halt
    }

    /// Appends `seg` to the path; false when that goes past the depth cap (the step is then
    /// on the path anyway, to name the field [`Self::too_deep`] reports).
    fn enter(&mut self, seg: Segment<'a>) -> bool {
        let within = self.path.len() < self.limits.max_depth.min(MAX_DECODE_DEPTH);
        // The path holds one step more than the deepest decode, so this push always fits.
        self.path.push(seg) && within
    }

    /// Reports the field just entered as too deep, and leaves it.
    fn too_deep(&mut self, type_id: u32, offset: u64) -> Step {
        self.summary.truncated = true;
        let step = Self::step(self.emit(type_id, offset, &Value::TooDeep));
        self.path.pop();
        step
    }

    /// Decodes the value of type `type_id` at `offset`, reached by `seg`.
    fn field(&mut self, type_id: u32, offset: u64, seg: Option<Segment<'a>>) -> Result<Step, DecodeError> {
        if self.summary.nodes >= self.limits.max_nodes {
            self.summary.truncated = true;
            return Ok(Step::Halt);
        }
        self.summary.nodes = self.summary.nodes.saturating_add(1);
        let pushed = match seg {
            Some(s) => {
                if !self.enter(s) {
                    return Ok(self.too_deep(type_id, offset));
                }
                true
            }
            None => false,
        };
        let result = self.value(type_id, offset);
        if pushed {
            self.path.pop();
        }
        result
    }

    fn value(&mut self, type_id: u32, offset: u64) -> Result<Step, DecodeError> {
        if type_id == 0 {
            return Ok(Self::step(self.emit(type_id, offset, &Value::Opaque { kind: None, size: 0 })));
        }
        let ty = self.btf.resolve_alias(type_id)?;
        match ty.kind {
            Kind::Int | Kind::Enum | Kind::Enum64 => {
                let size = ty.size_or_type;
                let width = size.checked_mul(8).ok_or(DecodeError::BadScalar { type_id, offset })?;
                self.scalar(type_id, &ty, Bits { offset, shift: 0, width })
            }
            Kind::Float => {
                let size = ty.size_or_type;
                let value = if size == 4 || size == 8 {
                    let bits =
                        self.bits(type_id, Bits { offset, shift: 0, width: size.saturating_mul(8) })?;
                    Value::Float { bits: u64::try_from(bits).unwrap_or(0), size }
                } else {
                    Value::Opaque { kind: Some(Kind::Float), size: u64::from(size) }
                };
                Ok(Self::step(self.emit(type_id, offset, &value)))
            }
            Kind::Ptr => {
                let bits =
                    self.bits(type_id, Bits { offset, shift: 0, width: POINTER_SIZE.saturating_mul(8) })?;
                let value =
                    Value::Pointer { addr: u64::try_from(bits).unwrap_or(0), pointee: ty.size_or_type };
                Ok(Self::step(self.emit(type_id, offset, &value)))
            }
            Kind::Array => self.array(type_id, &ty, offset),
            Kind::Struct | Kind::Union => self.composite(type_id, &ty, offset),
            Kind::Datasec => self.datasec(type_id, &ty, offset),
            Kind::Var => {
                let name = self.btf.name(&ty)?;
                self.field(ty.size_or_type, offset, Some(Segment::Name(name)))
            }
            kind => {
                let value = Value::Opaque { kind: Some(kind), size: 0 };
                Ok(Self::step(self.emit(type_id, offset, &value)))
            }
        }
    }

    /// An INT, ENUM or ENUM64 (`ty`, already looked through), or a bitfield of one.
    fn scalar(&mut self, type_id: u32, ty: &Type<'a>, b: Bits) -> Result<Step, DecodeError> {
        let bad = DecodeError::BadScalar { type_id, offset: b.offset };
        let value = match ty.kind {
            Kind::Int => {
                let info = ty.int_info().ok_or(bad)?;
                let size_bits = ty.size_or_type.checked_mul(8).ok_or(bad)?;
                // The INT's own offset/bits encoding is a bitfield inside its `size` bytes.
                let (shift, width) = if b.width == size_bits {
                    let inner = u32::from(info.offset);
                    let width = u32::from(info.bits);
                    if inner.checked_add(width).is_none_or(|end| end > size_bits) {
                        return Err(bad);
                    }
                    (b.shift.checked_add(inner).ok_or(bad)?, width)
                } else {
                    (b.shift, b.width)
                };
                // Whole bytes past the first go into the offset, so that the shift stays < 8.
                let offset = b.offset.checked_add(u64::from(shift / 8)).ok_or(bad)?;
                let raw = self.bits(type_id, Bits { offset, shift: shift % 8, width })?;
                let width8 = u8::try_from(width).map_err(|_| bad)?;
                if info.encoding & 4 != 0 {
                    Value::Bool(raw != 0)
                } else {
                    Value::Int(IntValue { raw, width: width8, signed: info.encoding & 1 != 0 })
                }
            }
            Kind::Enum | Kind::Enum64 => {
                if b.width > 64 {
                    return Err(bad);
                }
                let raw = self.bits(type_id, b)?;
                let value =
                    IntValue { raw, width: u8::try_from(b.width).map_err(|_| bad)?, signed: ty.kind_flag };
                Value::Enum { value, name: self.enumerator_name(ty, value)? }
            }
            _ => return Err(bad),
        };
        Ok(Self::step(self.emit(type_id, b.offset, &value)))
    }

    /// The enumerator of `ty` whose value is `value` (compared as bits of the enum's size).
    fn enumerator_name(&self, ty: &Type<'a>, value: IntValue) -> Result<Option<&'a str>, DecodeError> {
        let want = value.to_u64();
        let mask = u64::MAX.checked_shr(64u32.saturating_sub(u32::from(value.width))).unwrap_or(u64::MAX);
        for index in 0..u32::from(ty.vlen) {
            let e = ty.enumerator(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })?;
            if e.value.bits().is_some_and(|bits| bits & mask == want & mask) {
                return Ok(Some(self.btf.str_at(e.name_off)?));
            }
        }
        Ok(None)
    }

    fn array(&mut self, type_id: u32, ty: &Type<'a>, offset: u64) -> Result<Step, DecodeError> {
        let info = ty.array().ok_or(BtfError::BadRecord { type_id: ty.id, index: 0 })?;
        if self.is_char(info.elem_type)? {
            return self.string(type_id, offset, info.nelems);
        }
        let elem_size = self.btf.type_size(info.elem_type)?;
        let flow = self.emit(type_id, offset, &Value::ArrayBegin { len: info.nelems });
        if flow == Flow::Stop {
            return Ok(Step::Halt);
        }
        let mut shown = 0u32;
        if flow == Flow::Continue {
            let cap = info.nelems.min(self.limits.max_array_elems);
            for index in 0..cap {
                let at = elem_size
                    .checked_mul(u64::from(index))
                    .and_then(|o| o.checked_add(offset))
                    .ok_or(DecodeError::Overflow { type_id })?;
                let step = self.field(info.elem_type, at, Some(Segment::Index(index)))?;
                if step == Step::Halt {
                    // The element cut short counts as not shown.
                    return Ok(self.close(
                        type_id,
                        offset,
                        &Value::ArrayEnd { shown: index, len: info.nelems },
                    ));
                }
                shown = index.saturating_add(1);
            }
            if cap < info.nelems {
                self.summary.truncated = true;
            }
        }
        Ok(Self::step(self.emit(type_id, offset, &Value::ArrayEnd { shown, len: info.nelems })))
    }

    /// Whether `elem` is a one-byte INT named `char` or with the CHAR encoding.
    fn is_char(&self, elem: u32) -> Result<bool, DecodeError> {
        if elem == 0 {
            return Ok(false);
        }
        let t = self.btf.resolve_alias(elem)?;
        if t.kind != Kind::Int || t.size_or_type != 1 {
            return Ok(false);
        }
        let char_encoding = t.int_info().is_some_and(|i| i.encoding & 2 != 0);
        Ok(char_encoding || self.btf.str_eq(t.name_off, b"char")?)
    }

    fn string(&mut self, type_id: u32, offset: u64, nelems: u32) -> Result<Step, DecodeError> {
        let mut buf = [0u8; MAX_STRING_BYTES];
        let want =
            usize::try_from(nelems).unwrap_or(usize::MAX).min(self.limits.max_string).min(MAX_STRING_BYTES);
        let window = buf.get_mut(..want).unwrap_or(&mut []);
        self.read(type_id, offset, window)?;
        let nul = window.iter().position(|&b| b == 0);
        let bytes = window.get(..nul.unwrap_or(want)).unwrap_or(&[]);
        let truncated = nul.is_none() && u64::from(nelems) > u64::try_from(want).unwrap_or(u64::MAX);
        if truncated {
            self.summary.truncated = true;
        }
        let flow = {
            let field = Field { path: &self.path, type_id, offset };
            self.visitor.visit(&field, &Value::Str { bytes, truncated })
        };
        if flow == Flow::Stop {
            self.summary.stopped = true;
        }
        Ok(Self::step(flow))
    }

    fn composite(&mut self, type_id: u32, ty: &Type<'a>, offset: u64) -> Result<Step, DecodeError> {
        let name = self.btf.name(ty)?;
        let begin = Value::Begin { kind: ty.kind, name, size: u64::from(ty.size_or_type) };
        let flow = self.emit(type_id, offset, &begin);
        if flow == Flow::Stop {
            return Ok(Step::Halt);
        }
        if flow == Flow::Continue {
            for index in 0..u32::from(ty.vlen) {
                let m = ty.member(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })?;
                let name = self.btf.str_at(m.name_off)?;
                let seg = if name.is_empty() { Segment::Anon } else { Segment::Name(name) };
                let byte = u64::from(m.bit_offset / 8);
                let at = offset.checked_add(byte).ok_or(DecodeError::Overflow { type_id })?;
                let step = if m.bitfield_size != 0 || m.bit_offset % 8 != 0 {
                    self.bitfield(ty, m.type_id, at, m.bit_offset % 8, u32::from(m.bitfield_size), seg)?
                } else {
                    self.field(m.type_id, at, Some(seg))?
                };
                if step == Step::Halt {
                    return Ok(self.close(type_id, offset, &Value::End));
                }
            }
        }
        Ok(Self::step(self.emit(type_id, offset, &Value::End)))
    }

    /// A member at a bit offset: a bitfield (`width` bits; 0 for the legacy encoding, where
    /// the INT's own bits give the width).
    fn bitfield(
        &mut self,
        parent: &Type<'a>,
        member_type: u32,
        offset: u64,
        shift: u32,
        width: u32,
        seg: Segment<'a>,
    ) -> Result<Step, DecodeError> {
        let ty = self.btf.resolve_alias(member_type)?;
        let width = match (width, ty.kind) {
            (0, Kind::Int) => u32::from(ty.int_info().map_or(0, |i| i.bits)),
            (0, _) => {
                let bit_offset = offset.saturating_mul(8).saturating_add(u64::from(shift));
                return Err(DecodeError::Misaligned { type_id: parent.id, bit_offset });
            }
            (w, _) => w,
        };
        if !matches!(ty.kind, Kind::Int | Kind::Enum | Kind::Enum64) {
            return Err(DecodeError::BadScalar { type_id: member_type, offset });
        }
        if self.summary.nodes >= self.limits.max_nodes {
            self.summary.truncated = true;
            return Ok(Step::Halt);
        }
        self.summary.nodes = self.summary.nodes.saturating_add(1);
        if !self.enter(seg) {
            return Ok(self.too_deep(member_type, offset));
        }
        // A bitfield's width replaces the INT's own (`scalar` reads the INT's encoding only
        // when the width is the type's whole size).
        let result = self.scalar(member_type, &ty, Bits { offset, shift, width });
        self.path.pop();
        result
    }

    fn datasec(&mut self, type_id: u32, ty: &Type<'a>, offset: u64) -> Result<Step, DecodeError> {
        let name = self.btf.name(ty)?;
        let flow = self.emit(
            type_id,
            offset,
            &Value::Begin { kind: Kind::Datasec, name, size: u64::from(ty.size_or_type) },
        );
        if flow == Flow::Stop {
            return Ok(Step::Halt);
        }
        if flow == Flow::Continue {
            for index in 0..u32::from(ty.vlen) {
                let [var_id, var_off, _size] =
                    ty.secinfo(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })?;
                let at = offset.checked_add(u64::from(var_off)).ok_or(DecodeError::Overflow { type_id })?;
                let var = self.btf.type_by_id(var_id)?;
                let step = if var.kind == Kind::Var {
                    let name = self.btf.name(&var)?;
                    self.field(var.size_or_type, at, Some(Segment::Name(name)))?
                } else {
                    // A FUNC in `.ksyms`: nothing to decode, but still a named entry.
                    let seg = Segment::Name(self.btf.name(&var)?);
                    self.field(var_id, at, Some(seg))?
                };
                if step == Step::Halt {
                    return Ok(self.close(type_id, offset, &Value::End));
                }
            }
        }
        Ok(Self::step(self.emit(type_id, offset, &Value::End)))
    }
}

impl<'a> Btf<'a> {
    /// Decodes the value of type `type_id` held in `bytes`, streaming every field into
    /// `visitor`: see the crate docs' "Values" section. A VAR decodes as its type under its
    /// name; a DATASEC (a global-data map's value: `.bss`, `.data`, `.rodata`) as its
    /// variables by name.
    ///
    /// # Errors
    /// The BTF is malformed along the way, or a field lies past `bytes` or cannot be read:
    /// the error names the type and the offset. The values before it were visited.
    pub fn decode_value<S: ValueBytes, V: ValueVisitor<'a>>(
        &self,
        type_id: u32,
        bytes: &mut S,
        limits: &DecodeLimits,
        visitor: &mut V,
    ) -> Result<DecodeSummary, DecodeError> {
        let mut d = Decoder {
            btf: self,
            bytes,
            visitor,
            limits: *limits,
            path: FieldPath::new(),
            summary: DecodeSummary::default(),
        };
        d.field(type_id, 0, None)?;
        Ok(d.summary)
    }
}

/// Where a byte offset falls inside a type (see [`Btf::locate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located<'a> {
    /// The innermost field holding the offset (`qa.fifos[2].head`).
    pub path: FieldPath<'a>,
    /// That field's type as declared.
    pub type_id: u32,
    /// The offset's distance from the field's start.
    pub rest: u64,
    /// The descent stopped at [`DecodeLimits::max_depth`] before reaching a scalar.
    pub depth_cut: bool,
}

impl<'a> Btf<'a> {
    /// The field of a value of type `type_id` that holds byte `offset`: the path through
    /// members (the first one that holds it, in a union), array elements and DATASEC
    /// variables down to a scalar, padding, or [`DecodeLimits::max_depth`]. Names what an
    /// address inside an object is, e.g. an arena pointer as an arena global's field.
    /// `None` when the offset lies past the type, or in a DATASEC between its variables.
    ///
    /// # Errors
    /// The BTF is malformed along the way.
    pub fn locate(
        &self,
        type_id: u32,
        offset: u64,
        limits: &DecodeLimits,
    ) -> Result<Option<Located<'a>>, DecodeError> {
        self.locate_until(type_id, offset, limits, None)
    }

    /// As [`Btf::locate`], but stops at the outermost field that starts at `offset` and is
    /// of type `object` (after typedefs and modifiers): names the object a pointer to
    /// `object` points at (`qa.fifos[2]` rather than its first member `qa.fifos[2].head`).
    /// Without such a field it descends as `locate` does.
    ///
    /// # Errors
    /// The BTF is malformed along the way.
    pub fn locate_object(
        &self,
        type_id: u32,
        offset: u64,
        object: u32,
        limits: &DecodeLimits,
    ) -> Result<Option<Located<'a>>, DecodeError> {
        let object = self.resolve_alias(object)?.id;
        self.locate_until(type_id, offset, limits, Some(object))
    }

    fn locate_until(
        &self,
        type_id: u32,
        offset: u64,
        limits: &DecodeLimits,
        object: Option<u32>,
    ) -> Result<Option<Located<'a>>, DecodeError> {
        if offset >= self.type_size(type_id)? {
            return Ok(None);
        }
        let mut loc = Located { path: FieldPath::new(), type_id, rest: offset, depth_cut: false };
        let max_depth = limits.max_depth.min(MAX_DECODE_DEPTH);
        loop {
            if loc.type_id == 0 {
                return Ok(Some(loc));
            }
            let ty = self.resolve_alias(loc.type_id)?;
            if loc.rest == 0 && object == Some(ty.id) {
                return Ok(Some(loc));
            }
            let next = match ty.kind {
                Kind::Struct | Kind::Union => self.member_at(&ty, loc.rest)?,
                Kind::Array => {
                    let a = ty.array().ok_or(BtfError::BadRecord { type_id: ty.id, index: 0 })?;
                    let size = self.type_size(a.elem_type)?;
                    match loc.rest.checked_div(size) {
                        Some(index) if index < u64::from(a.nelems) => {
                            let index =
                                u32::try_from(index).map_err(|_| DecodeError::Overflow { type_id: ty.id })?;
                            Some((
                                Segment::Index(index),
                                a.elem_type,
                                loc.rest.checked_rem(size).unwrap_or(0),
                            ))
                        }
                        _ => None,
                    }
                }
                Kind::Datasec => match self.var_at(&ty, loc.rest)? {
                    Some(found) => Some(found),
                    None => return Ok(None),
                },
                Kind::Var => Some((Segment::Name(self.name(&ty)?), ty.size_or_type, loc.rest)),
                _ => None,
            };
            let Some((seg, member_type, rest)) = next else { return Ok(Some(loc)) };
            if loc.path.len() >= max_depth || !loc.path.push(seg) {
                loc.depth_cut = true;
                return Ok(Some(loc));
            }
            loc.type_id = member_type;
            loc.rest = rest;
        }
    }

    /// The first byte-aligned member of `ty` whose bytes hold `offset`.
    fn member_at(&self, ty: &Type<'a>, offset: u64) -> Result<Option<(Segment<'a>, u32, u64)>, DecodeError> {
        for index in 0..u32::from(ty.vlen) {
            let m = ty.member(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })?;
            let Some(start) = m.byte_offset().map(u64::from) else { continue };
            let Some(rest) = offset.checked_sub(start) else { continue };
            if rest < self.type_size(m.type_id)? {
                let seg =
                    if m.name_off == 0 { Segment::Anon } else { Segment::Name(self.str_at(m.name_off)?) };
                return Ok(Some((seg, m.type_id, rest)));
            }
        }
        Ok(None)
    }

    /// The variable of a DATASEC whose bytes hold `offset`.
    fn var_at(&self, ty: &Type<'a>, offset: u64) -> Result<Option<(Segment<'a>, u32, u64)>, DecodeError> {
        for index in 0..u32::from(ty.vlen) {
            let [var_id, start, size] =
                ty.secinfo(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })?;
            let Some(rest) = offset.checked_sub(u64::from(start)) else { continue };
            if rest < u64::from(size) {
                let var = self.type_by_id(var_id)?;
                let inner = if var.kind == Kind::Var { var.size_or_type } else { var_id };
                return Ok(Some((Segment::Name(self.name(&var)?), inner, rest)));
            }
        }
        Ok(None)
    }
}
