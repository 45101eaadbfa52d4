//! Page-table translator for x86_64 Linux guests (skeleton; see issue 3).
#![no_std]
#![forbid(unsafe_code)]
