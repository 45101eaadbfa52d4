//! What the guest prints about itself between `SCXRAY-TRUTH-BEGIN` and `SCXRAY-TRUTH-END`
//! on its serial console (the init script of [`super::initramfs`] writes it with shell
//! builtins), and the `<name>.truth.txt` file the lab keeps of it.

/// What the guest printed about itself (see [`super::initramfs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTruth {
    pub release: String,
    /// `/sys/kernel/sched_ext/state`, or `absent`.
    pub state: String,
    /// `/sys/kernel/sched_ext/root/ops`, or `none`.
    pub ops: String,
    /// [`Self::state`] and [`Self::ops`] read again at the truth block's end (`state_end`,
    /// `ops_end`): the truth describes one state of sched_ext only when they are the same
    /// (see [`Self::unsettled`]). Empty in a truth from before these lines existed.
    pub state_end: String,
    pub ops_end: String,
    /// The kernel's own count of tasks (`nr_threads`, the idle tasks not included), from
    /// `/proc/loadavg` right after the task listing.
    pub nr_threads: Option<u32>,
    /// The listed tasks that had ended by the truth block's end, before the dump (`gone`): they
    /// may be missing from the dump.
    pub ended: Vec<i64>,
    /// The listed tasks that no longer existed a moment after the dump (the guest's `gone <tid>`
    /// lines after `SCXRAY-READY`, see [`gone_after`]; `gone_after` in a truth file): a listed
    /// task missing from the dump that is one of these ended before the dump or just after it.
    pub gone_after: Vec<i64>,
    /// Every scheduler directory under `/sys/kernel/sched_ext` (`sched ...` lines), the root
    /// first, sub-schedulers depth first.
    pub scheds: Vec<GuestSched>,
    /// `(cgroup path, pids)`: a sub-scheduler cgroup's `cgroup.procs` (`cgroup_tasks ...`).
    pub cgroup_tasks: Vec<(String, Vec<u32>)>,
    pub cpus_online: String,
    pub nr_cpus: u32,
    pub cmdline: String,
    /// Every task /proc listed.
    pub tasks: Vec<GuestTask>,
    /// Whether the scheduler printed its own word that it attached (`attached yes|no`); `None`
    /// when it was not asked for (see `Scheduler::attached_output`).
    pub attached: Option<bool>,
    /// More truth the case asked for (`extra <name> <line>`): each name with its output lines,
    /// in order (see `ExtraTruth`).
    pub extra: Vec<(String, Vec<String>)>,
}

/// One scheduler as sysfs showed it: `sched <level> <cgroup id|-> <ops> <sysfs dir> <cgroup path>`
/// (see [`super::initramfs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestSched {
    /// Nesting depth under `/sys/kernel/sched_ext/root` (0: the root scheduler).
    pub level: u32,
    /// From the directory name `sub-<cgroup id>`; `-` for the root.
    pub cgroup_id: String,
    /// Its `ops` file.
    pub ops: String,
    /// Relative to `/sys/kernel/sched_ext` (`root`, `root/sub/sub-42`).
    pub sysfs: String,
    /// The cgroup2 path of the cgroup with that id (`/` for the root, `?`: not found).
    pub cgroup_path: String,
}

/// One task as the guest saw it just before `SCXRAY-READY`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTask {
    pub tid: u32,
    pub tgid: u32,
    /// `/proc/.../stat` state letter (`R`, `S`, `D`, `I`, ...).
    pub state: String,
    /// The CPU it last ran on (`-1`: unknown).
    pub cpu: i32,
    pub comm: String,
}

