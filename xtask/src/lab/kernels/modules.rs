//! The guest's kernel modules, taken out of the kernel's package: `qemu_fw_cfg` (so QEMU's
//! dumps carry the guest's VMCOREINFO note) and its dependencies, decompressed, in load order.

use super::image::{Compression, decompress};
use std::fs;
use std::path::{Path, PathBuf};

/// The modules the guest init loads (with their dependencies).
const GUEST_MODULES: &[&str] = &["qemu_fw_cfg"];

/// Takes [`GUEST_MODULES`] and their dependencies from the unpacked modules tree `root`
/// (`usr/lib/modules/<release>`) into `out/<name>.ko`, and writes their load order to
/// `out/load-order`. Returns notes on the modules that could not be taken.
pub fn take_guest_modules(root: &Path, out: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let mut order: Vec<String> = Vec::new();
    for m in GUEST_MODULES {
        if let Err(e) = add_module(root, m, out, &mut order, 0) {
            notes.push(format!("module {m}: {e} (the dump will have no VMCOREINFO note)"));
        }
    }
    fs::write(out.join("load-order"), order.join("\n") + "\n").ok();
    notes
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
