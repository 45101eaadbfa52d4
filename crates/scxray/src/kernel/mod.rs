//! Kernel knowledge: VMCOREINFO, symbol tables, vmlinux files, the BTF by name.

pub mod btf;
pub mod kallsyms;
pub mod symbols;
pub mod vmcoreinfo;
pub mod vmlinux;

pub use symbols::SymbolTable;
pub use vmcoreinfo::VmcoreInfo;
pub use vmlinux::Vmlinux;
