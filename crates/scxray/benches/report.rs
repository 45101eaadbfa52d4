//! The host's per-task cost, on synthetic machines of 512 CPUs from the test kit, written as
//! real ELF cores with their BTF and System.map and configured the way the CLI does:
//!
//! - `report/build`: walk, per-task detail and the report built (no formatting), for 10 000
//!   and 100 000 tasks; the per-task cost is the slope between the two (`cargo xtask bench`
//!   prints it), so the fixed cost of 512 CPUs' state does not hide in it;
//! - `report/text`, `report/json`: formatting the 100 000-task report;
//! - `report/full text`: build and text together, the library's whole report.
//!
//! On the lab's dumps (skipped when absent): the same build of the big guest's dump (issue 16's
//! 6000-odd tasks) against the demo dump's; the per-task cost is the slope between the two.
//!
//! Then the CLI itself on the 100 000-task core (`scxray dump --format text`): its wall time
//! (best of 5) and its peak RSS (the children's `ru_maxrss`: the dump is mmap'd, so the pages
//! of it that were read count too).

mod common;

use common::{dumps_dir, find};
use criterion::{Criterion, criterion_group, criterion_main};
use scxray::{Inputs, Report, Target};
use scxray_core::{Cap, Limits, VirtAddr};
use scxray_tests::GuestBuilder;
use scxray_tests::elf_core::CoreSpec;
use scxray_tests::kernels::debian_7_3_amd64;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CPUS: u32 = 512;
const USER_DSQS: u32 = 64;
const SMALL: u32 = 10_000;
const BIG: u32 = 100_000;
/// `SCX_TASK_ENABLED`, and `SCX_TASK_QUEUED` for the queued tasks (7.3's `enum scx_ent_flags`).
const ENABLED: u32 = 0x400;
const QUEUED: u32 = 0x1;

/// Every list walked in full (the kit's kernel has no `nr_threads` to size the cap from).
const LIST_NODES: u32 = 2 * BIG;
const LIMITS: Limits = Limits { list_nodes: Cap::Fixed(LIST_NODES), ..Limits::DEFAULT };

/// A 7.3 machine of 512 CPUs on 2 nodes with `tasks` tasks on `scx_tasks`: one running per
/// CPU, a tenth runnable, a twentieth on local DSQs and a twentieth on 64 user DSQs; the rest
/// sleep. Every task is ENABLED and may run on every CPU (one shared `cpus_ptr` mask).
/// Written to `dir`: the core, System.map and BTF paths.
fn machine(tasks: u32, dir: &Path) -> Inputs {
    let layout = debian_7_3_amd64();
    let mut b = GuestBuilder::new(layout, CPUS, 2);
    b.attach_scheduler(0, USER_DSQS);
    b.set_ops_name("synthetic");
    let user: Vec<VirtAddr> =
        (0..USER_DSQS).map(|i| b.add_user_dsq(0x1000 + u64::from(i), i, false)).collect();
    let mask = b.alloc(u64::from(CPUS / 8), 64);
    b.write(mask, &[0xff; (CPUS / 8) as usize]);
    let cpus_ptr = u64::from(layout.task.unwrap().cpus_ptr.unwrap());
    for i in 0..tasks {
        let t = b.add_task(i as i32 + 1, format!("worker-{i}").as_bytes());
        b.write_u64(VirtAddr(t.0 + cpus_ptr), mask.0);
        let cpu = i % CPUS;
        let queued = match i % 20 {
            _ if i < CPUS => {
                b.set_curr(cpu, t);
                false
            }
            0 | 1 => {
                b.make_runnable(cpu, t);
                true
            }
            2 => {
                let d = b.local_dsq(cpu);
                b.enqueue(d, t);
                true
            }
            3 => {
                b.enqueue(user[(i as usize * 7) % user.len()], t);
                true
            }
            _ => false,
        };
        b.set_see_flags(t, if queued { ENABLED | QUEUED } else { ENABLED });
    }
    let files = b.write_core(&CoreSpec::default());
    let path = |n: &str| dir.join(format!("{tasks}-{n}"));
    std::fs::write(path("guest.core"), &files.core).unwrap();
    std::fs::write(path("System.map"), &files.system_map).unwrap();
    std::fs::write(path("vmlinux.btf"), &files.btf).unwrap();
    Inputs {
        memory: path("guest.core"),
        vmlinux: None,
        btf: Some(path("vmlinux.btf")),
        system_map: Some(path("System.map")),
        raw_base: 0,
    }
}

