//! The lab's own C programs for its guests (`xtask/guest/`, compiled by
//! [`GuestProgram`]) as [`Program`]s: one build per architecture serves every kernel of it.

use super::program::Program;
use crate::lab::host::guest_programs::GuestProgram;

const THREADS_C: GuestProgram =
    GuestProgram { name: "threads", source: include_str!("../../../guest/threads.c") };
const TASKS_C: GuestProgram = GuestProgram { name: "tasks", source: include_str!("../../../guest/tasks.c") };

/// `threads SLEEPERS SPINNERS`: that many sleeping and spinning threads in one process, started
/// and running when it returns (`xtask/guest/threads.c`).
pub const THREADS: Program = Program {
    name: THREADS_C.name,
    build: |k| THREADS_C.build(k.spec.arch).map(drop),
    path: |k| THREADS_C.path(k.spec.arch),
};

/// `tasks TIDS_FILE`: the truth's `task` lines of every task but itself, in a second where the
/// shell takes minutes, and their tids in TIDS_FILE; `tasks --gone TIDS_FILE`: the listed tasks
/// that no longer exist (`xtask/guest/tasks.c`).
pub const TASKS: Program = Program {
    name: TASKS_C.name,
    build: |k| TASKS_C.build(k.spec.arch).map(drop),
    path: |k| TASKS_C.path(k.spec.arch),
};
