//! A private apt environment for the lab: Debian packages from other suites and architectures,
//! without touching the system's apt sources, lists or package state.
//!
//! Everything lives under `<cache>/apt` (see [`super::dirs::cache_dir`]): a `sources.list`
//! naming the suites [`SUITES`] for the architectures [`ARCHES`], the downloaded lists, and an
//! empty dpkg status. The .debs are kept in `<cache>/debs` ([`deb_path`]).
//! The archive's address is read at run time from the system's own apt sources (see
//! [`archive_uri`]); it is never written into the repository.
//!
//! Typical use (all functions are safe to call many times; the lists are refreshed at most
//! once per run, and not at all when younger than 24 h):
//!
//! ```text
//! let src = apt::newest("linux-source-7.3", "amd64", Some("trixie-backports"))?.unwrap();
//! let deb = apt::fetch_info(&src)?;            // cached, SHA256-checked .deb
//! apt::extract(&deb, &dir)?;                   // dpkg -x
//! let clang = apt::fetch_from("clang-22", "amd64", "sid")?;
//! ```
//!
//! Package checksums come from the Packages indexes that `apt-get update` verified against the
//! suite's signed InRelease file, and every download is checked against them (by apt's own
//! downloader and again here with `sha256sum`).

use super::dirs::cache_dir;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The suites of the private sources.list, as they are written there.
pub const SUITES: &[&str] = &["trixie", "trixie-backports", "sid"];
/// The architectures the private environment indexes.
const ARCHES: &[&str] = &["amd64", "arm64"];
/// The keyring the suites' signatures are checked with (`SCXRAY_APT_KEYRING` overrides).
const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// Lists younger than this are not refreshed (`SCXRAY_APT_UPDATE=1` forces a refresh).
const FRESH: Duration = Duration::from_secs(24 * 3600);

/// One binary package of one suite and architecture, as the suite's Packages index gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// Package name, e.g. `linux-binary-7.3.4+deb13-cloud-amd64`.
    pub name: String,
    /// Full Debian version, e.g. `7.3.4-1~bpo13+1` or `1:22.1.8-3`.
    pub version: String,
    /// The package's own architecture: the requested one or `all`.
    pub arch: String,
    /// The suite as written in the private sources.list (one of [`SUITES`]).
    pub suite: String,
    /// Path below the archive root, e.g. `pool/main/l/linux/...deb`.
    pub filename: String,
    /// Size of the .deb in bytes.
    pub size: u64,
    /// SHA256 of the .deb, lower-case hex.
    pub sha256: String,
}

/// Root of the private apt environment: `<cache>/apt`.
fn apt_dir() -> PathBuf {
    cache_dir().join("apt")
}

/// The Debian archive root URI, read from the system's apt sources: the first enabled `deb`
/// entry (deb822 `*.sources` in `/etc/apt/sources.list.d`, then one-line `sources.list` and
/// `*.list`) whose suites are not `*-security` or `*-updates` only. `SCXRAY_DEBIAN_MIRROR`
/// overrides it.
fn archive_uri() -> Result<String, String> {
    if let Ok(m) = std::env::var("SCXRAY_DEBIAN_MIRROR")
        && !m.is_empty()
    {
        return Ok(m.trim_end_matches('/').to_owned());
    }
    let mut candidates: Vec<(String, Vec<String>)> = Vec::new();
    let dir = Path::new("/etc/apt/sources.list.d");
    let mut parts: Vec<PathBuf> =
        fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    parts.sort();
    for p in parts.iter().filter(|p| p.extension().is_some_and(|e| e == "sources")) {
        if let Ok(text) = fs::read_to_string(p) {
            candidates.extend(parse_deb822_sources(&text));
        }
    }
    let mut one_line = vec![PathBuf::from("/etc/apt/sources.list")];
    one_line.extend(parts.iter().filter(|p| p.extension().is_some_and(|e| e == "list")).cloned());
    for p in one_line {
        if let Ok(text) = fs::read_to_string(&p) {
            candidates.extend(parse_one_line_sources(&text));
        }
    }
    let is_main = |suites: &[String]| {
        suites.iter().any(|s| !s.ends_with("-security") && !s.ends_with("-updates") && !s.contains('/'))
    };
    candidates
        .iter()
        .find(|(uri, suites)| is_main(suites) && uri.contains("://"))
        .map(|(uri, _)| uri.trim_end_matches('/').to_owned())
        .ok_or_else(|| {
            "no Debian archive found in the system's apt sources (set SCXRAY_DEBIAN_MIRROR)".to_owned()
        })
}

