//! aarch64 translation on the test kit's page tables (`aarch64_kaslr` schemes, tables
//! written by `GuestBuilder::map_kernel`): the linear-map rule and walks of vmalloc pages
//! with the 4K and 64K granules (48-bit VA).

use criterion::{Criterion, criterion_group, criterion_main};
use scxray_aarch64::{Aarch64KernelConfig, Aarch64Translator};
use scxray_core::{PhysAddr, Translate, VirtAddr};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{AddressScheme, GuestBuilder, TestGuest};
use std::hint::black_box;
use std::time::Duration;

/// A guest of `aarch64_kaslr(page_size, 48)` whose 8192-bucket table is in vmalloc space,
/// with page tables; a translator with the linear map rule.
fn guest(page_size: u64) -> (TestGuest, Aarch64Translator) {
    let scheme = AddressScheme::aarch64_kaslr(page_size, 48);
    let mut b = GuestBuilder::with_scheme(debian_7_3_amd64(), scheme.clone(), 4, 1);
    b.attach_scheduler(0, 8192);
    let root = b.alloc_phys(page_size, page_size);
    b.map_kernel(root);
    let t = Aarch64Translator::from_kernel_config(&Aarch64KernelConfig {
        swapper_pg_dir: PhysAddr(root),
        va_bits: 48,
        tcr_el1_t1sz: None,
        page_size,
        lpa2: false,
    })
    .unwrap()
    .with_linux_linear_map(scheme.phys_offset);
    (b.build(), t)
}

fn bench_translate(c: &mut Criterion, name: &str, t: &Aarch64Translator, g: &TestGuest, addrs: &[VirtAddr]) {
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

fn translation(c: &mut Criterion) {
    for (page, label) in [(4096u64, "4K"), (65536, "64K")] {
        let (g, t) = guest(page);
        let vmalloc: Vec<VirtAddr> = g
            .map
            .vmalloc_pages
            .keys()
            .cycle()
            .take(64)
            .enumerate()
            .map(|(i, &p)| VirtAddr(p + (i as u64 * 1000) % page))
            .collect();
        bench_translate(c, &format!("translate/aarch64 {label} walk (48-bit VA)"), &t, &g, &vmalloc);
        if page == 4096 {
            let s = &g.map.scheme;
            let linear: Vec<VirtAddr> =
                (0..64u64).map(|i| VirtAddr(s.direct_va(s.mem_base + 0x10_0000 + i * 0x1_2340))).collect();
            bench_translate(c, "translate/aarch64 linear-map rule", &t, &g, &linear);
        }
    }
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = translation }
criterion_main!(benches);
