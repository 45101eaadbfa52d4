//! The scheduler's BPF half (issue 18), read in the walk stage: the kernel-wide program and
//! map tables, each scheduler's struct_ops map with its programs and the maps they use, each
//! map's contents decoded with the BTF the map carries (read out of guest memory), the arena's
//! globals, every task's task-local storage, and where each waiting task is in BPF
//! (`bpf::place`). Decoding reads the values from guest memory, so it happens here; the
//! report stage only lays the text out.

use super::read::Reader;
use super::tasks::FoundTask;
use foldhash::{HashMap, HashSet};
use scxray_btf::{
    ArenaNamer, Btf, BtfPlaceTypes, DecodeLimits, GuestValue, NoNames, PointerNamer, Style, ValueBytes,
    arena_globals, format_value,
};
use scxray_core::bpf::{
    ArenaList, BpfPass, BpfProblem, BpfVisitor, ContentsWalk, Elem, ElemKey, IdTable, IdTableWalk, MapHeader,
    MapType, Place, ProgHeader, SchedOps, SchedWalk, TaskFieldKind, Waiting, Walker,
};
use scxray_core::{BpfLimits, BpfSymbols, Field, VirtAddr};
use std::ops::ControlFlow;

/// Elements of one map decoded into the report at most; the rest are counted.
pub const SHOWN_ELEMS: usize = 32;
/// A decoded value's text is cut after this many bytes.
pub const VALUE_TEXT: usize = 2048;
/// Maps of one scheduler whose contents are read at most.
pub const SCHED_MAPS: usize = 64;
/// A BTF blob larger than this is not read (vmlinux's is ~6 MiB; a program's a few KiB).
const MAX_BTF_BYTES: u32 = 16 << 20;

/// `SCX_OPSS_QUEUED` and `SCX_OPSS_DISPATCHING`: the task is in the BPF scheduler's custody.
const OPSS_QUEUED: u64 = 2;
const OPSS_DISPATCHING: u64 = 3;
/// `SCX_TASK_QUEUED`: the task is runnable (on the scheduler's books).
const TASK_QUEUED: u32 = 1;

/// The most bytes of a scheduler's arena globals (`.addr_space.1`) read and decoded: the size
/// comes from the guest's BTF (up to 4 GiB), the buffer is the host's.
const MAX_ARENA_GLOBALS: u64 = 1 << 20;

/// Everything read of the BPF half.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BpfReads {
    /// Each kernel-wide table walked, with how its walk ended.
    pub tables: Vec<(IdTable, IdTableWalk)>,
    /// Every program in `prog_idr`.
    pub progs: Vec<ProgHeader>,
    /// Every map in `map_idr`.
    pub maps: Vec<MapHeader>,
    /// Each scheduler's BPF objects (root first).
    pub scheds: Vec<SchedBpf>,
    /// Each task's task-local storage values, decoded: (map name, value).
    pub task_storage: HashMap<VirtAddr, Vec<(String, String)>>,
    /// Where each waiting task is, by task.
    pub places: HashMap<VirtAddr, TaskPlace>,
    /// The tasks holding task-local storage that are not in the task list (the kernel walk's
    /// tasks whose detail was read): a task that has died (the kernel takes it off
    /// `scx_tasks` at its last switch and frees its storage only when the last reference
    /// goes), one not yet on `scx_tasks`, one whose detail could not be read, or one past a
    /// list cut short. The first [`SHOWN_UNLISTED`] met, by address.
    pub unlisted_storage: Vec<UnlistedStorage>,
    /// How many such tasks there are.
    pub unlisted_tasks: usize,
    /// And how many storage elements they hold.
    pub unlisted_elems: usize,
    /// What the walks could not do.
    pub problems: Vec<String>,
    /// The caps the walks ran under (the report names those that fired).
    pub limits: BpfLimits,
}

/// Task-local storage of a task not in the task list ([`BpfReads::unlisted_storage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlistedStorage {
    /// The task (the storage's owner).
    pub task: VirtAddr,
    /// Its pid, comm and `__state`, or why they could not be read.
    pub detail: Result<(i32, String, Option<u32>), String>,
    /// Its values: (map name, value).
    pub values: Vec<(String, String)>,
}

/// Unlisted tasks whose storage is shown (and whose detail is read); the rest are counted.
pub const SHOWN_UNLISTED: usize = 64;

