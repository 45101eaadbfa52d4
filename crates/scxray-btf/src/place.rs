//! The BTF answers to scxray-core's placement of waiting tasks
//! ([`scxray_core::bpf::PlaceTypes`]), read from the BPF programs' own BTF, and the names of
//! arena places (`qa.fifos[2]`).
//!
//! The rules, with no table per scheduler:
//!
//! - **task fields** of a map's value: a 4-byte integer member named `pid` (or a name a
//!   [`PlaceHint::PidField`] adds), and a pointer to `struct task_struct`; a QUEUE's or
//!   STACK's value that is itself a 4-byte integer is a bare pid (scx_qmap before its arena
//!   kept its FIFOs as QUEUEs of pids), unless [`PlaceHint::NoBarePids`]. `tgid` is not
//!   taken: it names a process, which many waiting threads share.
//! - **object pointers** of a TASK_STORAGE value: its pointer members to structs other than
//!   `task_struct` (the core keeps those that point into the arena).
//! - **links** of an object type: its pointer members to its own type (a hint may name
//!   them: [`PlaceHint::Links`]).
//! - **anchors**: the pointer members to the object type anywhere in the arena globals (the
//!   `.addr_space.1` DATASEC), with the struct that holds each (a hint may keep only those
//!   under a path: [`PlaceHint::AnchorsUnder`]).
//!
//! Every walk of a type is bounded (depth, array elements, members visited), so BTF whose
//! types loop ends.

use core::fmt::{self, Write};

use scxray_core::VirtAddr;
use scxray_core::bpf::place::{MAX_LINKS, MAX_OBJECT_POINTERS, MAX_TASK_FIELDS};
use scxray_core::bpf::{
    Anchor, Anchors, MapHeader, MapType, ObjectPointer, PlaceTypes, TaskField, TaskFieldKind, TypeRef,
    TypesError,
};
use scxray_core::heapless;

use crate::btf::Btf;
use crate::error::BtfError;
use crate::format::PointerNamer;
use crate::types::{Kind, Type};
use crate::value::DecodeLimits;

/// The DATASEC libbpf puts `__arena` globals in.
pub const ARENA_GLOBALS: &str = ".addr_space.1";

/// How deep a value's type is searched for task fields and object pointers.
const FIELD_DEPTH: u32 = 6;
/// How deep the arena globals are searched for anchors.
const ANCHOR_DEPTH: u32 = 8;
/// Elements of one array searched (task fields); an array of anchors is searched whole up
/// to the anchor cap.
const ARRAY_ELEMS: u32 = 16;
/// Types visited by one search at most (a type graph that loops ends here).
const BUDGET: u32 = 4096;

/// Scheduler-specific knowledge, as data (see the module docs for the rules they amend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceHint<'h> {
    /// Integer members with this name hold pids too.
    PidField(&'h str),
    /// Objects of the struct named `object` link to their peers only through `members`.
    Links {
        /// The struct's name.
        object: &'h str,
        /// The link members' names.
        members: &'h [&'h str],
    },
    /// Only anchors whose path in the arena globals starts with this (e.g. `qa.fifos`).
    AnchorsUnder(&'h str),
    /// A QUEUE's or STACK's bare 4-byte values are not pids.
    NoBarePids,
}

/// [`PlaceTypes`] over the BTF objects of a scheduler's programs, by the guest address of
/// their `struct btf`.
#[derive(Debug)]
pub struct BtfPlaceTypes<'s, 'a> {
    objects: &'s [(VirtAddr, &'s Btf<'a>)],
    hints: &'s [PlaceHint<'s>],
}

