//! Auto-configuration: from a memory dump (and whatever kernel files the user has) to a
//! ready walker. Every decision is recorded in `Target::how`, for `scxray info`.

use crate::error::Error;
use crate::kernel::symbols::SymbolSource;
use crate::kernel::vmlinux::Arch;
use crate::kernel::{SymbolTable, VmcoreInfo, Vmlinux};
use crate::source::Memory;
use object::elf;
use scxray_aarch64::{Aarch64Translator, KernelImage};
use scxray_core::{
    Guest, KernelSymbols, Layout, Limits, PerCpuOffsets, PhysAddr, PhysMem, Translate, VirtAddr,
};
use scxray_wire::Translator;
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use std::path::PathBuf;

/// What the user handed in.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The memory: ELF core or raw image.
    pub memory: PathBuf,
    /// A vmlinux ELF (symbols, `.BTF`, release).
    pub vmlinux: Option<PathBuf>,
    /// A raw BTF file (e.g. a copy of /sys/kernel/btf/vmlinux).
    pub btf: Option<PathBuf>,
    /// A System.map.
    pub system_map: Option<PathBuf>,
    /// Physical address of a raw image's first byte.
    pub raw_base: u64,
}

/// Symbols the walk needs, at runtime (KASLR-applied) addresses.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RuntimeSymbols {
    /// `runqueues` (a per-CPU symbol).
    pub runqueues: Option<u64>,
    /// `__per_cpu_offset`.
    pub per_cpu_offset: Option<u64>,
    /// `scx_root`.
    pub scx_root: Option<u64>,
    /// `scx_tasks`.
    pub scx_tasks: Option<u64>,
    /// `nr_cpu_ids`.
    pub nr_cpu_ids: Option<u64>,
    /// `nr_node_ids`.
    pub nr_node_ids: Option<u64>,
    /// `scx_enable_state_var`.
    pub scx_enable_state_var: Option<u64>,
    /// `jiffies`.
    pub jiffies: Option<u64>,
    /// 6.12-6.15 (no `scx_root`): the scheduler globals.
    pub globals: Option<scxray_core::SchedGlobals>,
}

/// Facts read before configuration, each with where it came from (for `scxray info`).
#[derive(Debug, Default)]
pub struct Preset {
    /// The symbol table.
    pub symbols: Option<(SymbolTable, String)>,
    /// Raw BTF.
    pub btf: Option<(Vec<u8>, String)>,
}

/// A configured guest: memory, translator, layout, symbols, and how each was found.
#[derive(Debug)]
pub struct Target {
    /// Guest memory.
    pub memory: Memory,
    /// Guest architecture.
    pub arch: Arch,
    /// Kernel release (VMCOREINFO's OSRELEASE, else the vmlinux banner).
    pub release: Option<String>,
    /// VMCOREINFO, when found.
    pub vmcoreinfo: Option<VmcoreInfo>,
    /// KASLR displacement of the kernel image.
    pub kaslr_offset: u64,
    /// The translator.
    pub translator: Translator,
    /// Paging mode, in words ("x86_64 5-level", "aarch64 4K granule, 52-bit VA").
    pub paging: String,
    /// The kernel layout from BTF.
    pub layout: Layout,
    /// The raw BTF (for queries beyond the layout).
    pub btf: Vec<u8>,
    /// The index configuration built for `btf` ([`Target::parsed_btf`] reuses it).
    pub btf_index: Option<scxray_btf::BtfIndex>,
    /// Runtime symbol addresses.
    pub symbols: RuntimeSymbols,
    /// `__per_cpu_offset[0..nr_cpu_ids]`.
    pub per_cpu_offsets: Vec<u64>,
    /// `nr_cpu_ids`.
    pub nr_cpus: u32,
    /// `nr_node_ids`.
    pub nr_nodes: u32,
    /// How each fact was found, in order.
    pub how: Vec<String>,
    /// The symbol table (addresses as the source gives them; see [`Target::symbol`]).
    pub table: SymbolTable,
}

