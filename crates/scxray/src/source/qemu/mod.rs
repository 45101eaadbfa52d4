//! A running VM's guest RAM read from its VMM process, with no restart and no special memory
//! backend: `--qemu PID` and/or `--qmp SOCKET` for QEMU (under KVM or TCG), `--ram
//! GPA:SIZE@PID:HVA` for any VMM.
//!
//! The layout (which guest-physical ranges are RAM and where the process holds them) is found
//! one of three ways, each checked before use (see [`verify`]):
//!
//! - **QMP** (`--qmp`, with or without `--qemu`): `info mtree -f` gives every RAM range of the
//!   guest with its RAM block and offset, `info ramblock` each block's size (and its host
//!   address, where a QEMU prints an `HVA` column; Debian's 10.0 does not). A block without one
//!   is the process's mapping of its size whose bytes agree with what QEMU itself reads there
//!   (`xp`); then every range is compared with `xp` and the kernel's anchor is read. Any QEMU
//!   machine, any RAM size, NUMA nodes, hotplugged memory.
//! - **PID only** (`--qemu`): QEMU's RAM blocks are the process's mappings QEMU marked
//!   `MADV_DONTFORK` (smaps `dc`). The one that holds the guest kernel's VMCOREINFO, placed
//!   where the machine puts RAM (x86 `pc`/`q35`: 0; arm64 `virt`: 1 GiB), must read the
//!   kernel's release at its `init_uts_ns`. This is reliable for one RAM block below the x86
//!   PCI hole (under 2.75 GiB) or arm64 `virt` of any size. It refuses, rather than guesses,
//!   when the guest has more: several big RAM blocks (NUMA nodes, DIMMs) or x86 RAM split
//!   around 4 GiB, whose places only QEMU knows (pass `--qmp`).
//! - **`--ram`**: as given, checked by the kernel's anchor.
//!
//! Nothing is paused. The QMP connection is closed once the layout is known, so the socket is
//! free again for its usual client.

pub mod layout;
pub mod process;
pub mod qmp;
pub mod verify;

use crate::error::Error;
use layout::{RamBlock, RamSpec};
use object::elf;
use process::{Mapping, ProcessInfo, ProcessMemory, RamRange};
use qmp::Qmp;
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to find a running guest.
#[derive(Debug, Clone, Default)]
pub struct AttachSpec {
    /// The QEMU process (`--qemu`).
    pub pid: Option<u32>,
    /// Its QMP socket (`--qmp`).
    pub qmp: Option<PathBuf>,
    /// The layout given by hand (`--ram`), for any VMM.
    pub ram: Vec<RamSpec>,
}

impl AttachSpec {
    /// Whether anything asks for a running guest.
    pub fn is_empty(&self) -> bool {
        self.pid.is_none() && self.qmp.is_none() && self.ram.is_empty()
    }
}

