//! Layouts of real kernels, as their BTF gives them (the numbers of the kernel matrix in
//! `shared/design/kernel-matrix.md`, measured with bpftool on Debian's packages). The BTF
//! crate's tests check its resolver against these on the real kernels.

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
        rht: Some(RhtLayout { tbl: 0, bucket_table_size: 0, bucket_table_buckets: 64, rhash_head_next: 0 }),
        flags: LayoutFlags::KERNEL_DEFAULT,
    }
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
