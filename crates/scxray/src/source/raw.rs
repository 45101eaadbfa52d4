//! A raw, flat image of guest RAM: a file dumped with `pmemsave`, or the live backing file of
//! a QEMU `memory-backend-file,share=on` guest (read while the guest runs).

use super::bytes::{Bytes, SharedBytes};
use super::scan::find_all;
use crate::error::Error;
use scxray_core::zerocopy::{FromBytes, IntoBytes};
use scxray_core::{FlatImage, MemError, PhysAddr, PhysMem};
use std::path::Path;

/// A memory-mapped raw image whose first byte is guest-physical `base`.
#[derive(Debug)]
pub struct RawImage {
    map: Bytes,
    base: u64,
}

impl RawImage {
    /// [`PhysMem::in_place`]'s bytes, held beyond this borrow ([`Bytes::share`]).
    pub(crate) fn share(&self, pa: PhysAddr, len: usize) -> Option<SharedBytes> {
        let start = usize::try_from(pa.0.checked_sub(self.base)?).ok()?;
        self.map.share(start..start.checked_add(len)?)
    }

    /// Maps `path` read-only. The file may change under us (a live guest): reads then see
    /// torn values, which the walkers treat as the hostile input they are.
    pub fn open(path: &Path, base: u64) -> Result<Self, Error> {
        Ok(Self { map: Bytes::map_file(path)?, base })
    }

    /// A copy of an image held in memory whose first byte is guest-physical `base`.
    pub fn from_bytes(bytes: &[u8], base: u64) -> Self {
        Self { map: Bytes::copied(bytes), base }
    }

    /// Guest-physical address of the first byte.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Bytes mapped.
    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The end of backed memory.
    pub fn phys_end(&self) -> u64 {
        self.base.saturating_add(self.len())
    }

    pub(crate) fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        find_all(&self.map, needle, max).into_iter().map(|o| self.base + o as u64).collect()
    }
}

impl PhysMem for RawImage {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        FlatImage::new(PhysAddr(self.base), &self.map).read(pa, buf)
    }
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        FlatImage::new(PhysAddr(self.base), &self.map).read_obj(pa)
    }
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        FlatImage::new(PhysAddr(self.base), &self.map).slice(pa, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_memory_raw_image_reads_from_its_base() {
        let img = RawImage::from_bytes(&(0..=255u8).collect::<Vec<_>>(), 0x10_0000);
        assert_eq!((img.base(), img.len(), img.phys_end()), (0x10_0000, 256, 0x10_0100));
        assert_eq!(img.read_le::<u32>(PhysAddr(0x10_0004)), Ok(0x0706_0504));
        assert!(img.read_le::<u32>(PhysAddr(0x10_00fe)).is_err());
        assert!(img.read_le::<u8>(PhysAddr(0xf_ffff)).is_err());
        assert_eq!(img.scan(&[9, 10], 4), vec![0x10_0009]);
    }
}
