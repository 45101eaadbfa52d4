//! Hand-made BTF blobs: every kind, both byte orders, bitfields, anonymous nesting, split
//! BTF, and a synthetic sched_ext kernel that must resolve to the kernel matrix's numbers.

mod common;

use common::kernel::{self, Opts};
use common::{BtfBuilder, bf, m, scratch_for};
use scxray_btf::{Btf, BtfError, Endian, Kind, ResolveError, resolve_layout};
use scxray_core::LayoutFlags;

fn parse(data: &[u8], scratch: &mut Vec<u32>) -> Btf<'static> {
    // Leak to keep the test code short: blobs are tiny.
    let data: &'static [u8] = Box::leak(data.to_vec().into_boxed_slice());
    *scratch = scratch_for(data);
    let s: &'static mut [u32] = Box::leak(std::mem::take(scratch).into_boxed_slice());
    Btf::parse_in(data, s).unwrap()
}

fn leak(data: Vec<u8>) -> &'static [u8] {
    Box::leak(data.into_boxed_slice())
}

fn btf_of(data: Vec<u8>) -> Btf<'static> {
    parse(&data, &mut Vec::new())
}

/// One of every kind, followed by a struct that must still be found by name and id.
fn every_kind(big: bool) -> (Vec<u8>, u32) {
    let mut b = if big { BtfBuilder::big() } else { BtfBuilder::new() };
    let int = b.int("int", 4, true); // 1
    let p = b.ptr(int); // 2
    let arr = b.array(int, int, 7); // 3
    let st = b.struct_("pair", 8, &[m("a", int, 0), m("b", int, 4)]); // 4
    let un = b.union_("either", 4, &[m("i", int, 0), m("p", p, 0)]); // 5
    b.enum_("color", 4, false, &[("RED", 0), ("GREEN", 1), ("BLUE", 2)]); // 6
    b.fwd("opaque", false); // 7
    let td = b.typedef("int_t", int); // 8
    let vol = b.volatile(td); // 9
    let cst = b.const_(vol); // 10
    b.restrict(p); // 11
    let proto = b.func_proto(int, &[("x", int), ("y", cst)]); // 12
    let f = b.func("add", proto, 1); // 13
    let v = b.var("counter", int, 1); // 14
    b.datasec(".data", 4, &[(v, 0, 4)]); // 15
    b.float("double", 8); // 16
    b.decl_tag("kfunc", f, -1); // 17
    let tt = b.type_tag("user", p); // 18
    b.enum64("wide", 8, true, &[("NEG", (-5i64) as u64), ("BIG", 1 << 40)]); // 19
    let last =
        b.struct_("after_all_kinds", 24, &[m("arr", arr, 0), m("s", st, 0), m("u", un, 8), m("t", tt, 16)]);
    (b.build(), last)
}

