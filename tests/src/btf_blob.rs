//! Raw BTF (the format of `/sys/kernel/btf/vmlinux`, `Documentation/bpf/btf.rst`) describing
//! a kit layout: every struct and member scxray's resolver looks up, at the offsets of the
//! [`Layout`] the guest was built with, plus `struct sched_ext_ops` (the scheduler's name)
//! and the enums the report names values with.

use crate::sizes;
use scxray_core::Layout;

/// Offset of `ops` in `struct scx_sched` (the first member, as in the kernel).
pub const SCHED_OPS_OFF: u32 = 0;
/// Offset of `name` in `struct sched_ext_ops`.
pub const OPS_NAME_OFF: u32 = 352;
/// `SCX_OPS_NAME_LEN`.
pub const OPS_NAME_LEN: u32 = 128;
/// Offset of `cgrp_path` (`char *`) in `struct scx_sched`, emitted with the sub-scheduler
/// members (7.3 amd64's offset).
pub const SCHED_CGRP_PATH_OFF: u32 = 880;

/// `enum scx_exit_kind`.
pub const SCX_EXIT_KINDS: &[(&str, i64)] = &[
    ("SCX_EXIT_NONE", 0),
    ("SCX_EXIT_DONE", 1),
    ("SCX_EXIT_UNREG", 64),
    ("SCX_EXIT_UNREG_BPF", 65),
    ("SCX_EXIT_UNREG_KERN", 66),
    ("SCX_EXIT_SYSRQ", 67),
    ("SCX_EXIT_ERROR", 1024),
    ("SCX_EXIT_ERROR_BPF", 1025),
    ("SCX_EXIT_ERROR_STALL", 1026),
];

/// `enum scx_enable_state`.
pub const SCX_ENABLE_STATES: &[(&str, i64)] =
    &[("SCX_ENABLING", 0), ("SCX_ENABLED", 1), ("SCX_DISABLING", 2), ("SCX_DISABLED", 3)];

const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const FWD: u32 = 7;
const TYPEDEF: u32 = 8;
const VAR: u32 = 14;
const DATASEC: u32 = 15;
const ENUM64: u32 = 19;

/// A little-endian BTF writer (only the kinds the kit needs).
#[derive(Debug, Default)]
pub struct Writer {
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
}

impl Writer {
    /// An empty blob.
    pub fn new() -> Self {
        Self { types: Vec::new(), strings: vec![0], next_id: 1 }
    }

    fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = u32::try_from(self.strings.len()).unwrap();
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn word(&mut self, v: u32) {
        self.types.extend_from_slice(&v.to_le_bytes());
    }

    fn head(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32) -> u32 {
        let n = self.str(name);
        self.word(n);
        self.word((u32::from(kind_flag) << 31) | (kind << 24) | vlen);
        self.word(size_or_type);
        self.next_id += 1;
        self.next_id - 1
    }

