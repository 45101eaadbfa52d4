//! A program the lab builds for a kernel and runs in that kernel's guests: the kernel's example
//! schedulers, and whatever else a case needs (the sched-ext project's schedulers, tools that
//! collect truth in the guest).

use super::kernel::Kernel;
use std::path::PathBuf;

/// A program built for a kernel.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// Its name (`scx_qmap`): in logs, and its file name in the guest when it is not the
    /// scheduler (`/bin/<name>`).
    pub name: &'static str,
    /// Builds it for a kernel, or finds it built (cached: then it builds nothing). Programs
    /// built together, like the example schedulers, share this function: it is called once
    /// per kernel for all of them.
    pub build: fn(&Kernel) -> Result<(), String>,
    /// Where it is for a kernel once built.
    pub path: fn(&Kernel) -> PathBuf,
}

impl Program {
    /// Its binary for `kernel`, which must be built.
    pub fn binary(&self, kernel: &Kernel) -> Result<PathBuf, String> {
        let p = (self.path)(kernel);
        if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{} is not built for {} (no {})", self.name, kernel.spec.name, p.display()))
        }
    }

    /// Whether `other` is built by the same call as this one.
    pub fn built_with(&self, other: &Program) -> bool {
        std::ptr::fn_addr_eq(self.build, other.build)
    }
}
