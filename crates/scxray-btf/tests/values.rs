//! Values decoded with hand-made BTF: every scalar size and signedness, bitfields in both
//! encodings and byte orders, enums by name, strings, arrays with their cap, DATASEC variables
//! by name, split BTF, pointers named by the caller; and the hostile cases: values shorter
//! than their type, unreadable bytes, types that contain themselves, alias cycles, huge arrays.

mod common;

use std::fmt::Write as _;

use common::{BtfBuilder, bf, m, scratch_for};
use proptest::prelude::*;
use scxray_btf::{
    Btf, BtfError, DecodeError, DecodeLimits, Field, Flow, FormatError, Kind, NoNames, PointerNamer,
    ReadFailed, Segment, Style, Value, ValueBytes, ValueVisitor, format_value,
};

fn parse(data: Vec<u8>) -> Btf<'static> {
    let data: &'static [u8] = Box::leak(data.into_boxed_slice());
    let scratch: &'static mut [u32] = Box::leak(scratch_for(data).into_boxed_slice());
    Btf::parse_in(data, scratch).unwrap()
}

/// Every visited value as `path = what`.
#[derive(Default)]
struct Collect(Vec<String>);

impl<'a> ValueVisitor<'a> for Collect {
    fn visit(&mut self, field: &Field<'_, 'a>, value: &Value<'_, 'a>) -> Flow {
        let what = match value {
            Value::Begin { kind, name, size } => format!("begin {kind} {name} {size}"),
            Value::End => "end".into(),
            Value::ArrayBegin { len } => format!("array {len}"),
            Value::ArrayEnd { shown, len } => format!("array end {shown}/{len}"),
            Value::Int(v) => format!("int {v} ({} bits{})", v.width, if v.signed { ", signed" } else { "" }),
            Value::Bool(b) => format!("bool {b}"),
            Value::Enum { value, name } => format!("enum {value} {name:?}"),
            Value::Float { bits, size } => format!("float{size} {bits:#x}"),
            Value::Pointer { addr, pointee } => format!("ptr {addr:#x} -> {pointee}"),
            Value::Str { bytes, truncated } => {
                format!("str {:?}{}", String::from_utf8_lossy(bytes), if *truncated { "…" } else { "" })
            }
            Value::Opaque { kind, size } => format!("opaque {kind:?} {size}"),
            Value::TooDeep => "too deep".into(),
        };
        self.0.push(format!("{} @{} = {what}", field.path, field.offset));
        Flow::Continue
    }
}

fn collect(
    btf: &Btf<'_>,
    ty: u32,
    bytes: &[u8],
    limits: &DecodeLimits,
) -> (Vec<String>, scxray_btf::DecodeSummary) {
    let mut c = Collect::default();
    let summary = btf.decode_value(ty, &mut &bytes[..], limits, &mut c).unwrap();
    (c.0, summary)
}

fn text(btf: &Btf<'_>, ty: u32, bytes: &[u8], style: Style) -> String {
    let mut out = String::new();
    format_value(btf, ty, &mut &bytes[..], &DecodeLimits::DEFAULT, style, NoNames, &mut out).unwrap();
    out
}

