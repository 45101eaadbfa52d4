//! A running VMM process's guest RAM: `/proc/PID/mem` read with `pread` at the host virtual
//! addresses a table of guest-physical ranges names. Nothing is mapped or written; the guest
//! keeps running, so a read sees whatever the guest had at that instant (the walkers treat torn
//! values as the hostile input they are).
//!
//! `process_vm_readv` was measured against `pread` on `/proc/PID/mem` for the walk's access
//! pattern (the 1960 small reads of a `dump` of a running QEMU, replayed): the same cost within
//! noise, 3.50 against 3.47 ms, the system call and the walk of QEMU's page tables dominating
//! both. `pread` needs no extra crate and no `unsafe`; the page cache below cuts the replay to
//! 0.92 ms.
//!
//! Opening `/proc/PID/mem` needs ptrace rights over the process (`PTRACE_MODE_ATTACH`): the
//! same uid and a Yama `ptrace_scope` that allows it, or `CAP_SYS_PTRACE`. When they are
//! missing, [`open_mem`] says which and how to get them.

use crate::error::Error;
use scxray_core::{MemError, PhysAddr, PhysMem};
use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One guest-physical range of RAM and where the VMM process holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RamRange {
    /// First guest-physical address.
    pub gpa: u64,
    /// Bytes.
    pub len: u64,
    /// The host virtual address of `gpa`'s byte in the process.
    pub hva: u64,
    /// Where the range comes from (a QEMU RAM block's name, `--ram`, a mapping).
    pub name: String,
}

impl RamRange {
    /// One past the last guest-physical address.
    pub fn gpa_end(&self) -> u64 {
        self.gpa.saturating_add(self.len)
    }
}

/// The guest RAM of a process, read through `/proc/PID/mem`.
#[derive(Debug)]
pub struct ProcessMemory {
    pid: u32,
    path: PathBuf,
    file: File,
    /// Sorted by `gpa`, not overlapping.
    ranges: Vec<RamRange>,
    /// Pages already read, when caching (see [`ProcessMemory::cache_pages`]).
    cache: Mutex<PageCache>,
}

/// Host pages read once and kept: a walk's ~2000 small reads fall in ~170 pages (measured on
/// a 4-CPU 7.3 guest), and each read is a system call of 2-3 µs whatever its size.
#[derive(Debug, Default)]
struct PageCache {
    on: bool,
    pages: HashMap<u64, Box<[u8; PAGE]>>,
}

/// The host page size the cache works in.
const PAGE: usize = 4096;
/// Pages kept at most (64 MiB); past that the cache starts over.
const CACHE_PAGES: usize = 16384;

impl ProcessMemory {
    /// Opens `/proc/PID/mem` for reading guest RAM laid out as `ranges`.
    pub fn open(pid: u32, mut ranges: Vec<RamRange>) -> Result<Self, Error> {
        ranges.sort_by_key(|r| r.gpa);
        check_ranges(&ranges)?;
        let (path, file) = open_mem(pid)?;
        Ok(Self { pid, path, file, ranges, cache: Mutex::default() })
    }

    /// The same process's memory with another layout (a candidate being tried).
    pub fn with_ranges(&self, mut ranges: Vec<RamRange>) -> Result<Self, Error> {
        ranges.sort_by_key(|r| r.gpa);
        check_ranges(&ranges)?;
        let file = self.file.try_clone().map_err(|e| Error::io(&self.path, e))?;
        Ok(Self { pid: self.pid, path: self.path.clone(), file, ranges, cache: Mutex::default() })
    }

    /// The process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The guest-physical ranges, sorted.
    pub fn ranges(&self) -> &[RamRange] {
        &self.ranges
    }

    /// The end of the highest range.
    pub fn phys_end(&self) -> u64 {
        self.ranges.iter().map(RamRange::gpa_end).max().unwrap_or(0)
    }

    /// Reads the process's memory at host virtual address `hva` (never from the cache).
    pub fn read_hva(&self, hva: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.read_exact_at(buf, hva)
    }

