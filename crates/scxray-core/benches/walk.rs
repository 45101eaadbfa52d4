//! The walkers against the memory's own speed, on synthetic guests from the test kit (direct
//! map and kernel-image window, `LinearTranslator`, memory a plain `FlatImage`).
//!
//! - `list`: a 4096-task DSQ and the 4096-entry `scx_tasks` list in one image, walked by
//!   scxray (translation, checked reads, cursor flags, caps) and by a bare pointer chase of the
//!   same nodes (next pointers read straight from the bytes: the physical limit of this
//!   work). `cargo xtask bench` reports the ratio.
//! - `machine`: `Guest::walk_machine` with a counting visitor over 256 CPUs on 2 nodes, 10 000
//!   tasks spread over runnable lists, local DSQs and 8192 user DSQs in `dsq_hash`.
//!
//! Every guest is built and checked before the timed part.

use criterion::{Criterion, criterion_group, criterion_main};
use scxray_core::{
    CpuScx, DsqHeader, DsqOrigin, Guest, HashWalk, LinearTranslator, ListWalk, Pass, Problem, TaskEntry,
    VirtAddr, Visitor,
};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{DIRECT_MAP, GuestBuilder, TestGuest};
use std::hint::black_box;
use std::time::Duration;

/// Counts what a walk reports.
#[derive(Default, Debug, PartialEq, Eq)]
struct Counts {
    cpus: u32,
    runnable: u32,
    dsqs: u32,
    dsq_tasks: u32,
    scx_tasks: u32,
    problems: u32,
    truncated: u32,
}

impl Visitor for Counts {
    fn cpu(&mut self, _: &CpuScx) {
        self.cpus += 1;
    }
    fn runnable_task(&mut self, _: u32, _: TaskEntry) {
        self.runnable += 1;
    }
    fn dsq(&mut self, _: &DsqHeader) {
        self.dsqs += 1;
    }
    fn dsq_task(&mut self, _: &DsqHeader, _: TaskEntry) {
        self.dsq_tasks += 1;
    }
    fn dsq_end(&mut self, _: &DsqHeader, w: &ListWalk) {
        self.truncated += u32::from(w.truncated);
    }
    fn runnable_end(&mut self, _: u32, w: &ListWalk) {
        self.truncated += u32::from(w.truncated);
    }
    fn scx_tasks_end(&mut self, w: &ListWalk) {
        self.truncated += u32::from(w.truncated);
    }
    fn user_dsqs_end(&mut self, w: &HashWalk) {
        self.truncated += u32::from(!w.truncated.is_empty());
    }
    fn scx_task(&mut self, _: TaskEntry) {
        self.scx_tasks += 1;
    }
    fn problem(&mut self, _: &Problem) {
        self.problems += 1;
    }
}

const LIST_NODES: u32 = 4096;

/// One CPU, 4096 tasks on `scx_tasks`, each queued on CPU 0's local DSQ.
fn list_guest() -> (TestGuest, VirtAddr) {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    let dsq = b.local_dsq(0);
    for pid in 0..LIST_NODES {
        let t = b.add_task(pid as i32, b"walker");
        b.enqueue(dsq, t);
    }
    (b.build(), dsq)
}

/// The next pointer at kernel address `kva`, read straight from the image: the direct map
/// starts at physical 0 and holds every node; list heads outside it are looked up once,
/// before the chase.
fn next_at(mem: &[u8], pa: u64) -> u64 {
    let i = pa as usize;
    u64::from_le_bytes(mem[i..i + 8].try_into().unwrap())
}

/// Chases the list whose head is at kernel address `head` (physical `head_pa`) and counts
/// its nodes.
fn bare_chase(mem: &[u8], head: u64, head_pa: u64) -> u32 {
    let mut n = 0;
    let mut next = next_at(mem, head_pa);
    while next != head {
        n += 1;
        next = next_at(mem, next.wrapping_sub(DIRECT_MAP));
    }
    n
}

