//! A safe coroutine on a pooled stack: the body of a stackful G.
//!
//! [`Coroutine`] wraps corosensei's coroutine (the context switch: a few
//! instructions that save the callee-saved registers and swap stack pointers,
//! Go's `gogo`/`mcall`) with the rules the scheduler needs:
//!
//! 1. **Input and output.** A coroutine runs an `FnOnce() -> R`. Each
//!    [`resume`](Coroutine::resume) returns [`Resumed`]: `Suspended` when the
//!    body called [`suspend`], `Finished(R)` when it returned, `Panicked(payload)`
//!    when it panicked. The panic is caught at the root of the coroutine's stack
//!    and handed over as a value; it never unwinds across the context switch.
//! 2. **`Send` until started, then pinned to its thread.** A new coroutine's
//!    stack holds only the closure, which is `Send`, so the coroutine can be
//!    moved anywhere (the scheduler steals unstarted Gs freely). Once it has run,
//!    its frames may hold anything: an `Rc`, a `MutexGuard`, and, invisibly, the
//!    address of a thread-local, which compiled code may keep in a register or a
//!    spill slot across a call. Resuming it on another thread would make that
//!    address point at the wrong thread's variable. So the first `resume`
//!    records the thread, and a `resume` on another thread panics. The
//!    `Coroutine` value itself may still travel (it is `Send`); only running its
//!    stack is tied to the thread. Go has no such rule because its compiler
//!    never caches a thread-local address across a call.
//! 3. **Free functions inside.** The body does not get a handle: [`suspend`],
//!    [`is_in_coroutine`], [`current_id`] and [`on_m_stack`] find the running
//!    coroutine through a thread-local set around each resume, as Go finds the
//!    running G through `getg()`.
//! 4. **Drop unwinds.** Dropping a suspended coroutine resumes it one last time
//!    with a forced unwind, so every frame's locals are dropped exactly once,
//!    then returns the stack to the pool. A coroutine that finishes gives its
//!    stack back at once, without waiting for the `Coroutine` to be dropped.
//!    The destructors that run in that unwind cannot suspend (nobody would
//!    resume them; [`suspend`] panics and says so) and must not panic (Rust
//!    aborts on a panic in a destructor during unwinding); `CURRENT` carries a
//!    tag meanwhile, which [`is_being_dropped`] reads.
//!
//! | Go | here |
//! | --- | --- |
//! | `newproc` (a G with a stack from `gfget`) | [`Coroutine::new`] |
//! | `execute` → `gogo` | [`Coroutine::resume`] |
//! | `gopark` → `mcall(park_m)` | [`suspend`] |
//! | `systemstack(fn)` (run on g0's stack) | [`on_m_stack`] |
//! | `getg().goid` | [`current_id`] |
//! | `goexit0` → `gfput` | finishing, or dropping the coroutine |
//!
//! # The thread-local protocol
//!
//! `CURRENT` holds the [`Yielder`] of the coroutine running on this thread, or
//! null. Its invariant: *when non-null, it points at the yielder of the
//! coroutine whose stack the thread is executing on.* `resume` saves the old
//! value, sets the coroutine's yielder (null on the first resume: the root sets
//! it, as the yielder lives on the coroutine's own stack), and on the way back
//! stores what the coroutine left there and restores the old value, so nested
//! coroutines (a coroutine resuming another) keep it right. [`on_m_stack`] clears
//! it while its closure runs on the resumer's stack.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use corosensei::{CoroutineResult, Yielder};

use crate::overflow::{self, CURRENT_ID};
use crate::stack::Stack;

/// What a coroutine's root returns: its value, or the payload of its panic.
type Outcome<R> = Result<R, Box<dyn Any + Send>>;

type Inner<R> = corosensei::Coroutine<(), (), Outcome<R>, Stack>;

thread_local! {
    /// The running coroutine's yielder, or null. See the module docs.
    static CURRENT: Cell<*const Yielder<(), ()>> = const { Cell::new(ptr::null()) };

    /// This thread's token for the affinity check, 0 until the thread first
    /// resumes a coroutine.
    static THREAD_TOKEN: Cell<u32> = const { Cell::new(0) };
}

