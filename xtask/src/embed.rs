//! The embedding lanes: `cross` (the no_std crates, scxray-wire among them, for four
//! bare-metal targets, the bare-metal example over scxray-wire and its `.text` size) and
//! `foreign` (the core and translator test suites on aarch64 and big-endian s390x Linux under
//! qemu-user).
//!
//! `foreign` sets the cross linker and the qemu runner through `CARGO_TARGET_<TRIPLE>_*`
//! environment variables for its own cargo only: nothing is written to a `.cargo/config`.
//! Missing tools are installed with the system's plain `apt-get install -y`.

use crate::util::{Step, cargo, ensure_rust_targets, workspace_root};
use std::path::Path;
use std::process::Command;

/// Bare-metal targets the no_std crates must build for.
pub const CROSS_TARGETS: &[&str] =
    &["thumbv7em-none-eabihf", "aarch64-unknown-none", "x86_64-unknown-none", "riscv64gc-unknown-none-elf"];

/// Feature sets of the cross builds: (what, cargo arguments after `build --target T`).
const CROSS_BUILDS: &[(&str, &[&str])] = &[
    (
        "no features",
        &["-p", "scxray-core", "-p", "scxray-x86_64", "-p", "scxray-aarch64", "-p", "scxray-btf"],
    ),
    ("scxray-core serde", &["-p", "scxray-core", "--features", "serde"]),
    ("scxray-core defmt", &["-p", "scxray-core", "--features", "defmt"]),
    ("scxray-core serde+defmt", &["-p", "scxray-core", "--features", "serde,defmt"]),
    ("scxray-btf alloc", &["-p", "scxray-btf", "--features", "alloc"]),
    // On its own: it turns the core's serde on, which would unify into the builds above.
    ("scxray-wire", &["-p", "scxray-wire"]),
    ("scxray-wire defmt", &["-p", "scxray-wire", "--features", "defmt"]),
];

/// Targets the bare-metal example links for.
const EXAMPLE_TARGETS: &[&str] = &["x86_64-unknown-none", "thumbv7em-none-eabihf"];

/// A foreign Linux host under qemu-user.
struct Foreign {
    name: &'static str,
    triple: &'static str,
    gcc: &'static str,
    sysroot: &'static str,
    qemu: &'static str,
    packages: &'static [&'static str],
}

const FOREIGN: &[Foreign] = &[
    Foreign {
        name: "aarch64",
        triple: "aarch64-unknown-linux-gnu",
        gcc: "aarch64-linux-gnu-gcc",
        sysroot: "/usr/aarch64-linux-gnu",
        qemu: "aarch64",
        packages: &["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"],
    },
    Foreign {
        name: "s390x",
        triple: "s390x-unknown-linux-gnu",
        gcc: "s390x-linux-gnu-gcc",
        sysroot: "/usr/s390x-linux-gnu",
        qemu: "s390x",
        packages: &["gcc-s390x-linux-gnu", "libc6-dev-s390x-cross"],
    },
];

/// The packages whose test suites run on the foreign hosts: the core, both translators, and
/// the workspace-level walker tests with their test kit. Left out: `scxray-btf` (its
/// `host_bpftool` tests run the host's bpftool and read kernel files) and the std host crate
/// `scxray` (it reads dumps from files; it is not part of what an embedder links).
const FOREIGN_PACKAGES: &[&str] = &["scxray-core", "scxray-x86_64", "scxray-aarch64", "scxray-tests"];

/// `cargo xtask cross`.
pub fn cross(_args: &[String]) -> Result<(), String> {
    ensure_rust_targets(CROSS_TARGETS)?;
    for target in CROSS_TARGETS {
        for (what, args) in CROSS_BUILDS {
            let mut a = vec!["build", "--quiet", "--target", target];
            a.extend_from_slice(args);
            Step::new(&format!("cross: {what} for {target}")).run(cargo(&a))?;
        }
    }
    for target in EXAMPLE_TARGETS {
        Step::new(&format!("cross: bare-metal example for {target}")).run(cargo(&[
            "build",
            "--quiet",
            "--release",
            "-p",
            "scxray-bare-metal",
            "--target",
            target,
        ]))?;
        let elf = target_dir().join(target).join("release").join("scxray-bare-metal");
        match text_size(&elf) {
            Ok(n) => eprintln!(
                "xtask: bare-metal example for {target}: code (.text) {n} bytes ({:.1} KiB)",
                kib(n)
            ),
            Err(e) => return Err(format!("{}: {e}", elf.display())),
        }
    }
    // defmt output of the core's results, linked with the example's logger stub.
    Step::new("cross: bare-metal example with defmt for thumbv7em-none-eabihf").run(cargo(&[
        "build",
        "--quiet",
        "--release",
        "-p",
        "scxray-bare-metal",
        "--features",
        "defmt",
        "--target",
        "thumbv7em-none-eabihf",
    ]))?;
    Ok(())
}

fn kib(n: u64) -> f64 {
    // Sizes are far below 2^52: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    f / 1024.0
}

/// The foreign hosts' target triples (their build directories).
pub fn foreign_triples() -> Vec<&'static str> {
    FOREIGN.iter().map(|f| f.triple).collect()
}

