//! What runs in the lab's guest: the workload, the scheduler and its sub-schedulers, and what
//! the guest reports (see [`super::init`] for the script that runs them, [`super::truth`] for
//! what it prints).

use std::path::PathBuf;

/// What runs in the guest besides the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Busy loops `while :; do :; done` (want more than the guest's CPUs).
    pub spinners: u32,
    /// `sleep` processes (tasks that are not runnable).
    pub sleepers: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Self { spinners: 8, sleepers: 4 }
    }
}

/// A file of the host copied into the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFile {
    pub host: PathBuf,
    /// Its absolute path in the guest.
    pub guest: String,
}

/// A sched_ext scheduler to run in the guest: the kernel's example schedulers (static, attached
/// once sched_ext reads `enabled`) or any other binary, e.g. the sched-ext project's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    /// Host path of the binary; it becomes `/bin/scheduler` in the guest.
    pub binary: PathBuf,
    /// Its arguments (passed word by word, shell-quoted).
    pub args: Vec<String>,
    /// What the binary needs besides itself: for a dynamically linked one, its loader and
    /// shared libraries at the paths it names ([`super::libs::runtime_files`]).
    pub files: Vec<GuestFile>,
    /// Text the scheduler prints (to `/scheduler.log`) once it has attached, waited for after
    /// sched_ext reads `enabled` (the truth then says `attached yes` or `attached no`). `None`:
    /// `enabled` is proof enough.
    pub attached_output: Option<String>,
    /// Seconds to wait for `/sys/kernel/sched_ext/state` to read `enabled` (and as long again
    /// for [`Self::attached_output`]).
    pub enable_timeout_secs: u32,
    /// Seconds to let the scheduler run after it is enabled, before the truth is taken.
    pub settle_secs: u32,
}

impl Scheduler {
    /// A scheduler with no arguments or files, 240 s to enable, 3 s to settle.
    pub fn new(binary: PathBuf) -> Self {
        Self {
            binary,
            args: Vec::new(),
            files: Vec::new(),
            attached_output: None,
            enable_timeout_secs: 240,
            settle_secs: 3,
        }
    }
}

/// More truth for the guest to collect: a shell command run once the schedulers have settled,
/// before the truth block (so anything it forks has ended when the tasks are listed). Its
/// output, stdout and stderr, becomes `extra <name> <line>` lines of the truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraTruth {
    /// One word: `bpftool-maps`, `scheduler-stats`.
    pub name: String,
    /// The command, as the guest's busybox `sh -c` would run it (`PATH=/bin`).
    pub command: String,
}

/// A sub-scheduler: a second instance of the guest's scheduler binary (`/bin/scheduler`, which
/// must take `-c CGROUP_DIR`, as scx_qmap does) attached to a child cgroup of the parent
/// scheduler's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubScheduler {
    /// The cgroup, relative to the cgroup2 root (`scxsub1`, or nested `scxsub1/inner`: then an
    /// earlier sub-scheduler must hold `scxsub1`). Created by the guest.
    pub cgroup: String,
    /// More arguments after `-c /sys/fs/cgroup/<cgroup>`.
    pub args: Vec<String>,
    /// Busy loops and sleepers started inside the cgroup.
    pub workload: Workload,
}

impl SubScheduler {
    /// A sub-scheduler on `cgroup` with 2 spinners and 2 sleepers of its own.
    pub fn new(cgroup: &str) -> Self {
        Self { cgroup: cgroup.to_owned(), args: Vec::new(), workload: Workload { spinners: 2, sleepers: 2 } }
    }
}

/// Everything the initramfs is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestSpec {
    pub workload: Workload,
    /// Start [`Self::workload`] once sched_ext reads `enabled` instead of before the scheduler.
    /// Under TCG (one host thread for every vCPU) a busy guest gives the scheduler's BPF load a
    /// sliver of the host: scx_lavd 1.1.4's ~47 000 instructions load in ~48 s of guest time
    /// on idle vCPUs and had not after 10 minutes with the 8 busy loops running.
    pub workload_after_enable: bool,
    pub scheduler: Option<Scheduler>,
    /// Sub-schedulers started, in order, once [`Self::scheduler`] is enabled (each waits for the
    /// previous one to attach). Each gets the scheduler's enable timeout to attach and its
    /// settle time after.
    pub sub_schedulers: Vec<SubScheduler>,
    /// Print `SCXRAY-READY` as soon as the scheduler is enabled: poll its state every 0.2 s, no
    /// settling and no task listing. For a scheduler made to stall, whose watchdog kills it
    /// seconds after the stall begins: the dumps must come before that.
    pub quick_truth: bool,
    /// Shell commands run in order once the schedulers are attached and settled, before the
    /// extra truth: a workload whose tasks must start after the scheduler (`threads 5800
    /// 300`). Each must return once its work is under way; its output goes to the console.
    pub after_attach: Vec<String>,
    /// A command that prints the truth's `task` lines, every task but its own, and writes their
    /// tids to the file its last argument names (one a line), in place of the shell's loop
    /// (which reads `/proc` a byte at a time, competing with the workload for the CPU: minutes
    /// for thousands of tasks under TCG); with `--gone FILE`, it prints `gone <tid>` for each
    /// tid of FILE that no longer exists. See `xtask/guest/tasks.c`.
    pub task_lister: Option<String>,
    /// More truth to collect (in order), e.g. `bpftool` output or the scheduler's own stats.
    pub extra_truth: Vec<ExtraTruth>,
    /// Shell commands run before the workload and the scheduler start, e.g. to arm a trace
    /// probe whose record an [`ExtraTruth`] reads (`PATH=/bin`, output to the console).
    pub setup: Vec<String>,
    /// More files for the guest, e.g. the programs [`Self::extra_truth`] runs and what they
    /// need.
    pub files: Vec<GuestFile>,
}
