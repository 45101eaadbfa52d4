//! The lab's verdict: runs `scxray dump --format json` on a guest's dump and checks it
//! against what the guest itself printed (its "truth": release, sched_ext state, root ops
//! name, the schedulers in sysfs, CPUs, every pid with its comm).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What the guest printed about itself (the `*.truth.txt` file).
#[derive(Debug, Default, Clone)]
pub struct Truth {
    pub release: String,
    pub state: String,
    pub ops: String,
    /// `sched` lines: every scheduler sysfs showed, the root first.
    pub scheds: Vec<TruthSched>,
    pub nr_cpus: u32,
    /// pid -> comm.
    pub tasks: BTreeMap<i64, String>,
}

/// One scheduler of the truth: `sched <level> <cgroup id|-> <ops> <sysfs dir> <cgroup path>`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TruthSched {
    pub level: u64,
    pub ops: String,
    pub cgroup_path: String,
}

impl Truth {
    pub fn parse(text: &str) -> Self {
        let mut t = Self::default();
        for line in text.lines() {
            let mut it = line.split_whitespace();
            match it.next() {
                Some("release") => t.release = it.next().unwrap_or_default().to_owned(),
                Some("state") => t.state = it.next().unwrap_or_default().to_owned(),
                Some("ops") => t.ops = it.next().unwrap_or_default().to_owned(),
                Some("sched") => {
                    let f: Vec<&str> = it.collect();
                    if let [level, _id, ops, _sysfs, path @ ..] = &f[..]
                        && let Ok(level) = level.parse()
                    {
                        t.scheds.push(TruthSched {
                            level,
                            ops: (*ops).to_owned(),
                            cgroup_path: path.join(" "),
                        });
                    }
                }
                Some("nr_cpus") => t.nr_cpus = it.next().and_then(|v| v.parse().ok()).unwrap_or(0),
                Some("task") => {
                    // `task PID TGID COMM` or `task PID TGID STATE CPU COMM`.
                    let pid = it.next().and_then(|v| v.parse().ok());
                    let _tgid = it.next();
                    let rest: Vec<&str> = it.collect();
                    let comm = match rest.as_slice() {
                        [state, cpu, comm @ ..]
                            if state.len() == 1 && cpu.parse::<i64>().is_ok() && !comm.is_empty() =>
                        {
                            comm.join(" ")
                        }
                        all => all.join(" "),
                    };
                    if let Some(pid) = pid {
                        t.tasks.insert(pid, comm);
                    }
                }
                _ => {}
            }
        }
        t
    }
}

/// What the lab expects of a guest beyond its truth file.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// NUMA nodes the guest was booted with.
    pub nodes: u32,
    /// Whether the kernel has sched_ext (Debian's 6.12 does not).
    pub sched_ext: bool,
}

/// The outcome of checking one dump.
#[derive(Debug, Default)]
pub struct Verdict {
    pub tasks: usize,
    pub dsqs: usize,
    pub passed: usize,
    pub failures: Vec<String>,
    pub scxray_time: Duration,
}

