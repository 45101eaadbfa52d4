//! The BPF pass's cost on real lab dumps (issue 18's budget: at most 20 ms on the demo's
//! scx_qmap): the walk stage in-process on a configured target, kernel half alone and with the
//! BPF half (the ID tables, the struct_ops map, 24 programs, 16 maps decoded with their BTF
//! read out of the guest, the arena globals, 100-odd task storages, the placement), over the
//! dump mmap'd from a warm page cache. Dumps live in `~/.cache/scxray/dumps`
//! (`$SCXRAY_CACHE/dumps`), made by `cargo xtask lab`; a dump that is not there is skipped.

mod common;

use common::{dumps_dir, find};
use criterion::{Criterion, criterion_group, criterion_main};
use scxray::walk::{Passes, walk, walk_with};
use scxray::{Inputs, Target};
use scxray_core::Limits;
use std::hint::black_box;
use std::time::Duration;

/// 7.3 guests running scx_qmap, x86_64 and arm64.
const DUMPS: &[&str] = &["lab-7.3-amd64-qmap.core", "lab-7.3-arm64-qmap.core"];

fn bpf(c: &mut Criterion) {
    for name in DUMPS {
        let Some((_, core)) = find(&[name]) else {
            println!("bpf: {name} is not in {} (cargo xtask lab makes it): skipped", dumps_dir().display());
            continue;
        };
        let inputs = Inputs { memory: core, vmlinux: None, btf: None, system_map: None, raw_base: 0 };
        let t = Target::configure(&inputs).expect("configure the dump");
        let s = walk_with(&t, Limits::DEFAULT, Passes { bpf: true });
        let b = s.bpf.as_ref().expect("the BPF half");
        let maps: usize = b.scheds.iter().map(|s| s.maps.len()).sum();
        println!(
            "bpf: {name}: {} programs, {} maps, {maps} of the scheduler's, {} tasks placed",
            b.progs.len(),
            b.maps.len(),
            b.places.values().filter(|p| p.place.is_some()).count()
        );
        let bpf_on = Passes { bpf: true };
        c.bench_function(&format!("bpf/{name}: walk"), |b| b.iter(|| walk(black_box(&t), Limits::DEFAULT)));
        c.bench_function(&format!("bpf/{name}: walk + BPF"), |b| {
            b.iter(|| walk_with(black_box(&t), Limits::DEFAULT, bpf_on))
        });
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = bpf }
criterion_main!(benches);
