//! The tasks the walks found: each one's identity (pid, comm), read once however many lists
//! it is on, and each one's detail, with the lists it was found on.

use super::read::{Reader, Reading};
use super::walks::Walks;
use scxray_core::{DsqOrigin, Field, ReadError, TaskDetail, TaskIdentity, VirtAddr};
use scxray_wire::TaskRecord;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Where a walk found a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Every task any walker found, once, in first-seen order, with the places it was found on
/// and its detail; and the walks with each task's identity, read once per task: taken from
/// its detail when that was read (`read_task_detail` reads the identity first and fails
/// without it, so its pid and comm are the identity's), else read.
pub(super) fn read(r: &Reader<'_>, walks: Walks<VirtAddr>) -> (Vec<FoundTask>, Walks<TaskRecord>) {
    // Each task's index in `order`: one hash lookup per place, one small list per task.
    let mut index: HashMap<VirtAddr, usize> = HashMap::with_capacity(walks.tasks.len());
    let mut order: Vec<(VirtAddr, Vec<Place>)> = Vec::with_capacity(walks.tasks.len());
    let mut note = |kva: VirtAddr, place: Place| match index.entry(kva) {
        Entry::Occupied(e) => {
            if let Some((_, places)) = order.get_mut(*e.get()) {
                places.push(place);
            }
            *e.get()
        }
        Entry::Vacant(e) => {
            e.insert(order.len());
            order.push((kva, vec![place]));
            order.len() - 1
        }
    };
    // Each list entry's task by its index in `order`, in the order `Walks::map_tasks` visits
    // the entries (runnable lists, DSQs, `scx_tasks`; a CPU's `curr` is no list entry), so
    // the identities below are found by index, not hashed again.
    let mut entries = Vec::with_capacity(walks.tasks.len());
    for (cpu, run, _) in &walks.cpus {
        if cpu.curr_kva.0 != 0 {
            note(cpu.curr_kva, Place::Curr(cpu.cpu));
        }
        entries.extend(run.iter().map(|&t| note(t, Place::Runnable(cpu.cpu))));
    }
    for (h, ts, _) in &walks.dsqs {
        entries.extend(ts.iter().map(|&t| note(t, Place::Dsq(h.origin))));
    }
    entries.extend(walks.tasks.iter().map(|&t| note(t, Place::ScxTasks)));
    let found: Vec<FoundTask> = order
        .into_iter()
        .map(|(kva, found_on)| FoundTask {
            kva,
            found_on,
            detail: r
                .guest()
                .read_task_detail(kva)
                .map(|detail| TaskReads { cpus_allowed: cpus_allowed(r, &detail), detail }),
        })
        .collect();
    // The identity of a task whose detail failed, read at its first list entry.
    let mut read_alone: Vec<Option<Result<TaskIdentity, ReadError>>> = vec![None; found.len()];
    let mut entries = entries.into_iter();
    let walks = walks.map_tasks(|kva| {
        let i = entries.next().filter(|&i| found.get(i).is_some_and(|t| t.kva == kva));
        let identity = match (i, i.and_then(|i| found.get(i)).map(|t| &t.detail)) {
            (_, Some(Ok(d))) => Ok(TaskIdentity { kva, pid: d.detail.pid, comm: d.detail.comm }),
            (Some(i), _) => read_alone
                .get_mut(i)
                .map(|slot| *slot.get_or_insert_with(|| r.guest().read_task_identity(kva)))
                .unwrap_or_else(|| r.guest().read_task_identity(kva)),
            (None, _) => r.guest().read_task_identity(kva),
        };
        TaskRecord { kva, identity }
    });
    (found, walks)
}

/// The allowed-CPUs mask of a task, `nr_cpu_ids` bits.
fn cpus_allowed(r: &Reader<'_>, d: &TaskDetail) -> Reading<Vec<u64>> {
    match d.cpus_ptr.filter(|p| p.0 != 0) {
        None => Reading::Absent,
        Some(p) => r.words(p, r.target().nr_cpus().div_ceil(64) as usize, Field::TaskCpusMask),
    }
}
