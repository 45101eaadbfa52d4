//! The address and slot arithmetic of the BPF walkers: an arena's kernel mapping (the
//! kernel's own example from `kernel/bpf/arena.c`'s comment, page sizes, the 4 GiB rule, the
//! globals' placement) and a queue's or stack's slot order.

use proptest::prelude::*;
use scxray_core::VirtAddr;
use scxray_core::bpf::arena::{ArenaGeometry, guard_size};
use scxray_core::bpf::queue::{QueueError, QueueSlots};

#[test]
fn guard_size_follows_the_page_size() {
    assert_eq!(guard_size(4096), Some(64 << 10));
    assert_eq!(guard_size(16384), Some(64 << 10));
    assert_eq!(guard_size(65536), Some(128 << 10));
    assert_eq!(guard_size(u64::MAX), None);
}

#[test]
fn arena_pages_map_by_the_low_32_bits_of_their_user_address() {
    // The kernel's example: user_vm_start 7f7d26200000, kern_vm_start ffffc90001e69000, so
    // page 0 is at ffffc90001e69000 + 26200000 = ffffc90028069000.
    let vm_addr = VirtAddr(0xffff_c900_01e6_9000 - (32 << 10));
    let g = ArenaGeometry::new(vm_addr, 0x7f7d_2620_0000, 1024, 4096).unwrap();
    assert_eq!(g.kern_vm_start, VirtAddr(0xffff_c900_01e6_9000));
    assert_eq!(g.page_kaddr(0), Some(VirtAddr(0xffff_c900_2806_9000)));
    assert_eq!(g.page_kaddr(1), Some(VirtAddr(0xffff_c900_2806_a000)));
    assert_eq!(g.page_kaddr(1024), None);
    assert_eq!(g.kaddr(0x7f7d_2620_1234), Some(VirtAddr(0xffff_c900_2806_a234)));
    assert_eq!(g.page_of(0x7f7d_2620_1234), Some((1, 0x234)));
    assert_eq!(g.uaddr(VirtAddr(0xffff_c900_2806_a234)), Some(0x7f7d_2620_1234));
    // Outside the arena: below, past the end, and a kernel address outside its mapping.
    assert_eq!(g.kaddr(0x7f7d_261f_ffff), None);
    assert_eq!(g.kaddr(g.user_vm_end()), None);
    assert_eq!(g.uaddr(VirtAddr(0xffff_c900_01e6_9000)), None);
    // libbpf's globals at the end: 1024 pages, 100 bytes of globals -> the last page.
    assert_eq!(g.globals_at_end(100), Some(0x7f7d_2620_0000 + 1023 * 4096));
    assert_eq!(g.globals_at_end(4096 * 1025), None);
}

#[test]
fn arenas_the_kernel_would_refuse_have_no_geometry() {
    // Across a 4 GiB boundary of user addresses.
    assert_eq!(ArenaGeometry::new(VirtAddr(0xffff_c900_0000_0000), 0x7fff_ffff_f000, 2, 4096), None);
    // No pages, more than 4 GiB, an overflowing mapping.
    assert_eq!(ArenaGeometry::new(VirtAddr(0xffff_c900_0000_0000), 0x1_0000_0000, 0, 4096), None);
    assert_eq!(ArenaGeometry::new(VirtAddr(0xffff_c900_0000_0000), 0, u32::MAX, 65536), None);
    assert_eq!(ArenaGeometry::new(VirtAddr(u64::MAX - 4096), 0x1_0000_0000, 1, 4096), None);
    // 16 KiB pages: the guard is still 64 KiB.
    let g = ArenaGeometry::new(VirtAddr(0xffff_8000_0000_0000), 0x1_0000_0000, 4, 16384).unwrap();
    assert_eq!(g.page_kaddr(3), Some(VirtAddr(0xffff_8000_0000_8000 + 3 * 16384)));
}

#[test]
fn a_queue_runs_from_tail_and_a_stack_from_head_down() {
    // max_entries 4: five slots; elements in slots 3, 4, 0 (tail 3, head 1).
    let q: Vec<u32> = QueueSlots::new(1, 3, 5, 4, false).unwrap().collect();
    assert_eq!(q, [3, 4, 0]);
    let s: Vec<u32> = QueueSlots::new(1, 3, 5, 4, true).unwrap().collect();
    assert_eq!(s, [0, 4, 3]);
    // Full: four elements; empty: none.
    assert_eq!(QueueSlots::new(4, 0, 5, 4, false).unwrap().collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert!(QueueSlots::new(2, 2, 5, 4, true).unwrap().is_empty());
    assert_eq!(QueueSlots::new(0, 0, 4, 4, false), Err(QueueError::BadSize { size: 4, max_entries: 4 }));
    assert_eq!(
        QueueSlots::new(5, 0, 5, 4, false),
        Err(QueueError::IndexOutOfRange { head: 5, tail: 0, size: 5 })
    );
    assert_eq!(
        QueueSlots::new(0, 0, 0, u32::MAX, false),
        Err(QueueError::BadSize { size: 0, max_entries: u32::MAX })
    );
}

proptest! {
    #[test]
    fn queue_slots_are_distinct_in_range_and_as_many_as_held(
        head in 0u32..70, tail in 0u32..70, max in 0u32..64, stack in any::<bool>()
    ) {
        let Ok(slots) = QueueSlots::new(head, tail, max + 1, max, stack) else { return Ok(()) };
        let n = slots.len();
        let got: Vec<u32> = slots.collect();
        prop_assert_eq!(got.len() as u32, n);
        prop_assert!(n <= max);
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), got.len());
        prop_assert!(got.iter().all(|&s| s <= max));
    }
}
