//! The global allocator of every fuzz binary and test: the system allocator, aborting the process on
//! an allocation above [`MAX_ALLOCATION`] or once [`MAX_LIVE`] bytes are live. No input of a few
//! kilobytes has a reason to come near either, so crossing one is a finding (libFuzzer keeps the input),
//! with or without AddressSanitizer's allocator limits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest single allocation (the largest legitimate ones are a frame buffer of 512 KiB and an output
/// buffer below 16 MiB).
pub const MAX_ALLOCATION: usize = 64 << 20;
/// Most bytes live at once.
pub const MAX_LIVE: usize = 1 << 30;

static LIVE: AtomicUsize = AtomicUsize::new(0);

pub struct Bounded;

fn charge(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed).saturating_add(size);
    if size > MAX_ALLOCATION || live > MAX_LIVE {
        // No formatting: it could allocate.
        let _ =
            std::io::stderr().write_all(b"sealnet-fuzz: unbounded allocation (over 64 MiB at once or 1 GiB live)\n");
        std::process::abort();
    }
}

fn release(size: usize) {
    LIVE.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counting has no effect on the memory.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        release(layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes through here).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        charge(new_size);
        release(layout.size());
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
