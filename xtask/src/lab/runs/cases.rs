//! The lab's cases: which kernel each guest boots, how (KASLR, paging), which scheduler it runs
//! and what is checked beyond the report (a second dump for `scxray diff`, a stall hunt,
//! sub-schedulers).

use super::bpf_truth::{
    BPFTOOL_DUMP, BPFTOOL_DUMP_COMMAND, BPFTOOL_MAPS, BPFTOOL_PROGS, QMAP_STATS, QMAP_STATS_COMMAND,
};
use super::user_dsqs::{DSQ_TRACE, DSQ_TRACE_COMMAND, DSQ_TRACE_SETUP};
use crate::lab::host::guest::{ExtraTruth, GuestFile, GuestSpec, Scheduler, SubScheduler};
use crate::lab::host::libs::runtime_files;
use crate::lab::host::qemu::BootOptions;
use crate::lab::kernels::hold_cpu::{HOLD_CPU, HOLD_SETUP, HOLD_TRUTH_COMMAND};
use crate::lab::kernels::kernel::Kernel;
use crate::lab::kernels::lab_programs::{TASKS, THREADS};
use crate::lab::kernels::production::{SCX_BPFLAND, SCX_LAVD};
use crate::lab::kernels::program::Program;
use crate::lab::kernels::schedulers::{BPFTOOL, SCX_CENTRAL, SCX_QMAP, SCX_SIMPLE};
use std::time::Duration;

/// The scheduler a case runs.
#[derive(Debug, Clone, Copy)]
pub struct CaseScheduler {
    /// Its binary: one of the kernel's example schedulers, or any other scheduler, static or
    /// dynamically linked (its loader and shared libraries then go into the guest with it).
    pub program: Program,
    /// Its arguments, split at whitespace.
    pub args: &'static str,
    /// What it prints once it has attached, which the guest waits for after sched_ext reads
    /// `enabled` and the case then checks (`None`: `enabled` is proof enough).
    pub attached_output: Option<&'static str>,
}

/// More truth a case's guest collects (see [`ExtraTruth`]): the command's output is kept in the
/// truth file as `extra <name> <line>` lines.
#[derive(Debug, Clone, Copy)]
pub struct CaseTruth {
    /// One word.
    pub name: &'static str,
    /// A busybox shell command (`PATH=/bin`).
    pub command: &'static str,
    /// A command run before the workload and the scheduler start, e.g. to arm the trace probe
    /// that `command` reads (`""`: none).
    pub setup: &'static str,
    /// Programs the command runs, put at `/bin/<name>` with what they need.
    pub programs: &'static [Program],
}

/// A command the guest runs, with the programs it needs (put at `/bin/<name>`).
#[derive(Debug, Clone, Copy)]
pub struct CaseCommand {
    /// A busybox shell command (`PATH=/bin`).
    pub command: &'static str,
    pub programs: &'static [Program],
}

/// The user DSQs the guest's kernel saw created (see [`super::user_dsqs`]).
const DSQ_TRACE_TRUTH: CaseTruth =
    CaseTruth { name: DSQ_TRACE, command: DSQ_TRACE_COMMAND, setup: DSQ_TRACE_SETUP, programs: &[] };
/// The hold of a failed scheduler's disable (see [`super::failure`]).
const EXIT_HOLD_TRUTH: CaseTruth =
    CaseTruth { name: "hold-setup", command: HOLD_TRUTH_COMMAND, setup: HOLD_SETUP, programs: &[HOLD_CPU] };

/// The guest's own view of its BPF objects, by its bpftool (see [`super::bpf_truth`]).
const BPFTOOL_TRUTH: &[CaseTruth] = &[
    CaseTruth { name: BPFTOOL_PROGS, command: "bpftool -j prog show", setup: "", programs: &[BPFTOOL] },
    CaseTruth { name: BPFTOOL_MAPS, command: "bpftool -j map show", setup: "", programs: &[] },
    CaseTruth { name: BPFTOOL_DUMP, command: BPFTOOL_DUMP_COMMAND, setup: "", programs: &[] },
];
/// The counters scx_qmap printed last (see [`super::bpf_truth`]).
const QMAP_STATS_TRUTH: CaseTruth =
    CaseTruth { name: QMAP_STATS, command: QMAP_STATS_COMMAND, setup: "", programs: &[] };

