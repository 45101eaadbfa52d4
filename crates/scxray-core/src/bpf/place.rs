//! Where each waiting task is, in the scheduler's BPF state (issue 18, "Where each task
//! waits"): generic, with no table per scheduler. The BTF questions (which fields of a value
//! are pids or task pointers, which pointers lead to arena objects, which members of an
//! object link it to its peers, which arena globals point at such objects) are answered by a
//! [`PlaceTypes`] (`scxray_btf` implements it over the programs' BTF); this module reads
//! guest memory and decides.
//!
//! A task is placed
//!
//! 1. **in a map element** when an element of a QUEUE, STACK, hash or array map of the
//!    scheduler holds its pid or its `task_struct` address in a field [`PlaceTypes::
//!    task_fields`] names; and
//! 2. **in an arena structure** when its task storage points at an arena object (a
//!    TASK_STORAGE value's field [`PlaceTypes::object_pointers`] names) that is reachable
//!    from an arena global: for every *anchor* (a pointer member of the arena globals whose
//!    pointee type is the object's type, [`PlaceTypes::anchors`]) and every *link* (a member
//!    of the object pointing to its own type: `next`, `prev`, ..., [`PlaceTypes::links`]),
//!    the chain from the anchor's object along the link is followed (capped, loops detected).
//!    The anchors are grouped by the struct that holds them (their *parent*, e.g.
//!    `qa.fifos[2]` holding `head` and `tail`); a task reached from several parents is placed
//!    in the parent with the most anchors reaching it (a doubly linked FIFO's head and tail
//!    both reach every member; a slab pointer reaches only some), and a tie is reported as
//!    ambiguous.
//!
//! Each parent holding two or more anchors is checked as a list ([`ArenaList`]): from its
//! first anchor's object along the *forward* link to the end, each object's *back* link must
//! point at its predecessor (NULL at the first), and the walk must end at the last anchor's
//! object. The forward/back pair of a parent type is the one its lists of two or more
//! objects agree on.

use crate::addr::VirtAddr;
use crate::bpf::arena_map::{ArenaError, ArenaReader};
use crate::bpf::bytes::{i32_at, u64_at};
use crate::bpf::cycle::LoopCheck;
use crate::bpf::header::MapHeader;
use crate::bpf::storage::StorageLookup;
use crate::bpf::types::MapType;
use crate::bpf::visit::{BpfVisitor, Elem, ElemKey};
pub use crate::bpf::walked::ArenaList;
use crate::bpf::walker::{BpfError, BpfGroup, BpfPass, BpfProblem, Walker};
use crate::error::Field;
use crate::limits::{BpfLimits, CapBasis, Limit, WalkCap};
use crate::memory::PhysMem;
use crate::translate::Translate;
use core::ops::ControlFlow;

/// A BTF type of a BPF object: the `struct btf` it is in and its id there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TypeRef {
    /// The `struct btf` (a map's `btf`, a program's `aux->btf`).
    pub btf: VirtAddr,
    /// The type id in it.
    pub id: u32,
}

/// What a task-identifying field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TaskFieldKind {
    /// A 4-byte pid.
    Pid,
    /// A `struct task_struct *`.
    Task,
}

/// A field of a map's value that identifies a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TaskField {
    /// Its offset in the value.
    pub offset: u32,
    /// What it holds.
    pub kind: TaskFieldKind,
}

/// A field of a task-storage value holding a pointer to an object (kept only when it
/// points into the scheduler's arena).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ObjectPointer {
    /// Its offset in the value.
    pub offset: u32,
    /// The pointee's type.
    pub object: TypeRef,
}

/// A pointer member of the arena globals whose pointee is an object type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Anchor {
    /// Its offset in the globals (`qa.fifos[2].head`).
    pub offset: u64,
    /// The offset of the struct that holds it (`qa.fifos[2]`).
    pub parent: u64,
    /// That struct's type id (in the same BTF).
    pub parent_type: u32,
}

/// Task fields of one map's values at most.
pub const MAX_TASK_FIELDS: usize = 8;
/// Object pointers of one task-storage value at most.
pub const MAX_OBJECT_POINTERS: usize = 4;
/// Links of one object type at most.
pub const MAX_LINKS: usize = 8;
/// Anchors of one object type at most (one bit each in a task's claim).
pub const MAX_ANCHORS: usize = 64;
/// Object types the placement follows at most.
pub const MAX_OBJECT_TYPES: usize = 4;

