//! `cargo xtask lab btf`: every kernel of the matrix (fetched and unpacked, cached), its BTF
//! resolved by scxray-btf and compared with `crates/scxray-btf/tests/data/optional-members.txt`
//! (and member by member with the kernel matrix's numbers where it has them).

use crate::lab::host::dirs::scratch_dir;
use crate::lab::kernels::kernel::Kernel;
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::selfbuilt;
use crate::lab::kernels::spec::{MATRIX, SELF_BUILT};
use crate::util::{Step, cargo};

/// Links every kernel's BTF into `<run directory>/btf-check` and runs scxray-btf's
/// `real_kernels` test over them.
pub fn btf_check() -> Result<(), String> {
    let dir = scratch_dir("btf-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The self-built kernels only when already built (building one is an opt-in lane).
    let built: Vec<Kernel> = SELF_BUILT.iter().filter_map(selfbuilt::cached).collect();
    let prepared = MATRIX.iter().map(prepare).chain(built.into_iter().map(Ok));
    for k in prepared {
        let k = k?;
        let btf = k.btf.as_ref().ok_or_else(|| format!("{}: no BTF was extracted", k.release))?;
        let link = dir.join(format!("{}.btf", k.release));
        std::os::unix::fs::symlink(btf, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    }
    let mut c = cargo(&["test", "--quiet", "-p", "scxray-btf", "--test", "real_kernels"]);
    c.env("SCXRAY_KERNEL_BTF_DIR", &dir);
    Step::new("real kernels' BTF against the expectations table").run(c)
}
