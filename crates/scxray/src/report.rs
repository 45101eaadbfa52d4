//! The owned report of one walk: machine facts, scheduler, per-CPU state, every DSQ, task
//! lists, and what was absent or truncated and why. Serialised as JSON (schema below) or
//! rendered as text.
//!
//! JSON schema `scxray.dump/1` — stable field names; new fields may be added:
//! `{schema, machine{arch,release,cpus,nodes,paging,kaslr_offset,memory}, scheduler{state,
//! ops_name, sched_kva, exit_kind, exit_kind_name, aborting, bypass_depth, provenance} | null,
//! schedulers[{sched_kva, parent_kva, level, name, cgroup_path, exit_kind, exit_kind_name,
//! aborting, bypass_depth, dsqs, user_dsqs}], sub_scheds_walk{walk} (7.2+ only), cpus[{cpu, rq_kva, nr_running, flags, cpu_released, ops_qseq, kick_sync, nr_immed, clock,
//! curr{kva,pid,comm}|null, runnable[task], runnable_walk}], dsqs[{label, kind, cpu, node, kva,
//! id, nr, seq, sched (owner, absent for per-CPU DSQs), tasks[task], walk}], user_dsqs{...}|null, scx_tasks{tasks[task], walk},
//! problems[string], truncated}` where `task = {kva, pid, comm, error}` and
//! `walk = {reported, skipped, truncated, broken}`. `provenance` is `live` (from `scx_root`)
//! or `globals` (6.12-6.15's kernel globals).

use crate::target::Target;
use crate::walks::Walks;
use scxray_core::{
    CpuScx, DsqHeader, DsqOrigin, Guest, HashWalk, ListWalk, PhysMem, Problem, SchedState, SubSched,
    TaskEntry, Translate, VirtAddr, Visitor,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The schema tag of the JSON output.
pub const SCHEMA: &str = "scxray.dump/1";

/// A task, with what could be read of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    /// `task_struct` address (hex string).
    pub kva: String,
    /// `task_struct.pid`, when readable.
    pub pid: Option<i32>,
    /// `task_struct.comm`, when readable (lossy UTF-8).
    pub comm: Option<String>,
    /// Why pid/comm could not be read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// How a list walk ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WalkEnd {
    /// Nodes reported.
    pub reported: u32,
    /// Cursors and unvalidated nodes skipped.
    pub skipped: u32,
    /// A cap fired.
    pub truncated: bool,
    /// The walk stopped at an unreadable node (partial, not truncated).
    pub broken: Option<String>,
}

impl From<&ListWalk> for WalkEnd {
    fn from(w: &ListWalk) -> Self {
        Self {
            reported: w.reported,
            skipped: w.skipped,
            truncated: w.truncated,
            broken: w.broken.map(|e| e.to_string()),
        }
    }
}

/// Machine facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineFacts {
    /// `x86_64` or `aarch64`.
    pub arch: String,
    /// Kernel release.
    pub release: Option<String>,
    /// `nr_cpu_ids`.
    pub cpus: u32,
    /// `nr_node_ids`.
    pub nodes: u32,
    /// Paging mode.
    pub paging: String,
    /// KASLR displacement (hex string).
    pub kaslr_offset: String,
    /// What the memory source was.
    pub memory: String,
}

/// The scheduler root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerFacts {
    /// `scx_enable_state_var` as a name ("enabled", "disabled", ...).
    pub state: Option<String>,
    /// `scx_root->ops.name`.
    pub ops_name: Option<String>,
    /// `struct scx_sched` address (hex string).
    pub sched_kva: String,
    /// `scx_sched.exit_kind`.
    pub exit_kind: u32,
    /// Its `enum scx_exit_kind` name, from BTF.
    pub exit_kind_name: Option<String>,
    /// `scx_sched.aborting`.
    pub aborting: bool,
    /// `scx_sched.bypass_depth`.
    pub bypass_depth: i32,
    /// `live` or `bss_snapshot`.
    pub provenance: String,
    /// Why the scheduler exited (`scx_exit_info`), when `exit_kind` is not NONE.
    pub exit: Option<crate::diagnose::ExitInfo>,
    /// Event counters (`struct scx_event_stats`), summed over CPUs.
    pub events: std::collections::BTreeMap<String, i64>,
}

