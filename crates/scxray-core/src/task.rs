//! Per-task detail: what the kernel's own `scx_dump_state` prints for a task, read from its
//! `task_struct` and `sched_ext_entity`, plus the decoding of DSQ ids.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadCause, ReadError};
use crate::guest::Guest;
use crate::layout::{LayoutGroup, SeeLayout, TaskLayout};
use crate::memory::{LeInt, PhysMem, le_at as le};
use crate::output::Comm;
use crate::translate::{LinearRange, Translate};
use core::cell::Cell;
use core::fmt;
use core::ops::Range;

/// `SCX_DSQ_FLAG_BUILTIN`: bit 63 marks the kernel's built-in DSQ ids.
pub const DSQ_FLAG_BUILTIN: u64 = 1 << 63;
/// `SCX_DSQ_FLAG_LOCAL_ON`: bit 62 with a CPU number in the low 32 bits.
pub const DSQ_FLAG_LOCAL_ON: u64 = 1 << 62;

/// A DSQ id, decoded (`enum scx_dsq_id_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DsqId {
    /// `SCX_DSQ_INVALID`.
    Invalid,
    /// `SCX_DSQ_GLOBAL`.
    Global,
    /// `SCX_DSQ_LOCAL`.
    Local,
    /// `SCX_DSQ_BYPASS`.
    Bypass,
    /// `SCX_DSQ_REJECT` (7.3+).
    Reject,
    /// `SCX_DSQ_RESCUE` (7.3+).
    Rescue,
    /// `SCX_DSQ_LOCAL_ON | cpu`.
    LocalOn(u32),
    /// Another built-in id this version of scxray does not know.
    Builtin(u64),
    /// A user DSQ created by the BPF scheduler.
    User(u64),
}

impl DsqId {
    /// Decodes a raw `scx_dispatch_q.id` / `sched_ext_entity.ddsp_dsq_id`.
    #[must_use]
    pub const fn decode(raw: u64) -> Self {
        if raw & DSQ_FLAG_BUILTIN == 0 {
            return Self::User(raw);
        }
        if raw & DSQ_FLAG_LOCAL_ON != 0 {
            // The CPU is the low 32 bits (SCX_DSQ_LOCAL_CPU_MASK).
            let [a, b, c, d, ..] = raw.to_le_bytes();
            return Self::LocalOn(u32::from_le_bytes([a, b, c, d]));
        }
        match raw & !DSQ_FLAG_BUILTIN {
            0 => Self::Invalid,
            1 => Self::Global,
            2 => Self::Local,
            3 => Self::Bypass,
            4 => Self::Reject,
            5 => Self::Rescue,
            _ => Self::Builtin(raw),
        }
    }

    /// Whether a DSQ found at `origin` may carry this id.
    #[must_use]
    pub fn matches(self, origin: crate::output::DsqOrigin) -> bool {
        use crate::output::DsqOrigin as O;
        matches!(
            (self, origin),
            (Self::Local | Self::LocalOn(_), O::Local { .. })
                | (Self::Reject, O::Reject { .. })
                | (Self::Rescue, O::Rescue { .. })
                | (Self::Bypass, O::Bypass { .. })
                | (Self::Global, O::Global { .. })
                | (Self::User(_), O::User)
        )
    }
}

impl fmt::Display for DsqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("INVALID"),
            Self::Global => f.write_str("GLOBAL"),
            Self::Local => f.write_str("LOCAL"),
            Self::Bypass => f.write_str("BYPASS"),
            Self::Reject => f.write_str("REJECT"),
            Self::Rescue => f.write_str("RESCUE"),
            Self::LocalOn(cpu) => write!(f, "LOCAL_ON|{cpu}"),
            Self::Builtin(raw) => write!(f, "BUILTIN({raw:#x})"),
            Self::User(id) => write!(f, "{id:#x}"),
        }
    }
}