/// The anchors of one object type, and the arena globals they are in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anchors {
    /// The anchors, any order.
    pub list: heapless::Vec<Anchor, MAX_ANCHORS>,
    /// More anchors exist than the list holds.
    pub truncated: bool,
    /// Size of the arena globals (the `.addr_space.1` DATASEC): where libbpf put them
    /// follows from it.
    pub globals_size: u64,
}

/// The BTF could not answer (malformed, or the object's BTF is not known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypesError;

/// The BTF questions the placement asks (see the module docs). Empty answers are fine: that
/// map or type is then not searched.
pub trait PlaceTypes {
    /// The fields of `map`'s value that hold a task's pid or `task_struct` address.
    ///
    /// # Errors
    /// The map's BTF cannot answer.
    fn task_fields(
        &mut self,
        map: &MapHeader,
        out: &mut heapless::Vec<TaskField, MAX_TASK_FIELDS>,
    ) -> Result<(), TypesError>;

    /// The fields of the TASK_STORAGE map `map`'s value that point to objects.
    ///
    /// # Errors
    /// The map's BTF cannot answer.
    fn object_pointers(
        &mut self,
        map: &MapHeader,
        out: &mut heapless::Vec<ObjectPointer, MAX_OBJECT_POINTERS>,
    ) -> Result<(), TypesError>;

    /// The offsets of the members of `object` that point to its own type.
    ///
    /// # Errors
    /// The BTF cannot answer.
    fn links(&mut self, object: TypeRef, out: &mut heapless::Vec<u32, MAX_LINKS>) -> Result<(), TypesError>;

    /// The arena globals' pointer members whose pointee is `object`'s type.
    ///
    /// # Errors
    /// The BTF cannot answer (or has no arena globals).
    fn anchors(&mut self, object: TypeRef, out: &mut Anchors) -> Result<(), TypesError>;
}

/// An arena object a task's storage points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArenaObject {
    /// The TASK_STORAGE map's id.
    pub storage_map: u32,
    /// The object's user address.
    pub uaddr: u64,
    /// Its type.
    pub object: TypeRef,
}

/// A place in the scheduler's BPF state that holds a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Place {
    /// An element of a map whose value holds the task's pid or address.
    Elem {
        /// The map.
        map: VirtAddr,
        /// Its id.
        map_id: u32,
        /// Which element.
        key: ElemKey,
        /// The CPU whose copy, for per-CPU maps.
        cpu: Option<u32>,
        /// The field's offset in the value.
        offset: u32,
        /// What the field holds.
        kind: TaskFieldKind,
    },
    /// A structure in the arena, reached from an arena global.
    Arena {
        /// The BTF the offsets and type ids are in.
        btf: VirtAddr,
        /// The struct holding the anchors that reach the task (offset in the globals).
        parent: u64,
        /// Its type id.
        parent_type: u32,
        /// The anchor (offset in the globals) whose chain reached the task soonest.
        anchor: u64,
        /// The link (offset in the object) that chain followed (`None`: the anchor points at
        /// the task's object itself).
        link: Option<u32>,
        /// Objects passed before the task's on that chain (0: the anchor's own object).
        steps: u32,
        /// Anchors of the parent that reach the task.
        anchors: u32,
    },
}

/// A task the kernel walk found waiting outside any kernel DSQ (in BPF custody, or on no
/// DSQ), and where the placement found it. Build with [`Waiting::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Waiting {
    /// The task.
    pub task: VirtAddr,
    /// Its pid.
    pub pid: i32,
    /// The arena object its task storage points at.
    pub object: Option<ArenaObject>,
    /// Where it is (the best place: a map element found first, else the arena parent with
    /// the most anchors reaching it).
    pub place: Option<Place>,
    /// Distinct places that hold it (map elements and arena parents).
    pub claims: u16,
    /// Another place is as good as `place` (two arena parents with as many anchors).
    pub ambiguous: bool,
    // The arena parent being scored (claims arrive parent by parent), its anchor mask, and
    // the best score so far.
    cur_parent: Option<(u64, u32)>,
    cur_mask: u64,
    cur_best: Option<(u64, Option<u32>, u32)>,
    best_score: u32,
}

impl Waiting {
    /// The task at `task` with `pid`, not placed yet.
    #[must_use]
    pub const fn new(task: VirtAddr, pid: i32) -> Self {
        Self {
            task,
            pid,
            object: None,
            place: None,
            claims: 0,
            ambiguous: false,
            cur_parent: None,
            cur_mask: 0,
            cur_best: None,
            best_score: 0,
        }
    }

