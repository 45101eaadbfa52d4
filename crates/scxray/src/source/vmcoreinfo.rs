//! VMCOREINFO: the `KEY=VALUE` text the kernel keeps for dump tools (OSRELEASE, KASLR offset,
//! phys_base, page-table roots, VA_BITS, ...), as a dump carries it (an ELF note, the kdump
//! header) or memory holds it. The source stage has it because a dump says this about itself
//! and an attached guest's RAM layout is checked against it.

use scxray_core::{PhysAddr, PhysMem};
use std::collections::BTreeMap;

/// Parsed VMCOREINFO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmcoreInfo {
    entries: BTreeMap<String, String>,
}

impl VmcoreInfo {
    /// Parses the text; lines without `=` are ignored.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Self { entries }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// `OSRELEASE`.
    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }

    /// `SYMBOL(name)`: a runtime (KASLR-applied) address, printed in hex without `0x`.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        parse_hex(self.get(&format!("SYMBOL({name})"))?)
    }

    /// `NUMBER(name)`: decimal, or hex with `0x` (arm64 prints some that way).
    pub fn number(&self, name: &str) -> Option<i64> {
        let v = self.get(&format!("NUMBER({name})"))?;
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok().map(|u| u as i64),
            None => v.parse::<i64>().ok().or_else(|| v.parse::<u64>().ok().map(|u| u as i64)),
        }
    }

    /// `KERNELOFFSET`: the KASLR displacement (hex without `0x`).
    pub fn kernel_offset(&self) -> Option<u64> {
        parse_hex(self.get("KERNELOFFSET")?)
    }

    /// `PAGESIZE`.
    pub fn page_size(&self) -> Option<u64> {
        self.get("PAGESIZE")?.parse().ok()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was parsed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The first of `hits` (addresses of `OSRELEASE=`) where a whole VMCOREINFO text starts: its
/// address, text (up to the NUL, at most 4 KiB) and parse.
pub fn find_vmcoreinfo(mem: &impl PhysMem, hits: &[u64]) -> Option<(u64, String, VmcoreInfo)> {
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

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_formats() {
        let v = VmcoreInfo::parse(
            "OSRELEASE=7.3.4+deb13-cloud-amd64\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffffa8a1e000\n\
             NUMBER(phys_base)=-1767899136\nNUMBER(kimage_voffset)=0xffff7fff4fe00000\nKERNELOFFSET=26600000\n\
             NUMBER(pgtable_l5_enabled)=1\n",
        );
        assert_eq!(v.osrelease(), Some("7.3.4+deb13-cloud-amd64"));
        assert_eq!(v.page_size(), Some(4096));
        assert_eq!(v.symbol("init_top_pgt"), Some(0xffff_ffff_a8a1_e000));
        assert_eq!(v.number("phys_base"), Some(-1_767_899_136));
        assert_eq!(v.number("kimage_voffset"), Some(0xffff_7fff_4fe0_0000_u64 as i64));
        assert_eq!(v.kernel_offset(), Some(0x2660_0000));
        assert_eq!(v.number("pgtable_l5_enabled"), Some(1));
        assert_eq!(v.symbol("nope"), None);
    }
}
