//! A synthetic guest written as a real ELF64 core file, as QEMU's `dump-guest-memory`
//! (`paging=false`) writes one: `ET_CORE`, one `PT_NOTE` (the `VMCOREINFO` note, one
//! `NT_PRSTATUS` per vCPU and, on x86_64, one `"QEMU"` CPU-state note per vCPU carrying
//! CR3/CR4), and `PT_LOAD` segments by physical address with a hole between two of them.
//! Before writing, real page tables are laid out in the guest ([`crate::pagetables`]) so
//! that every kernel address the kit made translates through the architecture's rules, and
//! the kernel variables a dump tool reads (`nr_cpu_ids`, `page_offset_base`, ...) are put in
//! the image. The System.map (link-time addresses) and a raw BTF of the layout come along.

use crate::pagetables::Tables;
use crate::scheme::{AddressScheme, Paging, X86_START_KERNEL_MAP};
use crate::{GuestBuilder, KitAddr, RUNQUEUES_OFF, TestGuest, btf_blob, system_map};
use scxray_core::VirtAddr;
use std::collections::BTreeMap;

/// `EM_X86_64`.
pub const EM_X86_64: u16 = 62;
/// `EM_AARCH64`.
pub const EM_AARCH64: u16 = 183;
/// ELF header size.
pub const EHDR_SIZE: usize = 64;
/// Program header size.
pub const PHDR_SIZE: usize = 56;
/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PT_NOTE`.
pub const PT_NOTE: u32 = 4;
/// Size of x86_64's `struct elf_prstatus`.
const PRSTATUS_X86: usize = 336;
/// Size of arm64's `struct elf_prstatus`.
const PRSTATUS_ARM64: usize = 392;
/// `pr_reg` offset in `elf_prstatus`.
const PR_REG: usize = 112;
/// QEMU's x86 `QEMUCPUState`: version and size, 18 registers, 10 segments of 24 bytes,
/// cr[5], kernel_gs_base.
const QEMU_CPU_STATE: usize = 8 + 18 * 8 + 10 * 24 + 5 * 8 + 8;
/// Offset of `cr[0]` in it.
const QEMU_CR0: usize = 8 + 18 * 8 + 10 * 24;
/// CR4 bits: PAE, PGE, OSFXSR, OSXMMEXCPT; LA57 is bit 12.
const CR4_BASE: u64 = (1 << 5) | (1 << 7) | (1 << 9) | (1 << 10);
/// `CR4.LA57`.
pub const CR4_LA57: u64 = 1 << 12;
/// Program counter written in every vCPU's NT_PRSTATUS (an address in the image).
const PC_OFF: u64 = 0x1234;

/// What to write besides the guest itself.
#[derive(Debug, Clone)]
pub struct CoreSpec {
    /// `OSRELEASE`.
    pub release: String,
    /// `scx_enable_state_var` (an `enum scx_enable_state` value; 1 = `SCX_ENABLED`).
    pub enable_state: u32,
    /// The BTF blob's options.
    pub btf: btf_blob::Options,
    /// Write x86_64 `"QEMU"` notes with CR3/CR4 (else the CLI must use VMCOREINFO's
    /// `init_top_pgt`, `phys_base` and `pgtable_l5_enabled`).
    pub qemu_notes: bool,
    /// Copy the BTF into the image between `__start_BTF` and `__stop_BTF`.
    pub btf_in_image: bool,
    /// Write the kernel's kallsyms tables into the image and export them in VMCOREINFO
    /// (`SYMBOL(kallsyms_names)`, ...), as Linux 6.0+ does. Needs every symbol within 2 GiB
    /// of the tables (the PC-relative `kallsyms_offsets` of 7.x): image-based per-CPU.
    pub kallsyms: bool,
    /// Write the VMCOREINFO note.
    pub vmcoreinfo_note: bool,
    /// Also put the VMCOREINFO text in memory (a direct-map page), where a core without the
    /// note is searched.
    pub vmcoreinfo_in_memory: bool,
}

impl Default for CoreSpec {
    fn default() -> Self {
        Self {
            release: "7.3.4+deb13-synthetic".into(),
            enable_state: 1,
            btf: btf_blob::Options::default(),
            qemu_notes: true,
            btf_in_image: false,
            kallsyms: false,
            vmcoreinfo_note: true,
            vmcoreinfo_in_memory: false,
        }
    }
}

/// One `PT_LOAD` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Physical address.
    pub pa: u64,
    /// Length.
    pub len: u64,
    /// File offset of its data.
    pub offset: u64,
    /// Index of its program header.
    pub phdr: usize,
}

/// The files of one synthetic guest, and what went into them.
#[derive(Debug)]
pub struct CoreFiles {
    /// The ELF core.
    pub core: Vec<u8>,
    /// `System.map` text (link-time addresses).
    pub system_map: String,
    /// Raw BTF.
    pub btf: Vec<u8>,
    /// The VMCOREINFO note's text.
    pub vmcoreinfo: String,
    /// Runtime (KASLR-applied) addresses of the symbols written.
    pub symbols: BTreeMap<String, u64>,
    /// The PT_LOAD segments.
    pub segments: Vec<Segment>,
    /// Physical address of the page-table root (CR3 / TTBR1's table).
    pub root: u64,
    /// The scheme the guest was written with.
    pub scheme: AddressScheme,
    /// The guest, for the kit's own walk and for checks through translators.
    pub guest: TestGuest,
}

impl CoreFiles {
    /// File offset of program header `i`'s `p_filesz`.
    pub fn phdr_filesz_offset(i: usize) -> usize {
        EHDR_SIZE + i * PHDR_SIZE + 32
    }

    /// The core's file offset of physical `pa`, `None` outside every segment (the hole).
    pub fn file_offset(&self, pa: u64) -> Option<usize> {
        let s = self.segments.iter().find(|s| pa.wrapping_sub(s.pa) < s.len)?;
        usize::try_from(s.offset + (pa - s.pa)).ok()
    }

    /// Overwrites the u64 at kit address `kva` in the written core (to damage the guest
    /// after the fact).
    pub fn patch_u64(&mut self, kva: u64, v: u64) {
        let at = self.file_offset(self.guest.map.pa(kva)).expect("kva in a segment");
        self.core[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
}

impl GuestBuilder {
    /// Writes `scx_root->ops.name` (requires [`GuestBuilder::attach_scheduler`]).
    pub fn set_ops_name(&mut self, name: &str) {
        assert!(name.len() < btf_blob::OPS_NAME_LEN as usize);
        let at = self.sched().at(btf_blob::SCHED_OPS_OFF + btf_blob::OPS_NAME_OFF);
        self.write(at, name.as_bytes());
    }

    /// Sets `ops.name` of the (sub-)scheduler at `sched` (`&scx_ops` for the globals).
    pub fn set_ops_name_of(&mut self, sched: VirtAddr, name: &str) {
        assert!(name.len() < btf_blob::OPS_NAME_LEN as usize);
        let off = if self.globals().is_some() { 0 } else { btf_blob::SCHED_OPS_OFF };
        self.write(sched.at(off + btf_blob::OPS_NAME_OFF), name.as_bytes());
    }

    /// Points `scx_sched.cgrp_path` of `sched` at a fresh copy of `path`.
    pub fn set_cgroup_path(&mut self, sched: VirtAddr, path: &str) {
        let s = self.alloc(path.len() as u64 + 1, 8);
        self.write(s, path.as_bytes());
        self.write_u64(sched.at(btf_blob::SCHED_CGRP_PATH_OFF), s.0);
    }

    /// Sets `scx_sched.aborting` and `scx_sched.bypass_depth`.
    pub fn set_sched_scalars(&mut self, aborting: bool, bypass_depth: i32) {
        let sl = self.layout.sched.unwrap();
        let s = self.sched().0;
        if let Some(off) = sl.aborting {
            self.write_u8(VirtAddr(s + u64::from(off)), u8::from(aborting));
        }
        if let Some(off) = sl.bypass_depth {
            self.write_i32(VirtAddr(s + u64::from(off)), bypass_depth);
        }
    }

    /// Writes kallsyms tables for `symbols` (runtime addresses) into the image, in the format
    /// of `scripts/kallsyms.c` without compression: token `i` is the single byte `i`, each name
    /// is a length byte and the bytes of the type character and the name, in address order;
    /// `kallsyms_offsets[i]` is the symbol's distance from the entry itself (7.x), and
    /// `kallsyms_seqs_of_names` right after it lists the symbols by name (3 bytes each, most
    /// significant first). Returns the tables' addresses by symbol name, for VMCOREINFO.
    fn write_kallsyms(&mut self, symbols: &BTreeMap<String, u64>) -> Vec<(&'static str, u64)> {
        let mut entries: Vec<(&String, u64)> = symbols.iter().map(|(n, &a)| (n, a)).collect();
        entries.sort_by_key(|&(n, a)| (a, n));
        let mut names = Vec::new();
        for (n, _) in &entries {
            let ty = if n.starts_with('_') && n.ends_with("text") { b'T' } else { b'D' };
            names.push(u8::try_from(n.len() + 1).unwrap());
            names.push(ty);
            names.extend_from_slice(n.as_bytes());
        }
        let mut table = Vec::new();
        let mut index = Vec::new();
        for i in 0..=255u8 {
            index.extend_from_slice(&u16::try_from(table.len()).unwrap().to_le_bytes());
            table.extend_from_slice(&[i, 0]);
        }
        let num = self.alloc_image_aligned(8, 8);
        self.write_u32(num, u32::try_from(entries.len()).unwrap());
        // Names directly followed by the token table: its length is the distance between them.
        let names_va = self.alloc_image_aligned(names.len() as u64, 8);
        self.write(names_va, &names);
        let table_va = self.alloc_image_aligned(table.len() as u64, 8);
        self.write(table_va, &table);
        let index_va = self.alloc_image_aligned(index.len() as u64, 8);
        self.write(index_va, &index);
        let offsets_va = self.alloc_image_aligned(4 * entries.len() as u64, 8);
        for (i, (n, a)) in entries.iter().enumerate() {
            let at = offsets_va.at(4 * i as u64);
            let rel = i32::try_from(a.wrapping_sub(at.0) as i64)
                .unwrap_or_else(|_| panic!("{n} at {a:#x} is beyond kallsyms_offsets' reach"));
            self.write(at, &rel.to_le_bytes());
        }
        // By name, then address (the order the kernel's binary search relies on).
        let mut by_name: Vec<usize> = (0..entries.len()).collect();
        by_name.sort_by_key(|&i| (entries[i].0, entries[i].1, i));
        let seqs: Vec<u8> =
            by_name.iter().flat_map(|&i| u32::try_from(i).unwrap().to_be_bytes()[1..].to_vec()).collect();
        let seqs_va = self.alloc_image_aligned(seqs.len() as u64, 1);
        assert_eq!(
            seqs_va.0,
            offsets_va.0 + 4 * entries.len() as u64,
            "seqs_of_names right after the offsets"
        );
        self.write(seqs_va, &seqs);
        vec![
            ("kallsyms_names", names_va.0),
            ("kallsyms_num_syms", num.0),
            ("kallsyms_token_table", table_va.0),
            ("kallsyms_token_index", index_va.0),
            ("kallsyms_offsets", offsets_va.0),
        ]
    }

    /// A zeroed kernel-image variable of `size` bytes, named `name` in the System.map (and the
    /// kallsyms tables) the core writer makes.
    pub fn image_var(&mut self, name: &'static str, size: u64) -> VirtAddr {
        let va = self.alloc_image(size);
        self.image_vars.push((name, va));
        va
    }

    /// Writes page tables rooted at the zeroed, page-aligned frame `root` that map
    /// everything the kit made, as the kernel maps it: the image window and the direct map
    /// with blocks where they fit, every vmalloc page with a page. Table frames are taken
    /// from the guest's allocator (48 reserved up front, before the direct map is sized).
    pub fn map_kernel(&mut self, root: u64) -> Tables {
        let scheme = self.map.scheme.clone();
        let mut t = Tables::new(self, scheme.paging, scheme.lpa, root, 48);
        t.map_range(self, scheme.image_va, scheme.image_pa, scheme.image_size);
        let vmalloc: Vec<(u64, u64)> = self.map.vmalloc_pages.iter().map(|(&v, &p)| (v, p)).collect();
        for (va, pa) in vmalloc {
            t.map(self, va, pa, t.geo.levels - 1);
        }
        let block = t.geo.block();
        let end = self.mem_end().next_multiple_of(block);
        let base = scheme.mem_base - scheme.mem_base % block;
        t.map_range(self, scheme.direct_va(base), base, end - base);
        t
    }

    /// Lays out page tables and kernel variables, and writes the guest as an ELF core with
    /// its System.map and BTF.
    pub fn write_core(mut self, spec: &CoreSpec) -> CoreFiles {
        let scheme = self.map.scheme.clone();
        let btf = btf_blob::for_layout(&self.layout, spec.btf);

        // Kernel variables.
        let nr_cpus = self.nr_cpus;
        let nr_nodes = self.nr_nodes;
        let v = self.image_var("nr_cpu_ids", 4);
        self.write_u32(v, nr_cpus);
        let v = self.image_var("nr_node_ids", 4);
        self.write_u32(v, nr_nodes);
        // A kernel with the 6.12-6.15 globals has its own enable state variable, no scx_root.
        let globals = self.globals().is_some();
        if !globals {
            let v = self.image_var("scx_enable_state_var", 4);
            self.write_u32(v, spec.enable_state);
        }
        if matches!(scheme.paging, Paging::X86 { .. }) {
            let v = self.image_var("page_offset_base", 8);
            self.write_u64(v, scheme.direct_map);
            let v = self.image_var("vmalloc_base", 8);
            self.write_u64(v, scheme.vmalloc.unwrap_or(0));
        }
        if spec.btf_in_image {
            let start = self.alloc_image_aligned(btf.len() as u64, 4096);
            self.write(start, &btf);
            self.image_vars.push(("__start_BTF", start));
            self.image_vars.push(("__stop_BTF", start.at(btf.len() as u64)));
        }

        // Page tables: the root in the image (init_top_pgt / swapper_pg_dir).
        let page = scheme.page();
        let root_va = self.alloc_image_aligned(page, page);
        let root = self.pa(root_va);
        let root_name = match scheme.paging {
            Paging::X86 { .. } => "init_top_pgt",
            Paging::Aarch64 { .. } => "swapper_pg_dir",
        };
        self.image_vars.push((root_name, root_va));
        // Symbols, at runtime addresses.
        let mut symbols = BTreeMap::new();
        let image_end = scheme.image_va + scheme.image_size;
        for (n, a) in [
            ("_text", scheme.image_va),
            ("_stext", scheme.image_va),
            ("_end", image_end),
            ("__per_cpu_offset", self.per_cpu_offset_kva.0),
            ("scx_tasks", self.scx_tasks.0),
            ("__per_cpu_start", scheme.percpu_base),
            ("runqueues", scheme.percpu_base.wrapping_add(RUNQUEUES_OFF)),
        ] {
            symbols.insert(n.to_owned(), a);
        }
        if !globals {
            symbols.insert("scx_root".to_owned(), self.scx_root.0);
        }
        for (n, a) in &self.image_vars {
            symbols.insert((*n).to_owned(), a.0);
        }
        let x86 = matches!(scheme.paging, Paging::X86 { .. });
        let map_syms: Vec<(String, char, u64)> = symbols
            .iter()
            .map(|(n, &a)| {
                // x86_64 per-CPU symbols are zero-based offsets, which KASLR does not move.
                let link = if x86 && a < X86_START_KERNEL_MAP { a } else { scheme.link_addr(a) };
                let ty = match n.as_str() {
                    "_text" | "_stext" => 'T',
                    "_end" => 'B',
                    _ => 'D',
                };
                (n.clone(), ty, link)
            })
            .collect();
        let system_map = system_map::render(&map_syms, scheme.link_addr(scheme.image_va));
        let kallsyms = spec.kallsyms.then(|| self.write_kallsyms(&symbols));
        // The kernel's vmcoreinfo_data: a zeroed page of the direct map.
        let vi_page = spec.vmcoreinfo_in_memory.then(|| self.alloc(page, page));

        self.map_kernel(root);

        // VMCOREINFO, in the kernel's formats.
        let mut vi =
            format!("OSRELEASE={}\nPAGESIZE={page}\nSYMBOL(_stext)={:x}\n", spec.release, scheme.image_va);
        match scheme.paging {
            Paging::X86 { levels } => {
                vi += &format!(
                    "SYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\nNUMBER(pgtable_l5_enabled)={}\n",
                    root_va.0,
                    scheme.phys_base as i64,
                    u32::from(levels == 5)
                );
            }
            Paging::Aarch64 { va_bits, .. } => {
                vi += &format!(
                    "SYMBOL(swapper_pg_dir)={:x}\nNUMBER(VA_BITS)={va_bits}\nNUMBER(kimage_voffset)={:#x}\n\
                     NUMBER(PHYS_OFFSET)={:#x}\nNUMBER(TCR_EL1_T1SZ)={:#x}\nNUMBER(MAX_PHYSMEM_BITS)={}\n",
                    root_va.0,
                    scheme.kimage_voffset(),
                    scheme.phys_offset,
                    64 - va_bits,
                    if scheme.lpa { 52 } else { 48 }
                );
            }
        }
        if let Some(k) = &kallsyms {
            for (n, a) in k {
                vi += &format!("SYMBOL({n})={a:x}\n");
            }
        }
        vi += &format!("KERNELOFFSET={:x}\n", scheme.kaslr_offset);
        if let Some(at) = vi_page {
            self.write(at, vi.as_bytes());
        }

        // Notes.
        let machine = if x86 { EM_X86_64 } else { EM_AARCH64 };
        let mut notes = Vec::new();
        if spec.vmcoreinfo_note {
            push_note(&mut notes, b"VMCOREINFO", 0, vi.as_bytes());
        }
        for cpu in 0..nr_cpus {
            let mut d = vec![0u8; if x86 { PRSTATUS_X86 } else { PRSTATUS_ARM64 }];
            d[32..36].copy_from_slice(&(cpu + 1).to_le_bytes()); // pr_pid
            let pc_reg = if x86 { 16 } else { 32 };
            let at = PR_REG + pc_reg * 8;
            d[at..at + 8].copy_from_slice(&(scheme.image_va + PC_OFF).to_le_bytes());
            push_note(&mut notes, b"CORE", 1, &d);
        }
        if x86 && spec.qemu_notes {
            let levels = if let Paging::X86 { levels } = scheme.paging { levels } else { 4 };
            let cr4 = CR4_BASE | if levels == 5 { CR4_LA57 } else { 0 };
            for _ in 0..nr_cpus {
                let mut d = vec![0u8; QEMU_CPU_STATE];
                d[0..4].copy_from_slice(&1u32.to_le_bytes());
                d[4..8].copy_from_slice(&(QEMU_CPU_STATE as u32).to_le_bytes());
                let cr = |i: usize| QEMU_CR0 + i * 8;
                d[cr(0)..cr(0) + 8].copy_from_slice(&0x8005_0033_u64.to_le_bytes());
                d[cr(3)..cr(3) + 8].copy_from_slice(&root.to_le_bytes());
                d[cr(4)..cr(4) + 8].copy_from_slice(&cr4.to_le_bytes());
                push_note(&mut notes, b"QEMU", 0, &d);
            }
        }

        // Segments: the memory, minus the hole.
        let mem_end = self.mem_end();
        let mut ranges = Vec::new();
        match &scheme.hole {
            Some(h) if h.start > scheme.mem_base && h.end < mem_end => {
                ranges.push((scheme.mem_base, h.start));
                ranges.push((h.end, mem_end));
            }
            _ => ranges.push((scheme.mem_base, mem_end)),
        }
        let phnum = 1 + ranges.len();
        let notes_off = EHDR_SIZE + phnum * PHDR_SIZE;
        let mut data_off = (notes_off + notes.len()).next_multiple_of(4096) as u64;
        let mut segments = Vec::new();
        for (i, &(s, e)) in ranges.iter().enumerate() {
            segments.push(Segment { pa: s, len: e - s, offset: data_off, phdr: 1 + i });
            data_off += e - s;
        }

        let mut core = Vec::with_capacity(usize::try_from(data_off).unwrap());
        // ELF header.
        core.extend_from_slice(b"\x7fELF");
        core.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version 1, SysV
        core.extend_from_slice(&[0; 8]);
        core.extend_from_slice(&4u16.to_le_bytes()); // ET_CORE
        core.extend_from_slice(&machine.to_le_bytes());
        core.extend_from_slice(&1u32.to_le_bytes());
        core.extend_from_slice(&0u64.to_le_bytes()); // e_entry
        core.extend_from_slice(&(EHDR_SIZE as u64).to_le_bytes()); // e_phoff
        core.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        core.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        core.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        core.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        core.extend_from_slice(&u16::try_from(phnum).unwrap().to_le_bytes());
        core.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
        core.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        core.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
        assert_eq!(core.len(), EHDR_SIZE);
        push_phdr(&mut core, PT_NOTE, 0, notes_off as u64, 0, 0, notes.len() as u64);
        for s in &segments {
            push_phdr(&mut core, PT_LOAD, 7, s.offset, 0, s.pa, s.len);
        }
        core.extend_from_slice(&notes);
        for s in &segments {
            core.resize(usize::try_from(s.offset).unwrap(), 0);
            let i = usize::try_from(s.pa - scheme.mem_base).unwrap();
            core.extend_from_slice(&self.mem[i..i + usize::try_from(s.len).unwrap()]);
        }

        let guest = self.build();
        CoreFiles { core, system_map, btf, vmcoreinfo: vi, symbols, segments, root, scheme, guest }
    }
}

fn push_note(out: &mut Vec<u8>, name: &[u8], ty: u32, desc: &[u8]) {
    out.extend_from_slice(&u32::try_from(name.len() + 1).unwrap().to_le_bytes());
    out.extend_from_slice(&u32::try_from(desc.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(name);
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

fn push_phdr(out: &mut Vec<u8>, ty: u32, flags: u32, offset: u64, vaddr: u64, paddr: u64, size: u64) {
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    for v in [offset, vaddr, paddr, size, size, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A minimal ELF64 file header (no program headers, no sections) for `machine`: enough for
/// a file to be recognised as an ELF of that machine and nothing more.
pub fn tiny_elf_header(machine: u16, e_type: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(EHDR_SIZE);
    h.extend_from_slice(b"\x7fELF");
    h.extend_from_slice(&[2, 1, 1, 0]);
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&e_type.to_le_bytes());
    h.extend_from_slice(&machine.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&[0; 24]); // entry, phoff, shoff
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    h.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&[0; 4]);
    h
}

/// A minimal vmlinux: an `ET_EXEC` ELF64 for `machine` with a `.data` section holding
/// `linux_banner` ("Linux version `release` ..."), a `.BTF` section with `btf`, and a symbol
/// table naming `linux_banner`.
pub fn tiny_vmlinux(machine: u16, release: &str, btf: &[u8]) -> Vec<u8> {
    const DATA_ADDR: u64 = 0xffff_ffff_8200_0000;
    let banner = format!("Linux version {release} (synthetic@kit) (gcc 14) #1 SMP PREEMPT_DYNAMIC\n\0");
    let shstrtab = b"\0.data\0.BTF\0.symtab\0.strtab\0.shstrtab\0";
    let name_at = |n: &str| {
        let hay = shstrtab.as_slice();
        let needle = [n.as_bytes(), b"\0"].concat();
        hay.windows(needle.len()).position(|w| w == needle.as_slice()).unwrap() as u32
    };
    let strtab = b"\0linux_banner\0";
    // Elf64_Sym: name, info, other, shndx, value, size.
    let mut symtab = vec![0u8; 24];
    symtab.extend_from_slice(&1u32.to_le_bytes());
    symtab.push((1 << 4) | 1); // STB_GLOBAL, STT_OBJECT
    symtab.push(0);
    symtab.extend_from_slice(&1u16.to_le_bytes()); // .data
    symtab.extend_from_slice(&DATA_ADDR.to_le_bytes());
    symtab.extend_from_slice(&(banner.len() as u64).to_le_bytes());

    let mut out = tiny_elf_header(machine, 2);
    let place = |bytes: &[u8], out: &mut Vec<u8>| {
        out.resize(out.len().next_multiple_of(8), 0);
        let off = out.len() as u64;
        out.extend_from_slice(bytes);
        (off, bytes.len() as u64)
    };
    let data = place(banner.as_bytes(), &mut out);
    let btf_s = place(btf, &mut out);
    let sym = place(&symtab, &mut out);
    let str_s = place(strtab, &mut out);
    let shs = place(shstrtab, &mut out);
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len() as u64;
    // Section headers: name, type, flags, addr, offset, size, link, info, align, entsize.
    let mut sh = |name: u32,
                  ty: u32,
                  flags: u64,
                  addr: u64,
                  (off, size): (u64, u64),
                  link: u32,
                  info: u32,
                  ent: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&link.to_le_bytes());
        out.extend_from_slice(&info.to_le_bytes());
        out.extend_from_slice(&8u64.to_le_bytes());
        out.extend_from_slice(&ent.to_le_bytes());
    };
    sh(0, 0, 0, 0, (0, 0), 0, 0, 0);
    sh(name_at(".data"), 1, 3, DATA_ADDR, data, 0, 0, 0);
    sh(name_at(".BTF"), 1, 0, 0, btf_s, 0, 0, 0);
    sh(name_at(".symtab"), 2, 0, 0, sym, 4, 1, 24);
    sh(name_at(".strtab"), 3, 0, 0, str_s, 0, 0, 0);
    sh(name_at(".shstrtab"), 3, 0, 0, shs, 0, 0, 0);
    out[40..48].copy_from_slice(&shoff.to_le_bytes()); // e_shoff
    out[60..62].copy_from_slice(&6u16.to_le_bytes()); // e_shnum
    out[62..64].copy_from_slice(&5u16.to_le_bytes()); // e_shstrndx
    out
}