    /// `BTF_KIND_INT`.
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let id = self.head(name, INT, 0, false, size);
        self.word((u32::from(signed) << 24) | (size * 8));
        id
    }

    /// `BTF_KIND_PTR` to `ty` (0: void).
    pub fn ptr(&mut self, ty: u32) -> u32 {
        self.head("", PTR, 0, false, ty)
    }

    /// `BTF_KIND_ARRAY`.
    pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        let id = self.head("", ARRAY, 0, false, 0);
        self.word(elem);
        self.word(index);
        self.word(n);
        id
    }

    /// `BTF_KIND_STRUCT` with byte-aligned `(name, type, byte offset)` members.
    pub fn struct_(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let mut ms = members.to_vec();
        ms.sort_by_key(|m| m.2);
        let id = self.head(name, STRUCT, u32::try_from(ms.len()).unwrap(), false, size);
        for (n, ty, off) in ms {
            let n = self.str(n);
            self.word(n);
            self.word(ty);
            self.word(off * 8);
        }
        id
    }

    /// `BTF_KIND_ENUM` of 4 bytes.
    pub fn enum_(&mut self, name: &str, signed: bool, values: &[(&str, i64)]) -> u32 {
        let id = self.head(name, ENUM, u32::try_from(values.len()).unwrap(), signed, 4);
        for &(n, v) in values {
            let n = self.str(n);
            self.word(n);
            self.word(v as u32);
        }
        id
    }

    /// `BTF_KIND_STRUCT` (or UNION) with `(name, type, bit offset, bitfield width)` members
    /// (width 0: not a bitfield), in the order given.
    pub fn composite_bits(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u8)],
    ) -> u32 {
        let kind_flag = members.iter().any(|m| m.3 != 0);
        let kind = if union { UNION } else { STRUCT };
        let id = self.head(name, kind, u32::try_from(members.len()).unwrap(), kind_flag, size);
        for &(n, ty, bits, width) in members {
            let n = self.str(n);
            self.word(n);
            self.word(ty);
            self.word(if kind_flag { (u32::from(width) << 24) | bits } else { bits });
        }
        id
    }

    /// `BTF_KIND_ENUM64` of 8 bytes.
    pub fn enum64(&mut self, name: &str, signed: bool, values: &[(&str, u64)]) -> u32 {
        let id = self.head(name, ENUM64, u32::try_from(values.len()).unwrap(), signed, 8);
        for &(n, v) in values {
            let n = self.str(n);
            self.word(n);
            self.word(v as u32);
            self.word((v >> 32) as u32);
        }
        id
    }

    /// The id the next type written gets (to point at a struct written later).
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// `BTF_KIND_FWD` of a struct.
    pub fn fwd(&mut self, name: &str) -> u32 {
        self.head(name, FWD, 0, false, 0)
    }

    /// `BTF_KIND_TYPEDEF`.
    pub fn typedef(&mut self, name: &str, ty: u32) -> u32 {
        self.head(name, TYPEDEF, 0, false, ty)
    }

    /// `BTF_KIND_VAR` (linkage 1: global).
    pub fn var(&mut self, name: &str, ty: u32) -> u32 {
        let id = self.head(name, VAR, 0, false, ty);
        self.word(1);
        id
    }

    /// `BTF_KIND_DATASEC` with `(var, offset, size)` entries.
    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let id = self.head(name, DATASEC, u32::try_from(vars.len()).unwrap(), false, size);
        for &(v, off, sz) in vars {
            self.word(v);
            self.word(off);
            self.word(sz);
        }
        id
    }

    /// The blob: header, types, strings.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9f_u16.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        let type_len = u32::try_from(self.types.len()).unwrap();
        for v in [24, 0, type_len, type_len, u32::try_from(self.strings.len()).unwrap()] {
            out.extend_from_slice(&u32::to_le_bytes(v));
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// What to put in the blob.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Emit the sched_ext types; `false` is a kernel built without `CONFIG_SCHED_CLASS_EXT`.
    pub sched_ext: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { sched_ext: true }
    }
}

