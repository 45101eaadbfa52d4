//! Test support: a page-table builder written from the Arm ARM's descriptor tables, separate
//! from the walker's own decoding (it shares only the `Granule` enum), a counting `PhysMem`,
//! and the README's configuration matrix.
#![allow(dead_code)]

use scxray_aarch64::Granule;
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::cell::Cell;

/// How output addresses are stored (the builder's own notion, not the crate's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// 48-bit OA, bits 9:8 are SH.
    Plain,
    /// TCR.DS = 1 (4K/16K): OA[51:50] in bits 9:8, OA[49:48] in place.
    Lpa2,
    /// 64K + IPS 52: OA[51:48] in bits 15:12.
    Lpa,
}

/// One cell of the VA size x granule matrix.
#[derive(Clone, Copy, Debug)]
pub struct Cfg {
    pub granule: Granule,
    pub va_bits: u32,
    pub fmt: Fmt,
    pub pa_bits: u32,
}

impl Cfg {
    pub const fn new(granule: Granule, va_bits: u32, fmt: Fmt) -> Self {
        let pa_bits = if matches!(fmt, Fmt::Plain) { 48 } else { 52 };
        Self { granule, va_bits, fmt, pa_bits }
    }
    pub fn gshift(&self) -> u32 {
        match self.granule {
            Granule::K4 => 12,
            Granule::K16 => 14,
            Granule::K64 => 16,
        }
    }
    pub fn page(&self) -> u64 {
        1 << self.gshift()
    }
    pub fn bpl(&self) -> u32 {
        self.gshift() - 3
    }
    /// `log2` of what one entry at `level` maps.
    pub fn shift(&self, level: i8) -> u32 {
        self.gshift() + (3 - level) as u32 * self.bpl()
    }
    /// The level whose entries are the first to cover the whole VA space.
    pub fn start(&self) -> i8 {
        let mut level = 3i8;
        while self.shift(level) + self.bpl() < self.va_bits {
            level -= 1;
        }
        level
    }
    pub fn levels(&self) -> u32 {
        (4 - self.start()) as u32
    }
    /// Levels that may hold block descriptors, from the Arm ARM's tables.
    pub fn block_levels(&self) -> Vec<i8> {
        let big = !matches!(self.fmt, Fmt::Plain);
        let mut v = match self.granule {
            Granule::K4 => vec![1, 2],
            Granule::K16 | Granule::K64 => vec![2],
        };
        if big {
            v.push(if self.granule == Granule::K4 { 0 } else { 1 });
        }
        v.retain(|&l| l >= self.start());
        v
    }
    /// The lowest TTBR1 address.
    pub fn va_base(&self) -> u64 {
        if self.va_bits == 64 { 0 } else { u64::MAX << self.va_bits }
    }
    pub fn index(&self, va: u64, level: i8) -> u64 {
        let bits = if level == self.start() { self.va_bits - self.shift(level) } else { self.bpl() };
        (va >> self.shift(level)) & ((1u64 << bits) - 1)
    }
    pub fn tcr(&self) -> u64 {
        let t1sz = u64::from(64 - self.va_bits);
        let tg1: u64 = match self.granule {
            Granule::K4 => 2,
            Granule::K16 => 1,
            Granule::K64 => 3,
        };
        let ips: u64 = match self.pa_bits {
            32 => 0,
            36 => 1,
            40 => 2,
            42 => 3,
            44 => 4,
            48 => 5,
            52 => 6,
            _ => panic!("no IPS for {}", self.pa_bits),
        };
        let ds = if self.fmt == Fmt::Lpa2 { 1u64 << 59 } else { 0 };
        // Inner shareable, write-back walks, 16-bit ASIDs: what Linux sets, harmless here.
        (t1sz << 16) | (3 << 28) | (1 << 24) | (1 << 26) | (tg1 << 30) | (ips << 32) | (1 << 36) | ds
    }
}

