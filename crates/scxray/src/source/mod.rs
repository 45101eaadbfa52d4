//! Memory sources: where guest-physical bytes come from. All implement `PhysMem`.

pub mod bytes;
pub mod elf_core;
pub mod kcore;
pub mod kdump;
pub mod lzo;
pub mod notes;
pub mod qemu;
pub mod raw;
mod scan;
#[cfg(feature = "vm-memory")]
pub mod vm_memory;
pub mod vmcoreinfo;

use scxray_core::zerocopy::{FromBytes, IntoBytes};
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::path::Path;

pub use bytes::Bytes;
pub use elf_core::{CpuNote, ElfCore};
pub use kcore::Kcore;
pub use kdump::KdumpCore;
pub use qemu::{AttachSpec, GuestProcess};
pub use raw::RawImage;
pub use vmcoreinfo::VmcoreInfo;

use crate::error::Error;

/// Any memory source the CLI can open.
#[derive(Debug)]
pub enum Memory {
    /// An ELF core: QEMU `dump-guest-memory` output, a kdump `/proc/vmcore` copy.
    Elf(ElfCore),
    /// A raw image of guest RAM (a file, or a live `memory-backend-file,share=on` path).
    Raw(RawImage),
    /// A kdump-compressed core (makedumpfile, QEMU `kdump-*` formats).
    Kdump(Box<KdumpCore>),
    /// The running host's memory (`/proc/kcore`).
    Live(Kcore),
    /// A running VM's RAM read from its VMM process (`--qemu`, `--qmp`, `--ram`).
    Process(Box<GuestProcess>),
}

impl Memory {
    /// Opens `path`: an ELF core when it starts with the ELF magic, else a raw image at
    /// physical `raw_base`.
    pub fn open(path: &Path, raw_base: u64) -> Result<Self, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut magic = [0u8; 16];
        let n = std::io::Read::read(&mut &file, &mut magic).map_err(|e| Error::io(path, e))?;
        if n >= 4 && magic[..4] == *b"\x7fELF" {
            Ok(Self::Elf(ElfCore::open(path)?))
        } else if kdump::is_kdump(&magic[..n]) {
            Ok(Self::Kdump(Box::new(KdumpCore::open(path)?)))
        } else {
            Ok(Self::Raw(RawImage::open(path, raw_base)?))
        }
    }

    /// Attaches to a running VM (see [`qemu`]).
    pub fn attach(spec: &AttachSpec) -> Result<Self, Error> {
        Ok(Self::Process(Box::new(GuestProcess::attach(spec)?)))
    }

    /// Whether the memory changes while it is read (a running VM, the running host): a watch
    /// samples it again and again; a dump gives one sample.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Process(_) | Self::Live(_))
    }

    /// Drops what was cached of a running guest's memory: the next read sees it as it is now.
    pub fn forget(&self) {
        if let Self::Process(p) = self {
            p.forget();
        }
    }

    /// The highest physical address backed, plus one.
    pub fn phys_end(&self) -> u64 {
        match self {
            Self::Elf(e) => e.phys_end(),
            Self::Raw(r) => r.phys_end(),
            Self::Kdump(k) => k.phys_end(),
            Self::Live(k) => k.phys_end(),
            Self::Process(p) => p.memory().phys_end(),
        }
    }

    /// Every backed physical range, as `(start, len)`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        match self {
            Self::Elf(e) => e.ranges(),
            Self::Raw(r) => vec![(r.base(), r.len())],
            Self::Kdump(k) => k.ranges(),
            Self::Live(k) => k.ranges(),
            Self::Process(p) => p.ranges(),
        }
    }

    /// Short description for `scxray info`.
    pub fn describe(&self) -> String {
        match self {
            Self::Elf(e) => e.describe(),
            Self::Raw(r) => format!("raw image, {} MiB at physical {:#x}", r.len() >> 20, r.base()),
            Self::Kdump(k) => k.describe(),
            Self::Live(k) => k.describe(),
            Self::Process(p) => p.describe(),
        }
    }

    /// The ELF core, when this is one.
    pub fn elf(&self) -> Option<&ElfCore> {
        match self {
            Self::Elf(e) => Some(e),
            Self::Raw(_) | Self::Kdump(_) | Self::Live(_) | Self::Process(_) => None,
        }
    }

    /// The VMCOREINFO text the dump carries (ELF note, kdump sub-header), if any.
    pub fn vmcoreinfo_note(&self) -> Option<&str> {
        match self {
            Self::Elf(e) => e.vmcoreinfo.as_deref(),
            Self::Kdump(k) => k.vmcoreinfo.as_deref(),
            Self::Raw(_) => None,
            Self::Live(k) => k.vmcoreinfo.as_deref(),
            Self::Process(p) => p.vmcoreinfo.as_ref().map(|(_, t)| t.as_str()),
        }
    }

    /// The dump's machine (`EM_X86_64`, `EM_AARCH64`), when it says; 0 or `None` when not.
    pub fn machine(&self) -> Option<u16> {
        match self {
            Self::Elf(e) => Some(e.machine),
            Self::Kdump(k) => Some(k.machine),
            Self::Raw(_) => None,
            Self::Live(k) => Some(k.machine),
            Self::Process(p) => p.machine,
        }
    }

    /// Per-vCPU state from the dump's notes.
    pub fn cpu_notes(&self) -> &[CpuNote] {
        match self {
            Self::Elf(e) => &e.cpus,
            Self::Kdump(k) => &k.cpus,
            Self::Raw(_) | Self::Process(_) => &[],
            Self::Live(k) => &k.cpus,
        }
    }

    /// Scans every backed byte for `needle`; returns the physical address of each hit (at most
    /// `max`). Used to find VMCOREINFO's text when a core carries no note.
    pub fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        match self {
            Self::Elf(e) => e.scan(needle, max),
            Self::Raw(r) => r.scan(needle, max),
            Self::Kdump(k) => k.scan(needle, max),
            Self::Live(k) => k.scan(needle, max),
            Self::Process(p) => p.scan(needle, max),
        }
    }
}

