//! A kernel the lab builds itself: Linux 6.12 with sched_ext (Debian's 6.12 packages are
//! built without it, `# CONFIG_SCHED_CLASS_EXT is not set`), from Debian's own
//! `linux-source-6.12` (trixie), with a small config. It is the only kernel of the lab whose
//! sched_ext keeps its state in the 6.12-6.15 globals (`scx_ops`, `global_dsqs`, `dsq_hash`,
//! `scx_ops_enable_state_var`) instead of 7.x's `scx_root`.
//!
//! Opt-in: building it takes a while on the lab's 2-core machines, so `cargo xtask lab` runs
//! its case only with `--with-612`, when `--only` names it, or when the kernel is already in
//! the cache (see [`cached`]).
//!
//! # Recipe
//!
//! - Source: the newest `linux-source-6.12` of trixie (a Debian `all` package: the patched
//!   tree as `usr/src/linux-source-6.12.tar.xz`), unpacked whole into
//!   `<cache>/selfbuilt/src/<name>_<version>/linux-source-6.12/` (~1.5 GB, ~15 s).
//! - Config: `make tinyconfig`, then [`CONFIG`] through `scripts/config`, then
//!   `make olddefconfig`; every option of [`CONFIG`] is checked to have survived (Kconfig drops
//!   options whose dependencies are off without a word). The release is
//!   `<upstream version>-scxray` (`CONFIG_LOCALVERSION`). Why the options:
//!   - guest basics for the lab's busybox initramfs (uncompressed cpio, a `#!/bin/sh` init):
//!     `BLK_DEV_INITRD`, `BINFMT_ELF`, `BINFMT_SCRIPT`, `PROC_FS`, `PROC_SYSCTL` (the truth
//!     reads `/proc/sys/kernel/osrelease`), `SYSFS`, `DEVTMPFS`, the 8250 serial console, and for
//!     the static glibc scheduler binaries `FUTEX`, `EPOLL`, `SIGNALFD`, `TIMERFD`, `EVENTFD`,
//!     `SHMEM`, `POSIX_TIMERS`, `MULTIUSER`, `FILE_LOCKING`, `ADVISE_SYSCALLS`, and
//!     `MEMFD_CREATE` (under `TMPFS`): libbpf's skeleton open makes a placeholder fd with
//!     `memfd_create` and fails with `-ENOSYS` (-38) without it;
//!   - the lab's machine: `SMP` with `NR_CPUS=8` (tinyconfig has 2; the guests have 4 CPUs),
//!     `NUMA` found from QEMU's ACPI SRAT (`X86_64_ACPI_NUMA`, which needs `ACPI` and `PCI`;
//!     ACPI is also how `qemu_fw_cfg` finds the fw_cfg device), `X86_5LEVEL` (`-cpu max`
//!     offers LA57, like Debian's kernels);
//!   - sched_ext: `SCHED_CLASS_EXT` needs `BPF_SYSCALL`, `BPF_JIT` and `DEBUG_INFO_BTF`, which
//!     needs DWARF (`DEBUG_INFO_DWARF5`, under `DEBUG_KERNEL`) and pahole (Debian's `dwarves`);
//!     `CGROUPS` so the BTF has the cgroup types the scheduler headers name; `NET`, because
//!     libbpf's first probe loads a trivial `SOCKET_FILTER` program (its fallback,
//!     `TRACEPOINT`, needs the tracing stack) and fails the load with `-EINVAL` when neither
//!     program type exists; `BPF_EVENTS` (through `FTRACE` and `UPROBE_EVENTS`, the lighter
//!     of its two prerequisites), because without it no program may call `bpf_trace_printk`
//!     (`bpf_printk`), which scx_qmap's `cpu_online` does; `FUNCTION_TRACER` stays off (no
//!     live patching of the kernel's text under TCG);
//!   - what scxray reads: `KALLSYMS_ALL`, `RANDOMIZE_BASE` and `RANDOMIZE_MEMORY` (KASLR, as in
//!     Debian's kernels), `FW_CFG_SYSFS=y` built in (so the initramfs needs no module) and
//!     `VMCORE_INFO`, which 6.12 only selects from `CRASH_DUMP` or `PROC_KCORE`: `PROC_KCORE`
//!     is the cheaper one. Together QEMU's `-device vmcoreinfo` puts the guest's VMCOREINFO
//!     note into the dumps;
//!   - `KERNEL_GZIP` instead of tinyconfig's xz (faster to build and to unpack).
//! - Build: `make -j<cores> bzImage` in `<cache>/selfbuilt/build/linux-<version>/` (out of tree,
//!   kept for incremental rebuilds); log `<cache>/selfbuilt/make-<release>.log`.
//! - Results in `<cache>/kernels/<release>/`, the same files [`super::debian::prepare`] leaves for
//!   Debian's kernels: `vmlinuz` (the bzImage), `vmlinux` (with symbols and DWARF),
//!   `vmlinux.btf` (its `.BTF` section), `System.map`, `config`, no modules, and `kernel.txt`
//!   whose first lines are the cache key: the recipe number, the source package and version,
//!   the host's gcc and pahole versions and [`CONFIG`]. The resulting `.config`'s SHA256 is
//!   recorded after the key. A run whose key matches does nothing.
//!
//! Host packages (installed with the system's own apt when missing): `make gcc flex bison bc
//! libelf-dev dwarves xz-utils` (bookworm: gcc 12.2, pahole 1.24).
//!
//! Measured on the lab host (2 cores shared with other jobs): a full `make -j2 bzImage` of
//! 6.12.117 with this config 260-575 s depending on the load (~1100 objects; vmlinux 79 MB,
//! bzImage 3.3 MB, BTF 1.8 MB); source unpack ~15-50 s; a rerun with the same key ~1 s. Its
//! schedulers (`lab schedulers --kernel 6.12sb-amd64`, same clang 22 recipe as 7.x) build in
//! ~10-26 s; under TCG scx_qmap is enabled ~15 s after it starts (scx_simple 4 s, scx_central
//! 5 s), `SCXRAY-READY` ~25 s after QEMU starts.

