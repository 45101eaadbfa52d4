//! Shared pieces of scxray's fuzz targets: a total decoder of fuzz bytes (any input decodes;
//! missing bytes read as zero), the encoder the seed generator uses to write the same format,
//! and a counting, sparse guest memory.
//!
//! Input formats are this crate's own, not `arbitrary`'s, so that seeds can be written from
//! the synthetic-guest kit (`examples/make_seeds.rs`) and stay valid when the fuzzer mutates
//! them.

use scxray_core::bpf::{
    ArenaFreeTreeLayout, BpfArenaLayout, BpfArrayLayout, BpfHtabLayout, BpfIdrLayout, BpfLayout,
    BpfLocalStorageLayout, BpfMapLayout, BpfProgLayout, BpfQueueStackLayout, BpfStructOpsLayout,
    KernelBtfLayout,
};
use scxray_core::{
    AddressKind, BpfLimits, BpfSymbols, Cap, DsqLayout, DsqLnodeLayout, Layout, LayoutFlags, Limits,
    LinearRange, MemError, PhysAddr, PhysMem, RhtLayout, RqLayout, SchedGlobals, SchedLayout,
    SchedPcpuLayout, SchedPnodeLayout, ScxRqLayout, SeeLayout, TaskLayout, VirtAddr,
};
use std::cell::Cell;
use std::ops::Range;

/// Largest guest memory a fuzz input may describe (zero-filled, patched by segments).
pub const MAX_MEM: u64 = 8 << 20;
/// Largest number of memory segments read from one input.
pub const MAX_SEGMENTS: usize = 64;

/// Reads little-endian values from fuzz bytes; past the end everything is zero.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }
    fn take_array<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        let n = N.min(self.data.len());
        b[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        b
    }
    /// A byte.
    pub fn u8(&mut self) -> u8 {
        self.take_array::<1>()[0]
    }
    /// A bool (low bit of a byte).
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take_array())
    }
    /// A little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take_array())
    }
    /// A little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take_array())
    }
    /// A flag byte, then a u32 when it is set.
    pub fn opt_u32(&mut self) -> Option<u32> {
        if self.bool() { Some(self.u32()) } else { self.skip(4) }
    }
    /// A flag byte, then a u64 when it is set.
    pub fn opt_u64(&mut self) -> Option<u64> {
        if self.bool() { Some(self.u64()) } else { self.skip(8) }
    }
    fn skip<T>(&mut self, n: usize) -> Option<T> {
        let n = n.min(self.data.len());
        self.data = &self.data[n..];
        None
    }
    /// `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (b, rest) = self.data.split_at(n);
        self.data = rest;
        b
    }
    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
    /// Whether the input is used up.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Writes the format [`Reader`] reads.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes so far.
    pub out: Vec<u8>,
}

impl Writer {
    /// A byte.
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    /// A bool.
    pub fn bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }
    /// A u16.
    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    /// A u32.
    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    /// A u64.
    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    /// An optional u32 (flag byte, then 4 bytes either way).
    pub fn opt_u32(&mut self, v: Option<u32>) {
        self.bool(v.is_some());
        self.u32(v.unwrap_or(0));
    }
    /// An optional u64.
    pub fn opt_u64(&mut self, v: Option<u64>) {
        self.bool(v.is_some());
        self.u64(v.unwrap_or(0));
    }
    /// Raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
}

// ---- guest memory --------------------------------------------------------------------------

/// Sparse guest memory: `size` zero bytes from physical 0, patched by segments; reads past
/// `size` are not backed, reads touching a poisoned range are unavailable. Counts reads.
#[derive(Debug, Default)]
pub struct FuzzMem {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Unreadable physical ranges.
    pub poison: Vec<Range<u64>>,
    /// Physical reads made.
    pub reads: Cell<u64>,
}

impl PhysMem for FuzzMem {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.reads.set(self.reads.get() + 1);
        let end = pa.0.saturating_add(buf.len() as u64);
        if self.poison.iter().any(|r| pa.0 < r.end && r.start < end) {
            return Err(MemError::Unavailable { pa });
        }
        scxray_core::FlatImage::new(PhysAddr(0), &self.bytes).read(pa, buf)
    }
}

/// Memory as encoded: size, poison ranges, segments `(pa, bytes)`.
#[derive(Debug, Default, Clone)]
pub struct MemSpec {
    /// Bytes of memory from physical 0 (capped at [`MAX_MEM`]).
    pub size: u64,
    /// Unreadable ranges `(start, len)`.
    pub poison: Vec<(u64, u64)>,
    /// Non-zero contents.
    pub segments: Vec<(u64, Vec<u8>)>,
}

