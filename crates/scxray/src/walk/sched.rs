//! What the host reads about each scheduler beyond the walk's `SchedState`: its name and
//! cgroup, the root's level, why it exited, its event counters.

use super::read::{Reader, Reading};
use scxray_core::{Field, Provenance, SchedState, VirtAddr};

/// A scheduler's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedNames {
    /// `ops.name`.
    pub name: Reading<String>,
    /// `scx_sched.cgrp_path`: the cgroup it schedules (none on 6.12-6.15).
    pub cgroup_path: Reading<String>,
}

/// The root scheduler: what the walk found, and what the host read about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Its state, as the walk read it.
    pub state: SchedState,
    /// Its names.
    pub names: SchedNames,
    /// `scx_sched.level` (none on 6.12-6.15).
    pub level: Reading<i32>,
    /// Why it exited; read only when `exit_kind` says it did.
    pub exit: Reading<ExitReads>,
    /// Its event counters.
    pub events: Reading<EventCounts>,
}

/// `struct scx_exit_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReads {
    /// `kind`.
    pub kind: Reading<i32>,
    /// `exit_code`.
    pub exit_code: Reading<i64>,
    /// `reason`.
    pub reason: Reading<String>,
    /// `msg`.
    pub msg: Reading<String>,
}

/// The event counters (`struct scx_event_stats`, per CPU), summed over the CPUs read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventCounts {
    /// Each counter (its member name, `SCX_EV_*`) and its sum.
    pub sums: Vec<(String, i64)>,
    /// The per-CPU copies that could not be read: which CPU, and why.
    pub unread: Vec<(u32, scxray_core::ReadError)>,
    /// The CPUs whose copies were to be summed (CPU 0 and every CPU with a per-CPU offset).
    pub cpus: Vec<u32>,
}

impl EventCounts {
    /// The CPUs none of whose counters could be read, or only some, each with the first error
    /// on it, in CPU order.
    pub fn missing_cpus(&self) -> Vec<(u32, scxray_core::ReadError)> {
        let mut out: Vec<(u32, scxray_core::ReadError)> = Vec::new();
        for &(cpu, e) in &self.unread {
            if !out.iter().any(|&(c, _)| c == cpu) {
                out.push((cpu, e));
            }
        }
        out.sort_by_key(|&(c, _)| c);
        out
    }
}

/// `char name[SCX_OPS_NAME_LEN]`.
const OPS_NAME_LEN: usize = 128;
/// The kernel's `PATH_MAX`.
const PATH_MAX: usize = 4096;

/// The root, with what the host reads about it.
pub(super) fn root(r: &Reader<'_>, s: SchedState) -> Root {
    let globals = s.provenance == Provenance::Globals;
    let kva = s.sched_kva;
    // 6.12-6.15 keep the exit info behind the `scx_exit_info` pointer variable.
    let exit_ptr_at = if globals {
        r.symbol(&["scx_exit_info"]).map_or(Reading::Absent, Reading::Value)
    } else {
        r.member(kva, "scx_sched.exit_info", Field::SchedExitInfo)
    };
    Root {
        state: s,
        names: names(r, kva, globals),
        level: if globals {
            Reading::Absent
        } else {
            r.member(kva, "scx_sched.level", Field::SchedLevel)
                .and_then(|a| r.int(Some(a), Field::SchedLevel))
        },
        exit: if s.exit_kind == 0 {
            Reading::Absent
        } else {
            let pointer = if globals { Field::ExitInfoVar } else { Field::SchedExitInfo };
            exit_ptr_at.and_then(|at| exit_info(r, at, pointer))
        },
        events: if globals {
            r.symbol(&["event_stats_cpu"])
                .map_or(Reading::Absent, |base| Reading::Value(per_cpu_events(r, base)))
        } else {
            sched_events(r, kva)
        },
    }
}

