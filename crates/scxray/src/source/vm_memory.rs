//! rust-vmm's `vm-memory` as a [`PhysMem`] (crate feature `vm-memory`), so a VMM built on it
//! (Firecracker, Cloud Hypervisor, crosvm-style VMMs) hands its guest memory to scxray's
//! walkers directly, with no dump in between:
//!
//! ```ignore
//! let mem = scxray::source::vm_memory::VmMemory(&*guest_memory.memory());
//! let guest = scxray_core::Guest::new(&mem, &translator, &layout, symbols);
//! ```
//!
//! A read must lie wholly in guest memory: one that touches a hole fails as
//! [`MemError::NotBacked`] before anything is copied; a region that fails to deliver bytes
//! (an I/O error of a file-backed region) is [`MemError::Unavailable`].

use scxray_core::{MemError, PhysAddr, PhysMem};
use vm_memory::{
    Bytes, GuestAddress, GuestMemory, GuestMemoryBackend, GuestMemoryError, GuestMemoryRegion, Permissions,
};

/// Guest memory of a `vm-memory` VMM, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct VmMemory<'a, M: ?Sized>(pub &'a M);

impl<M: GuestMemory + ?Sized> VmMemory<'_, M> {
    /// Every region of the underlying physical memory as `(guest-physical start, length)`
    /// (empty behind an IOMMU that exposes none).
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.0
            .physical_memory()
            .map_or_else(Vec::new, |m| m.iter().map(|r| (r.start_addr().0, r.len())).collect())
    }

    /// The end of the highest region.
    pub fn phys_end(&self) -> u64 {
        self.ranges().iter().map(|(s, l)| s.saturating_add(*l)).max().unwrap_or(0)
    }
}

impl<M: GuestMemory + ?Sized> PhysMem for VmMemory<'_, M> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        let len = buf.len() as u64;
        let not_backed = MemError::NotBacked { pa, len };
        if buf.is_empty() {
            return Ok(());
        }
        if pa.checked_add(len).is_none()
            || !self.0.check_range(GuestAddress(pa.0), buf.len(), Permissions::Read)
        {
            return Err(not_backed);
        }
        self.0.read_slice(buf, GuestAddress(pa.0)).map_err(|e| match e {
            GuestMemoryError::InvalidGuestAddress(_)
            | GuestMemoryError::PartialBuffer { .. }
            | GuestMemoryError::GuestAddressOverflow => not_backed,
            _ => MemError::Unavailable { pa },
        })
    }
}
