//! The kernel's own symbol table, read from guest memory: VMCOREINFO (Linux 6.0+) exports
//! the addresses of the compressed kallsyms tables, so no vmlinux is needed.
//!
//! Format (scripts/kallsyms.c): `kallsyms_names` holds one entry per symbol, a length byte
//! (two bytes when the high bit is set: low 7 bits + next byte << 7) followed by that many
//! token indexes; token `i` is the NUL-terminated string at
//! `kallsyms_token_table + kallsyms_token_index[i]`; the first character of the expanded
//! name is the symbol type. `kallsyms_offsets[i]` is a 32-bit offset from a base address.
//! The base changed across versions (`kallsyms_relative_base`, then `_text`), and x86_64's
//! old absolute-per-CPU encoding stored negative offsets; rather than guess by version, the
//! base is calibrated against `SYMBOL(_stext)`, which VMCOREINFO always carries.

use super::symbols::{SymbolSearch, SymbolSource, SymbolTable};
use crate::error::Error;
use crate::source::VmcoreInfo;
use crate::source::bytes::SharedBytes;
use scxray_core::{Field, ReadError, VirtAddr};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Reads guest kernel virtual memory, the error naming the field read.
pub type ReadVirt<'a> = dyn Fn(VirtAddr, &mut [u8], Field) -> Result<(), ReadError> + 'a;

/// Most symbols a kernel has ever had is a few hundred thousand; more means garbage.
const MAX_SYMS: u32 = 4_000_000;
/// Largest `kallsyms_names` region read.
const MAX_NAMES_BYTES: u64 = 64 << 20;

fn sym(info: &VmcoreInfo, name: &str) -> Result<u64, Error> {
    info.symbol(name).ok_or_else(|| {
        Error::BadInput(format!(
            "VMCOREINFO lacks SYMBOL({name}): this kernel does not export its kallsyms tables (Linux 6.0+ \
             does); pass --vmlinux or --system-map"
        ))
    })
}

/// Decodes the kernel's kallsyms tables from memory.
///
/// Every name's length is walked once (that the table decodes, and where every 32nd name
/// starts); names are expanded only when looked up. Lookups
/// binary-search `kallsyms_seqs_of_names` (symbol indexes sorted by name, which
/// `scripts/kallsyms.c` writes last since 6.4: right after `kallsyms_offsets`, or after
/// `kallsyms_relative_base` while the kernel had one); without it where it is expected, or
/// when it is seen out of order, they scan every name as before.
pub fn read_kallsyms(info: &VmcoreInfo, read: &ReadVirt<'_>) -> Result<SymbolTable, Error> {
    read_kallsyms_shared(info, read, &|_, _| None)
}

/// Shares guest virtual memory from a mapped source for as long as the result lives, when
/// the source lends it (else `None`, and the bytes are read).
pub type ShareVirt<'a> = dyn Fn(VirtAddr, usize) -> Option<SharedBytes> + 'a;

/// [`read_kallsyms`], the large tables (names, offsets, the sorted index) shared from the
/// mapped dump through `share` where it lends them, instead of copied to the heap.
pub fn read_kallsyms_shared(
    info: &VmcoreInfo,
    read: &ReadVirt<'_>,
    share: &ShareVirt<'_>,
) -> Result<SymbolTable, Error> {
    Ok(SymbolTable::from_search(Arc::new(read_index(info, read, share)?), SymbolSource::Kallsyms))
}

/// A table's bytes: read, or shared from the mapped source.
#[derive(Debug)]
enum Region {
    Read(Vec<u8>),
    Shared(SharedBytes),
}

impl std::ops::Deref for Region {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Read(v) => v,
            Self::Shared(s) => s,
        }
    }
}

/// The `len` bytes at `va`: shared where `share` lends them, else read (the read's error).
fn region(
    read: &ReadVirt<'_>,
    share: &ShareVirt<'_>,
    va: u64,
    len: usize,
    field: Field,
) -> Result<Region, ReadError> {
    if let Some(s) = share(VirtAddr(va), len) {
        return Ok(Region::Shared(s));
    }
    let mut v = vec![0u8; len];
    read(VirtAddr(va), &mut v, field)?;
    Ok(Region::Read(v))
}