/// How long QMP's greeting may take.
const QMP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Up to this size, a PID-only candidate mapping may be a ROM or flash (arm64 `virt` has two
/// 64 MiB flash blocks), so other blocks this small do not make the layout ambiguous.
const MAX_ROM_BLOCK: u64 = 64 << 20;
/// x86 `q35` puts RAM from 2 GiB on above 4 GiB once the guest has 2.75 GiB (`pc`: 3.5 GiB);
/// below that, all RAM is at guest-physical 0.
const X86_UNSPLIT_RAM: u64 = 0xb000_0000;
/// arm64 `virt`'s RAM base.
const ARM_VIRT_RAM: u64 = 0x4000_0000;

/// A running guest's RAM inside its VMM process, its layout checked.
#[derive(Debug)]
pub struct GuestProcess {
    memory: ProcessMemory,
    /// The guest's ELF machine (`EM_X86_64`, `EM_AARCH64`), when the VMM says.
    pub machine: Option<u16>,
    /// The VMCOREINFO text found in guest memory while checking the layout, and where.
    pub vmcoreinfo: Option<(u64, String)>,
    /// How the layout was found and checked, for `scxray info`.
    pub how: String,
    /// The process, for messages.
    pub process: ProcessInfo,
}

impl GuestProcess {
    /// Attaches as `spec` says. The layout is checked with the page cache off (a sample that
    /// changed is re-read); the guest process returned caches pages (see
    /// [`ProcessMemory::cache_pages`]): call [`GuestProcess::forget`] before each new walk.
    pub fn attach(spec: &AttachSpec) -> Result<Self, Error> {
        let attached = Self::attach_uncached(spec)?;
        attached.memory.cache_pages(true);
        Ok(attached)
    }

    /// Drops the cached pages: the next walk reads the guest as it is now.
    pub fn forget(&self) {
        self.memory.forget();
    }

    fn attach_uncached(spec: &AttachSpec) -> Result<Self, Error> {
        match (spec.ram.is_empty(), &spec.qmp, spec.pid) {
            (false, None, None) => Self::from_specs(&spec.ram),
            (false, _, _) => {
                Err(Error::BadInput("--ram gives the whole layout: it goes without --qemu and --qmp".into()))
            }
            (true, Some(socket), pid) => Self::from_qmp(socket, pid),
            (true, None, Some(pid)) => Self::from_pid(pid),
            (true, None, None) => {
                Err(Error::BadInput("nothing to attach to: pass --qemu PID or --qmp SOCKET".into()))
            }
        }
    }

    /// The guest memory.
    pub fn memory(&self) -> &ProcessMemory {
        &self.memory
    }

    /// Every guest-physical range, as `(start, len)`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.memory.ranges().iter().map(|r| (r.gpa, r.len)).collect()
    }

    /// Short description for `scxray info`.
    pub fn describe(&self) -> String {
        let total: u64 = self.memory.ranges().iter().map(|r| r.len).sum();
        format!(
            "running guest in process {} ({}), {} RAM ranges, {} MiB, read through /proc/{}/mem; {}{}",
            self.memory.pid(),
            self.process.describe(),
            self.memory.ranges().len(),
            total >> 20,
            self.memory.pid(),
            self.how,
            match &self.vmcoreinfo {
                Some((pa, _)) => format!("; VMCOREINFO at guest-physical {pa:#x}"),
                None => String::new(),
            }
        )
    }

    pub(crate) fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        self.memory.scan(needle, max)
    }

    /// `--ram`: the layout as given, checked by the kernel's anchor when VMCOREINFO is found.
    fn from_specs(specs: &[RamSpec]) -> Result<Self, Error> {
        let pid = specs[0].pid;
        if let Some(other) = specs.iter().find(|s| s.pid != pid) {
            return Err(Error::BadInput(format!(
                "--ram {other}: process {} differs from the first --ram's {pid}: all of guest RAM must be in one process",
                other.pid
            )));
        }
        let process = ProcessInfo::read(pid)?;
        let machine = process.qemu_target().and_then(|t| machine_of(&t).ok());
        let ranges = specs
            .iter()
            .map(|s| RamRange { gpa: s.gpa, len: s.size, hva: s.hva, name: format!("--ram {s}") })
            .collect();
        let memory = ProcessMemory::open(pid, ranges)?;
        let (vmcoreinfo, anchor) = kernel_check(&memory, machine).map_err(|e| {
            Error::BadInput(format!(
                "the layout given with --ram does not verify against the guest kernel: {e}"
            ))
        })?;
        let how = format!("layout from --ram; {anchor}");
        Ok(Self { memory, machine, vmcoreinfo, how, process })
    }

    /// QMP: QEMU's own layout, compared with QEMU's reads.
    fn from_qmp(socket: &Path, pid: Option<u32>) -> Result<Self, Error> {
        let mut qmp =
            Qmp::connect(socket, QMP_CONNECT_TIMEOUT).map_err(|e| Error::BadInput(e.to_string()))?;
        let owner = process::socket_owner(socket);
        let pid = match (pid, owner) {
            (Some(p), Some(o)) if p != o => {
                return Err(Error::BadInput(format!(
                    "QMP socket {} belongs to process {o}, not to --qemu {p}",
                    socket.display()
                )));
            }
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => {
                return Err(Error::BadInput(format!(
                    "cannot tell which process serves QMP socket {} (its listening socket is not among the \
                     processes this user may see): pass --qemu PID as well",
                    socket.display()
                )));
            }
        };
        // QMP answered: this is QEMU. Whether `pid` is the QEMU behind the socket, the
        // comparison with its `xp` below decides.
        let process = ProcessInfo::read(pid)?;
        let target = match qmp.target_arch() {
            Ok(t) => t,
            Err(_) => process.qemu_target().ok_or_else(|| not_qemu(&process))?,
        };
        let machine = machine_of(&target)?;
        let qmp_err = |e: qmp::QmpError| Error::BadInput(e.to_string());
        let blocks = layout::parse_ramblocks(&qmp.hmp("info ramblock").map_err(qmp_err)?)
            .map_err(|e| Error::BadInput(format!("QMP socket {}: {e}", socket.display())))?;
        let flat = layout::parse_flat_view(&qmp.hmp("info mtree -f").map_err(qmp_err)?)
            .map_err(|e| Error::BadInput(format!("QMP socket {}: {e}", socket.display())))?;
        let block_ranges = layout::block_ranges(&flat, &blocks)
            .map_err(|e| Error::BadInput(format!("QMP socket {}: {e}", socket.display())))?;
        let mut reference = |gpa: u64, buf: &mut [u8]| xp(&mut qmp, gpa, buf);
        let (memory, found) = if block_ranges.iter().all(|b| b.block.hva.is_some()) {
            let ranges = layout::ram_ranges(&block_ranges, &|b| b.hva).map_err(Error::BadInput)?;
            (ProcessMemory::open(pid, ranges)?, "info ramblock's HVA column")
        } else {
            let maps = process::parse_maps(&process::read_proc(pid, "maps")?);
            (
                place_blocks_by_size(pid, &block_ranges, &maps, &mut reference)?,
                "the process's mappings of each block's size",
            )
        };
        let checks = verify::against_reference(&memory, &mut reference).map_err(Error::BadInput)?;
        let mut compared = 0;
        for (r, c) in memory.ranges().iter().zip(&checks) {
            if !c.verified() && c.mismatched > 0 {
                return Err(Error::BadInput(format!(
                    "the layout QEMU gave does not verify: range {} (guest-physical {:#x}-{:#x}, host {:#x}) \
                     disagrees with QEMU's own reads at {:#x} ({} of {} samples differ)",
                    r.name,
                    r.gpa,
                    r.gpa_end() - 1,
                    r.hva,
                    c.first_mismatch.unwrap_or(r.gpa),
                    c.mismatched,
                    c.matched + c.mismatched
                )));
            }
            compared += c.matched;
        }
        let (vmcoreinfo, anchor) = kernel_check(&memory, Some(machine)).map_err(|e| {
            Error::BadInput(format!("the layout QEMU gave does not verify against the guest kernel: {e}"))
        })?;
        let how = format!(
            "layout from QMP {} (info mtree -f, host addresses from {found}); {compared} non-zero samples agree \
             with QEMU's xp; {anchor}",
            socket.display()
        );
        Ok(Self { memory, machine: Some(machine), vmcoreinfo, how, process })
    }

    /// PID only: the RAM block that holds the guest kernel, where the machine puts RAM.
    fn from_pid(pid: u32) -> Result<Self, Error> {
        let process = ProcessInfo::read(pid)?;
        let target = process.qemu_target().ok_or_else(|| not_qemu(&process))?;
        let machine = machine_of(&target)?;
        let base = match machine {
            elf::EM_AARCH64 => {
                let m = process.option("-machine").or_else(|| process.option("-M")).unwrap_or("");
                let kind = m
                    .split(',')
                    .find(|p| !p.contains('='))
                    .or_else(|| m.split(',').find_map(|p| p.strip_prefix("type=")));
                if !kind.is_some_and(|k| k.starts_with("virt")) {
                    return Err(Error::BadInput(format!(
                        "process {pid} emulates the arm64 machine {m:?}: without QMP scxray knows where RAM lies only \
                         for `virt`; pass --qmp SOCKET"
                    )));
                }
                ARM_VIRT_RAM
            }
            _ => 0,
        };
        // The mem file first: a ptrace refusal is the error to show.
        let (mem_path, _) = process::open_mem(pid)?;
        let maps = process::parse_maps(&process::read_proc(pid, "smaps")?);
        let mut blocks: Vec<&Mapping> = maps.iter().filter(|m| looks_like_ram_block(m)).collect();
        blocks.sort_by_key(|m| std::cmp::Reverse(m.len()));
        let mut tried = Vec::new();
        let big: Vec<String> = blocks
            .iter()
            .filter(|m| m.len() > MAX_ROM_BLOCK)
            .map(|m| format!("{:#x} ({} MiB)", m.start, m.len() >> 20))
            .collect();
        if big.len() > 1 {
            return Err(Error::BadInput(format!(
                "process {pid} holds guest RAM in {} blocks: {}; NUMA nodes or memory devices lie where only QEMU \
                 knows: pass --qmp SOCKET (or --ram)",
                big.len(),
                big.join(", ")
            )));
        }
        if let Some(big) = blocks.first().filter(|m| machine == elf::EM_X86_64 && m.len() >= X86_UNSPLIT_RAM)
        {
            return Err(Error::BadInput(format!(
                "process {pid}'s guest has {} MiB of RAM in one block ({:#x}): QEMU splits x86 RAM this large around \
                 the PCI hole below 4 GiB at a point the machine type chooses; pass --qmp SOCKET (or --ram)",
                big.len() >> 20,
                big.start
            )));
        }
        for m in &blocks {
            let range =
                RamRange { gpa: base, len: m.len(), hva: m.start, name: format!("mapping {:#x}", m.start) };
            let memory = ProcessMemory::open(pid, vec![range])?;
            match kernel_check(&memory, Some(machine)) {
                Ok((Some(info), anchor)) => {
                    let how = format!(
                        "layout from the process alone: its RAM block at {:#x} ({} MiB, {}) placed at guest-physical \
                         {base:#x}; {anchor}",
                        m.start,
                        m.len() >> 20,
                        m.path.as_deref().unwrap_or("anonymous")
                    );
                    return Ok(Self { memory, machine: Some(machine), vmcoreinfo: Some(info), how, process });
                }
                Ok((None, _)) => tried.push(format!("{:#x} ({} MiB): no VMCOREINFO", m.start, m.len() >> 20)),
                Err(e) => tried.push(format!("{:#x} ({} MiB): {e}", m.start, m.len() >> 20)),
            }
        }
        Err(Error::BadInput(format!(
            "process {pid} ({}): no mapping verifies as the guest's RAM at guest-physical {base:#x} ({}); read \
             through {}. Pass --qmp SOCKET, or --ram",
            process.describe(),
            if tried.is_empty() {
                "no QEMU RAM block among its mappings".to_owned()
            } else {
                tried.join("; ")
            },
            mem_path.display()
        )))
    }
}

