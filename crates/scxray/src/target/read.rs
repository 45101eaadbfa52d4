//! Reads through a translator before there is a [`super::Target`]: what configuration reads
//! in guest memory (kallsyms, `page_offset_base`, the BTF, the machine's shape), each labelled
//! with the field it reads.

use crate::source::Memory;
use scxray_core::{Field, PhysMem, ReadCause, ReadError, Translate, VirtAddr};
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
