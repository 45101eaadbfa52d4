//! The report's types: what `scxray.dump/2` serialises, field by field, and their
//! constructors from the core's values.
//!
//! JSON schema `scxray.dump/2` — stable field names; new fields may be added. `/2` is `/1`
//! plus the BPF half (issue 18), present only when it was read (not with `--no-bpf`, nor
//! from the wire): `bpf{tables[{table, entries, truncated, skipped_nodes, unreadable,
//! id_mismatch (when nonzero), error}], programs[{id, name, prog_type, tag, kva, insns, stats, run_cnt, run_time_ns,
//! recursion_misses, unreadable_cpus and stats_error (when a CPU's counts could not be read)}],
//! maps[map], schedulers[{sched_kva, ops_map: map|null, matched_by,
//! callbacks_agree, candidates, programs[{slot, id, name}], maps[map + {count, free_pages,
//! reserved_pages, elems[{key, value}], truncated[], anomalies[], unreadable, error,
//! not_read (why a map's contents were not read: a type no walker reads)}], arena_globals,
//! arena_lists[{name, length, agree, looped, truncated, error (when unreadable)}],
//! placement{tasks, placed, ambiguous, truncated, errors and storage_loops (when nonzero)},
//! truncated,
//! unreadable, error}], problems[], truncated, unlisted_storage{tasks, elements, first[{kva, pid, comm,
//! state, error, storage[{map, value}]}]} (tasks not in the task list holding task storage; when
//! any)}` where `map = {id, name,
//! map_type, kva, key_size, value_size, max_entries, flags}`, and on each task of `tasks`
//! `bpf_place` (where a waiting task is in BPF: `qa.fifos[2] (#0)`) and `bpf_storage[{map,
//! value}]` (its task-local storage, decoded). Everything `/1` had is unchanged:
//! `{schema, machine{arch,release,cpus,nodes,paging,kaslr_offset,memory}, scheduler{state,
//! ops_name, sched_kva, exit_kind, exit_kind_name, aborting, bypass_depth, provenance} | null,
//! schedulers[{sched_kva, parent_kva, level, name, cgroup_path, exit_kind, exit_kind_name,
//! aborting, bypass_depth, dsqs, user_dsqs}], sub_scheds_walk{walk} (7.2+ only), cpus[{cpu, rq_kva, nr_running, flags, cpu_released, ops_qseq, kick_sync, nr_immed, clock,
//! curr{kva,pid,comm}|null, runnable[task], runnable_walk}], dsqs[{label, kind, cpu, node, kva,
//! id, nr, seq, sched (owner, absent for per-CPU DSQs), tasks[task], walk}], user_dsqs{...}|null, scx_tasks{tasks[task], walk},
//! problems[string], truncated, caps_fired[{walk, limit, flag, value, basis}] (absent when empty)}` where `task = {kva, pid, comm, error}` and
//! `walk = {reported, skipped, truncated, broken}`. `provenance` is `live` (from `scx_root`)
//! or `globals` (6.12-6.15's kernel globals).

use scxray_core::{
    CpuScx, DsqHeader, DsqOrigin, HashWalk, Limit, ListWalk, Pass, Problem, SchedState, VirtAddr,
};
use scxray_wire::TaskRecord;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// The schema tag of the JSON output.
pub const SCHEMA: &str = "scxray.dump/2";

/// A number shown in hex (`0x1f`), an address or an id: kept as its value, written as text
/// only when the report is serialised (a JSON string, as `hex` writes it) or printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hex(pub u64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .map(Self)
            .ok_or_else(|| D::Error::custom(format!("not a 0x-prefixed hex number: {s:?}")))
    }
}

/// A task's `comm`: the 16 bytes read out of the guest, written as lossy UTF-8 up to the
/// first NUL only when the report is serialised or printed; or the text a JSON report held.
/// Two are equal when they print the same.
#[derive(Debug, Clone, Eq)]
pub enum TaskComm {
    /// As read from `task_struct.comm`.
    Read(scxray_core::Comm),
    /// As a JSON report held it.
    Text(String),
}

impl fmt::Display for TaskComm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(c) => c.fmt(f),
            Self::Text(s) => f.write_str(s),
        }
    }
}

impl PartialEq for TaskComm {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Read(a), Self::Read(b)) if a.bytes() == b.bytes() => true,
            (Self::Text(a), Self::Text(b)) => a == b,
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl PartialEq<str> for TaskComm {
    fn eq(&self, other: &str) -> bool {
        match self {
            Self::Text(s) => s == other,
            Self::Read(c) => String::from_utf8_lossy(c.bytes()) == other,
        }
    }
}

impl Serialize for TaskComm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TaskComm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::Text)
    }
}