impl MemSpec {
    /// Decodes: `size: u32`, `npoison: u8 (<= 4)`, poison `(u64, u32)`, `nseg: u8`, then
    /// segments `(pa: u32, len: u16, bytes)`.
    pub fn decode(r: &mut Reader<'_>) -> Self {
        let size = u64::from(r.u32()).min(MAX_MEM);
        let npoison = usize::from(r.u8() % 5);
        let poison = (0..npoison).map(|_| (r.u64(), u64::from(r.u32()))).collect();
        let nseg = usize::from(r.u8()).min(MAX_SEGMENTS);
        let mut segments = Vec::new();
        for _ in 0..nseg {
            let pa = u64::from(r.u32());
            let len = usize::from(r.u16());
            segments.push((pa, r.bytes(len).to_vec()));
        }
        Self { size, poison, segments }
    }

    /// Encodes (segments longer than 64 KiB are split).
    pub fn encode(&self, w: &mut Writer) {
        w.u32(u32::try_from(self.size).unwrap());
        w.u8(u8::try_from(self.poison.len()).unwrap());
        for &(s, l) in &self.poison {
            w.u64(s);
            w.u32(u32::try_from(l).unwrap());
        }
        let mut segs = Vec::new();
        for (pa, b) in &self.segments {
            for (i, c) in b.chunks(0xffff).enumerate() {
                segs.push((pa + (i * 0xffff) as u64, c));
            }
        }
        w.u8(u8::try_from(segs.len()).expect("too many segments"));
        for (pa, c) in segs {
            w.u32(u32::try_from(pa).unwrap());
            w.u16(u16::try_from(c.len()).unwrap());
            w.bytes(c);
        }
    }

    /// The memory: zero-filled, segments copied in (clipped at `size`).
    pub fn build(&self) -> FuzzMem {
        let mut bytes = vec![0u8; usize::try_from(self.size).unwrap()];
        for (pa, b) in &self.segments {
            let Ok(start) = usize::try_from(*pa) else { continue };
            if start >= bytes.len() {
                continue;
            }
            let n = b.len().min(bytes.len() - start);
            bytes[start..start + n].copy_from_slice(&b[..n]);
        }
        let poison = self.poison.iter().map(|&(s, l)| s..s.saturating_add(l)).collect();
        FuzzMem { bytes, poison, reads: Cell::new(0) }
    }

    /// The non-zero runs of `mem` (from physical `base`), merged across short zero gaps.
    pub fn from_image(base: u64, mem: &[u8]) -> Self {
        let mut segments: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut i = 0;
        while i < mem.len() {
            if mem[i] == 0 {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = i;
            let mut j = i;
            while j < mem.len() && j - end < 32 {
                if mem[j] != 0 {
                    end = j + 1;
                }
                j += 1;
            }
            segments.push((base + start as u64, mem[start..end].to_vec()));
            i = end;
        }
        Self { size: base + mem.len() as u64, poison: Vec::new(), segments }
    }
}

// ---- the whole-machine input ---------------------------------------------------------------

/// Direct-map base of the fuzz guests (x86_64's default `page_offset_base`).
pub const DIRECT_MAP: u64 = 0xffff_8880_0000_0000;
/// Kernel-image base (`__START_KERNEL_map`).
pub const KERNEL_IMAGE: u64 = 0xffff_ffff_8000_0000;

/// How kernel virtual addresses translate in a whole-machine input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranslatorSpec {
    /// Linear: direct map `DIRECT_MAP + pa`, image `KERNEL_IMAGE + (pa - image_pa)`, no
    /// page walks (0 descriptor reads per translation).
    Linear,
    /// x86_64 with the same linear rules and a 4- or 5-level walk from `cr3` elsewhere.
    X86 {
        /// CR3.
        cr3: u64,
        /// LA57.
        five_level: bool,
    },
}

/// Everything a whole-machine walk gets, decoded from fuzz bytes.
#[derive(Debug, Clone)]
pub struct MachineInput {
    /// Member offsets.
    pub layout: Layout,
    /// `runqueues`.
    pub runqueues: Option<u64>,
    /// `__per_cpu_offset` from the guest (`kva`, `slots`) rather than a slice.
    pub offsets_in_guest: Option<(u64, u32)>,
    /// The slice form (when not in the guest).
    pub offsets: Vec<u64>,
    /// `scx_root`.
    pub scx_root: Option<u64>,
    /// `scx_tasks`.
    pub scx_tasks: Option<u64>,
    /// `nr_threads`.
    pub nr_threads: Option<u64>,
    /// 6.12-6.15 scheduler globals (used when `scx_root` is `None`).
    pub globals: Option<SchedGlobals>,
    /// `nr_cpu_ids`.
    pub nr_cpus: u32,
    /// `nr_node_ids`.
    pub nr_nodes: u32,
    /// Caps.
    pub limits: Limits,
    /// Translation.
    pub translator: TranslatorSpec,
    /// Physical address of the image window's start.
    pub image_pa: u64,
    /// Memory.
    pub mem: MemSpec,
}