    /// A map element holds it.
    fn claim_elem(&mut self, place: Place) {
        if self.place == Some(place) {
            return;
        }
        self.claims = self.claims.saturating_add(1);
        if self.place.is_none() {
            self.place = Some(place);
        }
    }

    /// Ends the scoring of the current arena parent.
    fn commit(&mut self, btf: VirtAddr) {
        let Some((parent, parent_type)) = self.cur_parent.take() else { return };
        let score = self.cur_mask.count_ones();
        self.cur_mask = 0;
        let Some((anchor, link, steps)) = self.cur_best.take() else { return };
        self.claims = self.claims.saturating_add(1);
        let place = Place::Arena { btf, parent, parent_type, anchor, link, steps, anchors: score };
        match self.place {
            Some(Place::Elem { .. }) => {}
            _ if score > self.best_score => {
                self.best_score = score;
                self.place = Some(place);
                self.ambiguous = false;
            }
            _ if score == self.best_score => self.ambiguous = true,
            _ => {}
        }
    }
}

/// How a placement ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PlaceWalk {
    /// Tasks given.
    pub tasks: u32,
    /// Tasks placed.
    pub placed: u32,
    /// Placed tasks with an equally good other place.
    pub ambiguous: u32,
    /// Maps whose elements were searched for pids and task pointers.
    pub maps_searched: u32,
    /// Tasks whose storage points at an arena object.
    pub objects: u32,
    /// Anchors followed.
    pub anchors: u32,
    /// Lists checked.
    pub lists: u32,
    /// A cap fired: a map's elements, a task's storage list, an anchor list, a chain's
    /// links, the arena reads.
    pub truncated: bool,
    /// The cap that cut the placement ([`PlaceWalk::cut`]): the first that fired in the
    /// arena (links, arena reads, object types, anchors) or on a task's storage list, else a
    /// searched map's (its own contents pass reports the same cut).
    pub cap: Option<WalkCap>,
    /// Where the arena globals were found (user address).
    pub globals: Option<u64>,
    /// Reads that failed (maps, task storage, arena objects).
    pub errors: u32,
    /// Tasks whose storage list loops (not the kernel's shape): their arena object unknown,
    /// they are left unplaced.
    pub storage_loops: u32,
}

impl PlaceWalk {
    /// Notes that `cap` cut the placement: kept when it is the first, or the first outside
    /// the searched maps' contents (a map's cut is found first, and named by the map's own
    /// contents pass too, so an arena cap after it must not be hidden behind it).
    pub fn cut(&mut self, cap: WalkCap) {
        self.truncated = true;
        let in_map = |c: &WalkCap| is_contents_cap(c.limit);
        if self.cap.is_none_or(|c| in_map(&c) && !in_map(&cap)) {
            self.cap = Some(cap);
        }
    }
}

/// Whether `limit` is one of a map contents pass's caps ([`crate::bpf::ContentsWalk::caps`]).
#[must_use]
pub const fn is_contents_cap(limit: Limit) -> bool {
    matches!(
        limit,
        Limit::BpfElems
            | Limit::BpfHashBuckets
            | Limit::BpfStorageBuckets
            | Limit::BpfChain
            | Limit::BpfFreeRanges
            | Limit::BpfArenaProbes
    )
}

/// The caps of the reads through one arena: the links of one chain, the arena reads of the
/// whole placement.
#[derive(Clone, Copy, Debug)]
struct ArenaCaps {
    links: WalkCap,
    reads: WalkCap,
}

impl ArenaCaps {
    fn new<M: PhysMem + ?Sized, T: Translate + ?Sized>(
        arena: &ArenaReader<'_, '_, M, T>,
        l: &BpfLimits,
    ) -> Self {
        Self { links: chain_cap(arena, l.links), reads: WalkCap::fixed(Limit::BpfArenaReads, l.arena_reads) }
    }
}

/// Smallest object a chain links: its link, a pointer.
const LINK_SIZE: u64 = 8;

