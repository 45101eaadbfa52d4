//! Where a BPF arena's pages are in the kernel's address space (see `README.md`, "ARENA").
//!
//! The kernel maps the arena in a `4 GiB + GUARD_SZ` vmalloc area and keeps only the low 32
//! bits of an arena address: user address `u` is at `kern_vm_start + (u32)u`, where
//! `kern_vm_start = kern_vm->addr + GUARD_SZ / 2`. An arena never crosses a 4 GiB boundary of
//! user addresses, so its pages are contiguous in the kernel mapping.

use crate::addr::VirtAddr;

/// `GUARD_SZ`: the reach of a BPF instruction's 16-bit offset, rounded up to two pages.
#[must_use]
pub fn guard_size(page_size: u64) -> Option<u64> {
    let two_pages = page_size.checked_mul(2)?;
    (1u64 << 16).checked_next_multiple_of(two_pages)
}

/// One arena's addresses, from its `struct bpf_arena`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaGeometry {
    /// `kern_vm->addr + GUARD_SZ / 2`.
    pub kern_vm_start: VirtAddr,
    /// `bpf_arena.user_vm_start`: the user address of page 0.
    pub user_vm_start: u64,
    /// Pages (`bpf_map.max_entries`).
    pub pages: u32,
    /// The kernel's page size.
    pub page_size: u64,
}

impl ArenaGeometry {
    /// The geometry of an arena whose `kern_vm->addr` is `vm_addr`; `None` when the numbers
    /// cannot be the kernel's: no pages, a range past 4 GiB or across a 4 GiB boundary, an
    /// address overflow.
    #[must_use]
    pub fn new(vm_addr: VirtAddr, user_vm_start: u64, pages: u32, page_size: u64) -> Option<Self> {
        let guard = guard_size(page_size)?;
        let kern_vm_start = VirtAddr(vm_addr.0.checked_add(guard.checked_div(2)?)?);
        let len = u64::from(pages).checked_mul(page_size)?;
        let last = user_vm_start.checked_add(len.checked_sub(1)?)?;
        if len > 1 << 32 || user_vm_start >> 32 != last >> 32 {
            return None;
        }
        kern_vm_start.0.checked_add(1 << 32)?;
        Some(Self { kern_vm_start, user_vm_start, pages, page_size })
    }

    /// The user address one past the arena (`bpf_arena.user_vm_end`).
    #[must_use]
    pub fn user_vm_end(&self) -> u64 {
        // Checked in `new`.
        self.user_vm_start.saturating_add(u64::from(self.pages).saturating_mul(self.page_size))
    }

    /// The page of user address `uaddr` and the offset in it, `None` outside the arena.
    #[must_use]
    pub fn page_of(&self, uaddr: u64) -> Option<(u32, u64)> {
        if uaddr < self.user_vm_start || uaddr >= self.user_vm_end() {
            return None;
        }
        let off = uaddr.checked_sub(self.user_vm_start)?;
        let page = u32::try_from(off.checked_div(self.page_size)?).ok()?;
        Some((page, off.checked_rem(self.page_size)?))
    }

    /// The kernel address of user address `uaddr`, `None` outside the arena.
    #[must_use]
    pub fn kaddr(&self, uaddr: u64) -> Option<VirtAddr> {
        self.page_of(uaddr)?;
        let low32 = uaddr & 0xffff_ffff;
        self.kern_vm_start.0.checked_add(low32).map(VirtAddr)
    }

