//! Stackful Gs: blocking-style code as goroutines, on the same Ps as async tasks.
//!
//! [`spawn`] (the `gmp::go!` macro) runs a closure on its own small, guarded,
//! pooled stack (from `gmp-coro`) as a G like any other: it is queued, stolen,
//! polled and joined through the same task cell and `JoinHandle` as a future.
//! Its future is a `CoroFuture`: each poll resumes the coroutine until it
//! suspends; a suspended coroutine is a parked G.
//!
//! Inside, [`wait`] parks the G until any future completes — it polls the
//! future with the G's own waker and suspends while it is pending — so every
//! async library (channels, timers, sockets, hyper clients) works from
//! blocking-style code. [`yield_now`] requeues the G behind the others;
//! [`preempt_check!`](crate::preempt_check) yields if sysmon marked the G (it
//! has run for more than 10 ms).
//!
//! # Thread affinity
//!
//! A coroutine that has started never moves to another OS thread: compiled Rust
//! may keep a thread-local's address in a register or a stack slot across a
//! call, so resuming its stack on another thread would hand it the wrong
//! thread's data (undefined behaviour that may's migrating coroutines exhibit).
//! When it first suspends, the G is bound to the M running it (Go's `lockedm`,
//! made the rule rather than an opt-in); from then on a wake sends it to that M's
//! mailbox instead of a P's run queue, so no thief can take it. If its M is
//! parked, the M is woken with an idle P, or, if no P is idle, queues for the
//! next one — and a busy M hands its P over within 61 schedule ticks (Go's
//! `startlockedm`). Unstarted coroutines and all async Gs migrate freely.
//!
//! [`lock_os_thread`] goes further, as Go's `runtime.LockOSThread` does: the
//! M then runs no other G until the locked one finishes or calls
//! [`unlock_os_thread`], for code that changes its thread's state — with one
//! exception Go does not need: coroutine Gs already bound to that M can run on
//! no other thread, so they still run there while the locked G waits (the
//! locked G may be waiting for one of them).
//!
//! # Suspending inside a poll
//!
//! A future polled by [`wait`] may itself call [`wait`], [`sleep`] or
//! [`yield_now`] inside its `poll` (a blocking-style read inside an adapter's
//! `poll`, say): the G parks right there, with the outer `poll` still on its
//! stack, and its `&mut Context` stays valid across the suspension, because
//! `wait` polls with a `Context` of its own, on the coroutine's stack.
//!
//! # Cancellation
//!
//! Aborting a coroutine G (or dropping its runtime) that is parked drops its
//! locals by unwinding its stack on its M, as a panic would. Two rules of Rust
//! apply to the destructors that run then, which do not apply to an async
//! task (whose future is simply dropped):
//!
//! * A destructor cannot park the G: [`wait`] and [`sleep`] panic and say so,
//!   and [`yield_now`] returns at once. Use [`gmp_coro::is_being_dropped`] to
//!   tell that case apart.
//! * A destructor must not panic: a panic in a destructor during unwinding
//!   aborts the process (in an async task the same panic becomes the
//!   `JoinError`). Keep cleanup that may fail out of `Drop`, or catch its
//!   panic inside the destructor.
//!
//! # What a parked coroutine costs
//!
//! Go starts a goroutine with a 2 KiB stack and grows it by copying; Rust frames
//! cannot be moved, so a gmp coroutine has a fixed-size stack (64 KiB of address
//! space by default, 32 KiB at least) of which only the pages it touched are
//! resident: a parked coroutine that used little of its stack holds one 4 KiB
//! page, plus its task cell and the coroutine's bookkeeping.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::{pin, Pin};
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

use gmp_coro::{Coroutine, Resumed};

use crate::context;
use crate::sched::worker::Worker;
use crate::task::{JoinError, JoinHandle};

pub use gmp_coro::{on_m_stack, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};

thread_local! {
    /// The `Context` of the coroutine G being resumed on this thread, as a
    /// type-erased pointer valid while `CoroFuture::poll` runs.
    static CX: Cell<*mut ()> = const { Cell::new(ptr::null_mut()) };
}

