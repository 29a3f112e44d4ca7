//! The cell's layout and the harness: what an M does to poll, complete, cancel
//! and free a task. All of the task's `unsafe` lives here and in `waker.rs`.
//!
//! # Invariants of `Cell<F, S>`
//!
//! * The cell is allocated by `new_task` (from a P's free cache or the system
//!   allocator, see `alloc`) and freed by `dealloc` when the reference count
//!   (in the state word) reaches zero.
//! * `header` is the first field (`repr(C)`), so a `NonNull<Header>` can be cast
//!   back to the cell by the functions of this cell's vtable, which are
//!   monomorphised for exactly `F` and `S`.
//! * `stage` is accessed only under rule 1 of the [task essay](super).
//! * `scheduler` points to a value that outlives every moment at which this
//!   task can be scheduled (it is not complete, or a notified reference is in
//!   flight); the runtime's shutdown sequence upholds that.

use std::alloc::Layout;
use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicU64, UnsafeCell};

use crate::trace::end;

use super::alloc::{self, PFree};
use super::join::JoinError;
use super::state::{State, TransitionToIdle, TransitionToNotified, TransitionToRunning};
use super::wait;
use super::waker::waker_ref;
use super::{Id, JoinHandle, Notified};

/// What a task needs from whoever runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a notified task (a wake, an abort).
    fn schedule(&self, task: Notified);

    /// Requeues a task that was woken while it ran, behind the other runnable
    /// tasks (it yielded).
    fn yield_now(&self, task: Notified);

    /// Queues a yielded coroutine G that keeps `RUNNING` (its wait word reads
    /// `YIELDED`; rule 6 of the task essay) on the M polling it, which must be
    /// the M it is bound to. Gives the task back if this thread is not that
    /// M; the caller then requeues it the ordinary way.
    fn keep_running(&self, task: Notified) -> Result<(), Notified> {
        Err(task)
    }

    /// The task completed: forget it in the live-task registry. Returns the
    /// number of references the registry held (0 or 1).
    fn release(&self, task: &Header) -> usize;

    /// A task's poll panicked (the panic is already caught and will reach its
    /// `JoinHandle`); a scheduler may choose to abort the process instead.
    fn unhandled_panic(&self) {}

    /// Whether the tasks are Gs, polled by Ms (the runtime's scheduler), so
    /// that the task being polled is this thread's current G
    /// ([`current`](super::current)); not for the blocking pool's closures,
    /// which run on threads of their own.
    const POLLS_GS: bool = true;

    /// Calls `f` with the free-cell cache of the P this thread holds, or
    /// `None` (then a freed cell goes straight back to the allocator). The
    /// default has no cache.
    #[inline]
    fn with_free_cache<R>(f: impl FnOnce(Option<&mut PFree>) -> R) -> R
    where
        Self: Sized,
    {
        f(None)
    }
}

/// The registry-slot bits of `Header::slot_and_m`; all ones means "none".
pub(crate) const SLOT_MASK: u64 = (1 << 48) - 1;

/// The type-erased half of a task, first in every cell.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    vtable: &'static Vtable,
    /// Go's `goid`.
    pub(crate) id: u64,
    /// Where the task sits in the scheduler's registry (low 48 bits: written
    /// once by the spawner before the task is published, read by whoever
    /// completes it) and, in the high 16 bits, the M it is bound to plus one
    /// (0: unbound) — written once, by that M, while it polls the task (a
    /// coroutine's first suspension; a started coroutine never leaves its M).
    slot_and_m: AtomicU64,
    /// The `spawn` call site (Go's `gopc`).
    pub(crate) location: &'static Location<'static>,
    /// Rule 3 of the task essay.
    join_waker: UnsafeCell<Option<Waker>>,
    /// What the G waits on, for dumps (`wait.rs`). A plain std atomic even
    /// under loom: a hint no protocol depends on.
    pub(crate) wait: std::sync::atomic::AtomicU64,
    /// A coroutine G's `gmp_coro::Coroutine::resume_hint`, written by its M
    /// when the G first suspends and read by that M to prefetch the G's
    /// stack one G before it resumes it (`take_bound`); 0 for an async G. A
    /// plain std atomic even under loom: a hint, read only by the thread that
    /// writes it.
    pub(crate) resume_at: std::sync::atomic::AtomicUsize,
}

