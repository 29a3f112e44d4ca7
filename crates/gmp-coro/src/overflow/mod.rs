//! The stack-overflow report: `G <id> overflowed its <n>-byte stack`.
//!
//! Go checks for overflow in every function prologue (`stackguard0`) and grows
//! the stack; when growth would pass the limit it dies with `runtime: goroutine
//! stack exceeds 1000000000-byte limit` and `fatal error: stack overflow`. A Rust
//! coroutine's stack cannot grow, so an overflow runs into the guard page below
//! the stack and the CPU faults. Without help that is a bare `SIGSEGV`, the same
//! death as a null-pointer write. This module tells the two apart and names the
//! goroutine, the way Rust's runtime reports `thread 'main' has overflowed its
//! stack` for threads.
//!
//! The story below is Unix's (`unix.rs`); Windows reports from a vectored
//! exception handler instead (`windows.rs` says how), on the same slab table.
//!
//! # How
//!
//! * **A handler for `SIGSEGV` and `SIGBUS`**, installed once per process
//!   ([`install_handler`]) with `SA_ONSTACK`. Installing it swaps out the previous
//!   action (often Rust's own overflow handler), which is kept.
//! * **An alternate signal stack per thread** ([`prepare_thread`]): a fault in
//!   a guard page happens with the stack pointer at the guard, where the kernel
//!   cannot push a signal frame, so the handler must run on another stack
//!   (`sigaltstack`). Threads started by `std` already have one (Rust sets it up
//!   for its own handler); other threads get one from us, freed when the thread
//!   exits. The first [`resume`](crate::Coroutine::resume) on a thread calls
//!   [`prepare_thread`].
//! * **A lock-free, append-only table of slabs** (`register_slab`): every slab
//!   of stacks is registered before any of its stacks is handed out, with its
//!   address range, stride and stack size. Slabs are never unmapped, so entries
//!   never go stale.
//! * **The current coroutine's id** in a thread-local that
//!   [`Coroutine::resume`](crate::Coroutine::resume) sets around each resume
//!   ([`crate::current_id`]); the scheduler puts the goroutine id there.
//!
//! When a fault arrives, the handler looks the fault address up in the table. If
//! it lies in a guard page, it formats the message into a buffer on its own stack,
//! `write(2)`s it to stderr and calls `abort()`: the process dies by `SIGABRT`, as
//! a Go program dies on a fatal error. Any other fault (a null pointer, a wild
//! write, a thread's own stack overflow) goes to the previous handler, called as
//! it asked to be called; if there was none, the default action is restored and
//! the handler returns, so the faulting instruction runs again and the process
//! dies of the signal as it would have without us.
//!
//! # Async-signal safety
//!
//! The handler takes no lock and allocates nothing: the table is read with
//! atomic loads (each chunk is published with a `Release` store before the
//! length that makes its entries visible), the id is a `const`-initialised
//! thread-local without a destructor (a plain TLS load in an executable), and the
//! message is built in a fixed array. `write`, `sigaction` and `abort` are
//! async-signal-safe. Only a fault code from the kernel (`si_code > 0`) is taken
//! as a fault; a `SIGSEGV` sent with `kill` is passed on untouched.
//!
//! Rust probes every frame larger than a page, so a Rust frame cannot jump over
//! the guard page into the stack below. C code compiled without
//! `-fstack-clash-protection` can, and is not covered.

use std::cell::Cell;
use std::io;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicPtr, AtomicUsize};
use std::sync::Mutex;

// The handler, one module per OS family: signals on Unix, a vectored
// exception handler on Windows.
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

pub use sys::{install_handler, prepare_thread};

thread_local! {
    /// The id of the coroutine this thread is running, 0 if none. Written by
    /// `Coroutine::resume` around each resume; read by the fault handler.
    pub(crate) static CURRENT_ID: Cell<u64> = const { Cell::new(0) };
}

// ---------------------------------------------------------------------------
// The slab table.

/// One registered slab: `[start, end)`, stacks every `stride` bytes, each with
/// a guard of `stride - size` bytes at its low end.
struct SlabEntry {
    start: AtomicUsize,
    end: AtomicUsize,
    stride: AtomicUsize,
    size: AtomicUsize,
}

/// Entries per chunk of the table.
const TABLE_CHUNK: usize = 1024;
/// Chunks in the table: room for about a million slabs (hundreds of millions
/// of stacks).
const TABLE_CHUNKS: usize = 1024;

/// The table's chunks, allocated on demand and never freed. A non-null pointer
/// is published with `Release` (pairs with the `Acquire` load in [`guard_size`]).
static TABLE: [AtomicPtr<SlabEntry>; TABLE_CHUNKS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; TABLE_CHUNKS];