/// scx_qmap printing its counters every second (`-i 1`, 7.3's; 5 s by default): the last ones
/// before [`QMAP_STATS_TRUTH`] are then at most a second old, not from the moment it attached.
const QMAP_STATS_ARGS: &str = "-i 1";

/// One of the kernel's example schedulers with its arguments.
const fn example(program: Program, args: &'static str) -> Option<CaseScheduler> {
    Some(CaseScheduler { program, args, attached_output: None })
}

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
    /// The scheduler the guest runs.
    pub scheduler: Option<CaseScheduler>,
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
    /// More truth the guest collects.
    pub extra_truth: &'static [CaseTruth],
    /// Guest memory.
    pub mem_mib: u32,
    /// Run once the schedulers are attached: a workload started after them.
    pub after_attach: &'static [CaseCommand],
    /// Start the guest's busy loops and sleepers once sched_ext is enabled, not before the
    /// scheduler (see `GuestSpec::workload_after_enable`): for a scheduler whose BPF takes
    /// long to verify under TCG.
    pub workload_after_enable: bool,
    /// Lists the tasks for the truth in place of the shell's loop (see `GuestSpec::task_lister`).
    pub task_lister: Option<CaseCommand>,
    /// The guest must list at least this many tasks: a case meant to be big stays big (its
    /// workload failing to start would otherwise leave an ordinary guest that passes).
    pub min_tasks: usize,
    /// A scheduler made to fail, its disable held while the dump is taken: the report's exit
    /// must be the one the kernel logs afterwards (see [`super::failure`]).
    pub failure: bool,
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
        extra_truth: &[],
        mem_mib: 512,
        after_attach: &[],
        workload_after_enable: false,
        task_lister: None,
        min_tasks: 0,
        failure: false,
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
/// The big case: more tasks than any of scxray's default caps allows on one list (4096 before
/// the caps were sized from the kernel's own counts), all but the boot's hundred started after
/// scx_simple attached: 5800 threads asleep in `pause()` and 300 spinning (runnable), in one
/// process of the lab's `threads` program, in a 1 GiB guest. Its truth is listed by the lab's
/// `tasks` program (the shell's loop would take many minutes), and scxray's default run must
/// walk every task and every DSQ in full.
///
/// The big production case: 6000 tasks under scx_bpfland, which keeps a task-local storage
/// element for every task: its map is walked whole (a fixed cap of 4096 elements cut it
/// before the BPF caps were sized from each map, and the 4-CPU guest's 4 storage buckets hold
/// ~1550 elements each, past the hash maps' chain cap of 1024), and every task shows its storage.
/// Only 60 of its threads spin: with 300, bpfland's watchdog missed its 5 s under TCG.
///
/// The stalled case: scx_qmap's `-t 2` stalls every second user thread from the moment it
/// starts switching tasks, and its 5 s watchdog disables it soon after, often before it is
/// even fully enabled under TCG. So the host hunts: from the scheduler's start it lets the
/// guest run 2 s of guest time, stops it, dumps it and compares the dump with the previous
/// one (`scxray diff`) until a pair shows tasks stuck; `diff` must name them (exit 4).
///
/// The scx_lavd case starts its workload once sched_ext is enabled: TCG runs every vCPU on one
/// host thread, and with the 8 busy loops already running lavd's BPF (~47 000 instructions,
/// 16 times bpfland's) was still in the verifier after 10 minutes; on idle vCPUs it enables
/// in ~50 s of guest time.
pub const CASES: &[Case] = &[
    Case {
        scheduler: example(SCX_QMAP, QMAP_STATS_ARGS),
        quick: true,
        extra_truth: &[QMAP_STATS_TRUTH],
        ..case("lab-7.3-amd64-qmap", "7.3-amd64")
    },
    Case {
        kaslr: false,
        scheduler: example(SCX_CENTRAL, ""),
        extra_truth: BPFTOOL_TRUTH,
        ..case("lab-7.3-amd64-nokaslr-central", "7.3-amd64")
    },
    Case {
        la57: false,
        scheduler: example(SCX_SIMPLE, ""),
        extra_truth: BPFTOOL_TRUTH,
        ..case("lab-7.3-amd64-la57off-simple", "7.3-amd64")
    },
    Case { scheduler: example(SCX_QMAP, ""), ..case("lab-7.2-amd64-qmap", "7.2-amd64") },
    case("lab-7.1-amd64", "7.1-amd64"),
    Case {
        scheduler: example(SCX_QMAP, QMAP_STATS_ARGS),
        extra_truth: &[QMAP_STATS_TRUTH],
        ..case("lab-7.3-arm64-qmap", "7.3-arm64")
    },
    Case { kaslr: false, quick: true, ..case("lab-7.3-arm64-nokaslr", "7.3-arm64") },
    case("lab-7.3-arm64-16k", "7.3-arm64-16k"),
    Case { quick: true, ..case("lab-6.12-amd64", "6.12-amd64") },
    Case { scheduler: example(SCX_QMAP, ""), opt_in: true, ..case("lab-6.12sb-amd64-qmap", "6.12sb-amd64") },
    Case {
        scheduler: example(SCX_QMAP, "-t 2 -d 1"),
        stall: true,
        ..case("lab-7.3-amd64-qmap-stall", "7.3-amd64")
    },
    Case {
        scheduler: example(SCX_SIMPLE, ""),
        extra_truth: BPFTOOL_TRUTH,
        diff: Some((4, false)),
        ..case("lab-7.3-amd64-simple-twice", "7.3-amd64")
    },
    Case {
        scheduler: example(SCX_QMAP, ""),
        subs: &["scxsub1", "scxsub1/inner"],
        ..case("lab-7.3-amd64-qmap-sub-nested", "7.3-amd64")
    },
    Case {
        scheduler: example(SCX_SIMPLE, ""),
        mem_mib: 1024,
        after_attach: &[CaseCommand { command: "threads 5800 300", programs: &[THREADS] }],
        task_lister: Some(CaseCommand { command: "tasks", programs: &[TASKS] }),
        min_tasks: 6000,
        ..case("lab-7.3-amd64-big", "7.3-amd64")
    },
    Case {
        scheduler: Some(CaseScheduler {
            program: SCX_BPFLAND,
            args: "--stats 1",
            attached_output: Some("[scx_bpfland] tasks"),
        }),
        mem_mib: 1024,
        after_attach: &[CaseCommand { command: "threads 5940 60", programs: &[THREADS] }],
        task_lister: Some(CaseCommand { command: "tasks", programs: &[TASKS] }),
        min_tasks: 6000,
        ..case("lab-7.3-amd64-big-bpfland", "7.3-amd64")
    },
    Case {
        scheduler: Some(CaseScheduler {
            program: SCX_BPFLAND,
            args: "--stats 1",
            attached_output: Some("[scx_bpfland] tasks"),
        }),
        extra_truth: &[DSQ_TRACE_TRUTH],
        ..case("lab-7.3-amd64-bpfland", "7.3-amd64")
    },
    Case {
        scheduler: Some(CaseScheduler {
            program: SCX_BPFLAND,
            args: "--stats 1",
            attached_output: Some("[scx_bpfland] tasks"),
        }),
        extra_truth: &[EXIT_HOLD_TRUTH],
        failure: true,
        ..case("lab-7.3-amd64-bpfland-fail", "7.3-amd64")
    },
    Case {
        scheduler: Some(CaseScheduler {
            program: SCX_LAVD,
            args: "--stats 1",
            attached_output: Some("| MSEQ"),
        }),
        extra_truth: &[DSQ_TRACE_TRUTH],
        workload_after_enable: true,
        kaslr: false,
        ..case("lab-7.3-amd64-nokaslr-lavd", "7.3-amd64")
    },
];

