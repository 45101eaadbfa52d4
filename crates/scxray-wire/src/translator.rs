//! The translator, live and on the wire: [`Translator`], the one arch-dispatch translator
//! the host and the embedded side both walk with, and [`TranslatorConfig`], its plain values
//! in a request. The mapping between the two is written once, here: the host encodes its
//! translator with [`Translator::to_config`], the embedded side rebuilds it with
//! [`Translator::from_config`].

use crate::error::WireError;
use scxray_aarch64::{Aarch64Translator, Granule, KernelImage, LinearMap, TcrEl1, Ttbr1El1, bits_to_ips};
use scxray_core::{
    AddressKind, LinearRange, LinearTranslator, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr,
};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use serde::{Deserialize, Serialize};

/// Most linear ranges a [`TranslatorConfig::Linear`] carries.
pub const MAX_LINEAR_RANGES: usize = 8;

/// The ranges of a linear-only translator.
pub type LinearRanges = heapless::Vec<LinearRange, MAX_LINEAR_RANGES>;

/// A translator, as plain values: the embedded side builds the translator from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TranslatorConfig {
    /// `scxray_x86_64::X86Config`, field by field.
    X86_64(X86_64Config),
    /// `scxray_aarch64::Aarch64Translator`: the registers and the two linear rules.
    Aarch64(Aarch64Config),
    /// [`LinearTranslator`] over these ranges (no page tables).
    Linear(LinearRanges),
}

/// The fields of `scxray_x86_64::X86Config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct X86_64Config {
    /// CR3 (PCID and flag bits are masked off by the translator).
    pub cr3: u64,
    /// 5-level paging (CR4.LA57).
    pub five_level: bool,
    /// `page_offset_base`.
    pub page_offset_base: VirtAddr,
    /// Bytes covered by the direct-map rule.
    pub direct_map_size: u64,
    /// `phys_base`.
    pub phys_base: PhysAddr,
    /// `__START_KERNEL_map`.
    pub kernel_map_start: VirtAddr,
    /// Bytes covered by the kernel-image rule.
    pub kernel_image_size: u64,
    /// MAXPHYADDR.
    pub max_phys_bits: u8,
    /// End of guest RAM, when known.
    pub phys_end: Option<PhysAddr>,
    /// Walk the page tables even where a linear rule applies.
    pub prefer_walk: bool,
}

/// `X86_64Config` <-> `X86Config`, the fields both have named once. The struct literals
/// name every field: a field `X86Config` gains does not compile until the wire form has it too
/// (and the format version is bumped).
macro_rules! x86_64_config_fields {
    ($($field:ident),*) => {
        impl From<X86_64Config> for X86Config {
            fn from(c: X86_64Config) -> Self {
                let paging_mode = if c.five_level { PagingMode::FiveLevel } else { PagingMode::FourLevel };
                Self { cr3: Cr3(c.cr3), paging_mode, $($field: c.$field),* }
            }
        }

        impl From<&X86Config> for X86_64Config {
            fn from(c: &X86Config) -> Self {
                Self { cr3: c.cr3.0, five_level: c.paging_mode == PagingMode::FiveLevel, $($field: c.$field),* }
            }
        }
    };
}

x86_64_config_fields!(
    page_offset_base,
    direct_map_size,
    phys_base,
    kernel_map_start,
    kernel_image_size,
    max_phys_bits,
    phys_end,
    prefer_walk
);

/// An aarch64 translator: `TTBR1_EL1`, `TCR_EL1` and the optional linear rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aarch64Config {
    /// `TTBR1_EL1`.
    pub ttbr1_el1: u64,
    /// `TCR_EL1`.
    pub tcr_el1: u64,
    /// The linear map `[start, end)`, `pa = va - start + phys_offset`.
    pub linear_map: Option<LinearRule>,
    /// The kernel image `[start, end)`, `pa = va - voffset`.
    pub kernel_image: Option<LinearRule>,
}

/// One linear rule of [`Aarch64Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearRule {
    /// First address.
    pub start: VirtAddr,
    /// One past the last (0: the top of the address space, for the linear map).
    pub end: VirtAddr,
    /// `PHYS_OFFSET` for the linear map, `kimage_voffset` for the image.
    pub offset: u64,
}

/// The translator for the guest being read, whatever its architecture: the host's, and the
/// one the embedded side builds from a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Translator {
    /// x86_64 page tables and Linux's two linear rules.
    X86_64(X86Translator),
    /// aarch64 TTBR1 walk and Linux's two linear rules.
    Aarch64(Aarch64Translator),
    /// Linear ranges only, tried in order.
    Linear(LinearRanges),
}