/// A task's detail. Members the kernel (or the layout) lacks are `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TaskDetail {
    /// `task_struct` address.
    pub kva: VirtAddr,
    /// `task_struct.pid`.
    pub pid: i32,
    /// `task_struct.tgid`.
    pub tgid: Option<i32>,
    /// `task_struct.comm`.
    pub comm: Comm,
    /// `task_struct.__state`.
    pub state: Option<u32>,
    /// `task_struct.on_rq`.
    pub on_rq: Option<i32>,
    /// `task_struct.cpus_ptr` (the allowed-CPUs mask; read it with the CPU count).
    pub cpus_ptr: Option<VirtAddr>,
    /// `sched_ext_entity.flags`.
    pub scx_flags: u32,
    /// `sched_ext_entity.dsq`: the DSQ the task is on (0: none).
    pub dsq_kva: Option<VirtAddr>,
    /// That DSQ's id, when `dsq` is non-NULL and readable.
    pub dsq_id: Option<u64>,
    /// `sched_ext_entity.ops_state`.
    pub ops_state: Option<u64>,
    /// `sched_ext_entity.ddsp_dsq_id`.
    pub ddsp_dsq_id: Option<u64>,
    /// `sched_ext_entity.weight`.
    pub weight: Option<u32>,
    /// `sched_ext_entity.sticky_cpu`.
    pub sticky_cpu: Option<i32>,
    /// `sched_ext_entity.holding_cpu`.
    pub holding_cpu: Option<i32>,
    /// `sched_ext_entity.runnable_at` (jiffies).
    pub runnable_at: Option<u64>,
    /// `sched_ext_entity.slice` (ns).
    pub slice: Option<u64>,
    /// `sched_ext_entity.dsq_vtime`.
    pub dsq_vtime: Option<u64>,
}

impl<'a, M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'a, M, T> {
    /// Reads a task's detail: [`TaskDetails::read`] (which see), for one task.
    pub fn read_task_detail(&self, kva: VirtAddr) -> Result<TaskDetail, ReadError> {
        self.task_details().read(kva)
    }

    /// The reader of many tasks' detail: what every task's read shares worked out once.
    #[must_use]
    pub fn task_details(&self) -> TaskDetails<'a, M, T> {
        let members = match (self.layout.task, self.layout.see) {
            (Some(tl), Some(sl)) => members(&tl, &sl),
            _ => None,
        };
        let window = members.map_or(0..0, |m| window(m.into_iter().flatten()));
        let in_window = members.and_then(|m| InWindow::new(m, window.start));
        TaskDetails { guest: *self, window, in_window, last_span: Cell::new(None) }
    }
}

/// Reads tasks' detail ([`Guest::task_details`]); the bytes of a `task_struct` its members
/// lie in are worked out once, from the layout.
#[derive(Debug)]
pub struct TaskDetails<'a, M: ?Sized, T: ?Sized> {
    guest: Guest<'a, M, T>,
    /// From the first member read to the end of the last, from the task's address.
    window: Range<u32>,
    /// Where each member lies in the window; `None` when an offset overflows (every task
    /// is then read member by member, and fails as its reads do).
    in_window: Option<InWindow>,
    /// The span the last task translated in: the next task inside it (every task of the
    /// direct map or the linear map) needs no translation.
    last_span: Cell<Option<LinearRange>>,
}

