//! The LZO1X decoder against the reference compressor: streams made by liblzo2 (through
//! Debian's python3-lzo, `tests/data/liblzo2-lzo1x.py`) with `lzo1x_1_compress`, which
//! makedumpfile and QEMU use for kdump-lzo pages, and with `lzo1x_999_compress`, which uses
//! every instruction form. Each decompresses to the generator's bytes; cut short or given too
//! small an output, each fails.

use scxray::source::lzo::decompress;

/// The generator of `liblzo2-lzo1x.py`, step for step.
fn generate(n: usize, seed: u64, literal_heavy: bool) -> Vec<u8> {
    let lcg = |s: u64| s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out: Vec<u8> = Vec::new();
    let mut s = seed;
    while out.len() < n {
        s = lcg(s);
        let kind = (s >> 60) % 5;
        let ln = ((s >> 40) % 300 + 1) as usize;
        if kind == 0 {
            out.extend(std::iter::repeat_n(0, ln));
        } else if kind == 1 {
            out.extend(std::iter::repeat_n((s >> 8) as u8, ln));
        } else if (kind == 2 || kind == 3) && !out.is_empty() && !literal_heavy {
            let d = ((s >> 20) % out.len().min(50000) as u64 + 1) as usize;
            for _ in 0..ln {
                out.push(out[out.len() - d]);
            }
        } else {
            let mut t = s;
            for _ in 0..if literal_heavy { ln } else { ln % 40 + 1 } {
                t = lcg(t);
                out.push((t >> 56) as u8);
            }
        }
    }
    out.truncate(n);
    out
}

#[test]
fn liblzo2_streams_decompress_exactly() {
    let data = include_bytes!("data/liblzo2-lzo1x.bin");
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let mut at = 0;
    let mut cases = 0;
    while at < data.len() {
        let (n, seed, lit, level, clen) = (
            u32_at(at) as usize,
            u32_at(at + 4),
            u32_at(at + 8) != 0,
            u32_at(at + 12),
            u32_at(at + 16) as usize,
        );
        let stream = &data[at + 20..at + 20 + clen];
        at += 20 + clen;
        let want = generate(n, u64::from(seed), lit);
        let mut out = vec![0u8; n];
        assert_eq!(decompress(stream, &mut out), Ok(n), "seed {seed} level {level}");
        assert!(out == want, "seed {seed} level {level}: bytes differ");
        // One byte less room, or the stream cut anywhere: an error.
        assert!(decompress(stream, &mut vec![0u8; n - 1]).is_err());
        for cut in (0..clen).step_by(clen / 64 + 1) {
            assert!(decompress(&stream[..cut], &mut out).is_err(), "seed {seed} level {level} cut {cut}");
        }
        cases += 1;
    }
    assert_eq!(cases, 10);
}
