//! The size probe: one exported function that runs the whole streaming walk and reads one
//! task's detail over an x86_64 translator, with every input hidden from the optimiser
//! (`black_box`), so the linked code is what an embedder of scxray-core + scxray-x86_64
//! carries. Built by `cargo xtask size`; never run.

#![no_std]

use core::hint::black_box;
use scxray_core::{
    FlatImage, Guest, KernelSymbols, Layout, PerCpuOffsets, PhysAddr, Problem, TaskEntry, VirtAddr, Visitor,
};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};

/// Counts what the walk reports.
struct Count(u32);

impl Visitor for Count {
    fn runnable_task(&mut self, _: u32, _: TaskEntry) {
        self.0 = self.0.wrapping_add(1);
    }
    fn dsq_task(&mut self, _: &scxray_core::DsqHeader, _: TaskEntry) {
        self.0 = self.0.wrapping_add(1);
    }
    fn scx_task(&mut self, _: TaskEntry) {
        self.0 = self.0.wrapping_add(1);
    }
    fn problem(&mut self, _: &Problem) {
        self.0 = self.0.wrapping_add(0x1_0000);
    }
}

/// Walks the machine in `ram` (guest-physical from `base`) with page tables at `cr3`.
#[unsafe(no_mangle)]
pub extern "C" fn scxray_probe_walk(base: u64, cr3: u64, la57: u32, task: u64) -> u32 {
    let ram: &[u8] = black_box(&[]);
    let mem = FlatImage::new(PhysAddr(base), ram);
    let config = black_box(X86Config::new(Cr3(cr3), PagingMode::from_pgtable_l5_enabled(la57)));
    let translator = X86Translator::new(config);
    let layout: Layout = black_box(Layout::default());
    let offsets: &[u64] = black_box(&[]);
    let symbols = black_box(KernelSymbols {
        runqueues: Some(VirtAddr(0)),
        per_cpu_offsets: Some(PerCpuOffsets::Slice(offsets)),
        scx_root: Some(VirtAddr(0)),
        scx_tasks: Some(VirtAddr(0)),
        nr_threads: Some(VirtAddr(0)),
        nr_cpus: 1,
        nr_nodes: 1,
        globals: None,
    });
    let guest = Guest::new(&mem, &translator, &layout, symbols);
    let mut v = Count(0);
    guest.walk_machine(&mut v);
    if guest.read_task_detail(VirtAddr(task)).is_ok() {
        v.0 = v.0.wrapping_add(1);
    }
    v.0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
