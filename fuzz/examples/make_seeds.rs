//! Writes the seed corpora (`fuzz/corpus-seed/<target>/`) from the synthetic-guest kit and a
//! few hand-made tables: small valid inputs the fuzzer mutates from.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example make_seeds`

use scxray_core::PerCpuOffsets;
use scxray_fuzz::{MachineInput, MemSpec, TranslatorSpec, Writer};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{GuestBuilder, KitAddr, TestGuest};
use std::path::{Path, PathBuf};

fn out_dir(target: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-seed").join(target);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let p = out_dir(target).join(name);
    std::fs::write(&p, bytes).unwrap();
    println!("{} ({} bytes)", p.display(), bytes.len());
}

/// A kit guest as a whole-machine fuzz input.
fn machine_input(g: &TestGuest, offsets_in_guest: bool, translator: TranslatorSpec) -> Vec<u8> {
    let (offsets, guest) = g.with(|gg| match gg.symbols.per_cpu_offsets {
        Some(PerCpuOffsets::Slice(s)) => (s.to_vec(), None),
        Some(PerCpuOffsets::Guest { kva, slots }) => (Vec::new(), Some((kva.0, slots))),
        None => (Vec::new(), None),
    });
    let guest = if offsets_in_guest {
        Some((g.symbols.per_cpu_offset_kva.0, g.symbols.per_cpu_offset_slots))
    } else {
        guest
    };
    let input = MachineInput {
        layout: g.layout,
        runqueues: g.symbols.runqueues.map(|v| v.0),
        offsets_in_guest: guest,
        offsets: if guest.is_some() { Vec::new() } else { offsets },
        scx_root: g.symbols.scx_root.map(|v| v.0),
        scx_tasks: g.symbols.scx_tasks.map(|v| v.0),
        nr_threads: g.symbols.nr_threads.map(|v| v.0),
        globals: g.symbols.globals,
        nr_cpus: g.symbols.nr_cpus,
        nr_nodes: g.symbols.nr_nodes,
        limits: g.limits,
        translator,
        image_pa: scxray_tests::IMAGE_PA,
        mem: MemSpec::from_image(g.mem_base, &g.mem),
    };
    let bytes = input.encode();
    // The seed decodes to what was encoded.
    let back = MachineInput::decode(&bytes);
    assert_eq!(
        (back.layout, back.nr_cpus, back.mem.segments.len()),
        (g.layout, g.symbols.nr_cpus, input.mem.segments.len())
    );
    bytes
}