/// The source of thread tokens; 0 is never handed out. 32 bits keep the
/// coroutine (and so every coroutine G's task cell) a word smaller; a
/// process would need four billion threads that run coroutines to run out,
/// and then the next such thread panics rather than reuse a token.
static NEXT_THREAD_TOKEN: AtomicU32 = AtomicU32::new(1);

/// The calling thread's token, assigning one (and preparing the thread for
/// coroutines) on first use. `ThreadId` would do, but `thread::current()`
/// costs a reference count; this is one TLS load.
#[inline]
fn thread_token() -> u32 {
    match THREAD_TOKEN.with(Cell::get) {
        0 => first_resume_on_thread(),
        token => token,
    }
}

#[cold]
fn first_resume_on_thread() -> u32 {
    if let Err(err) = overflow::prepare_thread() {
        panic!("gmp-coro: cannot run coroutines on this thread: {err}");
    }
    let token = NEXT_THREAD_TOKEN
        .fetch_update(Relaxed, Relaxed, |t| t.checked_add(1))
        .expect("gmp-coro: 2^32 - 1 threads have run coroutines; thread tokens are used up");
    THREAD_TOKEN.with(|t| t.set(token));
    token
}

/// What a [`resume`](Coroutine::resume) came back with.
///
/// ```
/// use gmp_coro::{Coroutine, Resumed, DEFAULT_STACK_SIZE};
///
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || 6 * 7).unwrap();
/// match co.resume() {
///     Resumed::Finished(answer) => assert_eq!(answer, 42),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[must_use = "a finished coroutine's value or panic is in the result"]
pub enum Resumed<R> {
    /// The coroutine called [`suspend`]; resume it again later.
    Suspended,
    /// The coroutine returned this value. It is finished.
    Finished(R),
    /// The coroutine panicked; this is the payload, as
    /// [`std::panic::catch_unwind`] gives it. It is finished.
    Panicked(Box<dyn Any + Send>),
}

impl<R> Resumed<R> {
    /// Whether the coroutine suspended (and so can be resumed again).
    ///
    /// ```
    /// use gmp_coro::{suspend, Coroutine, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, suspend).unwrap();
    /// assert!(co.resume().is_suspended());
    /// assert!(!co.resume().is_suspended()); // finished this time
    /// ```
    pub fn is_suspended(&self) -> bool {
        matches!(self, Resumed::Suspended)
    }
}

impl<R: fmt::Debug> fmt::Debug for Resumed<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resumed::Suspended => f.write_str("Suspended"),
            Resumed::Finished(value) => f.debug_tuple("Finished").field(value).finish(),
            Resumed::Panicked(_) => f.write_str("Panicked(..)"),
        }
    }
}

