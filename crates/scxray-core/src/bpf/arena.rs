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