/// The task storage of tasks not in the task list, as the contents passes meet it: the first
/// [`SHOWN_UNLISTED`] tasks' values kept (a hostile map may claim millions), every task and
/// element counted.
#[derive(Default)]
struct UnlistedAcc {
    tasks: HashSet<VirtAddr>,
    elems: usize,
    shown: Vec<(VirtAddr, Vec<(String, String)>)>,
    shown_at: HashMap<VirtAddr, usize>,
}

impl UnlistedAcc {
    /// Notes one element of `map` owned by `owner`; `value` decodes it when it is kept.
    fn note(&mut self, owner: VirtAddr, map: &str, value: impl FnOnce() -> String) {
        self.elems = self.elems.saturating_add(1);
        if self.tasks.insert(owner) {
            if self.shown.len() < SHOWN_UNLISTED {
                self.shown_at.insert(owner, self.shown.len());
                self.shown.push((owner, vec![(map.to_owned(), value())]));
            }
        } else if let Some(kept) = self.shown_at.get(&owner).and_then(|&i| self.shown.get_mut(i)) {
            // One value per map a task holds storage in (a repeat is no kernel shape).
            if kept.1.len() < SHOWN_UNLISTED && !kept.1.iter().any(|(m, _)| m == map) {
                kept.1.push((map.to_owned(), value()));
            }
        }
    }
}

/// One scheduler's BPF objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedBpf {
    /// The scheduler.
    pub sched: VirtAddr,
    /// Its struct_ops map, when found.
    pub ops: Option<SchedOps>,
    /// The program behind each set callback, with its callback slot.
    pub progs: Vec<(u32, ProgHeader)>,
    /// The maps its programs use, with their contents.
    pub maps: Vec<MapRead>,
    /// How the walk from the scheduler ended.
    pub walk: SchedWalk,
    /// The arena's globals, decoded by name, when the scheduler has an arena.
    pub arena_globals: Option<String>,
    /// The arena's lists (anchored at the globals) and whether their links agree.
    pub lists: Vec<ListRead>,
    /// How the placement ended, when it ran.
    pub placed: Option<scxray_core::bpf::PlaceWalk>,
}

/// One map and what its contents pass showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRead {
    /// Its header.
    pub header: MapHeader,
    /// The first [`SHOWN_ELEMS`] elements: key and decoded value.
    pub elems: Vec<(String, String)>,
    /// How its contents pass ended (`None`: not read, e.g. no offsets).
    pub walk: Option<ContentsWalk>,
    /// Why its values are shown as bytes, when they are.
    pub btf_error: Option<String>,
}

/// An arena list, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRead {
    /// The list's parent in the arena globals (`qa.fifos[2]`).
    pub name: String,
    /// What the walk found.
    pub list: ArenaList,
}

/// Where a waiting task is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlace {
    /// The place (`qa.fifos[2]`, `queue_map #3`), `None` when nothing holds the task.
    pub place: Option<String>,
    /// Distinct places that hold it.
    pub claims: u16,
    /// Another place is as good.
    pub ambiguous: bool,
}

impl TaskPlace {
    /// In words: the place, said ambiguous when another is as good; `nothing found` when no
    /// BPF place holds the task.
    pub fn text(&self) -> Option<String> {
        Some(match &self.place {
            Some(p) if self.ambiguous => format!("{p}, ambiguous ({} places)", self.claims),
            Some(p) => p.clone(),
            None => "nothing found".into(),
        })
    }
}

/// The BPF symbols from the kernel's symbol table.
fn symbols(r: &Reader<'_>) -> BpfSymbols {
    BpfSymbols {
        prog_idr: r.symbol(&["prog_idr"]),
        map_idr: r.symbol(&["map_idr"]),
        btf_idr: r.symbol(&["btf_idr"]),
        link_idr: r.symbol(&["link_idr"]),
        stats_enabled_key: r.symbol(&["bpf_stats_enabled_key"]),
    }
}