fn dec_opt<T>(r: &mut Reader<'_>, f: impl FnOnce(&mut Reader<'_>) -> T, len: usize) -> Option<T> {
    if r.bool() {
        Some(f(r))
    } else {
        r.bytes(len);
        None
    }
}

fn enc_opt<T: Default>(w: &mut Writer, v: Option<T>, f: impl FnOnce(&mut Writer, T)) {
    w.bool(v.is_some());
    f(w, v.unwrap_or_default());
}

impl MachineInput {
    /// Decodes any bytes.
    pub fn decode(data: &[u8]) -> Self {
        let r = &mut Reader::new(data);
        let layout = decode_layout(r);
        let runqueues = r.opt_u64();
        let offsets_in_guest = dec_opt(r, |r| (r.u64(), r.u32()), 12);
        let n = usize::from(r.u8());
        let offsets = (0..n).map(|_| r.u64()).collect();
        let scx_root = r.opt_u64();
        let scx_tasks = r.opt_u64();
        let nr_threads = r.opt_u64();
        let globals = dec_opt(
            r,
            |r| SchedGlobals {
                ops: VirtAddr(r.u64()),
                enable_state: VirtAddr(r.u64()),
                disabled: r.u32(),
                exit_kind: r.opt_u64().map(VirtAddr),
                bypass_depth: r.opt_u64().map(VirtAddr),
                global_dsqs: r.opt_u64().map(VirtAddr),
                dsq_hash: r.opt_u64().map(VirtAddr),
            },
            56,
        );
        let nr_cpus = r.u32();
        let nr_nodes = r.u32();
        let limits = Limits {
            list_nodes: decode_cap(r),
            rht_nodes: decode_cap(r),
            rht_buckets: decode_cap(r),
            bucket_chain: r.u32(),
            sub_scheds: r.u32(),
        };
        let translator = match r.u8() % 3 {
            0 => TranslatorSpec::Linear,
            k => TranslatorSpec::X86 { cr3: r.u64(), five_level: k == 2 },
        };
        let image_pa = u64::from(r.u32());
        let mem = MemSpec::decode(r);
        Self {
            layout,
            runqueues,
            offsets_in_guest,
            offsets,
            scx_root,
            scx_tasks,
            nr_threads,
            globals,
            nr_cpus,
            nr_nodes,
            limits,
            translator,
            image_pa,
            mem,
        }
    }

    /// Encodes in the format [`MachineInput::decode`] reads.
    pub fn encode(&self) -> Vec<u8> {
        let w = &mut Writer::default();
        encode_layout(w, &self.layout);
        w.opt_u64(self.runqueues);
        enc_opt(w, self.offsets_in_guest, |w, (k, s)| {
            w.u64(k);
            w.u32(s);
        });
        w.u8(u8::try_from(self.offsets.len()).unwrap());
        for &o in &self.offsets {
            w.u64(o);
        }
        w.opt_u64(self.scx_root);
        w.opt_u64(self.scx_tasks);
        w.opt_u64(self.nr_threads);
        w.bool(self.globals.is_some());
        let g = self.globals.unwrap_or(SchedGlobals {
            ops: VirtAddr(0),
            enable_state: VirtAddr(0),
            disabled: 0,
            exit_kind: None,
            bypass_depth: None,
            global_dsqs: None,
            dsq_hash: None,
        });
        w.u64(g.ops.0);
        w.u64(g.enable_state.0);
        w.u32(g.disabled);
        for v in [g.exit_kind, g.bypass_depth, g.global_dsqs, g.dsq_hash] {
            w.opt_u64(v.map(|a| a.0));
        }
        w.u32(self.nr_cpus);
        w.u32(self.nr_nodes);
        let l = self.limits;
        for cap in [l.list_nodes, l.rht_nodes, l.rht_buckets] {
            encode_cap(w, cap);
        }
        w.u32(l.bucket_chain);
        w.u32(l.sub_scheds);
        match self.translator {
            TranslatorSpec::Linear => w.u8(0),
            TranslatorSpec::X86 { cr3, five_level } => {
                w.u8(if five_level { 2 } else { 1 });
                w.u64(cr3);
            }
        }
        w.u32(u32::try_from(self.image_pa).unwrap());
        self.mem.encode(w);
        std::mem::take(&mut w.out)
    }

    /// The same input with every cap at most `max` (fuzzing keeps executions short; the
    /// default caps are covered by the deterministic suite): a fixed cap is clamped, and a
    /// kernel-sized one keeps its kind with its floor and ceiling clamped, so the counts the
    /// input's memory holds still size the walks.
    pub fn clamp_limits(&mut self, max: u32) {
        let l = &mut self.limits;
        l.list_nodes = clamp_cap(l.list_nodes, max);
        l.rht_nodes = clamp_cap(l.rht_nodes, max.saturating_mul(2));
        l.rht_buckets = clamp_cap(l.rht_buckets, max.saturating_mul(4));
        l.bucket_chain = l.bucket_chain.min(max);
        l.sub_scheds = l.sub_scheds.min(max.min(8));
    }
}

