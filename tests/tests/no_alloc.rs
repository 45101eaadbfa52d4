//! Acceptance of issue 2: a full-machine walk of a synthetic 64-CPU guest through the
//! streaming form allocates nothing and runs on a thread with a 32 KiB stack.

use scxray_core::{CpuScx, DsqHeader, HashWalk, ListWalk, Problem, SchedState, TaskEntry, Visitor};
use scxray_tests::GuestBuilder;
use scxray_tests::kernels::debian_7_3_amd64;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by threads that armed it.
struct CountingAlloc;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    // Per thread: tests run in parallel, and another armed thread's allocations must not count.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Counts events without storing them.
#[derive(Default)]
struct Counts {
    roots: u32,
    cpus: u32,
    runnable: u32,
    dsqs: u32,
    dsq_tasks: u32,
    user_ends: u32,
    scx_tasks: u32,
    problems: u32,
}

impl Visitor for Counts {
    fn root(&mut self, _: &SchedState) {
        self.roots += 1;
    }
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
    fn dsq_end(&mut self, _: &DsqHeader, _: &ListWalk) {}
    fn user_dsqs_end(&mut self, _: &HashWalk) {
        self.user_ends += 1;
    }
    fn scx_task(&mut self, _: TaskEntry) {
        self.scx_tasks += 1;
    }
    fn problem(&mut self, _: &Problem) {
        self.problems += 1;
    }
}

/// 64 CPUs on 2 nodes; 640 tasks, a quarter each runnable, on local DSQs, on bypass DSQs and
/// on 160 user DSQs.
fn guest_64_cpus() -> scxray_tests::TestGuest {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 64, 2);
    b.attach_scheduler(0, 64);
    for i in 0..640u32 {
        let t = b.add_task(i as i32, b"load");
        let cpu = i % 64;
        match i % 4 {
            0 => b.make_runnable(cpu, t),
            1 => {
                let d = b.local_dsq(cpu);
                b.enqueue(d, t);
            }
            2 => {
                let d = b.bypass_dsq(cpu);
                b.enqueue(d, t);
            }
            _ => {
                let d = b.add_user_dsq(u64::from(i), i % 64, i % 8 == 3);
                b.enqueue(d, t);
            }
        }
    }
    b.build()
}

#[test]
fn streaming_walk_of_64_cpus_allocates_nothing_on_a_32_kib_stack() {
    let g = guest_64_cpus();
    let counts = std::thread::Builder::new()
        .stack_size(32 * 1024)
        .spawn(move || {
            ARMED.with(|a| a.set(true));
            let before = ALLOCATIONS.with(Cell::get);
            let mut c = Counts::default();
            g.with(|gg| gg.walk_machine(&mut c));
            let after = ALLOCATIONS.with(Cell::get);
            ARMED.with(|a| a.set(false));
            (c, after - before)
        })
        .unwrap()
        .join()
        .unwrap();
    let (c, allocations) = counts;
    assert_eq!(allocations, 0, "the streaming walk allocated");
    assert_eq!((c.roots, c.cpus, c.problems), (1, 64, 0));
    assert_eq!(c.runnable, 160);
    assert_eq!(c.dsq_tasks, 480);
    assert_eq!(c.scx_tasks, 640);
    assert_eq!(c.user_ends, 1);
    // 64 x (local, reject, rescue) + 64 bypass + 2 global + 160 user DSQs.
    assert_eq!(c.dsqs, 64 * 3 + 64 + 2 + 160);
}

#[test]
fn collected_forms_allocate_nothing() {
    let g = guest_64_cpus();
    // The collected forms live on the stack (the machine summary alone is 0.1 MiB here).
    let (sizes, allocations) = std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || {
            ARMED.with(|a| a.set(true));
            let before = ALLOCATIONS.with(Cell::get);
            let sizes = g.with(|gg| {
                let m: scxray_core::MachineSummary<64, 512> = gg.collect_machine();
                let tasks: scxray_core::TaskList<1024> = gg.collect_scx_tasks();
                let cpu: scxray_core::CpuRunnable<16> = gg.collect_cpu(4);
                let sched = m.root.as_ref().map(|r| r.sched_kva).unwrap();
                let user: scxray_core::UserDsqIndex<256> = gg.collect_user_dsqs(sched);
                (m.cpus.len(), m.dsqs.len(), tasks.tasks.len(), cpu.runnable.len(), user.dsqs.len())
            });
            let after = ALLOCATIONS.with(Cell::get);
            ARMED.with(|a| a.set(false));
            (sizes, after - before)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(allocations, 0, "a collected walk allocated");
    assert_eq!(sizes, (64, 64 * 4 + 2 + 160, 640, 10, 160));
}

#[test]
fn the_allocation_counter_is_armed() {
    // Guards the test above against a counter that never counts.
    let n = std::thread::spawn(|| {
        ARMED.with(|a| a.set(true));
        let before = ALLOCATIONS.with(Cell::get);
        let v = std::hint::black_box(vec![1u8; 32]);
        drop(v);
        ALLOCATIONS.with(Cell::get) - before
    })
    .join()
    .unwrap();
    assert!(n >= 1);
}
