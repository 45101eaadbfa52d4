//! The lab's cases: which kernel each guest boots, how (KASLR, paging), which scheduler it runs
//! and what is checked beyond the report (a second dump for `scxray diff`, a stall hunt,
//! sub-schedulers).

use crate::lab::host::guest::{Scheduler, SubScheduler};
use crate::lab::kernels::kernel::Kernel;
use crate::lab::kernels::schedulers::example_binary;

/// One guest of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Dump name.
    pub name: &'static str,
    /// A kernel of the lab ([`crate::lab::kernels::spec`]).
    pub kernel: &'static str,
    pub kaslr: bool,
    /// x86 only: offer LA57 (5-level paging).
    pub la57: bool,
    /// An example scheduler and its arguments.
    pub scheduler: Option<(&'static str, &'static str)>,
    /// Dump again this many seconds later and check `scxray diff`: `Some((secs, stuck))`.
    pub diff: Option<(u64, bool)>,
    /// Part of the quick lane (`--quick`) as well as the full one.
    pub quick: bool,
    /// A scheduler made to stall: hunt for a stuck pair of dumps (see [`super::stall`]).
    pub stall: bool,
    /// Sub-schedulers: the scheduler again with `-c`, one per cgroup (relative to the cgroup2
    /// root, created by the guest; see [`SubScheduler`]).
    pub subs: &'static [&'static str],
    /// Its kernel is one the lab builds itself (`SELF_BUILT`), which takes long: the case runs
    /// only with `--with-612`, when `--only` names it, or when the kernel is already built.
    pub opt_in: bool,
}

const fn case(name: &'static str, kernel: &'static str) -> Case {
    Case {
        name,
        kernel,
        kaslr: true,
        la57: true,
        scheduler: None,
        diff: None,
        quick: false,
        stall: false,
        subs: &[],
        opt_in: false,
    }
}

/// The matrix: every kernel, both paging modes on x86, KASLR on and off, all three example
/// schedulers, arm64's 52-bit LPA2 page tables with 4 KiB and 16 KiB granules, the kernel without sched_ext, and a healthy
/// scheduler dumped twice (`scxray diff` must find nothing stuck).
///
/// The sub-scheduler case: scx_qmap as the root scheduler, scx_qmap `-c` on a child cgroup
/// (7.3's `CONFIG_EXT_SUB_SCHED`) and on a grandchild (level 2, a sub-scheduler under a
/// sub-scheduler): the report must list every scheduler with its level and cgroup path (see
/// `check_sub_schedulers` in [`super::check`]). Each scx_qmap takes 35-50 s to load under TCG: ~3.3
/// minutes to the dump (one level only, `lab boot --sub scxsub1`, takes ~2).
///
/// The stalled case: scx_qmap's `-t 2` stalls every second user thread from the moment it
/// starts switching tasks, and its 5 s watchdog disables it soon after, often before it is
/// even fully enabled under TCG. So the host hunts: from the scheduler's start it lets the
/// guest run 2 s of guest time, stops it, dumps it and compares the dump with the previous
/// one (`scxray diff`) until a pair shows tasks stuck; `diff` must name them (exit 4).
pub const CASES: &[Case] = &[
    Case { scheduler: Some(("scx_qmap", "")), quick: true, ..case("lab-7.3-amd64-qmap", "7.3-amd64") },
    Case {
        kaslr: false,
        scheduler: Some(("scx_central", "")),
        ..case("lab-7.3-amd64-nokaslr-central", "7.3-amd64")
    },
    Case {
        la57: false,
        scheduler: Some(("scx_simple", "")),
        ..case("lab-7.3-amd64-la57off-simple", "7.3-amd64")
    },
    Case { scheduler: Some(("scx_qmap", "")), ..case("lab-7.2-amd64-qmap", "7.2-amd64") },
    case("lab-7.1-amd64", "7.1-amd64"),
    Case { scheduler: Some(("scx_qmap", "")), ..case("lab-7.3-arm64-qmap", "7.3-arm64") },
    Case { kaslr: false, quick: true, ..case("lab-7.3-arm64-nokaslr", "7.3-arm64") },
    case("lab-7.3-arm64-16k", "7.3-arm64-16k"),
    Case { quick: true, ..case("lab-6.12-amd64", "6.12-amd64") },
    Case { scheduler: Some(("scx_qmap", "")), opt_in: true, ..case("lab-6.12sb-amd64-qmap", "6.12sb-amd64") },
    Case {
        scheduler: Some(("scx_qmap", "-t 2 -d 1")),
        stall: true,
        ..case("lab-7.3-amd64-qmap-stall", "7.3-amd64")
    },
    Case {
        scheduler: Some(("scx_simple", "")),
        diff: Some((4, false)),
        ..case("lab-7.3-amd64-simple-twice", "7.3-amd64")
    },
    Case {
        scheduler: Some(("scx_qmap", "")),
        subs: &["scxsub1", "scxsub1/inner"],
        ..case("lab-7.3-amd64-qmap-sub-nested", "7.3-amd64")
    },
];

impl Case {
    /// The example scheduler this case runs, built for `kernel`, with its arguments.
    pub fn guest_scheduler(&self, kernel: &Kernel) -> Option<Scheduler> {
        let (name, args) = self.scheduler?;
        let mut s = Scheduler::new(example_binary(&kernel.release, name));
        s.args = args.split_whitespace().map(str::to_owned).collect();
        Some(s)
    }

    /// The sub-schedulers this case starts after its scheduler.
    pub fn guest_sub_schedulers(&self) -> Vec<SubScheduler> {
        self.subs.iter().map(|g| SubScheduler::new(g)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::kernels::spec::{Packaging, spec};

    #[test]
    fn opt_in_cases_are_exactly_the_self_built_kernels() {
        for c in CASES {
            let spec = spec(c.kernel).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_eq!(c.opt_in, spec.packaging == Packaging::SelfBuilt, "{}", c.name);
            assert!(!(c.opt_in && c.quick), "{}: an opt-in case is not quick", c.name);
        }
        assert!(CASES.iter().any(|c| c.opt_in), "the self-built 6.12 has a case");
    }
}