/// One scheduler of the hierarchy: the root (level 0) or a sub-scheduler (7.2+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedEntry {
    /// `struct scx_sched` address (`&scx_ops` on 6.12-6.15), hex.
    pub sched_kva: String,
    /// The parent's address; `None` for the root.
    pub parent_kva: Option<String>,
    /// `scx_sched.level` as the kernel keeps it, else the depth the walk found it at.
    pub level: i32,
    /// `ops.name`.
    pub name: Option<String>,
    /// `scx_sched.cgrp_path`: the cgroup it schedules.
    pub cgroup_path: Option<String>,
    /// `exit_kind`.
    pub exit_kind: u32,
    /// Its `enum scx_exit_kind` name.
    pub exit_kind_name: Option<String>,
    /// `aborting`.
    pub aborting: bool,
    /// `bypass_depth`.
    pub bypass_depth: i32,
    /// DSQs owned by this scheduler (bypass, global, user).
    pub dsqs: usize,
    /// Its `dsq_hash` walk.
    pub user_dsqs: Option<UserDsqsReport>,
}

/// `live`, `bss_snapshot` or `globals`.
pub fn provenance_name(p: scxray_core::Provenance) -> &'static str {
    match p {
        scxray_core::Provenance::Live => "live",
        scxray_core::Provenance::BssSnapshot => "bss_snapshot",
        scxray_core::Provenance::Globals => "globals",
    }
}

/// One CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuReport {
    /// CPU index.
    pub cpu: u32,
    /// `struct rq` address.
    pub rq_kva: String,
    /// `scx_rq.nr_running`.
    pub nr_running: u32,
    /// `scx_rq.flags`.
    pub flags: u32,
    /// `scx_rq.cpu_released`.
    pub cpu_released: bool,
    /// `scx_rq.ops_qseq` (absent in 7.2+).
    pub ops_qseq: Option<u64>,
    /// `scx_rq.kick_sync`.
    pub kick_sync: Option<u64>,
    /// `scx_rq.nr_immed`.
    pub nr_immed: Option<u32>,
    /// `scx_rq.clock`.
    pub clock: Option<u64>,
    /// The running task.
    pub curr: Option<TaskRef>,
    /// runnable_list tasks.
    pub runnable: Vec<TaskRef>,
    /// How the runnable_list walk ended.
    pub runnable_walk: WalkEnd,
}

/// One DSQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsqReport {
    /// `local cpu 3`, `user`, ...
    pub label: String,
    /// `local`, `reject`, `rescue`, `bypass`, `global`, `user`.
    pub kind: String,
    /// CPU, for per-CPU DSQs.
    pub cpu: Option<u32>,
    /// Node, for global DSQs.
    pub node: Option<u32>,
    /// `struct scx_dispatch_q` address.
    pub kva: String,
    /// `scx_dispatch_q.id` (hex string).
    pub id: String,
    /// `scx_dispatch_q.nr`.
    pub nr: u32,
    /// `scx_dispatch_q.seq`.
    pub seq: u32,
    /// The scheduler that owns it (hex address); `None` for a CPU's own DSQs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sched: Option<String>,
    /// Queued tasks.
    pub tasks: Vec<TaskRef>,
    /// How the walk ended.
    pub walk: WalkEnd,
}

/// How the `dsq_hash` walk ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDsqsReport {
    /// `bucket_table.size`.
    pub table_size: u32,
    /// Buckets visited.
    pub buckets_visited: u32,
    /// DSQs found.
    pub nodes: u32,
    /// Which caps fired: `buckets`, `nodes`, `chain`.
    pub truncated: Vec<String>,
    /// Chains that ended at an unreadable node.
    pub broken_chains: u32,
    /// The first failure.
    pub first_error: Option<String>,
}

