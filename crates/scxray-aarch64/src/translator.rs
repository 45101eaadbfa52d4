//! The translator embedders use: Linux's two linear rules where they apply, the walk elsewhere.

use crate::config::{Aarch64KernelConfig, ConfigError, TcrEl1, Ttbr1El1, bits_to_ips};
use crate::geometry::Granule;
use crate::walker::PageWalker;
use scxray_core::{AddressKind, LinearRange, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr};

/// Linux's linear map of all RAM: `[PAGE_OFFSET, PAGE_END)` with
/// `pa = va - PAGE_OFFSET + PHYS_OFFSET` (`__lm_to_phys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinearMap {
    /// First address (`PAGE_OFFSET`).
    pub start: VirtAddr,
    /// One past the last address (`PAGE_END`; 0 means the top of the address space).
    pub end: VirtAddr,
    /// `PHYS_OFFSET` (`memstart_addr`, VMCOREINFO's `NUMBER(PHYS_OFFSET)`). The kernel keeps it
    /// signed: a 52-bit kernel on 48-bit hardware makes it negative, so arithmetic wraps.
    pub phys_offset: u64,
}

impl LinearMap {
    /// The linear map of a kernel built with `VA_BITS = va_bits` (VMCOREINFO's
    /// `NUMBER(VA_BITS)`): `PAGE_OFFSET = -(1 << VA_BITS)` and
    /// `PAGE_END = -(1 << (VA_BITS_MIN - 1))`, where `VA_BITS_MIN` is `VA_BITS` up to 48 and,
    /// for 52-bit kernels, 48 (47 with 16K pages). Up to 48 bits that is the lower half of the
    /// TTBR1 space. `None` for `va_bits` outside `25..=52`.
    ///
    /// Kernels with generic or software-tag KASAN end the linear map earlier, at
    /// `KASAN_SHADOW_START` (the shadow, mapped by page tables, takes the top of the range):
    /// for those set [`LinearMap::end`] to it, or the shadow would be translated linearly.
    #[must_use]
    pub const fn linux(va_bits: u32, granule: Granule, phys_offset: u64) -> Option<Self> {
        if va_bits < 25 || va_bits > 52 {
            return None;
        }
        let va_bits_min = match (va_bits > 48, granule) {
            (true, Granule::K16) => 47,
            (true, _) => 48,
            (false, _) => va_bits,
        };
        Some(Self {
            start: VirtAddr(u64::MAX << va_bits),
            end: VirtAddr(u64::MAX << va_bits_min.saturating_sub(1)),
            phys_offset,
        })
    }

    /// Whether `va` lies in the map.
    #[must_use]
    pub const fn contains(&self, va: VirtAddr) -> bool {
        va.0 >= self.start.0 && (self.end.0 == 0 || va.0 < self.end.0)
    }

    /// `va - PAGE_OFFSET + PHYS_OFFSET` (wrapping, as the kernel's arithmetic does).
    #[must_use]
    pub const fn apply(&self, va: VirtAddr) -> PhysAddr {
        PhysAddr(va.0.wrapping_sub(self.start.0).wrapping_add(self.phys_offset))
    }
}

/// The kernel image mapping: `[start, end)` (`_text`..`_end`) with `pa = va - kimage_voffset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelImage {
    /// First address of the image (`_text`, or `KIMAGE_VADDR + KERNELOFFSET`).
    pub start: VirtAddr,
    /// One past the last address (`_end`).
    pub end: VirtAddr,
    /// `kimage_voffset` (VMCOREINFO's `NUMBER(kimage_voffset)`).
    pub voffset: u64,
}

impl KernelImage {
    /// Whether `va` lies in the image.
    #[must_use]
    pub const fn contains(&self, va: VirtAddr) -> bool {
        va.0 >= self.start.0 && va.0 < self.end.0
    }