impl<'s, 'a> BtfPlaceTypes<'s, 'a> {
    /// The answers from `objects` (each `struct btf` address with its parsed blob), amended
    /// by `hints`.
    #[must_use]
    pub fn new(objects: &'s [(VirtAddr, &'s Btf<'a>)], hints: &'s [PlaceHint<'s>]) -> Self {
        Self { objects, hints }
    }

    fn btf(&self, at: VirtAddr) -> Result<&'s Btf<'a>, TypesError> {
        self.objects.iter().find(|(kva, _)| *kva == at).map(|(_, b)| *b).ok_or(TypesError)
    }

    fn is_pid_name(&self, name: &str) -> bool {
        name == "pid" || self.hints.iter().any(|h| matches!(h, PlaceHint::PidField(n) if *n == name))
    }

    /// Writes the path of the arena-globals struct at `parent` of type `parent_type` in the
    /// BTF at `btf` (a [`scxray_core::bpf::Place::Arena`]'s or an
    /// [`scxray_core::bpf::ArenaList`]'s parent): `qa.fifos[2]`. False when it has no name.
    ///
    /// # Errors
    /// `out` refused a write.
    pub fn name_place(
        &self,
        btf: VirtAddr,
        parent: u64,
        parent_type: u32,
        out: &mut dyn Write,
    ) -> Result<bool, fmt::Error> {
        let Ok(btf) = self.btf(btf) else { return Ok(false) };
        name_in_globals(btf, parent, Some(parent_type), out)
    }
}

/// The arena globals' DATASEC of `btf`.
pub fn arena_globals<'a>(btf: &Btf<'a>) -> Result<Option<Type<'a>>, BtfError> {
    btf.find_type(ARENA_GLOBALS, |t| t.kind == Kind::Datasec)
}

/// Writes the path of the field at `offset` of the arena globals (the object of type
/// `object` starting there, when given); false when there is none.
fn name_in_globals(
    btf: &Btf<'_>,
    offset: u64,
    object: Option<u32>,
    out: &mut dyn Write,
) -> Result<bool, fmt::Error> {
    let Ok(Some(sec)) = arena_globals(btf) else { return Ok(false) };
    let limits = DecodeLimits::DEFAULT;
    let found = match object {
        Some(o) => btf.locate_object(sec.id, offset, o, &limits),
        None => btf.locate(sec.id, offset, &limits),
    };
    let Ok(Some(loc)) = found else { return Ok(false) };
    write!(out, "{}", loc.path)?;
    if loc.rest != 0 {
        write!(out, "+{:#x}", loc.rest)?;
    }
    Ok(true)
}

/// A member met by [`walk_fields`]: its offset in the value, its name, its type (looked
/// through typedefs and modifiers).
struct Met<'a> {
    offset: u64,
    name: &'a str,
    ty: Type<'a>,
}

/// Visits the value of type `ty` and its members, depth first (struct and union members,
/// the first [`ARRAY_ELEMS`] elements of arrays, DATASEC variables; not through pointers),
/// bounded by `depth` and [`BUDGET`]; `f` returns false to stop.
fn walk_fields<'a>(
    btf: &Btf<'a>,
    ty: u32,
    offset: u64,
    name: &'a str,
    depth: u32,
    budget: &mut u32,
    f: &mut dyn FnMut(&Met<'a>) -> bool,
) -> Result<bool, BtfError> {
    if *budget == 0 {
        return Ok(false);
    }
    *budget = budget.saturating_sub(1);
    let t = btf.resolve_alias(ty)?;
    if !f(&Met { offset, name, ty: t }) {
        return Ok(false);
    }
    let Some(depth) = depth.checked_sub(1) else { return Ok(true) };
    match t.kind {
        Kind::Struct | Kind::Union => {
            for index in 0..u32::from(t.vlen) {
                let m = t.member(index).ok_or(BtfError::BadRecord { type_id: t.id, index })?;
                let Some(start) = m.byte_offset() else { continue };
                let at = offset.saturating_add(u64::from(start));
                // A member whose type cannot be read is skipped, not the whole value.
                if let Ok(false) = walk_fields(btf, m.type_id, at, btf.str_at(m.name_off)?, depth, budget, f)
                {
                    return Ok(false);
                }
            }
        }
        Kind::Array => {
            let a = t.array().ok_or(BtfError::BadRecord { type_id: t.id, index: 0 })?;
            let size = btf.type_size(a.elem_type)?;
            for i in 0..a.nelems.min(ARRAY_ELEMS) {
                let at = offset.saturating_add(size.saturating_mul(u64::from(i)));
                if !walk_fields(btf, a.elem_type, at, name, depth, budget, f)? {
                    return Ok(false);
                }
            }
        }
        Kind::Datasec => {
            for index in 0..u32::from(t.vlen) {
                let [var, off, _] = t.secinfo(index).ok_or(BtfError::BadRecord { type_id: t.id, index })?;
                let v = btf.type_by_id(var)?;
                if v.kind == Kind::Var {
                    let at = offset.saturating_add(u64::from(off));
                    if let Ok(false) = walk_fields(btf, v.size_or_type, at, btf.name(&v)?, depth, budget, f) {
                        return Ok(false);
                    }
                }
            }
        }
        _ => {}
    }
    Ok(true)
}

