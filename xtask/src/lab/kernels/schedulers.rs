//! The kernel's own example sched_ext schedulers (`scx_qmap`, `scx_simple`, `scx_central` from
//! `tools/sched_ext`), built from Debian's `linux-source-<series>` of the lab kernel, statically
//! linked, for amd64 and arm64: `cargo xtask lab schedulers [--kernel 7.3] [--arch amd64]`.
//! Results: `<cache>/schedulers/<release>/scx_*` (e.g. `7.3.4+deb13-cloud-amd64`), plus
//! `build.txt` (the cache key: every input's name and version) and `make.log`.
//!
//! # Recipe (as measured with 7.3.4-1~bpo13+1 on a bookworm host)
//!
//! - Source: `linux-source-7.3` (trixie-backports, `7.3.4-1~bpo13+1`; 7.2: `linux-source-7.2`
//!   `7.2.13-1` from sid), always the same Debian version as the lab kernel
//!   ([`super::prepare::prepare`]). Only `tools/`, `include/`, `scripts/` (`bpf_doc.py` generates
//!   libbpf's helper header), `kernel/bpf/` (bpftool compiles `disasm.c`) and
//!   `arch/{x86,arm64}/include/uapi` are unpacked ([`SOURCE_PARTS`], ~180 MB, 30 s).
//! - libbpf and bpftool: the source's own `tools/lib/bpf` (libbpf 1.8) and `tools/bpf/bpftool`,
//!   which `tools/sched_ext/Makefile` builds itself (bpftool for the host, libbpf for the host
//!   and, when cross-compiling, for the target), so they match the source exactly. Debian's
//!   libbpf-dev/bpftool are not used: trixie's libbpf is 1.5 (the tree's is 1.8), and the
//!   backports' bpftool needs glibc 2.38 (bookworm has 2.36).
//!   bpftool is built with `SKIP_CRYPTO=1 SKIP_LLVM=1 SKIP_LIBBFD=1` (no libssl/llvm/bfd dev
//!   packages needed) and `LLVM_STRIP=true` (it would only strip debug info from bpftool's own
//!   helper BPF objects; there is no `llvm-strip` without a host LLVM).
//! - vmlinux.h: `bpftool btf dump` of the lab kernel's own BTF (`<cache>/kernels/<release>/
//!   vmlinux.btf`, taken out of the cloud kernel's vmlinuz by [`super::debian`]); when that is
//!   missing, Debian's `linux-bpf-dev` of the same version (its vmlinux.h comes from the generic
//!   flavour, ~20k lines differ from the cloud kernel's; CO-RE relocates field offsets at load
//!   time either way). `build.txt` says which one was used.
//! - BPF compiler: the lab's private clang 22 ([`crate::lab::host::clang`]: clang 19 and 21
//!   fail on 7.x's `scx_qmap.bpf.c`); the same amd64-hosted clang builds both arches' BPF.
//! - Userspace, amd64: the host's gcc 12 and bookworm's static `libelf.a` (0.188), `libz.a`,
//!   `libzstd.a`, `libc.a` (host packages `make gcc libc6-dev libelf-dev zlib1g-dev libzstd-dev
//!   pkg-config python3 xz-utils`, installed with the system apt when missing).
//! - Userspace, arm64: the host's `gcc-aarch64-linux-gnu` (gcc 12) against a private sysroot
//!   `<cache>/sysroots/arm64/` of trixie's arm64 `libc6-dev`, `libc6`, `linux-libc-dev`,
//!   `zlib1g(-dev)`, `libzstd1`/`libzstd-dev` and trixie-backports' `libelf-dev`/`libelf1t64`
//!   0.196 (trixie's 0.192 `libelf.a` references `eu_search_tree_init`, which no static library
//!   provides). The sysroot's headers and libraries are put ahead of the cross compiler's own
//!   (`-isystem`, `-B`, `-L`): trixie's `libelf.a` needs glibc 2.38+ symbols (`__isoc23_strtol`)
//!   that bookworm's `libc6-dev-arm64-cross` lacks.
//! - Static link: `make` links the schedulers dynamically (it has no switch for static, and a
//!   global `LDFLAGS=-static` breaks libbpf's shared library); then each one is linked again
//!   from the same objects: `cc -static -o scx_X scx_X.o libbpf.a -lelf -lzstd -lz -lpthread`.
//!   Static, because the guest is a busybox initramfs with no libc, libelf or zlib, and the same
//!   binary must run on both kernels' guests; each result is checked to have no ELF interpreter.
//!   Sizes (unstripped, with debug info): amd64 ~2.3-2.6 MB, arm64 ~2.8-3.1 MB each.
//!
//! Times on the lab host (2 shared cores): first run ~140 s for amd64 (clang closure 34 s,
//! source unpack 30 s, make 70 s), ~90 s for arm64 once those are cached; make alone 30-70 s.
//! A second run with the same inputs only compares `build.txt` and rebuilds nothing (~1 s
//! besides cargo). Built and booted so far (`lab boot --kernel K --scheduler scx_X`, which calls
//! [`build_schedulers`]): 7.3 amd64 (all three enabled sched_ext), 7.2 amd64 (qmap), 7.3 arm64
//! under TCG (qmap); 7.2 arm64 built, not booted. qmap takes long to enable (presumably the
//! BPF verifier on its large program):
//! ~20-36 s under KVM, ~76 s under TCG; simple and central 10-13 s.
//!
//! # Running them in the guest
//!
//! On a host without sched_ext (like the lab's build host) they stop at their first kernel
//! probe (`[SCX_BUG] ... sched_ext_ops.dump() missing, kernel too old?`), even for `-h`: the
//! compat checks read `/sys/kernel/btf/vmlinux` before option parsing. With the 7.3 BTF bind
//! mounted there (`unshare -m`) all three print their usage, and loading then fails with
//! `-ENOTSUPP` (no sched_ext in the host kernel), as expected.
//!
//! - `scx_simple [-f] [-v]`: no flags needed (`-f`: global FIFO instead of weighted vtime).
//! - `scx_central [-s SLICE_US] [-c CPU] [-v]`: no flags needed (CPU 0 is the central CPU; the
//!   guest needs at least 2 CPUs to be interesting). Its BPF object has a Kconfig extern
//!   (`CONFIG_PREEMPT_RCU`, via `scx/common.bpf.h`), so libbpf reads the kernel config at load:
//!   `/boot/config-$(uname -r)` or `/proc/config.gz`, and fails the load ("failed to open
//!   system Kconfig") when neither exists. Debian kernels have `# CONFIG_IKCONFIG is not set`,
//!   so the initramfs must carry `/boot/config-<release>` (Debian ships it as
//!   `/usr/lib/modules/<release>/config` in `linux-base-<release>`; the lab's initramfs copies
//!   it). `scx_qmap` and `scx_simple` have no Kconfig externs.
//! - `scx_qmap [-s SLICE_US] [-e COUNT] [-t COUNT] [-T COUNT] [-l COUNT] [-b COUNT] [-N COUNT]
//!   [-P] [-M] [-H] [-c CG_PATH] [-d PID] [-D LEN] [-S] [-p] [-I] [-F COUNT] [-C MODE] [-i SEC]
//!   [-R MS] [-J MODE] [-B PPT] [-q US] [-v]`: no flags needed to run. `-S` only suppresses
//!   qmap's own part of the exit dump; the stall options are `-t COUNT`/`-T COUNT` (stall every
//!   COUNT'th user/kernel thread: the watchdog then ejects the scheduler, do not use them for a
//!   steady state); `-e`, `-l`, `-J` inject errors. `-p` switches only SCHED_EXT tasks; `-i SEC`
//!   is the stats interval (default 5). It refuses machines with more than 1024 possible CPUs.
//!   That is 7.3's list; 7.2's qmap has the same flags up to `-C` and lacks `-i -R -J -B -q`.
//!
//! All three print their counters to stdout until SIGINT/SIGTERM, and `[SCX_BUG] ...` plus
//! libbpf's messages (more with `-v`) when they cannot load; the kernel's own view is `/sys/kernel/sched_ext/state` and
//! `/sys/kernel/sched_ext/root/ops`.