#[test]
fn every_kind_is_walked_in_both_byte_orders() {
    for big in [false, true] {
        let (data, last) = every_kind(big);
        let btf = btf_of(data);
        assert_eq!(btf.endian(), if big { Endian::Big } else { Endian::Little });
        assert_eq!(btf.last_id(), 20);
        assert_eq!(last, 20);
        let kinds: Vec<Kind> = btf.types().map(|t| t.unwrap().kind).collect();
        assert_eq!(kinds.len(), 20);
        let raw: Vec<u32> = kinds.iter().map(|k| k.to_raw()).collect();
        assert_eq!(raw, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 12, 14, 15, 16, 17, 18, 19, 4]);
        let t = btf.find_struct("after_all_kinds").unwrap().unwrap();
        assert_eq!(t.id, 20);
        assert_eq!(t.size(), Some(24));
        assert_eq!(btf.member_offset("after_all_kinds.u").unwrap().unwrap().byte_offset(), Some(8));
        // Trailing records of each kind read back.
        assert_eq!(btf.type_by_id(1).unwrap().int_info().unwrap().bits, 32);
        assert_eq!(btf.type_by_id(1).unwrap().int_info().unwrap().encoding, 1);
        assert_eq!(btf.type_by_id(3).unwrap().array().unwrap().nelems, 7);
        assert_eq!(
            btf.type_by_id(12).unwrap().param(1),
            Some((btf.type_by_id(12).unwrap().param(1).unwrap().0, 10))
        );
        assert_eq!(btf.type_by_id(15).unwrap().secinfo(0), Some([14, 0, 4]));
        assert_eq!(btf.type_by_id(17).unwrap().extra_word(), Some(u32::MAX));
        assert_eq!(btf.type_by_id(14).unwrap().extra_word(), Some(1));
        assert_eq!(btf.resolve_alias(10).unwrap().id, 1);
        assert_eq!(btf.resolve_alias(18).unwrap().kind, Kind::Ptr);
        assert_eq!(btf.enum_value("color", "BLUE").unwrap().unwrap().value, 2);
        let neg = btf.enum_value("wide", "NEG").unwrap().unwrap();
        assert_eq!(neg.value, -5);
        assert_eq!(neg.bits(), Some((-5i64) as u64));
        assert_eq!(btf.enum_value("wide", "BIG").unwrap().unwrap().value, 1 << 40);
        assert_eq!(btf.find_enum_constant("GREEN").unwrap().unwrap().value, 1);
        assert_eq!(btf.enum_value("color", "NOPE").unwrap(), None);
        assert_eq!(btf.find_type("counter", |t| t.kind == Kind::Var).unwrap().unwrap().id, 14);
        assert_eq!(btf.find_type("opaque", |t| t.kind == Kind::Fwd).unwrap().unwrap().id, 7);
        assert!(btf.find_struct("opaque").unwrap().is_none());
        assert_eq!(btf.struct_size("either").unwrap(), Some(4));
        assert_eq!(btf.struct_size("nothing").unwrap(), None);
        let names: Vec<&str> = btf.types().map(|t| btf.name(&t.unwrap()).unwrap()).collect();
        assert_eq!(names[12], "add");
        assert_eq!(names[16], "kfunc");
    }
}

