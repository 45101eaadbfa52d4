//! Queries: members (direct and flattened through anonymous members), dotted member paths,
//! struct sizes, enum constants.

use crate::btf::Btf;
use crate::error::BtfError;
use crate::types::{EnumValue, Kind, RawMember, Type};

/// How deep [`Btf::find_member`] and [`FlatMembers`] descend into anonymous members.
pub const MAX_ANON_DEPTH: usize = 16;

/// How many members one [`Btf::find_member`] or [`FlatMembers`] visits at most, so that
/// hostile BTF (wide anonymous members nested deep) cannot make a query run for hours.
pub const MAX_MEMBER_VISITS: u32 = 1 << 20;

/// A direct member of a STRUCT or UNION.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    /// Its name (`""` for an anonymous member).
    pub name: &'a str,
    /// Its type.
    pub type_id: u32,
    /// Offset in bits from the start of the containing type.
    pub bit_offset: u32,
    /// Bitfield width in bits, 0 when not a bitfield.
    pub bitfield_size: u8,
}

/// Where a member (possibly nested) sits, from the start of the outermost type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberOffset {
    /// Offset in bits.
    pub bit_offset: u64,
    /// Bitfield width in bits, 0 when not a bitfield.
    pub bitfield_size: u8,
    /// The member's type.
    pub type_id: u32,
}

impl MemberOffset {
    /// The byte offset, when the member is byte-aligned, not a bitfield, and fits `u32`.
    #[must_use]
    pub fn byte_offset(&self) -> Option<u32> {
        if self.bitfield_size != 0 || !self.bit_offset.is_multiple_of(8) {
            return None;
        }
        u32::try_from(self.bit_offset / 8).ok()
    }
}

/// A member reached by flattening anonymous structs and unions (see [`Btf::flat_members`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlatMember<'a> {
    /// Its name (never empty: anonymous composites are descended into, not yielded).
    pub name: &'a str,
    /// Its type.
    pub type_id: u32,
    /// Offset in bits from the start of the outermost type.
    pub bit_offset: u64,
    /// Bitfield width in bits, 0 when not a bitfield.
    pub bitfield_size: u8,
    /// How many anonymous members it is nested in (0: a direct member).
    pub depth: usize,
}

fn composite<'a>(ty: &Type<'a>) -> Result<(), BtfError> {
    if ty.kind.is_composite() {
        Ok(())
    } else {
        Err(BtfError::WrongKind { type_id: ty.id, kind: ty.kind, expected: "STRUCT or UNION" })
    }
}

fn raw_member(ty: &Type<'_>, index: u32) -> Result<RawMember, BtfError> {
    ty.member(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })
}

