//! A kernel of the lab ready in the cache, however it is obtained.

use super::kernel::Kernel;
use super::spec::{KernelSpec, Packaging};
use super::{debian, selfbuilt};

/// The kernel of `spec` in the cache: Debian's fetched and unpacked ([`debian::prepare`]) or
/// the lab's own built ([`selfbuilt::prepare`]); reused when already there.
pub fn prepare(spec: &KernelSpec) -> Result<Kernel, String> {
    match spec.packaging {
        Packaging::SelfBuilt => selfbuilt::prepare(spec),
        Packaging::Split | Packaging::Unsigned => debian::prepare(spec),
    }
}
