//! The lab's layering, read from its source: `xtask/src/lab` is three layers, `host`, then
//! `kernels`, then `runs`, with `lab/mod.rs` (dispatch and help) above them. Every import
//! (`use` declarations and paths written out in code, resolved from `crate::`, `super::` and
//! `self::`) must point into the same layer or a lower one, and the modules (one per file) must
//! not import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first; `lab` itself (its `mod.rs`) is above all of them.
const LAYERS: &[&str] = &["host", "kernels", "runs"];

/// A module path below the crate root, e.g. `["lab", "host", "apt"]`.
type ModPath = Vec<String>;

/// The layer of a module of the lab (0 = host ... 3 = `lab/mod.rs`); `None` outside the lab.
fn layer(m: &[String]) -> Option<usize> {
    match m {
        [lab] if lab == "lab" => Some(LAYERS.len()),
        [lab, top, ..] if lab == "lab" => LAYERS.iter().position(|l| l == top),
        _ => None,
    }
}

/// The source with comments, string literals and char literals blanked out (newlines and
/// lengths kept), so that only code is searched for paths.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank =
        |out: &mut Vec<u8>, s: &[u8]| out.extend(s.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    while i < b.len() {
        let rest = &b[i..];
        let end = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n)
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            j
        } else if let Some(hashes) = raw_string_start(rest) {
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let body = i + 2 + hashes + usize::from(rest[0] == b'b');
            b[body..]
                .windows(close.len())
                .position(|w| w == close)
                .map_or(b.len(), |n| body + n + close.len())
        } else if rest[0] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if rest[0] == b'\'' && (rest.get(1) == Some(&b'\\') || rest.get(2) == Some(&b'\'')) {
            // A char literal (a lifetime has no closing quote right after one character).
            let mut j = i + 1;
            while j < b.len() && b[j] != b'\'' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        let end = end.min(b.len());
        blank(&mut out, &b[i..end]);
        i = end;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `r"`, `r#"`, `br"`...: the number of `#`s of a raw string starting here.
fn raw_string_start(s: &[u8]) -> Option<usize> {
    let s = s.strip_prefix(b"b").unwrap_or(s);
    let s = s.strip_prefix(b"r")?;
    let hashes = s.iter().take_while(|&&c| c == b'#').count();
    (s.get(hashes) == Some(&b'"')).then_some(hashes)
}

/// Every path a `use` tree names: `a::{b, c::{d as e, self}}` -> `a::b`, `a::c::d`, `a::c`.
fn expand_use(tree: &str) -> Vec<String> {
    // One space at most, and none around punctuation: `a::{b as c, d}` -> `a::{b as c,d}`.
    let mut tree = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    for p in ["::", "{", "}", ","] {
        tree = tree.replace(&format!(" {p}"), p).replace(&format!("{p} "), p);
    }
    let mut out = Vec::new();
    expand_into("", &tree, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let join = |p: &str, s: &str| if p.is_empty() { s.to_owned() } else { format!("{p}::{s}") };
    match tree.find('{') {
        None => {
            let path = tree.split(" as ").next().unwrap_or(tree);
            match path.trim_end_matches("::*") {
                "self" | "" | "*" => out.push(prefix.to_owned()),
                p => out.push(join(prefix, p)),
            }
        }
        Some(open) => {
            let head = tree[..open].trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let prefix = join(prefix, head);
            let (mut depth, mut start) = (0, 0);
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand_into(&prefix, &inner[start..k], out);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand_into(&prefix, &inner[start..], out);
            }
        }
    }
}

/// `path` (as written in module `here`) as a path from the crate root; `None` when it starts
/// elsewhere (`std::`, a name brought in by another `use`).
fn resolve(here: &[String], path: &str) -> Option<ModPath> {
    let mut segs = path.split("::").filter(|s| !s.is_empty()).peekable();
    let mut base: ModPath = match segs.peek().copied()? {
        "crate" => {
            segs.next();
            Vec::new()
        }
        "self" | "super" => here.to_vec(),
        _ => return None,
    };
    while let Some(&s) = segs.peek() {
        match s {
            "self" => {}
            "super" => {
                base.pop()?;
            }
            _ => break,
        }
        segs.next();
    }
    base.extend(segs.map(str::to_owned));
    Some(base)
}

/// The paths a module's code refers to, each with the (inline) module it is written in.
fn references(file_mod: &[String], code: &str) -> Vec<(ModPath, String)> {
    let mut out = Vec::new();
    // Inline modules (`mod tests { ... }`): the module a line is in, by brace depth.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let here = |stack: &[(String, usize)]| {
        let mut m = file_mod.to_vec();
        m.extend(stack.iter().map(|(n, _)| n.clone()));
        m
    };
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let word_start =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':');
        if !word_start || !b[i].is_ascii_alphabetic() {
            match b[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if stack.last().is_some_and(|(_, d)| *d == depth) {
                        stack.pop();
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        // An ASCII letter starts a word here, so `i` is on a char boundary.
        let rest = &code[i..];
        if rest.starts_with("use ") || rest.starts_with("use\n") {
            let end = rest.find(';').map_or(code.len(), |n| i + n);
            for p in expand_use(&code[i + 3..end]) {
                out.push((here(&stack), p));
            }
            i = end;
            continue;
        }
        if let Some(after_mod) = rest.strip_prefix("mod ") {
            let name: String =
                after_mod.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let after = after_mod.trim_start()[name.len()..].trim_start();
            if after.starts_with('{') {
                let open = code.len() - after.len();
                stack.push((name, depth));
                depth += 1;
                i = open + 1;
                continue;
            }
        }
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        if ["crate::", "super::", "self::"].iter().any(|p| rest.starts_with(p)) {
            out.push((here(&stack), rest[..len].trim_end_matches(':').to_owned()));
        }
        i += len.max(1);
    }
    out
}

/// The lab's source files and their module paths.
fn lab_modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.join("lab")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())).flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap_or(&p).with_extension("");
                let mut m: ModPath = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                if m.last().is_some_and(|l| l == "mod") {
                    m.pop();
                }
                out.insert(m, p);
            }
        }
    }
    out
}

