//! Builds a synthetic sched_ext guest (4 CPUs on 2 nodes, a root scheduler, tasks on
//! runnable lists, local, global and user DSQs) in memory, walks it with scxray-core's
//! streaming form, and prints what the scheduler was doing.
//!
//! `cargo xtask demo` runs this until the CLI reads real dumps.

use scxray_core::{
    CpuScx, DsqHeader, Guest, HashWalk, LinearTranslator, ListWalk, Problem, SchedState, TaskEntry, VirtAddr,
    Visitor,
};
use scxray_tests::KitMem;

struct Report<'g, 'a> {
    guest: &'g Guest<'a, KitMem<'a>, LinearTranslator<'a>>,
}

impl Report<'_, '_> {
    fn task(&self, kva: VirtAddr) -> String {
        match self.guest.read_task_identity(kva) {
            Ok(t) => format!("{:>6} {:<16} {}", t.pid, t.comm.to_string(), kva),
            Err(e) => format!("   ??? ({e})"),
        }
    }
}

impl Visitor for Report<'_, '_> {
    fn root(&mut self, r: &SchedState) {
        println!(
            "scheduler root: scx_sched {}  exit_kind {:#x}  aborting {}  bypass_depth {}  ({:?})",
            r.sched_kva, r.exit_kind, r.aborting, r.bypass_depth, r.provenance
        );
    }
    fn cpu(&mut self, c: &CpuScx) {
        println!();
        print!(
            "CPU {:<3}: nr_run={} flags={:#x} cpu_rel={} clock={}",
            c.cpu,
            c.nr_running,
            c.flags,
            u8::from(c.cpu_released),
            c.clock.map_or("-".into(), |v| v.to_string())
        );
        match &c.curr {
            Some(t) => println!("  curr={}[{}]", t.comm, t.pid),
            None => println!("  curr={}", c.curr_kva),
        }
    }
    fn runnable_task(&mut self, _cpu: u32, t: TaskEntry) {
        println!("  R {}", self.task(t.task_kva));
    }
    fn dsq(&mut self, d: &DsqHeader) {
        if d.nr > 0 {
            println!(
                "DSQ {:<14} id={:#018x} nr={} seq={} at {}",
                d.origin.to_string(),
                d.id,
                d.nr,
                d.seq,
                d.kva
            );
        }
    }
    fn dsq_task(&mut self, _d: &DsqHeader, t: TaskEntry) {
        println!("    {}", self.task(t.task_kva));
    }
    fn dsq_end(&mut self, _d: &DsqHeader, w: &ListWalk) {
        if w.truncated || w.broken.is_some() || w.skipped > 0 {
            println!(
                "    (walked {}, skipped {}, truncated {}, broken {:?})",
                w.reported, w.skipped, w.truncated, w.broken
            );
        }
    }
    fn user_dsqs_end(&mut self, w: &HashWalk) {
        println!("dsq_hash: {} buckets, {} user DSQs, truncated {:?}", w.table_size, w.nodes, w.truncated);
    }
    fn scx_tasks_end(&mut self, w: &ListWalk) {
        println!();
        println!(
            "scx_tasks: {} tasks (cursors skipped: {}, truncated: {})",
            w.reported, w.skipped, w.truncated
        );
    }
    fn problem(&mut self, p: &Problem) {
        println!("problem: {p:?}");
    }
}

fn main() {
    let b = scxray_tests::demo_machine(0, 0);
    let g = b.build();
    println!(
        "synthetic guest: {} MiB of memory, layout of Debian 7.3 amd64 (the dumps of real guests come with the CLI)",
        g.mem.len() >> 20
    );
    g.with(|guest| {
        let mut report = Report { guest };
        guest.walk_machine(&mut report);
    });
}
