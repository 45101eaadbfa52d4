//! # scxray-tests: the synthetic-guest test kit
//!
//! [`GuestBuilder`] lays out real kernel structures (per-CPU `struct rq` reached through
//! `__per_cpu_offset`, tasks with `sched_ext_entity`, DSQ lists with cursor nodes, a
//! `dsq_hash` rhashtable with lock-bit heads and nulls terminators, the `scx_tasks` list, a
//! root `scx_sched`) in a byte image at the member offsets of a real kernel's BTF, so the
//! walkers can be tested rule by rule without booting one.
//!
//! Address scheme: by default (x86_64-like) the direct map `DIRECT_MAP + pa` covers all of
//! the image, and a kernel-image window `KERNEL_IMAGE + (pa - IMAGE_PA)` holds the static
//! symbols. [`GuestBuilder::with_scheme`] takes another [`AddressScheme`]: x86_64 or arm64
//! under KASLR, with a vmalloc-like window reached only through page tables.
//!
//! The guest can be written as a real ELF core ([`elf_core`]: VMCOREINFO and CPU notes,
//! PT_LOAD segments with a hole, page tables from [`pagetables`]) with a System.map
//! ([`system_map`]) and a raw BTF of its layout ([`btf_blob`]), for the CLI's end-to-end tests.

pub mod bpf;
pub mod btf_blob;
pub mod elf_core;
pub mod kdump;
pub mod kernels;
pub mod pagetables;
pub mod record;
pub mod scheme;
pub mod system_map;

use scxray_core::{
    AddressKind, FlatImage, Guest, KernelSymbols, Layout, Limits, LinearRange, LinearTranslator, MemError,
    PerCpuOffsets, PhysAddr, PhysMem, SampleSpec, SchedGlobals, VirtAddr,
};
use scxray_core::{EventStatsAt, WatchdogTimeoutAt};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;

pub use record::Recorder;

/// Address arithmetic for building and poking guests: `kva.at(off)` is the address `off`
/// bytes past `kva`. An overflow panics: it is a bug in a test, never guest data (the
/// walkers' own arithmetic is checked and names the field: `VirtAddr::member`).
pub trait KitAddr {
    /// `self + off`.
    #[must_use]
    fn at(self, off: impl Into<u64>) -> Self;
}

impl KitAddr for VirtAddr {
    fn at(self, off: impl Into<u64>) -> Self {
        let off = off.into();
        self.checked_add(off).unwrap_or_else(|| panic!("kit address {self:?} + {off:#x} overflows"))
    }
}
pub use scheme::AddressScheme;

/// Base of the direct map (x86_64's default `page_offset_base`).
pub const DIRECT_MAP: u64 = 0xffff_8880_0000_0000;
/// Base of the kernel-image window (`__START_KERNEL_map`).
pub const KERNEL_IMAGE: u64 = 0xffff_ffff_8000_0000;
/// Physical address where the kernel-image window starts.
pub const IMAGE_PA: u64 = 0x10_0000;
/// Size of the kernel-image window.
pub const IMAGE_SIZE: u64 = 0x10_0000;
/// Size of one CPU's per-CPU area.
pub const PERCPU_AREA: u64 = 0x2_0000;
/// `runqueues`: a per-CPU symbol, i.e. an offset inside each CPU's per-CPU area.
pub const RUNQUEUES_OFF: u64 = 0x1000;
/// Where `scx_sched.pcpu` points inside each per-CPU area.
pub const SCHED_PCPU_OFF: u64 = 0x8000;
/// 6.15's per-CPU `event_stats_cpu` inside each per-CPU area.
pub const EVENT_STATS_OFF: u64 = 0x7000;
/// Per-CPU bytes each further `scx_sched` (a sub-scheduler) takes after the first's.
pub const SCHED_PCPU_STRIDE: u64 = 0x200;
/// Unused zero slots after the last CPU's `__per_cpu_offset` (NR_CPUS > nr_cpu_ids).
pub const OFFSET_TAIL_SLOTS: u32 = 4;

/// `SCX_DSQ_LOCAL`.
pub const SCX_DSQ_LOCAL: u64 = 0x8000_0000_0000_0002;
/// `SCX_DSQ_GLOBAL`.
pub const SCX_DSQ_GLOBAL: u64 = 0x8000_0000_0000_0001;
/// `SCX_DSQ_BYPASS`.
pub const SCX_DSQ_BYPASS: u64 = 0x8000_0000_0000_0003;

/// Struct sizes the builder allocates (7.3 amd64).
pub mod sizes {
    /// `struct rq`.
    pub const RQ: u64 = 4736;
    /// `struct task_struct`.
    pub const TASK: u64 = 6144;
    /// `struct scx_dispatch_q`.
    pub const DSQ: u64 = 104;
    /// `struct scx_sched`.
    pub const SCHED: u64 = 1224;
    /// `struct scx_sched_pnode`.
    pub const SCHED_PNODE: u64 = 104;
    /// `struct scx_dsq_list_node`.
    pub const DSQ_LNODE: u64 = 24;
    /// `struct sched_ext_entity`.
    pub const SEE: u64 = 272;
    /// `struct bucket_table` header.
    pub const BUCKET_TABLE: u64 = 64;
}

/// The physical address of a kit-made kernel virtual address under the default scheme.
pub fn pa_of(kva: VirtAddr) -> u64 {
    AddressScheme::default().pa_linear(kva.0).expect("not a kit address")
}

/// How a guest's kernel virtual addresses map to its physical memory: the scheme's linear
/// windows plus the pages mapped in its vmalloc-like window (page walk only).
#[derive(Debug, Clone, Default)]
pub struct KitMap {
    /// The scheme.
    pub scheme: AddressScheme,
    /// vmalloc page (VA) -> physical page.
    pub vmalloc_pages: BTreeMap<u64, u64>,
}

impl KitMap {
    /// The physical address of `kva`, `None` when the kit never mapped it.
    pub fn try_pa(&self, kva: u64) -> Option<u64> {
        if let Some(pa) = self.scheme.pa_linear(kva) {
            return Some(pa);
        }
        let page = kva & !(self.scheme.page() - 1);
        self.vmalloc_pages.get(&page).map(|pa| pa + (kva - page))
    }

    /// The physical address of `kva`; panics for an address the kit did not make.
    pub fn pa(&self, kva: u64) -> u64 {
        self.try_pa(kva).unwrap_or_else(|| panic!("{kva:#x} is not a kit address"))
    }
}

