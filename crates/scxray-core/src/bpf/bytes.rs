//! The bytes of one key, value or arena page, handed to a visitor as a reader instead of a
//! copy: the walkers keep no buffers, a value may be large (a `.bss` of many pages), and a
//! decoder reads only the fields it shows. The reader refuses bytes past the value.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadError};
use crate::guest::Guest;
use crate::memory::PhysMem;
use crate::translate::Translate;
use core::fmt;

/// Why a read of a [`GuestBytes`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesError {
    /// The bytes asked for lie (partly) past the value: nothing was read.
    OutOfRange {
        /// Offset asked for.
        offset: u64,
        /// Bytes asked for.
        len: u64,
        /// Length of the value.
        value_len: u64,
    },
    /// Guest memory could not be read.
    Read(ReadError),
}

impl fmt::Display for BytesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange { offset, len, value_len } => {
                write!(f, "{len} bytes at offset {offset:#x} lie past the {value_len}-byte value")
            }
            Self::Read(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for BytesError {}

/// The bytes of one object in guest memory (object safe, so visitors need not be generic
/// over the memory and translator).
pub trait GuestBytes {
    /// Where the bytes start.
    fn kva(&self) -> VirtAddr;

    /// How many there are: nothing at or past this is read.
    fn len(&self) -> u64;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `offset`.
    ///
    /// # Errors
    /// They lie past [`GuestBytes::len`], or guest memory cannot be read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BytesError>;
}

/// `len` bytes of guest memory at `kva`, read through a [`Guest`]; errors name `field`.
#[derive(Debug)]
pub struct GuestSpan<'g, 'a, M: ?Sized, T: ?Sized> {
    guest: &'g Guest<'a, M, T>,
    kva: VirtAddr,
    len: u64,
    field: Field,
}

impl<'g, 'a, M: PhysMem + ?Sized, T: Translate + ?Sized> GuestSpan<'g, 'a, M, T> {
    /// The `len` bytes at `kva`.
    pub fn new(guest: &'g Guest<'a, M, T>, kva: VirtAddr, len: u64, field: Field) -> Self {
        Self { guest, kva, len, field }
    }
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> GuestBytes for GuestSpan<'_, '_, M, T> {
    fn kva(&self) -> VirtAddr {
        self.kva
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BytesError> {
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let out = BytesError::OutOfRange { offset, len, value_len: self.len };
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(out);
        }
        let at = self.kva.member(offset, self.field).map_err(BytesError::Read)?;
        self.guest.read_bytes(at, buf, self.field).map_err(BytesError::Read)
    }
}

/// A little-endian `u64` at `offset` of `bytes` (a pointer field of a value).
pub(crate) fn u64_at(bytes: &dyn GuestBytes, offset: u64) -> Result<u64, BytesError> {
    let mut b = [0u8; 8];
    bytes.read_at(offset, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// A little-endian `i32` at `offset` of `bytes` (a pid field of a value).
pub(crate) fn i32_at(bytes: &dyn GuestBytes, offset: u64) -> Result<i32, BytesError> {
    let mut b = [0u8; 4];
    bytes.read_at(offset, &mut b)?;
    Ok(i32::from_le_bytes(b))
}
