//! One translator type over both guest architectures, chosen at run time.

use scxray_aarch64::Aarch64Translator;
use scxray_core::{AddressKind, LinearRange, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr};
use scxray_x86_64::X86Translator;

/// The translator for the guest being read.
#[derive(Debug, Clone, Copy)]
pub enum AnyTranslator {
    /// An x86_64 guest.
    X86(X86Translator),
    /// An aarch64 guest.
    Aarch64(Aarch64Translator),
}

impl Translate for AnyTranslator {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        match self {
            Self::X86(t) => t.kind(va),
            Self::Aarch64(t) => t.kind(va),
        }
    }

    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        match self {
            Self::X86(t) => t.translate(mem, va),
            Self::Aarch64(t) => t.translate(mem, va),
        }
    }

    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        match self {
            Self::X86(t) => t.translate_span(mem, va),
            Self::Aarch64(t) => t.translate_span(mem, va),
        }
    }
}