/// Every scalar: the ints of each size and signedness, bool, char, float, enum, enum64, a
/// pointer, a typedef/const/volatile/type_tag chain, and a string.
fn scalars(big: bool) -> (Vec<u8>, u32) {
    let mut b = if big { BtfBuilder::big() } else { BtfBuilder::new() };
    let u8_ = b.int("unsigned char", 1, false);
    let i8_ = b.int("signed char", 1, true);
    let u16_ = b.int("short unsigned int", 2, false);
    let i16_ = b.int("short int", 2, true);
    let u32_ = b.int("unsigned int", 4, false);
    let i32_ = b.int("int", 4, true);
    let u64_ = b.int("long long unsigned int", 8, false);
    let i64_ = b.int("long long int", 8, true);
    let u128_ = b.int("unsigned __int128", 16, false);
    let i128_ = b.int("__int128", 16, true);
    let bool_ = b.int_enc("_Bool", 1, 4, 0, 8);
    let char_ = b.int("char", 1, true);
    let f32_ = b.float("float", 4);
    let f64_ = b.float("double", 8);
    let color = b.enum_("color", 4, true, &[("RED", 0), ("COLD", -5), ("BLUE", 2)]);
    let big_enum = b.enum64("wide", 8, false, &[("HIGH", 0x8000_0000_0000_0001), ("LOW", 1)]);
    let ptr = b.ptr(u32_);
    let td = b.typedef("u32_t", u32_);
    let vol = b.volatile(td);
    let cst = b.const_(vol);
    let tag = b.type_tag("user", cst);
    let name = b.array(char_, i32_, 8);
    let ty = b.struct_(
        "scalars",
        112,
        &[
            m("u8", u8_, 0),
            m("i8", i8_, 1),
            m("u16", u16_, 2),
            m("i16", i16_, 4),
            m("b", bool_, 6),
            m("c", char_, 7),
            m("u32", u32_, 8),
            m("i32", i32_, 12),
            m("u64", u64_, 16),
            m("i64", i64_, 24),
            m("u128", u128_, 32),
            m("i128", i128_, 48),
            m("f32", f32_, 64),
            m("color", color, 68),
            m("f64", f64_, 72),
            m("wide", big_enum, 80),
            m("p", ptr, 88),
            m("tagged", tag, 96),
            m("name", name, 100),
        ],
    );
    (b.build(), ty)
}

fn scalar_bytes(big: bool) -> Vec<u8> {
    let mut v = vec![0u8; 112];
    let mut put = |off: usize, le: &[u8]| {
        let mut bytes = le.to_vec();
        if big {
            bytes.reverse();
        }
        v[off..off + bytes.len()].copy_from_slice(&bytes);
    };
    put(0, &[0xfe]);
    put(1, &[0xfe]);
    put(2, &0xfffeu16.to_le_bytes());
    put(4, &(-2i16).to_le_bytes());
    put(6, &[1]);
    put(7, b"A");
    put(8, &4_000_000_000u32.to_le_bytes());
    put(12, &(-7i32).to_le_bytes());
    put(16, &u64::MAX.to_le_bytes());
    put(24, &i64::MIN.to_le_bytes());
    put(32, &(u128::MAX - 1).to_le_bytes());
    put(48, &(-3i128).to_le_bytes());
    put(64, &1.5f32.to_le_bytes());
    put(68, &(-5i32).to_le_bytes());
    put(72, &(-0.25f64).to_le_bytes());
    put(80, &0x8000_0000_0000_0001u64.to_le_bytes());
    put(88, &0xffff_8880_1234_5678u64.to_le_bytes());
    put(96, &42u32.to_le_bytes());
    v[100..106].copy_from_slice(b"qmap\0x");
    v
}

#[test]
fn every_scalar_decodes_to_its_value_in_both_byte_orders() {
    for big in [false, true] {
        let (blob, ty) = scalars(big);
        let btf = parse(blob);
        let (got, summary) = collect(&btf, ty, &scalar_bytes(big), &DecodeLimits::DEFAULT);
        let want = [
            " @0 = begin STRUCT scalars 112",
            "u8 @0 = int 254 (8 bits)",
            "i8 @1 = int -2 (8 bits, signed)",
            "u16 @2 = int 65534 (16 bits)",
            "i16 @4 = int -2 (16 bits, signed)",
            "b @6 = bool true",
            "c @7 = int 65 (8 bits, signed)",
            "u32 @8 = int 4000000000 (32 bits)",
            "i32 @12 = int -7 (32 bits, signed)",
            "u64 @16 = int 18446744073709551615 (64 bits)",
            "i64 @24 = int -9223372036854775808 (64 bits, signed)",
            "u128 @32 = int 340282366920938463463374607431768211454 (128 bits)",
            "i128 @48 = int -3 (128 bits, signed)",
            "f32 @64 = float4 0x3fc00000",
            "color @68 = enum -5 Some(\"COLD\")",
            "f64 @72 = float8 0xbfd0000000000000",
            "wide @80 = enum 9223372036854775809 Some(\"HIGH\")",
            "p @88 = ptr 0xffff888012345678 -> 5",
            "tagged @96 = int 42 (32 bits)",
            "name @100 = str \"qmap\"",
            " @0 = end",
        ];
        assert_eq!(got, want, "big-endian: {big}");
        assert_eq!(summary.nodes, 20);
        assert!(!summary.truncated && !summary.stopped);
    }
}

