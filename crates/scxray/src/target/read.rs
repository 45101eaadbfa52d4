//! Reads through a translator before there is a [`super::Target`]: what configuration reads
//! in guest memory (kallsyms, `page_offset_base`, the BTF, the machine's shape).

use crate::source::Memory;
use scxray_core::{PhysMem, Translate, VirtAddr};
use scxray_wire::Translator;

/// Reads guest virtual memory page by page through `t`.
pub(super) fn read_virt(mem: &Memory, t: &Translator, va: u64, buf: &mut [u8]) -> Result<(), String> {
    let mut done = 0usize;
    while done < buf.len() {
        let at = va.wrapping_add(done as u64);
        let n = ((4096 - (at & 4095)) as usize).min(buf.len() - done);
        let pa = t.translate(mem, VirtAddr(at)).map_err(|e| e.to_string())?;
        mem.read(pa, &mut buf[done..done + n]).map_err(|e| e.to_string())?;
        done += n;
    }
    Ok(())
}