fn clamp_cap(cap: Cap, max: u32) -> Cap {
    match cap {
        Cap::Fixed(n) => Cap::Fixed(n.min(max)),
        Cap::Kernel { floor, ceiling } => Cap::Kernel { floor: floor.min(max), ceiling: ceiling.min(max) },
    }
}

/// A cap: a kind byte (even: from the kernel, odd: fixed), then two u32s (floor and ceiling,
/// or the fixed value and an unused one).
fn decode_cap(r: &mut Reader<'_>) -> Cap {
    let kernel = r.u8().is_multiple_of(2);
    let (a, b) = (r.u32(), r.u32());
    if kernel { Cap::Kernel { floor: a, ceiling: b } } else { Cap::Fixed(a) }
}

fn encode_cap(w: &mut Writer, cap: Cap) {
    let (kind, a, b) = match cap {
        Cap::Kernel { floor, ceiling } => (0, floor, ceiling),
        Cap::Fixed(n) => (1, n, 0),
    };
    w.u8(kind);
    w.u32(a);
    w.u32(b);
}

/// Layout: a presence byte per group, then its offsets (u32) and optional members.
pub fn decode_layout(r: &mut Reader<'_>) -> Layout {
    let rq =
        dec_opt(r, |r| RqLayout { scx: r.u32(), curr: r.u32(), cpu: r.opt_u32(), clock: r.opt_u32() }, 18);
    let scx_rq = dec_opt(
        r,
        |r| ScxRqLayout {
            local_dsq: r.u32(),
            runnable_list: r.u32(),
            nr_running: r.u32(),
            flags: r.u32(),
            cpu_released: r.u32(),
            ops_qseq: r.opt_u32(),
            kick_sync: r.opt_u32(),
            nr_immed: r.opt_u32(),
            clock: r.opt_u32(),
            reject_dsq: r.opt_u32(),
            rescue_dsq: r.opt_u32(),
        },
        50,
    );
    let task = dec_opt(
        r,
        |r| TaskLayout {
            scx: r.u32(),
            pid: r.u32(),
            comm: r.u32(),
            tgid: r.opt_u32(),
            state: r.opt_u32(),
            on_rq: r.opt_u32(),
            cpus_ptr: r.opt_u32(),
        },
        32,
    );
    let see = dec_opt(
        r,
        |r| SeeLayout {
            runnable_node: r.u32(),
            dsq_list: r.u32(),
            tasks_node: r.u32(),
            flags: r.u32(),
            dsq: r.opt_u32(),
            ops_state: r.opt_u32(),
            ddsp_dsq_id: r.opt_u32(),
            weight: r.opt_u32(),
            sticky_cpu: r.opt_u32(),
            holding_cpu: r.opt_u32(),
            runnable_at: r.opt_u32(),
            slice: r.opt_u32(),
            dsq_vtime: r.opt_u32(),
        },
        61,
    );
    let dsq = dec_opt(
        r,
        |r| DsqLayout { list: r.u32(), nr: r.u32(), seq: r.u32(), id: r.u32(), hash_node: r.u32() },
        20,
    );
    let dsq_lnode = dec_opt(r, |r| DsqLnodeLayout { node: r.u32(), flags: r.u32() }, 8);
    let sched = dec_opt(
        r,
        |r| SchedLayout {
            dsq_hash: r.u32(),
            exit_kind: r.u32(),
            pnode: r.opt_u32(),
            pcpu: r.opt_u32(),
            aborting: r.opt_u32(),
            bypass_depth: r.opt_u32(),
            children: r.opt_u32(),
            sibling: r.opt_u32(),
            level: r.opt_u32(),
        },
        43,
    );
    let sched_pcpu = dec_opt(r, |r| SchedPcpuLayout { bypass_dsq: r.u32() }, 4);
    let sched_pnode = dec_opt(r, |r| SchedPnodeLayout { global_dsq: r.u32() }, 4);
    let rht = dec_opt(
        r,
        |r| RhtLayout {
            tbl: r.u32(),
            bucket_table_size: r.u32(),
            bucket_table_buckets: r.u32(),
            rhash_head_next: r.u32(),
            nelems: r.opt_u32(),
        },
        21,
    );
    let flags = LayoutFlags { task_cursor: r.u32(), dsq_lnode_iter_cursor: r.u32() };
    Layout {
        rq,
        scx_rq,
        task,
        see,
        dsq,
        dsq_lnode,
        sched,
        sched_pcpu,
        sched_pnode,
        rht,
        flags,
        bpf: Default::default(),
    }
}

