//! Diagnosis beyond the walk: what the report derives from what was read. Per-task detail
//! with decoded flags and state letter, the names of the enable state and exit kind, the
//! global state the kernel's `scx_show_state.py` prints, the exit info and event counters.
//! Names come from the kernel's own BTF enums wherever it has them.

use super::schema::{ExitInfo, GlobalState, Hex, ScxFlags, TaskComm, TaskReport};
use crate::kernel::btf::{EnumConstants, KernelTypes};
use crate::target::Target;
use crate::walk::{EventCounts, ExitReads, GlobalReads, Place, Places, TaskReads};
use foldhash::{HashMap, HashMapExt};
use scxray_core::DsqId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

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

/// A CPU mask as a list ("0-3,6"): the CPUs below `nr_cpus` whose bit is set (a word
/// beyond `words` is clear). Scanned a word at a time, so its cost is the number of ranges,
/// not of CPUs (every task of a 512-CPU machine has one).
pub fn cpu_list(words: &[u64], nr_cpus: u32) -> String {
    let end = u64::from(nr_cpus);
    // The first CPU at or after `from` whose bit is `set`, else `end`.
    let next = |from: u64, set: bool| -> u64 {
        let mut c = from;
        while c < end {
            let word = usize::try_from(c / 64).ok().and_then(|i| words.get(i)).copied().unwrap_or(0);
            let bits = if set { word } else { !word } >> (c % 64);
            if bits != 0 {
                return (c + u64::from(bits.trailing_zeros())).min(end);
            }
            c = (c / 64 + 1) * 64;
        }
        end
    };
    let mut out = String::new();
    let mut c = 0;
    loop {
        let start = next(c, true);
        if start >= end {
            break;
        }
        let last = next(start, false) - 1;
        if !out.is_empty() {
            out.push(',');
        }
        let _ = if start == last { write!(out, "{start}") } else { write!(out, "{start}-{last}") };
        c = last + 1;
    }
    if out.is_empty() { "(none)".into() } else { out }
}

/// `enum scx_ent_flags` sorted out once per report for [`ScxFlagNames::decode`]: which
/// constants are single-bit flags, which name a value of the state and re-enqueue fields.
#[derive(Debug, Clone, Default)]
pub struct ScxFlagNames {
    /// The single-bit flags outside the fields, without `SCX_TASK_`, in the enum's order.
    flags: Vec<(u64, String)>,
    /// Their union.
    known: u64,
    /// `SCX_TASK_STATE_MASK`.
    state_mask: u64,
    /// `SCX_TASK_REENQ_REASON_MASK`, 0 when the kernel has none.
    reenq_mask: u64,
    /// The state field's values (`SCX_TASK_*` within its mask), in the enum's order.
    states: Vec<(u64, String)>,
    /// The re-enqueue field's values (`SCX_TASK_REENQ_*`), in the enum's order.
    reenq: Vec<(u64, String)>,
    /// BTF had the enum.
    any: bool,
}

impl ScxFlagNames {
    /// From the constants of `enum scx_ent_flags`.
    pub fn new(constants: &EnumConstants) -> Self {
        let get = |n: &str| constants.iter().find(|(k, _)| k == n).map(|&(_, v)| v);
        let state_mask = get("SCX_TASK_STATE_MASK").unwrap_or(0x700);
        let reenq_mask = get("SCX_TASK_REENQ_REASON_MASK").unwrap_or(0);
        let fields = state_mask | reenq_mask;
        let is_meta = |n: &str| n.ends_with("_SHIFT") || n.ends_with("_BITS") || n.ends_with("_MASK");
        let flags: Vec<(u64, String)> = constants
            .iter()
            .filter(|(n, v)| !is_meta(n) && v.is_power_of_two() && v & fields == 0)
            .map(|(n, v)| (*v, n.trim_start_matches("SCX_TASK_").to_owned()))
            .collect();
        let values = |mask: u64, prefix: &str| -> Vec<(u64, String)> {
            if mask == 0 {
                return Vec::new();
            }
            constants
                .iter()
                .filter(|(n, c)| n.starts_with(prefix) && !is_meta(n) && *c & !mask == 0)
                .map(|(n, c)| (*c, n.trim_start_matches(prefix).to_owned()))
                .collect()
        };
        Self {
            known: flags.iter().fold(0, |a, (v, _)| a | v),
            flags,
            state_mask,
            reenq_mask,
            states: values(state_mask, "SCX_TASK_"),
            reenq: values(reenq_mask, "SCX_TASK_REENQ_"),
            any: !constants.is_empty(),
        }
    }

