//! A vmlinux ELF: its symbols, its `.BTF` section, its machine and its release string.

use super::symbols::{SymbolSource, SymbolTable};
use crate::error::Error;
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};

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
    /// The release from `linux_banner` ("Linux version <release> ..."), when readable.
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
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
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
        let symbols = SymbolTable::from_pairs(
            file.symbols().filter_map(|s| Some((s.name().ok()?.to_owned(), s.address()))),
            SymbolSource::Vmlinux,
        );
        let btf = file.section_by_name(".BTF").and_then(|s| s.data().ok()).map(<[u8]>::to_vec);
        let release = file
            .symbols()
            .find(|s| s.name() == Ok("linux_banner"))
            .and_then(|s| read_at(&file, s.address(), 256))
            .and_then(|b| banner_release(&b));
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
