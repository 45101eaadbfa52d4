//! The host's own programs and packages, installed with the system's apt when missing (never
//! through the lab's private apt environment, [`super::apt`], which only downloads).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The full path of `tool` in `PATH`, if any.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file())
}

/// Makes sure the host has the program `tool` (looked up in `PATH`), installing the system
/// package `package` when it is missing.
pub fn ensure_host_tool(tool: &str, package: &str) -> Result<(), String> {
    if which(tool).is_some() {
        return Ok(());
    }
    eprintln!("xtask: `{tool}` is missing: apt-get install {package}");
    if install(&[package]) && which(tool).is_some() {
        Ok(())
    } else {
        Err(format!("could not install {package} (for `{tool}`)"))
    }
}

/// Installs the host packages of `pkgs` (package, a file it installs) whose file is missing.
pub fn ensure_host_packages(pkgs: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = pkgs.iter().filter(|(_, f)| !Path::new(f).exists()).map(|(p, _)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: host packages missing: {}", missing.join(" "));
    if !install(&missing) {
        return Err(format!("apt-get install {} failed", missing.join(" ")));
    }
    match pkgs.iter().find(|(_, f)| !Path::new(f).exists()) {
        Some((p, f)) => Err(format!("{p} is installed but {f} is still missing")),
        None => Ok(()),
    }
}

/// `apt-get install` of `packages` with the system's apt, after an `apt-get update` when the
/// first try fails (a fresh machine's lists may be missing or stale). Whether it succeeded.
pub fn install(packages: &[&str]) -> bool {
    let apt_get = || {
        let mut c = Command::new("apt-get");
        c.env_remove("APT_CONFIG").env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    let install = || {
        apt_get()
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .status()
            .is_ok_and(|s| s.success())
    };
    let update = || apt_get().args(["update", "-q"]).status().is_ok_and(|s| s.success());
    install() || (update() && install())
}

/// The installed version of a host package (`?` when unknown).
pub fn package_version(pkg: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", pkg])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("?".to_owned(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// The first line of `cmd --version` (`?` when it cannot run).
pub fn tool_version(cmd: &str) -> String {
    Command::new(cmd)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
