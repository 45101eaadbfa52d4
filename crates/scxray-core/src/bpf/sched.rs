//! From a scheduler to its BPF objects (see `README.md`, "From a scheduler to its programs
//! and maps"): its struct_ops map is the STRUCT_OPS map in `map_idr` whose
//! `kvalue.data.priv` is the scheduler (6.16+), or, where `sched_ext_ops` has no `priv`
//! (6.12-6.15, whose scheduler is the global `scx_ops`), whose callbacks are the scheduler's;
//! its programs are the struct_ops map's links' programs; its maps every map those programs
//! use (`aux->used_maps`), each once.

use crate::addr::VirtAddr;
use crate::bpf::header::MapHeader;
use crate::bpf::idr::IdEvent;
use crate::bpf::types::MapType;
use crate::bpf::visit::BpfVisitor;
pub use crate::bpf::walked::{OpsMatch, SchedOps, SchedWalk};
use crate::bpf::walker::{BpfError, BpfGroup, BpfPass, BpfProblem, IdTable, Walker};
use crate::error::{Field, ReadError};
use crate::limits::Limit;
use crate::memory::PhysMem;
use crate::translate::Translate;

/// Bytes of `sched_ext_ops` compared to match a struct_ops map by its callbacks: the first
/// eight callbacks (`select_cpu` to `stopping`), pointers to the same trampolines in the
/// registered struct and in the scheduler's copy of it.
pub const CALLBACK_BYTES: usize = 64;

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// The `CALLBACK_BYTES` of callbacks at `ops` (a `sched_ext_ops`).
    fn callbacks(&self, ops: VirtAddr, field: Field) -> Result<[u8; CALLBACK_BYTES], ReadError> {
        let mut b = [0u8; CALLBACK_BYTES];
        self.guest.read_bytes(ops, &mut b, field)?;
        Ok(b)
    }

    /// Walks from the scheduler `sched` (the root's or a sub-scheduler's `scx_sched`, or
    /// `&scx_ops` before 6.16) whose `sched_ext_ops` is at `ops` (`scx_sched.ops`, its first
    /// member, so `ops == sched` in every kernel so far): its struct_ops map (`v.sched_ops`),
    /// the program of each set callback (`v.sched_prog`), and every map those programs use,
    /// once each (`v.sched_map`; their addresses fill `maps`, whose length caps them). Needs
    /// `map_idr`.
    pub fn walk_sched<V: BpfVisitor + ?Sized>(
        &self,
        sched: VirtAddr,
        ops: VirtAddr,
        maps: &mut [VirtAddr],
        v: &mut V,
    ) -> SchedWalk {
        let pass = BpfPass::Sched;
        let mut walk = SchedWalk { sched, ..SchedWalk::default() };
        let (Some(ml), Some(sl)) = (self.layout().map, self.layout().struct_ops) else {
            let group = if self.layout().map.is_none() { BpfGroup::Map } else { BpfGroup::StructOps };
            v.problem(&BpfProblem::MissingLayout { pass, group });
            v.sched_end(&walk);
            return walk;
        };
        // The scheduler's own callbacks, read once for every comparison.
        let own = self.callbacks(ops, Field::SchedOpsCallbacks);
        let data_of = |map: VirtAddr| map.member(sl.kvalue_data, Field::StructOpsCallbacks);
        let mut found: Option<(VirtAddr, OpsMatch, Option<bool>)> = None;
        let mut first_error = None;
        let result = self.for_each_id(IdTable::Map, |event| {
            let map = match event {
                IdEvent::Entry(_, map) => map,
                IdEvent::Unreadable(e) => {
                    first_error.get_or_insert(e);
                    return true;
                }
            };
            // A map that cannot be told, or whose owner cannot be read, may be the
            // scheduler's: counted, not passed over as another's.
            let mut unreadable = |error: ReadError| {
                walk.unreadable = walk.unreadable.saturating_add(1);
                first_error.get_or_insert(error);
                v.problem(&BpfProblem::Unreadable { pass, error });
            };
            let map_type = map
                .member(ml.map_type, Field::BpfMap)
                .and_then(|at| self.guest.read_le::<u32>(at, Field::BpfMap));
            match map_type {
                Ok(t) if MapType(t) == MapType::STRUCT_OPS => {}
                Ok(_) => return true,
                Err(e) => {
                    unreadable(e);
                    return true;
                }
            }
            walk.candidates = walk.candidates.saturating_add(1);
            let agree = || {
                let theirs = data_of(map).and_then(|d| self.callbacks(d, Field::StructOpsCallbacks));
                match (&own, theirs) {
                    (Ok(a), Ok(b)) => Some(*a == b && a.iter().any(|&x| x != 0)),
                    _ => None,
                }
            };
            let matched = match sl.ops_priv {
                Some(p) => match data_of(map)
                    .and_then(|d| d.member(p, Field::StructOpsPriv))
                    .and_then(|at| self.guest.read_ptr(at, Field::StructOpsPriv))
                {
                    Ok(owner) => (owner == sched).then(|| (OpsMatch::Priv, agree())),
                    Err(e) => {
                        unreadable(e);
                        None
                    }
                },
                None => Some(agree()).filter(|a| *a == Some(true)).map(|a| (OpsMatch::Callbacks, a)),
            };
            if let Some((how, agree)) = matched {
                walk.matches = walk.matches.saturating_add(1);
                found.get_or_insert((map, how, agree));
            }
            true
        });
        match result {
            Ok(w) => walk.map_idr = w,
            Err(problem) => {
                v.problem(&problem);
                v.sched_end(&walk);
                return walk;
            }
        }
        walk.first_error = first_error;
        let Some((map, matched_by, callbacks_agree)) = found else {
            v.sched_end(&walk);
            return walk;
        };
        walk.ops_map = Some(map);
        let header = (|| -> Result<(MapHeader, u32, VirtAddr), BpfError> {
            let header = self.read_map(map)?;
            let g = &self.guest;
            let funcs =
                g.read_le::<u32>(map.member(sl.funcs_cnt, Field::StructOpsMap)?, Field::StructOpsMap)?;
            let links = g.read_ptr(map.member(sl.links, Field::StructOpsMap)?, Field::StructOpsMap)?;
            Ok((header, funcs, links))
        })();
        let (header, funcs_cnt, links) = match header {
            Ok(h) => h,
            Err(e) => {
                self.note(&mut walk, pass, e, v);
                v.sched_end(&walk);
                return walk;
            }
        };
        let ops_info = SchedOps { sched, map: header, matched_by, callbacks_agree, funcs_cnt };
        v.sched_ops(&ops_info);
        if funcs_cnt > self.limits.sched_progs {
            walk.truncated = true;
            walk.cap = Some(Limit::BpfSchedProgs);
        }
        let stats = self.stats_state();
        let mut slot = 0u32;
        for i in 0..funcs_cnt.min(self.limits.sched_progs) {
            let prog = (|| -> Result<Option<VirtAddr>, BpfError> {
                let at = links.member(u64::from(i).saturating_mul(8), Field::StructOpsLink)?;
                let link = self.guest.read_ptr(at, Field::StructOpsLink)?;
                if link.0 == 0 {
                    return Ok(None);
                }
                self.link_prog(link).map(Some)
            })();
            let prog = match prog {
                Ok(Some(p)) => p,
                // Set callbacks' links are packed at the front; a NULL ends them.
                Ok(None) => break,
                Err(e) => {
                    self.note(&mut walk, pass, e, v);
                    continue;
                }
            };
            let p = match self.read_prog(prog, stats) {
                Ok(p) => p,
                Err(e) => {
                    self.note(&mut walk, pass, e, v);
                    continue;
                }
            };
            v.sched_prog(&ops_info, slot, &p);
            slot = slot.saturating_add(1);
            walk.progs = walk.progs.saturating_add(1);
            if walk.arena.is_none() {
                walk.arena = p.arena;
            }
            if walk.prog_btf.is_none() {
                walk.prog_btf = p.btf;
            }
            if p.used_map_cnt > self.limits.used_maps {
                walk.truncated = true;
                walk.cap.get_or_insert(Limit::BpfUsedMaps);
            }
            for m in 0..p.used_map_cnt.min(self.limits.used_maps) {
                let used = p
                    .used_maps
                    .member(u64::from(m).saturating_mul(8), Field::BpfProgUsedMap)
                    .and_then(|at| self.guest.read_ptr(at, Field::BpfProgUsedMap));
                let used = match used {
                    Ok(u) if u.0 != 0 => u,
                    Ok(_) => continue,
                    Err(e) => {
                        self.note(&mut walk, pass, e.into(), v);
                        continue;
                    }
                };
                let n = usize::try_from(walk.maps).unwrap_or(usize::MAX);
                if maps.get(..n).is_some_and(|seen| seen.contains(&used)) {
                    continue;
                }
                let Some(slot) = maps.get_mut(n) else {
                    walk.truncated = true;
                    walk.maps_full = true;
                    continue;
                };
                match self.read_map(used) {
                    Ok(h) => {
                        *slot = used;
                        walk.maps = walk.maps.saturating_add(1);
                        v.sched_map(&ops_info, &h);
                    }
                    Err(e) => self.note(&mut walk, pass, e, v),
                }
            }
        }
        v.sched_end(&walk);
        walk
    }

    fn note<V: BpfVisitor + ?Sized>(&self, walk: &mut SchedWalk, pass: BpfPass, e: BpfError, v: &mut V) {
        walk.unreadable = walk.unreadable.saturating_add(1);
        if let BpfError::Read(r) = e {
            walk.first_error.get_or_insert(r);
        }
        v.problem(&BpfProblem::from_error(pass, e));
    }
}
