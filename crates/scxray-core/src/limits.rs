//! Caps on every pointer chase. Guest memory is hostile: each walk is bounded, and a cap that
//! fires sets `truncated` on the output it cut.

/// Nodes visited on any one `list_head` walk (runnable_list, a DSQ's list, scx_tasks).
pub const MAX_LIST_NODES: u32 = 4096;
/// Total rhashtable nodes visited across all buckets of `dsq_hash`.
pub const MAX_RHT_NODES: u32 = 8192;
/// rhashtable buckets enumerated; a larger `bucket_table.size` is a truncation.
pub const MAX_RHT_BUCKETS: u32 = 65536;
/// Nodes on one bucket chain.
pub const MAX_BUCKET_CHAIN: u32 = 1024;

/// The caps one walk runs under. Defaults are the constants above; a caller walking a big
/// machine in streaming form may raise them (a server has more than 4096 tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Nodes per `list_head` walk.
    pub list_nodes: u32,
    /// rhashtable nodes across all buckets.
    pub rht_nodes: u32,
    /// rhashtable buckets.
    pub rht_buckets: u32,
    /// Nodes per bucket chain.
    pub bucket_chain: u32,
}

impl Limits {
    /// The caps of the specification.
    pub const DEFAULT: Self = Self {
        list_nodes: MAX_LIST_NODES,
        rht_nodes: MAX_RHT_NODES,
        rht_buckets: MAX_RHT_BUCKETS,
        bucket_chain: MAX_BUCKET_CHAIN,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// CPUs a per-CPU walk visits at most: the kernel's largest `CONFIG_NR_CPUS`. A hostile or
/// misread `nr_cpu_ids` cannot make the walk run longer than this.
pub const MAX_CPUS: u32 = 8192;
/// NUMA nodes the global-DSQ walk visits at most: `MAX_NUMNODES` for the kernel's largest
/// `NODES_SHIFT` (10).
pub const MAX_NODES: u32 = 1024;
