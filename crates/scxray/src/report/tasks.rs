//! The task list (`scxray tasks`, schema `scxray.tasks/1`): the tasks sched_ext owns, as the
//! kernel's `scx_tasks` list holds them, each with the fields of a `scxray.dump/2` `tasks`
//! entry, and what cut the list short or could not be read. Built from the walk stage's
//! [`ScxTasksReads`] without reading guest memory; [`render`] is its text, one line per task.
//!
//! JSON schema `scxray.tasks/1`: `{schema, machine{...as dump}, jiffies, truncated,
//! problems[string], caps_fired[{walk, limit, flag, value, basis}] (absent when empty),
//! scx_tasks{reported, skipped, truncated, broken}, tasks[task as in dump's tasks[]],
//! unreadable_tasks[{kva, pid, comm, error}]}`. Each task's `found_on` is `["scx_tasks"]`
//! (no other list is walked), and it has no `bpf_place` or `bpf_storage` (no BPF is read).

use super::caps::scx_tasks_cap;
use super::diagnose::{ScxFlagNames, TaskReports};
use super::schema::{
    CapFired, Hex, MachineFacts, ScxFlags, TaskRef, TaskReport, WalkEnd, describe_problem, hex,
};
use crate::target::Target;
use crate::walk::scx_tasks::{ScxTasksReads, read};
use crate::walk::{Place, Reading};
use scxray_core::Limits;
use serde::{Deserialize, Serialize};
use serde_json::ser::Formatter;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::sync::Arc;

/// The schema tag of the task list's JSON.
pub const TASKS_SCHEMA: &str = "scxray.tasks/1";

/// The tasks on `scx_tasks`, with their detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskList {
    /// [`TASKS_SCHEMA`].
    pub schema: String,
    /// Machine facts, as `dump` reports them.
    pub machine: MachineFacts,
    /// `jiffies` at the time of the dump (each task's `runnable_age_jiffies` is from it).
    pub jiffies: Option<u64>,
    /// Whether a cap cut the list.
    pub truncated: bool,
    /// What could not be done, in words: a cap that fired first, then what the walk could
    /// not read.
    pub problems: Vec<String>,
    /// The cap that cut the list (also in `problems`), absent when none did.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub caps_fired: Vec<CapFired>,
    /// How the walk of `scx_tasks` ended.
    pub scx_tasks: WalkEnd,
    /// Every task whose detail was read, in list order.
    pub tasks: Vec<TaskReport>,
    /// The tasks whose detail could not be read, in list order: address and why.
    pub unreadable_tasks: Vec<TaskRef>,
}

/// What a `scx_tasks` task was found on: the one list walked.
const ON_SCX_TASKS: [Place; 1] = [Place::ScxTasks];

impl TaskList {
    /// Walks `scx_tasks` of `target` under `limits` and builds the list.
    pub fn build(target: &Target, limits: Limits) -> Self {
        Self::from_reads(target, &read(target, limits))
    }

    /// The list of what one walk of `scx_tasks` read.
    pub fn from_reads(target: &Target, s: &ScxTasksReads) -> Self {
        let types = target.types();
        let mut reports = TaskReports::new(
            ScxFlagNames::new(&types.enum_constants("scx_ent_flags")),
            s.jiffies.get(),
            target.nr_cpus(),
        );
        let mut tasks = Vec::with_capacity(s.tasks.len());
        let mut unreadable_tasks = Vec::new();
        for t in &s.tasks {
            match &t.detail {
                Ok(d) => tasks.push(reports.report(d, &ON_SCX_TASKS)),
                Err(e) => unreadable_tasks.push(TaskRef::unreadable(t.kva, e)),
            }
        }
        let caps_fired: Vec<CapFired> = scx_tasks_cap(&s.walk).into_iter().collect();
        let mut problems: Vec<String> = caps_fired.iter().map(CapFired::describe).collect();
        problems.extend(s.problems.iter().map(describe_problem));
        if let Some(e) = &s.walk.broken {
            problems.push(format!(
                "scx_tasks: the walk broke after {} tasks: {e}; the tasks after it are not listed",
                s.walk.reported
            ));
        }
        if let Reading::Failed(e) = &s.jiffies {
            problems.push(format!("jiffies: {e}; no task's runnable age is known"));
        }
        if let Some(first) = unreadable_tasks.first() {
            problems.push(format!(
                "detail of {} tasks unreadable (the first, at {}: {})",
                unreadable_tasks.len(),
                first.kva,
                first.error.as_deref().unwrap_or("?")
            ));
        }
        let masks: Vec<_> = s
            .tasks
            .iter()
            .filter_map(|t| t.detail.as_ref().ok().and_then(|d| d.cpus_allowed.error()))
            .collect();
        if let Some(first) = masks.first() {
            problems
                .push(format!("allowed-CPU masks of {} tasks unreadable (the first: {first})", masks.len()));
        }
        Self {
            schema: TASKS_SCHEMA.into(),
            machine: MachineFacts {
                arch: target.arch().to_string(),
                release: target.release().map(str::to_owned),
                cpus: target.nr_cpus(),
                nodes: target.nr_nodes(),
                paging: target.paging().to_string(),
                kaslr_offset: hex(target.kaslr_offset()),
                memory: target.memory().describe(),
            },
            jiffies: s.jiffies.get(),
            truncated: s.walk.truncated,
            problems,
            caps_fired,
            scx_tasks: WalkEnd::from(&s.walk),
            tasks,
            unreadable_tasks,
        }
    }
}

