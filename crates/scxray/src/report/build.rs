//! The report built from what the walk stage read ([`Snapshot`]) and what configuration knows
//! (machine facts, the BTF's enum names). No guest memory is read here.

use super::bpf::{BpfReport, BpfStorage};
use super::diagnose::{TaskReports, event_counters, exit_info, global_state};
use super::schema::{
    CapFired, MachineFacts, Report, SCHEMA, SchedEntry, SchedulerFacts, TaskRef, TaskReport,
    describe_problem, hex, provenance_name, scheduler_unknown,
};
use super::unread;
use crate::target::Target;
use crate::walk::{BpfReads, FoundTask, Passes, Snapshot, walk_with};
use scxray_core::Limits;

impl MachineFacts {
    /// The facts configuration found about `target`'s machine.
    pub fn of(target: &Target) -> Self {
        Self {
            arch: target.arch().to_string(),
            release: target.release().map(str::to_owned),
            cpus: target.nr_cpus(),
            nodes: target.nr_nodes(),
            paging: target.paging().to_string(),
            kaslr_offset: hex(target.kaslr_offset()),
            memory: target.memory().describe(),
        }
    }
}

// The report's tasks are collected in place of the snapshot's (`Vec`'s in-place `collect`,
// which needs the element no larger, with the same alignment): a big machine's report then
// touches no fresh pages for them (6206 tasks: 1.8 MB, ~460 page faults fewer). A field that
// makes a `TaskReport` outgrow a `FoundTask` fails here rather than costing that silently.
const _: () = assert!(
    size_of::<TaskReport>() <= size_of::<FoundTask>() && align_of::<TaskReport>() == align_of::<FoundTask>()
);

impl Report {
    /// Walks `target` under `limits` and builds the report of the kernel half (what the
    /// embedded walker over the wire reports too).
    pub fn build(target: &Target, limits: Limits) -> Self {
        Self::build_with(target, limits, Passes::default())
    }

    /// Walks `target` under `limits` with `passes` (the BPF half) and builds the report.
    pub fn build_with(target: &Target, limits: Limits, passes: Passes) -> Self {
        Self::from_snapshot(target, walk_with(target, limits, passes))
    }

    /// The report of what one walk of `target` read. The snapshot is taken by value: its
    /// task list's allocation becomes the report's (collected in place).
    pub fn from_snapshot(target: &Target, mut s: Snapshot) -> Self {
        let found = std::mem::take(&mut s.tasks);
        // Looked through before the tasks become the report's: the snapshot has none left.
        let masks = unread::masks_problem(found.iter().map(|t| &t.detail));
        let s = &s;
        let types = target.types();
        let exit_kind_name = |kind: u32| types.enum_name("scx_exit_kind", u64::from(kind));
        let sched_ext = global_state(&s.globals, &types);
        let w = &s.walks;
        let scheduler = s.root.as_ref().map(|root| {
            let r = &root.state;
            SchedulerFacts {
                state: sched_ext.enable_state.clone(),
                ops_name: root.names.name.value().cloned(),
                sched_kva: hex(r.sched_kva.0),
                exit_kind: r.exit_kind,
                exit_kind_name: exit_kind_name(r.exit_kind),
                aborting: r.aborting,
                bypass_depth: r.bypass_depth,
                provenance: provenance_name(r.provenance).into(),
                exit: root.exit.value().map(exit_info),
                events: root.events.value().map(event_counters).unwrap_or_default(),
                events_missing: unread::events_note(&root.events),
            }
        });
        let root_entry = s.root.as_ref().map(|root| {
            let r = &root.state;
            SchedEntry::new(
                r,
                None,
                root.level.get(),
                0,
                root.names.name.value().cloned(),
                root.names.cgroup_path.value().cloned(),
                exit_kind_name(r.exit_kind),
                w.owned(r.sched_kva),
                w.user.as_ref(),
            )
        });
        let subs = w.subs.iter().zip(&s.sub_names).map(|((sub, user), names)| {
            SchedEntry::new(
                &sub.state,
                Some(sub.parent_kva),
                sub.level,
                sub.depth,
                names.name.value().cloned(),
                names.cgroup_path.value().cloned(),
                exit_kind_name(sub.state.exit_kind),
                w.owned(sub.state.sched_kva),
                user.as_ref(),
            )
        });
        let mut reports = TaskReports::of(target, s.globals.jiffies.get());
        let mut caps_fired = w.caps_fired();
        caps_fired.extend(s.bpf.iter().flat_map(super::caps::bpf_caps_fired));
        let (tasks, unreadable_tasks) = Self::task_reports(found, &mut reports, s.bpf.as_ref());
        let unreadable = unread::tasks_problem(&unreadable_tasks);
        let bpf = s.bpf.as_ref().map(BpfReport::new);
        Self {
            schema: SCHEMA.into(),
            machine: MachineFacts::of(target),
            sched_ext,
            scheduler,
            schedulers: root_entry.into_iter().chain(subs).collect(),
            sub_scheds_walk: w.sub_scheds_walk(),
            cpus: w.cpu_reports(TaskRef::from_record),
            dsqs: w.dsq_reports(TaskRef::from_record),
            user_dsqs: w.user_dsqs_report(),
            scx_tasks: w.scx_tasks_report(TaskRef::from_record),
            tasks,
            unreadable_tasks,
            problems: caps_fired
                .iter()
                .map(CapFired::describe)
                .chain(s.problems.iter().map(describe_problem))
                .chain(w.broken_walks())
                .chain(unread::problems(s))
                .chain(unreadable)
                .chain(masks)
                .collect(),
            truncated: w.truncated() || bpf.as_ref().is_some_and(|b| b.truncated),
            caps_fired,
            scheduler_unknown: scheduler_unknown(&s.problems),
            bpf,
        }
    }

    /// Each task's report (with its BPF place and storage when `bpf` was read), and the
    /// tasks whose detail could not be read. `found`'s allocation is reused for the reports.
    fn task_reports(
        found: Vec<FoundTask>,
        reports: &mut TaskReports,
        bpf: Option<&BpfReads>,
    ) -> (Vec<TaskReport>, Vec<TaskRef>) {
        let mut unreadable = Vec::new();
        let tasks = found
            .into_iter()
            .filter_map(|t| match &t.detail {
                Ok(d) => {
                    let mut r = reports.report(d, &t.found_on);
                    if let Some(b) = bpf {
                        r.bpf_place = b.places.get(&t.kva).and_then(|p| p.text()).map(String::into_boxed_str);
                        r.bpf_storage = b.task_storage.get(&t.kva).map_or_else(Vec::new, |v| {
                            v.iter()
                                .map(|(map, value)| BpfStorage { map: map.clone(), value: value.clone() })
                                .collect()
                        });
                    }
                    Some(r)
                }
                Err(e) => {
                    unreadable.push(TaskRef::unreadable(t.kva, e));
                    None
                }
            })
            .collect();
        (tasks, unreadable)
    }
}