/// A stackful coroutine: a closure running on its own guarded, pooled stack,
/// able to [`suspend`] from any depth.
///
/// ```
/// use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};
///
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
///     let mut sum = 0;
///     for i in 1..=3 {
///         sum += i;
///         suspend(); // back to the resumer, from any depth
///     }
///     sum
/// })
/// .unwrap();
/// let mut suspends = 0;
/// let sum = loop {
///     match co.resume() {
///         Resumed::Suspended => suspends += 1,
///         Resumed::Finished(sum) => break sum,
///         Resumed::Panicked(_) => unreachable!(),
///     }
/// };
/// assert_eq!((suspends, sum), (3, 6));
/// ```
///
/// # Threads
///
/// A `Coroutine` is `Send`, and until it is first resumed it may run on any
/// thread. **The first [`resume`](Coroutine::resume) ties it to that thread**:
/// resuming it on another thread panics, because its frames may hold the
/// addresses of that thread's thread-locals (Rust may keep them across calls),
/// and running them elsewhere would be undefined behaviour. A started coroutine
/// dropped on another thread cannot be unwound there either; it is leaked (its
/// locals are never dropped and its stack never returns to the pool), which is
/// safe but should not happen in a correct scheduler.
///
/// The closure must be `Send`:
///
/// ```compile_fail
/// use std::rc::Rc;
/// let rc = Rc::new(1);
/// let co = gmp_coro::Coroutine::new(gmp_coro::DEFAULT_STACK_SIZE, move || *rc + 1);
/// ```
///
/// and the coroutine is `Send` whatever its body does once running:
///
/// ```
/// fn assert_send<T: Send>(_: &T) {}
/// let co = gmp_coro::Coroutine::new(gmp_coro::DEFAULT_STACK_SIZE, || {
///     let local = std::rc::Rc::new(5); // not Send, but lives on the stack
///     gmp_coro::suspend();
///     *local
/// })
/// .unwrap();
/// assert_send(&co);
/// let co = std::thread::spawn(move || co).join().unwrap(); // moves, unstarted
/// drop(co);
/// ```
///
/// # Dropping
///
/// Dropping a coroutine that has not started drops its closure; dropping a
/// suspended one unwinds its stack (each frame's locals are dropped once);
/// either way the stack goes back to the pool. A `Drop` impl that runs during
/// that unwind cannot [`suspend`] (it panics, saying so) and, as any
/// destructor during unwinding in Rust, must not panic: that aborts the
/// process. [`is_being_dropped`] tells such code where it is.
///
/// # Stack overflow
///
/// Running past the stack's end hits its guard page and kills the process with
/// `G <id> overflowed its <size>-byte stack` on stderr and `SIGABRT`, where
/// `<id>` is [`id`](Coroutine::id). Call [`on_m_stack`] for deep work.
pub struct Coroutine<R> {
    // Invariants: `yielder` is null or points into this coroutine's own stack;
    // it is dereferenced only through `CURRENT` while the coroutine runs, which
    // `resume` and `drop` allow only on the thread whose token is `owner`.
    /// `None` once finished (the stack is back in the pool).
    inner: Option<Inner<R>>,
    /// The coroutine's yielder (on its stack); null until first resumed.
    yielder: *const Yielder<(), ()>,
    /// The token of the thread that first resumed it; 0 while unstarted.
    owner: u32,
    /// The usable stack size (at most `MAX_STACK_SIZE`, 1 GiB).
    stack_size: u32,
    id: u64,
}

// SAFETY: before the first resume, the stack holds only the closure, which is
// `Send`, so the coroutine may move to and start on any thread. After it,
// everything that touches the stack or dereferences `yielder` (resume, drop)
// checks that it runs on the owner thread (rule 2 in the module docs); on any
// other thread drop leaks instead. The value `R` and a panic payload are `Send`.
unsafe impl<R: Send> Send for Coroutine<R> {}

/// Sets the thread's current coroutine for the duration of a resume (or of a
/// drop's forced unwind) and puts everything back on the way out, even if
/// the resume unwinds.
struct Enter<'a> {
    yielder: &'a mut *const Yielder<(), ()>,
    prev_yielder: *const Yielder<(), ()>,
    prev_id: u64,
}

/// The low bit of `CURRENT` while a coroutine's stack unwinds for its drop
/// (the yielder is at least word-aligned, so the bit is free): [`suspend`]
/// then refuses with a message rather than start a second unwind from a
/// destructor, which Rust turns into an abort with no word of why. A tag on
/// the pointer rather than a thread-local of its own keeps the resume path at
/// one thread-local swap.
const DROPPING: usize = 1;