/// Whether the task is waiting outside the kernel's DSQs: in BPF custody, or queued on no DSQ.
fn waiting(t: &FoundTask) -> Option<Waiting> {
    let d = &t.detail.as_ref().ok()?.detail;
    // A running task is not waiting, whatever its flags say.
    if t.found_on.iter().any(|p| matches!(p, super::tasks::Place::Curr(_))) {
        return None;
    }
    let custody = d.ops_state.is_some_and(|s| matches!(s & 3, OPSS_QUEUED | OPSS_DISPATCHING));
    let loose = d.scx_flags & TASK_QUEUED != 0 && d.dsq_kva.is_none_or(|k| k.0 == 0);
    (custody || loose).then(|| Waiting::new(t.kva, d.pid))
}

/// Collects the ID tables.
#[derive(Default)]
struct Tables {
    progs: Vec<ProgHeader>,
    maps: Vec<MapHeader>,
    ends: Vec<(IdTable, IdTableWalk)>,
    problems: Vec<BpfProblem>,
}

impl BpfVisitor for Tables {
    fn prog(&mut self, p: &ProgHeader) {
        self.progs.push(*p);
    }
    fn map(&mut self, m: &MapHeader) {
        self.maps.push(*m);
    }
    fn id_table_end(&mut self, t: IdTable, w: &IdTableWalk) {
        self.ends.push((t, *w));
    }
    fn problem(&mut self, p: &BpfProblem) {
        self.problems.push(*p);
    }
}

/// Collects one scheduler's walk.
#[derive(Default)]
struct Sched {
    ops: Option<SchedOps>,
    progs: Vec<(u32, ProgHeader)>,
    maps: Vec<MapHeader>,
    lists: Vec<ArenaList>,
    problems: Vec<BpfProblem>,
}

impl BpfVisitor for Sched {
    fn sched_ops(&mut self, o: &SchedOps) {
        self.ops = Some(*o);
    }
    fn sched_prog(&mut self, _: &SchedOps, slot: u32, p: &ProgHeader) {
        self.progs.push((slot, *p));
    }
    fn sched_map(&mut self, _: &SchedOps, m: &MapHeader) {
        self.maps.push(*m);
    }
    fn arena_list(&mut self, l: &ArenaList) {
        self.lists.push(*l);
    }
    fn problem(&mut self, p: &BpfProblem) {
        self.problems.push(*p);
    }
}

/// The program BTF objects of a scheduler, read out of the guest, by their `struct btf`.
struct Blobs(Vec<(VirtAddr, Result<Vec<u8>, String>)>);

impl Blobs {
    fn load<M, T>(w: &Walker<'_, M, T>, g: &scxray_core::Guest<'_, M, T>, at: &[VirtAddr]) -> Self
    where
        M: scxray_core::PhysMem + ?Sized,
        T: scxray_core::Translate + ?Sized,
    {
        let mut out: Vec<(VirtAddr, Result<Vec<u8>, String>)> = Vec::new();
        for &kva in at {
            if kva.0 == 0 || out.iter().any(|(k, _)| *k == kva) {
                continue;
            }
            let blob = w.read_btf(kva).map_err(|e| format!("struct btf at {kva}: {e}")).and_then(|h| {
                if h.base_btf.0 != 0 {
                    return Err(format!("struct btf at {kva}: split BTF (over {}) not decoded", h.base_btf));
                }
                if h.data_size > MAX_BTF_BYTES {
                    return Err(format!("struct btf at {kva}: {} bytes, over the cap", h.data_size));
                }
                let mut b = vec![0u8; h.data_size as usize];
                g.read_bytes(h.data, &mut b, Field::KernelBtfObject).map_err(|e| format!("btf data: {e}"))?;
                Ok(b)
            });
            out.push((kva, blob));
        }
        Self(out)
    }

    /// The blobs that parse, by address, and why the others cannot be used.
    fn parsed(&self) -> (Vec<(VirtAddr, Btf<'_>)>, Vec<String>) {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for (kva, b) in &self.0 {
            match b.as_ref().map(|b| Btf::parse(b)) {
                Ok(Ok(btf)) => ok.push((*kva, btf)),
                Ok(Err(e)) => bad.push(format!("BTF at {kva}: {e}")),
                Err(e) => bad.push(e.clone()),
            }
        }
        (ok, bad)
    }
}

