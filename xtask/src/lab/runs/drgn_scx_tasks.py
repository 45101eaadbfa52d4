# Run by `cargo xtask lab drgn` as `drgn -c CORE -s VMLINUX drgn_scx_tasks.py [open]`: sched_ext's
# scx_tasks list walked the way a drgn user writes it (drgn's list helper, member access), one
# line per task: `kva pid scx.flags comm`, then `count N`. The lane compares these lines with
# scxray's JSON report of the same core.
#
# With `open` it stops before any lookup, so that the lane can time drgn's start (the
# interpreter, drgn, the core, the vmlinux's DWARF loaded and indexed) apart from the walk.
import sys

from drgn.helpers.linux.list import list_for_each_entry

if sys.argv[1:] == ["open"]:
    sys.exit(0)
if sys.argv[1:]:
    sys.exit(f"drgn_scx_tasks.py: unknown arguments {sys.argv[1:]} (none, or open)")

head = prog["scx_tasks"].address_of_()
task_type = prog.type("struct task_struct")
# An iterator's cursor (scx_task_iter) parked on the list: a bare sched_ext_entity, no task.
cursor = prog["SCX_TASK_CURSOR"].value_()

out = []
for task in list_for_each_entry(task_type, head, "scx.tasks_node"):
    flags = task.scx.flags.value_()
    if flags & cursor:
        continue
    comm = task.comm.string_().decode("utf-8", "replace")
    out.append(f"{task.value_():#x} {task.pid.value_()} {flags:#x} {comm}")
out.append(f"count {len(out)}")
print("\n".join(out))