/// A task, with what could be read of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    /// `task_struct` address (hex string).
    pub kva: Hex,
    /// `task_struct.pid`, when readable.
    pub pid: Option<i32>,
    /// `task_struct.comm`, when readable (lossy UTF-8).
    pub comm: Option<TaskComm>,
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
    pub exit: Option<ExitInfo>,
    /// Event counters (`struct scx_event_stats`), summed over CPUs.
    pub events: std::collections::BTreeMap<String, i64>,
    /// The CPUs whose event counters could not be read (the sums are without them), or why
    /// none could; absent when every CPU's were.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub events_missing: Option<String>,
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
    /// Chains that looped back on themselves (each DSQ on them still reported once).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub looped_chains: u32,
    /// The first bucket whose chain looped.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub first_looped_bucket: Option<u32>,
    /// Chains that ran into another bucket's chain (its DSQs may be reported twice).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub stray_chains: u32,
    /// The first bucket whose chain ran into another.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub first_stray_bucket: Option<u32>,
}

/// `scx_tasks`.
/// A cap that cut a walk short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapFired {
    /// The walk it cut (`scx_tasks`, `DSQ local cpu 3 at 0x...`, ...).
    pub walk: String,
    /// Which cap.
    pub limit: Limit,
    /// The `scxray dump` flag that raises it (none for the kernel's own maxima).
    pub flag: Option<String>,
    /// Its value.
    pub value: u32,
    /// How the value was set, in words.
    pub basis: String,
}

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
    pub sched_ext: GlobalState,
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
    pub tasks: Vec<TaskReport>,
    /// Tasks whose detail could not be read: address and why.
    pub unreadable_tasks: Vec<TaskRef>,
    /// What could not be done, in words.
    pub problems: Vec<String>,
    /// Whether any cap fired anywhere.
    pub truncated: bool,
    /// Why no scheduler is reported although one may be attached: `scx_root` (or the
    /// `scx_sched` it points to) could not be read, or this kernel's root is unknown. Absent
    /// when the answer is known (attached, or none: `scx_root` is NULL).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scheduler_unknown: Option<String>,
    /// The caps that cut a walk (each also in `problems`), absent when none did.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub caps_fired: Vec<CapFired>,
    /// The schedulers' BPF half, when it was read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bpf: Option<super::bpf::BpfReport>,
}

impl TaskRef {
    /// A task whose pid and comm were read.
    pub fn from_identity(t: &scxray_core::TaskIdentity) -> Self {
        Self { kva: Hex(t.kva.0), pid: Some(t.pid), comm: Some(TaskComm::Read(t.comm)), error: None }
    }

    /// A task found by a walk: its identity, or why it could not be read.
    pub fn from_record(t: &TaskRecord) -> Self {
        match &t.identity {
            Ok(id) => Self {
                kva: Hex(t.kva.0),
                pid: Some(id.pid),
                comm: Some(TaskComm::Read(id.comm)),
                error: None,
            },
            Err(e) => Self::unreadable(t.kva, e),
        }
    }

    /// A task whose identity could not be read.
    pub fn unreadable(kva: VirtAddr, e: &scxray_core::ReadError) -> Self {
        Self { kva: Hex(kva.0), pid: None, comm: None, error: Some(e.to_string()) }
    }
}