/// `scx_tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TasksReport {
    /// Tasks, in list order.
    pub tasks: Vec<TaskRef>,
    /// How the walk ended.
    pub walk: WalkEnd,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// Machine facts.
    pub machine: MachineFacts,
    /// The global sched_ext state (what `scx_show_state.py` prints).
    pub sched_ext: crate::diagnose::GlobalState,
    /// The scheduler, when one is attached.
    pub scheduler: Option<SchedulerFacts>,
    /// Every scheduler of the hierarchy, root first, sub-schedulers depth-first (absent from
    /// reports of scxray before 0.2: read as empty).
    #[serde(default)]
    pub schedulers: Vec<SchedEntry>,
    /// How the sub-scheduler walk ended (kernels with sub-schedulers only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub_scheds_walk: Option<WalkEnd>,
    /// Per-CPU state.
    pub cpus: Vec<CpuReport>,
    /// Every DSQ.
    pub dsqs: Vec<DsqReport>,
    /// The `dsq_hash` walk, when it ran.
    pub user_dsqs: Option<UserDsqsReport>,
    /// `scx_tasks`.
    pub scx_tasks: TasksReport,
    /// Every task found by any walker, once, with its detail.
    pub tasks: Vec<crate::diagnose::TaskReport>,
    /// Tasks whose detail could not be read: address and why.
    pub unreadable_tasks: Vec<TaskRef>,
    /// What could not be done, in words.
    pub problems: Vec<String>,
    /// Whether any cap fired anywhere.
    pub truncated: bool,
}

impl TaskRef {
    /// A task whose pid and comm were read.
    pub fn from_identity(t: &scxray_core::TaskIdentity) -> Self {
        Self { kva: hex(t.kva.0), pid: Some(t.pid), comm: Some(t.comm.to_string()), error: None }
    }
}

/// `rq->curr`: none when NULL; a pointer whose task could not be read stays in the report
/// as an unreadable task, not as "no current task".
fn curr_ref(s: &CpuScx) -> Option<TaskRef> {
    match (&s.curr, s.curr_kva.0) {
        (Some(t), _) => Some(TaskRef::from_identity(t)),
        (None, 0) => None,
        (None, kva) => Some(TaskRef {
            kva: hex(kva),
            pid: None,
            comm: None,
            error: Some("rq->curr points to a task whose pid and comm could not be read".into()),
        }),
    }
}

impl CpuReport {
    /// One CPU from its `rq->scx` scalars and its runnable tasks.
    pub fn new(s: &CpuScx, runnable: Vec<TaskRef>, walk: &ListWalk) -> Self {
        Self {
            cpu: s.cpu,
            rq_kva: hex(s.rq_kva.0),
            nr_running: s.nr_running,
            flags: s.flags,
            cpu_released: s.cpu_released,
            ops_qseq: s.ops_qseq,
            kick_sync: s.kick_sync,
            nr_immed: s.nr_immed,
            clock: s.clock,
            curr: curr_ref(s),
            runnable,
            runnable_walk: walk.into(),
        }
    }
}

impl DsqReport {
    /// One DSQ from its header and queued tasks.
    pub fn new(h: &DsqHeader, tasks: Vec<TaskRef>, walk: &ListWalk) -> Self {
        let (kind, cpu, node) = match h.origin {
            DsqOrigin::Local { cpu } => ("local", Some(cpu), None),
            DsqOrigin::Reject { cpu } => ("reject", Some(cpu), None),
            DsqOrigin::Rescue { cpu } => ("rescue", Some(cpu), None),
            DsqOrigin::Bypass { cpu } => ("bypass", Some(cpu), None),
            DsqOrigin::Global { node } => ("global", None, Some(node)),
            DsqOrigin::User => ("user", None, None),
        };
        Self {
            label: h.origin.to_string(),
            kind: kind.into(),
            cpu,
            node,
            kva: hex(h.kva.0),
            id: hex(h.id),
            nr: h.nr,
            seq: h.seq,
            sched: h.sched.map(|k| hex(k.0)),
            tasks,
            walk: walk.into(),
        }
    }
}