/// Symbols configuration and diagnosis look up, resolved in one pass over a big table.
const WANTED_SYMBOLS: &[&str] = &[
    "runqueues",
    "__per_cpu_offset",
    "scx_root",
    "scx_tasks",
    "nr_cpu_ids",
    "nr_node_ids",
    "scx_enable_state_var",
    "scx_ops_enable_state_var",
    "jiffies",
    "jiffies_64",
    "page_offset_base",
    "_text",
    "_end",
    "__start_BTF",
    "__stop_BTF",
    "linux_banner",
    "__scx_enabled",
    "__scx_ops_enabled",
    "scx_switching_all",
    "__scx_switched_all",
    "scx_in_softlockup",
    "scx_breather_depth",
    "scx_ops_breather_depth",
    "scx_nr_rejected",
    "scx_enable_seq",
    "scx_watchdog_timestamp",
    "scx_ops",
    "scx_exit_kind",
    "scx_exit_info",
    "scx_ops_bypass_depth",
    "scx_bypass_depth",
    "global_dsqs",
    "dsq_hash",
    "event_stats_cpu",
];

/// The vmcoreinfo text found in memory: the page that starts with `OSRELEASE=`.
fn scan_vmcoreinfo(mem: &Memory) -> Option<(u64, VmcoreInfo)> {
    find_vmcoreinfo(mem, &mem.scan(b"OSRELEASE=", 64)).map(|(pa, _, info)| (pa, info))
}

/// The first of `hits` (addresses of `OSRELEASE=`) where a whole VMCOREINFO text starts: its
/// address, text (up to the NUL, at most 4 KiB) and parse.
pub(crate) fn find_vmcoreinfo(mem: &impl PhysMem, hits: &[u64]) -> Option<(u64, String, VmcoreInfo)> {
    for &pa in hits {
        let mut buf = vec![0u8; 4096];
        // Page by page up to the NUL: the text may end just before unbacked memory.
        let mut n = 0;
        while n < buf.len() {
            let at = pa.wrapping_add(n as u64);
            let chunk = ((4096 - (at & 4095)) as usize).min(buf.len() - n);
            if mem.read(PhysAddr(at), &mut buf[n..n + chunk]).is_err() {
                break;
            }
            if let Some(z) = buf[n..n + chunk].iter().position(|&b| b == 0) {
                n += z;
                break;
            }
            n += chunk;
        }
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let info = VmcoreInfo::parse(&text);
        if info.page_size().is_some() && info.get("KERNELOFFSET").is_some() {
            return Some((pa, text, info));
        }
    }
    None
}

/// x86_64's `__START_KERNEL_map`: symbols below it are zero-based per-CPU offsets, which KASLR
/// does not move.
const X86_START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

impl Target {
    /// Configures a guest from `inputs`.
    pub fn configure(inputs: &Inputs) -> Result<Self, Error> {
        let memory = Memory::open(&inputs.memory, inputs.raw_base)?;
        Self::configure_with(memory, inputs, Preset::default())
    }

