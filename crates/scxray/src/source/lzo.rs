//! An LZO1X decompressor for kdump pages (`DUMP_DH_COMPRESSED_LZO`: makedumpfile and QEMU
//! compress each page with liblzo2's `lzo1x_1_compress`).
//!
//! Written from the bitstream description in the Linux kernel's `Documentation/staging/lzo.rst`.
//! crates.io had no fit: `lzo1x` and `rust-lzo` are GPL-2.0, and `lzokay-native` panics on
//! damaged streams (unchecked subtractions and indexing). This one checks every length and
//! distance, never writes past `out`, and fails instead.
//!
//! Instructions, after the optional first byte (18..=20: 1..3 literals; 21..: `byte - 17`
//! literals, state 4), where `state` is the number of literals the last instruction copied (4 for a
//! long literal run):
//! - `0000LLLL`, state 0: a literal run of `3 + L` bytes (L = 0: `18 + 255 * zeros + byte`);
//! - `0000DDSS`, state 1..3: a 2-byte match at distance `(H << 2) + D + 1`;
//! - `0000DDSS`, state 4: a 3-byte match at distance `(H << 2) + D + 2049`;
//! - `0001HLLL`: a match of `2 + L` (L = 0: `9 + 255 * zeros + byte`) at distance
//!   `16384 + (H << 14) + D` from the LE16 `DDDDDDDD DDDDDDSS` that follows; distance 16384
//!   ends the stream;
//! - `001LLLLL`: a match of `2 + L` (L = 0: `33 + 255 * zeros + byte`) at distance `D + 1`
//!   from the LE16 that follows;
//! - `01LDDDSS`: a match of `3 + L` at distance `(H << 3) + D + 1`;
//! - `1LLDDDSS`: a match of `5 + L` at distance `(H << 3) + D + 1`;
//!
//! and every match is followed by `S` (0..3) literals.

/// Why a stream did not decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LzoError;

struct Input<'a> {
    b: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> Result<u8, LzoError> {
        let v = *self.b.get(self.at).ok_or(LzoError)?;
        self.at += 1;
        Ok(v)
    }
    fn le16(&mut self) -> Result<usize, LzoError> {
        let lo = usize::from(self.byte()?);
        Ok(lo | usize::from(self.byte()?) << 8)
    }
    /// A length continued by zero bytes (255 each) and a final non-zero byte.
    fn long_len(&mut self, base: usize) -> Result<usize, LzoError> {
        let mut n = base;
        loop {
            let b = self.byte()?;
            if b != 0 {
                return n.checked_add(usize::from(b)).ok_or(LzoError);
            }
            n = n.checked_add(255).ok_or(LzoError)?;
        }
    }
}

struct Output<'a> {
    b: &'a mut [u8],
    len: usize,
}

impl Output<'_> {
    fn literals(&mut self, input: &mut Input<'_>, n: usize) -> Result<(), LzoError> {
        let src = input.b.get(input.at..input.at.checked_add(n).ok_or(LzoError)?).ok_or(LzoError)?;
        let end = self.len.checked_add(n).ok_or(LzoError)?;
        self.b.get_mut(self.len..end).ok_or(LzoError)?.copy_from_slice(src);
        self.len = end;
        input.at += n;
        Ok(())
    }
    /// Copies `n` bytes from `dist` back, byte by byte (the ranges may overlap).
    fn copy_match(&mut self, dist: usize, n: usize) -> Result<(), LzoError> {
        let from = self.len.checked_sub(dist).ok_or(LzoError)?;
        if dist == 0 || self.len.checked_add(n).is_none_or(|e| e > self.b.len()) {
            return Err(LzoError);
        }
        for i in 0..n {
            self.b[self.len + i] = self.b[from + i];
        }
        self.len += n;
        Ok(())
    }
}

/// Decompresses `src` into `out`; returns the bytes written. Fails on any malformed stream,
/// on output that would not fit `out`, and on a stream without its end marker.
pub fn decompress(src: &[u8], out: &mut [u8]) -> Result<usize, LzoError> {
    let mut input = Input { b: src, at: 0 };
    let mut out = Output { b: out, len: 0 };
    let mut state = 0usize;
    match src.first().copied() {
        Some(b @ 21..) => {
            input.at = 1;
            out.literals(&mut input, usize::from(b) - 17)?;
            state = 4;
        }
        Some(b @ 18..=20) => {
            input.at = 1;
            state = usize::from(b) - 17;
            out.literals(&mut input, state)?;
        }
        _ => {}
    }
    loop {
        let inst = usize::from(input.byte()?);
        let (dist, len, next);
        match inst {
            0..=15 if state == 0 => {
                let n = if inst == 0 { input.long_len(15)? } else { inst };
                out.literals(&mut input, n + 3)?;
                state = 4;
                continue;
            }
            0..=15 => {
                let h = usize::from(input.byte()?);
                next = inst & 3;
                if state == 4 {
                    (dist, len) = ((h << 2) + (inst >> 2) + 2049, 3);
                } else {
                    (dist, len) = ((h << 2) + (inst >> 2) + 1, 2);
                }
            }
            16..=31 => {
                let l = inst & 7;
                let n = if l == 0 { input.long_len(7)? } else { l };
                let v = input.le16()?;
                let d = 16384 + ((inst & 8) << 11) + (v >> 2);
                if d == 16384 {
                    return if n == 1 && input.at == src.len() { Ok(out.len) } else { Err(LzoError) };
                }
                (dist, len, next) = (d, n + 2, v & 3);
            }
            32..=63 => {
                let l = inst & 31;
                let n = if l == 0 { input.long_len(31)? } else { l };
                let v = input.le16()?;
                (dist, len, next) = ((v >> 2) + 1, n + 2, v & 3);
            }
            64..=127 => {
                let h = usize::from(input.byte()?);
                (dist, len, next) = ((h << 3) + ((inst >> 2) & 7) + 1, 3 + ((inst >> 5) & 1), inst & 3);
            }
            _ => {
                let h = usize::from(input.byte()?);
                (dist, len, next) = ((h << 3) + ((inst >> 2) & 7) + 1, 5 + ((inst >> 5) & 3), inst & 3);
            }
        }
        out.copy_match(dist, len)?;
        out.literals(&mut input, next)?;
        state = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_streams() {
        // 4 literals "abcd" (first byte 17 + 4), a 3-byte match at distance 4 (`01LDDDSS` with
        // L = 0, D = 3, S = 0, H = 0), the end marker.
        let s = [17 + 4, b'a', b'b', b'c', b'd', 0b0100_1100, 0, 0x11, 0, 0];
        let mut out = [0u8; 16];
        assert_eq!(decompress(&s, &mut out), Ok(7));
        assert_eq!(&out[..7], b"abcdabc");
        // Too small an output, a distance before the start, a missing end marker, bytes after it.
        assert_eq!(decompress(&s, &mut [0u8; 6]), Err(LzoError));
        assert_eq!(decompress(&[22, b'a', b'b', b'c', b'd', b'e', 0b0111_1100, 0], &mut out), Err(LzoError));
        assert_eq!(decompress(&s[..7], &mut out), Err(LzoError));
        let mut more = s.to_vec();
        more.push(0);
        assert_eq!(decompress(&more, &mut out), Err(LzoError));
        assert_eq!(decompress(&[], &mut out), Err(LzoError));
    }

    #[test]
    fn garbage_fails_without_panicking() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut out = vec![0u8; 4096];
        for _ in 0..if cfg!(miri) { 200 } else { 20000 } {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8 ^ i as u8).collect();
            let _ = decompress(&bytes, &mut out);
        }
    }
}