/// The struct (or forward declaration) a pointer type points at, looked through typedefs
/// and modifiers; `None` for other pointees.
fn pointee_struct<'a>(btf: &Btf<'a>, ptr: &Type<'a>) -> Result<Option<Type<'a>>, BtfError> {
    if ptr.kind != Kind::Ptr || ptr.size_or_type == 0 {
        return Ok(None);
    }
    let t = btf.resolve_alias(ptr.size_or_type)?;
    Ok(matches!(t.kind, Kind::Struct | Kind::Fwd).then_some(t))
}

fn is_task_struct(btf: &Btf<'_>, t: &Type<'_>) -> Result<bool, BtfError> {
    btf.str_eq(t.name_off, b"task_struct")
}

impl PlaceTypes for BtfPlaceTypes<'_, '_> {
    fn task_fields(
        &mut self,
        map: &MapHeader,
        out: &mut heapless::Vec<TaskField, MAX_TASK_FIELDS>,
    ) -> Result<(), TypesError> {
        let bare_ok = (map.map_type == MapType::QUEUE || map.map_type == MapType::STACK)
            && map.value_size == 4
            && !self.hints.contains(&PlaceHint::NoBarePids);
        if map.btf_value_type_id == 0 || map.btf.0 == 0 {
            if bare_ok {
                let _ = out.push(TaskField { offset: 0, kind: TaskFieldKind::Pid });
            }
            return Ok(());
        }
        let btf = self.btf(map.btf)?;
        let t = btf.resolve_alias(map.btf_value_type_id).map_err(|_| TypesError)?;
        if t.kind == Kind::Int && t.size_or_type == 4 {
            if bare_ok {
                let _ = out.push(TaskField { offset: 0, kind: TaskFieldKind::Pid });
            }
            return Ok(());
        }
        let mut budget = BUDGET;
        let mut bad = false;
        let value_size = u64::from(map.value_size);
        walk_fields(btf, map.btf_value_type_id, 0, "", FIELD_DEPTH, &mut budget, &mut |m| {
            let kind = match m.ty.kind {
                Kind::Int if m.ty.size_or_type == 4 && self.is_pid_name(m.name) => Some(TaskFieldKind::Pid),
                Kind::Ptr => match pointee_struct(btf, &m.ty) {
                    Ok(Some(p)) => is_task_struct(btf, &p).unwrap_or(false).then_some(TaskFieldKind::Task),
                    Ok(None) => None,
                    Err(_) => {
                        bad = true;
                        None
                    }
                },
                _ => None,
            };
            let width = if kind == Some(TaskFieldKind::Pid) { 4 } else { 8 };
            if let (Some(kind), Ok(offset)) = (kind, u32::try_from(m.offset))
                && m.offset.saturating_add(width) <= value_size
            {
                return out.push(TaskField { offset, kind }).is_ok();
            }
            true
        })
        .map_err(|_| TypesError)?;
        if bad { Err(TypesError) } else { Ok(()) }
    }

    fn object_pointers(
        &mut self,
        map: &MapHeader,
        out: &mut heapless::Vec<ObjectPointer, MAX_OBJECT_POINTERS>,
    ) -> Result<(), TypesError> {
        if map.btf_value_type_id == 0 {
            return Ok(());
        }
        let btf = self.btf(map.btf)?;
        let mut budget = BUDGET;
        let value_size = u64::from(map.value_size);
        walk_fields(btf, map.btf_value_type_id, 0, "", FIELD_DEPTH, &mut budget, &mut |m| {
            let Ok(Some(p)) = pointee_struct(btf, &m.ty) else { return true };
            if p.kind != Kind::Struct || is_task_struct(btf, &p).unwrap_or(true) {
                return true;
            }
            let (Ok(offset), true) = (u32::try_from(m.offset), m.offset.saturating_add(8) <= value_size)
            else {
                return true;
            };
            out.push(ObjectPointer { offset, object: TypeRef { btf: map.btf, id: p.id } }).is_ok()
        })
        .map_err(|_| TypesError)?;
        Ok(())
    }

