//! Memory sources: where guest-physical bytes come from. All implement `PhysMem`.

pub mod bytes;
pub mod elf_core;
pub mod raw;

use scxray_core::{MemError, PhysAddr, PhysMem};
use std::path::Path;

pub use bytes::Bytes;
pub use elf_core::{CpuNote, ElfCore};
pub use raw::RawImage;

use crate::error::Error;

/// Any memory source the CLI can open.
#[derive(Debug)]
pub enum Memory {
    /// An ELF core: QEMU `dump-guest-memory` output, a kdump `/proc/vmcore` copy.
    Elf(ElfCore),
    /// A raw image of guest RAM (a file, or a live `memory-backend-file,share=on` path).
    Raw(RawImage),
}

impl Memory {
    /// Opens `path`: an ELF core when it starts with the ELF magic, else a raw image at
    /// physical `raw_base`.
    pub fn open(path: &Path, raw_base: u64) -> Result<Self, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut magic = [0u8; 4];
        let n = std::io::Read::read(&mut &file, &mut magic).map_err(|e| Error::io(path, e))?;
        if n == 4 && magic == *b"\x7fELF" {
            Ok(Self::Elf(ElfCore::open(path)?))
        } else if n >= 4 && &magic == b"KDUM" {
            Err(Error::BadInput(format!(
                "{}: a kdump-compressed (makedumpfile) core; this build reads ELF cores and raw images",
                path.display()
            )))
        } else {
            Ok(Self::Raw(RawImage::open(path, raw_base)?))
        }
    }

    /// The highest physical address backed, plus one.
    pub fn phys_end(&self) -> u64 {
        match self {
            Self::Elf(e) => e.phys_end(),
            Self::Raw(r) => r.phys_end(),
        }
    }

    /// Every backed physical range, as `(start, len)`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        match self {
            Self::Elf(e) => e.ranges(),
            Self::Raw(r) => vec![(r.base(), r.len())],
        }
    }

    /// Short description for `scxray info`.
    pub fn describe(&self) -> String {
        match self {
            Self::Elf(e) => e.describe(),
            Self::Raw(r) => format!("raw image, {} MiB at physical {:#x}", r.len() >> 20, r.base()),
        }
    }

    /// The ELF core, when this is one.
    pub fn elf(&self) -> Option<&ElfCore> {
        match self {
            Self::Elf(e) => Some(e),
            Self::Raw(_) => None,
        }
    }

    /// Scans every backed byte for `needle`; returns the physical address of each hit (at most
    /// `max`). Used to find VMCOREINFO's text when a core carries no note.
    pub fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        match self {
            Self::Elf(e) => e.scan(needle, max),
            Self::Raw(r) => r.scan(needle, max),
        }
    }
}

impl PhysMem for Memory {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        match self {
            Self::Elf(e) => e.read(pa, buf),
            Self::Raw(r) => r.read(pa, buf),
        }
    }
}

/// Finds every occurrence of `needle` in `hay`, at most `max`.
pub(crate) fn find_all(hay: &[u8], needle: &[u8], max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    // SIMD substring search (a 512 MiB guest in tens of milliseconds); overlapping hits count.
    let finder = memchr::memmem::Finder::new(needle);
    let mut i = 0;
    while out.len() < max {
        let Some(p) = hay.get(i..).and_then(|h| finder.find(h)) else { break };
        out.push(i + p);
        i += p + 1;
    }
    out
}