/// Builds a synthetic guest image.
#[derive(Debug)]
pub struct GuestBuilder {
    mem: Vec<u8>,
    map: KitMap,
    next_pa: u64,
    next_image_pa: u64,
    next_vmalloc: u64,
    /// The layout the structures are laid out with (and the walkers get).
    pub layout: Layout,
    nr_cpus: u32,
    nr_nodes: u32,
    per_cpu_offsets: Vec<u64>,
    per_cpu_offset_kva: VirtAddr,
    scx_root: VirtAddr,
    scx_tasks: VirtAddr,
    /// The kernel's `nr_threads`, counting the tasks [`GuestBuilder::add_task`] adds.
    nr_threads: VirtAddr,
    sched: Option<VirtAddr>,
    bucket_table: Option<VirtAddr>,
    /// The root's `struct rhashtable` (`scx_sched.dsq_hash`, or the `dsq_hash` global).
    dsq_hash: Option<VirtAddr>,
    /// `scx_sched`s built so far (each gets its own slice of the per-CPU areas).
    scheds_built: u64,
    globals: Option<SchedGlobals>,
    /// Image variables the ELF-core writer adds (`nr_cpu_ids`, ...), by name.
    pub(crate) image_vars: Vec<(&'static str, VirtAddr)>,
}

fn field(off: Option<u32>, name: &str) -> u64 {
    u64::from(off.unwrap_or_else(|| panic!("test layout lacks {name}")))
}

impl GuestBuilder {
    /// A guest with `nr_cpus` CPUs and `nr_nodes` nodes laid out with `layout`; every CPU's
    /// rq is initialised (empty lists, local DSQs) and `scx_tasks` is an empty list.
    pub fn new(layout: Layout, nr_cpus: u32, nr_nodes: u32) -> Self {
        Self::with_scheme(layout, AddressScheme::default(), nr_cpus, nr_nodes)
    }

    /// As [`GuestBuilder::new`], with the addresses of `scheme`.
    pub fn with_scheme(layout: Layout, scheme: AddressScheme, nr_cpus: u32, nr_nodes: u32) -> Self {
        let heap = scheme.image_pa + scheme.image_size;
        let mut b = Self {
            mem: vec![0; usize::try_from(heap - scheme.mem_base).unwrap()],
            next_pa: heap,
            next_image_pa: scheme.image_pa + 0x1000,
            next_vmalloc: scheme.vmalloc.unwrap_or(0),
            map: KitMap { scheme, vmalloc_pages: BTreeMap::new() },
            layout,
            nr_cpus,
            nr_nodes,
            per_cpu_offsets: Vec::new(),
            per_cpu_offset_kva: VirtAddr(0),
            scx_root: VirtAddr(0),
            scx_tasks: VirtAddr(0),
            nr_threads: VirtAddr(0),
            sched: None,
            bucket_table: None,
            dsq_hash: None,
            scheds_built: 0,
            globals: None,
            image_vars: Vec::new(),
        };
        let slots = nr_cpus + OFFSET_TAIL_SLOTS;
        b.per_cpu_offset_kva = b.alloc_image(u64::from(slots) * 8);
        b.scx_root = b.alloc_image(8);
        b.scx_tasks = b.alloc_image(16);
        b.init_list(b.scx_tasks);
        b.nr_threads = b.alloc_image(8);
        b.image_vars.push(("nr_threads", b.nr_threads));
        for cpu in 0..nr_cpus {
            let area = if b.map.scheme.percpu_in_vmalloc {
                b.alloc_vmalloc(PERCPU_AREA)
            } else {
                b.alloc(PERCPU_AREA, 4096)
            };
            // __per_cpu_offset[cpu]: the area's distance from the per-CPU section (zero-based
            // on x86_64, an image address on arm64, where the offset is "negative").
            let off = area.0.wrapping_sub(b.map.scheme.percpu_base);
            b.per_cpu_offsets.push(off);
            b.write_u64(b.per_cpu_offset_kva.at(u64::from(cpu) * 8), off);
            b.init_rq(cpu);
        }
        b.per_cpu_offsets.extend(std::iter::repeat_n(0, OFFSET_TAIL_SLOTS as usize));
        b
    }

    // ---- raw memory -------------------------------------------------------------------

    /// The physical address of a kit-made kernel virtual address.
    pub fn pa(&self, kva: VirtAddr) -> u64 {
        self.map.pa(kva.0)
    }

    /// The address scheme.
    pub fn scheme(&self) -> &AddressScheme {
        &self.map.scheme
    }

    /// Allocates zeroed physical memory (skipping the scheme's hole); returns its address.
    pub fn alloc_phys(&mut self, size: u64, align: u64) -> u64 {
        let mut pa = self.next_pa.next_multiple_of(align);
        if let Some(h) = self.map.scheme.hole.clone()
            && pa < h.end
            && h.start < pa + size
        {
            pa = h.end.next_multiple_of(align);
        }
        self.next_pa = pa + size;
        let end = usize::try_from(self.next_pa - self.map.scheme.mem_base).unwrap();
        if self.mem.len() < end {
            self.mem.resize(end, 0);
        }
        pa
    }

    /// Allocates zeroed direct-map memory.
    pub fn alloc(&mut self, size: u64, align: u64) -> VirtAddr {
        let pa = self.alloc_phys(size, align);
        VirtAddr(self.map.scheme.direct_va(pa))
    }

    /// Allocates zeroed memory in the scheme's vmalloc window: page by page, each page its
    /// own physical page, with a page left unused between them, so only the page walk finds
    /// them. Falls back to [`GuestBuilder::alloc`] when the scheme has no such window.
    pub fn alloc_vmalloc(&mut self, size: u64) -> VirtAddr {
        if self.map.scheme.vmalloc.is_none() {
            return self.alloc(size, 4096);
        }
        let page = self.map.scheme.page();
        let va = self.next_vmalloc;
        let pages = size.div_ceil(page);
        for i in 0..pages {
            let pa = self.alloc_phys(page, page);
            self.alloc_phys(page, page); // a gap: the pages are not contiguous
            self.map.vmalloc_pages.insert(va + i * page, pa);
        }
        // A guard page between areas, as vmalloc leaves.
        self.next_vmalloc = va + (pages + 1) * page;
        VirtAddr(va)
    }

    /// Allocates zeroed memory in the kernel-image window.
    pub fn alloc_image(&mut self, size: u64) -> VirtAddr {
        self.alloc_image_aligned(size, 8)
    }

