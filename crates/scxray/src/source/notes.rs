//! ELF notes outside an ELF file's `PT_NOTE` parsing: the note blob a kdump-compressed core
//! carries in its sub-header, and `/proc/kcore`'s notes read with `pread`. The same facts as
//! [`super::ElfCore`] takes from its notes: the VMCOREINFO text and per-vCPU state.

use super::CpuNote;

/// What a note blob says.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    /// The VMCOREINFO note's text.
    pub vmcoreinfo: Option<String>,
    /// One entry per `NT_PRSTATUS`, completed by QEMU's per-vCPU notes.
    pub cpus: Vec<CpuNote>,
}

const NT_PRSTATUS: u32 = 1;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
/// Offset of `cr[0]` in QEMU's x86 `QEMUCPUState`: version and size, 18 registers, 10
/// segment descriptors of 24 bytes.
const QEMU_X86_CR0: usize = 8 + 18 * 8 + 10 * 24;
/// `pr_reg` in a 64-bit `elf_prstatus`.
const PR_REG: usize = 112;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// Iterates `(name, type, desc)` over a little-endian ELF note blob (4-byte alignment), and
/// stops at the first malformed note.
pub fn iter(blob: &[u8]) -> impl Iterator<Item = (&[u8], u32, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let namesz = u32_at(blob, at)? as usize;
        let descsz = u32_at(blob, at + 4)? as usize;
        let ty = u32_at(blob, at + 8)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(namesz.next_multiple_of(4))?;
        let end = desc_at.checked_add(descsz.next_multiple_of(4))?;
        let name = blob.get(name_at..name_at + namesz)?;
        let desc = blob.get(desc_at..desc_at.checked_add(descsz)?)?;
        at = end;
        let name = name.strip_suffix(&[0]).unwrap_or(name);
        Some((name, ty, desc))
    })
}

/// Parses a note blob of an `e_machine` guest.
pub fn parse(machine: u16, blob: &[u8]) -> Notes {
    let mut out = Notes::default();
    let mut qemu = 0usize;
    for (name, ty, desc) in iter(blob) {
        match (name, ty) {
            (b"VMCOREINFO", _) => {
                out.vmcoreinfo = Some(String::from_utf8_lossy(desc).trim_end_matches('\0').to_owned());
            }
            (b"CORE", NT_PRSTATUS) => {
                let reg = match machine {
                    EM_X86_64 => Some(16),
                    EM_AARCH64 => Some(32),
                    _ => None,
                };
                let pc = reg.and_then(|r| u64_at(desc, PR_REG + r * 8));
                out.cpus.push(CpuNote { pc, ..CpuNote::default() });
            }
            (b"QEMU", 0) => {
                if machine == EM_X86_64
                    && let Some(cpu) = out.cpus.get_mut(qemu)
                {
                    cpu.cr3 = u64_at(desc, QEMU_X86_CR0 + 3 * 8);
                    cpu.cr4 = u64_at(desc, QEMU_X86_CR0 + 4 * 8);
                }
                qemu += 1;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_oversized_notes_end_the_walk() {
        let mut blob = Vec::new();
        let (name, desc) = (&b"VMCOREINFO\0"[..], &b"OSRELEASE=7.3\n"[..]);
        blob.extend_from_slice(&(name.len() as u32).to_le_bytes());
        blob.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(name);
        blob.resize(blob.len().next_multiple_of(4), 0);
        blob.extend_from_slice(desc);
        blob.resize(blob.len().next_multiple_of(4), 0);
        assert_eq!(parse(EM_X86_64, &blob).vmcoreinfo.as_deref(), Some("OSRELEASE=7.3\n"));
        for cut in 0..blob.len() {
            let _ = parse(EM_X86_64, &blob[..cut]);
        }
        let mut huge = blob.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(EM_X86_64, &huge).vmcoreinfo.is_none());
    }
}