fn read_index(info: &VmcoreInfo, read: &ReadVirt<'_>, share: &ShareVirt<'_>) -> Result<KallsymsIndex, Error> {
    let bad = |what: String| Error::BadInput(format!("kallsyms in guest memory: {what}"));
    let names_va = sym(info, "kallsyms_names")?;
    let num_va = sym(info, "kallsyms_num_syms")?;
    let token_table_va = sym(info, "kallsyms_token_table")?;
    let token_index_va = sym(info, "kallsyms_token_index")?;
    let offsets_va = sym(info, "kallsyms_offsets")?;
    let stext = sym(info, "_stext")?;

    let mut b4 = [0u8; 4];
    read(VirtAddr(num_va), &mut b4, Field::KallsymsNumSyms)
        .map_err(|e| bad(format!("kallsyms_num_syms at {num_va:#x}: {}", e.cause)))?;
    let num = u32::from_le_bytes(b4);
    if num == 0 || num > MAX_SYMS {
        return Err(bad(format!("kallsyms_num_syms reads {num}")));
    }
    let mut index = vec![0u8; 512];
    read(VirtAddr(token_index_va), &mut index, Field::KallsymsTokenIndex)
        .map_err(|e| bad(format!("kallsyms_token_index: {}", e.cause)))?;
    let index: Vec<usize> =
        index.chunks_exact(2).map(|c| usize::from(u16::from_le_bytes([c[0], c[1]]))).collect();
    let table_len = index.iter().max().copied().unwrap_or(0) + 256;
    let mut table = vec![0u8; table_len];
    read(VirtAddr(token_table_va), &mut table, Field::KallsymsTokenTable)
        .map_err(|e| bad(format!("kallsyms_token_table: {}", e.cause)))?;
    let tokens: Vec<Vec<u8>> = index
        .iter()
        .map(|&o| {
            let t = table.get(o..).unwrap_or(&[]);
            t[..t.iter().position(|&b| b == 0).unwrap_or(t.len())].to_vec()
        })
        .collect();

    // kallsyms_names lies between kallsyms_num_syms and the token table.
    let names_len =
        token_table_va.checked_sub(names_va).filter(|&l| l > 0 && l <= MAX_NAMES_BYTES).ok_or_else(|| {
            bad(format!("kallsyms_names {names_va:#x} / token table {token_table_va:#x} out of order"))
        })?;
    let names = region(read, share, names_va, names_len as usize, Field::KallsymsNames)
        .map_err(|e| bad(format!("kallsyms_names: {}", e.cause)))?;
    let offsets = region(read, share, offsets_va, num as usize * 4, Field::KallsymsOffsets)
        .map_err(|e| bad(format!("kallsyms_offsets: {}", e.cause)))?;

    // A name's expanded length is the sum of its tokens' lengths: one table load per token
    // (a missing token expands to one byte, "?").
    let mut token_lens = [1usize; 256];
    for (l, t) in token_lens.iter_mut().zip(&tokens) {
        *l = t.len();
    }
    // Check that the tables decode (every entry in bounds), noting where names start.
    let starts = walk_names(&names, num).map_err(names_end)?;
    let mut index = KallsymsIndex {
        names,
        tokens,
        token_lens,
        starts,
        offsets,
        offsets_va,
        num,
        encoding: Encoding::PcRelative,
        sorted: None,
    };
    // Find _stext by name where the kernel sorted its names, else by scanning them all.
    let mut stext_entry = None;
    if let Some(seqs_va) = seqs_of_names(info, offsets_va, num)
        && let Ok(seqs) = region(read, share, seqs_va, num as usize * 3, Field::KallsymsSeqsOfNames)
    {
        let sorted = Sorted { seqs, seen: Mutex::new(BTreeMap::new()), unsorted: AtomicBool::new(false) };
        if let Search::Found(i) = index.search(&sorted, b"_stext") {
            stext_entry = Some(i);
            index.sorted = Some(sorted);
        }
    }
    if stext_entry.is_none() {
        index.for_each(&|len| len == "_stext".len(), |i, _, toks| {
            if index.is_named(toks, b"_stext") {
                stext_entry = Some(i);
            }
            true
        })?;
    }
    let stext_idx = stext_entry
        .ok_or_else(|| bad("no _stext among the decoded symbols: the tables did not decode".into()))?;
    let stext_off = index.offset(stext_idx);
    index.encoding = Encoding::calibrate(stext, stext_off, offsets_va, stext_idx)
        .ok_or_else(|| bad(format!("no known kallsyms_offsets encoding puts _stext at {stext:#x}")))?;
    Ok(index)
}

/// The error of names that run out at symbol `i`.
fn names_end(i: usize) -> Error {
    Error::BadInput(format!("kallsyms in guest memory: kallsyms_names ends at symbol {i}"))
}

/// Where `kallsyms_seqs_of_names` starts, as `scripts/kallsyms.c` (6.4+) lays the tables out:
/// 8 bytes after `kallsyms_relative_base` when VMCOREINFO names one (the 8-byte aligned
/// labels of those kernels), else right after the `num` 4-byte `kallsyms_offsets`.
fn seqs_of_names(info: &VmcoreInfo, offsets_va: u64, num: u32) -> Option<u64> {
    match info.symbol("kallsyms_relative_base") {
        Some(base) => base.checked_add(8),
        None => offsets_va.checked_add(4 * u64::from(num)),
    }
}

