//! `cargo xtask lab` (and the lab step of `test-all`): the whole real-kernel matrix. Fetches
//! Debian's kernels, builds the kernel's example schedulers for them, boots each case under
//! QEMU, dumps it, runs scxray on the dump and checks the report against what the guest itself
//! printed; for the diff cases, dumps the same guest twice and checks `scxray diff`'s verdict.
//! Prints the table: case -> boot, tasks, DSQs, checks passed, scxray time.

use super::{check, initramfs, kernels, qemu, schedulers, selfbuilt};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One guest of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Dump name.
    pub name: &'static str,
    /// A kernel of [`kernels::MATRIX`].
    pub kernel: &'static str,
    pub kaslr: bool,
    /// x86 only: offer LA57 (5-level paging).
    pub la57: bool,
    /// An example scheduler and its arguments.
    pub scheduler: Option<(&'static str, &'static str)>,
    /// Dump again this many seconds later and check `scxray diff`: `Some((secs, stuck))`.
    pub diff: Option<(u64, bool)>,
    /// Part of the quick lane (`--quick`) as well as the full one.
    pub quick: bool,
    /// A scheduler made to stall: hunt for a stuck pair of dumps (see [`hunt_stall`]).
    pub stall: bool,
    /// Sub-schedulers: the scheduler again with `-c`, one per cgroup (relative to the cgroup2
    /// root, created by the guest; see [`initramfs::SubScheduler`]).
    pub subs: &'static [&'static str],
    /// Its kernel is one the lab builds itself ([`kernels::SELF_BUILT`]), which takes long:
    /// the case runs only with `--with-612`, when `--only` names it, or when the kernel is
    /// already built (see [`selfbuilt::cached`]).
    pub opt_in: bool,
}

const fn case(name: &'static str, kernel: &'static str) -> Case {
    Case {
        name,
        kernel,
        kaslr: true,
        la57: true,
        scheduler: None,
        diff: None,
        quick: false,
        stall: false,
        subs: &[],
        opt_in: false,
    }
}

/// The matrix: every kernel, both paging modes on x86, KASLR on and off, all three example
/// schedulers, arm64's 52-bit LPA2 page tables with 4 KiB and 16 KiB granules, the kernel without sched_ext, and a healthy
/// scheduler dumped twice (`scxray diff` must find nothing stuck).
///
/// The sub-scheduler case: scx_qmap as the root scheduler, scx_qmap `-c` on a child cgroup
/// (7.3's `CONFIG_EXT_SUB_SCHED`) and on a grandchild (level 2, a sub-scheduler under a
/// sub-scheduler): the report must list every scheduler with its level and cgroup path (see
/// [`check::check_sub_schedulers`]). Each scx_qmap takes 35-50 s to load under TCG: ~3.3
/// minutes to the dump (one level only, `lab boot --sub scxsub1`, takes ~2).
///
/// The stalled case: scx_qmap's `-t 2` stalls every second user thread from the moment it
/// starts switching tasks, and its 5 s watchdog disables it soon after, often before it is
/// even fully enabled under TCG. So the host hunts: from the scheduler's start it lets the
/// guest run 2 s of guest time, stops it, dumps it and compares the dump with the previous
/// one (`scxray diff`) until a pair shows tasks stuck; `diff` must name them (exit 4).
pub const CASES: &[Case] = &[
    Case { scheduler: Some(("scx_qmap", "")), quick: true, ..case("lab-7.3-amd64-qmap", "7.3-amd64") },
    Case {
        kaslr: false,
        scheduler: Some(("scx_central", "")),
        ..case("lab-7.3-amd64-nokaslr-central", "7.3-amd64")
    },
    Case {
        la57: false,
        scheduler: Some(("scx_simple", "")),
        ..case("lab-7.3-amd64-la57off-simple", "7.3-amd64")
    },
    Case { scheduler: Some(("scx_qmap", "")), ..case("lab-7.2-amd64-qmap", "7.2-amd64") },
    case("lab-7.1-amd64", "7.1-amd64"),
    Case { scheduler: Some(("scx_qmap", "")), ..case("lab-7.3-arm64-qmap", "7.3-arm64") },
    Case { kaslr: false, quick: true, ..case("lab-7.3-arm64-nokaslr", "7.3-arm64") },
    case("lab-7.3-arm64-16k", "7.3-arm64-16k"),
    Case { quick: true, ..case("lab-6.12-amd64", "6.12-amd64") },
    Case { scheduler: Some(("scx_qmap", "")), opt_in: true, ..case("lab-6.12sb-amd64-qmap", "6.12sb-amd64") },
    Case {
        scheduler: Some(("scx_qmap", "-t 2 -d 1")),
        stall: true,
        ..case("lab-7.3-amd64-qmap-stall", "7.3-amd64")
    },
    Case {
        scheduler: Some(("scx_simple", "")),
        diff: Some((4, false)),
        ..case("lab-7.3-amd64-simple-twice", "7.3-amd64")
    },
    Case {
        scheduler: Some(("scx_qmap", "")),
        subs: &["scxsub1", "scxsub1/inner"],
        ..case("lab-7.3-amd64-qmap-sub-nested", "7.3-amd64")
    },
];

