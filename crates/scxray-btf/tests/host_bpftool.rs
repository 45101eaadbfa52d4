//! This machine's own kernel BTF, checked type by type against bpftool's raw dump: every
//! member offset of every struct and union, every enumerator, and the references of every
//! other kind. The host kernel has no sched_ext, so `resolve_layout` must say so.
//!
//! bpftool is installed with apt when missing (the project's xtask installs it too); the test
//! is skipped, with a message, only when it cannot be found or installed, or when the kernel
//! exposes no `/sys/kernel/btf/vmlinux`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use scxray_btf::{Btf, Kind, ResolveError, resolve_layout};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn find_bpftool() -> Option<PathBuf> {
    let candidates =
        ["/usr/sbin/bpftool", "/usr/bin/bpftool", "/usr/local/sbin/bpftool", "/usr/local/bin/bpftool"];
    let found = || candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if let Some(p) = found() {
        return Some(p);
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "bpftool"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-qq"]).output();
        install();
    }
    found()
}

/// One type of bpftool's raw dump.
#[derive(Debug, Default)]
struct Dumped {
    kind: String,
    name: String,
    fields: HashMap<String, String>,
    /// Member / enumerator / parameter / variable lines: (name, fields).
    lines: Vec<(String, HashMap<String, String>)>,
}

fn fields(rest: &str) -> HashMap<String, String> {
    rest.split_whitespace()
        .filter_map(|tok| tok.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches(',').to_string()))
        .collect()
}

/// `'name' rest` -> (name, rest); "(anon)" is the empty name.
fn quoted(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if let Some(after) = s.strip_prefix('\'') {
        let end = after.find('\'').expect("closing quote");
        let name = &after[..end];
        let name = if name == "(anon)" { "" } else { name };
        (name.to_string(), &after[end + 1..])
    } else {
        (String::new(), s)
    }
}

fn parse_dump(text: &str) -> Vec<(u32, Dumped)> {
    let mut out: Vec<(u32, Dumped)> = Vec::new();
    for line in text.lines() {
        if let Some(body) = line.strip_prefix('\t') {
            let (name, rest) = quoted(body);
            out.last_mut().expect("member before any type").1.lines.push((name, fields(rest)));
        } else if let Some(body) = line.strip_prefix('[') {
            let (id, rest) = body.split_once("] ").expect("type header");
            let (kind, rest) = rest.split_once(' ').expect("kind");
            let (name, rest) = quoted(rest);
            let d = Dumped { kind: kind.to_string(), name, fields: fields(rest), lines: Vec::new() };
            out.push((id.parse().expect("type id"), d));
        }
    }
    out
}

fn num<T: std::str::FromStr>(map: &HashMap<String, String>, key: &str) -> Option<T> {
    let v = map.get(key)?;
    let v = v.trim_end_matches("ULL").trim_end_matches("LL");
    v.parse().ok()
}

#[derive(Default)]
struct Tally {
    composites: u64,
    members: u64,
    types: u64,
    mismatches: Vec<String>,
}

impl Tally {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: impl FnOnce() -> String, ours: T, theirs: T) {
        if ours != theirs {
            self.mismatches.push(format!("{}: ours {ours:?}, bpftool {theirs:?}", what()));
        }
    }
}

