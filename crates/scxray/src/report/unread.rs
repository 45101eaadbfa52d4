//! What the host could not read beside the walks, as problems: every [`Reading::Failed`] of
//! the snapshot (the root's names, level, exit info and event counters, each sub-scheduler's
//! names, the global state; the tasks' CPU masks by [`masks_problem`]) names its field and
//! address, instead of showing as a missing value nobody explains.

use super::schema::TaskRef;
use crate::walk::{EventCounts, Reading, Snapshot, TaskReads};
use scxray_core::ReadError;

/// `what: error` for each failed reading, in report order.
pub(super) fn problems(s: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let mut failed = |what: &str, e: Option<&ReadError>| {
        if let Some(e) = e {
            out.push(format!("{what}: {e}"));
        }
    };
    if let Some(root) = &s.root {
        failed("scheduler name", root.names.name.error());
        failed("scheduler cgroup path", root.names.cgroup_path.error());
        failed("scheduler level", root.level.error());
        failed("exit info", root.exit.error());
        if let Some(x) = root.exit.value() {
            failed("exit kind", x.kind.error());
            failed("exit code", x.exit_code.error());
            failed("exit reason", x.reason.error());
            failed("exit message", x.msg.error());
        }
        failed("event counters", root.events.error());
    }
    for (n, (sub, _)) in s.sub_names.iter().zip(&s.walks.subs) {
        let of = format!("sub-scheduler {}", sub.state.sched_kva);
        failed(&format!("{of} name"), n.name.error());
        failed(&format!("{of} cgroup path"), n.cgroup_path.error());
    }
    let g = &s.globals;
    for (what, e) in [
        ("enable state", g.enable_state.error()),
        ("enabled", g.enabled.error()),
        ("switching_all", g.switching_all.error()),
        ("switched_all", g.switched_all.error()),
        ("in_softlockup", g.in_softlockup.error()),
        ("breather_depth", g.breather_depth.error()),
        ("nr_rejected", g.nr_rejected.error()),
        ("enable_seq", g.enable_seq.error()),
        ("jiffies", g.jiffies.error()),
        ("watchdog timestamp", g.watchdog_timestamp.error()),
    ] {
        failed(what, e);
    }
    if let Some(events) = s.root.as_ref().and_then(|r| r.events.value()) {
        out.extend(events_problem(events));
    }
    // The tasks' CPU masks: [`masks_problem`], which the report's builder states after these
    // (it takes the snapshot's tasks for its own first).
    out
}

/// The tasks whose detail could not be read, counted, with the first one's address and error.
pub(super) fn tasks_problem(unreadable: &[TaskRef]) -> Option<String> {
    let first = unreadable.first()?;
    Some(format!(
        "detail of {} tasks unreadable (the first, at {}: {})",
        unreadable.len(),
        first.kva,
        first.error.as_deref().unwrap_or("?")
    ))
}

/// The tasks whose allowed-CPU mask could not be read, counted, with the first one's error.
pub(super) fn masks_problem<'a>(
    details: impl Iterator<Item = &'a Result<TaskReads, ReadError>>,
) -> Option<String> {
    let masks: Vec<&ReadError> =
        details.filter_map(|d| d.as_ref().ok().and_then(|d| d.cpus_allowed.error())).collect();
    let first = masks.first()?;
    Some(format!("allowed-CPU masks of {} tasks unreadable (the first: {first})", masks.len()))
}

/// The event counters' missing CPUs, when any: none read at all, or sums without some CPUs.
pub(super) fn events_problem(e: &EventCounts) -> Option<String> {
    let missing = e.missing_cpus();
    let (_, first) = missing.first()?;
    let list: Vec<String> = missing.iter().map(|(c, _)| c.to_string()).collect();
    Some(if missing.len() == e.cpus.len() {
        format!(
            "event counters: unreadable on every CPU ({} CPUs; CPU {}: {first})",
            e.cpus.len(),
            missing[0].0
        )
    } else {
        format!(
            "event counters: summed without CPUs {} ({} of {}; CPU {}: {first})",
            list.join(","),
            missing.len(),
            e.cpus.len(),
            missing[0].0
        )
    })
}

/// What the text's events line says about CPUs whose counters are missing.
pub(super) fn events_note(e: &Reading<EventCounts>) -> Option<String> {
    match e {
        Reading::Failed(err) => Some(format!("unreadable: {err}")),
        Reading::Absent => None,
        Reading::Value(v) => {
            let missing = v.missing_cpus();
            let list: Vec<String> = missing.iter().map(|(c, _)| c.to_string()).collect();
            if missing.is_empty() {
                None
            } else if missing.len() == v.cpus.len() {
                Some(format!("unreadable on every CPU ({} CPUs)", v.cpus.len()))
            } else {
                Some(format!("without CPUs {}: unreadable", list.join(",")))
            }
        }
    }
}
