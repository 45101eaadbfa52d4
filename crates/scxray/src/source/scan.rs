//! Searching a source's bytes for a needle (VMCOREINFO's text in a dump without the note),
//! whole or as it arrives in chunks.

/// Finds every occurrence of `needle` in `hay`, at most `max`.
pub(super) fn find_all(hay: &[u8], needle: &[u8], max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    // SIMD substring search (a 512 MiB guest in tens of milliseconds); overlapping hits count.
    let finder = memchr::memmem::Finder::new(needle);
    let mut i = 0;
    while out.len() < max {
        let Some(p) = hay.get(i..).and_then(|h| finder.find(h)) else { break };
        out.push(i + p);
        i += p + 1;
    }
    out
}

/// Finds `needle` in memory that arrives in chunks: a hit may straddle two chunks that follow
/// each other in guest-physical memory, so the last `needle.len() - 1` bytes of each chunk are
/// kept for the next.
#[derive(Debug)]
pub(super) struct ChunkScan<'n> {
    needle: &'n [u8],
    max: usize,
    carry: Vec<u8>,
    /// The address just past the carried bytes.
    carry_end: Option<u64>,
    hits: Vec<u64>,
}

impl<'n> ChunkScan<'n> {
    pub(super) fn new(needle: &'n [u8], max: usize) -> Self {
        Self { needle, max, carry: Vec::new(), carry_end: None, hits: Vec::new() }
    }

    /// Searches the bytes at `pa`; `false` once `max` hits are found.
    pub(super) fn feed(&mut self, pa: u64, chunk: &[u8]) -> bool {
        if self.carry_end != Some(pa) {
            self.carry.clear();
        }
        let base = pa.wrapping_sub(self.carry.len() as u64);
        self.carry.extend_from_slice(chunk);
        let left = self.max.saturating_sub(self.hits.len());
        self.hits.extend(
            find_all(&self.carry, self.needle, left).into_iter().map(|o| base.wrapping_add(o as u64)),
        );
        let cut = self.carry.len().saturating_sub(self.needle.len().saturating_sub(1));
        self.carry.drain(..cut);
        self.carry_end = Some(pa.wrapping_add(chunk.len() as u64));
        self.hits.len() < self.max
    }

    /// Memory that could not be read: no hit straddles it.
    pub(super) fn gap(&mut self) {
        self.carry.clear();
        self.carry_end = None;
    }

    /// The hits found so far, taken (a caller that stops at the first good one).
    pub(super) fn take_hits(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.hits)
    }

    /// The hits, in the order found.
    pub(super) fn finish(self) -> Vec<u64> {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_scan_finds_hits_across_chunks_but_not_across_gaps() {
        let mut s = ChunkScan::new(b"OSRELEASE=", 8);
        assert!(s.feed(0x1000, b"......OSREL"));
        assert!(s.feed(0x100b, b"EASE=7.3 OSRELEASE=x"));
        assert!(s.feed(0x2000, b"OSRE"));
        s.gap();
        assert!(s.feed(0x2004, b"LEASE="));
        // Not contiguous with what came before: no straddling hit.
        assert!(s.feed(0x3000, b"ASE=OSRELEASE="));
        assert_eq!(s.finish(), vec![0x1006, 0x1014, 0x3004]);
        let mut s = ChunkScan::new(b"ab", 2);
        assert!(!s.feed(0, b"ab ab"));
        assert_eq!(s.finish(), vec![0, 3]);
    }
}