/// Text of a value of `type_id` read by `bytes`; hex when undecodable.
fn decode<S: ValueBytes, N: PointerNamer>(
    btf: Option<&Btf<'_>>,
    type_id: u32,
    bytes: &mut S,
    namer: N,
) -> String {
    let mut text = String::new();
    if let Some(btf) = btf.filter(|_| type_id != 0) {
        match format_value(btf, type_id, bytes, &DecodeLimits::DEFAULT, Style::Compact, namer, &mut text) {
            Ok(_) => return cut(text),
            Err(e) => text = format!("<{e}> "),
        }
    }
    // Without BTF (a map declared by key_size/value_size), a 4- or 8-byte value is most
    // likely a counter: shown as the little-endian integer.
    if text.is_empty() && matches!(bytes.len(), 4 | 8) {
        let mut b = [0u8; 8];
        let n = usize::try_from(bytes.len()).unwrap_or(8);
        if bytes.read_at(0, &mut b[..n]).is_ok() {
            return u64::from_le_bytes(b).to_string();
        }
    }
    let n = bytes.len().min(64);
    let mut b = vec![0u8; usize::try_from(n).unwrap_or(64)];
    match bytes.read_at(0, &mut b) {
        Ok(()) => {
            for x in &b {
                text.push_str(&format!("{x:02x}"));
            }
            if bytes.len() > n {
                text.push_str(&format!("... ({} bytes)", bytes.len()));
            }
        }
        Err(_) => text.push_str("<unreadable>"),
    }
    cut(text)
}

fn cut(mut s: String) -> String {
    if s.len() > VALUE_TEXT {
        let mut end = VALUE_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(" ...");
    }
    s
}

/// An element's value, decoded with `btf` (arena pointers named by `namer`).
fn decode_value(
    btf: Option<&Btf<'_>>,
    namer: Option<ArenaNamer<'_, '_>>,
    map: &MapHeader,
    e: &Elem<'_>,
) -> String {
    let mut v = GuestValue(e.value);
    match namer {
        Some(n) => decode(btf, map.btf_value_type_id, &mut v, n),
        None => decode(btf, map.btf_value_type_id, &mut v, NoNames),
    }
}

/// Decodes each map's elements as they stream.
struct Contents<'b, 'a> {
    btf: Option<&'b Btf<'a>>,
    namer: Option<ArenaNamer<'b, 'a>>,
    pids: &'b HashMap<VirtAddr, i32>,
    storage_name: Option<String>,
    elems: Vec<(String, String)>,
    /// A task storage's values of the listed tasks ([`Self::pids`]), one per task.
    storage: Vec<(VirtAddr, String)>,
    /// The listed tasks `storage` has a value of.
    stored: HashSet<VirtAddr>,
    /// Elements naming a listed task `storage` already has a value of.
    repeats: u32,
    unlisted: &'b mut UnlistedAcc,
    end: Option<ContentsWalk>,
    problems: Vec<BpfProblem>,
}

impl Contents<'_, '_> {
    fn value(&self, map: &MapHeader, e: &Elem<'_>) -> String {
        decode_value(self.btf, self.namer, map, e)
    }
    fn key(&self, map: &MapHeader, e: &Elem<'_>) -> String {
        let cpu = e.cpu.map_or_else(String::new, |c| format!(" cpu{c}"));
        let key = match e.key {
            ElemKey::Index(i) => format!("[{i}]"),
            ElemKey::Hash { .. } => match e.key_bytes {
                Some(k) => {
                    format!("{{{}}}", decode(self.btf, map.btf_key_type_id, &mut GuestValue(k), NoNames))
                }
                None => "{?}".into(),
            },
            ElemKey::Owner { owner, .. } => match self.pids.get(&owner) {
                Some(p) => format!("task {p}"),
                None => format!("task {owner}"),
            },
            ElemKey::Slot { position, .. } => format!("#{position}"),
            ElemKey::StructOps => "kvalue".into(),
        };
        key + &cpu
    }
}

