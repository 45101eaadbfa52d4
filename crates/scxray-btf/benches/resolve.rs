//! Index build and layout resolution on this machine's kernel BTF (`/sys/kernel/btf/vmlinux`,
//! ~5.5 MiB), falling back to the synthetic sched_ext kernel when there is none.
//!
//! The host kernel may lack sched_ext, in which case `resolve_layout` stops after two
//! lookups; `parse + lookups` measures the index build plus the lookups a full resolution
//! does (the layout's structs and members, and its enums) on whatever kernel this is.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scxray_btf::{Btf, DecodeLimits, NoNames, Style, format_value, resolve_bpf_layout, resolve_layout};

#[path = "../tests/common/mod.rs"]
mod common;

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The member lookups `resolve_layout` makes on a sched_ext kernel.
const PATHS: &[&str] = &[
    "rq.scx",
    "rq.curr",
    "rq.cpu",
    "rq.clock",
    "scx_rq.local_dsq",
    "scx_rq.runnable_list",
    "scx_rq.nr_running",
    "scx_rq.flags",
    "scx_rq.cpu_released",
    "scx_rq.kick_sync",
    "scx_rq.clock",
    "task_struct.scx",
    "task_struct.pid",
    "task_struct.comm",
    "task_struct.tgid",
    "task_struct.__state",
    "task_struct.on_rq",
    "task_struct.cpus_ptr",
    "sched_ext_entity.runnable_node",
    "sched_ext_entity.dsq_list",
    "sched_ext_entity.tasks_node",
    "sched_ext_entity.flags",
    "sched_ext_entity.slice",
    "sched_ext_entity.dsq_vtime",
    "scx_dispatch_q.list",
    "scx_dispatch_q.hash_node",
    "scx_dsq_list_node.flags",
    "scx_sched.dsq_hash",
    "scx_sched.exit_kind",
    "scx_sched_pcpu.bypass_dsq",
    "scx_sched_pnode.global_dsq",
    "rhashtable.tbl",
    "bucket_table.size",
    "bucket_table.buckets",
    "rhash_head.next",
    "list_head.prev",
];

fn lookups(btf: &Btf<'_>) -> usize {
    let mut found = 0;
    for p in PATHS {
        if btf.member_offset(p).unwrap().is_some() {
            found += 1;
        }
    }
    for e in [("scx_ent_flags", "SCX_TASK_CURSOR"), ("scx_dsq_lnode_flags", "SCX_DSQ_LNODE_ITER_CURSOR")] {
        if btf.enum_value(e.0, e.1).unwrap().is_some() {
            found += 1;
        }
    }
    found
}

fn bench(c: &mut Criterion) {
    let (what, data) = match std::fs::read(VMLINUX) {
        Ok(d) => ("host vmlinux", d),
        Err(_) => ("synthetic kernel", common::kernel::build(&common::kernel::Opts::default())),
    };
    let synthetic = common::kernel::build(&common::kernel::Opts::default());
    let mut scratch = vec![0u32; Btf::scratch_words(&data).unwrap()];
    println!("{what}: {} bytes, {} scratch words", data.len(), scratch.len());

    let mut g = c.benchmark_group("btf");
    g.sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    g.bench_function(format!("{what}: scratch_words"), |b| {
        b.iter(|| Btf::scratch_words(black_box(&data)).unwrap())
    });
    g.bench_function(format!("{what}: parse (index build)"), |b| {
        b.iter(|| {
            let btf = Btf::parse_in(black_box(&data), &mut scratch).unwrap();
            btf.last_id()
        })
    });
    g.bench_function(format!("{what}: parse + resolve_layout"), |b| {
        b.iter(|| {
            let btf = Btf::parse_in(black_box(&data), &mut scratch).unwrap();
            resolve_layout(&btf).is_ok()
        })
    });
    g.bench_function(format!("{what}: parse + {} member lookups + 2 enums", PATHS.len()), |b| {
        b.iter(|| {
            let btf = Btf::parse_in(black_box(&data), &mut scratch).unwrap();
            lookups(&btf)
        })
    });
    g.bench_function(format!("{what}: scan for an enum constant"), |b| {
        let btf = Btf::parse_in(&data, &mut scratch).unwrap();
        b.iter(|| btf.find_enum_constant(black_box("SCX_TASK_CURSOR")).unwrap())
    });
    // A real sched_ext kernel's BTF, when the lab has fetched it (`cargo xtask lab`).
    let home = std::env::var_os("SCXRAY_CACHE").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/scxray")
    });
    let real = home.join("kernels/7.3.4+deb13-cloud-amd64/vmlinux.btf");
    match std::fs::read(&real) {
        Ok(d) => {
            let mut s = vec![0u32; Btf::scratch_words(&d).unwrap()];
            assert!(resolve_layout(&Btf::parse_in(&d, &mut s).unwrap()).is_ok());
            g.bench_function("Debian 7.3.4 amd64 vmlinux: parse + resolve_layout", |b| {
                b.iter(|| {
                    let btf = Btf::parse_in(black_box(&d), &mut s).unwrap();
                    resolve_layout(&btf).unwrap()
                })
            });
            // The BPF groups' share of resolve_layout, on the parsed BTF.
            let btf = Btf::parse_in(&d, &mut s).unwrap();
            g.bench_function("Debian 7.3.4 amd64 vmlinux: resolve_bpf_layout (parsed)", |b| {
                b.iter(|| resolve_bpf_layout(black_box(&btf)).unwrap())
            });
        }
        Err(_) => println!("{}: not there (cargo xtask lab fetches it): skipped", real.display()),
    }
    let mut s2 = vec![0u32; Btf::scratch_words(&synthetic).unwrap()];
    g.bench_function("synthetic 7.3 kernel: parse + resolve_layout", |b| {
        b.iter(|| {
            let btf = Btf::parse_in(black_box(&synthetic), &mut s2).unwrap();
            resolve_layout(&btf).unwrap()
        })
    });
    // A global-data map's value decoded to text: the kit's scx_qmap-like `.bss`.
    let prog = scxray_tests::btf_blob::BpfProgram::new();
    let mut ps = vec![0u32; Btf::scratch_words(&prog.blob).unwrap()];
    let pbtf = Btf::parse_in(&prog.blob, &mut ps).unwrap();
    let bss: Vec<u8> = (0..scxray_tests::btf_blob::BpfProgram::BSS_SIZE).map(|i| i as u8).collect();
    let mut out = String::with_capacity(1024);
    g.bench_function("kit .bss (120 bytes, 19 values): format_value", |b| {
        b.iter(|| {
            out.clear();
            let limits = DecodeLimits::DEFAULT;
            format_value(
                &pbtf,
                prog.bss,
                &mut black_box(&bss[..]),
                &limits,
                Style::Compact,
                NoNames,
                &mut out,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
