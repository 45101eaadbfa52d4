//! Little-endian ELF64 files as the lab meets them: a kernel's vmlinux (its sections: `.BTF`),
//! the scheduler and busybox binaries (static or not: their program headers) and QEMU's cores
//! (their program headers and notes, see [`super::elf_core`]).

use super::bytes::{u16_at, u32_at, u64_at, usize64_at};

/// `e_type` of an executable that is not position-independent.
const ET_EXEC: u16 = 2;
/// `e_type` of a core file.
pub const ET_CORE: u16 = 4;
/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;
/// `p_type` of a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type` of the program interpreter's name: a dynamically linked program.
const PT_INTERP: u32 = 3;
/// `p_type` of a notes segment.
pub const PT_NOTE: u32 = 4;
/// The ELF64 file header's size.
pub const HEADER_SIZE: usize = 64;

/// The fields of the ELF64 file header the lab reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub e_type: u16,
    pub machine: u16,
    /// File offset, entry size and count of the program header table.
    pub phoff: usize,
    pub phentsize: usize,
    pub phnum: usize,
    /// File offset, entry size and count of the section header table, and the index of the
    /// section holding the section names.
    pub shoff: usize,
    pub shentsize: usize,
    pub shnum: usize,
    pub shstrndx: usize,
}

impl Header {
    /// The header at the start of `data`; `None` unless it is a little-endian ELF64 header.
    pub fn parse(data: &[u8]) -> Option<Header> {
        if data.get(..6)? != b"\x7fELF\x02\x01" || data.len() < HEADER_SIZE {
            return None;
        }
        let u16 = |o| u16_at(data, o).map(usize::from);
        Some(Header {
            e_type: u16_at(data, 16)?,
            machine: u16_at(data, 18)?,
            phoff: usize64_at(data, 0x20)?,
            phentsize: u16(0x36)?,
            phnum: u16(0x38)?,
            shoff: usize64_at(data, 0x28)?,
            shentsize: u16(0x3a)?,
            shnum: u16(0x3c)?,
            shstrndx: u16(0x3e)?,
        })
    }

    /// The bytes the program header table spans: `phoff..phoff + phnum * phentsize`.
    pub fn program_headers_span(&self) -> Option<std::ops::Range<usize>> {
        Some(self.phoff..self.phoff.checked_add(self.phnum.checked_mul(self.phentsize)?)?)
    }
}

/// One program header: its type and the file bytes of its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    pub p_type: u32,
    pub offset: u64,
    pub filesz: u64,
}

/// The program headers in `table` (the bytes of the program header table, entries of
/// `h.phentsize`); `None` when the table is shorter than `h` says.
pub fn program_headers(h: &Header, table: &[u8]) -> Option<Vec<ProgramHeader>> {
    (0..h.phnum)
        .map(|i| {
            let e = table.get(i.checked_mul(h.phentsize)?..)?;
            Some(ProgramHeader { p_type: u32_at(e, 0)?, offset: u64_at(e, 8)?, filesz: u64_at(e, 32)? })
        })
        .collect()
}

/// Whether the ELF64 file `elf` names a program interpreter (`PT_INTERP`): it is dynamically
/// linked. `None` when it is not an ELF64 file or its program headers are cut short.
pub fn has_interpreter(elf: &[u8]) -> Option<bool> {
    let h = Header::parse(elf)?;
    let phdrs = program_headers(&h, elf.get(h.phoff..)?)?;
    Some(phdrs.iter().any(|p| p.p_type == PT_INTERP))
}

/// Fails unless `elf` is an executable for `machine` that runs without a program interpreter:
/// what a busybox initramfs, which has no libc, can run.
pub fn check_static_executable(elf: &[u8], machine: u16) -> Result<(), String> {
    let h = Header::parse(elf).ok_or("not a little-endian ELF64 file")?;
    if h.machine != machine {
        return Err(format!("ELF machine {}, expected {machine}", h.machine));
    }
    if h.e_type != ET_EXEC {
        return Err("not an ET_EXEC executable (static-pie or dynamic?)".into());
    }
    match has_interpreter(elf) {
        Some(false) => Ok(()),
        Some(true) => Err("has a program interpreter: dynamically linked".into()),
        None => Err("truncated program headers".into()),
    }
}

