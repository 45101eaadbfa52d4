//! What the translator must know about the guest: `TCR_EL1` and `TTBR1_EL1`, the two
//! registers that configure a TTBR1 walk, or for dumps without registers the
//! [`Aarch64KernelConfig`] VMCOREINFO gives; and [`ConfigError`], why a configuration
//! describes no walk this crate can do.
//!
//! Only the register fields the walk needs are named; every other bit is kept
//! (`const _ = !0`) so a register value round-trips unchanged.

use crate::geometry::{AddressFormat, Granule};
use bitflags::bitflags;
use core::fmt;
use scxray_core::PhysAddr;

bitflags! {
    /// Translation Control Register (EL1): the TTBR1 half and the shared fields.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct TcrEl1: u64 {
        /// Size offset of the TTBR1 region: the region has `2^(64 - T1SZ)` bytes.
        const T1SZ = 0x3f << 16;
        /// Whether TTBR1 (1) or TTBR0 (0) holds the ASID. No effect on translation.
        const A1 = 1 << 22;
        /// Walks through TTBR1 disabled: every TTBR1 miss faults.
        const EPD1 = 1 << 23;
        /// Shareability of TTBR1 walks (and, with DS = 1, of every TTBR1 mapping).
        const SH1 = 0b11 << 28;
        /// TTBR1 granule: `0b10` 4K, `0b01` 16K, `0b11` 64K.
        const TG1 = 0b11 << 30;
        /// Intermediate (here: output) physical address size.
        const IPS = 0b111 << 32;
        /// 16-bit ASIDs. No effect on translation.
        const AS = 1 << 36;
        /// Top byte ignored for TTBR1 addresses (tagged kernel pointers).
        const TBI1 = 1 << 38;
        /// FEAT_LPA2: 52-bit output addresses (and VAs) with 4K and 16K granules.
        const DS = 1 << 59;
        const _ = !0;
    }
}

impl TcrEl1 {
    /// A register value with the given walk-relevant fields and every other bit clear.
    #[must_use]
    pub fn new(t1sz: u8, granule: Granule, ips: u8, ds: bool) -> Self {
        let t1sz = u64::from(t1sz & 0x3f);
        let ips = u64::from(ips & 0b111);
        let ds = if ds { Self::DS.bits() } else { 0 };
        Self::from_bits_retain((t1sz << 16) | (granule.tg1() << 30) | (ips << 32) | ds)
    }

    /// `T1SZ`: the TTBR1 VA space has `64 - T1SZ` bits.
    #[must_use]
    pub fn t1sz(self) -> u8 {
        u8::try_from((self.bits() >> 16) & 0x3f).unwrap_or(0)
    }

    /// The TTBR1 granule, `None` for the reserved encoding `0b00`.
    #[must_use]
    pub const fn granule(self) -> Option<Granule> {
        Granule::from_tg1((self.bits() >> 30) & 0b11)
    }

    /// The raw `IPS` field.
    #[must_use]
    pub fn ips(self) -> u8 {
        u8::try_from((self.bits() >> 32) & 0b111).unwrap_or(0)
    }

    /// Output address size in bits for `IPS`: 32, 36, 40, 42, 44, 48, 52; `None` for the
    /// reserved `0b111`.
    #[must_use]
    pub fn pa_bits(self) -> Option<u32> {
        ips_to_bits(self.ips())
    }

    /// The descriptor address format this register selects for `granule`: LPA2 when DS is set
    /// with 4K/16K (DS is ignored with 64K), LPA with 64K and a 52-bit IPS, plain otherwise.
    #[must_use]
    pub fn address_format(self, granule: Granule) -> AddressFormat {
        match granule {
            Granule::K4 | Granule::K16 if self.contains(Self::DS) => AddressFormat::Lpa2,
            Granule::K64 if self.ips() == 0b110 => AddressFormat::Lpa,
            _ => AddressFormat::Pa48,
        }
    }
}