impl<'a> Btf<'a> {
    /// The direct members of a STRUCT or UNION, in order.
    ///
    /// # Errors
    /// `ty` is not a STRUCT or UNION.
    pub fn members<'b>(&'b self, ty: Type<'a>) -> Result<Members<'b, 'a>, BtfError> {
        composite(&ty)?;
        Ok(Members { btf: self, ty, next: 0 })
    }

    /// Every named member of a STRUCT or UNION, descending into anonymous struct and union
    /// members, with offsets from the start of `ty`.
    ///
    /// # Errors
    /// `ty` is not a STRUCT or UNION.
    pub fn flat_members<'b>(&'b self, ty: Type<'a>) -> Result<FlatMembers<'b, 'a>, BtfError> {
        composite(&ty)?;
        let mut stack = [None; MAX_ANON_DEPTH];
        if let Some(first) = stack.first_mut() {
            *first = Some(Frame { ty, next: 0, base_bits: 0 });
        }
        Ok(FlatMembers { btf: self, root: ty.id, stack, depth: 1, budget: MAX_MEMBER_VISITS, failed: false })
    }

    /// The member `name` of a STRUCT or UNION, looking inside anonymous members.
    ///
    /// # Errors
    /// `ty` is not a STRUCT or UNION, or the BTF is malformed.
    pub fn find_member(&self, ty: Type<'a>, name: &str) -> Result<Option<MemberOffset>, BtfError> {
        composite(&ty)?;
        let mut budget = MAX_MEMBER_VISITS;
        self.find_member_in(&ty, name.as_bytes(), 0, &mut budget, ty.id)
    }

    fn find_member_in(
        &self,
        ty: &Type<'a>,
        name: &[u8],
        depth: usize,
        budget: &mut u32,
        root: u32,
    ) -> Result<Option<MemberOffset>, BtfError> {
        if depth >= MAX_ANON_DEPTH {
            return Err(BtfError::TooDeep { type_id: ty.id });
        }
        for index in 0..u32::from(ty.vlen) {
            *budget = budget.checked_sub(1).ok_or(BtfError::WorkLimit { type_id: root })?;
            let m = raw_member(ty, index)?;
            if m.name_off != 0 {
                if self.str_eq(m.name_off, name)? {
                    return Ok(Some(MemberOffset {
                        bit_offset: u64::from(m.bit_offset),
                        bitfield_size: m.bitfield_size,
                        type_id: m.type_id,
                    }));
                }
                continue;
            }
            let inner = self.resolve_alias(m.type_id)?;
            if !inner.kind.is_composite() {
                continue;
            }
            if let Some(found) = self.find_member_in(&inner, name, depth.saturating_add(1), budget, root)? {
                let bit_offset = found
                    .bit_offset
                    .checked_add(u64::from(m.bit_offset))
                    .ok_or(BtfError::OffsetOverflow { type_id: ty.id })?;
                return Ok(Some(MemberOffset { bit_offset, ..found }));
            }
        }
        Ok(None)
    }

    /// The member at a dotted path whose first component names a STRUCT or UNION (or a
    /// typedef of one): `"rq.scx"`, `"scx_rq.local_dsq"`, `"rq.scx.local_dsq"`. Each
    /// component may sit inside anonymous members. `None` when the type or a member is absent.
    /// A bare type name gives offset 0 and the type itself.
    ///
    /// # Errors
    /// The path goes through a member that is not a STRUCT or UNION, or the BTF is malformed.
    pub fn member_offset(&self, path: &str) -> Result<Option<MemberOffset>, BtfError> {
        let mut parts = path.split('.');
        let Some(first) = parts.next() else { return Ok(None) };
        let Some(ty) = self.find_type(first, |t| t.kind.is_composite() || t.kind == Kind::Typedef)? else {
            return Ok(None);
        };
        let mut result = MemberOffset { bit_offset: 0, bitfield_size: 0, type_id: ty.id };
        for part in parts {
            let ty = self.resolve_alias(result.type_id)?;
            let Some(found) = self.find_member(ty, part)? else { return Ok(None) };
            let bit_offset = result
                .bit_offset
                .checked_add(found.bit_offset)
                .ok_or(BtfError::OffsetOverflow { type_id: ty.id })?;
            result = MemberOffset { bit_offset, ..found };
        }
        Ok(Some(result))
    }

    /// The size in bytes of an object of type `type_id`: typedefs and modifiers looked
    /// through, an ARRAY's elements multiplied out, a PTR [`crate::POINTER_SIZE`] bytes, a VAR
    /// its type's, `void` (id 0) nothing.
    ///
    /// # Errors
    /// A FWD, FUNC, FUNC_PROTO or DECL_TAG (no size), a chain longer than 64 types (a cycle),
    /// a size past `u64`, or malformed BTF.
    pub fn type_size(&self, type_id: u32) -> Result<u64, BtfError> {
        let mut id = type_id;
        let mut count: u64 = 1;
        for _ in 0..crate::btf::MAX_ALIAS_HOPS {
            if id == 0 {
                return Ok(0);
            }
            let t = self.type_by_id(id)?;
            let overflow = BtfError::OffsetOverflow { type_id: t.id };
            match t.kind {
                k if k.is_alias() => id = t.size_or_type,
                Kind::Var => id = t.size_or_type,
                Kind::Array => {
                    let a = t.array().ok_or(BtfError::BadRecord { type_id: t.id, index: 0 })?;
                    count = count.checked_mul(u64::from(a.nelems)).ok_or(overflow)?;
                    id = a.elem_type;
                }
                Kind::Ptr => return count.checked_mul(u64::from(crate::POINTER_SIZE)).ok_or(overflow),
                _ => match t.size() {
                    Some(size) => return count.checked_mul(u64::from(size)).ok_or(overflow),
                    None => {
                        return Err(BtfError::WrongKind {
                            type_id: t.id,
                            kind: t.kind,
                            expected: "a sized type",
                        });
                    }
                },
            }
        }
        Err(BtfError::TooDeep { type_id })
    }

    /// The size in bytes of the STRUCT or UNION named `name`.
    ///
    /// # Errors
    /// The BTF is malformed.
    pub fn struct_size(&self, name: &str) -> Result<Option<u32>, BtfError> {
        Ok(self.find_composite(name)?.map(|t| t.size_or_type))
    }

    /// The value of `constant` in the ENUM or ENUM64 named `enum_name` (the first such enum
    /// that has the constant).
    ///
    /// # Errors
    /// The BTF is malformed.
    pub fn enum_value(&self, enum_name: &str, constant: &str) -> Result<Option<EnumValue>, BtfError> {
        let mut result = Ok(None);
        self.for_each_named(enum_name.as_bytes(), &mut |t| {
            if !t.kind.is_enum() {
                return true;
            }
            match self.enumerator_named(&t, constant.as_bytes()) {
                Ok(None) => true,
                other => {
                    result = other;
                    false
                }
            }
        })?;
        result
    }

    /// The value of the enumerator `constant` in whichever ENUM or ENUM64 has it (anonymous
    /// enums too). Scans every type once: linear in the size of the BTF.
    ///
    /// # Errors
    /// The BTF is malformed.
    pub fn find_enum_constant(&self, constant: &str) -> Result<Option<EnumValue>, BtfError> {
        for t in self.types() {
            let t = t?;
            if t.kind.is_enum()
                && let Some(v) = self.enumerator_named(&t, constant.as_bytes())?
            {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    fn enumerator_named(&self, ty: &Type<'a>, name: &[u8]) -> Result<Option<EnumValue>, BtfError> {
        for index in 0..u32::from(ty.vlen) {
            let e = ty.enumerator(index).ok_or(BtfError::BadRecord { type_id: ty.id, index })?;
            if self.str_eq(e.name_off, name)? {
                return Ok(Some(e.value));
            }
        }
        Ok(None)
    }
}

/// The direct members of a STRUCT or UNION (see [`Btf::members`]).
#[derive(Debug)]
pub struct Members<'b, 'a> {
    btf: &'b Btf<'a>,
    ty: Type<'a>,
    next: u32,
}

impl<'a> Iterator for Members<'_, 'a> {
    type Item = Result<Member<'a>, BtfError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= u32::from(self.ty.vlen) {
            return None;
        }
        let index = self.next;
        self.next = self.next.saturating_add(1);
        Some(raw_member(&self.ty, index).and_then(|m| {
            Ok(Member {
                name: self.btf.str_at(m.name_off)?,
                type_id: m.type_id,
                bit_offset: m.bit_offset,
                bitfield_size: m.bitfield_size,
            })
        }))
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame<'a> {
    ty: Type<'a>,
    next: u32,
    base_bits: u64,
}

