//! `cargo xtask lab drgn [--runs N] [--core PATH]`: scxray against drgn on the big guest's dump
//! (issue 16). drgn (PyPI, in a private venv under the cache) opens the ELF core with the
//! kernel's `-dbg` vmlinux and runs `drgn_scx_tasks.py`, which walks sched_ext's `scx_tasks` and
//! prints each task's address, pid, `scx.flags` and comm. scxray runs the like-for-like
//! command, `scxray tasks --format json` (`scx_tasks` walked, each task's detail read: more
//! fields than the script prints, no other walk), and its whole JSON report of the same core
//! (`scxray dump --format json`: every CPU, DSQ and task and the BPF half, far more than the
//! drgn script reads). Both must list the same tasks as drgn with the same pid, flags and comm,
//! else the lane fails.
//!
//! Timing is paired, whole processes from start to exit: each round runs `scxray tasks`,
//! `scxray dump`, drgn's walk, drgn stopped before any lookup (`open`: the interpreter, drgn,
//! the core, and the vmlinux's DWARF loaded and indexed, which drgn does as it loads it) and
//! the same without the vmlinux (`bare`), in an order that turns from round to round; the
//! ratios drgn / `scxray tasks` and drgn / `scxray dump` are taken round by round and their
//! medians printed, of wall time and of CPU time. The lane fails when the median wall ratio of
//! `scxray tasks` (the like-for-like run) is below [`TARGET_RATIO`]; the full report's ratio
//! is printed, not gated. Opt-in, not in `test-all`: the `-dbg` package is ~350 MB.

use super::check::Truth;
use super::scxray::build_scxray;
use crate::lab::host::dirs::{cache_dir, dumps_dir, scratch_dir};
use crate::lab::host::system;
use crate::lab::kernels::debian::{dbg_vmlinux, fetch_debug};
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::spec::spec;
use crate::util::workspace_root;
use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The drgn the comparison installs (PyPI), pinned so that a figure names what it measured.
const DRGN_VERSION: &str = "0.3.0";
/// Issue 16's goal: scxray end to end at least this many times faster than drgn's walk.
const TARGET_RATIO: f64 = 50.0;
/// The lab case whose dump is compared, and its kernel.
const CASE: &str = "lab-7.3-amd64-big";
const KERNEL: &str = "7.3-amd64";

/// One task as a side listed it: (address of its task_struct, pid, `scx.flags`, comm).
type Listed = (u64, i64, u64, String);

/// The five commands of a round, in the order of the table.
#[derive(Clone, Copy, PartialEq)]
enum Run {
    /// `scxray tasks --format json`: what the drgn script does, and the run the gate applies to.
    ScxrayTasks,
    /// `scxray dump --format json`: the full report.
    ScxrayDump,
    DrgnWalk,
    DrgnOpen,
    DrgnBare,
}

const RUNS: [Run; 5] = [Run::ScxrayTasks, Run::ScxrayDump, Run::DrgnWalk, Run::DrgnOpen, Run::DrgnBare];

/// What one run cost: wall and CPU (user + system) milliseconds.
#[derive(Clone, Copy, Default)]
struct Cost {
    wall: f64,
    cpu: f64,
}

