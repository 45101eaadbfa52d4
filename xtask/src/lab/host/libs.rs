//! What a dynamically linked program needs in the lab's guest, which has no libc: its loader
//! and shared libraries, taken from the host and copied in at the paths the program names.

use super::elf::{self, EM_AARCH64, EM_X86_64};
use super::guest::GuestFile;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the loader looks for libraries without an `ld.so.cache` (Debian's multiarch trusted
/// directories first), for a program of `machine`.
fn library_dirs(machine: u16) -> &'static [&'static str] {
    match machine {
        EM_AARCH64 => &["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib", "/usr/lib"],
        _ => &[
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
        ],
    }
}

/// The files `program` needs in the guest besides itself: nothing for a static program; else
/// its loader (`PT_INTERP`) and every shared library it needs, directly or through another
/// library, from the host's library directories, each at the same path in the guest. Fails
/// naming the library that the host does not have.
pub fn runtime_files(program: &Path) -> Result<Vec<GuestFile>, String> {
    let read = |p: &Path| fs::read(p).map_err(|e| format!("read {}: {e}", p.display()));
    let data = read(program)?;
    let Some(loader) = elf::interpreter(&data) else { return Ok(Vec::new()) };
    let machine = elf::Header::parse(&data).map_or(EM_X86_64, |h| h.machine);
    let mut files = vec![GuestFile { host: PathBuf::from(&loader), guest: loader.clone() }];
    let mut wanted: Vec<(String, String)> =
        elf::needed(&data).into_iter().map(|n| (n, program.display().to_string())).collect();
    let mut seen: Vec<String> = Vec::new();
    while let Some((name, by)) = wanted.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let found = library_dirs(machine)
            .iter()
            .map(|d| format!("{d}/{name}"))
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| {
                format!(
                    "{name}, needed by {by}, is in none of {} on this host",
                    library_dirs(machine).join(" ")
                )
            })?;
        // The loader is needed by name too (`ld-linux-x86-64.so.2`): one copy is enough.
        if fs::canonicalize(&found).ok() != fs::canonicalize(&loader).ok() {
            wanted.extend(elf::needed(&read(Path::new(&found))?).into_iter().map(|n| (n, found.clone())));
            files.push(GuestFile { host: PathBuf::from(&found), guest: found });
        }
    }
    if !Path::new(&loader).is_file() {
        return Err(format!("{}'s loader {loader} is not on this host", program.display()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_and_libraries_of_a_dynamic_program() {
        // The test binary itself is dynamically linked against the host's glibc.
        let exe = std::env::current_exe().unwrap();
        let files = runtime_files(&exe).unwrap();
        let interp = elf::interpreter(&fs::read(&exe).unwrap()).unwrap();
        assert_eq!(files[0].guest, interp, "the loader first");
        assert!(files.iter().any(|f| f.guest.ends_with("/libc.so.6")), "{files:?}");
        assert!(
            files.iter().all(|f| f.host.is_file() && f.host.to_str() == Some(f.guest.as_str())),
            "{files:?}"
        );
        let mut guests: Vec<&str> = files.iter().map(|f| f.guest.as_str()).collect();
        guests.sort_unstable();
        guests.dedup();
        assert_eq!(guests.len(), files.len(), "each file once: {files:?}");
        // A static program needs nothing.
        let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.is_file());
        if let Some(bb) = busybox.filter(|b| elf::has_interpreter(&fs::read(b).unwrap()) == Some(false)) {
            assert!(runtime_files(bb).unwrap().is_empty());
        }
    }
}
