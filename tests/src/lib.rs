//! # scxray-tests: the synthetic-guest test kit
//!
//! [`GuestBuilder`] lays out real kernel structures (per-CPU `struct rq` reached through
//! `__per_cpu_offset`, tasks with `sched_ext_entity`, DSQ lists with cursor nodes, a
//! `dsq_hash` rhashtable with lock-bit heads and nulls terminators, the `scx_tasks` list, a
//! root `scx_sched`) in a byte image at the member offsets of a real kernel's BTF, so the
//! walkers can be tested rule by rule without booting one.
//!
//! Address scheme (x86_64-like): the direct map `DIRECT_MAP + pa` covers all of the image,
//! and a kernel-image window `KERNEL_IMAGE + (pa - IMAGE_PA)` holds the static symbols.

pub mod kernels;
pub mod record;

use scxray_core::{
    AddressKind, FlatImage, Guest, KernelSymbols, Layout, Limits, LinearRange, LinearTranslator, MemError,
    PerCpuOffsets, PhysAddr, PhysMem, VirtAddr,
};
use std::cell::Cell;
use std::ops::Range;

pub use record::Recorder;

/// Base of the direct map (x86_64's default `page_offset_base`).
pub const DIRECT_MAP: u64 = 0xffff_8880_0000_0000;
/// Base of the kernel-image window (`__START_KERNEL_map`).
pub const KERNEL_IMAGE: u64 = 0xffff_ffff_8000_0000;
/// Physical address where the kernel-image window starts.
pub const IMAGE_PA: u64 = 0x10_0000;
/// Size of the kernel-image window.
pub const IMAGE_SIZE: u64 = 0x10_0000;
/// First physical address the general allocator hands out (page 0 stays reserved).
const HEAP_PA: u64 = IMAGE_PA + IMAGE_SIZE;
/// Size of one CPU's per-CPU area.
pub const PERCPU_AREA: u64 = 0x2_0000;
/// `runqueues`: a per-CPU symbol, i.e. an offset inside each CPU's per-CPU area.
pub const RUNQUEUES_OFF: u64 = 0x1000;
/// Where `scx_sched.pcpu` points inside each per-CPU area.
pub const SCHED_PCPU_OFF: u64 = 0x8000;
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

/// The physical address of a kit-made kernel virtual address.
pub fn pa_of(kva: VirtAddr) -> u64 {
    if kva.0 >= KERNEL_IMAGE {
        kva.0 - KERNEL_IMAGE + IMAGE_PA
    } else {
        kva.0.checked_sub(DIRECT_MAP).expect("not a kit address")
    }
}

/// Builds a synthetic guest image.
#[derive(Debug)]
pub struct GuestBuilder {
    mem: Vec<u8>,
    next_pa: u64,
    next_image_pa: u64,
    /// The layout the structures are laid out with (and the walkers get).
    pub layout: Layout,
    nr_cpus: u32,
    nr_nodes: u32,
    per_cpu_offsets: Vec<u64>,
    per_cpu_offset_kva: VirtAddr,
    scx_root: VirtAddr,
    scx_tasks: VirtAddr,
    sched: Option<VirtAddr>,
    bucket_table: Option<VirtAddr>,
}

fn field(off: Option<u32>, name: &str) -> u64 {
    u64::from(off.unwrap_or_else(|| panic!("test layout lacks {name}")))
}

impl GuestBuilder {
    /// A guest with `nr_cpus` CPUs and `nr_nodes` nodes laid out with `layout`; every CPU's
    /// rq is initialised (empty lists, local DSQs) and `scx_tasks` is an empty list.
    pub fn new(layout: Layout, nr_cpus: u32, nr_nodes: u32) -> Self {
        let mut b = Self {
            mem: vec![0; usize::try_from(HEAP_PA).unwrap()],
            next_pa: HEAP_PA,
            next_image_pa: IMAGE_PA + 0x1000,
            layout,
            nr_cpus,
            nr_nodes,
            per_cpu_offsets: Vec::new(),
            per_cpu_offset_kva: VirtAddr(0),
            scx_root: VirtAddr(0),
            scx_tasks: VirtAddr(0),
            sched: None,
            bucket_table: None,
        };
        let slots = nr_cpus + OFFSET_TAIL_SLOTS;
        b.per_cpu_offset_kva = b.alloc_image(u64::from(slots) * 8);
        b.scx_root = b.alloc_image(8);
        b.scx_tasks = b.alloc_image(16);
        b.init_list(b.scx_tasks);
        for cpu in 0..nr_cpus {
            let area = b.alloc(PERCPU_AREA, 4096);
            b.per_cpu_offsets.push(area.0);
            b.write_u64(VirtAddr(b.per_cpu_offset_kva.0 + u64::from(cpu) * 8), area.0);
            b.init_rq(cpu);
        }
        b.per_cpu_offsets.extend(std::iter::repeat_n(0, OFFSET_TAIL_SLOTS as usize));
        b
    }

