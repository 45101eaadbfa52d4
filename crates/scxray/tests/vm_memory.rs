//! The `vm-memory` adapter: a kit guest held in rust-vmm's `GuestMemoryMmap` (two regions
//! with the hole between them, as its ELF core has them) is walked end to end, through the
//! kit's linear map and through the real x86_64 page tables in that memory, and reports what
//! the kit's own flat image reports.
#![cfg(feature = "vm-memory")]

mod common;

use common::populated;
use scxray::source::vm_memory::VmMemory;
use scxray_core::{
    Guest, KernelSymbols, LinearTranslator, MemError, PerCpuOffsets, PhysAddr, PhysMem, Translate, VirtAddr,
};
use scxray_tests::elf_core::CoreSpec;
use scxray_tests::{AddressScheme, Recorder};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

#[test]
fn a_kit_guest_in_guest_memory_mmap_walks_end_to_end() {
    let (f, e) = populated(AddressScheme::x86_kaslr(4), &CoreSpec::default());
    assert_eq!(f.segments.len(), 2, "two regions with a hole");
    let regions: Vec<(GuestAddress, usize)> =
        f.segments.iter().map(|s| (GuestAddress(s.pa), usize::try_from(s.len).unwrap())).collect();
    let gm = GuestMemoryMmap::<()>::from_ranges(&regions).unwrap();
    for s in &f.segments {
        let off = usize::try_from(s.offset).unwrap();
        gm.write_slice(&f.core[off..off + usize::try_from(s.len).unwrap()], GuestAddress(s.pa)).unwrap();
    }
    let mem = VmMemory(&gm);
    assert_eq!(mem.ranges(), f.segments.iter().map(|s| (s.pa, s.len)).collect::<Vec<_>>());

    // Reads: inside, in the hole, straddling the first region's end, past the end.
    let first = f.segments[0];
    let mut b = [0xaau8; 8];
    assert!(mem.read(PhysAddr(first.pa + 0x100), &mut b).is_ok());
    let hole = f.scheme.hole.clone().unwrap();
    let mut b = [0xaau8; 8];
    assert_eq!(
        mem.read(PhysAddr(hole.start + 8), &mut b),
        Err(MemError::NotBacked { pa: PhysAddr(hole.start + 8), len: 8 })
    );
    let end = first.pa + first.len;
    let mut b = [0xaau8; 16];
    assert!(matches!(mem.read(PhysAddr(end - 8), &mut b), Err(MemError::NotBacked { .. })));
    assert_eq!(b, [0xaa; 16], "no partial result");
    assert!(matches!(mem.read(PhysAddr(u64::MAX - 3), &mut [0u8; 8]), Err(MemError::NotBacked { .. })));
    assert_eq!(mem.read(PhysAddr(hole.start), &mut []), Ok(()));

    // The whole machine, walked over GuestMemoryMmap, reports what the kit's image does.
    let g = &f.guest;
    let want = format!("{:?}", g.record());
    let tr = LinearTranslator::new(&g.ranges);
    let s = &g.symbols;
    let symbols = KernelSymbols {
        runqueues: s.runqueues,
        per_cpu_offsets: Some(PerCpuOffsets::Slice(&g.per_cpu_offsets)),
        scx_root: s.scx_root,
        scx_tasks: s.scx_tasks,
        nr_threads: s.nr_threads,
        nr_cpus: s.nr_cpus,
        nr_nodes: s.nr_nodes,
        globals: None,
    };
    let guest = Guest::new(&mem, &tr, &g.layout, symbols).with_limits(g.limits);
    let mut r = Recorder::default();
    guest.walk_machine(&mut r);
    assert_eq!(format!("{r:?}"), want);
    assert_eq!(r.dsqs.len(), e.dsqs.len());
    assert!(r.problems.is_empty(), "{:?}", r.problems);

    // And through the guest's own page tables, read out of GuestMemoryMmap.
    let cfg = X86Config {
        prefer_walk: true,
        phys_base: PhysAddr(f.scheme.phys_base),
        kernel_image_size: 0,
        ..X86Config::new(Cr3(f.root), PagingMode::FourLevel)
    };
    let t = X86Translator::new(cfg);
    let mut walked = 0;
    for &va in f.symbols.values().filter(|&&a| g.map.try_pa(a).is_some()) {
        let got = t.translate(&mem, VirtAddr(va)).unwrap_or_else(|e| panic!("{va:#x}: {e}"));
        assert_eq!(got.0, g.map.pa(va), "{va:#x}");
        walked += 1;
    }
    assert!(walked > 10);
    let guest = Guest::new(&mem, &t, &g.layout, symbols).with_limits(g.limits);
    let mut r = Recorder::default();
    guest.walk_machine(&mut r);
    assert_eq!(format!("{r:?}"), want, "the same walk through the real page tables");
}