/// The inverse of [`decode_layout`].
pub fn encode_layout(w: &mut Writer, l: &Layout) {
    enc_opt(w, l.rq, |w, g| {
        w.u32(g.scx);
        w.u32(g.curr);
        w.opt_u32(g.cpu);
        w.opt_u32(g.clock);
    });
    enc_opt(w, l.scx_rq, |w, g| {
        for v in [g.local_dsq, g.runnable_list, g.nr_running, g.flags, g.cpu_released] {
            w.u32(v);
        }
        for v in [g.ops_qseq, g.kick_sync, g.nr_immed, g.clock, g.reject_dsq, g.rescue_dsq] {
            w.opt_u32(v);
        }
    });
    enc_opt(w, l.task, |w, g| {
        for v in [g.scx, g.pid, g.comm] {
            w.u32(v);
        }
        for v in [g.tgid, g.state, g.on_rq, g.cpus_ptr] {
            w.opt_u32(v);
        }
    });
    enc_opt(w, l.see, |w, g| {
        for v in [g.runnable_node, g.dsq_list, g.tasks_node, g.flags] {
            w.u32(v);
        }
        for v in [
            g.dsq,
            g.ops_state,
            g.ddsp_dsq_id,
            g.weight,
            g.sticky_cpu,
            g.holding_cpu,
            g.runnable_at,
            g.slice,
            g.dsq_vtime,
        ] {
            w.opt_u32(v);
        }
    });
    enc_opt(w, l.dsq, |w, g| {
        for v in [g.list, g.nr, g.seq, g.id, g.hash_node] {
            w.u32(v);
        }
    });
    enc_opt(w, l.dsq_lnode, |w, g| {
        w.u32(g.node);
        w.u32(g.flags);
    });
    enc_opt(w, l.sched, |w, g| {
        w.u32(g.dsq_hash);
        w.u32(g.exit_kind);
        for v in [g.pnode, g.pcpu, g.aborting, g.bypass_depth, g.children, g.sibling, g.level] {
            w.opt_u32(v);
        }
    });
    enc_opt(w, l.sched_pcpu, |w, g| w.u32(g.bypass_dsq));
    enc_opt(w, l.sched_pnode, |w, g| w.u32(g.global_dsq));
    enc_opt(w, l.rht, |w, g| {
        for v in [g.tbl, g.bucket_table_size, g.bucket_table_buckets, g.rhash_head_next] {
            w.u32(v);
        }
        w.opt_u32(g.nelems);
    });
    w.u32(l.flags.task_cursor);
    w.u32(l.flags.dsq_lnode_iter_cursor);
}

/// A virtual address as an `Option` helper for seeds.
pub fn va(v: VirtAddr) -> Option<u64> {
    Some(v.0)
}

// ---- the BPF input --------------------------------------------------------------------------

/// Segments of a BPF input's memory at most (its guests scatter small objects widely).
pub const MAX_BPF_SEGMENTS: usize = 4096;
/// Linear ranges (direct map, image, vmalloc pages: an arena's kernel mapping) at most.
pub const MAX_BPF_RANGES: usize = 32;
/// Waiting tasks at most.
pub const MAX_BPF_TASKS: usize = 64;
/// Per-CPU offsets at most.
pub const MAX_BPF_CPUS: usize = 16;

/// Everything the BPF walks get, decoded from fuzz bytes: the layouts, the BPF symbols, a
/// scheduler, the machine's CPUs, caps, the translator's linear ranges, the waiting tasks to
/// place, the program BTF the placement asks (and where its `struct btf` is), and memory.
#[derive(Debug, Clone, Default)]
pub struct BpfInput {
    /// The kernel layout (`task_struct.pid` for task pointers).
    pub layout: Layout,
    /// The BPF objects' offsets.
    pub bpf: BpfLayout,
    /// The ID tables and the statistics key.
    pub symbols: BpfSymbols,
    /// The scheduler and its `sched_ext_ops`.
    pub sched: (u64, u64),
    /// Page size (4, 16 or 64 KiB).
    pub page_size: u64,
    /// `__per_cpu_offset[]`.
    pub offsets: Vec<u64>,
    /// Caps.
    pub limits: BpfLimits,
    /// The translator's linear ranges (direct map, kernel image, vmalloc pages).
    pub ranges: Vec<LinearRange>,
    /// `(task, pid)` to place.
    pub tasks: Vec<(u64, i32)>,
    /// The program's `struct btf` address and its blob.
    pub btf: (u64, Vec<u8>),
    /// Memory.
    pub mem: MemSpec,
}

