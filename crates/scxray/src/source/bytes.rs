//! The bytes behind a memory source: a read-only map of a file, or a buffer in memory.
//!
//! This module holds the crate's only `unsafe`: the `mmap` of a dump or a live guest's RAM
//! file. Everything that parses or reads those bytes works on a plain `&[u8]` (see
//! [`Bytes`]), so it is tested on in-memory buffers, under Miri too, which cannot `mmap`.

use crate::error::Error;
use memmap2::Mmap;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use zerocopy::IntoBytes;

/// Read-only bytes of a memory source.
#[derive(Debug, Clone)]
pub enum Bytes {
    /// A read-only memory map of a file.
    Mapped(Arc<Mmap>),
    /// Bytes already in memory (tests, fuzzing, an embedder that has the dump in RAM), held
    /// 8-byte aligned as a map is: the ELF parser reads headers in place and refuses
    /// misaligned ones, and a `Vec<u8>` has no alignment guarantee (Miri gives 1).
    Owned(Arc<Aligned>),
}

/// Bytes in an 8-byte aligned buffer.
#[derive(Debug)]
pub struct Aligned {
    words: Vec<u64>,
    len: usize,
}

impl Bytes {
    /// Maps `path` read-only.
    ///
    /// # Errors
    /// The file cannot be opened or mapped.
    pub fn map_file(path: &Path) -> Result<Self, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: `Mmap::map` is unsafe because the mapped file may change or shrink while
        // mapped. The map is read-only. Guest memory is copied out of it, or borrowed for one
        // task's decode; the kernel's BTF and kallsyms tables are borrowed for the whole run
        // (`SharedBytes`), and those the guest kernel never writes after boot. Nothing that
        // reads these bytes assumes them stable: a file that changes under us (a live
        // guest's RAM file) gives torn values, which every reader, the BTF and kallsyms
        // parsers included, bounds-checks as the hostile input they are. A file truncated
        // under the map would fault (SIGBUS); dump files are not truncated while scxray runs,
        // and QEMU's RAM files never shrink.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Self::Mapped(Arc::new(map)))
    }

    /// A copy of `bytes`, 8-byte aligned.
    pub fn copied(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        if let Some(dst) = words.as_mut_bytes().get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        Self::Owned(Arc::new(Aligned { words, len: bytes.len() }))
    }
}

impl Bytes {
    /// `range` of these bytes, held for as long as the result lives (the map or buffer is
    /// shared, not copied); `None` when `range` runs past the end.
    pub fn share(&self, range: std::ops::Range<usize>) -> Option<SharedBytes> {
        self.get(range.clone())?;
        Some(SharedBytes { bytes: self.clone(), range })
    }
}

/// A range of a source's bytes that keeps the source's map or buffer alive: what a reader
/// of a large region (the kernel's BTF) borrows instead of copying it to the heap.
#[derive(Debug, Clone)]
pub struct SharedBytes {
    bytes: Bytes,
    range: std::ops::Range<usize>,
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes.get(self.range.clone()).unwrap_or_default()
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(m) => m,
            Self::Owned(a) => a.words.as_bytes().get(..a.len).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_bytes_deref_to_the_buffer_8_byte_aligned() {
        // Regression: an owned buffer handed to the ELF parser must be aligned as a map is
        // (under Miri, a Vec<u8> is not, and every in-memory core was "not an ELF core").
        for src in [&[][..], &[1u8, 2, 3][..], &[9u8; 17][..]] {
            let b = Bytes::copied(src);
            assert_eq!(&*b, src);
            assert_eq!(b.as_ptr().align_offset(8), 0);
        }
    }

    // Miri cannot mmap: the mapped case runs natively only.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_mapped_file_derefs_to_its_contents() {
        let path = std::env::temp_dir().join(format!("scxray-bytes-{}", std::process::id()));
        std::fs::write(&path, b"guest ram").unwrap();
        let b = Bytes::map_file(&path).unwrap();
        assert_eq!(&*b, b"guest ram");
        drop(b);
        std::fs::remove_file(&path).unwrap();
        assert!(Bytes::map_file(&path).is_err());
    }
}
