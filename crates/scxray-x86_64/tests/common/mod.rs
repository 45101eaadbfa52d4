//! Test support shared by the integration tests: an independent page-table builder written
//! from the Intel SDM tables (it shares no code with the walker and encodes entries with the
//! `x86_64` crate's `PageTableEntry`), a read-counting `PhysMem`, and the reference answer
//! for a set of mappings.

#![allow(dead_code)] // Each test crate uses its own subset.

use scxray_core::{MemError, PhysAddr, PhysMem};
use std::cell::Cell;
use x86_64::structures::paging::PageTableFlags;
use x86_64::structures::paging::page_table::PageTableEntry;

pub const KIB4: u64 = 1 << 12;
pub const MIB2: u64 = 1 << 21;
pub const GIB1: u64 = 1 << 30;

/// Flags of the intermediate entries the builder creates.
pub const TABLE_FLAGS: PageTableFlags = PageTableFlags::PRESENT.union(PageTableFlags::WRITABLE);

/// The raw 64-bit value of an entry pointing at `pa` with `flags`, encoded by the `x86_64`
/// crate (its address mask is bits 12..51, its flags every other bit).
pub fn encode(pa: u64, flags: PageTableFlags) -> u64 {
    let mut entry = PageTableEntry::new();
    entry.set_addr(x86_64::PhysAddr::new(pa), flags);
    raw(&entry)
}

/// The 64 bits of an `x86_64` crate entry, whatever the host's byte order.
pub fn raw(entry: &PageTableEntry) -> u64 {
    entry.addr().as_u64() | entry.flags().bits()
}

/// Sign-extends a virtual address from bit `sign_bit` (47 for 4-level, 56 for 5-level).
pub fn canonical(va: u64, sign_bit: u32) -> u64 {
    let shift = 63 - sign_bit;
    (((va << shift) as i64) >> shift) as u64
}

/// One mapping the tests asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub va: u64,
    pub pa: u64,
    pub size: u64,
}

impl Mapped {
    pub fn covers(&self, va: u64) -> bool {
        va.wrapping_sub(self.va) < self.size
    }
}

/// The reference translation: what `va` maps to according to the list of mappings.
pub fn expected(mappings: &[Mapped], va: u64) -> Option<u64> {
    mappings.iter().find(|m| m.covers(va)).map(|m| m.pa + (va - m.va))
}

/// Why the builder refused a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// A larger page already covers part of the range.
    UnderLargePage,
    /// The slot is taken (by a page or by a table a large page would hide).
    SlotTaken,
    /// Out of table frames.
    Full,
}

/// Page tables for `levels` (4 or 5) levels in an arena of 4 KiB tables at physical
/// `base`, table 0 the root. Written from the SDM: 9 index bits per level above the 12-bit
/// page offset; PS (bit 7) in a PDPTE/PDE for a 1 GiB/2 MiB page.
pub struct Builder {
    pub levels: u32,
    pub base: u64,
    pub tables: Vec<[u64; 512]>,
    pub max_tables: usize,
    pub mappings: Vec<Mapped>,
}

impl Builder {
    pub fn new(levels: u32, base: u64, max_tables: usize) -> Self {
        assert!(levels == 4 || levels == 5);
        assert_eq!(base % KIB4, 0);
        Self { levels, base, tables: vec![[0; 512]], max_tables, mappings: Vec::new() }
    }

    pub fn root(&self) -> u64 {
        self.base
    }

    pub fn table_pa(&self, index: usize) -> u64 {
        self.base + index as u64 * KIB4
    }

    fn table_index(&self, pa: u64) -> usize {
        ((pa - self.base) / KIB4) as usize
    }

    /// Index bits of `va` for the table `depth` levels below the root.
    pub fn index(&self, va: u64, depth: u32) -> usize {
        let shift = 12 + 9 * (self.levels - 1 - depth);
        ((va >> shift) & 511) as usize
    }

    /// How many levels below the root a leaf of `size` sits.
    fn leaf_depth(&self, size: u64) -> u32 {
        match size {
            KIB4 => self.levels - 1,
            MIB2 => self.levels - 2,
            GIB1 => self.levels - 3,
            _ => panic!("no such page size {size:#x}"),
        }
    }

    /// Maps the page of `size` at `va` (aligned) to `pa` (aligned) with `leaf_flags`
    /// (PRESENT is up to the caller; PS is added for large pages).
    pub fn map(&mut self, va: u64, pa: u64, size: u64, leaf_flags: PageTableFlags) -> Result<(), Conflict> {
        assert_eq!(va % size, 0, "va {va:#x}");
        assert_eq!(pa % size, 0, "pa {pa:#x}");
        let leaf_depth = self.leaf_depth(size);
        let mut table = 0usize;
        for depth in 0..leaf_depth {
            let i = self.index(va, depth);
            let entry = self.tables[table][i];
            if entry == 0 {
                if self.tables.len() >= self.max_tables {
                    return Err(Conflict::Full);
                }
                self.tables.push([0; 512]);
                let next = self.tables.len() - 1;
                self.tables[table][i] = encode(self.table_pa(next), TABLE_FLAGS);
                table = next;
            } else if entry & PageTableFlags::HUGE_PAGE.bits() != 0 {
                return Err(Conflict::UnderLargePage);
            } else {
                table = self.table_index(entry & 0x000f_ffff_ffff_f000);
            }
        }
        let i = self.index(va, leaf_depth);
        if self.tables[table][i] != 0 {
            return Err(Conflict::SlotTaken);
        }
        let flags = if size == KIB4 { leaf_flags } else { leaf_flags | PageTableFlags::HUGE_PAGE };
        self.tables[table][i] = encode(pa, flags);
        self.mappings.push(Mapped { va, pa, size });
        Ok(())
    }

    /// The physical address of `va`'s entry `depth` levels below the root, if the tables
    /// reach that far.
    pub fn entry_pa(&self, va: u64, depth: u32) -> Option<u64> {
        let mut table = 0usize;
        for d in 0..depth {
            let entry = self.tables[table][self.index(va, d)];
            if entry & 1 == 0 || entry & PageTableFlags::HUGE_PAGE.bits() != 0 {
                return None;
            }
            table = self.table_index(entry & 0x000f_ffff_ffff_f000);
        }
        Some(self.table_pa(table) + self.index(va, depth) as u64 * 8)
    }

    /// Rewrites the entry at physical `pa` (from [`Builder::entry_pa`]).
    pub fn set_entry(&mut self, pa: u64, value: u64) {
        let t = self.table_index(pa);
        self.tables[t][((pa % KIB4) / 8) as usize] = value;
    }

    pub fn entry(&self, pa: u64) -> u64 {
        self.tables[self.table_index(pa)][((pa % KIB4) / 8) as usize]
    }

    /// Guest memory holding the tables, little-endian.
    pub fn image(&self) -> Vec<u8> {
        tables_to_bytes(self.tables.iter().flatten().copied())
    }
}

pub fn tables_to_bytes(entries: impl Iterator<Item = u64>) -> Vec<u8> {
    entries.flat_map(u64::to_le_bytes).collect()
}

/// Counts reads, to check how many entries a walk touches.
pub struct CountingMem<M> {
    pub inner: M,
    pub reads: Cell<usize>,
}

impl<M> CountingMem<M> {
    pub fn new(inner: M) -> Self {
        Self { inner, reads: Cell::new(0) }
    }

    pub fn take(&self) -> usize {
        self.reads.replace(0)
    }
}

impl<M: PhysMem> PhysMem for CountingMem<M> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.read(pa, buf)
    }
}

/// A small deterministic generator, so the oracle tests are reproducible without proptest.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
