//! What configuration found, and where: one typed value per step, in order, rendered as the
//! lines `scxray info` prints.

use crate::kernel::vmlinux::Arch;
use std::fmt;
use std::path::PathBuf;

/// The guest's paging, in the words of the report (`x86_64 5-level`, `aarch64 4K granule,
/// 52-bit VA, LPA2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// x86_64 with 4- or 5-level tables.
    X86_64 {
        /// 4 or 5.
        levels: u8,
    },
    /// aarch64.
    Aarch64 {
        /// The translation granule in bytes (4K, 16K, 64K).
        page_size: u64,
        /// The VA bits in use (`64 - T1SZ`).
        va_bits: u32,
        /// 52-bit output addresses, when on.
        pa52: Option<Pa52>,
    },
}

/// How an aarch64 kernel reaches 52-bit physical addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pa52 {
    /// FEAT_LPA (64K pages).
    Lpa,
    /// FEAT_LPA2 (4K and 16K pages).
    Lpa2,
}

impl fmt::Display for Paging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::X86_64 { levels } => write!(f, "x86_64 {levels}-level"),
            Self::Aarch64 { page_size, va_bits, pa52 } => write!(
                f,
                "aarch64 {}K granule, {va_bits}-bit VA{}",
                page_size / 1024,
                match pa52 {
                    None => "",
                    Some(Pa52::Lpa) => ", LPA",
                    Some(Pa52::Lpa2) => ", LPA2",
                }
            ),
        }
    }
}

/// Where VMCOREINFO came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmcoreinfoFrom {
    /// The core's note (ELF) or sub-header (kdump).
    Note,
    /// Its text, found in memory at this physical address.
    Memory(u64),
    /// Neither.
    Nowhere,
}

/// Where the symbol table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolsFrom {
    /// A file: a vmlinux, a System.map, the live host's /proc/kallsyms.
    File(PathBuf),
    /// The kernel's kallsyms tables, decoded in guest memory.
    KallsymsInMemory,
}

/// Where the BTF came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BtfFrom {
    /// A raw BTF file (`--btf`).
    File(PathBuf),
    /// The running kernel's own (`/sys/kernel/btf/vmlinux`).
    RunningKernel(PathBuf),
    /// The vmlinux's `.BTF` section.
    VmlinuxSection,
    /// Read from the kernel image in guest memory (`__start_BTF`..`__stop_BTF`).
    KernelImage {
        /// Bytes read.
        len: u64,
    },
}

/// How x86_64's paging mode was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X86ModeFrom {
    /// CR4 from the core's QEMU note.
    Cr4(u64),
    /// `NUMBER(pgtable_l5_enabled)` from VMCOREINFO.
    Vmcoreinfo,
    /// Neither: 4-level assumed.
    Assumed,
}

/// Where x86_64's page-table root came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X86RootFrom {
    /// CR3 from the core's QEMU note.
    Cr3(u64),
    /// `SYMBOL(init_top_pgt)` from VMCOREINFO, at this physical address.
    InitTopPgt(u64),
}

/// One step of configuration: what was found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupStep {
    /// The memory source, described by itself.
    Memory(String),
    /// VMCOREINFO.
    Vmcoreinfo(VmcoreinfoFrom),
    /// The guest architecture.
    Architecture(Arch),
    /// The KASLR displacement of the kernel image.
    KaslrOffset(u64),
    /// The symbol table: how many symbols, from where.
    Symbols {
        /// Symbols in the table.
        count: usize,
        /// Where from.
        from: SymbolsFrom,
    },
    /// x86_64's paging mode.
    X86Mode(X86ModeFrom),
    /// x86_64's page-table root.
    X86Root(X86RootFrom),
    /// x86_64's direct map base: `page_offset_base`, or `None` when the symbol is unknown.
    X86DirectMap(Option<u64>),
    /// aarch64's page tables and linear map, from VMCOREINFO.
    Aarch64Tables {
        /// `swapper_pg_dir`, physical.
        swapper_pg_dir: u64,
        /// `kimage_voffset`.
        kimage_voffset: u64,
        /// `PHYS_OFFSET`.
        phys_offset: u64,
    },
    /// The paging mode configured.
    Paging(Paging),
    /// The BTF.
    Btf(BtfFrom),
    /// A 6.12-6.15 kernel: the scheduler is read from its globals.
    SchedulerGlobals,
    /// The machine's shape.
    Machine {
        /// `nr_cpu_ids`.
        cpus: u32,
        /// `nr_node_ids`.
        nodes: u32,
    },
}

