//! Guest-physical memory: the [`PhysMem`] trait and two implementations over borrowed bytes.
//!
//! Every read is fallible and every multi-byte value is decoded as little-endian through
//! `zerocopy`'s byte-order types: guest memory is little-endian whatever the host is.

use crate::addr::PhysAddr;
use core::fmt;
use zerocopy::little_endian::{I16, I32, I64, U16, U32, U64};
use zerocopy::{FromBytes, IntoBytes};

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

/// An integer as guest memory holds it: little-endian, whatever the host. Its [`LeInt::Le`] is
/// zerocopy's byte-order type of the same width, so a read of it never depends on the host's
/// byte order; [`PhysMem::read_le`] and [`Guest::read_le`](crate::Guest::read_le) read one.
pub trait LeInt: Copy {
    /// The little-endian representation (zerocopy's `little_endian` type; `u8`/`i8` as is).
    type Le: FromBytes + IntoBytes;
    /// The value `le` holds.
    fn from_le(le: Self::Le) -> Self;
}

macro_rules! le_int {
    ($($t:ty => $le:ty),* $(,)?) => {$(
        impl LeInt for $t {
            type Le = $le;
            #[inline(always)]
            fn from_le(le: $le) -> Self {
                le.into()
            }
        }
    )*};
}
le_int!(u8 => u8, i8 => i8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, u64 => U64, i64 => I64);

/// Fallible reads of guest-physical bytes.
///
/// Implementors provide [`PhysMem::read`]; [`PhysMem::read_obj`] reads any plain-bytes type
/// and may be overridden for speed (a memory that can hand out a slice decodes in place, see
/// [`FlatImage`]); [`PhysMem::read_le`] is the little-endian integer read on top of it.
/// Overrides must read the same bytes as `read` would: the tests compare them.
///
/// The typed reads are generic, so the trait is not object safe (nor is
/// [`Translate`](crate::Translate)): walkers take memories as type parameters.
pub trait PhysMem {
    /// Fills `buf` with the bytes at `pa..pa + buf.len()`, or fails without a partial
    /// result the caller could mistake for data.
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError>;

    /// The `T` whose bytes are at `pa`, as guest memory holds them: multi-byte fields of `T`
    /// must be zerocopy's `little_endian` types (or arrays of bytes). Fails as
    /// [`PhysMem::read`] does for `size_of::<T>()` bytes.
    #[inline]
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        let mut value = T::new_zeroed();
        self.read(pa, value.as_mut_bytes())?;
        Ok(value)
    }

    /// The `len` bytes at `pa` borrowed where this memory holds them contiguously in host
    /// memory (a mapped file, a buffer): the bytes [`PhysMem::read`] would fill in, without
    /// the copy. `None` where it does not (a source that reads by copying, compressed pages,
    /// a range across a hole or a segment's end); the caller reads them then, and that
    /// read's answer, value or error, is the one that counts. Readers of many members of one
    /// object decode them from one borrow instead of one read each.
    #[inline]
    fn in_place(&self, _pa: PhysAddr, _len: usize) -> Option<&[u8]> {
        None
    }

    /// The little-endian integer at `pa`: [`PhysMem::read_obj`] of its [`LeInt::Le`].
    ///
    /// A memory that decodes in place may override this too, to build the `Result` around the
    /// integer rather than around its byte-order type ([`FlatImage`] does: the list walk keeps
    /// its `next` pointer in a register then: 0.66x of the bare chase instead of 0.55x).
    #[inline]
    fn read_le<V: LeInt>(&self, pa: PhysAddr) -> Result<V, MemError> {
        self.read_obj::<V::Le>(pa).map(V::from_le)
    }
}

impl<M: PhysMem + ?Sized> PhysMem for &M {
    #[inline]
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        (**self).read(pa, buf)
    }
    // Forwarded so that an implementation's faster typed reads are kept.
    #[inline]
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        (**self).read_obj(pa)
    }
    #[inline]
    fn read_le<V: LeInt>(&self, pa: PhysAddr) -> Result<V, MemError> {
        (**self).read_le(pa)
    }
    #[inline]
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        (**self).in_place(pa, len)
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

    /// [`PhysMem::in_place`] for as long as the image's bytes are borrowed, not only as long
    /// as this image.
    #[inline]
    #[must_use]
    pub fn slice(&self, pa: PhysAddr, len: usize) -> Option<&'a [u8]> {
        window(self.base.0, self.bytes.len(), pa, len).and_then(|r| self.bytes.get(r))
    }
}