    /// Configures a guest whose memory is already open, with symbols and BTF the caller has
    /// already read (the live host's /proc/kallsyms and /sys/kernel/btf/vmlinux).
    pub fn configure_with(memory: Memory, inputs: &Inputs, preset: Preset) -> Result<Self, Error> {
        let mut how = Vec::new();
        how.push(format!("memory: {}", memory.describe()));

        // VMCOREINFO: the core's note, else its text found in memory.
        let vmcoreinfo = match memory.vmcoreinfo_note() {
            Some(text) => {
                how.push("VMCOREINFO: from the core's note".into());
                Some(VmcoreInfo::parse(text))
            }
            None => match scan_vmcoreinfo(&memory) {
                Some((pa, info)) => {
                    how.push(format!("VMCOREINFO: found in memory at physical {pa:#x}"));
                    Some(info)
                }
                None => {
                    how.push("VMCOREINFO: none (no note, not found in memory)".into());
                    None
                }
            },
        };
        let vmlinux = inputs.vmlinux.as_deref().map(Vmlinux::read).transpose()?;

        let core_arch = match memory.machine().filter(|&m| m != 0) {
            Some(elf::EM_X86_64) => Some(Arch::X86_64),
            Some(elf::EM_AARCH64) => Some(Arch::Aarch64),
            Some(other) => {
                return Err(Error::Unsupported(format!("ELF machine {other}: not x86_64 or aarch64")));
            }
            None => None,
        };
        let arch = if let Some(v) = &vmlinux {
            if let Some(c) = core_arch.filter(|&c| c != v.machine) {
                return Err(Error::BadInput(format!(
                    "{} is an {} kernel, but the dump is of an {c} machine: pass the vmlinux of the dumped kernel",
                    v.path.display(),
                    v.machine
                )));
            }
            v.machine
        } else if let Some(c) = core_arch {
            c
        } else if vmcoreinfo.as_ref().is_some_and(|v| v.number("kimage_voffset").is_some()) {
            Arch::Aarch64
        } else {
            Arch::X86_64
        };
        how.push(format!("architecture: {arch}"));

        let release = vmcoreinfo.as_ref().and_then(|v| v.osrelease().map(str::to_owned));
        if let (Some(dump), Some(v)) = (&release, &vmlinux)
            && let Some(vr) = &v.release
            && vr != dump
        {
            return Err(Error::BadInput(format!(
                "{} is the kernel {vr}, but the dump is of {dump}: pass the vmlinux (or BTF) of the dumped kernel",
                v.path.display()
            )));
        }
        let release = release.or_else(|| vmlinux.as_ref().and_then(|v| v.release.clone()));

        let kaslr_offset = vmcoreinfo.as_ref().and_then(VmcoreInfo::kernel_offset).unwrap_or(0);
        how.push(format!("KASLR offset: {kaslr_offset:#x}"));

        // Symbols: vmlinux, then System.map, else the kernel's own kallsyms in memory (read
        // through a first translator that needs no symbols: the image rule and the walk).
        let mut table = match (&vmlinux, &inputs.system_map, preset.symbols) {
            (_, _, Some((t, from))) => {
                how.push(format!("symbols: {} from {from}", t.len()));
                Some(t)
            }
            (Some(v), _, None) if !v.symbols.is_empty() => {
                how.push(format!("symbols: {} from {}", v.symbols.len(), v.path.display()));
                Some(v.symbols.clone())
            }
            (_, Some(p), None) => {
                let t = SymbolTable::read_system_map(p)?;
                how.push(format!("symbols: {} from {}", t.len(), p.display()));
                Some(t)
            }
            _ => None,
        };
        let no_symbols = |_: &str| None;
        let (mut translator, _) = match arch {
            Arch::X86_64 => x86_translator(&memory, vmcoreinfo.as_ref(), &no_symbols, &mut Vec::new())?,
            Arch::Aarch64 => aarch64_translator(vmcoreinfo.as_ref(), &no_symbols, &mut Vec::new())?,
        };
        if table.is_none() {
            let Some(info) = vmcoreinfo.as_ref() else {
                return Err(Error::BadInput(
                    "no kernel symbols: the dump has no VMCOREINFO to find the kernel's kallsyms through; pass \
                     --vmlinux (with symbols, e.g. Debian's linux-image-*-dbg) or --system-map"
                        .into(),
                ));
            };
            let read = |va: u64, buf: &mut [u8]| read_virt(&memory, &translator, va, buf);
            let t = crate::kernel::kallsyms::read_kallsyms(info, &read)?;
            how.push(format!("symbols: {} decoded from the kernel's kallsyms tables in memory", t.len()));
            table = Some(t);
        }
        let table = table.unwrap_or_else(|| SymbolTable::from_pairs([], SymbolSource::Kallsyms));
        table.prefetch(WANTED_SYMBOLS);
        let runtime = |name: &str| runtime_address(&table, arch, kaslr_offset, name);
        let symbols = RuntimeSymbols {
            runqueues: runtime("runqueues"),
            per_cpu_offset: runtime("__per_cpu_offset"),
            scx_root: runtime("scx_root"),
            scx_tasks: runtime("scx_tasks"),
            nr_cpu_ids: runtime("nr_cpu_ids"),
            nr_node_ids: runtime("nr_node_ids"),
            scx_enable_state_var: runtime("scx_enable_state_var")
                .or_else(|| runtime("scx_ops_enable_state_var")),
            jiffies: runtime("jiffies").or_else(|| runtime("jiffies_64")),
            globals: None,
        };
        // Now with symbols: x86's direct map base, arm64's image range.
        let paging;
        (translator, paging) = match arch {
            Arch::X86_64 => x86_translator(&memory, vmcoreinfo.as_ref(), &runtime, &mut how)?,
            Arch::Aarch64 => aarch64_translator(vmcoreinfo.as_ref(), &runtime, &mut how)?,
        };
        how.push(format!("paging: {paging}"));

        // BTF: --btf, the vmlinux's .BTF, else the kernel image in memory.
        let btf = if let Some((b, from)) = preset.btf {
            how.push(format!("BTF: {from}"));
            b
        } else if let Some(p) = &inputs.btf {
            how.push(format!("BTF: {}", p.display()));
            std::fs::read(p).map_err(|e| Error::io(p, e))?
        } else if let Some(b) = vmlinux.as_ref().and_then(|v| v.btf.clone()) {
            how.push("BTF: the vmlinux's .BTF section".into());
            b
        } else {
            let (Some(start), Some(stop)) = (runtime("__start_BTF"), runtime("__stop_BTF")) else {
                return Err(Error::BadInput("no BTF: pass --btf or a --vmlinux with a .BTF section".into()));
            };
            let len = stop.checked_sub(start).filter(|&l| l > 0 && l < 256 << 20).ok_or_else(|| {
                Error::BadInput(format!(
                    "__start_BTF {start:#x} / __stop_BTF {stop:#x}: not a plausible range"
                ))
            })?;
            let mut b = vec![0u8; len as usize];
            read_virt(&memory, &translator, start, &mut b)
                .map_err(|e| Error::BadInput(format!("reading the kernel's BTF from memory: {e}")))?;
            how.push(format!("BTF: {len} bytes read from the kernel image in memory (__start_BTF)"));
            b
        };
        let parsed = parse_btf(&btf)?;
        let layout = layout_of(&parsed)?;
        let btf_index = parsed.to_index();
        let mut symbols = symbols;
        if symbols.scx_root.is_none() {
            symbols.globals =
                sched_globals(&parsed, &|n: &str| runtime_address(&table, arch, kaslr_offset, n));
            if symbols.globals.is_some() {
                how.push(
                    "scheduler: the kernel globals of 6.12-6.15 (scx_ops, global_dsqs, dsq_hash)".into(),
                );
            }
        }

        // Machine shape from the guest's own variables.
        let read_u32 = |addr: Option<u64>, what: &str| -> Result<Option<u32>, Error> {
            let Some(a) = addr else { return Ok(None) };
            let mut b = [0u8; 4];
            read_virt(&memory, &translator, a, &mut b)
                .map_err(|e| Error::BadInput(format!("reading {what} at {a:#x}: {e}")))?;
            Ok(Some(u32::from_le_bytes(b)))
        };
        let nr_cpus = read_u32(symbols.nr_cpu_ids, "nr_cpu_ids")?
            .ok_or_else(|| Error::BadInput("the symbol nr_cpu_ids is missing".into()))?;
        if nr_cpus == 0 || nr_cpus > scxray_core::MAX_CPUS {
            return Err(Error::BadInput(format!(
                "nr_cpu_ids reads {nr_cpus}: wrong symbols or KASLR offset (the vmlinux may not match the dump)"
            )));
        }
        let nr_nodes =
            read_u32(symbols.nr_node_ids, "nr_node_ids")?.unwrap_or(1).clamp(1, scxray_core::MAX_NODES);
        let mut per_cpu_offsets = vec![0u64; nr_cpus as usize];
        if let Some(a) = symbols.per_cpu_offset {
            let mut b = vec![0u8; nr_cpus as usize * 8];
            read_virt(&memory, &translator, a, &mut b)
                .map_err(|e| Error::BadInput(format!("reading __per_cpu_offset at {a:#x}: {e}")))?;
            for (o, c) in per_cpu_offsets.iter_mut().zip(b.chunks_exact(8)) {
                *o = u64::from_le_bytes(c.try_into().unwrap_or_default());
            }
        }
        how.push(format!("machine: {nr_cpus} possible CPUs, {nr_nodes} NUMA nodes"));

        Ok(Self {
            memory,
            arch,
            release,
            vmcoreinfo,
            kaslr_offset,
            translator,
            paging,
            layout,
            btf,
            btf_index,
            symbols,
            per_cpu_offsets,
            nr_cpus,
            nr_nodes,
            how,
            table,
        })
    }

