//! The headers of BPF objects: a program (`struct bpf_prog` and its `bpf_prog_aux`, with its
//! run statistics), a map (`struct bpf_map`), a BTF object (`struct btf`) and a link.
//!
//! Members that lie close together are read at once: `Window` reads the span of a group of
//! members (at most `WINDOW` bytes) in one read and picks them out; a member outside it is
//! read alone. Either way one member costs at most one value read, so a header of `k`
//! members costs at most `k` value reads (`BpfLimits` states the counts).

use crate::addr::VirtAddr;
use crate::bpf::types::{MapType, ObjName, ProgType};
use crate::bpf::walker::{BpfError, BpfGroup, Walker};
use crate::error::{Field, ReadError};
use crate::guest::Guest;
use crate::memory::PhysMem;
use crate::translate::Translate;

/// The largest span [`Window`] reads at once.
pub(crate) const WINDOW: usize = 256;

/// The bytes `[lo, hi)` of an object, read at once when the span fits [`WINDOW`], so that
/// the members inside it are picked out without another read.
pub(crate) struct Window {
    base: VirtAddr,
    lo: u64,
    len: u64,
    buf: [u8; WINDOW],
}

impl Window {
    /// Reads the members at `offsets` (each `(offset, size)`) of the object at `base`: their
    /// span at once if it fits, else nothing now (each member is then read alone).
    pub(crate) fn read<M: PhysMem + ?Sized, T: Translate + ?Sized>(
        g: &Guest<'_, M, T>,
        base: VirtAddr,
        offsets: &[(u32, u32)],
        field: Field,
    ) -> Result<Self, ReadError> {
        let lo = offsets.iter().map(|&(o, _)| u64::from(o)).min().unwrap_or(0);
        let hi = offsets.iter().map(|&(o, s)| u64::from(o).saturating_add(u64::from(s))).max().unwrap_or(0);
        let mut w = Self { base, lo, len: 0, buf: [0; WINDOW] };
        let span = hi.saturating_sub(lo);
        if let Some(buf) = usize::try_from(span).ok().and_then(|n| w.buf.get_mut(..n))
            && !buf.is_empty()
        {
            g.read_bytes(base.member(lo, field)?, buf, field)?;
            w.len = span;
        }
        Ok(w)
    }

    /// The `N` bytes of the member at `off`: from the window when inside it, else read.
    pub(crate) fn bytes<const N: usize, M: PhysMem + ?Sized, T: Translate + ?Sized>(
        &self,
        g: &Guest<'_, M, T>,
        off: u32,
        field: Field,
    ) -> Result<[u8; N], ReadError> {
        let mut out = [0u8; N];
        let n = u64::try_from(N).unwrap_or(u64::MAX);
        let inside = u64::from(off)
            .checked_sub(self.lo)
            .filter(|rel| rel.saturating_add(n) <= self.len)
            .and_then(|rel| usize::try_from(rel).ok())
            .and_then(|rel| self.buf.get(rel..rel.saturating_add(N)));
        match inside {
            Some(src) => out.copy_from_slice(src),
            None => g.read_bytes(self.base.member(off, field)?, &mut out, field)?,
        }
        Ok(out)
    }

    /// The little-endian `u32` member at `off`.
    pub(crate) fn u32<M: PhysMem + ?Sized, T: Translate + ?Sized>(
        &self,
        g: &Guest<'_, M, T>,
        off: u32,
        field: Field,
    ) -> Result<u32, ReadError> {
        self.bytes::<4, M, T>(g, off, field).map(u32::from_le_bytes)
    }

    /// The little-endian `u64` member at `off` (a pointer too).
    pub(crate) fn u64<M: PhysMem + ?Sized, T: Translate + ?Sized>(
        &self,
        g: &Guest<'_, M, T>,
        off: u32,
        field: Field,
    ) -> Result<u64, ReadError> {
        self.bytes::<8, M, T>(g, off, field).map(u64::from_le_bytes)
    }
}

/// Whether BPF run statistics were being counted (`kernel.bpf_stats_enabled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StatsState {
    /// `bpf_stats_enabled_key` is on: the counts are live.
    On,
    /// It is off: programs count nothing, so their counts are not read.
    Off,
    /// The key is unknown or unreadable: the counts are read, but may be stale.
    Unknown,
}

/// A program's run statistics, summed over the CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RunStats {
    /// Runs (`bpf_prog_stats.cnt`).
    pub cnt: u64,
    /// Time in the program, ns (`bpf_prog_stats.nsecs`).
    pub nsecs: u64,
    /// Runs skipped for recursion (`bpf_prog_stats.misses`), when the kernel counts them.
    pub misses: Option<u64>,
    /// CPUs summed.
    pub cpus: u32,
    /// CPUs whose copy could not be read (not in the sums).
    pub unreadable_cpus: u32,
    /// The first such failure.
    pub first_error: Option<ReadError>,
}