impl GuestTruth {
    /// Parses the lines between `SCXRAY-TRUTH-BEGIN` and `SCXRAY-TRUTH-END` of a serial log.
    pub fn parse(log: &str) -> Option<GuestTruth> {
        let start = log.find("SCXRAY-TRUTH-BEGIN")?;
        let body = &log[start..];
        let end = body.find("SCXRAY-TRUTH-END")?;
        let mut t = GuestTruth::default();
        for line in body[..end].lines().skip(1) {
            let line = line.trim_end_matches('\r');
            let (key, val) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "release" => t.release = val.to_owned(),
                "state" => t.state = val.to_owned(),
                "ops" => t.ops = val.to_owned(),
                "state_end" => t.state_end = val.to_owned(),
                "ops_end" => t.ops_end = val.to_owned(),
                "nr_threads" => t.nr_threads = val.parse().ok(),
                "gone" => t.ended.extend(val.parse::<i64>().ok()),
                "gone_after" => t.gone_after.extend(val.parse::<i64>().ok()),
                "sched" => {
                    let f: Vec<&str> = val.splitn(5, ' ').collect();
                    if let [level, id, ops, sysfs, path] = f[..]
                        && let Ok(level) = level.parse()
                    {
                        t.scheds.push(GuestSched {
                            level,
                            cgroup_id: id.to_owned(),
                            ops: ops.to_owned(),
                            sysfs: sysfs.to_owned(),
                            cgroup_path: path.to_owned(),
                        });
                    }
                }
                "cgroup_tasks" => {
                    let mut f = val.split_whitespace();
                    let path = f.next().unwrap_or_default().to_owned();
                    t.cgroup_tasks.push((path, f.filter_map(|p| p.parse().ok()).collect()));
                }
                "cpus_online" => t.cpus_online = val.to_owned(),
                "nr_cpus" => t.nr_cpus = val.parse().unwrap_or(0),
                "cmdline" => t.cmdline = val.to_owned(),
                "attached" => t.attached = Some(val == "yes"),
                "extra" => {
                    let (name, text) = val.split_once(' ').unwrap_or((val, ""));
                    match t.extra.iter_mut().find(|(n, _)| n == name) {
                        Some((_, lines)) => lines.push(text.to_owned()),
                        None => t.extra.push((name.to_owned(), vec![text.to_owned()])),
                    }
                }
                "task" => {
                    let f: Vec<&str> = val.splitn(5, ' ').collect();
                    if let [tid, tgid, state, cpu, comm] = f[..]
                        && let (Ok(tid), Ok(tgid)) = (tid.parse(), tgid.parse())
                    {
                        let (state, comm) = (state.to_owned(), comm.to_owned());
                        t.tasks.push(GuestTask { tid, tgid, state, cpu: cpu.parse().unwrap_or(-1), comm });
                    }
                }
                _ => {}
            }
        }
        Some(t)
    }

    /// Why this truth may not describe the guest's sched_ext at its dump, or `None` when it
    /// does: sched_ext's state or root scheduler read differently at the truth block's end
    /// than at its start, or the kernel logged a scheduler's exit after the guest started it
    /// ([`sched_ext_exits`] of `serial`, the console log up to a moment after the dump). Under
    /// load the kernel's watchdog can disable a healthy scheduler whose tasks TCG runs too
    /// slowly; a dump taken then must not be checked against this truth.
    pub fn unsettled(&self, serial: &str) -> Option<String> {
        let mut why = Vec::new();
        if !self.state_end.is_empty() && (self.state_end != self.state || self.ops_end != self.ops) {
            why.push(format!(
                "sched_ext read `{}` (ops {}) at the truth's start and `{}` (ops {}) at its end",
                self.state, self.ops, self.state_end, self.ops_end
            ));
        }
        let exits = sched_ext_exits(serial);
        if !exits.is_empty() {
            why.push(format!("the kernel logged `{}`", exits.join("` `")));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The `<name>.truth.txt` form: the same `key value` lines the guest printed.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "release {}\nstate {}\nops {}\ncpus_online {}\nnr_cpus {}\ncmdline {}\n",
            self.release, self.state, self.ops, self.cpus_online, self.nr_cpus, self.cmdline
        );
        if !self.state_end.is_empty() || !self.ops_end.is_empty() {
            s.push_str(&format!("state_end {}\nops_end {}\n", self.state_end, self.ops_end));
        }
        if let Some(n) = self.nr_threads {
            s.push_str(&format!("nr_threads {n}\n"));
        }
        for tid in &self.ended {
            s.push_str(&format!("gone {tid}\n"));
        }
        for tid in &self.gone_after {
            s.push_str(&format!("gone_after {tid}\n"));
        }
        for x in &self.scheds {
            s.push_str(&format!(
                "sched {} {} {} {} {}\n",
                x.level, x.cgroup_id, x.ops, x.sysfs, x.cgroup_path
            ));
        }
        for (path, pids) in &self.cgroup_tasks {
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            s.push_str(&format!("cgroup_tasks {path} {}\n", pids.join(" ")));
        }
        if let Some(a) = self.attached {
            s.push_str(if a { "attached yes\n" } else { "attached no\n" });
        }
        for (name, lines) in &self.extra {
            for l in lines {
                s.push_str(&format!("extra {name} {l}\n"));
            }
        }
        for k in &self.tasks {
            s.push_str(&format!("task {} {} {} {} {}\n", k.tid, k.tgid, k.state, k.cpu, k.comm));
        }
        s
    }
}

