//! The whole BPF pass of a report on the kit's qmap-like guest
//! (`scxray_tests::bpf::qmap_machine`: 7 programs, 15 maps, an arena of 16 pages with 4
//! allocated, 10 tasks on arena FIFOs), over a plain `FlatImage` and `LinearTranslator`:
//!
//! - `walk`: the four ID tables with every header (programs' statistics summed over 4 CPUs),
//!   the scheduler's struct_ops map, programs and maps, every map's contents streamed, and
//!   the placement of 13 waiting tasks with scxray-btf's answers;
//! - `walk + decode`: the same, with the program's BTF read out of the guest and parsed, and
//!   every value and allocated arena page decoded to text (the globals' pointers named).
//!
//! The budget for this pass on the demo dump is 20 ms.

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scxray_btf::{ArenaNamer, Btf, BtfPlaceTypes, DecodeLimits, GuestValue, Style, format_value};
use scxray_core::bpf::{ArenaPage, BpfVisitor, Elem, IdTable, MapHeader, Waiting, Walker};
use scxray_core::{Field, Guest, LinearTranslator, VirtAddr};
use scxray_tests::bpf::{Qmap, qmap_machine};

/// Counts what the walk hands, and decodes it when given the program's BTF.
struct Pass<'b, 'a> {
    decode: Option<(&'b Btf<'a>, ArenaNamer<'b, 'a>)>,
    elems: u32,
    pages: u32,
    text: String,
}

impl BpfVisitor for Pass<'_, '_> {
    fn elem(&mut self, map: &MapHeader, e: &Elem<'_>) -> ControlFlow<()> {
        self.elems += 1;
        if let Some((btf, namer)) = self.decode
            && map.btf_value_type_id != 0
        {
            self.text.clear();
            let limits = DecodeLimits::DEFAULT;
            let _ = format_value(
                btf,
                map.btf_value_type_id,
                &mut GuestValue(e.value),
                &limits,
                Style::Compact,
                namer,
                &mut self.text,
            );
        }
        ControlFlow::Continue(())
    }
    fn arena_page(&mut self, _: &MapHeader, p: &ArenaPage<'_>) -> ControlFlow<()> {
        self.pages += 1;
        if let Some((btf, namer)) = self.decode
            && let Ok(Some(sec)) = scxray_btf::arena_globals(btf)
            && p.index == 15
        {
            self.text.clear();
            let _ = format_value(
                btf,
                sec.id,
                &mut GuestValue(p.bytes),
                &DecodeLimits::DEFAULT,
                Style::Compact,
                namer,
                &mut self.text,
            );
        }
        ControlFlow::Continue(())
    }
}

/// One report's BPF pass; returns (elements, pages, placed).
fn pass(
    g: &Guest<'_, scxray_core::FlatImage<'_>, LinearTranslator<'_>>,
    q: &Qmap,
    decode: bool,
) -> (u32, u32, u32) {
    let w = Walker::new(*g, q.symbols);
    let mut counts = Pass { decode: None, elems: 0, pages: 0, text: String::new() };
    for t in [IdTable::Prog, IdTable::Map, IdTable::Btf, IdTable::Link] {
        w.walk_id_table(t, &mut counts);
    }
    let mut maps = [VirtAddr(0); 64];
    let sched = w.walk_sched(q.sched, q.sched, &mut maps, &mut counts);
    let maps = &maps[..sched.maps as usize];
    // The program's BTF, read out of the guest and parsed.
    let h = w.read_btf(sched.prog_btf.unwrap()).unwrap();
    let mut blob = vec![0u8; h.data_size as usize];
    g.read_bytes(h.data, &mut blob, Field::KernelBtfObject).unwrap();
    let btf = Btf::parse(&blob).unwrap();
    let objects = [(h.kva, &btf)];
    let mut types = BtfPlaceTypes::new(&objects, &[]);
    let mut tasks: Vec<Waiting> = q.waiting().into_iter().map(|(t, p)| Waiting::new(t, p)).collect();
    let placed = w.place_tasks(maps, sched.arena, &mut types, &mut tasks, &mut counts);
    if decode {
        let end = q.arena.page_uaddr(16);
        counts.decode =
            Some((&btf, ArenaNamer::new(&btf, q.arena.user_vm_start, end, placed.globals.unwrap())));
    }
    for &m in maps {
        let header = w.read_map(m).unwrap();
        w.walk_contents(&header, &mut counts);
    }
    (counts.elems, counts.pages, placed.placed)
}

fn bench(c: &mut Criterion) {
    let (g, q) = qmap_machine();
    let mem = g.flat();
    let t = LinearTranslator::new(&g.ranges);
    let guest = Guest::new(&mem, &t, &g.layout, g.kernel_symbols());
    assert_eq!(pass(&guest, &q, true), (29, 4, 13));
    let mut group = c.benchmark_group("bpf");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("kit qmap guest: walk", |b| b.iter(|| pass(black_box(&guest), &q, false)));
    group.bench_function("kit qmap guest: walk + decode", |b| b.iter(|| pass(black_box(&guest), &q, true)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