/// The machine configured, its report checked: every task walked, none truncated.
fn configured(tasks: u32, dir: &Path) -> (Inputs, Target) {
    let inputs = machine(tasks, dir);
    let t = Target::configure(&inputs).unwrap_or_else(|e| panic!("{e}"));
    let r = Report::build(&t, LIMITS);
    assert_eq!(
        (r.cpus.len(), r.scx_tasks.tasks.len(), r.tasks.len()),
        (CPUS as usize, tasks as usize, tasks as usize)
    );
    assert!(!r.truncated && r.problems.is_empty() && r.unreadable_tasks.is_empty(), "{:?}", r.problems);
    (inputs, t)
}

/// This thread's CPU time, nanoseconds: what a run costs whatever else the shared machine
/// runs meanwhile.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the one it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// The best of `n` runs of `f`: (wall, this thread's CPU time), nanoseconds.
fn best(n: u32, mut f: impl FnMut()) -> (f64, f64) {
    (0..n).fold((f64::MAX, f64::MAX), |(wall, cpu), _| {
        let (t, c) = (Instant::now(), thread_cpu_ns());
        f();
        (wall.min(t.elapsed().as_nanos() as f64), cpu.min(thread_cpu_ns() - c))
    })
}

/// `scxray dump` of `inputs` as text, its output's length.
fn cli(inputs: &Inputs) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_scxray"))
        .arg("dump")
        .arg(&inputs.memory)
        .arg("--btf")
        .arg(inputs.btf.as_ref().unwrap())
        .arg("--system-map")
        .arg(inputs.system_map.as_ref().unwrap())
        .args(["--max-list-nodes", &LIST_NODES.to_string()])
        .output()
        .expect("cannot run scxray");
    assert!(out.status.success(), "scxray dump failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.len()
}

/// The children waited for so far: (the largest resident set of any, bytes; their CPU time
/// in all, nanoseconds).
fn children() -> (u64, f64) {
    // SAFETY: getrusage writes one rusage into the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let ns = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    (u64::try_from(u.ru_maxrss).unwrap_or(0) * 1024, ns(u.ru_utime) + ns(u.ru_stime))
}

