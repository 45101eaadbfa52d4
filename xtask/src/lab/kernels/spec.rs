//! Which kernels the lab has: the matrix of Debian's kernels ([`MATRIX`]) and the kernels it
//! builds itself ([`SELF_BUILT`]), each named as on the command line (`7.3-amd64`) and not yet
//! resolved to a package version.

/// The Debian packaging generation of a kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// 7.x: `linux-binary-<rel>` (vmlinuz), `linux-base-<rel>` (config), `linux-modules-<rel>`.
    Split,
    /// 6.12: one `linux-image-<rel>-unsigned` with vmlinuz, config and modules.
    Unsigned,
    /// Built by the lab from Debian's `linux-source-<series>` ([`super::selfbuilt`]); the
    /// release is `<upstream version>-<flavour>`.
    SelfBuilt,
}

/// One kernel of the matrix, before it is resolved to an exact package version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSpec {
    /// The name used on the command line, e.g. `7.3-amd64`.
    pub name: &'static str,
    /// Upstream series, e.g. `7.3`.
    pub series: &'static str,
    /// Debian architecture: `amd64` or `arm64`.
    pub arch: &'static str,
    /// The suite it comes from.
    pub suite: &'static str,
    pub packaging: Packaging,
    /// What follows the version in the package and release names: `cloud-amd64`, or
    /// `arm64-16k` for Debian's 16 KiB-granule arm64 flavour.
    pub flavour: &'static str,
}

/// The matrix, in the order `lab kernels` prints it. The newest `<series>.N` of the suite is
/// taken.
pub const MATRIX: &[KernelSpec] = &[
    KernelSpec {
        name: "7.3-amd64",
        series: "7.3",
        arch: "amd64",
        suite: "trixie-backports",
        flavour: "cloud-amd64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.2-amd64",
        series: "7.2",
        arch: "amd64",
        suite: "sid",
        flavour: "cloud-amd64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.3-arm64",
        series: "7.3",
        arch: "arm64",
        suite: "trixie-backports",
        flavour: "cloud-arm64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.2-arm64",
        series: "7.2",
        arch: "arm64",
        suite: "sid",
        flavour: "cloud-arm64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "6.12-amd64",
        series: "6.12",
        arch: "amd64",
        suite: "trixie",
        flavour: "cloud-amd64",
        packaging: Packaging::Unsigned,
    },
    KernelSpec {
        name: "7.1-amd64",
        series: "7.1",
        arch: "amd64",
        suite: "trixie-backports",
        flavour: "cloud-amd64",
        packaging: Packaging::Split,
    },
    KernelSpec {
        name: "7.3-arm64-16k",
        series: "7.3",
        arch: "arm64",
        suite: "trixie-backports",
        flavour: "arm64-16k",
        packaging: Packaging::Split,
    },
];

/// Kernels the lab builds itself ([`super::selfbuilt`]): not part of [`MATRIX`] (they take long
/// to build), used when named (`lab boot --kernel 6.12sb-amd64`, `lab kernels 6.12sb-amd64`)
/// and by the matrix's opt-in cases.
pub const SELF_BUILT: &[KernelSpec] = &[KernelSpec {
    name: "6.12sb-amd64",
    series: "6.12",
    arch: "amd64",
    suite: "trixie",
    flavour: "scxray",
    packaging: Packaging::SelfBuilt,
}];

/// The spec called `name` (e.g. `7.3-amd64`).
pub fn spec(name: &str) -> Result<&'static KernelSpec, String> {
    MATRIX.iter().chain(SELF_BUILT).find(|k| k.name == name).ok_or_else(|| {
        let names: Vec<&str> = MATRIX.iter().chain(SELF_BUILT).map(|k| k.name).collect();
        format!("unknown kernel `{name}`; known: {}", names.join(", "))
    })
}