    /// Allocates zeroed, `align`-aligned memory in the kernel-image window.
    pub fn alloc_image_aligned(&mut self, size: u64, align: u64) -> VirtAddr {
        let s = &self.map.scheme;
        let pa = self.next_image_pa.next_multiple_of(align);
        self.next_image_pa = pa + size;
        assert!(self.next_image_pa <= s.image_pa + s.image_size, "image window full");
        VirtAddr(s.image_va + (pa - s.image_pa))
    }

    /// Writes bytes at a kit address (page by page: vmalloc pages are not contiguous).
    pub fn write(&mut self, kva: VirtAddr, bytes: &[u8]) {
        let mut done = 0usize;
        while done < bytes.len() {
            let at = kva.at(done as u64).0;
            let n = ((scheme::PAGE - at % scheme::PAGE) as usize).min(bytes.len() - done);
            let pa = self.map.pa(at);
            self.write_pa(pa, &bytes[done..done + n]);
            done += n;
        }
    }

    /// Reads bytes back from a kit address.
    pub fn read(&self, kva: VirtAddr, out: &mut [u8]) {
        let mut done = 0usize;
        while done < out.len() {
            let at = kva.at(done as u64).0;
            let n = ((scheme::PAGE - at % scheme::PAGE) as usize).min(out.len() - done);
            let i = usize::try_from(self.map.pa(at) - self.map.scheme.mem_base).unwrap();
            out[done..done + n].copy_from_slice(&self.mem[i..i + n]);
            done += n;
        }
    }
    /// Writes a little-endian u64.
    pub fn write_u64(&mut self, kva: VirtAddr, v: u64) {
        self.write(kva, &v.to_le_bytes());
    }
    /// Writes a little-endian u32.
    pub fn write_u32(&mut self, kva: VirtAddr, v: u32) {
        self.write(kva, &v.to_le_bytes());
    }
    /// Writes a little-endian i32.
    pub fn write_i32(&mut self, kva: VirtAddr, v: i32) {
        self.write(kva, &v.to_le_bytes());
    }
    /// Writes a byte.
    pub fn write_u8(&mut self, kva: VirtAddr, v: u8) {
        self.write(kva, &[v]);
    }
    /// Reads a little-endian u64 back.
    pub fn read_u64(&self, kva: VirtAddr) -> u64 {
        let mut b = [0u8; 8];
        self.read(kva, &mut b);
        u64::from_le_bytes(b)
    }
    /// Reads a little-endian u32 back.
    pub fn read_u32(&self, kva: VirtAddr) -> u32 {
        let mut b = [0u8; 4];
        self.read(kva, &mut b);
        u32::from_le_bytes(b)
    }
    /// Reads a little-endian u64 at a physical address.
    pub fn read_pa_u64(&self, pa: u64) -> u64 {
        let i = usize::try_from(pa - self.map.scheme.mem_base).unwrap();
        u64::from_le_bytes(self.mem[i..i + 8].try_into().unwrap())
    }
    /// Physical address one past the last byte of memory.
    pub fn mem_end(&self) -> u64 {
        self.map.scheme.mem_base + self.mem.len() as u64
    }
    /// Writes bytes at a physical address.
    pub fn write_pa(&mut self, pa: u64, bytes: &[u8]) {
        let pa = usize::try_from(pa - self.map.scheme.mem_base).unwrap();
        self.mem[pa..pa + bytes.len()].copy_from_slice(bytes);
    }

    fn at(kva: VirtAddr, off: u64) -> VirtAddr {
        kva.at(off)
    }

    // ---- lists ------------------------------------------------------------------------

    /// `INIT_LIST_HEAD`.
    pub fn init_list(&mut self, head: VirtAddr) {
        self.write_u64(head, head.0);
        self.write_u64(Self::at(head, 8), head.0);
    }

    /// `list_add_tail(node, head)`.
    pub fn list_add_tail(&mut self, node: VirtAddr, head: VirtAddr) {
        let prev = VirtAddr(self.read_u64(Self::at(head, 8)));
        self.write_u64(node, head.0);
        self.write_u64(Self::at(node, 8), prev.0);
        self.write_u64(prev, node.0);
        self.write_u64(Self::at(head, 8), node.0);
    }

    // ---- per-CPU rqs and DSQs ------------------------------------------------------------

    /// `cpu`'s `struct rq`.
    pub fn rq(&self, cpu: u32) -> VirtAddr {
        VirtAddr(self.per_cpu_ptr(cpu, RUNQUEUES_OFF))
    }

    /// `per_cpu_ptr(__per_cpu_start + off, cpu)`, in the kernel's modular arithmetic.
    pub fn per_cpu_ptr(&self, cpu: u32, off: u64) -> u64 {
        self.per_cpu_offsets[cpu as usize].wrapping_add(self.map.scheme.percpu_base).wrapping_add(off)
    }

    /// `__per_cpu_offset[]` as written (with the zero tail).
    pub fn per_cpu_offsets(&self) -> &[u64] {
        &self.per_cpu_offsets
    }

    /// `cpu`'s `rq->scx`.
    pub fn scx_rq(&self, cpu: u32) -> VirtAddr {
        Self::at(self.rq(cpu), u64::from(self.layout.rq.unwrap().scx))
    }

    /// `cpu`'s local DSQ.
    pub fn local_dsq(&self, cpu: u32) -> VirtAddr {
        Self::at(self.scx_rq(cpu), u64::from(self.layout.scx_rq.unwrap().local_dsq))
    }

    fn init_rq(&mut self, cpu: u32) {
        let Some(sl) = self.layout.scx_rq else { return };
        let scx = self.scx_rq(cpu);
        self.init_list(Self::at(scx, u64::from(sl.runnable_list)));
        self.init_dsq(Self::at(scx, u64::from(sl.local_dsq)), SCX_DSQ_LOCAL);
        if let Some(off) = sl.reject_dsq {
            self.init_dsq(Self::at(scx, u64::from(off)), 0x8000_0000_0000_0004);
        }
        if let Some(off) = sl.rescue_dsq {
            self.init_dsq(Self::at(scx, u64::from(off)), 0x8000_0000_0000_0005);
        }
        if let Some(cpu_off) = self.layout.rq.unwrap().cpu {
            self.write_u32(Self::at(self.rq(cpu), u64::from(cpu_off)), cpu);
        }
    }

    /// Initialises a DSQ at `dsq` with `id` and an empty list.
    pub fn init_dsq(&mut self, dsq: VirtAddr, id: u64) {
        let dl = self.layout.dsq.unwrap();
        self.init_list(Self::at(dsq, u64::from(dl.list)));
        self.write_u64(Self::at(dsq, u64::from(dl.id)), id);
    }