fn walk_machine_seeds() {
    // Two CPUs: runnable tasks, a DSQ with tasks and an iterator cursor, a scheduler with
    // bypass, global and user DSQs, scx_tasks with a cursor.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
    let t1 = b.add_task(101, b"worker");
    let t2 = b.add_task(102, b"\xffbad-utf8-no-nul");
    b.make_runnable(0, t1);
    b.set_curr(0, t2);
    b.set_rq_scalars(0, 1, 4, true);
    let dsq = b.local_dsq(1);
    b.enqueue(dsq, t2);
    b.add_dsq_cursor(dsq);
    b.add_tasks_cursor();
    b.attach_scheduler(1024, 4);
    b.add_user_dsq(7, 1, true);
    b.add_user_dsq(8, 1, false);
    let g = b.build();
    write("walk_machine", "two-cpus-scheduler", &machine_input(&g, false, TranslatorSpec::Linear));
    write("walk_machine", "two-cpus-offsets-in-guest", &machine_input(&g, true, TranslatorSpec::Linear));
    // A root with a sub-scheduler that has one of its own (7.2+).
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
    let root = b.attach_scheduler(0, 4);
    let sub = b.add_sub_sched(root, 0, 4);
    b.add_sub_sched(sub, 1024, 4);
    b.add_user_dsq_in(sub, 9, 2);
    write("walk_machine", "sub-schedulers", &machine_input(&b.build(), false, TranslatorSpec::Linear));
    // 6.12-6.15: the scheduler in kernel globals.
    let mut b = GuestBuilder::new(scxray_tests::kernels::globals_era(), 2, 2);
    b.attach_globals(true, 0, 4);
    let t = b.add_task(103, b"global");
    let d = b.globals_global_dsq(1);
    b.enqueue(d, t);
    b.add_user_dsq(3, 1, false);
    write("walk_machine", "globals-6.12", &machine_input(&b.build(), false, TranslatorSpec::Linear));
    write(
        "walk_machine",
        "two-cpus-x86-walk",
        &machine_input(&g, false, TranslatorSpec::X86 { cr3: 0x1000, five_level: false }),
    );

    // Hostile counts (walked under the fuzz caps, whose ceilings the counts meet): a DSQ
    // claiming u32::MAX tasks on a self-looping list, nr_threads = i32::MAX, a negative
    // nelems, a bucket chain looping back past the walk's buffer, another ending in a foreign
    // bucket's marker, and a NULL in a third.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    let root = b.attach_scheduler(0, 4);
    let dsq = b.local_dsq(0);
    let q = b.add_detached_task(7, b"q");
    b.enqueue(dsq, q);
    b.set_dsq_counts(dsq, u32::MAX, 0);
    let lnode =
        b.see(q).at(u64::from(b.layout.see.unwrap().dsq_list) + u64::from(b.layout.dsq_lnode.unwrap().node));
    b.write_u64(lnode, lnode.0);
    b.add_task(8, b"t");
    let nr_threads = b.nr_threads();
    b.write_u32(nr_threads, i32::MAX as u32);
    let (rl, hash_node) = (b.layout.rht.unwrap(), b.layout.dsq.unwrap().hash_node);
    let nelems = root.at(b.layout.sched.unwrap().dsq_hash).at(rl.nelems.unwrap());
    let mut chain: Vec<_> = (0..34).map(|i| b.add_user_dsq(i, 0, false)).collect();
    chain.reverse();
    let last = chain[33].at(hash_node).at(rl.rhash_head_next);
    b.write_u64(last, chain[3].at(hash_node).0);
    let stray = b.add_user_dsq(100, 1, false);
    let into = b.add_user_dsq(101, 2, false);
    b.write_u64(stray.at(hash_node).at(rl.rhash_head_next), into.at(hash_node).0);
    let null = b.add_user_dsq(102, 3, false);
    b.write_u64(null.at(hash_node).at(rl.rhash_head_next), 0);
    b.write_u32(nelems, u32::MAX);
    write("walk_machine", "hostile-counts", &machine_input(&b.build(), false, TranslatorSpec::Linear));

    // One CPU, no scheduler: a self-looping scx_tasks node.
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 1, 1);
    let t = b.add_task(1, b"init");
    let node = b.see(t).at(b.layout.see.unwrap().tasks_node);
    b.write_u64(node, node.0);
    write("walk_machine", "one-cpu-self-loop", &machine_input(&b.build(), false, TranslatorSpec::Linear));
}

