//! x86_64 translation on the test kit's page tables (KASLR schemes, tables written by
//! `GuestBuilder::map_kernel`): the direct-map rule, 4- and 5-level walks of vmalloc pages,
//! and what the software TLB (`scxray_core::tlb::CachedTranslate`) buys a whole-machine walk
//! whose per-CPU areas and bucket table are in vmalloc space (`x86_kaslr(5)`). Each
//! iteration of the `tlb` pair starts from an empty cache, as one `scxray dump` does.

use criterion::{Criterion, criterion_group, criterion_main};
use scxray_core::tlb::CachedTranslate;
use scxray_core::{FlatImage, Guest, PhysAddr, Translate, VirtAddr, Visitor};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{AddressScheme, GuestBuilder, TestGuest};
use scxray_x86_64::{Cr3, PagingMode, X86Config, X86Translator};
use std::hint::black_box;
use std::time::Duration;

/// A 64-CPU guest of `x86_kaslr(levels)` with 640 tasks on runnable lists, local, bypass and
/// user DSQs, and page tables; its translator (linear rules for the direct map and image).
fn guest(levels: u32) -> (TestGuest, X86Translator) {
    let scheme = AddressScheme::x86_kaslr(levels);
    let mut b = GuestBuilder::with_scheme(debian_7_3_amd64(), scheme.clone(), 64, 2);
    b.attach_scheduler(0, 512);
    for i in 0..640u32 {
        let t = b.add_task(i as i32, b"load");
        let cpu = i % 64;
        match i % 4 {
            0 => b.make_runnable(cpu, t),
            1 => {
                let d = b.local_dsq(cpu);
                b.enqueue(d, t);
            }
            2 => {
                let d = b.bypass_dsq(cpu);
                b.enqueue(d, t);
            }
            _ => {
                let d = b.add_user_dsq(u64::from(i), i % 512, false);
                b.enqueue(d, t);
            }
        }
    }
    let root = b.alloc_phys(4096, 4096);
    b.map_kernel(root);
    let g = b.build();
    let mode = if levels == 5 { PagingMode::FiveLevel } else { PagingMode::FourLevel };
    let t = X86Translator::new(
        X86Config {
            page_offset_base: VirtAddr(scheme.direct_map),
            phys_base: PhysAddr(scheme.phys_base),
            phys_end: Some(PhysAddr(g.mem_base + g.mem.len() as u64)),
            ..X86Config::new(Cr3(root), mode)
        }
        .with_direct_map_end(VirtAddr(scheme.vmalloc.unwrap())),
    );
    (g, t)
}

/// 64 addresses at different offsets in the guest's vmalloc pages.
fn vmalloc_addresses(g: &TestGuest) -> Vec<VirtAddr> {
    g.map
        .vmalloc_pages
        .keys()
        .cycle()
        .take(64)
        .enumerate()
        .map(|(i, &p)| VirtAddr(p + (i as u64 * 200) % 4096))
        .collect()
}

/// Translates `addrs` in turn, one per iteration.
fn bench_translate<T: Translate>(c: &mut Criterion, name: &str, t: &T, g: &TestGuest, addrs: &[VirtAddr]) {
    let mem = g.flat();
    for &a in addrs {
        assert_eq!(t.translate(&mem, a).unwrap().0, g.map.pa(a.0), "{:#x}", a.0);
    }
    let mut i = 0;
    c.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            t.translate(black_box(&mem), black_box(addrs[i]))
        })
    });
}

struct Count(u64);
impl Visitor for Count {
    fn dsq_task(&mut self, _: &scxray_core::DsqHeader, _: scxray_core::TaskEntry) {
        self.0 += 1;
    }
    fn runnable_task(&mut self, _: u32, _: scxray_core::TaskEntry) {
        self.0 += 1;
    }
    fn scx_task(&mut self, _: scxray_core::TaskEntry) {
        self.0 += 1;
    }
    fn problem(&mut self, p: &scxray_core::Problem) {
        panic!("{p:?}");
    }
}

fn walk<T: Translate>(mem: &FlatImage<'_>, t: &T, g: &TestGuest) -> u64 {
    let guest = Guest::new(mem, t, &g.layout, g.kernel_symbols());
    let mut v = Count(0);
    guest.walk_machine(&mut v);
    v.0
}

fn translation(c: &mut Criterion) {
    let (g4, t4) = guest(4);
    let (g5, t5) = guest(5);
    let s = &g4.map.scheme;
    let direct: Vec<VirtAddr> =
        (0..64u64).map(|i| VirtAddr(s.direct_va(0x10_0000 + i * 0x1_2340) + (i * 8) % 4096)).collect();
    bench_translate(c, "translate/x86 direct-map rule", &t4, &g4, &direct);
    bench_translate(c, "translate/x86 4-level walk (4K page)", &t4, &g4, &vmalloc_addresses(&g4));
    bench_translate(c, "translate/x86 5-level walk (4K page)", &t5, &g5, &vmalloc_addresses(&g5));

    let mem = g5.flat();
    assert_eq!(walk(&mem, &t5, &g5), 1280);
    let tlb: CachedTranslate<X86Translator, 256> = CachedTranslate::new(t5);
    assert_eq!(walk(&mem, &tlb, &g5), 1280);
    println!("tlb: one walk_machine on x86_kaslr(5): {} hits, {} misses", tlb.hits(), tlb.misses());
    c.bench_function("tlb/walk_machine x86 5-level, vmalloc per-CPU: no TLB", |b| {
        b.iter(|| walk(black_box(&mem), &t5, &g5))
    });
    let with_tlb = || {
        let tlb: CachedTranslate<X86Translator, 256> = CachedTranslate::new(t5);
        walk(black_box(&mem), &tlb, &g5)
    };
    c.bench_function("tlb/walk_machine x86 5-level, vmalloc per-CPU: 256-entry TLB", |b| b.iter(with_tlb));

    // The ratio, robust to a shared machine: the two runs interleaved, the best of each.
    let (mut plain, mut cached) = (f64::MAX, f64::MAX);
    for _ in 0..400 {
        let t = std::time::Instant::now();
        black_box(walk(black_box(&mem), &t5, &g5));
        plain = plain.min(t.elapsed().as_nanos() as f64);
        let t = std::time::Instant::now();
        black_box(with_tlb());
        cached = cached.min(t.elapsed().as_nanos() as f64);
    }
    println!(
        "ratio: vmalloc-heavy walk_machine, time without the TLB / with = {:.2}x (best of 400 interleaved runs: {:.1} µs / {:.1} µs)",
        plain / cached,
        plain / 1e3,
        cached / 1e3
    );
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = translation }
criterion_main!(benches);