/// A BTF blob describing `layout` (see the module docs).
pub fn for_layout(layout: &Layout, opts: Options) -> Vec<u8> {
    let mut w = Writer::new();
    let uint = w.int("unsigned int", 4, false);
    let int = w.int("int", 4, true);
    let u64_ = w.int("long long unsigned int", 8, false);
    let char_ = w.int("char", 1, true);
    let bool_ = w.int("_Bool", 1, false);
    let void_ptr = w.ptr(0);
    let comm = w.array(char_, int, 16);
    let name_arr = w.array(char_, int, OPS_NAME_LEN);
    let buckets = w.array(void_ptr, int, 0);
    let list_head = w.struct_("list_head", 16, &[("next", void_ptr, 0), ("prev", void_ptr, 8)]);
    let rhash_next = layout.rht.map_or(0, |r| r.rhash_head_next);
    let rhash_head = w.struct_("rhash_head", rhash_next + 8, &[("next", void_ptr, rhash_next)]);

    let dsq = match layout.dsq {
        Some(d) => w.struct_(
            "scx_dispatch_q",
            sizes::DSQ as u32,
            &[
                ("list", list_head, d.list),
                ("nr", uint, d.nr),
                ("seq", uint, d.seq),
                ("id", u64_, d.id),
                ("hash_node", rhash_head, d.hash_node),
            ],
        ),
        None => w.struct_("scx_dispatch_q_unused", 0, &[]),
    };
    let lnode = match layout.dsq_lnode {
        Some(l) => w.struct_(
            "scx_dsq_list_node",
            sizes::DSQ_LNODE as u32,
            &[("node", list_head, l.node), ("flags", uint, l.flags)],
        ),
        None => 0,
    };

    let mut see_id = None;
    let mut scx_rq_id = None;
    if opts.sched_ext {
        if let Some(s) = layout.see {
            let mut ms = vec![
                ("runnable_node", list_head, s.runnable_node),
                ("dsq_list", lnode, s.dsq_list),
                ("tasks_node", list_head, s.tasks_node),
                ("flags", uint, s.flags),
            ];
            for (n, ty, off) in [
                ("dsq", void_ptr, s.dsq),
                ("ops_state", u64_, s.ops_state),
                ("ddsp_dsq_id", u64_, s.ddsp_dsq_id),
                ("weight", uint, s.weight),
                ("sticky_cpu", int, s.sticky_cpu),
                ("holding_cpu", int, s.holding_cpu),
                ("runnable_at", u64_, s.runnable_at),
                ("slice", u64_, s.slice),
                ("dsq_vtime", u64_, s.dsq_vtime),
            ] {
                if let Some(off) = off {
                    ms.push((n, ty, off));
                }
            }
            see_id = Some(w.struct_("sched_ext_entity", sizes::SEE as u32, &ms));
        }
        if let Some(s) = layout.scx_rq {
            let rescue =
                s.rescue_dsq.map(|_| w.struct_("scx_rq_rescue", sizes::DSQ as u32 + 8, &[("dsq", dsq, 0)]));
            let mut ms = vec![
                ("local_dsq", dsq, s.local_dsq),
                ("runnable_list", list_head, s.runnable_list),
                ("nr_running", uint, s.nr_running),
                ("flags", uint, s.flags),
                ("cpu_released", bool_, s.cpu_released),
            ];
            for (n, ty, off) in [
                ("ops_qseq", u64_, s.ops_qseq),
                ("kick_sync", u64_, s.kick_sync),
                ("nr_immed", uint, s.nr_immed),
                ("clock", u64_, s.clock),
                ("reject_dsq", dsq, s.reject_dsq),
            ] {
                if let Some(off) = off {
                    ms.push((n, ty, off));
                }
            }
            if let (Some(off), Some(r)) = (s.rescue_dsq, rescue) {
                ms.push(("rescue", r, off));
            }
            let size = ms.iter().map(|m| m.2 + 104).max().unwrap_or(0).next_multiple_of(8);
            scx_rq_id = Some(w.struct_("scx_rq", size, &ms));
        }
    }

    if let Some(t) = layout.task {
        let mut ms = vec![("pid", int, t.pid), ("comm", comm, t.comm)];
        if let Some(see) = see_id {
            ms.push(("scx", see, t.scx));
        }
        for (n, ty, off) in [
            ("tgid", int, t.tgid),
            ("__state", uint, t.state),
            ("on_rq", int, t.on_rq),
            ("cpus_ptr", void_ptr, t.cpus_ptr),
        ] {
            if let Some(off) = off {
                ms.push((n, ty, off));
            }
        }
        w.struct_("task_struct", sizes::TASK as u32, &ms);
    }
    if let Some(r) = layout.rq {
        let mut ms = vec![("curr", void_ptr, r.curr)];
        if let Some(scx) = scx_rq_id {
            ms.push(("scx", scx, r.scx));
        }
        for (n, ty, off) in [("cpu", int, r.cpu), ("clock", u64_, r.clock)] {
            if let Some(off) = off {
                ms.push((n, ty, off));
            }
        }
        w.struct_("rq", sizes::RQ as u32, &ms);
    }

    if !opts.sched_ext {
        return w.build();
    }

    let rhashtable = layout.rht.map(|r| {
        let bt_ptr = {
            let bt = w.struct_(
                "bucket_table",
                sizes::BUCKET_TABLE as u32,
                &[("size", uint, r.bucket_table_size), ("buckets", buckets, r.bucket_table_buckets)],
            );
            w.ptr(bt)
        };
        let mut ms = vec![("tbl", bt_ptr, r.tbl)];
        if let Some(off) = r.nelems {
            ms.push(("nelems", int, off));
        }
        w.struct_("rhashtable", 160, &ms)
    });
    if let Some(p) = layout.sched_pcpu {
        w.struct_("scx_sched_pcpu", p.bypass_dsq + sizes::DSQ as u32, &[("bypass_dsq", dsq, p.bypass_dsq)]);
    }
    if let Some(p) = layout.sched_pnode {
        w.struct_("scx_sched_pnode", p.global_dsq + sizes::DSQ as u32, &[("global_dsq", dsq, p.global_dsq)]);
    }
    // Two of the scheduler's event counters (per-CPU `s64`s: `scx_sched_pcpu.event_stats`, or
    // 6.15's per-CPU `event_stats_cpu`).
    w.struct_(
        "scx_event_stats",
        16,
        &[("SCX_EV_SELECT_CPU_FALLBACK", u64_, 0), ("SCX_EV_BYPASS_DURATION", u64_, 8)],
    );
    // Before 6.16 `scx_ops` is a global `struct sched_ext_ops`: emitted with or without scx_sched.
    let ops = w.struct_(
        "sched_ext_ops",
        OPS_NAME_OFF + OPS_NAME_LEN,
        &[("select_cpu", void_ptr, 0), ("enqueue", void_ptr, 8), ("name", name_arr, OPS_NAME_OFF)],
    );
    if let Some(s) = layout.sched {
        let mut ms = vec![("ops", ops, SCHED_OPS_OFF), ("exit_kind", int, s.exit_kind)];
        if let Some(h) = rhashtable {
            ms.push(("dsq_hash", h, s.dsq_hash));
        }
        for (n, ty, off) in [
            ("pnode", void_ptr, s.pnode),
            ("pcpu", void_ptr, s.pcpu),
            ("aborting", bool_, s.aborting),
            ("bypass_depth", int, s.bypass_depth),
            ("children", list_head, s.children),
            ("sibling", list_head, s.sibling),
            ("level", int, s.level),
            ("cgrp_path", void_ptr, s.children.map(|_| SCHED_CGRP_PATH_OFF)),
        ] {
            if let Some(off) = off {
                ms.push((n, ty, off));
            }
        }
        w.struct_("scx_sched", sizes::SCHED as u32, &ms);
    }
    let f = layout.flags;
    w.enum_(
        "scx_ent_flags",
        true,
        &[("SCX_TASK_QUEUED", 1), ("SCX_TASK_CURSOR", i64::from(f.task_cursor as i32))],
    );
    w.enum_(
        "scx_dsq_lnode_flags",
        false,
        &[("SCX_DSQ_LNODE_ITER_CURSOR", i64::from(f.dsq_lnode_iter_cursor))],
    );
    w.enum_("scx_exit_kind", false, SCX_EXIT_KINDS);
    if layout.sched.is_some() {
        w.enum_("scx_enable_state", false, SCX_ENABLE_STATES);
    } else {
        // 6.12-6.14 name the enum and its constants after `ops`.
        let ops_states: Vec<(String, i64)> =
            SCX_ENABLE_STATES.iter().map(|(n, v)| (n.replacen("SCX_", "SCX_OPS_", 1), *v)).collect();
        let refs: Vec<(&str, i64)> = ops_states.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        w.enum_("scx_ops_enable_state", false, &refs);
    }
    w.build()
}