/// `cargo xtask foreign [aarch64|s390x]...`: both when none is named.
pub fn foreign(args: &[String]) -> Result<(), String> {
    let chosen: Vec<&Foreign> = if args.is_empty() {
        FOREIGN.iter().collect()
    } else {
        args.iter()
            .map(|a| {
                FOREIGN
                    .iter()
                    .find(|f| f.name == a.as_str())
                    .ok_or_else(|| format!("foreign: unknown host `{a}` (one of: aarch64, s390x)"))
            })
            .collect::<Result<_, _>>()?
    };
    for f in chosen {
        run_foreign(f)?;
    }
    Ok(())
}

fn run_foreign(f: &Foreign) -> Result<(), String> {
    ensure_rust_targets(&[f.triple])?;
    let qemu = ensure_tools(f)?;
    let env_triple = f.triple.to_uppercase().replace('-', "_");
    let mut c = cargo(&["test", "--target", f.triple]);
    for p in FOREIGN_PACKAGES {
        c.args(["-p", p]);
    }
    c.env(format!("CARGO_TARGET_{env_triple}_LINKER"), f.gcc)
        .env(format!("CARGO_TARGET_{env_triple}_RUNNER"), format!("{qemu} -L {}", f.sysroot))
        .env("QEMU_LD_PREFIX", f.sysroot)
        // Debug builds of the big collected outputs (an 852 KiB `UserDsqIndex<8192>` and
        // its copies) overflow the default 2 MiB test-thread stack on aarch64; tests that
        // measure a stack size set theirs explicitly.
        .env("RUST_MIN_STACK", "16777216")
        // Optimised but still checked (debug assertions and overflow checks stay on): the
        // property tests run several times faster under emulation.
        .env("CARGO_PROFILE_DEV_OPT_LEVEL", "1");
    Step::new(&format!("foreign: {} tests on {} under qemu-user", FOREIGN_PACKAGES.join(" "), f.triple))
        .run(c)
}

fn which(cmd: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

/// The cross gcc and a qemu-user binary for `f`, installing what is missing with apt-get.
/// Returns the qemu binary.
fn ensure_tools(f: &Foreign) -> Result<String, String> {
    let qemu_names = [format!("qemu-{}-static", f.qemu), format!("qemu-{}", f.qemu)];
    let find_qemu = || qemu_names.iter().find_map(|n| which(n));
    // The C runtime start files come with libc6-dev-*-cross (the gcc package does not pull it).
    let sysroot_ok = Path::new(f.sysroot).join("lib/crti.o").is_file();
    let mut missing: Vec<&str> = Vec::new();
    if which(f.gcc).is_none() || !sysroot_ok {
        missing.extend_from_slice(f.packages);
    }
    if find_qemu().is_none() {
        missing.push("qemu-user-static");
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    find_qemu().ok_or_else(|| format!("no {} after installing qemu-user-static", qemu_names.join(" or ")))
}

/// `cmd` on the PATH, else its Debian `package` installed with apt-get.
pub fn ensure_command(cmd: &str, package: &str) -> Result<(), String> {
    if which(cmd).is_none() {
        apt_install(&[package])?;
    }
    which(cmd).map(drop).ok_or_else(|| format!("no {cmd} after installing {package}"))
}

/// `apt-get update` then `apt-get install -y` with the system's own configuration.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let apt = |args: &[&str]| {
        let mut c = if is_root() {
            Command::new("apt-get")
        } else {
            let mut s = Command::new("sudo");
            s.args(["-n", "apt-get"]);
            s
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    Step::new("apt-get update").run(apt(&["update", "-q"]))?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    Step::new(&format!("apt-get install {}", packages.join(" "))).run(apt(&args))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The cargo target directory (`CARGO_TARGET_DIR` or the workspace's `target`).
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), Into::into)
}

/// The size of an ELF file's code: every allocated, executable section (`.text`, and the
/// `.text.*` sections a linker script may leave unmerged). ELF32 or ELF64, either byte order.
pub fn text_size(path: &Path) -> Result<u64, String> {
    const SHF_EXECINSTR: u64 = 0x4;
    let b = std::fs::read(path).map_err(|e| e.to_string())?;
    let bad = || "not an ELF file".to_owned();
    if b.get(..4) != Some(b"\x7fELF") {
        return Err(bad());
    }
    let is64 = b.get(4) == Some(&2);
    let le = b.get(5) == Some(&1);
    let num = |off: u64, len: usize| -> Result<u64, String> {
        let off = usize::try_from(off).map_err(|e| e.to_string())?;
        let s = b.get(off..off + len).ok_or_else(bad)?;
        let mut v = 0u64;
        for i in 0..len {
            let byte = if le { s[len - 1 - i] } else { s[i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    };
    let (shoff, shentsize, shnum) = if is64 {
        (num(0x28, 8)?, num(0x3a, 2)?, num(0x3c, 2)?)
    } else {
        (num(0x20, 4)?, num(0x2e, 2)?, num(0x30, 2)?)
    };
    let mut total = 0;
    for i in 0..shnum {
        let base = shoff + i * shentsize;
        let (flags, size) = if is64 {
            (num(base + 8, 8)?, num(base + 0x20, 8)?)
        } else {
            (num(base + 8, 4)?, num(base + 0x14, 4)?)
        };
        if flags & SHF_EXECINSTR != 0 {
            total += size;
        }
    }
    if total == 0 { Err("no executable section".into()) } else { Ok(total) }
}