/// The monomorphised operations of one cell type.
pub(crate) struct Vtable {
    /// Runs the task with the notified reference it is handed; returns how the
    /// poll ended (a `trace::end` code).
    pub(crate) poll: unsafe fn(NonNull<Header>) -> u64,
    /// Submits a notified reference to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the cell.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: writes `Poll<Result<T, JoinError>>` to `dst` if ready.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// `JoinHandle::drop` when the fast path did not apply.
    pub(crate) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    /// A notified reference that will never run: cancel the task.
    pub(crate) cancel_notified: unsafe fn(NonNull<Header>),
    /// Shutdown's sweep, with one reference.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: NonNull<S>,
    stage: UnsafeCell<Stage<F>>,
}

impl Header {
    pub(crate) fn vtable(&self) -> &'static Vtable {
        self.vtable
    }

    /// The task's id.
    pub(crate) fn task_id(&self) -> Id {
        Id(NonZeroU64::new(self.id).expect("task ids start at 1"))
    }

    /// Records the registry slot.
    ///
    /// # Safety
    ///
    /// Called only by the spawner, before the task is published (queued or its
    /// `JoinHandle` returned).
    pub(crate) unsafe fn set_registry_slot(&self, slot: u64) {
        debug_assert!(slot < 1 << 48);
        // Relaxed: the caller is the only thread that can see the task yet;
        // publication (a Release store of a queue or the state word) orders it.
        self.slot_and_m.store(slot, Relaxed);
    }

    /// The registry slot recorded at spawn (`u64::MAX >> 16`: none).
    pub(crate) fn registry_slot(&self) -> u64 {
        // Relaxed: see `set_registry_slot`.
        self.slot_and_m.load(Relaxed) & SLOT_MASK
    }

    /// Binds the task to M `m` for good. Called once, by that M, while it
    /// polls the task.
    pub(crate) fn bind_to_m(&self, m: usize) {
        // Checked in release builds too: an id that did not fit would bind
        // the task to another M (or to none) for good. `new_m` never hands
        // out one this large (`Builder` caps `max_threads`).
        assert!(
            m < crate::config::MAX_THREADS,
            "M id {m} does not fit a task's 16-bit M binding (at most {})",
            crate::config::MAX_THREADS - 1
        );
        // Release: a waker that reads the binding (Acquire) routes the task to
        // this M. Wakers made earlier in this poll cannot queue the task
        // before the poll ends (rule 5), and the end of the poll publishes
        // this store through the state word.
        self.slot_and_m.fetch_or(((m as u64) + 1) << 48, Release);
    }

    /// The M the task is bound to, if any.
    #[inline]
    pub(crate) fn bound_m(&self) -> Option<usize> {
        // Acquire: pairs with `bind_to_m`.
        match self.slot_and_m.load(Acquire) >> 48 {
            0 => None,
            m => Some(m as usize - 1),
        }
    }
}