/// Every named member of a STRUCT or UNION, flattened through anonymous members (see
/// [`Btf::flat_members`]). After an error it ends.
#[derive(Debug)]
pub struct FlatMembers<'b, 'a> {
    btf: &'b Btf<'a>,
    root: u32,
    stack: [Option<Frame<'a>>; MAX_ANON_DEPTH],
    depth: usize,
    budget: u32,
    failed: bool,
}

impl<'a> FlatMembers<'_, 'a> {
    fn step(&mut self) -> Result<Option<FlatMember<'a>>, BtfError> {
        loop {
            let Some(top) = self.depth.checked_sub(1) else { return Ok(None) };
            let Some(Some(frame)) = self.stack.get_mut(top) else { return Ok(None) };
            if frame.next >= u32::from(frame.ty.vlen) {
                self.depth = top;
                continue;
            }
            let index = frame.next;
            frame.next = frame.next.saturating_add(1);
            self.budget = self.budget.checked_sub(1).ok_or(BtfError::WorkLimit { type_id: self.root })?;
            let (ty, base_bits) = (frame.ty, frame.base_bits);
            let m = raw_member(&ty, index)?;
            let bit_offset = base_bits
                .checked_add(u64::from(m.bit_offset))
                .ok_or(BtfError::OffsetOverflow { type_id: ty.id })?;
            if m.name_off != 0 {
                return Ok(Some(FlatMember {
                    name: self.btf.str_at(m.name_off)?,
                    type_id: m.type_id,
                    bit_offset,
                    bitfield_size: m.bitfield_size,
                    depth: top,
                }));
            }
            let inner = self.btf.resolve_alias(m.type_id)?;
            if !inner.kind.is_composite() {
                continue;
            }
            let slot = self.stack.get_mut(self.depth).ok_or(BtfError::TooDeep { type_id: inner.id })?;
            *slot = Some(Frame { ty: inner, next: 0, base_bits: bit_offset });
            self.depth = self.depth.saturating_add(1);
        }
    }
}

impl<'a> Iterator for FlatMembers<'_, 'a> {
    type Item = Result<FlatMember<'a>, BtfError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(m) => m.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
