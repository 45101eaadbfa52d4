#![doc = include_str!("README.md")]

pub mod arena;
pub mod arena_map;
pub mod bytes;
pub mod contents;
mod cycle;
mod hash;
pub mod header;
pub mod idr;
mod layout;
pub mod place;
pub mod queue;
pub mod sched;
pub mod storage;
pub mod types;
pub mod visit;
pub mod walked;
pub mod walker;
pub mod xarray;

pub use arena_map::{ArenaError, ArenaInfo, ArenaReader, PageState};
pub use bytes::{BytesError, GuestBytes, GuestSpan};
pub use contents::{Anomaly, ContentsKind, ContentsWalk, Truncation};
pub use header::{BtfHeader, LinkHeader, MapHeader, ProgHeader, RunStats, StatsState};
pub use idr::IdTableWalk;
pub use layout::{
    ArenaFreeTreeLayout, BpfArenaLayout, BpfArrayLayout, BpfHtabLayout, BpfIdrLayout, BpfLayout,
    BpfLocalStorageLayout, BpfMapLayout, BpfProgLayout, BpfQueueStackLayout, BpfStructOpsLayout,
    KernelBtfLayout,
};
pub use place::{
    Anchor, Anchors, ArenaList, ArenaObject, ObjectPointer, Place, PlaceTypes, PlaceWalk, TaskField,
    TaskFieldKind, TypeRef, TypesError, Waiting,
};
pub use sched::{OpsMatch, SchedOps, SchedWalk};
pub use storage::{StorageLookup, StorageValue};
pub use types::{MapType, ObjName, ProgType};
pub use visit::{ArenaPage, BpfVisitor, Elem, ElemKey, Ignore};
pub use walker::{BpfError, BpfGroup, BpfPass, BpfProblem, IdTable, Walker};