    /// Sets `rq->scx` scalars.
    pub fn set_rq_scalars(&mut self, cpu: u32, nr_running: u32, flags: u32, cpu_released: bool) {
        let sl = self.layout.scx_rq.unwrap();
        let scx = self.scx_rq(cpu);
        self.write_u32(Self::at(scx, u64::from(sl.nr_running)), nr_running);
        self.write_u32(Self::at(scx, u64::from(sl.flags)), flags);
        self.write_u8(Self::at(scx, u64::from(sl.cpu_released)), u8::from(cpu_released));
    }

    /// Writes `v` at a `scx_rq` member offset (for optional members).
    pub fn set_scx_rq_u64(&mut self, cpu: u32, off: u32, v: u64) {
        let scx = self.scx_rq(cpu);
        self.write_u64(Self::at(scx, u64::from(off)), v);
    }

    /// Sets `rq->curr`.
    pub fn set_curr(&mut self, cpu: u32, task: VirtAddr) {
        let rl = self.layout.rq.unwrap();
        let rq = self.rq(cpu);
        self.write_u64(Self::at(rq, u64::from(rl.curr)), task.0);
    }

    // ---- tasks ----------------------------------------------------------------------------

    /// A new task on `scx_tasks`, with `pid` and `comm` (up to 16 bytes, copied as given),
    /// counted in `nr_threads`.
    pub fn add_task(&mut self, pid: i32, comm: &[u8]) -> VirtAddr {
        let task = self.alloc(sizes::TASK, 64);
        self.init_task(task, pid, comm);
        let node = self.task_tasks_node(task);
        self.list_add_tail(node, self.scx_tasks);
        let n = self.read_u32(self.nr_threads);
        self.write_u32(self.nr_threads, n + 1);
        task
    }

    /// The kernel's `nr_threads` variable (the count [`Self::add_task`] keeps).
    pub fn nr_threads(&self) -> VirtAddr {
        self.nr_threads
    }

    /// A task that is not on `scx_tasks`.
    pub fn add_detached_task(&mut self, pid: i32, comm: &[u8]) -> VirtAddr {
        let task = self.alloc(sizes::TASK, 64);
        self.init_task(task, pid, comm);
        task
    }

    fn init_task(&mut self, task: VirtAddr, pid: i32, comm: &[u8]) {
        let tl = self.layout.task.unwrap();
        self.write_i32(Self::at(task, u64::from(tl.pid)), pid);
        let mut c = [0u8; 16];
        c[..comm.len().min(16)].copy_from_slice(&comm[..comm.len().min(16)]);
        self.write(Self::at(task, u64::from(tl.comm)), &c);
        if let Some(tgid) = tl.tgid {
            self.write_i32(Self::at(task, u64::from(tgid)), pid);
        }
    }

    /// `task->scx`.
    pub fn see(&self, task: VirtAddr) -> VirtAddr {
        Self::at(task, u64::from(self.layout.task.unwrap().scx))
    }

    fn task_tasks_node(&self, task: VirtAddr) -> VirtAddr {
        Self::at(self.see(task), u64::from(self.layout.see.unwrap().tasks_node))
    }

    /// Sets `task->scx.flags`.
    pub fn set_see_flags(&mut self, task: VirtAddr, flags: u32) {
        let see = self.see(task);
        self.write_u32(Self::at(see, u64::from(self.layout.see.unwrap().flags)), flags);
    }

    /// Sets `task->scx.runnable_at` (jiffies; the kernel's layouts from 6.16 have it).
    pub fn set_runnable_at(&mut self, task: VirtAddr, jiffies: u64) {
        let see = self.see(task);
        self.write_u64(Self::at(see, u64::from(self.layout.see.unwrap().runnable_at.unwrap())), jiffies);
    }

    /// Puts `task` on `cpu`'s runnable_list.
    pub fn make_runnable(&mut self, cpu: u32, task: VirtAddr) {
        let node = Self::at(self.see(task), u64::from(self.layout.see.unwrap().runnable_node));
        let head = Self::at(self.scx_rq(cpu), u64::from(self.layout.scx_rq.unwrap().runnable_list));
        self.list_add_tail(node, head);
    }

    /// Queues `task` on the DSQ at `dsq` and bumps `nr`.
    pub fn enqueue(&mut self, dsq: VirtAddr, task: VirtAddr) {
        let see = self.layout.see.unwrap();
        let ln = self.layout.dsq_lnode.unwrap();
        let lnode = Self::at(self.see(task), u64::from(see.dsq_list));
        self.link_dsq_node(dsq, lnode, ln.node);
        let dl = self.layout.dsq.unwrap();
        let nr_at = Self::at(dsq, u64::from(dl.nr));
        let nr = self.read_u32(nr_at);
        self.write_u32(nr_at, nr + 1);
    }

    fn link_dsq_node(&mut self, dsq: VirtAddr, lnode: VirtAddr, node_off: u32) {
        let head = Self::at(dsq, u64::from(self.layout.dsq.unwrap().list));
        self.list_add_tail(Self::at(lnode, u64::from(node_off)), head);
    }

    /// Links an iterator cursor (a bare `scx_dsq_list_node` with `SCX_DSQ_LNODE_ITER_CURSOR`)
    /// into the DSQ's list; returns the cursor's address.
    pub fn add_dsq_cursor(&mut self, dsq: VirtAddr) -> VirtAddr {
        let ln = self.layout.dsq_lnode.unwrap();
        let cursor = self.alloc(sizes::DSQ_LNODE, 8);
        self.write_u32(Self::at(cursor, u64::from(ln.flags)), self.layout.flags.dsq_lnode_iter_cursor);
        self.link_dsq_node(dsq, cursor, ln.node);
        cursor
    }

    /// Links a `scx_tasks` iterator cursor (a bare `sched_ext_entity` with `SCX_TASK_CURSOR`).
    pub fn add_tasks_cursor(&mut self) -> VirtAddr {
        let see = self.layout.see.unwrap();
        let entity = self.alloc(sizes::SEE, 8);
        self.write_u32(Self::at(entity, u64::from(see.flags)), self.layout.flags.task_cursor);
        self.list_add_tail(Self::at(entity, u64::from(see.tasks_node)), self.scx_tasks);
        entity
    }

