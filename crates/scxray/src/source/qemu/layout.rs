//! The guest-physical layout of a running VM: which guest-physical ranges are RAM, and where
//! its VMM process holds each one.
//!
//! From QEMU's monitor: the flat view of the `memory` address space (`info mtree -f`: each
//! guest-physical range, its kind and the memory region with the offset into it) joined with the
//! RAM blocks (`info ramblock`: each block's name and size, and its host address where a QEMU
//! prints an `HVA` column). Without that column the host address of each block comes from the
//! process's mappings of its size, tried one by one against QEMU's own view of guest memory.
//! Without a monitor, [`RamSpec`]s given on the command line name the ranges for any VMM.

use super::process::{Mapping, RamRange};
use std::fmt;
use std::str::FromStr;

/// One row of `info ramblock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RamBlock {
    /// The block's id (`pc.ram`, `m0`, `/objects/mem0`, `0000:00:01.0/vga.vram`).
    pub name: String,
    /// The block's offset in QEMU's ram_addr space (not a guest address).
    pub offset: u64,
    /// Bytes in use.
    pub used: u64,
    /// Bytes reserved (`max_length`).
    pub total: u64,
    /// Its host virtual address, where this QEMU prints it.
    pub hva: Option<u64>,
}

/// Parses `info ramblock`. The block name is right-aligned and may hold spaces; the page size
/// is two words (`4 KiB`); some QEMUs add `HVA` and `RO` columns.
pub fn parse_ramblocks(text: &str) -> Result<Vec<RamBlock>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().ok_or("info ramblock printed nothing")?;
    if !header.starts_with("Block Name") {
        return Err(format!("info ramblock: unexpected header {header:?}"));
    }
    let hex = |t: &str| t.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok());
    let mut out = Vec::new();
    for line in lines {
        let t: Vec<&str> = line.split_whitespace().collect();
        let bad = || format!("info ramblock: cannot read the row {line:?}");
        let with_hva = matches!(t.last(), Some(&("rw" | "ro")));
        // From the right: [hva ro] total used offset psize-unit psize-number name...
        let tail = if with_hva { 7 } else { 5 };
        let name_len = t.len().checked_sub(tail).filter(|&n| n > 0).ok_or_else(bad)?;
        let at = |i: usize| t.get(name_len + i).copied().and_then(hex).ok_or_else(bad);
        out.push(RamBlock {
            name: t[..name_len].join(" "),
            offset: at(2)?,
            used: at(3)?,
            total: at(4)?,
            hva: if with_hva { Some(at(5)?) } else { None },
        });
    }
    Ok(out)
}

/// One range of a flat view (`info mtree -f`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatRange {
    /// First guest-physical address.
    pub start: u64,
    /// Bytes.
    pub len: u64,
    /// `ram`, `rom`, `i/o`, `romd`, `ramd`, with `nv-` before non-volatile memory.
    pub kind: String,
    /// The memory region's name.
    pub region: String,
    /// Offset of `start` in the region.
    pub offset: u64,
}

/// Parses the flat view of the address space `memory` (the system bus; CPUs' address spaces
/// share it) from `info mtree -f`.
pub fn parse_flat_view(text: &str) -> Result<Vec<FlatRange>, String> {
    let mut in_memory_view = false;
    let mut view_lines: Option<Vec<&str>> = None;
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("FlatView #") {
            if in_memory_view {
                view_lines = Some(std::mem::take(&mut current));
                break;
            }
            current.clear();
        } else if l.starts_with("AS \"memory\"") {
            in_memory_view = true;
        } else {
            current.push(l);
        }
    }
    let lines = match view_lines {
        Some(v) => v,
        None if in_memory_view => current,
        None => return Err("info mtree -f shows no flat view of the address space \"memory\"".into()),
    };
    let mut out = Vec::new();
    for l in lines {
        if l.is_empty() || l.starts_with("AS ") || l.starts_with("Root memory region") {
            continue;
        }
        if l.starts_with("No rendered FlatView") {
            break;
        }
        out.push(parse_flat_line(l).ok_or_else(|| format!("info mtree -f: cannot read the range {l:?}"))?);
    }
    if out.is_empty() {
        return Err("info mtree -f: the flat view of \"memory\" has no ranges".into());
    }
    Ok(out)
}

