//! A synthetic guest written as a kdump-compressed core, as makedumpfile writes one from a
//! `/proc/vmcore` and QEMU's `dump-guest-memory` writes one with `format: kdump-*`: the
//! `disk_dump_header` block, a `kdump_sub_header` with the ELF notes and the VMCOREINFO text
//! after it, both bitmaps, one page descriptor per dumped page, then the page data, every
//! all-zero page sharing one stored zero page. Made from an ELF core the kit wrote (its
//! `PT_LOAD` segments and its `PT_NOTE` blob), so the two files hold the same guest.
//! Optionally in the flattened format (records of `(offset, size)` with data), written out of
//! order and with a record that a later one overwrites.

use crate::elf_core::{CoreFiles, EHDR_SIZE, PHDR_SIZE};
use std::io::Write;

/// How each page is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Raw pages.
    None,
    /// zlib (`DUMP_DH_COMPRESSED_ZLIB`).
    Zlib,
    /// LZO1X (`DUMP_DH_COMPRESSED_LZO`).
    Lzo,
    /// snappy (`DUMP_DH_COMPRESSED_SNAPPY`).
    Snappy,
    /// zstd (`DUMP_DH_COMPRESSED_ZSTD`).
    Zstd,
}

impl Compression {
    /// Every one.
    pub const ALL: [Self; 5] = [Self::None, Self::Zlib, Self::Lzo, Self::Snappy, Self::Zstd];

    /// The descriptor (and header status) flag.
    pub fn flag(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Zlib => 0x1,
            Self::Lzo => 0x2,
            Self::Snappy => 0x4,
            Self::Zstd => 0x20,
        }
    }

    /// Compresses one page; `None` when that does not make it smaller.
    pub fn compress(self, page: &[u8]) -> Option<Vec<u8>> {
        let out = match self {
            Self::None => return None,
            Self::Zlib => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(page).unwrap();
                e.finish().unwrap()
            }
            Self::Lzo => lzokay_native::compress(page).unwrap(),
            Self::Snappy => snap::raw::Encoder::new().compress_vec(page).unwrap(),
            Self::Zstd => {
                ruzstd::encoding::compress_to_vec(page, ruzstd::encoding::CompressionLevel::Fastest)
            }
        };
        (out.len() < page.len()).then_some(out)
    }
}

/// What to write.
#[derive(Debug, Clone)]
pub struct KdumpSpec {
    /// Page compression.
    pub compression: Compression,
    /// Write the flattened format.
    pub flattened: bool,
    /// Physical addresses whose pages are left out of the dump (1st bitmap set, 2nd clear),
    /// as makedumpfile's page filter does.
    pub excluded: Vec<u64>,
    /// utsname.machine.
    pub machine: &'static str,
    /// Carry the ELF notes (else only the VMCOREINFO text, as header version 3 had).
    pub notes: bool,
}

impl Default for KdumpSpec {
    fn default() -> Self {
        Self {
            compression: Compression::Zlib,
            flattened: false,
            excluded: Vec::new(),
            machine: "x86_64",
            notes: true,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The kdump core of the guest in `f` (whose page size is the block size).
pub fn write_kdump(f: &CoreFiles, spec: &KdumpSpec) -> Vec<u8> {
    let core = &f.core;
    // The ELF core's note blob: program header 0.
    let phdr = &core[EHDR_SIZE..EHDR_SIZE + PHDR_SIZE];
    assert_eq!(u32_at(phdr, 0), 4, "PT_NOTE first");
    let (noff, nlen) = (u64_at(phdr, 8) as usize, u64_at(phdr, 32) as usize);
    let segments: Vec<(u64, &[u8])> =
        f.segments.iter().map(|s| (s.pa, &core[s.offset as usize..(s.offset + s.len) as usize])).collect();
    let memory = Memory {
        segments: &segments,
        page: f.scheme.page(),
        notes: &core[noff..noff + nlen],
        vmcoreinfo: &f.vmcoreinfo,
        release: f.vmcoreinfo_release(),
        nr_cpus: f.guest.per_cpu_offsets.len() as u32,
        phys_base: f.scheme.phys_base,
    };
    write_kdump_of(&memory, spec)
}

/// What a kdump core is written from.
#[derive(Debug, Clone, Copy)]
pub struct Memory<'a> {
    /// `(physical address, bytes)`, page-aligned.
    pub segments: &'a [(u64, &'a [u8])],
    /// Page size (the block size).
    pub page: u64,
    /// The ELF note blob.
    pub notes: &'a [u8],
    /// The VMCOREINFO text.
    pub vmcoreinfo: &'a str,
    /// utsname.release.
    pub release: &'a str,
    /// The header's `nr_cpus`.
    pub nr_cpus: u32,
    /// The sub-header's `phys_base`.
    pub phys_base: u64,
}