/// Every how many symbols [`walk_names`] notes where a name starts: a lookup skips at most
/// this many entries to reach a name (the kernel's own `kallsyms_markers` notes every 256th).
const STRIDE: usize = 32;

/// Walks the length of each of the `num` names: where every [`STRIDE`]th one starts, or the
/// index of the symbol at which the names run out.
fn walk_names(names: &[u8], num: u32) -> Result<Vec<u32>, usize> {
    let num = num as usize;
    let mut starts = Vec::with_capacity(num.div_ceil(STRIDE));
    let mut p = 0usize;
    let mut i = 0usize;
    while i < num {
        // Names are at most MAX_NAMES_BYTES long: the offset fits.
        starts.push(u32::try_from(p).map_err(|_| i)?);
        for i in i..num.min(i + STRIDE) {
            // The entry's length byte(s) and tokens, all inside `names`.
            p = match names.get(p) {
                Some(&short) if short & 0x80 == 0 => p + 1 + usize::from(short),
                Some(&short) => {
                    let hi = *names.get(p + 1).ok_or(i)?;
                    p + 2 + (usize::from(short & 0x7f) | (usize::from(hi) << 7))
                }
                None => return Err(i),
            };
            if p > names.len() {
                return Err(i);
            }
        }
        i += STRIDE;
    }
    Ok(starts)
}

/// The token bytes of the name entry at `p` of `names` and where the next entry starts, when
/// the entry lies inside `names`.
#[inline]
fn entry_at(names: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let short = *names.get(p)?;
    let (len, start) = if short & 0x80 != 0 {
        let hi = *names.get(p + 1)?;
        (usize::from(short & 0x7f) | (usize::from(hi) << 7), p + 2)
    } else {
        (usize::from(short), p + 1)
    };
    let end = start + len;
    Some((names.get(start..end)?, end))
}

/// The kernel's kallsyms tables, copied out of guest memory and searched on demand.
#[derive(Debug)]
struct KallsymsIndex {
    names: Region,
    tokens: Vec<Vec<u8>>,
    /// `tokens[t].len()` for every token byte `t`.
    token_lens: [usize; 256],
    /// Where in `names` the names of symbols 0, [`STRIDE`], 2 x [`STRIDE`], ... start.
    starts: Vec<u32>,
    /// `kallsyms_offsets`, as the guest holds it (little-endian `i32`s).
    offsets: Region,
    offsets_va: u64,
    num: u32,
    encoding: Encoding,
    /// The name-sorted index, when the kernel has one where it is expected.
    sorted: Option<Sorted>,
}

/// `kallsyms_seqs_of_names`, and the names decoded from it so far.
#[derive(Debug)]
struct Sorted {
    /// Symbol indexes in name order, 3 bytes each, most significant first.
    seqs: Region,
    /// The symbol index and name decoded at each sorted position so far: every search checks
    /// what it decodes against its neighbours here (names ascend, equal names by ascending
    /// index), so an index seen out of order is caught.
    seen: Mutex<BTreeMap<usize, (usize, Vec<u8>)>>,
    /// Set once the index was seen out of order (or out of range): every search scans then.
    unsorted: AtomicBool,
}

/// What a binary search of the sorted index found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// The symbol of this index has the name (the lowest index of that name).
    Found(usize),
    /// No symbol has the name.
    Absent,
    /// The index is out of order, or names a symbol past the last: not to be trusted.
    Unsorted,
}

impl KallsymsIndex {
    /// Calls `f(index, name length, the name's token bytes)` for each symbol whose name length
    /// (type character excluded) `wanted_len` accepts, until `f` returns false; an error if the names
    /// run out before `num` symbols.
    fn for_each(
        &self,
        wanted_len: &dyn Fn(usize) -> bool,
        mut f: impl FnMut(usize, usize, &[u8]) -> bool,
    ) -> Result<(), Error> {
        let mut p = 0usize;
        for i in 0..self.num as usize {
            let (toks, next) = entry_at(&self.names, p).ok_or_else(|| names_end(i))?;
            p = next;
            // The expanded length, type character excluded, from the token lengths alone.
            let full: usize = toks.iter().map(|&t| self.token_lens[usize::from(t)]).sum();
            let len = full.saturating_sub(1);
            if !wanted_len(len) {
                continue;
            }
            if !f(i, len, toks) {
                break;
            }
        }
        Ok(())
    }

