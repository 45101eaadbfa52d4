//! One guest booted and dumped: its initramfs built into the run directory, QEMU started, the
//! dump taken at `SCXRAY-READY`; `cargo xtask lab boot` does it from the command line and says
//! what the dump holds.

use crate::lab::host::dirs::scratch_dir;
use crate::lab::host::guest::{ExtraTruth, GuestFile, GuestSpec, Scheduler, SubScheduler};
use crate::lab::host::initramfs;
use crate::lab::host::libs::runtime_files;
use crate::lab::host::qemu::{self, BootOptions, BootResult};
use crate::lab::kernels::kernel::Kernel;
use crate::lab::kernels::prepare::prepare;
use crate::lab::kernels::production::PRODUCTION;
use crate::lab::kernels::program::Program;
use crate::lab::kernels::schedulers::EXAMPLES;
use crate::lab::kernels::spec::spec;
use std::path::PathBuf;
use std::time::Duration;

/// `cargo xtask lab boot ...` (see the lab's help).
pub fn cmd(args: &[String]) -> Result<(), String> {
    let mut kernel_name: Option<String> = None;
    let mut opts = BootOptions::default();
    let mut guest = GuestSpec::default();
    let mut name: Option<String> = None;
    let mut sched_path: Option<PathBuf> = None;
    let mut sched_args: Vec<String> = Vec::new();
    let (mut enable_timeout, mut settle, mut attached_output) = (None, None, None);
    let mut programs: Vec<PathBuf> = Vec::new();
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
            "--mem" => opts.mem_mib = num(it.next(), a)?,
            "--timeout" => opts.ready_timeout = Duration::from_secs(num(it.next(), a)?.into()),
            "--spinners" => guest.workload.spinners = num(it.next(), a)?,
            "--sleepers" => guest.workload.sleepers = num(it.next(), a)?,
            "--workload-after-enable" => guest.workload_after_enable = true,
            "--scheduler" => sched_path = it.next().map(PathBuf::from),
            "--scheduler-args" => {
                sched_args =
                    it.next().map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
            }
            "--enable-timeout" => enable_timeout = Some(num(it.next(), a)?),
            "--settle" => settle = Some(num(it.next(), a)?),
            "--attached-output" => {
                attached_output = Some(it.next().ok_or("--attached-output needs a text")?.clone())
            }
            "--extra-truth" => {
                let v = it.next().ok_or("--extra-truth needs NAME=COMMAND")?;
                let (name, command) = v.split_once('=').ok_or("--extra-truth needs NAME=COMMAND")?;
                guest.extra_truth.push(ExtraTruth { name: name.to_owned(), command: command.to_owned() });
            }
            "--program" => programs.push(PathBuf::from(it.next().ok_or("--program needs a path")?)),
            "--after-attach" => {
                guest.after_attach.push(it.next().ok_or("--after-attach needs a command")?.clone())
            }
            "--task-lister" => {
                guest.task_lister = Some(it.next().ok_or("--task-lister needs a command")?.clone())
            }
            "--sub" => guest.sub_schedulers.push(SubScheduler::new(
                it.next().ok_or("--sub needs a cgroup (relative to the cgroup2 root)")?,
            )),
            "--later-dump" => {
                opts.later_dump = Some(Duration::from_secs(num(it.next(), a)?.into()));
            }
            other => return Err(format!("lab boot: unknown argument `{other}`")),
        }
    }
    let kname = kernel_name.ok_or("lab boot: --kernel NAME is required (see `cargo xtask lab kernels`)")?;
    if !guest.sub_schedulers.is_empty() && sched_path.is_none() {
        return Err("lab boot: --sub needs --scheduler (the parent, run again with -c)".into());
    }
    let spec = spec(&kname)?;
    let kernel = prepare(spec)?;
    if spec.arch == "arm64" && !opts.la57 {
        return Err("--la57=off is an x86 option".into());
    }
    if let Some(p) = sched_path {
        // A name of the kernel's example schedulers: the scheduler builder's binary for this
        // kernel. Not built from here: two lab processes building at once collide.
        let name = p.to_string_lossy().into_owned();
        let p = match EXAMPLES.iter().chain(PRODUCTION).find(|e| e.name == name).filter(|_| !p.is_file()) {
            Some(e) => e.binary(&kernel).map_err(|err| {
                let build = if EXAMPLES.iter().any(|x| x.name == e.name) {
                    format!("schedulers --kernel {}", spec.name)
                } else {
                    "production".to_owned()
                };
                format!("{err}: run `cargo xtask lab {build}`")
            })?,
            None => p,
        };
        if !p.is_file() {
            return Err(format!("scheduler binary {} does not exist", p.display()));
        }
        // A dynamically linked one takes its loader and libraries along.
        let mut s = Scheduler { files: runtime_files(&p)?, ..Scheduler::new(p) };
        s.args = sched_args;
        s.attached_output = attached_output;
        if let Some(t) = enable_timeout {
            s.enable_timeout_secs = t;
        }
        if let Some(t) = settle {
            s.settle_secs = t;
        }
        guest.scheduler = Some(s);
    }
    for p in programs {
        let file_name = p.file_name().ok_or_else(|| format!("--program {}: no file name", p.display()))?;
        guest.files.extend(runtime_files(&p)?);
        guest
            .files
            .push(GuestFile { host: p.clone(), guest: format!("/bin/{}", file_name.to_string_lossy()) });
    }
    let name = name.unwrap_or_else(|| default_name(&kernel, &opts, &guest));
    let r = boot(&kernel, &guest, &opts, &name)?;
    print_boot_result(&kernel, &r);
    if let Some(why) = &r.unsettled {
        return Err(format!("the truth may not describe the dump: {why}"));
    }
    if guest.scheduler.is_some() && r.truth.state != "enabled" {
        return Err(format!(
            "the scheduler did not enable sched_ext (state {}); see {}",
            r.truth.state,
            r.serial_log.display()
        ));
    }
    if r.truth.attached == Some(false) {
        return Err(format!(
            "the scheduler never printed its attached output; see {}",
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

/// Builds the initramfs for `guest` ([`initramfs_path`]), boots `kernel` with it and dumps the
/// guest at `SCXRAY-READY` (see [`qemu::boot_and_dump`]).
pub fn boot(
    kernel: &Kernel,
    guest: &GuestSpec,
    opts: &BootOptions,
    name: &str,
) -> Result<BootResult, String> {
    let initrd = initramfs_path(name);
    initramfs::build(&kernel.boot_kernel(), guest, &initrd)?;
    qemu::boot_and_dump(&kernel.boot_kernel(), &initrd, opts, name)
}

/// A guest running the kernel's example scheduler `program` (`SCX_QMAP`, ...) with the default
/// workload, the scheduler built for `kernel` first (cached).
pub fn example_guest(kernel: &Kernel, program: &Program) -> Result<GuestSpec, String> {
    (program.build)(kernel)?;
    Ok(GuestSpec { scheduler: Some(Scheduler::new(program.binary(kernel)?)), ..GuestSpec::default() })
}

/// Where the run keeps the initramfs of the guest `name`: `<run directory>/initramfs/<name>.cpio`.
pub fn initramfs_path(name: &str) -> PathBuf {
    scratch_dir("initramfs").join(format!("{name}.cpio"))
}

/// `<kernel>-<kaslr|nokaslr>[-la57off][-<scheduler file name>][-sub<number of sub-schedulers>]`.
fn default_name(kernel: &Kernel, opts: &BootOptions, guest: &GuestSpec) -> String {
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

fn print_boot_result(kernel: &Kernel, r: &BootResult) {
    let t = &r.truth;
    println!("kernel      {} ({} {})", kernel.release, kernel.spec.arch, kernel.version);
    println!(
        "boot        {:.1} s to SCXRAY-READY ({:.1}x slower than a quiet host)",
        r.boot_secs,
        r.pace.factor()
    );
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
