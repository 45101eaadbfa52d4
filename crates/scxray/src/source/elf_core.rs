//! ELF cores: QEMU `dump-guest-memory` output and kdump `/proc/vmcore` copies. PT_LOAD
//! segments are indexed by physical address and read from a read-only memory map, never
//! copied into RAM as a whole.

use super::bytes::Bytes;
use super::find_all;
use crate::error::Error;
use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::path::{Path, PathBuf};

/// One PT_LOAD segment: `len` bytes of guest-physical memory from `pa` at file `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    pa: u64,
    len: u64,
    offset: u64,
}

/// What one vCPU's note says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CpuNote {
    /// Program counter (RIP / PC), from NT_PRSTATUS.
    pub pc: Option<u64>,
    /// CR3 (x86_64, from QEMU's "QEMU" note).
    pub cr3: Option<u64>,
    /// CR4 (x86_64, from QEMU's "QEMU" note).
    pub cr4: Option<u64>,
}

/// An ELF core file.
#[derive(Debug)]
pub struct ElfCore {
    path: PathBuf,
    map: Bytes,
    segments: Vec<Segment>,
    /// `e_machine`: `EM_X86_64` or `EM_AARCH64` for the guests scxray reads.
    pub machine: u16,
    /// The VMCOREINFO note's text, when the core carries one.
    pub vmcoreinfo: Option<String>,
    /// Per-vCPU state from the notes, in note order.
    pub cpus: Vec<CpuNote>,
}

/// Offset of `cr[0]` in QEMU's x86 `QEMUCPUState` note: version, size (2 x u32), 18 general
/// registers with rip and rflags (u64), 10 segment descriptors of 24 bytes.
const QEMU_X86_CR0: usize = 8 + 18 * 8 + 10 * 24;

fn read_u64_le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

