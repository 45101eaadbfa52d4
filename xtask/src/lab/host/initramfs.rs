//! The guest's initramfs, an uncompressed newc cpio archive ([`super::cpio`]): a static
//! busybox ([`super::busybox`]) with its applets, the kernel's modules in `/lib/modules` (the
//! init loads them in order: `qemu_fw_cfg`, so QEMU's dumps carry the guest's VMCOREINFO note),
//! the kernel config at `/boot/config-<release>`, the scheduler binary at `/bin/scheduler` and
//! its extra files, and the `/init` script ([`super::init`]).

use super::boot_kernel::BootKernel;
use super::busybox::busybox_for;
use super::cpio::Cpio;
use super::guest::GuestSpec;
use super::init::init_script;
use std::fs;
use std::path::Path;

/// The busybox applets linked in `/bin`.
const APPLETS: &[&str] = &[
    "sh", "mount", "insmod", "cat", "sleep", "echo", "ls", "ps", "dmesg", "mkdir", "uname", "true",
    "poweroff", "grep", "head", "tail", "free", "top", "stat",
];

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
    if let Some(s) = &spec.scheduler {
        c.file("bin/scheduler", 0o755, &read(&s.binary)?);
        for (host, guest) in &s.extra_files {
            let guest = guest.trim_start_matches('/');
            // Parent directories first.
            let mut parent = String::new();
            for part in guest.split('/').collect::<Vec<_>>().split_last().map_or(&[][..], |(_, p)| p) {
                parent = if parent.is_empty() { (*part).to_owned() } else { format!("{parent}/{part}") };
                if !dirs.contains(&parent) {
                    c.dir(&parent);
                    dirs.push(parent.clone());
                }
            }
            c.file(guest, 0o755, &read(host)?);
        }
    }
    let script = init_script(spec, &modules);
    c.file("init", 0o755, script.as_bytes());
    if let Some(d) = out.parent() {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    fs::write(out, c.finish()).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(script)
}