impl Translator {
    /// Builds the translator `config` describes.
    ///
    /// # Errors
    /// [`WireError::Translator`] for aarch64 registers the walker refuses.
    pub fn from_config(config: TranslatorConfig) -> Result<Self, WireError> {
        Ok(match config {
            TranslatorConfig::X86_64(c) => Self::X86_64(X86Translator::new(c.into())),
            TranslatorConfig::Aarch64(c) => {
                let mut t = Aarch64Translator::from_registers(c.ttbr1_el1, c.tcr_el1)
                    .map_err(|_| WireError::Translator)?;
                if let Some(l) = c.linear_map {
                    t = t.with_linear_map(LinearMap { start: l.start, end: l.end, phys_offset: l.offset });
                }
                if let Some(i) = c.kernel_image {
                    t = t.with_kernel_image(KernelImage { start: i.start, end: i.end, voffset: i.offset });
                }
                Self::Aarch64(t)
            }
            TranslatorConfig::Linear(ranges) => Self::Linear(ranges),
        })
    }

    /// The configuration [`Translator::from_config`] rebuilds this translator from. An
    /// aarch64 translator's registers are rebuilt from its walker's geometry, so one made
    /// from VMCOREINFO (no registers in the dump) has a wire form too.
    ///
    /// # Errors
    /// [`WireError::Translator`] for an aarch64 geometry no `TCR_EL1` encodes (none the
    /// walker accepts).
    pub fn to_config(&self) -> Result<TranslatorConfig, WireError> {
        Ok(match self {
            Self::X86_64(t) => TranslatorConfig::X86_64(t.config().into()),
            Self::Aarch64(t) => {
                let g = t.walker().geometry();
                let t1sz = 64u32.checked_sub(g.va_bits()).and_then(|b| u8::try_from(b).ok());
                let ips = bits_to_ips(g.pa_bits());
                let (Some(t1sz), Some(ips)) = (t1sz, ips) else { return Err(WireError::Translator) };
                let ds = g.format().is_52bit() && g.granule() != Granule::K64;
                let tcr = TcrEl1::new(t1sz, g.granule(), ips, ds);
                let ttbr = Ttbr1El1::from_table(t.walker().root().0, g.format());
                TranslatorConfig::Aarch64(Aarch64Config {
                    ttbr1_el1: ttbr.bits(),
                    tcr_el1: tcr.bits(),
                    linear_map: t.linear_map().map(|l| LinearRule {
                        start: l.start,
                        end: l.end,
                        offset: l.phys_offset,
                    }),
                    kernel_image: t.kernel_image().map(|i| LinearRule {
                        start: i.start,
                        end: i.end,
                        offset: i.voffset,
                    }),
                })
            }
            Self::Linear(ranges) => TranslatorConfig::Linear(ranges.clone()),
        })
    }
}

/// `$body` with `$t` bound to the translator of whichever architecture `$self` holds.
macro_rules! dispatch {
    ($self:ident, $t:ident => $body:expr) => {
        match $self {
            Translator::X86_64($t) => $body,
            Translator::Aarch64($t) => $body,
            Translator::Linear(ranges) => {
                let $t = &LinearTranslator::new(ranges);
                $body
            }
        }
    };
}