    /// Whether the symbol of token bytes `toks` is named `want` (after its type character),
    /// compared token by token: most candidates differ in their first token and are never
    /// expanded.
    fn is_named(&self, toks: &[u8], want: &[u8]) -> bool {
        let mut type_char = true;
        let mut rest = want;
        for &t in toks {
            let mut tok = self.tokens.get(usize::from(t)).map_or(&b"?"[..], Vec::as_slice);
            if type_char {
                let Some((_, after)) = tok.split_first() else { continue };
                tok = after;
                type_char = false;
            }
            match rest.strip_prefix(tok) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        !type_char && rest.is_empty()
    }

    /// The raw `kallsyms_offsets[i]` (0 past the end, as the scan always read it).
    fn offset(&self, i: usize) -> i32 {
        self.offsets
            .get(i.saturating_mul(4)..)
            .and_then(|o| o.first_chunk::<4>())
            .map_or(0, |b| i32::from_le_bytes(*b))
    }

    /// The name of symbol `i` after its type character, expanded (`None` when `i` is past the
    /// last symbol, or a name without even a type character).
    fn name_of(&self, i: usize) -> Option<Vec<u8>> {
        if i >= self.num as usize {
            return None;
        }
        let mut p = *self.starts.get(i / STRIDE)? as usize;
        for _ in 0..i % STRIDE {
            p = entry_at(&self.names, p)?.1;
        }
        let (toks, _) = entry_at(&self.names, p)?;
        let mut name = Vec::with_capacity(32);
        for &t in toks {
            name.extend_from_slice(self.tokens.get(usize::from(t)).map_or(&b"?"[..], Vec::as_slice));
        }
        (!name.is_empty()).then(|| name.split_off(1))
    }

    /// The symbol index and name at sorted position `pos`, decoded once and checked against
    /// the names decoded around it; `None` when the index is out of range or out of order.
    fn probe<'s>(
        &self,
        sorted: &Sorted,
        seen: &'s mut BTreeMap<usize, (usize, Vec<u8>)>,
        pos: usize,
    ) -> Option<&'s (usize, Vec<u8>)> {
        if !seen.contains_key(&pos) {
            let b = sorted.seqs.get(pos.checked_mul(3)?..)?.first_chunk::<3>()?;
            let seq = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
            let name = self.name_of(seq)?;
            // Names ascend; equal names by address, so by ascending index.
            let before = seen
                .range(..pos)
                .next_back()
                .is_some_and(|(_, (s, n))| (n.as_slice(), *s) >= (name.as_slice(), seq));
            let after = seen
                .range(pos + 1..)
                .next()
                .is_some_and(|(_, (s, n))| (n.as_slice(), *s) <= (name.as_slice(), seq));
            if before || after {
                return None;
            }
            seen.insert(pos, (seq, name));
        }
        seen.get(&pos)
    }

    /// Binary search of the sorted index for `want`: the first position whose name is not
    /// below it, which holds the lowest index of that name (names sort by address next, and
    /// indexes follow addresses). At most ~log2(num) + 2 names are decoded.
    fn search(&self, sorted: &Sorted, want: &[u8]) -> Search {
        if sorted.unsorted.load(Ordering::Relaxed) {
            return Search::Unsorted;
        }
        let Ok(mut seen) = sorted.seen.lock() else { return Search::Unsorted };
        let n = self.num as usize;
        let (mut lo, mut hi) = (0usize, n);
        let found = loop {
            if lo >= hi {
                break lo;
            }
            let mid = lo + (hi - lo) / 2;
            let Some((_, name)) = self.probe(sorted, &mut seen, mid) else { break n + 1 };
            if name.as_slice() < want {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        };
        // The names either side of the place were decoded (the search narrowed down to it);
        // the one after the first not below `want` is too, so that a name swapped with its
        // neighbour is caught. A name moved further away is not: seeing that takes decoding
        // every name, and the kernel's own kallsyms_lookup_name would miss it the same way.
        let after_ok = found >= n || found + 1 >= n || self.probe(sorted, &mut seen, found + 1).is_some();
        let result = match found {
            f if f > n || !after_ok => Search::Unsorted,
            f if f == n => Search::Absent,
            f => match self.probe(sorted, &mut seen, f) {
                Some((seq, name)) if name.as_slice() == want => Search::Found(*seq),
                Some(_) => Search::Absent,
                None => Search::Unsorted,
            },
        };
        if result == Search::Unsorted {
            sorted.unsorted.store(true, Ordering::Relaxed);
        }
        result
    }

    /// The addresses of `names`, by one pass over every symbol.
    fn scan(&self, names: &[&str]) -> Vec<Option<u64>> {
        let mut out = vec![None; names.len()];
        let mut left = names.len();
        // The wanted names by length: a symbol is compared (token by token, never expanded)
        // only with the names of its length (most of ~200 000 symbols are 4-30 bytes long).
        let mut by_len: Vec<Vec<usize>> = Vec::new();
        for (k, n) in names.iter().enumerate() {
            if by_len.len() <= n.len() {
                by_len.resize(n.len() + 1, Vec::new());
            }
            if let Some(v) = by_len.get_mut(n.len()) {
                v.push(k);
            }
        }
        let _ = self.for_each(&|len| by_len.get(len).is_some_and(|v| !v.is_empty()), |i, len, toks| {
            for &k in by_len.get(len).map_or(&[][..], Vec::as_slice) {
                if let Some(slot) = out.get_mut(k).filter(|s| s.is_none())
                    && names.get(k).is_some_and(|w| self.is_named(toks, w.as_bytes()))
                {
                    *slot = Some(self.address(i));
                    left -= 1;
                }
            }
            left > 0
        });
        out
    }

    /// The address of symbol `i`.
    fn address(&self, i: usize) -> u64 {
        self.encoding.address(self.offsets_va, i, self.offset(i))
    }
}