/// A kdump core of `m`.
pub fn write_kdump_of(m: &Memory<'_>, spec: &KdumpSpec) -> Vec<u8> {
    let page = m.page;
    let ps = usize::try_from(page).unwrap();
    let notes = if spec.notes { m.notes } else { &[][..] };
    let end = m.segments.iter().map(|s| s.0 + s.1.len() as u64).max().unwrap();
    let max_mapnr = end.div_ceil(page);
    let segment =
        |pfn: u64| m.segments.iter().find(|s| (s.0..s.0 + s.1.len() as u64).contains(&(pfn * page)));
    let exists = |pfn: u64| segment(pfn).is_some();
    let excluded = |pfn: u64| spec.excluded.iter().any(|&pa| pa / page == pfn);
    let page_bytes = |pfn: u64| -> &[u8] {
        let s = segment(pfn).unwrap();
        let off = (pfn * page - s.0) as usize;
        &s.1[off..off + ps]
    };

    // Block 1..: sub-header, then the notes, then the VMCOREINFO text.
    let vi = m.vmcoreinfo.as_bytes();
    let sub_len = 104 + notes.len() + vi.len();
    let sub_blocks = sub_len.div_ceil(ps);
    let half = usize::try_from(max_mapnr.div_ceil(8)).unwrap().next_multiple_of(ps);
    let bitmap_blocks = 2 * half / ps;
    let mut bitmap1 = vec![0u8; half];
    let mut bitmap2 = vec![0u8; half];
    let mut dumped = Vec::new();
    for pfn in 0..max_mapnr {
        if exists(pfn) {
            bitmap1[(pfn / 8) as usize] |= 1 << (pfn % 8);
            if !excluded(pfn) {
                bitmap2[(pfn / 8) as usize] |= 1 << (pfn % 8);
                dumped.push(pfn);
            }
        }
    }

    let mut header = vec![0u8; ps];
    header[..8].copy_from_slice(b"KDUMP   ");
    put_u32(&mut header, 8, 6); // header_version
    let uts = |i: usize| 12 + 65 * i;
    for (i, s) in ["Linux", "synthetic", m.release, "#1 SMP", spec.machine, "(none)"].iter().enumerate() {
        header[uts(i)..uts(i) + s.len()].copy_from_slice(s.as_bytes());
    }
    put_u32(&mut header, 424, spec.compression.flag()); // status
    put_u32(&mut header, 428, u32::try_from(page).unwrap()); // block_size
    put_u32(&mut header, 432, u32::try_from(sub_blocks).unwrap());
    put_u32(&mut header, 436, u32::try_from(bitmap_blocks).unwrap());
    put_u32(&mut header, 440, u32::try_from(max_mapnr).unwrap_or(u32::MAX));
    put_u32(&mut header, 460, m.nr_cpus); // nr_cpus

    let sub_off = ps;
    let mut sub = vec![0u8; sub_blocks * ps];
    put_u64(&mut sub, 0, m.phys_base);
    put_u32(&mut sub, 8, 31); // dump_level
    let notes_at = 104;
    sub[notes_at..notes_at + notes.len()].copy_from_slice(notes);
    let vi_at = notes_at + notes.len();
    sub[vi_at..vi_at + vi.len()].copy_from_slice(vi);
    put_u64(&mut sub, 32, (sub_off + vi_at) as u64); // offset_vmcoreinfo
    put_u64(&mut sub, 40, vi.len() as u64);
    if !notes.is_empty() {
        put_u64(&mut sub, 48, (sub_off + notes_at) as u64); // offset_note
        put_u64(&mut sub, 56, notes.len() as u64);
    }
    put_u64(&mut sub, 80, 0); // start_pfn_64
    put_u64(&mut sub, 88, max_mapnr); // end_pfn_64
    put_u64(&mut sub, 96, max_mapnr); // max_mapnr_64

    let desc_off = ps * (1 + sub_blocks + bitmap_blocks);
    let data_off = desc_off + 24 * dumped.len();
    let mut descs = Vec::with_capacity(24 * dumped.len());
    // The shared zero page comes first.
    let mut data = vec![0u8; ps];
    for &pfn in &dumped {
        let bytes = page_bytes(pfn);
        let (offset, size, flags) = if bytes.iter().all(|&b| b == 0) {
            (data_off, ps, 0)
        } else if let Some(c) = spec.compression.compress(bytes) {
            let at = data_off + data.len();
            data.extend_from_slice(&c);
            (at, c.len(), spec.compression.flag())
        } else {
            let at = data_off + data.len();
            data.extend_from_slice(bytes);
            (at, ps, 0)
        };
        descs.extend_from_slice(&(offset as u64).to_le_bytes());
        descs.extend_from_slice(&u32::try_from(size).unwrap().to_le_bytes());
        descs.extend_from_slice(&flags.to_le_bytes());
        descs.extend_from_slice(&0u64.to_le_bytes()); // page_flags
    }

    let mut out = header;
    out.extend_from_slice(&sub);
    out.extend_from_slice(&bitmap1);
    out.extend_from_slice(&bitmap2);
    assert_eq!(out.len(), desc_off);
    out.extend_from_slice(&descs);
    out.extend_from_slice(&data);
    if spec.flattened { flatten(&out) } else { out }
}

