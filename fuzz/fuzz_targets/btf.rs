//! The BTF reader and `resolve_layout` over arbitrary bytes: base and split blobs, the owned
//! and the scratch-buffer index, every query the resolver and the CLI make. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_btf::{Btf, resolve_layout};

const PATHS: &[&str] =
    &["rq.scx", "rq.scx.local_dsq", "task_struct.scx.dsq_list.node", "scx_sched.dsq_hash.tbl", "a.b.c.d.e"];

fn exercise(btf: &Btf<'_>) {
    let _ = resolve_layout(btf);
    for p in PATHS {
        let _ = btf.member_offset(p);
    }
    let _ = btf.struct_size("rq");
    let _ = btf.enum_value("scx_exit_kind", "SCX_EXIT_ERROR");
    let _ = btf.find_enum_constant("SCX_DSQ_LNODE_ITER_CURSOR");
    for ty in btf.types().take(256) {
        let Ok(ty) = ty else { continue };
        let _ = btf.name(&ty);
        if let Ok(m) = btf.members(ty) {
            for x in m.take(64) {
                let _ = x;
            }
        }
        if let Ok(m) = btf.flat_members(ty) {
            for x in m.take(64) {
                let _ = x;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // First byte: 0 = a base blob; otherwise the next u32 splits the input into a base blob
    // and a split blob on top of it.
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        if let Ok(btf) = Btf::parse(rest) {
            exercise(&btf);
        }
        if let Ok(words) = Btf::scratch_words(rest) {
            let mut scratch = vec![0u32; words.min(1 << 20)];
            if let Ok(btf) = Btf::parse_in(rest, &mut scratch) {
                exercise(&btf);
            }
        }
    } else {
        let Some((len, rest)) = rest.split_first_chunk::<4>() else { return };
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (base, split) = rest.split_at(len);
        let Ok(base) = Btf::parse(base) else { return };
        if let Ok(btf) = Btf::parse_split(split, &base) {
            exercise(&btf);
        }
    }
});