/// A program: `struct bpf_prog` and `struct bpf_prog_aux`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProgHeader {
    /// `struct bpf_prog` address.
    pub kva: VirtAddr,
    /// `bpf_prog.aux`.
    pub aux: VirtAddr,
    /// `bpf_prog_aux.id`.
    pub id: u32,
    /// `bpf_prog_aux.name`.
    pub name: ObjName,
    /// `bpf_prog.type`.
    pub prog_type: ProgType,
    /// `bpf_prog.tag` (what `bpftool prog` prints as the tag).
    pub tag: [u8; 8],
    /// `bpf_prog.len`: instructions.
    pub insns: u32,
    /// `bpf_prog.jited_len`.
    pub jited_len: Option<u32>,
    /// `bpf_prog_aux.used_maps`.
    pub used_maps: VirtAddr,
    /// `bpf_prog_aux.used_map_cnt`.
    pub used_map_cnt: u32,
    /// `bpf_prog_aux.btf` (the program's BTF object; 0 without).
    pub btf: Option<VirtAddr>,
    /// `bpf_prog_aux.arena` (the arena the program uses; 0 without).
    pub arena: Option<VirtAddr>,
    /// `bpf_prog_aux.load_time` (ns since boot).
    pub load_time: Option<u64>,
    /// `bpf_prog_aux.verified_insns`.
    pub verified_insns: Option<u32>,
    /// `bpf_prog_aux.attach_st_ops_member_off`: the struct_ops member it implements.
    pub st_ops_member_off: Option<u32>,
    /// Whether statistics were on.
    pub stats: StatsState,
    /// The summed statistics (`None`: off, or the kernel keeps none).
    pub runs: Option<RunStats>,
}

/// A map: `struct bpf_map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MapHeader {
    /// `struct bpf_map` address (the map type's struct begins with it).
    pub kva: VirtAddr,
    /// `bpf_map.id`.
    pub id: u32,
    /// `bpf_map.name`.
    pub name: ObjName,
    /// `bpf_map.map_type`.
    pub map_type: MapType,
    /// `bpf_map.key_size`.
    pub key_size: u32,
    /// `bpf_map.value_size`.
    pub value_size: u32,
    /// `bpf_map.max_entries`.
    pub max_entries: u32,
    /// `bpf_map.map_flags`.
    pub flags: u32,
    /// `bpf_map.map_extra` (an arena's user address of page 0).
    pub map_extra: Option<u64>,
    /// `bpf_map.btf` (0: no BTF).
    pub btf: VirtAddr,
    /// `bpf_map.btf_key_type_id`.
    pub btf_key_type_id: u32,
    /// `bpf_map.btf_value_type_id`.
    pub btf_value_type_id: u32,
    /// `bpf_map.btf_vmlinux_value_type_id`: a struct_ops map's value type in vmlinux's BTF.
    pub btf_vmlinux_value_type_id: Option<u32>,
}

/// A BTF object: `struct btf`. Its blob is `data_size` bytes at `data`; a split blob (a
/// module's) numbers its types from `start_id` over `base_btf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BtfHeader {
    /// `struct btf` address.
    pub kva: VirtAddr,
    /// `btf.id`.
    pub id: Option<u32>,
    /// `btf.data`.
    pub data: VirtAddr,
    /// `btf.data_size`.
    pub data_size: u32,
    /// `btf.base_btf` (0: standalone).
    pub base_btf: VirtAddr,
    /// `btf.start_id`.
    pub start_id: u32,
    /// `btf.start_str_off`.
    pub start_str_off: u32,
}

/// A link from `link_idr`: its id and program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinkHeader {
    /// `struct bpf_link` address.
    pub kva: VirtAddr,
    /// Its id (from the table's index).
    pub id: u32,
    /// `bpf_link.prog`.
    pub prog: VirtAddr,
}