use super::kernel::{Kernel, describe, kernels_dir};
use super::spec::KernelSpec;
use crate::lab::host::dirs::cache_dir;
use crate::lab::host::logged::run_logged;
use crate::lab::host::system::{ensure_host_packages, tool_version};
use crate::lab::host::{apt, elf, source};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Bumped whenever the recipe changes in a way [`CONFIG`] does not show.
const RECIPE: u32 = 1;

/// The options set on top of `make tinyconfig`: `(name without CONFIG_, value)`, value `y`,
/// `n`, a number or a quoted string.
const CONFIG: &[(&str, &str)] = &[
    ("64BIT", "y"),
    ("SMP", "y"),
    ("NR_CPUS", "8"),
    ("ACPI", "y"),
    ("PCI", "y"),
    ("NUMA", "y"),
    ("X86_64_ACPI_NUMA", "y"),
    ("X86_5LEVEL", "y"),
    ("PRINTK", "y"),
    ("EARLY_PRINTK", "y"),
    ("TTY", "y"),
    ("SERIAL_8250", "y"),
    ("SERIAL_8250_CONSOLE", "y"),
    ("BLK_DEV_INITRD", "y"),
    ("BINFMT_ELF", "y"),
    ("BINFMT_SCRIPT", "y"),
    ("PROC_FS", "y"),
    ("PROC_SYSCTL", "y"),
    ("SYSCTL", "y"),
    ("SYSFS", "y"),
    ("DEVTMPFS", "y"),
    ("DEVTMPFS_MOUNT", "y"),
    ("FUTEX", "y"),
    ("EPOLL", "y"),
    ("SIGNALFD", "y"),
    ("TIMERFD", "y"),
    ("EVENTFD", "y"),
    ("SHMEM", "y"),
    ("POSIX_TIMERS", "y"),
    ("MULTIUSER", "y"),
    ("FILE_LOCKING", "y"),
    ("TMPFS", "y"),
    ("MEMFD_CREATE", "y"),
    ("ADVISE_SYSCALLS", "y"),
    ("CGROUPS", "y"),
    ("NET", "y"),
    ("BPF", "y"),
    ("BPF_SYSCALL", "y"),
    ("BPF_JIT", "y"),
    ("FTRACE", "y"),
    ("UPROBE_EVENTS", "y"),
    ("BPF_EVENTS", "y"),
    ("FUNCTION_TRACER", "n"),
    ("DEBUG_KERNEL", "y"),
    ("DEBUG_INFO_DWARF5", "y"),
    ("DEBUG_INFO_BTF", "y"),
    ("SCHED_CLASS_EXT", "y"),
    ("KALLSYMS", "y"),
    ("KALLSYMS_ALL", "y"),
    ("RELOCATABLE", "y"),
    ("RANDOMIZE_BASE", "y"),
    ("RANDOMIZE_MEMORY", "y"),
    ("FW_CFG_SYSFS", "y"),
    ("PROC_KCORE", "y"),
    ("KERNEL_GZIP", "y"),
    ("KERNEL_XZ", "n"),
    ("SLUB_TINY", "n"),
    ("LOCALVERSION_AUTO", "n"),
    ("LOCALVERSION", "\"-scxray\""),
];

