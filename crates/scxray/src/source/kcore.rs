//! The running Linux host's own memory through `/proc/kcore`: an ELF core whose `PT_LOAD`
//! segments are by kernel virtual address. The direct-map (`KCORE_RAM`) and kernel-text
//! segments carry their physical address in `p_paddr`; vmalloc, module and other segments
//! carry `-1` and are left out: the walkers translate through the page tables themselves and
//! read physical memory only. Read with `pread`, never mapped (the file is not mappable and
//! its size is that of the kernel's address space).

use super::scan::ChunkScan;
use super::{CpuNote, notes};
use crate::error::Error;
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Largest note segment read.
const MAX_NOTES: u64 = 16 << 20;

/// One physically addressed segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    pa: u64,
    len: u64,
    offset: u64,
}

/// `/proc/kcore` (or a file laid out like it).
#[derive(Debug)]
pub struct Kcore {
    path: PathBuf,
    file: File,
    segments: Vec<Segment>,
    /// `e_machine`.
    pub machine: u16,
    /// The VMCOREINFO note (Linux 4.19+ puts the kernel's own in /proc/kcore).
    pub vmcoreinfo: Option<String>,
    /// NT_PRSTATUS notes (kcore's carry no registers).
    pub cpus: Vec<CpuNote>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map_or(0, u32::from_le_bytes)
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map_or(0, u64::from_le_bytes)
}

impl Kcore {
    /// Opens and indexes `path` (normally `/proc/kcore`).
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::BadInput(format!(
                "{}: not found: this kernel has no /proc/kcore (CONFIG_PROC_KCORE is off, or a container \
                 hides it); reading the running host needs it",
                path.display()
            )),
            std::io::ErrorKind::PermissionDenied => Error::BadInput(format!(
                "{}: permission denied: reading the running kernel's memory needs root (CAP_SYS_RAWIO)",
                path.display()
            )),
            _ => Error::io(path, e),
        })?;
        let bad = |what: String| Error::BadInput(format!("{}: {what}", path.display()));
        let mut eh = [0u8; 64];
        file.read_exact_at(&mut eh, 0).map_err(|e| Error::io(path, e))?;
        if &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
            return Err(bad("not a little-endian ELF64 file".into()));
        }
        let machine = u16_at(&eh, 18);
        let phoff = u64_at(&eh, 32);
        let phentsize = u64::from(u16_at(&eh, 54));
        let phnum = u64::from(u16_at(&eh, 56));
        if phentsize < 56 || phnum == 0 || phentsize > 256 {
            return Err(bad(format!("{phnum} program headers of {phentsize} bytes")));
        }
        let mut ph =
            vec![0u8; usize::try_from(phentsize * phnum).map_err(|_| bad("program headers".into()))?];
        file.read_exact_at(&mut ph, phoff).map_err(|e| Error::io(path, e))?;
        let mut segments = Vec::new();
        let mut notes_blob = Vec::new();
        for p in ph.chunks_exact(phentsize as usize) {
            let (ty, offset, paddr, filesz) = (u32_at(p, 0), u64_at(p, 8), u64_at(p, 24), u64_at(p, 32));
            match ty {
                1 if paddr != u64::MAX && filesz > 0 && paddr.checked_add(filesz).is_some() => {
                    segments.push(Segment { pa: paddr, len: filesz, offset });
                }
                4 if filesz <= MAX_NOTES => {
                    let mut b = vec![0u8; filesz as usize];
                    if file.read_exact_at(&mut b, offset).is_ok() {
                        notes_blob.extend_from_slice(&b);
                    }
                }
                _ => {}
            }
        }
        // The kernel text lies inside a RAM segment: keep only segments no other one contains.
        let all = segments.clone();
        segments.retain(|s| {
            !all.iter().any(|o| o != s && o.pa <= s.pa && s.pa + s.len <= o.pa + o.len && o.len > s.len)
        });
        segments.sort_by_key(|s| s.pa);
        segments.dedup_by_key(|s| s.pa);
        if segments.is_empty() {
            return Err(bad("no physically addressed PT_LOAD segment (no p_paddr)".into()));
        }
        let parsed = notes::parse(machine, &notes_blob);
        Ok(Self {
            path: path.to_owned(),
            file,
            segments,
            machine,
            vmcoreinfo: parsed.vmcoreinfo,
            cpus: parsed.cpus,
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The end of the highest segment.
    pub fn phys_end(&self) -> u64 {
        self.segments.iter().map(|s| s.pa + s.len).max().unwrap_or(0)
    }

    /// Every segment as `(pa, len)`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.segments.iter().map(|s| (s.pa, s.len)).collect()
    }

    /// Short description for `scxray info`.
    pub fn describe(&self) -> String {
        let total: u64 = self.segments.iter().map(|s| s.len).sum();
        format!(
            "live host memory via {}, {} physical segments, {} MiB, VMCOREINFO {}",
            self.path.display(),
            self.segments.len(),
            total >> 20,
            if self.vmcoreinfo.is_some() { "note present" } else { "note absent" }
        )
    }

    fn segment(&self, pa: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.pa <= pa).checked_sub(1)?;
        self.segments.get(i).filter(|s| pa - s.pa < s.len)
    }

    pub(crate) fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        let mut scan = ChunkScan::new(needle, max);
        let mut buf = vec![0u8; 1 << 20];
        'segments: for s in &self.segments {
            let mut at = 0u64;
            while at < s.len {
                let n = (s.len - at).min(buf.len() as u64) as usize;
                if self.file.read_exact_at(&mut buf[..n], s.offset + at).is_err() {
                    scan.gap();
                } else if !scan.feed(s.pa + at, &buf[..n]) {
                    break 'segments;
                }
                at += n as u64;
            }
        }
        scan.finish()
    }
}

impl PhysMem for Kcore {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at =
                pa.checked_add(done as u64).ok_or(MemError::NotBacked { pa, len: buf.len() as u64 })?.get();
            let seg = self.segment(at).ok_or(MemError::NotBacked { pa, len: buf.len() as u64 })?;
            let n = (buf.len() - done).min(usize::try_from(seg.len - (at - seg.pa)).unwrap_or(usize::MAX));
            self.file
                .read_exact_at(&mut buf[done..done + n], seg.offset + (at - seg.pa))
                .map_err(|_| MemError::Unavailable { pa: PhysAddr(at) })?;
            done += n;
        }
        Ok(())
    }
}