/// Entry point.
pub fn run(args: &[String]) -> Result<(), String> {
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let rounds: usize =
        value("--runs").map_or(Ok(5), |v| v.parse().map_err(|_| format!("--runs {v}: not a number")))?;
    if rounds == 0 {
        return Err("--runs 0: at least one round".into());
    }
    let core = value("--core").map_or_else(|| dumps_dir().join(format!("{CASE}.core")), PathBuf::from);
    if !core.is_file() {
        return Err(format!(
            "no dump {} (make it with `cargo xtask lab --only {CASE}`, or give --core PATH)",
            core.display()
        ));
    }
    let scxray = build_scxray()?;
    let kernel = fetch_debug(&prepare(spec(KERNEL)?)?, true)?;
    let vmlinux = dbg_vmlinux(&kernel);
    // The vmlinux must be the dumped kernel's: the guest's truth names its release.
    let truth_path = core.with_extension("truth.txt");
    if let Ok(text) = std::fs::read_to_string(&truth_path) {
        let release = Truth::parse(&text).release;
        if release != kernel.release {
            return Err(format!(
                "{} is of {release}, the -dbg vmlinux of {}",
                core.display(),
                kernel.release
            ));
        }
    }
    let drgn = ensure_drgn()?;
    let script = workspace_root().join("xtask/src/lab/runs/drgn_scx_tasks.py");
    let dir = scratch_dir("drgn");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = |r: Run| {
        dir.join(match r {
            Run::ScxrayTasks => "scxray-tasks.json",
            Run::ScxrayDump => "scxray.json",
            Run::DrgnWalk => "drgn-walk.txt",
            Run::DrgnOpen => "drgn-open.txt",
            Run::DrgnBare => "drgn-bare.txt",
        })
    };
    let command = |r: Run| {
        let mut c = match r {
            Run::ScxrayTasks | Run::ScxrayDump => {
                let mut c = Command::new(&scxray);
                c.arg(if r == Run::ScxrayTasks { "tasks" } else { "dump" });
                c.args(["--format", "json"]).arg(&core);
                c
            }
            Run::DrgnBare => {
                let mut c = Command::new(&drgn);
                c.args(["-q", "--no-default-symbols", "-c"]).arg(&core).arg(&script).arg("open");
                c
            }
            Run::DrgnWalk | Run::DrgnOpen => {
                let mut c = Command::new(&drgn);
                // The vmlinux given is all drgn needs (sched_ext is built in): no module search.
                c.args(["-q", "--main-symbols", "-c"]).arg(&core).arg("-s").arg(&vmlinux).arg(&script);
                if r == Run::DrgnOpen {
                    c.arg("open");
                }
                c
            }
        };
        // Nothing is fetched while timed.
        c.stdin(Stdio::null()).env("DEBUGINFOD_URLS", "");
        c
    };

    let load_before = loadavg();
    eprintln!(
        "xtask: ==> scxray vs drgn {DRGN_VERSION} on {}: 1 warm-up round, then {rounds} paired rounds",
        core.display()
    );
    // The warm-up round reads the core and the vmlinux into the page cache for both sides.
    for r in RUNS {
        timed(command(r), &out(r))?;
    }
    let tasks = agree_all(&out)?;
    // What each of [`RUNS`] cost, round by round.
    let mut costs: [Vec<Cost>; RUNS.len()] = Default::default();
    for round in 0..rounds {
        for k in 0..RUNS.len() {
            let i = (round + k) % RUNS.len();
            costs[i].push(timed(command(RUNS[i]), &out(RUNS[i]))?);
        }
    }
    agree_all(&out)?;
    let load_after = loadavg();

    let of = |r: Run| &costs[r as usize];
    let (tasks_run, dump) = (of(Run::ScxrayTasks), of(Run::ScxrayDump));
    let (walk, open, bare) = (of(Run::DrgnWalk), of(Run::DrgnOpen), of(Run::DrgnBare));
    // One figure of each round: `f(i)`.
    let each = |f: &dyn Fn(usize) -> f64| (0..rounds).map(f).collect::<Vec<f64>>();
    let row = |what: &str, wall: &dyn Fn(usize) -> f64, cpu: &dyn Fn(usize) -> f64| {
        let (lo, med, hi) = spread(&each(wall));
        let (_, cpu_med, _) = spread(&each(cpu));
        println!("| {what} | {med:.0} ms | {lo:.0} - {hi:.0} ms | {cpu_med:.0} ms |");
    };
    println!("\nscxray vs drgn {DRGN_VERSION}: {tasks} tasks on scx_tasks, {rounds} paired rounds");
    println!("core {}\nvmlinux {}", core.display(), vmlinux.display());
    println!("load average (1 min): {load_before} before, {load_after} after\n");
    println!("| whole process | wall, median | wall, min - max | CPU, median |");
    println!("|---|---:|---:|---:|");
    row("scxray tasks --format json (scx_tasks, each task's detail)", &|i| tasks_run[i].wall, &|i| {
        tasks_run[i].cpu
    });
    row("scxray dump --format json (the full report)", &|i| dump[i].wall, &|i| dump[i].cpu);
    row("drgn: scx_tasks walked, pid, scx.flags, comm of each", &|i| walk[i].wall, &|i| walk[i].cpu);
    row("drgn: started only (python, drgn, core; no vmlinux)", &|i| bare[i].wall, &|i| bare[i].cpu);
    row(
        "drgn: the vmlinux's DWARF loaded and indexed (open - bare)",
        &|i| open[i].wall - bare[i].wall,
        &|i| open[i].cpu - bare[i].cpu,
    );
    row("drgn: the walk itself (walk - open)", &|i| walk[i].wall - open[i].wall, &|i| {
        walk[i].cpu - open[i].cpu
    });
    // drgn's walk over one scxray run, round by round: the median wall ratio.
    let ratios = |what: &str, sc: &[Cost]| {
        let (lo, med, hi) = spread(&each(&|i| walk[i].wall / sc[i].wall));
        let (cpu_lo, cpu_med, cpu_hi) = spread(&each(&|i| walk[i].cpu / sc[i].cpu.max(CPU_TICK_MS)));
        println!(
            "ratio: drgn's walk / {what}, per round, wall: median {med:.1}x (min {lo:.1}x, max {hi:.1}x); \
             CPU: median {cpu_med:.1}x (min {cpu_lo:.1}x, max {cpu_hi:.1}x)"
        );
        med
    };
    println!();
    let med = ratios("scxray tasks", tasks_run);
    ratios("scxray dump (not gated)", dump);
    if med >= TARGET_RATIO {
        println!("target: scxray tasks at least {TARGET_RATIO:.0}x faster than drgn end to end (wall): met");
        Ok(())
    } else {
        Err(format!(
            "scxray tasks is {med:.1}x faster than drgn end to end (wall), below the target of {TARGET_RATIO:.0}x"
        ))
    }
}