#[test]
fn the_compact_and_pretty_texts() {
    let (blob, ty) = scalars(false);
    let btf = parse(blob);
    let bytes = scalar_bytes(false);
    assert_eq!(
        text(&btf, ty, &bytes, Style::Compact),
        "{.u8 = 254, .i8 = -2, .u16 = 65534, .i16 = -2, .b = true, .c = 65, .u32 = 4000000000, \
         .i32 = -7, .u64 = 18446744073709551615, .i64 = -9223372036854775808, \
         .u128 = 340282366920938463463374607431768211454, .i128 = -3, .f32 = 1.5, .color = COLD, \
         .f64 = -0.25, .wide = HIGH, .p = 0xffff888012345678, .tagged = 42, .name = \"qmap\"}"
    );
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let arr = b.array(int, int, 2);
    let inner = b.struct_("inner", 8, &[m("xs", arr, 0)]);
    let outer = b.struct_("outer", 12, &[m("a", int, 0), m("in", inner, 4)]);
    let btf = parse(b.build());
    let bytes: Vec<u8> = [1i32, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        text(&btf, outer, &bytes, Style::Pretty { indent: 2 }),
        "{\n  .a = 1,\n  .in = {\n    .xs = [\n      2,\n      3,\n    ],\n  },\n}"
    );
}

#[test]
fn bitfields_in_both_encodings_and_byte_orders() {
    for big in [false, true] {
        let mut b = if big { BtfBuilder::big() } else { BtfBuilder::new() };
        let u32_ = b.int("unsigned int", 4, false);
        let i32_ = b.int("int", 4, true);
        let u64_ = b.int("long long unsigned int", 8, false);
        let e = b.enum_("mode", 4, false, &[("OFF", 0), ("ON", 1), ("AUTO", 2)]);
        // The legacy encoding: an INT whose own word says "5 bits at bit 3".
        let legacy = b.int_enc("unsigned int", 4, 0, 3, 5);
        let flags = b.struct_(
            "flags",
            16,
            &[
                bf("lo", u32_, 0, 3),
                bf("neg", i32_, 3, 4),
                bf("mode", e, 7, 2),
                bf("wide", u64_, 9, 40),
                bf("top", u32_, 49, 15),
                m("legacy", legacy, 8),
            ],
        );
        let btf = parse(b.build());
        // lo = 5, neg = -3 (0b1101), mode = AUTO (2), wide = 0xab_cdef_0123, top = 0x7fff.
        let word: u64 = 5 | (0b1101 << 3) | (2 << 7) | (0xab_cdef_0123 << 9) | (0x7fff << 49);
        // legacy: 0b10110 at bit 3 of its u32.
        let legacy_word: u32 = 0b10110 << 3 | 0b111;
        let mut bytes = Vec::new();
        if big {
            // Big-endian bit numbering starts at the most significant bit of the first byte.
            let be = word.reverse_bits();
            bytes.extend_from_slice(&be.to_be_bytes());
            // The INT encoding's offset counts from the INT's high bit in big-endian.
            let lw: u32 = legacy_word.reverse_bits();
            bytes.extend_from_slice(&lw.to_be_bytes());
        } else {
            bytes.extend_from_slice(&word.to_le_bytes());
            bytes.extend_from_slice(&legacy_word.to_le_bytes());
        }
        bytes.resize(16, 0);
        let (got, _) = collect(&btf, flags, &bytes, &DecodeLimits::DEFAULT);
        // Big-endian values were written bit-reversed, so each field reads reversed too.
        let rev = |v: u128, w: u32| if big { v.reverse_bits() >> (128 - w) } else { v };
        let want = vec![
            " @0 = begin STRUCT flags 16".to_string(),
            format!("lo @0 = int {} (3 bits)", rev(5, 3)),
            if big {
                "neg @0 = int -5 (4 bits, signed)".to_string()
            } else {
                "neg @0 = int -3 (4 bits, signed)".to_string()
            },
            if big {
                "mode @0 = enum 1 Some(\"ON\")".to_string()
            } else {
                "mode @0 = enum 2 Some(\"AUTO\")".to_string()
            },
            format!("wide @1 = int {} (40 bits)", rev(0xab_cdef_0123, 40)),
            format!("top @6 = int {} (15 bits)", rev(0x7fff, 15)),
            format!("legacy @8 = int {} (5 bits)", rev(0b10110, 5)),
            " @0 = end".to_string(),
        ];
        assert_eq!(got, want, "big-endian: {big}");
    }
}