    /// Sets a DSQ's `nr` and `seq` as given (e.g. a `nr` larger than the list).
    pub fn set_dsq_counts(&mut self, dsq: VirtAddr, nr: u32, seq: u32) {
        let dl = self.layout.dsq.unwrap();
        self.write_u32(Self::at(dsq, u64::from(dl.nr)), nr);
        self.write_u32(Self::at(dsq, u64::from(dl.seq)), seq);
    }

    // ---- the scheduler root ---------------------------------------------------------------

    /// Attaches a root `scx_sched` with bypass and global DSQs and an empty `dsq_hash` of
    /// `buckets` buckets. Returns the `scx_sched` address.
    pub fn attach_scheduler(&mut self, exit_kind: u32, buckets: u32) -> VirtAddr {
        let (sched, tbl) = self.new_sched(exit_kind, buckets);
        self.write_u64(self.scx_root, sched.0);
        self.bucket_table = tbl;
        self.dsq_hash = Some(Self::at(sched, u64::from(self.layout.sched.unwrap().dsq_hash)));
        self.sched = Some(sched);
        sched
    }

    /// A sub-scheduler of `parent` (level `parent`'s + 1, on its `children` list), with its
    /// own bypass, global and user DSQs (`buckets` buckets). Returns its `scx_sched`.
    pub fn add_sub_sched(&mut self, parent: VirtAddr, exit_kind: u32, buckets: u32) -> VirtAddr {
        let sl = self.layout.sched.unwrap();
        let (sched, _) = self.new_sched(exit_kind, buckets);
        let level_at = field(sl.level, "scx_sched.level");
        let parent_level = self.read_u32(Self::at(parent, level_at));
        self.write_u32(Self::at(sched, level_at), parent_level + 1);
        let node = Self::at(sched, field(sl.sibling, "scx_sched.sibling"));
        let head = Self::at(parent, field(sl.children, "scx_sched.children"));
        self.list_add_tail(node, head);
        sched
    }

    /// A `struct scx_sched` with its DSQs, linked nowhere; its bucket table.
    fn new_sched(&mut self, exit_kind: u32, buckets: u32) -> (VirtAddr, Option<VirtAddr>) {
        let sl = self.layout.sched.unwrap();
        let sched = self.alloc(sizes::SCHED, 64);
        let pcpu_off = SCHED_PCPU_OFF + self.scheds_built * SCHED_PCPU_STRIDE;
        assert!(pcpu_off + SCHED_PCPU_STRIDE <= PERCPU_AREA, "too many schedulers for the per-CPU areas");
        self.scheds_built += 1;
        self.write_u32(Self::at(sched, u64::from(sl.exit_kind)), exit_kind);
        for list in [sl.children, sl.sibling].into_iter().flatten() {
            self.init_list(Self::at(sched, u64::from(list)));
        }
        if let (Some(pcpu), Some(ppl)) = (sl.pcpu, self.layout.sched_pcpu) {
            // A __percpu pointer: the per-CPU offset is added to it.
            let ptr = self.map.scheme.percpu_base.wrapping_add(pcpu_off);
            self.write_u64(Self::at(sched, u64::from(pcpu)), ptr);
            for cpu in 0..self.nr_cpus {
                let d = VirtAddr(self.per_cpu_ptr(cpu, pcpu_off + u64::from(ppl.bypass_dsq)));
                self.init_dsq(d, SCX_DSQ_BYPASS);
            }
        }
        if let (Some(pnode), Some(pnl)) = (sl.pnode, self.layout.sched_pnode) {
            let array = self.alloc(u64::from(self.nr_nodes) * 8, 8);
            self.write_u64(Self::at(sched, u64::from(pnode)), array.0);
            for n in 0..self.nr_nodes {
                let p = self.alloc(sizes::SCHED_PNODE, 64);
                self.write_u64(Self::at(array, u64::from(n) * 8), p.0);
                self.init_dsq(Self::at(p, u64::from(pnl.global_dsq)), SCX_DSQ_GLOBAL);
            }
        }
        let tbl = self.new_bucket_table(Self::at(sched, u64::from(sl.dsq_hash)), buckets);
        (sched, tbl)
    }

    /// A bucket table of `buckets` empty buckets, hung on the `struct rhashtable` at `ht`.
    fn new_bucket_table(&mut self, ht: VirtAddr, buckets: u32) -> Option<VirtAddr> {
        let rl = self.layout.rht?;
        let size = sizes::BUCKET_TABLE + u64::from(buckets) * 8;
        let tbl = if self.map.scheme.bucket_table_in_vmalloc {
            self.alloc_vmalloc(size)
        } else {
            self.alloc(size, 64)
        };
        self.write_u64(Self::at(ht, u64::from(rl.tbl)), tbl.0);
        self.write_u32(Self::at(tbl, u64::from(rl.bucket_table_size)), buckets);
        Some(tbl)
    }

    /// A 6.12-6.15 kernel's scheduler globals (no `scx_root`, no `scx_sched`): `scx_ops`,
    /// the enable state (`SCX_OPS_ENABLED` (1) when `enabled`, else `SCX_OPS_DISABLED` (3)),
    /// `scx_exit_kind`, the bypass depth, `global_dsqs` with one DSQ per node, and `dsq_hash`
    /// with `buckets` buckets. Returns them; `build` hands them to the walkers.
    pub fn attach_globals(&mut self, enabled: bool, exit_kind: u32, buckets: u32) -> SchedGlobals {
        let var = |b: &mut Self, name: &'static str, size: u64| {
            let va = b.alloc_image(size);
            b.image_vars.push((name, va));
            va
        };
        let ops = var(self, "scx_ops", 512);
        let enable_state = var(self, "scx_ops_enable_state_var", 8);
        let exit_kind_at = var(self, "scx_exit_kind", 8);
        let bypass_depth = var(self, "scx_ops_bypass_depth", 8);
        let global_dsqs = var(self, "global_dsqs", 8);
        // 7.3's struct rhashtable (the kit's offsets are 7.3's): 160 bytes.
        let dsq_hash = var(self, "dsq_hash", 160);
        self.write_u32(enable_state, if enabled { 1 } else { 3 });
        self.write_u32(exit_kind_at, exit_kind);
        let array = self.alloc(u64::from(self.nr_nodes) * 8, 8);
        self.write_u64(global_dsqs, array.0);
        for n in 0..self.nr_nodes {
            let dsq = self.alloc(sizes::DSQ, 64);
            self.init_dsq(dsq, SCX_DSQ_GLOBAL);
            self.write_u64(Self::at(array, u64::from(n) * 8), dsq.0);
        }
        self.bucket_table = self.new_bucket_table(dsq_hash, buckets);
        self.dsq_hash = Some(dsq_hash);
        let g = SchedGlobals {
            ops,
            enable_state,
            disabled: 3,
            exit_kind: Some(exit_kind_at),
            bypass_depth: Some(bypass_depth),
            global_dsqs: Some(global_dsqs),
            dsq_hash: Some(dsq_hash),
        };
        self.globals = Some(g);
        g
    }