impl PhysMem for GuestProcess {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.memory.read(pa, buf)
    }
}

/// The ELF machine of a QEMU target.
fn machine_of(target: &str) -> Result<u16, Error> {
    match target {
        "x86_64" => Ok(elf::EM_X86_64),
        "aarch64" => Ok(elf::EM_AARCH64),
        other => Err(Error::Unsupported(format!(
            "the QEMU target {other}: scxray reads x86_64 and aarch64 guests"
        ))),
    }
}

fn not_qemu(p: &ProcessInfo) -> Error {
    Error::BadInput(format!(
        "process {} ({}) is not QEMU (no qemu-system-* executable): for another VMM give the layout with --ram \
         GPA:SIZE@PID:HVA",
        p.pid,
        p.describe()
    ))
}

/// A QEMU RAM block as smaps shows it: read-write, not executable, marked `MADV_DONTFORK` (`dc`,
/// which QEMU sets on every RAM block), at least 1 MiB. With no VmFlags (an old kernel), any
/// such mapping.
fn looks_like_ram_block(m: &Mapping) -> bool {
    m.has('r')
        && m.has('w')
        && !m.has('x')
        && m.len() >= 1 << 20
        && !m.path.as_deref().is_some_and(|p| p.starts_with('['))
        && (m.vm_flags.is_empty() || m.vm_flags.iter().any(|f| f == "dc"))
}

