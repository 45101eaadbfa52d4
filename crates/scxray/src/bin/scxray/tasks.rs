//! `scxray tasks`: the tasks sched_ext owns (`scx_tasks`), one line each, like `ps`.

use crate::args::{CapArgs, Format, KernelArgs, write_stdout};
use crate::progress::Progress;
use clap::Args;
use scxray::Error;
use scxray::report::tasks::{TaskList, render, write_json};
use std::io::{self, Write as _};

#[derive(Args, Debug)]
#[command(after_long_help = "WHAT IT WALKS:\n  \
    The kernel's scx_tasks list: every task sched_ext keeps track of, from fork to exit, whether\n  \
    or not a BPF scheduler is attached (a task's scx state says how far it is: NONE, INIT, READY,\n  \
    ENABLED), and each task's own fields: pid, tgid, comm, state, scx.flags decoded with the\n  \
    kernel's enum names, the DSQ it names (p->scx.dsq), ops_state, weight, runnable_at and its age\n  \
    in jiffies, slice, vtime, allowed CPUs. One line per task in the list's order; tasks whose\n  \
    fields could not be read come last, with why. What cut the list short (TRUNCATED:) and what\n  \
    could not be read (PROBLEM:) are stated at the top.\n\n\
    WHAT IT DOES NOT:\n  \
    No per-CPU state (rq->scx, runnable lists, the running task), no DSQ is walked (a task's DSQ\n  \
    is the one its own pointer names), no scheduler state, exit info or event counters, no BPF\n  \
    programs, maps or task storage. `scxray dump` reads all of that (and these tasks too, with\n  \
    where each was found): use it to see why a task waits (which DSQ holds it and what else is\n  \
    queued there, which CPU runs what), or whether the scheduler is stuck or exited.\n\n\
    JSON:\n  \
    --format json writes schema scxray.tasks/1, one field a line and one task a line: machine,\n  \
    jiffies, truncated, problems, caps_fired, scx_tasks (how the walk ended), tasks[] with the\n  \
    same fields and names as the entries of `dump --format json`'s tasks[] (found_on is\n  \
    [\"scx_tasks\"]; no bpf_place or bpf_storage), unreadable_tasks[] with kva and error.\n\n\
    CAPS:\n  \
    Of the --max-* caps only --max-list-nodes bears on this list (default: sized from the\n  \
    kernel's nr_threads); the others are taken as `dump` takes them.\n\n\
    EXAMPLES:\n  \
    scxray tasks guest.core\n  \
    scxray tasks guest.core --format json | jq '.tasks[] | select(.scx_flags.flags | index(\"QUEUED\"))'\n  \
    scxray tasks --qemu 4242           (a running QEMU guest, not paused)\n\n\
    EXIT STATUS:\n  \
    As `dump`'s: 0 the walk ran (see problems and truncated), 1 internal error, 2 bad input,\n  \
    3 unsupported kernel.")]
pub struct TasksArgs {
    #[command(flatten)]
    kernel: KernelArgs,
    /// Output format: text (one line per task) or json (schema scxray.tasks/1).
    #[arg(long, value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    format: Format,
    #[command(flatten)]
    caps: CapArgs,
}

pub fn run(a: &TasksArgs, progress: &Progress) -> Result<(), Error> {
    progress.set("configuring");
    let t = a.kernel.configure()?;
    progress.set("walking scx_tasks");
    let list = TaskList::build(&t, a.caps.limits());
    progress.set("");
    write_stdout(|out| match a.format {
        Format::Json => write_json(&list, &mut *out).map_err(io::Error::from).and_then(|()| writeln!(out)),
        Format::Text => out.write_all(render(&list).as_bytes()),
    })
}
