//! What every command that reads a guest takes: the memory and the kernel files, and the
//! output format.

use clap::{Args, ValueEnum};
use scxray::source::qemu::layout::RamSpec;
use scxray::source::{AttachSpec, Memory};
use scxray::target::Preset;
use scxray::{Error, Inputs, Target};
use scxray_core::{Cap, Limits};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct KernelArgs {
    /// The guest memory: an ELF core (QEMU dump-guest-memory, kdump vmcore), a
    /// kdump-compressed core (makedumpfile, QEMU kdump-*), or a raw RAM image. Without it (and
    /// without --qemu, --qmp, --ram), the running host itself: /proc/kcore,
    /// /sys/kernel/btf/vmlinux and /proc/kallsyms (needs root).
    memory: Option<PathBuf>,
    /// A running QEMU (KVM or TCG, started normally): its guest RAM is read through
    /// /proc/PID/mem while the guest runs, which needs ptrace rights over the process (its uid,
    /// or CAP_SYS_PTRACE). Alone, the layout comes from the process: one RAM block (x86 up to
    /// 2.75 GiB, arm64 virt), checked against the guest kernel; with --qmp, from QEMU.
    #[arg(long, value_name = "PID", conflicts_with = "memory")]
    qemu: Option<u32>,
    /// The running QEMU's QMP socket (-qmp unix:SOCKET,server=on,wait=off): QEMU names every
    /// RAM range (any size, NUMA nodes, memory devices), each checked against QEMU's own reads.
    /// The QEMU process is the socket's owner (or --qemu). The socket is released after
    /// attaching.
    #[arg(long, value_name = "SOCKET", conflicts_with = "memory")]
    qmp: Option<PathBuf>,
    /// A guest RAM range of any VMM's process, given by hand (repeat for each range): SIZE bytes
    /// from guest-physical GPA are at host virtual address HVA in process PID. Numbers are
    /// decimal or 0x-hex, sizes may end in K, M, G, T. Checked against the guest kernel when
    /// its VMCOREINFO is in memory. Example: --ram 0:2G@4242:0x7f3a00000000 --ram
    /// 0x100000000:2G@4242:0x7f3a80000000
    #[arg(long, value_name = "GPA:SIZE@PID:HVA", conflicts_with_all = ["memory", "qemu", "qmp"])]
    ram: Vec<RamSpec>,
    #[command(flatten)]
    files: KernelFiles,
}

impl KernelArgs {
    /// The QMP socket given, if any.
    pub fn qmp_socket(&self) -> Option<&Path> {
        self.qmp.as_deref()
    }

    /// What is read, in a few words (`guest.core`, `qemu pid 4242`).
    pub fn source_name(&self) -> String {
        match (&self.memory, self.qemu, &self.qmp) {
            (Some(m), ..) => m.display().to_string(),
            (None, Some(pid), _) => format!("qemu pid {pid}"),
            (None, None, Some(q)) => format!("qemu at {}", q.display()),
            (None, None, None) if !self.ram.is_empty() => "guest RAM given by --ram".to_owned(),
            (None, None, None) => "this host".to_owned(),
        }
    }

    /// Configures the dump named here, the running guest it attaches to, or the running host
    /// when there is neither.
    pub fn configure(&self) -> Result<Target, Error> {
        let spec = AttachSpec { pid: self.qemu, qmp: self.qmp.clone(), ram: self.ram.clone() };
        let no_file = self.files.inputs(Path::new(""));
        match &self.memory {
            Some(m) => Target::configure(&self.files.inputs(m)),
            None if !spec.is_empty() => {
                Target::configure_with(Memory::attach(&spec)?, &no_file, Preset::default())
            }
            None => scxray::target::live::configure(&no_file),
        }
    }
}