/// Reads `buf.len()` bytes at guest-physical `gpa` through QEMU (`xp`).
fn xp(qmp: &mut Qmp, gpa: u64, buf: &mut [u8]) -> Result<(), String> {
    let words = buf.len().div_ceil(8);
    let text = qmp.hmp(&format!("xp /{words}xg {gpa:#x}")).map_err(|e| e.to_string())?;
    let bytes = verify::parse_xp(&text, gpa, buf.len())?;
    buf.copy_from_slice(&bytes);
    Ok(())
}

/// For a QEMU without `info ramblock`'s HVA column: each block's host address among the
/// mappings of its size, the one whose bytes agree with QEMU's.
fn place_blocks_by_size(
    pid: u32,
    ranges: &[layout::BlockRange<'_>],
    maps: &[Mapping],
    reference: &mut verify::Reference<'_>,
) -> Result<ProcessMemory, Error> {
    let mut placed: Vec<(String, u64)> = Vec::new();
    let mut probe: Option<ProcessMemory> = None;
    let mut blocks: Vec<&RamBlock> = ranges.iter().map(|r| r.block).collect();
    blocks.dedup_by(|a, b| a.name == b.name);
    for block in blocks {
        if placed.iter().any(|(n, _)| *n == block.name) {
            continue;
        }
        let own: Vec<layout::BlockRange<'_>> =
            ranges.iter().filter(|r| r.block.name == block.name).cloned().collect();
        let mut found = None;
        for m in layout::mapping_candidates(block, maps) {
            if placed.iter().any(|(_, hva)| *hva == m.start) {
                continue;
            }
            let rr = layout::ram_ranges(&own, &|_| Some(m.start)).map_err(Error::BadInput)?;
            let mem = match &probe {
                Some(p) => p.with_ranges(rr)?,
                None => ProcessMemory::open(pid, rr)?,
            };
            let checks = verify::against_reference(&mem, reference).map_err(Error::BadInput)?;
            let ok = checks.iter().all(verify::RangeCheck::consistent);
            probe.get_or_insert(mem);
            if ok {
                found = Some(m.start);
                break;
            }
        }
        let hva = found.ok_or_else(|| {
            Error::BadInput(format!(
                "RAM block {} ({} bytes): no mapping of process {pid} of that size agrees with QEMU's reads (this QEMU's \
                 info ramblock has no HVA column)",
                block.name, block.total
            ))
        })?;
        placed.push((block.name.clone(), hva));
    }
    let rr = layout::ram_ranges(ranges, &|b| placed.iter().find(|(n, _)| *n == b.name).map(|(_, h)| *h))
        .map_err(Error::BadInput)?;
    ProcessMemory::open(pid, rr)
}

/// Finds VMCOREINFO in `memory` and reads the kernel's anchor through it. `Ok((None, ..))`:
/// no VMCOREINFO (nothing to check against); `Err`: VMCOREINFO found but the anchor does not
/// read. The text says what was checked.
fn kernel_check(
    memory: &ProcessMemory,
    machine: Option<u16>,
) -> Result<(Option<(u64, String)>, String), String> {
    // The first hit where a whole VMCOREINFO starts ends the scan (it lies low in RAM).
    let mut found = None;
    memory.scan_until(b"OSRELEASE=", 64, &mut |pa| {
        found = super::vmcoreinfo::find_vmcoreinfo(memory, &[pa]);
        found.is_some()
    });
    let Some((pa, text, info)) = found else {
        return Ok((None, "not checked against the kernel (no VMCOREINFO in memory)".into()));
    };
    let aarch64 = match machine {
        Some(m) => m == elf::EM_AARCH64,
        None => info.number("kimage_voffset").is_some(),
    };
    let a = verify::anchor(&info, aarch64)?;
    verify::check_anchor(memory, &a)?;
    Ok((
        Some((pa, text)),
        format!(
            "the kernel's release {:?} reads at init_uts_ns (guest-physical {:#x})",
            info.osrelease().unwrap_or_default(),
            a.pa
        ),
    ))
}