/// A scheduler's names: `ops.name` (of `&scx_ops` itself on 6.12-6.15, `globals`) and its
/// cgroup path.
pub(super) fn names(r: &Reader<'_>, sched: VirtAddr, globals: bool) -> SchedNames {
    let (name_path, name_field) = if globals {
        ("sched_ext_ops.name", Field::OpsNameVar)
    } else {
        ("scx_sched.ops.name", Field::SchedOpsName)
    };
    SchedNames {
        name: r.member(sched, name_path, name_field).and_then(|at| r.string(at, OPS_NAME_LEN, name_field)),
        cgroup_path: if globals {
            Reading::Absent
        } else {
            r.member(sched, "scx_sched.cgrp_path", Field::SchedCgrpPath).and_then(|at| {
                r.string_at_pointer(at, PATH_MAX, Field::SchedCgrpPath, Field::SchedCgrpPathString)
            })
        },
    }
}

/// The `struct scx_exit_info` whose pointer (`pointer`) is at `ptr_at` (`&sched->exit_info`,
/// or the `scx_exit_info` variable of 6.12-6.15).
fn exit_info(r: &Reader<'_>, ptr_at: VirtAddr, pointer: Field) -> Reading<ExitReads> {
    r.int::<u64>(Some(ptr_at), pointer).and_then(|ptr| {
        if ptr == 0 {
            return Reading::Absent;
        }
        let member = |m: &str, field| r.member(VirtAddr(ptr), &format!("scx_exit_info.{m}"), field);
        let string = |m: &str, max, pointer, string| {
            member(m, pointer).and_then(|a| r.string_at_pointer(a, max, pointer, string))
        };
        Reading::Value(ExitReads {
            kind: member("kind", Field::ExitInfoKind).and_then(|a| r.int(Some(a), Field::ExitInfoKind)),
            exit_code: member("exit_code", Field::ExitInfoExitCode)
                .and_then(|a| r.int(Some(a), Field::ExitInfoExitCode)),
            reason: string("reason", 128, Field::ExitInfoReason, Field::ExitInfoReasonString),
            msg: string("msg", 1024, Field::ExitInfoMsg, Field::ExitInfoMsgString),
        })
    })
}

/// A scheduler's event counters: per CPU in `scx_sched.pcpu->event_stats`.
fn sched_events(r: &Reader<'_>, sched: VirtAddr) -> Reading<EventCounts> {
    let Some(stats_off) = r.types().offset("scx_sched_pcpu.event_stats") else { return Reading::Absent };
    r.member(sched, "scx_sched.pcpu", Field::SchedPcpu)
        .and_then(|at| r.int::<u64>(Some(at), Field::SchedPcpu))
        .and_then(|pcpu| VirtAddr(pcpu).member(stats_off, Field::SchedPcpu).into())
        .map(|stats| per_cpu_events(r, stats))
}

/// The members of the per-CPU `struct scx_event_stats` at `base` (a per-CPU address: each
/// CPU's copy is at `base + __per_cpu_offset[cpu]`), summed over the possible CPUs.
fn per_cpu_events(r: &Reader<'_>, base: VirtAddr) -> EventCounts {
    let offsets = r.target().machine().per_cpu_offsets();
    let copies: Vec<(u32, u64)> =
        (0u32..).zip(offsets.iter().copied()).filter(|&(cpu, o)| cpu == 0 || o != 0).collect();
    let mut unread = Vec::new();
    let sums = r
        .types()
        .s64_members("scx_event_stats")
        .into_iter()
        .map(|(name, off)| {
            let mut sum = 0i64;
            for &(cpu, o) in &copies {
                // The per-CPU offset is the kernel's modular `unsigned long` arithmetic.
                let at = base.wrapping_add(o).member(off, Field::EventStat);
                match Reading::from(at).and_then(|at| r.int::<i64>(Some(at), Field::EventStat)) {
                    Reading::Value(v) => sum = sum.wrapping_add(v),
                    Reading::Failed(e) => unread.push((cpu, e)),
                    Reading::Absent => {}
                }
            }
            (name, sum)
        })
        .collect();
    EventCounts { sums, unread, cpus: copies.into_iter().map(|(cpu, _)| cpu).collect() }
}