    /// The walker over this guest.
    pub fn guest(&self, limits: Limits) -> Guest<'_, Memory, Translator> {
        let s = &self.symbols;
        let symbols = KernelSymbols {
            runqueues: s.runqueues.map(VirtAddr),
            per_cpu_offsets: s.per_cpu_offset.map(|_| PerCpuOffsets::Slice(&self.per_cpu_offsets)),
            scx_root: s.scx_root.map(VirtAddr),
            scx_tasks: s.scx_tasks.map(VirtAddr),
            nr_cpus: self.nr_cpus,
            nr_nodes: self.nr_nodes,
            globals: s.globals,
        };
        Guest::new(&self.memory, &self.translator, &self.layout, symbols).with_limits(limits)
    }

    /// The kernel's BTF, parsed: with the index configuration built when there is one (no
    /// second walk of the ~150 000 types), else parsed anew. `None` when there is no valid BTF.
    pub fn parsed_btf(&self) -> Option<scxray_btf::Btf<'_>> {
        match &self.btf_index {
            Some(index) => scxray_btf::Btf::with_index(&self.btf, index).ok(),
            None => scxray_btf::Btf::parse(&self.btf).ok(),
        }
    }

    /// The runtime address of a kernel symbol.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        runtime_address(&self.table, self.arch, self.kaslr_offset, name)
    }

    /// Reads `buf.len()` bytes at kernel virtual `va`.
    pub fn read_virt(&self, va: u64, buf: &mut [u8]) -> Result<(), String> {
        read_virt(&self.memory, &self.translator, va, buf)
    }
}

