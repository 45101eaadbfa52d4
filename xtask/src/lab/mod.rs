//! `cargo xtask lab ...`: the real-kernel lab. Boots Debian's kernels under QEMU, runs a
//! sched_ext scheduler in the guest and takes memory dumps that scxray is checked against.
//!
//! Everything downloaded or produced lives in the cache directory ([`apt::cache_dir`],
//! `$SCXRAY_CACHE` or `$HOME/.cache/scxray`), never in the repository.
//!
//! - `lab kernels [--dbg|--dbg-vmlinux] [name...]`: fetch and unpack the kernel matrix
//!   ([`kernels::MATRIX`]) into `<cache>/kernels/<release>/`, print a table.
//! - `lab boot --kernel NAME [--nokaslr] [--la57=off] [--scheduler PATH ...]`: build an
//!   initramfs, boot under QEMU, dump at `SCXRAY-READY`: `<cache>/dumps/<name>.core`,
//!   `<name>.truth.txt`, `<name>.serial.log`.
//! - `lab apt newest <glob> <arch> [suite]`: the newest matching package of the private apt.
//! - `lab apt fetch <name> <arch> [suite]`: download (cached, verified) and print the .deb path.
//! - `lab kernels 6.12sb-amd64`: build the lab's own Linux 6.12 with sched_ext ([`selfbuilt`];
//!   Debian's 6.12 has none); the matrix runs its case with `--with-612` or once it is built.
//!
//! From Rust: [`kernels::prepare`], [`initramfs::GuestSpec`], [`boot`].

// Parts of the apt API exist for the scheduler builder (schedulers.rs) and are unused here.
#[allow(dead_code)]
pub mod apt;
pub mod check;
pub mod initramfs;
pub mod kdump;
pub mod kernels;
pub mod matrix;
pub mod qemu;
pub mod schedulers;
pub mod selfbuilt;
pub mod soak;
pub mod wire;

/// Entry point of `cargo xtask lab <command> ...`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) if !c.starts_with("--") => (c.as_str(), r),
        _ => ("all", args),
    };
    match cmd {
        "apt" => apt_cmd(rest),
        "kernels" => kernels::cmd(rest),
        "boot" => boot_cmd(rest),
        "schedulers" => schedulers::cmd(rest),
        "check" => check_cmd(rest),
        "all" => matrix::run(rest),
        "soak" => soak::run(rest),
        "kdump" => kdump::run(rest),
        "wire" => wire::run(rest),
        "btf" => btf_check(),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown lab command `{other}`; run `cargo xtask lab help`")),
    }
}

fn print_help() {
    println!(
        "cargo xtask lab <command>\n\n\
         commands:\n  \
         (none) [--quick] [--only CASE...]  the whole matrix: fetch, build, boot, dump, check, table\n  \
         \x20   --with-612: also build the self-built 6.12 kernel (sched_ext on; long) and run its\n  \
         \x20   case lab-6.12sb-amd64-qmap, which otherwise runs only once that kernel is built\n  \
         kernels [--dbg] [name...]          fetch and unpack the kernel matrix, print a table\n  \
         \x20   6.12sb-amd64: build the lab's own 6.12 with sched_ext from Debian's linux-source-6.12\n  \
         \x20   --dbg: real System.map from the -dbg package; --dbg-vmlinux: also its vmlinux\n  \
         boot --kernel K [options]          boot K under QEMU, dump its memory at SCXRAY-READY\n  \
         \x20   --nokaslr  --la57=off  --name N  --timeout SECS  --spinners N  --sleepers N\n  \
         \x20   --scheduler PATH|scx_qmap|scx_simple|scx_central (built by `lab schedulers`)\n  \
         \x20   --scheduler-args 'ARGS'  --enable-timeout SECS  --settle SECS\n  \
         \x20   --later-dump SECS: run SECS more, then dump again to <name>.later.core\n  \
         \x20   --sub CGROUP: then the scheduler again with -c /sys/fs/cgroup/CGROUP (repeatable)\n  \
         schedulers [--kernel S] [--arch A]  build scx_qmap, scx_simple, scx_central (static)\n  \
         \x20   S: a series (7.3) or a kernel's name (6.12sb-amd64)\n  \
         btf                                resolve every matrix kernel's BTF, compare with the table\n  \
         soak [--seconds N]                 read a running guest's shared RAM file in a loop (default 60 s)\n  \
         kdump [--kernel K]                 QEMU's kdump-zlib/lzo/snappy dumps of one instant read like its ELF core\n  \
         check [name...]                    run scxray on cached dumps, check each against its guest's truth\n  \
         wire                               the matrix's dumps over the wire format: embedded walk == direct report\n  \
         apt newest <glob> <arch> [suite]   newest package of the private apt environment\n  \
         apt fetch <name> <arch> [suite]    download a .deb (cached, SHA256-checked), print its path\n"
    );
}

