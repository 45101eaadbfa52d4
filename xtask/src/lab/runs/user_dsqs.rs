//! The user DSQs a scheduler created, as the guest's own kernel recorded them, against the ones
//! scxray walked. Before the scheduler starts, the guest arms fprobe trace events on the
//! kfuncs `scx_bpf_create_dsq` (its `dsq_id` and `node`, and its return value) and
//! `scx_bpf_destroy_dsq`; after settling it keeps the trace as `extra dsq-trace` truth. Every
//! DSQ id created with success and not destroyed is a user DSQ the report must list, once, and
//! the report lists no other.
//!
//! The production schedulers create theirs in `ops.init` (scx_bpfland: one per CPU and one per
//! NUMA node; scx_lavd: per compute domain and per CPU), from the `scx_enable_helper` kthread.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The truth's name for the trace.
pub const DSQ_TRACE: &str = "dsq-trace";

/// Arms the trace probes (`dsq_create`, `dsq_created`, `dsq_destroy` in group `scxray`) before
/// the scheduler starts.
pub const DSQ_TRACE_SETUP: &str = "mount -t tracefs nodev /sys/kernel/tracing && cd /sys/kernel/tracing && \
            echo 'f:scxray/dsq_create scx_bpf_create_dsq dsq_id node' >> dynamic_events && \
            echo 'f:scxray/dsq_created scx_bpf_create_dsq%return ret=$retval' >> dynamic_events && \
            echo 'f:scxray/dsq_destroy scx_bpf_destroy_dsq dsq_id' >> dynamic_events && \
            echo 1 > events/scxray/enable";
/// Reads the trace after the scheduler settled.
pub const DSQ_TRACE_COMMAND: &str = "grep -F ' dsq_' /sys/kernel/tracing/trace";

/// One record of the trace: `<task>-<pid> [cpu] flags time: <event>: (<where>) key=value...`.
fn record(line: &str) -> Option<(&str, &str, BTreeMap<&str, &str>)> {
    let mut words = line.split_whitespace();
    let task = words.next()?;
    let event = words.find(|w| w.starts_with("dsq_") && w.ends_with(':'))?.trim_end_matches(':');
    let args = words.filter_map(|w| w.split_once('=')).collect();
    Some((task, event, args))
}

fn number(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The DSQ ids the trace shows created (return value 0) and not destroyed since, or why the
/// trace cannot say. A call and its return are paired by task: one task's calls do not nest.
pub fn created(lines: &[String]) -> Result<BTreeSet<u64>, String> {
    let mut pending: BTreeMap<&str, u64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for (task, event, args) in lines.iter().filter_map(|l| record(l)) {
        let id = || {
            args.get("dsq_id").copied().and_then(number).ok_or_else(|| format!("{event} without a dsq_id"))
        };
        match event {
            "dsq_create" => {
                pending.insert(task, id()?);
            }
            "dsq_created" => {
                let call =
                    pending.remove(task).ok_or_else(|| format!("a return of {task} without its call"))?;
                if args.get("ret").copied().and_then(number) == Some(0) {
                    ids.insert(call);
                }
            }
            "dsq_destroy" => {
                ids.remove(&id()?);
            }
            _ => {}
        }
    }
    if ids.is_empty() {
        return Err(format!("the guest's trace records no DSQ created ({} lines)", lines.len()));
    }
    Ok(ids)
}

/// Checks the report's user DSQs (`dsqs` of kind `user`, `id` in hex) against the trace: each
/// check's outcome, the failure said.
pub fn check(dsqs: &[Value], lines: &[String]) -> Vec<Result<(), String>> {
    let want = match created(lines) {
        Ok(w) => w,
        Err(e) => return vec![Err(format!("user DSQs: {e}"))],
    };
    let got: Vec<Option<u64>> = dsqs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("user"))
        .map(|d| d["id"].as_str().and_then(number))
        .collect();
    let ids: BTreeSet<u64> = got.iter().flatten().copied().collect();
    let once = (got.len() == ids.len())
        .then_some(())
        .ok_or_else(|| format!("user DSQ ids listed more than once or unreadable: {got:?}"));
    let fmt = |s: &BTreeSet<u64>| s.iter().map(|i| format!("{i:#x}")).collect::<Vec<_>>().join(" ");
    let same = (ids == want)
        .then_some(())
        .ok_or_else(|| format!("user DSQs walked [{}] != created in the guest [{}]", fmt(&ids), fmt(&want)));
    vec![once, same]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    // Lines as 7.3's trace printed them for scx_bpfland on 4 CPUs and 2 nodes.
    const TRACE: &str = " scx_enable_help-224     [003] ...21    74.335879: dsq_create: (scx_bpf_create_dsq+0x4/0x4c0) dsq_id=0 node=0
 scx_enable_help-224     [003] ...11    74.344607: dsq_created: (bpf_prog_b84a65b78e99d9cc_bpfland_init+0x205/0x465 <- scx_bpf_create_dsq) ret=0
 scx_enable_help-224     [003] ...21    74.344887: dsq_create: (scx_bpf_create_dsq+0x4/0x4c0) dsq_id=1 node=0
 scx_enable_help-224     [003] ...11    74.344959: dsq_created: (bpf_prog_b84a65b78e99d9cc_bpfland_init+0x205/0x465 <- scx_bpf_create_dsq) ret=0
 scx_enable_help-224     [003] ...21    74.345145: dsq_create: (scx_bpf_create_dsq+0x4/0x4c0) dsq_id=4 node=0
 scx_enable_help-224     [003] ...11    74.345162: dsq_created: (bpf_prog_b84a65b78e99d9cc_bpfland_init+0x322/0x465 <- scx_bpf_create_dsq) ret=0
";

    #[test]
    fn the_trace_names_the_dsqs_created() {
        assert_eq!(created(&lines(TRACE)), Ok(BTreeSet::from([0, 1, 4])));
        // A failed create (-EEXIST) and a destroyed DSQ are not there.
        let more = format!(
            "{TRACE} a-9 [000] ...21 75.0: dsq_create: (scx_bpf_create_dsq+0x4/0x4c0) dsq_id=7 node=0\n\
             a-9 [000] ...11 75.1: dsq_created: (x <- scx_bpf_create_dsq) ret=0xffffffef\n\
             a-9 [000] ...21 75.2: dsq_destroy: (scx_bpf_destroy_dsq+0x4/0x100) dsq_id=1\n"
        );
        assert_eq!(created(&lines(&more)), Ok(BTreeSet::from([0, 4])));
        assert!(created(&[]).is_err(), "an empty trace proves nothing");
    }

    #[test]
    fn the_reports_user_dsqs_against_the_trace() {
        let dsq = |kind: &str, id: &str| serde_json::json!({"kind": kind, "id": id});
        let dsqs =
            [dsq("local", "0x8000000000000002"), dsq("user", "0x4"), dsq("user", "0x0"), dsq("user", "0x1")];
        assert_eq!(check(&dsqs, &lines(TRACE)), [Ok(()), Ok(())]);
        // One missing, one the guest never created.
        assert_eq!(
            check(&[dsq("user", "0x4"), dsq("user", "0x0"), dsq("user", "0x9")], &lines(TRACE)),
            [Ok(()), Err("user DSQs walked [0x0 0x4 0x9] != created in the guest [0x0 0x1 0x4]".into())]
        );
    }
}
