//! A dump from an embedded scxray, decoded into the same [`Report`] `scxray dump` builds for
//! that guest (`scxray decode FILE`).
//!
//! The embedded side reads the pid and comm of every task where it finds it, every
//! scheduler's `ops.name` and cgroup path, and `scx_enable_state_var`; the host facts it
//! cannot know come back in the [`Context`] it echoes from the request.

use crate::error::Error;
use crate::report::{
    CapFired, MachineFacts, Report, SCHEMA, SchedEntry, SchedulerFacts, TaskRef, describe_problem,
    provenance_name, scheduler_unknown,
};
use crate::walk::Walks;
use scxray_core::{Problem, SchedState, VirtAddr};
use scxray_wire::{CGROUP_PATH_LEN, Context, EnumName, Record, Records, SchedNames, TaskRecord, WireError};

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// A dump's records, collected.
#[derive(Default)]
struct Collected<'a> {
    context: Option<Context<'a>>,
    shape: Option<(u32, u32)>,
    root: Option<SchedState>,
    root_names: SchedNames<'a>,
    enable_state: Option<u32>,
    /// Each sub-scheduler's names, by its `scx_sched` address.
    sub_names: Vec<(VirtAddr, SchedNames<'a>)>,
    walks: Walks<TaskRecord>,
    problems: Vec<Problem>,
    dropped: Option<u32>,
}

fn bad(what: &str) -> Error {
    Error::BadInput(format!("scxray wire dump: {what}"))
}

fn collect(bytes: &[u8]) -> Result<Collected<'_>, Error> {
    let mut records = Records::new(bytes).map_err(|e| match e {
        WireError::Malformed => bad("too short for a header"),
        e => bad(&e.to_string()),
    })?;
    let mut c = Collected::default();
    // The core emits a CPU's runnable tasks after its CPU record, a DSQ's tasks after its
    // header, a sub-scheduler's names after it: a stream out of that order is refused, not
    // partly dropped (the direct walk cannot produce one).
    let out_of_order = |n: usize, what: &str| bad(&format!("record {n}: {what}"));
    let runnable_out_of_order = |n: usize, cpu: u32, walks: &Walks<TaskRecord>| {
        let after = walks
            .cpus
            .last()
            .map_or_else(|| "before any CPU record".into(), |l| format!("after CPU {}'s", l.0.cpu));
        out_of_order(n, &format!("a runnable-list record of CPU {cpu} {after}"))
    };
    let dsq_out_of_order = |n: usize| out_of_order(n, "a DSQ's task or end before any DSQ record");
    for (n, record) in (&mut records).enumerate() {
        match record.map_err(|e| bad(&e.to_string()))? {
            Record::Context(x) => c.context = Some(x),
            Record::Shape { nr_cpus, nr_nodes } => c.shape = Some((nr_cpus, nr_nodes)),
            Record::Root(r) => c.root = Some(r),
            Record::Scheduler(s) => {
                c.root_names = s.names;
                c.enable_state = s.enable_state;
            }
            Record::Cpu(s) => c.walks.cpu(s),
            Record::RunnableTask { cpu, task } => {
                if !c.walks.runnable_task(cpu, task) {
                    return Err(runnable_out_of_order(n, cpu, &c.walks));
                }
            }
            Record::RunnableEnd { cpu, walk } => {
                if !c.walks.runnable_end(cpu, walk) {
                    return Err(runnable_out_of_order(n, cpu, &c.walks));
                }
            }
            Record::Dsq(h) => c.walks.dsq(h),
            Record::DsqTask(t) => {
                if !c.walks.dsq_task(t) {
                    return Err(dsq_out_of_order(n));
                }
            }
            Record::DsqEnd(w) => {
                if !c.walks.dsq_end(w) {
                    return Err(dsq_out_of_order(n));
                }
            }
            Record::UserDsqsEnd(w) => c.walks.user_dsqs_end(w),
            Record::SubSched(x) => c.walks.sub_sched(x),
            Record::SubSchedNames(names) => match c.walks.subs.last() {
                Some((last, _)) => c.sub_names.push((last.state.sched_kva, names)),
                None => {
                    return Err(out_of_order(n, "a sub-scheduler's names before any sub-scheduler record"));
                }
            },
            Record::SubSchedsEnd(w) => c.walks.sub_scheds_end(w),
            Record::ScxTask(t) => c.walks.scx_task(t),
            Record::ScxTasksEnd(w) => c.walks.scx_tasks_end(w),
            Record::Problem(p) => c.problems.push(p),
            Record::End(t) => c.dropped = Some(t.records_dropped),
        }
    }
    if !records.rest().is_empty() {
        return Err(bad(&format!("{} bytes after the end record", records.rest().len())));
    }
    Ok(c)
}

