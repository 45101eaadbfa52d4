//! A synthetic "sched_ext kernel": the structs scxray's layout needs, at the member offsets
//! of Debian's 7.3.4 amd64 kernel (the kernel matrix), with the nesting real kernels use
//! (anonymous unions and structs), every BTF kind somewhere, and knobs for the variants.

use super::{BtfBuilder, M, bf, m};

/// What to vary.
#[derive(Clone, Debug)]
pub struct Opts {
    pub big_endian: bool,
    /// `scx_rq.rescue` (at 208) with the DSQ at this byte offset inside it; `None`: no rescue
    /// member and no reject_dsq (as in 7.2).
    pub rescue_dsq_inner: Option<u32>,
    /// Emit `struct scx_sched_pnode`.
    pub pnode: bool,
    /// Emit `enum scx_ent_flags` / `enum scx_dsq_lnode_flags`.
    pub flag_enums: bool,
    /// Emit `struct sched_ext_entity` and `struct scx_rq` at all.
    pub sched_ext: bool,
    /// `struct.member` names to leave out.
    pub omit: Vec<&'static str>,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            big_endian: false,
            rescue_dsq_inner: Some(0),
            pnode: true,
            flag_enums: true,
            sched_ext: true,
            omit: Vec::new(),
        }
    }
}

/// Builds the kernel into `b` (so a test can add more types) and returns the blob.
pub fn build(opts: &Opts) -> Vec<u8> {
    let mut b = if opts.big_endian { BtfBuilder::big() } else { BtfBuilder::new() };
    add_types(&mut b, opts);
    b.build()
}

