//! Hostile input: random bytes, truncations and corruptions of a valid blob give errors,
//! never panics, and every query on whatever parses stays within bounds.

mod common;

use common::kernel::{self, Opts};
use proptest::prelude::*;
use scxray_btf::{Btf, resolve_layout};

/// Parses `data` and runs every query over it; returns whether it parsed.
fn exercise(data: &[u8]) -> bool {
    let Ok(words) = Btf::scratch_words(data) else {
        // Also with a fixed scratch, which must fail the same way or by being too small.
        let mut scratch = vec![0u32; 256];
        return Btf::parse_in(data, &mut scratch).is_ok();
    };
    let mut scratch = vec![0u32; words.min(1 << 20)];
    let Ok(btf) = Btf::parse_in(data, &mut scratch) else { return false };
    for ty in btf.types() {
        let Ok(ty) = ty else { continue };
        let _ = btf.name(&ty);
        let _ = btf.resolve_alias(ty.id);
        let _ = (ty.size(), ty.referenced(), ty.array(), ty.int_info(), ty.extra_word());
        for i in 0..u32::from(ty.vlen).min(64) {
            let _ = (ty.member(i), ty.enumerator(i), ty.param(i), ty.secinfo(i));
        }
        if let Ok(members) = btf.members(ty) {
            for m in members.take(64).flatten() {
                let _ = btf.find_member(ty, m.name);
            }
        }
        if let Ok(flat) = btf.flat_members(ty) {
            for _ in flat.take(256) {}
        }
    }
    for path in
        ["rq.scx", "rq.scx.local_dsq", "task_struct.scx.dsq_list.flags", "scx_sched.warned_zero_slice"]
    {
        let _ = btf.member_offset(path);
    }
    let _ = btf.enum_value("scx_ent_flags", "SCX_TASK_CURSOR");
    let _ = btf.find_enum_constant("SCX_DSQ_LNODE_ITER_CURSOR");
    let _ = resolve_layout(&btf);
    true
}

fn valid() -> Vec<u8> {
    kernel::build(&Opts::default())
}

#[test]
fn every_truncation_of_a_valid_blob_errs_cleanly() {
    let data = valid();
    assert!(exercise(&data));
    let mut parsed = 0;
    for len in 0..data.len() {
        if exercise(&data[..len]) {
            parsed += 1;
        }
    }
    // Cutting into the header or the type or string sections breaks the blob.
    assert_eq!(parsed, 0, "a truncated blob parsed");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&data);
    }

    #[test]
    fn random_bytes_with_a_valid_header_never_panic(
        big in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        type_len in 0u32..1100,
        str_off in 0u32..1100,
        str_len in 0u32..600,
    ) {
        let mut data = Vec::new();
        let w32 = |d: &mut Vec<u8>, v: u32| d.extend_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
        data.extend_from_slice(&if big { 0xeb9fu16.to_be_bytes() } else { 0xeb9fu16.to_le_bytes() });
        data.extend_from_slice(&[1, 0]);
        for v in [24, 0, type_len, str_off, str_len] {
            w32(&mut data, v);
        }
        data.extend_from_slice(&body);
        exercise(&data);
    }

    #[test]
    fn corrupted_valid_blob_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut data = valid();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        exercise(&data);
    }

    #[test]
    fn truncated_valid_blob_never_panics(cut in any::<prop::sample::Index>(), big in any::<bool>()) {
        let data = kernel::build(&Opts { big_endian: big, ..Opts::default() });
        let len = cut.index(data.len());
        prop_assert!(!exercise(&data[..len]));
    }
}

#[test]
fn wide_deep_anonymous_nesting_hits_the_work_limit() {
    use common::{BtfBuilder, m};
    use scxray_btf::BtfError;
    // Each level holds 1000 anonymous members of the next: 10^12 paths in 4 levels.
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let mut inner = b.struct_("", 4, &[m("leaf", int, 0)]);
    for _ in 0..4 {
        let members: Vec<_> = (0..1000).map(|_| m("", inner, 0)).collect();
        inner = b.struct_("", 4, &members);
    }
    b.struct_("bomb", 4, &[m("", inner, 0)]);
    let data = b.build();
    let mut scratch = common::scratch_for(&data);
    let btf = Btf::parse_in(&data, &mut scratch).unwrap();
    let bomb = btf.find_struct("bomb").unwrap().unwrap();
    // The work limit, not the clock, is what ends the search: both stop with its error (a
    // wall-clock bound here failed on a loaded machine and proved nothing the error does not).
    assert_eq!(btf.find_member(bomb, "absent"), Err(BtfError::WorkLimit { type_id: bomb.id }));
    assert!(btf.flat_members(bomb).unwrap().any(|r| r == Err(BtfError::WorkLimit { type_id: bomb.id })));
}

#[test]
fn overlong_strings_are_refused() {
    use common::BtfBuilder;
    use scxray_btf::BtfError;
    let mut b = BtfBuilder::new();
    let long = "x".repeat(scxray_btf::MAX_STRING_LEN + 1);
    b.int(&long, 4, true);
    let data = b.build();
    let mut scratch = vec![0u32; 16];
    assert_eq!(Btf::parse_in(&data, &mut scratch).unwrap_err(), BtfError::StringTooLong { offset: 1 });
    let mut b = BtfBuilder::new();
    b.int(&"y".repeat(scxray_btf::MAX_STRING_LEN), 4, true);
    let data = b.build();
    assert!(Btf::parse_in(&data, &mut scratch).is_ok());
}
