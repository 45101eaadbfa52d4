//! The sample stream: a running guest's [`Sample`]s as a byte stream a VMM's monitor writes
//! without the host crate (to a socket, a pipe, a log) and the host reads back. Each frame is
//! postcard in COBS (zero bytes only between frames, so a reader that joins mid-stream or loses
//! bytes finds the next frame at the next zero); the first frame is [`Header::SAMPLES`], every
//! later one a [`Sample`]. A sample's containers encode with their lengths, so the reader may
//! use other capacities than the writer (larger ones always read it).

use crate::error::WireError;
use crate::header::Header;
use scxray_core::Sample;

/// Magic of a sample stream.
pub const SAMPLES_MAGIC: [u8; 4] = *b"SXSM";

/// The version of the sample stream this crate reads and writes (1: the first).
pub const SAMPLES_VERSION: u16 = 1;

impl Header {
    /// The header of a sample stream of this version.
    pub const SAMPLES: Self = Self { magic: SAMPLES_MAGIC, version: SAMPLES_VERSION };
}

/// Writes the stream's first frame into `out`; returns its length.
///
/// # Errors
/// [`WireError::OutputTooSmall`] when it does not fit.
pub fn encode_samples_header(out: &mut [u8]) -> Result<usize, WireError> {
    postcard::to_slice_cobs(&Header::SAMPLES, out).map(|f| f.len()).map_err(|_| WireError::OutputTooSmall)
}

/// Writes one sample as a frame into `out`; returns its length.
///
/// # Errors
/// [`WireError::OutputTooSmall`] when it does not fit.
pub fn encode_sample<const C: usize, const D: usize, const E: usize, const W: usize>(
    sample: &Sample<C, D, E, W>,
    out: &mut [u8],
) -> Result<usize, WireError> {
    postcard::to_slice_cobs(sample, out).map(|f| f.len()).map_err(|_| WireError::OutputTooSmall)
}

/// Reads a sample stream in place (COBS decodes into the bytes it reads).
#[derive(Debug)]
pub struct SampleReader<'a> {
    rest: &'a mut [u8],
}

impl<'a> SampleReader<'a> {
    /// A reader of `stream`, whose first frame (the header) is checked.
    ///
    /// # Errors
    /// [`WireError::Magic`] or [`WireError::Version`] for another stream,
    /// [`WireError::Malformed`] when the first frame does not decode.
    pub fn new(stream: &'a mut [u8]) -> Result<Self, WireError> {
        let mut r = Self { rest: stream };
        let frame = r.next_frame().ok_or(WireError::Malformed)?;
        let header: Header = postcard::from_bytes_cobs(frame).map_err(|_| WireError::Malformed)?;
        header.check(Header::SAMPLES)?;
        Ok(r)
    }

    /// The next frame, up to and including its closing zero (`None` at the end of the
    /// stream, or before a frame cut short).
    fn next_frame(&mut self) -> Option<&'a mut [u8]> {
        let rest = core::mem::take(&mut self.rest);
        let end = rest.iter().position(|&b| b == 0)?.checked_add(1)?;
        let (frame, tail) = rest.split_at_mut_checked(end)?;
        self.rest = tail;
        Some(frame)
    }

    /// The next sample: `None` at the end of the stream, an error for a frame that does not
    /// decode (the reader goes on with the frame after it).
    pub fn next_sample<const C: usize, const D: usize, const E: usize, const W: usize>(
        &mut self,
    ) -> Option<Result<Sample<C, D, E, W>, WireError>> {
        let frame = self.next_frame()?;
        Some(postcard::from_bytes_cobs(frame).map_err(|_| WireError::Malformed))
    }
}