fn apt_cmd(args: &[String]) -> Result<(), String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["newest", pat, arch, rest @ ..] => {
            let suite = rest.first().copied();
            for p in apt::packages(pat, arch, suite)?.iter().take(20) {
                println!("{}\t{}\t{}\t{}\t{}", p.name, p.version, p.arch, p.suite, p.size);
            }
            Ok(())
        }
        ["fetch", name, arch] => {
            println!("{}", apt::fetch(name, arch)?.display());
            Ok(())
        }
        ["fetch", name, arch, suite] => {
            println!("{}", apt::fetch_from(name, arch, suite)?.display());
            Ok(())
        }
        _ => Err("usage: lab apt newest <glob> <arch> [suite] | lab apt fetch <name> <arch> [suite]".into()),
    }
}

/// `cargo xtask lab boot ...`.
fn boot_cmd(args: &[String]) -> Result<(), String> {
    let mut kernel_name: Option<String> = None;
    let mut opts = qemu::BootOptions::default();
    let mut guest = initramfs::GuestSpec::default();
    let mut name: Option<String> = None;
    let mut sched_path: Option<std::path::PathBuf> = None;
    let mut sched_args: Vec<String> = Vec::new();
    let (mut enable_timeout, mut settle) = (None, None);
    let mut it = args.iter();
    let num = |v: Option<&String>, flag: &str| -> Result<u32, String> {
        v.and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--kernel" => kernel_name = it.next().cloned(),
            "--nokaslr" => opts.kaslr = false,
            "--kaslr" => opts.kaslr = true,
            "--la57=off" => opts.la57 = false,
            "--la57=on" => opts.la57 = true,
            "--name" => name = it.next().cloned(),
            "--timeout" => opts.ready_timeout = std::time::Duration::from_secs(num(it.next(), a)?.into()),
            "--spinners" => guest.workload.spinners = num(it.next(), a)?,
            "--sleepers" => guest.workload.sleepers = num(it.next(), a)?,
            "--scheduler" => sched_path = it.next().map(std::path::PathBuf::from),
            "--scheduler-args" => {
                sched_args =
                    it.next().map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
            }
            "--enable-timeout" => enable_timeout = Some(num(it.next(), a)?),
            "--settle" => settle = Some(num(it.next(), a)?),
            "--sub" => guest.sub_schedulers.push(initramfs::SubScheduler::new(
                it.next().ok_or("--sub needs a cgroup (relative to the cgroup2 root)")?,
            )),
            "--later-dump" => {
                opts.later_dump = Some(std::time::Duration::from_secs(num(it.next(), a)?.into()));
            }
            other => return Err(format!("lab boot: unknown argument `{other}`")),
        }
    }
    let kname = kernel_name.ok_or("lab boot: --kernel NAME is required (see `cargo xtask lab kernels`)")?;
    if !guest.sub_schedulers.is_empty() && sched_path.is_none() {
        return Err("lab boot: --sub needs --scheduler (the parent, run again with -c)".into());
    }
    let spec = kernels::spec(&kname)?;
    let kernel = kernels::prepare(spec)?;
    if spec.arch == "arm64" && !opts.la57 {
        return Err("--la57=off is an x86 option".into());
    }
    if let Some(p) = sched_path {
        // A name of the kernel's example schedulers: the scheduler builder's binary for this
        // kernel. Not built from here: two lab processes building at once collide.
        let name = p.to_string_lossy().into_owned();
        let p = if !p.is_file() && schedulers::SCHEDULERS.contains(&name.as_str()) {
            let built = schedulers::schedulers_dir().join(&kernel.release).join(&name);
            if !built.is_file() {
                return Err(format!(
                    "{} is not built: run `cargo xtask lab schedulers --kernel {}`",
                    built.display(),
                    spec.name
                ));
            }
            built
        } else {
            p
        };
        if !p.is_file() {
            return Err(format!("scheduler binary {} does not exist", p.display()));
        }
        let mut s = initramfs::Scheduler::new(p);
        s.args = sched_args;
        if let Some(t) = enable_timeout {
            s.enable_timeout_secs = t;
        }
        if let Some(t) = settle {
            s.settle_secs = t;
        }
        guest.scheduler = Some(s);
    }
    let name = name.unwrap_or_else(|| default_name(&kernel, &opts, &guest));
    let r = boot(&kernel, &guest, &opts, &name)?;
    print_boot_result(&kernel, &r);
    if guest.scheduler.is_some() && r.truth.state != "enabled" {
        return Err(format!(
            "the scheduler did not enable sched_ext (state {}); see {}",
            r.truth.state,
            r.serial_log.display()
        ));
    }
    let attached = r.truth.scheds.iter().filter(|x| x.level > 0).count();
    if attached != guest.sub_schedulers.len() {
        return Err(format!(
            "{attached} of {} sub-schedulers attached; see {}",
            guest.sub_schedulers.len(),
            r.serial_log.display()
        ));
    }
    Ok(())
}

