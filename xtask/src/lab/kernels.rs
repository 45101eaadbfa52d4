//! The lab's kernel matrix: Debian `cloud` kernels fetched through the private apt
//! environment and unpacked into `<cache>/kernels/<release>/`:
//!
//! - `vmlinuz`: what QEMU's `-kernel` boots (x86 bzImage; arm64 raw `Image`);
//! - `vmlinux` (x86 only): the ELF embedded in the bzImage (no symbols, but `.BTF`);
//! - `vmlinux.btf`: the kernel's BTF (x86: the `.BTF` section of `vmlinux`; arm64: found in
//!   the `Image` by its self-describing header, see [`find_btf_blob`]);
//! - `config`: the kernel config (`CONFIG_SCHED_CLASS_EXT`);
//! - `System.map` only when the package's is real (Debian's are placeholders: the real one
//!   is in the ~350 MB `-dbg` package, which is not fetched);
//! - `modules/*.ko`: `qemu_fw_cfg` and its dependencies, decompressed, in load order;
//! - `kernel.txt`: what was fetched (package names and versions), the cache key.

use super::apt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The Debian packaging generation of a kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// 7.x: `linux-binary-<rel>` (vmlinuz), `linux-base-<rel>` (config), `linux-modules-<rel>`.
    Split,
    /// 6.12: one `linux-image-<rel>-unsigned` with vmlinuz, config and modules.
    Unsigned,
    /// Built by the lab from Debian's `linux-source-<series>` ([`super::selfbuilt`]); the
    /// release is `<upstream version>-<flavour>`.
    SelfBuilt,
}

/// One kernel of the matrix, before it is resolved to an exact package version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSpec {
    /// The name used on the command line, e.g. `7.3-amd64`.
    pub name: &'static str,
    /// Upstream series, e.g. `7.3`.
    pub series: &'static str,
    /// Debian architecture: `amd64` or `arm64`.
    pub arch: &'static str,
    /// The suite it comes from.
    pub suite: &'static str,
    pub packaging: Packaging,
    /// What follows the version in the package and release names: `cloud-amd64`, or
    /// `arm64-16k` for Debian's 16 KiB-granule arm64 flavour.
    pub flavour: &'static str,
}

/// The matrix, in the order `lab kernels` prints it. The newest `<series>.N` of the suite is
/// taken.
pub const MATRIX: &[KernelSpec] = &[
    KernelSpec {
        name: "7.3-amd64",
        series: "7.3",
        arch: "amd64",
        suite: "trixie-backports",
        flavour: "cloud-amd64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.2-amd64",
        series: "7.2",
        arch: "amd64",
        suite: "sid",
        flavour: "cloud-amd64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.3-arm64",
        series: "7.3",
        arch: "arm64",
        suite: "trixie-backports",
        flavour: "cloud-arm64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.2-arm64",
        series: "7.2",
        arch: "arm64",
        suite: "sid",
        flavour: "cloud-arm64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "6.12-amd64",
        series: "6.12",
        arch: "amd64",
        suite: "trixie",
        flavour: "cloud-amd64",
        packaging: Packaging::Unsigned,
    },
    KernelSpec {
        name: "7.1-amd64",
        series: "7.1",
        arch: "amd64",
        suite: "trixie-backports",
        flavour: "cloud-amd64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.3-arm64-16k",
        series: "7.3",
        arch: "arm64",
        suite: "trixie-backports",
        flavour: "arm64-16k",
        packaging: Packaging::Split,
    },
];

/// Kernels the lab builds itself ([`super::selfbuilt`]): not part of [`MATRIX`] (they take long
/// to build), used when named (`lab boot --kernel 6.12sb-amd64`, `lab kernels 6.12sb-amd64`)
/// and by the matrix's opt-in cases.
pub const SELF_BUILT: &[KernelSpec] = &[KernelSpec {
    name: "6.12sb-amd64",
    series: "6.12",
    arch: "amd64",
    suite: "trixie",
    flavour: "scxray",
    packaging: Packaging::SelfBuilt,
}];

/// The modules the guest init loads (with their dependencies).
pub const GUEST_MODULES: &[&str] = &["qemu_fw_cfg"];

