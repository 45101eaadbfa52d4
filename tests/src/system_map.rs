//! `System.map` text: `<16 hex digits> <type> <name>` per line, sorted by address, at
//! link-time addresses (what `nm -n vmlinux` prints and Debian ships).

/// Symbols scxray's auto-configuration refuses a map with fewer than (a placeholder map).
pub const MIN_SYMBOLS: usize = 100;

/// A System.map of `symbols` (`(name, type, link-time address)`), padded with `t` symbols
/// `synthetic_text_N` after `_text` to [`MIN_SYMBOLS`] lines when it has fewer.
pub fn render(symbols: &[(String, char, u64)], text: u64) -> String {
    let mut all: Vec<(u64, char, String)> = symbols.iter().map(|(n, t, a)| (*a, *t, n.clone())).collect();
    let mut i = 0u64;
    while all.len() < MIN_SYMBOLS {
        all.push((text + 0x100 + i * 0x40, 't', format!("synthetic_text_{i}")));
        i += 1;
    }
    all.sort();
    all.iter().map(|(a, t, n)| format!("{a:016x} {t} {n}\n")).collect()
}
