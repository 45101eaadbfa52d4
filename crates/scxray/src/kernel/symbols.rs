//! Symbol tables: name -> address, from a vmlinux ELF, a System.map, /proc/kallsyms text, or
//! the kernel's own kallsyms tables in guest memory.
//!
//! A kernel has ~200 000 symbols and scxray needs a few dozen: big tables are searched lazily
//! (one pass over the compact source for a batch of names) instead of being turned into a map
//! of 200 000 allocated strings.

use crate::error::Error;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Looks a symbol up: its address, when the kernel has it.
pub type SymbolLookup<'a> = dyn Fn(&str) -> Option<u64> + 'a;

/// Where a symbol table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolSource {
    /// A vmlinux ELF's symbol table (link-time addresses).
    Vmlinux,
    /// A System.map file (link-time addresses).
    SystemMap,
    /// Kallsyms (runtime addresses: KASLR already applied).
    Kallsyms,
}

/// A searchable symbol source too big to hold as a map.
pub trait SymbolSearch: std::fmt::Debug + Send + Sync {
    /// The addresses of `names`, in one pass over the table.
    fn find(&self, names: &[&str]) -> Vec<Option<u64>>;
    /// How many symbols the table holds.
    fn len(&self) -> usize;
    /// Whether the table holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A symbol table: the names resolved so far, and (for big tables) the search behind them.
#[derive(Debug, Clone)]
pub struct SymbolTable {
    known: Arc<Mutex<HashMap<String, Option<u64>>>>,
    search: Option<Arc<dyn SymbolSearch>>,
    count: usize,
    /// Where the addresses come from (and so whether KASLR still has to be applied).
    pub source: SymbolSource,
}

impl SymbolTable {
    /// From `(name, address)` pairs (small tables).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, u64)>, source: SymbolSource) -> Self {
        let map: HashMap<String, Option<u64>> = pairs.into_iter().map(|(n, a)| (n, Some(a))).collect();
        let count = map.len();
        Self { known: Arc::new(Mutex::new(map)), search: None, count, source }
    }

    /// Over a lazily searched table.
    pub fn from_search(search: Arc<dyn SymbolSearch>, source: SymbolSource) -> Self {
        let count = search.len();
        Self { known: Arc::new(Mutex::new(HashMap::new())), search: Some(search), count, source }
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
        if t.len() < 100 {
            return Err(Error::BadInput(format!(
                "{}: only {} symbols: a placeholder System.map? (Debian's real one is in the linux-image-*-dbg \
                 package); or give no symbols at all and let scxray read the kernel's kallsyms from the dump",
                path.display(),
                t.len()
            )));
        }
        Ok(t)
    }

    /// Resolves a batch of names at once (one pass over a big table).
    pub fn prefetch(&self, names: &[&str]) {
        let Some(search) = &self.search else { return };
        let Ok(mut known) = self.known.lock() else { return };
        let missing: Vec<&str> = names.iter().copied().filter(|n| !known.contains_key(*n)).collect();
        if missing.is_empty() {
            return;
        }
        for (n, a) in missing.iter().zip(search.find(&missing)) {
            known.insert((*n).to_owned(), a);
        }
    }

    /// The address of `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        if let Some(&a) = self.known.lock().ok()?.get(name) {
            return a;
        }
        self.search.as_ref()?;
        self.prefetch(&[name]);
        self.known.lock().ok()?.get(name).copied().flatten()
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
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
        assert_eq!(t.get("nope"), None);
        assert_eq!(t.len(), 3);
    }

    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicUsize);
    impl SymbolSearch for Counting {
        fn find(&self, names: &[&str]) -> Vec<Option<u64>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            names.iter().map(|n| (*n == "a").then_some(1)).collect()
        }
        fn len(&self) -> usize {
            2
        }
    }

    #[test]
    fn lazy_tables_search_once_per_batch_and_cache_misses_too() {
        let s = Arc::new(Counting(0.into()));
        let t = SymbolTable::from_search(s.clone(), SymbolSource::Kallsyms);
        t.prefetch(&["a", "b"]);
        assert_eq!((t.get("a"), t.get("b")), (Some(1), None));
        assert_eq!(s.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(t.get("c"), None);
        assert_eq!(s.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