    /// Pages from `page` (at least 1, at most `to - page`) that one page-table entry not
    /// present at `level` (0 = the leaf level) leaves unmapped: the entry covers `page_size *
    /// (page_size / 8)^level` bytes of kernel addresses, aligned, the same on x86-64 and
    /// AArch64. The kernel addresses of an arena's pages are contiguous (the low 32 bits of
    /// user addresses that [`ArenaGeometry::new`] keeps inside one 4-GiB block, as the kernel
    /// does), so the run is one range. `None` for a page past the arena.
    #[must_use]
    pub fn unmapped_run(&self, page: u32, level: u8, to: u32) -> Option<u32> {
        let kaddr = self.page_kaddr(page)?.0;
        let entries = self.page_size.checked_div(8)?;
        let covered = entries
            .checked_pow(u32::from(level))
            .and_then(|n| n.checked_mul(self.page_size))
            .unwrap_or(u64::MAX);
        let in_entry = covered.saturating_sub(kaddr.checked_rem(covered)?);
        let pages = in_entry.checked_div(self.page_size)?;
        let left = u64::from(to.saturating_sub(page));
        u32::try_from(pages.min(left).max(1)).ok()
    }

    /// The kernel address of page `page`, `None` past the arena.
    #[must_use]
    pub fn page_kaddr(&self, page: u32) -> Option<VirtAddr> {
        if page >= self.pages {
            return None;
        }
        self.kaddr(self.user_vm_start.checked_add(u64::from(page).checked_mul(self.page_size)?)?)
    }

    /// The user address of kernel address `kaddr` (a pointer the kernel handed around, e.g.
    /// `scx_sched.arena_kern_base` arithmetic), `None` outside the arena.
    #[must_use]
    pub fn uaddr(&self, kaddr: VirtAddr) -> Option<u64> {
        let low32 = kaddr.0.checked_sub(self.kern_vm_start.0)?;
        if low32 >= 1 << 32 {
            return None;
        }
        let uaddr = (self.user_vm_start & !0xffff_ffff) | low32;
        self.page_of(uaddr).map(|_| uaddr)
    }

    /// Where libbpf put the arena globals (`.addr_space.1`, `size` bytes) when the kernel
    /// supports it, as every lab kernel does: at the arena's end, page-aligned. The other
    /// candidate is page 0. `None` when they cannot fit.
    #[must_use]
    pub fn globals_at_end(&self, size: u64) -> Option<u64> {
        let rounded = size.checked_next_multiple_of(self.page_size)?;
        let len = u64::from(self.pages).checked_mul(self.page_size)?;
        let off = len.checked_sub(rounded)?;
        self.user_vm_start.checked_add(off)
    }
}

#[cfg(test)]
mod tests {
    use super::ArenaGeometry;
    use crate::addr::VirtAddr;

    const PAGE: u64 = 4096;

    /// A 4-GiB arena whose kernel mapping starts on a 1-GiB boundary (past its guard).
    fn arena(user_vm_start: u64) -> ArenaGeometry {
        let vm_addr = 0xffa0_0000_4000_0000 - 0x8000;
        ArenaGeometry::new(VirtAddr(vm_addr), user_vm_start, 1 << 20, PAGE).unwrap()
    }

    #[test]
    fn an_arena_never_crosses_a_4_gib_block_of_user_addresses() {
        let start = (1 << 44) + (1 << 32) - (1 << 20);
        assert_eq!(ArenaGeometry::new(VirtAddr(0xffa0_0000_0000_0000), start, 1 << 20, PAGE), None);
    }

    #[test]
    fn an_absent_entry_leaves_the_pages_it_covers_unmapped_up_to_its_end() {
        let a = arena(1 << 44);
        // A leaf entry: one page.
        assert_eq!(a.unmapped_run(7, 0, 1 << 20), Some(1));
        // A 2-MiB entry from page 7: the 505 pages to its end.
        assert_eq!(a.unmapped_run(7, 1, 1 << 20), Some(505));
        // A 1-GiB entry from page 0, bounded by where the caller stops.
        assert_eq!(a.unmapped_run(0, 2, 1 << 20), Some(1 << 18));
        assert_eq!(a.unmapped_run(0, 2, 100), Some(100));
        // A level no table has: the rest of the arena, never zero pages, never past it.
        assert_eq!(a.unmapped_run(5, 200, 1 << 20), Some((1 << 20) - 5));
        assert_eq!(a.unmapped_run(1 << 20, 1, 1 << 20), None);
    }
}