/// Every method is forwarded, the provided ones too: a translator's own `translate_span`
/// is what lets a list walk through the linear map translate once per span, not per node.
impl Translate for Translator {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        dispatch!(self, t => t.kind(va))
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        dispatch!(self, t => t.translate(mem, va))
    }

    fn translate_in_page<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, bool), TranslateError> {
        dispatch!(self, t => t.translate_in_page(mem, va))
    }

    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        dispatch!(self, t => t.translate_span(mem, va))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scxray_aarch64::Aarch64KernelConfig;
    use scxray_core::FlatImage;

    const DIRECT_MAP: u64 = 0xffff_8880_0000_0000;
    const IMAGE: u64 = 0xffff_ffff_8000_0000;

    fn x86() -> X86Translator {
        X86Translator::new(X86Config {
            page_offset_base: VirtAddr(DIRECT_MAP),
            direct_map_size: 1 << 30,
            phys_base: PhysAddr(0x100_0000),
            phys_end: Some(PhysAddr(1 << 30)),
            ..X86Config::new(Cr3(0x1000), PagingMode::FourLevel)
        })
    }

    fn aarch64(page_size: u64, va_bits: u32, t1sz: Option<u8>, lpa2: bool) -> Aarch64Translator {
        let info = Aarch64KernelConfig {
            swapper_pg_dir: PhysAddr(0x4_1234_0000 & !(page_size - 1)),
            va_bits,
            tcr_el1_t1sz: t1sz,
            page_size,
            lpa2,
        };
        Aarch64Translator::from_kernel_config(&info)
            .unwrap()
            .with_linux_linear_map(0x4000_0000)
            .with_kernel_image(KernelImage {
                start: VirtAddr(0xffff_8000_8000_0000),
                end: VirtAddr(0xffff_8000_8200_0000),
                voffset: 0xffff_7fff_4000_0000,
            })
    }

    fn ranges() -> LinearRanges {
        let range =
            |va, len, pa, kind| LinearRange { va_start: VirtAddr(va), len, pa_start: PhysAddr(pa), kind };
        LinearRanges::from_slice(&[
            range(IMAGE, 0x10_0000, 0x10_0000, AddressKind::KernelImage),
            range(DIRECT_MAP, 0x100_0000, 0, AddressKind::DirectMap),
        ])
        .unwrap()
    }

    /// Each method of the dispatch answers what the architecture's translator answers, for
    /// linear, image, page-walked and unmapped addresses.
    fn forwards<T: Translate>(dispatch: &Translator, inner: &T, addresses: &[u64]) {
        let mem = FlatImage::new(PhysAddr(0), &[0u8; 0x4000]);
        for &va in addresses {
            let va = VirtAddr(va);
            assert_eq!(dispatch.kind(va), inner.kind(va), "{va:?}");
            assert_eq!(dispatch.translate(&mem, va), inner.translate(&mem, va), "{va:?}");
            assert_eq!(dispatch.translate_in_page(&mem, va), inner.translate_in_page(&mem, va), "{va:?}");
            assert_eq!(dispatch.translate_span(&mem, va), inner.translate_span(&mem, va), "{va:?}");
        }
    }

    #[test]
    fn every_translate_method_is_forwarded() {
        let x86_addresses = [DIRECT_MAP + 0x1238, IMAGE + 0x2000, 0xffff_c900_0000_0000, 0x1000];
        forwards(&Translator::X86_64(x86()), &x86(), &x86_addresses);
        let arm = aarch64(4096, 48, Some(16), false);
        let linear_map = arm.linear_map().unwrap().start.0;
        let arm_addresses = [linear_map + 0x1238, 0xffff_8000_8000_1000, 0xffff_8000_0000_0000, 0x1000];
        forwards(&Translator::Aarch64(arm), &arm, &arm_addresses);
        let ranges = ranges();
        let linear_addresses = [DIRECT_MAP + 0xff_fff8, DIRECT_MAP + 0x100_0000, IMAGE + 8, 0x1000];
        forwards(&Translator::Linear(ranges.clone()), &LinearTranslator::new(&ranges), &linear_addresses);
        // The spans the walk's shortcut needs are there.
        let mem = FlatImage::new(PhysAddr(0), &[]);
        for t in [Translator::X86_64(x86()), Translator::Linear(ranges)] {
            let (_, span) = t.translate_span(&mem, VirtAddr(DIRECT_MAP + 0x1238)).unwrap();
            assert_eq!(
                span.map(|s| (s.va_start, s.kind)),
                Some((VirtAddr(DIRECT_MAP), AddressKind::DirectMap))
            );
        }
    }

    #[test]
    fn x86_64_and_linear_translators_cross_the_wire_unchanged() {
        for t in [
            Translator::X86_64(x86()),
            Translator::X86_64(X86Translator::new(X86Config {
                prefer_walk: true,
                max_phys_bits: 46,
                ..X86Config::new(Cr3(0x1_0c0a_e001), PagingMode::FiveLevel)
            })),
            Translator::Linear(ranges()),
        ] {
            assert_eq!(Translator::from_config(t.to_config().unwrap()), Ok(t));
        }
    }

    /// The registers rebuilt for the wire make the walker the host had, with its rules.
    #[test]
    fn aarch64_translators_cross_the_wire_unchanged() {
        // (page size, VA_BITS, T1SZ, LPA2): 4K 48-bit, 16K 47-bit, 64K 52-bit on 48-bit
        // hardware, 4K 52-bit LPA2, 64K 52-bit with FEAT_LPA.
        let shapes = [
            (4096, 48, Some(16), false),
            (16384, 47, Some(17), false),
            (65536, 52, Some(16), false),
            (4096, 52, Some(12), true),
            (65536, 52, Some(12), true),
        ];
        for (page_size, va_bits, t1sz, lpa2) in shapes {
            let host = aarch64(page_size, va_bits, t1sz, lpa2);
            let config = Translator::Aarch64(host).to_config().unwrap();
            let TranslatorConfig::Aarch64(c) = config else { panic!("not an aarch64 config") };
            let Ok(Translator::Aarch64(embedded)) = Translator::from_config(config) else {
                panic!("no aarch64 translator from {c:?}")
            };
            assert_eq!(embedded.walker(), host.walker(), "{page_size} {va_bits} {t1sz:?} {lpa2}");
            assert_eq!(embedded.linear_map(), host.linear_map());
            assert_eq!(embedded.kernel_image(), host.kernel_image());
            let l = host.linear_map().unwrap();
            assert_eq!(c.linear_map, Some(LinearRule { start: l.start, end: l.end, offset: l.phys_offset }));
            let i = host.kernel_image().unwrap();
            assert_eq!(c.kernel_image, Some(LinearRule { start: i.start, end: i.end, offset: i.voffset }));
        }
    }

    #[test]
    fn registers_the_walker_refuses_are_a_wire_error() {
        // TG1 = 0b00 is no granule.
        let c = TranslatorConfig::Aarch64(Aarch64Config {
            ttbr1_el1: 0,
            tcr_el1: 16 << 16,
            linear_map: None,
            kernel_image: None,
        });
        assert_eq!(Translator::from_config(c), Err(WireError::Translator));
    }
}
