//! The sched-ext project's production schedulers, `scx_bpfland` and `scx_lavd`, built from the
//! crate registry at pinned versions: `cargo xtask lab production`. Results:
//! `<cache>/prod-schedulers/<name>-<version>/bin/<name>`, plus `build.txt` (the cache key).
//!
//! # Recipe (as measured with 1.1.4 on a bookworm host)
//!
//! - `cargo install --locked --version <pinned> --root <cache>/prod-schedulers/<name>-<version>
//!   <name>`: the crate's own `Cargo.lock` (`--locked`; cargo warns that `async-executor
//!   1.14.0` in it is yanked, which is harmless), with the host's Rust toolchain.
//! - The BPF side (`scx_cargo`'s build script) runs `clang` from `PATH` (or `$BPF_CLANG`): the
//!   lab's private clang 22 ([`crate::lab::host::clang`]) is put first on `PATH`. The crates'
//!   bindgen needs libclang: Debian's `libclang-19-dev` (`LIBCLANG_PATH=/usr/lib/llvm-19/lib`),
//!   installed with the system's apt when missing, as are `libelf-dev`, `zlib1g-dev` and
//!   `pkg-config` for the vendored libbpf.
//! - Both build in one target directory (`<cache>/prod-schedulers/target`), so their shared
//!   dependencies (~300 crates, libbpf-rs, scx_utils) are compiled once; it is deleted after a
//!   successful build (~0.9 GB), the binaries (~9 MB each) stay.
//! - The binaries are linked dynamically against the host's glibc, libelf and zlib; the lab's
//!   guest gets them with their loader and libraries ([`crate::lab::host::libs`]). A static
//!   build (`-C target-feature=+crt-static`) was tried and not pursued: the dynamic one runs.
//! - BPF is CO-RE: one build serves every amd64 kernel. arm64 is not built yet. What it takes:
//!   the toolchain's `aarch64-unknown-linux-gnu` target (rust-toolchain.toml has it) linked by
//!   `aarch64-linux-gnu-gcc`, and libbpf-sys's vendored libbpf compiled and linked against arm64
//!   libelf and zlib, i.e. `CC_aarch64_unknown_linux_gnu`, `PKG_CONFIG_SYSROOT_DIR` and
//!   `PKG_CONFIG_PATH` pointed at the lab's arm64 sysroot ([`super::sysroot`]); nobody has
//!   wired and tried that. The guest would then run them under TCG, where even scx_qmap takes
//!   ~76 s to load.
//!
//! Cold build time on the lab host (2 shared cores): see the README's lab section.

use super::kernel::Kernel;
use super::program::Program;
use crate::lab::host::clang;
use crate::lab::host::dirs::cache_dir;
use crate::lab::host::logged::run_logged;
use crate::lab::host::system::{ensure_host_packages, package_version, tool_version};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The schedulers and their pinned versions (the crate registry's `1.1.x`).
const PINNED: &[(&str, &str)] = &[("scx_bpfland", "1.1.4"), ("scx_lavd", "1.1.4")];
/// Bumped whenever the recipe changes, so `build.txt` no longer matches and both rebuild.
const RECIPE: u32 = 1;
/// Host packages the build needs: (package, a file it installs).
const HOST_PACKAGES: &[(&str, &str)] = &[
    ("libclang-19-dev", "/usr/lib/llvm-19/lib/libclang.so"),
    ("libelf-dev", "/usr/include/libelf.h"),
    ("zlib1g-dev", "/usr/include/zlib.h"),
    ("pkg-config", "/usr/bin/pkg-config"),
    ("make", "/usr/bin/make"),
    ("gcc", "/usr/bin/gcc"),
];
/// Where bindgen finds `libclang.so` (from `libclang-19-dev`).
const LIBCLANG_PATH: &str = "/usr/lib/llvm-19/lib";

/// `scx_bpfland`: vtime, per-CPU and per-node user DSQs.
pub const SCX_BPFLAND: Program = Program { name: "scx_bpfland", build: build_all, path: bpfland_path };
/// `scx_lavd`: latency-criticality, per-domain and per-CPU user DSQs.
pub const SCX_LAVD: Program = Program { name: "scx_lavd", build: build_all, path: lavd_path };

/// Both, for `lab boot --scheduler scx_bpfland|scx_lavd`.
pub const PRODUCTION: &[Program] = &[SCX_BPFLAND, SCX_LAVD];

fn bpfland_path(_: &Kernel) -> PathBuf {
    binary("scx_bpfland")
}

fn lavd_path(_: &Kernel) -> PathBuf {
    binary("scx_lavd")
}

/// `<cache>/prod-schedulers`.
fn prod_dir() -> PathBuf {
    cache_dir().join("prod-schedulers")
}

fn version(name: &str) -> &'static str {
    PINNED.iter().find(|(n, _)| *n == name).map_or("?", |(_, v)| v)
}