impl<'a> Enter<'a> {
    #[inline]
    fn new(yielder: &'a mut *const Yielder<(), ()>, id: u64) -> Enter<'a> {
        Enter::with_tag(yielder, id, 0)
    }

    /// For [`Coroutine`]'s drop: `CURRENT` carries the [`DROPPING`] tag.
    fn dropping(yielder: &'a mut *const Yielder<(), ()>, id: u64) -> Enter<'a> {
        Enter::with_tag(yielder, id, DROPPING)
    }

    #[inline]
    fn with_tag(yielder: &'a mut *const Yielder<(), ()>, id: u64, tag: usize) -> Enter<'a> {
        let tagged = (*yielder).map_addr(|a| a | tag);
        let prev_yielder = CURRENT.with(|c| c.replace(tagged));
        let prev_id = CURRENT_ID.with(|c| c.replace(id));
        Enter {
            yielder,
            prev_yielder,
            prev_id,
        }
    }
}

impl Drop for Enter<'_> {
    #[inline]
    fn drop(&mut self) {
        // What the coroutine left in CURRENT is its yielder (set by its root on
        // the first resume); keep it, untagged, for the next resume.
        let left = CURRENT.with(|c| c.replace(self.prev_yielder));
        *self.yielder = left.map_addr(|a| a & !DROPPING);
        CURRENT_ID.with(|c| c.set(self.prev_id));
    }
}

/// Checks what [`Coroutine::new`] would refuse as invalid input, without
/// taking a stack: `stack_size` (a multiple of the page size in
/// `MIN_STACK_SIZE..=MAX_STACK_SIZE`) and the size of the closure type `F` (at
/// most a quarter of the stack). For callers that create the coroutine later,
/// when it first runs, but report bad input at once.
///
/// ```
/// use gmp_coro::{check, DEFAULT_STACK_SIZE};
///
/// assert!(check::<fn() -> u32>(DEFAULT_STACK_SIZE).is_ok());
/// // Not a multiple of the page size.
/// assert!(check::<fn() -> u32>(DEFAULT_STACK_SIZE + 1).is_err());
/// // A closure capturing 32 KiB does not fit in a quarter of 64 KiB.
/// assert!(check::<[u8; 32 * 1024]>(DEFAULT_STACK_SIZE).is_err());
/// ```
pub fn check<F>(stack_size: usize) -> io::Result<()> {
    crate::stack::check_size(stack_size)?;
    let captured = std::mem::size_of::<F>();
    if captured > stack_size / 4 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a coroutine's closure captures {captured} bytes, more than a quarter of \
                 its {stack_size}-byte stack; box the large captures"
            ),
        ));
    }
    Ok(())
}

impl<R: Send + 'static> Coroutine<R> {
    /// Creates a coroutine that will run `f` on a stack of `stack_size` bytes
    /// taken from the pool. Nothing runs until the first
    /// [`resume`](Coroutine::resume).
    ///
    /// The closure itself is moved onto the new stack (and copied again when
    /// it starts), so what it captures must fit in a quarter of the stack; box
    /// large captures.
    ///
    /// ```
    /// use gmp_coro::{Coroutine, Resumed, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || "hello").unwrap();
    /// assert!(!co.is_started()); // nothing has run yet
    /// assert!(matches!(co.resume(), Resumed::Finished("hello")));
    ///
    /// let err = Coroutine::new(1000, || ()).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Stack::new`]: `InvalidInput` for a size that is not a multiple of
    /// the page size in `MIN_STACK_SIZE..=MAX_STACK_SIZE`, or the OS error when
    /// no stack can be mapped. `InvalidInput` too for a closure larger than a
    /// quarter of the stack.
    #[inline]
    pub fn new<F>(stack_size: usize, f: F) -> io::Result<Coroutine<R>>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        check::<F>(stack_size)?;
        let stack = Stack::new(stack_size)?;
        let inner =
            corosensei::Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
                // The first resume left CURRENT null; the yielder lives here, on
                // this stack, for as long as the root runs.
                CURRENT.with(|c| c.set(yielder));
                panic::catch_unwind(AssertUnwindSafe(f))
            });
        Ok(Coroutine {
            inner: Some(inner),
            yielder: ptr::null(),
            owner: 0,
            id: 0,
            stack_size: u32::try_from(stack_size).expect("checked against MAX_STACK_SIZE"),
        })
    }
}

