//! The machine's shape from the guest's own variables: `nr_cpu_ids`, `nr_node_ids` and
//! `__per_cpu_offset[]`.

use super::read::read_virt;
use super::setup::SetupStep;
use super::symbols::RuntimeSymbols;
use crate::error::Error;
use crate::source::Memory;
use scxray_core::{Field, VirtAddr};
use scxray_wire::Translator;

/// How many CPUs and nodes the guest has, and where each CPU's per-CPU area is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineShape {
    per_cpu_offsets: Vec<u64>,
    nr_nodes: u32,
}

impl MachineShape {
    /// `__per_cpu_offset[0..nr_cpu_ids]` (its length is the CPU count) and `nr_node_ids`.
    ///
    /// # Errors
    /// No CPU, or more than the walkers take (`scxray_core::MAX_CPUS`).
    pub fn new(per_cpu_offsets: Vec<u64>, nr_nodes: u32) -> Result<Self, Error> {
        match u32::try_from(per_cpu_offsets.len()) {
            Ok(n) if n > 0 && n <= scxray_core::MAX_CPUS => Ok(Self { per_cpu_offsets, nr_nodes }),
            _ => Err(Error::BadInput(format!("{} CPUs: not a machine scxray walks", per_cpu_offsets.len()))),
        }
    }

    /// `nr_cpu_ids`.
    pub fn nr_cpus(&self) -> u32 {
        // `new` checked that it fits.
        u32::try_from(self.per_cpu_offsets.len()).unwrap_or(u32::MAX)
    }

    /// `nr_node_ids`.
    pub fn nr_nodes(&self) -> u32 {
        self.nr_nodes
    }

    /// `__per_cpu_offset[cpu]` for every possible CPU (zeros when the kernel has no such
    /// symbol).
    pub fn per_cpu_offsets(&self) -> &[u64] {
        &self.per_cpu_offsets
    }
}

/// Reads the shape; a CPU count out of range means wrong symbols or KASLR offset.
pub(super) fn read(
    memory: &Memory,
    translator: &Translator,
    symbols: &RuntimeSymbols,
    setup: &mut Vec<SetupStep>,
) -> Result<MachineShape, Error> {
    let read_u32 = |addr: Option<u64>, field: Field| -> Result<Option<u32>, Error> {
        let Some(a) = addr else { return Ok(None) };
        let mut b = [0u8; 4];
        read_virt(memory, translator, VirtAddr(a), &mut b, field)
            .map_err(|e| Error::BadInput(format!("reading {field} at {a:#x}: {}", e.cause)))?;
        Ok(Some(u32::from_le_bytes(b)))
    };
    let nr_cpus = read_u32(symbols.nr_cpu_ids, Field::NrCpuIdsVar)?
        .ok_or_else(|| Error::BadInput("the symbol nr_cpu_ids is missing".into()))?;
    if nr_cpus == 0 || nr_cpus > scxray_core::MAX_CPUS {
        return Err(Error::BadInput(format!(
            "nr_cpu_ids reads {nr_cpus}: wrong symbols or KASLR offset (the vmlinux may not match the dump)"
        )));
    }
    let nr_nodes =
        read_u32(symbols.nr_node_ids, Field::NrNodeIdsVar)?.unwrap_or(1).clamp(1, scxray_core::MAX_NODES);
    let mut per_cpu_offsets = vec![0u64; nr_cpus as usize];
    if let Some(a) = symbols.per_cpu_offset {
        let mut b = vec![0u8; nr_cpus as usize * 8];
        read_virt(memory, translator, VirtAddr(a), &mut b, Field::PerCpuOffsetArray)
            .map_err(|e| Error::BadInput(format!("reading __per_cpu_offset at {a:#x}: {}", e.cause)))?;
        for (o, c) in per_cpu_offsets.iter_mut().zip(b.chunks_exact(8)) {
            *o = u64::from_le_bytes(c.try_into().unwrap_or_default());
        }
    }
    setup.push(SetupStep::Machine { cpus: nr_cpus, nodes: nr_nodes });
    MachineShape::new(per_cpu_offsets, nr_nodes)
}
