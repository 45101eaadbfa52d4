//! The LZO1X decoder kdump-lzo pages go through: any bytes into a page-sized output, never a
//! panic, and a success never claims more than the output holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray::source::lzo::decompress;

fuzz_target!(|data: &[u8]| {
    let mut out = [0u8; 4096];
    if let Ok(n) = decompress(data, &mut out) {
        assert!(n <= out.len());
    }
});