/// A global-data map's value: `.bss` with a struct of arrays and a scalar, by variable name.
fn bss() -> (Vec<u8>, u32, u32) {
    let mut b = BtfBuilder::new();
    let u64_ = b.int("long long unsigned int", 8, false);
    let int = b.int("int", 4, true);
    let node = b.struct_("qnode", 16, &[m("head", u64_, 0), m("tail", u64_, 8)]);
    let fifos = b.array(node, int, 5);
    let qa = b.struct_("qmap_arena", 88, &[m("nr", u64_, 0), m("fifos", fifos, 8)]);
    let qa_var = b.var("qa", qa, 1);
    let cnt = b.var("nr_enqueued", u64_, 1);
    let sec = b.datasec(".bss", 96, &[(qa_var, 0, 88), (cnt, 88, 8)]);
    (b.build(), sec, qa)
}

#[test]
fn a_datasec_decodes_as_its_variables_by_name() {
    let (blob, sec, _) = bss();
    let btf = parse(blob);
    let mut bytes = vec![0u8; 96];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&(i as u64 * 10).to_le_bytes());
    }
    let (got, summary) = collect(&btf, sec, &bytes, &DecodeLimits::DEFAULT);
    assert_eq!(got[0], " @0 = begin DATASEC .bss 96");
    assert_eq!(got[1], "qa @0 = begin STRUCT qmap_arena 88");
    assert_eq!(got[2], "qa.nr @0 = int 0 (64 bits)");
    assert_eq!(got[3], "qa.fifos @8 = array 5");
    assert_eq!(got[4], "qa.fifos[0] @8 = begin STRUCT qnode 16");
    assert_eq!(got[5], "qa.fifos[0].head @8 = int 10 (64 bits)");
    assert!(got.contains(&"qa.fifos[2].tail @48 = int 60 (64 bits)".to_string()), "{got:#?}");
    assert!(got.contains(&"qa.fifos @8 = array end 5/5".to_string()));
    assert_eq!(got[got.len() - 2], "nr_enqueued @88 = int 110 (64 bits)");
    assert_eq!(summary.nodes, 1 + 1 + 1 + 1 + 5 * 3 + 1);
}

#[test]
fn arrays_stop_at_the_cap_and_say_so() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let arr = b.array(int, int, 10);
    let btf = parse(b.build());
    let bytes: Vec<u8> = (0..10i32).flat_map(|v| v.to_le_bytes()).collect();
    let limits = DecodeLimits { max_array_elems: 3, ..DecodeLimits::DEFAULT };
    let (got, summary) = collect(&btf, arr, &bytes, &limits);
    assert_eq!(got.last().unwrap(), " @0 = array end 3/10");
    assert_eq!(got.len(), 5);
    assert!(summary.truncated);
    let mut out = String::new();
    format_value(&btf, arr, &mut &bytes[..], &limits, Style::Compact, NoNames, &mut out).unwrap();
    assert_eq!(out, "[0, 1, 2, …+7]");
}