/// A coroutine as the future of a G.
///
/// The coroutine (and its stack) is created at the G's first poll, not at
/// spawn: an unstarted G holds only its closure, so a burst of spawns maps no
/// stacks, and each G that runs and finishes before the next starts hands the
/// same warm stack on through the pool (Go's Gs also take their stacks from
/// the free-G list when they start running). Closure and coroutine share the
/// space (an enum): a parked G's task cell holds only the coroutine's
/// bookkeeping (64 bytes, plus the enum's tag).
enum CoroFuture<F, R> {
    Start { f: F, stack_size: usize },
    Running(Coroutine<R>),
    Done,
}

impl<F, R> Unpin for CoroFuture<F, R> {}

impl<F, R> Future for CoroFuture<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = self.get_mut();
        if let CoroFuture::Start { .. } = this {
            let CoroFuture::Start { f, stack_size } = std::mem::replace(this, CoroFuture::Done)
            else {
                unreachable!()
            };
            *this = match Coroutine::new(stack_size, f) {
                Ok(co) => CoroFuture::Running(co),
                // The task harness turns this into the JoinHandle's error.
                Err(e) => panic!("gmp could not get a stack for a coroutine G: {e}"),
            };
            let CoroFuture::Running(co) = this else {
                unreachable!()
            };
            // Set in place: set on a local before the move, the id's store
            // stalled the move's wider loads (store forwarding).
            co.set_id(
                Worker::with_current(|w| w.map(Worker::current_task_id))
                    .expect("a coroutine G is polled by an M"),
            );
        }
        let CoroFuture::Running(co) = this else {
            panic!("a coroutine G is not polled after it finished");
        };
        let prev = CX.with(|c| c.replace((cx as *mut Context<'_>).cast()));
        struct Restore(*mut ());
        impl Drop for Restore {
            fn drop(&mut self) {
                CX.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(prev);
        let first_run = !co.is_started();
        #[cfg(debug_assertions)]
        debug_assert!(
            crate::task_local::chain_is_empty(),
            "a coroutine G resumed inside a task-local scope (task_local.rs, rule 3)"
        );
        match co.resume() {
            Resumed::Suspended if !first_run => Poll::Pending,
            Resumed::Suspended => {
                // Bound at its first suspension (and only then: bound, it
                // stays bound), not at its start: a G that
                // runs to its end in one go (most short ones) costs no
                // binding, and until it suspends nothing can requeue it (a
                // wake while it runs only marks it, rule 5 of the task essay),
                // so no wake can miss the binding. `lock_os_thread` may have
                // bound it already. Its header also notes, once (it never
                // changes), where its M prefetches the G's stack from before
                // resuming it (`take_bound`).
                let at = co.resume_hint();
                let unbound = crate::task::current::with(|h| {
                    h.is_some_and(|h| {
                        h.resume_at.store(at, Relaxed);
                        h.bound_m().is_none()
                    })
                });
                if unbound {
                    Worker::with_current(|w| {
                        w.expect("a coroutine G is polled by an M")
                            .bind_current_task();
                    });
                }
                Poll::Pending
            }
            Resumed::Finished(out) => {
                *this = CoroFuture::Done;
                Poll::Ready(out)
            }
            Resumed::Panicked(payload) => {
                *this = CoroFuture::Done;
                // The task harness catches this and hands it to the JoinHandle.
                std::panic::resume_unwind(payload)
            }
        }
    }
}

/// Runs `f` as a coroutine G (a goroutine) on the current runtime and returns
/// its [`JoinHandle`] — the same handle async tasks have: `.await` it from
/// async code, [`wait`] on it from a coroutine, or
/// [`JoinHandle::join`](crate::JoinHandle::join) it from a plain thread.
///
/// The G's stack is taken from the pool when it first runs. If none can be had
/// then (the process ran out of memory maps), the G fails and its `JoinHandle`
/// reports the panic "gmp could not get a stack for a coroutine G".
///
/// ```
/// let answer = gmp_exec::block_on(gmp_exec::coro::spawn(|| {
///     // Blocking-style code, on a small stack, parked while it waits.
///     let a = gmp_exec::coro::wait(gmp_exec::spawn(async { 20 })).unwrap();
///     gmp_exec::coro::yield_now();
///     a + 22
/// }));
/// assert_eq!(answer.unwrap(), 42);
/// ```
///
/// A closure that is not `Send` cannot become a G (it may first run on any
/// thread):
///
/// ```compile_fail
/// let local = std::rc::Rc::new(1);
/// gmp_exec::coro::spawn(move || *local + 1);
/// ```
#[track_caller]
pub fn spawn<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = Location::caller();
    match spawn_at(f, DEFAULT_STACK_SIZE, None, location) {
        Ok(handle) => handle,
        // Only a closure too large for the default stack gets here.
        Err(e) => panic!("gmp::coro::spawn: {e}"),
    }
}

fn spawn_at<F, R>(
    f: F,
    stack_size: usize,
    name: Option<&str>,
    location: &'static Location<'static>,
) -> io::Result<JoinHandle<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // Bad input is reported now; the stack is taken at the first poll.
    gmp_coro::check::<F>(stack_size)?;
    let fut = CoroFuture::Start { f, stack_size };
    Ok(context::spawn(fut, location, name))
}

/// Spawns a coroutine G with options: stack size and name.
///
/// ```
/// let h = gmp_exec::coro::Builder::new()
///     .stack_size(128 * 1024)
///     .name("parser")
///     .spawn(|| 1 + 1)
///     .unwrap();
/// assert_eq!(h.join().unwrap(), 2);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder<'a> {
    stack_size: usize,
    name: Option<&'a str>,
}