    /// The globals of [`Self::attach_globals`].
    pub fn globals(&self) -> Option<SchedGlobals> {
        self.globals
    }

    /// 6.15's per-CPU `event_stats_cpu` (`struct scx_event_stats` of the kit's BTF: two
    /// `s64` counters), `per_cpu[cpu]` in each CPU's copy.
    pub fn add_global_event_stats(&mut self, per_cpu: &[[i64; 2]]) {
        let var = self.map.scheme.percpu_base.wrapping_add(EVENT_STATS_OFF);
        self.image_vars.push(("event_stats_cpu", VirtAddr(var)));
        for (cpu, v) in per_cpu.iter().enumerate() {
            let at = VirtAddr(self.per_cpu_ptr(cpu as u32, EVENT_STATS_OFF));
            self.write_u64(at, v[0] as u64);
            self.write_u64(Self::at(at, 8), v[1] as u64);
        }
    }

    /// Node `n`'s global DSQ of the globals of [`Self::attach_globals`].
    pub fn globals_global_dsq(&self, n: u32) -> VirtAddr {
        let g = self.globals.expect("attach_globals first");
        let array = VirtAddr(self.read_u64(g.global_dsqs.unwrap()));
        VirtAddr(self.read_u64(Self::at(array, u64::from(n) * 8)))
    }

    /// Bucket `i`'s head pointer in the `dsq_hash` of the `scx_sched` at `sched`.
    pub fn bucket_in(&self, sched: VirtAddr, i: u32) -> VirtAddr {
        let sl = self.layout.sched.unwrap();
        let rl = self.layout.rht.unwrap();
        let tbl =
            VirtAddr(self.read_u64(Self::at(Self::at(sched, u64::from(sl.dsq_hash)), u64::from(rl.tbl))));
        Self::at(tbl, u64::from(rl.bucket_table_buckets) + u64::from(i) * 8)
    }

    /// Node `n`'s global DSQ of the `scx_sched` at `sched`.
    pub fn global_dsq_of(&self, sched: VirtAddr, n: u32) -> VirtAddr {
        let sl = self.layout.sched.unwrap();
        let array = VirtAddr(self.read_u64(Self::at(sched, field(sl.pnode, "scx_sched.pnode"))));
        let p = VirtAddr(self.read_u64(Self::at(array, u64::from(n) * 8)));
        Self::at(p, u64::from(self.layout.sched_pnode.unwrap().global_dsq))
    }

    /// The attached scheduler.
    pub fn sched(&self) -> VirtAddr {
        self.sched.expect("attach_scheduler first")
    }

    /// The address of bucket `i`'s head pointer.
    pub fn bucket(&self, i: u32) -> VirtAddr {
        let rl = self.layout.rht.unwrap();
        Self::at(
            self.bucket_table.expect("attach_scheduler first"),
            u64::from(rl.bucket_table_buckets) + u64::from(i) * 8,
        )
    }

    /// `cpu`'s bypass DSQ.
    pub fn bypass_dsq(&self, cpu: u32) -> VirtAddr {
        VirtAddr(
            self.per_cpu_ptr(cpu, SCHED_PCPU_OFF + u64::from(self.layout.sched_pcpu.unwrap().bypass_dsq)),
        )
    }

    /// Node `n`'s global DSQ.
    pub fn global_dsq(&self, n: u32) -> VirtAddr {
        self.global_dsq_of(self.sched(), n)
    }

    /// Sets `*scx_root` to `sched` (0: no scheduler).
    pub fn set_scx_root(&mut self, sched: u64) {
        self.write_u64(self.scx_root, sched);
    }

    /// A user DSQ with `id`, pushed on the front of bucket `bucket`'s chain as the kernel's
    /// `rht_assign_locked` does and counted in `nelems`; `locked` leaves the bucket's lock
    /// bit set.
    pub fn add_user_dsq(&mut self, id: u64, bucket: u32, locked: bool) -> VirtAddr {
        let slot = self.bucket(bucket);
        let ht = self.dsq_hash.expect("attach_scheduler first");
        self.add_user_dsq_at(ht, slot, id, locked)
    }

    /// [`Self::add_user_dsq`] in the `dsq_hash` of the (sub-)scheduler at `sched`.
    pub fn add_user_dsq_in(&mut self, sched: VirtAddr, id: u64, bucket: u32) -> VirtAddr {
        let slot = self.bucket_in(sched, bucket);
        let ht = Self::at(sched, u64::from(self.layout.sched.unwrap().dsq_hash));
        self.add_user_dsq_at(ht, slot, id, false)
    }

    /// The nulls marker that ends bucket `slot`'s chain: `RHT_NULLS_MARKER(slot)`, the slot's
    /// address with bit 0 set.
    pub fn nulls_marker(slot: VirtAddr) -> u64 {
        slot.0 | 1
    }

    fn add_user_dsq_at(&mut self, ht: VirtAddr, slot: VirtAddr, id: u64, locked: bool) -> VirtAddr {
        let dl = self.layout.dsq.unwrap();
        let rl = self.layout.rht.unwrap();
        let dsq = self.alloc(sizes::DSQ, 8);
        self.init_dsq(dsq, id);
        let node = Self::at(dsq, u64::from(dl.hash_node));
        let old = self.read_u64(slot) & !1;
        let next = if old == 0 { Self::nulls_marker(slot) } else { old };
        self.write_u64(Self::at(node, u64::from(rl.rhash_head_next)), next);
        self.write_u64(slot, node.0 | u64::from(locked));
        if let Some(off) = rl.nelems {
            let at = Self::at(ht, u64::from(off));
            let n = self.read_u32(at);
            self.write_u32(at, n + 1);
        }
        dsq
    }

