//! The bytes behind a memory source: a read-only map of a file, or a buffer in memory.
//!
//! This module holds the crate's only `unsafe`: the `mmap` of a dump or a live guest's RAM
//! file. Everything that parses or reads those bytes works on a plain `&[u8]` (see
//! [`Bytes`]), so it is tested on in-memory buffers, under Miri too, which cannot `mmap`.

use crate::error::Error;
use memmap2::Mmap;
use std::ops::Deref;
use std::path::Path;

/// Read-only bytes of a memory source.
#[derive(Debug)]
pub enum Bytes {
    /// A read-only memory map of a file.
    Mapped(Mmap),
    /// Bytes already in memory (tests, fuzzing, an embedder that has the dump in RAM).
    Owned(Vec<u8>),
}

impl Bytes {
    /// Maps `path` read-only.
    ///
    /// # Errors
    /// The file cannot be opened or mapped.
    pub fn map_file(path: &Path) -> Result<Self, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: `Mmap::map` is unsafe because the mapped file may change or shrink while
        // mapped. The map is read-only and only ever copied from (never handed out as a
        // long-lived `&[u8]` to code that assumes it is stable): a file that changes under
        // us (a live guest's RAM file) gives torn values, which every reader treats as the
        // hostile input they are. A file truncated under the map would fault (SIGBUS);
        // dump files are not truncated while scxray runs, and QEMU's RAM files never shrink.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Self::Mapped(map))
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(m) => m,
            Self::Owned(v) => v,
        }
    }
}