fn dec_bpf_layout(r: &mut Reader<'_>) -> BpfLayout {
    let idr = dec_opt(
        r,
        |r| BpfIdrLayout {
            head: r.u32(),
            base: r.opt_u32(),
            node_shift: r.u32(),
            node_slots: r.u32(),
            node_slot_count: r.u32(),
        },
        21,
    );
    let map = dec_opt(
        r,
        |r| BpfMapLayout {
            map_type: r.u32(),
            key_size: r.u32(),
            value_size: r.u32(),
            max_entries: r.u32(),
            map_flags: r.u32(),
            id: r.u32(),
            name: r.u32(),
            name_len: r.u32(),
            btf: r.u32(),
            btf_key_type_id: r.u32(),
            btf_value_type_id: r.u32(),
            btf_vmlinux_value_type_id: r.opt_u32(),
            map_extra: r.opt_u32(),
        },
        54,
    );
    let prog = dec_opt(
        r,
        |r| BpfProgLayout {
            prog_type: r.u32(),
            len: r.u32(),
            tag: r.u32(),
            aux: r.u32(),
            jited_len: r.opt_u32(),
            stats: r.opt_u32(),
            aux_id: r.u32(),
            aux_name: r.u32(),
            aux_used_maps: r.u32(),
            aux_used_map_cnt: r.u32(),
            aux_btf: r.opt_u32(),
            aux_load_time: r.opt_u32(),
            aux_verified_insns: r.opt_u32(),
            aux_arena: r.opt_u32(),
            aux_st_ops_member_off: r.opt_u32(),
            stats_cnt: r.u32(),
            stats_nsecs: r.u32(),
            stats_misses: r.opt_u32(),
        },
        80,
    );
    let btf = dec_opt(
        r,
        |r| KernelBtfLayout {
            data: r.u32(),
            data_size: r.u32(),
            base_btf: r.u32(),
            start_id: r.u32(),
            start_str_off: r.u32(),
            id: r.opt_u32(),
        },
        25,
    );
    let array = dec_opt(r, |r| BpfArrayLayout { elem_size: r.u32(), value: r.u32() }, 8);
    let htab = dec_opt(
        r,
        |r| BpfHtabLayout {
            buckets: r.u32(),
            n_buckets: r.u32(),
            elem_size: r.u32(),
            count: r.opt_u32(),
            bucket_size: r.u32(),
            bucket_first: r.u32(),
            elem_next: r.u32(),
            elem_hash: r.u32(),
            elem_key: r.u32(),
        },
        37,
    );
    let local_storage = dec_opt(
        r,
        |r| BpfLocalStorageLayout {
            map_buckets: r.u32(),
            map_bucket_log: r.u32(),
            bucket_size: r.u32(),
            bucket_first: r.u32(),
            elem_map_next: r.u32(),
            elem_snode: r.u32(),
            elem_local_storage: r.u32(),
            elem_smap: r.u32(),
            elem_data: r.u32(),
            storage_first: r.u32(),
            storage_owner: r.u32(),
            task_storage: r.opt_u32(),
        },
        49,
    );
    let queue_stack = dec_opt(
        r,
        |r| BpfQueueStackLayout { head: r.u32(), tail: r.u32(), size: r.u32(), elements: r.u32() },
        16,
    );
    let arena = dec_opt(
        r,
        |r| BpfArenaLayout {
            user_vm_start: r.u32(),
            user_vm_end: r.u32(),
            kern_vm: r.u32(),
            vm_addr: r.u32(),
            free: dec_opt(
                r,
                |r| ArenaFreeTreeLayout {
                    root: r.u32(),
                    rb_node: r.u32(),
                    start: r.u32(),
                    last: r.u32(),
                    rb_left: r.u32(),
                    rb_right: r.u32(),
                },
                24,
            ),
            scratch_page: r.opt_u32(),
            nr_pages: r.opt_u32(),
        },
        51,
    );
    let struct_ops = dec_opt(
        r,
        |r| BpfStructOpsLayout {
            links: r.u32(),
            funcs_cnt: r.u32(),
            uvalue: r.u32(),
            kvalue_data: r.u32(),
            value_data: r.u32(),
            link_prog: r.u32(),
            ops_priv: r.opt_u32(),
        },
        29,
    );
    let sched_arena_map = r.opt_u32();
    let sched_arena_kern_base = r.opt_u32();
    BpfLayout {
        idr,
        map,
        prog,
        btf,
        array,
        htab,
        local_storage,
        queue_stack,
        arena,
        struct_ops,
        sched_arena_map,
        sched_arena_kern_base,
    }
}