/// The little-endian integer at offset `at` of `bytes`, when all of it is there.
#[inline]
pub(crate) fn le_at<V: LeInt>(bytes: &[u8], at: usize) -> Option<V> {
    let b = bytes.get(at..at.checked_add(size_of::<V::Le>())?)?;
    V::Le::read_from_bytes(b).ok().map(V::from_le)
}

/// The `T` at `pa` of the slice `bytes` that begins at guest address `base`, decoded in place
/// (no copy through a zeroed buffer), or `None` when any of it falls outside.
#[inline]
fn obj_in<T: FromBytes>(base: PhysAddr, bytes: &[u8], pa: PhysAddr) -> Option<T> {
    window(base.0, bytes.len(), pa, size_of::<T>())
        .and_then(|r| bytes.get(r))
        .and_then(|s| T::read_from_bytes(s).ok())
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
    /// In place, no copy through a zeroed buffer.
    #[inline]
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        obj_in(self.base, self.bytes, pa).ok_or(MemError::NotBacked { pa, len: len_u64(size_of::<T>()) })
    }
    /// In place, decoded before the `Result` is built: the list walks read every `next`
    /// pointer through this.
    #[inline]
    fn read_le<V: LeInt>(&self, pa: PhysAddr) -> Result<V, MemError> {
        obj_in::<V::Le>(self.base, self.bytes, pa)
            .map(V::from_le)
            .ok_or(MemError::NotBacked { pa, len: len_u64(size_of::<V>()) })
    }
    #[inline]
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        self.slice(pa, len)
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
    #[inline]
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        self.regions
            .iter()
            .find_map(|&(base, bytes)| obj_in(base, bytes, pa))
            .ok_or(MemError::NotBacked { pa, len: len_u64(size_of::<T>()) })
    }
    #[inline]
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        self.regions
            .iter()
            .find_map(|&(base, bytes)| window(base.0, bytes.len(), pa, len).and_then(|r| bytes.get(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_image_reads_little_endian_whatever_the_host() {
        let bytes = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xfe, 0xff, 0xff, 0xff];
        let m = FlatImage::new(PhysAddr(0x1000), &bytes);
        assert_eq!(m.read_le::<u64>(PhysAddr(0x1000)), Ok(0x8877_6655_4433_2211));
        assert_eq!(m.read_le::<u32>(PhysAddr(0x1004)), Ok(0x8877_6655));
        assert_eq!(m.read_le::<u16>(PhysAddr(0x1001)), Ok(0x3322));
        assert_eq!(m.read_le::<i32>(PhysAddr(0x1008)), Ok(-2));
        assert_eq!(m.read_le::<i16>(PhysAddr(0x100a)), Ok(-1));
        assert_eq!(m.read_le::<i64>(PhysAddr(0x1004)), Ok(-0x0000_0001_7788_99ab));
        assert_eq!(m.read_le::<u8>(PhysAddr(0x100b)), Ok(0xff));
        assert_eq!(m.read_le::<i8>(PhysAddr(0x100b)), Ok(-1));
    }

    /// A struct of little-endian fields, read whole: what `read_obj` is for.
    #[derive(zerocopy::FromBytes, zerocopy::IntoBytes, Debug, PartialEq, Eq)]
    #[repr(C)]
    struct ListHead {
        next: U64,
        prev: U64,
    }

    #[test]
    fn read_obj_reads_a_struct_the_same_from_every_memory() {
        let mut bytes = [0u8; 24];
        bytes[4..12].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        bytes[12..20].copy_from_slice(&0x99aa_bbcc_ddee_ff00u64.to_le_bytes());
        let want = ListHead { next: U64::new(0x1122_3344_5566_7788), prev: U64::new(0x99aa_bbcc_ddee_ff00) };
        let flat = FlatImage::new(PhysAddr(0x1000), &bytes);
        let regions = [(PhysAddr(0x1000), &bytes[..])];
        let set = RegionSet::new(&regions);
        // The trait's own read_obj, through `read` only.
        struct ReadOnly<'a>(FlatImage<'a>);
        impl PhysMem for ReadOnly<'_> {
            fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
                self.0.read(pa, buf)
            }
        }
        let plain = ReadOnly(flat);
        assert_eq!(flat.read_obj::<ListHead>(PhysAddr(0x1004)), Ok(want));
        assert_eq!(set.read_obj::<ListHead>(PhysAddr(0x1004)), flat.read_obj(PhysAddr(0x1004)));
        assert_eq!(plain.read_obj::<ListHead>(PhysAddr(0x1004)), flat.read_obj(PhysAddr(0x1004)));
        assert_eq!((&&plain).read_le::<u64>(PhysAddr(0x100c)), Ok(0x99aa_bbcc_ddee_ff00));
        // FlatImage's own read_le, directly and through references, reads what `read` does.
        for at in 0x1000..0x1018 {
            let pa = PhysAddr(at);
            assert_eq!(flat.read_le::<u64>(pa), plain.read_le::<u64>(pa), "{pa:?}");
            assert_eq!((&&flat).read_le::<i32>(pa), plain.read_le::<i32>(pa), "{pa:?}");
        }
        assert_eq!(
            flat.read_le::<u64>(PhysAddr(0x1011)),
            Err(MemError::NotBacked { pa: PhysAddr(0x1011), len: 8 })
        );
        let past = Err(MemError::NotBacked { pa: PhysAddr(0x1009), len: 16 });
        assert_eq!(flat.read_obj::<ListHead>(PhysAddr(0x1009)), past);
        assert_eq!(set.read_obj::<ListHead>(PhysAddr(0x1009)), past);
        assert_eq!(plain.read_obj::<ListHead>(PhysAddr(0x1009)), past);
    }

    /// `in_place` borrows exactly the bytes `read` fills in, and nothing where `read` fails:
    /// every start and length around both regions' ends and the hole between them.
    #[test]
    fn in_place_borrows_what_read_reads_and_nothing_else() {
        let low: [u8; 16] = core::array::from_fn(|i| i as u8);
        let high: [u8; 8] = core::array::from_fn(|i| 0x80 | i as u8);
        let regions = [(PhysAddr(0x1000), &low[..]), (PhysAddr(0x1010), &high[..])];
        let set = RegionSet::new(&regions);
        let flat = FlatImage::new(PhysAddr(0x1000), &low);
        for at in 0xff8..0x1020 {
            for len in 0..20usize {
                let pa = PhysAddr(at);
                let mut buf = [0u8; 20];
                for (name, m) in [("flat", &flat as &dyn InPlace), ("regions", &set), ("&flat", &&flat)] {
                    let read = m.read_into(pa, &mut buf[..len]).then_some(&buf[..len]);
                    assert_eq!(m.borrow(pa, len), read, "{name} at {at:#x} len {len}");
                }
            }
        }
        // A region's bytes are borrowed in place, not copied; a read across the two is not.
        assert_eq!(set.in_place(PhysAddr(0x1010), 8), Some(&high[..]));
        assert_eq!(set.in_place(PhysAddr(0x100c), 8), None);
        assert!(set.read(PhysAddr(0x100c), &mut [0u8; 8]).is_err(), "a value never straddles regions");
    }

    /// The two calls the test above compares, object safe.
    trait InPlace {
        fn read_into(&self, pa: PhysAddr, buf: &mut [u8]) -> bool;
        fn borrow(&self, pa: PhysAddr, len: usize) -> Option<&[u8]>;
    }
    impl<M: PhysMem> InPlace for M {
        fn read_into(&self, pa: PhysAddr, buf: &mut [u8]) -> bool {
            self.read(pa, buf).is_ok()
        }
        fn borrow(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
            self.in_place(pa, len)
        }
    }

    #[test]
    fn flat_image_rejects_reads_outside_or_straddling_the_end() {
        let bytes = [0u8; 16];
        let m = FlatImage::new(PhysAddr(0x1000), &bytes);
        assert_eq!(
            m.read_le::<u64>(PhysAddr(0x100c)),
            Err(MemError::NotBacked { pa: PhysAddr(0x100c), len: 8 })
        );
        assert!(m.read_le::<u8>(PhysAddr(0xfff)).is_err());
        assert!(m.read_le::<u8>(PhysAddr(0x1010)).is_err());
        assert!(m.read_le::<u64>(PhysAddr(u64::MAX - 2)).is_err());
    }

    #[test]
    fn region_set_has_holes() {
        let low = [1u8; 16];
        let high = [2u8; 16];
        let regions = [(PhysAddr(0), &low[..]), (PhysAddr(0x1_0000_0000), &high[..])];
        let m = RegionSet::new(&regions);
        assert_eq!(m.read_le::<u8>(PhysAddr(15)), Ok(1));
        assert_eq!(m.read_le::<u8>(PhysAddr(0x1_0000_0000)), Ok(2));
        assert_eq!(
            m.read_le::<u8>(PhysAddr(0x8000_0000)),
            Err(MemError::NotBacked { pa: PhysAddr(0x8000_0000), len: 1 })
        );
        // A value straddling the end of a region is not read from the next one.
        assert!(m.read_le::<u32>(PhysAddr(14)).is_err());
        let mut b = [0u8; 4];
        assert!(m.read(PhysAddr(14), &mut b).is_err());
    }
}