/// A BPF program's BTF, scx_qmap-like: the `.bss` DATASEC the global-data map's value is
/// (a struct of five FIFOs with head/tail pointers, an enum, a counter and a name), and the
/// per-task context with bitfields a TASK_STORAGE map holds.
#[derive(Debug, Clone)]
pub struct BpfProgram {
    /// The blob.
    pub blob: Vec<u8>,
    /// The `.bss` DATASEC (size [`BpfProgram::BSS_SIZE`]).
    pub bss: u32,
    /// `struct task_ctx` (size 24).
    pub task_ctx: u32,
}

impl BpfProgram {
    /// Size of `.bss`: `qa` (96 bytes: `nr_queued` then `fifos[5]` of 16 bytes, and `flags`),
    /// then `nr_dispatched` at 96 and `name` at 104.
    pub const BSS_SIZE: u32 = 120;

    /// The program's BTF.
    pub fn new() -> Self {
        let mut w = Writer::new();
        let u32_ = w.int("unsigned int", 4, false);
        let int = w.int("int", 4, true);
        let u64_ = w.int("long long unsigned int", 8, false);
        let char_ = w.int("char", 1, true);
        let u64_t = w.typedef("u64", u64_);
        let task_ctx_fwd = 8; // the id `struct task_ctx` gets below
        let ctx_ptr = w.ptr(task_ctx_fwd);
        let fifo = w.struct_("qmap_fifo", 16, &[("head", ctx_ptr, 0), ("tail", ctx_ptr, 8)]);
        let task_ctx = w.composite_bits(
            false,
            "task_ctx",
            24,
            &[
                ("next", ctx_ptr, 0, 0),
                ("fifo", int, 64, 0),
                ("force_local", u32_, 96, 1),
                ("highpri", u32_, 97, 1),
                ("core", u32_, 98, 6),
            ],
        );
        assert_eq!(task_ctx, task_ctx_fwd);
        let fifos = w.array(fifo, int, 5);
        let mode = w.enum_("qmap_mode", false, &[("QMAP_FIFO", 0), ("QMAP_PRIO", 1)]);
        let qa = w.struct_(
            "qmap_arena",
            96,
            &[("nr_queued", u64_t, 0), ("fifos", fifos, 8), ("mode", mode, 88), ("seq_flag", u32_, 92)],
        );
        let name = w.array(char_, int, 16);
        let qa_var = w.var("qa", qa);
        let nr_var = w.var("nr_dispatched", u64_t);
        let name_var = w.var("name", name);
        let bss = w.datasec(".bss", Self::BSS_SIZE, &[(qa_var, 0, 96), (nr_var, 96, 8), (name_var, 104, 16)]);
        Self { blob: w.build(), bss, task_ctx }
    }
}