impl<'a, M: PhysMem + ?Sized, T: Translate + ?Sized> TaskDetails<'a, M, T> {
    /// Reads a task's detail. The pid, comm and `scx.flags` are required (an error when
    /// unreadable); every optional member is read only when the layout has it, and an optional
    /// member that cannot be read is an error too (the task is then not trustworthy).
    ///
    /// The task's address is translated once (not at all inside the last task's span): the
    /// members are decoded from the task's bytes borrowed in place where the memory lends
    /// them, else each member inside that translation's span is read at the address it
    /// derives; a member outside it, or one that fails there, is read and translated on its
    /// own, so each value and error is the one a read of that member alone gives.
    pub fn read(&self, kva: VirtAddr) -> Result<TaskDetail, ReadError> {
        let g = &self.guest;
        let missing =
            |group| ReadError { field: Field::TaskPid, kva, cause: ReadCause::MissingLayout(group) };
        let tl = g.layout.task.ok_or(missing(LayoutGroup::Task))?;
        let see_l = g.layout.see.ok_or(missing(LayoutGroup::See))?;
        let near = &g.near_in(kva, self.window.clone(), self.span(kva));
        if let Some(detail) = near.lent().and_then(|lent| self.decode_lent(kva, lent)) {
            return Ok(detail);
        }
        let id = g.read_task_identity_in(kva, near)?;
        let see = kva.member(tl.scx, Field::SeeFlags)?;
        let at = |base: VirtAddr, off: u32, f: Field| base.member(off, f);
        let opt_u32 = |base, off: Option<u32>, f| {
            off.map(|o| g.read_le_in::<u32>(at(base, o, f)?, near, f)).transpose()
        };
        let opt_i32 = |base, off: Option<u32>, f| {
            off.map(|o| g.read_le_in::<i32>(at(base, o, f)?, near, f)).transpose()
        };
        let opt_u64 = |base, off: Option<u32>, f| {
            off.map(|o| g.read_le_in::<u64>(at(base, o, f)?, near, f)).transpose()
        };
        let dsq_kva = opt_u64(see, see_l.dsq, Field::SeeDsq)?.map(VirtAddr);
        let dsq_id = self.dsq_id(dsq_kva);
        Ok(TaskDetail {
            kva,
            pid: id.pid,
            comm: id.comm,
            tgid: opt_i32(kva, tl.tgid, Field::TaskTgid)?,
            state: opt_u32(kva, tl.state, Field::TaskState)?,
            on_rq: opt_i32(kva, tl.on_rq, Field::TaskOnRq)?,
            cpus_ptr: opt_u64(kva, tl.cpus_ptr, Field::TaskCpusPtr)?.map(VirtAddr),
            scx_flags: g.read_le_in::<u32>(at(see, see_l.flags, Field::SeeFlags)?, near, Field::SeeFlags)?,
            dsq_kva,
            dsq_id,
            ops_state: opt_u64(see, see_l.ops_state, Field::SeeOpsState)?,
            ddsp_dsq_id: opt_u64(see, see_l.ddsp_dsq_id, Field::SeeDdspDsqId)?,
            weight: opt_u32(see, see_l.weight, Field::SeeWeight)?,
            sticky_cpu: opt_i32(see, see_l.sticky_cpu, Field::SeeStickyCpu)?,
            holding_cpu: opt_i32(see, see_l.holding_cpu, Field::SeeHoldingCpu)?,
            runnable_at: opt_u64(see, see_l.runnable_at, Field::SeeRunnableAt)?,
            slice: opt_u64(see, see_l.slice, Field::SeeSlice)?,
            dsq_vtime: opt_u64(see, see_l.dsq_vtime, Field::SeeDsqVtime)?,
        })
    }

    /// The span `kva` lies in: the last task's when it covers `kva`, else translated.
    #[inline]
    fn span(&self, kva: VirtAddr) -> Option<LinearRange> {
        if let Some(span) = self.last_span.get().filter(|s| s.apply(kva).is_some()) {
            return Some(span);
        }
        let span = self.guest.span_of(kva);
        if span.is_some() {
            self.last_span.set(span);
        }
        span
    }