#[test]
fn the_node_cap_closes_what_it_opened() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let inner = b.struct_("inner", 8, &[m("a", int, 0), m("b", int, 4)]);
    let xs = b.array(inner, int, 10);
    let outer = b.struct_("outer", 80, &[m("xs", xs, 0)]);
    let btf = parse(b.build());
    let bytes: Vec<u8> = (1..=20i32).flat_map(|v| v.to_le_bytes()).collect();
    // outer, xs, xs[0], a, b: the cap fires at xs[1].
    let limits = DecodeLimits { max_nodes: 5, ..DecodeLimits::DEFAULT };
    let (got, summary) = collect(&btf, outer, &bytes, &limits);
    assert_eq!(got[got.len() - 2..], ["xs @0 = array end 1/10", " @0 = end"]);
    assert!(summary.truncated && !summary.stopped);
    assert_eq!(summary.nodes, 5);
    let mut out = String::new();
    format_value(&btf, outer, &mut &bytes[..], &limits, Style::Compact, NoNames, &mut out).unwrap();
    assert_eq!(out, "{.xs = [{.a = 1, .b = 2}, …+9]}");
}

#[test]
fn strings_stop_at_the_nul_or_the_cap() {
    let mut b = BtfBuilder::new();
    let char_ = b.int("char", 1, true);
    let int = b.int("int", 4, true);
    let arr = b.array(char_, int, 300);
    let btf = parse(b.build());
    let mut bytes = vec![b'x'; 300];
    let (got, summary) = collect(&btf, arr, &bytes, &DecodeLimits::DEFAULT);
    assert_eq!(got, vec![format!(" @0 = str {:?}…", "x".repeat(128))]);
    assert!(summary.truncated);
    bytes[3] = 0;
    bytes[1] = 0xff;
    let out = text(&btf, arr, &bytes, Style::Compact);
    assert_eq!(out, "\"x\\xffx\"");
}

#[test]
fn split_btf_decodes_through_its_base() {
    let mut base = BtfBuilder::new();
    let u32_ = base.int("unsigned int", 4, false);
    let base_blob = base.build();
    let mut split = BtfBuilder::split_on(&base);
    let pair = split.struct_("pair", 8, &[m("a", u32_, 0), m("b", u32_, 4)]);
    let base_btf: &'static Btf<'static> = Box::leak(Box::new(parse(base_blob)));
    let split_blob: &'static [u8] = Box::leak(split.build().into_boxed_slice());
    let scratch: &'static mut [u32] = Box::leak(scratch_for(split_blob).into_boxed_slice());
    let btf = Btf::parse_split_in(split_blob, base_btf, scratch).unwrap();
    let bytes: Vec<u8> = [7u32, 9].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(text(&btf, pair, &bytes, Style::Compact), "{.a = 7, .b = 9}");
}

