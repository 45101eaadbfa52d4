//! A vmlinux ELF: its symbols, its `.BTF` section, its machine and its release string.

use super::symbols::{SymbolSearch, SymbolSource, SymbolTable};
use crate::error::Error;
use memmap2::Mmap;
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A vmlinux's symbol table, searched in place (a -dbg vmlinux is ~350 MB with ~200 000
/// symbols: map it, don't copy it).
#[derive(Debug)]
struct ElfSymbols {
    map: Mmap,
    count: usize,
}

impl SymbolSearch for ElfSymbols {
    fn find(&self, names: &[&str]) -> Vec<Option<u64>> {
        let mut out = vec![None; names.len()];
        let Ok(file) = object::File::parse(&*self.map) else { return out };
        for sym in file.symbols() {
            let Ok(n) = sym.name() else { continue };
            if let Some(i) = names.iter().position(|w| *w == n) {
                out[i].get_or_insert(sym.address());
            }
        }
        out
    }
    fn len(&self) -> usize {
        self.count
    }
}

/// The parts of a vmlinux scxray uses.
#[derive(Debug)]
pub struct Vmlinux {
    /// The file.
    pub path: PathBuf,
    /// `EM_X86_64` or `EM_AARCH64`.
    pub machine: Arch,
    /// Its symbols (link-time addresses); empty for a stripped image.
    pub symbols: SymbolTable,
    /// The `.BTF` section's bytes, when present.
    pub btf: Option<Vec<u8>>,
    /// The release from `linux_banner` (`Linux version <release> ...`), when readable.
    pub release: Option<String>,
}

/// Guest architectures scxray walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// x86_64.
    X86_64,
    /// aarch64 / arm64.
    Aarch64,
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        })
    }
}

impl Vmlinux {
    /// Reads a vmlinux ELF.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: read-only mapping of a kernel image nothing truncates while we run.
        let data = unsafe { Mmap::map(&f) }.map_err(|e| Error::io(path, e))?;
        let file = object::File::parse(&*data)
            .map_err(|e| Error::BadInput(format!("{}: not an ELF vmlinux: {e}", path.display())))?;
        let machine = match file.architecture() {
            object::Architecture::X86_64 => Arch::X86_64,
            object::Architecture::Aarch64 => Arch::Aarch64,
            other => {
                return Err(Error::Unsupported(format!(
                    "{}: a {other:?} kernel; scxray walks x86_64 and aarch64 guests",
                    path.display()
                )));
            }
        };
        let count = file.symbols().count();
        let btf = file.section_by_name(".BTF").and_then(|s| s.data().ok()).map(<[u8]>::to_vec);
        let release = file
            .symbols()
            .find(|s| s.name() == Ok("linux_banner"))
            .and_then(|s| read_at(&file, s.address(), 256))
            .and_then(|b| banner_release(&b));
        drop(file);
        let symbols =
            SymbolTable::from_search(Arc::new(ElfSymbols { map: data, count }), SymbolSource::Vmlinux);
        Ok(Self { path: path.to_owned(), machine, symbols, btf, release })
    }
}

/// `len` bytes of the section data at virtual address `addr`.
fn read_at(file: &object::File<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
    file.sections().find_map(|s| {
        let off = addr.checked_sub(s.address())?;
        (off < s.size()).then_some(())?;
        let data = s.data().ok()?;
        let start = usize::try_from(off).ok()?;
        Some(data.get(start..data.len().min(start + len as usize))?.to_vec())
    })
}

/// The release in a `linux_banner`: "Linux version 7.3.4+deb13-cloud-amd64 (...)".
pub fn banner_release(banner: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(banner);
    let rest = text.strip_prefix("Linux version ")?;
    Some(rest.split_whitespace().next()?.to_owned())
}