impl Default for Builder<'_> {
    fn default() -> Self {
        Builder::new()
    }
}

impl<'a> Builder<'a> {
    /// Default stack size ([`DEFAULT_STACK_SIZE`]), no name.
    ///
    /// ```
    /// let builder = gmp_exec::coro::Builder::new();
    /// let h = builder.spawn(|| "default stack").unwrap();
    /// assert_eq!(h.join().unwrap(), "default stack");
    /// ```
    pub fn new() -> Self {
        Builder {
            stack_size: DEFAULT_STACK_SIZE,
            name: None,
        }
    }

    /// The stack size in bytes: a multiple of the page size, at least
    /// [`MIN_STACK_SIZE`]. The stack cannot grow; a G that overflows it is
    /// reported (`G <id> overflowed its <n>-byte stack`) and the process
    /// aborts.
    ///
    /// ```
    /// let h = gmp_exec::coro::Builder::new()
    ///     .stack_size(256 * 1024)
    ///     .spawn(|| [7u8; 100 * 1024].iter().map(|&b| b as usize).sum::<usize>())
    ///     .unwrap();
    /// assert_eq!(h.join().unwrap(), 700 * 1024);
    /// // Too small a stack is refused at spawn.
    /// let err = gmp_exec::coro::Builder::new().stack_size(1).spawn(|| ()).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn stack_size(self, bytes: usize) -> Self {
        Builder {
            stack_size: bytes,
            ..self
        }
    }

    /// Names the G (shown in dumps, traces and watchdog reports).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let _guard = rt.enter();
    /// let (tx, rx) = gmp_exec::chan::bounded::<()>(1);
    /// let h = gmp_exec::coro::Builder::new()
    ///     .name("reader")
    ///     .spawn(move || gmp_exec::coro::wait(rx.recv()).is_err())
    ///     .unwrap();
    /// let dump = rt.handle().dump();
    /// let g = dump.tasks.iter().find(|t| t.id == h.id()).unwrap();
    /// assert_eq!(g.name.as_deref(), Some("reader"));
    /// drop(tx);
    /// assert!(h.join().unwrap());
    /// ```
    pub fn name(self, name: &'a str) -> Self {
        Builder {
            name: Some(name),
            ..self
        }
    }

    /// Spawns `f`; `InvalidInput` for a bad stack size, or the OS error if no
    /// stack can be mapped.
    ///
    /// ```
    /// let h = gmp_exec::coro::Builder::new()
    ///     .name("summer")
    ///     .spawn(|| (1..=100).sum::<u32>())
    ///     .unwrap();
    /// assert_eq!(h.join().unwrap(), 5050);
    /// ```
    #[track_caller]
    pub fn spawn<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_at(f, self.stack_size, self.name, Location::caller())
    }
}

