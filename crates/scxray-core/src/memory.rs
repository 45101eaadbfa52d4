//! Guest-physical memory: the [`PhysMem`] trait and two implementations over borrowed bytes.
//!
//! Every read is fallible and every multi-byte value is decoded as little-endian through
//! `zerocopy`'s byte-order types: guest memory is little-endian whatever the host is.

use crate::addr::PhysAddr;
use core::fmt;
use zerocopy::little_endian::{I32, U16, U32, U64};

/// Why a guest-physical read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MemError {
    /// No backing memory for `len` bytes at `pa` (a hole, or past the end of RAM).
    NotBacked {
        /// First address of the failed read.
        pa: PhysAddr,
        /// Length of the failed read.
        len: u64,
    },
    /// The backing store failed to deliver bytes that exist (I/O error, compressed page
    /// that did not decompress, ...).
    Unavailable {
        /// First address of the failed read.
        pa: PhysAddr,
    },
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotBacked { pa, len } => {
                write!(f, "no guest memory backs {len} bytes at physical {pa}")
            }
            Self::Unavailable { pa } => write!(f, "guest memory at physical {pa} is unavailable"),
        }
    }
}

impl core::error::Error for MemError {}

/// Fallible reads of guest-physical bytes.
///
/// Implementors provide [`PhysMem::read`]; the typed helpers decode little-endian values.
pub trait PhysMem {
    /// Fills `buf` with the bytes at `pa..pa + buf.len()`, or fails without a partial
    /// result the caller could mistake for data.
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError>;

    /// Reads one byte.
    fn read_u8(&self, pa: PhysAddr) -> Result<u8, MemError> {
        let mut b = [0u8; 1];
        self.read(pa, &mut b)?;
        Ok(b[0])
    }
    /// Reads a little-endian `u16`.
    fn read_u16(&self, pa: PhysAddr) -> Result<u16, MemError> {
        let mut b = [0u8; 2];
        self.read(pa, &mut b)?;
        Ok(U16::from_bytes(b).get())
    }
    /// Reads a little-endian `u32`.
    fn read_u32(&self, pa: PhysAddr) -> Result<u32, MemError> {
        let mut b = [0u8; 4];
        self.read(pa, &mut b)?;
        Ok(U32::from_bytes(b).get())
    }
    /// Reads a little-endian `u64`.
    fn read_u64(&self, pa: PhysAddr) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read(pa, &mut b)?;
        Ok(U64::from_bytes(b).get())
    }
    /// Reads a little-endian `i32`.
    fn read_i32(&self, pa: PhysAddr) -> Result<i32, MemError> {
        let mut b = [0u8; 4];
        self.read(pa, &mut b)?;
        Ok(I32::from_bytes(b).get())
    }
}

impl<M: PhysMem + ?Sized> PhysMem for &M {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        (**self).read(pa, buf)
    }
    // Forwarded so that an implementation's faster typed reads are kept.
    fn read_u32(&self, pa: PhysAddr) -> Result<u32, MemError> {
        (**self).read_u32(pa)
    }
    fn read_u64(&self, pa: PhysAddr) -> Result<u64, MemError> {
        (**self).read_u64(pa)
    }
}

/// A buffer length as `u64` (lossless on every target Rust supports).
#[inline]
fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// The byte range `[start, start + len)` of a slice that begins at guest address `base`,
/// or `None` when any of it falls outside. Shared by both implementations.
#[inline]
fn window(base: u64, avail: usize, pa: PhysAddr, len: usize) -> Option<core::ops::Range<usize>> {
    let off = pa.0.checked_sub(base)?;
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(len)?;
    (end <= avail).then_some(start..end)
}

/// One contiguous image of guest memory starting at a physical base address.
#[derive(Clone, Copy, Debug)]
pub struct FlatImage<'a> {
    base: PhysAddr,
    bytes: &'a [u8],
}

impl<'a> FlatImage<'a> {
    /// `bytes` holds guest memory from physical address `base` on.
    #[must_use]
    pub const fn new(base: PhysAddr, bytes: &'a [u8]) -> Self {
        Self { base, bytes }
    }
}