    fn links(&mut self, object: TypeRef, out: &mut heapless::Vec<u32, MAX_LINKS>) -> Result<(), TypesError> {
        let btf = self.btf(object.btf)?;
        let t = btf.resolve_alias(object.id).map_err(|_| TypesError)?;
        if t.kind != Kind::Struct {
            return Ok(());
        }
        let name = btf.name(&t).map_err(|_| TypesError)?;
        let only = self.hints.iter().find_map(|h| match h {
            PlaceHint::Links { object: o, members } if *o == name => Some(*members),
            _ => None,
        });
        for index in 0..u32::from(t.vlen) {
            let m = t.member(index).ok_or(TypesError)?;
            let Some(start) = m.byte_offset() else { continue };
            let mt = btf.resolve_alias(m.type_id).map_err(|_| TypesError)?;
            let same = pointee_struct(btf, &mt).map_err(|_| TypesError)?.is_some_and(|p| p.id == t.id);
            let member = btf.str_at(m.name_off).map_err(|_| TypesError)?;
            if same && only.is_none_or(|names| names.contains(&member)) && out.push(start).is_err() {
                break;
            }
        }
        Ok(())
    }

    fn anchors(&mut self, object: TypeRef, out: &mut Anchors) -> Result<(), TypesError> {
        let btf = self.btf(object.btf)?;
        let sec = arena_globals(btf).map_err(|_| TypesError)?.ok_or(TypesError)?;
        out.globals_size = u64::from(sec.size_or_type);
        let target = btf.resolve_alias(object.id).map_err(|_| TypesError)?.id;
        let under = self.hints.iter().find_map(|h| match h {
            PlaceHint::AnchorsUnder(p) => Some(*p),
            _ => None,
        });
        let mut search = AnchorSearch { btf, target, budget: BUDGET, out, under };
        search.walk(sec.id, 0, (0, sec.id), ANCHOR_DEPTH).map_err(|_| TypesError)?;
        Ok(())
    }
}

/// The search of the arena globals for pointers to one object type.
struct AnchorSearch<'o, 'b, 'a> {
    btf: &'b Btf<'a>,
    target: u32,
    budget: u32,
    out: &'o mut Anchors,
    under: Option<&'b str>,
}