/// Allocates a task for `future`, scheduled by `scheduler`, from the spawning
/// P's free cache if one is given: returns its notified reference and its
/// `JoinHandle` (the third initial reference is the registry's, for the spawner
/// to hand over or drop).
///
/// # Safety
///
/// `scheduler` must satisfy the `scheduler` invariant of the module docs.
pub(crate) unsafe fn new_task<F, S>(
    future: F,
    scheduler: NonNull<S>,
    id: u64,
    location: &'static Location<'static>,
    cache: Option<&mut PFree>,
) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let mem = alloc::allocate(Layout::new::<Cell<F, S>>(), cache).cast::<Cell<F, S>>();
    let cell = mem.as_ptr();
    // Written field by field, straight into the cell: a `Cell` built on the
    // stack and then written whole was a `memcpy` call (4 % of a coroutine
    // spawn, `benches/stackful.rs` chained_spawn).
    // SAFETY: `allocate` returned memory for exactly this layout, unused;
    // each field is written once, and none is read before all are.
    unsafe {
        std::ptr::addr_of_mut!((*cell).header).write(Header {
            state: State::new(),
            vtable: vtable::<F, S>(),
            id,
            slot_and_m: AtomicU64::new(SLOT_MASK),
            location,
            join_waker: UnsafeCell::new(None),
            wait: std::sync::atomic::AtomicU64::new(0),
            resume_at: std::sync::atomic::AtomicUsize::new(0),
        });
        std::ptr::addr_of_mut!((*cell).scheduler).write(scheduler);
        std::ptr::addr_of_mut!((*cell).stage).write(UnsafeCell::new(Stage::Running(future)));
    }
    let ptr = mem.cast::<Header>();
    // The initial state holds three references: registry (the spawner's to
    // give), JoinHandle, notified.
    (Notified(ptr), JoinHandle::from_raw(ptr))
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    struct Holder<F, S>(PhantomData<(F, S)>);
    impl<F, S> Holder<F, S>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F, S>,
            schedule: schedule::<F, S>,
            dealloc: dealloc::<F, S>,
            try_read_output: try_read_output::<F, S>,
            drop_join_handle_slow: drop_join_handle_slow::<F, S>,
            cancel_notified: cancel_notified::<F, S>,
            shutdown: shutdown::<F, S>,
        };
    }
    &Holder::<F, S>::VTABLE
}

