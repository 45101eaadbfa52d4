//! The first bytes of every message: a magic that names the kind of message and the version
//! of the format, checked before anything else is read.
//!
//! Versions: 1 had no sub-schedulers and no DSQ owner; 2 no scheduler names beyond the root's
//! `ops.name`; 3 fixed caps only (no `Cap`, no `WalkCap` in the walk ends, no `nr_threads` or
//! `rhashtable.nelems`); 4 caps sized from the kernel's counts.

use crate::error::WireError;
use serde::{Deserialize, Serialize};

/// The wire format version this crate reads and writes.
pub const VERSION: u16 = 4;
/// Magic of a request.
pub const REQUEST_MAGIC: [u8; 4] = *b"SXRQ";
/// Magic of a dump.
pub const DUMP_MAGIC: [u8; 4] = *b"SXDP";

/// The first thing in every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`REQUEST_MAGIC`] or [`DUMP_MAGIC`].
    pub magic: [u8; 4],
    /// [`VERSION`].
    pub version: u16,
}

impl Header {
    /// The header of a request of this version.
    pub const REQUEST: Self = Self { magic: REQUEST_MAGIC, version: VERSION };
    /// The header of a dump of this version.
    pub const DUMP: Self = Self { magic: DUMP_MAGIC, version: VERSION };

    /// Whether `self` is `expected`: the magic first (another message), then the version.
    ///
    /// # Errors
    /// [`WireError::Magic`] or [`WireError::Version`].
    pub fn check(self, expected: Self) -> Result<(), WireError> {
        if self.magic != expected.magic {
            Err(WireError::Magic { found: self.magic })
        } else if self.version != expected.version {
            Err(WireError::Version { found: self.version, expected: expected.version })
        } else {
            Ok(())
        }
    }

    /// Reads the header of `message`, checks it is `expected` and returns the body after it.
    /// The magic is compared on the raw bytes first: four bytes of another kind of message
    /// are named as such even when what follows them is no header.
    ///
    /// # Errors
    /// [`WireError::Magic`], [`WireError::Version`], or [`WireError::Malformed`] for a
    /// message too short for a header.
    pub fn take(message: &[u8], expected: Self) -> Result<&[u8], WireError> {
        if let Some(magic) = message.get(..4).and_then(|m| <[u8; 4]>::try_from(m).ok())
            && magic != expected.magic
        {
            return Err(WireError::Magic { found: magic });
        }
        let (header, body) = postcard::take_from_bytes::<Self>(message).map_err(|_| WireError::Malformed)?;
        header.check(expected)?;
        Ok(body)
    }
}