impl SymbolSearch for KallsymsIndex {
    fn find(&self, names: &[&str]) -> Vec<Option<u64>> {
        // An empty name matches no sorted name the way the scan's token comparison does.
        if let Some(sorted) = self.sorted.as_ref().filter(|_| names.iter().all(|n| !n.is_empty())) {
            let found: Option<Vec<Option<u64>>> = names
                .iter()
                .map(|n| match self.search(sorted, n.as_bytes()) {
                    Search::Found(i) => Some(Some(self.address(i))),
                    Search::Absent => Some(None),
                    Search::Unsorted => None,
                })
                .collect();
            if let Some(found) = found {
                return found;
            }
        }
        self.scan(names)
    }
    fn len(&self) -> usize {
        self.num as usize
    }
}

/// How `kallsyms_offsets[i]` becomes an address; it changed across kernel versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// 7.x: relative to the entry's own address, `&kallsyms_offsets[i] + offset`.
    PcRelative,
    /// `base + (u32)offset`, base being `kallsyms_relative_base` or `_text`.
    Relative { base: u64 },
    /// x86_64's old `KALLSYMS_ABSOLUTE_PERCPU`: non-negative offsets are absolute (zero-based
    /// per-CPU symbols), negative ones are `base - 1 - offset`.
    AbsolutePercpu { base: u64 },
}

impl Encoding {
    /// The encoding that puts `_stext` (entry `idx`, raw offset `off`) at `stext`.
    fn calibrate(stext: u64, off: i32, offsets_va: u64, idx: usize) -> Option<Self> {
        let pc = Self::PcRelative;
        if pc.address(offsets_va, idx, off) == stext {
            return Some(pc);
        }
        if off < 0 {
            // -1 - off is the distance below base: base = stext + 1 + off.
            return Some(Self::AbsolutePercpu {
                base: stext.wrapping_add(1).wrapping_add(i64::from(off) as u64),
            });
        }
        Some(Self::Relative { base: stext.wrapping_sub(u64::from(off as u32)) })
    }