/// The links one chain through `arena` follows before its cap fires, at most `ceiling`.
/// Sized from the arena, not fixed: a list of distinct objects holds at most one object per
/// [`LINK_SIZE`] bytes of the arena's allocated pages (scx_qmap's free list threads all of
/// its 16384-entry slab, far past any fixed cap a FIFO would need), and Brent's check finds a
/// loop among `n` such nodes within `3 n + 2` steps (the saved node is reset at each power of
/// two). So on an arena whose objects do not overlap the cap never fires: a chain ends, or
/// loops and says so. Without `bpf_arena.nr_pages` (before 7.3) the arena's size counts.
/// As a [`Limit::BpfLinks`] cap: the ceiling ([`CapBasis::Fixed`], the caller's number) or
/// sized from the pages counted ([`CapBasis::Count`]).
fn chain_cap<M: PhysMem + ?Sized, T: Translate + ?Sized>(
    arena: &ArenaReader<'_, '_, M, T>,
    ceiling: u32,
) -> WalkCap {
    let pages = arena.info.nr_pages.unwrap_or(u64::from(arena.info.pages)).min(u64::from(arena.info.pages));
    let slots = pages.saturating_mul(arena.geometry.page_size) / LINK_SIZE;
    let steps = slots.saturating_mul(3).saturating_add(2);
    match u32::try_from(steps) {
        Ok(value) if value < ceiling => WalkCap {
            limit: Limit::BpfLinks,
            value,
            basis: CapBasis::Count { count: u32::try_from(pages).unwrap_or(u32::MAX) },
        },
        _ => WalkCap::fixed(Limit::BpfLinks, ceiling),
    }
}

/// Follows one chain through the arena: `(length, end, looped, cut, error)`, calling
/// `f(object, steps)` for each object from `start`.
fn chain<M: PhysMem + ?Sized, T: Translate + ?Sized>(
    arena: &ArenaReader<'_, '_, M, T>,
    start: u64,
    link: u32,
    caps: ArenaCaps,
    mut f: impl FnMut(u64, u32, u64),
) -> ChainEnd {
    let mut end = ChainEnd { length: 0, last: start, looped: false, cut: None, error: None };
    let mut node = start;
    let mut check = LoopCheck::new(start);
    loop {
        if end.length >= caps.links.value {
            end.cut = Some(caps.links);
            return end;
        }
        let next = match node.checked_add(u64::from(link)).map(|at| arena.u64(at)) {
            Some(Ok(n)) => n,
            Some(Err(ArenaError::Budget)) => {
                end.cut = Some(caps.reads);
                return end;
            }
            Some(Err(e)) => {
                end.error = Some(e);
                return end;
            }
            None => {
                end.error = Some(ArenaError::Outside { uaddr: node });
                return end;
            }
        };
        f(node, end.length, next);
        end.length = end.length.saturating_add(1);
        end.last = node;
        if next == 0 {
            return end;
        }
        if check.step(next) {
            end.looped = true;
            return end;
        }
        node = next;
    }
}

/// How [`chain`] ended.
#[derive(Clone, Copy, Debug)]
struct ChainEnd {
    length: u32,
    last: u64,
    looped: bool,
    /// The cap that cut it: its links, or the arena reads.
    cut: Option<WalkCap>,
    error: Option<ArenaError>,
}