impl BpfVisitor for Contents<'_, '_> {
    fn elem(&mut self, map: &MapHeader, e: &Elem<'_>) -> ControlFlow<()> {
        if let (Some(name), ElemKey::Owner { owner, .. }) = (self.storage_name.as_deref(), e.key) {
            if !self.pids.contains_key(&owner) {
                let (btf, namer) = (self.btf, self.namer);
                self.unlisted.note(owner, name, || decode_value(btf, namer, map, e));
            } else if self.stored.insert(owner) {
                let v = decode_value(self.btf, self.namer, map, e);
                self.storage.push((owner, v));
            } else {
                self.repeats = self.repeats.saturating_add(1);
            }
        }
        if self.elems.len() < SHOWN_ELEMS {
            let k = self.key(map, e);
            let v = if map.map_type == MapType::STRUCT_OPS {
                format!("struct {} bytes (sched_ext_ops, vmlinux BTF)", map.value_size)
            } else {
                self.value(map, e)
            };
            self.elems.push((k, v));
        }
        ControlFlow::Continue(())
    }
    fn contents_end(&mut self, _: &MapHeader, w: &ContentsWalk) {
        self.end = Some(*w);
    }
    fn problem(&mut self, p: &BpfProblem) {
        self.problems.push(*p);
    }
}

impl Contents<'_, '_> {
    /// Why `map`'s contents pass could not run, in words. A failed read is left out: the
    /// pass counted it and the map's `unreadable` and `error` say it. A missing layout group
    /// or an impossible arena are said nowhere else: without this the map reads as empty.
    fn problems(&self, map: &MapHeader) -> impl Iterator<Item = String> + '_ {
        let (name, id) = (map.name.to_string(), map.id);
        let repeats = (self.repeats > 0).then(|| {
            format!(
                "BPF map contents: map {name} (id {id}): {} elements name a task it already holds a value of (the first kept; no kernel keeps two)",
                self.repeats
            )
        });
        self.problems
            .iter()
            .filter(|p| !matches!(p, BpfProblem::Unreadable { .. }))
            .map(move |p| format!("{}: map {name} (id {id})", problem_text(p)))
            .chain(repeats)
    }
}

/// A pass in words: `prog_idr`, `scheduler walk`, ...
fn pass_name(p: BpfPass) -> String {
    match p {
        BpfPass::IdTable(t) => t.to_string(),
        BpfPass::Sched => "scheduler walk".into(),
        BpfPass::Contents => "map contents".into(),
        BpfPass::Place => "placement".into(),
    }
}

fn problem_text(p: &BpfProblem) -> String {
    match *p {
        BpfProblem::MissingLayout { pass, group } => {
            format!("BPF {}: the layout has no offsets for {group}", pass_name(pass))
        }
        BpfProblem::MissingTable { pass, table } => format!("BPF {}: no symbol {table}", pass_name(pass)),
        BpfProblem::Unreadable { pass, error } => format!("BPF {}: {error}", pass_name(pass)),
        BpfProblem::BadArena { pass } => {
            format!("BPF {}: the arena's geometry cannot be the kernel's", pass_name(pass))
        }
    }
}

/// The guest's page size (arena pages, the arena's guard).
fn page_size(t: &crate::target::Target) -> u64 {
    match t.paging() {
        crate::target::Paging::X86_64 { .. } => 4096,
        crate::target::Paging::Aarch64 { page_size, .. } => page_size,
    }
}

/// Reads the BPF half for the schedulers at `scheds` (root first) and the tasks found.
pub(super) fn read(r: &Reader<'_>, scheds: &[VirtAddr], tasks: &[FoundTask]) -> BpfReads {
    let target = r.target();
    let guest = target.guest(scxray_core::Limits::DEFAULT);
    let limits = BpfLimits::DEFAULT;
    let w = Walker::new(guest, symbols(r)).with_limits(limits).with_page_size(page_size(target));
    let mut out = BpfReads { limits, ..BpfReads::default() };
    let mut t = Tables::default();
    for table in [IdTable::Prog, IdTable::Map] {
        w.walk_id_table(table, &mut t);
    }
    out.problems.extend(t.problems.iter().map(problem_text));
    out.tables = t.ends;
    out.progs = t.progs;
    out.maps = t.maps;
    let pids: HashMap<VirtAddr, i32> =
        tasks.iter().filter_map(|t| t.detail.as_ref().ok().map(|d| (t.kva, d.detail.pid))).collect();
    let waiting: Vec<Waiting> = tasks.iter().filter_map(waiting).collect();
    let mut unlisted = UnlistedAcc::default();
    for &sched in scheds {
        // Each scheduler places the tasks no earlier one placed (a sub-scheduler's tasks are
        // in its own maps and arena).
        let mut left: Vec<Waiting> = waiting
            .iter()
            .filter(|t| out.places.get(&t.task).is_none_or(|p| p.place.is_none()))
            .map(|t| Waiting::new(t.task, t.pid))
            .collect();
        let s = read_sched(&w, &guest, sched, &pids, &mut left, &mut unlisted, &mut out);
        out.scheds.push(s);
    }
    out.unlisted_tasks = unlisted.tasks.len();
    out.unlisted_elems = unlisted.elems;
    let mut shown = unlisted.shown;
    shown.sort_unstable_by_key(|(task, _)| *task);
    out.unlisted_storage = shown
        .into_iter()
        .map(|(task, values)| UnlistedStorage {
            task,
            detail: r
                .guest()
                .read_task_detail(task)
                .map(|d| (d.pid, d.comm.to_string(), d.state))
                .map_err(|e| e.to_string()),
            values,
        })
        .collect();
    out
}