impl fmt::Display for SetupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory(m) => write!(f, "memory: {m}"),
            Self::Vmcoreinfo(VmcoreinfoFrom::Note) => f.write_str("VMCOREINFO: from the core's note"),
            Self::Vmcoreinfo(VmcoreinfoFrom::Memory(pa)) => {
                write!(f, "VMCOREINFO: found in memory at physical {pa:#x}")
            }
            Self::Vmcoreinfo(VmcoreinfoFrom::Nowhere) => {
                f.write_str("VMCOREINFO: none (no note, not found in memory)")
            }
            Self::Architecture(a) => write!(f, "architecture: {a}"),
            Self::KaslrOffset(o) => write!(f, "KASLR offset: {o:#x}"),
            Self::Symbols { count, from: SymbolsFrom::File(p) } => {
                write!(f, "symbols: {count} from {}", p.display())
            }
            Self::Symbols { count, from: SymbolsFrom::KallsymsInMemory } => {
                write!(f, "symbols: {count} decoded from the kernel's kallsyms tables in memory")
            }
            Self::X86Mode(X86ModeFrom::Cr4(cr4)) => {
                write!(f, "paging mode: CR4 {cr4:#x} from the core's QEMU note")
            }
            Self::X86Mode(X86ModeFrom::Vmcoreinfo) => {
                f.write_str("paging mode: NUMBER(pgtable_l5_enabled) from VMCOREINFO")
            }
            Self::X86Mode(X86ModeFrom::Assumed) => {
                f.write_str("paging mode: assumed 4-level (no CR4, no VMCOREINFO)")
            }
            Self::X86Root(X86RootFrom::Cr3(cr3)) => write!(f, "CR3: {cr3:#x} from the core's QEMU note"),
            Self::X86Root(X86RootFrom::InitTopPgt(pa)) => {
                write!(f, "CR3: init_top_pgt at physical {pa:#x} (VMCOREINFO)")
            }
            Self::X86DirectMap(Some(base)) => write!(f, "direct map: page_offset_base = {base:#x}"),
            Self::X86DirectMap(None) => {
                f.write_str("direct map: page_offset_base symbol unknown; default assumed")
            }
            Self::Aarch64Tables { swapper_pg_dir, kimage_voffset, phys_offset } => write!(
                f,
                "aarch64: swapper_pg_dir at physical {swapper_pg_dir:#x}, kimage_voffset {kimage_voffset:#x}, \
                 PHYS_OFFSET {phys_offset:#x}"
            ),
            Self::Paging(p) => write!(f, "paging: {p}"),
            Self::Btf(BtfFrom::File(p)) => write!(f, "BTF: {}", p.display()),
            Self::Btf(BtfFrom::RunningKernel(p)) => write!(f, "BTF: {} (the running kernel's)", p.display()),
            Self::Btf(BtfFrom::VmlinuxSection) => f.write_str("BTF: the vmlinux's .BTF section"),
            Self::Btf(BtfFrom::KernelImage { len }) => {
                write!(f, "BTF: {len} bytes read from the kernel image in memory (__start_BTF)")
            }
            Self::SchedulerGlobals => {
                f.write_str("scheduler: the kernel globals of 6.12-6.15 (scx_ops, global_dsqs, dsq_hash)")
            }
            Self::Machine { cpus, nodes } => write!(f, "machine: {cpus} possible CPUs, {nodes} NUMA nodes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `scxray info` printed before the steps were typed, word for word.
    #[test]
    fn steps_render_as_the_info_lines() {
        let cases: [(SetupStep, &str); 8] = [
            (
                SetupStep::Vmcoreinfo(VmcoreinfoFrom::Memory(0x1000)),
                "VMCOREINFO: found in memory at physical 0x1000",
            ),
            (
                SetupStep::Symbols { count: 3, from: SymbolsFrom::File("/proc/kallsyms".into()) },
                "symbols: 3 from /proc/kallsyms",
            ),
            (
                SetupStep::X86Mode(X86ModeFrom::Cr4(0x1000)),
                "paging mode: CR4 0x1000 from the core's QEMU note",
            ),
            (
                SetupStep::X86DirectMap(Some(0xffff_8880_0000_0000)),
                "direct map: page_offset_base = 0xffff888000000000",
            ),
            (
                SetupStep::Paging(Paging::Aarch64 { page_size: 65536, va_bits: 52, pa52: Some(Pa52::Lpa) }),
                "paging: aarch64 64K granule, 52-bit VA, LPA",
            ),
            (SetupStep::Paging(Paging::X86_64 { levels: 5 }), "paging: x86_64 5-level"),
            (
                SetupStep::Btf(BtfFrom::RunningKernel("/sys/kernel/btf/vmlinux".into())),
                "BTF: /sys/kernel/btf/vmlinux (the running kernel's)",
            ),
            (SetupStep::Machine { cpus: 4, nodes: 2 }, "machine: 4 possible CPUs, 2 NUMA nodes"),
        ];
        for (step, line) in cases {
            assert_eq!(step.to_string(), line);
        }
    }
}
