//! Page tables written into a synthetic guest, from the architecture manuals (the logic of
//! the translator crates' test builders, which share no code with the walkers):
//!
//! - x86_64 (Intel SDM vol. 3, 4-level and 5-level paging): 512 entries of 8 bytes per
//!   4 KiB table, 9 index bits per level above the 12-bit page offset; entry bits 51:12 hold
//!   the next table or page; P (bit 0), R/W (bit 1); PS (bit 7) in a PDE makes a 2 MiB page.
//! - aarch64 (Arm ARM, VMSAv8-64 stage 1, TTBR1): a granule of 4K (9 index bits per level,
//!   4 levels for 48-bit VAs) or 64K (13 bits per level, 3 levels, the first with 6 bits for
//!   48-bit VAs and 10 for 52-bit); descriptors: bits 1:0 = 0b11 table (or page at the last
//!   level), 0b01 block; output address bits 47:granule; AF (bit 10), SH (9:8), AttrIndx (4:2).
//!   With 64K pages and FEAT_LPA (52-bit PAs) bits 51:48 of an output address go in
//!   descriptor bits 15:12.

use crate::GuestBuilder;
use crate::scheme::Paging;

/// The geometry of one configuration.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// x86_64 or aarch64 encoding.
    pub x86: bool,
    /// log2 of the page (table) size.
    pub page_shift: u32,
    /// Index bits of a full level.
    pub bits: u32,
    /// Number of levels.
    pub levels: u32,
    /// Index bits of the root level.
    pub root_bits: u32,
    /// arm64 64K FEAT_LPA format: output address bits 51:48 in descriptor bits 15:12.
    pub lpa: bool,
}

impl Geometry {
    /// The geometry of `paging` (`lpa`: the 64K 52-bit PA format).
    pub fn of(paging: Paging, lpa: bool) -> Self {
        match paging {
            Paging::X86 { levels } => {
                Self { x86: true, page_shift: 12, bits: 9, levels, root_bits: 9, lpa: false }
            }
            Paging::Aarch64 { page_size, va_bits } => {
                let page_shift = page_size.trailing_zeros();
                let bits = page_shift - 3;
                let levels = (va_bits - page_shift).div_ceil(bits);
                let root_bits = va_bits - page_shift - bits * (levels - 1);
                assert!(!lpa || page_shift == 16, "FEAT_LPA's format is for 64K pages");
                Self { x86: false, page_shift, bits, levels, root_bits, lpa }
            }
        }
    }

    /// Page (and table) size.
    pub fn page(&self) -> u64 {
        1 << self.page_shift
    }

    /// log2 of what one entry maps at `depth` levels below the root.
    pub fn shift(&self, depth: u32) -> u32 {
        self.page_shift + self.bits * (self.levels - 1 - depth)
    }

    /// `va`'s index at `depth`.
    pub fn index(&self, va: u64, depth: u32) -> u64 {
        let bits = if depth == 0 { self.root_bits } else { self.bits };
        (va >> self.shift(depth)) & ((1 << bits) - 1)
    }

    /// The block size one level above the pages (2 MiB, or 512 MiB with 64K pages).
    pub fn block(&self) -> u64 {
        1 << self.shift(self.levels - 2)
    }

    /// `pa` in descriptor bits: as is, or with bits 51:48 moved to 15:12 (FEAT_LPA).
    pub fn encode(&self, pa: u64) -> u64 {
        if self.lpa { (pa & 0x0000_ffff_ffff_0000) | (((pa >> 48) & 0xf) << 12) } else { pa }
    }

    /// x86: P and R/W; arm64: a table descriptor. The same two bits.
    fn table_entry(&self, pa: u64) -> u64 {
        self.encode(pa) | 0b11
    }

    fn leaf_entry(&self, pa: u64, depth: u32) -> u64 {
        let last = depth == self.levels - 1;
        if self.x86 {
            // P, R/W, A, D, G; PS for a large page.
            pa | 0b11 | (1 << 5) | (1 << 6) | (1 << 8) | if last { 0 } else { 1 << 7 }
        } else {
            // AF, inner shareable, AttrIndx 0 (normal memory), UXN.
            self.encode(pa) | (1 << 10) | (3 << 8) | (1 << 54) | if last { 0b11 } else { 0b01 }
        }
    }

    fn entry_addr(&self, entry: u64) -> u64 {
        if self.lpa {
            return (entry & 0x0000_ffff_ffff_0000) | (((entry >> 12) & 0xf) << 48);
        }
        let mask = if self.x86 { 0x000f_ffff_ffff_f000 } else { 0x0000_ffff_ffff_f000 };
        entry & mask & !(self.page() - 1)
    }
}

/// Page tables under construction in a guest's memory, with their frames taken from an
/// arena reserved up front (so the direct map can cover the memory the tables live in).
#[derive(Debug)]
pub struct Tables {
    /// The geometry.
    pub geo: Geometry,
    /// Physical address of the root table.
    pub root: u64,
    arena: Vec<u64>,
}

impl Tables {
    /// Tables rooted at `root` (a zeroed, page-aligned frame), with `frames` more frames
    /// reserved from the guest's allocator.
    pub fn new(b: &mut GuestBuilder, paging: Paging, lpa: bool, root: u64, frames: usize) -> Self {
        let geo = Geometry::of(paging, lpa);
        assert_eq!(root % geo.page(), 0, "root {root:#x} misaligned");
        let arena = (0..frames).map(|_| b.alloc_phys(geo.page(), geo.page())).rev().collect();
        Self { geo, root, arena }
    }

    /// Maps `va` to `pa` with one leaf at `depth` levels below the root.
    pub fn map(&mut self, b: &mut GuestBuilder, va: u64, pa: u64, depth: u32) {
        let g = self.geo;
        let size = 1u64 << g.shift(depth);
        assert_eq!(va % size, 0, "va {va:#x} misaligned for {size:#x}");
        assert_eq!(pa % size, 0, "pa {pa:#x} misaligned for {size:#x}");
        let mut table = self.root;
        for d in 0..depth {
            let at = table + 8 * g.index(va, d);
            let e = b.read_pa_u64(at);
            table = if e == 0 {
                let t = self.arena.pop().expect("page-table arena exhausted");
                b.write_pa(at, &g.table_entry(t).to_le_bytes());
                t
            } else {
                assert!(g.x86 && e & (1 << 7) == 0 || !g.x86 && e & 0b11 == 0b11, "a leaf is in the way");
                g.entry_addr(e)
            };
        }
        let at = table + 8 * g.index(va, depth);
        assert_eq!(b.read_pa_u64(at), 0, "{va:#x} mapped twice");
        b.write_pa(at, &g.leaf_entry(pa, depth).to_le_bytes());
    }

    /// Maps `[va, va + len)` to `[pa, ...)` with blocks where both are block-aligned, else
    /// pages.
    pub fn map_range(&mut self, b: &mut GuestBuilder, va: u64, pa: u64, len: u64) {
        let g = self.geo;
        let (block, page) = (g.block(), g.page());
        let mut off = 0;
        while off < len {
            let (v, p) = (va + off, pa + off);
            if v % block == 0 && p % block == 0 && len - off >= block {
                self.map(b, v, p, g.levels - 2);
                off += block;
            } else {
                self.map(b, v, p, g.levels - 1);
                off += page;
            }
        }
    }
}