use super::kernel::Kernel;
use super::prepare::prepare;
use super::program::Program;
use super::selfbuilt;
use super::spec::{Packaging, spec};
use super::sysroot::{ensure_sysroot, sysroot_packages};
use crate::lab::host::dirs::cache_dir;
use crate::lab::host::logged::run_logged;
use crate::lab::host::system::{ensure_host_packages, package_version};
use crate::lab::host::{apt, clang, elf, source};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The schedulers built, as named in `tools/sched_ext`.
const SCHEDULERS: &[&str] = &["scx_qmap", "scx_simple", "scx_central"];
/// Bumped whenever the recipe changes, so `build.txt` no longer matches and everything rebuilds.
const RECIPE: u32 = 2;
/// Host packages the build needs: (package, a file it installs).
const HOST_PACKAGES: &[(&str, &str)] = &[
    ("make", "/usr/bin/make"),
    ("gcc", "/usr/bin/gcc"),
    ("libc6-dev", "/usr/include/stdio.h"),
    ("libelf-dev", "/usr/include/libelf.h"),
    ("zlib1g-dev", "/usr/include/zlib.h"),
    ("libzstd-dev", "/usr/include/zstd.h"),
    ("pkg-config", "/usr/bin/pkg-config"),
    ("python3", "/usr/bin/python3"),
    ("xz-utils", "/usr/bin/xz"),
];
const ARM64_HOST_PACKAGES: &[(&str, &str)] = &[("gcc-aarch64-linux-gnu", "/usr/bin/aarch64-linux-gnu-gcc")];