/// True inside a coroutine G.
///
/// ```
/// assert!(!gmp_exec::coro::is_coroutine());
/// let in_coro = gmp_exec::coro::spawn(gmp_exec::coro::is_coroutine);
/// assert!(in_coro.join().unwrap());
/// let in_async = gmp_exec::spawn(async { gmp_exec::coro::is_coroutine() });
/// assert!(!in_async.join().unwrap());
/// ```
pub fn is_coroutine() -> bool {
    !CX.with(Cell::get).is_null() && gmp_coro::is_in_coroutine()
}

#[track_caller]
#[inline]
fn context_ptr(what: &str) -> *mut Context<'static> {
    let cx = CX.with(Cell::get);
    if cx.is_null() || !gmp_coro::is_in_coroutine() || gmp_coro::is_being_dropped() {
        cannot_suspend(what, cx.is_null());
    }
    cx.cast()
}

/// Why a suspending call cannot suspend here, as a panic that names the misuse.
#[cold]
#[inline(never)]
#[track_caller]
fn cannot_suspend(what: &str, no_poll: bool) -> ! {
    if gmp_coro::is_being_dropped() {
        panic!(
            "gmp::coro::{what} called while its coroutine G is being cancelled (aborted, or torn \
             down by runtime shutdown): the G's stack is unwinding to drop its locals, and a \
             destructor that runs then cannot park the G (this panic, inside a destructor during \
             unwinding, aborts the process; see the \"Cancellation\" section of gmp::coro)"
        );
    }
    if !no_poll && !gmp_coro::is_in_coroutine() {
        panic!(
            "gmp::coro::{what} called inside on_m_stack, which runs on the M's own stack and \
             cannot park the G"
        );
    }
    panic!(
        "gmp::coro::{what} called outside a coroutine G; start one with gmp::go!, \
         or .await from async code"
    );
}
// `JoinHandle::join` lives here, with the other blocking-style calls, rather
// than beside the task cell: the task code stays below the scheduler, the
// coroutines and `block_on`.
impl<T> JoinHandle<T> {
    /// Waits for the task blocking-style and returns its output: inside a
    /// coroutine G it parks the G ([`coro::wait`](crate::coro::wait)); on a
    /// plain thread it blocks the thread.
    ///
    /// # Panics
    ///
    /// From an async G (it would block the M and every G queued on its P):
    /// `.await` the handle there.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let handle = rt.spawn(async { "joined" });
    /// // A plain thread may block on the handle.
    /// assert_eq!(handle.join().unwrap(), "joined");
    /// ```
    #[inline] // in a coroutine it suspends: see `coro::wait`
    #[track_caller]
    pub fn join(self) -> Result<T, JoinError> {
        if is_coroutine() {
            wait(self)
        } else if crate::task::current::with(|h| h.is_some()) {
            panic!(
                "JoinHandle::join called from an async G: it would block the M that runs \
                 it; .await the handle instead"
            )
        } else {
            crate::block_on::block_on(self)
        }
    }
}

/// Parks the current coroutine G until `fut` completes, and returns its output
/// — `.await` for blocking-style code. The M runs other Gs meanwhile.
///
/// # Panics
///
/// Outside a coroutine G, inside [`on_m_stack`], and in a destructor that
/// runs while the G is cancelled (see [Cancellation](self#cancellation)).
///
/// ```
/// let h = gmp_exec::coro::spawn(|| {
///     let (tx, rx) = gmp_exec::chan::bounded(1);
///     gmp_exec::spawn(async move { tx.send("hello").await.unwrap() });
///     // Parks this G (not its thread) until the value arrives.
///     gmp_exec::coro::wait(rx.recv()).unwrap()
/// });
/// assert_eq!(h.join().unwrap(), "hello");
/// ```
// Inlined into the caller, as `yield_now`, `sleep` and `JoinHandle::join` are,
// for the CPU's return-address predictor: a resume enters the coroutine with a
// `call` whose return the next suspend's `ret` consumes. Suspended inside a
// function of its own, the coroutine's first `ret` after each resume (back to
// its caller) and the suspend's `ret` (reached through a new `call`) are
// mispredicted, and so are the M-side returns after them: that alone was half
// of a yield (60 ns → 30 ns per yield, 300 → 250 ns per ping-pong round trip,
// `benches/stackful.rs`).
//
// The futures are polled with a `Context` of `wait`'s own, on the coroutine's
// stack, not with the one the task's poll was given: that one lives in the M's
// poll frame, which returns each time the G suspends, so a future whose `poll`
// itself suspends the G (a nested `wait`, `sleep` or `yield_now`, say a
// blocking-style read inside an adapter's poll) would hold a dangling
// `&mut Context` across the suspension and after it. Ours lives as long as
// this call and holds a copy of the task's waker that borrows no frame
// (`task::detached_copy`): copying two words, no reference count.
#[inline]
#[track_caller]
pub fn wait<F: Future>(fut: F) -> F::Output {
    wait_in("wait", fut)
}

