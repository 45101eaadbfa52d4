//! The guest's initramfs: a newc cpio archive with a static busybox, the kernel's
//! `qemu_fw_cfg` module (so QEMU's dumps carry the guest's VMCOREINFO note), the kernel config
//! at `/boot/config-<release>`, an optional scheduler binary at `/bin/scheduler`, and an `/init`
//! script that
//!
//! 1. mounts proc, sysfs, devtmpfs, debugfs, and loads the modules;
//! 2. starts the workload: busy loops (more than CPUs) and sleepers;
//! 3. starts `/bin/scheduler` (if present) in the background, output to `/scheduler.log`, and
//!    waits until `/sys/kernel/sched_ext/state` reads `enabled` (or a timeout);
//! 4. with sub-schedulers ([`GuestSpec::sub_schedulers`]): before the workload, mounts cgroup2
//!    on `/sys/fs/cgroup`, enables the `cpu` controller for the root's children and creates each
//!    sub-scheduler's cgroup with its own spinners and sleepers in it; once the parent is
//!    enabled, starts `/bin/scheduler -c /sys/fs/cgroup/<cgroup> ARGS` per sub-scheduler, in
//!    order, and waits until it says it started and its directory
//!    `/sys/kernel/sched_ext/root/sub/sub-<cgroup id>` (nested: `.../sub/sub-<id>/sub/sub-<id>`)
//!    exists;
//! 5. prints the guest's own truth between `SCXRAY-TRUTH-BEGIN`/`SCXRAY-TRUTH-END` using shell
//!    builtins only (no fork): release, sched_ext state, root ops name, every scheduler in
//!    sysfs, CPUs, every task;
//! 6. prints `SCXRAY-READY` and forks nothing more.
//!
//! Truth lines (one per line, parsed by [`super::qemu::GuestTruth::parse`]):
//! `release <uname -r>`, `state <enabled|disabled|...|absent>`, `ops <name|none>`,
//! `sched <level> <cgroup id|-> <ops> <sysfs dir> <cgroup path>` (one per scheduler directory
//! under `/sys/kernel/sched_ext`, the root first: level is its nesting depth there, the cgroup
//! id comes from the directory name `sub-<id>`, the path is the cgroup2 directory with that
//! inode number, `/` for the root scheduler, `?` when not found),
//! `cgroup_tasks <cgroup path> <pid>...` (a sub-scheduler cgroup's `cgroup.procs`),
//! `cpus_online <list>`, `nr_cpus <n>`, `cmdline <...>`,
//! `task <tid> <tgid> <state> <cpu> <comm>` (state letter and CPU from `/proc/<pid>/task/<tid>/stat`
//! fields 3 and 39, comm from `comm`).
//!
//! sysfs shows no per-scheduler state: a scheduler's directory exists from shortly before its
//! `ops.init()` until it is disabled, and the kernel's only state file is the global one.

use super::apt;
use super::kernels::Kernel;
use std::fs;
use std::path::{Path, PathBuf};

/// What runs in the guest besides the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Busy loops `while :; do :; done` (want more than the guest's CPUs).
    pub spinners: u32,
    /// `sleep` processes (tasks that are not runnable).
    pub sleepers: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Self { spinners: 8, sleepers: 4 }
    }
}

/// A sched_ext scheduler to run in the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    /// Host path of the binary; it becomes `/bin/scheduler` in the guest.
    pub binary: PathBuf,
    /// Its arguments (passed word by word, shell-quoted).
    pub args: Vec<String>,
    /// More files for the guest: (host path, absolute guest path), e.g. shared libraries.
    pub extra_files: Vec<(PathBuf, String)>,
    /// Seconds to wait for `/sys/kernel/sched_ext/state` to read `enabled`.
    pub enable_timeout_secs: u32,
    /// Seconds to let the scheduler run after it is enabled, before the truth is taken.
    pub settle_secs: u32,
}

impl Scheduler {
    /// A scheduler with no arguments or extra files, 240 s to enable, 3 s to settle.
    pub fn new(binary: PathBuf) -> Self {
        Self { binary, args: Vec::new(), extra_files: Vec::new(), enable_timeout_secs: 240, settle_secs: 3 }
    }
}