/// The spec called `name` (e.g. `7.3-amd64`).
pub fn spec(name: &str) -> Result<&'static KernelSpec, String> {
    MATRIX.iter().chain(SELF_BUILT).find(|k| k.name == name).ok_or_else(|| {
        let names: Vec<&str> = MATRIX.iter().chain(SELF_BUILT).map(|k| k.name).collect();
        format!("unknown kernel `{name}`; known: {}", names.join(", "))
    })
}

/// A kernel unpacked in the cache. (Some fields are for the lab's checks, not the commands.)
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct Kernel {
    pub spec: KernelSpec,
    /// `uname -r`, e.g. `7.3.4+deb13-cloud-amd64`.
    pub release: String,
    /// The Debian version of the kernel packages, e.g. `7.3.4-1~bpo13+1`.
    pub version: String,
    /// `<cache>/kernels/<release>`.
    pub dir: PathBuf,
    pub vmlinuz: PathBuf,
    /// x86: the ELF vmlinux decompressed from the bzImage.
    pub vmlinux: Option<PathBuf>,
    pub btf: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// Only when the package's System.map is real.
    pub system_map: Option<PathBuf>,
    /// Decompressed modules for the guest, in load order (dependencies first).
    pub modules: Vec<PathBuf>,
    /// Whether the config has `CONFIG_SCHED_CLASS_EXT=y` (`None`: no config).
    pub sched_ext: Option<bool>,
    /// The packages fetched, `name version` each.
    pub packages: Vec<String>,
    /// What is missing or odd about this kernel.
    pub notes: Vec<String>,
}

#[allow(dead_code)]
impl Kernel {
    /// QEMU's name of the architecture: `x86_64` or `aarch64`.
    pub fn qemu_arch(&self) -> &'static str {
        qemu_arch(self.spec.arch)
    }
}

/// `x86_64` for `amd64`, `aarch64` for `arm64`.
#[allow(dead_code)]
pub fn qemu_arch(deb_arch: &str) -> &'static str {
    if deb_arch == "arm64" { "aarch64" } else { "x86_64" }
}

/// `<cache>/kernels`.
pub fn kernels_dir() -> PathBuf {
    apt::cache_dir().join("kernels")
}