/// `<cache>/prod-schedulers/<name>-<version>`: the `cargo install --root`.
fn root(name: &str) -> PathBuf {
    prod_dir().join(format!("{name}-{}", version(name)))
}

fn binary(name: &str) -> PathBuf {
    root(name).join("bin").join(name)
}

/// `cargo xtask lab production`: builds both (or finds them built) and prints their paths.
pub fn cmd(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("lab production takes no arguments (got `{a}`)"));
    }
    build()?;
    for (name, _) in PINNED {
        let p = binary(name);
        println!("{}\t{}", p.display(), fs::metadata(&p).map_or(0, |m| m.len()));
    }
    Ok(())
}

/// [`Program::build`] of both: amd64 kernels only (see the module doc).
fn build_all(kernel: &Kernel) -> Result<(), String> {
    if kernel.spec.arch != "amd64" {
        return Err(format!(
            "the production schedulers are built for amd64 only, not {} (see kernels/production.rs)",
            kernel.spec.arch
        ));
    }
    build()
}

/// Builds every scheduler of [`PINNED`] whose `build.txt` does not match its inputs (the
/// version, the recipe, clang, the Rust toolchain, the host packages); nothing when all match.
fn build() -> Result<(), String> {
    let clang = clang::package()?;
    ensure_host_packages(HOST_PACKAGES)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut common = format!(
        "recipe {RECIPE}\nclang {} {} {}\nrustc {}\n",
        clang.name,
        clang.version,
        clang.suite,
        tool_version("rustc")
    );
    for (pkg, _) in HOST_PACKAGES {
        common.push_str(&format!("host {pkg} {}\n", package_version(pkg)));
    }
    let key = |name: &str| format!("crate {name} {}\n{common}", version(name));
    let stale: Vec<&str> = PINNED
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| {
            !(binary(n).is_file() && fs::read_to_string(root(n).join("build.txt")).ok() == Some(key(n)))
        })
        .collect();
    if stale.is_empty() {
        eprintln!("xtask: production schedulers are up to date in {}", prod_dir().display());
        return Ok(());
    }
    let wrapper = clang::ensure_clang(&clang)?;
    let clang_dir = wrapper.parent().ok_or("the clang wrapper has no directory")?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(clang_dir.to_path_buf()).chain(std::env::split_paths(&path)))
            .map_err(|e| format!("PATH: {e}"))?;
    let target = prod_dir().join("target");
    fs::create_dir_all(prod_dir()).map_err(|e| format!("mkdir {}: {e}", prod_dir().display()))?;
    for name in stale {
        let start = Instant::now();
        let _ = fs::remove_file(root(name).join("build.txt"));
        let mut c = Command::new(&cargo);
        c.args(["install", "--locked", "--force", "--version", version(name), "--root"])
            .arg(root(name))
            .arg(name)
            .env("PATH", &path)
            .env("LIBCLANG_PATH", LIBCLANG_PATH)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("BPF_CLANG")
            .env_remove("RUSTFLAGS");
        let log = prod_dir().join(format!("{name}-{}.log", version(name)));
        let _ = fs::remove_file(&log);
        run_logged(c, &format!("cargo install {name} {}", version(name)), &log)?;
        if !binary(name).is_file() {
            return Err(format!("cargo install {name} left no {}", binary(name).display()));
        }
        fs::write(root(name).join("build.txt"), key(name))
            .map_err(|e| format!("write {}: {e}", root(name).join("build.txt").display()))?;
        eprintln!("xtask: {name} {} built in {:.0} s", version(name), start.elapsed().as_secs_f64());
    }
    // The binaries stay; the ~0.9 GB of build products do not.
    let _ = fs::remove_dir_all(&target);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_build_for_both_in_the_cache() {
        use crate::lab::kernels::{kernel::describe, spec::spec};
        let kernel =
            |name| describe(spec(name).unwrap(), "7.3.0-test", "1", std::path::Path::new("/none"), "");
        assert!(SCX_BPFLAND.built_with(&SCX_LAVD));
        assert_eq!(
            (SCX_LAVD.path)(&kernel("7.3-amd64")),
            cache_dir().join("prod-schedulers/scx_lavd-1.1.4/bin/scx_lavd"),
            "the pinned version is in the path"
        );
        let e = (SCX_BPFLAND.build)(&kernel("7.3-arm64")).unwrap_err();
        assert!(e.contains("amd64 only"), "{e}");
    }
}
