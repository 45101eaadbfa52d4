//! The embedded walk translates through the one dispatch [`Translator`], which forwards
//! `translate_span`: a list walk through the direct map translates once per span instead of
//! once per node. The bare-metal example's own dispatch enum forwarded only `kind` and
//! `translate`; [`TranslateOnly`] is that enum again, and the walk through it is the count
//! from before.

use scxray_core::{
    AddressKind, FlatImage, LinearRange, PhysAddr, PhysMem, Translate, TranslateError, VirtAddr,
};
use scxray_tests::{DIRECT_MAP, IMAGE_PA, KERNEL_IMAGE, TestGuest};
use scxray_wire::{
    Context, LinearRanges, Request, Symbols, Translator, TranslatorConfig, X86_64Config, serve, serve_with,
};
use std::cell::Cell;

/// Counts the translations a walk asks for: every `translate`, `translate_in_page` and
/// `translate_span`.
struct Counting<'c, T> {
    inner: T,
    translations: &'c Cell<u64>,
}

impl<T> Counting<'_, T> {
    fn count(&self) {
        self.translations.set(self.translations.get() + 1);
    }
}

impl<T: Translate> Translate for Counting<'_, T> {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        self.inner.kind(va)
    }
    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        self.count();
        self.inner.translate(mem, va)
    }
    fn translate_in_page<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, bool), TranslateError> {
        self.count();
        self.inner.translate_in_page(mem, va)
    }
    fn translate_span<M: PhysMem + ?Sized>(
        &self,
        mem: &M,
        va: VirtAddr,
    ) -> Result<(PhysAddr, Option<LinearRange>), TranslateError> {
        self.count();
        self.inner.translate_span(mem, va)
    }
}

/// The example's dispatch before scxray-wire: `kind` and `translate` forwarded, the other
/// methods the trait's defaults (no span, no whole page).
struct TranslateOnly<T>(T);

impl<T: Translate> Translate for TranslateOnly<T> {
    fn kind(&self, va: VirtAddr) -> AddressKind {
        self.0.kind(va)
    }
    fn translate<M: PhysMem + ?Sized>(&self, mem: &M, va: VirtAddr) -> Result<PhysAddr, TranslateError> {
        self.0.translate(mem, va)
    }
}

/// The demo machine (4 CPUs, a root scheduler, 24 tasks on runnable lists and local, global
/// and user DSQs), and a request for it with `translator`.
fn request(g: &TestGuest, translator: TranslatorConfig) -> Request<'static> {
    let s = &g.symbols;
    Request {
        translator,
        layout: g.layout,
        symbols: Symbols {
            runqueues: s.runqueues,
            per_cpu_offset: Some(s.per_cpu_offset_kva),
            per_cpu_slots: s.nr_cpus,
            scx_root: s.scx_root,
            scx_tasks: s.scx_tasks,
            nr_threads: s.nr_threads,
            nr_cpus: s.nr_cpus,
            nr_nodes: s.nr_nodes,
            ..Symbols::default()
        },
        limits: g.limits,
        context: Context { arch: "x86_64", paging: "x86_64 4-level", memory: "kit", ..Context::default() },
    }
}

/// Linux's x86_64 rules at the kit's addresses (as `wire_round_trip.rs` configures the host).
fn x86(g: &TestGuest) -> TranslatorConfig {
    let phys_end = g.mem.len() as u64;
    TranslatorConfig::X86_64(X86_64Config {
        cr3: 0,
        five_level: false,
        page_offset_base: VirtAddr(DIRECT_MAP),
        direct_map_size: phys_end.next_multiple_of(1 << 30),
        phys_base: PhysAddr(IMAGE_PA),
        kernel_map_start: VirtAddr(KERNEL_IMAGE),
        kernel_image_size: 1 << 30,
        max_phys_bits: 52,
        phys_end: Some(PhysAddr(phys_end)),
        prefer_walk: false,
    })
}

/// The kit's own ranges (kernel image, direct map).
fn linear(g: &TestGuest) -> TranslatorConfig {
    TranslatorConfig::Linear(LinearRanges::from_slice(&g.ranges).unwrap())
}

/// The dump `serve_with` writes through the request's translator wrapped by `wrap`, and the
/// translations the walk asked for.
fn walk<T: Translate>(
    request: &[u8],
    mem: &FlatImage<'_>,
    wrap: impl FnOnce(Translator) -> T,
) -> (Vec<u8>, u64) {
    let translations = Cell::new(0);
    let mut out = vec![0u8; 64 << 10];
    let counting = |t| Counting { inner: wrap(t), translations: &translations };
    let n = serve_with(request, mem, &mut out, counting).unwrap();
    out.truncate(n);
    (out, translations.get())
}

/// (translations through [`Translator`], through the example's old dispatch) for `config`,
/// once the dumps are checked equal to each other and to `serve`'s.
fn counts(g: &TestGuest, config: TranslatorConfig) -> (u64, u64) {
    let request = request(g, config).encode_with(postcard::ser_flavors::AllocVec::new()).unwrap();
    let mem = g.flat();
    let (dump, now) = walk(&request, &mem, |t| t);
    let (before_dump, before) = walk(&request, &mem, TranslateOnly);
    assert_eq!(dump, before_dump, "the span shortcut changes how often, not what, the walk reads");

    let mut out = vec![0u8; 64 << 10];
    let n = serve(&request, &mem, &mut out).unwrap();
    assert_eq!(out[..n], dump[..], "serve walks through the same Translator");
    (now, before)
}

#[test]
fn the_embedded_walk_translates_once_per_span_on_x86_64() {
    let g = scxray_tests::demo_machine(1024, 0x40).build();
    // The spans save 163 of the 440: list nodes (and their flags) in the direct map, and each
    // task's members, read through one translation of the task instead of one each. A
    // translator that gives no span pays one translation more per task for asking (440, where
    // it was 394 before the task detail asked). (Two of them read the counts that size the
    // caps: nr_threads and the user DSQ table's nelems.)
    assert_eq!(counts(&g, x86(&g)), (277, 440));
}

#[test]
fn the_embedded_walk_translates_once_per_span_with_linear_ranges() {
    let g = scxray_tests::demo_machine(1024, 0x40).build();
    assert_eq!(counts(&g, linear(&g)), (277, 440));
}