    /// Turns the page cache on or off (off: every read is a `pread`; it starts off). With it
    /// on, the first read in a host page reads the whole page and later reads in it are served
    /// from that copy until [`ProcessMemory::forget`]: one walk sees each page as it was at one
    /// instant, and costs a system call per page rather than per field. A reader that walks a
    /// running guest again and again (a monitor) forgets before each walk.
    pub fn cache_pages(&self, on: bool) {
        if let Ok(mut c) = self.cache.lock() {
            c.on = on;
            c.pages.clear();
        }
    }

    /// Drops every cached page: the next reads see the guest as it is now.
    pub fn forget(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.pages.clear();
        }
    }

    /// Reads at `hva`, through the cache when it is on and the read stays in one page.
    fn read_at(&self, hva: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let page = hva & !(PAGE as u64 - 1);
        let within = (hva - page) as usize;
        let Ok(mut c) = self.cache.lock() else { return self.read_hva(hva, buf) };
        if !c.on || within + buf.len() > PAGE {
            drop(c);
            return self.read_hva(hva, buf);
        }
        if !c.pages.contains_key(&page) {
            let mut p = Box::new([0u8; PAGE]);
            self.read_hva(page, &mut p[..])?;
            if c.pages.len() >= CACHE_PAGES {
                c.pages.clear();
            }
            c.pages.insert(page, p);
        }
        let p = c.pages.get(&page).ok_or_else(|| std::io::Error::other("page cache"))?;
        buf.copy_from_slice(&p[within..within + buf.len()]);
        Ok(())
    }

    fn range(&self, pa: u64) -> Option<&RamRange> {
        let i = self.ranges.partition_point(|r| r.gpa <= pa).checked_sub(1)?;
        self.ranges.get(i).filter(|r| pa - r.gpa < r.len)
    }

    /// Every hit of `needle` in guest RAM (at most `max`), read 1 MiB at a time.
    pub(crate) fn scan(&self, needle: &[u8], max: usize) -> Vec<u64> {
        let mut hits = Vec::new();
        self.scan_until(needle, max, &mut |pa| {
            hits.push(pa);
            false
        });
        hits
    }

    /// Reads guest RAM 1 MiB at a time from the lowest address, handing each hit of `needle`
    /// to `accept` until it returns `true` (that hit is returned) or `max` hits went by. A
    /// guest of many GiB is read only as far as the hit wanted.
    pub(crate) fn scan_until(
        &self,
        needle: &[u8],
        max: usize,
        accept: &mut dyn FnMut(u64) -> bool,
    ) -> Option<u64> {
        let mut scan = super::super::scan::ChunkScan::new(needle, max);
        let mut buf = vec![0u8; 1 << 20];
        let mut seen = 0;
        for r in &self.ranges {
            let mut at = 0u64;
            while at < r.len {
                let n = (r.len - at).min(buf.len() as u64) as usize;
                let more = if self.read_hva(r.hva + at, &mut buf[..n]).is_err() {
                    scan.gap();
                    true
                } else {
                    scan.feed(r.gpa + at, &buf[..n])
                };
                for hit in scan.take_hits() {
                    seen += 1;
                    if accept(hit) {
                        return Some(hit);
                    }
                }
                if !more || seen >= max {
                    return None;
                }
                at += n as u64;
            }
        }
        None
    }
}

/// Ranges must be non-empty, sorted, not overlapping, and not wrap.
fn check_ranges(ranges: &[RamRange]) -> Result<(), Error> {
    if ranges.is_empty() {
        return Err(Error::BadInput("no guest RAM ranges".into()));
    }
    for r in ranges {
        if r.len == 0 || r.gpa.checked_add(r.len).is_none() || r.hva.checked_add(r.len).is_none() {
            return Err(Error::BadInput(format!(
                "guest RAM range {} ({:#x} bytes at guest-physical {:#x}, host {:#x}): empty or past the end of \
                 the address space",
                r.name, r.len, r.gpa, r.hva
            )));
        }
    }
    for w in ranges.windows(2) {
        if let [a, b] = w
            && a.gpa_end() > b.gpa
        {
            return Err(Error::BadInput(format!(
                "guest RAM ranges {} ({:#x}-{:#x}) and {} ({:#x}-{:#x}) overlap",
                a.name,
                a.gpa,
                a.gpa_end(),
                b.name,
                b.gpa,
                b.gpa_end()
            )));
        }
    }
    Ok(())
}