/// An import from one module (file) to another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: ModPath,
    to: ModPath,
    path: String,
}

/// Every import between the lab's modules (files), `(from, to, as written)`, given each
/// module's source.
fn edges(sources: &BTreeMap<ModPath, String>) -> Vec<Edge> {
    let mut out = BTreeSet::new();
    for (m, src) in sources {
        for (here, path) in references(m, &code_only(src)) {
            let Some(abs) = resolve(&here, &path) else { continue };
            // The longest prefix that is a module of its own (a file).
            let Some(to) = (1..=abs.len()).rev().map(|n| abs[..n].to_vec()).find(|p| sources.contains_key(p))
            else {
                continue;
            };
            if &to != m {
                out.insert(Edge { from: m.clone(), to, path });
            }
        }
    }
    out.into_iter().collect()
}

/// The imports that point to a higher layer than their module's.
fn upward(edges: &[Edge]) -> Vec<String> {
    edges
        .iter()
        .filter(|e| matches!((layer(&e.from), layer(&e.to)), (Some(f), Some(t)) if t > f))
        .map(|e| {
            format!("{} imports {} (`{}`) from a higher layer", e.from.join("::"), e.to.join("::"), e.path)
        })
        .collect()
}

/// A circle of imports between modules, if there is one.
fn circle(edges: &[Edge]) -> Option<Vec<ModPath>> {
    let mut next: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for e in edges {
        next.entry(&e.from).or_default().push(&e.to);
    }
    // Depth-first search: 1 = on the current path, 2 = done.
    fn visit<'a>(
        m: &'a ModPath,
        next: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
        state: &mut BTreeMap<&'a ModPath, u8>,
        path: &mut Vec<&'a ModPath>,
    ) -> Option<Vec<ModPath>> {
        match state.get(m) {
            Some(2) => return None,
            Some(_) => {
                let start = path.iter().position(|p| *p == m).unwrap_or(0);
                return Some(path[start..].iter().map(|p| (*p).clone()).chain([m.clone()]).collect());
            }
            None => {}
        }
        state.insert(m, 1);
        path.push(m);
        for t in next.get(m).into_iter().flatten() {
            if let Some(c) = visit(t, next, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m, 2);
        None
    }
    let mut state = BTreeMap::new();
    next.keys().find_map(|m| visit(m, &next, &mut state, &mut Vec::new()))
}