/// `0000000000100000-000000001fffffff (prio 0, ram): pc.ram @0000000000100000 KVM`
fn parse_flat_line(l: &str) -> Option<FlatRange> {
    let (range, rest) = l.split_once(' ')?;
    let (start, last) = range.split_once('-')?;
    let (start, last) = (u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(last, 16).ok()?);
    let rest = rest.trim_start().strip_prefix("(prio ")?;
    let (attrs, rest) = rest.split_once("): ")?;
    let (_prio, kind) = attrs.split_once(", ")?;
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    // Accelerators that hold the range print their name after it.
    while words.len() > 1
        && words.last().is_some_and(|w| matches!(*w, "KVM" | "HVF" | "WHPX" | "NVMM" | "MSHV"))
    {
        words.pop();
    }
    let mut offset = 0;
    if let Some(w) = words.last().and_then(|w| w.strip_prefix('@'))
        && words.len() > 1
    {
        offset = u64::from_str_radix(w, 16).ok()?;
        words.pop();
    }
    Some(FlatRange {
        start,
        len: last.checked_sub(start)?.checked_add(1)?,
        kind: kind.to_owned(),
        region: words.join(" "),
        offset,
    })
}

/// Whether a flat-view range is guest memory a dump would hold: RAM and ROM backed by a RAM
/// block (QEMU's `dump-guest-memory` takes the same: not I/O, not ROM devices, not RAM
/// devices, not non-volatile memory).
pub fn is_guest_memory(r: &FlatRange) -> bool {
    matches!(r.kind.as_str(), "ram" | "rom")
}

/// The RAM block that backs `region`: the block of that name, or one whose name is a device
/// path ending in `/region`.
pub fn block_of<'a>(region: &str, blocks: &'a [RamBlock]) -> Option<&'a RamBlock> {
    blocks.iter().find(|b| b.name == region).or_else(|| {
        let mut m = blocks.iter().filter(|b| b.name.strip_suffix(region).is_some_and(|p| p.ends_with('/')));
        match (m.next(), m.next()) {
            (Some(b), None) => Some(b),
            _ => None,
        }
    })
}

/// A guest-memory range of the flat view with its RAM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRange<'a> {
    /// The flat-view range.
    pub range: FlatRange,
    /// The block behind it.
    pub block: &'a RamBlock,
}

/// The guest-memory ranges of `flat` with their blocks; a range whose block is not listed is
/// an error naming it.
pub fn block_ranges<'a>(flat: &[FlatRange], blocks: &'a [RamBlock]) -> Result<Vec<BlockRange<'a>>, String> {
    let mut out = Vec::new();
    for r in flat.iter().filter(|r| is_guest_memory(r)) {
        let block = block_of(&r.region, blocks).ok_or_else(|| {
            format!(
                "the {} range {:#x}-{:#x} is region {:?}, which no RAM block of info ramblock backs",
                r.kind,
                r.start,
                r.start + r.len - 1,
                r.region
            )
        })?;
        if r.offset.checked_add(r.len).is_none_or(|e| e > block.total) {
            return Err(format!(
                "the range {:#x}-{:#x} reaches past the end of RAM block {} ({:#x} bytes at offset {:#x})",
                r.start,
                r.start + r.len - 1,
                block.name,
                r.len,
                r.offset
            ));
        }
        out.push(BlockRange { range: r.clone(), block });
    }
    if out.is_empty() {
        return Err("the flat view of \"memory\" has no RAM".into());
    }
    Ok(out)
}

/// The ranges with each block at host address `hva_of(block)`.
pub fn ram_ranges(
    ranges: &[BlockRange<'_>],
    hva_of: &dyn Fn(&RamBlock) -> Option<u64>,
) -> Result<Vec<RamRange>, String> {
    ranges
        .iter()
        .map(|br| {
            let hva =
                hva_of(br.block).ok_or_else(|| format!("RAM block {}: no host address", br.block.name))?;
            Ok(RamRange {
                gpa: br.range.start,
                len: br.range.len,
                hva: hva + br.range.offset,
                name: if br.range.offset == 0 {
                    br.block.name.clone()
                } else {
                    format!("{}@{:#x}", br.block.name, br.range.offset)
                },
            })
        })
        .collect()
}

/// The process's mappings that could hold `block`: readable and writable, not executable,
/// exactly the block's size (QEMU maps each block on its own, with a guard page after it).
pub fn mapping_candidates<'m>(block: &RamBlock, maps: &'m [Mapping]) -> Vec<&'m Mapping> {
    maps.iter()
        .filter(|m| m.has('r') && m.has('w') && !m.has('x'))
        .filter(|m| m.len() == block.total || m.len() == block.total.next_multiple_of(4096))
        .collect()
}

