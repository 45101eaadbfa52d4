//! Why a message could not be read or written.

/// Why a message could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// Not the message expected (or not a message at all).
    Magic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A version this build does not read.
    Version {
        /// The version found.
        found: u16,
        /// The version this build reads (`header::VERSION`): carried here so that the error
        /// says it without depending on the header's module.
        expected: u16,
    },
    /// The body does not decode.
    Malformed,
    /// The output buffer cannot even hold the header and the end record.
    OutputTooSmall,
    /// The translator configuration is not a valid one (e.g. a `TCR_EL1` without a granule),
    /// or a translator has no wire form.
    Translator,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Magic { found } => {
                write!(f, "not an scxray wire message of this kind (magic {found:02x?})")
            }
            Self::Version { found, expected } => {
                write!(f, "wire format version {found}, this build reads version {expected}")
            }
            Self::Malformed => f.write_str("the message body does not decode"),
            Self::OutputTooSmall => f.write_str("the output buffer is too small for a dump"),
            Self::Translator => f.write_str("the translator configuration is invalid"),
        }
    }
}

impl core::error::Error for WireError {}
