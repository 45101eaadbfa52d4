//! The kernel's BTF, and what scxray asks of it by name: an enum's constants, a member's
//! offset by its dotted path, a struct's `s64` members. Answers are empty (or `None`) when
//! the kernel has no such type: an older or newer kernel, not an error.

use crate::source::bytes::SharedBytes;
use scxray_btf::{Btf, BtfError, BtfIndex};
use std::ops::Deref;

/// An enum's constants as `(name, bit pattern)`, in BTF order.
pub type EnumConstants = Vec<(String, u64)>;

/// The kernel's raw BTF with the index built the one time it was parsed (a later parse with
/// the index reads the header only, not the ~150 000 types again).
#[derive(Debug, Default)]
pub struct KernelBtf {
    bytes: BtfBytes,
    index: Option<BtfIndex>,
}

/// The BTF's bytes: read into memory (a file, a vmlinux's section, a guest that does not lend
/// its bytes), or the mapped dump's own, shared (megabytes not copied to the heap, and not
/// faulted in page by page there).
#[derive(Debug)]
pub enum BtfBytes {
    /// Read.
    Owned(Vec<u8>),
    /// The mapped source's.
    Shared(SharedBytes),
}

impl Default for BtfBytes {
    fn default() -> Self {
        Self::Owned(Vec::new())
    }
}

impl From<Vec<u8>> for BtfBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::Owned(v)
    }
}

impl Deref for BtfBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Shared(s) => s,
        }
    }
}

impl KernelBtf {
    /// Parses `bytes` once and keeps the index.
    ///
    /// # Errors
    /// `bytes` is not valid BTF.
    pub fn new(bytes: impl Into<BtfBytes>) -> Result<Self, BtfError> {
        let bytes = bytes.into();
        let index = Btf::parse(&bytes)?.into_index();
        Ok(Self { bytes, index })
    }

    /// Whether the bytes are the mapped dump's own, not a copy.
    pub fn is_shared(&self) -> bool {
        matches!(self.bytes, BtfBytes::Shared(_))
    }

    /// No BTF beyond a layout the caller already has (a test's guest, an embedder's).
    pub fn none() -> Self {
        Self::default()
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The parsed BTF: with the index when there is one, else parsed anew; `None` when the
    /// bytes are not valid BTF (or there are none).
    pub fn parsed(&self) -> Option<Btf<'_>> {
        match &self.index {
            Some(index) => Btf::with_index(&self.bytes, index).ok(),
            None => Btf::parse(&self.bytes).ok(),
        }
    }

    /// The by-name lookups.
    pub fn types(&self) -> KernelTypes<'_> {
        KernelTypes::new(self.parsed())
    }
}

/// By-name lookups in the kernel's BTF.
#[derive(Debug)]
pub struct KernelTypes<'a> {
    btf: Option<Btf<'a>>,
}

impl<'a> KernelTypes<'a> {
    /// Lookups over `btf` (none: every answer empty).
    pub fn new(btf: Option<Btf<'a>>) -> Self {
        Self { btf }
    }

    /// Every constant of `enum name`, each as the bit pattern the kernel stores in an object
    /// of the enum's size.
    pub fn enum_constants(&self, name: &str) -> EnumConstants {
        let Some(btf) = &self.btf else { return Vec::new() };
        let Ok(Some(ty)) = btf.find_enum(name) else { return Vec::new() };
        (0..u32::from(ty.vlen))
            .filter_map(|i| ty.enumerator(i))
            .filter_map(|e| Some((btf.str_at(e.name_off).ok()?.to_owned(), e.value.bits()?)))
            .collect()
    }

    /// The name of the constant of `enum name` whose bit pattern is `value`.
    pub fn enum_name(&self, name: &str, value: u64) -> Option<String> {
        self.enum_constants(name).into_iter().find(|&(_, v)| v == value).map(|(n, _)| n)
    }

    /// The bit pattern of `constant` in `enum name`.
    pub fn enum_value(&self, name: &str, constant: &str) -> Option<u64> {
        self.enum_constants(name).into_iter().find(|(n, _)| n == constant).map(|(_, v)| v)
    }

    /// The byte offset of a dotted member path (`scx_sched.exit_info`).
    pub fn offset(&self, path: &str) -> Option<u64> {
        let btf = self.btf.as_ref()?;
        btf.member_offset(path).ok().flatten()?.byte_offset().map(u64::from)
    }

    /// Named `s64` members of a struct with their byte offsets (the event counters).
    pub fn s64_members(&self, strukt: &str) -> Vec<(String, u64)> {
        let Some(btf) = &self.btf else { return Vec::new() };
        let Ok(Some(ty)) = btf.find_struct(strukt) else { return Vec::new() };
        let Ok(members) = btf.flat_members(ty) else { return Vec::new() };
        members
            .filter_map(Result::ok)
            .filter(|m| m.bitfield_size == 0 && m.bit_offset % 8 == 0)
            .map(|m| (m.name.to_owned(), m.bit_offset / 8))
            .collect()
    }
}
