//! The overflow report on Unix: a `SIGSEGV`/`SIGBUS` handler on an
//! alternate signal stack (the [module docs](super) tell the story).

use std::cell::{Cell, RefCell};
use std::io;
use std::mem::{self, MaybeUninit};
use std::ptr;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::OnceLock;

use super::{guard_size, report_and_abort, CURRENT_ID};
use crate::stack::page_size;

thread_local! {
    /// The alternate signal stack this module gave the thread, if it did.
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Writes `msg` to stderr and aborts. Async-signal-safe.
pub(super) fn write_stderr_and_abort(msg: &[u8]) -> ! {
    // SAFETY: `msg` is valid for its length; write(2) and abort(3) are
    // async-signal-safe.
    unsafe {
        libc::write(libc::STDERR_FILENO, msg.as_ptr().cast(), msg.len());
        libc::abort()
    }
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