    // ---- raw memory -------------------------------------------------------------------

    /// The physical address of a kit-made kernel virtual address.
    pub fn pa(&self, kva: VirtAddr) -> u64 {
        pa_of(kva)
    }

    /// Allocates zeroed direct-map memory.
    pub fn alloc(&mut self, size: u64, align: u64) -> VirtAddr {
        let pa = self.next_pa.next_multiple_of(align);
        self.next_pa = pa + size;
        let end = usize::try_from(self.next_pa).unwrap();
        if self.mem.len() < end {
            self.mem.resize(end, 0);
        }
        VirtAddr(DIRECT_MAP + pa)
    }

    /// Allocates zeroed memory in the kernel-image window.
    pub fn alloc_image(&mut self, size: u64) -> VirtAddr {
        let pa = self.next_image_pa.next_multiple_of(8);
        self.next_image_pa = pa + size;
        assert!(self.next_image_pa <= IMAGE_PA + IMAGE_SIZE, "image window full");
        VirtAddr(KERNEL_IMAGE + pa - IMAGE_PA)
    }

    /// Writes bytes at a kit address.
    pub fn write(&mut self, kva: VirtAddr, bytes: &[u8]) {
        let pa = usize::try_from(self.pa(kva)).unwrap();
        self.mem[pa..pa + bytes.len()].copy_from_slice(bytes);
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
        let pa = usize::try_from(self.pa(kva)).unwrap();
        u64::from_le_bytes(self.mem[pa..pa + 8].try_into().unwrap())
    }
    /// Writes bytes at a physical address.
    pub fn write_pa(&mut self, pa: u64, bytes: &[u8]) {
        let pa = usize::try_from(pa).unwrap();
        self.mem[pa..pa + bytes.len()].copy_from_slice(bytes);
    }

