//! The tasks the walks found: each one's identity (pid, comm), read once however many lists
//! it is on, and each one's detail, with the lists it was found on.

use super::read::{Reader, Reading};
use super::walks::Walks;
use foldhash::{HashMap, HashMapExt};
use scxray_core::{DsqOrigin, Field, ReadError, TaskDetail, TaskDetails, TaskIdentity, VirtAddr};
use scxray_wire::TaskRecord;
use smallvec::{SmallVec, smallvec};
use std::collections::hash_map::Entry;
use std::sync::Arc;

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

/// The places a task was found on: `scx_tasks` and at most one or two more for a sound
/// machine, inline; any number on a damaged one.
pub type Places = SmallVec<[Place; 2]>;

/// A task any walk found, with where, and its detail as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTask {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// Every place it was found, in walk order.
    pub found_on: Places,
    /// Its detail, or why it could not be read.
    pub detail: Result<TaskReads, ReadError>,
}

/// A task's detail and what it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReads {
    /// The scalars of `task_struct` and `sched_ext_entity`.
    pub detail: TaskDetail,
    /// The allowed-CPUs mask `cpus_ptr` points to, as 64-bit words: one allocation shared
    /// by consecutive tasks with the same mask (on most machines, nearly all of them).
    pub cpus_allowed: Reading<Arc<[u64]>>,
}

/// Every task any walker found, once, in first-seen order, with the places it was found on
/// and its detail; and the walks with each task's identity, read once per task: taken from
/// its detail when that was read (`read_task_detail` reads the identity first and fails
/// without it, so its pid and comm are the identity's), else read.
pub(super) fn read(r: &Reader<'_>, walks: Walks<VirtAddr>) -> (Vec<FoundTask>, Walks<TaskRecord>) {
    // Each task's index in `found`: one hash lookup per place, one small list per task. A
    // task's detail is read when it is first met, in the order the walks met them.
    let details = r.guest().task_details();
    let mut masks = Masks::default();
    let mut index: HashMap<VirtAddr, usize> = HashMap::with_capacity(walks.tasks.len());
    let mut found: Vec<FoundTask> = Vec::with_capacity(walks.tasks.len());
    let mut note = |kva: VirtAddr, place: Place| match index.entry(kva) {
        Entry::Occupied(e) => {
            if let Some(t) = found.get_mut(*e.get()) {
                t.found_on.push(place);
            }
            *e.get()
        }
        Entry::Vacant(e) => {
            e.insert(found.len());
            found.push(FoundTask { kva, found_on: smallvec![place], detail: masks.task(r, &details, kva) });
            found.len() - 1
        }
    };
    // Each list entry's task by its index in `found`, in the order `Walks::map_tasks` visits
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
    // The identity of a task whose detail failed, read at its first list entry.
    // (Few: kept by index, not one slot per task.)
    let mut read_alone: HashMap<usize, Result<TaskIdentity, ReadError>> = HashMap::new();
    let mut entries = entries.into_iter();
    let walks = walks.map_tasks(|kva| {
        let i = entries.next().filter(|&i| found.get(i).is_some_and(|t| t.kva == kva));
        let identity = match (i, i.and_then(|i| found.get(i)).map(|t| &t.detail)) {
            (_, Some(Ok(d))) => Ok(TaskIdentity { kva, pid: d.detail.pid, comm: d.detail.comm }),
            (Some(i), _) => *read_alone.entry(i).or_insert_with(|| r.guest().read_task_identity(kva)),
            (None, _) => r.guest().read_task_identity(kva),
        };
        TaskRecord { kva, identity }
    });
    (found, walks)
}

/// The tasks' allowed-CPUs masks as read, the last one kept to be shared.
#[derive(Default)]
pub(super) struct Masks {
    last: Option<Arc<[u64]>>,
}

impl Masks {
    /// A task's detail with its allowed-CPUs mask, or why its detail could not be read.
    pub(super) fn task<M, T>(
        &mut self,
        r: &Reader<'_>,
        details: &TaskDetails<'_, M, T>,
        kva: VirtAddr,
    ) -> Result<TaskReads, ReadError>
    where
        M: scxray_core::PhysMem + ?Sized,
        T: scxray_core::Translate + ?Sized,
    {
        details.read(kva).map(|detail| TaskReads { cpus_allowed: self.read(r, details, &detail), detail })
    }

    /// The allowed-CPUs mask of a task, `nr_cpu_ids` bits: decoded in place where the
    /// memory lends its bytes, the last task's allocation when it is the same mask.
    pub(super) fn read<M, T>(
        &mut self,
        r: &Reader<'_>,
        details: &TaskDetails<'_, M, T>,
        d: &TaskDetail,
    ) -> Reading<Arc<[u64]>>
    where
        M: scxray_core::PhysMem + ?Sized,
        T: scxray_core::Translate + ?Sized,
    {
        let Some(p) = d.cpus_ptr.filter(|p| p.0 != 0) else { return Reading::Absent };
        let words = r.target().nr_cpus().div_ceil(64) as usize;
        let le = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or_default());
        let same = |bytes: &[u8], last: &[u64]| {
            last.len() == words && bytes.chunks_exact(8).zip(last).all(|(b, &w)| le(b) == w)
        };
        match words.checked_mul(8).and_then(|len| details.in_place(p, len)) {
            Some(bytes) => match &self.last {
                Some(last) if same(bytes, last) => Reading::Value(last.clone()),
                _ => Reading::Value(self.keep(bytes.chunks_exact(8).map(le).collect())),
            },
            None => match r.words(p, words, Field::TaskCpusMask) {
                Reading::Value(w) => match &self.last {
                    Some(last) if **last == *w => Reading::Value(last.clone()),
                    _ => Reading::Value(self.keep(w.into())),
                },
                Reading::Absent => Reading::Absent,
                Reading::Failed(e) => Reading::Failed(e),
            },
        }
    }

    /// `mask`, kept as the last one.
    fn keep(&mut self, mask: Arc<[u64]>) -> Arc<[u64]> {
        self.last = Some(mask.clone());
        mask
    }
}
