//! Per-task detail: what the kernel's own `scx_dump_state` prints for a task, read from its
//! `task_struct` and `sched_ext_entity`, plus the decoding of DSQ ids.

use crate::addr::VirtAddr;
use crate::error::{Field, ReadCause, ReadError};
use crate::guest::Guest;
use crate::layout::LayoutGroup;
use crate::memory::PhysMem;
use crate::output::Comm;
use crate::translate::Translate;
use core::fmt;

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

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Guest<'_, M, T> {
    /// Reads a task's detail. The pid, comm and `scx.flags` are required (an error when
    /// unreadable); every optional member is read only when the layout has it, and an optional
    /// member that cannot be read is an error too (the task is then not trustworthy).
    ///
    /// The task's address is translated once ([`Guest::span_of`]) and every member inside
    /// that translation's span is read at the address it derives; a member outside it, or
    /// one that fails there, is read and translated on its own, so each value and error is
    /// the one a read of that member alone gives.
    pub fn read_task_detail(&self, kva: VirtAddr) -> Result<TaskDetail, ReadError> {
        let missing =
            |group| ReadError { field: Field::TaskPid, kva, cause: ReadCause::MissingLayout(group) };
        let tl = self.layout.task.ok_or(missing(LayoutGroup::Task))?;
        let see_l = self.layout.see.ok_or(missing(LayoutGroup::See))?;
        let span = self.span_of(kva);
        let span = span.as_ref();
        let id = self.read_task_identity_in(kva, span)?;
        let see = kva.member(tl.scx, Field::SeeFlags)?;
        let at = |base: VirtAddr, off: u32, f: Field| base.member(off, f);
        let opt_u32 = |base, off: Option<u32>, f| {
            off.map(|o| self.read_le_in::<u32>(at(base, o, f)?, span, f)).transpose()
        };
        let opt_i32 = |base, off: Option<u32>, f| {
            off.map(|o| self.read_le_in::<i32>(at(base, o, f)?, span, f)).transpose()
        };
        let opt_u64 = |base, off: Option<u32>, f| {
            off.map(|o| self.read_le_in::<u64>(at(base, o, f)?, span, f)).transpose()
        };
        let dsq_kva = opt_u64(see, see_l.dsq, Field::SeeDsq)?.map(VirtAddr);
        // The id of the DSQ the task names; a task caught mid-migration may name one whose
        // list no longer holds it, and a freed DSQ may not translate: that is not an error.
        let dsq_id = match (dsq_kva, self.layout.dsq) {
            (Some(d), Some(dl)) if d.0 != 0 => {
                d.member(dl.id, Field::DsqId).and_then(|a| self.read_le::<u64>(a, Field::DsqId)).ok()
            }
            _ => None,
        };
        Ok(TaskDetail {
            kva,
            pid: id.pid,
            comm: id.comm,
            tgid: opt_i32(kva, tl.tgid, Field::TaskTgid)?,
            state: opt_u32(kva, tl.state, Field::TaskState)?,
            on_rq: opt_i32(kva, tl.on_rq, Field::TaskOnRq)?,
            cpus_ptr: opt_u64(kva, tl.cpus_ptr, Field::TaskCpusPtr)?.map(VirtAddr),
            scx_flags: self.read_le_in::<u32>(
                at(see, see_l.flags, Field::SeeFlags)?,
                span,
                Field::SeeFlags,
            )?,
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