/// One `--ram GPA:SIZE@PID:HVA`: `SIZE` bytes of guest RAM from guest-physical `GPA` are at
/// host virtual address `HVA` in process `PID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamSpec {
    /// First guest-physical address.
    pub gpa: u64,
    /// Bytes.
    pub size: u64,
    /// The VMM process.
    pub pid: u32,
    /// Host virtual address of `gpa` in that process.
    pub hva: u64,
}

impl FromStr for RamSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let form = "the form is GPA:SIZE@PID:HVA, e.g. 0:512M@4242:0x7f3a40000000";
        let (range, at) = s.split_once('@').ok_or_else(|| format!("{s}: no '@': {form}"))?;
        let (gpa, size) = range.split_once(':').ok_or_else(|| format!("{s}: no ':' in GPA:SIZE: {form}"))?;
        let (pid, hva) = at.split_once(':').ok_or_else(|| format!("{s}: no ':' in PID:HVA: {form}"))?;
        let spec = Self {
            gpa: parse_number(gpa).map_err(|e| format!("{s}: GPA {e}"))?,
            size: parse_number(size).map_err(|e| format!("{s}: SIZE {e}"))?,
            pid: pid.parse().map_err(|_| format!("{s}: PID {pid:?} is not a process id"))?,
            hva: parse_number(hva).map_err(|e| format!("{s}: HVA {e}"))?,
        };
        if spec.size == 0
            || spec.gpa.checked_add(spec.size).is_none()
            || spec.hva.checked_add(spec.size).is_none()
        {
            return Err(format!("{s}: the range is empty or wraps around"));
        }
        Ok(spec)
    }
}

impl fmt::Display for RamSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}:{:#x}@{}:{:#x}", self.gpa, self.size, self.pid, self.hva)
    }
}

