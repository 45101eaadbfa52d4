//! The bare-metal program: scxray's embedded side (`scxray-wire`, over scxray-core and both
//! translators) linked into a freestanding binary (`#![no_std]`, `#![no_main]`, a panic
//! handler, no allocator).
//!
//! A loader (a VMM's monitor, a test harness) fills `SCXRAY_MAILBOX` with where the
//! request, a window of guest RAM and the output buffer are, then jumps to `_start`, which
//! serves the request with [`scxray_wire::serve()`], stores the dump's length (or -1) in the
//! mailbox and parks the CPU. With the `defmt` feature it also logs what it found.
//!
//! Build: `cargo build --release -p scxray-bare-metal --target x86_64-unknown-none` (or
//! `thumbv7em-none-eabihf`). On a host target this file builds a stub `main` that says so.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "scxray-bare-metal is a freestanding program: build it with --target x86_64-unknown-none or \
         thumbv7em-none-eabihf. Its logic is the library function scxray_wire::serve."
    );
}

#[cfg(target_os = "none")]
pub use bare::SCXRAY_MAILBOX;

#[cfg(target_os = "none")]
mod bare {
    use core::ptr::{addr_of, addr_of_mut, null, null_mut, read_volatile, write_volatile};
    use scxray_core::{FlatImage, PhysAddr};

    /// Where the loader puts the request, the guest RAM window and the output buffer.
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    pub struct Mailbox {
        /// The postcard request.
        pub request: *const u8,
        /// Its length.
        pub request_len: usize,
        /// Guest RAM, mapped somewhere the program can read.
        pub window: *const u8,
        /// The window's length.
        pub window_len: usize,
        /// The guest-physical address of the window's first byte.
        pub window_pa: u64,
        /// The output buffer.
        pub out: *mut u8,
        /// Its capacity.
        pub out_cap: usize,
        /// Written by the program: the dump's length, or -1 for a refused request.
        pub result: isize,
    }

    /// The mailbox (a loader finds it by its symbol name).
    #[unsafe(no_mangle)]
    pub static mut SCXRAY_MAILBOX: Mailbox = Mailbox {
        request: null(),
        request_len: 0,
        window: null(),
        window_len: 0,
        window_pa: 0,
        out: null_mut(),
        out_cap: 0,
        result: 0,
    };

    /// The entry point.
    #[unsafe(no_mangle)]
    pub extern "C" fn _start() -> ! {
        // SAFETY: the loader wrote the mailbox before jumping here and nothing else runs.
        let m = unsafe { read_volatile(addr_of!(SCXRAY_MAILBOX)) };
        let result = if m.request.is_null() || m.window.is_null() || m.out.is_null() {
            -1
        } else {
            // SAFETY: the loader guarantees the three buffers exist for their lengths and
            // that the output buffer overlaps neither input.
            let (request, window, out) = unsafe {
                (
                    core::slice::from_raw_parts(m.request, m.request_len),
                    core::slice::from_raw_parts(m.window, m.window_len),
                    core::slice::from_raw_parts_mut(m.out, m.out_cap),
                )
            };
            let mem = FlatImage::new(PhysAddr(m.window_pa), window);
            match scxray_wire::serve(request, &mem, out) {
                Ok(n) => {
                    #[cfg(feature = "defmt")]
                    log_dump(out.get(..n).unwrap_or(&[]));
                    isize::try_from(n).unwrap_or(isize::MAX)
                }
                Err(_e) => {
                    #[cfg(feature = "defmt")]
                    defmt::error!("scxray: request refused: {}", _e);
                    -1
                }
            }
        };
        // SAFETY: as above; the loader reads the result after the program parks.
        unsafe { write_volatile(addr_of_mut!(SCXRAY_MAILBOX.result), result) };
        loop {
            core::hint::spin_loop();
        }
    }

    /// Logs each record of a dump with defmt: the core's own `defmt::Format` impls.
    #[cfg(feature = "defmt")]
    fn log_dump(dump: &[u8]) {
        use scxray_wire::{Record, Records};
        let Ok(records) = Records::new(dump) else { return };
        for record in records.map_while(Result::ok) {
            match record {
                Record::Root(r) => defmt::info!("root {}", r),
                Record::SubSched(s) => defmt::info!("sub-scheduler {}", s),
                Record::Cpu(c) => defmt::info!("cpu {}", c),
                Record::Dsq(d) => defmt::info!("dsq {}", d),
                Record::DsqEnd(w) | Record::ScxTasksEnd(w) => defmt::info!("walk {}", w),
                Record::UserDsqsEnd(w) => defmt::info!("dsq_hash {}", w),
                Record::Problem(p) => defmt::warn!("problem {}", p),
                Record::End(t) => defmt::info!("end, {} records dropped", t.records_dropped),
                _ => {}
            }
        }
    }

    /// A logger stub: a real program sends the frames to RTT, a UART or a hypercall.
    #[cfg(feature = "defmt")]
    #[defmt::global_logger]
    struct Logger;

    // SAFETY: the stub keeps no state; the program is single-threaded.
    #[cfg(feature = "defmt")]
    unsafe impl defmt::Logger for Logger {
        fn acquire() {}
        unsafe fn flush() {}
        unsafe fn release() {}
        unsafe fn write(_bytes: &[u8]) {}
    }

    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        loop {
            core::hint::spin_loop();
        }
    }
}