fn compare(btf: &Btf<'_>, id: u32, d: &Dumped, t: &mut Tally) {
    let ty = match btf.type_by_id(id) {
        Ok(ty) => ty,
        Err(e) => {
            t.mismatches.push(format!("[{id}] unreadable: {e}"));
            return;
        }
    };
    t.types += 1;
    t.check(|| format!("[{id}] kind"), ty.kind.name(), d.kind.as_str());
    t.check(|| format!("[{id}] name"), btf.name(&ty).unwrap_or("<bad>"), d.name.as_str());
    let f = &d.fields;
    let target = Some(ty.size_or_type);
    match ty.kind {
        Kind::Struct | Kind::Union => {
            t.composites += 1;
            t.check(|| format!("[{id}] size"), Some(ty.size_or_type), num(f, "size"));
            t.check(|| format!("[{id}] vlen"), u32::from(ty.vlen), u32::try_from(d.lines.len()).unwrap());
            let ours: Vec<_> = btf.members(ty).unwrap().collect();
            for (i, (m, (name, mf))) in ours.iter().zip(&d.lines).enumerate() {
                t.members += 1;
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        t.mismatches.push(format!("[{id}] member {i}: {e}"));
                        continue;
                    }
                };
                let theirs = (
                    name.as_str(),
                    num::<u32>(mf, "type_id"),
                    num::<u32>(mf, "bits_offset"),
                    num::<u8>(mf, "bitfield_size").unwrap_or(0),
                );
                let mine = (m.name, Some(m.type_id), Some(m.bit_offset), m.bitfield_size);
                t.check(|| format!("[{id}] {} member {i}", d.name), mine, theirs);
            }
        }
        Kind::Enum | Kind::Enum64 => {
            t.check(|| format!("[{id}] size"), Some(ty.size_or_type), num(f, "size"));
            let enc = if ty.kind_flag { "SIGNED" } else { "UNSIGNED" };
            t.check(|| format!("[{id}] encoding"), Some(enc), f.get("encoding").map(String::as_str));
            t.check(|| format!("[{id}] vlen"), u32::from(ty.vlen), u32::try_from(d.lines.len()).unwrap());
            for (i, (name, ef)) in (0u32..).zip(&d.lines) {
                let e = ty.enumerator(i).expect("enumerator");
                let theirs = (name.as_str(), num::<i128>(ef, "val"));
                t.check(
                    || format!("[{id}] enumerator {i}"),
                    (btf.str_at(e.name_off).unwrap(), Some(e.value.value)),
                    theirs,
                );
            }
        }
        Kind::Int => {
            let info = ty.int_info().expect("int info");
            let enc = match info.encoding {
                0 => "(none)",
                1 => "SIGNED",
                2 => "CHAR",
                4 => "BOOL",
                _ => "UNKN",
            };
            t.check(
                || format!("[{id}] int"),
                (target, Some(info.offset), Some(info.bits), Some(enc)),
                (
                    num(f, "size"),
                    num(f, "bits_offset"),
                    num(f, "nr_bits"),
                    f.get("encoding").map(String::as_str),
                ),
            );
        }
        Kind::Array => {
            let a = ty.array().expect("array");
            t.check(
                || format!("[{id}] array"),
                (Some(a.elem_type), Some(a.index_type), Some(a.nelems)),
                (num(f, "type_id"), num(f, "index_type_id"), num(f, "nr_elems")),
            );
        }
        Kind::FuncProto => {
            t.check(|| format!("[{id}] ret"), target, num(f, "ret_type_id"));
            t.check(|| format!("[{id}] vlen"), u32::from(ty.vlen), u32::try_from(d.lines.len()).unwrap());
            for (i, (name, pf)) in (0u32..).zip(&d.lines) {
                let (n, pt) = ty.param(i).expect("param");
                t.check(
                    || format!("[{id}] param {i}"),
                    (btf.str_at(n).unwrap(), Some(pt)),
                    (name.as_str(), num(pf, "type_id")),
                );
            }
        }
        Kind::Datasec => {
            t.check(|| format!("[{id}] size"), target, num(f, "size"));
            t.check(|| format!("[{id}] vlen"), u32::from(ty.vlen), u32::try_from(d.lines.len()).unwrap());
            for (i, (_, vf)) in (0u32..).zip(&d.lines) {
                let [vt, off, sz] = ty.secinfo(i).expect("secinfo");
                t.check(
                    || format!("[{id}] var {i}"),
                    (Some(vt), Some(off), Some(sz)),
                    (num(vf, "type_id"), num(vf, "offset"), num(vf, "size")),
                );
            }
        }
        Kind::Float => t.check(|| format!("[{id}] size"), target, num(f, "size")),
        Kind::Fwd => {
            let k = if ty.kind_flag { "union" } else { "struct" };
            t.check(|| format!("[{id}] fwd_kind"), Some(k), f.get("fwd_kind").map(String::as_str));
        }
        Kind::DeclTag => {
            let idx = i32::from_ne_bytes(ty.extra_word().expect("decl_tag").to_ne_bytes());
            t.check(
                || format!("[{id}] decl_tag"),
                (target, Some(idx)),
                (num(f, "type_id"), num(f, "component_idx")),
            );
        }
        Kind::Ptr
        | Kind::Typedef
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Func
        | Kind::Var
        | Kind::TypeTag => t.check(|| format!("[{id}] type_id"), target, num(f, "type_id")),
        _ => t.mismatches.push(format!("[{id}] unexpected kind {}", ty.kind)),
    }
}