/// Writes `v` at `at` in `mem`.
fn put(mem: &mut [u8], at: u64, v: u64) {
    let at = at as usize;
    mem[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn x86_seeds() {
    // 4-level tables at 0x1000.. mapping VA 0xffff_c900_0000_0000 -> 0x6000 (4K) and a 2M page.
    let va: u64 = 0xffff_c900_0000_0000;
    let mut mem = vec![0u8; 0x7000];
    let idx = |level: u32| (va >> (12 + 9 * level)) & 511;
    put(&mut mem, 0x1000 + idx(3) * 8, 0x2000 | 3);
    put(&mut mem, 0x2000 + idx(2) * 8, 0x3000 | 3);
    put(&mut mem, 0x3000 + idx(1) * 8, 0x4000 | 3);
    put(&mut mem, 0x3000 + (idx(1) + 1) * 8, 0x20_0000 | 0x83); // a 2 MiB page
    put(&mut mem, 0x4000 + idx(0) * 8, 0x6000 | 3);
    put(&mut mem, 0x4000 + 8, 0x4000 | 3); // a PTE pointing at its own table
    for (name, five) in [("four-level", false), ("five-level", true)] {
        let w = &mut Writer::default();
        w.bool(five);
        w.u64(0x1000);
        w.opt_u64(None); // page_offset_base
        w.opt_u64(None); // direct_map_size
        w.u64(0x100_0000); // phys_base
        w.opt_u64(None); // kernel_map_start
        w.opt_u64(None); // kernel_image_size
        w.u8(52);
        w.opt_u64(Some(0x40_0000));
        w.bool(false);
        let vas = [
            va,
            va + 0x123,
            va + 0x20_0000 + 0x1234,
            va + 0x1000,
            0xffff_8880_0000_1000,
            0xffff_ffff_8100_0000,
            0x1234,
        ];
        w.u8(vas.len() as u8);
        for v in vas {
            w.u64(v);
        }
        MemSpec::from_image(0, &mem).encode(w);
        write("translate_x86_64", name, &w.out);
    }
}

fn aarch64_seeds() {
    // 4K granule, 48-bit VA, 4 levels: VA 0xffff_0000_0000_0000 -> 0x5000 (the crate's doc
    // example), and a self-referencing table entry.
    let mut mem = vec![0u8; 0x6000];
    put(&mut mem, 0, 0x1000 | 3);
    put(&mut mem, 0x1000, 0x2000 | 3);
    put(&mut mem, 0x2000, 0x3000 | 3);
    put(&mut mem, 0x3000, 0x5000 | 0x403);
    put(&mut mem, 0x3008, 0x3000 | 3);
    // TCR_EL1: T1SZ = 16, TG1 = 4K (0b10 at bit 30), IPS = 48 bits (0b101 at bit 32).
    let tcr: u64 = 16 << 16 | 0b10 << 30 | 0b101 << 32;
    for (name, from_registers) in [("regs-4k-48", true), ("vmcoreinfo-4k-48", false)] {
        let w = &mut Writer::default();
        w.bool(from_registers);
        w.u64(0);
        w.u64(tcr);
        w.u8(0); // 4K pages
        w.u64(0); // swapper_pg_dir
        w.u8(48);
        w.bool(true);
        w.u8(16);
        w.bool(false);
        w.opt_u64(Some(0x4000_0000)); // PHYS_OFFSET
        w.bool(false);
        let vas: [u64; 5] = [
            0xffff_0000_0000_0123,
            0xffff_0000_0000_1123,
            0xffff_0000_0020_0000,
            0xffff_8000_0000_0000,
            0x1234,
        ];
        w.u8(vas.len() as u8);
        for v in vas {
            w.u64(v);
        }
        MemSpec::from_image(0, &mem).encode(w);
        write("translate_aarch64", name, &w.out);
    }
}

fn btf_seeds() {
    let blob =
        scxray_tests::btf_blob::for_layout(&debian_7_3_amd64(), scxray_tests::btf_blob::Options::default());
    let mut base = vec![0u8];
    base.extend_from_slice(&blob);
    write("btf", "kit-7.3-layout", &base);
    let none = scxray_tests::btf_blob::for_layout(
        &debian_7_3_amd64(),
        scxray_tests::btf_blob::Options { sched_ext: false },
    );
    let mut base = vec![0u8];
    base.extend_from_slice(&none);
    write("btf", "kit-no-sched-ext", &base);

    // btf_decode: the kit's BPF program, its `.bss` and its task context, each with a value.
    let prog = scxray_tests::btf_blob::BpfProgram::new();
    for (name, type_id, len) in [("kit-bss", prog.bss, 120u16), ("kit-task-ctx", prog.task_ctx, 24)] {
        let mut seed = vec![0u8];
        seed.extend_from_slice(&type_id.to_le_bytes());
        seed.extend_from_slice(&len.to_le_bytes());
        seed.push(0x8f);
        seed.extend((0..len).map(|i| (i as u8).wrapping_mul(37)));
        seed.extend_from_slice(&prog.blob);
        write("btf_decode", name, &seed);
    }
}

/// A minimal little-endian x86_64 ELF core: one PT_NOTE (VMCOREINFO and an NT_PRSTATUS)
/// and two PT_LOAD segments.
fn elf_seed() -> Vec<u8> {
    fn note(out: &mut Vec<u8>, name: &[u8], ty: u32, desc: &[u8]) {
        let namesz = name.len() + 1;
        out.extend_from_slice(&(namesz as u32).to_le_bytes());
        out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(name);
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(desc);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut notes = Vec::new();
    note(&mut notes, b"CORE", 1, &[0x11; 336]);
    note(
        &mut notes,
        b"VMCOREINFO",
        0,
        b"OSRELEASE=7.3.0\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff82a1e000\n",
    );
    let load = [0xabu8; 96];
    let phnum = 3u16;
    let data_off = 64 + 56 * u64::from(phnum);
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    out.extend_from_slice(&4u16.to_le_bytes()); // ET_CORE
    out.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // entry
    out.extend_from_slice(&64u64.to_le_bytes()); // phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // shoff
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    out.extend_from_slice(&56u16.to_le_bytes()); // phentsize
    out.extend_from_slice(&phnum.to_le_bytes());
    out.extend_from_slice(&[0u8; 6]); // shentsize, shnum, shstrndx
    let phdr = |out: &mut Vec<u8>, ty: u32, off: u64, pa: u64, len: u64| {
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for v in [off, 0, pa, len, len, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    let n = notes.len() as u64;
    phdr(&mut out, 4, data_off, 0, n);
    phdr(&mut out, 1, data_off + n, 0x1000, 64);
    phdr(&mut out, 1, data_off + n + 64, 0x1040, 32);
    out.extend_from_slice(&notes);
    out.extend_from_slice(&load);
    out
}

fn kallsyms_seed() -> Vec<u8> {
    // Memory from BASE (see the target): num_syms, names, token table, token index, offsets.
    let syms: [(&str, u32); 3] = [("T_stext", 0), ("Dscx_tasks", 0x10_0000), ("Drunqueues", 0x20_0000)];
    let mut names = Vec::new();
    for (n, _) in syms {
        names.push(n.len() as u8);
        names.extend_from_slice(n.as_bytes()); // token b = the one-byte string b
    }
    let names_off = 8u32;
    let table_off = names_off + names.len() as u32;
    let table: Vec<u8> = (0..=255u8).flat_map(|b| [b, 0]).collect();
    let index_off = table_off + table.len() as u32;
    let index: Vec<u8> = (0..256u16).flat_map(|i| (i * 2).to_le_bytes()).collect();
    let offsets_off = index_off + index.len() as u32;
    let mut mem = Vec::new();
    mem.extend_from_slice(&(syms.len() as u32).to_le_bytes());
    mem.extend_from_slice(&[0; 4]);
    mem.extend_from_slice(&names);
    mem.extend_from_slice(&table);
    mem.extend_from_slice(&index);
    for (_, o) in syms {
        mem.extend_from_slice(&o.to_le_bytes());
    }
    let stext_off = 0x40_0000u32; // _stext lies beyond the tables: only its address matters
    let w = &mut Writer::default();
    for o in [names_off, 0, table_off, index_off, offsets_off, stext_off] {
        w.u32(o);
    }
    w.bytes(&mem);
    w.out.clone()
}

/// walk_bpf: the kit's qmap-like guest (ID tables, a scheduler's struct_ops map, every map
/// type, an arena with its free-range tree, ten tasks on arena FIFOs), whole; and the same
/// under small caps, without statistics, on a layout without the free-range tree.
fn walk_bpf_seeds() {
    use scxray_fuzz::BpfInput;
    let (g, q) = scxray_tests::bpf::qmap_machine();
    let input = BpfInput {
        layout: g.layout,
        bpf: g.layout.bpf,
        symbols: q.symbols,
        sched: (q.sched.0, q.sched.0),
        page_size: 4096,
        offsets: g.per_cpu_offsets[..4].to_vec(),
        limits: scxray_core::BpfLimits::DEFAULT,
        ranges: g.ranges.clone(),
        tasks: q.waiting().iter().map(|&(t, p)| (t.0, p)).collect(),
        btf: (q.btf.0, q.prog.blob.clone()),
        mem: MemSpec::from_image(g.mem_base, &g.mem),
    };
    let bytes = input.encode();
    let back = BpfInput::decode(&bytes);
    assert_eq!(
        (back.bpf, back.tasks.len(), back.mem.segments.len()),
        (g.layout.bpf, 13, input.mem.segments.len())
    );
    write("walk_bpf", "qmap-arena", &bytes);
    let mut small = input.clone();
    small.limits = scxray_core::BpfLimits {
        elems: scxray_core::Cap::Fixed(2),
        links: 2,
        chain: 1,
        ids: 5,
        ..scxray_core::BpfLimits::DEFAULT
    };
    small.symbols.stats_enabled_key = None;
    if let Some(a) = small.bpf.arena.as_mut() {
        a.free = None;
    }
    write("walk_bpf", "qmap-small-caps-no-tree", &small.encode());
}

fn main() {
    walk_machine_seeds();
    walk_bpf_seeds();
    x86_seeds();
    aarch64_seeds();
    btf_seeds();
    write("elf_core", "x86-notes-two-loads", &elf_seed());
    write(
        "vmcoreinfo",
        "x86-7.3",
        b"OSRELEASE=7.3.4+deb13-cloud-amd64\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffffa8a1e000\n\
NUMBER(phys_base)=-1767899136\nKERNELOFFSET=26600000\nNUMBER(pgtable_l5_enabled)=1\nNUMBER(kimage_voffset)=0xffff7fff4fe00000\n",
    );
    write("kallsyms", "three-symbols", &kallsyms_seed());
    kdump_seeds();
}

/// Small kdump-compressed cores: 1 KiB blocks, a page of VMCOREINFO text, a zero page, two
/// patterned pages around a hole, a VMCOREINFO note; each compression, and one flattened.
/// And LZO1X streams of patterned pages for the decoder alone.
fn kdump_seeds() {
    use scxray_tests::kdump::{Compression, KdumpSpec, Memory, write_kdump_of};
    let vi = "OSRELEASE=7.3.4+deb13-cloud-amd64\nPAGESIZE=4096\nKERNELOFFSET=26600000\n";
    let mut text = vi.as_bytes().to_vec();
    text.resize(1024, 0);
    let zero = vec![0u8; 1024];
    let pattern: Vec<u8> = (0..2048u32).map(|i| (i % 61) as u8 ^ (i >> 8) as u8).collect();
    let mut notes = Vec::new();
    notes.extend_from_slice(&11u32.to_le_bytes());
    notes.extend_from_slice(&(vi.len() as u32).to_le_bytes());
    notes.extend_from_slice(&0u32.to_le_bytes());
    notes.extend_from_slice(b"VMCOREINFO\0\0");
    notes.extend_from_slice(vi.as_bytes());
    while !notes.len().is_multiple_of(4) {
        notes.push(0);
    }
    let segments: Vec<(u64, &[u8])> =
        vec![(0, &text), (1024, &zero), (2048, &pattern), (6144, &pattern[..1024])];
    let m = Memory {
        segments: &segments,
        page: 1024,
        notes: &notes,
        vmcoreinfo: vi,
        release: "7.3.4+deb13-cloud-amd64",
        nr_cpus: 1,
        phys_base: 0,
    };
    for (c, flattened) in [
        (Compression::Zlib, false),
        (Compression::Zlib, true),
        (Compression::Lzo, false),
        (Compression::Snappy, false),
        (Compression::Zstd, false),
        (Compression::None, false),
    ] {
        let spec = KdumpSpec { compression: c, flattened, ..KdumpSpec::default() };
        let name = format!("{c:?}{}", if flattened { "-flattened" } else { "" }).to_lowercase();
        write("kdump", &name, &write_kdump_of(&m, &spec));
    }
    for (i, len) in [1024usize, 4096].into_iter().enumerate() {
        let page: Vec<u8> = pattern.iter().cycle().take(len).copied().collect();
        write("lzo", &format!("pattern-{i}"), &Compression::Lzo.compress(&page).unwrap());
    }
}
