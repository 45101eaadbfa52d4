//! Shared by the end-to-end tests: temp dirs, running the real binary, and one populated
//! synthetic guest with the truth the checks compare the CLI's report against.
#![allow(dead_code)]

use scxray_core::VirtAddr;
use scxray_tests::elf_core::{CoreFiles, CoreSpec};
use scxray_tests::{AddressScheme, GuestBuilder, kernels};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory for one test's files, removed when the test passes and kept when it
/// fails (the files are what one needs to see why). The suites' cores add up to hundreds of MiB;
/// left behind they fill a CI machine's disk.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh directory for one test's files (see [`TempDir`]).
pub fn temp_dir(name: &str) -> TempDir {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scxray-e2e").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

/// Runs the `scxray` binary.
pub fn scxray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scxray")).args(args).output().expect("run scxray")
}

/// The paths of a written guest.
#[derive(Debug)]
pub struct Written {
    pub dir: PathBuf,
    pub core: String,
    pub map: String,
    pub btf: String,
    /// The directory, when `write_temp` made it: lives as long as the paths.
    _temp: Option<TempDir>,
}

/// Writes core, System.map and BTF to `dir`.
pub fn write(dir: &Path, f: &CoreFiles) -> Written {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    std::fs::write(p("guest.core"), &f.core).unwrap();
    std::fs::write(p("System.map"), &f.system_map).unwrap();
    std::fs::write(p("vmlinux.btf"), &f.btf).unwrap();
    Written {
        dir: dir.to_owned(),
        core: p("guest.core"),
        map: p("System.map"),
        btf: p("vmlinux.btf"),
        _temp: None,
    }
}

/// The written guest configured as the CLI does with `--btf` and `--system-map`.
pub fn configure(w: &Written) -> scxray::Target {
    scxray::Target::configure(&scxray::Inputs {
        memory: w.core.clone().into(),
        vmlinux: None,
        btf: Some(w.btf.clone().into()),
        system_map: Some(w.map.clone().into()),
        raw_base: 0,
    })
    .unwrap()
}

/// Writes core, System.map and BTF to a fresh [`temp_dir`] that lives as long as the result.
pub fn write_temp(name: &str, f: &CoreFiles) -> Written {
    let dir = temp_dir(name);
    let mut written = write(&dir, f);
    written._temp = Some(dir);
    written
}

/// What a task should look like in the report.
pub type Task = (i32, &'static str);

/// A DSQ as the builder made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectDsq {
    pub label: String,
    pub kind: &'static str,
    pub cpu: Option<u32>,
    pub node: Option<u32>,
    pub kva: u64,
    pub id: u64,
    pub nr: u32,
    pub seq: u32,
    pub tasks: Vec<Task>,
}

/// A CPU as the builder made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectCpu {
    pub rq: u64,
    pub nr_running: u32,
    pub flags: u32,
    pub cpu_released: bool,
    pub curr: Task,
    pub runnable: Vec<Task>,
}

/// The truth about a populated guest.
#[derive(Debug)]
pub struct Expect {
    pub release: String,
    pub cpus: Vec<ExpectCpu>,
    pub nodes: u32,
    pub sched_kva: u64,
    pub ops_name: &'static str,
    pub exit_kind: u32,
    pub exit_kind_name: &'static str,
    pub bypass_depth: i32,
    pub dsqs: Vec<ExpectDsq>,
    pub scx_tasks: Vec<Task>,
    pub task_kvas: Vec<(i32, u64)>,
}

pub const NR_CPUS: u32 = 4;
pub const NR_NODES: u32 = 2;
pub const OPS_NAME: &str = "synthetic";

/// The tasks: pid and comm, in `scx_tasks` order.
pub const TASKS: [Task; 9] = [
    (1, "systemd"),
    (101, "stress-ng"),
    (102, "stress-ng-cpu"),
    (103, "kworker/0:1"),
    (104, "sshd"),
    (105, "a-fifteen-chars"),
    (106, "bash"),
    (107, "cc1"),
    (108, "ld"),
];