/// (URI, suites) of every enabled `deb` stanza of a deb822 sources file.
fn parse_deb822_sources(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: HashMap<String, String> = HashMap::new();
        let mut last: Option<String> = None;
        for line in stanza.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(k) = &last
                    && let Some(v) = fields.get_mut(k)
                {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                fields.insert(k.clone(), v.trim().to_owned());
                last = Some(k);
            }
        }
        let types = fields.get("types").map_or("", String::as_str);
        let enabled = fields.get("enabled").is_none_or(|e| !e.eq_ignore_ascii_case("no"));
        if !enabled || !types.split_whitespace().any(|t| t == "deb") {
            continue;
        }
        let suites: Vec<String> = fields
            .get("suites")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        for uri in fields.get("uris").map(|s| s.split_whitespace()).into_iter().flatten() {
            out.push((uri.to_owned(), suites.clone()));
        }
    }
    out
}

/// (URI, \[suite\]) of every `deb` line of a one-line-style sources file.
fn parse_one_line_sources(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ") else { continue };
        let rest = rest.trim_start();
        // Options in brackets come first: `deb [arch=amd64 signed-by=...] URI suite comp...`.
        let rest = match rest.strip_prefix('[') {
            Some(r) => r.split_once(']').map_or("", |(_, after)| after),
            None => rest,
        };
        let mut words = rest.split_whitespace();
        if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
            out.push((uri.to_owned(), vec![suite.to_owned()]));
        }
    }
    out
}

/// The `-o` options that make apt-get/apt-cache use only the private environment.
fn apt_options() -> Vec<String> {
    let d = apt_dir();
    let p = |x: &str| d.join(x).display().to_string();
    let mut o = vec![
        format!("Dir::Etc::sourcelist={}", p("sources.list")),
        "Dir::Etc::sourceparts=-".to_owned(),
        format!("Dir::State::Lists={}", p("lists")),
        format!("Dir::Cache={}", p("cache")),
        format!("Dir::State::status={}", p("status")),
        "Dir::Etc::preferencesparts=-".to_owned(),
        "Acquire::Languages=none".to_owned(),
        "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".to_owned(),
        "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".to_owned(),
        "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".to_owned(),
        "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false".to_owned(),
        "APT::Sandbox::User=root".to_owned(),
    ];
    for a in ARCHES {
        o.push(format!("APT::Architectures::={a}"));
    }
    o.into_iter().flat_map(|x| ["-o".to_owned(), x]).collect()
}

/// `apt-get` (or `apt-cache`, ...) configured for the private environment.
pub fn apt_command(program: &str) -> Command {
    let mut c = Command::new(program);
    c.args(apt_options()).env("DEBIAN_FRONTEND", "noninteractive");
    c
}

fn keyring() -> String {
    std::env::var("SCXRAY_APT_KEYRING").ok().filter(|k| !k.is_empty()).unwrap_or(DEFAULT_KEYRING.to_owned())
}

/// Writes the private sources.list and directories; returns the sources.list text.
fn prepare() -> Result<String, String> {
    let d = apt_dir();
    for sub in ["lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(d.join(sub)).map_err(|e| format!("mkdir {}: {e}", d.join(sub).display()))?;
    }
    let status = d.join("status");
    if !status.exists() {
        fs::write(&status, "").map_err(|e| format!("write {}: {e}", status.display()))?;
    }
    let uri = archive_uri()?;
    let kr = keyring();
    if !Path::new(&kr).exists() {
        return Err(format!("archive keyring {kr} is missing (install debian-archive-keyring)"));
    }
    let mut text = String::from("# scxray lab: private apt sources (generated by cargo xtask lab)\n");
    for s in SUITES {
        text.push_str(&format!("deb [arch={} signed-by={kr}] {uri} {s} main\n", ARCHES.join(",")));
    }
    let path = d.join("sources.list");
    if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        fs::write(&path, &text).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    Ok(text)
}