fn list(c: &mut Criterion) {
    let (g, dsq) = list_guest();
    let mem = g.flat();
    let tr = LinearTranslator::new(&g.ranges);
    let guest = Guest::new(&mem, &tr, &g.layout, g.kernel_symbols());
    let scxray = |guest: &Guest<'_, _, _>| {
        let mut v = Counts::default();
        guest.walk_dsq(DsqOrigin::Local { cpu: 0 }, dsq, Pass::LocalDsqs, &mut v);
        guest.walk_scx_tasks(&mut v);
        v
    };
    let v = scxray(&guest);
    assert_eq!((v.dsq_tasks, v.scx_tasks, v.problems, v.truncated), (LIST_NODES, LIST_NODES, 0, 0));

    let dsq_head = dsq.checked_add(g.layout.dsq.unwrap().list.into()).unwrap().0;
    let tasks_head = g.symbols.scx_tasks.unwrap().0;
    let heads = [(dsq_head, g.map.pa(dsq_head)), (tasks_head, g.map.pa(tasks_head))];
    let bare = |mem: &[u8]| heads.iter().map(|&(h, pa)| bare_chase(mem, h, pa)).sum::<u32>();
    assert_eq!(bare(&g.mem), 2 * LIST_NODES);

    let mut grp = c.benchmark_group("list");
    grp.bench_function("scxray", |b| b.iter(|| scxray(black_box(&guest))));
    grp.bench_function("bare chase", |b| b.iter(|| bare(black_box(&g.mem))));
    grp.finish();

    // The ratio, robust to a shared machine: the two runs interleaved, the best of each.
    let (s, b) = interleaved_best(|| scxray(black_box(&guest)), || bare(black_box(&g.mem)), 400);
    println!(
        "ratio: list walking, scxray's speed / the bare chase's = {:.2}x (best of 400 interleaved runs: {:.1} µs / {:.1} µs)",
        b / s,
        s / 1e3,
        b / 1e3
    );
}

/// The best time of each of two closures over `n` interleaved runs, nanoseconds.
fn interleaved_best<A, B>(mut a: impl FnMut() -> A, mut b: impl FnMut() -> B, n: u32) -> (f64, f64) {
    let (mut ta, mut tb) = (f64::MAX, f64::MAX);
    for _ in 0..n {
        let t = std::time::Instant::now();
        black_box(a());
        ta = ta.min(t.elapsed().as_nanos() as f64);
        let t = std::time::Instant::now();
        black_box(b());
        tb = tb.min(t.elapsed().as_nanos() as f64);
    }
    (ta, tb)
}

/// 256 CPUs on 2 nodes; 8192 user DSQs, one per bucket of an 8192-bucket `dsq_hash`; 10 000
/// tasks on `scx_tasks`, a third runnable, a third on local DSQs, a third on user DSQs.
fn machine_guest() -> TestGuest {
    const CPUS: u32 = 256;
    const USER_DSQS: u32 = 8192;
    let mut b = GuestBuilder::new(debian_7_3_amd64(), CPUS, 2);
    b.attach_scheduler(0, USER_DSQS);
    let user: Vec<VirtAddr> =
        (0..USER_DSQS).map(|i| b.add_user_dsq(0x1000 + u64::from(i), i, false)).collect();
    for i in 0..10_000u32 {
        let t = b.add_task(i as i32, b"load");
        let cpu = i % CPUS;
        match i % 3 {
            0 => b.make_runnable(cpu, t),
            1 => {
                let d = b.local_dsq(cpu);
                b.enqueue(d, t);
            }
            _ => b.enqueue(user[(i as usize * 7) % user.len()], t),
        }
    }
    // The default caps: scx_tasks (10 000 tasks) is walked whole, its cap sized from
    // `nr_threads`.
    b.build()
}

fn machine(c: &mut Criterion) {
    let g = machine_guest();
    let mem = g.flat();
    let tr = LinearTranslator::new(&g.ranges);
    let guest = Guest::new(&mem, &tr, &g.layout, g.kernel_symbols()).with_limits(g.limits);
    let walk = |guest: &Guest<'_, _, _>| {
        let mut v = Counts::default();
        guest.walk_machine(&mut v);
        v
    };
    let v = walk(&guest);
    assert_eq!((v.cpus, v.scx_tasks, v.problems, v.truncated), (256, 10_000, 0, 0));
    assert_eq!(v.runnable + v.dsq_tasks, 10_000);
    // Local, reject and rescue per CPU, bypass per CPU, 2 global, 8192 user.
    assert_eq!(v.dsqs, 256 * 4 + 2 + 8192);

    let mut grp = c.benchmark_group("machine");
    grp.bench_function("walk_machine 256 CPUs, 10000 tasks, 8192 user DSQs", |b| {
        b.iter(|| walk(black_box(&guest)))
    });
    grp.finish();

    // The undisturbed figure on a shared machine: the best of many runs.
    let (best, _) = interleaved_best(|| walk(black_box(&guest)), || (), 200);
    println!(
        "figure: walk_machine, 256 CPUs, 10 000 tasks, 8192 user DSQs = {:.2} ms (best of 200 runs)",
        best / 1e6
    );
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = list, machine }
criterion_main!(benches);
