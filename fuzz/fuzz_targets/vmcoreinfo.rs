//! The VMCOREINFO text parser and every getter the host uses: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray::source::VmcoreInfo;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let v = VmcoreInfo::parse(&text);
    let _ = (v.osrelease(), v.kernel_offset(), v.page_size(), v.len(), v.is_empty());
    for name in ["init_top_pgt", "swapper_pg_dir", "_stext", "kallsyms_names"] {
        let _ = v.symbol(name);
    }
    for name in
        ["phys_base", "kimage_voffset", "VA_BITS", "TCR_EL1_T1SZ", "pgtable_l5_enabled", "PHYS_OFFSET"]
    {
        let _ = v.number(name);
    }
    // Keys are what precedes the first `=`, trimmed: every parsed line can be looked up.
    for line in text.lines().take(64) {
        if let Some((k, _)) = line.split_once('=') {
            assert!(v.get(k.trim()).is_some(), "{line:?}");
        }
    }
});