fn enc_bpf_layout(w: &mut Writer, l: &BpfLayout) {
    enc_opt(w, l.idr, |w, g| {
        w.u32(g.head);
        w.opt_u32(g.base);
        for v in [g.node_shift, g.node_slots, g.node_slot_count] {
            w.u32(v);
        }
    });
    enc_opt(w, l.map, |w, g| {
        for v in [
            g.map_type,
            g.key_size,
            g.value_size,
            g.max_entries,
            g.map_flags,
            g.id,
            g.name,
            g.name_len,
            g.btf,
            g.btf_key_type_id,
            g.btf_value_type_id,
        ] {
            w.u32(v);
        }
        w.opt_u32(g.btf_vmlinux_value_type_id);
        w.opt_u32(g.map_extra);
    });
    enc_opt(w, l.prog, |w, g| {
        for v in [g.prog_type, g.len, g.tag, g.aux] {
            w.u32(v);
        }
        w.opt_u32(g.jited_len);
        w.opt_u32(g.stats);
        for v in [g.aux_id, g.aux_name, g.aux_used_maps, g.aux_used_map_cnt] {
            w.u32(v);
        }
        for v in [g.aux_btf, g.aux_load_time, g.aux_verified_insns, g.aux_arena, g.aux_st_ops_member_off] {
            w.opt_u32(v);
        }
        w.u32(g.stats_cnt);
        w.u32(g.stats_nsecs);
        w.opt_u32(g.stats_misses);
    });
    enc_opt(w, l.btf, |w, g| {
        for v in [g.data, g.data_size, g.base_btf, g.start_id, g.start_str_off] {
            w.u32(v);
        }
        w.opt_u32(g.id);
    });
    enc_opt(w, l.array, |w, g| {
        w.u32(g.elem_size);
        w.u32(g.value);
    });
    enc_opt(w, l.htab, |w, g| {
        for v in [g.buckets, g.n_buckets, g.elem_size] {
            w.u32(v);
        }
        w.opt_u32(g.count);
        for v in [g.bucket_size, g.bucket_first, g.elem_next, g.elem_hash, g.elem_key] {
            w.u32(v);
        }
    });
    enc_opt(w, l.local_storage, |w, g| {
        for v in [
            g.map_buckets,
            g.map_bucket_log,
            g.bucket_size,
            g.bucket_first,
            g.elem_map_next,
            g.elem_snode,
            g.elem_local_storage,
            g.elem_smap,
            g.elem_data,
            g.storage_first,
            g.storage_owner,
        ] {
            w.u32(v);
        }
        w.opt_u32(g.task_storage);
    });
    enc_opt(w, l.queue_stack, |w, g| {
        for v in [g.head, g.tail, g.size, g.elements] {
            w.u32(v);
        }
    });
    enc_opt(w, l.arena, |w, g| {
        for v in [g.user_vm_start, g.user_vm_end, g.kern_vm, g.vm_addr] {
            w.u32(v);
        }
        enc_opt(w, g.free, |w, f| {
            for v in [f.root, f.rb_node, f.start, f.last, f.rb_left, f.rb_right] {
                w.u32(v);
            }
        });
        w.opt_u32(g.scratch_page);
        w.opt_u32(g.nr_pages);
    });
    enc_opt(w, l.struct_ops, |w, g| {
        for v in [g.links, g.funcs_cnt, g.uvalue, g.kvalue_data, g.value_data, g.link_prog] {
            w.u32(v);
        }
        w.opt_u32(g.ops_priv);
    });
    w.opt_u32(l.sched_arena_map);
    w.opt_u32(l.sched_arena_kern_base);
}

impl BpfInput {
    /// Decodes any bytes.
    pub fn decode(data: &[u8]) -> Self {
        let r = &mut Reader::new(data);
        let layout = decode_layout(r);
        let bpf = dec_bpf_layout(r);
        let symbols = BpfSymbols {
            prog_idr: r.opt_u64().map(VirtAddr),
            map_idr: r.opt_u64().map(VirtAddr),
            btf_idr: r.opt_u64().map(VirtAddr),
            link_idr: r.opt_u64().map(VirtAddr),
            stats_enabled_key: r.opt_u64().map(VirtAddr),
        };
        let sched = (r.u64(), r.u64());
        let page_size = [4096, 16384, 65536][usize::from(r.u8() % 3)];
        let n = usize::from(r.u8()).min(MAX_BPF_CPUS);
        let offsets = (0..n).map(|_| r.u64()).collect();
        let limits = BpfLimits {
            ids: r.u32(),
            idr_nodes: r.u32(),
            sched_progs: r.u32(),
            used_maps: r.u32(),
            elems: sized_cap(r.u32()),
            hash_buckets: sized_cap(r.u32()),
            chain: r.u32(),
            storage_bucket_log: r.u32(),
            owner_storages: r.u32(),
            free_ranges: r.u32(),
            links: r.u32(),
            arena_reads: r.u32(),
            arena_probes: r.u32(),
        };
        let n = usize::from(r.u8()).min(MAX_BPF_RANGES);
        let ranges = (0..n)
            .map(|_| LinearRange {
                va_start: VirtAddr(r.u64()),
                len: r.u64(),
                pa_start: PhysAddr(r.u64()),
                kind: match r.u8() % 3 {
                    0 => AddressKind::DirectMap,
                    1 => AddressKind::KernelImage,
                    _ => AddressKind::PageWalk,
                },
            })
            .collect();
        let n = usize::from(r.u8()).min(MAX_BPF_TASKS);
        let tasks = (0..n).map(|_| (r.u64(), r.u32() as i32)).collect();
        let btf_at = r.u64();
        let len = r.u32() as usize;
        let btf = (btf_at, r.bytes(len).to_vec());
        let size = u64::from(r.u32()).min(MAX_MEM);
        let nseg = usize::from(r.u16()).min(MAX_BPF_SEGMENTS);
        let segments = (0..nseg)
            .map(|_| {
                let pa = u64::from(r.u32());
                let len = usize::from(r.u16());
                (pa, r.bytes(len).to_vec())
            })
            .collect();
        let mem = MemSpec { size, poison: Vec::new(), segments };
        Self { layout, bpf, symbols, sched, page_size, offsets, limits, ranges, tasks, btf, mem }
    }