/// Entries in use. Stored with `Release` after the entry's fields; pairs with
/// the `Acquire` load in [`guard_size`], which then sees the fields.
static TABLE_LEN: AtomicUsize = AtomicUsize::new(0);

/// Serialises writers; readers (the handler) never take it.
static TABLE_WRITER: Mutex<()> = Mutex::new(());

/// Records a slab of stacks, so that a fault in one of its guard pages is
/// reported as an overflow. Call before handing out any of its stacks.
pub(crate) fn register_slab(
    start: usize,
    len: usize,
    stride: usize,
    size: usize,
) -> io::Result<()> {
    let _writer = TABLE_WRITER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let n = TABLE_LEN.load(Relaxed);
    if n == TABLE_CHUNK * TABLE_CHUNKS {
        return Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("the table of coroutine stack slabs is full ({n} slabs)"),
        ));
    }
    let slot = &TABLE[n / TABLE_CHUNK];
    let mut chunk = slot.load(Relaxed);
    if chunk.is_null() {
        let entries: Box<[SlabEntry]> = (0..TABLE_CHUNK)
            .map(|_| SlabEntry {
                start: AtomicUsize::new(0),
                end: AtomicUsize::new(0),
                stride: AtomicUsize::new(0),
                size: AtomicUsize::new(0),
            })
            .collect();
        chunk = Box::leak(entries).as_mut_ptr();
        // Release: publishes the chunk's initialised entries; pairs with the
        // Acquire load in `guard_size`.
        slot.store(chunk, Release);
    }
    // SAFETY: `chunk` holds TABLE_CHUNK entries and is never freed.
    let entry = unsafe { &*chunk.add(n % TABLE_CHUNK) };
    entry.start.store(start, Relaxed);
    entry.end.store(start + len, Relaxed);
    entry.stride.store(stride, Relaxed);
    entry.size.store(size, Relaxed);
    // Release: publishes the entry's fields; pairs with the Acquire load of
    // TABLE_LEN in `guard_size`.
    TABLE_LEN.store(n + 1, Release);
    Ok(())
}

/// If `addr` lies in the guard page of one of our stacks, that stack's size.
/// Async-signal-safe: atomic loads only.
fn guard_size(addr: usize) -> Option<usize> {
    // Acquire: pairs with the Release store in `register_slab`.
    let n = TABLE_LEN.load(Acquire);
    for i in 0..n {
        // Acquire: pairs with the Release store of the chunk pointer.
        let chunk = TABLE[i / TABLE_CHUNK].load(Acquire);
        // SAFETY: entry `i < n` was published (its chunk is non-null and
        // initialised) before TABLE_LEN passed it; chunks are never freed.
        let entry = unsafe { &*chunk.add(i % TABLE_CHUNK) };
        let start = entry.start.load(Relaxed);
        if addr < start || addr >= entry.end.load(Relaxed) {
            continue;
        }
        let stride = entry.stride.load(Relaxed);
        let size = entry.size.load(Relaxed);
        return if (addr - start) % stride < stride - size {
            Some(size)
        } else {
            None
        };
    }
    None
}

/// If `addr` lies anywhere in one of our slabs, the size of its stacks: the
/// Windows handler's test for a stack pointer. Async-signal-safe: atomic
/// loads only.
#[cfg_attr(not(windows), allow(dead_code))]
fn stack_size_at(addr: usize) -> Option<usize> {
    // Acquire: pairs with the Release store in `register_slab`.
    let n = TABLE_LEN.load(Acquire);
    for i in 0..n {
        // Acquire: pairs with the Release store of the chunk pointer.
        let chunk = TABLE[i / TABLE_CHUNK].load(Acquire);
        // SAFETY: as in `guard_size`: entry `i < n` was published and chunks
        // are never freed.
        let entry = unsafe { &*chunk.add(i % TABLE_CHUNK) };
        if (entry.start.load(Relaxed)..entry.end.load(Relaxed)).contains(&addr) {
            return Some(entry.size.load(Relaxed));
        }
    }
    None
}

/// Writes `G <id> overflowed its <size>-byte stack` to stderr and aborts.
/// Async-signal-safe (the write and the abort are the OS module's).
fn report_and_abort(id: u64, size: usize) -> ! {
    let mut buf = [0u8; 96];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(buf.len() - len);
        buf[len..len + n].copy_from_slice(&bytes[..n]);
        len += n;
    };
    let mut digits = [0u8; 20];
    put(b"G ");
    put(decimal(id, &mut digits));
    put(b" overflowed its ");
    put(decimal(size as u64, &mut digits));
    put(b"-byte stack\n");
    sys::write_stderr_and_abort(&buf[..len])
}

/// Formats `n` in decimal at the end of `digits`, returning the digits.
fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[at..];
        }
    }
}
