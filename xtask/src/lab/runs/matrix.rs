//! `cargo xtask lab` (and the lab step of `test-all`): the whole real-kernel matrix. Fetches
//! Debian's kernels, builds the kernel's example schedulers for them, boots each case under
//! QEMU, dumps it, runs scxray on the dump and checks the report against what the guest itself
//! printed; for the diff cases, dumps the same guest twice and checks `scxray diff`'s verdict.
//! Prints the table ([`super::table`]): case -> boot, tasks, DSQs, checks passed, scxray time.

use super::boot::boot;
use super::cases::{CASES, Case};
use super::check::{Expect, Truth, Verdict, check};
use super::diff::check_diff;
use super::failure::run_failure;
use super::retry::{Try, at_most_twice};
use super::scxray::build_scxray;
use super::stall::hunt_stall;
use super::table::{self, Row};
use crate::lab::host::guest::GuestSpec;
use crate::lab::host::qemu::{BootOptions, BootResult};
use crate::lab::kernels::kernel::Kernel;
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::program::Program;
use crate::lab::kernels::selfbuilt;
use crate::lab::kernels::spec::spec;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

/// `cargo xtask lab [--quick] [--with-612] [--only NAME]...`.
pub fn run(args: &[String]) -> Result<(), String> {
    // An unknown flag is refused rather than ignored: ignored, it would start the whole matrix.
    if let Some(a) =
        args.iter().find(|a| a.starts_with('-') && !["--quick", "--with-612", "--only"].contains(&a.as_str()))
    {
        return Err(format!("lab: unknown option `{a}`; run `cargo xtask lab help`"));
    }
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
    let scxray = build_scxray()?;
    // Kernels and schedulers first (cached: a warm run downloads and builds nothing).
    let names: BTreeSet<&str> = cases.iter().map(|c| c.kernel).collect();
    let mut prepared = Vec::new();
    for n in names {
        prepared.push(prepare(spec(n)?)?);
    }
    // What the guests run, built once per kernel (the example schedulers all at once).
    let mut built: Vec<(&str, &Program)> = Vec::new();
    for c in &cases {
        let Some(kernel) = prepared.iter().find(|k| k.spec.name == c.kernel) else { continue };
        for p in c.programs() {
            if !built.iter().any(|(k, b)| *k == c.kernel && b.built_with(p)) {
                (p.build)(kernel).map_err(|e| format!("{} for {}: {e}", p.name, c.kernel))?;
                built.push((c.kernel, p));
            }
        }
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
                        None => Row::failed(c.name, "kernel not prepared".into()),
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
            None => Row::failed(c.name, "kernel not prepared".into()),
        });
    }
    let failed = table::print(&rows);
    eprintln!("xtask: lab: {} cases in {:.0} s", rows.len(), start.elapsed().as_secs_f64());
    if failed == 0 { Ok(()) } else { Err(format!("lab: {failed} of {} cases failed", rows.len())) }
}

/// Whether an opt-in case's kernel is built already (said on stderr when it is not).
fn opt_in_ready(c: &Case) -> bool {
    let ready = spec(c.kernel).ok().and_then(selfbuilt::cached).is_some();
    if !ready {
        eprintln!(
            "xtask: lab: {} skipped: kernel {} is not built (`cargo xtask lab --with-612` builds it)",
            c.name, c.kernel
        );
    }
    ready
}

fn run_case(scxray: &Path, kernel: &Kernel, c: &Case) -> Row {
    if c.stall {
        return hunt_stall(scxray, kernel, c);
    }
    if c.failure {
        return run_failure(scxray, kernel, c);
    }
    let guest = match c.guest(kernel) {
        Ok(g) => g,
        Err(e) => return Row::failed(c.name, format!("guest: {e}")),
    };
    let opts = c.boot_options();
    // A dump whose truth the kernel changed before it (see `GuestTruth::unsettled`) is not
    // checked, and one whose listed tasks ended before it (`Verdict::spoiled`) does not count:
    // the case boots again.
    at_most_twice(c.name, || match boot(kernel, &guest, &opts, c.name) {
        Err(e) => Try::Row(Row::failed(c.name, format!("boot: {e}"))),
        Ok(b) => match &b.unsettled {
            Some(why) => Try::Again(why.clone()),
            None => {
                let mut row = check_boot(scxray, kernel, c, &guest, &opts, &b);
                match row.verdict.spoiled.take() {
                    Some(why) => Try::Again(why),
                    None => Try::Row(row),
                }
            }
        },
    })
}

/// The checks of one case's booted guest: what the guest says of its schedulers, then
/// scxray's report of the dump against the truth, then `scxray diff` of the two dumps.
fn check_boot(
    scxray: &Path,
    kernel: &Kernel,
    c: &Case,
    guest: &GuestSpec,
    opts: &BootOptions,
    boot: &BootResult,
) -> Row {
    let mut verdict = Verdict::default();
    // A stalled scheduler's guest has no task listing (see `Case::guest`): no truth checks.
    let stalled = guest.quick_truth;
    if c.scheduler.is_some() && boot.truth.state != "enabled" {
        verdict.failures.push(format!("the scheduler did not enable sched_ext (state {})", boot.truth.state));
    }
    if let Some(text) = c.scheduler.and_then(|s| s.attached_output) {
        verdict.check_named(
            boot.truth.attached == Some(true),
            &format!("the scheduler did not print `{text}` (its word that it attached)"),
        );
    }
    if !c.subs.is_empty() {
        let attached = boot.truth.scheds.iter().filter(|x| x.level > 0).count();
        verdict.check_named(
            attached == c.subs.len(),
            &format!("the guest shows {attached} sub-schedulers in sysfs, want {}", c.subs.len()),
        );
    }
    if c.min_tasks > 0 {
        verdict.check_named(
            boot.truth.tasks.len() >= c.min_tasks,
            &format!(
                "the guest lists {} tasks, the case wants at least {}",
                boot.truth.tasks.len(),
                c.min_tasks
            ),
        );
    }
    let truth = Truth::parse(&boot.truth.to_text());
    let expect = Expect { nodes: opts.numa_nodes, sched_ext: kernel.sched_ext != Some(false) };
    let mut v = if stalled { Verdict::default() } else { check(scxray, &boot.dump, &truth, expect) };
    v.passed += verdict.passed;
    v.failures.extend(verdict.failures);
    if let (Some((_, stuck)), Some(later)) = (c.diff, &boot.later_dump) {
        check_diff(scxray, &boot.dump, later, stuck, &mut v);
    }
    Row::checked(c.name, Some(boot.boot_secs), v)
}
