//! Symbol tables: name -> link-time address, from a vmlinux ELF, a System.map, or
//! /proc/kallsyms text.

use crate::error::Error;
use std::collections::HashMap;
use std::path::Path;

/// Where a symbol table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolSource {
    /// A vmlinux ELF's symbol table (link-time addresses).
    Vmlinux,
    /// A System.map file (link-time addresses).
    SystemMap,
    /// /proc/kallsyms (runtime addresses: KASLR already applied).
    Kallsyms,
}

/// Symbol name -> address.
#[derive(Debug, Clone)]
pub struct SymbolTable {
    map: HashMap<String, u64>,
    /// Where the addresses come from (and so whether KASLR still has to be applied).
    pub source: SymbolSource,
}

impl SymbolTable {
    /// From `(name, address)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, u64)>, source: SymbolSource) -> Self {
        Self { map: pairs.into_iter().collect(), source }
    }

    /// Parses `System.map` / kallsyms text: `<hex address> <type> <name> [module]`.
    pub fn parse_map(text: &str, source: SymbolSource) -> Self {
        let pairs = text.lines().filter_map(|l| {
            let mut it = l.split_whitespace();
            let addr = u64::from_str_radix(it.next()?, 16).ok()?;
            let _ty = it.next()?;
            let name = it.next()?;
            Some((name.to_owned(), addr))
        });
        Self::from_pairs(pairs, source)
    }

    /// Reads a System.map file. Debian 7.x's `linux-base` ships a placeholder: say so.
    pub fn read_system_map(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let t = Self::parse_map(&text, SymbolSource::SystemMap);
        if t.map.len() < 100 {
            return Err(Error::BadInput(format!(
                "{}: only {} symbols: a placeholder System.map? Use --vmlinux with the -dbg package's vmlinux",
                path.display(),
                t.map.len()
            )));
        }
        Ok(t)
    }

    /// The address of `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.map.get(name).copied()
    }

    /// Every `(name, address)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.map.iter().map(|(n, &a)| (n.as_str(), a))
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_system_map_lines() {
        let t = SymbolTable::parse_map(
            "ffffffff81000000 T _text\n0000000000035540 D runqueues\nffffffff82a1b2c0 d scx_tasks\nbogus\n",
            SymbolSource::SystemMap,
        );
        assert_eq!(t.get("runqueues"), Some(0x35540));
        assert_eq!(t.get("scx_tasks"), Some(0xffff_ffff_82a1_b2c0));
        assert_eq!(t.len(), 3);
    }
}
