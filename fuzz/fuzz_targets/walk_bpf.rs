//! The BPF walks over an arbitrary memory image, layouts, symbols, caps, translation and
//! program BTF: the ID tables, a scheduler's struct_ops map, programs and maps, each map's
//! contents, task storage, an arena's reads and the placement of waiting tasks. They must
//! end, never panic, keep their caps, and read at most the bounds `BpfLimits` states.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_btf::{Btf, BtfPlaceTypes};
use scxray_core::bpf::{BpfVisitor, ContentsWalk, Elem, IdTable, IdTableWalk, MapHeader, Waiting, Walker};
use scxray_core::{BpfLimits, Guest, KernelSymbols, LinearTranslator, PerCpuOffsets, ReadCost, VirtAddr};
use scxray_fuzz::{BpfInput, FuzzMem};
use std::ops::ControlFlow;

/// Caps under fuzzing: small, so one execution stays short.
const FUZZ_CAP: u32 = 48;
const LINEAR: ReadCost = ReadCost::LINEAR;
/// Maps whose contents are walked at most per input.
const MAX_MAPS: usize = 16;

/// Checks every walk's end against its caps and keeps the maps seen.
struct Check {
    limits: BpfLimits,
    maps: Vec<VirtAddr>,
}

impl BpfVisitor for Check {
    fn map(&mut self, m: &MapHeader) {
        if self.maps.len() < MAX_MAPS && !self.maps.contains(&m.kva) {
            self.maps.push(m.kva);
        }
    }
    fn id_table_end(&mut self, _: IdTable, w: &IdTableWalk) {
        assert!(w.entries <= self.limits.ids && w.nodes <= self.limits.idr_nodes, "{w:?}");
    }
    fn contents_end(&mut self, _: &MapHeader, w: &ContentsWalk) {
        // Each map's caps are sized from its own counts, never past the ceilings (a
        // struct_ops map's one value is handed whatever the cap).
        let (elems, buckets) = (self.limits.elems.most(), self.limits.hash_buckets.most());
        assert!(w.elems <= elems.max(1) && w.elems_cap.value <= elems, "{w:?}");
        assert!(w.buckets_cap.value <= buckets, "{w:?}");
    }
}

/// Reads each element's first bytes, as a decoder would (not under a bound).
struct Reader;

impl BpfVisitor for Reader {
    fn elem(&mut self, _: &MapHeader, e: &Elem<'_>) -> ControlFlow<()> {
        let mut b = [0u8; 24];
        let n = usize::try_from(e.value.len()).unwrap_or(24).min(24);
        let _ = e.value.read_at(0, &mut b[..n]);
        let _ = e.value.read_at(e.value.len().saturating_sub(4), &mut b[..8]);
        if let Some(k) = e.key_bytes {
            let _ = k.read_at(0, &mut b[..4]);
        }
        ControlFlow::Continue(())
    }
}

fn counted<R>(mem: &FuzzMem, f: impl FnOnce() -> R) -> (R, u64) {
    let before = mem.reads.get();
    let r = f();
    (r, mem.reads.get() - before)
}

fuzz_target!(|data: &[u8]| {
    let mut input = BpfInput::decode(data);
    input.clamp_limits(FUZZ_CAP);
    let mem = input.mem.build();
    let t = LinearTranslator::new(&input.ranges);
    let mut layout = input.layout;
    layout.bpf = input.bpf;
    let cpus = u32::try_from(input.offsets.len()).unwrap_or(1).max(1);
    let symbols = KernelSymbols {
        runqueues: None,
        per_cpu_offsets: Some(PerCpuOffsets::Slice(&input.offsets)),
        scx_root: None,
        scx_tasks: None,
        nr_threads: None,
        nr_cpus: cpus,
        nr_nodes: 1,
        globals: None,
    };
    let guest = Guest::new(&mem, &t, &layout, symbols);
    let limits = input.limits;
    let w = Walker::new(guest, input.symbols).with_limits(limits).with_page_size(input.page_size);
    let mut check = Check { limits, maps: Vec::new() };

    // The ID tables.
    let headers = [
        (IdTable::Prog, BpfLimits::prog_header_reads(cpus, false, LINEAR)),
        (IdTable::Map, BpfLimits::map_header_reads(LINEAR)),
        (IdTable::Btf, BpfLimits::btf_header_reads(LINEAR)),
        (IdTable::Link, LINEAR.value()),
    ];
    for (table, header) in headers {
        let (_, reads) = counted(&mem, || w.walk_id_table(table, &mut check));
        let bound = limits.id_table_reads(header, LINEAR);
        assert!(reads <= bound, "{table}: {reads} reads, bound {bound}");
    }

    // The scheduler.
    let mut maps = [VirtAddr(0); MAX_MAPS];
    let (sched, reads) = counted(&mem, || {
        w.walk_sched(VirtAddr(input.sched.0), VirtAddr(input.sched.1), &mut maps, &mut check)
    });
    let bound = limits.sched_reads(cpus, false, LINEAR);
    assert!(reads <= bound, "sched: {reads} reads, bound {bound}");
    assert!(sched.maps as usize <= MAX_MAPS && sched.progs <= limits.sched_progs, "{sched:?}");
    let sched_maps = &maps[..sched.maps as usize];

    // Each map's contents, then task storage.
    let all: Vec<VirtAddr> = sched_maps.iter().copied().chain(check.maps.clone()).collect();
    for &map in &all {
        let Ok(header) = w.read_map(map) else { continue };
        let (_, reads) = counted(&mem, || w.walk_contents(&header, &mut check));
        let bound = limits.contents_reads(cpus, false, LINEAR);
        assert!(reads <= bound, "{:?}: {reads} reads, bound {bound}", header.map_type);
        w.walk_contents(&header, &mut Reader);
        for &(task, _) in input.tasks.iter().take(4) {
            let (_, reads) = counted(&mem, || w.task_storage(VirtAddr(task), map));
            assert!(reads <= limits.task_storage_reads(LINEAR));
        }
    }
    if let Some(arena) = sched.arena
        && let Ok(a) = w.arena(arena)
    {
        let mut b = [0u8; 16];
        let _ = a.read(a.geometry.user_vm_start.wrapping_add(input.sched.1 & 0xffff), &mut b);
    }

    // The placement, with the input's program BTF.
    let Ok(btf) = Btf::parse(&input.btf.1) else { return };
    let objects = [(VirtAddr(input.btf.0), &btf)];
    let mut types = BtfPlaceTypes::new(&objects, &[]);
    let mut tasks: Vec<Waiting> = input.tasks.iter().map(|&(t, p)| Waiting::new(VirtAddr(t), p)).collect();
    let (placed, reads) =
        counted(&mem, || w.place_tasks(sched_maps, sched.arena, &mut types, &mut tasks, &mut check));
    let bound = limits.place_reads(sched_maps.len() as u64, tasks.len() as u64, cpus, false, LINEAR);
    assert!(reads <= bound, "place: {reads} reads, bound {bound}");
    assert!(placed.placed <= placed.tasks && placed.tasks as usize == tasks.len(), "{placed:?}");
});
