//! What QEMU's ELF core of a guest holds, read from its headers and notes (not its memory):
//! the loadable segments, the notes by name and the guest's VMCOREINFO.

use super::bytes::usize32_at;
use super::elf::{self, ET_CORE, HEADER_SIZE, PT_LOAD, PT_NOTE};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// What an ELF core holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreSummary {
    pub size: u64,
    /// Bytes the (sparse) file takes on disk.
    pub disk_bytes: u64,
    pub pt_load: usize,
    /// Bytes of guest memory the PT_LOAD segments carry.
    pub load_bytes: u64,
    /// The VMCOREINFO note's text, when present.
    pub vmcoreinfo: Option<String>,
    /// Names of the notes (e.g. `CORE`, `QEMU`, `VMCOREINFO`), with counts.
    pub notes: Vec<(String, usize)>,
}

/// Reads a dump's ELF header, program headers and notes (not the memory).
pub fn check_core(path: &Path) -> Result<CoreSummary, String> {
    let mut f = fs::File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut eh = [0u8; HEADER_SIZE];
    f.read_exact(&mut eh).map_err(|e| format!("read ELF header: {e}"))?;
    let h = elf::Header::parse(&eh)
        .filter(|h| h.e_type == ET_CORE)
        .ok_or_else(|| format!("{} is not an ELF64 core", path.display()))?;
    let span = h.program_headers_span().ok_or("program header table too large")?;
    let mut table = vec![0u8; span.len()];
    f.seek(SeekFrom::Start(span.start as u64))
        .and_then(|_| f.read_exact(&mut table))
        .map_err(|e| format!("read phdrs: {e}"))?;
    let phdrs = elf::program_headers(&h, &table).ok_or("read phdrs: table cut short")?;
    let mut s = CoreSummary { size, ..Default::default() };
    for p in phdrs {
        match p.p_type {
            PT_LOAD => {
                s.pt_load += 1;
                s.load_bytes += p.filesz;
            }
            PT_NOTE => {
                let len = usize::try_from(p.filesz).map_err(|_| "notes too large")?;
                let mut notes = vec![0u8; len];
                f.seek(SeekFrom::Start(p.offset))
                    .and_then(|_| f.read_exact(&mut notes))
                    .map_err(|e| format!("read notes: {e}"))?;
                add_notes(&notes, &mut s);
            }
            _ => {}
        }
    }
    Ok(s)
}

/// Counts the notes of one `PT_NOTE` segment by name and keeps the VMCOREINFO text.
fn add_notes(notes: &[u8], s: &mut CoreSummary) {
    let mut o = 0usize;
    while o + 12 <= notes.len() {
        let (Some(nsz), Some(dsz)) = (usize32_at(notes, o), usize32_at(notes, o + 4)) else { return };
        let name_end = (o + 12).saturating_add(nsz).min(notes.len());
        let name = String::from_utf8_lossy(&notes[o + 12..name_end]).trim_end_matches('\0').to_owned();
        let d0 = (o + 12).saturating_add(nsz.div_ceil(4) * 4);
        let d1 = d0.saturating_add(dsz).min(notes.len());
        if name == "VMCOREINFO" && d0 <= d1 {
            s.vmcoreinfo = Some(String::from_utf8_lossy(&notes[d0..d1]).into_owned());
        }
        match s.notes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => s.notes.push((name, 1)),
        }
        o = d0.saturating_add(dsz.div_ceil(4) * 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_by_name() {
        let mut notes = Vec::new();
        for (name, desc) in
            [(&b"CORE\0"[..], &b"regs"[..]), (b"VMCOREINFO\0", b"OSRELEASE=7.3\n"), (b"CORE\0", b"")]
        {
            notes.extend_from_slice(&(name.len() as u32).to_le_bytes());
            notes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
            notes.extend_from_slice(&1u32.to_le_bytes());
            notes.extend_from_slice(name);
            notes.resize(notes.len().next_multiple_of(4), 0);
            notes.extend_from_slice(desc);
            notes.resize(notes.len().next_multiple_of(4), 0);
        }
        let mut s = CoreSummary::default();
        add_notes(&notes, &mut s);
        assert_eq!(s.notes, vec![("CORE".to_owned(), 2), ("VMCOREINFO".to_owned(), 1)]);
        assert_eq!(s.vmcoreinfo.as_deref(), Some("OSRELEASE=7.3\n"));
    }
}
