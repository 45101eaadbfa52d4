//! Checking a layout against the guest before anything is walked through it, two ways:
//!
//! - against QEMU's own view of guest memory (HMP `xp` through QMP): a few non-zero 64-byte
//!   samples of each range, read through the layout and through QEMU, must agree (a running
//!   guest may change a sample between the two reads, so a disagreement is re-read twice);
//! - against the guest kernel's description of itself: the VMCOREINFO text found in memory
//!   names the kernel's `init_uts_ns` and its release, and the kernel image's virtual-to-physical
//!   rule (x86_64: `phys_base`; arm64: `kimage_voffset`) says where `init_uts_ns` lies; the
//!   release must read there. This needs no monitor, and checks the one address a layout is
//!   most likely to get wrong: where RAM starts.

use super::process::ProcessMemory;
use crate::source::vmcoreinfo::VmcoreInfo;
use scxray_core::{PhysAddr, PhysMem};

/// What the VMM itself reads at a guest-physical address (QEMU: `xp`), filling the buffer.
pub type Reference<'a> = dyn FnMut(u64, &mut [u8]) -> Result<(), String> + 'a;

/// Bytes compared per sample (what one `xp /8xg` prints).
pub const SAMPLE: usize = 64;
/// Places probed per range for non-zero samples.
const PROBES: u64 = 64;
/// Samples compared per range at most.
const SAMPLES: usize = 4;

/// How one range fared against the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RangeCheck {
    /// Samples that agreed.
    pub matched: u32,
    /// Samples that disagreed on all three reads.
    pub mismatched: u32,
    /// The first sample that disagreed, as (guest-physical address).
    pub first_mismatch: Option<u64>,
}

impl RangeCheck {
    /// Not contradicted: verified, or nothing non-zero to compare (an unused range says nothing
    /// either way).
    pub fn consistent(&self) -> bool {
        self.verified() || (self.matched == 0 && self.mismatched == 0)
    }

    /// Agreement: something non-zero agreed, and at least twice as much agreed as did not (a
    /// wrong host address agrees on no non-zero sample; a busy guest may change a few).
    pub fn verified(&self) -> bool {
        self.matched > 0 && self.matched >= 2 * self.mismatched
    }
}

/// Compares each range of `mem` with `reference` (`reference(gpa, buf)` fills `buf` with what
/// the VMM itself reads at `gpa`). Returns one check per range, in `mem.ranges()` order.
pub fn against_reference(
    mem: &ProcessMemory,
    reference: &mut Reference<'_>,
) -> Result<Vec<RangeCheck>, String> {
    let mut out = Vec::new();
    for r in mem.ranges() {
        let mut check = RangeCheck::default();
        let pages = (r.len / 4096).max(1);
        let step = (pages / PROBES).max(1);
        let mut samples = 0;
        let mut page = 0;
        while page < pages && samples < SAMPLES {
            // Within the page, the first SAMPLE bytes (or what the range has).
            let gpa = r.gpa + page * 4096;
            let n = SAMPLE.min(usize::try_from(r.gpa_end() - gpa).unwrap_or(SAMPLE));
            page += step;
            let mut ours = [0u8; SAMPLE];
            if mem.read(PhysAddr(gpa), &mut ours[..n]).is_err() || ours[..n].iter().all(|&b| b == 0) {
                continue;
            }
            samples += 1;
            let mut theirs = [0u8; SAMPLE];
            let mut agreed = false;
            for _ in 0..3 {
                reference(gpa, &mut theirs[..n])?;
                if theirs[..n] == ours[..n] {
                    agreed = true;
                    break;
                }
                if mem.read(PhysAddr(gpa), &mut ours[..n]).is_err() {
                    break;
                }
            }
            if agreed {
                check.matched += 1;
            } else {
                check.mismatched += 1;
                check.first_mismatch.get_or_insert(gpa);
            }
        }
        out.push(check);
    }
    Ok(out)
}