/// Builds the initramfs for `guest` (`<cache>/initramfs/<name>.cpio`), boots `kernel` with it
/// and dumps the guest at `SCXRAY-READY` (see [`qemu::boot_and_dump`]).
pub fn boot(
    kernel: &kernels::Kernel,
    guest: &initramfs::GuestSpec,
    opts: &qemu::BootOptions,
    name: &str,
) -> Result<qemu::BootResult, String> {
    let initrd = apt::cache_dir().join("initramfs").join(format!("{name}.cpio"));
    initramfs::build(kernel, guest, &initrd)?;
    qemu::boot_and_dump(kernel, &initrd, opts, name)
}

/// `<kernel>-<kaslr|nokaslr>[-la57off][-<scheduler file name>][-sub<number of sub-schedulers>]`.
pub fn default_name(
    kernel: &kernels::Kernel,
    opts: &qemu::BootOptions,
    guest: &initramfs::GuestSpec,
) -> String {
    let mut n = format!("{}-{}", kernel.spec.name, if opts.kaslr { "kaslr" } else { "nokaslr" });
    if !opts.la57 {
        n.push_str("-la57off");
    }
    if let Some(s) = &guest.scheduler {
        n.push('-');
        n.push_str(&s.binary.file_name().map_or("sched".into(), |f| f.to_string_lossy().into_owned()));
    }
    if !guest.sub_schedulers.is_empty() {
        n.push_str(&format!("-sub{}", guest.sub_schedulers.len()));
    }
    n
}

fn print_boot_result(kernel: &kernels::Kernel, r: &qemu::BootResult) {
    let t = &r.truth;
    println!("kernel      {} ({} {})", kernel.release, kernel.spec.arch, kernel.version);
    println!("boot        {:.1} s to SCXRAY-READY", r.boot_secs);
    println!(
        "dump        {:.1} s, {} ({:.1} MiB, {:.1} MiB on disk)",
        r.dump_secs,
        r.dump.display(),
        r.core.size as f64 / 1048576.0,
        r.core.disk_bytes as f64 / 1048576.0
    );
    println!(
        "core        {} PT_LOAD ({:.1} MiB of memory), notes: {}",
        r.core.pt_load,
        r.core.load_bytes as f64 / 1048576.0,
        r.core.notes.iter().map(|(n, c)| format!("{n} x{c}")).collect::<Vec<_>>().join(", ")
    );
    match &r.core.vmcoreinfo {
        Some(v) => {
            let pick: Vec<&str> = v
                .lines()
                .filter(|l| {
                    l.starts_with("OSRELEASE=")
                        || l.starts_with("KERNELOFFSET=")
                        || l.starts_with("NUMBER(VA_BITS)")
                })
                .collect();
            println!("vmcoreinfo  yes ({} lines): {}", v.lines().count(), pick.join(" "));
        }
        None => println!("vmcoreinfo  MISSING (qemu_fw_cfg not loaded?)"),
    }
    println!(
        "guest       release {}, sched_ext {}, ops {}, cpus {} ({}), {} tasks ({} running/runnable)",
        t.release,
        t.state,
        t.ops,
        t.nr_cpus,
        t.cpus_online,
        t.tasks.len(),
        t.tasks.iter().filter(|k| k.state == "R").count()
    );
    for x in &t.scheds {
        println!(
            "scheduler   level {} {} (sysfs {}, cgroup {} id {})",
            x.level, x.ops, x.sysfs, x.cgroup_path, x.cgroup_id
        );
    }
    println!("truth       {}", r.truth_file.display());
    println!("serial      {}", r.serial_log.display());
}