/// A row of the table.
struct Row {
    name: String,
    boot_secs: f64,
    verdict: check::Verdict,
}

/// `cargo xtask lab [--quick] [--with-612] [--only NAME]...`.
pub fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let with_612 = args.iter().any(|a| a == "--with-612");
    let only: Vec<&String> =
        args.iter().skip_while(|a| *a != "--only").skip(1).filter(|a| !a.starts_with("--")).collect();
    let named = |c: &Case| only.iter().any(|o| o.as_str() == c.name);
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| !quick || c.quick)
        .filter(|c| only.is_empty() || named(c))
        .filter(|c| !c.opt_in || with_612 || named(c) || opt_in_ready(c))
        .collect();
    let start = Instant::now();
    let scxray = super::build_scxray()?;
    // Kernels and schedulers first (cached: a warm run downloads and builds nothing).
    let names: BTreeSet<&str> = cases.iter().map(|c| c.kernel).collect();
    let mut prepared = Vec::new();
    for n in names {
        prepared.push(kernels::prepare(kernels::spec(n)?)?);
    }
    let sched_kernels: BTreeSet<&str> =
        cases.iter().filter(|c| c.scheduler.is_some()).map(|c| c.kernel).collect();
    for k in prepared.iter().filter(|k| sched_kernels.contains(k.spec.name)) {
        schedulers::build_for(k)?;
    }
    // Two guests at a time (one per core of these machines); the stall hunt, whose timing
    // matters, runs alone at the end.
    let (alone, shared): (Vec<&Case>, Vec<&Case>) = cases.into_iter().partition(|c| c.stall);
    let jobs = std::env::var("SCXRAY_LAB_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2usize).max(1);
    let queue = std::sync::Mutex::new(shared.into_iter().enumerate().collect::<Vec<_>>());
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .ok()
                        .and_then(|mut q| if q.is_empty() { None } else { Some(q.remove(0)) });
                    let Some((i, c)) = next else { break };
                    let row = match prepared.iter().find(|k| k.spec.name == c.kernel) {
                        Some(kernel) => run_case(&scxray, kernel, c),
                        None => failed_row(c, "kernel not prepared"),
                    };
                    if let Ok(mut d) = done.lock() {
                        d.push((i, row));
                    }
                }
            });
        }
    });
    let mut rows: Vec<(usize, Row)> = done.into_inner().unwrap_or_default();
    rows.sort_by_key(|(i, _)| *i);
    let mut rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    for c in alone {
        rows.push(match prepared.iter().find(|k| k.spec.name == c.kernel) {
            Some(kernel) => run_case(&scxray, kernel, c),
            None => failed_row(c, "kernel not prepared"),
        });
    }
    let failed = print(&rows);
    eprintln!("xtask: lab: {} cases in {:.0} s", rows.len(), start.elapsed().as_secs_f64());
    if failed == 0 { Ok(()) } else { Err(format!("lab: {failed} of {} cases failed", rows.len())) }
}

/// Whether an opt-in case's kernel is built already (said on stderr when it is not).
fn opt_in_ready(c: &Case) -> bool {
    let ready = kernels::spec(c.kernel).ok().and_then(selfbuilt::cached).is_some();
    if !ready {
        eprintln!(
            "xtask: lab: {} skipped: kernel {} is not built (`cargo xtask lab --with-612` builds it)",
            c.name, c.kernel
        );
    }
    ready
}

fn failed_row(c: &Case, why: &str) -> Row {
    let mut verdict = check::Verdict::default();
    verdict.failures.push(why.to_owned());
    Row { name: c.name.into(), boot_secs: 0.0, verdict }
}