    /// Decodes a task's `scx.flags`.
    pub fn decode(&self, raw: u32) -> ScxFlags {
        let raw64 = u64::from(raw);
        let fields = self.state_mask | self.reenq_mask;
        let mut flags: Vec<String> =
            self.flags.iter().filter(|(v, _)| raw64 & v != 0).map(|(_, n)| n.clone()).collect();
        if raw64 & !self.known & !fields != 0 {
            flags.push(format!("{:#x}", raw64 & !self.known & !fields));
        }
        let field = |mask: u64, names: &[(u64, String)]| -> Option<String> {
            if mask == 0 {
                return None;
            }
            let v = raw64 & mask;
            Some(names.iter().find(|(c, _)| *c == v).map_or_else(|| format!("{v:#x}"), |(_, n)| n.clone()))
        };
        ScxFlags {
            raw: format!("{raw:#x}"),
            flags,
            state: if self.any { field(self.state_mask, &self.states) } else { None },
            reenq_reason: field(self.reenq_mask, &self.reenq),
        }
    }
}

/// Decodes `scx.flags` against the constants of `enum scx_ent_flags`.
pub fn decode_scx_flags(raw: u32, constants: &EnumConstants) -> ScxFlags {
    ScxFlagNames::new(constants).decode(raw)
}

/// Where a task was found, in words (`curr cpu 3`, `runnable cpu 3`, `dsq local cpu 3`,
/// `scx_tasks`).
pub fn place_name(p: &Place) -> String {
    match p {
        Place::Curr(cpu) => format!("curr cpu {cpu}"),
        Place::Runnable(cpu) => format!("runnable cpu {cpu}"),
        Place::Dsq(origin) => format!("dsq {origin}"),
        Place::ScxTasks => "scx_tasks".into(),
    }
}

/// Builds each task's report. What tasks share (flags decoded, a CPU list, a DSQ's name,
/// the places it was found on) is made once per distinct value and shared, not formatted
/// again for every task (a machine's tasks have a few dozen distinct ones among them).
#[derive(Debug)]
pub struct TaskReports {
    /// `enum scx_ent_flags`.
    flags: ScxFlagNames,
    /// The guest's `jiffies` at the time of the dump.
    jiffies: Option<u64>,
    /// `nr_cpu_ids`.
    nr_cpus: u32,
    decoded: HashMap<u32, Arc<ScxFlags>>,
    cpu_lists: HashMap<Arc<[u64]>, Arc<str>>,
    /// The last mask's list: consecutive tasks share one mask's allocation (`TaskReads`).
    last_cpu_list: Option<(Arc<[u64]>, Arc<str>)>,
    dsq_names: HashMap<u64, Arc<str>>,
    found_on: HashMap<Places, Arc<[Arc<str>]>>,
}

impl TaskReports {
    /// Reports under `flags` (`enum scx_ent_flags`'s constants), at the guest's `jiffies`,
    /// with `nr_cpus` CPUs.
    pub fn new(flags: ScxFlagNames, jiffies: Option<u64>, nr_cpus: u32) -> Self {
        Self {
            flags,
            jiffies,
            nr_cpus,
            decoded: HashMap::new(),
            cpu_lists: HashMap::new(),
            last_cpu_list: None,
            dsq_names: HashMap::new(),
            found_on: HashMap::new(),
        }
    }

    /// Reports of `target`'s tasks (its `enum scx_ent_flags`, its CPU count) at `jiffies`.
    pub fn of(target: &Target, jiffies: Option<u64>) -> Self {
        Self::new(
            ScxFlagNames::new(&target.types().enum_constants("scx_ent_flags")),
            jiffies,
            target.nr_cpus(),
        )
    }

    /// The report of a task from its detail and the places it was found on.
    pub fn report(&mut self, t: &TaskReads, found_on: &[Place]) -> TaskReport {
        let d = &t.detail;
        let Self { flags, jiffies, nr_cpus, decoded, cpu_lists, last_cpu_list, dsq_names, found_on: lists } =
            self;
        let mut dsq_name =
            |raw: u64| dsq_names.entry(raw).or_insert_with(|| DsqId::decode(raw).to_string().into()).clone();
        let mut cpu_list_of = |w: &Arc<[u64]>| match last_cpu_list {
            Some((last, list)) if Arc::ptr_eq(last, w) => list.clone(),
            _ => {
                let list = match cpu_lists.get(&**w) {
                    Some(list) => list.clone(),
                    None => {
                        let list: Arc<str> = cpu_list(w, *nr_cpus).into();
                        cpu_lists.insert(w.clone(), list.clone());
                        list
                    }
                };
                *last_cpu_list = Some((w.clone(), list.clone()));
                list
            }
        };
        TaskReport {
            kva: Hex(d.kva.0),
            pid: d.pid,
            tgid: d.tgid,
            comm: TaskComm::Read(d.comm),
            state: d.state.map(task_state_letter),
            scx_flags: decoded
                .entry(d.scx_flags)
                .or_insert_with(|| Arc::new(flags.decode(d.scx_flags)))
                .clone(),
            dsq_kva: d.dsq_kva.filter(|v| v.0 != 0).map(|v| Hex(v.0)),
            dsq_id: d.dsq_id.map(Hex),
            dsq: d.dsq_id.map(&mut dsq_name),
            ops_state: d.ops_state,
            ddsp_dsq: d.ddsp_dsq_id.map(&mut dsq_name),
            weight: d.weight,
            sticky_cpu: d.sticky_cpu,
            holding_cpu: d.holding_cpu,
            runnable_at: d.runnable_at,
            runnable_age_jiffies: d.runnable_at.zip(*jiffies).map(|(r, j)| j.wrapping_sub(r) as i64),
            slice: d.slice,
            dsq_vtime: d.dsq_vtime,
            cpus_allowed: t.cpus_allowed.value().map(&mut cpu_list_of),
            found_on: match lists.get(found_on) {
                Some(names) => names.clone(),
                None => {
                    let names: Arc<[Arc<str>]> = found_on.iter().map(|p| Arc::from(place_name(p))).collect();
                    lists.insert(Places::from_slice(found_on), names.clone());
                    names
                }
            },
            bpf_place: None,
            bpf_storage: Vec::new(),
        }
    }
}

