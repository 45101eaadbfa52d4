//! The one context every walker shares: memory, translator, layout, symbols and caps.

use crate::addr::{PhysAddr, VirtAddr};
use crate::error::{Field, ReadCause, ReadError};
use crate::layout::Layout;
use crate::limits::Limits;
use crate::memory::{LeInt, MemError, PhysMem};
use crate::symbols::{KernelSymbols, PerCpuOffsets};
use crate::translate::{LinearRange, Translate};
use zerocopy::{FromBytes, IntoBytes};

/// The smallest page any supported guest uses: a read that crosses this boundary is split,
/// because virtually contiguous memory (vmalloc, per-CPU chunks) need not be physically so.
const MIN_PAGE: u64 = 4096;

/// A guest as the walkers see it. Cheap to copy: it only borrows.
#[derive(Debug)]
pub struct Guest<'a, M: ?Sized, T: ?Sized> {
    /// Guest-physical memory.
    pub mem: &'a M,
    /// Kernel virtual -> physical translation.
    pub translator: &'a T,
    /// Member offsets.
    pub layout: &'a Layout,
    /// Symbol addresses and machine shape.
    pub symbols: KernelSymbols<'a>,
    /// Caps on every pointer chase.
    pub limits: Limits,
}

impl<M: ?Sized, T: ?Sized> Clone for Guest<'_, M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: ?Sized, T: ?Sized> Copy for Guest<'_, M, T> {}

impl<'a, M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'a, M, T> {
    /// A guest with the default caps.
    pub fn new(mem: &'a M, translator: &'a T, layout: &'a Layout, symbols: KernelSymbols<'a>) -> Self {
        Self { mem, translator, layout, symbols, limits: Limits::DEFAULT }
    }

    /// The same guest under other caps.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Translates `kva`, naming `field` in the error.
    #[inline]
    pub fn translate(&self, kva: VirtAddr, field: Field) -> Result<PhysAddr, ReadError> {
        self.translator.translate(self.mem, kva).map_err(|e| ReadError {
            field,
            kva,
            cause: ReadCause::Translate(e),
        })
    }