    fn address(self, offsets_va: u64, i: usize, off: i32) -> u64 {
        match self {
            Self::PcRelative => offsets_va.wrapping_add(4 * i as u64).wrapping_add(i64::from(off) as u64),
            Self::Relative { base } => base.wrapping_add(u64::from(off as u32)),
            Self::AbsolutePercpu { base } => {
                if off >= 0 {
                    off as u64
                } else {
                    base.wrapping_sub(1).wrapping_sub(i64::from(off) as u64)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scxray_core::{MemError, PhysAddr, ReadCause};

    /// Kernel virtual address of the test memory's first byte.
    const BASE: u64 = 0xffff_ffff_8200_0000;

    /// Multi-byte tokens the test tables compress with (the rest are single bytes).
    const TOKENS: [&[u8]; 6] = [b"Dscx_", b"_t", b"nr_", b"task", b"Tdo_", b"s_"];

    /// Tables as `scripts/kallsyms.c` (7.x) lays them out, for `syms` given as (type and
    /// name, address) in address order: `kallsyms_num_syms`, `kallsyms_names`,
    /// `kallsyms_markers`, the token table and index, PC-relative `kallsyms_offsets`, then
    /// `kallsyms_seqs_of_names`, each 4-byte aligned.
    struct Tables {
        mem: Vec<u8>,
        info: String,
        /// Offset of `kallsyms_seqs_of_names` in `mem`.
        seqs: usize,
    }

    fn tokens() -> Vec<Vec<u8>> {
        // Bytes that never occur in a name are token slots.
        let mut t: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for (slot, tok) in (0xf0..).zip(TOKENS) {
            t[slot] = tok.to_vec();
        }
        t
    }

    fn compress(name: &[u8], tokens: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = name;
        'next: while !rest.is_empty() {
            for (slot, tok) in tokens.iter().enumerate().skip(0xf0) {
                if tok.len() > 1 && rest.starts_with(tok) {
                    out.push(slot as u8);
                    rest = &rest[tok.len()..];
                    continue 'next;
                }
            }
            out.push(rest[0]);
            rest = &rest[1..];
        }
        out
    }

    fn align4(v: &mut Vec<u8>) {
        v.resize(v.len().next_multiple_of(4), 0);
    }

    fn tables(syms: &[(String, u64)]) -> Tables {
        let tokens = tokens();
        let mut mem = Vec::new();
        mem.extend_from_slice(&(syms.len() as u32).to_le_bytes());
        let names_off = mem.len();
        let mut markers = Vec::new();
        for (i, (name, _)) in syms.iter().enumerate() {
            if i % 256 == 0 {
                markers.push((mem.len() - names_off) as u32);
            }
            let c = compress(name.as_bytes(), &tokens);
            if c.len() < 0x80 {
                mem.push(c.len() as u8);
            } else {
                mem.extend_from_slice(&[(c.len() & 0x7f) as u8 | 0x80, (c.len() >> 7) as u8]);
            }
            mem.extend_from_slice(&c);
        }
        align4(&mut mem);
        for m in markers {
            mem.extend_from_slice(&m.to_le_bytes());
        }
        align4(&mut mem);
        let table_off = mem.len();
        let mut index = Vec::new();
        for t in &tokens {
            index.extend_from_slice(&((mem.len() - table_off) as u16).to_le_bytes());
            mem.extend_from_slice(t);
            mem.push(0);
        }
        align4(&mut mem);
        let index_off = mem.len();
        mem.extend_from_slice(&index);
        align4(&mut mem);
        let offsets_off = mem.len();
        for (i, (_, a)) in syms.iter().enumerate() {
            let at = BASE + (offsets_off + 4 * i) as u64;
            mem.extend_from_slice(&(a.wrapping_sub(at) as i64 as i32).to_le_bytes());
        }
        let seqs = mem.len();
        let mut order: Vec<usize> = (0..syms.len()).collect();
        order.sort_by(|&a, &b| (&syms[a].0[1..], syms[a].1, a).cmp(&(&syms[b].0[1..], syms[b].1, b)));
        for i in order {
            mem.extend_from_slice(&(i as u32).to_be_bytes()[1..]);
        }
        let stext = syms.iter().find(|(n, _)| n == "T_stext").map_or(0, |s| s.1);
        let info = format!(
            "SYMBOL(kallsyms_num_syms)={BASE:x}\nSYMBOL(kallsyms_names)={:x}\nSYMBOL(kallsyms_token_table)={:x}\n\
             SYMBOL(kallsyms_token_index)={:x}\nSYMBOL(kallsyms_offsets)={:x}\nSYMBOL(_stext)={stext:x}\n",
            BASE + names_off as u64,
            BASE + table_off as u64,
            BASE + index_off as u64,
            BASE + offsets_off as u64,
        );
        Tables { mem, info, seqs }
    }

    impl Tables {
        fn read(&self, va: VirtAddr, buf: &mut [u8], field: Field) -> Result<(), ReadError> {
            let src =
                va.0.checked_sub(BASE)
                    .and_then(|o| usize::try_from(o).ok())
                    .and_then(|s| self.mem.get(s..s.checked_add(buf.len())?));
            let cause =
                ReadCause::Memory(MemError::NotBacked { pa: PhysAddr(va.0 - BASE), len: buf.len() as u64 });
            buf.copy_from_slice(src.ok_or(ReadError { field, kva: va, cause })?);
            Ok(())
        }

        fn index(&self) -> Result<KallsymsIndex, Error> {
            read_index(
                &VmcoreInfo::parse(&self.info),
                &|va, buf, field| self.read(va, buf, field),
                &|_, _| None,
            )
        }

        /// The index with its tables shared from the bytes (as from a mapped dump), not read.
        fn index_shared(&self) -> Result<KallsymsIndex, Error> {
            let bytes = crate::source::bytes::Bytes::copied(&self.mem);
            let share = |va: VirtAddr, len: usize| {
                let start = usize::try_from(va.0.checked_sub(BASE)?).ok()?;
                bytes.share(start..start.checked_add(len)?)
            };
            read_index(&VmcoreInfo::parse(&self.info), &|va, buf, field| self.read(va, buf, field), &share)
        }

        /// Writes `seq` as sorted position `pos` of `kallsyms_seqs_of_names`.
        fn set_seq(&mut self, pos: usize, seq: u32) {
            let at = self.seqs + 3 * pos;
            self.mem[at..at + 3].copy_from_slice(&seq.to_be_bytes()[1..]);
        }
    }

    /// ~1100 symbols in address order (more than 256 and many [`STRIDE`]s), with duplicate
    /// names at different addresses, a name over 127 tokens long (a two-byte length) and
    /// names that share long prefixes.
    fn symbols() -> Vec<(String, u64)> {
        let mut syms =
            vec![("T_text".to_owned(), 0xffff_ffff_8100_0000), ("T_stext".to_owned(), 0xffff_ffff_8100_1000)];
        for i in 0..1100u64 {
            let name = match i % 5 {
                0 => format!("Tdo_task_{}", i * 7919 % 1000),
                1 => format!("Dscx_nr_{i}"),
                2 => format!("t{}_tail", "z".repeat(i as usize % 40)),
                3 => format!("ddup_{}", i % 3),
                _ => format!("b__s_{i:x}"),
            };
            syms.push((name, 0xffff_ffff_8100_2000 + 0x40 * i));
        }
        syms.push((format!("T{}", "long_".repeat(40)), 0xffff_ffff_8200_0000));
        syms
    }

    fn bare(n: &str) -> &str {
        &n[1..]
    }

    /// Every name, names that are absent, and names that sort before and after them all.
    fn queries(syms: &[(String, u64)]) -> Vec<String> {
        let mut q: Vec<String> = syms.iter().map(|(n, _)| bare(n).to_owned()).collect();
        q.extend(
            ["", "a", "zzzz", "do_task_", "scx_nr_1x", "dup_3", "_stex", "_stextt", "\u{7f}"]
                .map(str::to_owned),
        );
        q
    }

    /// What a lookup must answer: the lowest-index symbol of the name.
    fn expected(syms: &[(String, u64)], name: &str) -> Option<u64> {
        syms.iter().find(|(n, _)| !name.is_empty() && bare(n) == name).map(|s| s.1)
    }

    #[test]
    fn sorted_lookups_answer_what_the_scan_answers() {
        let syms = symbols();
        let index = tables(&syms).index().unwrap();
        assert!(index.sorted.is_some(), "the sorted index is found after kallsyms_offsets");
        let q = queries(&syms);
        let names: Vec<&str> = q.iter().map(String::as_str).collect();
        let want: Vec<Option<u64>> = names.iter().map(|n| expected(&syms, n)).collect();
        // One by one (the binary search) and as a batch containing "" (the scan).
        for (n, w) in names.iter().zip(&want) {
            assert_eq!(index.find(&[n])[0], *w, "{n:?}");
        }
        assert_eq!(index.scan(&names), want);
        assert_eq!(index.find(&names), want);
        assert!(!index.sorted.as_ref().unwrap().unsorted.load(Ordering::Relaxed));
        // The duplicates resolve to their first (lowest) address.
        assert_eq!(index.find(&["dup_0"])[0], Some(0xffff_ffff_8100_2000 + 0x40 * 3));
        // 1103 symbols: a lookup decodes ~log2 of them, not all.
        let decoded = index.sorted.as_ref().unwrap().seen.lock().unwrap().len();
        assert!(decoded < 40 * names.len() && decoded < syms.len(), "{decoded} names decoded");
        // Its tables shared rather than read: every table shared, the same answers.
        let shared = tables(&syms).index_shared().unwrap();
        assert!(matches!(shared.names, Region::Shared(_)) && matches!(shared.offsets, Region::Shared(_)));
        assert!(matches!(shared.sorted.as_ref().unwrap().seqs, Region::Shared(_)));
        assert!(matches!(index.names, Region::Read(_)));
        assert_eq!(shared.scan(&names), want);
        assert_eq!(shared.find(&names), want);
    }

    #[test]
    fn a_kernel_without_the_sorted_index_is_scanned() {
        let syms = symbols();
        let mut t = tables(&syms);
        // Memory ends with kallsyms_offsets: no kallsyms_seqs_of_names to read.
        t.mem.truncate(t.seqs);
        let index = t.index().unwrap();
        assert!(index.sorted.is_none());
        assert_eq!(
            index.find(&["_stext", "scx_nr_1", "nope"]),
            [Some(0xffff_ffff_8100_1000), Some(0xffff_ffff_8100_2040), None]
        );
    }

    /// Hostile `kallsyms_seqs_of_names`: each is caught (by _stext's search or a later one)
    /// and the lookups scan, answering what they would have without it.
    #[test]
    fn hostile_sorted_indexes_fall_back_to_the_scan() {
        let syms = symbols();
        let n = syms.len();
        let q = queries(&syms);
        let names: Vec<&str> = q.iter().filter(|s| !s.is_empty()).map(String::as_str).collect();
        let want: Vec<Option<u64>> = names.iter().map(|s| expected(&syms, s)).collect();
        type Spoil = Box<dyn Fn(&mut Tables)>;
        let hostile: [(&str, Spoil); 5] = [
            (
                "reversed",
                Box::new(move |t: &mut Tables| {
                    let seqs: Vec<u8> = t.mem[t.seqs..].chunks(3).rev().flatten().copied().collect();
                    t.mem[t.seqs..].copy_from_slice(&seqs);
                }),
            ),
            ("address order", Box::new(move |t: &mut Tables| (0..n).for_each(|p| t.set_seq(p, p as u32)))),
            ("all zero", Box::new(move |t: &mut Tables| (0..n).for_each(|p| t.set_seq(p, 0)))),
            ("out of range", Box::new(move |t: &mut Tables| (0..n).for_each(|p| t.set_seq(p, 0xff_ffff)))),
            ("one past the end", Box::new(move |t: &mut Tables| t.set_seq(n / 2, n as u32))),
        ];
        for (what, spoil) in hostile {
            let mut t = tables(&syms);
            spoil(&mut t);
            let index = t.index().unwrap_or_else(|e| panic!("{what}: {e}"));
            let got: Vec<Option<u64>> = names.iter().map(|s| index.find(&[s])[0]).collect();
            assert_eq!(got, want, "{what}");
            let sorted = index.sorted.as_ref();
            assert!(sorted.is_none_or(|s| s.unsorted.load(Ordering::Relaxed)), "{what}: caught");
        }
    }

    /// One swapped pair deep in the index: the search that walks into it catches it, and from
    /// then on every lookup scans.
    #[test]
    fn an_index_seen_out_of_order_later_scans_from_then_on() {
        let syms = symbols();
        let mut t = tables(&syms);
        let seq = |t: &Tables, p: usize| {
            let b = &t.mem[t.seqs + 3 * p..t.seqs + 3 * p + 3];
            u32::from_be_bytes([0, b[0], b[1], b[2]])
        };
        // The positions of two names that a search for the first one probes both of.
        let q = queries(&syms);
        let target = "scx_nr_101";
        let pos = (0..syms.len()).find(|&p| bare(&syms[seq(&t, p) as usize].0) == target).unwrap();
        let (a, b) = (seq(&t, pos), seq(&t, pos + 1));
        t.set_seq(pos, b);
        t.set_seq(pos + 1, a);
        let index = t.index().unwrap();
        assert!(index.sorted.is_some(), "_stext's search does not come near the swap");
        for name in q.iter().filter(|s| !s.is_empty()) {
            assert_eq!(index.find(&[name])[0], expected(&syms, name), "{name}");
        }
        assert!(index.sorted.as_ref().unwrap().unsorted.load(Ordering::Relaxed));
    }

    #[test]
    fn names_that_run_out_and_a_missing_stext_fail_as_before() {
        let syms = symbols();
        let mut t = tables(&syms);
        let err = |t: &Tables| t.index().err().map(|e| e.to_string());
        // More symbols than the names hold: the walk runs out (into the markers and the
        // padding before the token table) where the scan did.
        t.mem[..4].copy_from_slice(&(syms.len() as u32 + 1000).to_le_bytes());
        t.mem.resize(t.mem.len() + 4000, 0);
        let e = err(&t).unwrap();
        assert!(e.starts_with("kallsyms in guest memory: kallsyms_names ends at symbol 11"), "{e}");
        let mut no_stext = syms.clone();
        no_stext[1].0 = "T_stexu".into();
        let e = err(&tables(&no_stext)).unwrap();
        assert_eq!(
            e,
            "kallsyms in guest memory: no _stext among the decoded symbols: the tables did not decode"
        );
    }

    #[test]
    fn the_walk_notes_every_strideth_name_and_where_names_end() {
        // Entries of 1 + 3 bytes, then one with a two-byte length of 200 tokens.
        let mut names = Vec::new();
        for _ in 0..70 {
            names.extend_from_slice(&[3, b'T', b'a', b'b']);
        }
        names.extend_from_slice(&[0x80 | (200 & 0x7f), 1]);
        names.extend_from_slice(&[b'x'; 200]);
        assert_eq!(walk_names(&names, 71), Ok(vec![0, 128, 256]));
        assert_eq!(walk_names(&names, 72), Err(71));
        assert_eq!(walk_names(&names[..names.len() - 1], 71), Err(70));
        assert_eq!(walk_names(&names[..281], 71), Err(70));
        assert_eq!(walk_names(&names[..3], 1), Err(0));
    }
}