/// Writes `l` as JSON to `w`: one top-level field a line and one task a line (each object
/// compact), so that line tools (`grep`, `head`, `wc -l`) work on it as well as JSON readers.
pub fn write_json<W: io::Write>(l: &TaskList, w: W) -> serde_json::Result<()> {
    let mut s = serde_json::Serializer::with_formatter(w, Lines { depth: 0, elements: false });
    l.serialize(&mut s)
}

/// serde_json's compact format with a line break before each field of the top-level object,
/// each element of an array in it, and that array's end.
struct Lines {
    /// Objects and arrays open.
    depth: usize,
    /// The top-level array open has elements.
    elements: bool,
}

impl Formatter for Lines {
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_add(1);
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        w.write_all(if self.depth == 0 { b"\n}" } else { b"}" })
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_add(1);
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        // A top-level array with elements closes on a line of its own.
        let top = self.depth == 2;
        let own_line = top && self.elements;
        self.depth = self.depth.saturating_sub(1);
        if top {
            self.elements = false;
        }
        w.write_all(if own_line { b"\n]" } else { b"]" })
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separate(w, first, 1)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if self.depth == 2 {
            self.elements = true;
        }
        self.separate(w, first, 2)
    }
}

impl Lines {
    /// The separator before an element: a comma after the first, a line break at `depth`.
    fn separate<W: ?Sized + io::Write>(&self, w: &mut W, first: bool, depth: usize) -> io::Result<()> {
        match (first, self.depth == depth) {
            (true, false) => Ok(()),
            (true, true) => w.write_all(b"\n"),
            (false, false) => w.write_all(b","),
            (false, true) => w.write_all(b",\n"),
        }
    }
}

/// One row of the text's table.
struct Row<'a> {
    kva: Hex,
    pid: Option<i32>,
    state: char,
    scx: &'a str,
    flags: &'a str,
    dsq: &'a str,
    age: Option<i64>,
    comm: &'a dyn std::fmt::Display,
}

/// `s` padded with spaces to `width` characters, on the left (`right`-aligned) or right.
fn pad(o: &mut String, s: &str, width: usize, right: bool) {
    let fill = width.saturating_sub(s.chars().count());
    if !right {
        o.push_str(s);
    }
    o.extend(std::iter::repeat_n(' ', fill));
    if right {
        o.push_str(s);
    }
}