/// The visitor of the map-element search: matches each value's task fields.
struct ElemSearch<'t, 'w, 'a, 'v, M: ?Sized, T: ?Sized, V: ?Sized> {
    walker: &'w Walker<'a, M, T>,
    tasks: &'t mut [Waiting],
    fields: &'t [TaskField],
    errors: u32,
    v: &'v mut V,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized, V: BpfVisitor + ?Sized> BpfVisitor
    for ElemSearch<'_, '_, '_, '_, M, T, V>
{
    fn elem(&mut self, map: &MapHeader, elem: &Elem<'_>) -> ControlFlow<()> {
        for field in self.fields {
            // The pid, and for a task pointer the task it must be.
            let (pid, task_ptr) = match field.kind {
                TaskFieldKind::Pid => (i32_at(elem.value, u64::from(field.offset)).ok(), None),
                TaskFieldKind::Task => match u64_at(elem.value, u64::from(field.offset)) {
                    Ok(0) | Err(_) => (None, None),
                    Ok(task) => (self.walker.task_pid(VirtAddr(task)), Some(task)),
                },
            };
            let Some(pid) = pid.filter(|&p| p > 0) else { continue };
            let from = self.tasks.partition_point(|w| w.pid < pid);
            let place = Place::Elem {
                map: map.kva,
                map_id: map.id,
                key: elem.key,
                cpu: elem.cpu,
                offset: field.offset,
                kind: field.kind,
            };
            for w in self.tasks.iter_mut().skip(from).take_while(|w| w.pid == pid) {
                if task_ptr.is_none_or(|t| t == w.task.0) {
                    w.claim_elem(place);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn problem(&mut self, problem: &BpfProblem) {
        self.errors = self.errors.saturating_add(1);
        self.v.problem(problem);
    }
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// `task_struct.pid` of `task` (`None`: no layout, or unreadable).
    fn task_pid(&self, task: VirtAddr) -> Option<i32> {
        let tl = self.guest.layout.task?;
        let at = task.member(tl.pid, Field::TaskPid).ok()?;
        self.guest.read_le::<i32>(at, Field::TaskPid).ok()
    }

    /// Places each of `tasks` in the BPF state of the scheduler whose maps are `maps` (from
    /// [`Walker::walk_sched`]) and whose arena is `arena` (`SchedWalk::arena`), asking
    /// `types` the BTF questions: see the module docs. Fills each task's `object`, `place`,
    /// `claims` and `ambiguous`; reorders `tasks` (by object address at the end). Every
    /// list checked goes to `v.arena_list`, every failure to `v.problem`.
    pub fn place_tasks<P: PlaceTypes, V: BpfVisitor + ?Sized>(
        &self,
        maps: &[VirtAddr],
        arena: Option<VirtAddr>,
        types: &mut P,
        tasks: &mut [Waiting],
        v: &mut V,
    ) -> PlaceWalk {
        let mut walk =
            PlaceWalk { tasks: u32::try_from(tasks.len()).unwrap_or(u32::MAX), ..PlaceWalk::default() };
        // 1. Map elements holding pids or task pointers.
        tasks.sort_unstable_by_key(|w| w.pid);
        for &map in maps {
            let header = match self.read_map(map) {
                Ok(h) => h,
                Err(e) => {
                    self.place_error(&mut walk, e, v);
                    continue;
                }
            };
            let t = header.map_type;
            let searchable = t == MapType::QUEUE
                || t == MapType::STACK
                || t.is_hash()
                || t == MapType::ARRAY
                || t == MapType::PERCPU_ARRAY;
            if !searchable {
                continue;
            }
            let mut fields = heapless::Vec::new();
            if types.task_fields(&header, &mut fields).is_err() || fields.is_empty() {
                continue;
            }
            walk.maps_searched = walk.maps_searched.saturating_add(1);
            let mut search = ElemSearch { walker: self, tasks, fields: &fields, errors: 0, v };
            let contents = self.walk_contents(&header, &mut search);
            walk.errors = walk.errors.saturating_add(search.errors);
            for cap in contents.caps(&self.limits) {
                walk.cut(cap);
            }
        }
        // 2. Arena objects from task storage, then the anchors' chains.
        if let Some(arena_map) = arena {
            match self.arena(arena_map) {
                Ok(reader) => self.place_in_arena(&reader, maps, types, tasks, &mut walk, v),
                Err(e) => self.place_error(&mut walk, e, v),
            }
        }
        for w in tasks.iter() {
            if w.place.is_some() {
                walk.placed = walk.placed.saturating_add(1);
                walk.ambiguous = walk.ambiguous.saturating_add(u32::from(w.ambiguous));
            }
        }
        walk
    }

    fn place_error<V: BpfVisitor + ?Sized>(&self, walk: &mut PlaceWalk, e: BpfError, v: &mut V) {
        walk.errors = walk.errors.saturating_add(1);
        v.problem(&BpfProblem::from_error(BpfPass::Place, e));
    }

    /// Step 2 of [`Walker::place_tasks`] over the arena `arena`.
    fn place_in_arena<P: PlaceTypes, V: BpfVisitor + ?Sized>(
        &self,
        arena: &ArenaReader<'_, '_, M, T>,
        maps: &[VirtAddr],
        types: &mut P,
        tasks: &mut [Waiting],
        walk: &mut PlaceWalk,
        v: &mut V,
    ) {
        let mut kinds: heapless::Vec<TypeRef, MAX_OBJECT_TYPES> = heapless::Vec::new();
        for &map in maps {
            let Ok(header) = self.read_map(map) else { continue };
            if header.map_type != MapType::TASK_STORAGE {
                continue;
            }
            let mut pointers = heapless::Vec::new();
            if types.object_pointers(&header, &mut pointers).is_err() || pointers.is_empty() {
                continue;
            }
            for w in tasks.iter_mut().filter(|w| w.object.is_none()) {
                let value = match self.task_storage(w.task, map) {
                    Ok(StorageLookup::Found(s)) => s.value,
                    Ok(StorageLookup::Absent) => continue,
                    Ok(StorageLookup::Cut { looped: true }) => {
                        // No cap would help: counted, and the task left unplaced.
                        walk.storage_loops = walk.storage_loops.saturating_add(1);
                        continue;
                    }
                    Ok(StorageLookup::Cut { looped: false }) => {
                        walk.cut(WalkCap::fixed(Limit::BpfOwnerStorages, self.limits.owner_storages));
                        continue;
                    }
                    Err(BpfError::MissingLayout(group)) => {
                        v.problem(&BpfProblem::MissingLayout { pass: BpfPass::Place, group });
                        return;
                    }
                    Err(e) => {
                        self.place_error(walk, e, v);
                        continue;
                    }
                };
                let bytes = crate::bpf::bytes::GuestSpan::new(
                    &self.guest,
                    value,
                    u64::from(header.value_size),
                    Field::MapValue,
                );
                for p in &pointers {
                    let Ok(uaddr) = u64_at(&bytes, u64::from(p.offset)) else {
                        walk.errors = walk.errors.saturating_add(1);
                        continue;
                    };
                    if uaddr != 0 && arena.geometry.page_of(uaddr).is_some() {
                        w.object = Some(ArenaObject { storage_map: header.id, uaddr, object: p.object });
                        walk.objects = walk.objects.saturating_add(1);
                        if !kinds.contains(&p.object) && kinds.push(p.object).is_err() {
                            walk.cut(object_types_cap());
                        }
                        break;
                    }
                }
            }
        }
        tasks.sort_unstable_by_key(|w| w.object.map_or(u64::MAX, |o| o.uaddr));
        for &object in &kinds {
            self.follow_anchors(arena, object, types, tasks, walk, v);
        }
    }

    /// Where libbpf put the arena globals of `size` bytes: at the arena's end (every kernel
    /// that takes 64-bit offsets), else at page 0; the candidate whose first and last pages
    /// are allocated.
    fn find_globals(&self, arena: &ArenaReader<'_, '_, M, T>, size: u64) -> Option<u64> {
        let g = &arena.geometry;
        let last = size.checked_sub(1)?;
        [g.globals_at_end(size), Some(g.user_vm_start)].into_iter().flatten().find(|&at| {
            let pages = [g.page_of(at), at.checked_add(last).and_then(|l| g.page_of(l))];
            pages.iter().all(|p| {
                p.is_some_and(|(page, _)| {
                    arena.page_state(page) == crate::bpf::arena_map::PageState::Allocated
                })
            })
        })
    }

    /// Follows every anchor of `object`'s type along every link, scoring the tasks reached
    /// (see the module docs), then checks the lists.
    fn follow_anchors<P: PlaceTypes, V: BpfVisitor + ?Sized>(
        &self,
        arena: &ArenaReader<'_, '_, M, T>,
        object: TypeRef,
        types: &mut P,
        tasks: &mut [Waiting],
        walk: &mut PlaceWalk,
        v: &mut V,
    ) {
        let mut links = heapless::Vec::new();
        let mut anchors = Anchors::default();
        if types.links(object, &mut links).is_err()
            || links.is_empty()
            || types.anchors(object, &mut anchors).is_err()
        {
            return;
        }
        if anchors.truncated {
            walk.cut(WalkCap::fixed(Limit::PlaceAnchors, u32::try_from(MAX_ANCHORS).unwrap_or(u32::MAX)));
        }
        anchors.list.sort_unstable_by_key(|a| (a.parent, a.offset));
        let Some(globals) = self.find_globals(arena, anchors.globals_size) else {
            v.problem(&BpfProblem::MissingLayout { pass: BpfPass::Place, group: BpfGroup::Arena });
            return;
        };
        walk.globals = Some(globals);
        let caps = ArenaCaps::new(arena, &self.limits);
        let scope = Globals { arena, at: globals, btf: object.btf, reads: caps.reads };
        // Each anchor read once, for the chains and the lists: a failed read counted once.
        let mut anchored: heapless::Vec<Anchored, MAX_ANCHORS> = heapless::Vec::new();
        for a in &anchors.list {
            // As many as the anchors: never full.
            if anchored.push(Anchored { a: *a, target: scope.anchor(a, walk) }).is_err() {
                break;
            }
        }
        for (index, Anchored { a, target }) in anchored.iter().enumerate() {
            let Ok(Some(target)) = *target else { continue };
            walk.anchors = walk.anchors.saturating_add(1);
            let bit = u32::try_from(index).ok().and_then(|i| 1u64.checked_shl(i)).unwrap_or(0);
            for &link in &links {
                let end = chain(arena, target, link, caps, |node, steps, _| {
                    let key = |w: &Waiting| w.object.map_or(u64::MAX, |o| o.uaddr);
                    let from = tasks.partition_point(|w| key(w) < node);
                    for w in tasks.iter_mut().skip(from).take_while(|w| key(w) == node) {
                        if w.object.is_none_or(|o| o.object != object) {
                            continue;
                        }
                        if w.cur_parent != Some((a.parent, a.parent_type)) {
                            w.commit(object.btf);
                            w.cur_parent = Some((a.parent, a.parent_type));
                        }
                        w.cur_mask |= bit;
                        if w.cur_best.is_none_or(|(_, _, s)| steps < s) {
                            w.cur_best = Some((a.offset, (steps > 0).then_some(link), steps));
                        }
                    }
                });
                if let Some(cap) = end.cut {
                    walk.cut(cap);
                }
                if end.error.is_some() {
                    walk.errors = walk.errors.saturating_add(1);
                }
            }
        }
        for w in tasks.iter_mut() {
            w.commit(object.btf);
        }
        self.check_lists(&scope, &links, &anchored, walk, v);
    }

    /// Checks the lists of every parent with two or more anchors (see [`ArenaList`]): first
    /// which forward/back link pair and which first/last anchors the parents of each type
    /// agree on (from a list of two or more objects), then each such parent's list.
    fn check_lists<V: BpfVisitor + ?Sized>(
        &self,
        globals: &Globals<'_, '_, '_, M, T>,
        links: &[u32],
        anchors: &[Anchored],
        walk: &mut PlaceWalk,
        v: &mut V,
    ) {
        let arena = globals.arena;
        let caps = ArenaCaps::new(arena, &self.limits);
        let mut shapes: heapless::Vec<ListShape, MAX_OBJECT_TYPES> = heapless::Vec::new();
        let groups = || anchors.chunk_by(|a, b| a.a.parent == b.a.parent).filter(|g| g.len() >= 2);
        for group in groups() {
            let Some(first) = group.first() else { continue };
            if shapes.iter().any(|s| s.parent_type == first.a.parent_type) {
                continue;
            }
            // The first and last anchors of a list sit side by side (`head`, `tail`).
            'pairs: for pair in group.windows(2) {
                let [Anchored { a, target: Ok(Some(from)) }, Anchored { a: b, target: Ok(Some(to)) }] = *pair
                else {
                    continue;
                };
                for &forward in links {
                    let trial = walk_list(arena, from, forward, links, None, caps);
                    // A trial the caps cut may have been the list's shape: the lists
                    // checked without it are not all there are.
                    if let Some(cap) = trial.end.cut {
                        walk.cut(cap);
                    }
                    if trial.end.length >= 2
                        && trial.clean()
                        && trial.end.last == to
                        && let Some(back) = trial.back_candidates.first().copied()
                    {
                        let shape = ListShape {
                            parent_type: a.parent_type,
                            first: a.offset.saturating_sub(a.parent),
                            last: b.offset.saturating_sub(b.parent),
                            forward,
                            back,
                        };
                        if shapes.push(shape).is_err() {
                            walk.cut(object_types_cap());
                        }
                        break 'pairs;
                    }
                }
            }
        }
        for group in groups() {
            let Some(first) = group.first() else { continue };
            let Some(shape) = shapes.iter().find(|s| s.parent_type == first.a.parent_type) else { continue };
            let anchor_at = |rel: u64| group.iter().find(|x| x.a.offset.saturating_sub(x.a.parent) == rel);
            let (Some(&Anchored { a, target: from }), Some(&Anchored { a: b, target: to })) =
                (anchor_at(shape.first), anchor_at(shape.last))
            else {
                continue;
            };
            let mut list = ArenaList {
                btf: globals.btf,
                parent: a.parent,
                parent_type: a.parent_type,
                first: a.offset,
                last: b.offset,
                forward: shape.forward,
                back: Some(shape.back),
                length: 0,
                // Empty: both anchors NULL.
                agree: from == Ok(None) && to == Ok(None),
                bad_back: None,
                looped: false,
                truncated: false,
                cap: None,
                error: None,
            };
            // An anchor outside the arena or unreadable: the list is not the kernel's, and
            // not empty either.
            for e in [from, to].into_iter().filter_map(Result::err) {
                if e == ArenaError::Budget {
                    list.cap.get_or_insert(caps.reads);
                } else {
                    list.error.get_or_insert(e);
                }
            }
            if let Ok(Some(from)) = from {
                let run = walk_list(arena, from, shape.forward, links, Some(shape.back), caps);
                list.length = run.end.length;
                list.looped = run.end.looped;
                list.cap = list.cap.or(run.end.cut);
                list.error = run.end.error.or(list.error);
                list.bad_back = run.bad_back;
                list.agree = run.clean() && run.bad_back.is_none() && to == Ok(Some(run.end.last));
            }
            list.truncated = list.cap.is_some();
            walk.lists = walk.lists.saturating_add(1);
            if let Some(cap) = list.cap {
                walk.cut(cap);
            }
            v.arena_list(&list);
        }
    }
}

/// The arena globals of one BTF object, where the anchors are.
struct Globals<'r, 'w, 'a, M: ?Sized, T: ?Sized> {
    arena: &'r ArenaReader<'w, 'a, M, T>,
    /// Their user address.
    at: u64,
    /// The BTF the anchors' offsets and types are in.
    btf: VirtAddr,
    /// The arena reads' cap, for a read the budget refuses.
    reads: WalkCap,
}

/// An anchor and what it points at, read once ([`Globals::anchor`]).
#[derive(Clone, Copy, Debug)]
struct Anchored {
    a: Anchor,
    target: Result<Option<u64>, ArenaError>,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Globals<'_, '_, '_, M, T> {
    /// The object anchor `a` points at, `Ok(None)` for NULL; `Err` for a value outside the
    /// arena ([`ArenaError::Outside`], not counted) or a failed read (counted in `walk`: the
    /// read budget as truncation, any other failure as an error).
    fn anchor(&self, a: &Anchor, walk: &mut PlaceWalk) -> Result<Option<u64>, ArenaError> {
        let read = match self.at.checked_add(a.offset) {
            Some(at) => self.arena.u64(at),
            None => Err(ArenaError::Outside { uaddr: self.at }),
        };
        match read {
            Ok(0) => Ok(None),
            Ok(t) if self.arena.geometry.page_of(t).is_some() => Ok(Some(t)),
            Ok(t) => Err(ArenaError::Outside { uaddr: t }),
            Err(e) => {
                if e == ArenaError::Budget {
                    walk.cut(self.reads);
                } else {
                    walk.errors = walk.errors.saturating_add(1);
                }
                Err(e)
            }
        }
    }
}

/// The cap of the fixed buffers of object types and list shapes.
fn object_types_cap() -> WalkCap {
    WalkCap::fixed(Limit::PlaceObjectTypes, u32::try_from(MAX_OBJECT_TYPES).unwrap_or(u32::MAX))
}

/// What the lists of one parent type agree on.
#[derive(Clone, Copy, Debug)]
struct ListShape {
    parent_type: u32,
    /// The first and last anchors, as offsets in the parent.
    first: u64,
    last: u64,
    forward: u32,
    back: u32,
}

/// A walk along a list's forward link, checking back links.
struct ListRun {
    end: ChainEnd,
    /// The links that pointed back at every predecessor (NULL at the first), when no back
    /// link was given.
    back_candidates: heapless::Vec<u32, MAX_LINKS>,
    /// With a back link given: the first object whose back link disagrees.
    bad_back: Option<u64>,
}

impl ListRun {
    fn clean(&self) -> bool {
        !self.end.looped && self.end.cut.is_none() && self.end.error.is_none()
    }
}

/// Walks from `from` along `forward`, checking `back` (or, without one, every other link) at
/// each object against its predecessor.
fn walk_list<M: PhysMem + ?Sized, T: Translate + ?Sized>(
    arena: &ArenaReader<'_, '_, M, T>,
    from: u64,
    forward: u32,
    links: &[u32],
    back: Option<u32>,
    caps: ArenaCaps,
) -> ListRun {
    let mut candidates: heapless::Vec<u32, MAX_LINKS> = heapless::Vec::new();
    match back {
        Some(b) => {
            let _ = candidates.push(b);
        }
        None => {
            for &l in links.iter().filter(|&&l| l != forward) {
                let _ = candidates.push(l);
            }
        }
    }
    let mut prev = 0u64;
    let mut bad_back = None;
    // A back link the read budget refused is not judged: the walk is cut there.
    let mut refused = false;
    let mut end = chain(arena, from, forward, caps, |node, _, _| {
        candidates.retain(|&b| match node.checked_add(u64::from(b)).map(|at| arena.u64(at)) {
            Some(Err(ArenaError::Budget)) => {
                refused = true;
                true
            }
            read => read == Some(Ok(prev)),
        });
        if back.is_some() && candidates.is_empty() && bad_back.is_none() {
            bad_back = Some(node);
        }
        prev = node;
    });
    if refused {
        end.cut.get_or_insert(caps.reads);
    }
    ListRun { end, back_candidates: candidates, bad_back }
}
