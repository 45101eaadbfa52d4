//! ELF cores: QEMU `dump-guest-memory` output and kdump `/proc/vmcore` copies. PT_LOAD
//! segments are indexed by physical address and read from a read-only memory map, never
//! copied into RAM as a whole.

use super::bytes::{Bytes, SharedBytes};
use super::scan::find_all;
use crate::error::Error;
use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::path::{Path, PathBuf};
use zerocopy::{FromBytes, IntoBytes};

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

    /// Indexes a copy of an ELF core held in memory (`path` only names it in messages).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        Self::index(path, Bytes::copied(bytes))
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
                    if pa.checked_add(filesz).is_none() {
                        // Every address computed in the segment would wrap (found by fuzzing:
                        // `scan` overflowed on a segment at 0xffff_ffff_ffff_fffa).
                        return Err(bad(format!(
                            "PT_LOAD #{i} (physical {pa:#x}, {filesz} bytes) runs past the top of the \
                             physical address space"
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

    /// Where the `len` bytes at `pa` lie in the file, when one segment holds them all.
    fn file_range(&self, pa: PhysAddr, len: usize) -> Option<std::ops::Range<usize>> {
        let seg = self.segment(pa.get())?;
        let start = seg.offset.checked_add(pa.get() - seg.pa)?;
        let end = start.checked_add(u64::try_from(len).ok()?)?;
        if end > seg.offset.saturating_add(seg.len) {
            return None;
        }
        Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// [`PhysMem::in_place`]'s bytes, held beyond this borrow ([`Bytes::share`]).
    pub(crate) fn share(&self, pa: PhysAddr, len: usize) -> Option<SharedBytes> {
        self.map.share(self.file_range(pa, len)?)
    }

    fn segment(&self, pa: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.pa <= pa).checked_sub(1)?;
        self.segments.get(i).filter(|s| pa - s.pa < s.len)
    }

    pub(crate) fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        let mut out = Vec::new();
        for s in &self.segments {
            let Some(bytes) = self.map.get(s.offset as usize..(s.offset + s.len) as usize) else { continue };
            // `pa + len` fits in u64 (checked when indexing), so no hit's address wraps.
            out.extend(
                find_all(bytes, needle, max - out.len()).into_iter().map(|o| s.pa.saturating_add(o as u64)),
            );
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
                pa.checked_add(done as u64).ok_or(MemError::NotBacked { pa, len: buf.len() as u64 })?.get();
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

    /// In place when the value lies inside one segment (the common case): decoded from the
    /// mapped bytes, with no copy through a zeroed buffer and no call to `memcpy` for a few
    /// bytes. A value across segments, or one that cannot be read, goes through `read`
    /// (whose errors these are).
    fn read_obj<T: FromBytes + IntoBytes>(&self, pa: PhysAddr) -> Result<T, MemError> {
        let in_place = self.segment(pa.get()).and_then(|seg| {
            let start = seg.offset.checked_add(pa.get() - seg.pa)?;
            let end = start.checked_add(size_of::<T>() as u64)?;
            if end > seg.offset.saturating_add(seg.len) {
                return None;
            }
            let bytes = self.map.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)?;
            T::read_from_bytes(bytes).ok()
        });
        match in_place {
            Some(v) => Ok(v),
            None => {
                let mut v = T::new_zeroed();
                self.read(pa, v.as_mut_bytes())?;
                Ok(v)
            }
        }
    }

    /// Inside one segment: a slice of the map.
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        self.map.get(self.file_range(pa, len)?)
    }
}

#[cfg(test)]
mod tests {
    //! Parsing and reading in-memory cores: the code `open` runs on a mapped file, here on a
    //! `Vec` (so these run under Miri, which cannot `mmap`).
    use super::*;

    fn note(out: &mut Vec<u8>, name: &[u8], ty: u32, desc: &[u8]) {
        out.extend_from_slice(&u32::try_from(name.len() + 1).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(desc.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(desc);
        out.resize(out.len().next_multiple_of(4), 0);
    }

    /// An x86_64 core: a PT_NOTE (NT_PRSTATUS with RIP, VMCOREINFO, a QEMU note with CR3/CR4)
    /// and PT_LOAD segments `(pa, bytes)`.
    fn core(loads: &[(u64, &[u8])]) -> Vec<u8> {
        let mut prstatus = vec![0u8; 336];
        prstatus[112 + 16 * 8..112 + 17 * 8].copy_from_slice(&0xffff_ffff_8100_1234u64.to_le_bytes());
        let mut qemu = vec![0u8; QEMU_X86_CR0 + 5 * 8];
        qemu[QEMU_X86_CR0 + 24..QEMU_X86_CR0 + 32].copy_from_slice(&0x1234_5000u64.to_le_bytes());
        qemu[QEMU_X86_CR0 + 32..QEMU_X86_CR0 + 40].copy_from_slice(&0x1000u64.to_le_bytes());
        let mut notes = Vec::new();
        note(&mut notes, b"CORE", elf::NT_PRSTATUS, &prstatus);
        note(&mut notes, b"VMCOREINFO", 0, b"OSRELEASE=7.3.0\nPAGESIZE=4096\n\0");
        note(&mut notes, b"QEMU", 0, &qemu);
        let phnum = 1 + loads.len();
        let mut off = 64 + 56 * phnum as u64;
        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        out.extend_from_slice(&elf::ET_CORE.to_le_bytes());
        out.extend_from_slice(&elf::EM_X86_64.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for v in [0u64, 64, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        for v in [64u16, 56, u16::try_from(phnum).unwrap(), 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut phdr = |ty: u32, pa: u64, len: u64, off: u64| {
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            for v in [off, 0, pa, len, len, 0] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        };
        phdr(elf::PT_NOTE, 0, notes.len() as u64, off);
        off += notes.len() as u64;
        for (pa, bytes) in loads {
            phdr(elf::PT_LOAD, *pa, bytes.len() as u64, off);
            off += bytes.len() as u64;
        }
        out.extend_from_slice(&notes);
        for (_, bytes) in loads {
            out.extend_from_slice(bytes);
        }
        out
    }

    #[test]
    fn an_in_memory_core_is_indexed_and_read_like_a_mapped_one() {
        let low: Vec<u8> = (0..64u8).collect();
        let high = [0xaau8; 32];
        let c = ElfCore::from_bytes(&core(&[(0x2000, &high), (0x1000, &low)]), Path::new("mem")).unwrap();
        assert_eq!(c.machine, elf::EM_X86_64);
        assert_eq!(c.ranges(), vec![(0x1000, 64), (0x2000, 32)], "sorted by address");
        assert_eq!(c.phys_end(), 0x2020);
        assert_eq!(c.vmcoreinfo.as_deref(), Some("OSRELEASE=7.3.0\nPAGESIZE=4096\n"));
        assert_eq!(
            c.cpus,
            vec![CpuNote { pc: Some(0xffff_ffff_8100_1234), cr3: Some(0x1234_5000), cr4: Some(0x1000) }]
        );
        assert_eq!(c.read_le::<u64>(PhysAddr(0x1008)), Ok(0x0f0e_0d0c_0b0a_0908));
        assert_eq!(c.read_le::<u8>(PhysAddr(0x201f)), Ok(0xaa));
        // The hole between the segments, the end, and the top of the address space.
        assert!(c.read_le::<u64>(PhysAddr(0x103c)).is_err(), "straddles the end of a segment into a hole");
        assert!(c.read_le::<u8>(PhysAddr(0x1800)).is_err());
        assert!(c.read_le::<u8>(PhysAddr(0x2020)).is_err());
        assert!(c.read_le::<u64>(PhysAddr(u64::MAX - 3)).is_err());
        assert_eq!(crate::source::Memory::Elf(c).scan(&[0xaa, 0xaa], 3), vec![0x2000, 0x2001, 0x2002]);
    }

    #[test]
    fn a_read_spans_adjacent_segments() {
        let a = [1u8; 16];
        let b = [2u8; 16];
        let c = ElfCore::from_bytes(&core(&[(0x1000, &a), (0x1010, &b)]), Path::new("mem")).unwrap();
        let mut buf = [0u8; 8];
        c.read(PhysAddr(0x100c), &mut buf).unwrap();
        assert_eq!(buf, [1, 1, 1, 1, 2, 2, 2, 2]);
        // The typed read, in place inside a segment, agrees with `read` everywhere: across
        // the two segments, at their edges, past the end.
        for pa in 0xff8..0x1028 {
            let mut buf = [0u8; 8];
            let read = c.read(PhysAddr(pa), &mut buf).map(|()| u64::from_le_bytes(buf));
            assert_eq!(c.read_le::<u64>(PhysAddr(pa)), read, "at {pa:#x}");
        }
        assert_eq!(c.read_le::<u64>(PhysAddr(0x100c)), Ok(0x0202_0202_0101_0101));
        // A borrow in place is the bytes `read` fills in, inside one segment only (a range
        // across two adjacent segments is read, not borrowed: they need not be adjacent in
        // the file).
        let bytes = core(&[(0x1000, &a), (0x1010, &b)]);
        let memory = crate::source::Memory::Elf(ElfCore::from_bytes(&bytes, Path::new("mem")).unwrap());
        for pa in 0xff8..0x1028 {
            for len in 0..12usize {
                let mut buf = [0u8; 12];
                let read = c.read(PhysAddr(pa), &mut buf[..len]).is_ok().then_some(&buf[..len]);
                let one_segment =
                    [0x1000, 0x1010].iter().any(|&s| (s..s + 16).contains(&pa) && pa + len as u64 <= s + 16);
                let want = if one_segment { read } else { None };
                assert_eq!(c.in_place(PhysAddr(pa), len), want, "at {pa:#x} len {len}");
                assert_eq!(memory.in_place(PhysAddr(pa), len), want, "through Memory at {pa:#x} len {len}");
            }
        }
    }

    #[test]
    fn damaged_cores_are_bad_input_not_panics() {
        let good = core(&[(0x1000, &[7u8; 64])]);
        // Every truncation of a good core.
        for len in 0..good.len() {
            let _ = ElfCore::from_bytes(&good[..len], Path::new("cut"));
        }
        // A PT_LOAD running past the end of the file.
        let mut bad = good.clone();
        let filesz_at = 64 + 56 + 32;
        bad[filesz_at..filesz_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = ElfCore::from_bytes(&bad, Path::new("bad")).unwrap_err();
        assert!(e.to_string().contains("runs past the end of the file"), "{e}");
        // A segment whose physical range wraps past 2^64 (fuzzing found `scan` overflowing
        // on one at 0xffff_ffff_ffff_fffa).
        let wraps = core(&[(0xffff_ffff_ffff_fffa, &[0xaa; 64])]);
        let e = ElfCore::from_bytes(&wraps, Path::new("wraps")).unwrap_err();
        assert!(e.to_string().contains("top of the physical address space"), "{e}");
        // One that ends just below 2^64 is indexed and read.
        let top = core(&[(u64::MAX - 64, &[0xaa; 64])]);
        let c = ElfCore::from_bytes(&top, Path::new("top")).unwrap();
        assert_eq!(c.phys_end(), u64::MAX);
        assert_eq!(c.read_le::<u8>(PhysAddr(u64::MAX - 1)), Ok(0xaa));
        assert!(c.read_le::<u8>(PhysAddr(u64::MAX)).is_err());
        assert_eq!(crate::source::Memory::Elf(c).scan(&[0xaa], 1), vec![u64::MAX - 64]);
        // Not a core.
        let mut exec = good;
        exec[16] = 2;
        assert!(ElfCore::from_bytes(&exec, Path::new("exec")).is_err());
    }
}
