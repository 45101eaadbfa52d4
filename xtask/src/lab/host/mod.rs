//! The lab's lowest layer: the host's tools and files, knowing nothing of which kernels the lab
//! tests or which cases it runs. Where files go ([`dirs`]), the host's own packages
//! ([`system`]), a private apt environment for Debian packages of other suites and
//! architectures ([`apt`]), kernel source unpacking ([`source`]), the private clang 22
//! ([`clang`]), ELF reading ([`elf`], [`elf_core`], [`bytes`]), the guest's initramfs
//! ([`guest`], [`init`], [`busybox`], [`guest_programs`], [`libs`], [`cpio`], [`initramfs`]) and QEMU ([`boot_kernel`],
//! [`qemu`], [`qmp`], [`truth`]) and long commands with their output in a log ([`logged`]).
//!
//! Imports only from itself (and `crate::util`); the kernels and runs layers build on it.

pub mod apt;
pub mod boot_kernel;
pub mod busybox;
pub mod bytes;
pub mod clang;
pub mod cpio;
pub mod dirs;
pub mod elf;
pub mod elf_core;
pub mod guest;
pub mod guest_programs;
pub mod init;
pub mod initramfs;
pub mod libs;
pub mod logged;
pub mod qemu;
pub mod qmp;
pub mod source;
pub mod system;
pub mod truth;
