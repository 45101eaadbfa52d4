//! x86_64: paging mode from CR4 or VMCOREINFO, the root from CR3 or `init_top_pgt`, the
//! direct map from `page_offset_base`.

use crate::error::Error;
use crate::kernel::symbols::SymbolLookup;
use crate::source::Memory;
use crate::source::VmcoreInfo;
use crate::target::read::read_virt;
use crate::target::setup::{Paging, SetupStep, X86ModeFrom, X86RootFrom};
use scxray_core::{Field, PhysAddr, VirtAddr};
use scxray_wire::Translator;
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};

/// x86_64's `__START_KERNEL_map`: symbols below it are zero-based per-CPU offsets, which KASLR
/// does not move; the kernel image is mapped from it.
pub(in crate::target) const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

pub(super) fn translator(
    memory: &Memory,
    info: Option<&VmcoreInfo>,
    runtime: &SymbolLookup<'_>,
    setup: &mut Vec<SetupStep>,
) -> Result<(Translator, Paging), Error> {
    let phys_base = info.and_then(|v| v.number("phys_base")).map_or(0, |v| v as u64);
    let cpu0 = memory.cpu_notes().iter().find(|c| c.cr3.is_some()).copied();
    let mode = match (cpu0.and_then(|c| c.cr4), info.and_then(|v| v.number("pgtable_l5_enabled"))) {
        (Some(cr4), _) => {
            setup.push(SetupStep::X86Mode(X86ModeFrom::Cr4(cr4)));
            PagingMode::from_cr4(cr4)
        }
        (None, Some(l5)) => {
            setup.push(SetupStep::X86Mode(X86ModeFrom::Vmcoreinfo));
            PagingMode::from_pgtable_l5_enabled(u32::from(l5 != 0))
        }
        (None, None) => {
            setup.push(SetupStep::X86Mode(X86ModeFrom::Assumed));
            PagingMode::FourLevel
        }
    };
    let cr3 = match (cpu0.and_then(|c| c.cr3), info.and_then(|v| v.symbol("init_top_pgt"))) {
        (Some(cr3), _) => {
            setup.push(SetupStep::X86Root(X86RootFrom::Cr3(cr3)));
            cr3
        }
        (None, Some(pgt)) => {
            let pa = pgt.wrapping_sub(START_KERNEL_MAP).wrapping_add(phys_base);
            setup.push(SetupStep::X86Root(X86RootFrom::InitTopPgt(pa)));
            pa
        }
        (None, None) => {
            return Err(Error::BadInput(
                "no page-table root: the core has no CPU notes with CR3 and no VMCOREINFO (SYMBOL(init_top_pgt))"
                    .into(),
            ));
        }
    };
    // Under KASLR (CONFIG_RANDOMIZE_MEMORY) the vmalloc and vmemmap regions follow the direct
    // map at random but close distances: the direct map is only as large as RAM, so the linear
    // rule must cover only the physical memory the guest has; anything above goes to the page
    // walk (seen on 7.3: per-CPU chunks in vmalloc 80 TiB after page_offset_base).
    let phys_end = memory.phys_end();
    let mut config = X86Config {
        phys_base: PhysAddr(phys_base),
        phys_end: Some(PhysAddr(phys_end)),
        direct_map_size: phys_end.next_multiple_of(1 << 30),
        ..X86Config::new(Cr3(cr3), mode)
    };
    // page_offset_base is a variable in the kernel image: read it through the image rule.
    if let Some(sym) = runtime("page_offset_base") {
        let t = Translator::X86_64(X86Translator::new(config));
        let mut b = [0u8; 8];
        read_virt(memory, &t, VirtAddr(sym), &mut b, Field::PageOffsetBaseVar)
            .map_err(|e| Error::BadInput(format!("reading page_offset_base at {sym:#x}: {}", e.cause)))?;
        config.page_offset_base = VirtAddr(u64::from_le_bytes(b));
        setup.push(SetupStep::X86DirectMap(Some(config.page_offset_base.0)));
    } else {
        setup.push(SetupStep::X86DirectMap(None));
    }
    let levels = match mode {
        PagingMode::FiveLevel => 5,
        PagingMode::FourLevel => 4,
    };
    Ok((Translator::X86_64(X86Translator::new(config)), Paging::X86_64 { levels }))
}
