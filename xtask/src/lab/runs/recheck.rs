//! `cargo xtask lab check [name...]`: the run directory's dumps checked again against their
//! guests' truth files, without booting anything (after a change to scxray, in seconds).

use super::check::{Expect, Truth, check};
use super::scxray::build_scxray;
use super::table::{self, Row};
use crate::lab::host::dirs::dumps_dir;
use crate::lab::host::qemu::console_text;
use crate::lab::host::truth::GuestTruth;

/// Every dump with a truth file in the run directory, or the named ones.
pub fn cmd(args: &[String]) -> Result<(), String> {
    let scxray = build_scxray()?;
    let dir = dumps_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".core").map(str::to_owned))
        .filter(|n| args.is_empty() || args.contains(n))
        .filter(|n| dir.join(format!("{n}.truth.txt")).exists())
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!(
            "no dumps with truth files in {}: run `cargo xtask lab boot` first",
            dir.display()
        ));
    }
    let rows: Vec<Row> = names
        .into_iter()
        .map(|name| {
            // A dump the kernel changed after the guest's truth (see `GuestTruth::unsettled`)
            // is not checked against it.
            let serial = console_text(&dir.join(format!("{name}.serial.log")));
            if let Some(why) = GuestTruth::parse(&serial).and_then(|t| t.unsettled(&serial)) {
                return Row::failed(
                    &name,
                    format!("not checked, the truth may not describe the dump: {why}"),
                );
            }
            let truth_path = dir.join(format!("{name}.truth.txt"));
            let truth = Truth::parse(&std::fs::read_to_string(&truth_path).unwrap_or_default());
            // A kernel without sched_ext has no /sys/kernel/sched_ext: the guest says `absent`.
            let expect = Expect { nodes: 2, sched_ext: truth.state != "absent" };
            let verdict = check(&scxray, &dir.join(format!("{name}.core")), &truth, expect);
            let spoiled = verdict.spoiled.clone();
            let mut row = Row::checked(&name, None, verdict);
            row.notes.extend(spoiled);
            row
        })
        .collect();
    let failed = table::print(&rows);
    if failed == 0 { Ok(()) } else { Err(format!("{failed} of {} dumps failed their checks", rows.len())) }
}