/// The flattened form of `plain`: records of at most 16 KiB, the descriptors and data before
/// the headers and bitmaps, and an early record of garbage over the bitmaps that a later one
/// overwrites.
pub fn flatten(plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    out[..12].copy_from_slice(b"makedumpfile");
    out[16..24].copy_from_slice(&1i64.to_be_bytes());
    out[24..32].copy_from_slice(&1i64.to_be_bytes());
    let record = |out: &mut Vec<u8>, off: usize, bytes: &[u8]| {
        out.extend_from_slice(&(off as i64).to_be_bytes());
        out.extend_from_slice(&(bytes.len() as i64).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    let block = u32_at(plain, 428) as usize;
    let sub_blocks = u32_at(plain, 432) as usize;
    let head = block * (1 + sub_blocks);
    record(&mut out, head, &vec![0xa5; plain.len().min(head + 3 * block) - head]);
    let chunks: Vec<(usize, &[u8])> = plain.chunks(16384).enumerate().map(|(i, c)| (i * 16384, c)).collect();
    let (early, late): (Vec<_>, Vec<_>) = chunks.iter().partition(|(o, _)| *o >= head + 3 * block);
    for (o, c) in early.iter().rev().chain(late.iter()) {
        record(&mut out, *o, c);
    }
    out.extend_from_slice(&(-1i64).to_be_bytes());
    out.extend_from_slice(&(-1i64).to_be_bytes());
    out
}

impl CoreFiles {
    /// The release in the VMCOREINFO text.
    pub fn vmcoreinfo_release(&self) -> &str {
        self.vmcoreinfo.lines().find_map(|l| l.strip_prefix("OSRELEASE=")).unwrap_or("")
    }
}