/// Resolves `spec` to the newest matching packages, fetches them (cached) and unpacks what the
/// lab needs into `<cache>/kernels/<release>/`. A kernel already unpacked from the same
/// packages is reused without touching the network beyond the (daily) list refresh.
pub fn prepare(spec: &KernelSpec) -> Result<Kernel, String> {
    if spec.packaging == Packaging::SelfBuilt {
        return super::selfbuilt::prepare(spec);
    }
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
    // Modules for the guest.
    let mod_root = tmp.join(format!("usr/lib/modules/{release}"));
    let mod_dir = dir.join("modules");
    let mut order: Vec<String> = Vec::new();
    for m in GUEST_MODULES {
        if let Err(e) = add_module(&mod_root, m, &mod_dir, &mut order, 0) {
            notes.push(format!("module {m}: {e} (the dump will have no VMCOREINFO note)"));
        }
    }
    fs::write(mod_dir.join("load-order"), order.join("\n") + "\n").ok();
    // vmlinux and BTF.
    let image = fs::read(dir.join("vmlinuz")).map_err(|e| format!("read vmlinuz: {e}"))?;
    let btf_path = dir.join("vmlinux.btf");
    if spec.arch == "amd64" {
        let vmlinux = extract_vmlinux(&image)?;
        let btf = elf_section(&vmlinux, ".BTF").ok_or("the embedded vmlinux has no .BTF section")?;
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

/// A [`Kernel`] from the files present in `dir` and its manifest.
pub(super) fn describe(
    spec: &KernelSpec,
    release: &str,
    version: &str,
    dir: &Path,
    manifest: &str,
) -> Kernel {
    let opt = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let config = opt("config");
    let btf = opt("vmlinux.btf");
    let system_map = opt("System.map");
    let mut notes: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("note "))
        .filter(|n| system_map.is_none() || !n.contains("placeholder"))
        .map(str::to_owned)
        .collect();
    let sched_ext = match &config {
        Some(c) => Some(
            fs::read_to_string(c).is_ok_and(|t| t.lines().any(|l| l.trim() == "CONFIG_SCHED_CLASS_EXT=y")),
        ),
        // Without a config, the BTF tells: sched_ext kernels have `struct sched_ext_ops`.
        None => btf.as_ref().and_then(|b| fs::read(b).ok()).map(|data| {
            notes.push("sched_ext judged from the BTF (no config)".into());
            data.windows(15).any(|w| w == b"\0sched_ext_ops\0")
        }),
    };
    let modules = fs::read_to_string(dir.join("modules/load-order"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|m| dir.join("modules").join(format!("{m}.ko")))
        .collect();
    Kernel {
        spec: *spec,
        release: release.to_owned(),
        version: version.to_owned(),
        dir: dir.to_owned(),
        vmlinuz: dir.join("vmlinuz"),
        vmlinux: opt("vmlinux"),
        btf,
        config,
        system_map,
        modules,
        sched_ext,
        packages: manifest.lines().filter_map(|l| l.strip_prefix("package ")).map(str::to_owned).collect(),
        notes,
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to).map(|_| ()).map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// Finds `name.ko[.xz|.zst|.gz]` below `root`, decompresses it into `out/<name>.ko` after its
/// dependencies (from its `.modinfo` `depends=`), appending names to `order`.
fn add_module(
    root: &Path,
    name: &str,
    out: &Path,
    order: &mut Vec<String>,
    depth: u32,
) -> Result<(), String> {
    let canon = name.replace('-', "_");
    if order.contains(&canon) {
        return Ok(());
    }
    if depth > 16 {
        return Err("module dependency loop".into());
    }
    let file = find_module(root, &canon).ok_or_else(|| format!("{name}.ko not found"))?;
    let raw = fs::read(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
    let fname = file.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let ko = if fname.ends_with(".xz") {
        decompress(&raw, Compression::Xz)?
    } else if fname.ends_with(".zst") {
        decompress(&raw, Compression::Zstd)?
    } else if fname.ends_with(".gz") {
        decompress(&raw, Compression::Gzip)?
    } else {
        raw
    };
    for dep in modinfo(&ko, "depends").split(',').filter(|d| !d.is_empty()) {
        add_module(root, dep, out, order, depth + 1)?;
    }
    fs::create_dir_all(out).map_err(|e| format!("mkdir {}: {e}", out.display()))?;
    fs::write(out.join(format!("{canon}.ko")), &ko).map_err(|e| format!("write module: {e}"))?;
    order.push(canon);
    Ok(())
}

fn find_module(dir: &Path, canon: &str) -> Option<PathBuf> {
    for e in fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_module(&p, canon) {
                return Some(f);
            }
        } else if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
            let stem = n.split(".ko").next().unwrap_or("").replace('-', "_");
            if n.contains(".ko") && stem == canon {
                return Some(p);
            }
        }
    }
    None
}

/// The value of `key=` in a module's `.modinfo` strings (empty when absent).
fn modinfo(ko: &[u8], key: &str) -> String {
    let pat = format!("{key}=");
    let pat = pat.as_bytes();
    let mut i = 0;
    while i + pat.len() <= ko.len() {
        if &ko[i..i + pat.len()] == pat && (i == 0 || ko[i - 1] == 0) {
            let start = i + pat.len();
            let end = ko[start..].iter().position(|&b| b == 0).map_or(ko.len(), |n| start + n);
            return String::from_utf8_lossy(&ko[start..end]).into_owned();
        }
        i += 1;
    }
    String::new()
}

/// Compression formats the kernel's boot images use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
    Lz4,
    Bzip2,
    Lzma,
    Lzo,
}

impl Compression {
    /// The magic bytes each format's stream starts with.
    const MAGICS: &'static [(Compression, &'static [u8])] = &[
        (Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd]),
        (Compression::Xz, &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
        (Compression::Gzip, &[0x1f, 0x8b, 0x08]),
        (Compression::Lz4, &[0x02, 0x21, 0x4c, 0x18]),
        (Compression::Lzo, &[0x89, 0x4c, 0x5a, 0x4f]),
        (Compression::Bzip2, b"BZh"),
        (Compression::Lzma, &[0x5d, 0x00, 0x00]),
    ];

    /// The decompressing command line (reads stdin, writes stdout) and the Debian package
    /// providing it.
    fn tool(self) -> (&'static str, &'static [&'static str], &'static str) {
        match self {
            Compression::Gzip => ("gzip", &["-dc"], "gzip"),
            Compression::Xz => ("xz", &["-dc", "--single-stream"], "xz-utils"),
            Compression::Zstd => ("zstd", &["-dcq"], "zstd"),
            Compression::Lz4 => ("lz4", &["-dc"], "lz4"),
            Compression::Bzip2 => ("bzip2", &["-dc"], "bzip2"),
            Compression::Lzma => ("xz", &["--format=lzma", "-dc"], "xz-utils"),
            Compression::Lzo => ("lzop", &["-dc"], "lzop"),
        }
    }
}