fn report(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-report");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_, small) = configured(SMALL, &dir);
    let (big_inputs, big) = configured(BIG, &dir);
    let big_report = Report::build(&big, LIMITS);

    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    for (tasks, t) in [(SMALL, &small), (BIG, &big)] {
        g.bench_function(format!("build {CPUS} CPUs, {tasks} tasks"), |b| {
            b.iter(|| Report::build(black_box(t), LIMITS))
        });
    }
    g.bench_function(format!("text {CPUS} CPUs, {BIG} tasks"), |b| {
        b.iter(|| scxray::report::text::render(black_box(&big_report)))
    });
    g.bench_function(format!("json {CPUS} CPUs, {BIG} tasks"), |b| {
        b.iter(|| serde_json::to_string_pretty(black_box(&big_report)).unwrap())
    });
    g.bench_function(format!("full text {CPUS} CPUs, {BIG} tasks"), |b| {
        b.iter(|| scxray::report::text::render(&Report::build(black_box(&big), LIMITS)))
    });
    g.finish();

    // The undisturbed figures on a shared machine: the best of several runs, wall and CPU.
    let (wall_small, cpu_small) = best(10, || drop(black_box(Report::build(&small, LIMITS))));
    let (wall_big, cpu_big) = best(10, || drop(black_box(Report::build(&big, LIMITS))));
    let per_task = |a: f64, b: f64| (b - a) / f64::from(BIG - SMALL) / 1e3;
    println!(
        "figure: walk + per-task detail + report build, per task = {:.3} µs CPU, {:.3} µs wall (slope {SMALL} -> {BIG} tasks, best of 10, CPU: {:.1} / {:.1} ms)",
        per_task(cpu_small, cpu_big),
        per_task(wall_small, wall_big),
        cpu_small / 1e6,
        cpu_big / 1e6
    );
    let (wall_text, cpu_text) = best(5, || drop(black_box(scxray::report::text::render(&big_report))));
    let (wall_json, cpu_json) = best(5, || drop(black_box(serde_json::to_string_pretty(&big_report))));
    println!(
        "figure: {CPUS} CPUs, {BIG} tasks: build {:.1} ms, text {:.1} ms, JSON {:.1} ms CPU (wall {:.1} / {:.1} / {:.1} ms; best of 10, 5, 5)",
        cpu_big / 1e6,
        cpu_text / 1e6,
        cpu_json / 1e6,
        wall_big / 1e6,
        wall_text / 1e6,
        wall_json / 1e6
    );
    let bytes = cli(&big_inputs);
    let (_, cpu_before) = children();
    let (wall, _) = best(5, || {
        cli(&big_inputs);
    });
    let (rss, cpu_after) = children();
    println!(
        "figure: scxray dump (text, {bytes} bytes), {CPUS} CPUs, {BIG} tasks = {:.1} ms wall (best of 5), {:.1} ms CPU (mean), peak RSS {:.0} MiB",
        wall / 1e6,
        (cpu_after - cpu_before) / 5e6,
        rss as f64 / f64::from(1 << 20)
    );
    drop((small, big));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo dump and the big guest's.
const DEMO: &[&str] = &["lab-7.3-amd64-qmap.core"];
const BIG_DUMP: &[&str] = &["lab-7.3-amd64-big.core"];

/// Walk, per-task detail and report build of the big lab guest against the demo dump's, each
/// configured as the CLI does (caps sized from the kernel's counts).
fn lab(c: &mut Criterion) {
    let (Some((demo_name, demo)), Some((big_name, big))) = (find(DEMO), find(BIG_DUMP)) else {
        println!(
            "report: the demo dump {DEMO:?} or the big guest's {BIG_DUMP:?} is not in {} (cargo xtask lab): skipped",
            dumps_dir().display()
        );
        return;
    };
    let configure = |memory: PathBuf| {
        let inputs = Inputs { memory, vmlinux: None, btf: None, system_map: None, raw_base: 0 };
        Target::configure(&inputs).unwrap_or_else(|e| panic!("{e}"))
    };
    let (demo, big) = (configure(demo), configure(big));
    let tasks = |t: &Target| {
        let r = Report::build(t, Limits::DEFAULT);
        assert!(!r.truncated && r.unreadable_tasks.is_empty(), "{:?}", r.problems);
        r.tasks.len()
    };
    let (demo_tasks, big_tasks) = (tasks(&demo), tasks(&big));
    let mut g = c.benchmark_group("report");
    for (name, t) in [(&demo_name, &demo), (&big_name, &big)] {
        g.bench_function(format!("lab build {name}"), |b| {
            b.iter(|| Report::build(black_box(t), Limits::DEFAULT))
        });
    }
    g.finish();
    // Interleaved best-of, so that both see the same load.
    let (mut cpu_demo, mut cpu_big) = (f64::MAX, f64::MAX);
    for _ in 0..20 {
        cpu_demo = cpu_demo.min(best(1, || drop(black_box(Report::build(&demo, Limits::DEFAULT)))).1);
        cpu_big = cpu_big.min(best(1, || drop(black_box(Report::build(&big, Limits::DEFAULT)))).1);
    }
    println!(
        "figure: walk + per-task detail + report build, per task, lab dumps = {:.3} µs CPU (slope {demo_name} {demo_tasks} tasks {:.2} ms -> {big_name} {big_tasks} tasks {:.2} ms, best of 20 interleaved)",
        (cpu_big - cpu_demo) / (big_tasks - demo_tasks) as f64 / 1e3,
        cpu_demo / 1e6,
        cpu_big / 1e6
    );
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = lab, report }
criterion_main!(benches);