/// A sub-scheduler: a second instance of the guest's scheduler binary (`/bin/scheduler`, which
/// must take `-c CGROUP_DIR`, as scx_qmap does) attached to a child cgroup of the parent
/// scheduler's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubScheduler {
    /// The cgroup, relative to the cgroup2 root (`scxsub1`, or nested `scxsub1/inner`: then an
    /// earlier sub-scheduler must hold `scxsub1`). Created by the guest.
    pub cgroup: String,
    /// More arguments after `-c /sys/fs/cgroup/<cgroup>`.
    pub args: Vec<String>,
    /// Busy loops and sleepers started inside the cgroup.
    pub workload: Workload,
}

impl SubScheduler {
    /// A sub-scheduler on `cgroup` with 2 spinners and 2 sleepers of its own.
    pub fn new(cgroup: &str) -> Self {
        Self { cgroup: cgroup.to_owned(), args: Vec::new(), workload: Workload { spinners: 2, sleepers: 2 } }
    }
}

/// Everything the initramfs is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestSpec {
    pub workload: Workload,
    pub scheduler: Option<Scheduler>,
    /// Sub-schedulers started, in order, once [`Self::scheduler`] is enabled (each waits for the
    /// previous one to attach). Each gets the scheduler's enable timeout to attach and its
    /// settle time after.
    pub sub_schedulers: Vec<SubScheduler>,
    /// Print `SCXRAY-READY` as soon as the scheduler is enabled: poll its state every 0.2 s, no
    /// settling and no task listing. For a scheduler made to stall, whose watchdog kills it
    /// seconds after the stall begins: the dumps must come before that.
    pub quick_truth: bool,
}

/// The busybox applets linked in `/bin`.
const APPLETS: &[&str] = &[
    "sh", "mount", "insmod", "cat", "sleep", "echo", "ls", "ps", "dmesg", "mkdir", "uname", "true",
    "poweroff", "grep", "head", "tail", "free", "top", "stat",
];

/// A statically linked busybox for `arch` (`amd64`/`arm64`): the system's `/bin/busybox` on
/// amd64 when it is static (installing `busybox-static` if busybox is missing), otherwise
/// Debian's `busybox-static` for `arch` from the private apt environment (sid).
pub fn busybox_for(arch: &str) -> Result<PathBuf, String> {
    if arch == "amd64" && cfg!(target_arch = "x86_64") {
        apt::ensure_host_tool("busybox", "busybox-static")?;
        if let Some(bb) = apt::which("busybox")
            && fs::read(&bb).is_ok_and(|d| is_static_elf(&d))
        {
            return Ok(bb);
        }
    }
    let dir = apt::cache_dir().join("busybox").join(arch);
    let find = || ["usr/bin/busybox", "bin/busybox"].iter().map(|p| dir.join(p)).find(|p| p.is_file());
    if let Some(bb) = find() {
        return Ok(bb);
    }
    let deb = apt::fetch_from("busybox-static", arch, "sid")?;
    apt::extract(&deb, &dir)?;
    find().ok_or_else(|| format!("busybox-static for {arch} has no busybox binary"))
}

/// An ELF without a PT_INTERP program header.
fn is_static_elf(d: &[u8]) -> bool {
    if d.len() < 64 || &d[..4] != b"\x7fELF" || d[4] != 2 {
        return false;
    }
    let phoff = u64::from_le_bytes(d[0x20..0x28].try_into().unwrap_or([0; 8])) as usize;
    let phentsize = usize::from(u16::from_le_bytes([d[0x36], d[0x37]]));
    let phnum = usize::from(u16::from_le_bytes([d[0x38], d[0x39]]));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        d.get(o..o + 4).is_some_and(|t| u32::from_le_bytes(t.try_into().unwrap_or([0; 4])) != 3)
    })
}