/// The enable state's name by `enum scx_enable_state` (`scx_ops_enable_state` before 6.15),
/// lower case without its prefix ("enabled"), or `state N` when BTF has no name for it.
pub fn enable_state_name(types: &KernelTypes<'_>, value: u32) -> String {
    types
        .enum_name("scx_enable_state", u64::from(value))
        .or_else(|| types.enum_name("scx_ops_enable_state", u64::from(value)))
        .map_or_else(
            || format!("state {value}"),
            |n| n.trim_start_matches("SCX_OPS_").trim_start_matches("SCX_").to_ascii_lowercase(),
        )
}

/// The global state from its variables.
pub fn global_state(g: &GlobalReads, types: &KernelTypes<'_>) -> GlobalState {
    let jiffies = g.jiffies.get();
    GlobalState {
        enable_state: g.enable_state.get().map(|v| enable_state_name(types, v)),
        enable_state_value: g.enable_state.get(),
        enabled: g.enabled.get(),
        switching_all: g.switching_all.get().map(|b| b != 0),
        switched_all: g.switched_all.get(),
        in_softlockup: g.in_softlockup.get().map(|b| b != 0),
        breather_depth: g.breather_depth.get(),
        nr_rejected: g.nr_rejected.get(),
        enable_seq: g.enable_seq.get(),
        jiffies,
        watchdog_age_jiffies: g.watchdog_timestamp.get().zip(jiffies).map(|(t, j)| j.wrapping_sub(t) as i64),
    }
}

/// Why a scheduler exited, as read.
pub fn exit_info(e: &ExitReads) -> ExitInfo {
    ExitInfo {
        kind: e.kind.get(),
        exit_code: e.exit_code.get(),
        reason: e.reason.value().cloned(),
        msg: e.msg.value().cloned(),
    }
}

/// The event counters by name without the `SCX_EV_` prefix.
pub fn event_counters(e: &EventCounts) -> BTreeMap<String, i64> {
    e.sums.iter().map(|(name, sum)| (name.trim_start_matches("SCX_EV_").to_owned(), *sum)).collect()
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

    /// The word-at-a-time scan lists what a bit-by-bit one does: masks with runs across word
    /// boundaries, words missing, bits set at and beyond `nr_cpus`.
    #[test]
    fn cpu_lists_match_a_bit_by_bit_scan() {
        let bitwise = |words: &[u64], nr: u32| -> String {
            let set = |c: u32| words.get((c / 64) as usize).is_some_and(|w| w >> (c % 64) & 1 == 1);
            let mut parts = Vec::new();
            let mut c = 0;
            while c < nr {
                if set(c) {
                    let start = c;
                    while c + 1 < nr && set(c + 1) {
                        c += 1;
                    }
                    parts.push(if start == c { start.to_string() } else { format!("{start}-{c}") });
                }
                c += 1;
            }
            if parts.is_empty() { "(none)".into() } else { parts.join(",") }
        };
        let masks: [&[u64]; 7] = [
            &[u64::MAX; 8],
            &[u64::MAX, 0, 1 << 63, 1],
            &[0x8000_0000_0000_0001, 0x8000_0000_0000_0001],
            &[0xf0f0_f0f0_f0f0_f0f0],
            &[],
            &[0, 0, 0, 0, 0, 0, 0, 1 << 63],
            &[1, u64::MAX],
        ];
        for words in masks {
            for nr in [0, 1, 4, 63, 64, 65, 100, 127, 128, 200, 511, 512, 600] {
                assert_eq!(cpu_list(words, nr), bitwise(words, nr), "{words:x?}, {nr} CPUs");
            }
        }
        assert_eq!(cpu_list(&[u64::MAX; 8], 512), "0-511");
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