/// A guest with a scheduler attached and every kind of DSQ populated, under `scheme`.
pub fn populated(scheme: AddressScheme, spec: &CoreSpec) -> (CoreFiles, Expect) {
    let layout = kernels::debian_7_3_amd64();
    let mut b = GuestBuilder::with_scheme(layout, scheme, NR_CPUS, NR_NODES);
    let exit_kind = 1024; // SCX_EXIT_ERROR: something to name
    let sched = b.attach_scheduler(exit_kind, 8);
    b.set_ops_name(OPS_NAME);
    b.set_sched_scalars(false, 2);

    let mut t = Vec::new();
    for (i, (pid, comm)) in TASKS.iter().enumerate() {
        t.push(b.add_task(*pid, comm.as_bytes()));
        if i == 4 {
            b.add_tasks_cursor(); // an iterator parked mid-list: skipped
        }
    }
    let kva = |i: usize| t[i].0;

    // Running tasks and runnable lists.
    let currs = [0usize, 1, 2, 3];
    for cpu in 0..NR_CPUS {
        b.set_curr(cpu, t[currs[cpu as usize]]);
    }
    b.make_runnable(0, t[4]);
    b.make_runnable(0, t[5]);
    b.make_runnable(1, t[6]);
    let scalars = [(3u32, 0x1u32, false), (2, 0x4, true), (1, 0, false), (1, 0x10, false)];
    for (cpu, &(nr, flags, rel)) in scalars.iter().enumerate() {
        b.set_rq_scalars(cpu as u32, nr, flags, rel);
    }

    // DSQs: local, global, bypass, user; cursors on two of them.
    let l0 = b.local_dsq(0);
    b.enqueue(l0, t[4]);
    b.add_dsq_cursor(l0);
    b.enqueue(l0, t[5]);
    b.set_dsq_counts(l0, 2, 17);
    let l1 = b.local_dsq(1);
    b.enqueue(l1, t[6]);
    b.set_dsq_counts(l1, 1, 5);
    let g0 = b.global_dsq(0);
    b.enqueue(g0, t[7]);
    b.set_dsq_counts(g0, 1, 40);
    let g1 = b.global_dsq(1);
    b.add_dsq_cursor(g1);
    let by2 = b.bypass_dsq(2);
    b.enqueue(by2, t[8]);
    b.set_dsq_counts(by2, 1, 3);
    let u10 = b.add_user_dsq(0x10, 3, false);
    b.enqueue(u10, t[1]);
    b.set_dsq_counts(u10, 1, 9);
    let u11 = b.add_user_dsq(0x11, 3, true); // in front of 0x10 on the chain, lock bit set
    b.enqueue(u11, t[2]);
    b.enqueue(u11, t[3]);
    b.set_dsq_counts(u11, 2, 11);
    let u20 = b.add_user_dsq(0x20, 5, false);

    let cpus = (0..NR_CPUS)
        .map(|cpu| {
            let (nr_running, flags, cpu_released) = scalars[cpu as usize];
            let runnable = match cpu {
                0 => vec![TASKS[4], TASKS[5]],
                1 => vec![TASKS[6]],
                _ => vec![],
            };
            ExpectCpu {
                rq: b.rq(cpu).0,
                nr_running,
                flags,
                cpu_released,
                curr: TASKS[currs[cpu as usize]],
                runnable,
            }
        })
        .collect();

    let dsq = |label: String, kind, cpu, node, at: VirtAddr, id, nr, seq, tasks: Vec<Task>| ExpectDsq {
        label,
        kind,
        cpu,
        node,
        kva: at.0,
        id,
        nr,
        seq,
        tasks,
    };
    let mut dsqs = Vec::new();
    for cpu in 0..NR_CPUS {
        let (nr, seq, tasks) = match cpu {
            0 => (2, 17, vec![TASKS[4], TASKS[5]]),
            1 => (1, 5, vec![TASKS[6]]),
            _ => (0, 0, vec![]),
        };
        dsqs.push(dsq(
            format!("local cpu {cpu}"),
            "local",
            Some(cpu),
            None,
            b.local_dsq(cpu),
            scxray_tests::SCX_DSQ_LOCAL,
            nr,
            seq,
            tasks,
        ));
        let scx = b.scx_rq(cpu).0;
        let sl = b.layout.scx_rq.unwrap();
        let reject = VirtAddr(scx + u64::from(sl.reject_dsq.unwrap()));
        let rescue = VirtAddr(scx + u64::from(sl.rescue_dsq.unwrap()));
        dsqs.push(dsq(
            format!("reject cpu {cpu}"),
            "reject",
            Some(cpu),
            None,
            reject,
            0x8000_0000_0000_0004,
            0,
            0,
            vec![],
        ));
        dsqs.push(dsq(
            format!("rescue cpu {cpu}"),
            "rescue",
            Some(cpu),
            None,
            rescue,
            0x8000_0000_0000_0005,
            0,
            0,
            vec![],
        ));
        let (nr, seq, tasks) = if cpu == 2 { (1, 3, vec![TASKS[8]]) } else { (0, 0, vec![]) };
        dsqs.push(dsq(
            format!("bypass cpu {cpu}"),
            "bypass",
            Some(cpu),
            None,
            b.bypass_dsq(cpu),
            scxray_tests::SCX_DSQ_BYPASS,
            nr,
            seq,
            tasks,
        ));
    }
    dsqs.push(dsq(
        "global node 0".into(),
        "global",
        None,
        Some(0),
        g0,
        scxray_tests::SCX_DSQ_GLOBAL,
        1,
        40,
        vec![TASKS[7]],
    ));
    dsqs.push(dsq(
        "global node 1".into(),
        "global",
        None,
        Some(1),
        g1,
        scxray_tests::SCX_DSQ_GLOBAL,
        0,
        0,
        vec![],
    ));
    dsqs.push(dsq("user".into(), "user", None, None, u10, 0x10, 1, 9, vec![TASKS[1]]));
    dsqs.push(dsq("user".into(), "user", None, None, u11, 0x11, 2, 11, vec![TASKS[2], TASKS[3]]));
    dsqs.push(dsq("user".into(), "user", None, None, u20, 0x20, 0, 0, vec![]));

    let task_kvas = TASKS.iter().enumerate().map(|(i, (pid, _))| (*pid, kva(i))).collect();
    let files = b.write_core(spec);
    let expect = Expect {
        release: spec.release.clone(),
        cpus,
        nodes: NR_NODES,
        sched_kva: sched.0,
        ops_name: OPS_NAME,
        exit_kind,
        exit_kind_name: "SCX_EXIT_ERROR",
        bypass_depth: 2,
        dsqs,
        scx_tasks: TASKS.to_vec(),
        task_kvas,
    };
    (files, expect)
}

/// A direct report as a wire dump of the same guest decodes: the wire carries the walk, not
/// what the host reads besides it (per-task detail, the global state, exit info, event
/// counters).
pub fn wire_part(mut r: scxray::report::Report) -> scxray::report::Report {
    r.tasks.clear();
    r.unreadable_tasks.clear();
    r.sched_ext = scxray::report::GlobalState::default();
    if let Some(s) = r.scheduler.as_mut() {
        s.exit = None;
        s.events.clear();
    }
    r
}
