//! Debian's kernels: the `cloud` kernels of the matrix fetched through the private apt
//! environment and unpacked into `<cache>/kernels/<release>/` (the files [`super::kernel`]
//! lists): the vmlinuz, the config, `System.map` only when the package's is real (Debian's are
//! placeholders: the real one is in the ~350 MB `-dbg` package, fetched only by
//! [`fetch_debug`]), the guest's modules, and the BTF: x86 takes the `.BTF` section of the ELF
//! vmlinux inside the bzImage; arm64 finds the blob in the `Image` by its self-describing
//! header ([`super::btf::find_btf_blob`]).

use super::btf::find_btf_blob;
use super::image::{Compression, decompress, extract_vmlinux};
use super::kernel::{Kernel, describe, kernels_dir};
use super::modules::take_guest_modules;
use super::spec::{KernelSpec, Packaging};
use crate::lab::host::{apt, elf};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Resolves `spec` (a Debian kernel) to the newest matching packages, fetches them (cached) and unpacks what the
/// lab needs into `<cache>/kernels/<release>/`. A kernel already unpacked from the same
/// packages is reused without touching the network beyond the (daily) list refresh.
pub fn prepare(spec: &KernelSpec) -> Result<Kernel, String> {
    let (main_pkg, release) = resolve(spec)?;
    let dir = kernels_dir().join(&release);
    let manifest = dir.join("kernel.txt");
    let key = format!("{} {}", main_pkg.name, main_pkg.version);
    if let Ok(text) = fs::read_to_string(&manifest)
        && text.lines().next() == Some(key.as_str())
    {
        return Ok(describe(spec, &release, &main_pkg.version, &dir, &text));
    }
    let start = Instant::now();
    eprintln!("xtask: ==> unpack kernel {} ({release})", spec.name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let tmp = dir.join("unpacked");
    let mut packages = vec![main_pkg.clone()];
    let mut notes = Vec::new();
    if spec.packaging == Packaging::Split {
        for kind in ["linux-base", "linux-modules"] {
            let name = format!("{kind}-{release}");
            match apt::newest(&name, spec.arch, Some(spec.suite))? {
                Some(p) if p.version == main_pkg.version => packages.push(p),
                Some(p) => {
                    notes.push(format!("{name} is {} (not {}): not used", p.version, main_pkg.version))
                }
                None => notes.push(format!("no {name} in {}", spec.suite)),
            }
        }
    }
    for p in &packages {
        let deb = apt::fetch_info(p)?;
        apt::extract(&deb, &tmp)?;
    }
    // vmlinuz: /usr/lib/modules/<rel>/vmlinuz (7.x) or /boot/vmlinuz-<rel> (6.12).
    let find = |cands: &[PathBuf]| cands.iter().find(|p| p.is_file()).cloned();
    let vmlinuz_src = find(&[
        tmp.join(format!("usr/lib/modules/{release}/vmlinuz")),
        tmp.join(format!("boot/vmlinuz-{release}")),
    ])
    .ok_or_else(|| format!("no vmlinuz in {}", main_pkg.name))?;
    copy(&vmlinuz_src, &dir.join("vmlinuz"))?;
    if let Some(c) = find(&[
        tmp.join(format!("usr/lib/modules/{release}/config")),
        tmp.join(format!("boot/config-{release}")),
    ]) {
        copy(&c, &dir.join("config"))?;
    } else {
        notes.push("no kernel config in the packages".into());
    }
    if let Some(m) = find(&[
        tmp.join(format!("usr/lib/modules/{release}/System.map")),
        tmp.join(format!("boot/System.map-{release}")),
    ]) {
        let text = fs::read_to_string(&m).unwrap_or_default();
        if text.lines().count() > 1000 {
            copy(&m, &dir.join("System.map"))?;
        } else {
            notes.push("System.map is a placeholder (the real one is in the -dbg package)".into());
        }
    }
    notes.extend(take_guest_modules(&tmp.join(format!("usr/lib/modules/{release}")), &dir.join("modules")));
    // vmlinux and BTF.
    let image = fs::read(dir.join("vmlinuz")).map_err(|e| format!("read vmlinuz: {e}"))?;
    let btf_path = dir.join("vmlinux.btf");
    if spec.arch == "amd64" {
        let vmlinux = extract_vmlinux(&image)?;
        let btf = elf::section(&vmlinux, ".BTF").ok_or("the embedded vmlinux has no .BTF section")?;
        // Cross-check the header scan used for arm64 against the section.
        match find_btf_blob(&vmlinux) {
            Some((off, len)) if &vmlinux[off..off + len] == btf => {}
            _ => notes.push("BTF header scan disagrees with the .BTF section".into()),
        }
        fs::write(&btf_path, btf).map_err(|e| format!("write BTF: {e}"))?;
        fs::write(dir.join("vmlinux"), &vmlinux).map_err(|e| format!("write vmlinux: {e}"))?;
    } else {
        let data =
            if image.starts_with(&[0x1f, 0x8b]) { decompress(&image, Compression::Gzip)? } else { image };
        match find_btf_blob(&data) {
            Some((off, len)) => {
                fs::write(&btf_path, &data[off..off + len]).map_err(|e| format!("write BTF: {e}"))?;
            }
            None => notes.push("no BTF blob found in the arm64 Image".into()),
        }
    }
    let _ = fs::remove_dir_all(&tmp);
    let mut text = format!("{key}\nrelease {release}\n");
    for p in &packages {
        text.push_str(&format!("package {} {} {}\n", p.name, p.version, p.suite));
    }
    for n in &notes {
        text.push_str(&format!("note {n}\n"));
    }
    fs::write(&manifest, &text).map_err(|e| format!("write {}: {e}", manifest.display()))?;
    eprintln!("xtask: <== unpack kernel {} ok ({:.1} s)", spec.name, start.elapsed().as_secs_f64());
    Ok(describe(spec, &release, &main_pkg.version, &dir, &text))
}

/// The package that carries the vmlinuz, and the release it names.
fn resolve(spec: &KernelSpec) -> Result<(apt::PackageInfo, String), String> {
    let (prefix, suffix) = match spec.packaging {
        Packaging::Split => ("linux-binary-".to_owned(), format!("-{}", spec.flavour)),
        Packaging::Unsigned => ("linux-image-".to_owned(), format!("-{}-unsigned", spec.flavour)),
        Packaging::SelfBuilt => return Err(format!("{} is built by the lab, not fetched", spec.name)),
    };
    let pattern = format!("{prefix}{}.*{suffix}", spec.series);
    let p = apt::newest(&pattern, spec.arch, Some(spec.suite))?
        .ok_or_else(|| format!("no package {pattern} in {} for {}", spec.suite, spec.arch))?;
    let release = p.name.strip_prefix(&prefix).unwrap_or(&p.name);
    let release = release.strip_suffix("-unsigned").unwrap_or(release).to_owned();
    Ok((p, release))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to).map(|_| ()).map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// Where [`fetch_debug`] keeps the `-dbg` package's vmlinux (symbols and DWARF) of `k`.
pub fn dbg_vmlinux(k: &Kernel) -> PathBuf {
    k.dir.join("vmlinux-dbg")
}

/// Fetches the kernel's `-dbg` package (~350 MB; not kept unless `SCXRAY_KEEP_DBG=1`) and
/// takes its real `System.map` into the kernel's directory, and with `keep_vmlinux` its
/// vmlinux with symbols and DWARF as `vmlinux-dbg` (~400 MB). Does nothing when they are
/// already there.
pub fn fetch_debug(k: &Kernel, keep_vmlinux: bool) -> Result<Kernel, String> {
    if k.spec.packaging == Packaging::SelfBuilt {
        // Its System.map is real and its `vmlinux` already has symbols and DWARF.
        return Ok(k.clone());
    }
    let want_map = k.system_map.is_none();
    let want_vmlinux = keep_vmlinux && !dbg_vmlinux(k).is_file();
    if !want_map && !want_vmlinux {
        return Ok(k.clone());
    }
    let name = format!("linux-image-{}-dbg", k.release);
    let p = apt::packages(&name, k.spec.arch, Some(k.spec.suite))?
        .into_iter()
        .find(|p| p.version == k.version)
        .ok_or_else(|| format!("no {name} {} in {}", k.version, k.spec.suite))?;
    let deb = apt::fetch_info(&p)?;
    let start = Instant::now();
    eprintln!("xtask: ==> unpack {name} (System.map{})", if want_vmlinux { ", vmlinux" } else { "" });
    let tmp = k.dir.join("dbg-unpacked");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("mkdir {}: {e}", tmp.display()))?;
    let mut patterns = vec!["*/System.map*".to_owned()];
    if want_vmlinux {
        patterns.push(format!("*/modules/{}/vmlinux", k.release));
    }
    let mut dpkg = Command::new("dpkg")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run dpkg: {e}"))?;
    let tar_in = dpkg.stdout.take().ok_or("no dpkg stdout")?;
    let tar = Command::new("tar")
        .args(["-x", "-C"])
        .arg(&tmp)
        .arg("--wildcards")
        .args(&patterns)
        .stdin(tar_in)
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let _ = dpkg.wait();
    if !tar.success() {
        return Err(format!("extracting {patterns:?} from {} failed", deb.display()));
    }
    let found = walk_files(&tmp);
    if want_map {
        let map = found
            .iter()
            .find(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("System.map")))
            .ok_or_else(|| format!("{name} has no System.map"))?;
        fs::rename(map, k.dir.join("System.map")).map_err(|e| format!("move System.map: {e}"))?;
    }
    if want_vmlinux {
        let v = found
            .iter()
            .find(|f| f.file_name().is_some_and(|n| n == "vmlinux"))
            .ok_or_else(|| format!("{name} has no vmlinux"))?;
        fs::rename(v, dbg_vmlinux(k)).map_err(|e| format!("move vmlinux: {e}"))?;
    }
    let _ = fs::remove_dir_all(&tmp);
    if std::env::var("SCXRAY_KEEP_DBG").map_or(true, |v| v != "1") {
        let _ = fs::remove_file(&deb);
    }
    eprintln!("xtask: <== unpack {name} ok ({:.1} s)", start.elapsed().as_secs_f64());
    let manifest = fs::read_to_string(k.dir.join("kernel.txt")).unwrap_or_default();
    Ok(describe(&k.spec, &k.release, &k.version, &k.dir, &manifest))
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk_files(&p));
        } else if p.is_file() && !p.is_symlink() {
            out.push(p);
        }
    }
    out
}
