//! The kinds of BPF maps and programs (`enum bpf_map_type`, `enum bpf_prog_type`: UAPI, so
//! their numbers never change) and the 16-byte object names both carry.

use crate::output::{before_nul, write_lossy};
use core::fmt;

/// `enum bpf_map_type`: which walker reads a map's contents.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MapType(pub u32);

impl MapType {
    /// `BPF_MAP_TYPE_HASH`.
    pub const HASH: Self = Self(1);
    /// `BPF_MAP_TYPE_ARRAY` (also the global-data maps `.bss`, `.data`, `.rodata`).
    pub const ARRAY: Self = Self(2);
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    pub const PERCPU_HASH: Self = Self(5);
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    pub const PERCPU_ARRAY: Self = Self(6);
    /// `BPF_MAP_TYPE_LRU_HASH`.
    pub const LRU_HASH: Self = Self(9);
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
    pub const LRU_PERCPU_HASH: Self = Self(10);
    /// `BPF_MAP_TYPE_QUEUE`.
    pub const QUEUE: Self = Self(22);
    /// `BPF_MAP_TYPE_STACK`.
    pub const STACK: Self = Self(23);
    /// `BPF_MAP_TYPE_SK_STORAGE`.
    pub const SK_STORAGE: Self = Self(24);
    /// `BPF_MAP_TYPE_STRUCT_OPS`: a sched_ext scheduler is one.
    pub const STRUCT_OPS: Self = Self(26);
    /// `BPF_MAP_TYPE_INODE_STORAGE`.
    pub const INODE_STORAGE: Self = Self(28);
    /// `BPF_MAP_TYPE_TASK_STORAGE`.
    pub const TASK_STORAGE: Self = Self(29);
    /// `BPF_MAP_TYPE_CGRP_STORAGE`.
    pub const CGRP_STORAGE: Self = Self(32);
    /// `BPF_MAP_TYPE_ARENA`.
    pub const ARENA: Self = Self(33);

    /// The UAPI name without its `BPF_MAP_TYPE_` prefix, `None` for a number this table does
    /// not know (a newer kernel's).
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "unspec",
            1 => "hash",
            2 => "array",
            3 => "prog_array",
            4 => "perf_event_array",
            5 => "percpu_hash",
            6 => "percpu_array",
            7 => "stack_trace",
            8 => "cgroup_array",
            9 => "lru_hash",
            10 => "lru_percpu_hash",
            11 => "lpm_trie",
            12 => "array_of_maps",
            13 => "hash_of_maps",
            14 => "devmap",
            15 => "sockmap",
            16 => "cpumap",
            17 => "xskmap",
            18 => "sockhash",
            19 => "cgroup_storage",
            20 => "reuseport_sockarray",
            21 => "percpu_cgroup_storage",
            22 => "queue",
            23 => "stack",
            24 => "sk_storage",
            25 => "devmap_hash",
            26 => "struct_ops",
            27 => "ringbuf",
            28 => "inode_storage",
            29 => "task_storage",
            30 => "bloom_filter",
            31 => "user_ringbuf",
            32 => "cgrp_storage",
            33 => "arena",
            34 => "insn_array",
            35 => "rhash",
            _ => return None,
        })
    }

    /// The hash maps the bucket walk reads.
    #[must_use]
    pub const fn is_hash(self) -> bool {
        matches!(self.0, 1 | 5 | 9 | 10)
    }

    /// The maps whose values are per-CPU (one copy per possible CPU).
    #[must_use]
    pub const fn is_percpu(self) -> bool {
        matches!(self.0, 5 | 6 | 10)
    }

    /// The local-storage maps (task, socket, inode, cgroup): one value per owner.
    #[must_use]
    pub const fn is_local_storage(self) -> bool {
        matches!(self.0, 24 | 28 | 29 | 32)
    }
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {}", self.0),
        }
    }
}

impl fmt::Debug for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapType({self})")
    }
}

/// `enum bpf_prog_type`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProgType(pub u32);

impl ProgType {
    /// `BPF_PROG_TYPE_STRUCT_OPS`: a sched_ext callback.
    pub const STRUCT_OPS: Self = Self(27);
    /// `BPF_PROG_TYPE_SYSCALL`.
    pub const SYSCALL: Self = Self(31);

    /// The UAPI name without its `BPF_PROG_TYPE_` prefix, `None` for a number this table does
    /// not know.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "unspec",
            1 => "socket_filter",
            2 => "kprobe",
            3 => "sched_cls",
            4 => "sched_act",
            5 => "tracepoint",
            6 => "xdp",
            7 => "perf_event",
            8 => "cgroup_skb",
            9 => "cgroup_sock",
            10 => "lwt_in",
            11 => "lwt_out",
            12 => "lwt_xmit",
            13 => "sock_ops",
            14 => "sk_skb",
            15 => "cgroup_device",
            16 => "sk_msg",
            17 => "raw_tracepoint",
            18 => "cgroup_sock_addr",
            19 => "lwt_seg6local",
            20 => "lirc_mode2",
            21 => "sk_reuseport",
            22 => "flow_dissector",
            23 => "cgroup_sysctl",
            24 => "raw_tracepoint_writable",
            25 => "cgroup_sockopt",
            26 => "tracing",
            27 => "struct_ops",
            28 => "ext",
            29 => "lsm",
            30 => "sk_lookup",
            31 => "syscall",
            32 => "netfilter",
            _ => return None,
        })
    }
}

impl fmt::Display for ProgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {}", self.0),
        }
    }
}

impl fmt::Debug for ProgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProgType({self})")
    }
}

/// A map's or program's name (`char[BPF_OBJ_NAME_LEN]`): NUL-padded in a sane kernel,
/// anything in a hostile one.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ObjName(pub [u8; 16]);

impl ObjName {
    /// The bytes before the first NUL (all 16 when there is none).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        before_nul(&self.0)
    }
}

impl fmt::Display for ObjName {
    /// Lossy UTF-8: invalid sequences print as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lossy(f, self.bytes())
    }
}

impl fmt::Debug for ObjName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}