fn lab_sources() -> BTreeMap<ModPath, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    lab_modules(&src)
        .into_iter()
        .map(|(m, p)| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (m, text)
        })
        .collect()
}

#[test]
fn the_lab_imports_only_downward_and_in_no_circle() {
    let sources = lab_sources();
    for l in LAYERS {
        assert!(sources.contains_key(&vec!["lab".to_owned(), (*l).to_owned()]), "no layer folder lab/{l}");
    }
    let outside: Vec<&ModPath> =
        sources.keys().filter(|m| m.len() == 2 && !LAYERS.contains(&m[1].as_str())).collect();
    assert!(outside.is_empty(), "lab modules outside the three layers: {outside:?}");
    let edges = edges(&sources);
    // The check sees the imports: each layer imports from the one below it.
    let crossing = |from: &str, to: &str| {
        edges.iter().any(|e| e.from.get(1).is_some_and(|f| f == from) && e.to.get(1).is_some_and(|t| t == to))
    };
    assert!(
        crossing("kernels", "host") && crossing("runs", "kernels") && crossing("runs", "host"),
        "{edges:#?}"
    );
    let up = upward(&edges);
    assert!(up.is_empty(), "{}", up.join("\n"));
    if let Some(c) = circle(&edges) {
        let names: Vec<String> = c.iter().map(|m| m.join("::")).collect();
        panic!("import circle: {}", names.join(" -> "));
    }
    for (m, src) in &sources {
        assert!(!src.contains("allow(dead_code)"), "{}: #[allow(dead_code)]", m.join("::"));
    }
}

/// The checker itself: an upward import and a circle, as the lab once had, are found.
#[test]
fn the_checker_finds_upward_imports_and_circles() {
    let module = |p: &str| -> ModPath { p.split("::").map(str::to_owned).collect() };
    let sources: BTreeMap<ModPath, String> = [
        ("lab", "pub mod host; pub mod kernels; fn run() { kernels::list::cmd(); }"),
        ("lab::host", "pub mod qemu; pub mod apt;"),
        // An upward import, written out in code: host -> kernels.
        ("lab::host::qemu", "fn f(k: &crate::lab::kernels::kernel::Kernel) { let s = \"super::x\"; }"),
        ("lab::host::apt", "// use crate::lab::runs::x; (a comment)\nfn g() {}"),
        ("lab::kernels", "pub mod kernel; pub mod selfbuilt; pub mod schedulers;"),
        // kernel -> selfbuilt -> schedulers -> kernel: a circle.
        ("lab::kernels::kernel", "use super::{selfbuilt};\n#[cfg(test)]\nmod tests { use super::*; }"),
        ("lab::kernels::selfbuilt", "use super::schedulers::{self, unpack as u};"),
        ("lab::kernels::schedulers", "use super::kernel::Kernel; use crate::lab::host::apt;"),
    ]
    .into_iter()
    .map(|(m, s)| (module(m), s.to_owned()))
    .collect();
    let edges = edges(&sources);
    let up = upward(&edges);
    assert_eq!(up.len(), 1, "{up:?}");
    assert!(up[0].starts_with("lab::host::qemu imports lab::kernels::kernel"), "{up:?}");
    let c = circle(&edges).expect("the circle");
    let names: BTreeSet<String> = c.iter().map(|m| m.join("::")).collect();
    assert_eq!(
        names,
        ["lab::kernels::kernel", "lab::kernels::schedulers", "lab::kernels::selfbuilt"]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        "{c:?}"
    );
    // Without the import that closes it, no circle; `super::*` of the inline tests is the
    // module itself, not its parent.
    let mut fixed = sources.clone();
    fixed.insert(module("lab::kernels::schedulers"), "use crate::lab::host::apt;".into());
    assert_eq!(circle(&crate::edges(&fixed)), None);
    assert!(
        !crate::edges(&fixed)
            .iter()
            .any(|e| e.from == module("lab::kernels::kernel") && e.to == module("lab::kernels"))
    );
}
