//! Decoded values as text, in C's designated-initializer style:
//! `{.head = 0x100000040 (qa.fifos[2]), .nr = 3, .name = "qmap", .ids = [1, 2, …+6]}`.
//!
//! A [`PointerNamer`] lets the caller say what an address is (an arena object, a kernel
//! symbol); [`Style`] chooses one line or one member per line.

use core::fmt::{self, Write};

use crate::btf::Btf;
use crate::value::{
    DecodeError, DecodeLimits, DecodeSummary, Field, Flow, MAX_DECODE_DEPTH, Segment, Value, ValueBytes,
    ValueVisitor,
};

/// Names the addresses pointers hold.
pub trait PointerNamer {
    /// Writes what `addr` (a pointer to BTF type `pointee`, 0 for `void`) is to `out`, and
    /// returns whether it wrote anything.
    ///
    /// # Errors
    /// Writing to `out` failed.
    fn name_pointer(&mut self, addr: u64, pointee: u32, out: &mut dyn Write) -> Result<bool, fmt::Error>;
}

/// Names no pointer.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNames;

impl PointerNamer for NoNames {
    fn name_pointer(&mut self, _addr: u64, _pointee: u32, _out: &mut dyn Write) -> Result<bool, fmt::Error> {
        Ok(false)
    }
}

/// Layout of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Everything on one line.
    Compact,
    /// One member or element per line, indented by this many spaces per level.
    Pretty {
        /// Spaces per level.
        indent: u8,
    },
}

/// Why [`format_value`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The value could not be decoded (what was decoded before was written).
    Decode(DecodeError),
    /// The output refused a write.
    Write,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => e.fmt(f),
            Self::Write => f.write_str("writing the decoded value failed"),
        }
    }
}

impl core::error::Error for FormatError {}

/// One open `{` or `[`.
#[derive(Clone, Copy, Debug)]
struct Level {
    array: bool,
    items: u32,
}

/// A [`ValueVisitor`] that writes the values as text.
#[derive(Debug)]
pub struct ValueWriter<'w, W, N> {
    out: &'w mut W,
    namer: N,
    style: Style,
    levels: [Level; MAX_DECODE_DEPTH],
    depth: usize,
    failed: bool,
}

impl<'w, W: Write, N: PointerNamer> ValueWriter<'w, W, N> {
    /// A writer to `out`.
    pub fn new(out: &'w mut W, namer: N, style: Style) -> Self {
        Self {
            out,
            namer,
            style,
            levels: [Level { array: false, items: 0 }; MAX_DECODE_DEPTH],
            depth: 0,
            failed: false,
        }
    }

    /// Whether a write failed (the decode was then stopped).
    #[must_use]
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn newline(&mut self, depth: usize) -> fmt::Result {
        if let Style::Pretty { indent } = self.style {
            self.out.write_char('\n')?;
            for _ in 0..depth.saturating_mul(usize::from(indent)) {
                self.out.write_char(' ')?;
            }
        }
        Ok(())
    }

    /// The separator and label before an item of the innermost open level.
    fn item(&mut self, seg: Option<Segment<'_>>) -> fmt::Result {
        let Some(top) = self.depth.checked_sub(1) else { return Ok(()) };
        let Some(level) = self.levels.get_mut(top) else { return Ok(()) };
        let first = level.items == 0;
        level.items = level.items.saturating_add(1);
        let array = level.array;
        if !first {
            self.out.write_char(',')?;
            if self.style == Style::Compact {
                self.out.write_char(' ')?;
            }
        }
        self.newline(self.depth)?;
        if !array && let Some(Segment::Name(name)) = seg {
            write!(self.out, ".{name} = ")?;
        }
        Ok(())
    }

    fn open(&mut self, array: bool) -> fmt::Result {
        self.out.write_char(if array { '[' } else { '{' })?;
        if let Some(level) = self.levels.get_mut(self.depth) {
            *level = Level { array, items: 0 };
        }
        self.depth = self.depth.saturating_add(1);
        Ok(())
    }

