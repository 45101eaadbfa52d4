//! Kernel knowledge: VMCOREINFO, symbol tables, vmlinux files.

pub mod kallsyms;
pub mod symbols;
pub mod vmcoreinfo;
pub mod vmlinux;

pub use symbols::SymbolTable;
pub use vmcoreinfo::VmcoreInfo;
pub use vmlinux::Vmlinux;