/// Options that must come out of `olddefconfig` as set, though [`CONFIG`] does not set them.
const IMPLIED: &[(&str, &str)] = &[("VMCORE_INFO", "y"), ("ACPI_NUMA", "y")];

/// Host packages the build needs: (package, a file it installs).
const HOST_PACKAGES: &[(&str, &str)] = &[
    ("make", "/usr/bin/make"),
    ("gcc", "/usr/bin/gcc"),
    ("flex", "/usr/bin/flex"),
    ("bison", "/usr/bin/bison"),
    ("bc", "/usr/bin/bc"),
    ("libelf-dev", "/usr/include/libelf.h"),
    ("dwarves", "/usr/bin/pahole"),
    ("xz-utils", "/usr/bin/xz"),
];

/// `<cache>/selfbuilt`.
fn selfbuilt_dir() -> PathBuf {
    cache_dir().join("selfbuilt")
}

/// The source package of `spec`: the newest `linux-source-<series>` of its suite.
fn source_package(spec: &KernelSpec) -> Result<apt::PackageInfo, String> {
    let name = format!("linux-source-{}", spec.series);
    apt::newest(&name, spec.arch, Some(spec.suite))?.ok_or_else(|| format!("no {name} in {}", spec.suite))
}

/// `uname -r` of the kernel built from `source`: `<upstream version>-<flavour>`.
fn release(spec: &KernelSpec, source: &apt::PackageInfo) -> String {
    let upstream = source.version.split(':').next_back().unwrap_or(&source.version);
    let upstream = upstream.rsplit_once('-').map_or(upstream, |(u, _)| u);
    format!("{upstream}-{}", spec.flavour)
}

/// The cache key (the first lines of `kernel.txt`): everything the build depends on.
fn cache_key(spec: &KernelSpec, source: &apt::PackageInfo) -> String {
    let mut key = format!(
        "selfbuilt {} recipe {RECIPE}\nsource {} {} {}\ngcc {}\npahole {}\n",
        spec.name,
        source.name,
        source.version,
        source.suite,
        tool_version("gcc"),
        tool_version("pahole")
    );
    for (k, v) in CONFIG {
        key.push_str(&format!("config CONFIG_{k}={v}\n"));
    }
    key
}

/// The kernel of `spec` when it is built and up to date in the cache, without building
/// anything (`None` also when the key cannot be computed, e.g. no apt index).
pub fn cached(spec: &KernelSpec) -> Option<Kernel> {
    let source = source_package(spec).ok()?;
    let release = release(spec, &source);
    let dir = kernels_dir().join(&release);
    let text = fs::read_to_string(dir.join("kernel.txt")).ok()?;
    let complete =
        ["vmlinuz", "vmlinux", "vmlinux.btf", "System.map", "config"].iter().all(|f| dir.join(f).is_file());
    (complete && text.starts_with(&cache_key(spec, &source)))
        .then(|| describe(spec, &release, &source.version, &dir, &text))
}