impl Default for BpfProgram {
    fn default() -> Self {
        Self::new()
    }
}

/// A BPF program's BTF shaped like scx_qmap's on 7.3: its state in an arena (`qa`, a
/// `struct qmap_arena` in the `.addr_space.1` DATASEC, with five FIFOs doubly linked through
/// `struct task_ctx` objects and the slab and free list of those objects), a TASK_STORAGE
/// value pointing at each task's `task_ctx`, and, for the other ways a scheduler holds a
/// task, a QUEUE of bare `u32` pids (older qmap), a hash value with a `pid` field, an array
/// value with a `struct task_struct *`, a per-CPU counter struct and a `.bss`.
#[derive(Debug, Clone)]
pub struct ArenaProgram {
    /// The blob.
    pub blob: Vec<u8>,
    /// `struct task_ctx` ([`ArenaProgram::TASK_CTX_SIZE`] bytes).
    pub task_ctx: u32,
    /// `struct qmap_fifo` (`head`, `tail`, `idx`).
    pub qmap_fifo: u32,
    /// `struct qmap_arena`.
    pub qmap_arena: u32,
    /// The `.addr_space.1` DATASEC (`qa`).
    pub arena_globals: u32,
    /// `struct task_ctx_stor_val` (`taskc`).
    pub stor_val: u32,
    /// `unsigned int` (a bare pid queue's value).
    pub u32_: u32,
    /// `int` (keys).
    pub int: u32,
    /// `struct pid_slot` (`pid`, `weight`): a hash value.
    pub pid_slot: u32,
    /// `struct owner_rec` (`owner`: `struct task_struct *`, `since`): an array value.
    pub owner_rec: u32,
    /// `struct cpu_stat` (`dispatched`, `enqueued`): a per-CPU array value.
    pub cpu_stat: u32,
    /// The `.bss` DATASEC.
    pub bss: u32,
}

impl ArenaProgram {
    /// Size of `struct task_ctx`.
    pub const TASK_CTX_SIZE: u32 = 56;
    /// `task_ctx.next_free`, `q_next`, `q_prev`, `fifo`, `pid`.
    pub const NEXT_FREE: u32 = 0;
    /// `task_ctx.q_next`.
    pub const Q_NEXT: u32 = 8;
    /// `task_ctx.q_prev`.
    pub const Q_PREV: u32 = 16;
    /// `task_ctx.fifo`.
    pub const FIFO: u32 = 24;
    /// `task_ctx.pid`.
    pub const PID: u32 = 40;
    /// Size of `struct qmap_fifo`.
    pub const FIFO_SIZE: u32 = 24;
    /// `qa.nr_enqueued`, `qa.nr_dispatched`.
    pub const QA_NR_ENQUEUED: u32 = 0;
    /// `qa.nr_dispatched`.
    pub const QA_NR_DISPATCHED: u32 = 8;
    /// `qa.task_ctxs` (the slab).
    pub const QA_TASK_CTXS: u32 = 160;
    /// `qa.task_free_head`.
    pub const QA_FREE_HEAD: u32 = 168;
    /// `qa.fifos`.
    pub const QA_FIFOS: u32 = 176;
    /// Size of `struct qmap_arena`.
    pub const QA_SIZE: u32 = 304;
    /// Size of `.bss`: `nr_reenqueued` (u64), `nr_cpus` (u32), `name` (`char[16]`).
    pub const BSS_SIZE: u32 = 32;