/// `wait`, for the public call `what` (named in the misuse panics).
#[inline]
#[track_caller]
fn wait_in<F: Future>(what: &str, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    // SAFETY: `CX` points to the `Context` that `CoroFuture::poll` is running
    // with right now (it resumed us and restores `CX` when we suspend), on
    // this thread; only its waker is read, and copied, here.
    let waker = crate::task::detached_copy(unsafe { &*context_ptr(what) }.waker());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        // The G's task-local scopes leave the thread while it is parked.
        let _scopes = crate::task_local::detach();
        gmp_coro::suspend();
    }
}

/// Lets the other runnable Gs go first: this coroutine G goes to the back of
/// its M's queue (Go's `runtime.Gosched`).
///
/// # Panics
///
/// Outside a coroutine G.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// let done = Arc::new(AtomicBool::new(false));
/// let (flag, seen) = (done.clone(), done.clone());
/// let h = gmp_exec::coro::spawn(move || {
///     gmp_exec::spawn(async move { flag.store(true, Ordering::SeqCst) });
///     while !done.load(Ordering::SeqCst) {
///         gmp_exec::coro::yield_now(); // let the other G run
///     }
/// });
/// h.join().unwrap();
/// assert!(seen.load(Ordering::SeqCst));
/// ```
#[inline] // see `wait`
#[track_caller]
pub fn yield_now() {
    if gmp_coro::is_being_dropped() {
        // A destructor of a G being cancelled: there is nothing to yield to
        // (the G ends when the unwind does), and a yield is only a hint.
        return;
    }
    let cx = context_ptr("yield_now");
    // The G keeps RUNNING across the yield (rule 6 in `task/wait.rs`), unless
    // no M polls it; then it wakes itself, as any future would.
    if !crate::task::wait::ask_yield() {
        // SAFETY: as in `wait`.
        unsafe { &*cx }.waker().wake_by_ref();
    }
    let _scopes = crate::task_local::detach(); // see `wait`
    gmp_coro::suspend();
}

/// Parks the current coroutine G for `duration` on a gmp timer (Go's
/// `time.Sleep`): the M runs other Gs meanwhile.
///
/// ```
/// use std::time::{Duration, Instant};
/// let h = gmp_exec::coro::spawn(|| {
///     let start = Instant::now();
///     gmp_exec::coro::sleep(Duration::from_millis(5));
///     start.elapsed()
/// });
/// assert!(h.join().unwrap() >= Duration::from_millis(5));
/// ```
///
/// # Panics
///
/// Outside a coroutine G.
#[cfg(not(loom))]
#[inline] // see `wait`
#[track_caller]
pub fn sleep(duration: std::time::Duration) {
    wait_in("sleep", crate::time::sleep(duration));
}

/// True if sysmon has marked the running G for preemption (it has run for more
/// than `retake_after`, 10 ms by default). See [`preempt_check!`](crate::preempt_check).
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = gmp_exec::Runtime::builder()
///     .procs(1)
///     .retake_after(Some(Duration::from_millis(1)))
///     .build()
///     .unwrap();
/// assert!(!gmp_exec::coro::preempt_requested()); // not in a G
/// let _guard = rt.enter();
/// let marked = gmp_exec::coro::spawn(|| {
///     let start = Instant::now();
///     while start.elapsed() < Duration::from_secs(5) {
///         if gmp_exec::coro::preempt_requested() {
///             return true; // sysmon saw this G run for more than 1 ms
///         }
///     }
///     false
/// });
/// assert!(marked.join().unwrap());
/// ```
#[inline]
pub fn preempt_requested() -> bool {
    Worker::with_current(|w| w.is_some_and(|w| w.preempt_marked()))
}