/// A pointer member that may be NULL: `None` for NULL.
fn nonzero(v: u64) -> Option<VirtAddr> {
    (v != 0).then_some(VirtAddr(v))
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Walker<'_, M, T> {
    /// Whether BPF statistics are on: `bpf_stats_enabled_key`'s count (`Unknown` without the
    /// symbol or when it cannot be read).
    pub fn stats_state(&self) -> StatsState {
        match self.symbols.stats_enabled_key.map(|k| self.guest.read_le::<i32>(k, Field::BpfStatsEnabledKey))
        {
            Some(Ok(n)) if n > 0 => StatsState::On,
            Some(Ok(_)) => StatsState::Off,
            Some(Err(_)) | None => StatsState::Unknown,
        }
    }

    /// The map at `kva`.
    ///
    /// # Errors
    /// The layout has no `struct bpf_map`, or a member cannot be read.
    pub fn read_map(&self, kva: VirtAddr) -> Result<MapHeader, BpfError> {
        let g = &self.guest;
        let ml = self.layout().map.ok_or(BpfError::MissingLayout(BpfGroup::Map))?;
        let f = Field::BpfMap;
        let mut members = [
            (ml.map_type, 4),
            (ml.key_size, 4),
            (ml.value_size, 4),
            (ml.max_entries, 4),
            (ml.map_flags, 4),
            (ml.id, 4),
            (ml.name, ml.name_len.min(16)),
            (ml.btf, 8),
            (ml.btf_key_type_id, 4),
            (ml.btf_value_type_id, 4),
            (ml.btf_vmlinux_value_type_id.unwrap_or(ml.map_type), 4),
            (ml.map_extra.unwrap_or(ml.map_type), 8),
        ];
        members.sort_unstable();
        let w = Window::read(g, kva, &members, f)?;
        let mut name = ObjName::default();
        let raw: [u8; 16] = w.bytes(g, ml.name, f)?;
        let n = usize::try_from(ml.name_len.min(16)).unwrap_or(16);
        if let (Some(dst), Some(src)) = (name.0.get_mut(..n), raw.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(MapHeader {
            kva,
            id: w.u32(g, ml.id, f)?,
            name,
            map_type: MapType(w.u32(g, ml.map_type, f)?),
            key_size: w.u32(g, ml.key_size, f)?,
            value_size: w.u32(g, ml.value_size, f)?,
            max_entries: w.u32(g, ml.max_entries, f)?,
            flags: w.u32(g, ml.map_flags, f)?,
            map_extra: ml.map_extra.map(|o| w.u64(g, o, f)).transpose()?,
            btf: VirtAddr(w.u64(g, ml.btf, f)?),
            btf_key_type_id: w.u32(g, ml.btf_key_type_id, f)?,
            btf_value_type_id: w.u32(g, ml.btf_value_type_id, f)?,
            btf_vmlinux_value_type_id: ml.btf_vmlinux_value_type_id.map(|o| w.u32(g, o, f)).transpose()?,
        })
    }

    /// The program at `kva`, with its statistics summed over the CPUs unless `stats` is
    /// [`StatsState::Off`] (see [`Walker::stats_state`]).
    ///
    /// # Errors
    /// The layout has no `struct bpf_prog`, or a member of it or of its aux cannot be read
    /// (one CPU's statistics that cannot be read are counted in [`RunStats`] instead).
    pub fn read_prog(&self, kva: VirtAddr, stats: StatsState) -> Result<ProgHeader, BpfError> {
        let g = &self.guest;
        let pl = self.layout().prog.ok_or(BpfError::MissingLayout(BpfGroup::Prog))?;
        let f = Field::BpfProg;
        let w = Window::read(
            g,
            kva,
            &[
                (pl.prog_type, 4),
                (pl.len, 4),
                (pl.tag, 8),
                (pl.aux, 8),
                (pl.jited_len.unwrap_or(pl.len), 4),
                (pl.stats.unwrap_or(pl.aux), 8),
            ],
            f,
        )?;
        let aux = VirtAddr(w.u64(g, pl.aux, f)?);
        let fa = Field::BpfProgAux;
        // Two clusters in every kernel so far: the ids and counts near the start, the names
        // and pointers near the end.
        let opt = |o: Option<u32>| o.unwrap_or(pl.aux_id);
        let low = Window::read(
            g,
            aux,
            &[
                (pl.aux_id, 4),
                (pl.aux_used_map_cnt, 4),
                (opt(pl.aux_st_ops_member_off), 4),
                (opt(pl.aux_arena), 8),
            ],
            fa,
        )?;
        let high_at = |o: Option<u32>| o.unwrap_or(pl.aux_name);
        let high = Window::read(
            g,
            aux,
            &[
                (pl.aux_used_maps, 8),
                (pl.aux_name, 16),
                (high_at(pl.aux_btf), 8),
                (high_at(pl.aux_load_time), 8),
                (high_at(pl.aux_verified_insns), 4),
            ],
            fa,
        )?;
        let runs = match (stats, pl.stats) {
            (StatsState::Off, _) | (_, None) => None,
            (_, Some(off)) => {
                let pcpu = w.u64(g, off, f)?;
                (pcpu != 0).then(|| self.sum_stats(VirtAddr(pcpu)))
            }
        };
        Ok(ProgHeader {
            kva,
            aux,
            id: low.u32(g, pl.aux_id, fa)?,
            name: ObjName(high.bytes(g, pl.aux_name, fa)?),
            prog_type: ProgType(w.u32(g, pl.prog_type, f)?),
            tag: w.bytes(g, pl.tag, f)?,
            insns: w.u32(g, pl.len, f)?,
            jited_len: pl.jited_len.map(|o| w.u32(g, o, f)).transpose()?,
            used_maps: VirtAddr(high.u64(g, pl.aux_used_maps, fa)?),
            used_map_cnt: low.u32(g, pl.aux_used_map_cnt, fa)?,
            btf: pl.aux_btf.map(|o| high.u64(g, o, fa)).transpose()?.and_then(nonzero),
            arena: pl.aux_arena.map(|o| low.u64(g, o, fa)).transpose()?.and_then(nonzero),
            load_time: pl.aux_load_time.map(|o| high.u64(g, o, fa)).transpose()?,
            verified_insns: pl.aux_verified_insns.map(|o| high.u32(g, o, fa)).transpose()?,
            st_ops_member_off: pl.aux_st_ops_member_off.map(|o| low.u32(g, o, fa)).transpose()?,
            stats,
            runs,
        })
    }

    /// The per-CPU `struct bpf_prog_stats` at `pcpu`, summed: one read per CPU.
    fn sum_stats(&self, pcpu: VirtAddr) -> RunStats {
        let g = &self.guest;
        let mut sum = RunStats::default();
        let Some(pl) = self.layout().prog else { return sum };
        let f = Field::BpfProgStats;
        let misses_at = pl.stats_misses.unwrap_or(pl.stats_cnt);
        let members = [(pl.stats_cnt, 8), (pl.stats_nsecs, 8), (misses_at, 8)];
        for cpu in 0..g.cpu_count() {
            let one = (|| -> Result<Option<(u64, u64, u64)>, ReadError> {
                let Some(at) = g.per_cpu_ptr(pcpu, cpu)? else { return Ok(None) };
                let w = Window::read(g, at, &members, f)?;
                Ok(Some((w.u64(g, pl.stats_cnt, f)?, w.u64(g, pl.stats_nsecs, f)?, w.u64(g, misses_at, f)?)))
            })();
            match one {
                Ok(None) => {}
                Ok(Some((cnt, nsecs, misses))) => {
                    sum.cpus = sum.cpus.saturating_add(1);
                    sum.cnt = sum.cnt.wrapping_add(cnt);
                    sum.nsecs = sum.nsecs.wrapping_add(nsecs);
                    if pl.stats_misses.is_some() {
                        sum.misses = Some(sum.misses.unwrap_or(0).wrapping_add(misses));
                    }
                }
                Err(e) => {
                    sum.unreadable_cpus = sum.unreadable_cpus.saturating_add(1);
                    sum.first_error.get_or_insert(e);
                }
            }
        }
        sum
    }

    /// The BTF object at `kva`.
    ///
    /// # Errors
    /// The layout has no `struct btf`, or a member cannot be read.
    pub fn read_btf(&self, kva: VirtAddr) -> Result<BtfHeader, BpfError> {
        let g = &self.guest;
        let bl = self.layout().btf.ok_or(BpfError::MissingLayout(BpfGroup::Btf))?;
        let f = Field::KernelBtfObject;
        let w = Window::read(
            g,
            kva,
            &[
                (bl.data, 8),
                (bl.data_size, 4),
                (bl.base_btf, 8),
                (bl.start_id, 4),
                (bl.start_str_off, 4),
                (bl.id.unwrap_or(bl.data), 4),
            ],
            f,
        )?;
        Ok(BtfHeader {
            kva,
            id: bl.id.map(|o| w.u32(g, o, f)).transpose()?,
            data: VirtAddr(w.u64(g, bl.data, f)?),
            data_size: w.u32(g, bl.data_size, f)?,
            base_btf: VirtAddr(w.u64(g, bl.base_btf, f)?),
            start_id: w.u32(g, bl.start_id, f)?,
            start_str_off: w.u32(g, bl.start_str_off, f)?,
        })
    }

    /// The program of the link at `kva` (`bpf_link.prog`).
    ///
    /// # Errors
    /// The layout has no struct_ops group (where `bpf_link.prog` is), or it cannot be read.
    pub fn link_prog(&self, kva: VirtAddr) -> Result<VirtAddr, BpfError> {
        let sl = self.layout().struct_ops.ok_or(BpfError::MissingLayout(BpfGroup::StructOps))?;
        Ok(self.guest.read_ptr(kva.member(sl.link_prog, Field::BpfLinkProg)?, Field::BpfLinkProg)?)
    }
}