/// Single-quotes a word for the shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `/init` script for `spec`, loading `modules` (guest paths, in order).
pub fn init_script(spec: &GuestSpec, modules: &[String]) -> String {
    let mut s = String::from(
        "#!/bin/sh\n\
         # scxray lab guest init (generated by cargo xtask lab)\n\
         export PATH=/bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev 2>/dev/null\n\
         mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null\n",
    );
    for m in modules {
        s.push_str(&format!("insmod {m} || echo 'SCXRAY-WARN insmod {m} failed'\n"));
    }
    s.push_str("echo SCXRAY-BOOTED\n");
    if !spec.sub_schedulers.is_empty() {
        s.push_str(&sub_cgroups_script(&spec.sub_schedulers));
    }
    let w = &spec.workload;
    s.push_str(&format!(
        "i=0\nwhile [ $i -lt {} ]; do\n  ( while :; do :; done ) &\n  i=$((i+1))\ndone\n",
        w.spinners
    ));
    s.push_str(&format!("i=0\nwhile [ $i -lt {} ]; do\n  sleep 1000000 &\n  i=$((i+1))\ndone\n", w.sleepers));
    if let Some(sch) = &spec.scheduler {
        let args: Vec<String> = sch.args.iter().map(|a| shell_quote(a)).collect();
        s.push_str(&format!(
            "echo SCXRAY-SCHED-START\n\
             /bin/scheduler {args} >/scheduler.log 2>&1 &\n\
             sp=$!\n\
             n=0\n\
             st=\n\
             while [ $n -lt {timeout} ]; do\n  \
               [ -r /sys/kernel/sched_ext/state ] && read -r st < /sys/kernel/sched_ext/state\n  \
               [ \"$st\" = enabled ] && break\n  \
               {exited}\n  \
               sleep {poll}\n  \
               n=$((n+1))\n\
             done\n\
             if [ \"$st\" = enabled ]; then\n  \
               echo \"SCXRAY-SCHED-ENABLED after $n s\"\n  \
               sleep {settle}\n\
             {subs}\
             else\n  \
               echo \"SCXRAY-SCHED-FAILED state=$st\"\n  \
               cat /scheduler.log\n\
             fi\n",
            args = args.join(" "),
            timeout = if spec.quick_truth { sch.enable_timeout_secs * 5 } else { sch.enable_timeout_secs },
            poll = if spec.quick_truth { "0.2" } else { "1" },
            settle = if spec.quick_truth { 0 } else { sch.settle_secs },
            subs = sub_start_script(&spec.sub_schedulers, sch),
            exited = exited_check("sp", "SCXRAY-SCHED-EXITED"),
        ));
    }
    // From here on: builtins only.
    if spec.quick_truth {
        s.push_str("QUICK=1\n");
    }
    s.push_str(
        "echo SCXRAY-TRUTH-BEGIN\n\
         read -r rel < /proc/sys/kernel/osrelease\n\
         echo \"release $rel\"\n\
         st=absent\n\
         [ -r /sys/kernel/sched_ext/state ] && read -r st < /sys/kernel/sched_ext/state\n\
         echo \"state $st\"\n\
         ops=none\n\
         [ -r /sys/kernel/sched_ext/root/ops ] && read -r ops < /sys/kernel/sched_ext/root/ops\n\
         echo \"ops $ops\"\n\
         scx_sched_truth() {\n  \
           local d=$1 l=$2 o=? id=- p=/ c\n  \
           [ -r $d/ops ] && read -r o < $d/ops\n  \
           if [ $l -gt 0 ]; then id=${d##*/sub-}; eval \"p=\\${cgpath_$id:-?}\"; fi\n  \
           echo \"sched $l $id $o ${d#/sys/kernel/sched_ext/} $p\"\n  \
           for c in $d/sub/sub-*; do [ -d $c ] && scx_sched_truth $c $((l+1)); done\n\
         }\n\
         [ -d /sys/kernel/sched_ext/root ] && scx_sched_truth /sys/kernel/sched_ext/root 0\n\
         for g in $SUBCG; do\n  \
           ps=\n  \
           while read -r q; do ps=\"$ps $q\"; done < /sys/fs/cgroup/$g/cgroup.procs\n  \
           echo \"cgroup_tasks /$g$ps\"\n\
         done\n\
         read -r online < /sys/devices/system/cpu/online\n\
         echo \"cpus_online $online\"\n\
         n=0\n\
         for c in /sys/devices/system/cpu/cpu[0-9]*; do n=$((n+1)); done\n\
         echo \"nr_cpus $n\"\n\
         read -r cl < /proc/cmdline\n\
         echo \"cmdline $cl\"\n\
         [ -n \"$QUICK\" ] || for d in /proc/[0-9]*/task/[0-9]*; do\n  \
           t=${d##*/}\n  \
           g=${d#/proc/}\n  \
           g=${g%%/*}\n  \
           c=\n  \
           read -r c 2>/dev/null < $d/comm || continue\n  \
           l=\n  \
           read -r l 2>/dev/null < $d/stat\n  \
           set -- ${l##*) }\n  \
           echo \"task $t $g ${1:-?} ${37:--1} $c\"\n\
         done\n\
         echo SCXRAY-TRUTH-END\n\
         echo SCXRAY-READY\n\
         wait\n\
         while :; do sleep 3600; done\n",
    );
    s
}

