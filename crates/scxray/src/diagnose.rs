//! Diagnosis beyond the walk: per-task detail with decoded flags, the global sched_ext state
//! the kernel's `scx_show_state.py` prints, the exit info of an errored scheduler and its
//! event counters. Names come from the kernel's own BTF enums wherever it has them.

use crate::kernel::btf::{EnumConstants, KernelTypes};
use crate::target::Target;
use scxray_core::{DsqId, TaskDetail, VirtAddr};
use serde::{Deserialize, Serialize};

/// BTF-backed lookups and reads over the guest kernel.
#[derive(Debug)]
pub struct KernelInfo<'t> {
    target: &'t Target,
    types: KernelTypes<'t>,
}

impl<'t> KernelInfo<'t> {
    /// Lookups over `target`'s BTF, with the index configuration built.
    pub fn new(target: &'t Target) -> Self {
        Self { target, types: target.types() }
    }

    /// Every constant of `enum name`.
    pub fn enum_constants(&self, name: &str) -> EnumConstants {
        self.types.enum_constants(name)
    }

    /// The name of the constant of `enum name` whose bit pattern is `value`.
    pub fn enum_name(&self, name: &str, value: u64) -> Option<String> {
        self.types.enum_name(name, value)
    }

    /// `scx_enable_state_var`'s value and its name by `enum scx_enable_state` ("enabled"), or
    /// `state N` when BTF has no name for it.
    pub fn enable_state(&self) -> (Option<u32>, Option<String>) {
        let value = self.target.symbols().scx_enable_state_var.and_then(|a| self.u32_at(a));
        let name = value.map(|v| {
            self.enum_name("scx_enable_state", u64::from(v))
                .or_else(|| self.enum_name("scx_ops_enable_state", u64::from(v)))
                .map_or_else(
                    || format!("state {v}"),
                    |n| n.trim_start_matches("SCX_OPS_").trim_start_matches("SCX_").to_ascii_lowercase(),
                )
        });
        (value, name)
    }

    /// The byte offset of a dotted member path (`scx_sched.exit_info`).
    pub fn offset(&self, path: &str) -> Option<u64> {
        self.types.offset(path)
    }

    /// Named `s64` members of a struct (the event counters).
    pub fn s64_members(&self, strukt: &str) -> Vec<(String, u64)> {
        self.types.s64_members(strukt)
    }

    fn read<const N: usize>(&self, va: u64) -> Option<[u8; N]> {
        let mut b = [0u8; N];
        self.target.read_virt(va, &mut b).ok()?;
        Some(b)
    }
    /// A little-endian u64 at `va`.
    pub fn u64_at(&self, va: u64) -> Option<u64> {
        self.read::<8>(va).map(u64::from_le_bytes)
    }
    /// A little-endian i64 at `va`.
    pub fn i64_at(&self, va: u64) -> Option<i64> {
        self.read::<8>(va).map(i64::from_le_bytes)
    }
    /// A little-endian u32 at `va`.
    pub fn u32_at(&self, va: u64) -> Option<u32> {
        self.read::<4>(va).map(u32::from_le_bytes)
    }
    /// A little-endian i32 at `va`.
    pub fn i32_at(&self, va: u64) -> Option<i32> {
        self.read::<4>(va).map(i32::from_le_bytes)
    }
    /// A byte at `va`.
    pub fn u8_at(&self, va: u64) -> Option<u8> {
        self.read::<1>(va).map(|[b]| b)
    }
    /// A NUL-terminated string at `va`, at most `max` bytes.
    pub fn string_at(&self, va: u64, max: usize) -> Option<String> {
        if va == 0 {
            return None;
        }
        let mut buf = vec![0u8; max];
        let guest = self.target.guest(scxray_core::Limits::DEFAULT);
        let (s, _) = guest.read_c_string(VirtAddr(va), &mut buf, scxray_core::Field::ScxRoot).ok()?;
        Some(String::from_utf8_lossy(s).into_owned())
    }
    /// The first of `names` the kernel has, at its runtime address.
    pub fn symbol(&self, names: &[&str]) -> Option<u64> {
        names.iter().find_map(|n| self.target.symbol(n))
    }
    /// The guest's `jiffies`.
    pub fn jiffies(&self) -> Option<u64> {
        self.u64_at(self.target.symbols().jiffies?)
    }
}