/// The drgn of the private venv (`<cache>/drgn-venv`), installed there when missing.
fn ensure_drgn() -> Result<PathBuf, String> {
    let venv = cache_dir().join("drgn-venv");
    let drgn = venv.join("bin").join("drgn");
    let wanted = format!("drgn {DRGN_VERSION} ");
    if system::tool_version(&drgn.to_string_lossy()).starts_with(&wanted) {
        return Ok(drgn);
    }
    let pip = venv.join("bin").join("pip");
    if !pip.is_file() {
        eprintln!("xtask: ==> python3 -m venv {}", venv.display());
        system::ensure_host_tool("python3", "python3")?;
        let make =
            || Command::new("python3").arg("-m").arg("venv").arg(&venv).status().is_ok_and(|s| s.success());
        // Debian's python3 makes venvs only with python3-venv installed.
        if !(make() || (system::install(&["python3-venv"]) && make())) {
            return Err(format!("python3 -m venv {} failed (python3-venv?)", venv.display()));
        }
    }
    eprintln!("xtask: ==> pip install drgn=={DRGN_VERSION} into {}", venv.display());
    let ok = Command::new(&pip)
        .args(["install", "--quiet", &format!("drgn=={DRGN_VERSION}")])
        .status()
        .is_ok_and(|s| s.success());
    let got = system::tool_version(&drgn.to_string_lossy());
    if ok && got.starts_with(&wanted) {
        Ok(drgn)
    } else {
        Err(format!(
            "pip install drgn=={DRGN_VERSION} into {} failed (drgn --version: {got})",
            venv.display()
        ))
    }
}

/// Runs `cmd` with its standard output to `out`, its errors kept in `out` + `.err`; its wall
/// time from start to exit and its CPU time. A failed run is an error quoting its errors.
fn timed(mut cmd: Command, out: &Path) -> Result<Cost, String> {
    let err = out.with_extension("err");
    let file = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    cmd.stdout(file(out)?).stderr(file(&err)?);
    let cpu_before = children_cpu_ms()?;
    let start = Instant::now();
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let wall = start.elapsed().as_secs_f64() * 1000.0;
    let cpu = children_cpu_ms()? - cpu_before;
    if status.success() {
        Ok(Cost { wall, cpu })
    } else {
        let why = std::fs::read_to_string(&err).unwrap_or_default();
        Err(format!("{cmd:?} failed ({status}): {}", why.trim()))
    }
}

