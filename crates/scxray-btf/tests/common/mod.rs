//! A small BTF writer for the tests: emits raw BTF blobs (either byte order, base or split)
//! from typed calls, and a synthetic sched_ext kernel built with it.
#![allow(dead_code)]

pub mod kernel;

/// A member of a struct or union being built.
#[derive(Clone, Copy, Debug)]
pub struct M<'s> {
    pub name: &'s str,
    pub ty: u32,
    pub bits: u32,
    pub bitfield: u8,
}

/// A byte-aligned member at `byte_off`.
pub fn m(name: &str, ty: u32, byte_off: u32) -> M<'_> {
    M { name, ty, bits: byte_off * 8, bitfield: 0 }
}

/// A bitfield member at `bit_off`, `size` bits wide.
pub fn bf(name: &str, ty: u32, bit_off: u32, size: u8) -> M<'_> {
    M { name, ty, bits: bit_off, bitfield: size }
}

/// Kind numbers.
pub mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// Builds one BTF blob.
#[derive(Clone, Debug)]
pub struct BtfBuilder {
    pub big_endian: bool,
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
    str_base: u32,
    /// Extra bytes appended to the header (hdr_len > 24).
    pub header_padding: u32,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// A little-endian base blob.
    pub fn new() -> Self {
        Self {
            big_endian: false,
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
            str_base: 0,
            header_padding: 0,
        }
    }

    /// A big-endian base blob.
    pub fn big() -> Self {
        Self { big_endian: true, ..Self::new() }
    }

    /// A split blob on top of what `base` builds: ids and string offsets continue after it.
    pub fn split_on(base: &BtfBuilder) -> Self {
        Self {
            big_endian: base.big_endian,
            types: Vec::new(),
            strings: vec![0],
            next_id: base.next_id,
            str_base: base.str_base + u32::try_from(base.strings.len()).unwrap(),
            header_padding: 0,
        }
    }

    /// The id the next type will get.
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Total string bytes so far (including a base's, for split blobs).
    pub fn str_end(&self) -> u32 {
        self.str_base + u32::try_from(self.strings.len()).unwrap()
    }

    /// Adds a string (the empty string is offset 0, as in every blob) and returns its offset.
    pub fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.str_end();
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn word(&mut self, v: u32) {
        let b = if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        self.types.extend_from_slice(&b);
    }

    /// A type head; returns the new id.
    pub fn head(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32) -> u32 {
        let name_off = self.str(name);
        let info = (u32::from(kind_flag) << 31) | (kind << 24) | vlen;
        self.word(name_off);
        self.word(info);
        self.word(size_or_type);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let id = self.head(name, kind::INT, 0, false, size);
        self.word((u32::from(signed) << 24) | (size * 8));
        id
    }

    /// An INT with its whole encoding word: `encoding` (1 signed, 2 char, 4 bool), and the
    /// legacy bitfield `offset` and `bits` inside its `size` bytes.
    pub fn int_enc(&mut self, name: &str, size: u32, encoding: u32, offset: u32, bits: u32) -> u32 {
        let id = self.head(name, kind::INT, 0, false, size);
        self.word((encoding << 24) | (offset << 16) | bits);
        id
    }

    pub fn ptr(&mut self, ty: u32) -> u32 {
        self.head("", kind::PTR, 0, false, ty)
    }

    pub fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
        let id = self.head("", kind::ARRAY, 0, false, 0);
        self.word(elem);
        self.word(index);
        self.word(nelems);
        id
    }