/// Output address bits for an `IPS`/`PS` encoding.
#[must_use]
pub const fn ips_to_bits(ips: u8) -> Option<u32> {
    match ips {
        0b000 => Some(32),
        0b001 => Some(36),
        0b010 => Some(40),
        0b011 => Some(42),
        0b100 => Some(44),
        0b101 => Some(48),
        0b110 => Some(52),
        _ => None,
    }
}

/// The `IPS` encoding for an output address size, `None` for sizes without one.
#[must_use]
pub const fn bits_to_ips(bits: u32) -> Option<u8> {
    match bits {
        32 => Some(0b000),
        36 => Some(0b001),
        40 => Some(0b010),
        42 => Some(0b011),
        44 => Some(0b100),
        48 => Some(0b101),
        52 => Some(0b110),
        _ => None,
    }
}

bitflags! {
    /// Translation Table Base Register 1 (EL1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Ttbr1El1: u64 {
        /// Common not Private: a TLB-sharing hint, not part of the address.
        const CNP = 1 << 0;
        /// With 52-bit output addresses: base address bits 51:48.
        const BADDR_51_48 = 0xf << 2;
        /// Base address bits 47:1 (the low ones RES0 up to the root table's alignment).
        const BADDR = 0x0000_ffff_ffff_fffe;
        /// Address space identifier, not part of the address.
        const ASID = 0xffff << 48;
        const _ = !0;
    }
}

impl Ttbr1El1 {
    /// The value Linux writes for a root table at `pa` (`phys_to_ttbr`): with a 52-bit
    /// `format`, address bits 51:48 go to register bits 5:2.
    #[must_use]
    pub const fn from_table(pa: u64, format: AddressFormat) -> Self {
        let low = pa & 0x0000_ffff_ffff_fffe;
        if format.is_52bit() {
            Self::from_bits_retain(low | ((pa >> 46) & Self::BADDR_51_48.bits()))
        } else {
            Self::from_bits_retain(low)
        }
    }

    /// The root table address: ASID and CnP dropped, bits below `align_shift` dropped (RES0
    /// there, and the 52-bit format reuses bits 5:2), and with a 52-bit `format` bits 5:2 moved
    /// up to 51:48.
    #[must_use]
    pub const fn table_address(self, format: AddressFormat, align_shift: u32) -> u64 {
        let align_shift = if format.is_52bit() && align_shift < 6 {
            6
        } else if align_shift < 1 {
            1
        } else if align_shift > 47 {
            47
        } else {
            align_shift
        };
        let low = self.bits() & 0x0000_ffff_ffff_ffff & !(1u64 << align_shift).wrapping_sub(1);
        if format.is_52bit() { low | ((self.bits() & Self::BADDR_51_48.bits()) << 46) } else { low }
    }
}