impl Memory {
    /// The `len` bytes at `pa`, shared with the mapped source for as long as the result lives
    /// ([`bytes::SharedBytes`]): what [`PhysMem::in_place`] lends, not tied to this borrow.
    /// `None` where `in_place` has nothing to lend.
    pub fn share(&self, pa: PhysAddr, len: usize) -> Option<bytes::SharedBytes> {
        match self {
            Self::Elf(e) => e.share(pa, len),
            Self::Raw(r) => r.share(pa, len),
            Self::Kdump(_) | Self::Live(_) | Self::Process(_) => None,
        }
    }
}

impl PhysMem for Memory {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        match self {
            Self::Elf(e) => e.read(pa, buf),
            Self::Raw(r) => r.read(pa, buf),
            Self::Kdump(k) => k.read(pa, buf),
            Self::Live(k) => k.read(pa, buf),
            Self::Process(p) => p.read(pa, buf),
        }
    }
    // Forwarded so that a source's faster typed read (the raw image's) is kept.
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        match self {
            Self::Elf(e) => e.read_obj(pa),
            Self::Raw(r) => r.read_obj(pa),
            Self::Kdump(k) => k.read_obj(pa),
            Self::Live(k) => k.read_obj(pa),
            Self::Process(p) => p.read_obj(pa),
        }
    }
    // The mapped sources lend their bytes; the others copy (kdump pages are decompressed,
    // /proc/kcore and a process are read by system call).
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        match self {
            Self::Elf(e) => e.in_place(pa, len),
            Self::Raw(r) => r.in_place(pa, len),
            Self::Kdump(_) | Self::Live(_) | Self::Process(_) => None,
        }
    }
}
