//! The dump as a stream: [`DumpWriter`] writes records into a fixed buffer as the walk runs
//! (the embedded side needs no buffer but its output), [`Records`] reads them back one at a
//! time.

use crate::error::WireError;
use crate::header::Header;
#[cfg(test)]
use crate::header::VERSION;
use crate::record::{Record, Trailer};
use serde::Serialize;

/// Bytes a writer keeps free for [`Record::End`]: enough for any [`Trailer`].
pub const END_RESERVE: usize = 8;

/// Writes postcard records into a fixed buffer, keeping [`END_RESERVE`] bytes for the end
/// record; once one record does not fit, the rest are counted, not written.
#[derive(Debug)]
pub struct DumpWriter<'o> {
    out: &'o mut [u8],
    pos: usize,
    dropped: u32,
}

impl<'o> DumpWriter<'o> {
    /// A writer over `out` that has written [`Header::DUMP`].
    ///
    /// # Errors
    /// [`WireError::OutputTooSmall`] when not even the header and the end record fit.
    pub fn new(out: &'o mut [u8]) -> Result<Self, WireError> {
        let mut w = Self { out, pos: 0, dropped: 0 };
        if !w.put(&Header::DUMP) {
            return Err(WireError::OutputTooSmall);
        }
        Ok(w)
    }

    fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> bool {
        let limit = self.out.len().saturating_sub(END_RESERVE);
        let Some(free) = self.out.get_mut(self.pos..limit) else { return false };
        match postcard::to_slice(value, free) {
            Ok(used) => {
                self.pos = self.pos.saturating_add(used.len());
                true
            }
            Err(_) => false,
        }
    }

    /// Writes one record (or counts it dropped).
    pub fn record(&mut self, record: &Record<'_>) {
        if self.dropped > 0 || !self.put(record) {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Writes the end record; returns the dump's length.
    pub fn finish(self) -> usize {
        let end = Record::End(Trailer { records_dropped: self.dropped });
        let Some(free) = self.out.get_mut(self.pos..) else { return self.pos };
        // END_RESERVE bytes were kept for this: it always fits.
        let used = postcard::to_slice(&end, free).map_or(0, |u| u.len());
        self.pos.saturating_add(used)
    }
}

/// The records of a dump, in order, up to and including [`Record::End`]; a record that does
/// not decode ends the stream with its error.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    len: usize,
    rest: &'a [u8],
    done: bool,
}

impl<'a> Records<'a> {
    /// The records of `dump`, its header checked first.
    ///
    /// # Errors
    /// As [`Header::take`].
    pub fn new(dump: &'a [u8]) -> Result<Self, WireError> {
        let rest = Header::take(dump, Header::DUMP)?;
        Ok(Self { len: dump.len(), rest, done: false })
    }

    /// The bytes not read yet: after the end record, whatever follows it (nothing, in a dump
    /// a writer made).
    #[must_use]
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match postcard::take_from_bytes::<Record<'a>>(self.rest) {
            Ok((record, rest)) => {
                self.rest = rest;
                self.done = matches!(record, Record::End(_));
                Some(Ok(record))
            }
            Err(cause) => {
                self.done = true;
                Some(Err(RecordError { at: self.len.saturating_sub(self.rest.len()), cause }))
            }
        }
    }
}

/// A record that does not decode (the dump is cut short or damaged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// Its offset in the dump.
    pub at: usize,
    /// What postcard found.
    pub cause: postcard::Error,
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "record at byte {}: {}", self.at, self.cause)
    }
}

impl core::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{SchedNames, Trailer};

    fn names(name: &[u8]) -> Record<'_> {
        Record::SubSchedNames(SchedNames { ops_name: Some(name), cgroup_path: None, cgroup_path_cut: false })
    }

    #[test]
    fn records_read_back_as_written_up_to_the_end_record() {
        let mut out = [0u8; 64];
        let mut w = DumpWriter::new(&mut out).unwrap();
        w.record(&Record::Shape { nr_cpus: 4, nr_nodes: 2 });
        w.record(&names(b"qmap"));
        let n = w.finish();
        // Header (4 + 1), shape (1 + 1 + 1), names (1 + 1 + 1 + 4, none, false), end (1 + 1).
        assert_eq!(n, 5 + 3 + 9 + 2);
        let records: heapless::Vec<_, 4> = Records::new(&out[..n]).unwrap().collect();
        assert_eq!(
            records,
            [
                Ok(Record::Shape { nr_cpus: 4, nr_nodes: 2 }),
                Ok(names(b"qmap")),
                Ok(Record::End(Trailer { records_dropped: 0 }))
            ]
        );
        // Whatever follows the end record is left for the reader to judge.
        let mut long = out[..n].to_vec();
        long.extend_from_slice(b"xyz");
        let mut r = Records::new(&long).unwrap();
        assert_eq!(r.by_ref().count(), 3);
        assert_eq!(r.rest(), b"xyz");
    }

    #[test]
    fn a_full_buffer_counts_what_it_drops_and_a_cut_dump_names_the_record() {
        // Room for the header, one shape and the end record only.
        let mut out = [0u8; 5 + 3 + END_RESERVE];
        let mut w = DumpWriter::new(&mut out).unwrap();
        w.record(&Record::Shape { nr_cpus: 4, nr_nodes: 2 });
        w.record(&names(b"qmap"));
        // Once one record is dropped, later ones are too, even those that would fit.
        w.record(&Record::Shape { nr_cpus: 1, nr_nodes: 1 });
        let n = w.finish();
        let last = Records::new(&out[..n]).unwrap().last();
        assert_eq!(last, Some(Ok(Record::End(Trailer { records_dropped: 2 }))));

        // The end record cut off: its error names where it starts.
        let mut r = Records::new(&out[..n - 2]).unwrap();
        assert_eq!(r.next(), Some(Ok(Record::Shape { nr_cpus: 4, nr_nodes: 2 })));
        let Some(Err(e)) = r.next() else { panic!("a cut dump decodes") };
        assert_eq!(e.at, 8);
        assert_eq!(r.next(), None);

        assert_eq!(DumpWriter::new(&mut [0u8; END_RESERVE + 4]).err(), Some(WireError::OutputTooSmall));
    }

    #[test]
    fn a_dump_reader_refuses_other_messages() {
        assert_eq!(Records::new(b"SXRQ\x04").err(), Some(WireError::Magic { found: *b"SXRQ" }));
        assert_eq!(Records::new(b"SXDP\x02").err(), Some(WireError::Version { found: 2, expected: VERSION }));
        assert_eq!(Records::new(b"SXD").err(), Some(WireError::Malformed));
    }
}