/// Collects the stream of one walk.
#[derive(Default)]
struct Collector {
    root: Option<SchedState>,
    walks: Walks<VirtAddr>,
    problems: Vec<Problem>,
}

impl Visitor for Collector {
    fn root(&mut self, r: &SchedState) {
        self.root = Some(*r);
    }
    fn cpu(&mut self, c: &CpuScx) {
        self.walks.cpu(*c);
    }
    fn runnable_task(&mut self, cpu: u32, t: TaskEntry) {
        self.walks.runnable_task(cpu, t.task_kva);
    }
    fn runnable_end(&mut self, cpu: u32, w: &ListWalk) {
        self.walks.runnable_end(cpu, *w);
    }
    fn dsq(&mut self, d: &DsqHeader) {
        self.walks.dsq(*d);
    }
    fn dsq_task(&mut self, _d: &DsqHeader, t: TaskEntry) {
        self.walks.dsq_task(t.task_kva);
    }
    fn dsq_end(&mut self, _d: &DsqHeader, w: &ListWalk) {
        self.walks.dsq_end(*w);
    }
    fn user_dsqs_end(&mut self, w: &HashWalk) {
        self.walks.user_dsqs_end(*w);
    }
    fn sub_sched(&mut self, s: &SubSched) {
        self.walks.sub_sched(*s);
    }
    fn sub_scheds_end(&mut self, w: &ListWalk) {
        self.walks.sub_scheds_end(*w);
    }
    fn scx_task(&mut self, t: TaskEntry) {
        self.walks.scx_task(t.task_kva);
    }
    fn scx_tasks_end(&mut self, w: &ListWalk) {
        self.walks.scx_tasks_end(*w);
    }
    fn problem(&mut self, p: &Problem) {
        self.problems.push(*p);
    }
}

impl From<&HashWalk> for UserDsqsReport {
    fn from(u: &HashWalk) -> Self {
        let mut t = Vec::new();
        for (flag, name) in [
            (scxray_core::HashTruncation::BUCKETS, "buckets"),
            (scxray_core::HashTruncation::NODES, "nodes"),
            (scxray_core::HashTruncation::CHAIN, "chain"),
        ] {
            if u.truncated.contains(flag) {
                t.push(name.to_owned());
            }
        }
        Self {
            table_size: u.table_size,
            buckets_visited: u.buckets_visited,
            nodes: u.nodes,
            truncated: t,
            broken_chains: u.broken_chains,
            first_error: u.first_error.map(|e| e.to_string()),
        }
    }
}

impl SchedEntry {
    /// One scheduler from its state and what the host read about it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: &SchedState,
        parent: Option<VirtAddr>,
        level: Option<i32>,
        depth: u32,
        name: Option<String>,
        cgroup_path: Option<String>,
        exit_kind_name: Option<String>,
        dsqs: usize,
        user: Option<&HashWalk>,
    ) -> Self {
        Self {
            sched_kva: hex(state.sched_kva.0),
            parent_kva: parent.map(|p| hex(p.0)),
            level: level.unwrap_or(i32::try_from(depth).unwrap_or(i32::MAX)),
            name,
            cgroup_path,
            exit_kind: state.exit_kind,
            exit_kind_name,
            aborting: state.aborting,
            bypass_depth: state.bypass_depth,
            dsqs,
            user_dsqs: user.map(UserDsqsReport::from),
        }
    }
}

/// `ops.name` of the scheduler at `sched` (`&scx_ops` itself when `globals`).
fn sched_name(k: &crate::diagnose::KernelInfo<'_>, sched: VirtAddr, globals: bool) -> Option<String> {
    // `char name[SCX_OPS_NAME_LEN]`, 128 bytes.
    let off = if globals { k.offset("sched_ext_ops.name") } else { k.offset("scx_sched.ops.name") }?;
    k.string_at(sched.0.wrapping_add(off), 128)
}

