//! One watch sample (`walk::Sampler::sample`: every CPU with its runnable list and the tasks'
//! ages, every DSQ's header, the event counters, the consistency re-read) of the lab's 4-CPU
//! 7.3 amd64 scx_qmap guest, from its dump (`cargo xtask lab` makes it; skipped when absent).
//! Live, `scxray watch` prints samples/s and the share of a host core (`cargo xtask lab watch`).

mod common;

use common::{dumps_dir, find};
use criterion::{Criterion, criterion_group, criterion_main};
use scxray::walk::Sampler;
use scxray::{Inputs, Target};
use std::time::Duration;

/// The first of these in the dumps directory.
const DUMPS: &[&str] = &["lab-7.3-amd64-qmap.core", "sched-test-qmap.core", "7.3-amd64-kaslr-scx_qmap.core"];

fn sample(c: &mut Criterion) {
    let Some((name, core)) = find(DUMPS) else {
        println!(
            "sample: none of {DUMPS:?} is in {} (cargo xtask lab makes them): skipped",
            dumps_dir().display()
        );
        return;
    };
    let inputs = Inputs { memory: core.clone(), vmlinux: None, btf: None, system_map: None, raw_base: 0 };
    let target = Target::configure(&inputs).expect("configure the lab dump");
    let mut sampler = Sampler::new(&target);
    let s = sampler.sample(&target);
    assert!(s.is_valid() && s.cpus.len() == 4 && !s.dsqs.is_empty() && !s.events.is_empty(), "{s:?}");
    println!(
        "sample: {name}: {} CPUs, {} DSQs, {} counters, {} runnable",
        s.cpus.len(),
        s.dsqs.len(),
        s.events.len(),
        s.runnable
    );
    c.bench_function(&format!("sample/one watch sample of {name}"), |b| {
        b.iter(|| sampler.sample(&target).cpus.len())
    });
    let best = (0..200)
        .map(|_| {
            let t = std::time::Instant::now();
            sampler.sample(&target);
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    println!("figure: one watch sample of {name} = {:.1} us (best of 200)", best.as_secs_f64() * 1e6);
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = sample }
criterion_main!(benches);
