//! Layouts of real kernels, as their BTF gives them (the numbers of the kernel matrix in
//! `shared/design/kernel-matrix.md`, measured with bpftool on Debian's packages). The BTF
//! crate's tests check its resolver against these on the real kernels.

use scxray_core::bpf::{
    ArenaFreeTreeLayout, BpfArenaLayout, BpfArrayLayout, BpfHtabLayout, BpfIdrLayout, BpfLayout,
    BpfLocalStorageLayout, BpfMapLayout, BpfProgLayout, BpfQueueStackLayout, BpfStructOpsLayout,
    KernelBtfLayout,
};
use scxray_core::{
    DsqLayout, DsqLnodeLayout, Layout, LayoutFlags, RhtLayout, RqLayout, SchedLayout, SchedPcpuLayout,
    SchedPnodeLayout, ScxRqLayout, SeeLayout, TaskLayout,
};

/// Debian 7.3.4 amd64 (`cloud`). `rescue_dsq` assumes the DSQ leads `struct scx_rq.rescue`.
pub fn debian_7_3_amd64() -> Layout {
    Layout {
        rq: Some(RqLayout { scx: 2552, curr: 24, cpu: Some(4136), clock: Some(3984) }),
        scx_rq: Some(ScxRqLayout {
            local_dsq: 0,
            runnable_list: 400,
            nr_running: 448,
            flags: 460,
            cpu_released: 457,
            ops_qseq: None,
            kick_sync: Some(512),
            nr_immed: Some(464),
            clock: Some(472),
            reject_dsq: Some(104),
            rescue_dsq: Some(208),
        }),
        task: Some(TaskLayout {
            scx: 776,
            pid: 2872,
            comm: 3408,
            tgid: Some(2876),
            state: Some(24),
            on_rq: Some(53),
            cpus_ptr: Some(1440),
        }),
        see: Some(SeeLayout {
            runnable_node: 160,
            dsq_list: 56,
            tasks_node: 256,
            flags: 112,
            dsq: Some(8),
            ops_state: Some(16),
            ddsp_dsq_id: Some(24),
            weight: Some(116),
            sticky_cpu: Some(124),
            holding_cpu: Some(128),
            runnable_at: Some(176),
            slice: Some(208),
            dsq_vtime: Some(216),
        }),
        dsq: Some(DsqLayout { list: 16, nr: 40, seq: 44, id: 48, hash_node: 56 }),
        dsq_lnode: Some(DsqLnodeLayout { node: 0, flags: 16 }),
        sched: Some(SchedLayout {
            dsq_hash: 568,
            exit_kind: 912,
            pnode: Some(728),
            pcpu: Some(744),
            aborting: Some(788),
            bypass_depth: Some(768),
            children: Some(840),
            sibling: Some(856),
            level: Some(796),
        }),
        sched_pcpu: Some(SchedPcpuLayout { bypass_dsq: 304 }),
        sched_pnode: Some(SchedPnodeLayout { global_dsq: 0 }),
        rht: Some(RhtLayout {
            tbl: 0,
            bucket_table_size: 0,
            bucket_table_buckets: 64,
            rhash_head_next: 0,
            nelems: Some(156),
        }),
        flags: LayoutFlags::KERNEL_DEFAULT,
        // The kit's guests hold no BPF objects: see `debian_7_3_amd64_bpf`.
        bpf: BpfLayout::default(),
    }
}

/// Debian 7.3.4 amd64's BPF objects, measured with `bpftool btf dump ... format raw` on the
/// package's vmlinux BTF (offsets of nested members added up by hand).
pub fn debian_7_3_amd64_bpf() -> BpfLayout {
    BpfLayout {
        idr: Some(BpfIdrLayout {
            head: 8,
            base: Some(16),
            node_shift: 0,
            node_slots: 40,
            node_slot_count: 64,
        }),
        map: Some(BpfMapLayout {
            map_type: 56,
            key_size: 60,
            value_size: 64,
            max_entries: 68,
            map_flags: 80,
            id: 84,
            name: 128,
            name_len: 16,
            btf: 112,
            btf_key_type_id: 100,
            btf_value_type_id: 104,
            btf_vmlinux_value_type_id: Some(108),
            map_extra: Some(72),
        }),
        prog: Some(BpfProgLayout {
            prog_type: 8,
            len: 16,
            tag: 24,
            aux: 80,
            jited_len: Some(20),
            stats: Some(56),
            aux_id: 32,
            aux_name: 1008,
            aux_used_maps: 920,
            aux_used_map_cnt: 8,
            aux_btf: Some(1064),
            aux_load_time: Some(976),
            aux_verified_insns: Some(984),
            aux_arena: Some(208),
            aux_st_ops_member_off: Some(52),
            stats_cnt: 0,
            stats_nsecs: 8,
            stats_misses: Some(16),
        }),
        btf: Some(KernelBtfLayout {
            data: 0,
            data_size: 92,
            base_btf: 160,
            start_id: 168,
            start_str_off: 172,
            id: Some(100),
        }),
        array: Some(BpfArrayLayout { elem_size: 280, value: 296 }),
        htab: Some(BpfHtabLayout {
            buckets: 440,
            n_buckets: 824,
            elem_size: 828,
            count: Some(816),
            bucket_size: 16,
            bucket_first: 0,
            elem_next: 0,
            elem_hash: 40,
            elem_key: 48,
        }),
        local_storage: Some(BpfLocalStorageLayout {
            map_buckets: 280,
            map_bucket_log: 288,
            bucket_size: 16,
            bucket_first: 0,
            elem_map_next: 0,
            elem_snode: 16,
            elem_local_storage: 32,
            elem_smap: 64,
            elem_data: 72,
            storage_first: 128,
            storage_owner: 136,
            task_storage: Some(5784),
        }),
        queue_stack: Some(BpfQueueStackLayout { head: 284, tail: 288, size: 292, elements: 296 }),
        arena: Some(BpfArenaLayout {
            user_vm_start: 280,
            user_vm_end: 288,
            kern_vm: 296,
            vm_addr: 8,
            free: Some(ArenaFreeTreeLayout {
                root: 312,
                rb_node: 0,
                start: 48,
                last: 52,
                rb_left: 16,
                rb_right: 8,
            }),
            scratch_page: Some(304),
            nr_pages: Some(352),
        }),
        struct_ops: Some(BpfStructOpsLayout {
            links: 312,
            funcs_cnt: 328,
            uvalue: 408,
            kvalue_data: 512,
            value_data: 64,
            link_prog: 24,
            ops_priv: Some(488),
        }),
        sched_arena_map: Some(520),
        sched_arena_kern_base: Some(536),
    }
}