/// Every offset in `data` where a compressed stream's magic starts, in file order.
pub fn find_payload_candidates(data: &[u8]) -> Vec<(usize, Compression)> {
    let mut out = Vec::new();
    for i in 0..data.len() {
        for (c, magic) in Compression::MAGICS {
            if data[i..].starts_with(magic) {
                out.push((i, *c));
            }
        }
    }
    out
}

/// Decompresses `data` with the system's command line tool (installed when missing). Trailing
/// bytes after the stream (the kernel appends the decompressed size) make some tools exit
/// non-zero after writing everything: the output is returned whenever it is not empty, and
/// callers validate it.
pub fn decompress(data: &[u8], c: Compression) -> Result<Vec<u8>, String> {
    let (tool, args, package) = c.tool();
    apt::ensure_host_tool(tool, package)?;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().map_err(|e| format!("{tool}: {e}"))?;
    let _ = writer.join();
    if out.stdout.is_empty() {
        return Err(format!("{tool} produced nothing ({})", out.status));
    }
    Ok(out.stdout)
}

/// The ELF vmlinux inside an x86 bzImage. The boot header's payload fields give the stream
/// (`setup_sects` at 0x1f1, `payload_offset`/`payload_length` at 0x248/0x24c, relative to the
/// protected-mode code after the setup sectors); when they are absent or do not decompress to
/// an ELF, every compression magic in the file is tried in order.
pub fn extract_vmlinux(bz: &[u8]) -> Result<Vec<u8>, String> {
    let mut tries: Vec<(usize, Option<usize>, Compression)> = Vec::new();
    if bz.len() > 0x250 && &bz[0x202..0x206] == b"HdrS" {
        let setup = match bz[0x1f1] {
            0 => 4,
            n => usize::from(n),
        };
        let pm = (setup + 1) * 512;
        let off = pm + u32le(bz, 0x248) as usize;
        let len = u32le(bz, 0x24c) as usize;
        if let Some((c, _)) =
            Compression::MAGICS.iter().find(|(_, m)| bz.get(off..).is_some_and(|s| s.starts_with(m)))
        {
            tries.push((off, Some(len), *c));
        }
    }
    let attempt = |off: usize, len: Option<usize>, c: Compression| {
        let end = len.map_or(bz.len(), |l| (off + l).min(bz.len()));
        decompress(&bz[off..end], c).ok().filter(|out| elf_sections(out).is_some())
    };
    for (off, len, c) in tries {
        if let Some(out) = attempt(off, len, c) {
            return Ok(out);
        }
    }
    // No usable boot header: scan.
    for (off, c) in find_payload_candidates(bz).into_iter().take(64) {
        if let Some(out) = attempt(off, None, c) {
            return Ok(out);
        }
    }
    Err("no compressed ELF payload found in the bzImage".into())
}

fn u16le(d: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([d[o], d[o + 1]])
}

fn u32le(d: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(d[o..o + 4].try_into().unwrap_or([0; 4]))
}

fn u64le(d: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(d[o..o + 8].try_into().unwrap_or([0; 8]))
}

/// (name, file offset, size) of every section of a little-endian ELF64 file; `None` when the
/// data is not one or its section table does not fit.
pub fn elf_sections(elf: &[u8]) -> Option<Vec<(String, usize, usize)>> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return None;
    }
    let shoff = usize::try_from(u64le(elf, 0x28)).ok()?;
    let shentsize = usize::from(u16le(elf, 0x3a));
    let shnum = usize::from(u16le(elf, 0x3c));
    let shstrndx = usize::from(u16le(elf, 0x3e));
    if shentsize < 64 || shnum == 0 || shoff.checked_add(shnum.checked_mul(shentsize)?)? > elf.len() {
        return None;
    }
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = usize::try_from(u64le(elf, sh(shstrndx) + 24)).ok()?;
    let mut out = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let name_off = strtab + u32le(elf, sh(i)) as usize;
        let name_end = elf.get(name_off..)?.iter().position(|&b| b == 0)? + name_off;
        let name = String::from_utf8_lossy(&elf[name_off..name_end]).into_owned();
        let off = usize::try_from(u64le(elf, sh(i) + 24)).ok()?;
        let size = usize::try_from(u64le(elf, sh(i) + 32)).ok()?;
        out.push((name, off, size));
    }
    Some(out)
}