#[test]
fn big_and_little_endian_agree() {
    let little = btf_of(kernel::build(&Opts::default()));
    let big = btf_of(kernel::build(&Opts { big_endian: true, ..Opts::default() }));
    assert_eq!(big.endian(), Endian::Big);
    assert_eq!(resolve_layout(&little).unwrap(), resolve_layout(&big).unwrap());
    for name in ["rq", "scx_rq", "sched_ext_entity", "task_struct", "scx_sched"] {
        let a: Vec<_> = little
            .flat_members(little.find_struct(name).unwrap().unwrap())
            .unwrap()
            .map(|m| m.unwrap())
            .collect();
        let b: Vec<_> =
            big.flat_members(big.find_struct(name).unwrap().unwrap()).unwrap().map(|m| m.unwrap()).collect();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn bitfields() {
    let mut b = BtfBuilder::new();
    let u = b.int("unsigned int", 4, false);
    let s = b.struct_(
        "flags",
        8,
        &[bf("a", u, 0, 1), bf("b", u, 1, 3), bf("c", u, 4, 28), m("d", u, 4), bf("e", u, 0x00ff_fff0, 16)],
    );
    let btf = btf_of(b.build());
    let t = btf.type_by_id(s).unwrap();
    assert!(t.kind_flag);
    let ms: Vec<_> = btf.members(t).unwrap().map(|m| m.unwrap()).collect();
    let got: Vec<(&str, u32, u8)> = ms.iter().map(|m| (m.name, m.bit_offset, m.bitfield_size)).collect();
    assert_eq!(got, vec![("a", 0, 1), ("b", 1, 3), ("c", 4, 28), ("d", 32, 0), ("e", 0x00ff_fff0, 16)]);
    let b_ = btf.member_offset("flags.b").unwrap().unwrap();
    assert_eq!((b_.bit_offset, b_.bitfield_size, b_.byte_offset()), (1, 3, None));
    assert_eq!(btf.member_offset("flags.d").unwrap().unwrap().byte_offset(), Some(4));
    // Without kind_flag the whole word is the bit offset.
    let mut b = BtfBuilder::new();
    let u = b.int("unsigned int", 4, false);
    b.struct_("plain", 8, &[m("x", u, 0), M2::big(u)]);
    let btf = btf_of(b.build());
    assert_eq!(btf.member_offset("plain.far").unwrap().unwrap().bit_offset, 0x0100_0008);
}

struct M2;
impl M2 {
    fn big(ty: u32) -> common::M<'static> {
        common::M { name: "far", ty, bits: 0x0100_0008, bitfield: 0 }
    }
}

#[test]
fn nested_anonymous_members() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let inner_union = b.union_("", 4, &[m("deep_a", int, 0), bf("deep_bits", int, 3, 2)]);
    let td_union = b.typedef("inner_t", inner_union);
    let mid = b.struct_("", 12, &[m("mid_a", int, 0), m("", td_union, 8)]);
    let cmid = b.const_(mid);
    let named_inner = b.struct_("named", 4, &[m("x", int, 0)]);
    let outer = b.struct_(
        "outer",
        64,
        &[m("first", int, 0), m("", cmid, 16), m("n", named_inner, 40), m("last", int, 60)],
    );
    let btf = btf_of(b.build());
    let t = btf.type_by_id(outer).unwrap();
    let off = |name: &str| btf.find_member(t, name).unwrap().map(|m| m.bit_offset);
    assert_eq!(off("first"), Some(0));
    assert_eq!(off("mid_a"), Some(16 * 8));
    assert_eq!(off("deep_a"), Some(24 * 8));
    assert_eq!(off("deep_bits"), Some(24 * 8 + 3));
    assert_eq!(off("last"), Some(60 * 8));
    // Named members are not flattened.
    assert_eq!(off("x"), None);
    assert_eq!(btf.member_offset("outer.n.x").unwrap().unwrap().byte_offset(), Some(40));
    assert_eq!(btf.member_offset("outer.deep_a").unwrap().unwrap().byte_offset(), Some(24));
    assert_eq!(btf.member_offset("outer.missing").unwrap(), None);
    assert_eq!(btf.member_offset("nosuch.x").unwrap(), None);
    let whole = btf.member_offset("outer").unwrap().unwrap();
    assert_eq!((whole.bit_offset, whole.type_id), (0, outer));
    // A typedef of an anonymous struct names a path too.
    assert_eq!(btf.member_offset("inner_t.deep_bits").unwrap().unwrap().bit_offset, 3);
    assert!(matches!(btf.member_offset("outer.first.x"), Err(BtfError::WrongKind { .. })));
    let flat: Vec<(String, u64, usize)> = btf
        .flat_members(t)
        .unwrap()
        .map(|m| m.unwrap())
        .map(|m| (m.name.to_string(), m.bit_offset, m.depth))
        .collect();
    assert_eq!(
        flat,
        vec![
            ("first".into(), 0, 0),
            ("mid_a".into(), 128, 1),
            ("deep_a".into(), 192, 2),
            ("deep_bits".into(), 195, 2),
            ("n".into(), 320, 0),
            ("last".into(), 480, 0),
        ]
    );
}