impl PhysMem for ProcessMemory {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        let not_backed = MemError::NotBacked { pa, len: buf.len() as u64 };
        let mut done = 0usize;
        while done < buf.len() {
            let at = pa.0.checked_add(done as u64).ok_or(not_backed)?;
            let r = self.range(at).ok_or(not_backed)?;
            let n = (buf.len() - done).min(usize::try_from(r.gpa_end() - at).unwrap_or(usize::MAX));
            self.read_at(r.hva + (at - r.gpa), &mut buf[done..done + n])
                .map_err(|_| MemError::Unavailable { pa: PhysAddr(at) })?;
            done += n;
        }
        Ok(())
    }
}

/// Opens `/proc/PID/mem`; a refusal says what is missing and how to get it.
pub fn open_mem(pid: u32) -> Result<(PathBuf, File), Error> {
    let path = PathBuf::from(format!("/proc/{pid}/mem"));
    match File::open(&path) {
        Ok(f) => Ok((path, f)),
        Err(e) => Err(proc_error(pid, &path, &e)),
    }
}

/// Reads a `/proc/PID/...` file; a refusal says what is missing and how to get it.
pub fn read_proc(pid: u32, file: &str) -> Result<String, Error> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::read(&path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| proc_error(pid, &path, &e))
}

/// The error for a failed access to `/proc/PID/...`.
fn proc_error(pid: u32, path: &Path, e: &std::io::Error) -> Error {
    let errno = e.raw_os_error().map_or_else(String::new, |n| format!(", {}", errno_name(n)));
    match e.kind() {
        ErrorKind::NotFound => Error::BadInput(format!("{}: no process {pid} ({e}{errno})", path.display())),
        ErrorKind::PermissionDenied => {
            let why = ptrace_denial(pid, &Rights::current(), &Rights::of(pid));
            Error::BadInput(format!(
                "{}: {e}{errno}: reading process {pid}'s memory needs ptrace rights over it (PTRACE_MODE_ATTACH). {why}",
                path.display()
            ))
        }
        _ => Error::io(path, std::io::Error::new(e.kind(), format!("{e}{errno}"))),
    }
}

fn errno_name(n: i32) -> &'static str {
    match n {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        5 => "EIO",
        13 => "EACCES",
        _ => "errno",
    }
}

/// What decides whether a process may attach to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rights {
    /// Real uid (of the process whose rights these are).
    pub uid: Option<u32>,
    /// `CAP_SYS_PTRACE` in the effective set.
    pub cap_sys_ptrace: bool,
    /// `kernel.yama.ptrace_scope` (`None`: no Yama).
    pub yama_scope: Option<u32>,
}

/// `CAP_SYS_PTRACE`'s bit in `CapEff`.
const CAP_SYS_PTRACE: u32 = 19;

impl Rights {
    /// This process's rights.
    fn current() -> Self {
        Self::from_status(&std::fs::read_to_string("/proc/self/status").unwrap_or_default(), yama_scope())
    }

    /// Another process's uid (its status file is readable by anyone).
    fn of(pid: u32) -> Self {
        Self::from_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default(), None)
    }

    /// From a `/proc/PID/status` text.
    pub(crate) fn from_status(status: &str, yama_scope: Option<u32>) -> Self {
        let field = |k: &str| {
            status.lines().find_map(|l| l.strip_prefix(k)).and_then(|v| v.split_whitespace().next())
        };
        let uid = field("Uid:").and_then(|v| v.parse().ok());
        let cap_sys_ptrace = field("CapEff:")
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .is_some_and(|c| c & (1 << CAP_SYS_PTRACE) != 0);
        Self { uid, cap_sys_ptrace, yama_scope }
    }
}

