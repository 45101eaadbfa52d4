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
use super::diagnose::TaskReports;
use super::schema::{CapFired, Hex, MachineFacts, ScxFlags, TaskRef, TaskReport, WalkEnd, describe_problem};
use crate::target::Target;
use crate::walk::scx_tasks::{ScxTasksReads, read};
use crate::walk::{Place, Reading};
use scxray_core::Limits;
use serde::{Deserialize, Serialize};
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
        let mut reports = TaskReports::of(target, s.jiffies.get());
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
        problems.extend(super::parts::walk_broke("scx_tasks", "tasks", &s.walk));
        if let Some(first) = s.first_repeated {
            problems.push(format!(
                "scx_tasks: {} entries named a task listed before them (the first: {first}): the list loops \
                 back; each task is listed once",
                s.repeated
            ));
        }
        if let Reading::Failed(e) = &s.jiffies {
            problems.push(format!("jiffies: {e}; no task's runnable age is known"));
        }
        problems.extend(super::unread::tasks_problem(&unreadable_tasks));
        problems.extend(super::unread::masks_problem(s.tasks.iter().map(|t| &t.detail)));
        Self {
            schema: TASKS_SCHEMA.into(),
            machine: MachineFacts::of(target),
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

/// Writes `l` as JSON to `w`: one top-level field a line and one element of a top-level array
/// a line (each compact, as serde_json writes it), so that line tools (`grep`, `head`, `wc -l`)
/// work on it as well as JSON readers. Each task is written field by field with its keys as
/// literals and what tasks share (decoded flags, CPU list, DSQ names, `found_on`) encoded once:
/// the same bytes serde_json gives, at a fraction of the cost (tested against it).
pub fn write_json<W: io::Write>(l: &TaskList, mut w: W) -> serde_json::Result<()> {
    let TaskList {
        schema,
        machine,
        jiffies,
        truncated,
        problems,
        caps_fired,
        scx_tasks,
        tasks,
        unreadable_tasks,
    } = l;
    let mut o: Vec<u8> = Vec::with_capacity(1 << 17);
    let field = |o: &mut Vec<u8>, first: bool, key: &[u8]| {
        o.extend_from_slice(if first { b"{\n\"" } else { b",\n\"" });
        o.extend_from_slice(key);
        o.extend_from_slice(b"\":");
    };
    field(&mut o, true, b"schema");
    serde_json::to_writer(&mut o, schema)?;
    field(&mut o, false, b"machine");
    serde_json::to_writer(&mut o, machine)?;
    field(&mut o, false, b"jiffies");
    serde_json::to_writer(&mut o, jiffies)?;
    field(&mut o, false, b"truncated");
    serde_json::to_writer(&mut o, truncated)?;
    field(&mut o, false, b"problems");
    lines(&mut o, &mut w, problems, |o, p| serde_json::to_writer(o, p))?;
    if !caps_fired.is_empty() {
        field(&mut o, false, b"caps_fired");
        lines(&mut o, &mut w, caps_fired, |o, c| serde_json::to_writer(o, c))?;
    }
    field(&mut o, false, b"scx_tasks");
    serde_json::to_writer(&mut o, scx_tasks)?;
    field(&mut o, false, b"tasks");
    let mut shared = Shared::default();
    lines(&mut o, &mut w, tasks, |o, t| write_task(o, t, &mut shared))?;
    field(&mut o, false, b"unreadable_tasks");
    lines(&mut o, &mut w, unreadable_tasks, |o, t| serde_json::to_writer(o, t))?;
    o.extend_from_slice(b"\n}");
    w.write_all(&o).map_err(serde_json::Error::io)
}

/// A JSON array with each element on a line of its own and its end on the next (`[]` when
/// empty); `o` is handed on to `w` whenever it holds 64 KiB or more.
fn lines<T, W: io::Write>(
    o: &mut Vec<u8>,
    w: &mut W,
    items: &[T],
    mut each: impl FnMut(&mut Vec<u8>, &T) -> serde_json::Result<()>,
) -> serde_json::Result<()> {
    o.push(b'[');
    for (i, item) in items.iter().enumerate() {
        o.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        each(o, item)?;
        if o.len() >= 1 << 16 {
            w.write_all(o).map_err(serde_json::Error::io)?;
            o.clear();
        }
    }
    o.extend_from_slice(if items.is_empty() { b"]" } else { b"\n]" });
    Ok(())
}

/// The JSON of values tasks share, by the address of their one allocation.
#[derive(Default)]
struct Shared {
    json: foldhash::HashMap<usize, Vec<u8>>,
    /// Scratch for a comm.
    comm: String,
}

impl Shared {
    /// The JSON of `v`, whose allocation is at `at`, appended to `o`.
    fn put<T: Serialize + ?Sized>(&mut self, o: &mut Vec<u8>, at: usize, v: &T) -> serde_json::Result<()> {
        let json = match self.json.entry(at) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(serde_json::to_vec(v)?),
        };
        o.extend_from_slice(json);
        Ok(())
    }

    /// An optional shared string.
    fn put_str(&mut self, o: &mut Vec<u8>, s: Option<&Arc<str>>) -> serde_json::Result<()> {
        match s {
            Some(s) => self.put(o, Arc::as_ptr(s).cast::<u8>() as usize, &**s),
            None => {
                o.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
}

/// The digits of `v` in `BASE` (10 or 16, lower case), written at the end of `buf`.
fn digits<const BASE: u64>(buf: &mut [u8; 20], v: u64) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut n = v;
    let mut at = buf.len();
    loop {
        at = at.saturating_sub(1);
        if let (Some(b), Some(&d)) = (buf.get_mut(at), DIGITS.get((n % BASE) as usize)) {
            *b = d;
        }
        n /= BASE;
        if n == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

/// `0x` and `v` in lower-case hex, quoted, as [`Hex`] serialises.
fn hex_json(o: &mut Vec<u8>, v: u64) {
    o.extend_from_slice(b"\"0x");
    o.extend_from_slice(digits::<16>(&mut [0; 20], v));
    o.push(b'"');
}

/// `s` as a JSON string: as is when nothing in it needs escaping, else as serde_json escapes it.
fn str_json(o: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        o.push(b'"');
        o.extend_from_slice(s.as_bytes());
        o.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(o, s)
    }
}

/// One task, as serde_json's compact encoding of [`TaskReport`] (every field in declaration
/// order; the BPF fields only when set).
fn write_task(o: &mut Vec<u8>, t: &TaskReport, shared: &mut Shared) -> serde_json::Result<()> {
    // Every field named: a field added to TaskReport does not compile here until written.
    let TaskReport {
        kva,
        pid,
        tgid,
        comm,
        state,
        scx_flags,
        dsq_kva,
        dsq_id,
        dsq,
        ops_state,
        ddsp_dsq,
        weight,
        sticky_cpu,
        holding_cpu,
        runnable_at,
        runnable_age_jiffies,
        slice,
        dsq_vtime,
        cpus_allowed,
        found_on,
        bpf_place,
        bpf_storage,
    } = t;
    let hex_opt = |o: &mut Vec<u8>, v: &Option<Hex>| match v {
        Some(h) => hex_json(o, h.0),
        None => o.extend_from_slice(b"null"),
    };
    o.extend_from_slice(b"{\"kva\":");
    hex_json(o, kva.0);
    o.extend_from_slice(b",\"pid\":");
    serde_json::to_writer(&mut *o, pid)?;
    o.extend_from_slice(b",\"tgid\":");
    serde_json::to_writer(&mut *o, tgid)?;
    o.extend_from_slice(b",\"comm\":");
    shared.comm.clear();
    let _ = write!(shared.comm, "{comm}");
    str_json(o, &shared.comm)?;
    o.extend_from_slice(b",\"state\":");
    serde_json::to_writer(&mut *o, state)?;
    o.extend_from_slice(b",\"scx_flags\":");
    shared.put(o, Arc::as_ptr(scx_flags) as usize, &**scx_flags)?;
    o.extend_from_slice(b",\"dsq_kva\":");
    hex_opt(o, dsq_kva);
    o.extend_from_slice(b",\"dsq_id\":");
    hex_opt(o, dsq_id);
    o.extend_from_slice(b",\"dsq\":");
    shared.put_str(o, dsq.as_ref())?;
    o.extend_from_slice(b",\"ops_state\":");
    serde_json::to_writer(&mut *o, ops_state)?;
    o.extend_from_slice(b",\"ddsp_dsq\":");
    shared.put_str(o, ddsp_dsq.as_ref())?;
    o.extend_from_slice(b",\"weight\":");
    serde_json::to_writer(&mut *o, weight)?;
    o.extend_from_slice(b",\"sticky_cpu\":");
    serde_json::to_writer(&mut *o, sticky_cpu)?;
    o.extend_from_slice(b",\"holding_cpu\":");
    serde_json::to_writer(&mut *o, holding_cpu)?;
    o.extend_from_slice(b",\"runnable_at\":");
    serde_json::to_writer(&mut *o, runnable_at)?;
    o.extend_from_slice(b",\"runnable_age_jiffies\":");
    serde_json::to_writer(&mut *o, runnable_age_jiffies)?;
    o.extend_from_slice(b",\"slice\":");
    serde_json::to_writer(&mut *o, slice)?;
    o.extend_from_slice(b",\"dsq_vtime\":");
    serde_json::to_writer(&mut *o, dsq_vtime)?;
    o.extend_from_slice(b",\"cpus_allowed\":");
    shared.put_str(o, cpus_allowed.as_ref())?;
    o.extend_from_slice(b",\"found_on\":");
    shared.put(o, Arc::as_ptr(found_on).cast::<u8>() as usize, &**found_on)?;
    if let Some(p) = bpf_place {
        o.extend_from_slice(b",\"bpf_place\":");
        str_json(o, p)?;
    }
    if !bpf_storage.is_empty() {
        o.extend_from_slice(b",\"bpf_storage\":");
        serde_json::to_writer(&mut *o, bpf_storage)?;
    }
    o.push(b'}');
    Ok(())
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

/// `n` spaces.
fn spaces(o: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        o.push_str(SPACES.get(..k).unwrap_or_default());
        left -= k;
    }
}

/// `s` padded with spaces to `width` characters, on the left (`right`-aligned) or right.
fn pad(o: &mut String, s: &str, width: usize, right: bool) {
    let fill = width.saturating_sub(s.chars().count());
    if !right {
        o.push_str(s);
    }
    spaces(o, fill);
    if right {
        o.push_str(s);
    }
}

/// ASCII digits as text.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("?")
}

/// A signed number as text (`-` and digits; `+` first too when `plus`) into `buf`.
fn signed(buf: &mut [u8; 21], v: i64, plus: bool) -> &str {
    let mut d = [0u8; 20];
    let body = digits::<10>(&mut d, v.unsigned_abs());
    let sign: &[u8] = match (v < 0, plus) {
        (true, _) => b"-",
        (false, true) => b"+",
        (false, false) => b"",
    };
    let len = sign.len().saturating_add(body.len()).min(buf.len());
    let (head, tail) = buf.split_at_mut(sign.len().min(len));
    head.copy_from_slice(sign.get(..head.len()).unwrap_or_default());
    if let Some(t) = tail.get_mut(..len.saturating_sub(head.len())) {
        t.copy_from_slice(body.get(..t.len()).unwrap_or_default());
    }
    ascii(buf.get(..len).unwrap_or_default())
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
            // `-`: on no DSQ; `?`: on one whose id could not be read.
            dsq: t.dsq.as_deref().unwrap_or(if t.dsq_kva.is_some() { "?" } else { "-" }),
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
    let width_of = |v: i64| {
        let sign = usize::from(v < 0);
        sign.saturating_add(v.unsigned_abs().checked_ilog10().map_or(1, |d| d as usize + 1))
    };
    let pid_text = |r: &Row<'_>| r.pid.map_or(1, |p| width_of(i64::from(p)));
    // `+12j`: sign, digits, `j`; `-` when unknown.
    let age_text = |r: &Row<'_>| r.age.map_or(1, |a| width_of(a).saturating_add(if a < 0 { 1 } else { 2 }));
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
    for r in &rows {
        let mut hex = [0u8; 20];
        let kva = digits::<16>(&mut hex, r.kva.0);
        o.push_str("0x");
        o.push_str(ascii(kva));
        spaces(&mut o, 16usize.saturating_sub(kva.len()));
        o.push(' ');
        let mut num = [0u8; 21];
        pad(&mut o, r.pid.map_or("?", |p| signed(&mut num, i64::from(p), false)), pid, true);
        o.push(' ');
        o.push(r.state);
        o.push(' ');
        pad(&mut o, r.scx, scx, false);
        o.push(' ');
        pad(&mut o, r.flags, flags, false);
        o.push(' ');
        pad(&mut o, r.dsq, dsq, false);
        o.push(' ');
        let unknown = if r.pid.is_some() { "-" } else { "?" };
        let mut num = [0u8; 21];
        let a = r.age.map(|a| signed(&mut num, a, true));
        let a_len = a.map_or(1, |a| a.len().saturating_add(1));
        spaces(&mut o, age.saturating_sub(a_len));
        match a {
            Some(a) => {
                o.push_str(a);
                o.push('j');
            }
            None => o.push_str(unknown),
        }
        o.push(' ');
        let _ = writeln!(o, "{}", r.comm);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::bpf::BpfStorage;
    use crate::report::schema::TaskComm;
    use scxray_core::Limit;
    use serde_json::ser::Formatter;

    /// The reference: serde_json's compact format with a line break before each top-level
    /// field, each element of a top-level array and that array's end.
    struct Lines {
        depth: usize,
        elements: bool,
    }

    impl Formatter for Lines {
        fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.depth += 1;
            w.write_all(b"{")
        }
        fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.depth -= 1;
            w.write_all(if self.depth == 0 { b"\n}" } else { b"}" })
        }
        fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.depth += 1;
            w.write_all(b"[")
        }
        fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            let top = self.depth == 2;
            let own_line = top && self.elements;
            self.depth -= 1;
            if top {
                self.elements = false;
            }
            w.write_all(if own_line { b"\n]" } else { b"]" })
        }
        fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
            let sep: &[u8] = if self.depth == 1 { b"\n" } else { b"" };
            w.write_all(if first { b"" } else { b"," })?;
            w.write_all(sep)
        }
        fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
            if self.depth == 2 {
                self.elements = true;
            }
            let sep: &[u8] = if self.depth == 2 { b"\n" } else { b"" };
            w.write_all(if first { b"" } else { b"," })?;
            w.write_all(sep)
        }
    }

    fn reference(l: &TaskList) -> String {
        let mut out = Vec::new();
        l.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            Lines { depth: 0, elements: false },
        ))
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn ours(l: &TaskList) -> String {
        let mut out = Vec::new();
        write_json(l, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn task(pid: i32, comm: &str, flags: &Arc<ScxFlags>, places: &Arc<[Arc<str>]>) -> TaskReport {
        let local: Arc<str> = "LOCAL".into();
        TaskReport {
            kva: Hex(0xffff_8880_0000_0000 + u64::try_from(pid).unwrap() * 0x4000),
            pid,
            tgid: Some(pid),
            comm: TaskComm::Text(comm.into()),
            state: Some('R'),
            scx_flags: flags.clone(),
            dsq_kva: Some(Hex(0xffff_8880_0400_0000)),
            dsq_id: Some(Hex(0x8000_0000_0000_0002)),
            dsq: Some(local.clone()),
            ops_state: Some(0),
            ddsp_dsq: Some(local),
            weight: Some(100),
            sticky_cpu: Some(-1),
            holding_cpu: Some(-1),
            runnable_at: Some(4_294_919_304),
            runnable_age_jiffies: Some(-59),
            slice: Some(20_000_000),
            dsq_vtime: Some(u64::MAX),
            cpus_allowed: Some("0-3".into()),
            found_on: places.clone(),
            bpf_place: None,
            bpf_storage: Vec::new(),
        }
    }

    /// The task writer gives serde_json's bytes: shared and unshared values, absent ones,
    /// names that need escaping, the BPF fields when set, and the list's other fields.
    #[test]
    fn the_json_written_is_serde_json_s_to_the_byte() {
        let flags = Arc::new(ScxFlags {
            raw: "0x403".into(),
            flags: vec!["QUEUED".into(), "IN_CUSTODY".into()],
            state: Some("ENABLED".into()),
            reenq_reason: Some("NONE".into()),
        });
        let places: Arc<[Arc<str>]> = vec![Arc::<str>::from("scx_tasks")].into();
        let mut bare = task(0, "swapper/0", &flags, &places);
        bare.tgid = None;
        bare.state = None;
        bare.dsq_kva = None;
        bare.dsq_id = None;
        bare.dsq = None;
        bare.ops_state = None;
        bare.ddsp_dsq = None;
        bare.weight = None;
        bare.runnable_age_jiffies = None;
        bare.cpus_allowed = None;
        bare.kva = Hex(0);
        let mut bpf = task(7, "qmap", &flags, &places);
        bpf.bpf_place = Some("qa.fifos[2] (#0)".into());
        bpf.bpf_storage = vec![BpfStorage { map: "task_ctx".into(), value: "{force_local=0}".into() }];
        let tasks = vec![
            task(1, "init", &flags, &places),
            task(2, "quote\"back\\slash\u{1}tab\t", &flags, &places),
            task(3, "kwork\u{fffd}é", &flags, &places),
            task(4, "say \"hi\"", &flags, &places),
            task(5, "back\\slash", &flags, &places),
            bare,
            bpf,
        ];
        let machine = MachineFacts {
            arch: "x86_64".into(),
            release: Some("7.3.4".into()),
            cpus: 4,
            nodes: 1,
            paging: "x86_64 4-level".into(),
            kaslr_offset: "0x0".into(),
            memory: "ELF core".into(),
        };
        let cap = CapFired {
            walk: "scx_tasks".into(),
            limit: Limit::ListNodes,
            flag: Some("--max-list-nodes".into()),
            value: 5,
            basis: "a fixed cap".into(),
        };
        let full = TaskList {
            schema: TASKS_SCHEMA.into(),
            machine: machine.clone(),
            jiffies: Some(10_000),
            truncated: true,
            problems: vec![cap.describe(), "jiffies: \"x\"".into()],
            caps_fired: vec![cap],
            scx_tasks: WalkEnd { reported: 7, skipped: 1, truncated: true, broken: None },
            tasks,
            unreadable_tasks: vec![TaskRef {
                kva: Hex(0x1000),
                pid: None,
                comm: None,
                error: Some("cannot read".into()),
            }],
        };
        let json = ours(&full);
        assert_eq!(json, reference(&full));
        assert_eq!(json.lines().filter(|l| l.starts_with("{\"kva\":\"0xffff")).count(), 6, "{json}");
        assert!(json.contains(r#""comm":"quote\"back\\slash\u0001tab\t""#), "{json}");
        let back: TaskList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, full);

        let empty = TaskList {
            schema: TASKS_SCHEMA.into(),
            machine,
            jiffies: None,
            truncated: false,
            problems: Vec::new(),
            caps_fired: Vec::new(),
            scx_tasks: WalkEnd::default(),
            tasks: Vec::new(),
            unreadable_tasks: Vec::new(),
        };
        let json = ours(&empty);
        assert_eq!(json, reference(&empty));
        assert!(json.contains("\n\"tasks\":[],\n") && json.ends_with("\"unreadable_tasks\":[]\n}"), "{json}");
    }
}