#[test]
fn anonymous_cycle_is_an_error_not_a_hang() {
    // Type 2 is an anonymous struct whose anonymous member is itself.
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let me = b.next_id();
    b.struct_("", 4, &[m("", me, 0), m("x", int, 0)]);
    b.struct_("loop", 4, &[m("", me, 0)]);
    let btf = btf_of(b.build());
    let t = btf.find_struct("loop").unwrap().unwrap();
    assert!(matches!(btf.find_member(t, "nothing"), Err(BtfError::TooDeep { .. })));
    assert!(btf.flat_members(t).unwrap().any(|m| matches!(m, Err(BtfError::TooDeep { .. }))));
    // A typedef cycle.
    let mut b = BtfBuilder::new();
    let next = b.next_id();
    b.typedef("a", next + 1);
    b.typedef("b", next);
    let btf = btf_of(b.build());
    assert!(matches!(btf.resolve_alias(1), Err(BtfError::TooDeep { type_id: 1 })));
}

#[test]
fn split_btf_continues_ids_and_strings() {
    let mut base = BtfBuilder::new();
    let int = base.int("int", 4, true);
    let lh = base.struct_("list_head", 16, &[m("next", int, 0), m("prev", int, 8)]);
    let base_data = leak(base.build());
    let mut split = BtfBuilder::split_on(&base);
    assert_eq!(split.next_id(), 3);
    // A split type using base types and a base string ("int" as a member name).
    let mod_struct_id = split.next_id();
    split.head("mod_state", common::kind::STRUCT, 2, false, 32);
    // Members written by hand: one named with a base string offset.
    let mut raw = split.clone();
    let _ = &mut raw;
    let data = {
        // Rebuild properly through the builder API.
        let mut s = BtfBuilder::split_on(&base);
        let st = s.struct_("mod_state", 32, &[m("list", lh, 0), m("count", int, 16)]);
        assert_eq!(st, mod_struct_id);
        let p = s.ptr(st);
        s.typedef("mod_state_ptr", p);
        s.enum_("mod_flags", 4, false, &[("MOD_ON", 1)]);
        // A type named with a string of the base: "list_head" as a FWD in the module.
        s.build()
    };
    let data = leak(data);
    let base_scratch = Box::leak(scratch_for(base_data).into_boxed_slice());
    let base_btf: &'static Btf<'static> =
        Box::leak(Box::new(Btf::parse_in(base_data, base_scratch).unwrap()));
    let split_scratch = Box::leak(scratch_for(data).into_boxed_slice());
    let btf = Btf::parse_split_in(data, base_btf, split_scratch).unwrap();
    assert_eq!(btf.first_id(), 3);
    assert_eq!(btf.last_id(), 6);
    assert_eq!(btf.str_start(), base.str_end());
    assert_eq!(btf.type_by_id(1).unwrap().kind, Kind::Int);
    assert_eq!(btf.name(&btf.type_by_id(2).unwrap()).unwrap(), "list_head");
    assert_eq!(btf.name(&btf.type_by_id(3).unwrap()).unwrap(), "mod_state");
    // Lookups reach base types through the split blob.
    assert_eq!(btf.find_struct("list_head").unwrap().unwrap().id, 2);
    assert_eq!(btf.member_offset("mod_state.count").unwrap().unwrap().byte_offset(), Some(16));
    assert_eq!(btf.member_offset("mod_state.list.prev").unwrap().unwrap().byte_offset(), Some(8));
    assert_eq!(btf.resolve_alias(6 - 1).unwrap().kind, Kind::Ptr);
    assert_eq!(btf.enum_value("mod_flags", "MOD_ON").unwrap().unwrap().value, 1);
    assert_eq!(btf.types().count(), 6);
    assert!(matches!(btf.type_by_id(7), Err(BtfError::TypeIdOutOfRange { type_id: 7, last: 6 })));
    assert!(matches!(btf.type_by_id(0), Err(BtfError::TypeIdOutOfRange { type_id: 0, .. })));
    // A string offset past both sections.
    assert!(matches!(btf.str_at(100_000), Err(BtfError::StringOutOfBounds { offset: 100_000 })));
    #[cfg(feature = "alloc")]
    {
        let owned_base = Btf::parse(base_data).unwrap();
        let owned = Btf::parse_split(data, &owned_base).unwrap();
        assert_eq!(owned.member_offset("mod_state.count").unwrap().unwrap().byte_offset(), Some(16));
        // Only a base blob has an index of its own to keep.
        assert!(owned.to_index().is_none() && owned_base.to_index().is_some());
    }
}