fn yama_scope() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok()?.trim().parse().ok()
}

/// Why `me` may not attach to process `pid` (owned by `target`), and the fix.
pub(crate) fn ptrace_denial(pid: u32, me: &Rights, target: &Rights) -> String {
    let uid = |u: Option<u32>| u.map_or_else(|| "?".to_owned(), |u| u.to_string());
    let setcap = "give scxray CAP_SYS_PTRACE (run it as root, or `sudo setcap cap_sys_ptrace=ep $(command -v \
                  scxray)`)";
    match (me.yama_scope, me.cap_sys_ptrace) {
        (Some(3), _) => {
            "kernel.yama.ptrace_scope is 3: no process may attach to another until the next reboot. \
                         Fix: none while the host runs; read a dump instead (QMP dump-guest-memory, `--qmp` \
                         with `scxray`'s dump helpers)"
                .to_owned()
        }
        (_, true) => format!(
            "scxray has CAP_SYS_PTRACE, so process {pid} must be protected otherwise (a security module, or \
             it runs in another user namespace). Fix: run scxray in process {pid}'s namespace as root"
        ),
        (Some(2), false) => {
            "kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may attach. Fix: ".to_owned() + setcap
        }
        _ if me.uid != target.uid => format!(
            "Process {pid} runs as uid {}, scxray as uid {}, without CAP_SYS_PTRACE. Fix: run scxray {}, or {setcap}",
            uid(target.uid),
            uid(me.uid),
            match target.uid {
                Some(0) => "as root".to_owned(),
                u => format!("as uid {} or as root", uid(u)),
            }
        ),
        (Some(1), false) => format!(
            "kernel.yama.ptrace_scope is 1: only an ancestor of process {pid} may attach to it, and scxray is \
             not one. Fix: {setcap}, or allow it for the session with `sudo sysctl kernel.yama.ptrace_scope=0`"
        ),
        _ => format!(
            "scxray runs as process {pid}'s uid {} without CAP_SYS_PTRACE, so the process must be non-dumpable \
             (it changed credentials or set PR_SET_DUMPABLE to 0). Fix: {setcap}",
            uid(me.uid)
        ),
    }
}

/// One line of `/proc/PID/maps` (or a mapping of `/proc/PID/smaps` with its `VmFlags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `rwxp` / `rw-s`.
    pub perms: String,
    /// Offset in the mapped file.
    pub offset: u64,
    /// The mapped file or pseudo-path (`[heap]`, `/memfd:pc.ram (deleted)`); `None`: anonymous.
    pub path: Option<String>,
    /// smaps' `VmFlags` (`rd wr mr mw me dc ac sd hg mg`); empty when read from maps.
    pub vm_flags: Vec<String>,
}

impl Mapping {
    /// Bytes mapped.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the mapping is empty (never, for a parsed line).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Whether `perms` has `c` (`r`, `w`, `x`, `s`, `p`).
    pub fn has(&self, c: char) -> bool {
        self.perms.contains(c)
    }

    /// Parses a maps line: `start-end perms offset dev inode [path]`.
    pub fn parse(line: &str) -> Option<Self> {
        let mut rest = line.trim_end_matches(['\n', '\r']);
        let mut field = || {
            let t = rest.trim_start_matches(' ');
            let end = t.find(' ').unwrap_or(t.len());
            let (f, r) = t.split_at(end);
            rest = r;
            f
        };
        let (range, perms, offset, dev, inode) = (field(), field(), field(), field(), field());
        let (start, end) = range.split_once('-')?;
        let (start, end) = (u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?);
        let perms_ok = perms.len() == 4 && perms.chars().all(|c| "rwxps-".contains(c));
        if end <= start || !perms_ok || !dev.contains(':') || inode.parse::<u64>().is_err() {
            return None;
        }
        let path = rest.trim_start_matches(' ');
        Some(Self {
            start,
            end,
            perms: perms.to_owned(),
            offset: u64::from_str_radix(offset, 16).ok()?,
            path: (!path.is_empty()).then(|| path.to_owned()),
            vm_flags: Vec::new(),
        })
    }
}