/// `<cache>/schedulers`.
fn schedulers_dir() -> PathBuf {
    cache_dir().join("schedulers")
}

/// Where the example scheduler `name` (one of [`SCHEDULERS`]) for the kernel `release` is once
/// built: `<cache>/schedulers/<release>/<name>`.
fn example_binary(release: &str, name: &str) -> PathBuf {
    schedulers_dir().join(release).join(name)
}

/// Builds the example schedulers for `kernel` (all three at once; cached).
fn build_examples(kernel: &Kernel) -> Result<(), String> {
    build_for(kernel).map(|_| ())
}

/// The kernel's example schedulers, as programs for the guests.
pub const SCX_QMAP: Program =
    Program { name: "scx_qmap", build: build_examples, path: |k| example_binary(&k.release, "scx_qmap") };
pub const SCX_SIMPLE: Program =
    Program { name: "scx_simple", build: build_examples, path: |k| example_binary(&k.release, "scx_simple") };
pub const SCX_CENTRAL: Program = Program {
    name: "scx_central",
    build: build_examples,
    path: |k| example_binary(&k.release, "scx_central"),
};
/// All of them.
pub const EXAMPLES: &[Program] = &[SCX_QMAP, SCX_SIMPLE, SCX_CENTRAL];
/// The tree's own bpftool, which the build makes for the host (amd64 only: an arm64 build makes
/// an amd64 bpftool too), dynamically linked (its libraries go into the guest with it): the
/// guest's own listing of its BPF programs and maps, as truth for the report's BPF section.
pub const BPFTOOL: Program =
    Program { name: "bpftool", build: build_examples, path: |k| example_binary(&k.release, "bpftool") };

/// `cargo xtask lab schedulers [--kernel SERIES|RELEASE] [--arch amd64|arm64]`.
pub fn cmd(args: &[String]) -> Result<(), String> {
    let (mut kernel, mut arch) = ("7.3".to_owned(), "amd64".to_owned());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--kernel" => kernel = value("--kernel")?,
            "--arch" => arch = value("--arch")?,
            other => {
                return Err(format!(
                    "unknown option `{other}`; usage: lab schedulers [--kernel 7.3] [--arch amd64|arm64]"
                ));
            }
        }
    }
    for p in build_schedulers(&kernel, &arch)? {
        let size = fs::metadata(&p).map_or(0, |m| m.len());
        println!("{}\t{size}", p.display());
    }
    Ok(())
}