/// Debian 7.2.13 amd64's BPF objects (as [`debian_7_3_amd64_bpf`]): `struct bpf_map` is 8
/// bytes longer, so is everything after it; `bpf_arena` has no `nr_pages` yet.
pub fn debian_7_2_amd64_bpf() -> BpfLayout {
    let mut b = debian_7_3_amd64_bpf();
    b.map = Some(BpfMapLayout {
        map_type: 64,
        key_size: 68,
        value_size: 72,
        max_entries: 76,
        map_flags: 88,
        id: 92,
        name: 136,
        name_len: 16,
        btf: 120,
        btf_key_type_id: 108,
        btf_value_type_id: 112,
        btf_vmlinux_value_type_id: Some(116),
        map_extra: Some(80),
    });
    b.array = Some(BpfArrayLayout { elem_size: 288, value: 304 });
    if let Some(h) = b.htab.as_mut() {
        h.buckets = 448;
    }
    if let Some(l) = b.local_storage.as_mut() {
        l.map_buckets = 288;
        l.map_bucket_log = 296;
        l.task_storage = Some(5704);
    }
    b.queue_stack = Some(BpfQueueStackLayout { head: 292, tail: 296, size: 300, elements: 304 });
    b.arena = Some(BpfArenaLayout {
        user_vm_start: 288,
        user_vm_end: 296,
        kern_vm: 304,
        vm_addr: 8,
        free: Some(ArenaFreeTreeLayout {
            root: 320,
            rb_node: 0,
            start: 48,
            last: 52,
            rb_left: 16,
            rb_right: 8,
        }),
        scratch_page: Some(312),
        nr_pages: None,
    });
    b.struct_ops = Some(BpfStructOpsLayout {
        links: 320,
        funcs_cnt: 336,
        uvalue: 416,
        kvalue_data: 512,
        value_data: 64,
        link_prog: 24,
        ops_priv: Some(448),
    });
    b.sched_arena_map = Some(480);
    b.sched_arena_kern_base = Some(496);
    b
}

/// Debian 7.2.13 amd64 (`cloud`): no reject/rescue DSQs.
pub fn debian_7_2_amd64() -> Layout {
    let mut l = debian_7_3_amd64();
    l.rq = Some(RqLayout { scx: 2552, curr: 24, cpu: Some(3880), clock: Some(3728) });
    l.scx_rq = Some(ScxRqLayout {
        local_dsq: 0,
        runnable_list: 104,
        nr_running: 144,
        flags: 156,
        cpu_released: 153,
        ops_qseq: None,
        kick_sync: Some(224),
        nr_immed: Some(160),
        clock: Some(168),
        reject_dsq: None,
        rescue_dsq: None,
    });
    l.task = Some(TaskLayout {
        scx: 776,
        pid: 2808,
        comm: 3344,
        tgid: Some(2812),
        state: Some(24),
        on_rq: Some(53),
        cpus_ptr: Some(1376),
    });
    l.see = Some(SeeLayout {
        runnable_node: 136,
        dsq_list: 40,
        tasks_node: 208,
        flags: 96,
        dsq: Some(8),
        ops_state: Some(16),
        ddsp_dsq_id: Some(24),
        weight: Some(100),
        sticky_cpu: Some(104),
        holding_cpu: Some(108),
        runnable_at: Some(152),
        slice: Some(176),
        dsq_vtime: Some(184),
    });
    l.sched = Some(SchedLayout {
        dsq_hash: 520,
        exit_kind: 848,
        pnode: Some(680),
        pcpu: Some(688),
        aborting: Some(732),
        bypass_depth: Some(712),
        children: Some(776),
        sibling: Some(792),
        level: Some(740),
    });
    l.sched_pcpu = Some(SchedPcpuLayout { bypass_dsq: 160 });
    l
}

/// A 6.12-6.15-style layout: no `struct scx_sched` (its state is in kernel globals), no
/// reject or rescue DSQs; the other offsets are 7.3's (the walkers only need them to agree
/// with the builder's).
pub fn globals_era() -> Layout {
    let mut l = debian_7_3_amd64();
    l.sched = None;
    l.sched_pcpu = None;
    l.sched_pnode = None;
    if let Some(rq) = l.scx_rq.as_mut() {
        rq.reject_dsq = None;
        rq.rescue_dsq = None;
    }
    l
}