    /// The finished guest.
    pub fn build(self) -> TestGuest {
        let offsets_slots = self.nr_cpus + OFFSET_TAIL_SLOTS;
        let s = &self.map.scheme;
        let mut ranges = vec![
            LinearRange {
                va_start: VirtAddr(s.image_va),
                len: s.image_size,
                pa_start: PhysAddr(s.image_pa),
                kind: AddressKind::KernelImage,
            },
            LinearRange {
                va_start: VirtAddr(s.direct_va(s.mem_base)),
                len: self.mem.len() as u64,
                pa_start: PhysAddr(s.mem_base),
                kind: AddressKind::DirectMap,
            },
        ];
        let page = s.page();
        ranges.extend(self.map.vmalloc_pages.iter().map(|(&va, &pa)| LinearRange {
            va_start: VirtAddr(va),
            len: page,
            pa_start: PhysAddr(pa),
            kind: AddressKind::PageWalk,
        }));
        TestGuest {
            ranges,
            mem_base: s.mem_base,
            mem: self.mem,
            layout: self.layout,
            per_cpu_offsets: self.per_cpu_offsets,
            symbols: Symbols {
                runqueues: Some(VirtAddr(self.map.scheme.percpu_base.wrapping_add(RUNQUEUES_OFF))),
                per_cpu_offset_kva: self.per_cpu_offset_kva,
                per_cpu_offset_slots: offsets_slots,
                // A kernel with the globals has no scx_root.
                scx_root: if self.globals.is_some() { None } else { Some(self.scx_root) },
                scx_tasks: Some(self.scx_tasks),
                nr_threads: Some(self.nr_threads),
                nr_cpus: self.nr_cpus,
                nr_nodes: self.nr_nodes,
                offsets_from_guest: false,
                globals: self.globals,
            },
            limits: Limits::DEFAULT,
            poison: Vec::new(),
            lends: true,
            map: self.map,
        }
    }
}

/// The kit's guest memory: a flat image with poisoned (unreadable) physical ranges and a
/// read counter, so tests can make one field unreadable and bound the reads a walk makes.
#[derive(Debug)]
pub struct KitMem<'a> {
    image: FlatImage<'a>,
    poison: &'a [Range<u64>],
    lends: bool,
    /// Physical reads made so far.
    pub reads: Cell<u64>,
}

impl PhysMem for KitMem<'_> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.reads.set(self.reads.get() + 1);
        let end = pa.0.saturating_add(buf.len() as u64);
        if self.poison.iter().any(|r| pa.0 < r.end && r.start < end) {
            return Err(MemError::Unavailable { pa });
        }
        self.image.read(pa, buf)
    }
    /// Lent when [`TestGuest::lends`] and no poison lies in the range (a poisoned byte is one
    /// a read must fail on), counted as one read.
    fn in_place(&self, pa: PhysAddr, len: usize) -> Option<&[u8]> {
        let end = pa.0.saturating_add(len as u64);
        if !self.lends || self.poison.iter().any(|r| pa.0 < r.end && r.start < end) {
            return None;
        }
        self.reads.set(self.reads.get() + 1);
        self.image.in_place(pa, len)
    }
}

/// Owned symbol values of a [`TestGuest`]; tests edit them to blind passes.
#[derive(Debug, Clone)]
pub struct Symbols {
    /// `runqueues`.
    pub runqueues: Option<VirtAddr>,
    /// `__per_cpu_offset`.
    pub per_cpu_offset_kva: VirtAddr,
    /// Its slot count.
    pub per_cpu_offset_slots: u32,
    /// `scx_root`.
    pub scx_root: Option<VirtAddr>,
    /// `scx_tasks`.
    pub scx_tasks: Option<VirtAddr>,
    /// `nr_threads`.
    pub nr_threads: Option<VirtAddr>,
    /// `nr_cpu_ids`.
    pub nr_cpus: u32,
    /// `nr_node_ids`.
    pub nr_nodes: u32,
    /// Read `__per_cpu_offset` from the guest instead of handing in the slice.
    pub offsets_from_guest: bool,
    /// 6.12-6.15 scheduler globals ([`GuestBuilder::attach_globals`]).
    pub globals: Option<SchedGlobals>,
}

/// A built synthetic guest.
#[derive(Debug)]
pub struct TestGuest {
    /// Physical memory from address [`TestGuest::mem_base`] (0 under the default scheme).
    pub mem: Vec<u8>,
    /// Physical address of `mem[0]`.
    pub mem_base: u64,
    /// Kernel-image and direct-map ranges, then one per vmalloc page.
    pub ranges: Vec<LinearRange>,
    /// How the kit's addresses map.
    pub map: KitMap,
    /// The layout (tests may blank groups or members).
    pub layout: Layout,
    /// `__per_cpu_offset[]` as the host would have read it (with zero tail slots).
    pub per_cpu_offsets: Vec<u64>,
    /// Symbols (tests may remove some).
    pub symbols: Symbols,
    /// Caps.
    pub limits: Limits,
    /// Physical ranges whose reads fail.
    pub poison: Vec<Range<u64>>,
    /// Whether the memory lends its bytes in place ([`PhysMem::in_place`]) outside the
    /// poison, as a mapped dump does (the default); off, every value is read and copied, as
    /// from a kdump or a live guest.
    pub lends: bool,
}

impl TestGuest {
    /// The symbols as the walkers take them (per-CPU offsets from the slice or the guest, as
    /// [`Symbols::offsets_from_guest`] says).
    pub fn kernel_symbols(&self) -> KernelSymbols<'_> {
        let s = &self.symbols;
        let per_cpu_offsets = if s.offsets_from_guest {
            PerCpuOffsets::Guest { kva: s.per_cpu_offset_kva, slots: s.per_cpu_offset_slots }
        } else {
            PerCpuOffsets::Slice(&self.per_cpu_offsets)
        };
        KernelSymbols {
            runqueues: s.runqueues,
            per_cpu_offsets: Some(per_cpu_offsets),
            scx_root: s.scx_root,
            scx_tasks: s.scx_tasks,
            nr_threads: s.nr_threads,
            nr_cpus: s.nr_cpus,
            nr_nodes: s.nr_nodes,
            globals: s.globals,
        }
    }

    /// The memory as a plain [`FlatImage`] (no poison, no read counter): for benchmarks.
    pub fn flat(&self) -> FlatImage<'_> {
        FlatImage::new(PhysAddr(self.mem_base), &self.mem)
    }

    /// Runs `f` with a [`Guest`] over this image.
    pub fn with<R>(&self, f: impl FnOnce(&Guest<'_, KitMem<'_>, LinearTranslator<'_>>) -> R) -> R {
        let mem = KitMem {
            image: FlatImage::new(PhysAddr(self.mem_base), &self.mem),
            poison: &self.poison,
            lends: self.lends,
            reads: Cell::new(0),
        };
        let tr = LinearTranslator::new(&self.ranges);
        let g = Guest::new(&mem, &tr, &self.layout, self.kernel_symbols()).with_limits(self.limits);
        f(&g)
    }

    /// Overwrites the bytes at kit address `kva` (a page at a time).
    pub fn write(&mut self, kva: VirtAddr, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let pa = self.map.pa(kva.at(i as u64).0);
            self.mem[usize::try_from(pa - self.mem_base).unwrap()] = *b;
        }
    }

    /// Overwrites the little-endian u64 at kit address `kva`.
    pub fn write_u64(&mut self, kva: VirtAddr, v: u64) {
        self.write(kva, &v.to_le_bytes());
    }

    /// The little-endian u64 at kit address `kva`.
    pub fn read_u64(&self, kva: VirtAddr) -> u64 {
        let mut b = [0u8; 8];
        for (i, out) in b.iter_mut().enumerate() {
            let pa = self.map.pa(kva.at(i as u64).0);
            *out = self.mem[usize::try_from(pa - self.mem_base).unwrap()];
        }
        u64::from_le_bytes(b)
    }

    /// Makes `len` bytes at kit address `kva` unreadable.
    pub fn poison(&mut self, kva: VirtAddr, len: u64) {
        let pa = self.map.pa(kva.0);
        self.poison.push(pa..pa + len);
    }

    /// The whole machine walked into a [`Recorder`].
    pub fn record(&self) -> Recorder {
        self.with(|g| {
            let mut r = Recorder::default();
            g.walk_machine(&mut r);
            r
        })
    }
}