static UPDATED: OnceLock<Result<(), String>> = OnceLock::new();

/// Makes the private lists current: runs `apt-get update` at most once per process, and not at
/// all when the last successful update of the same sources is younger than 24 h
/// (`SCXRAY_APT_UPDATE=1` forces it). Fails when a suite's signature cannot be verified.
pub fn update() -> Result<(), String> {
    UPDATED.get_or_init(update_now).clone()
}

fn update_now() -> Result<(), String> {
    let sources = prepare()?;
    let stamp = apt_dir().join("last-update");
    let forced = std::env::var("SCXRAY_APT_UPDATE").is_ok_and(|v| v == "1");
    let fresh = fs::read_to_string(&stamp).is_ok_and(|s| s == sources)
        && fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|age| age < FRESH));
    if fresh && !forced {
        return Ok(());
    }
    eprintln!("xtask: ==> apt-get update (private lists in {})", apt_dir().display());
    let start = Instant::now();
    // Another lab process may hold the lists lock: wait for it (up to ~5 minutes).
    let mut attempt = 0;
    let (out, text) = loop {
        let out =
            apt_command("apt-get").arg("update").output().map_err(|e| format!("cannot run apt-get: {e}"))?;
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        attempt += 1;
        if text.contains("Could not get lock") && attempt < 60 {
            std::thread::sleep(Duration::from_secs(5));
            continue;
        }
        break (out, text);
    };
    let bad_sig = ["GPG error", "NO_PUBKEY", "is not signed", "EXPKEYSIG", "BADSIG"];
    if let Some(b) = bad_sig.iter().find(|b| text.contains(*b)) {
        return Err(format!(
            "apt-get update: a suite's signature did not verify ({b}); the keyring {} may not know \
             its key: install a newer debian-archive-keyring or set SCXRAY_APT_KEYRING.\n{text}",
            keyring()
        ));
    }
    if !out.status.success() || text.contains("\nE: ") || text.starts_with("E: ") {
        // Offline with lists from an earlier run: use them, loudly.
        if index_cache().is_file() {
            eprintln!("xtask: warning: apt-get update failed, using the lists of an earlier run:\n{text}");
            return Ok(());
        }
        return Err(format!("apt-get update failed ({}):\n{text}", out.status));
    }
    fs::write(&stamp, &sources).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    eprintln!("xtask: <== apt-get update ok ({:.1} s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// Name -> every (suite, arch) version of it.
type Index = HashMap<String, Vec<PackageInfo>>;
static INDEX: OnceLock<Result<Index, String>> = OnceLock::new();

fn index() -> Result<&'static Index, String> {
    INDEX.get_or_init(load_index).as_ref().map_err(Clone::clone)
}

/// Parsed form of the lists, `<apt>/index.tsv`: rebuilt when older than the last update.
fn index_cache() -> PathBuf {
    apt_dir().join("index.tsv")
}

