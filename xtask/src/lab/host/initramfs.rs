//! The guest's initramfs, an uncompressed newc cpio archive ([`super::cpio`]): a static
//! busybox ([`super::busybox`]) with its applets, the kernel's modules in `/lib/modules` (the
//! init loads them in order: `qemu_fw_cfg`, so QEMU's dumps carry the guest's VMCOREINFO note),
//! the kernel config at `/boot/config-<release>`, the scheduler binary at `/bin/scheduler` and
//! its extra files, and the `/init` script ([`super::init`]).

use super::boot_kernel::BootKernel;
use super::busybox::busybox_for;
use super::cpio::Cpio;
use super::elf;
use super::guest::{GuestFile, GuestSpec};
use super::init::init_script;
use std::fs;
use std::path::Path;

/// The busybox applets linked in `/bin`.
const APPLETS: &[&str] = &[
    "sh", "mount", "insmod", "cat", "sleep", "echo", "ls", "ps", "dmesg", "mkdir", "uname", "true",
    "poweroff", "grep", "head", "tail", "free", "top", "stat",
];

/// A character of an extra truth's name (it is one word of the truth lines).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Fails when `data`, the file `host`, is a dynamically linked program whose loader is not
/// among `files`: it would not start in the guest, whose only program is a static busybox.
fn check_runnable(host: &Path, data: &[u8], files: &[&GuestFile]) -> Result<(), String> {
    match elf::interpreter(data) {
        Some(loader) if !files.iter().any(|f| f.guest == loader) => Err(format!(
            "{} is dynamically linked, but its loader {loader} is not among the guest's files \
             (add libs::runtime_files of it)",
            host.display()
        )),
        _ => Ok(()),
    }
}

/// Builds the initramfs for `kernel` and `spec` at `out` (uncompressed newc cpio) and returns
/// the `/init` script it contains.
pub fn build(kernel: &BootKernel<'_>, spec: &GuestSpec, out: &Path) -> Result<String, String> {
    let busybox = busybox_for(kernel.arch)?;
    let read = |p: &Path| fs::read(p).map_err(|e| format!("read {}: {e}", p.display()));
    let mut c = Cpio::default();
    let mut dirs: Vec<String> = ["bin", "dev", "proc", "sys", "tmp", "boot", "lib", "lib/modules"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
    for d in &dirs {
        c.dir(d);
    }
    c.chardev("dev/console", 5, 1);
    c.chardev("dev/null", 1, 3);
    c.file("bin/busybox", 0o755, &read(&busybox)?);
    for a in APPLETS {
        c.symlink(&format!("bin/{a}"), "busybox");
    }
    let mut modules = Vec::new();
    for m in kernel.modules {
        let name = m.file_name().and_then(|n| n.to_str()).unwrap_or("m.ko");
        c.file(&format!("lib/modules/{name}"), 0o644, &read(m)?);
        modules.push(format!("/lib/modules/{name}"));
    }
    if let Some(cfg) = kernel.config {
        c.file(&format!("boot/config-{}", kernel.release), 0o644, &read(cfg)?);
    }
    // The scheduler and the other files, each once (a library two programs need is listed by
    // both), parent directories first.
    let mut files: Vec<&GuestFile> = Vec::new();
    for f in spec.scheduler.iter().flat_map(|s| &s.files).chain(&spec.files) {
        if !files.iter().any(|g| g.guest == f.guest) {
            files.push(f);
        }
    }
    if let Some(s) = &spec.scheduler {
        let binary = read(&s.binary)?;
        check_runnable(&s.binary, &binary, &files)?;
        c.file("bin/scheduler", 0o755, &binary);
    }
    for f in &files {
        let guest = f.guest.trim_start_matches('/');
        let mut parent = String::new();
        for part in guest.split('/').collect::<Vec<_>>().split_last().map_or(&[][..], |(_, p)| p) {
            parent = if parent.is_empty() { (*part).to_owned() } else { format!("{parent}/{part}") };
            if !dirs.contains(&parent) {
                c.dir(&parent);
                dirs.push(parent.clone());
            }
        }
        let data = read(&f.host)?;
        check_runnable(&f.host, &data, &files)?;
        c.file(guest, 0o755, &data);
    }
    if let Some(x) = spec.extra_truth.iter().find(|x| x.name.is_empty() || !x.name.chars().all(is_name_char))
    {
        return Err(format!("extra truth name `{}`: one word of letters, digits, `-`, `_`, `.`", x.name));
    }
    let script = init_script(spec, &modules);
    c.file("init", 0o755, script.as_bytes());
    if let Some(d) = out.parent() {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    fs::write(out, c.finish()).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::host::libs::runtime_files;

    #[test]
    fn a_dynamic_program_needs_its_loader_among_the_files() {
        let exe = std::env::current_exe().unwrap();
        let data = fs::read(&exe).unwrap();
        let err = check_runnable(&exe, &data, &[]).unwrap_err();
        assert!(err.contains("dynamically linked") && err.contains("ld-linux"), "{err}");
        let files = runtime_files(&exe).unwrap();
        assert!(check_runnable(&exe, &data, &files.iter().collect::<Vec<_>>()).is_ok());
        // A static one (a shell script is not even an ELF file) needs nothing.
        assert!(check_runnable(Path::new("init"), b"#!/bin/sh\n", &[]).is_ok());
    }
}