/// Adds the kernel's types to `b`.
pub fn add_types(b: &mut BtfBuilder, opts: &Opts) {
    let keep = |s: &str, ms: Vec<M<'static>>| -> Vec<M<'static>> {
        ms.into_iter().filter(|mm| !opts.omit.iter().any(|o| *o == format!("{s}.{}", mm.name))).collect()
    };

    // Base types.
    let uint = b.int("unsigned int", 4, false);
    let int = b.int("int", 4, true);
    let ulong = b.int("long unsigned int", 8, false);
    let ull = b.int("long long unsigned int", 8, false);
    let long = b.int("long int", 8, true);
    let uchar = b.int("unsigned char", 1, false);
    let char_ = b.int("char", 1, true);
    let bool_ = b.int("_Bool", 1, false);
    let u32_ = b.typedef("u32", uint);
    let s32 = b.typedef("s32", int);
    let u64_ = b.typedef("u64", ull);
    let u8_ = b.typedef("u8", uchar);
    let void_ptr = b.ptr(0);
    let _double = b.float("double", 8);
    let vol_int = b.volatile(int);
    let comm_arr = b.array(char_, int, 16);

    // Every other kind, unused by the layout, so skipping them is exercised.
    let proto = b.func_proto(int, &[("cpu", int), ("", void_ptr)]);
    let _f = b.func("scx_bpf_dsq_nr_queued", proto, 1);
    let _tag = b.decl_tag("bpf_kfunc", _f, -1);
    let restrict_ptr = b.restrict(void_ptr);
    let _ = b.const_(restrict_ptr);
    let ids = b.enum64(
        "scx_dsq_id_flags",
        8,
        false,
        &[
            ("SCX_DSQ_FLAG_BUILTIN", 1 << 63),
            ("SCX_DSQ_GLOBAL", (1 << 63) | 1),
            ("SCX_DSQ_LOCAL_CPU_MASK", 0xffff_ffff),
        ],
    );
    let _ = ids;

    let list_head = b.struct_("list_head", 16, &[m("next", void_ptr, 0), m("prev", void_ptr, 8)]);
    let atomic = b.struct_("", 4, &[m("counter", int, 0)]);
    let atomic_t = b.typedef("atomic_t", atomic);
    let atomic_long = b.struct_("", 8, &[m("counter", long, 0)]);
    let atomic_long_t = b.typedef("atomic_long_t", atomic_long);
    let raw_spinlock = b.struct_("raw_spinlock", 4, &[m("raw_lock", vol_int, 0)]);
    let raw_spinlock_t = b.typedef("raw_spinlock_t", raw_spinlock);

    let rhash_head_fwd_ptr = b.ptr(b.next_id() + 1);
    let rhash_head = b.struct_("rhash_head", 8, &[m("next", rhash_head_fwd_ptr, 0)]);
    assert_eq!(rhash_head_fwd_ptr + 1, rhash_head);
    let bucket_arr = b.array(void_ptr, int, 0);
    let bucket_table = b.struct_(
        "bucket_table",
        64,
        &keep(
            "bucket_table",
            vec![
                m("size", uint, 0),
                m("nest", uint, 4),
                m("hash_rnd", u32_, 8),
                m("buckets", bucket_arr, 64),
            ],
        ),
    );
    let bt_ptr = b.ptr(bucket_table);
    let rcu_bt = b.type_tag("rcu", bt_ptr);
    let rhashtable = b.struct_(
        "rhashtable",
        160,
        &keep("rhashtable", vec![m("tbl", rcu_bt, 0), m("key_len", uint, 8), m("nelems", atomic_t, 156)]),
    );

    let lnode = b.struct_(
        "scx_dsq_list_node",
        24,
        &keep("scx_dsq_list_node", vec![m("node", list_head, 0), m("flags", u32_, 16), m("priv", u32_, 20)]),
    );
    let dsq = b.struct_(
        "scx_dispatch_q",
        104,
        &keep(
            "scx_dispatch_q",
            vec![
                m("lock", raw_spinlock_t, 0),
                m("first_task", void_ptr, 8),
                m("list", list_head, 16),
                m("priq", void_ptr, 32),
                m("nr", u32_, 40),
                m("seq", u32_, 44),
                m("id", u64_, 48),
                m("hash_node", rhash_head, 56),
                m("free_node", void_ptr, 64),
            ],
        ),
    );

    let see = if opts.sched_ext {
        // slice sits two anonymous levels down: struct @192 { ...; union @16 { slice @0 } }.
        let slice_union =
            b.union_("", 8, &keep("sched_ext_entity", vec![m("slice", u64_, 0), m("slice_alias", u64_, 0)]));
        let slice_struct = b.struct_("", 24, &[m("tid", u64_, 0), m("", slice_union, 16)]);
        let see = b.struct_(
            "sched_ext_entity",
            272,
            &keep(
                "sched_ext_entity",
                vec![
                    m("sched", void_ptr, 0),
                    m("dsq", void_ptr, 8),
                    m("ops_state", atomic_long_t, 16),
                    m("ddsp_dsq_id", u64_, 24),
                    m("dsq_list", lnode, 56),
                    m("flags", u32_, 112),
                    m("weight", u32_, 116),
                    m("sticky_cpu", s32, 124),
                    m("holding_cpu", s32, 128),
                    m("runnable_node", list_head, 160),
                    m("runnable_at", ulong, 176),
                    m("", slice_struct, 192),
                    m("dsq_vtime", u64_, 216),
                    bf("disallow", bool_, 244 * 8, 1),
                    m("tasks_node", list_head, 256),
                ],
            ),
        );
        Some(see)
    } else {
        None
    };

    let scx_rq = if opts.sched_ext {
        let mut members = vec![
            m("local_dsq", dsq, 0),
            m("runnable_list", list_head, 400),
            m("nr_running", u32_, 448),
            m("cpuperf_target", u32_, 452),
            bf("in_select_cpu", bool_, 456 * 8, 1),
            m("cpu_released", bool_, 457),
            m("flags", u32_, 460),
            m("nr_immed", u32_, 464),
            m("clock", u64_, 472),
            m("kick_sync", u64_, 512),
        ];
        if let Some(inner) = opts.rescue_dsq_inner {
            let mut rm = vec![m("dsq", dsq, inner), m("budget", u64_, if inner == 0 { 104 } else { 0 })];
            rm.sort_by_key(|x| x.bits);
            let rescue = b.struct_("scx_rq_rescue", 192, &rm);
            members.push(m("reject_dsq", dsq, 104));
            members.push(m("rescue", rescue, 208));
        }
        members.sort_by_key(|x| x.bits);
        Some(b.struct_("scx_rq", 672, &keep("scx_rq", members)))
    } else {
        None
    };

    // task_struct, with a forward declaration pointed to before the definition.
    let task_fwd = b.fwd("task_struct", false);
    let task_ptr_fwd = b.ptr(task_fwd);
    let rcu_task = b.type_tag("rcu", task_ptr_fwd);
    let mut task_members = vec![
        m("__state", uint, 24),
        bf("on_cpu_bits", uint, 48 * 8, 3),
        m("on_rq", int, 53),
        m("cpus_ptr", void_ptr, 1440),
        m("pid", int, 2872),
        m("tgid", int, 2876),
        m("comm", comm_arr, 3408),
    ];
    if let Some(see) = see {
        task_members.push(m("scx", see, 776));
    }
    task_members.sort_by_key(|x| x.bits);
    b.struct_("task_struct", 6144, &keep("task_struct", task_members));

    // rq: curr inside an anonymous union, clock inside an anonymous struct.
    let donor_curr = b.union_("", 8, &keep("rq", vec![m("donor", rcu_task, 0), m("curr", rcu_task, 0)]));
    let clocks = b.struct_("", 24, &keep("rq", vec![m("clock_task", u64_, 0), m("clock", u64_, 16)]));
    let mut rq_members =
        vec![m("nr_running", uint, 0), m("", donor_curr, 24), m("", clocks, 3968), m("cpu", int, 4136)];
    if let Some(scx_rq) = scx_rq {
        rq_members.push(m("scx", scx_rq, 2552));
    }
    rq_members.sort_by_key(|x| x.bits);
    let rq = b.struct_("rq", 4736, &keep("rq", rq_members));

    if opts.sched_ext {
        let pcpu = b.struct_(
            "scx_sched_pcpu",
            432,
            &keep("scx_sched_pcpu", vec![m("sch", void_ptr, 0), m("bypass_dsq", dsq, 304)]),
        );
        let _ = pcpu;
        if opts.pnode {
            b.struct_("scx_sched_pnode", 104, &keep("scx_sched_pnode", vec![m("global_dsq", dsq, 0)]));
        }
        let sched_ptr_ptr = b.ptr(void_ptr);
        b.struct_(
            "scx_sched",
            1224,
            &keep(
                "scx_sched",
                vec![
                    m("dsq_hash", rhashtable, 568),
                    m("pnode", sched_ptr_ptr, 728),
                    m("pcpu", void_ptr, 744),
                    m("bypass_depth", int, 768),
                    m("aborting", bool_, 788),
                    m("level", int, 796),
                    m("children", list_head, 840),
                    m("sibling", list_head, 856),
                    bf("warned_zero_slice", bool_, 804 * 8, 1),
                    bf("warned_unassoc_progs", bool_, 804 * 8 + 1, 1),
                    m("exit_kind", atomic_t, 912),
                ],
            ),
        );
        if opts.flag_enums {
            b.enum_(
                "scx_ent_flags",
                4,
                true,
                &[("SCX_TASK_QUEUED", 1), ("SCX_TASK_STATE_MASK", 0x700), ("SCX_TASK_CURSOR", -2147483648)],
            );
            b.enum_(
                "scx_dsq_lnode_flags",
                4,
                false,
                &[("SCX_DSQ_LNODE_ITER_CURSOR", 1), ("__SCX_DSQ_LNODE_PRIV_SHIFT", 16)],
            );
        }
    }

    // A per-CPU variable in a DATASEC, as vmlinux has for runqueues.
    let runqueues = b.var("runqueues", rq, 1);
    b.datasec(".data..percpu", 8192, &[(runqueues, 0, 4736)]);
    let _ = u8_;
}