    fn close(&mut self, array: bool) -> fmt::Result {
        self.depth = self.depth.saturating_sub(1);
        let items = self.levels.get(self.depth).map_or(0, |l| l.items);
        if items > 0 {
            if let Style::Pretty { .. } = self.style {
                self.out.write_char(',')?;
            }
            self.newline(self.depth)?;
        }
        self.out.write_char(if array { ']' } else { '}' })
    }

    fn write(&mut self, field: &Field<'_, '_>, value: &Value<'_, '_>) -> fmt::Result {
        match *value {
            Value::End => return self.close(false),
            Value::ArrayEnd { shown, len } => {
                if shown < len {
                    self.item(None)?;
                    write!(self.out, "…+{}", len.saturating_sub(shown))?;
                }
                return self.close(true);
            }
            _ => {}
        }
        self.item(field.path.last())?;
        match *value {
            Value::Begin { .. } => self.open(false),
            Value::ArrayBegin { .. } => self.open(true),
            Value::Int(v) => write!(self.out, "{v}"),
            Value::Bool(b) => write!(self.out, "{b}"),
            Value::Enum { name: Some(name), .. } => self.out.write_str(name),
            Value::Enum { value, name: None } => write!(self.out, "{value}"),
            Value::Float { bits, size: 4 } => {
                let v = f32::from_bits(u32::try_from(bits & 0xffff_ffff).unwrap_or(0));
                write!(self.out, "{v}")
            }
            Value::Float { bits, .. } => write!(self.out, "{}", f64::from_bits(bits)),
            Value::Pointer { addr, pointee } => {
                write!(self.out, "{addr:#x}")?;
                let mut name = Parenthesised { out: &mut *self.out, opened: false };
                if self.namer.name_pointer(addr, pointee, &mut name)? && name.opened {
                    self.out.write_char(')')?;
                }
                Ok(())
            }
            Value::Str { bytes, truncated } => {
                self.out.write_char('"')?;
                for chunk in bytes.utf8_chunks() {
                    for c in chunk.valid().chars() {
                        write!(self.out, "{}", c.escape_debug())?;
                    }
                    for b in chunk.invalid() {
                        write!(self.out, "\\x{b:02x}")?;
                    }
                }
                self.out.write_char('"')?;
                if truncated {
                    self.out.write_char('…')?;
                }
                Ok(())
            }
            Value::Opaque { kind: Some(kind), .. } => write!(self.out, "<{}>", kind.name()),
            Value::Opaque { kind: None, .. } => self.out.write_str("<void>"),
            Value::TooDeep => self.out.write_str("<too deep>"),
            Value::End | Value::ArrayEnd { .. } => Ok(()),
        }
    }
}

/// Writes ` (` before the first thing a namer writes.
struct Parenthesised<'o, W> {
    out: &'o mut W,
    opened: bool,
}

impl<W: Write> Write for Parenthesised<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.is_empty() {
            return Ok(());
        }
        if !self.opened {
            self.out.write_str(" (")?;
            self.opened = true;
        }
        self.out.write_str(s)
    }
}

impl<'a, W: Write, N: PointerNamer> ValueVisitor<'a> for ValueWriter<'_, W, N> {
    fn visit(&mut self, field: &Field<'_, 'a>, value: &Value<'_, 'a>) -> Flow {
        match self.write(field, value) {
            Ok(()) => Flow::Continue,
            Err(fmt::Error) => {
                self.failed = true;
                Flow::Stop
            }
        }
    }
}

/// Decodes the value of type `type_id` in `bytes` (see [`Btf::decode_value`]) and writes it
/// to `out`.
///
/// # Errors
/// [`FormatError::Decode`] when the value cannot be decoded, [`FormatError::Write`] when
/// `out` fails.
pub fn format_value<'a, S: ValueBytes, W: Write, N: PointerNamer>(
    btf: &Btf<'a>,
    type_id: u32,
    bytes: &mut S,
    limits: &DecodeLimits,
    style: Style,
    namer: N,
    out: &mut W,
) -> Result<DecodeSummary, FormatError> {
    let mut writer = ValueWriter::new(out, namer, style);
    let summary = btf.decode_value(type_id, bytes, limits, &mut writer).map_err(FormatError::Decode)?;
    if writer.failed() {
        return Err(FormatError::Write);
    }
    Ok(summary)
}