/// A symbol's runtime address: kallsyms already are; link-time addresses move by the KASLR
/// offset, except x86_64's zero-based per-CPU symbols (below `__START_KERNEL_map`).
fn runtime_address(table: &SymbolTable, arch: Arch, kaslr_offset: u64, name: &str) -> Option<u64> {
    let a = table.get(name)?;
    Some(match table.source {
        SymbolSource::Kallsyms => a,
        _ if arch == Arch::X86_64 && a < X86_START_KERNEL_MAP => a,
        _ => a.wrapping_add(kaslr_offset),
    })
}

/// A 6.12-6.15 kernel's scheduler globals, when it has `scx_ops` and an enable state whose
/// "disabled" value its BTF names (6.12-6.14: `scx_ops_enable_state_var`, `SCX_OPS_DISABLED`;
/// 6.15: `scx_enable_state_var`, `SCX_DISABLED`).
fn sched_globals(
    parsed: &scxray_btf::Btf<'_>,
    runtime: &dyn Fn(&str) -> Option<u64>,
) -> Option<scxray_core::SchedGlobals> {
    let ops = runtime("scx_ops")?;
    let enable_state = runtime("scx_ops_enable_state_var").or_else(|| runtime("scx_enable_state_var"))?;
    let disabled = [("scx_ops_enable_state", "SCX_OPS_DISABLED"), ("scx_enable_state", "SCX_DISABLED")]
        .into_iter()
        .find_map(|(e, c)| {
            let ty = parsed.find_enum(e).ok()??;
            (0..u32::from(ty.vlen))
                .filter_map(|i| ty.enumerator(i))
                .find_map(|en| (parsed.str_at(en.name_off).ok()? == c).then(|| en.value.bits()).flatten())
        })?;
    Some(scxray_core::SchedGlobals {
        ops: VirtAddr(ops),
        enable_state: VirtAddr(enable_state),
        disabled: u32::try_from(disabled).ok()?,
        exit_kind: runtime("scx_exit_kind").map(VirtAddr),
        bypass_depth: runtime("scx_ops_bypass_depth").or_else(|| runtime("scx_bypass_depth")).map(VirtAddr),
        global_dsqs: runtime("global_dsqs").map(VirtAddr),
        dsq_hash: runtime("dsq_hash").map(VirtAddr),
    })
}

