//! The walkers, one module per family, over shared list and rhashtable walking code.

pub(crate) mod chain;
pub(crate) mod dsq;
pub(crate) mod globals;
pub(crate) mod hierarchy;
pub(crate) mod list;
pub(crate) mod machine;
pub(crate) mod rhashtable;
pub(crate) mod rq;
pub(crate) mod sample;
pub(crate) mod sched;
pub(crate) mod tasks;