/// Builds the release `scxray` binary and returns its path.
pub fn build_scxray() -> Result<std::path::PathBuf, String> {
    crate::util::Step::new("build scxray (release)").run(crate::util::cargo(&[
        "build",
        "--quiet",
        "--release",
        "-p",
        "scxray",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::util::workspace_root().join("target"), std::path::PathBuf::from);
    Ok(target.join("release").join("scxray"))
}

/// One row of the lab's table.
pub struct Row {
    pub name: String,
    pub verdict: check::Verdict,
}

/// Prints the lab's table and fails when any check failed.
pub fn print_table(rows: &[Row]) -> Result<(), String> {
    println!("{:<34} {:>6} {:>5} {:>8} {:>9}", "dump", "tasks", "DSQs", "checks", "scxray");
    let mut failed = 0;
    for r in rows {
        let v = &r.verdict;
        let total = v.passed + v.failures.len();
        println!(
            "{:<34} {:>6} {:>5} {:>4}/{:<3} {:>7.0}ms",
            r.name,
            v.tasks,
            v.dsqs,
            v.passed,
            total,
            v.scxray_time.as_secs_f64() * 1000.0
        );
        for f in &v.failures {
            println!("    FAIL {f}");
        }
        failed += usize::from(!v.failures.is_empty());
    }
    if failed == 0 { Ok(()) } else { Err(format!("{failed} of {} dumps failed their checks", rows.len())) }
}

/// `cargo xtask lab check [name...]`: every cached dump with a truth file, or the named ones.
fn check_cmd(args: &[String]) -> Result<(), String> {
    let scxray = build_scxray()?;
    let dir = qemu::dumps_dir();
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
            let truth_path = dir.join(format!("{name}.truth.txt"));
            let truth = check::Truth::parse(&std::fs::read_to_string(&truth_path).unwrap_or_default());
            // A kernel without sched_ext has no /sys/kernel/sched_ext: the guest says `absent`.
            let expect = check::Expect { nodes: 2, sched_ext: truth.state != "absent" };
            let verdict = check::check(&scxray, &dir.join(format!("{name}.core")), &truth, expect);
            Row { name, verdict }
        })
        .collect();
    print_table(&rows)
}

/// `cargo xtask lab btf`: every kernel of the matrix (fetched and unpacked, cached), its BTF
/// resolved by scxray-btf and compared with `crates/scxray-btf/tests/data/optional-members.txt`
/// (and member by member with the kernel matrix's numbers where it has them).
pub fn btf_check() -> Result<(), String> {
    let dir = apt::cache_dir().join("btf-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The self-built kernels only when already built (building one is an opt-in lane).
    let built: Vec<kernels::Kernel> = kernels::SELF_BUILT.iter().filter_map(selfbuilt::cached).collect();
    let prepared = kernels::MATRIX.iter().map(kernels::prepare).chain(built.into_iter().map(Ok));
    for k in prepared {
        let k = k?;
        let btf = k.btf.as_ref().ok_or_else(|| format!("{}: no BTF was extracted", k.release))?;
        let link = dir.join(format!("{}.btf", k.release));
        std::os::unix::fs::symlink(btf, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    }
    let mut c = crate::util::cargo(&["test", "--quiet", "-p", "scxray-btf", "--test", "real_kernels"]);
    c.env("SCXRAY_KERNEL_BTF_DIR", &dir);
    crate::util::Step::new("real kernels' BTF against the expectations table").run(c)
}