/// The contents of the section `name` of an ELF64 file.
pub fn elf_section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let (_, off, size) = elf_sections(elf)?.into_iter().find(|(n, _, _)| n == name)?;
    elf.get(off..off.checked_add(size)?)
}

/// Finds a kernel BTF blob by its header (magic 0xeb9f, version 1, 24-byte header, type
/// section at 0, string section right after it, strings starting and ending with NUL) and
/// returns (offset, total length) of the largest one. Works on images without symbols, where
/// `__start_BTF`/`__stop_BTF` cannot be looked up.
pub fn find_btf_blob(data: &[u8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i + 24 <= data.len() {
        if data[i] == 0x9f && data[i + 1] == 0xeb && data[i + 2] == 1 && u32le(data, i + 4) == 24 {
            let (type_off, type_len) = (u32le(data, i + 8) as usize, u32le(data, i + 12) as usize);
            let (str_off, str_len) = (u32le(data, i + 16) as usize, u32le(data, i + 20) as usize);
            let total = 24 + str_off + str_len;
            let ok = type_off == 0
                && str_off == type_len
                && type_len >= 1024
                && str_len >= 1024
                && i + total <= data.len()
                && data[i + 24 + str_off] == 0
                && data[i + total - 1] == 0;
            if ok && best.is_none_or(|(_, l)| total > l) {
                best = Some((i, total));
            }
        }
        i += 1;
    }
    best
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
    let want_vmlinux = keep_vmlinux && !k.dir.join("vmlinux-dbg").is_file();
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
        fs::rename(v, k.dir.join("vmlinux-dbg")).map_err(|e| format!("move vmlinux: {e}"))?;
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

/// `cargo xtask lab kernels [--dbg] [--dbg-vmlinux] [name...]`: prepares the matrix (or the named kernels) and prints
/// a table.
pub fn cmd(args: &[String]) -> Result<(), String> {
    let dbg_vmlinux = args.iter().any(|a| a == "--dbg-vmlinux");
    let dbg = dbg_vmlinux || args.iter().any(|a| a == "--dbg");
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let specs: Vec<&KernelSpec> = if names.is_empty() {
        MATRIX.iter().collect()
    } else {
        names.iter().map(|a| spec(a)).collect::<Result<_, _>>()?
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for s in specs {
        match prepare(s) {
            Ok(k) if dbg => match fetch_debug(&k, dbg_vmlinux) {
                Ok(k) => rows.push(k),
                Err(e) => {
                    let mut k = k;
                    k.notes.push(format!("-dbg: {e}"));
                    rows.push(k);
                }
            },
            Ok(k) => rows.push(k),
            Err(e) => errors.push(format!("{}: {e}", s.name)),
        }
    }
    let size = |p: &Option<PathBuf>| {
        p.as_ref().and_then(|p| fs::metadata(p).ok()).map_or("-".to_owned(), |m| m.len().to_string())
    };
    println!(
        "{:<11} {:<28} {:<6} {:<17} {:<9} {:>10} {:>9} {:>10} {:<7}",
        "kernel", "release", "arch", "version", "sched_ext", "vmlinuz", "BTF", "System.map", "modules"
    );
    for k in &rows {
        println!(
            "{:<11} {:<28} {:<6} {:<17} {:<9} {:>10} {:>9} {:>10} {:<7}",
            k.spec.name,
            k.release,
            k.spec.arch,
            k.version,
            match k.sched_ext {
                Some(true) => "y",
                Some(false) => "n",
                None => "?",
            },
            size(&Some(k.vmlinuz.clone())),
            size(&k.btf),
            size(&k.system_map),
            if k.modules.is_empty() { "none".to_owned() } else { k.modules.len().to_string() },
        );
    }
    for k in &rows {
        for n in &k.notes {
            println!("note: {}: {n}", k.spec.name);
        }
    }
    println!("kernels in {}", kernels_dir().display());
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}
