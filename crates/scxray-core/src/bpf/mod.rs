#![doc = include_str!("README.md")]

pub mod arena;
mod layout;
pub mod queue;
pub mod xarray;

pub use layout::{
    ArenaFreeTreeLayout, BpfArenaLayout, BpfArrayLayout, BpfHtabLayout, BpfIdrLayout, BpfLayout,
    BpfLocalStorageLayout, BpfMapLayout, BpfProgLayout, BpfQueueStackLayout, BpfStructOpsLayout,
    KernelBtfLayout,
};