/// A name the guest wrote, for the report (lossy UTF-8, like the direct report).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn name_of<'a>(names: &'a [EnumName<'a>], value: u64) -> Option<&'a str> {
    names.iter().find(|n| n.value == value).map(|n| n.name)
}

/// Decodes a wire dump into the report `scxray dump` prints for the same guest.
pub fn decode(bytes: &[u8]) -> Result<Report, Error> {
    let c = collect(bytes)?;
    let ctx = c.context.clone().ok_or_else(|| bad("no context record"))?;
    let (nr_cpus, nr_nodes) = c.shape.ok_or_else(|| bad("no shape record"))?;
    let scheduler = c.root.map(|r| SchedulerFacts {
        state: c.enable_state.map(|v| match name_of(&ctx.enable_states, u64::from(v)) {
            Some(n) => n.trim_start_matches("SCX_OPS_").trim_start_matches("SCX_").to_ascii_lowercase(),
            None => format!("state {v}"),
        }),
        ops_name: c.root_names.ops_name.map(text),
        sched_kva: hex(r.sched_kva.0),
        exit_kind: r.exit_kind,
        exit_kind_name: name_of(&ctx.exit_kinds, u64::from(r.exit_kind)).map(str::to_owned),
        aborting: r.aborting,
        bypass_depth: r.bypass_depth,
        // The wire carries neither the exit info nor the event counters (host-side BTF reads).
        exit: None,
        events: std::collections::BTreeMap::new(),
        events_missing: None,
        provenance: provenance_name(r.provenance).into(),
    });
    let owned = |sched: VirtAddr| c.walks.owned(sched);
    let exit_name = |k: u32| name_of(&ctx.exit_kinds, u64::from(k)).map(str::to_owned);
    let no_names = SchedNames::default();
    let names_of =
        |sched: VirtAddr| c.sub_names.iter().find(|(k, _)| *k == sched).map_or(&no_names, |(_, n)| n);
    let mut schedulers: Vec<SchedEntry> = c
        .root
        .iter()
        .map(|r| {
            SchedEntry::new(
                r,
                None,
                Some(0),
                0,
                c.root_names.ops_name.map(text),
                c.root_names.cgroup_path.map(text),
                exit_name(r.exit_kind),
                owned(r.sched_kva),
                c.walks.user.as_ref(),
            )
        })
        .collect();
    for (sub, user) in &c.walks.subs {
        let names = names_of(sub.state.sched_kva);
        schedulers.push(SchedEntry::new(
            &sub.state,
            Some(sub.parent_kva),
            sub.level,
            sub.depth,
            names.ops_name.map(text),
            names.cgroup_path.map(text),
            exit_name(sub.state.exit_kind),
            owned(sub.state.sched_kva),
            user.as_ref(),
        ));
    }
    let mut truncated = c.walks.truncated();
    let mut problems: Vec<String> = c.problems.iter().map(describe_problem).collect();
    problems.extend(c.walks.broken_walks());
    let cut =
        c.root.iter().map(|r| (r.sched_kva, &c.root_names)).chain(c.sub_names.iter().map(|(k, n)| (*k, n)));
    for (sched, _) in cut.filter(|(_, n)| n.cgroup_path_cut) {
        truncated = true;
        problems.push(format!(
            "scheduler {:#x}: the embedded side cut its cgroup path at {CGROUP_PATH_LEN} bytes",
            sched.0
        ));
    }
    if let Some(n) = c.dropped.filter(|&n| n > 0) {
        truncated = true;
        problems.push(format!(
            "the embedded side's output buffer was full: {n} records of the dump were dropped"
        ));
    }
    let caps_fired = c.walks.caps_fired();
    problems.splice(0..0, caps_fired.iter().map(CapFired::describe));
    Ok(Report {
        // The wire carries neither the global sched_ext state nor per-task detail.
        sched_ext: crate::report::GlobalState::default(),
        tasks: Vec::new(),
        unreadable_tasks: Vec::new(),
        schema: SCHEMA.into(),
        machine: MachineFacts {
            arch: ctx.arch.to_owned(),
            release: ctx.release.map(str::to_owned),
            cpus: nr_cpus,
            nodes: nr_nodes,
            paging: ctx.paging.to_owned(),
            kaslr_offset: hex(ctx.kaslr_offset),
            memory: ctx.memory.to_owned(),
        },
        scheduler,
        schedulers,
        sub_scheds_walk: c.walks.sub_scheds_walk(),
        cpus: c.walks.cpu_reports(TaskRef::from_record),
        dsqs: c.walks.dsq_reports(TaskRef::from_record),
        user_dsqs: c.walks.user_dsqs_report(),
        scx_tasks: c.walks.scx_tasks_report(TaskRef::from_record),
        problems,
        truncated,
        caps_fired,
        scheduler_unknown: scheduler_unknown(&c.problems),
        // Nor the BPF half.
        bpf: None,
    })
}