/// The demo machine (the `synthetic_dump` example's, also used by the wire round trip): 4 CPUs
/// on 2 nodes at Debian 7.3 amd64 offsets, a root scheduler with `exit_kind`, 24 tasks running,
/// runnable, and queued on local, global and one user DSQ (`user_dsq_id`, bucket 0, locked).
pub fn demo_machine(exit_kind: u32, user_dsq_id: u64) -> GuestBuilder {
    let mut b = GuestBuilder::new(kernels::debian_7_3_amd64(), 4, 2);
    b.attach_scheduler(exit_kind, 64);
    let names: [&[u8]; 6] = [b"stress-ng", b"kworker/0:1", b"sshd", b"make", b"cc1", b"ld"];
    let user_q = b.add_user_dsq(user_dsq_id, 0, true);
    for i in 0..24u32 {
        let t = b.add_task(100 + i as i32, names[i as usize % names.len()]);
        let cpu = i % 4;
        match i % 6 {
            0 => b.set_curr(cpu, t),
            1 | 2 => b.make_runnable(cpu, t),
            3 => {
                let d = b.local_dsq(cpu);
                b.enqueue(d, t);
            }
            4 => b.enqueue(user_q, t),
            _ => {
                let d = b.global_dsq(cpu % 2);
                b.enqueue(d, t);
            }
        }
    }
    for cpu in 0..4 {
        b.set_rq_scalars(cpu, 3, 0, false);
    }
    b
}

/// A machine for the sampler ([`Guest::sample_into`]), at Debian 7.3 amd64 offsets: 4 CPUs on
/// 2 nodes, a root scheduler (exit kind 0) with user DSQ 0x42; `jiffies` at 10 000, the enable
/// state 1, a watchdog timeout of 7 500 jiffies (`scx_watchdog_timeout`); pid `100 + cpu`
/// running on each CPU; the tasks of [`SAMPLED_RUNNABLE`] runnable (with their `runnable_at`);
/// pids 200 and 201 on the user DSQ (`nr` 2, `seq` 17), pid 202 on node 1's global DSQ;
/// `rq.clock` `1000 * (cpu + 1)` and `scx_rq.nr_running` the CPU's runnable count; two event
/// counters per CPU (`[cpu + 1, 10 * (cpu + 1)]`). Returns the guest and the spec that says
/// where those are.
pub fn sampled_machine() -> (TestGuest, SampleSpec) {
    let mut b = GuestBuilder::new(kernels::debian_7_3_amd64(), 4, 2);
    b.attach_scheduler(0, 16);
    let jiffies = b.alloc_image(8);
    b.write_u64(jiffies, 10_000);
    let enable_state = b.alloc_image(4);
    b.write_u32(enable_state, 1);
    let timeout = b.alloc_image(8);
    b.write_u64(timeout, 7_500);
    let rl = b.layout.rq.unwrap();
    for cpu in 0..4u32 {
        let t = b.add_task(100 + cpu as i32, b"runner");
        b.set_curr(cpu, t);
        let rq = b.rq(cpu);
        b.write_u64(rq.at(rl.clock.unwrap()), 1000 * u64::from(cpu + 1));
    }
    let mut per_cpu = [0u32; 4];
    for &(pid, cpu, runnable_at) in &SAMPLED_RUNNABLE {
        let t = b.add_task(pid, b"waiter");
        b.make_runnable(cpu, t);
        b.set_runnable_at(t, runnable_at);
        per_cpu[cpu as usize] += 1;
    }
    for (cpu, &n) in (0u32..).zip(&per_cpu) {
        b.set_rq_scalars(cpu, n, 0, false);
    }
    let user = b.add_user_dsq(0x42, 3, false);
    for pid in [200, 201] {
        let t = b.add_task(pid, b"queued");
        b.enqueue(user, t);
    }
    b.set_dsq_counts(user, 2, 17);
    let t = b.add_task(202, b"global");
    let global = b.global_dsq(1);
    b.enqueue(global, t);
    let per_cpu: Vec<[i64; 2]> = (1..=4).map(|c| [c, 10 * c]).collect();
    b.add_global_event_stats(&per_cpu);
    let events = VirtAddr(b.scheme().percpu_base.wrapping_add(EVENT_STATS_OFF));
    let mut event_offsets = heapless::Vec::new();
    event_offsets.extend_from_slice(&[0, 8]).unwrap();
    let spec = SampleSpec {
        jiffies: Some(jiffies),
        enable_state: Some(enable_state),
        watchdog_timeout: Some(WatchdogTimeoutAt::Global(timeout)),
        events: Some(EventStatsAt::PerCpu(events)),
        event_offsets,
    };
    (b.build(), spec)
}

/// The sampled machine's runnable tasks: pid, CPU, `runnable_at`.
pub const SAMPLED_RUNNABLE: [(i32, u32, u64); 6] =
    [(300, 0, 6_000), (301, 0, 9_990), (302, 1, 9_000), (303, 2, 4_000), (304, 3, 9_999), (305, 3, 9_500)];
