//! The report stage: the owned report of one walk (machine facts, scheduler, per-CPU state,
//! every DSQ, task lists, and what was absent or truncated and why), built from the walk
//! stage's data without reading guest memory; serialised as JSON ([`schema`], `scxray.dump/2`)
//! or rendered as [`text`]; what [`diagnose`] derives; the [`diff`] of two reports; and the
//! [`tasks`] list (`scx_tasks` alone, `scxray.tasks/1`) with its text.

pub mod bpf;
mod bpf_text;
mod build;
mod caps;
pub mod diagnose;
pub mod diff;
mod parts;
pub mod schema;
pub mod tasks;
pub mod text;
mod unread;

pub use schema::{
    CapFired, CpuReport, DsqReport, ExitInfo, GlobalState, MachineFacts, Report, SCHEMA, SchedEntry,
    SchedulerFacts, ScxFlags, TaskComm, TaskRef, TaskReport, TasksReport, UserDsqsReport, WalkEnd,
    describe_problem, provenance_name, scheduler_unknown,
};