/// The cgroup setup for `subs` (before the workload): cgroup2 on `/sys/fs/cgroup`, the `cpu`
/// controller for the root's children, each cgroup with its spinners and sleepers (each moves
/// itself in by writing 0 to `cgroup.procs` before it starts), `SUBCG` (the cgroups, for the
/// truth) and `cgpath_<inode>=/<cgroup>` (cgroup id to path: a cgroup2 directory's inode
/// number is its cgroup id).
fn sub_cgroups_script(subs: &[SubScheduler]) -> String {
    let mut s = String::from(
        "mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo 'SCXRAY-WARN mount cgroup2 failed'\n\
         echo +cpu > /sys/fs/cgroup/cgroup.subtree_control || echo 'SCXRAY-WARN no cpu controller'\n",
    );
    let names: Vec<&str> = subs.iter().map(|x| x.cgroup.trim_matches('/')).collect();
    s.push_str(&format!("SUBCG={}\n", shell_quote(&names.join(" "))));
    for (sub, g) in subs.iter().zip(&names) {
        let dir = shell_quote(&format!("/sys/fs/cgroup/{g}"));
        let w = &sub.workload;
        s.push_str(&format!(
            "mkdir -p {dir} || echo 'SCXRAY-WARN mkdir {g} failed'\n\
             i=$(stat -c %i {dir})\n\
             eval \"cgpath_$i=/{g}\"\n\
             i=0\n\
             while [ $i -lt {spin} ]; do\n  \
               ( echo 0 > {dir}/cgroup.procs; while :; do :; done ) &\n  \
               i=$((i+1))\n\
             done\n\
             i=0\n\
             while [ $i -lt {sleep} ]; do\n  \
               ( echo 0 > {dir}/cgroup.procs; exec sleep 1000000 ) &\n  \
               i=$((i+1))\n\
             done\n",
            spin = w.spinners,
            sleep = w.sleepers,
        ));
    }
    s
}

/// Ends an enable wait (a shell loop counting `$n`) when the scheduler process `$<pid_var>` is
/// gone or a zombie, saying `<what> after N s`: a scheduler that fails to load exits at once,
/// and the guest should not wait out the whole timeout. `/proc/PID/stat`'s third field is the
/// state; the scheduler's comm has no spaces.
fn exited_check(pid_var: &str, what: &str) -> String {
    format!(
        "pst=gone; [ -r /proc/${pid_var}/stat ] && read -r _ _ pst _ < /proc/${pid_var}/stat; \
         case $pst in Z|X|gone) echo \"{what} after $n s\"; break;; esac"
    )
}