/// Builds (or finds already built) [`SCHEDULERS`] for the lab kernel `kernel_release` on
/// `arch` (`amd64` or `arm64`) and returns their paths, `<cache>/schedulers/<release>/scx_*`.
///
/// `kernel_release` is a series of the kernel matrix (`7.3`, `7.2`) or a full release
/// (`7.3.4+deb13-cloud-amd64`), which must then be the one the matrix currently resolves to.
fn build_schedulers(kernel_release: &str, arch: &str) -> Result<Vec<PathBuf>, String> {
    if arch != "amd64" && arch != "arm64" {
        return Err(format!("unsupported arch `{arch}` (amd64 or arm64)"));
    }
    // A kernel's name (`6.12sb-amd64`, `7.3-amd64`) names it whatever the arch.
    if let Ok(spec) = spec(kernel_release) {
        return build_for(&prepare(spec)?);
    }
    let series: String = kernel_release.split('.').take(2).collect::<Vec<_>>().join(".");
    let series = series.split(['+', '-']).next().unwrap_or("").to_owned();
    let spec = spec(&format!("{series}-{arch}"))?;
    let kernel = prepare(spec)?;
    if ![series.as_str(), spec.name, kernel.release.as_str()].contains(&kernel_release) {
        return Err(format!(
            "kernel {kernel_release} asked for, but the lab's {series} for {arch} is now {}",
            kernel.release
        ));
    }
    build_for(&kernel)
}

/// Builds (or finds already built) [`SCHEDULERS`] for the prepared lab kernel `kernel`, from
/// the `linux-source` of its series and Debian version, against its own BTF.
pub fn build_for(kernel: &Kernel) -> Result<Vec<PathBuf>, String> {
    let (series, arch) = (kernel.spec.series, kernel.spec.arch);

    // Every input, resolved to an exact package version: the cache key.
    let source = apt::packages(&format!("linux-source-{series}"), arch, None)?
        .into_iter()
        .find(|p| p.version == kernel.version)
        .ok_or_else(|| format!("no linux-source-{series} {} in {:?}", kernel.version, apt::SUITES))?;
    let clang = clang::package()?;
    let vmlinux = VmlinuxSource::choose(kernel, arch)?;
    let sysroot_pkgs = if arch == "arm64" { sysroot_packages()? } else { Vec::new() };
    let mut key = format!(
        "recipe {RECIPE}\nrelease {}\narch {arch}\nsource {} {}\nclang {} {} {}\nvmlinux {}\n",
        kernel.release,
        source.name,
        source.version,
        clang.name,
        clang.version,
        clang.suite,
        vmlinux.describe()?
    );
    for p in &sysroot_pkgs {
        key.push_str(&format!("sysroot {} {} {}\n", p.name, p.version, p.suite));
    }
    let host =
        if arch == "amd64" { HOST_PACKAGES.to_vec() } else { [HOST_PACKAGES, ARM64_HOST_PACKAGES].concat() };
    ensure_host_packages(&host)?;
    for (pkg, _) in &host {
        key.push_str(&format!("host {pkg} {}\n", package_version(pkg)));
    }

    let out_dir = schedulers_dir().join(&kernel.release);
    let outputs: Vec<PathBuf> = SCHEDULERS.iter().map(|s| example_binary(&kernel.release, s)).collect();
    // The host's bpftool runs in the amd64 guests only.
    let bpftool = (arch == "amd64").then(|| example_binary(&kernel.release, "bpftool"));
    let stamp = out_dir.join("build.txt");
    // Stamps written before keys were cache-relative name the cache by its absolute path.
    let absolute = format!("{}/", cache_dir().display());
    if fs::read_to_string(&stamp).is_ok_and(|s| s.replace(&absolute, "<cache>/") == key)
        && outputs.iter().chain(&bpftool).all(|p| p.is_file())
    {
        eprintln!("xtask: schedulers for {} are up to date in {}", kernel.release, out_dir.display());
        return Ok(outputs);
    }

    let start = Instant::now();
    let clang_bin = clang::ensure_clang(&clang)?;
    // A self-built kernel's whole source tree is unpacked already: its tools/ are the same.
    let src = if kernel.spec.packaging == Packaging::SelfBuilt {
        selfbuilt::ensure_source(&source, series)?
    } else {
        ensure_source(&source, series)?
    };
    let sysroot = if arch == "arm64" { Some(ensure_sysroot(&sysroot_pkgs)?) } else { None };
    let work = schedulers_dir().join("build").join(&kernel.release);
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let vmlinux_arg = vmlinux.materialize(&work)?;

    // The target C compiler, as one word list (make gets it as CC=...).
    let cc: Vec<String> = match &sysroot {
        None => vec!["gcc".into()],
        Some(s) => {
            let s = s.display().to_string();
            vec![
                "aarch64-linux-gnu-gcc".into(),
                format!("--sysroot={s}"),
                "-isystem".into(),
                format!("{s}/usr/include/aarch64-linux-gnu"),
                "-isystem".into(),
                format!("{s}/usr/include"),
                format!("-B{s}/usr/lib/aarch64-linux-gnu"),
                format!("-L{s}/usr/lib/aarch64-linux-gnu"),
            ]
        }
    };
    let mut make = Command::new("make");
    make.current_dir(src.join("tools/sched_ext"))
        .env_remove("APT_CONFIG")
        .arg(format!("O={}", work.display()))
        .arg(format!("CLANG={}", clang_bin.display()))
        .arg("LLVM_STRIP=true")
        .args(["SKIP_CRYPTO=1", "SKIP_LLVM=1", "SKIP_LIBBFD=1", "HOSTCC=gcc"])
        .args(vmlinux_arg)
        .arg(format!("-j{}", std::thread::available_parallelism().map_or(2, |n| n.get())));
    if arch == "arm64" {
        make.args(["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"]).arg(format!("CC={}", cc.join(" ")));
    }
    make.args(SCHEDULERS);
    let log = out_dir.join("make.log");
    fs::create_dir_all(&out_dir).map_err(|e| format!("mkdir {}: {e}", out_dir.display()))?;
    let _ = fs::remove_file(&log);
    run_logged(make, &format!("make {} for {} {arch}", SCHEDULERS.join(" "), kernel.release), &log)?;

    // The static link, from make's objects.
    let build = work.join("build");
    let _ = fs::remove_file(&stamp);
    for (s, out) in SCHEDULERS.iter().zip(&outputs) {
        let tmp = out.with_extension("tmp");
        let mut link = Command::new(&cc[0]);
        link.args(&cc[1..])
            .arg("-static")
            .arg("-o")
            .arg(&tmp)
            .arg(build.join(format!("obj/sched_ext/{s}.o")))
            .arg(build.join("obj/libbpf/libbpf.a"))
            .args(["-lelf", "-lzstd", "-lz", "-lpthread"]);
        let o = link.output().map_err(|e| format!("cannot run {}: {e}", cc[0]))?;
        if !o.status.success() {
            return Err(format!("static link of {s} failed:\n{}", String::from_utf8_lossy(&o.stderr)));
        }
        check_static(&tmp, arch)?;
        fs::rename(&tmp, out).map_err(|e| format!("rename to {}: {e}", out.display()))?;
    }
    if let Some(out) = &bpftool {
        let built = build_bpftool(&src, &work, &out_dir)?;
        fs::copy(&built, out).map_err(|e| format!("copy {} to {}: {e}", built.display(), out.display()))?;
    }
    fs::write(&stamp, &key).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    let _ = fs::remove_dir_all(&work);
    eprintln!(
        "xtask: schedulers for {} {arch} built in {:.1} s: {}",
        kernel.release,
        start.elapsed().as_secs_f64(),
        out_dir.display()
    );
    Ok(outputs)
}

