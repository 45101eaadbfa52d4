//! The lab's top layer: runs of guests and what is checked of them. The scxray under test
//! ([`scxray`]), one guest booted and dumped ([`boot`]), the checks of a report against the
//! guest's truth ([`check`], with the user DSQs the guest traced [`user_dsqs`]) and of
//! `scxray diff` ([`diff`]), of a failed scheduler's exit ([`failure`]), the table ([`table`]), the case
//! matrix ([`cases`], [`matrix`], with the stall hunt [`stall`]), the checks again on a run's
//! dumps ([`recheck`]), a case tried again when its environment spoiled it ([`retry`]), and the
//! other runs: the BTF of every kernel ([`btf`]), the live soak ([`soak`]), the kdump formats
//! ([`kdump`]), the wire format ([`wire`]), `scxray watch` on running guests ([`watch`]) and
//! drgn on the big guest's dump ([`drgn`]).
//!
//! Imports from itself and the lower layers ([`super::kernels`], [`super::host`]).

pub mod boot;
pub mod bpf_truth;
pub mod btf;
pub mod cases;
pub mod check;
pub mod diff;
pub mod drgn;
pub mod failure;
pub mod kdump;
pub mod matrix;
pub mod recheck;
pub mod retry;
pub mod scxray;
pub mod shown_value;
pub mod soak;
pub mod stall;
pub mod table;
pub mod user_dsqs;
pub mod verdict;
pub mod watch;
pub mod wire;