/// Starts each of `subs` once the parent `sch` is enabled and waits until it has attached:
/// its sysfs directory `.../sub/sub-<cgroup id>` exists and the kernel has logged one more
/// `BPF sub-scheduler "..." enabled`. Prints `SCXRAY-SUB-ATTACHED <cgroup> at <sysfs dir> after
/// N s` (then settles) or `SCXRAY-SUB-FAILED <cgroup>` with the scheduler's output.
fn sub_start_script(subs: &[SubScheduler], sch: &Scheduler) -> String {
    let mut s = String::new();
    for (k, sub) in subs.iter().enumerate() {
        let g = sub.cgroup.trim_matches('/');
        let dir = format!("/sys/fs/cgroup/{g}");
        let mut args = vec![shell_quote("-c"), shell_quote(&dir)];
        args.extend(sub.args.iter().map(|a| shell_quote(a)));
        let log = format!("/scheduler-sub{}.log", k + 1);
        s.push_str(&format!(
            "  cgid=$(stat -c %i {qdir})\n  \
               echo \"SCXRAY-SUB-START {g} cgroup id $cgid\"\n  \
               /bin/scheduler {args} >{log} 2>&1 &\n  \
               ssp=$!\n  \
               n=0\n  \
               ok=\n  \
               while [ $n -lt {timeout} ]; do\n    \
                 for f in /sys/kernel/sched_ext/root/sub/sub-$cgid /sys/kernel/sched_ext/root/sub/*/sub/sub-$cgid \
                          /sys/kernel/sched_ext/root/sub/*/sub/*/sub/sub-$cgid; do [ -d $f ] && ok=$f; done\n    \
                 if [ -n \"$ok\" ] && [ $(dmesg | grep -c 'BPF sub-scheduler .* enabled') -ge {nth} ]; then break; fi\n    \
                 ok=\n    \
                 {exited}\n    \
                 sleep 1\n    \
                 n=$((n+1))\n  \
               done\n  \
               if [ -n \"$ok\" ]; then\n    \
                 echo \"SCXRAY-SUB-ATTACHED {g} at ${{ok#/sys/kernel/sched_ext/}} after $n s\"\n    \
                 sleep {settle}\n  \
               else\n    \
                 echo 'SCXRAY-SUB-FAILED {g}'\n    \
                 cat {log}\n  \
               fi\n",
            qdir = shell_quote(&dir),
            exited = exited_check("ssp", &format!("SCXRAY-SUB-EXITED {g}")),
            args = args.join(" "),
            timeout = sch.enable_timeout_secs,
            nth = k + 1,
            settle = sch.settle_secs,
        ));
    }
    if !subs.is_empty() {
        s.push_str("  dmesg | grep sched_ext\n");
    }
    s
}

/// A newc ("070701") cpio archive writer.
#[derive(Debug, Default)]
pub struct Cpio {
    buf: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn header(&mut self, name: &str, mode: u32, size: usize, rdev: (u32, u32)) {
        self.ino += 1;
        let name = name.trim_start_matches('/');
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0, // mtime: reproducible archives
            u32::try_from(size).unwrap_or(u32::MAX),
            0,
            0, // dev major/minor
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).unwrap_or(0),
            0, // check
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    /// A directory (parents must be added first).
    pub fn dir(&mut self, name: &str) {
        self.header(name, 0o040755, 0, (0, 0));
    }

    /// A regular file with permission bits `perm`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.header(name, 0o100000 | (perm & 0o7777), data.len(), (0, 0));
        self.buf.extend_from_slice(data);
        self.pad();
    }

    /// A symbolic link `name` -> `target`.
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.header(name, 0o120777, target.len(), (0, 0));
        self.buf.extend_from_slice(target.as_bytes());
        self.pad();
    }

    /// A character device node.
    pub fn chardev(&mut self, name: &str, major: u32, minor: u32) {
        self.header(name, 0o020600, 0, (major, minor));
    }

    /// Ends the archive and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.header("TRAILER!!!", 0, 0, (0, 0));
        while !self.buf.len().is_multiple_of(512) {
            self.buf.push(0);
        }
        self.buf
    }
}

