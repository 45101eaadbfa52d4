//! Host-side errors, each naming the file, address or field at fault, with an exit code a
//! script can rely on.

use std::fmt;
use std::path::Path;

/// Exit codes of the `scxray` command.
pub mod exit {
    /// Success: the walk ran (it may still report truncations and problems in its output).
    pub const OK: u8 = 0;
    /// Internal failure (a bug in scxray).
    pub const INTERNAL: u8 = 1;
    /// Bad input: unreadable, truncated or inconsistent files, wrong arguments.
    pub const BAD_INPUT: u8 = 2;
    /// The kernel is not supported: no sched_ext in it, or an unknown architecture.
    pub const UNSUPPORTED: u8 = 3;
    /// `diff` found something stuck.
    pub const STUCK: u8 = 4;
}

/// Everything that can stop the host crate.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read.
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The input is damaged or inconsistent (the message names file, address or field).
    BadInput(String),
    /// The kernel cannot be walked: no sched_ext, an unknown architecture.
    Unsupported(String),
    /// Something scxray should have handled.
    Internal(String),
    /// `diff` found something stuck (not an error in scxray: its verdict).
    Stuck,
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Io { .. } | Self::BadInput(_) => exit::BAD_INPUT,
            Self::Unsupported(_) => exit::UNSUPPORTED,
            Self::Internal(_) => exit::INTERNAL,
            Self::Stuck => exit::STUCK,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{path}: {source}"),
            Self::BadInput(m) | Self::Unsupported(m) | Self::Internal(m) => f.write_str(m),
            Self::Stuck => f.write_str("the scheduler is stuck"),
        }
    }
}

impl std::error::Error for Error {}