/// Builds the kernel of `spec` (or finds it built, see [`cached`]) and returns it.
pub fn prepare(spec: &KernelSpec) -> Result<Kernel, String> {
    if spec.arch != "amd64" {
        return Err(format!("{}: self-built kernels are amd64 only", spec.name));
    }
    if let Some(k) = cached(spec) {
        return Ok(k);
    }
    ensure_host_packages(HOST_PACKAGES)?;
    let _lock = BuildLock::take()?;
    // Another process may have built it while this one waited for nothing: look again.
    if let Some(k) = cached(spec) {
        return Ok(k);
    }
    let source = source_package(spec)?;
    let release = release(spec, &source);
    let key = cache_key(spec, &source);
    let start = Instant::now();
    eprintln!("xtask: ==> build kernel {} ({release}) from {} {}", spec.name, source.name, source.version);
    let tree = ensure_source(&source, spec.series)?;
    let build = selfbuilt_dir().join("build").join(format!("linux-{}", source.version));
    fs::create_dir_all(&build).map_err(|e| format!("mkdir {}: {e}", build.display()))?;
    let log = selfbuilt_dir().join(format!("make-{release}.log"));
    let config = configure(&tree, &build, &log)?;

    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let make_start = Instant::now();
    let mut make = kmake(&tree, &build);
    make.arg(format!("-j{jobs}")).arg("bzImage");
    run_logged(make, &format!("make -j{jobs} bzImage ({release})"), &log)?;
    let make_secs = make_start.elapsed().as_secs_f64();
    let built_release = kmake_output(&tree, &build, &["-s", "kernelrelease"])?;
    if built_release != release {
        return Err(format!("the tree says its release is {built_release}, expected {release}"));
    }

    // The results, in the layout of Debian's kernels.
    let dir = kernels_dir().join(&release);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("modules")).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    for (from, to) in [
        ("arch/x86/boot/bzImage", "vmlinuz"),
        ("vmlinux", "vmlinux"),
        ("System.map", "System.map"),
        (".config", "config"),
    ] {
        let from = build.join(from);
        fs::copy(&from, dir.join(to)).map_err(|e| format!("copy {}: {e}", from.display()))?;
    }
    let vmlinux = fs::read(dir.join("vmlinux")).map_err(|e| format!("read vmlinux: {e}"))?;
    let btf = elf::section(&vmlinux, ".BTF").ok_or("the built vmlinux has no .BTF section")?;
    fs::write(dir.join("vmlinux.btf"), btf).map_err(|e| format!("write BTF: {e}"))?;
    fs::write(dir.join("modules/load-order"), "").map_err(|e| format!("write load-order: {e}"))?;
    let text = format!(
        "{key}release {release}\npackage {} {} {}\nconfig-sha256 {}\nnote built here: make -j{jobs} bzImage took {make_secs:.0} s\n",
        source.name,
        source.version,
        source.suite,
        apt::sha256_file(&config)?,
    );
    fs::write(dir.join("kernel.txt"), &text).map_err(|e| format!("write kernel.txt: {e}"))?;
    eprintln!("xtask: <== build kernel {} ok ({:.1} s)", spec.name, start.elapsed().as_secs_f64());
    Ok(describe(spec, &release, &source.version, &dir, &text))
}

/// `<cache>/selfbuilt/build.lock`, holding the builder's pid: two builds in one build tree
/// (a `lab boot` and a `lab kernels` at once) would rewrite each other's `.config` mid-build.
struct BuildLock(PathBuf);

