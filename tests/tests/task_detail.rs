//! A task's detail is read through one translation of the task (`Guest::read_task_detail`):
//! each member's value is the one at that member's own translation, and each member that
//! cannot be read fails with the error a read of that member alone gives (same field, same
//! address, same cause), whichever member it is.

use scxray_core::{
    AddressKind, Field, LinearRange, MemError, PhysAddr, ReadCause, ReadError, TaskDetail, VirtAddr,
};
use scxray_tests::kernels::debian_7_3_amd64;
use scxray_tests::{GuestBuilder, KitAddr, TestGuest};

/// A 7.3 guest with one task whose every member holds a distinct value.
fn guest() -> (TestGuest, VirtAddr) {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
    b.attach_scheduler(0, 1);
    let t = b.add_task(4321, b"span-reader");
    let (tl, sl) = (b.layout.task.unwrap(), b.layout.see.unwrap());
    let see = b.see(t);
    b.write_u32(t.at(tl.state.unwrap()), 0x1);
    b.write(t.at(tl.on_rq.unwrap()), &[1, 0, 0, 0]);
    b.write_u64(t.at(tl.cpus_ptr.unwrap()), 0xffff_8880_0000_1000);
    b.write_u32(see.at(sl.flags), 0x405);
    b.write_u64(see.at(sl.ops_state.unwrap()), 2);
    b.write_u64(see.at(sl.ddsp_dsq_id.unwrap()), 0x8000_0000_0000_0002);
    b.write_u32(see.at(sl.weight.unwrap()), 100);
    b.write_u32(see.at(sl.sticky_cpu.unwrap()), 0xffff_ffff);
    b.write_u32(see.at(sl.holding_cpu.unwrap()), 1);
    b.write_u64(see.at(sl.runnable_at.unwrap()), 4_294_937_296);
    b.write_u64(see.at(sl.slice.unwrap()), 20_000_000);
    b.write_u64(see.at(sl.dsq_vtime.unwrap()), 77);
    (b.build(), t)
}

/// Every member `read_task_detail` reads, in its order: (field, address, size).
fn members(g: &TestGuest, t: VirtAddr) -> Vec<(Field, VirtAddr, u64)> {
    let (tl, sl) = (g.layout.task.unwrap(), g.layout.see.unwrap());
    let see = t.at(tl.scx);
    vec![
        (Field::TaskPid, t.at(tl.pid), 4),
        (Field::TaskComm, t.at(tl.comm), 16),
        (Field::SeeDsq, see.at(sl.dsq.unwrap()), 8),
        (Field::TaskTgid, t.at(tl.tgid.unwrap()), 4),
        (Field::TaskState, t.at(tl.state.unwrap()), 4),
        (Field::TaskOnRq, t.at(tl.on_rq.unwrap()), 4),
        (Field::TaskCpusPtr, t.at(tl.cpus_ptr.unwrap()), 8),
        (Field::SeeFlags, see.at(sl.flags), 4),
        (Field::SeeOpsState, see.at(sl.ops_state.unwrap()), 8),
        (Field::SeeDdspDsqId, see.at(sl.ddsp_dsq_id.unwrap()), 8),
        (Field::SeeWeight, see.at(sl.weight.unwrap()), 4),
        (Field::SeeStickyCpu, see.at(sl.sticky_cpu.unwrap()), 4),
        (Field::SeeHoldingCpu, see.at(sl.holding_cpu.unwrap()), 4),
        (Field::SeeRunnableAt, see.at(sl.runnable_at.unwrap()), 8),
        (Field::SeeSlice, see.at(sl.slice.unwrap()), 8),
        (Field::SeeDsqVtime, see.at(sl.dsq_vtime.unwrap()), 8),
    ]
}

fn detail(g: &TestGuest, t: VirtAddr) -> Result<TaskDetail, ReadError> {
    g.with(|gg| gg.read_task_detail(t))
}

#[test]
fn every_member_reads_its_own_value() {
    let (g, t) = guest();
    let d = detail(&g, t).unwrap();
    assert_eq!((d.pid, d.tgid, d.comm.to_string().as_str()), (4321, Some(4321), "span-reader"));
    assert_eq!((d.state, d.on_rq, d.cpus_ptr), (Some(1), Some(1), Some(VirtAddr(0xffff_8880_0000_1000))));
    assert_eq!((d.scx_flags, d.dsq_kva, d.dsq_id), (0x405, Some(VirtAddr(0)), None));
    assert_eq!((d.ops_state, d.ddsp_dsq_id, d.weight), (Some(2), Some(0x8000_0000_0000_0002), Some(100)));
    assert_eq!((d.sticky_cpu, d.holding_cpu), (Some(-1), Some(1)));
    assert_eq!((d.runnable_at, d.slice, d.dsq_vtime), (Some(4_294_937_296), Some(20_000_000), Some(77)));
}