/// The list as text: a line on the machine and the list, what cut the list short
/// (`TRUNCATED:`) and what could not be read (`PROBLEM:`), then one line per task in list
/// order, like `ps`: address, pid, state letter, the `scx.flags` state and flags, the DSQ the
/// task is on, its runnable age, comm. Tasks whose detail could not be read come last.
pub fn render(l: &TaskList) -> String {
    let mut o =
        String::with_capacity(l.tasks.len().saturating_add(l.unreadable_tasks.len()).saturating_mul(96));
    let m = &l.machine;
    let _ = writeln!(
        o,
        "Linux {} ({}), {} CPUs: {} tasks on scx_tasks{}, {} unreadable{}",
        m.release.as_deref().unwrap_or("(release unknown)"),
        m.arch,
        m.cpus,
        l.tasks.len().saturating_add(l.unreadable_tasks.len()),
        if l.truncated { " (truncated)" } else { "" },
        l.unreadable_tasks.len(),
        l.jiffies.map_or_else(String::new, |j| format!(", jiffies {j}"))
    );
    let caps: Vec<String> = l.caps_fired.iter().map(CapFired::describe).collect();
    for c in &caps {
        let _ = writeln!(o, "TRUNCATED: {c}");
    }
    for p in l.problems.iter().filter(|p| !caps.contains(p)) {
        let _ = writeln!(o, "PROBLEM: {p}");
    }
    // The flags of each distinct `scx.flags` joined once (the tasks share their decoding).
    let mut joined: HashMap<*const ScxFlags, String> = HashMap::new();
    for t in &l.tasks {
        let f = &t.scx_flags;
        joined
            .entry(Arc::as_ptr(f))
            .or_insert_with(|| if f.flags.is_empty() { "-".into() } else { f.flags.join("|") });
    }
    let errors: Vec<String> = l
        .unreadable_tasks
        .iter()
        .map(|t| format!("<unreadable: {}>", t.error.as_deref().unwrap_or("?")))
        .collect();
    let rows: Vec<Row<'_>> = l
        .tasks
        .iter()
        .map(|t| Row {
            kva: t.kva,
            pid: Some(t.pid),
            state: t.state.unwrap_or('?'),
            scx: t.scx_flags.state.as_deref().unwrap_or("?"),
            flags: joined.get(&Arc::as_ptr(&t.scx_flags)).map_or("?", String::as_str),
            dsq: t.dsq.as_deref().unwrap_or("-"),
            age: t.runnable_age_jiffies,
            comm: &t.comm,
        })
        .chain(l.unreadable_tasks.iter().zip(&errors).map(|(t, e)| Row {
            kva: t.kva,
            pid: None,
            state: '?',
            scx: "?",
            flags: "?",
            dsq: "?",
            age: None,
            comm: e,
        }))
        .collect();
    let digits = |v: i64| {
        let sign = usize::from(v < 0);
        sign.saturating_add(v.unsigned_abs().checked_ilog10().map_or(1, |d| d as usize + 1))
    };
    let pid_text = |r: &Row<'_>| r.pid.map_or(1, |p| digits(i64::from(p)));
    // `+12j`: sign, digits, `j`; `-` when unknown.
    let age_text = |r: &Row<'_>| r.age.map_or(1, |a| digits(a).saturating_add(if a < 0 { 1 } else { 2 }));
    let width =
        |head: &str, f: &dyn Fn(&Row<'_>) -> usize| rows.iter().map(f).max().unwrap_or(0).max(head.len());
    let pid = width("PID", &pid_text);
    let scx = width("SCX", &|r| r.scx.chars().count());
    let flags = width("FLAGS", &|r| r.flags.chars().count());
    let dsq = width("DSQ", &|r| r.dsq.chars().count());
    let age = width("AGE", &age_text);
    let line = |o: &mut String, kva: &str, p: &str, st: char, sx: &str, fl: &str, d: &str, a: &str| {
        pad(o, kva, 18, false);
        o.push(' ');
        pad(o, p, pid, true);
        o.push(' ');
        o.push(st);
        o.push(' ');
        pad(o, sx, scx, false);
        o.push(' ');
        pad(o, fl, flags, false);
        o.push(' ');
        pad(o, d, dsq, false);
        o.push(' ');
        pad(o, a, age, true);
        o.push(' ');
    };
    line(&mut o, "TASK", "PID", 'S', "SCX", "FLAGS", "DSQ", "AGE");
    o.push_str("COMM\n");
    let mut num = String::new();
    let mut kva = String::new();
    let mut age_s = String::new();
    for r in &rows {
        num.clear();
        kva.clear();
        age_s.clear();
        let _ = write!(kva, "{}", r.kva);
        match r.pid {
            Some(p) => {
                let _ = write!(num, "{p}");
            }
            None => num.push('?'),
        }
        match r.age {
            Some(a) => {
                let _ = write!(age_s, "{a:+}j");
            }
            None => age_s.push(if r.pid.is_some() { '-' } else { '?' }),
        }
        line(&mut o, &kva, &num, r.state, r.scx, r.flags, r.dsq, &age_s);
        let _ = writeln!(o, "{}", r.comm);
    }
    o
}