#[test]
fn anonymous_members_flatten_into_their_parent_path() {
    let mut b = BtfBuilder::new();
    let u32_ = b.int("unsigned int", 4, false);
    let f32_ = b.float("float", 4);
    let un = b.union_("", 4, &[m("i", u32_, 0), m("f", f32_, 0)]);
    let st = b.struct_("s", 8, &[m("", un, 0), m("n", u32_, 4)]);
    let btf = parse(b.build());
    let bytes: Vec<u8> = [0x3f80_0000u32, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let (got, _) = collect(&btf, st, &bytes, &DecodeLimits::DEFAULT);
    assert_eq!(got[2], "i @0 = int 1065353216 (32 bits)");
    assert_eq!(got[3], "f @0 = float4 0x3f800000");
    assert_eq!(text(&btf, st, &bytes, Style::Compact), "{{.i = 1065353216, .f = 1}, .n = 3}");
}

/// Names arena addresses as the arena's globals (`qa.fifos[2]`) with `Btf::locate`.
struct ArenaNames<'b, 'a> {
    btf: &'b Btf<'a>,
    sec: u32,
    base: u64,
}

impl PointerNamer for ArenaNames<'_, '_> {
    fn name_pointer(
        &mut self,
        addr: u64,
        _pointee: u32,
        out: &mut dyn std::fmt::Write,
    ) -> Result<bool, std::fmt::Error> {
        let Some(off) = addr.checked_sub(self.base) else { return Ok(false) };
        match self.btf.locate(self.sec, off, &DecodeLimits::DEFAULT) {
            Ok(Some(loc)) => {
                write!(out, "arena {}", loc.path)?;
                if loc.rest != 0 {
                    write!(out, "+{}", loc.rest)?;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[test]
fn pointers_are_named_by_the_caller_and_located_in_the_arena_globals() {
    let (blob, sec, _) = bss();
    let btf = parse(blob);
    // locate: offset 40 is qa.fifos[2] (8 + 2 * 16), at its start; 52 is 4 bytes into .tail.
    let loc = btf.locate(sec, 40, &DecodeLimits::DEFAULT).unwrap().unwrap();
    assert_eq!(loc.path.to_string(), "qa.fifos[2].head");
    assert_eq!((loc.rest, loc.depth_cut), (0, false));
    let loc = btf.locate(sec, 52, &DecodeLimits::DEFAULT).unwrap().unwrap();
    assert_eq!(loc.path.to_string(), "qa.fifos[2].tail");
    assert_eq!(loc.rest, 4);
    assert_eq!(btf.locate(sec, 96, &DecodeLimits::DEFAULT).unwrap(), None);
    // A pointer into the arena named through locate.
    let mut b2 = BtfBuilder::new();
    let u64_ = b2.int("long long unsigned int", 8, false);
    let p = b2.ptr(u64_);
    let holder = b2.struct_("holder", 16, &[m("at", p, 0), m("other", p, 8)]);
    let hb = parse(b2.build());
    let base = 0x1_0000_0000u64;
    let bytes: Vec<u8> = [base + 40, 0xdead].iter().flat_map(|v: &u64| v.to_le_bytes()).collect();
    let mut out = String::new();
    let names = ArenaNames { btf: &btf, sec, base };
    format_value(&hb, holder, &mut &bytes[..], &DecodeLimits::DEFAULT, Style::Compact, names, &mut out)
        .unwrap();
    assert_eq!(out, "{.at = 0x100000028 (arena qa.fifos[2].head), .other = 0xdead}");
}

#[test]
fn a_value_shorter_than_its_type_is_an_error_naming_type_and_offset() {
    let (blob, ty) = scalars(false);
    let btf = parse(blob);
    let bytes = scalar_bytes(false);
    let mut c = Collect::default();
    let err = btf.decode_value(ty, &mut &bytes[..20], &DecodeLimits::DEFAULT, &mut c).unwrap_err();
    // u64 at 16 is the first field that does not fit 20 bytes; its type is id 7.
    assert_eq!(err, DecodeError::OutOfRange { type_id: 7, offset: 16, len: 8, value_len: 20 });
    assert_eq!(err.to_string(), "BTF type 7 at offset 0x10 needs 8 bytes, past the 20-byte value");
    assert_eq!(c.0.len(), 9, "the fields before it were visited");
}

/// A reader whose bytes past `readable` fail, like guest memory with a hole.
struct Holey<'d> {
    data: &'d [u8],
    readable: u64,
}

impl ValueBytes for Holey<'_> {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadFailed> {
        if offset + buf.len() as u64 > self.readable {
            return Err(ReadFailed);
        }
        let o = offset as usize;
        buf.copy_from_slice(&self.data[o..o + buf.len()]);
        Ok(())
    }
}

#[test]
fn unreadable_bytes_are_an_error_naming_type_and_offset() {
    let (blob, ty) = scalars(false);
    let btf = parse(blob);
    let bytes = scalar_bytes(false);
    let mut src = Holey { data: &bytes, readable: 64 };
    let mut out = String::new();
    let err = format_value(&btf, ty, &mut src, &DecodeLimits::DEFAULT, Style::Compact, NoNames, &mut out)
        .unwrap_err();
    assert_eq!(err, FormatError::Decode(DecodeError::Unreadable { type_id: 13, offset: 64, len: 4 }));
    assert!(out.ends_with(".i128 = -3"), "{out}");
}

#[test]
fn a_struct_that_contains_itself_ends_at_the_depth_cap() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    // Type 2 holds, at offset 0, a member of type 3, a typedef of type 2.
    let looped = b.struct_("looped", 8, &[m("self", 3, 0), m("n", int, 4)]);
    let td = b.typedef("looped_t", looped);
    assert_eq!(td, 3);
    let btf = parse(b.build());
    let bytes = [1u8, 0, 0, 0, 2, 0, 0, 0];
    let limits = DecodeLimits { max_depth: 4, ..DecodeLimits::DEFAULT };
    let (got, summary) = collect(&btf, looped, &bytes, &limits);
    assert!(summary.truncated);
    assert_eq!(
        got,
        [
            " @0 = begin STRUCT looped 8",
            "self @0 = begin STRUCT looped 8",
            "self.self @0 = begin STRUCT looped 8",
            "self.self.self @0 = begin STRUCT looped 8",
            "self.self.self.self @0 = begin STRUCT looped 8",
            "self.self.self.self.self @0 = too deep",
            "self.self.self.self.n @4 = too deep",
            "self.self.self.self @0 = end",
            "self.self.self.n @4 = int 2 (32 bits, signed)",
            "self.self.self @0 = end",
            "self.self.n @4 = int 2 (32 bits, signed)",
            "self.self @0 = end",
            "self.n @4 = int 2 (32 bits, signed)",
            "self @0 = end",
            "n @4 = int 2 (32 bits, signed)",
            " @0 = end",
        ]
    );
    // type_size of the looped struct is its declared size: no recursion there.
    assert_eq!(btf.type_size(looped).unwrap(), 8);
}

#[test]
fn alias_cycles_and_self_referencing_arrays_end_with_errors_or_caps() {
    let mut b = BtfBuilder::new();
    // 1 -> 2 -> 1: a typedef cycle.
    b.typedef("a", 2);
    b.typedef("b", 1);
    // 3: an array whose element is itself.
    let arr = b.array(3, 3, 1000);
    let btf = parse(b.build());
    let bytes = [0u8; 64];
    let mut c = Collect::default();
    let err = btf.decode_value(1, &mut &bytes[..], &DecodeLimits::DEFAULT, &mut c).unwrap_err();
    assert_eq!(err, DecodeError::Btf(BtfError::TooDeep { type_id: 1 }));
    // The self-array's size multiplies past u64: the decode fails on it, never loops.
    let err = btf.decode_value(arr, &mut &bytes[..], &DecodeLimits::DEFAULT, &mut c).unwrap_err();
    assert_eq!(err, DecodeError::Btf(BtfError::OffsetOverflow { type_id: arr }));
    assert!(btf.type_size(arr).is_err());
}

#[test]
fn huge_arrays_of_empty_structs_stop_at_the_node_cap() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let empty = b.struct_("empty", 0, &[]);
    let inner = b.array(empty, int, u32::MAX);
    let outer = b.array(inner, int, u32::MAX);
    let btf = parse(b.build());
    let limits = DecodeLimits { max_array_elems: u32::MAX, max_nodes: 1000, ..DecodeLimits::DEFAULT };
    let (got, summary) = collect(&btf, outer, &[], &limits);
    assert!(summary.truncated);
    assert_eq!(summary.nodes, 1000);
    assert!(got.len() < 3000);
}

#[test]
fn the_visitor_can_skip_and_stop() {
    let (blob, sec, _) = bss();
    let btf = parse(blob);
    let bytes = [0u8; 96];
    struct SkipStructs(Vec<String>);
    impl<'a> ValueVisitor<'a> for SkipStructs {
        fn visit(&mut self, field: &Field<'_, 'a>, value: &Value<'_, 'a>) -> Flow {
            self.0.push(field.path.to_string());
            match value {
                Value::Begin { kind: Kind::Struct, .. } => Flow::Skip,
                Value::Int(_) => Flow::Stop,
                _ => Flow::Continue,
            }
        }
    }
    let mut v = SkipStructs(Vec::new());
    let summary = btf.decode_value(sec, &mut &bytes[..], &DecodeLimits::DEFAULT, &mut v).unwrap();
    assert_eq!(v.0, ["", "qa", "qa", "nr_enqueued"]);
    assert!(summary.stopped);
}

#[test]
fn paths_show_names_and_indices() {
    let mut p = scxray_btf::FieldPath::new();
    assert!(p.push(Segment::Name("qa")));
    assert!(p.push(Segment::Anon));
    assert!(p.push(Segment::Name("fifos")));
    assert!(p.push(Segment::Index(2)));
    assert_eq!(p.to_string(), "qa.fifos[2]");
    let mut s = String::new();
    write!(s, "{p}").unwrap();
    assert_eq!(s, "qa.fifos[2]");
}

#[test]
fn the_kits_bpf_program_decodes_its_bss_and_task_context() {
    let prog = scxray_tests::btf_blob::BpfProgram::new();
    let btf = parse(prog.blob.clone());
    let mut bss = [0u8; 120];
    bss[0..8].copy_from_slice(&3u64.to_le_bytes());
    bss[8 + 2 * 16..8 + 2 * 16 + 8].copy_from_slice(&0x1_0000_1000u64.to_le_bytes());
    bss[88..92].copy_from_slice(&1u32.to_le_bytes());
    bss[96..104].copy_from_slice(&77u64.to_le_bytes());
    bss[104..109].copy_from_slice(b"qmap\0");
    let limits = DecodeLimits { max_array_elems: 3, ..DecodeLimits::DEFAULT };
    let mut out = String::new();
    let summary =
        format_value(&btf, prog.bss, &mut &bss[..], &limits, Style::Compact, NoNames, &mut out).unwrap();
    assert_eq!(
        out,
        "{.qa = {.nr_queued = 3, .fifos = [{.head = 0x0, .tail = 0x0}, {.head = 0x0, .tail = 0x0}, \
         {.head = 0x100001000, .tail = 0x0}, …+2], .mode = QMAP_PRIO, .seq_flag = 0}, .nr_dispatched = 77, \
         .name = \"qmap\"}"
    );
    assert!(summary.truncated);
    let mut ctx = [0u8; 24];
    ctx[0..8].copy_from_slice(&0xffff_c900_0000_0040u64.to_le_bytes());
    ctx[8..12].copy_from_slice(&4i32.to_le_bytes());
    ctx[12] = 0b1010_1001; // force_local 1, highpri 0, core 0b101010
    let mut out = String::new();
    format_value(
        &btf,
        prog.task_ctx,
        &mut &ctx[..],
        &DecodeLimits::DEFAULT,
        Style::Compact,
        NoNames,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, "{.next = 0xffffc90000000040, .fifo = 4, .force_local = 1, .highpri = 0, .core = 42}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Any bytes decoded as any type of a mutated, once-valid blob: errors, never a panic.
    #[test]
    fn mutated_blobs_and_random_values_never_panic(
        big in any::<bool>(),
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..24),
        value in proptest::collection::vec(any::<u8>(), 0..160),
        pretty in any::<bool>(),
    ) {
        let (mut blob, _) = scalars(big);
        for (at, byte) in flips {
            let len = blob.len();
            // Keep the header: mutate the types and strings.
            let i = 24 + usize::from(at) % (len - 24);
            blob[i] ^= byte;
        }
        let Ok(words) = Btf::scratch_words(&blob) else { return Ok(()) };
        let mut scratch = vec![0u32; words.min(1 << 16)];
        let Ok(btf) = Btf::parse_in(&blob, &mut scratch) else { return Ok(()) };
        let limits = DecodeLimits { max_nodes: 512, ..DecodeLimits::DEFAULT };
        for id in 0..=btf.last_id().min(64) {
            let mut out = String::new();
            let style = if pretty { Style::Pretty { indent: 1 } } else { Style::Compact };
            let _ = format_value(&btf, id, &mut &value[..], &limits, style, NoNames, &mut out);
            let _ = btf.locate(id, u64::from(id) * 3, &limits);
            let _ = btf.type_size(id);
        }
    }
}
