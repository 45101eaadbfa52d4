//! The on-disk records of BTF, as `zerocopy` types generic over the byte order.
//!
//! Every record is `Unaligned`, so it is read in place from any byte slice with
//! [`zerocopy::Ref::from_prefix`]; the byte order is chosen once per blob from the magic.

use zerocopy::byteorder::{ByteOrder, U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct btf_header` (24 bytes; `hdr_len` may announce a longer one).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Header<O: ByteOrder> {
    pub magic: U16<O>,
    pub version: u8,
    pub flags: u8,
    pub hdr_len: U32<O>,
    pub type_off: U32<O>,
    pub type_len: U32<O>,
    pub str_off: U32<O>,
    pub str_len: U32<O>,
}

/// `struct btf_type`: the 12-byte head of every type record.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct TypeHead<O: ByteOrder> {
    pub name_off: U32<O>,
    pub info: U32<O>,
    pub size_or_type: U32<O>,
}

/// `struct btf_member`, `struct btf_array`, `struct btf_var_secinfo` and `struct btf_enum64`
/// are all three 32-bit words.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Words3<O: ByteOrder> {
    pub a: U32<O>,
    pub b: U32<O>,
    pub c: U32<O>,
}

/// `struct btf_enum` and `struct btf_param`: two 32-bit words.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Words2<O: ByteOrder> {
    pub a: U32<O>,
    pub b: U32<O>,
}

/// One 32-bit word (the INT encoding, `struct btf_var`, `struct btf_decl_tag`).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Word<O: ByteOrder> {
    pub a: U32<O>,
}

/// The byte order of a BTF blob, told by how its magic `0xEB9F` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian (x86_64, arm64, ...).
    Little,
    /// Big-endian (s390x, ...).
    Big,
}

/// Reads a record of type `$raw` at the start of `$bytes` in `$endian` and maps it with
/// `|$r| $body`; `None` when the slice is too short.
macro_rules! read_record {
    ($bytes:expr, $endian:expr, $raw:ident, |$r:ident| $body:expr) => {
        match $endian {
            $crate::raw::Endian::Little => zerocopy::Ref::<
                &[u8],
                $crate::raw::$raw<zerocopy::byteorder::LittleEndian>,
            >::from_prefix($bytes)
            .ok()
            .map(|(rec, _)| {
                let $r = zerocopy::Ref::into_ref(rec);
                $body
            }),
            $crate::raw::Endian::Big => {
                zerocopy::Ref::<&[u8], $crate::raw::$raw<zerocopy::byteorder::BigEndian>>::from_prefix($bytes)
                    .ok()
                    .map(|(rec, _)| {
                        let $r = zerocopy::Ref::into_ref(rec);
                        $body
                    })
            }
        }
    };
}
pub(crate) use read_record;

/// Three words at byte `off` of `bytes`.
pub(crate) fn words3(bytes: &[u8], off: usize, endian: Endian) -> Option<[u32; 3]> {
    read_record!(bytes.get(off..)?, endian, Words3, |r| [r.a.get(), r.b.get(), r.c.get()])
}

/// Two words at byte `off` of `bytes`.
pub(crate) fn words2(bytes: &[u8], off: usize, endian: Endian) -> Option<[u32; 2]> {
    read_record!(bytes.get(off..)?, endian, Words2, |r| [r.a.get(), r.b.get()])
}

/// One word at byte `off` of `bytes`.
pub(crate) fn word(bytes: &[u8], off: usize, endian: Endian) -> Option<u32> {
    read_record!(bytes.get(off..)?, endian, Word, |r| r.a.get())
}
