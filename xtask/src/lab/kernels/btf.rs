//! A kernel's BTF found in an image without symbols, by the blob's own header.

use crate::lab::host::bytes::usize32_at;

/// Finds a kernel BTF blob by its header (magic 0xeb9f, version 1, 24-byte header, type
/// section at 0, string section right after it, strings starting and ending with NUL) and
/// returns (offset, total length) of the largest one. Works on images without symbols, where
/// `__start_BTF`/`__stop_BTF` cannot be looked up.
pub fn find_btf_blob(data: &[u8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for i in 0..data.len().saturating_sub(23) {
        if let Some(total) = blob_at(data, i)
            && best.is_none_or(|(_, l)| total > l)
        {
            best = Some((i, total));
        }
    }
    best
}

/// The total length of the kernel BTF blob whose header starts at `i`, if one does.
fn blob_at(data: &[u8], i: usize) -> Option<usize> {
    let at = |o: usize| usize32_at(data, i.checked_add(o)?);
    if !data.get(i..)?.starts_with(&[0x9f, 0xeb, 1]) || at(4)? != 24 {
        return None;
    }
    let (type_off, type_len, str_off, str_len) = (at(8)?, at(12)?, at(16)?, at(20)?);
    let total = 24usize.checked_add(str_off)?.checked_add(str_len)?;
    let end = i.checked_add(total)?;
    let ok = type_off == 0
        && str_off == type_len
        && type_len >= 1024
        && str_len >= 1024
        && end <= data.len()
        && data.get(i + 24 + str_off) == Some(&0)
        && data.get(end - 1) == Some(&0);
    ok.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF header and sections: `types` bytes of types, `strings` bytes of NUL-framed strings.
    fn blob(types: u32, strings: u32) -> Vec<u8> {
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for v in [24, 0, types, types, strings] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.resize(24 + types as usize, 7);
        b.extend(std::iter::repeat_n(0u8, strings as usize));
        b
    }

    #[test]
    fn finds_the_largest_blob() {
        let mut image = vec![1u8; 100];
        image.extend(blob(1024, 1024));
        let big = image.len();
        image.extend(blob(2048, 1024));
        image.extend([5u8; 10]);
        assert_eq!(find_btf_blob(&image), Some((big, 24 + 2048 + 1024)));
        // Too small to be a kernel's: not taken.
        assert_eq!(find_btf_blob(&blob(16, 16)), None);
        // Cut short: not taken.
        let mut cut = blob(1024, 1024);
        cut.pop();
        assert_eq!(find_btf_blob(&cut), None);
    }
}
