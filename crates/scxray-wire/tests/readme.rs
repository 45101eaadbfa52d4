//! The README's embedding example (linking the core without the wire format) is this crate's
//! doc-tested one, line for line.

/// The lines of the `n`th fenced code block of `lines`.
fn block(lines: &[&str], n: usize) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for l in lines {
        if l.starts_with("```") {
            match cur.take() {
                Some(b) => blocks.push(b),
                None => cur = Some(Vec::new()),
            }
        } else if let Some(b) = cur.as_mut() {
            b.push((*l).to_owned());
        }
    }
    blocks.into_iter().nth(n).unwrap_or_default()
}

#[test]
fn readme_embedding_example_is_the_doc_tested_one() {
    let lib = include_str!("../src/lib.rs");
    let docs: Vec<&str> =
        lib.lines().filter_map(|l| l.strip_prefix("//!")).map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
    let doc_tested = block(&docs, 1);
    assert!(doc_tested.iter().any(|l| l.contains("impl PhysMem for GuestRam")));

    let readme = include_str!("../../../README.md");
    let section = readme.split("## Embedding scxray").nth(1).expect("README has an Embedding scxray section");
    let lines: Vec<&str> = section.lines().collect();
    assert_eq!(block(&lines, 0), doc_tested);
}