/// A number: decimal, `0x` hex, or with a binary suffix `K`, `M`, `G`, `T` (`512M`, `0x1G` no).
pub fn parse_number(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).map_err(|e| format!("{s:?}: {e}"));
    }
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{s:?}: unknown size suffix {c:?} (K, M, G or T)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|e| format!("{s:?}: {e}"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `info ramblock` with the `HVA` and `RO` columns some QEMUs print (x86_64 q35, `-m 512M`).
    const RAMBLOCK_HVA: &str = "              Block Name    PSize              Offset               Used              Total                HVA  RO\r
                  pc.ram    4 KiB  0x0000000000000000 0x0000000020000000 0x0000000020000000 0x00007f3a40000000  rw\r
                 pc.bios    4 KiB  0x0000000020000000 0x0000000000040000 0x0000000000040000 0x00007f3a8c600000  ro\r
                  pc.rom    4 KiB  0x0000000020040000 0x0000000000020000 0x0000000000020000 0x00007f3a8c400000  ro\r
   /rom@etc/acpi/tables    4 KiB  0x0000000020080000 0x0000000000020000 0x0000000000200000 0x00007f3a8be00000  ro\r\n";

    #[test]
    fn ramblock_rows_parse_with_and_without_the_hva_column() {
        let b = parse_ramblocks(RAMBLOCK_HVA).unwrap();
        assert_eq!(b.len(), 4);
        assert_eq!(
            b[0],
            RamBlock {
                name: "pc.ram".into(),
                offset: 0,
                used: 0x2000_0000,
                total: 0x2000_0000,
                hva: Some(0x7f3a_4000_0000)
            }
        );
        assert_eq!(
            (b[3].name.as_str(), b[3].used, b[3].total),
            ("/rom@etc/acpi/tables", 0x2_0000, 0x20_0000)
        );
        let old = "              Block Name    PSize              Offset               Used              Total\n\
                   0000:00:02.0/vga.vram    4 KiB  0x0000000040080000 0x0000000001000000 0x0000000001000000\n\
                   my ram   2 MiB  0x0000000000000000 0x0000000040000000 0x0000000040000000\n";
        let b = parse_ramblocks(old).unwrap();
        assert_eq!(
            b[0],
            RamBlock {
                name: "0000:00:02.0/vga.vram".into(),
                offset: 0x4008_0000,
                used: 0x100_0000,
                total: 0x100_0000,
                hva: None
            }
        );
        assert_eq!((b[1].name.as_str(), b[1].total, b[1].hva), ("my ram", 0x4000_0000, None));
        assert!(parse_ramblocks("").is_err());
        assert!(
            parse_ramblocks("Block Name PSize\n pc.ram 4 KiB 0x0 zz 0x1\n").unwrap_err().contains("pc.ram")
        );
        assert!(parse_ramblocks("unknown command: 'info ramblock'\n").is_err());
    }

    /// `info mtree -f` (trimmed) of QEMU 10.0: x86_64 q35 with 3 GiB (split around the PCI
    /// hole), then the view of a PCI device's bus-master address space.
    const MTREE_SPLIT: &str = "FlatView #0\r
 AS \"memory\", root: system\r
 AS \"cpu-memory-0\", root: system\r
 Root memory region: system\r
  0000000000000000-000000000009ffff (prio 0, ram): pc.ram KVM\r
  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem\r
  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\r
  00000000000e0000-00000000000fffff (prio 1, rom): pc.bios @0000000000020000\r
  0000000000100000-000000007fffffff (prio 0, ram): pc.ram @0000000000100000 KVM\r
  00000000b0000000-00000000bfffffff (prio 0, i/o): pcie-mmcfg-mmio\r
  00000000fed1c000-00000000fed1ffff (prio 1, i/o): lpc-rcrb-mmio\r
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\r
  0000000100000000-000000013fffffff (prio 0, ram): pc.ram @0000000080000000 KVM\r
\r
FlatView #1\r
 AS \"virtio-blk-pci\", root: bus master container\r
 Root memory region: bus master container\r
  0000000000000000-ffffffffffffffff (prio 0, i/o): system\r
\r
FlatView #2\r
 AS \"I/O\", root: io\r
 Root memory region: io\r
  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\r\n";

    #[test]
    fn the_memory_flat_view_parses_and_only_it() {
        let f = parse_flat_view(MTREE_SPLIT).unwrap();
        assert_eq!(f.len(), 9);
        assert_eq!(
            f[0],
            FlatRange { start: 0, len: 0xa0000, kind: "ram".into(), region: "pc.ram".into(), offset: 0 }
        );
        assert_eq!(
            f[3],
            FlatRange {
                start: 0xe0000,
                len: 0x20000,
                kind: "rom".into(),
                region: "pc.bios".into(),
                offset: 0x20000
            }
        );
        assert_eq!(
            f[8],
            FlatRange {
                start: 0x1_0000_0000,
                len: 0x4000_0000,
                kind: "ram".into(),
                region: "pc.ram".into(),
                offset: 0x8000_0000
            }
        );
        assert_eq!(f[5].kind, "i/o");
        // arm64 virt: RAM at 1 GiB, flash as a ROM device; and the view not listed first.
        let arm = "FlatView #0\n AS \"I/O\", root: io\n Root memory region: io\n  0000000000000000-000000000000ffff (prio 0, i/o): io\n\n\
                   FlatView #1\n AS \"memory\", root: system\n AS \"cpu-memory-0\", root: system\n Root memory region: system\n\
                   \x20 0000000000000000-0000000003ffffff (prio 0, romd): virt.flash0\n\
                   \x20 0000000009000000-0000000009000fff (prio 0, i/o): pl011\n\
                   \x20 0000000040000000-000000005fffffff (prio 0, ram): mach-virt.ram\n";
        let f = parse_flat_view(arm).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!((f[2].start, f[2].len, f[2].region.as_str()), (0x4000_0000, 0x2000_0000, "mach-virt.ram"));
        assert!(!is_guest_memory(&f[0]) && !is_guest_memory(&f[1]) && is_guest_memory(&f[2]));
        assert!(parse_flat_view(" AS \"I/O\", root: io\n").unwrap_err().contains("no flat view"));
        assert!(
            parse_flat_view("FlatView #0\n AS \"memory\", root: system\n  junk\n")
                .unwrap_err()
                .contains("junk")
        );
    }

    #[test]
    fn flat_ranges_join_their_blocks_at_the_block_hva() {
        let blocks = parse_ramblocks(RAMBLOCK_HVA).unwrap();
        // 512 MiB: all below 4 GiB.
        let flat = parse_flat_view(
            "FlatView #0\n AS \"memory\", root: system\n\
             \x20 0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n\
             \x20 00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n\
             \x20 0000000000100000-000000001fffffff (prio 0, ram): pc.ram @0000000000100000\n\
             \x20 00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n",
        )
        .unwrap();
        let br = block_ranges(&flat, &blocks).unwrap();
        let r = ram_ranges(&br, &|b| b.hva).unwrap();
        assert_eq!(
            r,
            vec![
                RamRange { gpa: 0, len: 0xa0000, hva: 0x7f3a_4000_0000, name: "pc.ram".into() },
                RamRange { gpa: 0xc0000, len: 0x20000, hva: 0x7f3a_8c40_0000, name: "pc.rom".into() },
                RamRange {
                    gpa: 0x10_0000,
                    len: 0x1ff0_0000,
                    hva: 0x7f3a_4010_0000,
                    name: "pc.ram@0x100000".into()
                },
                RamRange { gpa: 0xfffc_0000, len: 0x4_0000, hva: 0x7f3a_8c60_0000, name: "pc.bios".into() },
            ]
        );
        // The split guest: pc.ram's high part must fit the block.
        let e = block_ranges(&parse_flat_view(MTREE_SPLIT).unwrap(), &blocks).unwrap_err();
        assert!(e.contains("reaches past the end of RAM block pc.ram"), "{e}");
        // A region with no block is named.
        let e = block_ranges(
            &[FlatRange { start: 0, len: 4096, kind: "ram".into(), region: "ghost".into(), offset: 0 }],
            &blocks,
        )
        .unwrap_err();
        assert!(e.contains("\"ghost\""), "{e}");
    }

    /// Debian's QEMU 10.0.2, x86_64 q35 `-m 512M` with no memory backend option: no `HVA`
    /// column, and pc.ram's PAM windows below 1 MiB shown read-only.
    const RAMBLOCK_QEMU10: &str =
        "              Block Name    PSize              Offset               Used              Total\r
                  pc.ram    4 KiB  0x0000000000000000 0x0000000020000000 0x0000000020000000\r
    /rom@etc/acpi/tables    4 KiB  0x0000000020080000 0x0000000000020000 0x0000000000200000\r
                 pc.bios    4 KiB  0x0000000020000000 0x0000000000040000 0x0000000000040000\r
                  pc.rom    4 KiB  0x0000000020040000 0x0000000000020000 0x0000000000020000\r
   /rom@etc/table-loader    4 KiB  0x0000000020280000 0x0000000000001000 0x0000000000010000\r
      /rom@etc/acpi/rsdp    4 KiB  0x00000000202c0000 0x0000000000001000 0x0000000000001000\r\n";
    const MTREE_QEMU10: &str = "FlatView #0\r
 AS \"memory\", root: system\r
 AS \"cpu-memory-0\", root: system\r
 AS \"ich9-ahci\", root: bus master container\r
 Root memory region: system\r
  0000000000000000-00000000000c2fff (prio 0, ram): pc.ram\r
  00000000000c3000-00000000000e7fff (prio 0, rom): pc.ram @00000000000c3000\r
  00000000000e8000-00000000000effff (prio 0, ram): pc.ram @00000000000e8000\r
  00000000000f0000-00000000000fffff (prio 0, rom): pc.ram @00000000000f0000\r
  0000000000100000-000000001fffffff (prio 0, ram): pc.ram @0000000000100000\r
  00000000b0000000-00000000bfffffff (prio 0, i/o): pcie-mmcfg-mmio\r
  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi\r
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\r
\r
FlatView #1\r
 AS \"cpu-smm-3\", root: memory\r
 Root memory region: memory\r
  0000000000000000-00000000000c2fff (prio 0, ram): pc.ram\r\n";

    #[test]
    fn qemu_10s_layout_joins_to_the_ranges_a_core_holds() {
        let blocks = parse_ramblocks(RAMBLOCK_QEMU10).unwrap();
        assert_eq!(blocks.len(), 6);
        assert!(blocks.iter().all(|b| b.hva.is_none()));
        let flat = parse_flat_view(MTREE_QEMU10).unwrap();
        assert_eq!(flat.len(), 8);
        let br = block_ranges(&flat, &blocks).unwrap();
        let at = |b: &RamBlock| Some(if b.name == "pc.ram" { 0x7f00_0000_0000 } else { 0x7f10_0000_0000 });
        let r: Vec<(u64, u64, u64)> =
            ram_ranges(&br, &at).unwrap().iter().map(|r| (r.gpa, r.len, r.hva)).collect();
        assert_eq!(
            r,
            [
                (0, 0xc3000, 0x7f00_0000_0000),
                (0xc3000, 0x25000, 0x7f00_000c_3000),
                (0xe8000, 0x8000, 0x7f00_000e_8000),
                (0xf0000, 0x10000, 0x7f00_000f_0000),
                (0x10_0000, 0x1ff0_0000, 0x7f00_0010_0000),
                (0xfffc_0000, 0x4_0000, 0x7f10_0000_0000),
            ]
        );
        // 512 MiB of pc.ram plus the 256 KiB BIOS: what the guest's dump-guest-memory core holds.
        assert_eq!(r.iter().map(|x| x.1).sum::<u64>(), (512 << 20) + (256 << 10));
    }

    #[test]
    fn device_path_block_names_match_their_region() {
        let b = |name: &str| RamBlock { name: name.into(), offset: 0, used: 1, total: 1, hva: None };
        let blocks = [b("0000:00:02.0/vga.vram"), b("m0"), b("/objects/m1"), b("a/dup"), b("b/dup")];
        assert_eq!(block_of("vga.vram", &blocks).map(|b| b.name.as_str()), Some("0000:00:02.0/vga.vram"));
        assert_eq!(block_of("m0", &blocks).map(|b| b.name.as_str()), Some("m0"));
        assert_eq!(block_of("m1", &blocks).map(|b| b.name.as_str()), Some("/objects/m1"));
        assert_eq!(block_of("dup", &blocks), None);
        assert_eq!(block_of("ram", &blocks), None);
    }

    #[test]
    fn mappings_of_a_blocks_size_are_its_candidates() {
        let maps = super::super::process::parse_maps(
            "7f3a40000000-7f3a60000000 rw-p 00000000 00:00 0 \n\
             7f3a60000000-7f3a60001000 ---p 00000000 00:00 0 \n\
             7f3b00000000-7f3b20000000 rwxp 00000000 00:00 0 \n\
             7f3c00000000-7f3c20000000 rw-s 00000000 00:01 77 /memfd:m1 (deleted)\n\
             7f3d00000000-7f3d10000000 rw-p 00000000 00:00 0 \n",
        );
        let block =
            RamBlock { name: "m0".into(), offset: 0, used: 0x2000_0000, total: 0x2000_0000, hva: None };
        let c: Vec<u64> = mapping_candidates(&block, &maps).iter().map(|m| m.start).collect();
        assert_eq!(c, [0x7f3a_4000_0000, 0x7f3c_0000_0000]);
    }

    #[test]
    fn ram_specs_parse_with_suffixes_and_say_the_form() {
        let s: RamSpec = "0:512M@4242:0x7f3a40000000".parse().unwrap();
        assert_eq!(s, RamSpec { gpa: 0, size: 512 << 20, pid: 4242, hva: 0x7f3a_4000_0000 });
        assert_eq!(s.to_string(), "0x0:0x20000000@4242:0x7f3a40000000");
        let s: RamSpec = "0x100000000:2G@1:140000000000".parse().unwrap();
        assert_eq!((s.gpa, s.size, s.hva), (1 << 32, 2 << 30, 140_000_000_000));
        assert!("0:512M".parse::<RamSpec>().unwrap_err().contains("GPA:SIZE@PID:HVA"));
        assert!("0:512Q@1:0".parse::<RamSpec>().unwrap_err().contains("unknown size suffix"));
        assert!("0:0@1:0".parse::<RamSpec>().unwrap_err().contains("empty"));
        assert!("0:1M@x:0".parse::<RamSpec>().unwrap_err().contains("PID"));
        assert!("0xffffffffffffffff:2@1:0".parse::<RamSpec>().is_err());
        assert_eq!(parse_number("16T"), Ok(16 << 40));
        assert!(parse_number("99999999999T").unwrap_err().contains("too large"));
    }
}