#[test]
fn split_btf_on_split_btf() {
    let mut base = BtfBuilder::new();
    let int = base.int("int", 4, true);
    let mut s1 = BtfBuilder::split_on(&base);
    let a = s1.struct_("one", 4, &[m("x", int, 0)]);
    let mut s2 = BtfBuilder::split_on(&s1);
    s2.struct_("two", 8, &[m("o", a, 4)]);
    let (bd, d1, d2) = (leak(base.build()), leak(s1.build()), leak(s2.build()));
    let b0: &'static Btf<'static> =
        Box::leak(Box::new(Btf::parse_in(bd, Box::leak(scratch_for(bd).into_boxed_slice())).unwrap()));
    let b1: &'static Btf<'static> = Box::leak(Box::new(
        Btf::parse_split_in(d1, b0, Box::leak(scratch_for(d1).into_boxed_slice())).unwrap(),
    ));
    let b2 = Btf::parse_split_in(d2, b1, Box::leak(scratch_for(d2).into_boxed_slice())).unwrap();
    assert_eq!(b2.first_id(), 3);
    assert_eq!(b2.member_offset("two.o.x").unwrap().unwrap().byte_offset(), Some(4));
}

#[test]
fn synthetic_7_3_kernel_resolves_to_the_kernel_matrix() {
    let btf = btf_of(kernel::build(&Opts::default()));
    let layout = resolve_layout(&btf).unwrap();
    assert_eq!(layout, matrix_7_3());
    // The query API on the same blob.
    assert_eq!(btf.struct_size("rq").unwrap(), Some(4736));
    assert_eq!(btf.struct_size("scx_rq").unwrap(), Some(672));
    assert_eq!(btf.member_offset("rq.scx").unwrap().unwrap().byte_offset(), Some(2552));
    assert_eq!(btf.member_offset("rq.curr").unwrap().unwrap().byte_offset(), Some(24));
    assert_eq!(btf.member_offset("rq.scx.runnable_list").unwrap().unwrap().byte_offset(), Some(2552 + 400));
    assert_eq!(btf.member_offset("scx_rq.local_dsq").unwrap().unwrap().byte_offset(), Some(0));
    assert_eq!(btf.member_offset("sched_ext_entity.slice").unwrap().unwrap().byte_offset(), Some(208));
    assert_eq!(
        btf.member_offset("task_struct.scx.dsq_list.flags").unwrap().unwrap().byte_offset(),
        Some(776 + 56 + 16)
    );
    let w = btf.member_offset("scx_sched.warned_unassoc_progs").unwrap().unwrap();
    assert_eq!((w.bit_offset, w.bitfield_size), (804 * 8 + 1, 1));
    let cursor = btf.enum_value("scx_ent_flags", "SCX_TASK_CURSOR").unwrap().unwrap();
    assert_eq!(cursor.value, -2147483648);
    assert_eq!(cursor.bits(), Some(0x8000_0000));
    let g = btf.enum_value("scx_dsq_id_flags", "SCX_DSQ_GLOBAL").unwrap().unwrap();
    assert_eq!(g.bits(), Some(0x8000_0000_0000_0001));
    assert!(btf.find_type("runqueues", |t| t.kind == Kind::Var).unwrap().is_some());
}

#[test]
fn rescue_dsq_found_inside_the_rescue_struct() {
    let btf = btf_of(kernel::build(&Opts { rescue_dsq_inner: Some(64), ..Opts::default() }));
    let l = resolve_layout(&btf).unwrap();
    assert_eq!(l.scx_rq.unwrap().rescue_dsq, Some(208 + 64));
    assert_eq!(l.scx_rq.unwrap().reject_dsq, Some(104));
}