impl<R> Coroutine<R> {
    /// Runs the coroutine until it suspends, returns or panics.
    ///
    /// ```
    /// use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
    ///     suspend();
    ///     panic!("boom");
    /// })
    /// .unwrap();
    /// assert!(co.resume().is_suspended());
    /// assert!(matches!(co.resume(), Resumed::Panicked(_)));
    /// assert!(co.is_finished());
    /// ```
    ///
    /// # Panics
    ///
    /// If the coroutine has finished, or if it was first resumed on another
    /// thread (see [Threads](Coroutine#threads)).
    #[inline]
    pub fn resume(&mut self) -> Resumed<R> {
        let Some(inner) = self.inner.as_mut() else {
            panic!("Coroutine::resume called on a coroutine that has already finished");
        };
        let me = thread_token();
        if self.owner != me {
            assert!(
                self.owner == 0,
                "Coroutine::resume called on a thread other than the one that first resumed it \
                 (coroutine id {}): a started coroutine's stack may hold that thread's \
                 thread-local addresses, so it must stay on its thread",
                self.id
            );
            self.owner = me;
        }
        let result = {
            let _enter = Enter::new(&mut self.yielder, self.id);
            inner.resume(())
        };
        match result {
            CoroutineResult::Yield(()) => Resumed::Suspended,
            CoroutineResult::Return(outcome) => {
                // Finished: the stack goes back to the pool now.
                self.inner = None;
                match outcome {
                    Ok(value) => Resumed::Finished(value),
                    Err(payload) => Resumed::Panicked(payload),
                }
            }
        }
    }

    /// The id shown in the overflow report and returned by [`current_id`]
    /// while this coroutine runs; 0 until [`set_id`](Coroutine::set_id).
    ///
    /// ```
    /// use gmp_coro::{Coroutine, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || ()).unwrap();
    /// assert_eq!(co.id(), 0);
    /// co.set_id(12);
    /// assert_eq!(co.id(), 12);
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sets the id (the scheduler's goroutine id); takes effect at the next
    /// resume.
    ///
    /// ```
    /// use gmp_coro::{current_id, Coroutine, Resumed, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, current_id).unwrap();
    /// co.set_id(99);
    /// assert!(matches!(co.resume(), Resumed::Finished(99)));
    /// ```
    pub fn set_id(&mut self, id: u64) {
        self.id = id;
    }

    /// The usable size of the coroutine's stack, in bytes.
    ///
    /// ```
    /// use gmp_coro::{Coroutine, MIN_STACK_SIZE};
    ///
    /// let co = Coroutine::new(MIN_STACK_SIZE, || ()).unwrap();
    /// assert_eq!(co.stack_size(), MIN_STACK_SIZE);
    /// ```
    pub fn stack_size(&self) -> usize {
        self.stack_size as usize
    }

    /// An address on this coroutine's stack just above the frames a resume
    /// returns through (that of its yielder, which lives in the root frame),
    /// for [`prefetch_stack`]; 0 until first resumed. It never changes after
    /// that, so a scheduler can note it once, when the coroutine first
    /// suspends, and prefetch from it before every resume. A hint, not a
    /// pointer to dereference.
    #[inline]
    pub fn resume_hint(&self) -> usize {
        self.yielder.addr()
    }

    /// Whether the coroutine has been resumed at least once (and so is tied to
    /// a thread).
    ///
    /// ```
    /// use gmp_coro::{suspend, Coroutine, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, suspend).unwrap();
    /// assert!(!co.is_started());
    /// assert!(co.resume().is_suspended());
    /// assert!(co.is_started());
    /// ```
    pub fn is_started(&self) -> bool {
        self.owner != 0
    }

    /// Whether the coroutine returned or panicked.
    ///
    /// ```
    /// use gmp_coro::{suspend, Coroutine, DEFAULT_STACK_SIZE};
    ///
    /// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, suspend).unwrap();
    /// assert!(co.resume().is_suspended());
    /// assert!(!co.is_finished());
    /// let _ = co.resume();
    /// assert!(co.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_none()
    }
}