/// The matrix the README shows: every cell gets a test in `cells.rs`.
pub const CELLS: [(&str, Cfg); 10] = [
    ("4K/39", Cfg::new(Granule::K4, 39, Fmt::Plain)),
    ("4K/48", Cfg::new(Granule::K4, 48, Fmt::Plain)),
    ("4K/52 LPA2", Cfg::new(Granule::K4, 52, Fmt::Lpa2)),
    ("16K/36", Cfg::new(Granule::K16, 36, Fmt::Plain)),
    ("16K/47", Cfg::new(Granule::K16, 47, Fmt::Plain)),
    ("16K/48", Cfg::new(Granule::K16, 48, Fmt::Plain)),
    ("16K/52 LPA2", Cfg::new(Granule::K16, 52, Fmt::Lpa2)),
    ("64K/42", Cfg::new(Granule::K64, 42, Fmt::Plain)),
    ("64K/48", Cfg::new(Granule::K64, 48, Fmt::Plain)),
    ("64K/52 LPA", Cfg::new(Granule::K64, 52, Fmt::Lpa)),
];

/// Attribute bits put on every leaf: AF, AttrIndx 4, nG, PXN, UXN, DBM, contiguous hint,
/// software bits; none of them is address.
pub const LEAF_ATTRS: u64 =
    (1 << 10) | (4 << 2) | (1 << 11) | (1 << 53) | (1 << 54) | (1 << 51) | (1 << 52) | (0xf << 55);
/// Hierarchical attributes put on every table descriptor, and ignored bits 58:51.
pub const TABLE_ATTRS: u64 = (1 << 63) | (3 << 61) | (1 << 60) | (1 << 59) | (0x7f << 52);

/// Guest memory holding page tables, at a physical base of our choosing.
pub struct Builder {
    pub cfg: Cfg,
    pub base: u64,
    pub mem: Vec<u8>,
    pub root: u64,
}

impl Builder {
    /// Tables go at `base` (page aligned); for 52-bit formats pick a base above 2^48 so that
    /// the high address bits are exercised in the TTBR and in every table descriptor.
    pub fn new(cfg: Cfg, base: u64) -> Self {
        assert_eq!(base % cfg.page(), 0);
        let mut b = Self { cfg, base, mem: Vec::new(), root: 0 };
        b.root = b.alloc();
        b
    }

    /// The default base for a configuration: bits 51:48 all set for 52-bit formats.
    pub fn default_base(cfg: &Cfg) -> u64 {
        if cfg.fmt == Fmt::Plain { 0x4000_0000 } else { 0x000f_0000_4000_0000 }
    }

    pub fn with_default_base(cfg: Cfg) -> Self {
        Self::new(cfg, Self::default_base(&cfg))
    }

    fn alloc(&mut self) -> u64 {
        let at = self.base + self.mem.len() as u64;
        self.mem.resize(self.mem.len() + self.cfg.page() as usize, 0);
        at
    }

    pub fn read(&self, pa: u64) -> u64 {
        let off = (pa - self.base) as usize;
        u64::from_le_bytes(self.mem[off..off + 8].try_into().unwrap())
    }

