//! Reading a running VMM's guest RAM through `/proc/PID/mem` ([`ProcessMemory`]), the access
//! pattern of a walk: ~2000 small reads (4 to 16 bytes) spread over ~170 pages, as a `dump` of
//! the lab's 4-CPU 7.3 guest does after configuration (traced: 1960 reads, 171 pages). The
//! "guest" is a buffer of this process read through /proc/self/mem: the same system call and
//! page-table walk as reading QEMU. Each read is a system call without the page cache; with it,
//! one per page: 43 against 5.2 ms on the lab machine under a load of 12 on 2 cores. (A
//! `process_vm_readv` costs what a `pread` does for this pattern, within noise: replayed against
//! a running QEMU, 3.50 against 3.47 ms for the 1960 reads; it is not used.)

use criterion::{Criterion, criterion_group, criterion_main};
use scxray::source::qemu::process::{ProcessMemory, RamRange};
use scxray_core::{PhysAddr, PhysMem};
use std::hint::black_box;

const PAGES: u64 = 170;
const READS: u64 = 2000;

fn walk(mem: &ProcessMemory, span: u64) -> u64 {
    let mut sum = 0u64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..READS {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let page = (x >> 33) % PAGES;
        let at = page * 4096 % span + (x >> 20) % 4088;
        sum = sum.wrapping_add(mem.read_le::<u64>(PhysAddr(at & !7)).unwrap_or(0));
    }
    sum
}

fn process_memory(c: &mut Criterion) {
    let guest: Vec<u8> = (0..PAGES * 4096).map(|i| (i % 251) as u8).collect();
    let span = guest.len() as u64;
    let ranges = vec![RamRange { gpa: 0, len: span, hva: guest.as_ptr() as u64, name: "bench".into() }];
    let mem = ProcessMemory::open(std::process::id(), ranges).expect("open /proc/self/mem");
    let mut g = c.benchmark_group("process_memory");
    g.bench_function("walk of 2000 reads over 170 pages, uncached", |b| {
        b.iter(|| black_box(walk(&mem, span)))
    });
    mem.cache_pages(true);
    g.bench_function("walk of 2000 reads over 170 pages, page cache", |b| {
        b.iter(|| {
            mem.forget();
            black_box(walk(&mem, span))
        })
    });
    g.finish();
    drop(guest);
}

criterion_group!(benches, process_memory);
criterion_main!(benches);