    /// Reads `buf.len()` bytes at `kva`, translating each page separately.
    pub fn read_bytes(&self, kva: VirtAddr, buf: &mut [u8], field: Field) -> Result<(), ReadError> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..) {
            if rest.is_empty() {
                break;
            }
            let at = kva.member(u64::try_from(done).unwrap_or(u64::MAX), field)?;
            // Bytes left before the next page boundary: MIN_PAGE minus the offset in page.
            let to_page_end = MIN_PAGE.saturating_sub(at.offset_in(MIN_PAGE));
            let n = usize::try_from(to_page_end).map_or(rest.len(), |p| p.min(rest.len()));
            let chunk = rest.get_mut(..n).unwrap_or(&mut []);
            let pa = self.translate(at, field)?;
            self.mem.read(pa, chunk).map_err(|e| ReadError {
                field,
                kva: at,
                cause: ReadCause::Memory(e),
            })?;
            done = done.saturating_add(n);
        }
        Ok(())
    }

    /// The NUL-terminated string at `kva` (what a `char *` points to: a name, a path), read
    /// into `buf` one page at a time up to its NUL, so a short string just before unmapped
    /// memory still reads. Returns the bytes before the NUL, and `true` when the string went
    /// on past `buf` (then all of `buf`).
    ///
    /// # Errors
    /// A page the string reaches before its NUL does not translate or read.
    pub fn read_c_string<'b>(
        &self,
        kva: VirtAddr,
        buf: &'b mut [u8],
        field: Field,
    ) -> Result<(&'b [u8], bool), ReadError> {
        let mut len = 0usize;
        while let Some(rest) = buf.get_mut(len..).filter(|r| !r.is_empty()) {
            let at = kva.member(u64::try_from(len).unwrap_or(u64::MAX), field)?;
            let to_page_end = MIN_PAGE.saturating_sub(at.offset_in(MIN_PAGE));
            let n = usize::try_from(to_page_end).map_or(rest.len(), |p| p.min(rest.len()));
            let chunk = rest.get_mut(..n).unwrap_or(&mut []);
            self.read_bytes(at, chunk, field)?;
            if let Some(end) = chunk.iter().position(|&b| b == 0) {
                return Ok((buf.get(..len.saturating_add(end)).unwrap_or(&[]), false));
            }
            len = len.saturating_add(n);
        }
        Ok((buf.get(..len).unwrap_or(&[]), true))
    }

    /// Whether `len` bytes at `kva` lie inside one page (the common case: one translation).
    #[inline]
    fn in_page(kva: VirtAddr, len: usize) -> bool {
        u64::try_from(len).is_ok_and(|n| kva.offset_in(MIN_PAGE).saturating_add(n) <= MIN_PAGE)
    }

    /// The `T` whose bytes are at `kva`, as guest memory holds them (multi-byte fields of `T`
    /// are zerocopy's `little_endian` types), with errors naming `field`. A value inside one
    /// page (the common case) is one translation and one [`PhysMem::read_obj`]; one that
    /// crosses a page is read page by page.
    ///
    /// # Errors
    /// A page of it does not translate or read.
    pub fn read_obj<V: FromBytes + IntoBytes>(&self, kva: VirtAddr, field: Field) -> Result<V, ReadError> {
        self.read_typed::<V, V>(kva, field, |mem, pa| mem.read_obj(pa), |v| v)
    }

    /// The little-endian integer at `kva`: [`Guest::read_obj`] of its [`LeInt::Le`], through
    /// [`PhysMem::read_le`] inside a page.
    ///
    /// # Errors
    /// As [`Guest::read_obj`].
    pub fn read_le<V: LeInt>(&self, kva: VirtAddr, field: Field) -> Result<V, ReadError> {
        self.read_typed::<V::Le, V>(kva, field, |mem, pa| mem.read_le(pa), V::from_le)
    }

    /// The shape of both typed reads: the `size_of::<B>()` bytes at `kva` inside one page are
    /// one translation and `read_in_page`; across a page they are read page by page into a
    /// `B` and `decode`d. Not `#[inline]`: forced into the list walk (its head is read with
    /// it), it cost the loop its registers (0.58x of the bare chase instead of 0.68x).
    fn read_typed<B: FromBytes + IntoBytes, R>(
        &self,
        kva: VirtAddr,
        field: Field,
        read_in_page: impl FnOnce(&M, PhysAddr) -> Result<R, MemError>,
        decode: impl FnOnce(B) -> R,
    ) -> Result<R, ReadError> {
        if Self::in_page(kva, size_of::<B>()) {
            let pa = self.translate(kva, field)?;
            return read_in_page(self.mem, pa).map_err(|e| ReadError {
                field,
                kva,
                cause: ReadCause::Memory(e),
            });
        }
        let mut bytes = B::new_zeroed();
        self.read_bytes(kva, bytes.as_mut_bytes(), field)?;
        Ok(decode(bytes))
    }

    /// A list node's `next` pointer ([`Field::ListHeadNext`]). `span` is the last span a
    /// translation answered for ([`Translate::translate_span`]): a node inside it is read
    /// without translating, and a node outside it is translated and its span kept for the
    /// nodes after it and for the node's flags. Always inlined: this is the critical path of
    /// every list walk (a call would store and reload the pointer per node).
    #[inline(always)]
    pub(crate) fn read_next(
        &self,
        node: VirtAddr,
        span: &mut Option<LinearRange>,
    ) -> Result<VirtAddr, ReadError> {
        let field = Field::ListHeadNext;
        let pa = match span.as_ref().and_then(|r| r.apply_len(node, 8)) {
            Some(pa) => pa,
            None => {
                if !Self::in_page(node, 8) {
                    *span = None;
                    return self.read_le_cold(node, field).map(VirtAddr);
                }
                let (pa, s) = self.translator.translate_span(self.mem, node).map_err(|e| ReadError {
                    field,
                    kva: node,
                    cause: ReadCause::Translate(e),
                })?;
                *span = s;
                pa
            }
        };
        let next =
            self.mem.read_le(pa).map_err(|e| ReadError { field, kva: node, cause: ReadCause::Memory(e) })?;
        Ok(VirtAddr(next))
    }

    /// Reads a little-endian `u32`, `None` when it cannot be read: [`Guest::read_le`] for
    /// callers that drop the error, without building one (a list node's cursor flags).
    /// Inside `span` (see [`Guest::read_next`]) the physical address is derived instead of
    /// translated again.
    #[inline(always)]
    pub(crate) fn read_u32_in(&self, kva: VirtAddr, span: Option<&LinearRange>) -> Option<u32> {
        let pa = match span.and_then(|r| r.apply_len(kva, 4)) {
            Some(pa) => pa,
            None if !Self::in_page(kva, 4) => return self.read_le_cold(kva, Field::ListHeadNext).ok(),
            None => self.translator.translate(self.mem, kva).ok()?,
        };
        self.mem.read_le(pa).ok()
    }

    /// The span one translation of `kva` answers for ([`Translate::translate_span`]); `None`
    /// when the translator promises none or `kva` does not translate.
    #[inline]
    pub(crate) fn span_of(&self, kva: VirtAddr) -> Option<LinearRange> {
        self.translator.translate_span(self.mem, kva).ok().and_then(|(_, span)| span)
    }

    /// What one translation of an object at `kva` gives the reads of its members
    /// ([`Guest::read_le_in`], [`Guest::read_bytes_in`]): the span `kva` lies in and, when
    /// the span covers `kva + window.start .. kva + window.end` and the memory holds those
    /// bytes in place ([`PhysMem::in_place`]), those bytes borrowed. Without either, every
    /// member is read, and fails, the checked way.
    #[inline]
    pub(crate) fn near(&self, kva: VirtAddr, window: core::ops::Range<u32>) -> Near<'a> {
        self.near_in(kva, window, self.span_of(kva))
    }

    /// [`Guest::near`] with the span `kva` lies in already known (a span answers for every
    /// address in it, so one translation serves every object inside it).
    #[inline]
    pub(crate) fn near_in(
        &self,
        kva: VirtAddr,
        window: core::ops::Range<u32>,
        span: Option<LinearRange>,
    ) -> Near<'a> {
        let bytes = span.as_ref().and_then(|s| {
            let start = kva.0.checked_add(u64::from(window.start)).map(VirtAddr)?;
            let len = window.end.checked_sub(window.start)?;
            let pa = s.apply_len(start, u64::from(len))?;
            Some((start, self.mem.in_place(pa, usize::try_from(len).ok()?)?))
        });
        Near { span, bytes }
    }

    /// [`Guest::read_le`] of a member of the object `near` was made for: decoded from its
    /// borrowed bytes when it lies inside them, else at the address its span derives (no
    /// translation), else the checked way. A member outside both, or whose read fails, is
    /// read the checked way, so the value or the error is the one [`Guest::read_le`] gives
    /// (same field, same address); the borrowed bytes are the ones a read would copy.
    #[inline]
    pub(crate) fn read_le_in<V: LeInt>(
        &self,
        kva: VirtAddr,
        near: &Near<'_>,
        field: Field,
    ) -> Result<V, ReadError> {
        if let Some(v) = near.le(kva) {
            return Ok(v);
        }
        let len = u64::try_from(size_of::<V::Le>()).unwrap_or(u64::MAX);
        match near.span.as_ref().and_then(|r| r.apply_len(kva, len)).map(|pa| self.mem.read_le(pa)) {
            Some(Ok(v)) => Ok(v),
            _ => self.read_le(kva, field),
        }
    }

    /// [`Guest::read_bytes`] of a member of the object `near` was made for, as
    /// [`Guest::read_le_in`] reads an integer.
    pub(crate) fn read_bytes_in(
        &self,
        kva: VirtAddr,
        buf: &mut [u8],
        near: &Near<'_>,
        field: Field,
    ) -> Result<(), ReadError> {
        if let Some(b) = near.borrowed(kva, buf.len()) {
            buf.copy_from_slice(b);
            return Ok(());
        }
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        match near.span.as_ref().and_then(|r| r.apply_len(kva, len)).map(|pa| self.mem.read(pa, buf)) {
            Some(Ok(())) => Ok(()),
            _ => self.read_bytes(kva, buf, field),
        }
    }

    /// [`Guest::read_le`] out of line and cold, for the rare value of a list node that
    /// straddles a page: the loops that inline [`Guest::read_next`] and [`Guest::read_u32_in`]
    /// keep their registers for the common path.
    #[cold]
    #[inline(never)]
    fn read_le_cold<V: LeInt>(&self, kva: VirtAddr, field: Field) -> Result<V, ReadError> {
        self.read_le(kva, field)
    }

    /// Reads a pointer (guests are 64-bit).
    ///
    /// # Errors
    /// As [`Guest::read_obj`].
    pub fn read_ptr(&self, kva: VirtAddr, field: Field) -> Result<VirtAddr, ReadError> {
        self.read_le(kva, field).map(VirtAddr)
    }

    /// How many CPU slots the per-CPU walks visit: `nr_cpus`, bounded by the slots the
    /// offsets source has (a CPU with no slot has no per-CPU area) and by the kernel's
    /// largest `NR_CPUS`.
    pub(crate) fn cpu_count(&self) -> u32 {
        let slots = match self.symbols.per_cpu_offsets {
            Some(PerCpuOffsets::Slice(s)) => u32::try_from(s.len()).unwrap_or(u32::MAX),
            Some(PerCpuOffsets::Guest { slots, .. }) => slots,
            None => 0,
        };
        // CPU 0 exists even with an empty offsets source (a uniprocessor kernel).
        self.symbols.nr_cpus.min(slots.max(1)).min(crate::limits::MAX_CPUS)
    }

    /// `__per_cpu_offset[cpu]`, or `None` when the CPU has no per-CPU area and must be
    /// skipped: a zero slot for cpu > 0 (the unused tail past `nr_cpu_ids`), or no slot.
    /// Comparing rq addresses instead would be wrong: CPU 0's offset is non-zero on SMP x86.
    pub fn per_cpu_offset(&self, cpu: u32) -> Result<Option<u64>, ReadError> {
        let value = match self.symbols.per_cpu_offsets {
            Some(PerCpuOffsets::Slice(s)) => usize::try_from(cpu).ok().and_then(|i| s.get(i)).copied(),
            Some(PerCpuOffsets::Guest { kva, slots }) if cpu < slots => {
                let at = kva.member(u64::from(cpu).saturating_mul(8), Field::PerCpuOffset)?;
                Some(self.read_le(at, Field::PerCpuOffset)?)
            }
            Some(PerCpuOffsets::Guest { .. }) | None => None,
        };
        Ok(match (cpu, value) {
            (0, None) => Some(0),
            (0, Some(v)) => Some(v),
            (_, Some(0) | None) => None,
            (_, Some(v)) => Some(v),
        })
    }

    /// The address of a per-CPU variable for `cpu`: `base + __per_cpu_offset[cpu]`, in the
    /// kernel's own modular `unsigned long` arithmetic (on arm64 the offset is "negative").
    pub fn per_cpu_ptr(&self, base: VirtAddr, cpu: u32) -> Result<Option<VirtAddr>, ReadError> {
        Ok(self.per_cpu_offset(cpu)?.map(|off| base.wrapping_add(off)))
    }
}