fn load_index() -> Result<Index, String> {
    update()?;
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let (cache, stamp) = (index_cache(), apt_dir().join("last-update"));
    if let (Some(c), Some(s)) = (mtime(&cache), mtime(&stamp))
        && c >= s
        && let Ok(text) = fs::read_to_string(&cache)
    {
        let mut idx: Index = HashMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if let [name, version, arch, suite, filename, size, sha256] = f[..] {
                idx.entry(name.to_owned()).or_default().push(PackageInfo {
                    name: name.to_owned(),
                    version: version.to_owned(),
                    arch: arch.to_owned(),
                    suite: suite.to_owned(),
                    filename: filename.to_owned(),
                    size: size.parse().unwrap_or(0),
                    sha256: sha256.to_owned(),
                });
            }
        }
        if !idx.is_empty() {
            return Ok(idx);
        }
    }
    let idx = load_index_from_lists()?;
    let mut text = String::new();
    for p in idx.values().flatten() {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            p.name, p.version, p.arch, p.suite, p.filename, p.size, p.sha256
        ));
    }
    let tmp = cache.with_extension(format!("tsv.{}", std::process::id()));
    fs::write(&tmp, text).map_err(|e| format!("write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &cache).map_err(|e| format!("rename to {}: {e}", cache.display()))?;
    Ok(idx)
}

fn load_index_from_lists() -> Result<Index, String> {
    let out = apt_command("apt-get")
        .args([
            "indextargets",
            "--format",
            "$(FILENAME)\t$(RELEASE)\t$(ARCHITECTURE)",
            "Identifier: Packages",
        ])
        .output()
        .map_err(|e| format!("cannot run apt-get indextargets: {e}"))?;
    if !out.status.success() {
        return Err(format!("apt-get indextargets failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut idx: Index = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split('\t');
        let (Some(file), Some(release), Some(arch)) = (f.next(), f.next(), f.next()) else { continue };
        if !Path::new(file).exists() {
            continue;
        }
        // apt-helper decompresses whatever compression the lists are kept in.
        let cat = Command::new(apt_helper())
            .args(["cat-file", file])
            .output()
            .map_err(|e| format!("cannot run apt-helper cat-file: {e}"))?;
        if !cat.status.success() {
            return Err(format!("apt-helper cat-file {file} failed"));
        }
        parse_packages(&String::from_utf8_lossy(&cat.stdout), release, arch, &mut idx);
    }
    if idx.is_empty() {
        return Err("the private apt lists are empty: remove <cache>/apt/last-update and retry".to_owned());
    }
    for v in idx.values_mut() {
        v.sort_by(|a, b| compare_versions(&b.version, &a.version));
    }
    Ok(idx)
}

fn apt_helper() -> &'static str {
    "/usr/lib/apt/apt-helper"
}

fn parse_packages(text: &str, suite: &str, _index_arch: &str, idx: &mut Index) {
    for stanza in text.split("\n\n") {
        let mut p = PackageInfo {
            name: String::new(),
            version: String::new(),
            arch: String::new(),
            suite: suite.to_owned(),
            filename: String::new(),
            size: 0,
            sha256: String::new(),
        };
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                p.name = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("Version: ") {
                p.version = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                p.arch = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("Filename: ") {
                p.filename = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("Size: ") {
                p.size = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("SHA256: ") {
                p.sha256 = v.trim().to_ascii_lowercase();
            }
        }
        if p.name.is_empty() || p.filename.is_empty() || p.sha256.len() != 64 {
            continue;
        }
        let list = idx.entry(p.name.clone()).or_default();
        // `all` packages appear in every architecture's index: keep them once per suite.
        if !list.iter().any(|q| q.suite == p.suite && q.arch == p.arch && q.version == p.version) {
            list.push(p);
        }
    }
}

/// Every package whose name matches `pattern` for `arch` (packages of architecture `all`
/// count for every arch), in `suite` (one of [`SUITES`]) or in any suite when `None`; newest
/// version first, then by name.
///
/// `pattern` is a glob over the whole name: `*` matches any run of characters, `?` one
/// character, anything else itself; a name without wildcards is an exact name. Examples:
/// `linux-source-7.*`, `linux-binary-7.3.*-cloud-amd64`, `clang-22`.
pub fn packages(pattern: &str, arch: &str, suite: Option<&str>) -> Result<Vec<PackageInfo>, String> {
    let idx = index()?;
    let mut out: Vec<PackageInfo> = if pattern.contains(['*', '?']) {
        idx.iter().filter(|(n, _)| glob_match(pattern, n)).flat_map(|(_, v)| v.iter().cloned()).collect()
    } else {
        idx.get(pattern).cloned().unwrap_or_default()
    };
    out.retain(|p| (p.arch == arch || p.arch == "all") && suite.is_none_or(|s| p.suite == s));
    out.sort_by(|a, b| compare_versions(&b.version, &a.version).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The newest package matching `pattern` (see [`packages`]) for `arch` in `suite` (any suite
/// when `None`). With a glob matching several names, "newest" compares the packages' Debian
/// versions (for kernel packages the version follows the name: 7.3.4 beats 7.3.2).
pub fn newest(pattern: &str, arch: &str, suite: Option<&str>) -> Result<Option<PackageInfo>, String> {
    Ok(packages(pattern, arch, suite)?.into_iter().next())
}

/// Downloads the newest version of the exact package `name` for `arch` from any suite (see
/// [`fetch_info`]) and returns the cached .deb's path.
fn fetch(name: &str, arch: &str) -> Result<PathBuf, String> {
    let p = newest(name, arch, None)?.ok_or_else(|| format!("no package {name} for {arch} in {SUITES:?}"))?;
    fetch_info(&p)
}

/// Downloads the newest version of the exact package `name` for `arch` from `suite`.
pub fn fetch_from(name: &str, arch: &str, suite: &str) -> Result<PathBuf, String> {
    let p =
        newest(name, arch, Some(suite))?.ok_or_else(|| format!("no package {name} for {arch} in {suite}"))?;
    fetch_info(&p)
}

/// Where [`fetch_info`] keeps a package: `<cache>/debs/<name>_<version>_<arch>.deb`
/// (`:` of an epoch written as `%3a`, as apt does).
fn deb_path(p: &PackageInfo) -> PathBuf {
    cache_dir().join("debs").join(format!("{}_{}_{}.deb", p.name, p.version.replace(':', "%3a"), p.arch))
}

/// Returns the cached .deb of `p`, downloading it first when missing. A download goes to a
/// temporary name, is checked against the index's SHA256 (by apt's downloader and again here)
/// and only then renamed into place; a cached file whose size differs from the index is
/// fetched again. A second run downloads nothing.
pub fn fetch_info(p: &PackageInfo) -> Result<PathBuf, String> {
    let dest = deb_path(p);
    if fs::metadata(&dest).is_ok_and(|m| m.len() == p.size) {
        return Ok(dest);
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    // Per-process temporary name: another lab process may fetch the same package.
    let tmp = dest.with_extension(format!("deb.part{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let uri = format!("{}/{}", archive_uri()?, p.filename);
    eprintln!("xtask: ==> download {} {} ({}, {:.1} MB)", p.name, p.version, p.suite, p.size as f64 / 1e6);
    let start = Instant::now();
    let out = Command::new(apt_helper())
        .args(["-o", "APT::Sandbox::User=root", "download-file", &uri])
        .arg(&tmp)
        .arg(format!("SHA256:{}", p.sha256))
        .output()
        .map_err(|e| format!("cannot run apt-helper: {e}"))?;
    if !out.status.success() || !tmp.exists() {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "download of {} failed: {}{}",
            p.filename,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let got = sha256_file(&tmp)?;
    if got != p.sha256 {
        let _ = fs::remove_file(&tmp);
        return Err(format!("{}: SHA256 {got} does not match the index's {}", p.filename, p.sha256));
    }
    fs::rename(&tmp, &dest).map_err(|e| format!("rename to {}: {e}", dest.display()))?;
    eprintln!("xtask: <== download ok ({:.1} s, SHA256 verified)", start.elapsed().as_secs_f64());
    Ok(dest)
}

/// SHA256 of a file, lower-case hex (coreutils `sha256sum`).
pub fn sha256_file(path: &Path) -> Result<String, String> {
    let out =
        Command::new("sha256sum").arg(path).output().map_err(|e| format!("cannot run sha256sum: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_whitespace().next() {
        Some(h) if out.status.success() && h.len() == 64 => Ok(h.to_ascii_lowercase()),
        _ => Err(format!("sha256sum {} failed", path.display())),
    }
}

/// Unpacks a .deb's files into `dest` (created if missing) with `dpkg -x`; nothing is installed.
pub fn extract(deb: &Path, dest: &Path) -> Result<(), String> {
    fs::create_dir_all(dest).map_err(|e| format!("mkdir {}: {e}", dest.display()))?;
    let out = Command::new("dpkg")
        .arg("-x")
        .arg(deb)
        .arg(dest)
        .output()
        .map_err(|e| format!("cannot run dpkg: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("dpkg -x {} failed: {}", deb.display(), String::from_utf8_lossy(&out.stderr)))
    }
}

/// `cargo xtask lab apt newest <glob> <arch> [suite]` (up to 20 packages, newest first) and
/// `cargo xtask lab apt fetch <name> <arch> [suite]` (prints the cached .deb's path).
pub fn cmd(args: &[String]) -> Result<(), String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["newest", pat, arch, rest @ ..] => {
            let suite = rest.first().copied();
            for p in packages(pat, arch, suite)?.iter().take(20) {
                println!("{}\t{}\t{}\t{}\t{}", p.name, p.version, p.arch, p.suite, p.size);
            }
            Ok(())
        }
        ["fetch", name, arch] => {
            println!("{}", fetch(name, arch)?.display());
            Ok(())
        }
        ["fetch", name, arch, suite] => {
            println!("{}", fetch_from(name, arch, suite)?.display());
            Ok(())
        }
        _ => Err("usage: lab apt newest <glob> <arch> [suite] | lab apt fetch <name> <arch> [suite]".into()),
    }
}

/// `*`/`?` glob over the whole string.
fn glob_match(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), s.as_bytes())
}

/// Compares two Debian versions the way dpkg does (epoch, upstream version, revision; `~`
/// sorts before everything, even the end of the string).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((up, rev)) => (epoch, up, rev),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    fn part(a: &str, b: &str) -> std::cmp::Ordering {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
                let (x, y) = (order(a.get(i).copied()), order(b.get(j).copied()));
                if x != y {
                    return x.cmp(&y);
                }
                i += 1;
                j += 1;
            }
            while i < a.len() && a[i] == b'0' {
                i += 1;
            }
            while j < b.len() && b[j] == b'0' {
                j += 1;
            }
            let (si, sj) = (i, j);
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (da, db) = (&a[si..i], &b[sj..j]);
            let c = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
            if c.is_ne() {
                return c;
            }
        }
        std::cmp::Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb).then_with(|| part(ua, ub)).then_with(|| part(ra, rb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_like_dpkg() {
        assert_eq!(compare_versions("7.3.4-1~bpo13+1", "7.3.4-1"), Less);
        assert_eq!(compare_versions("1:22.1.8-3", "1:22.1.8-1~deb13u5"), Greater);
        assert_eq!(compare_versions("1:1.0", "2.0"), Greater);
        assert_eq!(compare_versions("7.2.13-1", "7.2.9-1"), Greater);
        assert_eq!(compare_versions("1.0~rc1", "1.0"), Less);
        assert_eq!(compare_versions("1.0a", "1.0"), Greater);
        assert_eq!(compare_versions("1.01", "1.1"), Equal);
    }

    #[test]
    fn globs() {
        assert!(glob_match("linux-binary-7.3.*-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-amd64"));
        assert!(!glob_match("linux-binary-7.3.*-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-arm64"));
        assert!(glob_match("clang-2?", "clang-22"));
        assert!(glob_match("x", "x") && !glob_match("x", "xy"));
    }

    #[test]
    fn sources_parsing() {
        let deb822 = "Types: deb\nURIs: http://a.invalid/debian\nSuites: bookworm bookworm-updates\n\
                      Components: main\n\nTypes: deb\nURIs: http://a.invalid/debian-security\n\
                      Suites: bookworm-security\n";
        let v = parse_deb822_sources(deb822);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0, "http://a.invalid/debian");
        let one = "deb [arch=amd64 signed-by=/k.gpg] http://b.invalid/debian trixie main\n# deb x y\n";
        assert_eq!(
            parse_one_line_sources(one),
            vec![("http://b.invalid/debian".into(), vec!["trixie".into()])]
        );
    }
}
