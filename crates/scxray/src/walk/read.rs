//! The host's reads beside the walks, each labelled with the field it reads: a
//! [`Reading`] keeps apart "the kernel has nothing there" and "it is there but unreadable".

use crate::kernel::btf::KernelTypes;
use crate::source::Memory;
use crate::target::Target;
use scxray_core::{Field, Guest, LeInt, Limits, ReadError, VirtAddr};
use scxray_wire::Translator;

/// One value the host read from guest memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading<T> {
    /// Nothing to read: the kernel has no such variable or member (another version), or the
    /// pointer to it is NULL.
    Absent,
    /// The value.
    Value(T),
    /// It is there, but could not be read.
    Failed(ReadError),
}

impl<T> Reading<T> {
    /// The value, when read.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Failed(_) => None,
        }
    }

    /// Why it could not be read, when it could not.
    pub fn error(&self) -> Option<&ReadError> {
        match self {
            Self::Failed(e) => Some(e),
            Self::Absent | Self::Value(_) => None,
        }
    }

    /// The value mapped by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reading<U> {
        self.and_then(|v| Reading::Value(f(v)))
    }

    /// The reading `f` makes of the value (a pointer followed).
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Reading<U>) -> Reading<U> {
        match self {
            Self::Value(v) => f(v),
            Self::Absent => Reading::Absent,
            Self::Failed(e) => Reading::Failed(e),
        }
    }
}

impl<T: Copy> Reading<T> {
    /// The value, when read (for `Copy` values).
    pub fn get(&self) -> Option<T> {
        self.value().copied()
    }
}

impl<T> From<Result<T, ReadError>> for Reading<T> {
    fn from(r: Result<T, ReadError>) -> Self {
        match r {
            Ok(v) => Self::Value(v),
            Err(e) => Self::Failed(e),
        }
    }
}

/// Reads one guest's kernel variables and members by name.
pub(super) struct Reader<'t> {
    target: &'t Target,
    guest: Guest<'t, Memory, Translator>,
    types: KernelTypes<'t>,
}

impl<'t> Reader<'t> {
    pub fn new(target: &'t Target) -> Self {
        Self { target, guest: target.guest(Limits::DEFAULT), types: target.types() }
    }

    /// The kernel's BTF.
    pub fn types(&self) -> &KernelTypes<'t> {
        &self.types
    }

    /// The configured target.
    pub fn target(&self) -> &'t Target {
        self.target
    }

    /// The walker over the guest.
    pub fn guest(&self) -> &Guest<'t, Memory, Translator> {
        &self.guest
    }

    /// The first of `names` the kernel has, at its runtime address.
    pub fn symbol(&self, names: &[&str]) -> Option<VirtAddr> {
        names.iter().find_map(|n| self.target.symbol(n)).map(VirtAddr)
    }

    /// The address of the member at dotted `path` (`scx_sched.exit_info`) of the struct at
    /// `base`: `Absent` when BTF has no such member.
    pub fn member(&self, base: VirtAddr, path: &str, field: Field) -> Reading<VirtAddr> {
        match self.types.offset(path) {
            None => Reading::Absent,
            Some(off) => base.member(off, field).into(),
        }
    }

    /// The integer at `at` (`None`: the kernel has no such variable).
    pub fn int<T: LeInt>(&self, at: Option<VirtAddr>, field: Field) -> Reading<T> {
        match at {
            None => Reading::Absent,
            Some(at) => self.guest.read_le(at, field).into(),
        }
    }

    /// `words` little-endian 64-bit words at `at` (a CPU mask).
    pub fn words(&self, at: VirtAddr, words: usize, field: Field) -> Reading<Vec<u64>> {
        let mut b = vec![0u8; words * 8];
        self.guest
            .read_bytes(at, &mut b, field)
            .map(|()| {
                b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect()
            })
            .into()
    }

    /// The NUL-terminated string at `at`, at most `max` bytes (lossy UTF-8); `Absent` when
    /// `at` is NULL.
    pub fn string(&self, at: VirtAddr, max: usize, field: Field) -> Reading<String> {
        if at.0 == 0 {
            return Reading::Absent;
        }
        let mut buf = vec![0u8; max];
        self.guest
            .read_c_string(at, &mut buf, field)
            .map(|(s, _)| String::from_utf8_lossy(s).into_owned())
            .into()
    }

    /// The string the `char *` at `at` (`pointer`) points to (`string`).
    pub fn string_at_pointer(
        &self,
        at: VirtAddr,
        max: usize,
        pointer: Field,
        string: Field,
    ) -> Reading<String> {
        self.int::<u64>(Some(at), pointer).and_then(|p| self.string(VirtAddr(p), max, string))
    }
}