/// Builds the tree's bpftool for the guest, without its BPF skeletons (`VMLINUX_BTF=` and
/// `VMLINUX_H=` empty: bpftool then builds none), into `<work>/bpftool/`, and returns its path.
/// The schedulers' own bpftool has them: its `prog show` and `map show` first load a BPF
/// iterator (to name the processes holding each object), which the guest's kernel verifies under
/// TCG for 60-80 s, and whose program and maps would show in the listing they make.
fn build_bpftool(src: &Path, work: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let dir = work.join("bpftool");
    fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let mut make = Command::new("make");
    make.current_dir(src.join("tools/bpf/bpftool"))
        .env_remove("APT_CONFIG")
        .arg(format!("OUTPUT={}/", dir.display()))
        .args(["VMLINUX_BTF=", "VMLINUX_H=", "SKIP_CRYPTO=1", "SKIP_LLVM=1", "SKIP_LIBBFD=1"])
        .args(["CC=gcc", "HOSTCC=gcc", "LLVM_STRIP=true"])
        .arg(format!("-j{}", std::thread::available_parallelism().map_or(2, |n| n.get())));
    run_logged(make, "make bpftool (without skeletons) for the guest", &out_dir.join("bpftool-make.log"))?;
    Ok(dir.join("bpftool"))
}

/// Where vmlinux.h comes from.
enum VmlinuxSource {
    /// The lab kernel's BTF: the Makefile dumps it with its own bpftool.
    Btf(PathBuf),
    /// `linux-bpf-dev`'s ready-made header (same Debian version, generic flavour).
    BpfDev(apt::PackageInfo),
}