/// The detail decoded from the task's bytes lent in place (a mapped dump) is the detail
/// read member by member (a memory that only copies: a kdump, a live guest), on tasks
/// that sleep, wait on a DSQ and run.
#[test]
fn lent_bytes_decode_as_member_reads_do() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
    b.attach_scheduler(0, 1);
    let sleeping = b.add_task(10, b"sleeper");
    let queued = b.add_task(11, b"queued");
    let d = b.local_dsq(1);
    b.enqueue(d, queued);
    b.set_see_flags(queued, 0x401);
    let dsq = b.see(queued).at(b.layout.see.unwrap().dsq.unwrap());
    b.write_u64(dsq, d.0);
    let running = b.add_task(12, b"runner");
    b.set_curr(0, running);
    let mut g = b.build();
    for t in [sleeping, queued, running] {
        let lent = g.with(|gg| (gg.read_task_detail(t), gg.mem.reads.get()));
        g.lends = false;
        let copied = g.with(|gg| (gg.read_task_detail(t), gg.mem.reads.get()));
        g.lends = true;
        assert_eq!(lent.0, copied.0, "task {t:?}");
        assert!(lent.0.is_ok());
        // Lent: one borrow of the task, plus the DSQ's id of a queued task. Copied: a read
        // per member.
        let dsq_id = u64::from(t == queued);
        assert_eq!(
            (lent.1, copied.1 > 10),
            (1 + dsq_id, true),
            "task {t:?}: {} / {} reads",
            lent.1,
            copied.1
        );
    }
    let q = g.with(|gg| gg.read_task_detail(queued)).unwrap();
    assert_eq!((q.pid, q.scx_flags, q.dsq_kva, q.dsq_id), (11, 0x401, Some(d), Some(0x8000_0000_0000_0002)));
}

/// Each member made unreadable in turn (its physical bytes poisoned): the detail fails with
/// that member's own error, at its own address, and no member before it fails instead.
#[test]
fn an_unreadable_member_fails_as_its_own_read_does() {
    let (mut g, t) = guest();
    for (field, kva, len) in members(&g, t) {
        let pa = g.map.pa(kva.0);
        g.poison.clear();
        g.poison(kva, len);
        let own = g.with(|gg| gg.read_bytes(kva, &mut vec![0; len as usize], field)).unwrap_err();
        assert_eq!(
            own,
            ReadError { field, kva, cause: ReadCause::Memory(MemError::Unavailable { pa: PhysAddr(pa) }) }
        );
        assert_eq!(detail(&g, t), Err(own), "{field:?} poisoned");
    }
}

/// The translation of the task's address answers only for the span it gives: members past
/// it are translated on their own. Here a range listed first maps the task's upper half
/// elsewhere (another pid and comm there); the detail reads those, not the bytes the task's
/// own span would have given.
#[test]
fn members_outside_the_tasks_span_are_translated_on_their_own() {
    let mut b = GuestBuilder::new(debian_7_3_amd64(), 2, 1);
    b.attach_scheduler(0, 1);
    let t = b.add_task(1, b"lower");
    let tl = b.layout.task.unwrap();
    let split = 0x800;
    assert!(u64::from(tl.scx) < split && u64::from(tl.pid) > split && u64::from(tl.comm) > split);
    let elsewhere = b.alloc(0x1000, 64);
    b.write_u32(elsewhere.at(u64::from(tl.pid) - split), 777);
    b.write(elsewhere.at(u64::from(tl.comm) - split), b"upper\0");
    let pa = b.pa(elsewhere);
    let mut g = b.build();
    let upper = LinearRange {
        va_start: t.at(split),
        len: 0x1000,
        pa_start: PhysAddr(pa),
        kind: AddressKind::DirectMap,
    };
    g.ranges.insert(0, upper);
    let d = detail(&g, t).unwrap();
    assert_eq!((d.pid, d.comm.to_string().as_str()), (777, "upper"));
    // The lower half is the task's own: its scx.flags (the kit's add_task leaves them 0).
    assert_eq!(d.scx_flags, 0);
}
