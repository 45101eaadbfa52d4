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
    /// Emit the BPF objects (maps, programs, BTF objects, arenas, struct_ops) at 7.3's offsets.
    pub bpf: bool,
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
            bpf: true,
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
    if opts.bpf {
        task_members.push(m("bpf_storage", void_ptr, 5784));
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
        let mut sched_members = vec![
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
        ];
        if opts.bpf {
            sched_members.push(m("arena_map", void_ptr, 520));
            sched_members.push(m("arena_kern_base", ulong, 536));
            sched_members.sort_by_key(|x| x.bits);
        }
        b.struct_("scx_sched", 1224, &keep("scx_sched", sched_members));
        let ops_name = b.array(char_, int, 128);
        b.struct_(
            "sched_ext_ops",
            512,
            &keep(
                "sched_ext_ops",
                vec![m("select_cpu", void_ptr, 0), m("name", ops_name, 360), m("priv", void_ptr, 488)],
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

    if opts.bpf {
        add_bpf_types(b, opts);
    }

    // A per-CPU variable in a DATASEC, as vmlinux has for runqueues.
    let runqueues = b.var("runqueues", rq, 1);
    b.datasec(".data..percpu", 8192, &[(runqueues, 0, 4736)]);
    let _ = u8_;
}

/// The BPF objects at Debian 7.3.4 amd64's offsets, nested as the kernel nests them (the ID
/// tables' xarray inside `struct idr`, the hash node inside an anonymous union, the free-range
/// tree three structs deep), plus an unrelated `struct bucket` the resolver must not take for
/// the hash table's.
fn add_bpf_types(b: &mut BtfBuilder, opts: &Opts) {
    let keep = |s: &str, ms: Vec<M<'static>>| -> Vec<M<'static>> {
        ms.into_iter().filter(|mm| !opts.omit.iter().any(|o| *o == format!("{s}.{}", mm.name))).collect()
    };
    let u8_ = b.int("unsigned char", 1, false);
    let u16_ = b.int("short unsigned int", 2, false);
    let uint = b.int("unsigned int", 4, false);
    let int = b.int("int", 4, true);
    let ull = b.int("long long unsigned int", 8, false);
    let char_ = b.int("char", 1, true);
    let void_ptr = b.ptr(0);
    let name16 = b.array(char_, int, 16);
    let flex = b.array(char_, int, 0);

    // The ID tables.
    let xarray =
        b.struct_("xarray", 16, &[m("xa_lock", uint, 0), m("xa_flags", uint, 4), m("xa_head", void_ptr, 8)]);
    b.struct_(
        "idr",
        24,
        &keep("idr", vec![m("idr_rt", xarray, 0), m("idr_base", uint, 16), m("idr_next", uint, 20)]),
    );
    let slots = b.array(void_ptr, int, 64);
    let list2 = b.struct_("", 16, &[m("next", void_ptr, 0), m("prev", void_ptr, 8)]);
    let priv_union = b.union_("", 16, &[m("private_list", list2, 0), m("rcu_head", list2, 0)]);
    b.struct_(
        "xa_node",
        576,
        &keep(
            "xa_node",
            vec![
                m("shift", u8_, 0),
                m("offset", u8_, 1),
                m("count", u8_, 2),
                m("nr_values", u8_, 3),
                m("parent", void_ptr, 8),
                m("array", void_ptr, 16),
                m("", priv_union, 24),
                m("slots", slots, 40),
            ],
        ),
    );

    // struct bpf_map and the map types built on it.
    let map_type = b.enum_("bpf_map_type", 4, false, &[("BPF_MAP_TYPE_HASH", 1), ("BPF_MAP_TYPE_ARRAY", 2)]);
    let map = b.struct_(
        "bpf_map",
        280,
        &keep(
            "bpf_map",
            vec![
                m("ops", void_ptr, 32),
                m("inner_map_meta", void_ptr, 40),
                m("map_type", map_type, 56),
                m("key_size", uint, 60),
                m("value_size", uint, 64),
                m("max_entries", uint, 68),
                m("map_extra", ull, 72),
                m("map_flags", uint, 80),
                m("id", uint, 84),
                m("btf_key_type_id", uint, 100),
                m("btf_value_type_id", uint, 104),
                m("btf_vmlinux_value_type_id", uint, 108),
                m("btf", void_ptr, 112),
                m("name", name16, 128),
            ],
        ),
    );
    let values = b.union_("", 0, &[m("value", flex, 0), m("ptrs", flex, 0), m("pptrs", flex, 0)]);
    b.struct_(
        "bpf_array",
        296,
        &keep(
            "bpf_array",
            vec![
                m("map", map, 0),
                m("elem_size", uint, 280),
                m("index_mask", uint, 284),
                m("aux", void_ptr, 288),
                m("", values, 296),
            ],
        ),
    );
    // A `struct bucket` of another subsystem first, shaped differently.
    b.struct_("bucket", 8, &[m("gen", uint, 0), m("prio", uint, 4)]);
    let nulls_head = b.struct_("hlist_nulls_head", 8, &[m("first", void_ptr, 0)]);
    let htab_bucket = b.struct_("bucket", 16, &[m("head", nulls_head, 0), m("raw_lock", uint, 8)]);
    let bucket_ptr = b.ptr(htab_bucket);
    b.struct_(
        "bpf_htab",
        896,
        &keep(
            "bpf_htab",
            vec![
                m("map", map, 0),
                m("buckets", bucket_ptr, 440),
                m("elems", void_ptr, 448),
                m("extra_elems", void_ptr, 768),
                m("count", uint, 816),
                m("n_buckets", uint, 824),
                m("elem_size", uint, 828),
                m("hashrnd", uint, 832),
            ],
        ),
    );
    let nulls_node = b.struct_("hlist_nulls_node", 16, &[m("next", void_ptr, 0), m("pprev", void_ptr, 8)]);
    let padded = b.struct_("", 16, &[m("padding", void_ptr, 0), m("batch_flink", void_ptr, 8)]);
    let node_union = b.union_("", 16, &[m("hash_node", nulls_node, 0), m("", padded, 0)]);
    let lru_union = b.union_("", 24, &[m("ptr_to_pptr", void_ptr, 0)]);
    b.struct_(
        "htab_elem",
        48,
        &keep(
            "htab_elem",
            vec![m("", node_union, 0), m("", lru_union, 16), m("hash", uint, 40), m("key", flex, 48)],
        ),
    );

    // Local storage.
    let hlist_head = b.struct_("hlist_head", 8, &[m("first", void_ptr, 0)]);
    let hlist_node = b.struct_("hlist_node", 16, &[m("next", void_ptr, 0), m("pprev", void_ptr, 8)]);
    let ls_bucket =
        b.struct_("bpf_local_storage_map_bucket", 16, &[m("list", hlist_head, 0), m("lock", uint, 8)]);
    let ls_bucket_ptr = b.ptr(ls_bucket);
    b.struct_(
        "bpf_local_storage_map",
        296,
        &keep(
            "bpf_local_storage_map",
            vec![
                m("map", map, 0),
                m("buckets", ls_bucket_ptr, 280),
                m("bucket_log", uint, 288),
                m("elem_size", u16_, 292),
                m("cache_idx", u16_, 294),
            ],
        ),
    );
    let sdata = b.struct_("bpf_local_storage_data", 8, &[m("smap", void_ptr, 0), m("data", flex, 8)]);
    b.struct_(
        "bpf_local_storage_elem",
        128,
        &keep(
            "bpf_local_storage_elem",
            vec![
                m("map_node", hlist_node, 0),
                m("snode", hlist_node, 16),
                m("local_storage", void_ptr, 32),
                m("state", int, 56),
                m("sdata", sdata, 64),
            ],
        ),
    );
    let cache = b.array(void_ptr, int, 16);
    b.struct_(
        "bpf_local_storage",
        184,
        &keep(
            "bpf_local_storage",
            vec![m("cache", cache, 0), m("list", hlist_head, 128), m("owner", void_ptr, 136)],
        ),
    );

    // Queues and stacks.
    b.struct_(
        "bpf_queue_stack",
        296,
        &keep(
            "bpf_queue_stack",
            vec![
                m("map", map, 0),
                m("lock", uint, 280),
                m("head", uint, 284),
                m("tail", uint, 288),
                m("size", uint, 292),
                m("elements", flex, 296),
            ],
        ),
    );

    // Arenas: the free-range tree is bpf_arena.rt.it_root.rb_root.rb_node.
    b.struct_(
        "vm_struct",
        64,
        &keep("vm_struct", vec![m("next", void_ptr, 0), m("addr", void_ptr, 8), m("size", ull, 16)]),
    );
    let rb_node = b.struct_(
        "rb_node",
        24,
        &keep(
            "rb_node",
            vec![m("__rb_parent_color", ull, 0), m("rb_right", void_ptr, 8), m("rb_left", void_ptr, 16)],
        ),
    );
    let rb_root = b.struct_("rb_root", 8, &[m("rb_node", void_ptr, 0)]);
    let rb_root_cached =
        b.struct_("rb_root_cached", 16, &[m("rb_root", rb_root, 0), m("rb_leftmost", void_ptr, 8)]);
    let range_tree = b.struct_(
        "range_tree",
        32,
        &[m("it_root", rb_root_cached, 0), m("range_size_root", rb_root_cached, 16)],
    );
    b.struct_(
        "range_node",
        64,
        &keep(
            "range_node",
            vec![
                m("rn_rbnode", rb_node, 0),
                m("rb_range_size", rb_node, 24),
                m("rn_start", uint, 48),
                m("rn_last", uint, 52),
            ],
        ),
    );
    b.struct_(
        "bpf_arena",
        504,
        &keep(
            "bpf_arena",
            vec![
                m("map", map, 0),
                m("user_vm_start", ull, 280),
                m("user_vm_end", ull, 288),
                m("kern_vm", void_ptr, 296),
                m("scratch_page", void_ptr, 304),
                m("rt", range_tree, 312),
                m("nr_pages", ull, 352),
            ],
        ),
    );

    // Programs.
    let tag = b.array(u8_, int, 8);
    let digest = b.array(u8_, int, 32);
    let digest_union = b.union_("", 32, &[m("digest", digest, 0), m("tag", tag, 0)]);
    b.struct_(
        "bpf_prog",
        96,
        &keep(
            "bpf_prog",
            vec![
                m("pages", u16_, 0),
                bf("jited", uint, 32, 1),
                bf("sleepable", uint, 48, 1),
                m("type", uint, 8),
                m("expected_attach_type", uint, 12),
                m("len", uint, 16),
                m("jited_len", uint, 20),
                m("", digest_union, 24),
                m("stats", void_ptr, 56),
                m("bpf_func", void_ptr, 72),
                m("aux", void_ptr, 80),
            ],
        ),
    );
    b.struct_(
        "bpf_prog_aux",
        1320,
        &keep(
            "bpf_prog_aux",
            vec![
                m("used_map_cnt", uint, 8),
                m("id", uint, 32),
                m("func_cnt", uint, 36),
                m("attach_st_ops_member_off", uint, 52),
                m("arena", void_ptr, 208),
                m("used_maps", void_ptr, 920),
                m("load_time", ull, 976),
                m("verified_insns", uint, 984),
                m("name", name16, 1008),
                m("btf", void_ptr, 1064),
            ],
        ),
    );
    let stats_t = b.typedef("u64_stats_t", ull);
    b.struct_(
        "bpf_prog_stats",
        32,
        &keep("bpf_prog_stats", vec![m("cnt", stats_t, 0), m("nsecs", stats_t, 8), m("misses", stats_t, 16)]),
    );
    b.struct_(
        "bpf_link",
        80,
        &keep(
            "bpf_link",
            vec![
                m("refcnt", ull, 0),
                m("id", uint, 8),
                m("type", uint, 12),
                m("ops", void_ptr, 16),
                m("prog", void_ptr, 24),
            ],
        ),
    );

    // BTF objects.
    let btf_name = b.array(char_, int, 56);
    b.struct_(
        "btf",
        248,
        &keep(
            "btf",
            vec![
                m("data", void_ptr, 0),
                m("types", void_ptr, 8),
                m("strings", void_ptr, 32),
                m("nr_types", uint, 80),
                m("types_size", uint, 88),
                m("data_size", uint, 92),
                m("id", uint, 100),
                m("base_btf", void_ptr, 160),
                m("start_id", uint, 168),
                m("start_str_off", uint, 172),
                m("name", btf_name, 176),
            ],
        ),
    );

    // struct_ops maps.
    let common = b.struct_("bpf_struct_ops_common_value", 8, &[m("refcnt", uint, 0), m("state", int, 4)]);
    let value = b.struct_(
        "bpf_struct_ops_value",
        64,
        &keep("bpf_struct_ops_value", vec![m("common", common, 0), m("data", flex, 64)]),
    );
    let image_pages = b.array(void_ptr, int, 8);
    b.struct_(
        "bpf_struct_ops_map",
        512,
        &keep(
            "bpf_struct_ops_map",
            vec![
                m("map", map, 0),
                m("st_ops_desc", void_ptr, 280),
                m("links", void_ptr, 312),
                m("ksyms", void_ptr, 320),
                m("funcs_cnt", uint, 328),
                m("image_pages_cnt", uint, 332),
                m("image_pages", image_pages, 336),
                m("btf", void_ptr, 400),
                m("uvalue", void_ptr, 408),
                m("kvalue", value, 448),
            ],
        ),
    );
}
