"""Test vectors for scxray's LZO1X decoder (crates/scxray/src/source/lzo.rs), made with the
reference liblzo2 through Debian's python3-lzo: `/usr/bin/python3 liblzo2-lzo1x.py out.bin`.
Each record: little-endian u32 length, seed, literal_heavy, level (1: lzo1x_1_compress, as
makedumpfile and QEMU use; 9: lzo1x_999_compress), compressed length, then the raw LZO1X
stream. The input is gen(length, seed, literal_heavy), which the Rust test reproduces."""
import lzo, struct, sys
M = 2**64
def gen(n, seed, literal_heavy=False):
    out = bytearray()
    s = seed
    while len(out) < n:
        s = (s * 6364136223846793005 + 1442695040888963407) % M
        kind = (s >> 60) % 5
        ln = ((s >> 40) % 300) + 1
        if kind == 0:
            out += bytes(ln)
        elif kind == 1:
            out += bytes([(s >> 8) & 0xff]) * ln
        elif kind in (2, 3) and len(out) > 0 and not literal_heavy:
            d = ((s >> 20) % min(len(out), 50000)) + 1
            for _ in range(ln):
                out.append(out[-d])
        else:
            t = s
            for _ in range(ln if literal_heavy else ln % 40 + 1):
                t = (t * 6364136223846793005 + 1442695040888963407) % M
                out.append((t >> 56) & 0xff)
    return bytes(out[:n])
cases = [(4096, 1, False), (4096, 2, False), (4096, 3, True), (65536, 4, False), (65536, 5, True)]
blob = bytearray()
for n, seed, lit in cases:
    data = gen(n, seed, lit)
    for level in (1, 9):
        c = lzo.compress(data, level, False)
        assert lzo.decompress(c, False, n) == data
        blob += struct.pack('<IIIII', n, seed, int(lit), level, len(c)) + c
        print(n, seed, lit, level, len(c), file=sys.stderr)
open(sys.argv[1], 'wb').write(blob)