/// Why a register (or kernel) configuration describes no walk this crate can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `TCR_EL1.TG1 = 0b00` (reserved), or a page size that is not 4K, 16K or 64K.
    Granule {
        /// The raw `TG1` field, or the page size given.
        raw: u64,
    },
    /// `TCR_EL1.IPS = 0b111` (reserved without FEAT_D128, which this crate does not walk).
    PaSize {
        /// The raw `IPS` field.
        ips: u8,
    },
    /// `T1SZ` outside what the granule and format allow: 16 (12 with 64K or DS = 1, i.e.
    /// FEAT_LVA/LPA2) up to 48 (47 with 64K, FEAT_TTST).
    VaSize {
        /// The raw `T1SZ`.
        t1sz: u8,
    },
    /// The root table address is beyond the output address size.
    TableBase {
        /// The root table address decoded from `TTBR1_EL1`.
        pa: PhysAddr,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Granule { raw } => write!(f, "no translation granule for {raw:#x}"),
            Self::PaSize { ips } => write!(f, "reserved physical address size encoding {ips:#b}"),
            Self::VaSize { t1sz } => write!(f, "T1SZ {t1sz} is outside the supported range"),
            Self::TableBase { pa } => write!(f, "root table {pa} is beyond the output address size"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// What the kernel's configuration (VMCOREINFO) tells about its page tables, for dumps without
/// registers (QEMU's arm64 `dump-guest-memory` records no `TTBR1_EL1`):
/// [`Aarch64Translator::from_kernel_config`](crate::Aarch64Translator::from_kernel_config)
/// rebuilds the registers from it. Not to be confused with the host's parsed VMCOREINFO note,
/// which it is filled from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Aarch64KernelConfig {
    /// Physical address of `swapper_pg_dir` (its `SYMBOL()` minus `kimage_voffset`). The kernel
    /// runs with `TTBR1_EL1 = phys_to_ttbr(pa(swapper_pg_dir))`, so this is its own value;
    /// with one exception the constructor applies too: a 64K kernel built for 52-bit VAs
    /// running with 48 (`T1SZ = 16`) adds `TTBR1_BADDR_4852_OFFSET` (`offset_ttbr1`), so the
    /// 48-bit walk starts at the last 64 of the 1024 root entries.
    pub swapper_pg_dir: PhysAddr,
    /// `NUMBER(VA_BITS)`: the configured VA size (the linear map's `PAGE_OFFSET`).
    pub va_bits: u32,
    /// `NUMBER(TCR_EL1_T1SZ)`: the VA size in use (`64 - T1SZ`), smaller than `VA_BITS` when
    /// a 52-bit kernel runs on 48-bit hardware. `None` (kernels before 5.9) means
    /// `64 - VA_BITS`.
    pub tcr_el1_t1sz: Option<u8>,
    /// `PAGESIZE`.
    pub page_size: u64,
    /// Whether 52-bit physical addresses are on: LPA2 (`TCR_EL1.DS = 1`) with 4K and 16K
    /// pages, FEAT_LPA (`IPS = 52`) with 64K. With 4K/16K pages and `T1SZ = 12` it must be
    /// on; otherwise a 52-bit-capable kernel (VMCOREINFO's `NUMBER(MAX_PHYSMEM_BITS)` = 52)
    /// turns it on only when the CPU has LPA2, which VMCOREINFO does not record.
    pub lpa2: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcr_fields_round_trip() {
        let t = TcrEl1::new(12, Granule::K16, 0b110, true);
        assert_eq!((t.t1sz(), t.granule(), t.ips(), t.pa_bits()), (12, Some(Granule::K16), 6, Some(52)));
        assert!(t.contains(TcrEl1::DS));
        assert_eq!(t.address_format(Granule::K16), AddressFormat::Lpa2);
        assert_eq!(t.address_format(Granule::K64), AddressFormat::Lpa);
        let t = TcrEl1::new(16, Granule::K64, 0b101, true);
        assert_eq!(t.address_format(Granule::K64), AddressFormat::Pa48);
        for ips in 0..8u8 {
            assert_eq!(ips_to_bits(ips).and_then(bits_to_ips), (ips < 7).then_some(ips));
        }
    }

    #[test]
    fn ttbr_encodes_and_decodes_52bit_bases() {
        let pa = 0x000a_1234_5678_9000;
        let r = Ttbr1El1::from_table(pa, AddressFormat::Lpa2);
        assert_eq!(r.bits() & 0x3c, 0xa << 2);
        let with_asid = Ttbr1El1::from_bits_retain(r.bits() | (0xffff << 48) | 1);
        assert_eq!(with_asid.table_address(AddressFormat::Lpa2, 12), pa);
        assert_eq!(with_asid.table_address(AddressFormat::Lpa, 3), pa);
        // In the 48-bit format the high bits cannot be expressed.
        let r = Ttbr1El1::from_table(pa, AddressFormat::Pa48);
        assert_eq!(r.table_address(AddressFormat::Pa48, 12), pa & 0x0000_ffff_ffff_ffff);
    }
}