pub(crate) fn resolve_layout(btf: &[u8]) -> Result<Layout, Error> {
    layout_of(&parse_btf(btf)?)
}

fn parse_btf(btf: &[u8]) -> Result<scxray_btf::Btf<'_>, Error> {
    scxray_btf::Btf::parse(btf).map_err(|e| Error::BadInput(format!("BTF: {e}")))
}

fn layout_of(parsed: &scxray_btf::Btf<'_>) -> Result<Layout, Error> {
    scxray_btf::resolve_layout(parsed).map_err(|e| match e {
        scxray_btf::ResolveError::NoSchedExt => Error::Unsupported(
            "this kernel was built without sched_ext (CONFIG_SCHED_CLASS_EXT is not set): there is no \
             sched_ext state to read"
                .into(),
        ),
        other => Error::BadInput(format!("BTF layout: {other}")),
    })
}

/// Reads guest virtual memory page by page through `t`.
pub fn read_virt(mem: &Memory, t: &Translator, va: u64, buf: &mut [u8]) -> Result<(), String> {
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

fn x86_translator(
    memory: &Memory,
    info: Option<&VmcoreInfo>,
    runtime: &dyn Fn(&str) -> Option<u64>,
    how: &mut Vec<String>,
) -> Result<(Translator, String), Error> {
    let phys_base = info.and_then(|v| v.number("phys_base")).map_or(0, |v| v as u64);
    let cpu0 = memory.cpu_notes().iter().find(|c| c.cr3.is_some()).copied();
    let mode = match (cpu0.and_then(|c| c.cr4), info.and_then(|v| v.number("pgtable_l5_enabled"))) {
        (Some(cr4), _) => {
            how.push(format!("paging mode: CR4 {cr4:#x} from the core's QEMU note"));
            PagingMode::from_cr4(cr4)
        }
        (None, Some(l5)) => {
            how.push("paging mode: NUMBER(pgtable_l5_enabled) from VMCOREINFO".into());
            PagingMode::from_pgtable_l5_enabled(u32::from(l5 != 0))
        }
        (None, None) => {
            how.push("paging mode: assumed 4-level (no CR4, no VMCOREINFO)".into());
            PagingMode::FourLevel
        }
    };
    let cr3 = match (cpu0.and_then(|c| c.cr3), info.and_then(|v| v.symbol("init_top_pgt"))) {
        (Some(cr3), _) => {
            how.push(format!("CR3: {cr3:#x} from the core's QEMU note"));
            cr3
        }
        (None, Some(pgt)) => {
            let pa = pgt.wrapping_sub(X86_START_KERNEL_MAP).wrapping_add(phys_base);
            how.push(format!("CR3: init_top_pgt at physical {pa:#x} (VMCOREINFO)"));
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
        read_virt(memory, &t, sym, &mut b)
            .map_err(|e| Error::BadInput(format!("reading page_offset_base at {sym:#x}: {e}")))?;
        config.page_offset_base = VirtAddr(u64::from_le_bytes(b));
        how.push(format!("direct map: page_offset_base = {:#x}", config.page_offset_base.0));
    } else {
        how.push("direct map: page_offset_base symbol unknown; default assumed".into());
    }
    let levels = match mode {
        PagingMode::FiveLevel => 5,
        PagingMode::FourLevel => 4,
    };
    Ok((Translator::X86_64(X86Translator::new(config)), format!("x86_64 {levels}-level")))
}

fn aarch64_translator(
    info: Option<&VmcoreInfo>,
    runtime: &dyn Fn(&str) -> Option<u64>,
    how: &mut Vec<String>,
) -> Result<(Translator, String), Error> {
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
    how.push(format!(
        "aarch64: swapper_pg_dir at physical {:#x}, kimage_voffset {voffset:#x}, PHYS_OFFSET {phys_offset:#x}",
        cfg.swapper_pg_dir.0
    ));
    Ok((
        Translator::Aarch64(t),
        format!(
            "aarch64 {}K granule, {in_use_va_bits}-bit VA{}",
            page_size / 1024,
            match (lpa2, page_size) {
                (false, _) => "",
                (true, 65536) => ", LPA",
                (true, _) => ", LPA2",
            }
        ),
    ))
}