    fn composite(&mut self, k: u32, name: &str, size: u32, members: &[M<'_>]) -> u32 {
        let kflag = members.iter().any(|m| m.bitfield != 0);
        let id = self.head(name, k, u32::try_from(members.len()).unwrap(), kflag, size);
        for mem in members {
            let n = self.str(mem.name);
            self.word(n);
            self.word(mem.ty);
            let off = if kflag { (u32::from(mem.bitfield) << 24) | mem.bits } else { mem.bits };
            self.word(off);
        }
        id
    }

    pub fn struct_(&mut self, name: &str, size: u32, members: &[M<'_>]) -> u32 {
        self.composite(kind::STRUCT, name, size, members)
    }

    pub fn union_(&mut self, name: &str, size: u32, members: &[M<'_>]) -> u32 {
        self.composite(kind::UNION, name, size, members)
    }

    pub fn enum_(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i64)]) -> u32 {
        let id = self.head(name, kind::ENUM, u32::try_from(values.len()).unwrap(), signed, size);
        for &(n, v) in values {
            let n = self.str(n);
            self.word(n);
            self.word(v as u32);
        }
        id
    }

    pub fn enum64(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, u64)]) -> u32 {
        let id = self.head(name, kind::ENUM64, u32::try_from(values.len()).unwrap(), signed, size);
        for &(n, v) in values {
            let n = self.str(n);
            self.word(n);
            self.word(v as u32);
            self.word((v >> 32) as u32);
        }
        id
    }

    pub fn fwd(&mut self, name: &str, is_union: bool) -> u32 {
        self.head(name, kind::FWD, 0, is_union, 0)
    }

    pub fn typedef(&mut self, name: &str, ty: u32) -> u32 {
        self.head(name, kind::TYPEDEF, 0, false, ty)
    }

    pub fn volatile(&mut self, ty: u32) -> u32 {
        self.head("", kind::VOLATILE, 0, false, ty)
    }

    pub fn const_(&mut self, ty: u32) -> u32 {
        self.head("", kind::CONST, 0, false, ty)
    }

    pub fn restrict(&mut self, ty: u32) -> u32 {
        self.head("", kind::RESTRICT, 0, false, ty)
    }

    pub fn func(&mut self, name: &str, proto: u32, linkage: u32) -> u32 {
        self.head(name, kind::FUNC, linkage, false, proto)
    }

    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let id = self.head("", kind::FUNC_PROTO, u32::try_from(params.len()).unwrap(), false, ret);
        for &(n, t) in params {
            let n = self.str(n);
            self.word(n);
            self.word(t);
        }
        id
    }

    pub fn var(&mut self, name: &str, ty: u32, linkage: u32) -> u32 {
        let id = self.head(name, kind::VAR, 0, false, ty);
        self.word(linkage);
        id
    }

    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let id = self.head(name, kind::DATASEC, u32::try_from(vars.len()).unwrap(), false, size);
        for &(t, off, sz) in vars {
            self.word(t);
            self.word(off);
            self.word(sz);
        }
        id
    }

    pub fn float(&mut self, name: &str, size: u32) -> u32 {
        self.head(name, kind::FLOAT, 0, false, size)
    }

    pub fn decl_tag(&mut self, name: &str, ty: u32, component_idx: i32) -> u32 {
        let id = self.head(name, kind::DECL_TAG, 0, false, ty);
        self.word(component_idx as u32);
        id
    }

    pub fn type_tag(&mut self, name: &str, ty: u32) -> u32 {
        self.head(name, kind::TYPE_TAG, 0, false, ty)
    }

    /// The blob: header, types, strings.
    pub fn build(&self) -> Vec<u8> {
        let hdr_len = 24 + self.header_padding;
        let mut out = Vec::new();
        let w16 = |out: &mut Vec<u8>, v: u16| {
            out.extend_from_slice(&if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        let w32 = |out: &mut Vec<u8>, v: u32| {
            out.extend_from_slice(&if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        w16(&mut out, 0xeb9f);
        out.push(1);
        out.push(0);
        w32(&mut out, hdr_len);
        let type_len = u32::try_from(self.types.len()).unwrap();
        w32(&mut out, 0);
        w32(&mut out, type_len);
        w32(&mut out, type_len);
        w32(&mut out, u32::try_from(self.strings.len()).unwrap());
        out.resize(usize::try_from(hdr_len).unwrap(), 0);
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// Parses with a scratch buffer of exactly the size asked for.
pub fn scratch_for(data: &[u8]) -> Vec<u32> {
    vec![0; scxray_btf::Btf::scratch_words(data).unwrap()]
}
