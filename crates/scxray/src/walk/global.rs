//! The global sched_ext state: what the kernel's `scx_show_state.py` reads (enable state,
//! static keys, counters), and `jiffies`.

use super::read::{Reader, Reading};
use scxray_core::{Field, VirtAddr};

/// The global variables, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalReads {
    /// `scx_enable_state_var` (`scx_ops_enable_state_var` before 6.15).
    pub enable_state: Reading<u32>,
    /// The `__scx_enabled` static key (`__scx_ops_enabled` before 6.16).
    pub enabled: Reading<u32>,
    /// `scx_switching_all`.
    pub switching_all: Reading<u8>,
    /// The `__scx_switched_all` static key.
    pub switched_all: Reading<u32>,
    /// `scx_in_softlockup`.
    pub in_softlockup: Reading<u8>,
    /// `scx_breather_depth` / `scx_ops_breather_depth`.
    pub breather_depth: Reading<i32>,
    /// `scx_nr_rejected`.
    pub nr_rejected: Reading<i64>,
    /// `scx_enable_seq`.
    pub enable_seq: Reading<i64>,
    /// `jiffies`.
    pub jiffies: Reading<u64>,
    /// `scx_watchdog_timestamp`.
    pub watchdog_timestamp: Reading<u64>,
}

pub(super) fn read(r: &Reader<'_>) -> GlobalReads {
    let at = |names: &[&str]| r.symbol(names);
    let symbols = r.target().symbols();
    GlobalReads {
        enable_state: r.int(symbols.scx_enable_state_var.map(VirtAddr), Field::EnableStateVar),
        enabled: r.int(at(&["__scx_enabled", "__scx_ops_enabled"]), Field::ScxEnabledVar),
        switching_all: r.int(at(&["scx_switching_all"]), Field::SwitchingAllVar),
        switched_all: r.int(at(&["__scx_switched_all"]), Field::SwitchedAllVar),
        in_softlockup: r.int(at(&["scx_in_softlockup"]), Field::InSoftlockupVar),
        breather_depth: r.int(at(&["scx_breather_depth", "scx_ops_breather_depth"]), Field::BreatherDepthVar),
        nr_rejected: r.int(at(&["scx_nr_rejected"]), Field::NrRejectedVar),
        enable_seq: r.int(at(&["scx_enable_seq"]), Field::EnableSeqVar),
        jiffies: r.int(symbols.jiffies.map(VirtAddr), Field::Jiffies),
        watchdog_timestamp: r.int(at(&["scx_watchdog_timestamp"]), Field::WatchdogTimestampVar),
    }
}