fn run_case(scxray: &Path, kernel: &kernels::Kernel, c: &Case) -> Row {
    if c.stall {
        return hunt_stall(scxray, kernel, c);
    }
    let mut verdict = check::Verdict::default();
    let mut guest = initramfs::GuestSpec::default();
    if let Some((s, args)) = c.scheduler {
        let binary = schedulers::schedulers_dir().join(&kernel.release).join(s);
        let mut sched = initramfs::Scheduler::new(binary);
        sched.args = args.split_whitespace().map(str::to_owned).collect();
        guest.scheduler = Some(sched);
    }
    guest.sub_schedulers = c.subs.iter().map(|g| initramfs::SubScheduler::new(g)).collect();
    // A stalled scheduler is killed by its watchdog seconds after the stall begins: dump it
    // at once, without the slow task listing (and so without the truth checks).
    let stalled = matches!(c.diff, Some((_, true)));
    guest.quick_truth = stalled;
    let opts = qemu::BootOptions {
        kaslr: c.kaslr,
        la57: c.la57,
        ready_timeout: Duration::from_secs(600),
        later_dump: c.diff.map(|(secs, _)| Duration::from_secs(secs)),
        ..qemu::BootOptions::default()
    };
    let boot = match super::boot(kernel, &guest, &opts, c.name) {
        Ok(b) => b,
        Err(e) => {
            verdict.failures.push(format!("boot: {e}"));
            return Row { name: c.name.into(), boot_secs: 0.0, verdict };
        }
    };
    if c.scheduler.is_some() && boot.truth.state != "enabled" {
        verdict.failures.push(format!("the scheduler did not enable sched_ext (state {})", boot.truth.state));
    }
    if !c.subs.is_empty() {
        let attached = boot.truth.scheds.iter().filter(|x| x.level > 0).count();
        verdict.check_named(
            attached == c.subs.len(),
            &format!("the guest shows {attached} sub-schedulers in sysfs, want {}", c.subs.len()),
        );
    }
    let truth = check::Truth::parse(&boot.truth.to_text());
    let expect = check::Expect { nodes: opts.numa_nodes, sched_ext: kernel.sched_ext != Some(false) };
    let mut v =
        if stalled { check::Verdict::default() } else { check::check(scxray, &boot.dump, &truth, expect) };
    v.passed += verdict.passed;
    v.failures.extend(verdict.failures);
    if let (Some((_, stuck)), Some(later)) = (c.diff, &boot.later_dump) {
        check_diff(scxray, &boot.dump, later, stuck, &mut v);
    }
    Row { name: c.name.into(), boot_secs: boot.boot_secs, verdict: v }
}

/// Guest-time slices between the stall hunt's dumps, and how many at most.
const HUNT_SLICE: Duration = Duration::from_secs(2);
const HUNT_MAX: u32 = 60;
/// The stall never begins this early after the scheduler starts (its BPF program is still
/// being verified): no dumps before.
const HUNT_HEAD_START: Duration = Duration::from_secs(20);

