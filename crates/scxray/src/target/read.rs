//! Reads through a translator before there is a [`super::Target`]: what configuration reads
//! in guest memory (kallsyms, `page_offset_base`, the BTF, the machine's shape), each labelled
//! with the field it reads.

use crate::source::Memory;
use crate::source::bytes::SharedBytes;
use scxray_core::{Field, PhysAddr, PhysMem, ReadCause, ReadError, Translate, VirtAddr};
use scxray_wire::Translator;

/// Reads `buf.len()` bytes of guest virtual memory at `va`, page by page through `t`.
pub(super) fn read_virt(
    mem: &Memory,
    t: &Translator,
    va: VirtAddr,
    buf: &mut [u8],
    field: Field,
) -> Result<(), ReadError> {
    let mut done = 0usize;
    while done < buf.len() {
        let at = va.member(done as u64, field)?;
        let n = ((4096 - at.offset_in(4096)) as usize).min(buf.len() - done);
        let error = |cause| ReadError { field, kva: at, cause };
        let pa = t.translate(mem, at).map_err(|e| error(ReadCause::Translate(e)))?;
        mem.read(pa, &mut buf[done..done + n]).map_err(|e| error(ReadCause::Memory(e)))?;
        done += n;
    }
    Ok(())
}

/// The `len` bytes of guest virtual memory at `va` shared from the mapped source
/// ([`Memory::share`]) when every page of them translates to the next physical page (one run
/// of physical memory, as [`read_virt`] would read it page by page); `None` otherwise, and
/// the caller reads them.
pub(super) fn share_virt(mem: &Memory, t: &Translator, va: u64, len: u64) -> Option<SharedBytes> {
    const PAGE: u64 = 4096;
    let first = t.translate(mem, VirtAddr(va)).ok()?;
    let end = va.checked_add(len)?;
    let mut page = va & !(PAGE - 1);
    while page < end {
        let at = page.max(va);
        let pa: PhysAddr = t.translate(mem, VirtAddr(at)).ok()?;
        (pa.0.checked_sub(first.0)? == at - va).then_some(())?;
        page = page.checked_add(PAGE)?;
    }
    mem.share(first, usize::try_from(len).ok()?)
}