    /// The `len` bytes at `kva` lent by the memory ([`PhysMem::in_place`]), translated through
    /// the span the tasks are read in (a task's CPU mask lies inside the task, or beside the
    /// others'); `None` when not lent, and the caller reads them.
    #[inline]
    pub fn in_place(&self, kva: VirtAddr, len: usize) -> Option<&'a [u8]> {
        let pa = self.span(kva)?.apply_len(kva, u64::try_from(len).ok()?)?;
        self.guest.mem.in_place(pa, len)
    }

    /// The whole detail decoded from the task's bytes lent in place (`lent`, from
    /// `kva + window.start`), with no read that can fail but the DSQ's id (read as
    /// [`Self::read`] reads it); `None` when a member is not in them, and [`Self::read`]
    /// reads member by member. The values are those bytes, the ones the member reads copy.
    #[inline]
    fn decode_lent(&self, kva: VirtAddr, lent: &[u8]) -> Option<TaskDetail> {
        let at = self.in_window.as_ref()?;
        let comm: [u8; 16] = lent.get(at.comm..at.comm.checked_add(16)?)?.try_into().ok()?;
        let dsq_kva = opt_le::<u64>(lent, at.dsq)?.map(VirtAddr);
        Some(TaskDetail {
            kva,
            pid: le(lent, at.pid)?,
            comm: Comm(comm),
            tgid: opt_le(lent, at.tgid)?,
            state: opt_le(lent, at.state)?,
            on_rq: opt_le(lent, at.on_rq)?,
            cpus_ptr: opt_le::<u64>(lent, at.cpus_ptr)?.map(VirtAddr),
            scx_flags: le(lent, at.scx_flags)?,
            dsq_kva,
            dsq_id: self.dsq_id(dsq_kva),
            ops_state: opt_le(lent, at.ops_state)?,
            ddsp_dsq_id: opt_le(lent, at.ddsp_dsq_id)?,
            weight: opt_le(lent, at.weight)?,
            sticky_cpu: opt_le(lent, at.sticky_cpu)?,
            holding_cpu: opt_le(lent, at.holding_cpu)?,
            runnable_at: opt_le(lent, at.runnable_at)?,
            slice: opt_le(lent, at.slice)?,
            dsq_vtime: opt_le(lent, at.dsq_vtime)?,
        })
    }

    /// The id of the DSQ a task names; a task caught mid-migration may name one whose list
    /// no longer holds it, and a freed DSQ may not translate: that is not an error.
    fn dsq_id(&self, dsq: Option<VirtAddr>) -> Option<u64> {
        let g = &self.guest;
        match (dsq, g.layout.dsq) {
            (Some(d), Some(dl)) if d.0 != 0 => {
                d.member(dl.id, Field::DsqId).and_then(|a| g.read_le::<u64>(a, Field::DsqId)).ok()
            }
            _ => None,
        }
    }
}

/// The offset of each member [`TaskDetails::read`] reads from the start of its window.
#[derive(Clone, Copy, Debug)]
struct InWindow {
    pid: usize,
    comm: usize,
    scx_flags: usize,
    tgid: Option<usize>,
    state: Option<usize>,
    on_rq: Option<usize>,
    cpus_ptr: Option<usize>,
    dsq: Option<usize>,
    ops_state: Option<usize>,
    ddsp_dsq_id: Option<usize>,
    weight: Option<usize>,
    sticky_cpu: Option<usize>,
    holding_cpu: Option<usize>,
    runnable_at: Option<usize>,
    slice: Option<usize>,
    dsq_vtime: Option<usize>,
}

impl InWindow {
    /// The offsets of `members` (in [`members`]'s order) from `start`; `None` when one lies
    /// before it or a required one is missing.
    fn new(members: [Option<(u32, u32)>; 16], start: u32) -> Option<Self> {
        let rel =
            |m: Option<(u32, u32)>| m.and_then(|(off, _)| usize::try_from(off.checked_sub(start)?).ok());
        // Some(None): the layout lacks the member.
        let opt = |m: Option<(u32, u32)>| if m.is_none() { Some(None) } else { rel(m).map(Some) };
        let [
            pid,
            comm,
            scx_flags,
            tgid,
            state,
            on_rq,
            cpus_ptr,
            dsq,
            ops_state,
            ddsp_dsq_id,
            weight,
            sticky_cpu,
            holding_cpu,
            runnable_at,
            slice,
            dsq_vtime,
        ] = members;
        Some(Self {
            pid: rel(pid)?,
            comm: rel(comm)?,
            scx_flags: rel(scx_flags)?,
            tgid: opt(tgid)?,
            state: opt(state)?,
            on_rq: opt(on_rq)?,
            cpus_ptr: opt(cpus_ptr)?,
            dsq: opt(dsq)?,
            ops_state: opt(ops_state)?,
            ddsp_dsq_id: opt(ddsp_dsq_id)?,
            weight: opt(weight)?,
            sticky_cpu: opt(sticky_cpu)?,
            holding_cpu: opt(holding_cpu)?,
            runnable_at: opt(runnable_at)?,
            slice: opt(slice)?,
            dsq_vtime: opt(dsq_vtime)?,
        })
    }
}