/// Parses `/proc/PID/maps` or `/proc/PID/smaps` (whose `VmFlags` lines go to the mapping above
/// them; its other lines are skipped).
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some(m) = out.last_mut() {
                m.vm_flags = flags.split_whitespace().map(str::to_owned).collect();
            }
        } else if let Some(m) = Mapping::parse(line) {
            out.push(m);
        }
    }
    out
}

/// The process that listens on the Unix socket `path` (QEMU's QMP server): the socket's inode
/// from `/proc/net/unix`, then the process holding an fd on it. `None` when not found (another
/// network namespace, or processes this user may not inspect).
pub fn socket_owner(path: &Path) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    let canonical = std::fs::canonicalize(path).ok();
    let inodes: Vec<u64> = listening_inodes(&table, |p| {
        Path::new(p) == path || canonical.as_deref().is_some_and(|c| Path::new(p) == c)
    });
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
            {
                return Some(pid);
            }
        }
    }
    None
}

/// Inodes of the listening sockets in a `/proc/net/unix` table whose path `matches`.
/// A row: `Num RefCount Protocol Flags Type St Inode Path`; listening: flag `__SO_ACCEPTCON`
/// (0x10000).
fn listening_inodes(table: &str, matches: impl Fn(&str) -> bool) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
            let path = f.get(7..).map(|p| p.join(" "))?;
            (flags & 0x1_0000 != 0 && matches(&path)).then(|| f.get(6)?.parse().ok())?
        })
        .collect()
}

/// What a process is, from `/proc/PID/{comm,cmdline,exe}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The process.
    pub pid: u32,
    /// `comm` (at most 15 bytes).
    pub comm: String,
    /// `cmdline`, split at NULs.
    pub argv: Vec<String>,
    /// The executable (`None` when `exe` cannot be read).
    pub exe: Option<PathBuf>,
}

impl ProcessInfo {
    /// Reads the process's identity (readable by anyone except `exe`).
    pub fn read(pid: u32) -> Result<Self, Error> {
        let comm = read_proc(pid, "comm")?.trim_end().to_owned();
        let argv =
            read_proc(pid, "cmdline")?.split('\0').filter(|a| !a.is_empty()).map(str::to_owned).collect();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        Ok(Self { pid, comm, argv, exe })
    }

    /// The QEMU system emulator's target (`x86_64`, `aarch64`, ...) when this is one:
    /// `qemu-system-<target>` by executable, argv\[0\] or comm (cut at 15 bytes), or
    /// `qemu-kvm` (the host's architecture).
    pub fn qemu_target(&self) -> Option<String> {
        let names = self
            .exe
            .iter()
            .filter_map(|e| e.file_name()?.to_str())
            .map(|n| n.trim_end_matches(" (deleted)"))
            .chain(self.argv.first().and_then(|a| a.rsplit('/').next()))
            .chain(std::iter::once(self.comm.as_str()))
            .collect::<Vec<_>>();
        for n in &names {
            if let Some(t) = n.strip_prefix("qemu-system-").filter(|t| !t.is_empty()) {
                // comm is cut at 15 bytes: `qemu-system-x86` / `qemu-system-aar`.
                return Some(match t {
                    "x86" => "x86_64".to_owned(),
                    "aar" => "aarch64".to_owned(),
                    _ => t.to_owned(),
                });
            }
            if *n == "qemu-kvm" {
                return Some(std::env::consts::ARCH.to_owned());
            }
        }
        None
    }

    /// The value of the command-line option `opt` (`-machine`, `-M`, `-m`), when given.
    pub fn option(&self, opt: &str) -> Option<&str> {
        let i = self.argv.iter().position(|a| a == opt || a.strip_prefix('-') == Some(opt))?;
        self.argv.get(i + 1).map(String::as_str)
    }