/// The stalled case (see [`CASES`]).
fn hunt_stall(scxray: &Path, kernel: &kernels::Kernel, c: &Case) -> Row {
    let mut v = check::Verdict::default();
    let mut guest = initramfs::GuestSpec::default();
    if let Some((s, args)) = c.scheduler {
        let mut sched = initramfs::Scheduler::new(schedulers::schedulers_dir().join(&kernel.release).join(s));
        sched.args = args.split_whitespace().map(str::to_owned).collect();
        guest.scheduler = Some(sched);
    }
    guest.quick_truth = true;
    // A smaller guest dumps faster: each slice is a full dump.
    let opts = qemu::BootOptions {
        ready_timeout: Duration::from_secs(600),
        mem_mib: 256,
        numa_nodes: 1,
        ..qemu::BootOptions::default()
    };
    let initrd = super::apt::cache_dir().join("initramfs").join(format!("{}.cpio", c.name));
    if let Err(e) = initramfs::build(kernel, &guest, &initrd) {
        v.failures.push(format!("initramfs: {e}"));
        return Row { name: c.name.into(), boot_secs: 0.0, verdict: v };
    }
    let dir = qemu::dumps_dir();
    let files = [dir.join(format!("{}.core", c.name)), dir.join(format!("{}.later.core", c.name))];
    let mut found: Option<serde_json::Value> = None;
    let mut slices = 0;
    let mut drive = |qmp: &mut qemu::Qmp| -> Result<(), String> {
        std::thread::sleep(HUNT_HEAD_START);
        let mut prev: Option<usize> = None;
        for i in 0..HUNT_MAX {
            slices = i + 1;
            let cur = (i % 2) as usize;
            qemu::stop_and_dump(qmp, &files[cur], false)?;
            if let Some(p) = prev {
                let out = Command::new(scxray)
                    .arg("diff")
                    .arg(&files[p])
                    .arg(&files[cur])
                    .args(["--format", "json"])
                    .output()
                    .map_err(|e| format!("scxray diff: {e}"))?;
                let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                if out.status.code() == Some(4) && json["same_scheduler"] == true {
                    found = Some(json);
                    return Ok(());
                }
            }
            prev = Some(cur);
            qmp.execute("cont", None)?;
            std::thread::sleep(HUNT_SLICE);
        }
        Ok(())
    };
    let boot = qemu::boot_drive(kernel, &initrd, &opts, c.name, "SCXRAY-SCHED-START", &mut drive);
    let boot_secs = boot.as_ref().copied().unwrap_or(0.0);
    for f in &files {
        let _ = Command::new("fallocate").arg("--dig-holes").arg(f).status();
    }
    if let Err(e) = boot {
        v.failures.push(format!("boot: {e}"));
    }
    match found {
        Some(json) => {
            let starving = json["starving"].as_array().map_or(0, Vec::len);
            let stalled = json["stalled_cpus"].as_array().map_or(0, Vec::len);
            let dead =
                json["dsqs"].as_array().map_or(0, |d| d.iter().filter(|x| x["trend"] == "dead").count());
            eprintln!(
                "xtask:     stuck pair after {slices} slices: {starving} starving tasks, {stalled} stalled CPUs, \
                 {dead} dead DSQs"
            );
            v.check_named(starving + stalled + dead > 0, "diff names what is stuck");
            v.tasks = starving;
        }
        None => v
            .failures
            .push(format!("no stuck pair of dumps in {slices} slices of {} s", HUNT_SLICE.as_secs())),
    }
    Row { name: c.name.into(), boot_secs, verdict: v }
}

/// `scxray diff` on the two dumps of one guest: a stalled scheduler must be named stuck (exit
/// 4) with what is stuck; a healthy one must not (exit 0).
fn check_diff(scxray: &Path, a: &Path, b: &Path, want_stuck: bool, v: &mut check::Verdict) {
    let out = Command::new(scxray).arg("diff").arg(a).arg(b).args(["--format", "json"]).output();
    let Ok(out) = out else {
        v.failures.push("cannot run scxray diff".into());
        return;
    };
    let code = out.status.code();
    let want = if want_stuck { 4 } else { 0 };
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let named = json["starving"].as_array().map_or(0, Vec::len)
        + json["stalled_cpus"].as_array().map_or(0, Vec::len)
        + json["dsqs"].as_array().map_or(0, |d| d.iter().filter(|x| x["trend"] == "dead").count());
    if code == Some(want) && (named > 0) == want_stuck && json["same_scheduler"] == true {
        v.passed += 1;
    } else {
        v.failures.push(format!(
            "scxray diff: exit {code:?} (want {want}), {named} stuck items named, same_scheduler {}: {}",
            json["same_scheduler"],
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
}

fn print(rows: &[Row]) -> usize {
    println!();
    println!("{:<32} {:>7} {:>6} {:>5} {:>9} {:>8}", "case", "boot", "tasks", "DSQs", "checks", "scxray");
    let mut failed = 0;
    for r in rows {
        let v = &r.verdict;
        println!(
            "{:<32} {:>6.1}s {:>6} {:>5} {:>4}/{:<4} {:>6.0}ms",
            r.name,
            r.boot_secs,
            v.tasks,
            v.dsqs,
            v.passed,
            v.passed + v.failures.len(),
            v.scxray_time.as_secs_f64() * 1000.0
        );
        for f in &v.failures {
            println!("    FAIL {f}");
        }
        failed += usize::from(!v.failures.is_empty());
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_cases_are_exactly_the_self_built_kernels() {
        for c in CASES {
            let spec = kernels::spec(c.kernel).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_eq!(c.opt_in, spec.packaging == kernels::Packaging::SelfBuilt, "{}", c.name);
            assert!(!(c.opt_in && c.quick), "{}: an opt-in case is not quick", c.name);
        }
        assert!(CASES.iter().any(|c| c.opt_in), "the self-built 6.12 has a case");
    }
}