/// What one translation of an object's address gives the reads of its members: see
/// [`Guest::near`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Near<'a> {
    /// The linear span the object's address lies in.
    span: Option<LinearRange>,
    /// The object's bytes from this address on, borrowed from the memory.
    bytes: Option<(VirtAddr, &'a [u8])>,
}

impl<'a> Near<'a> {
    /// The `len` borrowed bytes at `kva`, when they lie inside the borrowed window.
    #[inline]
    pub(crate) fn borrowed(&self, kva: VirtAddr, len: usize) -> Option<&'a [u8]> {
        let (start, bytes) = self.bytes?;
        let off = usize::try_from(kva.checked_offset_from(start)?).ok()?;
        bytes.get(off..off.checked_add(len)?)
    }

    /// The borrowed window, from the address it was asked from.
    #[inline]
    pub(crate) fn lent(&self) -> Option<&'a [u8]> {
        self.bytes.map(|(_, b)| b)
    }

    /// The little-endian integer at `kva`, when it lies inside the borrowed window.
    #[inline]
    pub(crate) fn le<V: LeInt>(&self, kva: VirtAddr) -> Option<V> {
        let (start, bytes) = self.bytes?;
        crate::memory::le_at(bytes, usize::try_from(kva.checked_offset_from(start)?).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AddressKind, FlatImage, Layout, LinearRange, LinearTranslator};

    /// Two pages of memory, the second unmapped: strings near the end of the first.
    #[test]
    fn c_strings_stop_at_their_nul_the_buffer_or_unmapped_memory() {
        let mut bytes = [b'x'; 4096];
        bytes[4090..4094].copy_from_slice(b"/sub");
        bytes[4094] = 0;
        let mem = FlatImage::new(PhysAddr(0), &bytes);
        let base = 0xffff_8880_0000_0000;
        let ranges = [LinearRange {
            va_start: VirtAddr(base),
            len: 4096,
            pa_start: PhysAddr(0),
            kind: AddressKind::DirectMap,
        }];
        let t = LinearTranslator::new(&ranges);
        let layout = Layout::default();
        let symbols = KernelSymbols {
            runqueues: None,
            per_cpu_offsets: None,
            scx_root: None,
            scx_tasks: None,
            nr_threads: None,
            nr_cpus: 1,
            nr_nodes: 1,
            globals: None,
        };
        let g = Guest::new(&mem, &t, &layout, symbols);
        let mut buf = [0u8; 64];
        // A short string just before unmapped memory still reads.
        let (s, cut) = g.read_c_string(VirtAddr(base + 4090), &mut buf, Field::SchedCgrpPathString).unwrap();
        assert_eq!((s, cut), (&b"/sub"[..], false));
        // Longer than the buffer: all of it, cut.
        let mut small = [0u8; 3];
        assert_eq!(
            g.read_c_string(VirtAddr(base + 4090), &mut small, Field::SchedCgrpPathString).unwrap(),
            (&b"/su"[..], true)
        );
        // Running into unmapped memory before its NUL: an error naming the address.
        let e = g.read_c_string(VirtAddr(base + 4095), &mut buf, Field::SchedOpsName).unwrap_err();
        assert_eq!((e.kva, e.field), (VirtAddr(base + 4096), Field::SchedOpsName));
    }
}
