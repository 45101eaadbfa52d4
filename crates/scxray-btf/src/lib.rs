//! BTF reader and layout resolver (skeleton; see issue 4).
#![no_std]
#![forbid(unsafe_code)]