/// Parses HMP `xp /Nxg ADDR` output (`0000000000001000: 0x0000000000000000 0x...`) into the
/// bytes it shows (little-endian, as the guest holds them).
pub fn parse_xp(text: &str, addr: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(len);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (at, words) = line.split_once(':').ok_or_else(|| format!("xp: cannot read {line:?}"))?;
        let at = u64::from_str_radix(at.trim(), 16).map_err(|_| format!("xp: cannot read {line:?}"))?;
        if at != addr + out.len() as u64 {
            return Err(format!("xp: line for {at:#x}, expected {:#x}", addr + out.len() as u64));
        }
        for w in words.split_whitespace() {
            let v = w
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("xp: cannot read {w:?} in {line:?}"))?;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if out.len() < len {
        return Err(format!("xp at {addr:#x}: {} bytes shown, {len} wanted: {}", out.len(), text.trim()));
    }
    out.truncate(len);
    Ok(out)
}

/// The kernel's own anchor: where `init_uts_ns`'s release lies physically, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Guest-physical address of `init_uts_ns.name.release`.
    pub pa: u64,
    /// The release (VMCOREINFO's OSRELEASE), NUL-terminated as the kernel holds it.
    pub release: Vec<u8>,
}

/// x86_64's `__START_KERNEL_map`.
const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// `struct new_utsname`: `sysname[65]`, `nodename[65]`, then `release[65]`.
const UTS_RELEASE_OFFSET: u64 = 2 * 65;

/// The anchor VMCOREINFO describes, for an x86_64 (`aarch64 == false`) or arm64 kernel.
pub fn anchor(info: &VmcoreInfo, aarch64: bool) -> Result<Anchor, String> {
    let release = info.osrelease().ok_or("VMCOREINFO has no OSRELEASE")?;
    let uts = info.symbol("init_uts_ns").ok_or("VMCOREINFO has no SYMBOL(init_uts_ns)")?;
    let name = info
        .get("OFFSET(uts_namespace.name)")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or("VMCOREINFO has no OFFSET(uts_namespace.name)")?;
    let va = uts.wrapping_add(name).wrapping_add(UTS_RELEASE_OFFSET);
    let pa = if aarch64 {
        let voffset = info.number("kimage_voffset").ok_or("VMCOREINFO has no NUMBER(kimage_voffset)")?;
        va.wrapping_sub(voffset as u64)
    } else {
        let phys_base = info.number("phys_base").ok_or("VMCOREINFO has no NUMBER(phys_base)")?;
        va.checked_sub(START_KERNEL_MAP)
            .ok_or_else(|| format!("SYMBOL(init_uts_ns) {uts:#x} is not in the x86_64 kernel image"))?
            .wrapping_add(phys_base as u64)
    };
    let mut release = release.as_bytes().to_vec();
    release.push(0);
    Ok(Anchor { pa, release })
}

