//! The whole-machine walk over an arbitrary memory image, layout, symbols, counts, caps and
//! translator: it must end, never panic, keep the truncation invariants (every walk within
//! the cap it records, that cap one its `Limits` member can take, the machine's list budgets
//! kept, each user DSQ and sub-scheduler reported once), and read at most the bound
//! `Limits::machine_reads` states.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_core::{
    AddressKind, Cap, CapBasis, DsqHeader, DsqOrigin, Guest, HashTruncation, HashWalk, KernelSymbols, Limit,
    Limits, LinearRange, LinearTranslator, ListWalk, MAX_SCHED_DEPTH, PerCpuOffsets, PhysAddr, ReadCost,
    SubSched, VirtAddr, Visitor,
};
use scxray_fuzz::{DIRECT_MAP, KERNEL_IMAGE, MachineInput, TranslatorSpec};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use std::collections::HashSet;

/// Caps under fuzzing: small, so one execution stays short (the default caps are covered by
/// the deterministic adversarial suite).
const FUZZ_CAP: u32 = 48;

/// Checks every walk end against the caps it ran under.
struct Checker {
    limits: Limits,
    /// List nodes visited on DSQs and on runnable_lists, against the walk's budgets.
    dsq_nodes: u64,
    runnable_nodes: u64,
    /// The user DSQs of the `dsq_hash` walk under way.
    user_dsqs: Vec<VirtAddr>,
    /// Every sub-scheduler reported.
    sub_scheds: HashSet<VirtAddr>,
}

/// `cap`'s value is one `limit` can take: the fixed number, or between the floor and the
/// ceiling (the ceiling wins), or less when a budget cut it.
fn check_cap_value(cap: Cap, value: u32, basis: CapBasis) {
    match (cap, basis) {
        (Cap::Fixed(n), CapBasis::Fixed) => assert_eq!(value, n),
        (_, CapBasis::Budget) => {}
        (Cap::Kernel { floor, ceiling }, CapBasis::Count { .. } | CapBasis::Floor { .. }) => {
            assert!(value <= ceiling && value >= floor.min(ceiling), "{value} outside {floor}..={ceiling}")
        }
        (Cap::Kernel { ceiling, .. }, CapBasis::Ceiling { .. } | CapBasis::NoCount) => {
            assert_eq!(value, ceiling)
        }
        (cap, basis) => panic!("a {basis:?} cap from {cap:?}"),
    }
}

impl Checker {
    fn list(&self, w: &ListWalk) -> u64 {
        let seen = w.reported + w.skipped;
        // A walk that never ran (its layout or head missing, a problem said why) has no cap.
        if *w == ListWalk::default() {
            return 0;
        }
        check_cap_value(self.limits.list_nodes, w.cap.value, w.cap.basis);
        assert!(seen <= w.cap.value, "{w:?} walked past its cap");
        if w.truncated {
            assert_eq!(seen, w.cap.value, "truncated before the cap: {w:?}");
            assert!(w.broken.is_none(), "both truncated and broken: {w:?}");
        }
        u64::from(seen)
    }
}

impl Visitor for Checker {
    fn runnable_end(&mut self, _cpu: u32, walk: &ListWalk) {
        self.runnable_nodes += self.list(walk);
        assert!(self.runnable_nodes <= u64::from(self.limits.list_budget()));
    }
    fn dsq(&mut self, dsq: &DsqHeader) {
        assert_ne!(dsq.pa.0, 0, "a DSQ at PA 0 was reported");
        if dsq.origin == DsqOrigin::User {
            self.user_dsqs.push(dsq.kva);
        }
    }
    fn dsq_end(&mut self, _dsq: &DsqHeader, walk: &ListWalk) {
        self.dsq_nodes += self.list(walk);
        assert!(self.dsq_nodes <= u64::from(self.limits.list_budget()));
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.list(walk);
    }
    fn user_dsqs_end(&mut self, w: &HashWalk) {
        let l = &self.limits;
        if w.table_size != 0 {
            check_cap_value(l.rht_nodes, w.node_cap.value, w.node_cap.basis);
            check_cap_value(l.rht_buckets, w.bucket_cap.value, w.bucket_cap.basis);
        }
        assert!(w.nodes <= w.node_cap.value, "{w:?}");
        assert!(w.buckets_visited <= w.table_size.min(w.bucket_cap.value), "{w:?}");
        assert_eq!(w.truncated.contains(HashTruncation::BUCKETS), w.table_size > w.bucket_cap.value, "{w:?}");
        if w.truncated.contains(HashTruncation::NODES) {
            assert_eq!(w.nodes, w.node_cap.value, "{w:?}");
        }
        assert_eq!(w.looped_chains == 0, w.first_looped_bucket.is_none(), "{w:?}");
        assert_eq!(w.stray_chains == 0, w.first_stray_bucket.is_none(), "{w:?}");
        // Each DSQ once, unless a chain ran into another one: one that ended at another
        // bucket's marker (stray), or one that went on into another bucket's chain and broke
        // there (broken: where it was going is unknown).
        let distinct: HashSet<_> = self.user_dsqs.iter().collect();
        if w.stray_chains == 0 && w.broken_chains == 0 {
            assert_eq!(distinct.len(), self.user_dsqs.len(), "a user DSQ reported twice: {w:?}");
        }
        self.user_dsqs.clear();
    }
    fn sub_sched(&mut self, s: &SubSched) {
        // Fewer than the walk remembers: each sub-scheduler once.
        assert!(self.sub_scheds.insert(s.state.sched_kva), "{s:?} reported twice");
    }
    fn sub_scheds_end(&mut self, w: &ListWalk) {
        assert!(w.reported + w.skipped <= self.limits.sub_scheds, "{w:?}");
        if w.truncated {
            // The cap that cut it is recorded.
            let cut = match w.cap.limit {
                Limit::SubScheds => w.reported + w.skipped == self.limits.sub_scheds,
                Limit::SchedDepth => w.cap.value == MAX_SCHED_DEPTH,
                _ => false,
            };
            assert!(cut, "{w:?}");
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
        nr_threads: input.nr_threads.map(VirtAddr),
        nr_cpus: input.nr_cpus,
        nr_nodes: input.nr_nodes % 2048,
        globals: input.globals,
    };
    let limits = input.limits;
    let mut checker = Checker {
        limits,
        dsq_nodes: 0,
        runnable_nodes: 0,
        user_dsqs: Vec::new(),
        sub_scheds: HashSet::new(),
    };
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
