//! A BPF map's key or value in guest memory, as the decoder reads it: the readers the BPF
//! walkers hand their visitors ([`scxray_core::bpf::GuestBytes`]) behind [`ValueBytes`], so a
//! value is decoded field by field from guest memory, never copied whole.

use scxray_core::bpf::GuestBytes;

use crate::value::{ReadFailed, ValueBytes};

/// A value in guest memory (an element's `value` or `key_bytes`, an arena page).
#[derive(Clone, Copy)]
pub struct GuestValue<'r>(pub &'r dyn GuestBytes);

impl core::fmt::Debug for GuestValue<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GuestValue({} bytes at {})", self.0.len(), self.0.kva())
    }
}

impl ValueBytes for GuestValue<'_> {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadFailed> {
        self.0.read_at(offset, buf).map_err(|_| ReadFailed)
    }
}