    /// `va - kimage_voffset`.
    #[must_use]
    pub const fn apply(&self, va: VirtAddr) -> PhysAddr {
        PhysAddr(va.0.wrapping_sub(self.voffset))
    }
}

/// Linux's `TTBR1_BADDR_4852_OFFSET` where it applies: 64K pages, `VA_BITS = 52` without
/// LPA2, running with a 48-bit VA space. The root table then has 1024 entries of which a
/// 48-bit walk may index only the last 64: `(1024 - 64) * 8` bytes in.
const fn ttbr1_4852_offset(granule: Granule, va_bits: u32, t1sz: u8) -> u64 {
    if matches!(granule, Granule::K64) && va_bits == 52 && t1sz == 16 { (1024 - 64) * 8 } else { 0 }
}

/// The aarch64 translator: the linear map and kernel image rules inside their ranges (when
/// configured), the TTBR1 walk for everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Aarch64Translator {
    walker: PageWalker,
    linear: Option<LinearMap>,
    image: Option<KernelImage>,
    va_bits_config: Option<u32>,
}

impl Aarch64Translator {
    /// A translator that walks everything, from `TTBR1_EL1` and `TCR_EL1`
    /// (see [`PageWalker::from_registers`]).
    ///
    /// # Errors
    /// As [`PageWalker::from_registers`].
    pub fn from_registers(ttbr1_el1: u64, tcr_el1: u64) -> Result<Self, ConfigError> {
        Ok(Self::from_walker(PageWalker::from_registers(ttbr1_el1, tcr_el1)?))
    }

    /// A translator over an existing walker.
    #[must_use]
    pub const fn from_walker(walker: PageWalker) -> Self {
        Self { walker, linear: None, image: None, va_bits_config: None }
    }

    /// A translator from the kernel's configuration (VMCOREINFO's values), for dumps without
    /// registers: it synthesizes the
    /// registers the kernel itself runs with, `TTBR1_EL1 = phys_to_ttbr(swapper_pg_dir)` and
    /// a `TCR_EL1` with `T1SZ`, `TG1` from the page size, `IPS` 52 or 48 bits and `DS` as
    /// [`Aarch64KernelConfig::lpa2`] says. Add the linear rules with [`Self::with_linux_linear_map`]
    /// and [`Self::with_kernel_image`].
    ///
    /// # Errors
    /// [`ConfigError`] for a page size without a granule or an impossible VA size.
    pub fn from_kernel_config(config: &Aarch64KernelConfig) -> Result<Self, ConfigError> {
        let granule = Granule::from_page_size(config.page_size)
            .ok_or(ConfigError::Granule { raw: config.page_size })?;
        let t1sz = match config.tcr_el1_t1sz {
            Some(t) => t,
            None => {
                let va = u8::try_from(config.va_bits).unwrap_or(u8::MAX);
                64u8.checked_sub(va).ok_or(ConfigError::VaSize { t1sz: 0 })?
            }
        };
        let pa_bits = if config.lpa2 { 52 } else { 48 };
        let ips = bits_to_ips(pa_bits).unwrap_or(0b101);
        let tcr = TcrEl1::new(t1sz, granule, ips, config.lpa2 && granule != Granule::K64);
        let format = tcr.address_format(granule);
        let root = config.swapper_pg_dir.0.saturating_add(ttbr1_4852_offset(granule, config.va_bits, t1sz));
        let ttbr = Ttbr1El1::from_table(root, format);
        let mut t = Self::from_registers(ttbr.bits(), tcr.bits())?;
        t.va_bits_config = Some(config.va_bits);
        Ok(t)
    }

    /// Adds the linear map rule.
    #[must_use]
    pub const fn with_linear_map(mut self, linear: LinearMap) -> Self {
        self.linear = Some(linear);
        self
    }