    /// The executable, for messages.
    pub fn describe(&self) -> String {
        self.exe
            .as_ref()
            .map(|e| e.display().to_string())
            .or_else(|| self.argv.first().cloned())
            .unwrap_or_else(|| self.comm.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_parse_with_paths_and_anonymous() {
        let m = Mapping::parse("7f3a40000000-7f3a60000000 rw-p 00000000 00:00 0 \n").unwrap();
        assert_eq!(
            (m.start, m.end, m.len(), m.perms.as_str()),
            (0x7f3a_4000_0000, 0x7f3a_6000_0000, 512 << 20, "rw-p")
        );
        assert_eq!(m.path, None);
        let m = Mapping::parse(
            "7f0000000000-7f0020000000 rw-s 00001000 00:01 2051                       /memfd:pc.ram (deleted)",
        )
        .unwrap();
        assert_eq!((m.offset, m.path.as_deref()), (0x1000, Some("/memfd:pc.ram (deleted)")));
        assert!(m.has('s') && m.has('w') && !m.has('x'));
        let m =
            Mapping::parse("55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0                          [heap]")
                .unwrap();
        assert_eq!(m.path.as_deref(), Some("[heap]"));
        let m = Mapping::parse("7ffd1000-7ffd2000 r--p 00000000 fe:01 131 /usr/lib/my lib.so").unwrap();
        assert_eq!(m.path.as_deref(), Some("/usr/lib/my lib.so"));
        for bad in
            ["", "zz-10 rw-p 0 00:00 0", "2000-1000 rw-p 0 00:00 0", "1000-2000 rwq 0 00:00 0", "Rss: 4 kB"]
        {
            assert_eq!(Mapping::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn smaps_vm_flags_go_to_their_mapping() {
        let smaps = "7f3a40000000-7f3a60000000 rw-p 00000000 00:00 0 \n\
                     Size:             524288 kB\n\
                     KernelPageSize:        4 kB\n\
                     VmFlags: rd wr mr mw me dc ac sd hg mg \n\
                     7f3a60000000-7f3a60001000 ---p 00000000 00:00 0 \n\
                     Size:                  4 kB\n\
                     VmFlags: mr mw me dc ac sd \n";
        let maps = parse_maps(smaps);
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[0].vm_flags, ["rd", "wr", "mr", "mw", "me", "dc", "ac", "sd", "hg", "mg"]);
        assert_eq!((maps[1].start, maps[1].perms.as_str()), (0x7f3a_6000_0000, "---p"));
        assert_eq!(maps[1].vm_flags.len(), 6);
    }

    #[test]
    fn listening_sockets_are_found_by_path() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
                     0000000000000000: 00000002 00000000 00010000 0001 01 48213 /tmp/scxray-qmp-1.sock\n\
                     0000000000000000: 00000003 00000000 00000000 0001 03 48290 /tmp/scxray-qmp-1.sock\n\
                     0000000000000000: 00000002 00000000 00010000 0001 01 17 @/tmp/.X11-unix/X0\n\
                     0000000000000000: 00000002 00000000 00010000 0001 01 18 /run/my dir/qmp.sock\n\
                     0000000000000000: 00000003 00000000 00000000 0001 03 19\n";
        assert_eq!(listening_inodes(table, |p| p == "/tmp/scxray-qmp-1.sock"), vec![48213]);
        assert_eq!(listening_inodes(table, |p| p == "/run/my dir/qmp.sock"), vec![18]);
        assert!(listening_inodes(table, |p| p == "/tmp/other").is_empty());
    }

    #[test]
    fn this_process_owns_its_listening_socket() {
        let path = std::env::temp_dir().join(format!("scxray-owner-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert_eq!(socket_owner(&path), Some(std::process::id()));
        drop(l);
        let _ = std::fs::remove_file(&path);
        assert_eq!(socket_owner(&path), None);
    }

    #[test]
    fn qemu_is_known_by_exe_argv_or_comm() {
        let p = |comm: &str, argv: &[&str], exe: Option<&str>| ProcessInfo {
            pid: 1,
            comm: comm.into(),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            exe: exe.map(PathBuf::from),
        };
        let q = p("qemu-system-x86", &["qemu-system-x86_64", "-m", "512M", "-machine", "q35"], None);
        assert_eq!(q.qemu_target().as_deref(), Some("x86_64"));
        assert_eq!((q.option("-m"), q.option("-machine"), q.option("-M")), (Some("512M"), Some("q35"), None));
        let a = p("qemu-system-aar", &["/usr/bin/qemu-system-aarch64", "--machine", "virt"], None);
        assert_eq!(a.qemu_target().as_deref(), Some("aarch64"));
        assert_eq!(a.option("-machine"), Some("virt"));
        assert_eq!(p("qemu-system-aar", &[], None).qemu_target().as_deref(), Some("aarch64"));
        assert_eq!(
            p("x", &["x"], Some("/usr/bin/qemu-system-riscv64")).qemu_target().as_deref(),
            Some("riscv64")
        );
        assert_eq!(p("sleep", &["sleep", "100"], Some("/usr/bin/sleep")).qemu_target(), None);
        assert_eq!(p("qemu-img", &["qemu-img"], None).qemu_target(), None);
    }

    #[test]
    fn ptrace_denials_name_the_cause_and_the_fix() {
        let status =
            |uid: u32, cap: &str| format!("Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nCapEff:\t{cap}\n");
        let root = Rights::from_status(&status(0, "000001ffffffffff"), Some(1));
        assert_eq!(root, Rights { uid: Some(0), cap_sys_ptrace: true, yama_scope: Some(1) });
        let dropped = Rights::from_status(&status(0, "000001fffff7ffff"), None);
        assert!(!dropped.cap_sys_ptrace);
        let user = Rights::from_status(&status(1000, "0000000000000000"), Some(1));
        let qemu_as = |uid| Rights::from_status(&status(uid, "0"), None);

        let other_uid = ptrace_denial(42, &user, &qemu_as(64055));
        assert!(other_uid.contains("runs as uid 64055, scxray as uid 1000"), "{other_uid}");
        assert!(other_uid.contains("setcap cap_sys_ptrace=ep"), "{other_uid}");
        let yama1 = ptrace_denial(42, &user, &qemu_as(1000));
        assert!(yama1.contains("ptrace_scope is 1") && yama1.contains("ptrace_scope=0"), "{yama1}");
        let no_yama = Rights { yama_scope: None, ..user.clone() };
        assert!(ptrace_denial(42, &no_yama, &qemu_as(1000)).contains("non-dumpable"));
        let yama2 = Rights { yama_scope: Some(2), ..user.clone() };
        assert!(ptrace_denial(42, &yama2, &qemu_as(1000)).contains("ptrace_scope is 2"));
        let yama3 = Rights { yama_scope: Some(3), ..user };
        assert!(ptrace_denial(42, &yama3, &qemu_as(1000)).contains("until the next reboot"));
        assert!(ptrace_denial(42, &root, &qemu_as(0)).contains("scxray has CAP_SYS_PTRACE"));
        let dropped_root = ptrace_denial(42, &dropped, &qemu_as(1000));
        assert!(dropped_root.contains("runs as uid 1000, scxray as uid 0"), "{dropped_root}");
    }

    #[test]
    fn this_process_reads_itself_through_a_range_table() {
        let mut data: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 251) as u8).collect();
        data[4096 + 300..4096 + 306].copy_from_slice(b"MARKER");
        let hva = data.as_ptr() as u64;
        let ranges = vec![
            RamRange { gpa: 0x10_0000, len: 4096, hva: hva + 4096, name: "hi".into() },
            RamRange { gpa: 0, len: 4096, hva, name: "lo".into() },
        ];
        let m = ProcessMemory::open(std::process::id(), ranges).unwrap();
        assert_eq!(m.ranges()[0].name, "lo");
        assert_eq!(m.phys_end(), 0x10_1000);
        let mut b = [0u8; 4];
        m.read(PhysAddr(10), &mut b).unwrap();
        assert_eq!(b, [10, 11, 12, 13]);
        m.read(PhysAddr(0x10_0000), &mut b).unwrap();
        assert_eq!(b, [(4096 % 251) as u8, (4097 % 251) as u8, (4098 % 251) as u8, (4099 % 251) as u8]);
        assert_eq!(m.read(PhysAddr(4094), &mut b), Err(MemError::NotBacked { pa: PhysAddr(4094), len: 4 }));
        assert!(m.read(PhysAddr(0x10_0ffe), &mut b).is_err());
        assert_eq!(m.scan(b"MARKER", 8), [0x10_0000 + 300]);
        // A range whose host addresses are not mapped reads as unavailable, not as zeros.
        let unmapped =
            m.with_ranges(vec![RamRange { gpa: 0, len: 4096, hva: 0x1000, name: "x".into() }]).unwrap();
        assert_eq!(unmapped.read(PhysAddr(8), &mut b), Err(MemError::Unavailable { pa: PhysAddr(8) }));
        drop(data);
    }

    #[test]
    fn the_page_cache_serves_a_page_as_first_read_until_forgotten() {
        let mut data = vec![0u8; 3 * PAGE];
        // A page-aligned page inside `data`.
        let page = (data.as_ptr() as u64).next_multiple_of(PAGE as u64);
        let at = (page - data.as_ptr() as u64) as usize;
        data[at + 8] = 1;
        let ranges = vec![RamRange { gpa: 0, len: 2 * PAGE as u64, hva: page, name: "p".into() }];
        let m = ProcessMemory::open(std::process::id(), ranges).unwrap();
        let read = |m: &ProcessMemory| m.read_le::<u8>(PhysAddr(8)).unwrap();
        let poke = |v: u8| poke_through_proc_self_mem(&data, at + 8, v);
        assert_eq!(read(&m), 1);
        poke(2);
        assert_eq!(read(&m), 2, "uncached: every read sees the process as it is");
        m.cache_pages(true);
        assert_eq!(read(&m), 2);
        poke(3);
        assert_eq!(read(&m), 2, "cached: the page as first read");
        // A read across the page boundary bypasses the cache.
        let mut b = [0u8; 16];
        m.read(PhysAddr(PAGE as u64 - 8), &mut b).unwrap();
        m.forget();
        assert_eq!(read(&m), 3);
        m.cache_pages(false);
        poke(4);
        assert_eq!(read(&m), 4);
        drop(data);
    }

    /// Writes `v` at `data[i]` through this process's own /proc/self/mem: memory changing under
    /// the reader, as a running guest's does (the test reads `data` only through the kernel).
    fn poke_through_proc_self_mem(data: &[u8], i: usize, v: u8) {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open("/proc/self/mem").unwrap();
        f.write_all_at(&[v], data.as_ptr() as u64 + i as u64).unwrap();
    }

    #[test]
    fn bad_range_tables_are_refused() {
        let r = |gpa, len| RamRange { gpa, len, hva: 0x1000, name: format!("r{gpa:x}") };
        let me = std::process::id();
        assert!(ProcessMemory::open(me, vec![]).is_err());
        let e = ProcessMemory::open(me, vec![r(0, 0x2000), r(0x1000, 0x1000)]).unwrap_err().to_string();
        assert_eq!(e, "guest RAM ranges r0 (0x0-0x2000) and r1000 (0x1000-0x2000) overlap");
        assert!(ProcessMemory::open(me, vec![r(u64::MAX - 4, 0x10)]).is_err());
        assert!(ProcessMemory::open(me, vec![r(0, 0)]).is_err());
    }

    #[test]
    fn a_missing_process_is_named() {
        // PIDs are below 2^22 on Linux.
        let e =
            ProcessMemory::open(u32::MAX - 1, vec![RamRange { gpa: 0, len: 1, hva: 0, name: "x".into() }])
                .unwrap_err()
                .to_string();
        assert!(e.starts_with(&format!("/proc/{}/mem: no process {}", u32::MAX - 1, u32::MAX - 1)), "{e}");
        assert!(e.contains("ENOENT"), "{e}");
    }
}