/// `scx_sched.level`.
fn sched_level(k: &crate::diagnose::KernelInfo<'_>, sched: VirtAddr) -> Option<i32> {
    k.i32_at(sched.0.wrapping_add(k.offset("scx_sched.level")?))
}

/// `scx_sched.cgrp_path`, a `char *` (the kernel's `PATH_MAX` bounds it).
fn cgroup_path(k: &crate::diagnose::KernelInfo<'_>, sched: VirtAddr) -> Option<String> {
    let ptr = k.u64_at(sched.0.wrapping_add(k.offset("scx_sched.cgrp_path")?))?;
    if ptr == 0 {
        return None;
    }
    k.string_at(ptr, 4096)
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// Words for a problem.
pub fn describe_problem(p: &Problem) -> String {
    match p {
        Problem::MissingLayout { pass, group } => {
            format!("{pass:?}: not run, the kernel's BTF has no {group}")
        }
        Problem::MissingSymbol { pass, symbol } => {
            format!("{pass:?}: not run, the symbol {symbol} is unknown")
        }
        Problem::Unreadable { pass, error } => format!("{pass:?}: {error}"),
    }
}

/// Reads task identities once per task.
struct Tasks<'g, 'a, M: ?Sized, T: ?Sized> {
    guest: &'g Guest<'a, M, T>,
    cache: HashMap<VirtAddr, TaskRef>,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Tasks<'_, '_, M, T> {
    fn get(&mut self, kva: VirtAddr) -> TaskRef {
        let g = self.guest;
        self.cache
            .entry(kva)
            .or_insert_with(|| match g.read_task_identity(kva) {
                Ok(t) => {
                    TaskRef { kva: hex(kva.0), pid: Some(t.pid), comm: Some(t.comm.to_string()), error: None }
                }
                Err(e) => TaskRef { kva: hex(kva.0), pid: None, comm: None, error: Some(e.to_string()) },
            })
            .clone()
    }
}

impl Report {
    /// Walks `target` under `limits` and builds the report.
    pub fn build(target: &Target, limits: scxray_core::Limits) -> Self {
        let guest = target.guest(limits);
        let mut c = Collector::default();
        guest.walk_machine(&mut c);
        let mut tasks = Tasks { guest: &guest, cache: HashMap::new() };
        let kernel = crate::diagnose::KernelInfo::new(target);

        let scheduler = c.root.map(|r| {
            let globals = r.provenance == scxray_core::Provenance::Globals;
            let exit_kind_name = kernel.enum_name("scx_exit_kind", u64::from(r.exit_kind));
            // 6.12-6.15 keep the exit info behind the `scx_exit_info` pointer variable.
            let exit_ptr_at = if globals {
                kernel.symbol(&["scx_exit_info"])
            } else {
                kernel.offset("scx_sched.exit_info").map(|o| r.sched_kva.0.wrapping_add(o))
            };
            SchedulerFacts {
                state: kernel.enable_state().1,
                ops_name: sched_name(&kernel, r.sched_kva, globals),
                sched_kva: hex(r.sched_kva.0),
                exit_kind: r.exit_kind,
                exit_kind_name,
                aborting: r.aborting,
                bypass_depth: r.bypass_depth,
                provenance: provenance_name(r.provenance).into(),
                exit: if r.exit_kind == 0 {
                    None
                } else {
                    exit_ptr_at.and_then(|at| crate::diagnose::exit_info(&kernel, at))
                },
                events: if globals {
                    crate::diagnose::global_event_counters(&kernel).into_iter().collect()
                } else {
                    crate::diagnose::event_counters(&kernel, r.sched_kva).into_iter().collect()
                },
            }
        });
        let mut schedulers = Vec::new();
        if let Some(r) = &c.root {
            let globals = r.provenance == scxray_core::Provenance::Globals;
            schedulers.push(SchedEntry::new(
                r,
                None,
                if globals { Some(0) } else { sched_level(&kernel, r.sched_kva) },
                0,
                sched_name(&kernel, r.sched_kva, globals),
                if globals { None } else { cgroup_path(&kernel, r.sched_kva) },
                kernel.enum_name("scx_exit_kind", u64::from(r.exit_kind)),
                c.walks.owned(r.sched_kva),
                c.walks.user.as_ref(),
            ));
        }
        for (sub, user) in &c.walks.subs {
            let kva = sub.state.sched_kva;
            schedulers.push(SchedEntry::new(
                &sub.state,
                Some(sub.parent_kva),
                sub.level,
                sub.depth,
                sched_name(&kernel, kva, false),
                cgroup_path(&kernel, kva),
                kernel.enum_name("scx_exit_kind", u64::from(sub.state.exit_kind)),
                c.walks.owned(kva),
                user.as_ref(),
            ));
        }
        let w = &c.walks;
        let cpus = w.cpu_reports(|&k| tasks.get(k));
        let dsqs = w.dsq_reports(|&k| tasks.get(k));
        let (task_details, unreadable_tasks) = details(&guest, &kernel, w);
        let scx_tasks = w.scx_tasks_report(|&k| tasks.get(k));
        Self {
            schema: SCHEMA.into(),
            machine: MachineFacts {
                arch: target.arch().to_string(),
                release: target.release().map(str::to_owned),
                cpus: target.nr_cpus(),
                nodes: target.nr_nodes(),
                paging: target.paging().to_string(),
                kaslr_offset: hex(target.kaslr_offset()),
                memory: target.memory().describe(),
            },
            sched_ext: crate::diagnose::global_state(&kernel),
            scheduler,
            schedulers,
            sub_scheds_walk: c.walks.sub_scheds_walk(),
            cpus,
            dsqs,
            user_dsqs: c.walks.user_dsqs_report(),
            scx_tasks,
            tasks: task_details,
            unreadable_tasks,
            problems: c.problems.iter().map(describe_problem).collect(),
            truncated: c.walks.truncated(),
        }
    }
}

/// Every task any walker found, once, in first-seen order, with its detail and the lists it
/// was found on.
fn details<M: PhysMem + ?Sized, T: Translate + ?Sized>(
    guest: &Guest<'_, M, T>,
    kernel: &crate::diagnose::KernelInfo<'_>,
    c: &Walks<VirtAddr>,
) -> (Vec<crate::diagnose::TaskReport>, Vec<TaskRef>) {
    let mut order: Vec<VirtAddr> = Vec::new();
    let mut found: HashMap<VirtAddr, Vec<String>> = HashMap::new();
    let mut note = |kva: VirtAddr, place: String| {
        let e = found.entry(kva).or_insert_with(|| {
            order.push(kva);
            Vec::new()
        });
        e.push(place);
    };
    for (cpu, run, _) in &c.cpus {
        if cpu.curr_kva.0 != 0 {
            note(cpu.curr_kva, format!("curr cpu {}", cpu.cpu));
        }
        for &t in run {
            note(t, format!("runnable cpu {}", cpu.cpu));
        }
    }
    for (h, ts, _) in &c.dsqs {
        for &t in ts {
            note(t, format!("dsq {}", h.origin));
        }
    }
    for &t in &c.tasks {
        note(t, "scx_tasks".into());
    }
    let flags = kernel.enum_constants("scx_ent_flags");
    let jiffies = kernel.jiffies();
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for kva in order {
        let places = found.remove(&kva).unwrap_or_default();
        match guest.read_task_detail(kva) {
            Ok(d) => ok.push(crate::diagnose::task_report(kernel, &d, &flags, jiffies, places)),
            Err(e) => {
                bad.push(TaskRef { kva: hex(kva.0), pid: None, comm: None, error: Some(e.to_string()) })
            }
        }
    }
    (ok, bad)
}