fn read_sched<M, T>(
    w: &Walker<'_, M, T>,
    g: &scxray_core::Guest<'_, M, T>,
    sched: VirtAddr,
    pids: &HashMap<VirtAddr, i32>,
    waiting: &mut [Waiting],
    unlisted: &mut UnlistedAcc,
    out: &mut BpfReads,
) -> SchedBpf
where
    M: scxray_core::PhysMem + ?Sized,
    T: scxray_core::Translate + ?Sized,
{
    let mut s = Sched::default();
    let mut buf = [VirtAddr(0); SCHED_MAPS];
    let walk = w.walk_sched(sched, sched, &mut buf, &mut s);
    let mut btfs: Vec<VirtAddr> = walk.prog_btf.into_iter().collect();
    btfs.extend(s.maps.iter().map(|m| m.btf));
    let blobs = Blobs::load(w, g, &btfs);
    let (parsed, bad) = blobs.parsed();
    out.problems.extend(bad);
    let objects: Vec<(VirtAddr, &Btf<'_>)> = parsed.iter().map(|(k, b)| (*k, b)).collect();
    let btf_of = |kva: VirtAddr| objects.iter().find(|(k, _)| *k == kva).map(|(_, b)| *b);
    let mut types = BtfPlaceTypes::new(&objects, &[]);

    // Placement first: it finds the arena globals the values' pointers are named against.
    let maps: Vec<VirtAddr> = s.maps.iter().map(|m| m.kva).collect();
    let placed = (!waiting.is_empty() || walk.arena.is_some())
        .then(|| w.place_tasks(&maps, walk.arena, &mut types, waiting, &mut s));
    let prog_btf = walk.prog_btf.and_then(btf_of);
    let arena = walk.arena.and_then(|a| w.arena(a).ok());
    let namer = match (prog_btf, &arena, placed.and_then(|p| p.globals)) {
        (Some(b), Some(a), Some(globals)) => {
            Some(ArenaNamer::new(b, a.geometry.user_vm_start, a.geometry.user_vm_end(), globals))
        }
        _ => None,
    };
    let arena_globals = match (prog_btf, &arena, placed.and_then(|p| p.globals)) {
        (Some(b), Some(a), Some(at)) => match arena_globals(b) {
            Ok(None) => None,
            Err(e) => Some(format!("<the program's BTF: {e}>")),
            Ok(Some(sec)) => Some(match globals_len(sec.size_or_type, at, a.geometry.user_vm_end()) {
                Err(why) => why,
                Ok(len) => {
                    let mut bytes = vec![0u8; len];
                    match a.read(at, &mut bytes) {
                        Ok(()) => match namer {
                            Some(n) => decode(Some(b), sec.id, &mut &bytes[..], n),
                            None => decode(Some(b), sec.id, &mut &bytes[..], NoNames),
                        },
                        Err(e) => format!("<unreadable at {at:#x}: {e}>"),
                    }
                }
            }),
        },
        _ => None,
    };
    for t in waiting.iter() {
        let place = t.place.map(|p| name_place(&types, &s.maps, p));
        if place.is_some() || !out.places.contains_key(&t.task) {
            out.places.insert(t.task, TaskPlace { place, claims: t.claims, ambiguous: t.ambiguous });
        }
    }
    let lists = s
        .lists
        .iter()
        .map(|l| ListRead { name: arena_parent_name(&types, l.btf, l.parent, l.parent_type), list: *l })
        .collect();

    let mut read_maps = Vec::new();
    for m in &s.maps {
        let btf = btf_of(m.btf);
        let storage = m.map_type == MapType::TASK_STORAGE;
        let mut c = Contents {
            btf,
            namer: namer.filter(|_| m.btf == walk.prog_btf.unwrap_or_default()),
            pids,
            storage_name: storage.then(|| m.name.to_string()),
            elems: Vec::new(),
            storage: Vec::new(),
            stored: HashSet::default(),
            repeats: 0,
            unlisted: &mut *unlisted,
            end: None,
            problems: Vec::new(),
        };
        w.walk_contents(m, &mut c);
        out.problems.extend(c.problems(m));
        for (task, v) in c.storage {
            out.task_storage.entry(task).or_default().push((m.name.to_string(), v));
        }
        let btf_error = (btf.is_none() && m.btf.0 != 0 && m.btf_value_type_id != 0)
            .then(|| format!("its BTF at {} could not be read", m.btf));
        read_maps.push(MapRead { header: *m, elems: c.elems, walk: c.end, btf_error });
    }
    out.problems.extend(s.problems.iter().map(problem_text));
    SchedBpf { sched, ops: s.ops, progs: s.progs, maps: read_maps, walk, arena_globals, lists, placed }
}

/// The name of the arena-globals struct at `parent` (a place's or a list's): `qa.fifos[2]`,
/// or `arena globals +0xc8` when its BTF does not name it.
/// How many bytes of the arena globals at `at` to read: the section's `size` is the guest's
/// BTF's word (up to 4 GiB), so no more than the arena holds from `at` to its `end`, and no
/// more than [`MAX_ARENA_GLOBALS`]; else why not, as the value's text.
fn globals_len(size: u32, at: u64, end: u64) -> Result<usize, String> {
    let len = u64::from(size);
    if len > end.saturating_sub(at) {
        return Err(format!("<not read: {len} bytes at {at:#x} run past the arena's end {end:#x}>"));
    }
    usize::try_from(len)
        .ok()
        .filter(|_| len <= MAX_ARENA_GLOBALS)
        .ok_or_else(|| format!("<not read: {len} bytes at {at:#x}, over the {MAX_ARENA_GLOBALS} bytes read>"))
}

fn arena_parent_name(types: &BtfPlaceTypes<'_, '_>, btf: VirtAddr, parent: u64, parent_type: u32) -> String {
    let mut s = String::new();
    if !matches!(types.name_place(btf, parent, parent_type, &mut s), Ok(true)) {
        s = format!("arena globals +{parent:#x}");
    }
    s
}

/// A place's name: `qa.fifos[2]`, or the map element holding the task.
fn name_place(types: &BtfPlaceTypes<'_, '_>, maps: &[MapHeader], p: Place) -> String {
    match p {
        Place::Arena { btf, parent, parent_type, steps, .. } => {
            format!("{} (#{steps})", arena_parent_name(types, btf, parent, parent_type))
        }
        Place::Elem { map_id, key, cpu, kind, .. } => {
            let name = maps
                .iter()
                .find(|m| m.id == map_id)
                .map_or_else(|| format!("map {map_id}"), |m| m.name.to_string());
            let key = match key {
                ElemKey::Index(i) => format!("[{i}]"),
                ElemKey::Hash { bucket, .. } => format!(" bucket {bucket}"),
                ElemKey::Owner { .. } => " (task storage)".into(),
                ElemKey::Slot { position, .. } => format!(" #{position}"),
                ElemKey::StructOps => String::new(),
            };
            let cpu = cpu.map_or_else(String::new, |c| format!(" cpu{c}"));
            let by = match kind {
                TaskFieldKind::Pid => "pid",
                TaskFieldKind::Task => "task pointer",
            };
            format!("{name}{key}{cpu} (by {by})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foldhash::HashMapExt;
    use scxray_tests::bpf::qmap_machine;

    #[test]
    fn unlisted_storage_keeps_the_first_tasks_met_and_counts_every_task_and_element() {
        let mut acc = UnlistedAcc::default();
        let mut decoded = 0;
        // 100 tasks, each with an element in map `a`, then the first one again in `a` (a
        // repeat) and in `b`, and the last one in `b`.
        for t in 0..100u64 {
            acc.note(VirtAddr(0x1000 * (t + 1)), "a", || {
                decoded += 1;
                format!("a{t}")
            });
        }
        acc.note(VirtAddr(0x1000), "a", || unreachable!("a repeat is not decoded"));
        acc.note(VirtAddr(0x1000), "b", || "b0".into());
        acc.note(VirtAddr(0x1000 * 100), "b", || unreachable!("a task past the first 64 is not decoded"));
        assert_eq!((acc.tasks.len(), acc.elems, acc.shown.len(), decoded), (100, 103, SHOWN_UNLISTED, 64));
        assert_eq!(
            acc.shown[0],
            (VirtAddr(0x1000), vec![("a".to_owned(), "a0".to_owned()), ("b".to_owned(), "b0".to_owned())])
        );
        assert_eq!(acc.shown[63], (VirtAddr(0x1000 * 64), vec![("a".to_owned(), "a63".to_owned())]));
    }

    #[test]
    fn the_arena_globals_are_read_within_the_arena_and_a_bounded_buffer() {
        let start = 1u64 << 44;
        let end = start + (16 << 12);
        // scx_qmap's `qa`: 304 bytes at the arena's start.
        assert_eq!(globals_len(304, start, end), Ok(304));
        // A size the guest's BTF may claim, past the arena: not allocated, said.
        let past = globals_len(u32::MAX, start, end).unwrap_err();
        assert!(past.contains("4294967295 bytes") && past.contains("run past the arena's end"), "{past}");
        assert!(globals_len(0x1000, end - 0x800, end).is_err());
        // Inside a 4 GiB arena but over the buffer's bound.
        let big = globals_len(2 << 20, start, start + (1 << 32)).unwrap_err();
        assert!(big.contains("over the 1048576 bytes read"), "{big}");
        assert_eq!(globals_len(1 << 20, start, start + (1 << 32)), Ok(1 << 20));
    }

    #[test]
    fn a_map_whose_contents_pass_cannot_run_is_said_not_shown_empty() {
        let (mut g, q) = qmap_machine();
        // A kernel whose layout has no `struct bpf_queue_stack`.
        g.layout.bpf.queue_stack = None;
        let queue = q.maps.iter().find(|m| m.0 == "pid_queue").unwrap().1;
        let pids = HashMap::new();
        let mut unlisted = UnlistedAcc::default();
        let (end, problems) = g.with(|guest| {
            let w = Walker::new(*guest, q.symbols);
            let m = w.read_map(queue).unwrap();
            let mut c = Contents {
                btf: None,
                namer: None,
                pids: &pids,
                storage_name: None,
                elems: Vec::new(),
                storage: Vec::new(),
                stored: HashSet::default(),
                repeats: 0,
                unlisted: &mut unlisted,
                end: None,
                problems: Vec::new(),
            };
            w.walk_contents(&m, &mut c);
            let problems: Vec<String> = c.problems(&m).collect();
            (c.end, problems)
        });
        // The pass says nothing of itself: no element, no failed read, no flag.
        let end = end.unwrap();
        assert_eq!(
            (end.elems, end.broken, end.first_error, end.truncated.bits(), end.anomalies.bits()),
            (0, 0, None, 0, 0)
        );
        assert_eq!(
            problems,
            ["BPF map contents: the layout has no offsets for struct bpf_queue_stack: map pid_queue (id 4)"]
        );
    }

    #[test]
    fn a_list_or_place_whose_btf_cannot_name_it_is_named_by_its_offset() {
        // No BTF object at all: nothing can be named.
        let types = BtfPlaceTypes::new(&[], &[]);
        let btf = VirtAddr(0xffff_8880_0000_2000);
        // What the list path used to keep (`let _ = name_place(..)`): an empty name.
        let mut raw = String::new();
        assert_eq!((types.name_place(btf, 0xc8, 11, &mut raw), raw.as_str()), (Ok(false), ""));
        assert_eq!(arena_parent_name(&types, btf, 0xc8, 11), "arena globals +0xc8");
        let place = Place::Arena {
            btf,
            parent: 0xc8,
            parent_type: 11,
            anchor: 0xc8,
            link: None,
            steps: 2,
            anchors: 1,
        };
        assert_eq!(name_place(&types, &[], place), "arena globals +0xc8 (#2)");
    }
}