impl Case {
    /// How the case's guest boots.
    pub fn boot_options(&self) -> BootOptions {
        BootOptions {
            kaslr: self.kaslr,
            la57: self.la57,
            ready_timeout: Duration::from_secs(600),
            later_dump: self.diff.map(|(secs, _)| Duration::from_secs(secs)),
            mem_mib: self.mem_mib,
            ..BootOptions::default()
        }
    }

    /// The programs the case's guest runs: its scheduler and its extra truth's programs.
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.scheduler.iter().map(|s| &s.program).chain(self.guest_programs())
    }

    /// The programs the guest runs besides its scheduler.
    fn guest_programs(&self) -> impl Iterator<Item = &Program> {
        self.extra_truth
            .iter()
            .flat_map(|t| t.programs)
            .chain(self.after_attach.iter().chain(&self.task_lister).flat_map(|c| c.programs))
    }

    /// What the case's guest runs on `kernel` (its [`Self::programs`] built).
    pub fn guest(&self, kernel: &Kernel) -> Result<GuestSpec, String> {
        let scheduler = match &self.scheduler {
            None => None,
            Some(c) => {
                let binary = c.program.binary(kernel)?;
                Some(Scheduler {
                    files: runtime_files(&binary)?,
                    args: c.args.split_whitespace().map(str::to_owned).collect(),
                    attached_output: c.attached_output.map(str::to_owned),
                    ..Scheduler::new(binary)
                })
            }
        };
        let mut files: Vec<GuestFile> = Vec::new();
        for p in self.guest_programs() {
            let binary = p.binary(kernel)?;
            files.extend(runtime_files(&binary)?);
            files.push(GuestFile { host: binary, guest: format!("/bin/{}", p.name) });
        }
        Ok(GuestSpec {
            scheduler,
            sub_schedulers: self.subs.iter().map(|g| SubScheduler::new(g)).collect(),
            // A stalled scheduler is killed by its watchdog seconds after the stall begins:
            // dump it at once, without the slow task listing (and so without the truth checks).
            quick_truth: self.stall || matches!(self.diff, Some((_, true))),
            extra_truth: self
                .extra_truth
                .iter()
                .map(|t| ExtraTruth { name: t.name.to_owned(), command: t.command.to_owned() })
                .collect(),
            setup: self
                .extra_truth
                .iter()
                .filter(|t| !t.setup.is_empty())
                .map(|t| t.setup.to_owned())
                .collect(),
            workload_after_enable: self.workload_after_enable,
            after_attach: self.after_attach.iter().map(|c| c.command.to_owned()).collect(),
            task_lister: self.task_lister.map(|c| c.command.to_owned()),
            files,
            ..GuestSpec::default()
        })
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

    #[test]
    fn the_bpf_truth_goes_with_the_cases_that_check_it() {
        let names = |c: &Case| c.extra_truth.iter().map(|t| t.name).collect::<Vec<_>>();
        for c in CASES {
            let want: &[&str] = match c.name {
                "lab-7.3-amd64-qmap" | "lab-7.3-arm64-qmap" => &[QMAP_STATS],
                "lab-7.3-amd64-nokaslr-central"
                | "lab-7.3-amd64-la57off-simple"
                | "lab-7.3-amd64-simple-twice" => &[BPFTOOL_PROGS, BPFTOOL_MAPS, BPFTOOL_DUMP],
                _ => continue,
            };
            assert_eq!(names(c), want, "{}", c.name);
        }
        // bpftool goes into the guest once, with the first of its truths.
        assert_eq!(BPFTOOL_TRUTH.iter().flat_map(|t| t.programs).count(), 1);
    }

    #[test]
    fn a_case_with_another_scheduler_and_extra_truth() {
        // A dynamically linked "scheduler" and truth program: the test binary itself.
        const SELF: Program = Program {
            name: "selftest",
            build: |_| Ok(()),
            path: |_| std::env::current_exe().unwrap_or_default(),
        };
        const TRUTH: &[CaseTruth] =
            &[CaseTruth { name: "stats", command: "selftest --stats", setup: "", programs: &[SELF] }];
        let c = Case {
            scheduler: Some(CaseScheduler {
                program: SELF,
                args: "--slice 5",
                attached_output: Some("attached!"),
            }),
            extra_truth: TRUTH,
            ..case("lab-test", "7.3-amd64")
        };
        let spec = spec("7.3-amd64").unwrap();
        let kernel =
            crate::lab::kernels::kernel::describe(spec, "7.3.0-test", "1", std::path::Path::new("/none"), "");
        let g = c.guest(&kernel).unwrap();
        let s = g.scheduler.as_ref().unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(
            (&s.binary, s.args.join(" "), s.attached_output.as_deref()),
            (&exe, "--slice 5".into(), Some("attached!"))
        );
        assert!(s.files.iter().any(|f| f.guest.ends_with("/libc.so.6")), "{:?}", s.files);
        assert_eq!(
            g.extra_truth,
            vec![ExtraTruth { name: "stats".into(), command: "selftest --stats".into() }]
        );
        assert!(g.files.iter().any(|f| f.guest == "/bin/selftest" && f.host == exe), "{:?}", g.files);
        assert!(g.files.iter().any(|f| f.guest.ends_with("/libc.so.6")), "{:?}", g.files);
        assert_eq!(c.programs().count(), 2);
        // An example scheduler's case: static, nothing else goes along.
        assert!(CASES[0].programs().all(|p| p.built_with(&SCX_QMAP)));
    }
}