/// Dumps `file` (on top of `base`, for split BTF) with bpftool and compares every type.
fn compare_with_bpftool(bpftool: &Path, btf: &Btf<'_>, file: &Path, base: Option<&Path>) -> Tally {
    let mut cmd = Command::new(bpftool);
    if let Some(base) = base {
        cmd.arg("--base-btf").arg(base);
    }
    let out = cmd.args(["btf", "dump", "file"]).arg(file).args(["format", "raw"]).output().unwrap();
    assert!(
        out.status.success(),
        "bpftool failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = parse_dump(&String::from_utf8(out.stdout).unwrap());
    let mut tally = Tally::default();
    let first = dump.first().map_or(0, |(id, _)| *id);
    assert_eq!(first, btf.first_id(), "{}: first id", file.display());
    assert_eq!(u32::try_from(dump.len()).unwrap(), btf.type_count(), "{}: type count", file.display());
    for (id, d) in &dump {
        compare(btf, *id, d, &mut tally);
    }
    tally
}

/// The test's own blobs (both byte orders, split BTF) read the same by bpftool (libbpf) and
/// by this crate: a check of the test builder as much as of the reader.
#[test]
fn synthetic_blobs_match_bpftool() {
    use common::kernel::{self, Opts};

    let Some(bpftool) = find_bpftool() else {
        println!("SKIPPED: bpftool not found and `apt-get install bpftool` failed; cannot compare with it");
        return;
    };
    let dir = std::env::temp_dir().join(format!("scxray-btf-bpftool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for big in [false, true] {
        let mut base = if big { common::BtfBuilder::big() } else { common::BtfBuilder::new() };
        kernel::add_types(&mut base, &Opts::default());
        let mut split = common::BtfBuilder::split_on(&base);
        let int = split.int("mod_int", 4, true);
        let p = split.ptr(int);
        split.struct_(
            "mod_state",
            24,
            &[common::m("count", int, 0), common::m("p", p, 8), common::bf("bits", int, 128, 3)],
        );
        split.enum64("mod_wide", 8, true, &[("MOD_NEG", (-7i64) as u64)]);
        let (base_data, split_data) = (base.build(), split.build());
        let base_path = dir.join(format!("base-{big}.btf"));
        let split_path = dir.join(format!("split-{big}.btf"));
        std::fs::write(&base_path, &base_data).unwrap();
        std::fs::write(&split_path, &split_data).unwrap();

        let mut s1 = vec![0u32; Btf::scratch_words(&base_data).unwrap()];
        let base_btf = Btf::parse_in(&base_data, &mut s1).unwrap();
        let mut s2 = vec![0u32; Btf::scratch_words(&split_data).unwrap()];
        let split_btf = Btf::parse_split_in(&split_data, &base_btf, &mut s2).unwrap();
        for (btf, file, base) in
            [(&base_btf, &base_path, None), (&split_btf, &split_path, Some(base_path.as_path()))]
        {
            let t = compare_with_bpftool(&bpftool, btf, file, base);
            println!(
                "{} (big-endian: {big}): {} types, {} mismatches",
                file.display(),
                t.types,
                t.mismatches.len()
            );
            for m in &t.mismatches {
                println!("  {m}");
            }
            assert!(t.mismatches.is_empty());
            assert_eq!(u64::from(btf.type_count()), t.types);
            checked += 1;
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(checked, 4);
}

#[test]
fn host_vmlinux_matches_bpftool() {
    if !Path::new(VMLINUX).exists() {
        println!("SKIPPED: {VMLINUX} does not exist on this machine");
        return;
    }
    let Some(bpftool) = find_bpftool() else {
        println!("SKIPPED: bpftool not found and `apt-get install bpftool` failed; cannot compare with it");
        return;
    };
    let data = std::fs::read(VMLINUX).unwrap();
    let mut scratch = vec![0u32; Btf::scratch_words(&data).unwrap()];
    let btf = Btf::parse_in(&data, &mut scratch).unwrap();

    let out =
        Command::new(&bpftool).args(["btf", "dump", "file", VMLINUX, "format", "raw"]).output().unwrap();
    assert!(out.status.success(), "bpftool failed: {}", String::from_utf8_lossy(&out.stderr));
    let dump = parse_dump(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(u32::try_from(dump.len()).unwrap(), btf.last_id(), "type count");

    let mut tally = Tally::default();
    for (id, d) in &dump {
        compare(&btf, *id, d, &mut tally);
    }
    println!(
        "{} structs, {} members, {} mismatches (structs and unions; {} types of every kind compared)",
        tally.composites,
        tally.members,
        tally.mismatches.len(),
        tally.types
    );
    for m in tally.mismatches.iter().take(30) {
        println!("  {m}");
    }
    assert_eq!(tally.mismatches.len(), 0);
    assert!(tally.composites > 1000, "only {} structs", tally.composites);

    // The flattened view agrees with member lookup by name, for every struct.
    let mut flat_checked = 0u64;
    for ty in btf.types() {
        let ty = ty.unwrap();
        if !ty.kind.is_composite() {
            continue;
        }
        for m in btf.flat_members(ty).unwrap() {
            let m = m.unwrap();
            let found = btf.find_member(ty, m.name).unwrap().unwrap();
            // A name can repeat across anonymous unions only in broken C; first wins both ways.
            assert_eq!(found.bit_offset, m.bit_offset, "struct [{}] member {}", ty.id, m.name);
            flat_checked += 1;
        }
    }
    println!("{flat_checked} flattened members agree with lookup by name");

    // No sched_ext in this kernel (a 6.18 built without it): resolve_layout says so.
    let has_scx = btf.find_struct("sched_ext_entity").unwrap().is_some();
    match resolve_layout(&btf) {
        Err(e) => {
            assert!(!has_scx, "unexpected error on a sched_ext kernel: {e}");
            assert_eq!(e, ResolveError::NoSchedExt);
            let msg = e.to_string();
            println!("resolve_layout: {msg}");
            assert!(msg.contains("built without sched_ext"), "{msg}");
        }
        Ok(layout) => {
            assert!(has_scx, "resolved a layout on a kernel without sched_ext: {layout:?}");
            println!("host kernel has sched_ext: {layout:?}");
        }
    }
    // Query API spot checks that hold for every kernel.
    assert_eq!(btf.struct_size("list_head").unwrap(), Some(16));
    assert_eq!(btf.member_offset("list_head.prev").unwrap().unwrap().byte_offset(), Some(8));
    assert!(btf.member_offset("rq.curr").unwrap().is_some());
    assert!(btf.member_offset("task_struct.pid").unwrap().is_some());
}