/// Builds the initramfs for `kernel` and `spec` at `out` (uncompressed newc cpio) and returns
/// the `/init` script it contains.
pub fn build(kernel: &Kernel, spec: &GuestSpec, out: &Path) -> Result<String, String> {
    let busybox = busybox_for(kernel.spec.arch)?;
    let read = |p: &Path| fs::read(p).map_err(|e| format!("read {}: {e}", p.display()));
    let mut c = Cpio::default();
    let mut dirs: Vec<String> = ["bin", "dev", "proc", "sys", "tmp", "boot", "lib", "lib/modules"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
    for d in &dirs {
        c.dir(d);
    }
    c.chardev("dev/console", 5, 1);
    c.chardev("dev/null", 1, 3);
    c.file("bin/busybox", 0o755, &read(&busybox)?);
    for a in APPLETS {
        c.symlink(&format!("bin/{a}"), "busybox");
    }
    let mut modules = Vec::new();
    for m in &kernel.modules {
        let name = m.file_name().and_then(|n| n.to_str()).unwrap_or("m.ko");
        c.file(&format!("lib/modules/{name}"), 0o644, &read(m)?);
        modules.push(format!("/lib/modules/{name}"));
    }
    if let Some(cfg) = &kernel.config {
        c.file(&format!("boot/config-{}", kernel.release), 0o644, &read(cfg)?);
    }
    if let Some(s) = &spec.scheduler {
        c.file("bin/scheduler", 0o755, &read(&s.binary)?);
        for (host, guest) in &s.extra_files {
            let guest = guest.trim_start_matches('/');
            // Parent directories first.
            let mut parent = String::new();
            for part in guest.split('/').collect::<Vec<_>>().split_last().map_or(&[][..], |(_, p)| p) {
                parent = if parent.is_empty() { (*part).to_owned() } else { format!("{parent}/{part}") };
                if !dirs.contains(&parent) {
                    c.dir(&parent);
                    dirs.push(parent.clone());
                }
            }
            c.file(guest, 0o755, &read(host)?);
        }
    }
    let script = init_script(spec, &modules);
    c.file("init", 0o755, script.as_bytes());
    if let Some(d) = out.parent() {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    fs::write(out, c.finish()).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_layout() {
        let mut c = Cpio::default();
        c.dir("bin");
        c.file("init", 0o755, b"#!/bin/sh\n");
        let a = c.finish();
        assert_eq!(&a[..6], b"070701");
        assert_eq!(a.len() % 512, 0);
        // Second header starts 4-aligned right after "bin\0" padded.
        let first = (110 + 4usize).next_multiple_of(4); // header + "bin\0", padded
        assert_eq!(&a[first..first + 6], b"070701");
        assert!(a.windows(10).any(|w| w == b"TRAILER!!!"));
    }

    #[test]
    fn sub_scheduler_script() {
        let spec = GuestSpec {
            scheduler: Some(Scheduler::new("scx_qmap".into())),
            sub_schedulers: vec![SubScheduler::new("scxsub1")],
            ..GuestSpec::default()
        };
        let s = init_script(&spec, &[]);
        if let Ok(p) = std::env::var("SCXRAY_DUMP_INIT") {
            let _ = fs::write(p, &s);
        }
        let at = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("no `{needle}` in:\n{s}"));
        // cgroup and its tasks before the parent, the sub after the parent is enabled, the
        // scheduler listing in the truth block.
        assert!(at("mount -t cgroup2") < at("/bin/scheduler  >"));
        // The enable wait watches the scheduler's process (lab boot with a bad option: the
        // guest gave up after 2 s instead of 240).
        assert!(
            at("sp=$!") < at("SCXRAY-SCHED-EXITED") && at("SCXRAY-SCHED-EXITED") < at("SCXRAY-SCHED-ENABLED")
        );
        assert!(at("( echo 0 > '/sys/fs/cgroup/scxsub1'/cgroup.procs; while") < at("/bin/scheduler  >"));
        assert!(at("SCXRAY-SCHED-ENABLED") < at("/bin/scheduler '-c' '/sys/fs/cgroup/scxsub1'"));
        assert!(at("SCXRAY-SUB-ATTACHED scxsub1") < at("SCXRAY-TRUTH-BEGIN"));
        assert!(
            at("ssp=$!") < at("SCXRAY-SUB-EXITED scxsub1")
                && at("SCXRAY-SUB-EXITED") < at("SCXRAY-SUB-ATTACHED")
        );
        assert!(at("SCXRAY-TRUTH-BEGIN") < at("scx_sched_truth /sys/kernel/sched_ext/root 0"));
        // Without sub-schedulers: no cgroup2 mount, no sub start.
        let plain = init_script(&GuestSpec { sub_schedulers: vec![], ..spec }, &[]);
        assert!(!plain.contains("cgroup2") && !plain.contains("SCXRAY-SUB-START"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