#[test]
fn kernel_without_rescue_like_7_2() {
    let btf = btf_of(kernel::build(&Opts { rescue_dsq_inner: None, pnode: false, ..Opts::default() }));
    let l = resolve_layout(&btf).unwrap();
    let scx_rq = l.scx_rq.unwrap();
    assert_eq!((scx_rq.rescue_dsq, scx_rq.reject_dsq, scx_rq.ops_qseq), (None, None, None));
    assert_eq!(l.sched_pnode, None);
    assert!(l.sched_pcpu.is_some());
}

#[test]
fn optional_members_absent_are_none() {
    let omit = vec![
        "rq.cpu",
        "rq.clock",
        "scx_rq.kick_sync",
        "sched_ext_entity.slice",
        "task_struct.tgid",
        "scx_sched.pcpu",
    ];
    let btf = btf_of(kernel::build(&Opts { omit, ..Opts::default() }));
    let l = resolve_layout(&btf).unwrap();
    assert_eq!(l.rq.unwrap().cpu, None);
    assert_eq!(l.rq.unwrap().clock, None);
    assert_eq!(l.scx_rq.unwrap().kick_sync, None);
    assert_eq!(l.see.unwrap().slice, None);
    assert_eq!(l.task.unwrap().tgid, None);
    assert_eq!(l.sched.unwrap().pcpu, None);
    // A struct present without its group's only member.
    let btf = btf_of(kernel::build(&Opts { omit: vec!["scx_sched_pcpu.bypass_dsq"], ..Opts::default() }));
    assert_eq!(resolve_layout(&btf).unwrap().sched_pcpu, None);
}

#[test]
fn required_member_missing_names_it() {
    for (omit, strukt, member) in [
        ("scx_rq.nr_running", "scx_rq", "nr_running"),
        ("rq.curr", "rq", "curr"),
        ("sched_ext_entity.tasks_node", "sched_ext_entity", "tasks_node"),
        ("scx_dispatch_q.hash_node", "scx_dispatch_q", "hash_node"),
        ("bucket_table.buckets", "bucket_table", "buckets"),
        ("scx_sched.exit_kind", "scx_sched", "exit_kind"),
    ] {
        let btf = btf_of(kernel::build(&Opts { omit: vec![omit], ..Opts::default() }));
        let err = resolve_layout(&btf).unwrap_err();
        assert_eq!(err, ResolveError::MissingMember { strukt, member });
        assert!(err.to_string().contains(omit), "{err}");
    }
}

#[test]
fn no_sched_ext_is_said_plainly() {
    let btf = btf_of(kernel::build(&Opts { sched_ext: false, ..Opts::default() }));
    let err = resolve_layout(&btf).unwrap_err();
    assert_eq!(err, ResolveError::NoSchedExt);
    let msg = err.to_string();
    assert!(msg.contains("built without sched_ext"), "{msg}");
    assert!(msg.contains("CONFIG_SCHED_CLASS_EXT not set"), "{msg}");
}

#[test]
fn flags_default_without_enums() {
    let btf = btf_of(kernel::build(&Opts { flag_enums: false, ..Opts::default() }));
    assert_eq!(resolve_layout(&btf).unwrap().flags, LayoutFlags::KERNEL_DEFAULT);
    // Non-default values in the enums are taken from them.
    let mut b = BtfBuilder::new();
    kernel::add_types(&mut b, &Opts { flag_enums: false, ..Opts::default() });
    b.enum_("scx_ent_flags", 4, false, &[("SCX_TASK_CURSOR", 1 << 30)]);
    b.enum_("", 4, false, &[("SCX_DSQ_LNODE_ITER_CURSOR", 4)]);
    let l = resolve_layout(&btf_of(b.build())).unwrap();
    assert_eq!(l.flags, LayoutFlags { task_cursor: 1 << 30, dsq_lnode_iter_cursor: 4 });
}