/// `rq->curr`: none when NULL; a pointer whose task could not be read stays in the report
/// as an unreadable task, not as "no current task".
fn curr_ref(s: &CpuScx) -> Option<TaskRef> {
    match (&s.curr, s.curr_kva.0) {
        (Some(t), _) => Some(TaskRef::from_identity(t)),
        (None, 0) => None,
        (None, kva) => Some(TaskRef {
            kva: Hex(kva),
            pid: None,
            comm: None,
            // The walk's own error names the field and address; older wire dumps have none.
            error: Some(s.curr_error.map_or_else(
                || "rq->curr points to a task whose pid and comm could not be read".into(),
                |e| e.to_string(),
            )),
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
            looped_chains: u.looped_chains,
            first_looped_bucket: u.first_looped_bucket,
            stray_chains: u.stray_chains,
            first_stray_bucket: u.first_stray_bucket,
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

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
pub(super) fn is_zero(v: &u32) -> bool {
    *v == 0
}

pub(super) fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// Words for a problem.
/// Why the root scheduler is unknown, from the walk's problems: the root pass's.
pub fn scheduler_unknown(problems: &[Problem]) -> Option<String> {
    problems.iter().find_map(|p| match p {
        Problem::Unreadable { pass: Pass::Root, error } => {
            Some(format!("unreadable at {}: {} ({})", error.kva, error.cause, error.field))
        }
        Problem::MissingLayout { pass: Pass::Root, .. } | Problem::MissingSymbol { pass: Pass::Root, .. } => {
            Some(describe_problem(p))
        }
        _ => None,
    })
}

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

/// `sched_ext_entity.flags`, decoded with `enum scx_ent_flags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScxFlags {
    /// The raw value (hex).
    pub raw: String,
    /// Single-bit flags set (`QUEUED`, `RESET_RUNNABLE_AT`, ...).
    pub flags: Vec<String>,
    /// The task state field (`NONE`, `INIT`, `READY`, `ENABLED`, ...).
    pub state: Option<String>,
    /// The re-enqueue reason field (7.2+).
    pub reenq_reason: Option<String>,
}

/// A task with everything the kernel's dump prints about it, and where scxray found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReport {
    /// `task_struct` address.
    pub kva: Hex,
    /// pid.
    pub pid: i32,
    /// tgid.
    pub tgid: Option<i32>,
    /// comm.
    pub comm: TaskComm,
    /// Task state letter (R, S, D, I, ...).
    pub state: Option<char>,
    /// `sched_ext_entity.flags`, decoded (shared by the tasks with the same flags).
    pub scx_flags: Arc<ScxFlags>,
    /// The DSQ the task names (`p->scx.dsq`), its address.
    pub dsq_kva: Option<Hex>,
    /// That DSQ's id, raw (hex) and decoded.
    pub dsq_id: Option<Hex>,
    /// The decoded id (`LOCAL`, `GLOBAL`, `LOCAL_ON|3`, a user id).
    pub dsq: Option<Arc<str>>,
    /// `ops_state`.
    pub ops_state: Option<u64>,
    /// `ddsp_dsq_id`, decoded.
    pub ddsp_dsq: Option<Arc<str>>,
    /// `weight`.
    pub weight: Option<u32>,
    /// `sticky_cpu`.
    pub sticky_cpu: Option<i32>,
    /// `holding_cpu`.
    pub holding_cpu: Option<i32>,
    /// `runnable_at` (jiffies).
    pub runnable_at: Option<u64>,
    /// `jiffies - runnable_at` at the time of the dump.
    pub runnable_age_jiffies: Option<i64>,
    /// `slice` (ns).
    pub slice: Option<u64>,
    /// `dsq_vtime`.
    pub dsq_vtime: Option<u64>,
    /// Allowed CPUs (`cpus_ptr`), as a list (shared by the tasks with the same mask).
    pub cpus_allowed: Option<Arc<str>>,
    /// Where scxray found it: `scx_tasks`, `runnable cpu N`, `curr cpu N`, a DSQ label
    /// (shared by the tasks found on the same places).
    pub found_on: Arc<[Arc<str>]>,
    /// Where it waits in the scheduler's BPF state (`qa.fifos[2] (#0)`), when it waits
    /// outside the kernel's DSQs and a BPF place holds it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bpf_place: Option<Box<str>>,
    /// Its task-local storage values, decoded.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub bpf_storage: Vec<super::bpf::BpfStorage>,
}

/// The global sched_ext state: what `tools/sched_ext/scx_show_state.py` prints, and more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GlobalState {
    /// `scx_enable_state_var` by name (`enabled`, `disabled`, ...).
    pub enable_state: Option<String>,
    /// Its raw value.
    pub enable_state_value: Option<u32>,
    /// The `__scx_enabled` static key (`__scx_ops_enabled` before 6.16).
    pub enabled: Option<u32>,
    /// `scx_switching_all`.
    pub switching_all: Option<bool>,
    /// The `__scx_switched_all` static key.
    pub switched_all: Option<u32>,
    /// `scx_in_softlockup` (kernels that have it).
    pub in_softlockup: Option<bool>,
    /// `scx_breather_depth` / `scx_ops_breather_depth` (kernels that have it).
    pub breather_depth: Option<i32>,
    /// `scx_nr_rejected`.
    pub nr_rejected: Option<i64>,
    /// `scx_enable_seq`.
    pub enable_seq: Option<i64>,
    /// `jiffies` at the time of the dump.
    pub jiffies: Option<u64>,
    /// `jiffies - scx_watchdog_timestamp`: how long since the watchdog last ran.
    pub watchdog_age_jiffies: Option<i64>,
}

/// Why a scheduler exited (`struct scx_exit_info`), when it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// `kind`.
    pub kind: Option<i32>,
    /// `exit_code`.
    pub exit_code: Option<i64>,
    /// `reason`.
    pub reason: Option<String>,
    /// `msg`.
    pub msg: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact values serialise to the text the report always had, and read back.
    #[test]
    fn compact_values_serialise_as_text_and_read_back() {
        let kva = Hex(0xffff_8880_0123_4000);
        assert_eq!(serde_json::to_string(&kva).unwrap(), "\"0xffff888001234000\"");
        assert_eq!(serde_json::from_str::<Hex>("\"0xffff888001234000\"").unwrap(), kva);
        assert_eq!(serde_json::to_string(&Hex(0)).unwrap(), "\"0x0\"");
        assert!(serde_json::from_str::<Hex>("\"1234\"").is_err(), "no 0x");
        assert!(serde_json::from_str::<Hex>("\"0xg\"").is_err());

        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(b"kwork\xff");
        bytes[7] = b'x'; // after the NUL: not part of the name
        let comm = TaskComm::Read(scxray_core::Comm(bytes));
        let json = serde_json::to_string(&comm).unwrap();
        assert_eq!(json, "\"kwork\u{fffd}\"");
        let back: TaskComm = serde_json::from_str(&json).unwrap();
        assert_eq!(back, TaskComm::Text("kwork\u{fffd}".into()));
        assert_eq!(back, comm, "the text read back equals the bytes it was written from");
        assert_eq!(&comm, "kwork\u{fffd}");
    }
}
