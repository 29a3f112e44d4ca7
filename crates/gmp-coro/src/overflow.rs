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

use std::cell::{Cell, RefCell};
use std::io;
use std::mem::{self, MaybeUninit};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};
use std::sync::{Mutex, OnceLock};

use crate::stack::page_size;

thread_local! {
    /// The id of the coroutine this thread is running, 0 if none. Written by
    /// `Coroutine::resume` around each resume; read by the fault handler.
    pub(crate) static CURRENT_ID: Cell<u64> = const { Cell::new(0) };

    /// The alternate signal stack this module gave the thread, if it did.
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
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

// ---------------------------------------------------------------------------
// The handler.

/// The actions that were installed for SIGSEGV and SIGBUS before ours, each
/// with a flag saying it has been written.
struct Previous {
    segv: PrevAction,
    bus: PrevAction,
}

struct PrevAction {
    /// Set with `Release` once `action` holds the previous action; pairs with
    /// the `Acquire` load in `chain`.
    ready: AtomicBool,
    action: std::cell::UnsafeCell<MaybeUninit<libc::sigaction>>,
}

// SAFETY: `action` is written once, by the `sigaction` call that installs our
// handler (inside `install_handler`'s `OnceLock`), before `ready` is set with
// Release; it is only read after `ready` is seen with Acquire.
unsafe impl Sync for PrevAction {}

static PREVIOUS: Previous = Previous {
    segv: PrevAction {
        ready: AtomicBool::new(false),
        action: std::cell::UnsafeCell::new(MaybeUninit::uninit()),
    },
    bus: PrevAction {
        ready: AtomicBool::new(false),
        action: std::cell::UnsafeCell::new(MaybeUninit::uninit()),
    },
};

/// A handler installed with `SA_SIGINFO`.
type SigactionFn = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Installs the fault handler for the process, once. Later calls return the
/// first call's result.
///
/// Called automatically by [`prepare_thread`].
///
/// ```
/// gmp_coro::overflow::install_handler()?;
/// gmp_coro::overflow::install_handler()?; // later calls do nothing
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn install_handler() -> io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let result = *INSTALLED.get_or_init(|| {
        for (sig, prev) in [
            (libc::SIGSEGV, &PREVIOUS.segv),
            (libc::SIGBUS, &PREVIOUS.bus),
        ] {
            // SAFETY: an all-zero sigaction is a valid value (empty mask, no
            // flags) that we then fill in.
            let mut action: libc::sigaction = unsafe { mem::zeroed() };
            let handler: SigactionFn = on_fault;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `action` is initialised; `prev.action` is written only
            // here, once, and nobody reads it before `ready` is set below.
            let rc = unsafe { libc::sigaction(sig, &action, (*prev.action.get()).as_mut_ptr()) };
            if rc != 0 {
                return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
            // Release: publishes the previous action; pairs with `chain`.
            prev.ready.store(true, Release);
        }
        Ok(())
    });
    result.map_err(|errno| {
        let err = io::Error::from_raw_os_error(errno);
        io::Error::new(
            err.kind(),
            format!("installing the coroutine stack-overflow handler failed: {err}"),
        )
    })
}

/// The `SIGSEGV`/`SIGBUS` handler. Runs on the alternate signal stack.
extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo; for a fault
    // (si_code > 0) the address field is the one that is filled in.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    if code > 0 {
        if let Some(size) = guard_size(addr) {
            let id = CURRENT_ID.try_with(Cell::get).unwrap_or(0);
            report_and_abort(id, size);
        }
    }
    // SAFETY: `sig`, `info` and `ctx` are what the kernel gave us.
    unsafe { chain(sig, info, ctx) }
}

/// Writes `G <id> overflowed its <size>-byte stack` to stderr and aborts.
/// Async-signal-safe.
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
    // SAFETY: `buf[..len]` is initialised; write(2) and abort(3) are
    // async-signal-safe.
    unsafe {
        libc::write(libc::STDERR_FILENO, buf.as_ptr().cast(), len);
        libc::abort()
    }
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

