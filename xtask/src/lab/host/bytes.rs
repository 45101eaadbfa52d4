//! Little-endian integers at an offset of a byte slice, `None` past its end: the kernel images,
//! ELF files and BTF blobs the lab reads are little-endian whatever the host.

/// The `u16` at `off`.
pub fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

/// The `u32` at `off`.
pub fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

/// The `u64` at `off`.
pub fn u64_at(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

/// The `u32` at `off` as a `usize` offset or length.
pub fn usize32_at(d: &[u8], off: usize) -> Option<usize> {
    usize::try_from(u32_at(d, off)?).ok()
}

/// The `u64` at `off` as a `usize` offset or length.
pub fn usize64_at(d: &[u8], off: usize) -> Option<usize> {
    usize::try_from(u64_at(d, off)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_stops_at_the_end() {
        let d = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&d, 0), Some(0x0201));
        assert_eq!(u32_at(&d, 1), Some(0x0504_0302));
        assert_eq!(u64_at(&d, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_at(&d, 2), None);
        assert_eq!(u16_at(&d, usize::MAX), None);
    }
}
