//! The lab's verdict: runs `scxray dump --format json` on a guest's dump and checks it
//! against what the guest itself printed (its "truth": release, sched_ext state, root ops
//! name, the schedulers in sysfs, CPUs, every pid with its comm).

use super::bpf_truth;
use super::user_dsqs::{self, DSQ_TRACE};
pub use super::verdict::Verdict;
use super::verdict::some;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    /// `extra <name> <line>`: more truth the case collected, by name (see `CaseTruth`).
    pub extra: BTreeMap<String, Vec<String>>,
    /// The kernel's own count of tasks (`nr_threads`) right after the listing.
    pub nr_threads: Option<usize>,
    /// Listed tasks that had ended before the dump (`gone` lines of the truth block).
    pub ended: BTreeSet<i64>,
    /// Listed tasks that were gone a moment after the dump (`gone_after` lines).
    pub gone_after: BTreeSet<i64>,
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
                Some("extra") => {
                    let mut f = line.splitn(3, ' ').skip(1);
                    let name = f.next().unwrap_or_default().to_owned();
                    t.extra.entry(name).or_default().push(f.next().unwrap_or_default().to_owned());
                }
                Some("nr_threads") => t.nr_threads = it.next().and_then(|v| v.parse().ok()),
                Some("gone") => t.ended.extend(it.next().and_then(|v| v.parse::<i64>().ok())),
                Some("gone_after") => t.gone_after.extend(it.next().and_then(|v| v.parse::<i64>().ok())),
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
    // tasks) is not in a /proc listing; pids above the last listed one started after it; the
    // listed tasks the guest found gone before the dump may be missing (they may also still
    // be on scx_tasks, dead, until their last reference is dropped).
    let tasks = r["scx_tasks"]["tasks"].as_array().cloned().unwrap_or_default();
    v.tasks = tasks.len();
    let walked: BTreeSet<i64> = tasks.iter().filter_map(|t| t["pid"].as_i64()).filter(|&p| p != 0).collect();
    let listed: BTreeSet<i64> = truth.tasks.keys().copied().collect();
    let last = listed.last().copied().unwrap_or(0);
    let missing: Vec<i64> =
        listed.difference(&walked).copied().filter(|p| !truth.ended.contains(p)).collect();
    let extra: Vec<i64> = walked.difference(&listed).copied().filter(|&p| p <= last).collect();
    let gone_after = missing.iter().filter(|p| truth.gone_after.contains(p)).count();
    v.check(missing.is_empty(), || {
        format!(
            "pids the guest listed but scx_tasks lacks ({gone_after} of {} gone after the dump): {}",
            missing.len(),
            some(&missing)
        )
    });
    v.spoiled = spoiled_by_ended_tasks(&missing, &truth.gone_after);
    v.check(extra.is_empty(), || format!("pids on scx_tasks the guest did not list: {}", some(&extra)));
    if let Some(n) = truth.nr_threads {
        v.check(count_agrees(&walked, last, &truth.ended, n), || {
            format!(
                "scx_tasks holds {} tasks (pid 0 aside, {} started after the listing), the guest's \
                 kernel counted {n}",
                walked.len(),
                walked.range(last + 1..).count()
            )
        });
    }
    // Nothing cut short: every walk of the report complete at scxray's default caps.
    let mut cut = Vec::new();
    cut_walks(&r, "", &mut cut);
    v.check(cut.is_empty(), || format!("walks truncated or broken: {}", some(&cut)));
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

    // Every DSQ: tasks walked == nr, nothing truncated; every queued or runnable task is on
    // scx_tasks.
    let on_list: BTreeSet<String> = tasks.iter().map(|t| s(&t["kva"])).collect();
    let dsqs = r["dsqs"].as_array().cloned().unwrap_or_default();
    v.dsqs = dsqs.len();
    v.each("DSQs not walked in full", &dsqs, |d| {
        let (nr, walked, truncated) = (
            d["nr"].as_u64(),
            d["walk"]["reported"].as_u64(),
            d["walk"]["truncated"].as_bool() == Some(true),
        );
        (truncated || nr != walked).then(|| {
            format!("DSQ {}: nr {nr:?} but {walked:?} tasks walked (truncated: {truncated})", s(&d["label"]))
        })
    });
    let queued: Vec<(&Value, &Value)> =
        dsqs.iter().flat_map(|d| d["tasks"].as_array().into_iter().flatten().map(move |t| (d, t))).collect();
    v.each("queued tasks not on scx_tasks", &queued, |&(d, t)| {
        (!on_list.contains(&s(&t["kva"]))).then(|| format!("task {} on DSQ {}", s(&t["kva"]), s(&d["label"])))
    });
    if let Some(trace) = truth.extra.get(DSQ_TRACE) {
        for outcome in user_dsqs::check(&dsqs, trace) {
            v.check(outcome.is_ok(), || outcome.err().unwrap_or_default());
        }
    }
    // Every task on a DSQ has detail, and the DSQ its `p->scx.dsq` names is the one it was
    // found on.
    let detail: BTreeMap<String, &Value> =
        r["tasks"].as_array().into_iter().flatten().map(|t| (s(&t["kva"]), t)).collect();
    v.each("queued tasks without detail or naming another DSQ", &queued, |&(d, t)| {
        let kva = s(&t["kva"]);
        match detail.get(&kva) {
            None => Some(format!("task {kva} on DSQ {} has no detail", s(&d["label"]))),
            Some(x) => (s(&x["dsq_kva"]) != s(&d["kva"]) || s(&x["dsq_id"]) != s(&d["id"])).then(|| {
                format!(
                    "task {kva} found on DSQ {} ({} id {}) names DSQ {} id {}",
                    s(&d["label"]),
                    s(&d["kva"]),
                    s(&d["id"]),
                    s(&x["dsq_kva"]),
                    s(&x["dsq_id"])
                )
            }),
        }
    });
    v.check(r["unreadable_tasks"].as_array().is_some_and(Vec::is_empty), || {
        format!("tasks without detail: {}", r["unreadable_tasks"])
    });
    let cpus = r["cpus"].as_array().cloned().unwrap_or_default();
    let runnable: Vec<(&Value, &Value)> = cpus
        .iter()
        .flat_map(|c| c["runnable"].as_array().into_iter().flatten().map(move |t| (c, t)))
        .collect();
    v.each("runnable tasks not on scx_tasks", &runnable, |&(c, t)| {
        (!on_list.contains(&s(&t["kva"]))).then(|| format!("task {} of CPU {}", s(&t["kva"]), c["cpu"]))
    });
    // nr_running counts runnable_list plus the running task when it is a sched_ext one.
    v.each("CPUs whose nr_running is not their runnable_list", &cpus, |c| {
        let (nr, n) =
            (c["nr_running"].as_u64().unwrap_or(0), c["runnable"].as_array().map_or(0, Vec::len) as u64);
        (nr != n && nr != n + 1)
            .then(|| format!("CPU {}: nr_running {nr} with {n} on runnable_list", c["cpu"]))
    });
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
    if !sched.is_null() {
        bpf_truth::check(&r, &truth.extra, &mut v);
    }
    let problems: Vec<String> = r["problems"].as_array().into_iter().flatten().map(s).collect();
    v.check(problems.is_empty(), || format!("problems: {problems:?}"));
    v
}