#[test]
fn header_longer_than_24_bytes_is_accepted() {
    let mut b = BtfBuilder::new();
    kernel::add_types(&mut b, &Opts::default());
    b.header_padding = 8;
    let l = resolve_layout(&btf_of(b.build())).unwrap();
    assert_eq!(l, matrix_7_3());
}

/// The kernel matrix's 7.3 amd64 layout with its BPF objects (the synthetic kernel has both).
fn matrix_7_3() -> scxray_core::Layout {
    scxray_core::Layout {
        bpf: scxray_tests::kernels::debian_7_3_amd64_bpf(),
        ..scxray_tests::kernels::debian_7_3_amd64()
    }
}

#[test]
fn a_bpf_group_without_a_required_member_is_none_and_the_rest_resolves() {
    let opts = Opts {
        omit: vec!["bpf_htab.n_buckets", "bpf_arena.scratch_page", "bpf_arena.nr_pages"],
        ..Opts::default()
    };
    let l = resolve_layout(&btf_of(kernel::build(&opts))).unwrap();
    let mut want = matrix_7_3();
    want.bpf.htab = None;
    if let Some(a) = want.bpf.arena.as_mut() {
        a.scratch_page = None;
        a.nr_pages = None;
    }
    assert_eq!(l, want);
    // Without the range tree's node, the arena has no free-page tree but is still read.
    let l =
        resolve_layout(&btf_of(kernel::build(&Opts { omit: vec!["range_node.rn_last"], ..Opts::default() })))
            .unwrap();
    assert_eq!(l.bpf.arena.unwrap().free, None);
    assert!(l.bpf.arena.unwrap().kern_vm == 296);
    // No BPF structs at all: every group absent, the sched_ext layout unchanged.
    let l = resolve_layout(&btf_of(kernel::build(&Opts { bpf: false, ..Opts::default() }))).unwrap();
    assert_eq!(l, scxray_tests::kernels::debian_7_3_amd64());
}

#[test]
fn the_hash_bucket_size_comes_from_the_buckets_pointer_not_the_first_struct_named_bucket() {
    let btf = btf_of(kernel::build(&Opts::default()));
    // The decoy `struct bucket` (8 bytes) comes first by id; the hash table's is 16 bytes.
    assert_eq!(btf.struct_size("bucket").unwrap(), Some(8));
    assert_eq!(resolve_layout(&btf).unwrap().bpf.htab.unwrap().bucket_size, 16);
}

#[test]
fn scratch_too_small_says_how_much() {
    let data = kernel::build(&Opts::default());
    let need = Btf::scratch_words(&data).unwrap();
    let mut small = vec![0u32; need - 1];
    assert_eq!(
        Btf::parse_in(&data, &mut small).unwrap_err(),
        BtfError::ScratchTooSmall { needed: need, got: need - 1 }
    );
    let mut exact = vec![0u32; need];
    assert!(Btf::parse_in(&data, &mut exact).is_ok());
}