impl ElfCore {
    /// Opens and indexes an ELF core (mapped read-only, never read into RAM as a whole).
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::index(path, Bytes::map_file(path)?)
    }

    /// Indexes an ELF core held in memory (`path` only names it in messages).
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Self, Error> {
        Self::index(path, Bytes::Owned(bytes))
    }

    fn index(path: &Path, map: Bytes) -> Result<Self, Error> {
        let bad = |what: String| Error::BadInput(format!("{}: {what}", path.display()));
        let data: &[u8] = &map;
        let header = elf::FileHeader64::<Endianness>::parse(data)
            .map_err(|e| bad(format!("not a 64-bit ELF core: {e}")))?;
        let endian = header.endian().map_err(|e| bad(format!("ELF header: {e}")))?;
        if endian != Endianness::Little {
            return Err(bad("big-endian ELF core: scxray reads little-endian guests".into()));
        }
        if header.e_type(endian) != elf::ET_CORE {
            return Err(bad(format!(
                "ELF type {} is not a core (ET_CORE); is this a vmlinux passed as MEMORY?",
                header.e_type(endian)
            )));
        }
        let phdrs = header.program_headers(endian, data).map_err(|e| bad(format!("program headers: {e}")))?;
        let mut segments = Vec::new();
        let mut vmcoreinfo = None;
        let mut cpus: Vec<CpuNote> = Vec::new();
        let mut qemu_notes = 0usize;
        for (i, ph) in phdrs.iter().enumerate() {
            match ph.p_type(endian) {
                elf::PT_LOAD => {
                    let (pa, off, filesz) = (ph.p_paddr(endian), ph.p_offset(endian), ph.p_filesz(endian));
                    let end = off.checked_add(filesz);
                    if end.is_none_or(|e| e > data.len() as u64) {
                        return Err(bad(format!(
                            "PT_LOAD #{i} (physical {pa:#x}, {filesz} bytes at file offset {off:#x}) runs past \
                             the end of the file ({} bytes): truncated dump?",
                            data.len()
                        )));
                    }
                    if filesz > 0 {
                        segments.push(Segment { pa, len: filesz, offset: off });
                    }
                }
                elf::PT_NOTE => {
                    let Ok(Some(mut notes)) = ph.notes(endian, data) else {
                        return Err(bad(format!("PT_NOTE #{i} is malformed")));
                    };
                    while let Ok(Some(note)) = notes.next() {
                        let (name, ty, desc) = (note.name(), note.n_type(endian), note.desc());
                        match (name, ty) {
                            (b"VMCOREINFO", _) => {
                                vmcoreinfo =
                                    Some(String::from_utf8_lossy(desc).trim_end_matches('\0').to_owned());
                            }
                            (b"CORE", elf::NT_PRSTATUS) => {
                                cpus.push(CpuNote {
                                    pc: prstatus_pc(header.e_machine(endian), desc),
                                    ..CpuNote::default()
                                });
                            }
                            (b"QEMU", 0) => {
                                // One per vCPU, after the NT_PRSTATUS notes.
                                if let Some(cpu) = cpus.get_mut(qemu_notes) {
                                    cpu.cr3 = read_u64_le(desc, QEMU_X86_CR0 + 3 * 8);
                                    cpu.cr4 = read_u64_le(desc, QEMU_X86_CR0 + 4 * 8);
                                }
                                qemu_notes += 1;
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if segments.is_empty() {
            return Err(bad("no PT_LOAD segment: the core holds no memory".into()));
        }
        segments.sort_by_key(|s| s.pa);
        Ok(Self { path: path.to_owned(), machine: header.e_machine(endian), map, segments, vmcoreinfo, cpus })
    }

    /// The file this core was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The end of the highest segment.
    pub fn phys_end(&self) -> u64 {
        self.segments.iter().map(|s| s.pa.saturating_add(s.len)).max().unwrap_or(0)
    }

    /// Every segment as `(pa, len)`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.segments.iter().map(|s| (s.pa, s.len)).collect()
    }

    /// Short description for `scxray info`.
    pub fn describe(&self) -> String {
        let total: u64 = self.segments.iter().map(|s| s.len).sum();
        let arch = match self.machine {
            elf::EM_X86_64 => "x86_64",
            elf::EM_AARCH64 => "aarch64",
            _ => "unknown machine",
        };
        format!(
            "ELF core ({arch}), {} PT_LOAD segments, {} MiB, {} vCPU notes, VMCOREINFO {}",
            self.segments.len(),
            total >> 20,
            self.cpus.len(),
            if self.vmcoreinfo.is_some() { "note present" } else { "note absent" }
        )
    }

    fn segment(&self, pa: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.pa <= pa).checked_sub(1)?;
        self.segments.get(i).filter(|s| pa - s.pa < s.len)
    }

    pub(crate) fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        let mut out = Vec::new();
        for s in &self.segments {
            let Some(bytes) = self.map.get(s.offset as usize..(s.offset + s.len) as usize) else { continue };
            out.extend(find_all(bytes, needle, max - out.len()).into_iter().map(|o| s.pa + o as u64));
            if out.len() >= max {
                break;
            }
        }
        out
    }
}

/// The program counter in an NT_PRSTATUS descriptor: `elf_prstatus` has 112 bytes before
/// `pr_reg` on 64-bit Linux; RIP is register 16 on x86_64, PC is register 32 on aarch64.
fn prstatus_pc(machine: u16, desc: &[u8]) -> Option<u64> {
    let reg = match machine {
        elf::EM_X86_64 => 16,
        elf::EM_AARCH64 => 32,
        _ => return None,
    };
    read_u64_le(desc, 112 + reg * 8)
}

impl PhysMem for ElfCore {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        // A read may span adjacent segments: copy piecewise.
        let mut done = 0usize;
        while done < buf.len() {
            let at =
                pa.0.checked_add(done as u64).ok_or(MemError::NotBacked { pa, len: buf.len() as u64 })?;
            let seg = self.segment(at).ok_or(MemError::NotBacked { pa, len: buf.len() as u64 })?;
            let in_seg = seg.len - (at - seg.pa);
            let n = (buf.len() - done).min(usize::try_from(in_seg).unwrap_or(usize::MAX));
            let from =
                usize::try_from(seg.offset + (at - seg.pa)).map_err(|_| MemError::Unavailable { pa })?;
            let src = self.map.get(from..from + n).ok_or(MemError::Unavailable { pa })?;
            buf[done..done + n].copy_from_slice(src);
            done += n;
        }
        Ok(())
    }
}
