//! The host crate's layering, checked on its source: each top-level module is a stage, in the
//! order data flows, and a module names only its own stage and earlier ones
//! (`source < kernel < target < walk < report < wire`); no file imports, directly or around
//! a circle, a file that imports it; and nothing in the report stage reads guest memory.
//!
//! Every path a file names is read: `use` trees (groups and nesting), `crate::` and `super::`
//! paths in code, and a parent's paths into its own `mod` children. A path goes to the file of
//! the longest module it names (`crate::report::schema::Report` is `report/schema.rs`,
//! `crate::walk::Snapshot` is `walk/mod.rs`). Comments, strings and `#[cfg(test)]` modules
//! (at the end of a file) are left out. The CLI (`src/bin`) uses the library by its name,
//! `scxray::`, and comes after every stage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages in the order data flows, after the errors every stage returns.
const STAGES: &[&str] = &[
    // Host errors: every stage returns them.
    "error", "source", "kernel", "target", "walk", "report", "watch", "wire",
];

/// Calls that read guest memory: none may appear in the report stage.
const READS: &[&str] = &[".guest(", "read_virt", "read_bytes", "read_c_string", "walk_machine", "read_task"];

type Module = Vec<String>;

struct File {
    path: PathBuf,
    module: Module,
    /// Its code without comments, strings and test modules.
    code: String,
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b.rs` is `a::b`, `a/mod.rs` is `a`, `lib.rs` the root.
fn module_of(rel: &Path) -> Module {
    let mut m: Module = rel.iter().map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    if m.last().is_some_and(|l| l == "mod" || l == "lib") {
        m.pop();
    }
    m
}

/// `s` without comments, string and char literals, visibility paths (`pub(in crate::a)`),
/// and what follows `#[cfg(test)]`.
fn code_of(s: &str) -> String {
    let mut code = code_without_literals(s);
    while let Some(at) = code.find("pub(in ") {
        let end = code[at..].find(')').map_or(code.len(), |e| at + e + 1);
        code.replace_range(at..end, "pub");
    }
    code
}

fn code_without_literals(s: &str) -> String {
    let s = &s[..s.find("#[cfg(test)]").unwrap_or(s.len())];
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            i += s[i..].find('\n').unwrap_or(s.len() - i);
        } else if b[i..].starts_with(b"/*") {
            i += s[i..].find("*/").map_or(s.len() - i, |e| e + 2);
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
        } else if b[i..].starts_with(b"'\\") {
            i += s[i + 2..].find('\'').map_or(s.len() - i, |e| e + 3);
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn skip_ws(s: &[char], mut i: usize) -> usize {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The paths of the use tree (or plain path) at `i`: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`,
/// `a::c::e`.
fn tree(s: &[char], i: usize) -> (Vec<Module>, usize) {
    let mut i = skip_ws(s, i);
    if s.get(i) == Some(&'{') {
        let mut paths = Vec::new();
        i += 1;
        loop {
            i = skip_ws(s, i);
            match s.get(i) {
                None => return (paths, i),
                Some('}') => return (paths, i + 1),
                Some(',') => i += 1,
                _ => {
                    let (sub, j) = tree(s, i);
                    paths.extend(sub);
                    i = j.max(i + 1);
                }
            }
        }
    }
    let start = i;
    while i < s.len() && is_ident(s[i]) {
        i += 1;
    }
    let seg: String = s[start..i].iter().collect();
    if seg.is_empty() {
        // `*`, or not a path at all.
        return (vec![Vec::new()], i);
    }
    let j = skip_ws(s, i);
    if s.get(j) == Some(&':') && s.get(j + 1) == Some(&':') {
        let (sub, k) = tree(s, j + 2);
        return (sub.into_iter().map(|p| [vec![seg.clone()], p].concat()).collect(), k);
    }
    // `name as alias`: the alias rides as a last segment `as alias`.
    if s.get(j) == Some(&'a') && s.get(j + 1) == Some(&'s') && s.get(j + 2).is_some_and(|c| c.is_whitespace())
    {
        let start = skip_ws(s, j + 2);
        let mut end = start;
        while end < s.len() && is_ident(s[end]) {
            end += 1;
        }
        let alias: String = s[start..end].iter().collect();
        return (vec![vec![seg, format!("as {alias}")]], end);
    }
    (vec![vec![seg]], i)
}

/// The names `f` re-exports (`pub use`, `pub(crate) use`, `pub(super) use`), each with the
/// absolute path it stands for.
fn reexports(f: &File) -> BTreeMap<String, Module> {
    let s: Vec<char> = f.code.chars().collect();
    let mut out = BTreeMap::new();
    let mut from = 0;
    while let Some(at) = f.code[from..].find("pub") {
        let at = from + at;
        from = at + 3;
        let rest = &f.code[at..];
        let Some(u) = rest.find("use ").filter(|&u| {
            let head = &rest[3..u];
            head.trim().is_empty() || (head.trim_start().starts_with('(') && head.trim_end().ends_with(')'))
        }) else {
            continue;
        };
        let start = at + u + 4;
        let (paths, _) = tree(&s, f.code[..start].chars().count());
        for mut p in paths {
            let name = match p.last() {
                Some(l) if l.starts_with("as ") => {
                    let alias = l["as ".len()..].to_owned();
                    p.pop();
                    alias
                }
                Some(l) => l.clone(),
                None => continue,
            };
            if let Some(abs) = absolute(&f.module, &p) {
                out.insert(name, abs);
            }
        }
    }
    out
}

/// Every module path `f` names, made absolute: `crate::`, `super::`, `self::` paths, and
/// paths that start with one of its own `mod` children.
fn named_paths(f: &File) -> Vec<Module> {
    let s: Vec<char> = f.code.chars().collect();
    let children: BTreeSet<String> = f
        .code
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_start_matches("pub(crate) ").trim_start_matches("pub ");
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let at_start = i == 0 || !(is_ident(s[i - 1]) || s[i - 1] == ':');
        if !at_start || !is_ident(s[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < s.len() && is_ident(s[j]) {
            j += 1;
        }
        let word: String = s[i..j].iter().collect();
        let k = skip_ws(&s, j);
        let is_path = s.get(k) == Some(&':') && s.get(k + 1) == Some(&':');
        if is_path && (["crate", "super", "self"].contains(&word.as_str()) || children.contains(&word)) {
            let (paths, end) = tree(&s, i);
            for mut p in paths {
                if p.last().is_some_and(|l| l.starts_with("as ")) {
                    p.pop();
                }
                if let Some(abs) = absolute(&f.module, &p) {
                    out.push(abs);
                }
            }
            i = end.max(j);
        } else {
            i = j;
        }
    }
    out
}

/// `p` as named in `module`, from the crate root.
fn absolute(module: &Module, p: &[String]) -> Option<Module> {
    let (first, rest) = p.split_first()?;
    let mut m = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => module[..module.len().checked_sub(1)?].to_vec(),
        child => [module.clone(), vec![child.to_owned()]].concat(),
    };
    let mut rest = rest.iter().peekable();
    while rest.peek().is_some_and(|s| *s == "super") {
        m.pop()?;
        rest.next();
    }
    m.extend(rest.cloned());
    Some(m)
}

fn stage_rank(module: &Module) -> usize {
    match module.first() {
        // The crate root declares and re-exports every stage: after all of them.
        None => STAGES.len(),
        Some(s) => STAGES
            .iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("module `{s}` is in no stage: give it its place in STAGES")),
    }
}

fn read_files() -> Vec<File> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| !p.starts_with(src.join("bin")))
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_owned();
            File { module: module_of(&rel), code: code_of(&std::fs::read_to_string(&p).unwrap()), path: rel }
        })
        .collect()
}

/// The file a path names: the file of its longest module, or, when that module re-exports
/// the next name, the file the re-export stands for.
fn resolve(
    p: &Module,
    files: &[File],
    by_module: &BTreeMap<&Module, usize>,
    exports: &[BTreeMap<String, Module>],
) -> Option<usize> {
    let mut p = p.clone();
    for _ in 0..8 {
        let (n, file) = (0..=p.len()).rev().find_map(|n| Some((n, *by_module.get(&p[..n].to_vec())?)))?;
        match p.get(n).and_then(|name| exports[file].get(name)) {
            Some(target) => p = [target.clone(), p[n + 1..].to_vec()].concat(),
            None => return Some(file),
        }
    }
    panic!("re-exports of {p:?} go round in {}", files[0].path.display())
}

/// File `i` -> the files it names.
fn edges(files: &[File]) -> BTreeMap<usize, BTreeSet<usize>> {
    let by_module: BTreeMap<&Module, usize> = files.iter().enumerate().map(|(i, f)| (&f.module, i)).collect();
    let exports: Vec<BTreeMap<String, Module>> = files.iter().map(reexports).collect();
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for p in named_paths(f) {
            let to = resolve(&p, files, &by_module, &exports);
            if let Some(to) = to.filter(|&to| to != i) {
                edges.entry(i).or_default().insert(to);
            }
        }
    }
    edges
}

#[test]
fn no_module_names_a_later_stage() {
    let files = read_files();
    let mut wrong = Vec::new();
    for (from, tos) in edges(&files) {
        for to in tos {
            let (a, b) = (&files[from], &files[to]);
            if stage_rank(&b.module) > stage_rank(&a.module) {
                wrong.push(format!("{} names {} (a later stage)", a.path.display(), b.path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_file_imports_around_a_circle() {
    let files = read_files();
    let edges = edges(&files);
    // Depth-first search; a file met again while still open closes a circle.
    fn visit(
        n: usize,
        edges: &BTreeMap<usize, BTreeSet<usize>>,
        state: &mut Vec<u8>,
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[n] = 1;
        stack.push(n);
        for &m in edges.get(&n).into_iter().flatten() {
            if state[m] == 1 {
                let from = stack.iter().position(|&x| x == m).unwrap();
                return Some([&stack[from..], &[m]].concat());
            }
            if state[m] == 0
                && let Some(c) = visit(m, edges, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state[n] = 2;
        None
    }
    let mut state = vec![0u8; files.len()];
    for n in 0..files.len() {
        if state[n] == 0
            && let Some(circle) = visit(n, &edges, &mut state, &mut Vec::new())
        {
            let names: Vec<String> = circle.iter().map(|&i| files[i].path.display().to_string()).collect();
            panic!("an import circle: {}", names.join(" -> "));
        }
    }
}

#[test]
fn the_report_stage_reads_no_guest_memory() {
    for f in read_files().iter().filter(|f| f.module.first().is_some_and(|s| s == "report")) {
        for r in READS {
            assert!(!f.code.contains(r), "{} calls {r}: reads belong to the walk stage", f.path.display());
        }
    }
}

/// The checks see what they must: a path into a later stage, through a group, a `super`
/// climb or a child module, is named; so is a circle.
#[test]
fn the_checks_see_groups_supers_and_children() {
    let file = |path: &str, code: &str| File {
        path: path.into(),
        module: module_of(Path::new(path)),
        code: code_of(code),
    };
    let f = file(
        "walk/tasks.rs",
        "use crate::{error::Error, report::{schema::Report, text}};\n\
         // crate::decode::x in a comment\n let s = \"crate::decode::y\";\n\
         fn f() { super::super::target::Target::new(); }",
    );
    let mut got = named_paths(&f);
    got.sort();
    let want: Vec<Module> = [
        vec!["error", "Error"],
        vec!["report", "schema", "Report"],
        vec!["report", "text"],
        vec!["target", "Target", "new"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);
    let parent = file("target/mod.rs", "mod inputs;\nfn f() { inputs::identify(); }");
    assert_eq!(named_paths(&parent), [vec!["target".to_owned(), "inputs".into(), "identify".into()]]);

    let files = vec![
        file("walk/mod.rs", "mod a;\nmod b;\npub use a::{Z, W as V};"),
        file("walk/a.rs", "use super::b::X;"),
        file("walk/b.rs", "use crate::walk::a::Y;"),
        file("report/mod.rs", "use crate::walk::{Z, V};"),
    ];
    let e = edges(&files);
    assert!(e[&1].contains(&2) && e[&2].contains(&1), "the circle a <-> b is seen: {e:?}");
    // Through `walk`'s re-exports, to the file that defines them.
    assert_eq!(e[&3], BTreeSet::from([1]));
    assert!(stage_rank(&files[3].module) > stage_rank(&files[1].module));
}