/// `task_struct.__state` as the letter `ps` shows (`task_state_index`).
pub fn task_state_letter(state: u32) -> char {
    // TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD.
    if state == 0x402 {
        return 'I';
    }
    const REPORT: [(u32, char); 7] =
        [(0x1, 'S'), (0x2, 'D'), (0x4, 'T'), (0x8, 't'), (0x10, 'X'), (0x20, 'Z'), (0x40, 'P')];
    if state & 0x7f == 0 {
        return 'R';
    }
    REPORT.iter().find(|(bit, _)| state & bit != 0).map_or('?', |&(_, c)| c)
}

/// A CPU mask as a list ("0-3,6").
pub fn cpu_list(words: &[u64], nr_cpus: u32) -> String {
    let set = |c: u32| words.get((c / 64) as usize).is_some_and(|w| w >> (c % 64) & 1 == 1);
    let mut parts = Vec::new();
    let mut c = 0;
    while c < nr_cpus {
        if set(c) {
            let start = c;
            while c + 1 < nr_cpus && set(c + 1) {
                c += 1;
            }
            parts.push(if start == c { start.to_string() } else { format!("{start}-{c}") });
        }
        c += 1;
    }
    if parts.is_empty() { "(none)".into() } else { parts.join(",") }
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

/// Decodes `scx.flags` against the constants of `enum scx_ent_flags`.
pub fn decode_scx_flags(raw: u32, constants: &EnumConstants) -> ScxFlags {
    let get = |n: &str| constants.iter().find(|(k, _)| k == n).map(|&(_, v)| v);
    let strip = |n: &str| n.trim_start_matches("SCX_TASK_").to_owned();
    let raw64 = u64::from(raw);
    let state_mask = get("SCX_TASK_STATE_MASK").unwrap_or(0x700);
    let reenq_mask = get("SCX_TASK_REENQ_REASON_MASK").unwrap_or(0);
    let fields = state_mask | reenq_mask;
    let is_meta = |n: &str| n.ends_with("_SHIFT") || n.ends_with("_BITS") || n.ends_with("_MASK");
    let mut flags: Vec<String> = constants
        .iter()
        .filter(|(n, v)| !is_meta(n) && v.is_power_of_two() && v & fields == 0 && raw64 & v != 0)
        .map(|(n, _)| strip(n))
        .collect();
    let known: u64 = constants
        .iter()
        .filter(|(n, v)| !is_meta(n) && v.is_power_of_two() && v & fields == 0)
        .fold(0, |a, (_, v)| a | v);
    if raw64 & !known & !fields != 0 {
        flags.push(format!("{:#x}", raw64 & !known & !fields));
    }
    let field = |mask: u64, prefix: &str| -> Option<String> {
        if mask == 0 {
            return None;
        }
        let v = raw64 & mask;
        constants
            .iter()
            .find(|(n, c)| n.starts_with(prefix) && !is_meta(n) && *c & !mask == 0 && *c == v)
            .map(|(n, _)| n.trim_start_matches(prefix).to_owned())
            .or_else(|| Some(format!("{v:#x}")))
    };
    let state = if constants.is_empty() { None } else { field(state_mask, "SCX_TASK_") };
    ScxFlags {
        raw: format!("{raw:#x}"),
        flags,
        state,
        reenq_reason: field(reenq_mask, "SCX_TASK_REENQ_").filter(|_| reenq_mask != 0),
    }
}

/// A task with everything the kernel's dump prints about it, and where scxray found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReport {
    /// `task_struct` address.
    pub kva: String,
    /// pid.
    pub pid: i32,
    /// tgid.
    pub tgid: Option<i32>,
    /// comm.
    pub comm: String,
    /// Task state letter (R, S, D, I, ...).
    pub state: Option<String>,
    /// `sched_ext_entity.flags`, decoded.
    pub scx_flags: ScxFlags,
    /// The DSQ the task names (`p->scx.dsq`), its address.
    pub dsq_kva: Option<String>,
    /// That DSQ's id, raw (hex) and decoded.
    pub dsq_id: Option<String>,
    /// The decoded id (`LOCAL`, `GLOBAL`, `LOCAL_ON|3`, a user id).
    pub dsq: Option<String>,
    /// `ops_state`.
    pub ops_state: Option<u64>,
    /// `ddsp_dsq_id`, decoded.
    pub ddsp_dsq: Option<String>,
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
    /// Allowed CPUs (`cpus_ptr`), as a list.
    pub cpus_allowed: Option<String>,
    /// Where scxray found it: `scx_tasks`, `runnable cpu N`, `curr cpu N`, a DSQ label.
    pub found_on: Vec<String>,
}

