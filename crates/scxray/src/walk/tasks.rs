//! The tasks the walks found: each one's identity (pid, comm), read once however many lists
//! it is on, and each one's detail, with the lists it was found on.

use super::read::{Reader, Reading};
use super::walks::Walks;
use scxray_core::{DsqOrigin, Field, ReadError, TaskDetail, TaskIdentity, VirtAddr};
use scxray_wire::TaskRecord;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Where a walk found a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `rq->curr` of this CPU.
    Curr(u32),
    /// This CPU's `runnable_list`.
    Runnable(u32),
    /// A DSQ.
    Dsq(DsqOrigin),
    /// `scx_tasks`.
    ScxTasks,
}

/// A task any walk found, with where, and its detail as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTask {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// Every place it was found, in walk order.
    pub found_on: Vec<Place>,
    /// Its detail, or why it could not be read.
    pub detail: Result<TaskReads, ReadError>,
}

/// A task's detail and what it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReads {
    /// The scalars of `task_struct` and `sched_ext_entity`.
    pub detail: TaskDetail,
    /// The allowed-CPUs mask `cpus_ptr` points to, as 64-bit words.
    pub cpus_allowed: Reading<Vec<u64>>,
}

/// Every task of `walks` with its identity, read once per task: taken from its detail in
/// `found` when that was read (`read_task_detail` reads the identity first and fails without
/// it, so its pid and comm are the identity's), else read.
pub(super) fn identities(r: &Reader<'_>, walks: Walks<VirtAddr>, found: &[FoundTask]) -> Walks<TaskRecord> {
    let mut cache: HashMap<VirtAddr, TaskRecord> = found
        .iter()
        .filter_map(|t| {
            let d = &t.detail.as_ref().ok()?.detail;
            let identity = TaskIdentity { kva: t.kva, pid: d.pid, comm: d.comm };
            Some((t.kva, TaskRecord { kva: t.kva, identity: Ok(identity) }))
        })
        .collect();
    walks.map_tasks(|kva| {
        *cache.entry(kva).or_insert_with(|| TaskRecord { kva, identity: r.guest().read_task_identity(kva) })
    })
}

/// Every task any walker found, once, in first-seen order, with the places it was found on
/// and its detail.
pub(super) fn found(r: &Reader<'_>, walks: &Walks<VirtAddr>) -> Vec<FoundTask> {
    // Each task's index in `order`: one hash lookup per place, one small list per task.
    let mut index: HashMap<VirtAddr, usize> = HashMap::with_capacity(walks.tasks.len());
    let mut order: Vec<(VirtAddr, Vec<Place>)> = Vec::with_capacity(walks.tasks.len());
    let mut note = |kva: VirtAddr, place: Place| match index.entry(kva) {
        Entry::Occupied(e) => {
            if let Some((_, places)) = order.get_mut(*e.get()) {
                places.push(place);
            }
        }
        Entry::Vacant(e) => {
            e.insert(order.len());
            order.push((kva, vec![place]));
        }
    };
    for (cpu, run, _) in &walks.cpus {
        if cpu.curr_kva.0 != 0 {
            note(cpu.curr_kva, Place::Curr(cpu.cpu));
        }
        for &t in run {
            note(t, Place::Runnable(cpu.cpu));
        }
    }
    for (h, ts, _) in &walks.dsqs {
        for &t in ts {
            note(t, Place::Dsq(h.origin));
        }
    }
    for &t in &walks.tasks {
        note(t, Place::ScxTasks);
    }
    order
        .into_iter()
        .map(|(kva, found_on)| FoundTask {
            kva,
            found_on,
            detail: r
                .guest()
                .read_task_detail(kva)
                .map(|detail| TaskReads { cpus_allowed: cpus_allowed(r, &detail), detail }),
        })
        .collect()
}

/// The allowed-CPUs mask of a task, `nr_cpu_ids` bits.
fn cpus_allowed(r: &Reader<'_>, d: &TaskDetail) -> Reading<Vec<u64>> {
    match d.cpus_ptr.filter(|p| p.0 != 0) {
        None => Reading::Absent,
        Some(p) => r.words(p, r.target().nr_cpus().div_ceil(64) as usize, Field::TaskCpusMask),
    }
}