/// A member the layout may lack: `Some(None)` when it does, `None` when it is not in `bytes`.
#[inline]
fn opt_le<V: LeInt>(bytes: &[u8], at: Option<usize>) -> Option<Option<V>> {
    at.map(|at| le(bytes, at)).map_or(Some(None), |v| v.map(Some))
}

/// The bytes from the first of `members` (offset, size) to the end of the last; empty when
/// there are none or an end overflows.
pub(crate) fn window(members: impl IntoIterator<Item = (u32, u32)>) -> Range<u32> {
    let mut window: Option<Range<u32>> = None;
    for (off, size) in members {
        let Some(end) = off.checked_add(size) else { return 0..0 };
        window = Some(window.map_or(off..end, |w| w.start.min(off)..w.end.max(end)));
    }
    window.unwrap_or(0..0)
}

/// Each member [`TaskDetails::read`] reads, as (offset from the task, size), `None` where
/// the layout lacks it: pid, comm, `scx.flags`, then [`InWindow`]'s optional members in its
/// order. `None` when an offset overflows (every task is then read member by member).
fn members(tl: &TaskLayout, sl: &SeeLayout) -> Option<[Option<(u32, u32)>; 16]> {
    let task = |off: Option<u32>, size: u32| off.map(|o| (o, size));
    // Some(None): the layout lacks the member; None: `scx + offset` overflows.
    let see =
        |off: Option<u32>, size: u32| off.map_or(Some(None), |o| Some(Some((tl.scx.checked_add(o)?, size))));
    Some([
        Some((tl.pid, 4)),
        Some((tl.comm, 16)),
        see(Some(sl.flags), 4)?,
        task(tl.tgid, 4),
        task(tl.state, 4),
        task(tl.on_rq, 4),
        task(tl.cpus_ptr, 8),
        see(sl.dsq, 8)?,
        see(sl.ops_state, 8)?,
        see(sl.ddsp_dsq_id, 8)?,
        see(sl.weight, 4)?,
        see(sl.sticky_cpu, 4)?,
        see(sl.holding_cpu, 4)?,
        see(sl.runnable_at, 8)?,
        see(sl.slice, 8)?,
        see(sl.dsq_vtime, 8)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_kernels_dsq_ids() {
        assert_eq!(DsqId::decode(0x8000_0000_0000_0000), DsqId::Invalid);
        assert_eq!(DsqId::decode(0x8000_0000_0000_0001), DsqId::Global);
        assert_eq!(DsqId::decode(0x8000_0000_0000_0002), DsqId::Local);
        assert_eq!(DsqId::decode(0x8000_0000_0000_0003), DsqId::Bypass);
        assert_eq!(DsqId::decode(0x8000_0000_0000_0004), DsqId::Reject);
        assert_eq!(DsqId::decode(0x8000_0000_0000_0005), DsqId::Rescue);
        assert_eq!(DsqId::decode(0xc000_0000_0000_0007), DsqId::LocalOn(7));
        assert_eq!(DsqId::decode(0x8000_0000_0000_0042), DsqId::Builtin(0x8000_0000_0000_0042));
        assert_eq!(DsqId::decode(0x1234), DsqId::User(0x1234));
        extern crate std;
        use std::string::ToString;
        assert_eq!(DsqId::decode(0xc000_0000_0000_0003).to_string(), "LOCAL_ON|3");
    }
}
