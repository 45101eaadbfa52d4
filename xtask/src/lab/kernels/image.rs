//! A kernel's boot image: the compressed payload of an x86 bzImage (or a gzip'd arm64
//! `Image`), found by its magic and decompressed with the host's own tools.

use crate::lab::host::bytes::usize32_at;
use crate::lab::host::elf;
use crate::lab::host::system::ensure_host_tool;
use std::process::{Command, Stdio};

/// Compression formats the kernel's boot images use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
    Lz4,
    Bzip2,
    Lzma,
    Lzo,
}

impl Compression {
    /// The magic bytes each format's stream starts with.
    const MAGICS: &'static [(Compression, &'static [u8])] = &[
        (Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd]),
        (Compression::Xz, &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
        (Compression::Gzip, &[0x1f, 0x8b, 0x08]),
        (Compression::Lz4, &[0x02, 0x21, 0x4c, 0x18]),
        (Compression::Lzo, &[0x89, 0x4c, 0x5a, 0x4f]),
        (Compression::Bzip2, b"BZh"),
        (Compression::Lzma, &[0x5d, 0x00, 0x00]),
    ];

    /// The decompressing command line (reads stdin, writes stdout) and the Debian package
    /// providing it.
    fn tool(self) -> (&'static str, &'static [&'static str], &'static str) {
        match self {
            Compression::Gzip => ("gzip", &["-dc"], "gzip"),
            Compression::Xz => ("xz", &["-dc", "--single-stream"], "xz-utils"),
            Compression::Zstd => ("zstd", &["-dcq"], "zstd"),
            Compression::Lz4 => ("lz4", &["-dc"], "lz4"),
            Compression::Bzip2 => ("bzip2", &["-dc"], "bzip2"),
            Compression::Lzma => ("xz", &["--format=lzma", "-dc"], "xz-utils"),
            Compression::Lzo => ("lzop", &["-dc"], "lzop"),
        }
    }
}

/// Every offset in `data` where a compressed stream's magic starts, in file order.
fn find_payload_candidates(data: &[u8]) -> Vec<(usize, Compression)> {
    let mut out = Vec::new();
    for i in 0..data.len() {
        for (c, magic) in Compression::MAGICS {
            if data[i..].starts_with(magic) {
                out.push((i, *c));
            }
        }
    }
    out
}

/// Decompresses `data` with the system's command line tool (installed when missing). Trailing
/// bytes after the stream (the kernel appends the decompressed size) make some tools exit
/// non-zero after writing everything: the output is returned whenever it is not empty, and
/// callers validate it.
pub fn decompress(data: &[u8], c: Compression) -> Result<Vec<u8>, String> {
    let (tool, args, package) = c.tool();
    ensure_host_tool(tool, package)?;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().map_err(|e| format!("{tool}: {e}"))?;
    let _ = writer.join();
    if out.stdout.is_empty() {
        return Err(format!("{tool} produced nothing ({})", out.status));
    }
    Ok(out.stdout)
}

/// The ELF vmlinux inside an x86 bzImage. The boot header's payload fields give the stream
/// (`setup_sects` at 0x1f1, `payload_offset`/`payload_length` at 0x248/0x24c, relative to the
/// protected-mode code after the setup sectors); when they are absent or do not decompress to
/// an ELF, every compression magic in the file is tried in order.
pub fn extract_vmlinux(bz: &[u8]) -> Result<Vec<u8>, String> {
    let mut tries: Vec<(usize, Option<usize>, Compression)> = Vec::new();
    if bz.len() > 0x250 && &bz[0x202..0x206] == b"HdrS" {
        let setup = match bz[0x1f1] {
            0 => 4,
            n => usize::from(n),
        };
        let pm = (setup + 1) * 512;
        if let (Some(payload), Some(len)) = (usize32_at(bz, 0x248), usize32_at(bz, 0x24c)) {
            let off = pm + payload;
            if let Some((c, _)) =
                Compression::MAGICS.iter().find(|(_, m)| bz.get(off..).is_some_and(|s| s.starts_with(m)))
            {
                tries.push((off, Some(len), *c));
            }
        }
    }
    let attempt = |off: usize, len: Option<usize>, c: Compression| {
        let end = len.map_or(bz.len(), |l| (off + l).min(bz.len()));
        decompress(&bz[off..end], c).ok().filter(|out| elf::sections(out).is_some())
    };
    for (off, len, c) in tries {
        if let Some(out) = attempt(off, len, c) {
            return Ok(out);
        }
    }
    // No usable boot header: scan.
    for (off, c) in find_payload_candidates(bz).into_iter().take(64) {
        if let Some(out) = attempt(off, None, c) {
            return Ok(out);
        }
    }
    Err("no compressed ELF payload found in the bzImage".into())
}