/// Builds a task's report from its detail.
pub fn task_report(
    k: &KernelInfo<'_>,
    d: &TaskDetail,
    flags: &EnumConstants,
    jiffies: Option<u64>,
    found_on: Vec<String>,
) -> TaskReport {
    let nr_cpus = k.target.nr_cpus();
    let cpus_allowed = d.cpus_ptr.filter(|p| p.0 != 0).and_then(|p| {
        let words = nr_cpus.div_ceil(64) as usize;
        let mut b = vec![0u8; words * 8];
        k.target.read_virt(p.0, &mut b).ok()?;
        let w: Vec<u64> =
            b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect();
        Some(cpu_list(&w, nr_cpus))
    });
    TaskReport {
        kva: format!("{:#x}", d.kva.0),
        pid: d.pid,
        tgid: d.tgid,
        comm: d.comm.to_string(),
        state: d.state.map(|s| task_state_letter(s).to_string()),
        scx_flags: decode_scx_flags(d.scx_flags, flags),
        dsq_kva: d.dsq_kva.filter(|v| v.0 != 0).map(|v| format!("{:#x}", v.0)),
        dsq_id: d.dsq_id.map(|v| format!("{v:#x}")),
        dsq: d.dsq_id.map(|v| DsqId::decode(v).to_string()),
        ops_state: d.ops_state,
        ddsp_dsq: d.ddsp_dsq_id.map(|v| DsqId::decode(v).to_string()),
        weight: d.weight,
        sticky_cpu: d.sticky_cpu,
        holding_cpu: d.holding_cpu,
        runnable_at: d.runnable_at,
        runnable_age_jiffies: d.runnable_at.zip(jiffies).map(|(r, j)| j.wrapping_sub(r) as i64),
        slice: d.slice,
        dsq_vtime: d.dsq_vtime,
        cpus_allowed,
        found_on,
    }
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

/// Reads the global state.
pub fn global_state(k: &KernelInfo<'_>) -> GlobalState {
    let at = |names: &[&str]| k.symbol(names);
    let (value, name) = k.enable_state();
    let jiffies = k.jiffies();
    GlobalState {
        enable_state: name,
        enable_state_value: value,
        enabled: at(&["__scx_enabled", "__scx_ops_enabled"]).and_then(|a| k.u32_at(a)),
        switching_all: at(&["scx_switching_all"]).and_then(|a| k.u8_at(a)).map(|b| b != 0),
        switched_all: at(&["__scx_switched_all"]).and_then(|a| k.u32_at(a)),
        in_softlockup: at(&["scx_in_softlockup"]).and_then(|a| k.u8_at(a)).map(|b| b != 0),
        breather_depth: at(&["scx_breather_depth", "scx_ops_breather_depth"]).and_then(|a| k.i32_at(a)),
        nr_rejected: at(&["scx_nr_rejected"]).and_then(|a| k.i64_at(a)),
        enable_seq: at(&["scx_enable_seq"]).and_then(|a| k.i64_at(a)),
        jiffies,
        watchdog_age_jiffies: at(&["scx_watchdog_timestamp"])
            .and_then(|a| k.u64_at(a))
            .zip(jiffies)
            .map(|(t, j)| j.wrapping_sub(t) as i64),
    }
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

/// Reads the `struct scx_exit_info` whose pointer is at `ptr_at` (`&sched->exit_info`, or the
/// `scx_exit_info` variable of 6.12-6.15).
pub fn exit_info(k: &KernelInfo<'_>, ptr_at: u64) -> Option<ExitInfo> {
    let ptr = k.u64_at(ptr_at)?;
    if ptr == 0 {
        return None;
    }
    let field = |m: &str| k.offset(&format!("scx_exit_info.{m}")).map(|o| ptr.wrapping_add(o));
    Some(ExitInfo {
        kind: field("kind").and_then(|a| k.i32_at(a)),
        exit_code: field("exit_code").and_then(|a| k.i64_at(a)),
        reason: field("reason").and_then(|a| k.u64_at(a)).and_then(|p| k.string_at(p, 128)),
        msg: field("msg").and_then(|a| k.u64_at(a)).and_then(|p| k.string_at(p, 1024)),
    })
}

/// The scheduler's event counters (`struct scx_event_stats`), summed over CPUs.
pub fn event_counters(k: &KernelInfo<'_>, sched: VirtAddr) -> Vec<(String, i64)> {
    let (Some(pcpu_off), Some(stats_off)) =
        (k.offset("scx_sched.pcpu"), k.offset("scx_sched_pcpu.event_stats"))
    else {
        return Vec::new();
    };
    let Some(pcpu) = k.u64_at(sched.0.wrapping_add(pcpu_off)) else { return Vec::new() };
    per_cpu_event_counters(k, pcpu.wrapping_add(stats_off))
}

/// 6.15's event counters, before `struct scx_sched`: the per-CPU variable `event_stats_cpu`
/// (none on 6.12-6.14).
pub fn global_event_counters(k: &KernelInfo<'_>) -> Vec<(String, i64)> {
    k.symbol(&["event_stats_cpu"]).map_or_else(Vec::new, |base| per_cpu_event_counters(k, base))
}

/// The `s64` members of the per-CPU `struct scx_event_stats` at `base` (a per-CPU address:
/// each CPU's copy is at `base + __per_cpu_offset[cpu]`), summed over the possible CPUs.
fn per_cpu_event_counters(k: &KernelInfo<'_>, base: u64) -> Vec<(String, i64)> {
    let members = k.s64_members("scx_event_stats");
    members
        .into_iter()
        .map(|(name, off)| {
            let sum = k
                .target
                .machine()
                .per_cpu_offsets()
                .iter()
                .enumerate()
                .filter(|&(cpu, &o)| cpu == 0 || o != 0)
                .filter_map(|(_, &o)| k.i64_at(base.wrapping_add(o).wrapping_add(off)))
                .fold(0i64, i64::wrapping_add);
            (name.trim_start_matches("SCX_EV_").to_owned(), sum)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_letters_follow_the_kernel() {
        assert_eq!(task_state_letter(0), 'R');
        assert_eq!(task_state_letter(1), 'S');
        assert_eq!(task_state_letter(2), 'D');
        assert_eq!(task_state_letter(0x402), 'I');
        assert_eq!(task_state_letter(0x40), 'P');
    }

    #[test]
    fn cpu_lists_compress_ranges() {
        assert_eq!(cpu_list(&[0b1111], 4), "0-3");
        assert_eq!(cpu_list(&[0b1011_0101], 8), "0,2,4-5,7");
        assert_eq!(cpu_list(&[0, 1], 128), "64");
        assert_eq!(cpu_list(&[0], 4), "(none)");
    }

    #[test]
    fn scx_flags_decode_with_the_kernels_enum() {
        // enum scx_ent_flags of Debian 7.3 (kernel matrix).
        let c: EnumConstants = [
            ("SCX_TASK_QUEUED", 0x1),
            ("SCX_TASK_IN_CUSTODY", 0x2),
            ("SCX_TASK_RESET_RUNNABLE_AT", 0x4),
            ("SCX_TASK_DEQD_FOR_SLEEP", 0x8),
            ("SCX_TASK_STATE_SHIFT", 0x8),
            ("SCX_TASK_STATE_BITS", 0x3),
            ("SCX_TASK_STATE_MASK", 0x700),
            ("SCX_TASK_NONE", 0x0),
            ("SCX_TASK_INIT", 0x200),
            ("SCX_TASK_READY", 0x300),
            ("SCX_TASK_ENABLED", 0x400),
            ("SCX_TASK_REENQ_REASON_MASK", 0x7000),
            ("SCX_TASK_REENQ_NONE", 0x0),
            ("SCX_TASK_REENQ_KFUNC", 0x1000),
            ("SCX_TASK_CURSOR", 0x8000_0000),
        ]
        .iter()
        .map(|&(n, v)| (n.to_owned(), v))
        .collect();
        let f = decode_scx_flags(0x405, &c);
        assert_eq!(f.flags, ["QUEUED", "RESET_RUNNABLE_AT"]);
        assert_eq!(f.state.as_deref(), Some("ENABLED"));
        assert_eq!(f.reenq_reason.as_deref(), Some("NONE"));
        let f = decode_scx_flags(0x1301 | 0x10_0000, &c);
        assert_eq!(f.flags, ["QUEUED", "0x100000"]);
        assert_eq!((f.state.as_deref(), f.reenq_reason.as_deref()), (Some("READY"), Some("KFUNC")));
    }
}