/// The program interpreter the ELF64 file `elf` names (`PT_INTERP`, e.g.
/// `/lib64/ld-linux-x86-64.so.2`); `None` for a static program or a file that is not one.
pub fn interpreter(elf: &[u8]) -> Option<String> {
    let h = Header::parse(elf)?;
    let p = program_headers(&h, elf.get(h.phoff..)?)?.into_iter().find(|p| p.p_type == PT_INTERP)?;
    let start = usize::try_from(p.offset).ok()?;
    let bytes = elf.get(start..start.checked_add(usize::try_from(p.filesz).ok()?)?)?;
    let name = bytes.split(|&b| b == 0).next()?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// `DT_NEEDED` of the dynamic section: a shared object the program or library needs.
const DT_NEEDED: u64 = 1;

/// The shared objects the ELF64 file `elf` needs (`DT_NEEDED` of its `.dynamic` section, names
/// from `.dynstr`), in order; empty for a static program.
pub fn needed(elf: &[u8]) -> Vec<String> {
    let (Some(dynamic), Some(strings)) = (section(elf, ".dynamic"), section(elf, ".dynstr")) else {
        return Vec::new();
    };
    dynamic
        .chunks_exact(16)
        .map(|e| (u64_at(e, 0).unwrap_or(0), u64_at(e, 8).unwrap_or(0)))
        .take_while(|&(tag, _)| tag != 0)
        .filter(|&(tag, _)| tag == DT_NEEDED)
        .filter_map(|(_, off)| {
            let name = strings.get(usize::try_from(off).ok()?..)?;
            let name = &name[..name.iter().position(|&b| b == 0)?];
            Some(String::from_utf8_lossy(name).into_owned())
        })
        .collect()
}

/// One section: its name and the file bytes it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

/// Every section of the ELF64 file `elf`; `None` when it is not one or its section table or
/// names do not fit.
pub fn sections(elf: &[u8]) -> Option<Vec<Section>> {
    let h = Header::parse(elf)?;
    if h.shentsize < 64 || h.shnum == 0 || h.shoff.checked_add(h.shnum.checked_mul(h.shentsize)?)? > elf.len()
    {
        return None;
    }
    let sh = |i: usize| h.shoff + i * h.shentsize;
    let strtab = usize64_at(elf, sh(h.shstrndx).checked_add(24)?)?;
    (0..h.shnum)
        .map(|i| {
            let name_off = strtab.checked_add(usize::try_from(u32_at(elf, sh(i))?).ok()?)?;
            let name = elf.get(name_off..)?;
            let name = &name[..name.iter().position(|&b| b == 0)?];
            Some(Section {
                name: String::from_utf8_lossy(name).into_owned(),
                offset: usize64_at(elf, sh(i) + 24)?,
                size: usize64_at(elf, sh(i) + 32)?,
            })
        })
        .collect()
}

/// The contents of the section `name` of an ELF64 file.
pub fn section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let s = sections(elf)?.into_iter().find(|s| s.name == name)?;
    elf.get(s.offset..s.offset.checked_add(s.size)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF64 header with two program headers, the second `PT_INTERP` when `interp`.
    fn elf(machine: u16, etype: u16, interp: bool) -> Vec<u8> {
        let mut d = vec![0u8; 0x40 + 2 * 56];
        d[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        d[16..18].copy_from_slice(&etype.to_le_bytes());
        d[18..20].copy_from_slice(&machine.to_le_bytes());
        d[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        d[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        d[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        d[0x40..0x44].copy_from_slice(&1u32.to_le_bytes());
        d[0x40 + 56..0x44 + 56].copy_from_slice(&(if interp { 3u32 } else { 4 }).to_le_bytes());
        d
    }

    #[test]
    fn static_check() {
        assert!(check_static_executable(&elf(62, 2, false), 62).is_ok());
        assert!(check_static_executable(&elf(62, 2, true), 62).is_err());
        assert!(check_static_executable(&elf(62, 3, false), 62).is_err());
        assert!(check_static_executable(&elf(183, 2, false), 62).is_err());
        assert!(check_static_executable(&elf(183, 2, false), 183).is_ok());
        assert!(check_static_executable(b"#!/bin/sh\n", 62).is_err());
        assert_eq!(has_interpreter(&elf(62, 3, true)), Some(true));
        let mut cut = elf(62, 2, false);
        cut.truncate(0x40 + 56 + 10);
        assert_eq!(has_interpreter(&cut), None, "the second program header is cut short");
    }

    #[test]
    fn section_table() {
        // Three sections: the null one, `.BTF` (4 bytes at 0x40) and `.shstrtab`.
        let names = b"\0.BTF\0.shstrtab\0";
        let mut d = vec![0u8; 0x40];
        d[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        d.extend_from_slice(b"btf!");
        let strtab = d.len();
        d.extend_from_slice(names);
        let shoff = d.len();
        d[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        d[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        d[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        d[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
        for (name, off, size) in [(0u32, 0u64, 0u64), (1, 0x40, 4), (6, strtab as u64, names.len() as u64)] {
            let mut sh = [0u8; 64];
            sh[..4].copy_from_slice(&name.to_le_bytes());
            sh[24..32].copy_from_slice(&off.to_le_bytes());
            sh[32..40].copy_from_slice(&size.to_le_bytes());
            d.extend_from_slice(&sh);
        }
        assert_eq!(section(&d, ".BTF"), Some(&b"btf!"[..]));
        assert_eq!(sections(&d).map(|s| s.len()), Some(3));
        assert_eq!(section(&d, ".text"), None);
        d[0x3e] = 7; // the names' section index beyond the table
        assert_eq!(sections(&d), None);
    }

    #[test]
    fn a_dynamic_programs_loader_and_libraries() {
        // The test binary itself: a dynamically linked Linux program.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let interp = interpreter(&exe).expect("a PT_INTERP");
        assert!(interp.starts_with('/') && interp.contains("ld-linux"), "{interp}");
        assert!(needed(&exe).iter().any(|n| n == "libc.so.6"), "{:?}", needed(&exe));
        assert_eq!(interpreter(&elf(62, 2, false)), None);
        assert!(needed(&elf(62, 2, false)).is_empty());
    }
}