    /// The program's BTF.
    pub fn new() -> Self {
        let mut w = Writer::new();
        let u32_ = w.int("unsigned int", 4, false);
        let int = w.int("int", 4, true);
        let u64_ = w.int("long long unsigned int", 8, false);
        let char_ = w.int("char", 1, true);
        let bool_ = w.int("_Bool", 1, false);
        let u64_t = w.typedef("u64", u64_);
        let s32 = w.typedef("s32", int);
        // `struct task_ctx` and `struct qmap_fifo` are written after the pointers to them:
        // their ids are known ahead.
        let n = w.next_id();
        let ctx_ptr_ty = w.ptr(n + 2);
        let fifo_ptr = w.ptr(n + 3);
        let task_ctx = w.struct_(
            "task_ctx",
            Self::TASK_CTX_SIZE,
            &[
                ("next_free", ctx_ptr_ty, Self::NEXT_FREE),
                ("q_next", ctx_ptr_ty, Self::Q_NEXT),
                ("q_prev", ctx_ptr_ty, Self::Q_PREV),
                ("fifo", fifo_ptr, Self::FIFO),
                ("tid", u64_t, 32),
                ("pid", s32, Self::PID),
                ("force_local", bool_, 44),
                ("highpri", bool_, 45),
                ("core_sched_seq", u64_t, 48),
            ],
        );
        assert_eq!(task_ctx, n + 2);
        let qmap_fifo = w.struct_(
            "qmap_fifo",
            Self::FIFO_SIZE,
            &[("head", ctx_ptr_ty, 0), ("tail", ctx_ptr_ty, 8), ("idx", s32, 16)],
        );
        assert_eq!(qmap_fifo, n + 3);
        let cpu_ctx = w.struct_(
            "cpu_ctx",
            24,
            &[
                ("dsp_idx", u64_t, 0),
                ("dsp_cnt", u64_t, 8),
                ("avg_weight", u32_, 16),
                ("cpuperf_target", u32_, 20),
            ],
        );
        let seqs = w.array(u64_t, int, 5);
        let cpu_ctxs = w.array(cpu_ctx, int, 4);
        let fifos = w.array(qmap_fifo, int, 5);
        let qmap_arena = w.struct_(
            "qmap_arena",
            Self::QA_SIZE,
            &[
                ("nr_enqueued", u64_t, Self::QA_NR_ENQUEUED),
                ("nr_dispatched", u64_t, Self::QA_NR_DISPATCHED),
                ("nr_dequeued", u64_t, 16),
                ("core_sched_head_seqs", seqs, 24),
                ("cpu_ctxs", cpu_ctxs, 64),
                ("task_ctxs", ctx_ptr_ty, Self::QA_TASK_CTXS),
                ("task_free_head", ctx_ptr_ty, Self::QA_FREE_HEAD),
                ("fifos", fifos, Self::QA_FIFOS),
                ("nr_cids", u32_, 296),
            ],
        );
        let qa = w.var("qa", qmap_arena);
        let arena_globals = w.datasec(".addr_space.1", Self::QA_SIZE, &[(qa, 0, Self::QA_SIZE)]);
        let stor_val = w.struct_("task_ctx_stor_val", 8, &[("taskc", ctx_ptr_ty, 0)]);
        let pid_slot = w.struct_("pid_slot", 8, &[("pid", s32, 0), ("weight", u32_, 4)]);
        let task_struct = w.fwd("task_struct");
        let task_ptr = w.ptr(task_struct);
        let owner_rec = w.struct_("owner_rec", 16, &[("owner", task_ptr, 0), ("since", u64_t, 8)]);
        let cpu_stat = w.struct_("cpu_stat", 16, &[("dispatched", u64_t, 0), ("enqueued", u64_t, 8)]);
        let name = w.array(char_, int, 16);
        let reenq = w.var("nr_reenqueued", u64_t);
        let nr_cpus = w.var("nr_cpus", u32_);
        let name_var = w.var("name", name);
        let bss = w.datasec(".bss", Self::BSS_SIZE, &[(reenq, 0, 8), (nr_cpus, 8, 4), (name_var, 12, 16)]);
        Self {
            blob: w.build(),
            task_ctx,
            qmap_fifo,
            qmap_arena,
            arena_globals,
            stor_val,
            u32_,
            int,
            pid_slot,
            owner_rec,
            cpu_stat,
            bss,
        }
    }
}

impl Default for ArenaProgram {
    fn default() -> Self {
        Self::new()
    }
}