/// Passes a fault that is not ours to whoever handled it before us.
///
/// # Safety
///
/// Called only from `on_fault` with the kernel's arguments.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let prev = match sig {
        libc::SIGSEGV => &PREVIOUS.segv,
        _ => &PREVIOUS.bus,
    };
    // Acquire: pairs with the Release store in `install_handler`.
    if prev.ready.load(Acquire) {
        // SAFETY: `ready` says the action was written, and it never changes.
        let action = unsafe { (*prev.action.get()).assume_init_ref() };
        let handler = action.sa_sigaction;
        if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
            if action.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: with SA_SIGINFO the installer gave a three-argument
                // handler; we pass it the kernel's arguments.
                let f: SigactionFn = unsafe { mem::transmute(handler) };
                f(sig, info, ctx);
            } else {
                // SAFETY: without SA_SIGINFO the installer gave a one-argument
                // handler.
                let f: extern "C" fn(libc::c_int) = unsafe { mem::transmute(handler) };
                f(sig);
            }
            return;
        }
    }
    // No handler before us (or it ignored the signal, which a fault cannot
    // honour): restore the default action and return; the instruction faults
    // again and the process dies of the signal.
    // SAFETY: a zeroed sigaction with SIG_DFL is valid; sigaction(2) is
    // async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &action, ptr::null_mut());
    }
}

// ---------------------------------------------------------------------------
// Alternate signal stacks.

/// An alternate signal stack we mapped for a thread: a guard page, then
/// `len - page` usable bytes.
struct AltStack {
    base: usize,
    len: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let page = page_size();
        // SAFETY: querying the current alternate stack has no preconditions.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: as above; `current` is a valid out-pointer.
        unsafe { libc::sigaltstack(ptr::null(), &mut current) };
        if current.ss_sp as usize == self.base + page {
            let disable = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: the thread is exiting and runs no handler on it now.
            unsafe { libc::sigaltstack(&disable, ptr::null_mut()) };
        }
        // SAFETY: the mapping is ours and no longer the signal stack.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

/// Usable bytes of an alternate signal stack we map. Our handler needs a few
/// hundred bytes, but the handler it chains to (Rust's overflow report, say)
/// may need more.
fn alt_stack_size() -> usize {
    // Linux tells the signal frame's size for this CPU (AVX-512 frames outgrow
    // the old constant); elsewhere `SIGSTKSZ` is all there is.
    #[cfg(target_os = "linux")]
    let min = {
        const AT_MINSIGSTKSZ: libc::c_ulong = 51;
        // SAFETY: getauxval has no preconditions; 0 means "not known".
        unsafe { libc::getauxval(AT_MINSIGSTKSZ) as usize }
    };
    #[cfg(not(target_os = "linux"))]
    let min = 0;
    let want = min.max(libc::SIGSTKSZ).max(32 * 1024);
    want.next_multiple_of(page_size())
}

/// Gets the calling thread ready to run coroutines: installs the fault handler
/// (once per process) and gives the thread an alternate signal stack unless it
/// has one. Idempotent and cheap after the first call on a thread.
///
/// [`Coroutine::resume`](crate::Coroutine::resume) calls it on the first resume
/// on each thread; a scheduler may call it when an M starts.
///
/// ```
/// // An M can get its thread ready before it runs any coroutine.
/// let ready = std::thread::spawn(gmp_coro::overflow::prepare_thread).join().unwrap();
/// assert!(ready.is_ok());
/// ```
pub fn prepare_thread() -> io::Result<()> {
    install_handler()?;
    // SAFETY: `current` is a valid out-pointer; querying changes nothing.
    let mut current: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if current.ss_flags & libc::SS_DISABLE == 0 {
        return Ok(()); // std's, or ours from an earlier call.
    }
    let page = page_size();
    let size = alt_stack_size();
    let len = size + page;
    // SAFETY: a fresh anonymous mapping touches no existing memory.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            crate::sys::ALT_STACK_FLAGS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        let err = io::Error::last_os_error();
        return Err(io::Error::new(
            err.kind(),
            format!("mapping an alternate signal stack failed: {err}"),
        ));
    }
    let alt = AltStack {
        base: base as usize,
        len,
    };
    // SAFETY: the first page of our own mapping becomes the guard.
    if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let stack = libc::stack_t {
        ss_sp: (alt.base + page) as *mut libc::c_void,
        ss_flags: 0,
        ss_size: size,
    };
    // SAFETY: `stack` describes memory that stays mapped until `alt` is
    // dropped, which disables it first.
    if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    ALT_STACK
        .try_with(|slot| *slot.borrow_mut() = Some(alt))
        .map_err(|_| {
            io::Error::other("prepare_thread called while the thread's locals are being destroyed")
        })
}