impl<R> Drop for Coroutine<R> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        if self.owner == 0 {
            // Never ran: corosensei drops the closure; any thread will do.
            drop(inner);
            return;
        }
        if THREAD_TOKEN.with(Cell::get) != self.owner {
            // Unwinding here would run the frames on the wrong thread.
            std::mem::forget(inner);
            return;
        }
        // Forced unwind: resumes the coroutine so that `suspend` panics with
        // corosensei's marker; our root catches it like any panic and
        // corosensei discards the result. The stack then drops into the pool.
        let _enter = Enter::dropping(&mut self.yielder, self.id);
        drop(inner);
    }
}

impl<R> fmt::Debug for Coroutine<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coroutine")
            .field("id", &self.id)
            .field("stack_size", &self.stack_size)
            .field("started", &self.is_started())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Suspends the running coroutine, returning control to whoever resumed it;
/// returns when it is resumed again.
///
/// ```
/// use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};
///
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
///     let mut steps = 0;
///     for _ in 0..2 {
///         steps += 1;
///         suspend();
///     }
///     steps
/// })
/// .unwrap();
/// assert!(co.resume().is_suspended());
/// assert!(co.resume().is_suspended());
/// assert!(matches!(co.resume(), Resumed::Finished(2)));
/// ```
///
/// # Panics
///
/// Outside a coroutine, including inside [`on_m_stack`], which runs on the
/// thread's own stack; and in a destructor that runs while a suspended
/// coroutine is dropped (see [`is_being_dropped`]).
#[inline]
pub fn suspend() {
    let yielder = CURRENT.with(Cell::get);
    if yielder.is_null() || yielder.addr() & DROPPING != 0 {
        cannot_suspend(yielder);
    }
    // SAFETY: a non-null, untagged CURRENT is the yielder of the coroutine
    // running on this very stack (module docs), alive while its root runs.
    unsafe { &*yielder }.suspend(());
}

