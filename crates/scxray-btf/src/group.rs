//! One struct of a layout, found by name in a BTF, and its members' byte offsets by dotted
//! path: what the kernel layout (`resolve`) and the BPF layout (`resolve_bpf`) are filled from.

use crate::btf::Btf;
use crate::error::{BtfError, ResolveError};
use crate::query::MemberOffset;
use crate::types::Type;

/// One struct of the layout, found by name.
pub(crate) struct Group<'b, 'a> {
    pub(crate) btf: &'b Btf<'a>,
    pub(crate) ty: Type<'a>,
    pub(crate) name: &'static str,
}

impl<'b, 'a> Group<'b, 'a> {
    pub(crate) fn find(btf: &'b Btf<'a>, name: &'static str) -> Result<Option<Self>, BtfError> {
        Ok(btf.find_struct(name)?.map(|ty| Self { btf, ty, name }))
    }

    /// The member at a dotted `path` inside this struct (`idr_rt.xa_head`: each step may sit
    /// inside anonymous members), `None` when a step is absent.
    pub(crate) fn member(&self, path: &'static str) -> Result<Option<MemberOffset>, ResolveError> {
        let mut ty = self.ty;
        let mut found: Option<MemberOffset> = None;
        for part in path.split('.') {
            if let Some(prev) = found {
                ty = self.btf.resolve_alias(prev.type_id)?;
                if !ty.kind.is_composite() {
                    return Ok(None);
                }
            }
            let Some(m) = self.btf.find_member(ty, part)? else { return Ok(None) };
            let base = found.map_or(0, |f| f.bit_offset);
            let bit_offset =
                base.checked_add(m.bit_offset).ok_or(BtfError::OffsetOverflow { type_id: ty.id })?;
            found = Some(MemberOffset { bit_offset, ..m });
        }
        Ok(found)
    }

    /// The byte offset of the member at `path`, `None` when absent.
    pub(crate) fn opt(&self, member: &'static str) -> Result<Option<u32>, ResolveError> {
        let Some(m) = self.member(member)? else { return Ok(None) };
        m.byte_offset().map(Some).ok_or(ResolveError::UnusableOffset {
            strukt: self.name,
            member,
            bit_offset: m.bit_offset,
        })
    }

    /// The member's byte offset; its absence is an error.
    pub(crate) fn req(&self, member: &'static str) -> Result<u32, ResolveError> {
        self.opt(member)?.ok_or(ResolveError::MissingMember { strukt: self.name, member })
    }

    pub(crate) fn has(&self, member: &'static str) -> Result<bool, ResolveError> {
        Ok(self.member(member)?.is_some())
    }
}
