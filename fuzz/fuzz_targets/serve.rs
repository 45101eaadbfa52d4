//! The embedded side of the wire format over an arbitrary guest: scxray-wire's `serve` walks
//! the memory a request describes (layout, symbols, caps and translator from the walk_machine
//! input, name and cgroup-path offsets too) into a bounded output buffer. It must never panic,
//! and whatever it writes, the host's decoder must read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_core::{AddressKind, LinearRange, PhysAddr, VirtAddr};
use scxray_fuzz::{DIRECT_MAP, KERNEL_IMAGE, MachineInput, TranslatorSpec};
use scxray_wire::{Context, Request, Symbols, TranslatorConfig, X86_64Config};

/// Caps under fuzzing, as for walk_machine.
const FUZZ_CAP: u32 = 48;

fuzz_target!(|data: &[u8]| {
    let mut input = MachineInput::decode(data);
    input.clamp_limits(FUZZ_CAP);
    let mem = input.mem.build();
    let size = input.mem.size;
    let translator = match input.translator {
        TranslatorSpec::Linear => {
            let mut ranges = heapless::Vec::new();
            let _ = ranges.push(LinearRange {
                va_start: VirtAddr(KERNEL_IMAGE),
                len: 1 << 30,
                pa_start: PhysAddr(input.image_pa),
                kind: AddressKind::KernelImage,
            });
            let _ = ranges.push(LinearRange {
                va_start: VirtAddr(DIRECT_MAP),
                len: size,
                pa_start: PhysAddr(0),
                kind: AddressKind::DirectMap,
            });
            TranslatorConfig::Linear(ranges)
        }
        TranslatorSpec::X86 { cr3, five_level } => TranslatorConfig::X86_64(X86_64Config {
            cr3,
            five_level,
            page_offset_base: VirtAddr(DIRECT_MAP),
            direct_map_size: size,
            phys_base: PhysAddr(input.image_pa),
            kernel_map_start: VirtAddr(0xffff_ffff_8000_0000),
            kernel_image_size: 1 << 30,
            max_phys_bits: 52,
            phys_end: Some(PhysAddr(size)),
            prefer_walk: false,
        }),
    };
    // The wire carries `__per_cpu_offset` as a guest address only.
    let (per_cpu_offset, per_cpu_slots) = match input.offsets_in_guest {
        Some((kva, slots)) => (Some(VirtAddr(kva)), slots % 128),
        None => (None, 0),
    };
    let request = Request {
        translator,
        layout: input.layout,
        symbols: Symbols {
            runqueues: input.runqueues.map(VirtAddr),
            per_cpu_offset,
            per_cpu_slots,
            scx_root: input.scx_root.map(VirtAddr),
            scx_tasks: input.scx_tasks.map(VirtAddr),
            nr_cpus: input.nr_cpus,
            nr_nodes: input.nr_nodes % 2048,
            scx_enable_state_var: input.scx_tasks.map(|a| VirtAddr(a.wrapping_add(64))),
            // Offsets from the input's own numbers: names anywhere in a scheduler, cgroup
            // path pointers to anywhere.
            ops_name_offset: Some(input.nr_nodes >> 16),
            cgrp_path_offset: Some(input.nr_cpus >> 16),
            globals: input.globals,
            nr_threads: input.nr_threads.map(VirtAddr),
        },
        limits: input.limits,
        context: Context {
            arch: "x86_64",
            release: None,
            paging: "fuzz",
            kaslr_offset: 0,
            memory: "fuzz",
            exit_kinds: heapless::Vec::new(),
            enable_states: heapless::Vec::new(),
        },
    };
    let bytes = request.encode_with(postcard::ser_flavors::StdVec::new()).unwrap();
    // Small enough that full buffers (dropped records) happen too.
    let mut out = vec![0u8; 4096];
    let n = scxray_wire::serve(&bytes, &mem, &mut out).expect("a request the host encoded is served");
    let dump = out.get(..n).expect("serve returns a length within its buffer");
    if let Err(e) = scxray::wire::decode(dump) {
        panic!("the decoder refused what serve wrote: {e}");
    }
});