impl Verdict {
    /// Counts a check that passed, or records `what` as failed.
    pub fn check_named(&mut self, ok: bool, what: &str) {
        self.check(ok, || what.to_owned());
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what());
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Runs `scxray` on `core` and checks its report against `truth`.
pub fn check(scxray: &Path, core: &Path, truth: &Truth, expect: Expect) -> Verdict {
    let mut v = Verdict::default();
    let start = Instant::now();
    let out = Command::new(scxray).arg("dump").arg(core).args(["--format", "json"]).output();
    v.scxray_time = start.elapsed();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            v.failures.push(format!("cannot run {}: {e}", scxray.display()));
            return v;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !expect.sched_ext {
        // The kernel has no sched_ext: scxray must say so plainly, with exit code 3.
        v.check(out.status.code() == Some(3), || {
            format!("exit status {} (want 3 for no sched_ext)", out.status)
        });
        v.check(stderr.contains("without sched_ext"), || {
            format!("message does not say so: {}", stderr.trim())
        });
        return v;
    }
    v.check(out.status.success(), || format!("scxray failed ({}): {}", out.status, stderr.trim()));
    let r: Value = match serde_json::from_slice(&out.stdout) {
        Ok(r) => r,
        Err(e) => {
            v.failures.push(format!("scxray's JSON does not parse: {e}"));
            return v;
        }
    };
    let m = &r["machine"];
    v.check(s(&m["release"]) == truth.release, || {
        format!("release {} != guest's {}", m["release"], truth.release)
    });
    v.check(m["cpus"].as_u64() == Some(u64::from(truth.nr_cpus)), || {
        format!("cpus {} != guest's {}", m["cpus"], truth.nr_cpus)
    });
    v.check(m["nodes"].as_u64() == Some(u64::from(expect.nodes)), || {
        format!("nodes {} != booted {}", m["nodes"], expect.nodes)
    });

    // The scheduler: attached exactly when the guest says so, under the name it printed.
    let sched = &r["scheduler"];
    if truth.ops == "none" || truth.ops.is_empty() {
        v.check(sched.is_null(), || format!("a scheduler is reported ({sched}) but the guest has none"));
    } else {
        v.check(s(&sched["ops_name"]) == truth.ops, || {
            format!("scheduler name {} != guest's {}", sched["ops_name"], truth.ops)
        });
        v.check(s(&sched["state"]) == truth.state, || {
            format!("state {} != guest's {}", sched["state"], truth.state)
        });
    }
    if truth.scheds.iter().any(|x| x.level > 0) {
        check_sub_schedulers(&r, truth, &mut v);
    }

    // scx_tasks holds every task: the pid set equals the guest's listing. pid 0 (the idle
    // tasks) is not in a /proc listing; pids above the last listed one started after it.
    let tasks = r["scx_tasks"]["tasks"].as_array().cloned().unwrap_or_default();
    v.tasks = tasks.len();
    let walked: BTreeSet<i64> = tasks.iter().filter_map(|t| t["pid"].as_i64()).filter(|&p| p != 0).collect();
    let listed: BTreeSet<i64> = truth.tasks.keys().copied().collect();
    let last = listed.last().copied().unwrap_or(0);
    let missing: Vec<i64> = listed.difference(&walked).copied().collect();
    let extra: Vec<i64> = walked.difference(&listed).copied().filter(|&p| p <= last).collect();
    v.check(missing.is_empty(), || format!("pids the guest listed but scx_tasks lacks: {missing:?}"));
    v.check(extra.is_empty(), || format!("pids on scx_tasks the guest did not list: {extra:?}"));
    let unreadable = tasks.iter().filter(|t| t["pid"].is_null()).count();
    v.check(unreadable == 0, || format!("{unreadable} tasks on scx_tasks whose pid could not be read"));
    let comm_mismatch: Vec<String> = tasks
        .iter()
        .filter_map(|t| {
            let pid = t["pid"].as_i64()?;
            let want = truth.tasks.get(&pid)?;
            let got = s(&t["comm"]);
            // /proc/PID/comm of a kworker carries its workqueue after the task's own comm.
            (!want.starts_with(&got) && !got.starts_with(want.as_str()))
                .then(|| format!("{pid}: {got} vs {want}"))
        })
        .collect();
    v.check(comm_mismatch.is_empty(), || format!("comm differs: {comm_mismatch:?}"));

    // Every DSQ: tasks walked == nr unless truncated; every queued or runnable task is on
    // scx_tasks.
    let on_list: BTreeSet<String> = tasks.iter().map(|t| s(&t["kva"])).collect();
    let dsqs = r["dsqs"].as_array().cloned().unwrap_or_default();
    v.dsqs = dsqs.len();
    for d in &dsqs {
        let (nr, walked, truncated) = (
            d["nr"].as_u64(),
            d["walk"]["reported"].as_u64(),
            d["walk"]["truncated"].as_bool() == Some(true),
        );
        v.check(truncated || nr == walked, || {
            format!("DSQ {}: nr {nr:?} but {walked:?} tasks walked", s(&d["label"]))
        });
        for t in d["tasks"].as_array().into_iter().flatten() {
            v.check(on_list.contains(&s(&t["kva"])), || {
                format!("task {} on DSQ {} is not on scx_tasks", s(&t["kva"]), s(&d["label"]))
            });
        }
    }
    // Every task on a DSQ has detail, and the DSQ its `p->scx.dsq` names is the one it was
    // found on.
    let detail: BTreeMap<String, &Value> =
        r["tasks"].as_array().into_iter().flatten().map(|t| (s(&t["kva"]), t)).collect();
    for d in &dsqs {
        for t in d["tasks"].as_array().into_iter().flatten() {
            let kva = s(&t["kva"]);
            match detail.get(&kva) {
                None => v.failures.push(format!("task {kva} on DSQ {} has no detail", s(&d["label"]))),
                Some(x) => {
                    v.check(s(&x["dsq_kva"]) == s(&d["kva"]) && s(&x["dsq_id"]) == s(&d["id"]), || {
                        format!(
                            "task {kva} found on DSQ {} ({} id {}) names DSQ {} id {}",
                            s(&d["label"]),
                            s(&d["kva"]),
                            s(&d["id"]),
                            s(&x["dsq_kva"]),
                            s(&x["dsq_id"])
                        )
                    })
                }
            }
        }
    }
    v.check(r["unreadable_tasks"].as_array().is_some_and(Vec::is_empty), || {
        format!("tasks without detail: {}", r["unreadable_tasks"])
    });
    for c in r["cpus"].as_array().into_iter().flatten() {
        let runnable = c["runnable"].as_array().cloned().unwrap_or_default();
        for t in &runnable {
            v.check(on_list.contains(&s(&t["kva"])), || {
                format!("runnable task {} of CPU {} is not on scx_tasks", s(&t["kva"]), c["cpu"])
            });
        }
        // nr_running counts runnable_list plus the running task when it is a sched_ext one.
        let (nr, n) = (c["nr_running"].as_u64().unwrap_or(0), runnable.len() as u64);
        v.check(nr == n || nr == n + 1, || {
            format!("CPU {}: nr_running {nr} with {n} on runnable_list", c["cpu"])
        });
    }
    v.check(dsqs.iter().any(|d| s(&d["kind"]) == "local"), || "no local DSQ was walked".into());
    if !sched.is_null() {
        // 6.12-6.15 (the scheduler in kernel globals) have no bypass DSQs; both eras have
        // global DSQs and a dsq_hash walk, and every scheduler DSQ names its owner.
        let globals = s(&sched["provenance"]) == "globals";
        let kinds: &[&str] = if globals { &["global"] } else { &["bypass", "global"] };
        for &kind in kinds {
            v.check(dsqs.iter().any(|d| s(&d["kind"]) == kind), || format!("no {kind} DSQ was walked"));
        }
        v.check(!r["user_dsqs"].is_null(), || "the dsq_hash walk did not run".into());
        let root = s(&sched["sched_kva"]);
        let known: Vec<String> =
            r["schedulers"].as_array().into_iter().flatten().map(|x| s(&x["sched_kva"])).collect();
        let globals_of = |owner: &str| {
            dsqs.iter().filter(|d| s(&d["kind"]) == "global" && s(&d["sched"]) == owner).count()
        };
        v.check(globals_of(&root) > 0, || format!("the root scheduler {root} owns no global DSQ"));
        v.check(
            dsqs.iter()
                .filter(|d| {
                    s(&d["kind"]) != "local" && s(&d["kind"]) != "reject" && s(&d["kind"]) != "rescue"
                })
                .all(|d| known.contains(&s(&d["sched"]))),
            || "a scheduler's DSQ names no scheduler of the report".into(),
        );
        if globals {
            v.check(s(&r["machine"]["release"]).starts_with("6.1"), || {
                "the report says the scheduler came from 6.12-6.15 globals on a later kernel".into()
            });
        }
    }
    let problems: Vec<String> = r["problems"].as_array().into_iter().flatten().map(s).collect();
    v.check(problems.is_empty(), || format!("problems: {problems:?}"));
    v
}

/// A guest with sub-schedulers: the report's `schedulers` must list every scheduler sysfs
/// showed, no more: for each, the entry with the same `cgroup_path` (string: the kernel's
/// `scx_sched.cgrp_path`, `/` for the root, `/scxsub1` for a sub-scheduler on that cgroup) has
/// the same `name` (string: `ops.name`) and `level` (integer: `scx_sched.level`, 0 for the root).
fn check_sub_schedulers(r: &Value, truth: &Truth, v: &mut Verdict) {
    let Some(list) = r["schedulers"].as_array() else {
        v.failures.push(format!(
            "no `schedulers` array in the report (the guest has {} schedulers)",
            truth.scheds.len()
        ));
        return;
    };
    v.check(list.len() == truth.scheds.len(), || {
        format!("{} schedulers reported, the guest has {}", list.len(), truth.scheds.len())
    });
    for want in &truth.scheds {
        let found = list.iter().find(|x| s(&x["cgroup_path"]) == want.cgroup_path);
        v.check(
            found.is_some_and(|x| s(&x["name"]) == want.ops && x["level"].as_u64() == Some(want.level)),
            || match found {
                None => {
                    format!("no scheduler with cgroup_path {} (the guest's {})", want.cgroup_path, want.ops)
                }
                Some(x) => format!(
                    "scheduler on {}: name {} level {} != guest's {} level {}",
                    want.cgroup_path, x["name"], x["level"], want.ops, want.level
                ),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_guests_truth() {
        let t = Truth::parse(
            "# comment\nrelease 7.3.4+deb13-cloud-amd64\nstate enabled\nops qmap\nnr_cpus 4\n\
             task 1 1 init\ntask 11 11 kworker/0:1-events\ntask 12 12 R 3 busy loop\n",
        );
        assert_eq!(
            (t.release.as_str(), t.state.as_str(), t.ops.as_str(), t.nr_cpus),
            ("7.3.4+deb13-cloud-amd64", "enabled", "qmap", 4)
        );
        assert_eq!(t.tasks.get(&11).map(String::as_str), Some("kworker/0:1-events"));
        assert_eq!(t.tasks.get(&12).map(String::as_str), Some("busy loop"));
    }

    #[test]
    fn checks_the_schedulers_list() {
        let t = Truth::parse("ops qmap\nsched 0 - qmap root /\nsched 1 42 qmap root/sub/sub-42 /scxsub1\n");
        assert_eq!(t.scheds[1], TruthSched { level: 1, ops: "qmap".into(), cgroup_path: "/scxsub1".into() });
        let good = serde_json::json!({"schedulers": [
            {"name": "qmap", "level": 0, "cgroup_path": "/"},
            {"name": "qmap", "level": 1, "cgroup_path": "/scxsub1"},
        ]});
        let mut v = Verdict::default();
        check_sub_schedulers(&good, &t, &mut v);
        assert_eq!((v.passed, v.failures.len()), (3, 0), "{:?}", v.failures);
        let flat = serde_json::json!({"schedulers": [
            {"name": "qmap", "level": 0, "cgroup_path": "/"},
            {"name": "qmap", "level": 0, "cgroup_path": "/scxsub1"},
        ]});
        let mut v = Verdict::default();
        check_sub_schedulers(&flat, &t, &mut v);
        assert_eq!(v.failures.len(), 1, "{:?}", v.failures);
        let mut v = Verdict::default();
        check_sub_schedulers(&serde_json::json!({"scheduler": {}}), &t, &mut v);
        assert_eq!(v.failures.len(), 1);
    }
}