impl AnchorSearch<'_, '_, '_> {
    /// Visits the field of type `ty` at `offset` of the globals, inside the struct `parent`
    /// (offset, type).
    fn walk(&mut self, ty: u32, offset: u64, parent: (u64, u32), depth: u32) -> Result<(), BtfError> {
        if self.budget == 0 {
            self.out.truncated = true;
            return Ok(());
        }
        self.budget = self.budget.saturating_sub(1);
        let t = self.btf.resolve_alias(ty)?;
        let Some(depth) = depth.checked_sub(1) else { return Ok(()) };
        match t.kind {
            Kind::Ptr
                if pointee_struct(self.btf, &t)?.is_some_and(|p| p.id == self.target)
                    && self.wanted(offset) =>
            {
                let anchor = Anchor { offset, parent: parent.0, parent_type: parent.1 };
                if self.out.list.push(anchor).is_err() {
                    self.out.truncated = true;
                }
            }
            Kind::Struct | Kind::Union => {
                for index in 0..u32::from(t.vlen) {
                    let m = t.member(index).ok_or(BtfError::BadRecord { type_id: t.id, index })?;
                    let Some(start) = m.byte_offset() else { continue };
                    let at = offset.saturating_add(u64::from(start));
                    self.walk_or_note(m.type_id, at, (offset, t.id), depth);
                }
            }
            Kind::Array => {
                let a = t.array().ok_or(BtfError::BadRecord { type_id: t.id, index: 0 })?;
                let mut probe = BUDGET;
                if !self.holds_target(a.elem_type, depth, &mut probe)? {
                    return Ok(());
                }
                let size = self.btf.type_size(a.elem_type)?;
                for i in 0..a.nelems {
                    if self.out.truncated {
                        break;
                    }
                    let at = offset.saturating_add(size.saturating_mul(u64::from(i)));
                    self.walk(a.elem_type, at, parent, depth)?;
                }
            }
            Kind::Datasec => {
                for index in 0..u32::from(t.vlen) {
                    let [var, off, _] =
                        t.secinfo(index).ok_or(BtfError::BadRecord { type_id: t.id, index })?;
                    let v = self.btf.type_by_id(var)?;
                    if v.kind == Kind::Var {
                        let at = offset.saturating_add(u64::from(off));
                        self.walk_or_note(v.size_or_type, at, (offset, t.id), depth);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// [`Self::walk`], a subtree whose types cannot be read noted as not searched whole.
    fn walk_or_note(&mut self, ty: u32, offset: u64, parent: (u64, u32), depth: u32) {
        if self.walk(ty, offset, parent, depth).is_err() {
            self.out.truncated = true;
        }
    }

    /// Whether a value of type `ty` holds a pointer to the target type (bounded).
    fn holds_target(&self, ty: u32, depth: u32, budget: &mut u32) -> Result<bool, BtfError> {
        if *budget == 0 {
            return Ok(false);
        }
        *budget = budget.saturating_sub(1);
        let t = self.btf.resolve_alias(ty)?;
        let Some(depth) = depth.checked_sub(1) else { return Ok(false) };
        match t.kind {
            Kind::Ptr => Ok(pointee_struct(self.btf, &t)?.is_some_and(|p| p.id == self.target)),
            Kind::Struct | Kind::Union => {
                for index in 0..u32::from(t.vlen) {
                    let m = t.member(index).ok_or(BtfError::BadRecord { type_id: t.id, index })?;
                    if self.holds_target(m.type_id, depth, budget)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Kind::Array => {
                let a = t.array().ok_or(BtfError::BadRecord { type_id: t.id, index: 0 })?;
                self.holds_target(a.elem_type, depth, budget)
            }
            _ => Ok(false),
        }
    }

    /// Whether the anchor at `offset` is under the hint's path (always without a hint).
    fn wanted(&self, offset: u64) -> bool {
        let Some(prefix) = self.under else { return true };
        let mut path = PathBuf::default();
        matches!(name_in_globals(self.btf, offset, None, &mut path), Ok(true))
            && path.as_str().is_some_and(|p| p.starts_with(prefix))
    }
}

/// A path written into a fixed buffer (cut when longer).
#[derive(Debug)]
struct PathBuf {
    buf: [u8; 128],
    len: usize,
}

impl Default for PathBuf {
    fn default() -> Self {
        Self { buf: [0; 128], len: 0 }
    }
}

impl PathBuf {
    fn as_str(&self) -> Option<&str> {
        self.buf.get(..self.len).and_then(|b| core::str::from_utf8(b).ok())
    }
}

impl Write for PathBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Names pointers into an arena for [`crate::format_value`]: an address inside the arena
/// globals by its path (`qa.fifos[2]`, the object of the pointer's type that starts there,
/// else the field holding it), any other arena address as `arena+0x...`.
#[derive(Clone, Copy, Debug)]
pub struct ArenaNamer<'b, 'a> {
    btf: &'b Btf<'a>,
    /// User addresses of the arena: `[start, end)`.
    arena: (u64, u64),
    /// User address of the globals and their size.
    globals: (u64, u64),
}

impl<'b, 'a> ArenaNamer<'b, 'a> {
    /// The namer for the arena `[arena_start, arena_end)` whose globals (described by
    /// `btf`'s `.addr_space.1`) are at `globals` (`PlaceWalk::globals`).
    #[must_use]
    pub fn new(btf: &'b Btf<'a>, arena_start: u64, arena_end: u64, globals: u64) -> Self {
        let size = arena_globals(btf).ok().flatten().map_or(0, |t| u64::from(t.size_or_type));
        Self { btf, arena: (arena_start, arena_end), globals: (globals, size) }
    }
}

impl PointerNamer for ArenaNamer<'_, '_> {
    fn name_pointer(&mut self, addr: u64, pointee: u32, out: &mut dyn Write) -> Result<bool, fmt::Error> {
        if let Some(off) = addr.checked_sub(self.globals.0).filter(|&o| o < self.globals.1) {
            let object = (pointee != 0).then_some(pointee);
            if name_in_globals(self.btf, off, object, out)? {
                return Ok(true);
            }
        }
        match addr.checked_sub(self.arena.0) {
            Some(off) if addr < self.arena.1 => {
                write!(out, "arena+{off:#x}")?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
