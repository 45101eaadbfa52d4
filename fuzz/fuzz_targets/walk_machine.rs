//! The whole-machine walk over an arbitrary memory image, layout, symbols, caps and
//! translator: it must end, never panic, keep the truncation invariants, and read at most
//! the bound `Limits::machine_reads` states.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_core::{
    AddressKind, DsqHeader, Guest, HashTruncation, HashWalk, KernelSymbols, LinearRange, LinearTranslator,
    ListWalk, PerCpuOffsets, PhysAddr, ReadCost, VirtAddr, Visitor,
};
use scxray_fuzz::{DIRECT_MAP, KERNEL_IMAGE, MachineInput, TranslatorSpec};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};

/// Caps under fuzzing: small, so one execution stays short (the default caps are covered by
/// the deterministic adversarial suite).
const FUZZ_CAP: u32 = 48;

/// Checks every walk end against the caps it ran under.
struct Checker {
    list_cap: u32,
    rht_nodes: u32,
    rht_buckets: u32,
}

impl Checker {
    fn list(&self, w: &ListWalk) {
        let seen = w.reported + w.skipped;
        assert!(seen <= self.list_cap, "{w:?} walked past the cap {}", self.list_cap);
        if w.truncated {
            assert_eq!(seen, self.list_cap, "truncated before the cap: {w:?}");
            assert!(w.broken.is_none(), "both truncated and broken: {w:?}");
        }
    }
}

impl Visitor for Checker {
    fn runnable_end(&mut self, _cpu: u32, walk: &ListWalk) {
        self.list(walk);
    }
    fn dsq(&mut self, dsq: &DsqHeader) {
        assert_ne!(dsq.pa.0, 0, "a DSQ at PA 0 was reported");
    }
    fn dsq_end(&mut self, _dsq: &DsqHeader, walk: &ListWalk) {
        self.list(walk);
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.list(walk);
    }
    fn user_dsqs_end(&mut self, w: &HashWalk) {
        assert!(w.nodes <= self.rht_nodes, "{w:?}");
        assert!(w.buckets_visited <= w.table_size.min(self.rht_buckets), "{w:?}");
        assert_eq!(w.truncated.contains(HashTruncation::BUCKETS), w.table_size > self.rht_buckets, "{w:?}");
        if w.truncated.contains(HashTruncation::NODES) {
            assert_eq!(w.nodes, self.rht_nodes, "{w:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = MachineInput::decode(data);
    input.clamp_limits(FUZZ_CAP);
    let mem = input.mem.build();
    let size = input.mem.size;
    let ranges = [
        LinearRange {
            va_start: VirtAddr(KERNEL_IMAGE),
            len: 1 << 30,
            pa_start: PhysAddr(input.image_pa),
            kind: AddressKind::KernelImage,
        },
        LinearRange {
            va_start: VirtAddr(DIRECT_MAP),
            len: size,
            pa_start: PhysAddr(0),
            kind: AddressKind::DirectMap,
        },
    ];
    let offsets = match input.offsets_in_guest {
        Some((kva, slots)) => PerCpuOffsets::Guest { kva: VirtAddr(kva), slots: slots % 128 },
        None => PerCpuOffsets::Slice(&input.offsets),
    };
    let symbols = KernelSymbols {
        runqueues: input.runqueues.map(VirtAddr),
        per_cpu_offsets: Some(offsets),
        scx_root: input.scx_root.map(VirtAddr),
        scx_tasks: input.scx_tasks.map(VirtAddr),
        nr_cpus: input.nr_cpus,
        nr_nodes: input.nr_nodes % 2048,
        globals: input.globals,
    };
    let limits = input.limits;
    let mut checker =
        Checker { list_cap: limits.list_nodes, rht_nodes: limits.rht_nodes, rht_buckets: limits.rht_buckets };
    let (cost, reads) = match input.translator {
        TranslatorSpec::Linear => {
            let t = LinearTranslator::new(&ranges);
            Guest::new(&mem, &t, &input.layout, symbols).with_limits(limits).walk_machine(&mut checker);
            (ReadCost::LINEAR, mem.reads.get())
        }
        TranslatorSpec::X86 { cr3, five_level } => {
            let mode = if five_level { PagingMode::FiveLevel } else { PagingMode::FourLevel };
            let config = X86Config {
                page_offset_base: VirtAddr(DIRECT_MAP),
                direct_map_size: size,
                phys_base: PhysAddr(input.image_pa),
                phys_end: Some(PhysAddr(size)),
                ..X86Config::new(Cr3(cr3), mode)
            };
            let t = X86Translator::new(config);
            Guest::new(&mem, &t, &input.layout, symbols).with_limits(limits).walk_machine(&mut checker);
            (ReadCost { levels: if five_level { 5 } else { 4 } }, mem.reads.get())
        }
    };
    let bound =
        limits.machine_reads(symbols.nr_cpus, symbols.nr_nodes, input.offsets_in_guest.is_some(), cost);
    assert!(reads <= bound, "{reads} physical reads, bound {bound}");
});
