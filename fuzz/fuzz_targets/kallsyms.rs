//! The kallsyms decoder (`read_kallsyms`) over arbitrary guest memory: VMCOREINFO names the
//! tables at offsets the input chooses, and the read callback serves the rest of the input.
//! Never a panic, and the decoder's reads stay within its own limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray::kernel::kallsyms::read_kallsyms;
use scxray::source::VmcoreInfo;
use scxray_core::{Field, MemError, PhysAddr, ReadCause, ReadError, VirtAddr};
use scxray_fuzz::Reader;
use std::cell::Cell;

/// Kernel virtual address of the input's first memory byte.
pub const BASE: u64 = 0xffff_ffff_8200_0000;
/// The symbols `read_kallsyms` asks VMCOREINFO for, in the order the header gives them.
const SYMBOLS: [&str; 6] = [
    "kallsyms_names",
    "kallsyms_num_syms",
    "kallsyms_token_table",
    "kallsyms_token_index",
    "kallsyms_offsets",
    "_stext",
];

fuzz_target!(|data: &[u8]| {
    let r = &mut Reader::new(data);
    let mut text = String::new();
    for name in SYMBOLS {
        let off = r.u32();
        if off != u32::MAX {
            text.push_str(&format!("SYMBOL({name})={:x}\n", BASE.wrapping_add(u64::from(off))));
        }
    }
    let mem = r.rest();
    let info = VmcoreInfo::parse(&text);
    let bytes_read = Cell::new(0u64);
    let read = |va: VirtAddr, buf: &mut [u8], field: Field| -> Result<(), ReadError> {
        bytes_read.set(bytes_read.get() + buf.len() as u64);
        let src = va
            .checked_offset_from(VirtAddr(BASE))
            .and_then(|off| usize::try_from(off).ok())
            .and_then(|start| mem.get(start..start.checked_add(buf.len())?));
        let not_backed = MemError::NotBacked { pa: PhysAddr(va.0.wrapping_sub(BASE)), len: buf.len() as u64 };
        buf.copy_from_slice(src.ok_or(ReadError { field, kva: va, cause: ReadCause::Memory(not_backed) })?);
        Ok(())
    };
    if let Ok(table) = read_kallsyms(&info, &read) {
        // Lookups binary-search kallsyms_seqs_of_names (the rest of the input after the
        // offsets) or scan: a batch, and names one by one.
        table.prefetch(&["_stext", "scx_root", "runqueues"]);
        for name in ["_text", "a", "zzzz", ""] {
            let _ = table.get(name);
        }
    }
    // 64 MiB of names, 4 M offsets and 4 M sorted indexes, the token index and table:
    // nothing reads more.
    assert!(bytes_read.get() <= (64 << 20) + 16 * 4_000_000 + 512 + 65536 + 256 + 4);
});