/// Whether the pids walked on scx_tasks (pid 0 aside) agree with the kernel's own count `n`,
/// read after a listing whose last pid is `last` and before the dump: at least the listed
/// tasks walked, at most every task walked (the ones started since too: pids above `last`, a
/// kworker may start at any moment). The listed tasks that `ended` before the dump may be
/// counted or not, and walked or not.
fn count_agrees(walked: &BTreeSet<i64>, last: i64, ended: &BTreeSet<i64>, n: usize) -> bool {
    let listed_alive = walked.range(..=last).filter(|p| !ended.contains(p)).count();
    (listed_alive..=walked.len() + ended.len()).contains(&n)
}

/// Why the dump cannot be checked against the listing (see [`Verdict::spoiled`]) when every
/// listed pid it lacks (`missing`) was `gone` a moment after it; `None` when it lacks none, or
/// one that was still there (scxray missed a live task).
fn spoiled_by_ended_tasks(missing: &[i64], gone: &BTreeSet<i64>) -> Option<String> {
    (!missing.is_empty() && missing.iter().all(|p| gone.contains(p)))
        .then(|| format!("listed tasks ended between the guest's listing and the dump: {}", some(missing)))
}

/// Collects into `out` the path of every walk in the report `v` (at `path`) that is cut
/// short or astray: a `truncated` that is `true` (a cap fired) or a non-empty list (the user
/// DSQ walks name what they cut), a `broken` that is not `null`, `broken_chains`,
/// `looped_chains`, `stray_chains` or `unreadable` (a count) above 0, a `caps_fired` or a
/// BPF map's `anomalies` that lists any (on an arena: its mapped pages against the kernel's
/// own `nr_pages`).
fn cut_walks(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let at = format!("{path}.{k}");
                let cut = match k.as_str() {
                    "truncated" => x == true || x.as_array().is_some_and(|a| !a.is_empty()),
                    "broken" => !x.is_null(),
                    // Counts: chains, and what the BPF walks could not read.
                    "broken_chains" | "looped_chains" | "stray_chains" | "unreadable" => {
                        x.as_u64().is_some_and(|n| n > 0)
                    }
                    "caps_fired" | "anomalies" => x.as_array().is_some_and(|a| !a.is_empty()),
                    _ => false,
                };
                if cut {
                    out.push(format!("{at} = {x}"));
                }
                cut_walks(x, &at, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                cut_walks(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
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

    #[test]
    fn only_tasks_gone_after_the_dump_spoil_it() {
        let gone: BTreeSet<i64> = [121, 300].into();
        assert_eq!(
            spoiled_by_ended_tasks(&[121], &gone).as_deref(),
            Some("listed tasks ended between the guest's listing and the dump: [121]")
        );
        assert_eq!(spoiled_by_ended_tasks(&[121, 122], &gone), None);
        assert_eq!(spoiled_by_ended_tasks(&[], &gone), None);
        let t = Truth::parse(
            "task 121 121 I 2 kworker/2:2\nnr_threads 5\ngone 4\ngone_after 121\ngone_after 300\n",
        );
        assert_eq!((t.gone_after, t.ended, t.nr_threads), (gone, [4].into(), Some(5)));
    }

    #[test]
    fn the_kernels_count_bounds_the_walk() {
        let walked: BTreeSet<i64> = [1, 2, 3, 10, 11].into();
        // Listed up to pid 3; 10 and 11 started after the listing, before or after the count.
        let none = BTreeSet::new();
        assert!((3..=5).all(|n| count_agrees(&walked, 3, &none, n)));
        assert!(!count_agrees(&walked, 3, &none, 2) && !count_agrees(&walked, 3, &none, 6));
        // Pid 4 ended before the dump, after the count (4 not walked, counted: 6) or before it
        // (2 still walked, dead, not counted: 2).
        let ended: BTreeSet<i64> = [2, 4].into();
        assert!(count_agrees(&walked, 3, &ended, 6) && count_agrees(&walked, 3, &ended, 2));
        assert!(!count_agrees(&walked, 3, &ended, 1) && !count_agrees(&walked, 3, &ended, 8));
        // A walk cut short: 4093 tasks walked, 6206 counted.
        let cut: BTreeSet<i64> = (1..=4093).collect();
        assert!(!count_agrees(&cut, 6265, &none, 6206));
        assert!(count_agrees(&cut, 4093, &none, 4093));
    }

    #[test]
    fn finds_every_walk_cut_short() {
        let r = serde_json::json!({
            "truncated": false,
            "scx_tasks": {"tasks": [], "walk": {"reported": 4096, "truncated": true, "broken": null}},
            "dsqs": [
                {"walk": {"truncated": false, "broken": null}},
                {"walk": {"truncated": false, "broken": "0xffff888000001000: unreadable next"}},
            ],
            "user_dsqs": {"truncated": ["nodes"], "broken_chains": 2, "looped_chains": 1, "stray_chains": 0},
            "caps_fired": [{"walk": "scx_tasks", "limit": 4096}],
            "schedulers": [{"user_dsqs": {"truncated": [], "broken_chains": 0}}],
            // The BPF maps count what they could not read: 0 is whole.
            "bpf": {"schedulers": [{"maps": [
                {"count": 1, "truncated": [], "unreadable": 0},
                {"count": 299, "truncated": ["probes"], "unreadable": 3, "anomalies": []},
                {"count": 300, "truncated": [], "unreadable": 0, "anomalies": ["page_count"]},
            ]}]},
        });
        let mut cut = Vec::new();
        cut_walks(&r, "", &mut cut);
        assert_eq!(
            cut,
            vec![
                ".bpf.schedulers[0].maps[1].truncated = [\"probes\"]",
                ".bpf.schedulers[0].maps[1].unreadable = 3",
                ".bpf.schedulers[0].maps[2].anomalies = [\"page_count\"]",
                ".caps_fired = [{\"limit\":4096,\"walk\":\"scx_tasks\"}]",
                ".dsqs[1].walk.broken = \"0xffff888000001000: unreadable next\"",
                ".scx_tasks.walk.truncated = true",
                ".user_dsqs.broken_chains = 2",
                ".user_dsqs.looped_chains = 1",
                ".user_dsqs.truncated = [\"nodes\"]",
            ]
        );
        let mut none = Vec::new();
        cut_walks(&r["schedulers"], "", &mut none);
        assert!(none.is_empty(), "{none:?}");
        assert_eq!(some(&[1, 2]), "[1, 2]");
        assert_eq!(some(&(0..12).collect::<Vec<_>>()), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9] and 2 more");
    }
}