impl FlatImage<'_> {
    /// The `N` bytes at `pa`, decoded in place (no copy through a caller's buffer).
    #[inline]
    fn array<const N: usize>(&self, pa: PhysAddr) -> Result<[u8; N], MemError> {
        window(self.base.0, self.bytes.len(), pa, N)
            .and_then(|r| self.bytes.get(r))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(MemError::NotBacked { pa, len: len_u64(N) })
    }
}

impl PhysMem for FlatImage<'_> {
    #[inline]
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        let src = window(self.base.0, self.bytes.len(), pa, buf.len())
            .and_then(|r| self.bytes.get(r))
            .ok_or(MemError::NotBacked { pa, len: len_u64(buf.len()) })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    #[inline]
    fn read_u32(&self, pa: PhysAddr) -> Result<u32, MemError> {
        self.array(pa).map(|b| U32::from_bytes(b).get())
    }
    #[inline]
    fn read_u64(&self, pa: PhysAddr) -> Result<u64, MemError> {
        self.array(pa).map(|b| U64::from_bytes(b).get())
    }
}

/// Guest memory as several regions with holes between them (real guests have a hole below
/// 4 GiB). A read must lie inside one region: a value never straddles a hole.
#[derive(Clone, Copy, Debug)]
pub struct RegionSet<'a> {
    regions: &'a [(PhysAddr, &'a [u8])],
}

impl<'a> RegionSet<'a> {
    /// `regions` are `(base, bytes)` pairs in any order; overlapping regions are searched in
    /// slice order.
    #[must_use]
    pub const fn new(regions: &'a [(PhysAddr, &'a [u8])]) -> Self {
        Self { regions }
    }
}

impl PhysMem for RegionSet<'_> {
    #[inline]
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        for (base, bytes) in self.regions {
            if let Some(src) = window(base.0, bytes.len(), pa, buf.len()).and_then(|r| bytes.get(r)) {
                buf.copy_from_slice(src);
                return Ok(());
            }
        }
        Err(MemError::NotBacked { pa, len: len_u64(buf.len()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_image_reads_little_endian_whatever_the_host() {
        let bytes = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xfe, 0xff, 0xff, 0xff];
        let m = FlatImage::new(PhysAddr(0x1000), &bytes);
        assert_eq!(m.read_u64(PhysAddr(0x1000)), Ok(0x8877_6655_4433_2211));
        assert_eq!(m.read_u32(PhysAddr(0x1004)), Ok(0x8877_6655));
        assert_eq!(m.read_u16(PhysAddr(0x1001)), Ok(0x3322));
        assert_eq!(m.read_i32(PhysAddr(0x1008)), Ok(-2));
        assert_eq!(m.read_u8(PhysAddr(0x100b)), Ok(0xff));
    }

    #[test]
    fn flat_image_rejects_reads_outside_or_straddling_the_end() {
        let bytes = [0u8; 16];
        let m = FlatImage::new(PhysAddr(0x1000), &bytes);
        assert_eq!(m.read_u64(PhysAddr(0x100c)), Err(MemError::NotBacked { pa: PhysAddr(0x100c), len: 8 }));
        assert!(m.read_u8(PhysAddr(0xfff)).is_err());
        assert!(m.read_u8(PhysAddr(0x1010)).is_err());
        assert!(m.read_u64(PhysAddr(u64::MAX - 2)).is_err());
    }

    #[test]
    fn region_set_has_holes() {
        let low = [1u8; 16];
        let high = [2u8; 16];
        let regions = [(PhysAddr(0), &low[..]), (PhysAddr(0x1_0000_0000), &high[..])];
        let m = RegionSet::new(&regions);
        assert_eq!(m.read_u8(PhysAddr(15)), Ok(1));
        assert_eq!(m.read_u8(PhysAddr(0x1_0000_0000)), Ok(2));
        assert_eq!(
            m.read_u8(PhysAddr(0x8000_0000)),
            Err(MemError::NotBacked { pa: PhysAddr(0x8000_0000), len: 1 })
        );
        // A value straddling the end of a region is not read from the next one.
        assert!(m.read_u32(PhysAddr(14)).is_err());
    }
}