/// Reads the anchor through `mem`: `Ok` when the release is there.
pub fn check_anchor(mem: &impl PhysMem, a: &Anchor) -> Result<(), String> {
    let mut got = vec![0u8; a.release.len()];
    mem.read(PhysAddr(a.pa), &mut got).map_err(|e| format!("init_uts_ns's release: {e}"))?;
    if got == a.release {
        Ok(())
    } else {
        Err(format!(
            "init_uts_ns's release at guest-physical {:#x} reads {:?}, not {:?}",
            a.pa,
            String::from_utf8_lossy(&got).trim_end_matches('\0'),
            String::from_utf8_lossy(&a.release).trim_end_matches('\0')
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::process::RamRange;
    use super::*;

    #[test]
    fn xp_output_reads_as_the_guests_bytes() {
        let text = "0000000000001000: 0x0706050403020100 0x0f0e0d0c0b0a0908\r\n\
                    0000000000001010: 0x0000000000000000 0xffffffff81000000\r\n";
        let b = parse_xp(text, 0x1000, 32).unwrap();
        assert_eq!(&b[..16], &(0..16).collect::<Vec<u8>>()[..]);
        assert_eq!(u64::from_le_bytes(b[24..32].try_into().unwrap()), 0xffff_ffff_8100_0000);
        assert_eq!(parse_xp(text, 0x1000, 12).unwrap().len(), 12);
        assert!(parse_xp(text, 0x2000, 16).unwrap_err().contains("expected 0x2000"));
        assert!(parse_xp(text, 0x1000, 40).unwrap_err().contains("32 bytes shown"));
        assert!(parse_xp("Cannot access memory\r\n", 0, 8).is_err());
    }

    /// VMCOREINFO of the lab's 7.3 amd64 guest (the lines the anchor uses).
    const X86_INFO: &str = "OSRELEASE=7.3.4+deb13-cloud-amd64\nPAGESIZE=4096\n\
        SYMBOL(init_uts_ns)=ffffffff83a13b40\nOFFSET(uts_namespace.name)=0\n\
        NUMBER(phys_base)=83886080\nKERNELOFFSET=2000000\n";

    #[test]
    fn the_anchor_follows_each_architectures_image_rule() {
        let a = anchor(&VmcoreInfo::parse(X86_INFO), false).unwrap();
        // 0xffffffff83a13b40 + 130 - __START_KERNEL_map + phys_base (0x5000000)
        assert_eq!(a.pa, 0x8a1_3bc2);
        assert_eq!(a.release, b"7.3.4+deb13-cloud-amd64\0");
        let arm = "OSRELEASE=7.3.4+deb13-cloud-arm64\nSYMBOL(init_uts_ns)=ffffa0c8e1e3a2f8\n\
                   OFFSET(uts_namespace.name)=8\nNUMBER(kimage_voffset)=0xffffa0c80f200000\n";
        let a = anchor(&VmcoreInfo::parse(arm), true).unwrap();
        assert_eq!(a.pa, 0xffff_a0c8_e1e3_a2f8 + 8 + 130 - 0xffff_a0c8_0f20_0000);
        assert!(anchor(&VmcoreInfo::parse(arm), false).unwrap_err().contains("phys_base"));
        assert!(anchor(&VmcoreInfo::parse("OSRELEASE=x\n"), false).unwrap_err().contains("init_uts_ns"));
    }

    #[test]
    fn a_layout_is_checked_against_the_reference_and_the_anchor() {
        // Guest RAM: 64 KiB at guest-physical 0x4000_0000, a non-zero page every 16 KiB.
        let mut ram = vec![0u8; 64 << 10];
        for (i, page) in ram.chunks_mut(4096).enumerate() {
            if i % 4 == 1 {
                page[..8].copy_from_slice(&(0xabcd_0000 + i as u64).to_le_bytes());
            }
        }
        ram[0x2000..0x2006].copy_from_slice(b"6.13\0\0");
        let hva = ram.as_ptr() as u64;
        let range = |hva| vec![RamRange { gpa: 0x4000_0000, len: 64 << 10, hva, name: "ram".into() }];
        let mem = ProcessMemory::open(std::process::id(), range(hva)).unwrap();
        let truth = ram.clone();
        let mut reference = |gpa: u64, buf: &mut [u8]| {
            let o = (gpa - 0x4000_0000) as usize;
            buf.copy_from_slice(&truth[o..o + buf.len()]);
            Ok(())
        };
        let c = against_reference(&mem, &mut reference).unwrap();
        assert_eq!(c, vec![RangeCheck { matched: 4, mismatched: 0, first_mismatch: None }]);
        assert!(c[0].verified());
        // One page off: nothing non-zero agrees.
        let off = mem.with_ranges(range(hva + 4096)).unwrap();
        let c = against_reference(&off, &mut reference).unwrap();
        assert_eq!((c[0].matched, c[0].mismatched, c[0].first_mismatch), (0, 4, Some(0x4000_0000)));
        assert!(!c[0].verified());
        // All zero: nothing to compare, not verified.
        let zeros = vec![0u8; 8192];
        let z = mem
            .with_ranges(vec![RamRange { gpa: 0, len: 8192, hva: zeros.as_ptr() as u64, name: "z".into() }])
            .unwrap();
        let c = against_reference(&z, &mut |_, _| Ok(())).unwrap();
        assert_eq!(c[0], RangeCheck::default());
        assert!(!c[0].verified() && c[0].consistent());

        let a = Anchor { pa: 0x4000_2000, release: b"6.13\0".to_vec() };
        assert_eq!(check_anchor(&mem, &a), Ok(()));
        let e = check_anchor(&off, &a).unwrap_err();
        assert!(e.contains("reads \"\", not \"6.13\""), "{e}");
        drop(ram);
        drop(zeros);
    }
}