/// Asks the CPU to bring into its cache the stack lines that resuming a
/// suspended coroutine reads first: the registers the switch saved and the
/// frames it returns through, from 512 bytes under `at`, the coroutine's
/// [`resume_hint`](Coroutine::resume_hint), to a line above it: the frames of
/// a coroutine parked a few calls deep (a G in `coro::wait` on a channel
/// suspends about 320 bytes below its hint) and the registers saved under them.
/// A scheduler calls it for the coroutine it resumes *next*, while it still
/// runs the current one: a parked coroutine's stack has usually left every
/// cache, and its first touch after the switch (a load on the critical path,
/// with a TLB miss) was a third of waking a million parked Gs
/// (`benches/stackful.rs`, `wake_million`). A coroutine parked deeper gets
/// only the frames nearest its root fetched early.
///
/// Only a hint: it never faults, whatever `at` is (0 is ignored), and does
/// nothing on CPUs other than x86 and x86-64, whose prefetch instructions
/// are not stable Rust yet.
///
/// ```
/// use gmp_coro::{suspend, Coroutine, DEFAULT_STACK_SIZE};
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || suspend()).unwrap();
/// assert_eq!(co.resume_hint(), 0); // not started
/// assert!(co.resume().is_suspended());
/// gmp_coro::prefetch_stack(co.resume_hint());
/// gmp_coro::prefetch_stack(0); // ignored
/// gmp_coro::prefetch_stack(usize::MAX); // never faults
/// ```
#[inline]
pub fn prefetch_stack(at: usize) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if at != 0 {
        #[cfg(target_arch = "x86")]
        use std::arch::x86::{_mm_prefetch, _MM_HINT_T0};
        #[cfg(target_arch = "x86_64")]
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const BELOW: usize = 512;
        let first = at.saturating_sub(BELOW) & !63;
        for line in 0..=BELOW / 64 {
            // SAFETY: a prefetch is a hint that never faults and has no
            // effect the program can observe, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((first + line * 64) as *const i8) };
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = at;
}

#[cold]
#[inline(never)]
fn cannot_suspend(yielder: *const Yielder<(), ()>) -> ! {
    if yielder.is_null() {
        panic!(
            "gmp_coro::suspend called outside a coroutine (or inside on_m_stack, which runs on \
             the thread's own stack)"
        );
    }
    panic!(
        "gmp_coro::suspend called while the coroutine is being dropped: its stack is unwinding \
         to drop its locals, and a destructor that runs then cannot suspend (this panic, inside \
         a destructor during unwinding, aborts the process)"
    );
}

/// Whether the calling code runs in a destructor while a suspended coroutine
/// is dropped: dropping it resumes it one last time to unwind its stack, and
/// each local's `Drop` runs then. Such code cannot [`suspend`] (there is no
/// one left to resume it), and a panic in it aborts the process, as any panic
/// in a destructor during unwinding does in Rust.
///
/// ```
/// use gmp_coro::{is_being_dropped, suspend, Coroutine, DEFAULT_STACK_SIZE};
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// struct Probe(Arc<AtomicBool>);
/// impl Drop for Probe {
///     fn drop(&mut self) {
///         self.0.store(is_being_dropped(), Ordering::SeqCst);
///     }
/// }
/// let seen = Arc::new(AtomicBool::new(false));
/// let probe = Probe(seen.clone());
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
///     let _probe = probe;
///     assert!(!is_being_dropped());
///     suspend();
/// })
/// .unwrap();
/// assert!(co.resume().is_suspended());
/// drop(co); // unwinds the stack: the probe's drop sees it
/// assert!(seen.load(Ordering::SeqCst));
/// ```
#[inline]
pub fn is_being_dropped() -> bool {
    CURRENT.with(Cell::get).addr() & DROPPING != 0
}

/// Whether the calling code runs on a coroutine's stack (false inside
/// [`on_m_stack`]).
///
/// ```
/// use gmp_coro::{is_in_coroutine, Coroutine, Resumed, DEFAULT_STACK_SIZE};
///
/// assert!(!is_in_coroutine());
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, is_in_coroutine).unwrap();
/// assert!(matches!(co.resume(), Resumed::Finished(true)));
/// ```
#[inline]
pub fn is_in_coroutine() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// The id of the coroutine this thread is running (see [`Coroutine::set_id`]),
/// or 0 when it runs none. Inside [`on_m_stack`] it is still the coroutine's.
///
/// ```
/// use gmp_coro::{current_id, on_m_stack, Coroutine, Resumed, DEFAULT_STACK_SIZE};
///
/// assert_eq!(current_id(), 0); // no coroutine runs here
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || on_m_stack(current_id)).unwrap();
/// co.set_id(5);
/// assert!(matches!(co.resume(), Resumed::Finished(5)));
/// ```
pub fn current_id() -> u64 {
    CURRENT_ID.with(Cell::get)
}

/// Runs `f` on the stack of whoever resumed the running coroutine (for the
/// scheduler, the M's own thread stack, Go's `systemstack`), so that deep
/// recursion or large buffers do not overflow the coroutine's small stack.
/// Outside a coroutine, just calls `f`.
///
/// Inside `f`, [`suspend`] panics and [`is_in_coroutine`] is false: `f` is on
/// another stack. A panic in `f` propagates to the caller, on the coroutine's
/// stack.
///
/// ```
/// use gmp_coro::{is_in_coroutine, on_m_stack, Coroutine, Resumed, DEFAULT_STACK_SIZE};
///
/// let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
///     // A 1 MiB buffer would not fit in the coroutine's 64 KiB stack.
///     on_m_stack(|| {
///         let buf = [1u8; 1 << 20];
///         (std::hint::black_box(&buf).iter().map(|&b| b as u32).sum::<u32>(), is_in_coroutine())
///     })
/// })
/// .unwrap();
/// assert!(matches!(co.resume(), Resumed::Finished((1_048_576, false))));
/// ```
pub fn on_m_stack<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
{
    let yielder = CURRENT.with(Cell::get);
    if yielder.is_null() {
        return f();
    }
    struct Restore(*const Yielder<(), ()>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(yielder);
    CURRENT.with(|c| c.set(ptr::null()));
    // SAFETY: `yielder` was CURRENT, so, untagged, it is the running
    // coroutine's (module docs); we are on that coroutine's stack.
    unsafe { &*yielder.map_addr(|a| a & !DROPPING) }.on_parent_stack(f)
}