/// Checks that both scxray outputs (`tasks` and `dump`, files by [`Run`]) list the same tasks
/// as drgn's walk; their number.
fn agree_all(out: &dyn Fn(Run) -> PathBuf) -> Result<usize, String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let drgn = out(Run::DrgnWalk);
    let drgn_lines = read(&drgn)?;
    let mut n = 0;
    for (run, parse) in [
        (Run::ScxrayTasks, scxray_task_list as fn(&str) -> _),
        (Run::ScxrayDump, scxray_tasks as fn(&str) -> _),
    ] {
        let ours = out(run);
        n = agree(parse, &read(&ours)?, &drgn_lines)
            .map_err(|e| format!("{} vs {}: {e}", ours.display(), drgn.display()))?;
    }
    Ok(n)
}

/// Checks that scxray's output (read by `parse`: [`scxray_task_list`] or [`scxray_tasks`]) and
/// drgn's lines list the same tasks with the same pid, flags and comm; their number.
fn agree(
    parse: fn(&str) -> Result<Vec<Listed>, String>,
    scxray_json: &str,
    drgn_lines: &str,
) -> Result<usize, String> {
    let ours = parse(scxray_json).map_err(|e| format!("scxray: {e}"))?;
    let theirs = drgn_tasks(drgn_lines).map_err(|e| format!("drgn: {e}"))?;
    if ours.is_empty() {
        return Err("scxray: no task on scx_tasks".into());
    }
    if ours == theirs {
        return Ok(ours.len());
    }
    let only =
        |a: &[Listed], b: &[Listed]| a.iter().filter(|t| !b.contains(t)).take(5).cloned().collect::<Vec<_>>();
    Err(format!(
        "scxray lists {} tasks on scx_tasks, drgn {}: only scxray's {:?}, only drgn's {:?} (first 5 of each)",
        ours.len(),
        theirs.len(),
        only(&ours, &theirs),
        only(&theirs, &ours)
    ))
}

/// A task entry of `dump`'s `tasks[]` (and of `tasks`', the same fields) as the lane compares it.
fn listed(t: &Value) -> Result<Listed, String> {
    let hex = |v: &Value| v.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
    Ok((
        hex(&t["kva"]).ok_or_else(|| format!("task without kva: {t}"))?,
        t["pid"].as_i64().ok_or_else(|| format!("task without pid: {t}"))?,
        hex(&t["scx_flags"]["raw"]).ok_or_else(|| format!("task without scx_flags.raw: {t}"))?,
        t["comm"].as_str().ok_or_else(|| format!("task without comm: {t}"))?.to_owned(),
    ))
}

/// The tasks of `scxray tasks --format json` (schema `scxray.tasks/1`), sorted: every one the
/// walk reported must have its detail (an unreadable one is an error), and nothing truncated.
fn scxray_task_list(json: &str) -> Result<Vec<Listed>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    if v["schema"] != "scxray.tasks/1" {
        return Err(format!("schema {}, not scxray.tasks/1", v["schema"]));
    }
    if v["truncated"] != false {
        return Err(format!("the list is truncated: {}", v["problems"]));
    }
    let unreadable = v["unreadable_tasks"].as_array().ok_or("no unreadable_tasks")?;
    if let Some(first) = unreadable.first() {
        return Err(format!("{} tasks unreadable, the first: {first}", unreadable.len()));
    }
    let mut out =
        v["tasks"].as_array().ok_or("no tasks")?.iter().map(listed).collect::<Result<Vec<_>, _>>()?;
    let reported = v["scx_tasks"]["reported"].as_u64().ok_or("no scx_tasks.reported")?;
    if u64::try_from(out.len()).ok() != Some(reported) {
        return Err(format!("{} tasks listed, the walk reported {reported}", out.len()));
    }
    out.sort();
    Ok(out)
}