    fn at(kva: VirtAddr, off: u64) -> VirtAddr {
        VirtAddr(kva.0 + off)
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
        VirtAddr(self.per_cpu_offsets[cpu as usize] + RUNQUEUES_OFF)
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

    /// A new task on `scx_tasks`, with `pid` and `comm` (up to 16 bytes, copied as given).
    pub fn add_task(&mut self, pid: i32, comm: &[u8]) -> VirtAddr {
        let task = self.alloc(sizes::TASK, 64);
        self.init_task(task, pid, comm);
        let node = self.task_tasks_node(task);
        self.list_add_tail(node, self.scx_tasks);
        task
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
        let pa = self.pa(nr_at) as usize;
        let nr = u32::from_le_bytes(self.mem[pa..pa + 4].try_into().unwrap());
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
        let sl = self.layout.sched.unwrap();
        let sched = self.alloc(sizes::SCHED, 64);
        self.write_u64(self.scx_root, sched.0);
        self.write_u32(Self::at(sched, u64::from(sl.exit_kind)), exit_kind);
        if let (Some(pcpu), Some(ppl)) = (sl.pcpu, self.layout.sched_pcpu) {
            // A __percpu pointer: the per-CPU offset is added to it.
            self.write_u64(Self::at(sched, u64::from(pcpu)), SCHED_PCPU_OFF);
            for cpu in 0..self.nr_cpus {
                let d =
                    VirtAddr(self.per_cpu_offsets[cpu as usize] + SCHED_PCPU_OFF + u64::from(ppl.bypass_dsq));
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
        if let Some(rl) = self.layout.rht {
            let tbl = self.alloc(sizes::BUCKET_TABLE + u64::from(buckets) * 8, 64);
            self.write_u64(Self::at(Self::at(sched, u64::from(sl.dsq_hash)), u64::from(rl.tbl)), tbl.0);
            self.write_u32(Self::at(tbl, u64::from(rl.bucket_table_size)), buckets);
            self.bucket_table = Some(tbl);
        }
        self.sched = Some(sched);
        sched
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
            self.per_cpu_offsets[cpu as usize]
                + SCHED_PCPU_OFF
                + u64::from(self.layout.sched_pcpu.unwrap().bypass_dsq),
        )
    }

    /// Node `n`'s global DSQ.
    pub fn global_dsq(&self, n: u32) -> VirtAddr {
        let sl = self.layout.sched.unwrap();
        let array = VirtAddr(self.read_u64(Self::at(self.sched(), field(sl.pnode, "scx_sched.pnode"))));
        let p = VirtAddr(self.read_u64(Self::at(array, u64::from(n) * 8)));
        Self::at(p, u64::from(self.layout.sched_pnode.unwrap().global_dsq))
    }

    /// Sets `*scx_root` to `sched` (0: no scheduler).
    pub fn set_scx_root(&mut self, sched: u64) {
        self.write_u64(self.scx_root, sched);
    }

    /// A user DSQ with `id`, pushed on the front of bucket `bucket`'s chain as the kernel's
    /// `rht_assign_locked` does; `locked` leaves the bucket's lock bit set.
    pub fn add_user_dsq(&mut self, id: u64, bucket: u32, locked: bool) -> VirtAddr {
        let dl = self.layout.dsq.unwrap();
        let rl = self.layout.rht.unwrap();
        let dsq = self.alloc(sizes::DSQ, 8);
        self.init_dsq(dsq, id);
        let node = Self::at(dsq, u64::from(dl.hash_node));
        let slot = self.bucket(bucket);
        let old = self.read_u64(slot) & !1;
        // An empty chain ends in the bucket's nulls marker: (bucket address << 1) | 1.
        let next = if old == 0 { (slot.0 << 1) | 1 } else { old };
        self.write_u64(Self::at(node, u64::from(rl.rhash_head_next)), next);
        self.write_u64(slot, node.0 | u64::from(locked));
        dsq
    }

    /// The finished guest.
    pub fn build(self) -> TestGuest {
        let offsets_slots = self.nr_cpus + OFFSET_TAIL_SLOTS;
        TestGuest {
            ranges: [
                LinearRange {
                    va_start: VirtAddr(KERNEL_IMAGE),
                    len: IMAGE_SIZE,
                    pa_start: PhysAddr(IMAGE_PA),
                    kind: AddressKind::KernelImage,
                },
                LinearRange {
                    va_start: VirtAddr(DIRECT_MAP),
                    len: self.mem.len() as u64,
                    pa_start: PhysAddr(0),
                    kind: AddressKind::DirectMap,
                },
            ],
            mem: self.mem,
            layout: self.layout,
            per_cpu_offsets: self.per_cpu_offsets,
            symbols: Symbols {
                runqueues: Some(VirtAddr(RUNQUEUES_OFF)),
                per_cpu_offset_kva: self.per_cpu_offset_kva,
                per_cpu_offset_slots: offsets_slots,
                scx_root: Some(self.scx_root),
                scx_tasks: Some(self.scx_tasks),
                nr_cpus: self.nr_cpus,
                nr_nodes: self.nr_nodes,
                offsets_from_guest: false,
            },
            limits: Limits::DEFAULT,
            poison: Vec::new(),
        }
    }
}

/// The kit's guest memory: a flat image with poisoned (unreadable) physical ranges and a
/// read counter, so tests can make one field unreadable and bound the reads a walk makes.
#[derive(Debug)]
pub struct KitMem<'a> {
    image: FlatImage<'a>,
    poison: &'a [Range<u64>],
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
    /// `nr_cpu_ids`.
    pub nr_cpus: u32,
    /// `nr_node_ids`.
    pub nr_nodes: u32,
    /// Read `__per_cpu_offset` from the guest instead of handing in the slice.
    pub offsets_from_guest: bool,
}

/// A built synthetic guest.
#[derive(Debug)]
pub struct TestGuest {
    /// Physical memory from address 0.
    pub mem: Vec<u8>,
    /// Kernel-image and direct-map ranges.
    pub ranges: [LinearRange; 2],
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
}

impl TestGuest {
    /// Runs `f` with a [`Guest`] over this image.
    pub fn with<R>(&self, f: impl FnOnce(&Guest<'_, KitMem<'_>, LinearTranslator<'_>>) -> R) -> R {
        let mem = KitMem {
            image: FlatImage::new(PhysAddr(0), &self.mem),
            poison: &self.poison,
            reads: Cell::new(0),
        };
        let tr = LinearTranslator::new(&self.ranges);
        let s = &self.symbols;
        let per_cpu_offsets = if s.offsets_from_guest {
            PerCpuOffsets::Guest { kva: s.per_cpu_offset_kva, slots: s.per_cpu_offset_slots }
        } else {
            PerCpuOffsets::Slice(&self.per_cpu_offsets)
        };
        let symbols = KernelSymbols {
            runqueues: s.runqueues,
            per_cpu_offsets: Some(per_cpu_offsets),
            scx_root: s.scx_root,
            scx_tasks: s.scx_tasks,
            nr_cpus: s.nr_cpus,
            nr_nodes: s.nr_nodes,
        };
        let g = Guest::new(&mem, &tr, &self.layout, symbols).with_limits(self.limits);
        f(&g)
    }

    /// Makes `len` bytes at kit address `kva` unreadable.
    pub fn poison(&mut self, kva: VirtAddr, len: u64) {
        let pa = pa_of(kva);
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