    /// Encodes in the format [`BpfInput::decode`] reads.
    pub fn encode(&self) -> Vec<u8> {
        let w = &mut Writer::default();
        encode_layout(w, &self.layout);
        enc_bpf_layout(w, &self.bpf);
        let s = self.symbols;
        for v in [s.prog_idr, s.map_idr, s.btf_idr, s.link_idr, s.stats_enabled_key] {
            w.opt_u64(v.map(|a| a.0));
        }
        w.u64(self.sched.0);
        w.u64(self.sched.1);
        w.u8(match self.page_size {
            16384 => 1,
            65536 => 2,
            _ => 0,
        });
        w.u8(u8::try_from(self.offsets.len()).unwrap());
        for &o in &self.offsets {
            w.u64(o);
        }
        let l = self.limits;
        for v in [
            l.ids,
            l.idr_nodes,
            l.sched_progs,
            l.used_maps,
            l.elems.most(),
            l.hash_buckets.most(),
            l.chain,
            l.storage_bucket_log,
            l.owner_storages,
            l.free_ranges,
            l.links,
            l.arena_reads,
        ] {
            w.u32(v);
        }
        w.u8(u8::try_from(self.ranges.len()).unwrap());
        for r in &self.ranges {
            w.u64(r.va_start.0);
            w.u64(r.len);
            w.u64(r.pa_start.0);
            w.u8(match r.kind {
                AddressKind::DirectMap => 0,
                AddressKind::KernelImage => 1,
                AddressKind::PageWalk => 2,
            });
        }
        w.u8(u8::try_from(self.tasks.len()).unwrap());
        for &(t, p) in &self.tasks {
            w.u64(t);
            w.u32(p as u32);
        }
        w.u64(self.btf.0);
        w.u32(u32::try_from(self.btf.1.len()).unwrap());
        w.bytes(&self.btf.1);
        w.u32(u32::try_from(self.mem.size).unwrap());
        let mut segs = Vec::new();
        for (pa, b) in &self.mem.segments {
            for (i, c) in b.chunks(0xffff).enumerate() {
                segs.push((pa + (i * 0xffff) as u64, c));
            }
        }
        w.u16(u16::try_from(segs.len()).expect("too many segments"));
        for (pa, c) in segs {
            w.u32(u32::try_from(pa).unwrap());
            w.u16(u16::try_from(c.len()).unwrap());
            w.bytes(c);
        }
        std::mem::take(&mut w.out)
    }

    /// The same input with every cap at most `max` (the arena read budget 64 times that).
    pub fn clamp_limits(&mut self, max: u32) {
        let l = &mut self.limits;
        for v in [
            &mut l.ids,
            &mut l.idr_nodes,
            &mut l.sched_progs,
            &mut l.used_maps,
            &mut l.chain,
            &mut l.owner_storages,
            &mut l.free_ranges,
            &mut l.links,
        ] {
            *v = (*v).min(max);
        }
        l.elems = sized_cap(l.elems.most().min(max));
        l.hash_buckets = sized_cap(l.hash_buckets.most().min(max));
        l.storage_bucket_log = l.storage_bucket_log.min(6);
        l.arena_reads = l.arena_reads.min(max.saturating_mul(64));
    }
}

/// A cap sized from the guest's own count (a map's `max_entries`, `n_buckets`), as the
/// walkers' defaults are, with the input's `ceiling` and a small floor: the sizing from hostile
/// counts is what gets fuzzed. Written back as its ceiling.
fn sized_cap(ceiling: u32) -> Cap {
    Cap::Kernel { floor: ceiling.min(16), ceiling }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips() {
        let l = Layout {
            rq: Some(RqLayout { scx: 1, curr: 2, cpu: None, clock: Some(3) }),
            sched: Some(SchedLayout {
                dsq_hash: 9,
                exit_kind: 8,
                pnode: Some(7),
                pcpu: None,
                aborting: None,
                bypass_depth: Some(1),
                children: Some(40),
                sibling: Some(56),
                level: None,
            }),
            ..Layout::default()
        };
        let w = &mut Writer::default();
        encode_layout(w, &l);
        assert_eq!(decode_layout(&mut Reader::new(&w.out)), l);
        // Truncated input decodes too (missing bytes are zero).
        for n in 0..w.out.len() {
            let _ = MachineInput::decode(&w.out[..n]);
        }
    }
}