#[test]
fn malformed_headers_and_records_name_the_place() {
    let (good, _) = every_kind(false);
    let mut s = vec![0u32; 64];
    assert_eq!(Btf::parse_in(&good[..10], &mut s).unwrap_err(), BtfError::TooShort { len: 10 });
    let mut bad = good.clone();
    bad[0] = 0;
    assert!(matches!(Btf::parse_in(&bad, &mut s), Err(BtfError::BadMagic { .. })));
    let mut bad = good.clone();
    bad[2] = 2;
    assert_eq!(Btf::parse_in(&bad, &mut s).unwrap_err(), BtfError::UnsupportedVersion { version: 2 });
    // Type length past the blob.
    let mut bad = good.clone();
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Btf::parse_in(&bad, &mut s), Err(BtfError::SectionOutOfBounds { .. })));
    // Unknown kind 25 in type 2 (offset 16: type 1 is INT with 4 trailing bytes).
    let mut bad = good.clone();
    let info_at = 24 + 16 + 4;
    bad[info_at + 3] = 25;
    let err = Btf::parse_in(&bad, &mut s).unwrap_err();
    assert_eq!(err, BtfError::UnknownKind { type_id: 2, kind: 25, section_offset: 16 });
    assert!(err.to_string().contains("type 2") && err.to_string().contains("0x10"), "{err}");
    // A struct whose vlen runs past the section.
    let mut bad = good.clone();
    let st_info = 24 + 16 + 12 + 24 + 4; // type 4 (STRUCT) after INT, PTR, ARRAY
    bad[st_info] = 0xff;
    assert!(matches!(Btf::parse_in(&bad, &mut s), Err(BtfError::TruncatedType { type_id: 4, .. })));
    // A name offset past the string section.
    let mut bad = good.clone();
    bad[24..28].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(Btf::parse_in(&bad, &mut s), Err(BtfError::StringOutOfBounds { offset: 0x00ff_ffff })));
}

/// The owned parse fills its name table from the named types the walk listed; the scratch
/// parse from every type: both build the same index, and `into_index` moves what `to_index`
/// copies.
#[cfg(feature = "alloc")]
#[test]
fn owned_and_scratch_parses_build_the_same_index() {
    for opts in [Opts::default(), Opts { pnode: !Opts::default().pnode, ..Opts::default() }] {
        let data = kernel::build(&opts);
        let owned = Btf::parse(&data).unwrap().to_index().unwrap();
        let mut scratch = vec![0u32; Btf::scratch_words(&data).unwrap()];
        let from_scratch = Btf::parse_in(&data, &mut scratch).unwrap().to_index().unwrap();
        assert_eq!(owned, from_scratch);
        assert_eq!(Btf::parse(&data).unwrap().into_index().unwrap(), owned);
        assert_eq!(Btf::parse_in(&data, &mut scratch).unwrap().into_index().unwrap(), owned);
        let again = Btf::with_index(&data, &owned).unwrap();
        assert_eq!(
            again.find_struct("scx_sched").unwrap().map(|t| t.id),
            Btf::parse(&data).unwrap().find_struct("scx_sched").unwrap().map(|t| t.id)
        );
        assert!(again.find_struct("scx_sched").unwrap().is_some());
    }
}

/// An index kept apart from the bytes answers like the parse that built it; handed another
/// blob it is refused, and a damaged one gives wrong answers at worst, never a panic.
#[cfg(feature = "alloc")]
#[test]
fn an_index_kept_apart_rebuilds_the_same_btf() {
    let data = kernel::build(&Opts::default());
    let parsed = Btf::parse(&data).unwrap();
    let index = parsed.to_index().unwrap();
    let again = Btf::with_index(&data, &index).unwrap();
    assert_eq!(resolve_layout(&again).unwrap(), resolve_layout(&parsed).unwrap());
    assert_eq!(again.last_id(), parsed.last_id());
    for path in ["scx_sched.ops", "task_struct.scx", "rq.scx", "scx_rq.local_dsq"] {
        assert_eq!(again.member_offset(path), parsed.member_offset(path), "{path}");
    }

    // Another blob (other section lengths): refused.
    let other = kernel::build(&Opts { pnode: !Opts::default().pnode, ..Opts::default() });
    assert!(matches!(Btf::with_index(&other, &index), Err(BtfError::IndexMismatch { .. })));

    // Same lengths, scrambled bytes: lookups may fail or mislead; none panics.
    let mut scrambled = data.clone();
    for (i, b) in scrambled.iter_mut().enumerate().skip(32) {
        *b = b.wrapping_mul(31).wrapping_add(i as u8);
    }
    if let Ok(b) = Btf::with_index(&scrambled, &index) {
        let _ = resolve_layout(&b);
        let _ = b.member_offset("scx_sched.ops");
    }
}