/// The tasks of scxray's JSON report found on `scx_tasks`, sorted.
fn scxray_tasks(json: &str) -> Result<Vec<Listed>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let on_list = v["scx_tasks"]["tasks"].as_array().ok_or("no scx_tasks.tasks")?.len();
    let mut out = Vec::new();
    for t in v["tasks"].as_array().ok_or("no tasks")? {
        if t["found_on"].as_array().is_some_and(|f| f.iter().any(|w| w == "scx_tasks")) {
            out.push(listed(t)?);
        }
    }
    if out.len() != on_list {
        return Err(format!("{} tasks found on scx_tasks, {on_list} in scx_tasks.tasks", out.len()));
    }
    out.sort();
    Ok(out)
}

/// drgn_scx_tasks.py's lines (`kva pid flags comm`, then `count N`), sorted.
fn drgn_tasks(text: &str) -> Result<Vec<Listed>, String> {
    let mut out = Vec::new();
    let mut count = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("count ") {
            count = Some(n.parse::<usize>().map_err(|_| format!("bad count line {line:?}"))?);
            continue;
        }
        let mut f = line.splitn(4, ' ');
        let hex = |s: Option<&str>| s.and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
        let kva = hex(f.next());
        let pid = f.next().and_then(|s| s.parse().ok());
        let flags = hex(f.next());
        match (kva, pid, flags, f.next()) {
            (Some(k), Some(p), Some(fl), Some(c)) => out.push((k, p, fl, c.to_owned())),
            _ => return Err(format!("bad line {line:?}")),
        }
    }
    match count {
        Some(n) if n == out.len() => {}
        Some(n) => return Err(format!("{} lines, count {n}", out.len())),
        None => return Err("no count line: the walk did not finish".into()),
    }
    out.sort();
    Ok(out)
}

/// Milliseconds of one tick of the kernel's process accounting (`USER_HZ`, 100 on Linux).
const CPU_TICK_MS: f64 = 10.0;

/// The CPU time (user + system) of this process's reaped children so far, in milliseconds:
/// `cutime` and `cstime` of `/proc/self/stat`, in ticks of [`CPU_TICK_MS`].
fn children_cpu_ms() -> Result<f64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("/proc/self/stat: {e}"))?;
    // The fields after the command name's closing parenthesis start at field 3 (`state`):
    // cutime and cstime, fields 16 and 17, are the 14th and 15th of them.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest.split_whitespace().skip(13).take(2).filter_map(|f| f.parse().ok()).collect();
    match ticks[..] {
        [user, system] => Ok((user + system) * CPU_TICK_MS),
        _ => Err(format!("/proc/self/stat: no cutime and cstime in {stat:?}")),
    }
}

/// (min, median, max) of `v` (not empty).
fn spread(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let med = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
    (s[0], med, s[n - 1])
}

/// The machine's 1-minute load average (`?` when unreadable).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tasks on `scx_tasks` and one found elsewhere only, as `scxray dump --format json`
    /// writes them (the fields the lane reads).
    const REPORT: &str = r#"{
        "scx_tasks": {"tasks": [{"kva": "0xff00", "pid": 1, "comm": "init"},
                                {"kva": "0xff80", "pid": 0, "comm": "swapper/1"}]},
        "tasks": [
            {"kva": "0xff00", "pid": 1, "comm": "init", "scx_flags": {"raw": "0x403"}, "found_on": ["scx_tasks"]},
            {"kva": "0xff80", "pid": 0, "comm": "swapper/1", "scx_flags": {"raw": "0x4"},
             "found_on": ["curr cpu 1", "scx_tasks"]},
            {"kva": "0xffc0", "pid": 9, "comm": "gone", "scx_flags": {"raw": "0x1"}, "found_on": ["curr cpu 0"]}
        ]
    }"#;

    /// The same two tasks as `scxray tasks --format json` writes them.
    const LIST: &str = r#"{
