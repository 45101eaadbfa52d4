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
use scxray_core::{Field, ReadError, VirtAddr};
use std::sync::Arc;

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
pub fn read_kallsyms(info: &VmcoreInfo, read: &ReadVirt<'_>) -> Result<SymbolTable, Error> {
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
    let tokens: Vec<&[u8]> = index
        .iter()
        .map(|&o| {
            let t = table.get(o..).unwrap_or(&[]);
            &t[..t.iter().position(|&b| b == 0).unwrap_or(t.len())]
        })
        .collect();

    // kallsyms_names lies between kallsyms_num_syms and the token table.
    let names_len =
        token_table_va.checked_sub(names_va).filter(|&l| l > 0 && l <= MAX_NAMES_BYTES).ok_or_else(|| {
            bad(format!("kallsyms_names {names_va:#x} / token table {token_table_va:#x} out of order"))
        })?;
    let mut names = vec![0u8; names_len as usize];
    read(VirtAddr(names_va), &mut names, Field::KallsymsNames)
        .map_err(|e| bad(format!("kallsyms_names: {}", e.cause)))?;
    let mut offsets = vec![0u8; num as usize * 4];
    read(VirtAddr(offsets_va), &mut offsets, Field::KallsymsOffsets)
        .map_err(|e| bad(format!("kallsyms_offsets: {}", e.cause)))?;

    let offsets: Vec<i32> =
        offsets.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default())).collect();
    let tokens: Vec<Vec<u8>> = tokens.into_iter().map(<[u8]>::to_vec).collect();
    // A name's expanded length is the sum of its tokens' lengths: one table load per token
    // (a missing token expands to one byte, "?").
    let mut token_lens = [1usize; 256];
    for (l, t) in token_lens.iter_mut().zip(&tokens) {
        *l = t.len();
    }
    let mut index =
        KallsymsIndex { names, tokens, token_lens, offsets, offsets_va, num, encoding: Encoding::PcRelative };
    // Check that the tables decode (every entry in bounds) and calibrate against _stext.
    let mut stext_entry = None;
    index.for_each(&|len| len == "_stext".len(), |i, _, toks| {
        if index.is_named(toks, b"_stext") {
            stext_entry = Some(i);
        }
        true
    })?;
    let stext_idx = stext_entry
        .ok_or_else(|| bad("no _stext among the decoded symbols: the tables did not decode".into()))?;
    let stext_off = index.offsets.get(stext_idx).copied().unwrap_or(0);
    index.encoding = Encoding::calibrate(stext, stext_off, offsets_va, stext_idx)
        .ok_or_else(|| bad(format!("no known kallsyms_offsets encoding puts _stext at {stext:#x}")))?;
    Ok(SymbolTable::from_search(Arc::new(index), SymbolSource::Kallsyms))
}

/// The kernel's kallsyms tables, copied out of guest memory and searched on demand.
#[derive(Debug)]
struct KallsymsIndex {
    names: Vec<u8>,
    tokens: Vec<Vec<u8>>,
    /// `tokens[t].len()` for every token byte `t`.
    token_lens: [usize; 256],
    offsets: Vec<i32>,
    offsets_va: u64,
    num: u32,
    encoding: Encoding,
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
        let bad = |i| Error::BadInput(format!("kallsyms in guest memory: kallsyms_names ends at symbol {i}"));
        let mut p = 0usize;
        for i in 0..self.num as usize {
            let short = *self.names.get(p).ok_or_else(|| bad(i))?;
            p += 1;
            let len = if short & 0x80 != 0 {
                let hi = *self.names.get(p).ok_or_else(|| bad(i))?;
                p += 1;
                usize::from(short & 0x7f) | (usize::from(hi) << 7)
            } else {
                usize::from(short)
            };
            let toks = self.names.get(p..p + len).ok_or_else(|| bad(i))?;
            p += len;
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
}

impl SymbolSearch for KallsymsIndex {
    fn find(&self, names: &[&str]) -> Vec<Option<u64>> {
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
                    let off = self.offsets.get(i).copied().unwrap_or(0);
                    *slot = Some(self.encoding.address(self.offsets_va, i, off));
                    left -= 1;
                }
            }
            left > 0
        });
        out
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