/// Yields the current coroutine G if sysmon has marked it for preemption: put
/// it in long computations so other Gs are not starved. Costs a thread-local
/// read and a load when no mark is set.
///
/// ```
/// let h = gmp_exec::coro::spawn(|| {
///     let mut x = 0u64;
///     for i in 0..10_000_000u64 {
///         x = x.wrapping_add(i);
///         gmp_exec::preempt_check!();
///     }
///     x
/// });
/// assert!(h.join().is_ok());
/// ```
#[macro_export]
macro_rules! preempt_check {
    () => {
        if $crate::coro::preempt_requested() {
            $crate::coro::yield_now();
        }
    };
}

/// Wires the current G to its OS thread exclusively (Go's
/// `runtime.LockOSThread`): it keeps running on this M (a coroutine always
/// does), and the M runs no other G until the G finishes or calls
/// [`unlock_os_thread`] — for code that changes its thread's state. Works in
/// async Gs too.
///
/// As in Go:
///
/// * **Calls nest.** Each `lock_os_thread` needs its own
///   [`unlock_os_thread`]; the lock ends with the last one.
/// * **A G that ends while locked takes its thread with it**: the M exits
///   instead of running other Gs (another M takes its P), so whatever thread
///   state the G changed — a namespace, a signal mask, a thread-local — never
///   reaches a later G.
///
/// The coroutine Gs already bound to this M (started on it, so they can run on
/// no other thread) are the exception: while the locked G waits, they run
/// here, seeing whatever thread state it changed, and after a locked G ends,
/// the thread lives on until they have ended too. Go has no such Gs; without
/// the exception a locked G that waits for one of them would wait forever.
/// One of them that calls `lock_os_thread` while another G holds the lock
/// panics: a thread is locked by one G at a time.
///
/// # Panics
///
/// Outside a G.
///
/// ```
/// let same_thread = gmp_exec::block_on(gmp_exec::spawn(async {
///     gmp_exec::coro::lock_os_thread();
///     let before = std::thread::current().id();
///     gmp_exec::yield_now().await;
///     let after = std::thread::current().id();
///     gmp_exec::coro::unlock_os_thread();
///     before == after
/// }));
/// assert!(same_thread.unwrap());
/// ```
pub fn lock_os_thread() {
    Worker::with_current(|w| match w {
        Some(w) => w.lock_current_task(),
        None => panic!("gmp::coro::lock_os_thread called outside a G"),
    })
}

/// Undoes [`lock_os_thread`]: the M runs other Gs again (the G itself stays
/// on this thread if it is a started coroutine).
///
/// ```
/// let h = gmp_exec::coro::spawn(|| {
///     gmp_exec::coro::lock_os_thread();
///     let before = std::thread::current().id();
///     gmp_exec::coro::yield_now();
///     gmp_exec::coro::unlock_os_thread();
///     // Other Gs may use this M again; a started coroutine stays on it anyway.
///     gmp_exec::coro::yield_now();
///     std::thread::current().id() == before
/// });
/// assert!(h.join().unwrap());
/// ```
pub fn unlock_os_thread() {
    Worker::with_current(|w| {
        if let Some(w) = w {
            w.unlock_current_task();
        }
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn future_size<F: FnOnce() -> R, R>(_: &F) -> usize {
        std::mem::size_of::<CoroFuture<F, R>>()
    }

    /// A parked coroutine G's cell holds the coroutine's bookkeeping and not
    /// its (already consumed) closure: what `park_memory` counts per G.
    #[test]
    fn a_coroutine_future_is_the_larger_of_closure_and_coroutine() {
        let captures = [0u64; 3];
        let f = move || captures.len();
        // 64 + 8 in an ordinary build (ASan's fiber bookkeeping adds more).
        assert_eq!(
            future_size(&f),
            std::mem::size_of::<Coroutine<usize>>() + 8,
            "closure and coroutine share the space"
        );
    }
}