impl VmlinuxSource {
    fn choose(kernel: &Kernel, arch: &str) -> Result<Self, String> {
        if let Some(b) = kernel.btf.as_ref().filter(|b| b.is_file()) {
            return Ok(Self::Btf(b.clone()));
        }
        eprintln!("xtask: no BTF for {}: using linux-bpf-dev's vmlinux.h", kernel.release);
        apt::packages("linux-bpf-dev", arch, None)?
            .into_iter()
            .find(|p| p.version == kernel.version)
            .map(Self::BpfDev)
            .ok_or_else(|| format!("no BTF for {} and no linux-bpf-dev {}", kernel.release, kernel.version))
    }

    fn describe(&self) -> Result<String, String> {
        Ok(match self {
            // Named relative to the cache: the same inputs under another `SCXRAY_CACHE` are
            // the same key.
            Self::Btf(p) => format!("btf {} sha256 {}", cache_relative(p), apt::sha256_file(p)?),
            Self::BpfDev(p) => format!("{} {} {}", p.name, p.version, p.suite),
        })
    }

    /// The make variables that select it (the header is unpacked into `work` first).
    fn materialize(&self, work: &Path) -> Result<Vec<String>, String> {
        match self {
            Self::Btf(p) => Ok(vec![format!("VMLINUX_BTF={}", p.display())]),
            Self::BpfDev(p) => {
                let deb = apt::fetch_info(p)?;
                let dir = work.join("linux-bpf-dev");
                apt::extract(&deb, &dir)?;
                let triplet = if p.arch == "arm64" { "aarch64-linux-gnu" } else { "x86_64-linux-gnu" };
                let h = dir.join(format!("usr/include/{triplet}/linux/bpf/vmlinux.h"));
                if !h.is_file() {
                    return Err(format!("{} has no {}", p.name, h.display()));
                }
                // VMLINUX_BTF must name an existing file; with VMLINUX_H it is only a prerequisite.
                Ok(vec![format!("VMLINUX_BTF={}", h.display()), format!("VMLINUX_H={}", h.display())])
            }
        }
    }
}

/// The parts of the kernel source the build reads: the tools, the kernel's headers (`-I../../
/// include`), `scripts/bpf_doc.py` (libbpf's helper header), `kernel/bpf/disasm.c` (bpftool)
/// and each architecture's UAPI headers (`tools/include/uapi/asm/*.h` include them).
const SOURCE_PARTS: &[&str] =
    &["tools", "include", "scripts", "kernel/bpf", "arch/x86/include/uapi", "arch/arm64/include/uapi"];

/// Unpacks [`SOURCE_PARTS`] of `linux-source-<series>` into
/// `<cache>/src/<name>_<version>/linux-source-<series>` (reused while complete).
fn ensure_source(p: &apt::PackageInfo, series: &str) -> Result<PathBuf, String> {
    let base = cache_dir().join("src").join(format!("{}_{}", p.name, p.version));
    let stamp = SOURCE_PARTS.join("\n") + "\n";
    source::unpack_linux_source(p, series, &base, SOURCE_PARTS, &stamp, "tools/sched_ext/Makefile")
}

/// Fails unless `path` is an ELF executable for `arch` without a program interpreter.
fn check_static(path: &Path, arch: &str) -> Result<(), String> {
    let data = fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let machine = if arch == "arm64" { elf::EM_AARCH64 } else { elf::EM_X86_64 };
    elf::check_static_executable(&data, machine).map_err(|e| format!("{}: {e}", path.display()))
}

/// `path` as `<cache>/...` when it is inside the lab cache.
fn cache_relative(path: &Path) -> String {
    path.strip_prefix(cache_dir())
        .map_or_else(|_| path.display().to_string(), |r| format!("<cache>/{}", r.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_name_the_btf_relative_to_the_cache() {
        let inside = cache_dir().join("kernels").join("7.3.4+deb13-cloud-amd64").join("vmlinux.btf");
        assert_eq!(cache_relative(&inside), "<cache>/kernels/7.3.4+deb13-cloud-amd64/vmlinux.btf");
        assert_eq!(cache_relative(Path::new("/elsewhere/vmlinux.btf")), "/elsewhere/vmlinux.btf");
    }
}