/// The walk caps (`dump`, `diff`): each fixed by its flag, else sized from the kernel's own
/// counts.
#[derive(Args, Debug, Clone)]
pub struct CapArgs {
    /// Nodes walked on one list (scx_tasks, a DSQ, a runnable_list) before it is reported
    /// truncated. Default: each list's own kernel count (nr_threads, the DSQ's nr,
    /// nr_running) with a margin, at least 4096 and at most 4210688 (no kernel has more).
    #[arg(long, value_name = "N")]
    max_list_nodes: Option<u32>,
    /// User DSQs walked in the dsq_hash rhashtable in all. Default: the table's nelems with
    /// a margin, at least 8192 and at most 1048576.
    #[arg(long, value_name = "N")]
    max_rht_nodes: Option<u32>,
    /// rhashtable buckets enumerated. Default: the table's size, at most 2097152.
    #[arg(long, value_name = "N")]
    max_buckets: Option<u32>,
    /// Nodes walked on one rhashtable bucket chain.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_BUCKET_CHAIN)]
    max_chain: u32,
    /// Sub-schedulers walked below the root (7.2+), in all.
    #[arg(long, value_name = "N", default_value_t = scxray_core::MAX_SUB_SCHEDS)]
    max_sub_scheds: u32,
}

impl CapArgs {
    /// The caps these flags set.
    pub fn limits(&self) -> Limits {
        let sized = Limits::DEFAULT;
        Limits {
            list_nodes: self.max_list_nodes.map_or(sized.list_nodes, Cap::Fixed),
            rht_nodes: self.max_rht_nodes.map_or(sized.rht_nodes, Cap::Fixed),
            rht_buckets: self.max_buckets.map_or(sized.rht_buckets, Cap::Fixed),
            bucket_chain: self.max_chain,
            sub_scheds: self.max_sub_scheds,
        }
    }
}

/// Kernel files that override what scxray finds in the dump itself.
#[derive(Args, Debug, Clone)]
pub struct KernelFiles {
    /// The guest kernel's vmlinux ELF: symbols, .BTF and release (e.g. Debian's
    /// linux-image-*-dbg). Any vmlinux of the same build works, KASLR or not.
    #[arg(long, value_name = "FILE")]
    vmlinux: Option<PathBuf>,
    /// Raw BTF of the guest kernel (a copy of its /sys/kernel/btf/vmlinux), overriding the
    /// vmlinux's .BTF section.
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
    /// The guest kernel's System.map (symbols), when there is no vmlinux with symbols.
    #[arg(long, value_name = "FILE")]
    system_map: Option<PathBuf>,
    /// Physical address of a raw image's first byte.
    #[arg(long, value_name = "ADDR", default_value = "0", value_parser = parse_u64)]
    raw_base: u64,
}

impl KernelFiles {
    /// These files with `memory`.
    pub fn inputs(&self, memory: &Path) -> Inputs {
        Inputs {
            memory: memory.to_owned(),
            vmlinux: self.vmlinux.clone(),
            btf: self.btf.clone(),
            system_map: self.system_map.clone(),
            raw_base: self.raw_base,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// A report laid out like the kernel's scx_dump_state, plus every DSQ.
    Text,
    /// The full report as JSON (schema scxray.dump/2).
    Json,
}

/// A number, decimal or hex with `0x`.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s}: {e}"))
}

/// Writes standard output through `write`, buffered. A reader that closed the pipe early
/// (`scxray dump | head`) has what it wanted: not an error.
pub fn write_stdout(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> std::io::Result<()>,
) -> Result<(), Error> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Internal(format!("writing standard output: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Prints `value` as pretty JSON on standard output, streamed (a big machine's report is tens
/// of MB: never held as one string).
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    use std::io::Write as _;
    write_stdout(|out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
        writeln!(out)
    })
}

/// Prints `text` on standard output.
pub fn print_text(text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    write_stdout(|out| out.write_all(text.as_bytes()))
}

/// Prints a report in `format`.
pub fn print_report(report: &scxray::Report, format: Format) -> Result<(), Error> {
    match format {
        Format::Json => print_json(report),
        Format::Text => print_text(&scxray::report::text::render(report)),
    }
}