    pub fn write(&mut self, pa: u64, v: u64) {
        let off = (pa - self.base) as usize;
        self.mem[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Encodes an address aligned to `align` (a power of two) into descriptor bits.
    pub fn encode_addr(&self, addr: u64, align: u32) -> u64 {
        assert_eq!(addr & ((1 << align) - 1), 0, "misaligned {addr:#x}");
        assert!(addr < 1u64 << self.cfg.pa_bits.max(48), "{addr:#x} beyond the format");
        match self.cfg.fmt {
            Fmt::Plain => addr,
            Fmt::Lpa2 => (addr & 0x0003_ffff_ffff_f000) | (((addr >> 50) & 3) << 8),
            Fmt::Lpa => (addr & 0x0000_ffff_ffff_0000) | (((addr >> 48) & 0xf) << 12),
        }
    }

    pub fn table_desc(&self, table: u64) -> u64 {
        self.encode_addr(table, self.cfg.gshift()) | TABLE_ATTRS | 0b11
    }

    /// A block (level < 3) or page (level 3) descriptor.
    pub fn leaf_desc(&self, pa: u64, level: i8) -> u64 {
        let sh = if self.cfg.fmt == Fmt::Lpa2 { 0 } else { 3 << 8 };
        let ty = if level == 3 { 0b11 } else { 0b01 };
        self.encode_addr(pa, self.cfg.shift(level)) | LEAF_ATTRS | sh | ty
    }

    /// The physical address of the descriptor for `va` at `level`, creating tables above it.
    pub fn slot(&mut self, va: u64, level: i8) -> u64 {
        let mut table = self.root;
        let mut l = self.cfg.start();
        while l < level {
            let at = table + 8 * self.cfg.index(va, l);
            let d = self.read(at);
            table = if d & 0b11 == 0b11 {
                self.decode_table(d)
            } else {
                assert_eq!(d & 1, 0, "a block at level {l} is in the way of {va:#x}");
                let t = self.alloc();
                let desc = self.table_desc(t);
                self.write(at, desc);
                t
            };
            l += 1;
        }
        table + 8 * self.cfg.index(va, level)
    }

    fn decode_table(&self, d: u64) -> u64 {
        match self.cfg.fmt {
            Fmt::Plain => d & 0x0000_ffff_ffff_f000 & !(self.cfg.page() - 1),
            Fmt::Lpa2 => (d & 0x0003_ffff_ffff_f000 & !(self.cfg.page() - 1)) | (((d >> 8) & 3) << 50),
            Fmt::Lpa => (d & 0x0000_ffff_ffff_0000) | (((d >> 12) & 0xf) << 48),
        }
    }

    /// Maps `va` to `pa` with one leaf at `level` (3 = page).
    pub fn map(&mut self, va: u64, pa: u64, level: i8) {
        let at = self.slot(va, level);
        let d = self.leaf_desc(pa, level);
        self.write(at, d);
    }

    /// Writes a raw descriptor for `va` at `level`.
    pub fn set_raw(&mut self, va: u64, level: i8, desc: u64) {
        let at = self.slot(va, level);
        self.write(at, desc);
    }

    pub fn ttbr(&self) -> u64 {
        self.ttbr_with(0, false)
    }

    /// TTBR1 with an ASID and CnP, encoded as `phys_to_ttbr` does.
    pub fn ttbr_with(&self, asid: u16, cnp: bool) -> u64 {
        let base = match self.cfg.fmt {
            Fmt::Plain => self.root,
            Fmt::Lpa2 | Fmt::Lpa => (self.root & 0x0000_ffff_ffff_ffc0) | (((self.root >> 48) & 0xf) << 2),
        };
        base | (u64::from(asid) << 48) | u64::from(cnp)
    }

    pub fn tcr(&self) -> u64 {
        self.cfg.tcr()
    }

    pub fn phys(&self) -> Mem<'_> {
        Mem { base: self.base, bytes: &self.mem, reads: Cell::new(0) }
    }
}

/// Guest memory over a builder's bytes that counts descriptor reads.
pub struct Mem<'a> {
    pub base: u64,
    pub bytes: &'a [u8],
    pub reads: Cell<u32>,
}

impl PhysMem for Mem<'_> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.reads.set(self.reads.get() + 1);
        let err = MemError::NotBacked { pa, len: buf.len() as u64 };
        let off = pa.0.checked_sub(self.base).ok_or(err)?;
        let off = usize::try_from(off).map_err(|_| err)?;
        let src = self.bytes.get(off..off.checked_add(buf.len()).ok_or(err)?).ok_or(err)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl Mem<'_> {
    pub fn take_reads(&self) -> u32 {
        self.reads.replace(0)
    }
}