    /// Adds Linux's linear map for `PHYS_OFFSET`, using `VA_BITS` from
    /// [`Self::from_kernel_config`] (or the walk's VA size for [`Self::from_registers`]; with
    /// registers from a 52-bit kernel on 48-bit hardware give [`LinearMap::linux`] the
    /// kernel's `VA_BITS` instead).
    #[must_use]
    pub fn with_linux_linear_map(self, phys_offset: u64) -> Self {
        let g = self.walker.geometry();
        let va_bits = self.va_bits_config.unwrap_or(g.va_bits());
        match LinearMap::linux(va_bits, g.granule(), phys_offset) {
            Some(l) => self.with_linear_map(l),
            None => self,
        }
    }

    /// Adds the kernel image rule.
    #[must_use]
    pub const fn with_kernel_image(mut self, image: KernelImage) -> Self {
        self.image = Some(image);
        self
    }

    /// The walker behind the rules.
    #[must_use]
    pub const fn walker(&self) -> &PageWalker {
        &self.walker
    }

    /// The linear map rule, if configured.
    #[must_use]
    pub const fn linear_map(&self) -> Option<&LinearMap> {
        self.linear.as_ref()
    }

    /// The kernel image rule, if configured.
    #[must_use]
    pub const fn kernel_image(&self) -> Option<&KernelImage> {
        self.image.as_ref()
    }

    fn checked(&self, va: VirtAddr, pa: PhysAddr) -> Result<PhysAddr, TranslateError> {
        let bits = self.walker.geometry().pa_bits();
        if pa.0.checked_shr(bits).unwrap_or(0) == 0 {
            Ok(pa)
        } else {
            Err(TranslateError::OutsideMemory { va, pa })
        }
    }
}

impl Translate for Aarch64Translator {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        let va = self.walker.untag(va);
        if self.linear.is_some_and(|l| l.contains(va)) {
            AddressKind::DirectMap
        } else if self.image.is_some_and(|i| i.contains(va)) {
            AddressKind::KernelImage
        } else {
            AddressKind::PageWalk
        }
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        let untagged = self.walker.untag(va);
        if let Some(l) = self.linear.filter(|l| l.contains(untagged)) {
            return self.checked(va, l.apply(untagged));
        }
        if let Some(i) = self.image.filter(|i| i.contains(untagged)) {
            return self.checked(va, i.apply(untagged));
        }
        self.walker.translate(mem, va)
    }

    /// A linear-map address answers for the linear map as far as the physical-size check
    /// allows (an untagged `va` only: a tagged one aliases the map under another top byte).
    /// Other addresses give no span.
    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        let pa = self.translate(mem, va)?;
        let Some(l) = self.linear.filter(|l| l.contains(va) && self.walker.untag(va) == va) else {
            return Ok((pa, None));
        };
        // The addresses whose physical address fits in PA bits: [zero, zero + 2^bits), where
        // `zero` maps to physical 0 (PHYS_OFFSET may be negative: modular arithmetic).
        let bits = self.walker.geometry().pa_bits();
        let zero = l.start.0.wrapping_sub(l.phys_offset);
        let fits_last =
            1u64.checked_shl(bits).and_then(|n| n.checked_sub(1)).and_then(|n| zero.checked_add(n));
        let map_last = if l.end.0 == 0 { u64::MAX } else { l.end.0.wrapping_sub(1) };
        let span = fits_last.and_then(|fits_last| {
            let lo = l.start.0.max(zero);
            let hi = map_last.min(fits_last);
            (lo <= va.0 && va.0 <= hi && self.walker.untag(VirtAddr(lo)) == VirtAddr(lo)).then(|| {
                LinearRange {
                    va_start: VirtAddr(lo),
                    len: hi.wrapping_sub(lo).wrapping_add(1),
                    pa_start: l.apply(VirtAddr(lo)),
                    kind: AddressKind::DirectMap,
                }
            })
        });
        // A span of the whole address space has no `len`: none then.
        Ok((pa, span.filter(|s| s.len != 0)))
    }
}