/// Turns a header pointer back into its cell.
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>` with exactly these parameters
/// (guaranteed when called through the cell's own vtable).
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `header` is the first field of the `repr(C)` cell.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

impl<F: Future, S: Schedule> Cell<F, S> {
    fn scheduler(&self) -> &S {
        // SAFETY: the `scheduler` invariant: whoever can reach this (an M
        // running the task, a waker submitting it) does so while it is live.
        unsafe { self.scheduler.as_ref() }
    }

    /// Replaces the stage, dropping what was there; a panic from that drop
    /// (a future's or an output's `Drop`) is returned, not propagated.
    ///
    /// # Safety
    ///
    /// The caller holds the right to the stage (rule 1 of the task essay).
    unsafe fn set_stage(&self, new: Stage<F>) -> Option<Box<dyn Any + Send>> {
        // SAFETY: the caller holds the right to the stage.
        let old = self
            .stage
            .with_mut(|p| unsafe { std::mem::replace(&mut *p, new) });
        panic::catch_unwind(AssertUnwindSafe(move || drop(old))).err()
    }
}

/// Runs the task with the notified reference it is handed (Go's `execute`);
/// returns how the poll ended (a `trace::end` code).
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types), and the caller hands over the task's
/// notified reference (rule 2 of the task essay: at most one exists).
unsafe fn poll<F, S>(ptr: NonNull<Header>) -> u64
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: called through this cell's vtable with a reference we own.
    let cell = unsafe { cell::<F, S>(ptr) };
    // A new poll: what the G waited on before is history (`wait.rs`), and a
    // yielded G kept RUNNING (rule 6).
    let word = cell.header.wait.load(Relaxed);
    if word != 0 {
        cell.header.wait.store(0, Relaxed);
    }
    if word == wait::YIELDED {
        // Nobody else could have taken RUNNING; an abort or shutdown meanwhile
        // only set CANCELLED, for us to see.
        if cell.header.state.load().is_cancelled() {
            // SAFETY: we hold RUNNING.
            unsafe { cancel_and_complete(cell) };
            return end::CANCELLED;
        }
    } else {
        match cell.header.state.transition_to_running() {
            TransitionToRunning::Success => {}
            TransitionToRunning::Cancelled => {
                // SAFETY: the transition gave us RUNNING.
                unsafe { cancel_and_complete(cell) };
                return end::CANCELLED;
            }
            TransitionToRunning::Failed => return end::SKIPPED,
            TransitionToRunning::Dealloc => {
                // SAFETY: that was the last reference.
                unsafe { dealloc::<F, S>(ptr) };
                return end::SKIPPED;
            }
        }
    }

    let waker = waker_ref(ptr);
    let mut cx = Context::from_waker(&waker);
    // Restored after `catch_unwind`, which returns even if the poll panics.
    let prev = if S::POLLS_GS {
        super::current::enter(&cell.header)
    } else {
        std::ptr::null()
    };
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: we hold RUNNING, so we own the stage.
        cell.stage.with_mut(|stage| match unsafe { &mut *stage } {
            // SAFETY: the future lives in the heap cell and never moves until
            // it is dropped in place by `set_stage`.
            Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
            _ => unreachable!("a task is polled only while its future exists"),
        })
    }));
    if S::POLLS_GS {
        super::current::leave(prev);
    }
    match res {
        Ok(Poll::Ready(out)) => {
            // SAFETY: we hold RUNNING.
            unsafe { complete(cell, Ok(out)) };
            end::READY
        }
        Ok(Poll::Pending) => {
            if cell.header.wait.load(Relaxed) == wait::YIELD_ASKED {
                // A coroutine yielded: keep RUNNING and queue it on its M.
                cell.header.wait.store(wait::YIELDED, Relaxed);
                match cell.scheduler().keep_running(Notified(ptr)) {
                    Ok(()) => return end::YIELD,
                    Err(task) => {
                        // Not on its M: the ordinary yield, a wake during the
                        // poll (rule 5).
                        std::mem::forget(task);
                        cell.header.wait.store(0, Relaxed);
                        let woke = cell.header.state.transition_to_notified_by_ref();
                        debug_assert!(matches!(woke, TransitionToNotified::DoNothing));
                    }
                }
            }
            // SAFETY: we hold RUNNING and the M's reference.
            unsafe { idle::<F, S>(ptr, cell) }
        }
        Err(payload) => {
            cell.scheduler().unhandled_panic();
            // The future panicked inside `poll`; drop it (a second panic from
            // its `Drop` is dropped: the first one is the story).
            let id = cell.header.task_id();
            // SAFETY: we hold RUNNING.
            unsafe {
                let _ = cell.set_stage(Stage::Consumed);
                complete(cell, Err(JoinError::panic(id, payload)));
            }
            end::PANICKED
        }
    }
}

/// A poll returned `Pending`: running → waiting, or → runnable if it was woken
/// meanwhile. Returns how the poll ended.
///
/// # Safety
///
/// The caller holds RUNNING and the M's reference to the task at `ptr`, whose
/// cell is `cell`; both are consumed.
unsafe fn idle<F, S>(ptr: NonNull<Header>, cell: &Cell<F, S>) -> u64
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    match cell.header.state.transition_to_idle() {
        TransitionToIdle::Ok => end::PENDING,
        TransitionToIdle::OkNotified => {
            cell.scheduler().yield_now(Notified(ptr));
            end::YIELD
        }
        TransitionToIdle::OkDealloc => {
            // SAFETY: that was the last reference.
            unsafe { dealloc::<F, S>(ptr) };
            end::PENDING
        }
        TransitionToIdle::Cancelled => {
            // SAFETY: we still hold RUNNING.
            unsafe { cancel_and_complete(cell) };
            end::CANCELLED
        }
    }
}

/// Drops the future and completes the task as cancelled.
///
/// # Safety
///
/// The caller holds RUNNING and one reference, both consumed.
unsafe fn cancel_and_complete<F, S>(cell: &Cell<F, S>)
where
    F: Future,
    S: Schedule,
{
    let id = cell.header.task_id();
    // SAFETY: the caller holds RUNNING.
    let out = match unsafe { cell.set_stage(Stage::Consumed) } {
        None => Err(JoinError::cancelled(id)),
        Some(payload) => Err(JoinError::panic(id, payload)),
    };
    // SAFETY: as above.
    unsafe { complete(cell, out) }
}

/// Stores the output, wakes the `JoinHandle`, leaves the registry, and drops
/// the runner's reference (Go's `goexit0`).
///
/// # Safety
///
/// The caller holds RUNNING and one reference, both consumed.
unsafe fn complete<F, S>(cell: &Cell<F, S>, output: Result<F::Output, JoinError>)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: we hold RUNNING; dropping the future first (if it still exists)
    // keeps its resources from outliving its completion.
    let _ = unsafe { cell.set_stage(Stage::Consumed) };
    // Rule 1: with JOIN_INTEREST clear (it never comes back), nobody will
    // read the output, so it is ours to drop, now or after COMPLETE: a
    // detached task's output is dropped here and never stored.
    let detached = !cell.header.state.load().is_join_interested();
    if detached {
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(output)));
    } else {
        // SAFETY: we hold RUNNING.
        let _ = unsafe { cell.set_stage(Stage::Finished(output)) };
    }
    // Leave the registry (and be counted) before COMPLETE is published, so that
    // whoever sees the task complete also sees it gone from the live set.
    let registry_refs = cell.scheduler().release(&cell.header);
    if detached {
        // A detached task (most spawned ones): completion and our references
        // in one atomic instead of two, since nothing is left to do in between.
        if cell.header.state.complete_detached(1 + registry_refs) {
            // SAFETY: those were the last references.
            unsafe { dealloc::<F, S>(NonNull::from(&cell.header)) }
        }
        return;
    }
    let prev = cell.header.state.transition_to_complete();
    if !prev.is_join_interested() {
        // Nobody will read the output: rule 1 makes it ours to drop.
        // SAFETY: COMPLETE is set by us and JOIN_INTEREST was clear.
        let _ = unsafe { cell.set_stage(Stage::Consumed) };
    } else if prev.is_join_waker_set() {
        // SAFETY: rule 3: JOIN_WAKER is set and we just set COMPLETE, so the
        // field is only ever read from now on.
        cell.header.join_waker.with(|w| {
            // SAFETY: as above.
            if let Some(waker) = unsafe { &*w } {
                // Anyone's waker: a panic in it must not unwind into the M.
                super::waker::wake_by_ref_contained(waker, "a JoinHandle's awaiter");
            }
        });
    }
    if cell.header.state.ref_dec_n(1 + registry_refs) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(NonNull::from(&cell.header)) }
    }
}

/// Submits the task to its scheduler (the vtable's `schedule`).
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types), and the caller holds a fresh notified
/// reference that it hands over, while the task is not complete.
unsafe fn schedule<F, S>(ptr: NonNull<Header>)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: called through this cell's vtable by the holder of a fresh
    // notified reference, while the task is not complete (scheduler invariant).
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler().schedule(Notified(ptr));
}

/// Drops what is left in the cell and frees it (the vtable's `dealloc`).
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types), and the caller dropped its last
/// reference (rule 4): nothing else can reach the cell any more.
unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<Cell<F, S>>();
    // A panicking `Drop` of a leftover output or waker must not unwind out of a
    // waker or a JoinHandle's drop.
    // SAFETY: the last reference is gone, so nothing else can touch the cell,
    // which `new_task` wrote into this memory as this exact type.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        std::ptr::drop_in_place(cell.as_ptr())
    }));
    S::with_free_cache(|cache| {
        // SAFETY: `new_task` got this memory from `alloc::allocate` with this
        // layout, and its contents were just dropped.
        unsafe { alloc::free(cell.cast(), Layout::new::<Cell<F, S>>(), cache) }
    });
}

/// `JoinHandle::poll` (the vtable's `try_read_output`).
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types); the caller is the task's `JoinHandle`
/// (it holds JOIN_INTEREST and a reference), and `dst` points to a valid
/// `Poll<Result<F::Output, JoinError>>` to overwrite.
unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: called through the vtable by the `JoinHandle`, which holds a
    // reference and JOIN_INTEREST.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, waker) {
        return;
    }
    // SAFETY: rule 1: COMPLETE and JOIN_INTEREST make the stage the JoinHandle's.
    let stage = cell
        .stage
        .with_mut(|p| unsafe { std::mem::replace(&mut *p, Stage::Consumed) });
    let out = match stage {
        Stage::Finished(out) => out,
        _ => panic!("JoinHandle polled after it returned its output"),
    };
    // SAFETY: `dst` is the `JoinHandle`'s `Poll<Result<F::Output, JoinError>>`.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(out) };
}

/// The `JoinHandle`'s side of rule 3: true if the output is ready; otherwise
/// makes sure `waker` will be woken when it is.
fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    if snapshot.is_join_waker_set() {
        // SAFETY: rule 3: while JOIN_WAKER is set and the task is not complete,
        // the field is not written by anyone, so reading it is fine.
        let same = header
            .join_waker
            .with(|w| unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker)));
        if same {
            return false;
        }
        // Take the field back to replace it; if the task completed meanwhile,
        // the output is ready.
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    // SAFETY: rule 3: JOIN_WAKER is clear, so the field is ours.
    header
        .join_waker
        .with_mut(|w| unsafe { *w = Some(waker.clone()) });
    // Err: completed before we could publish the waker, which will not be read.
    header.state.set_join_waker().is_err()
}

/// `JoinHandle::drop` when the fast path did not apply.
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types); the caller is the `JoinHandle`, giving
/// up JOIN_INTEREST and its reference.
unsafe fn drop_join_handle_slow<F, S>(ptr: NonNull<Header>)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: called through the vtable by the `JoinHandle`, with its reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.unset_join_interested().is_err() {
        // Complete: rule 1 makes the output ours to drop (a panic in its
        // `Drop` stays here, like the drop of an output nobody joined).
        // SAFETY: COMPLETE and JOIN_INTEREST give the JoinHandle the stage.
        let _ = unsafe { cell.set_stage(Stage::Consumed) };
    }
    if cell.header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// A notified reference that will never run (a closed queue): cancels the
/// task.
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types), and the caller hands over the
/// notified reference.
unsafe fn cancel_notified<F, S>(ptr: NonNull<Header>)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: called through this cell's vtable with a notified reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.wait.load(Relaxed) == wait::YIELDED {
        // A yielded G that will not run again (its M is tearing down): the
        // reference holds RUNNING already (rule 6).
        cell.header.wait.store(0, Relaxed);
        // SAFETY: as above.
        return unsafe { cancel_and_complete(cell) };
    }
    match cell.header.state.transition_to_running() {
        TransitionToRunning::Success | TransitionToRunning::Cancelled => {
            // SAFETY: the transition gave us RUNNING.
            unsafe { cancel_and_complete(cell) }
        }
        TransitionToRunning::Failed => {}
        // SAFETY: that was the last reference.
        TransitionToRunning::Dealloc => unsafe { dealloc::<F, S>(ptr) },
    }
}

/// Shutdown's sweep: cancels the task if it is idle.
///
/// # Safety
///
/// `ptr` is the header of a live cell made by `new_task` as `Cell<F, S>`
/// (this vtable's own types), and the caller hands over one
/// reference (the registry's).
unsafe fn shutdown<F, S>(ptr: NonNull<Header>)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: called through this cell's vtable with a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // SAFETY: we took RUNNING; our reference is the runner's.
        unsafe { cancel_and_complete(cell) }
    } else if cell.header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { dealloc::<F, S>(ptr) }
    }
}