"schema":"scxray.tasks/1",
"truncated":false,
"problems":[],
"scx_tasks":{"reported":2,"skipped":0,"truncated":false,"broken":null},
"tasks":[
{"kva":"0xff00","pid":1,"comm":"init","scx_flags":{"raw":"0x403"},"found_on":["scx_tasks"]},
{"kva":"0xff80","pid":0,"comm":"swapper/1","scx_flags":{"raw":"0x4"},"found_on":["scx_tasks"]}
],
"unreadable_tasks":[]
}"#;

    #[test]
    fn a_task_list_cut_short_or_with_an_unreadable_task_is_an_error() {
        let truncated = LIST
            .replace(r#""truncated":false"#, r#""truncated":true"#)
            .replace(r#""problems":[]"#, r#""problems":["cut"]"#);
        assert_eq!(scxray_task_list(&truncated), Err(r#"the list is truncated: ["cut"]"#.into()));
        let unreadable = LIST.replace(r#""unreadable_tasks":[]"#, r#""unreadable_tasks":[{"kva":"0xffc0"}]"#);
        assert_eq!(
            scxray_task_list(&unreadable),
            Err(r#"1 tasks unreadable, the first: {"kva":"0xffc0"}"#.into())
        );
        let short = LIST.replace(r#""reported":2"#, r#""reported":3"#);
        assert_eq!(scxray_task_list(&short), Err("2 tasks listed, the walk reported 3".into()));
        let dump = LIST.replace("scxray.tasks/1", "scxray.dump/2");
        assert_eq!(scxray_task_list(&dump), Err(r#"schema "scxray.dump/2", not scxray.tasks/1"#.into()));
    }

    #[test]
    fn the_same_tasks_in_any_order_agree() {
        let drgn = "0xff80 0 0x4 swapper/1\n0xff00 1 0x403 init\ncount 2\n";
        assert_eq!(agree(scxray_tasks, REPORT, drgn), Ok(2));
        assert_eq!(agree(scxray_task_list, LIST, drgn), Ok(2));
    }

    #[test]
    fn a_comm_with_spaces_is_read_whole() {
        let drgn = "0xff00 1 0x403 kworker/u8:0 a b\ncount 1\n";
        assert_eq!(drgn_tasks(drgn), Ok(vec![(0xff00, 1, 0x403, "kworker/u8:0 a b".to_owned())]));
    }

    #[test]
    fn a_different_pid_flag_or_task_disagrees() {
        for drgn in [
            // pid
            "0xff80 0 0x4 swapper/1\n0xff00 2 0x403 init\ncount 2\n",
            // scx.flags
            "0xff80 0 0x4 swapper/1\n0xff00 1 0x401 init\ncount 2\n",
            // a task missing
            "0xff00 1 0x403 init\ncount 1\n",
            // a task more: the one scxray found only on a CPU
            "0xff80 0 0x4 swapper/1\n0xff00 1 0x403 init\n0xffc0 9 0x1 gone\ncount 3\n",
        ] {
            let e = agree(scxray_tasks, REPORT, drgn).expect_err(drgn);
            assert!(e.starts_with("scxray lists 2 tasks on scx_tasks"), "{e}");
            let e = agree(scxray_task_list, LIST, drgn).expect_err(drgn);
            assert!(e.starts_with("scxray lists 2 tasks on scx_tasks"), "{e}");
        }
    }

    #[test]
    fn a_walk_drgn_did_not_finish_is_an_error() {
        assert_eq!(drgn_tasks("0xff00 1 0x403 init\n"), Err("no count line: the walk did not finish".into()));
        assert_eq!(drgn_tasks("0xff00 1 0x403 init\ncount 2\n"), Err("1 lines, count 2".into()));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_middle_pair_s_mean() {
        assert_eq!(spread(&[4.0, 1.0, 3.0, 2.0]), (1.0, 2.5, 4.0));
        assert_eq!(spread(&[5.0]), (5.0, 5.0, 5.0));
    }

    #[test]
    fn this_process_s_children_s_cpu_time_is_read() {
        assert!(children_cpu_ms().is_ok_and(|ms| ms >= 0.0));
    }
}