/// The tids of the guest's `gone <tid>` lines between `SCXRAY-READY` and `SCXRAY-GONE-END`
/// (see `super::init`), or `None` when the console does not hold the end of that list yet.
pub fn gone_after(serial: &str) -> Option<Vec<i64>> {
    let after = &serial[serial.find("SCXRAY-READY")?..];
    let list = &after[..after.find("SCXRAY-GONE-END")?];
    Some(
        list.lines()
            .filter_map(|l| l.trim_end_matches('\r').strip_prefix("gone "))
            .filter_map(|t| t.parse().ok())
            .collect(),
    )
}

/// The kernel's console lines, from the guest's `SCXRAY-SCHED-START` on, that say a sched_ext
/// scheduler (root or sub) was disabled, each with the kernel's next `sched_ext:` line (the
/// exit message): `sched_ext: BPF scheduler "qmap" disabled (runnable task stall)`, `sched_ext:
/// qmap: watchdog failed to check in for 5.452s`. An error exit is printed at log level 3, so
/// the lab's `loglevel=4` console shows it; nothing before the scheduler's start counts.
pub fn sched_ext_exits(serial: &str) -> Vec<&str> {
    let Some(start) = serial.find("SCXRAY-SCHED-START") else { return Vec::new() };
    let lines: Vec<&str> = serial[start..].lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.contains("sched_ext: ") && l.contains(" disabled") {
            out.push(*l);
            if let Some(next) =
                lines.get(i + 1).filter(|n| n.contains("sched_ext: ") && !n.contains(" disabled"))
            {
                out.push(*next);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_parses_and_round_trips() {
        let log = "noise\r\nSCXRAY-TRUTH-BEGIN\r\nrelease 7.3.4+deb13-cloud-amd64\r\nstate enabled\r\n\
                   ops qmap\r\nsched 0 - qmap root /\r\nsched 1 42 qmap root/sub/sub-42 /scxsub1\r\n\
                   cgroup_tasks /scxsub1 120 121\r\ncpus_online 0-3\r\nnr_cpus 4\r\ncmdline console=ttyS0\r\n\
                   task 1 1 S 0 init\r\ntask 7 7 I -1 kworker/R-a b\r\nSCXRAY-TRUTH-END\r\nSCXRAY-READY\r\n";
        let t = GuestTruth::parse(log).unwrap();
        assert_eq!(
            (t.release.as_str(), t.state.as_str(), t.ops.as_str()),
            ("7.3.4+deb13-cloud-amd64", "enabled", "qmap")
        );
        assert_eq!(t.nr_cpus, 4);
        assert_eq!(t.scheds.len(), 2);
        assert_eq!(
            t.scheds[1],
            GuestSched {
                level: 1,
                cgroup_id: "42".into(),
                ops: "qmap".into(),
                sysfs: "root/sub/sub-42".into(),
                cgroup_path: "/scxsub1".into()
            }
        );
        assert_eq!(t.cgroup_tasks, vec![("/scxsub1".to_owned(), vec![120, 121])]);
        assert_eq!(t.tasks.len(), 2);
        assert_eq!(
            t.tasks[1],
            GuestTask { tid: 7, tgid: 7, state: "I".into(), cpu: -1, comm: "kworker/R-a b".into() }
        );
        assert_eq!((t.attached, t.extra.len()), (None, 0));
        let again =
            GuestTruth::parse(&format!("SCXRAY-TRUTH-BEGIN\n{}SCXRAY-TRUTH-END\n", t.to_text())).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn the_attached_word_and_extra_truth() {
        let log = "SCXRAY-TRUTH-BEGIN\r\nops bpfland\r\nattached yes\r\nextra maps [{\"id\": 7,\r\n\
                   extra stats  dsqs 3\r\nextra maps   \"name\": \"a b\\n\"}]\r\nextra empty\r\nSCXRAY-TRUTH-END\r\n";
        let t = GuestTruth::parse(log).unwrap();
        assert_eq!(t.attached, Some(true));
        let lines = |v: &[&str]| v.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            t.extra,
            vec![
                ("maps".to_owned(), lines(&["[{\"id\": 7,", "  \"name\": \"a b\\n\"}]"])),
                ("stats".to_owned(), lines(&[" dsqs 3"])),
                ("empty".to_owned(), lines(&[""])),
            ]
        );
        let again =
            GuestTruth::parse(&format!("SCXRAY-TRUTH-BEGIN\n{}SCXRAY-TRUTH-END\n", t.to_text())).unwrap();
        assert_eq!(again, t);
        let no = GuestTruth::parse("SCXRAY-TRUTH-BEGIN\nattached no\nSCXRAY-TRUTH-END\n").unwrap();
        assert_eq!(no.attached, Some(false));
    }

    #[test]
    fn a_truth_the_kernel_changed_before_the_dump() {
        // lab-7.3-arm64-qmap of the baseline run: the watchdog disabled qmap inside the truth
        // block; the guest's second reading says so, and so does the kernel.
        let serial = "[    0.1] sched_ext: not yet\r\nSCXRAY-BOOTED\r\nSCXRAY-SCHED-START\r\n\
                      SCXRAY-SCHED-ENABLED after 93 s\r\nSCXRAY-TRUTH-BEGIN\r\nstate enabled\r\nops qmap\r\n\
                      [  315.465956] sched_ext: BPF scheduler \"qmap\" disabled (runnable task stall)\r\n\
                      [  315.466133] sched_ext: qmap: watchdog failed to check in for 5.452s\r\n\
                      state_end disabled\r\nops_end none\r\nSCXRAY-TRUTH-END\r\nSCXRAY-READY\r\n";
        let t = GuestTruth::parse(serial).unwrap();
        assert_eq!((t.state_end.as_str(), t.ops_end.as_str()), ("disabled", "none"));
        assert_eq!(
            sched_ext_exits(serial),
            vec![
                "[  315.465956] sched_ext: BPF scheduler \"qmap\" disabled (runnable task stall)",
                "[  315.466133] sched_ext: qmap: watchdog failed to check in for 5.452s"
            ]
        );
        let why = t.unsettled(serial).unwrap();
        assert!(why.contains("`enabled` (ops qmap) at the truth's start and `disabled` (ops none)"), "{why}");
        assert!(why.contains("runnable task stall"), "{why}");
        // The same state twice and no exit: settled. An exit alone (after the truth's end, before
        // the dump) is enough; a sched_ext line before the scheduler started is not an exit.
        let calm = "SCXRAY-SCHED-START\nSCXRAY-TRUTH-BEGIN\nstate enabled\nops qmap\nstate_end enabled\n\
                    ops_end qmap\nnr_threads 104\ngone 9\nSCXRAY-TRUTH-END\n";
        let mut t = GuestTruth::parse(calm).unwrap();
        assert_eq!((t.unsettled(calm), t.nr_threads, t.ended.as_slice()), (None, Some(104), &[9][..]));
        // The tasks gone after the dump, once the guest has said them all; kept in the file.
        let after = format!("{calm}SCXRAY-READY\r\ngone 121\r\n[ 9.1] a kernel line\r\ngone 7\r\n");
        assert_eq!(gone_after(&after), None);
        t.gone_after = gone_after(&format!("{after}SCXRAY-GONE-END\r\n")).unwrap();
        assert_eq!(t.gone_after, vec![121, 7]);
        assert_eq!(gone_after("SCXRAY-READY\nSCXRAY-GONE-END\n"), Some(vec![]));
        let late =
            format!("{calm}SCXRAY-READY\n[ 9.0] sched_ext: BPF sub-scheduler \"qmap\" disabled (error)\n");
        assert!(t.unsettled(&late).is_some_and(|w| w.contains("sub-scheduler")));
        assert_eq!(
            t,
            GuestTruth::parse(&format!("SCXRAY-TRUTH-BEGIN\n{}SCXRAY-TRUTH-END\n", t.to_text())).unwrap()
        );
        // No scheduler: nothing the kernel says about sched_ext counts.
        assert!(
            sched_ext_exits(
                "[ 1.0] sched_ext: BPF scheduler \"x\" disabled (unregistered from user space)\n"
            )
            .is_empty()
        );
    }
}
