//! Kernel knowledge: symbol tables (kallsyms in memory, vmlinux, System.map), vmlinux files, the
//! BTF by name.

pub mod btf;
pub mod kallsyms;
pub mod symbols;
pub mod vmlinux;

pub use symbols::SymbolTable;
pub use vmlinux::Vmlinux;
