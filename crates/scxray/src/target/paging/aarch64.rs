//! aarch64: the page tables and linear map from VMCOREINFO (QEMU records no TTBR1_EL1), the
//! kernel image range from `_text`/`_end`.

use crate::error::Error;
use crate::kernel::symbols::SymbolLookup;
use crate::source::VmcoreInfo;
use crate::target::setup::{Pa52, Paging, SetupStep};
use scxray_aarch64::{Aarch64Translator, KernelImage};
use scxray_core::{PhysAddr, VirtAddr};
use scxray_wire::Translator;

pub(super) fn translator(
    info: Option<&VmcoreInfo>,
    runtime: &SymbolLookup<'_>,
    setup: &mut Vec<SetupStep>,
) -> Result<(Translator, Paging), Error> {
    let info = info.ok_or_else(|| {
        Error::BadInput("aarch64 dumps need VMCOREINFO (QEMU records no TTBR1_EL1): none was found".into())
    })?;
    let need =
        |k: &str| info.number(k).ok_or_else(|| Error::BadInput(format!("VMCOREINFO lacks NUMBER({k})")));
    let voffset = need("kimage_voffset")? as u64;
    let va_bits = need("VA_BITS")? as u32;
    let phys_offset = need("PHYS_OFFSET")? as u64;
    let page_size = info.page_size().unwrap_or(4096);
    let t1sz = info.number("TCR_EL1_T1SZ").and_then(|v| u8::try_from(v).ok());
    let swapper = info
        .symbol("swapper_pg_dir")
        .ok_or_else(|| Error::BadInput("VMCOREINFO lacks SYMBOL(swapper_pg_dir)".into()))?;
    let in_use_va_bits = t1sz.map_or(va_bits, |t| 64 - u32::from(t));
    // 52-bit output addresses. With 4K/16K pages that is LPA2, on whenever the VA space in
    // use is 52 bits. With 64K pages it is FEAT_LPA: a kernel built for 52-bit PAs
    // (MAX_PHYSMEM_BITS = 52) writes PA bits 51:48 in descriptor bits 15:12 whatever the
    // VA size, and RAM may sit above 2^48.
    let lpa2 =
        if page_size == 65536 { info.number("MAX_PHYSMEM_BITS") == Some(52) } else { in_use_va_bits == 52 };
    let cfg = scxray_aarch64::Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(swapper.wrapping_sub(voffset)),
        va_bits,
        tcr_el1_t1sz: t1sz,
        page_size,
        lpa2,
    };
    let mut t = Aarch64Translator::from_kernel_config(&cfg)
        .map_err(|e| Error::BadInput(format!("aarch64 page tables from VMCOREINFO: {e:?}")))?
        .with_linux_linear_map(phys_offset);
    if let (Some(start), Some(end)) = (runtime("_text"), runtime("_end")) {
        t = t.with_kernel_image(KernelImage { start: VirtAddr(start), end: VirtAddr(end), voffset });
    }
    setup.push(SetupStep::Aarch64Tables {
        swapper_pg_dir: cfg.swapper_pg_dir.0,
        kimage_voffset: voffset,
        phys_offset,
    });
    let pa52 = match (lpa2, page_size) {
        (false, _) => None,
        (true, 65536) => Some(Pa52::Lpa),
        (true, _) => Some(Pa52::Lpa2),
    };
    Ok((Translator::Aarch64(t), Paging::Aarch64 { page_size, va_bits: in_use_va_bits, pa52 }))
}