impl BuildLock {
    fn take() -> Result<Self, String> {
        let path = selfbuilt_dir().join("build.lock");
        fs::create_dir_all(selfbuilt_dir())
            .map_err(|e| format!("mkdir {}: {e}", selfbuilt_dir().display()))?;
        for _ in 0..2 {
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(Self(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = fs::read_to_string(&path).unwrap_or_default();
                    let pid = pid.trim();
                    if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                        return Err(format!(
                            "another process (pid {pid}) is building a self-built kernel; wait for it \
                             (or remove {} if that pid is not xtask)",
                            path.display()
                        ));
                    }
                    // Left behind by a process that is gone.
                    let _ = fs::remove_file(&path);
                }
                Err(e) => return Err(format!("create {}: {e}", path.display())),
            }
        }
        Err(format!("cannot take {}", path.display()))
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Unpacks all of `linux-source-<series>` into `<cache>/selfbuilt/src/<name>_<version>/`
/// (reused once complete) and returns the tree.
pub fn ensure_source(p: &apt::PackageInfo, series: &str) -> Result<PathBuf, String> {
    let base = selfbuilt_dir().join("src").join(format!("{}_{}", p.name, p.version));
    let stamp = format!("{} {}\n", p.name, p.version);
    source::unpack_linux_source(p, series, &base, &[], &stamp, "Makefile")
}

/// `make -C <tree> O=<build>`, without the private apt environment.
fn kmake(tree: &Path, build: &Path) -> Command {
    let mut c = Command::new("make");
    c.current_dir(tree).env_remove("APT_CONFIG").arg(format!("O={}", build.display()));
    c
}

/// What a `make` prints on stdout (trimmed).
fn kmake_output(tree: &Path, build: &Path, args: &[&str]) -> Result<String, String> {
    let out = kmake(tree, build).args(args).output().map_err(|e| format!("cannot run make: {e}"))?;
    if !out.status.success() {
        return Err(format!("make {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Writes `<build>/.config`: tinyconfig, [`CONFIG`], olddefconfig; checks that every option
/// survived and returns the config's path.
fn configure(tree: &Path, build: &Path, log: &Path) -> Result<PathBuf, String> {
    let _ = fs::remove_file(log);
    let mut c = kmake(tree, build);
    c.arg("tinyconfig");
    run_logged(c, "make tinyconfig", log)?;
    let config = build.join(".config");
    let mut sc = Command::new(tree.join("scripts/config"));
    sc.arg("--file").arg(&config);
    for (k, v) in CONFIG {
        match *v {
            "y" => sc.args(["--enable", k]),
            "n" => sc.args(["--disable", k]),
            v if v.starts_with('"') => sc.args(["--set-str", k, v.trim_matches('"')]),
            v => sc.args(["--set-val", k, v]),
        };
    }
    run_logged(sc, "scripts/config (the lab's options)", log)?;
    let mut c = kmake(tree, build);
    c.arg("olddefconfig");
    run_logged(c, "make olddefconfig", log)?;
    let text = fs::read_to_string(&config).map_err(|e| format!("read {}: {e}", config.display()))?;
    let lost = missing_options(&text, CONFIG.iter().chain(IMPLIED));
    if !lost.is_empty() {
        return Err(format!(
            "olddefconfig dropped or changed {} (a dependency is off): {}",
            lost.len(),
            lost.join(", ")
        ));
    }
    Ok(config)
}

/// The options of `want` that `config` (a `.config` file's text) does not have as asked.
fn missing_options<'a>(config: &str, want: impl Iterator<Item = &'a (&'a str, &'a str)>) -> Vec<String> {
    want.filter(|(k, v)| {
        let set = format!("CONFIG_{k}=");
        let have = config.lines().find_map(|l| l.strip_prefix(set.as_str()));
        match *v {
            "n" => have.is_some_and(|h| h != "n"),
            v => have != Some(v),
        }
    })
    .map(|(k, v)| format!("CONFIG_{k}={v}"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_that_did_not_survive() {
        let config = "CONFIG_SMP=y\n# CONFIG_NUMA is not set\nCONFIG_NR_CPUS=8\nCONFIG_LOCALVERSION=\"-x\"\n";
        let want = [("SMP", "y"), ("NUMA", "y"), ("NR_CPUS", "8"), ("LOCALVERSION", "\"-x\""), ("XZ", "n")];
        assert_eq!(missing_options(config, want.iter()), vec!["CONFIG_NUMA=y".to_owned()]);
        let want = [("NR_CPUS", "4"), ("SMP", "n")];
        assert_eq!(missing_options(config, want.iter()), vec!["CONFIG_NR_CPUS=4", "CONFIG_SMP=n"]);
    }

    #[test]
    fn release_names() {
        let spec = crate::lab::kernels::spec::spec("6.12sb-amd64").copied().unwrap_or_else(|e| panic!("{e}"));
        let p = apt::PackageInfo {
            name: "linux-source-6.12".into(),
            version: "6.12.117-1".into(),
            arch: "all".into(),
            suite: "trixie".into(),
            filename: String::new(),
            size: 0,
            sha256: String::new(),
        };
        assert_eq!(release(&spec, &p), "6.12.117-scxray");
    }
}
