//! The task cell: one allocation per G holding its header, its future and, once
//! it finishes, its output.
//!
//! # References
//!
//! A task is reference-counted; the count lives in the state word (`state.rs`). Four
//! kinds of reference exist:
//!
//! 1. the **registry** reference: the scheduler's record of every live G (Go's
//!    `allgs`), so that shutdown can find Gs parked on wakers held elsewhere;
//!    dropped when the G completes;
//! 2. the **`JoinHandle`**;
//! 3. **wakers**, one reference each;
//! 4. the **notified** reference (`Notified`): the right to be run, held by a
//!    run queue, an M, or a waker on its way to a queue. There is at most one.
//!
//! A new task starts with three: registry, `JoinHandle`, notified.
//!
//! # State bits
//!
//! * `RUNNING` — an M (or shutdown) holds the right to touch the stage: to poll
//!   or drop the future and to store the output. Set only by turning the
//!   notified reference into the M's reference (`transition_to_running`), or by
//!   shutdown on an idle task.
//! * `NOTIFIED` — the notified reference exists. While `RUNNING`, it may also mean
//!   "woken during this poll": then no extra reference exists, and the M's own
//!   reference becomes the notified one when the poll returns (a yield).
//! * `COMPLETE` — the future is gone for good; the stage holds the output, a
//!   cancellation or a panic. Never cleared.
//! * `JOIN_INTEREST` — a `JoinHandle` exists.
//! * `JOIN_WAKER` — see rule 3.
//! * `CANCELLED` — abort or shutdown asked for the future to be dropped.
//!
//! # Rules
//!
//! 1. The stage (future or output) may be touched only by the holder of
//!    `RUNNING`, or, once `COMPLETE` is set, by the `JoinHandle` if
//!    `JOIN_INTEREST` is set and otherwise by whoever set `COMPLETE`.
//! 2. A poll never overlaps another poll: only `transition_to_running` sets
//!    `RUNNING`, and it needs the unique notified reference and an idle task.
//! 3. The join waker field belongs to the `JoinHandle` while `JOIN_WAKER` is
//!    clear. While it is set and the task is not complete, nobody writes it and
//!    the `JoinHandle` can only take it back by clearing the bit with a CAS. Once
//!    `COMPLETE` is set, the field is only read (to wake it) and is dropped with
//!    the cell.
//! 4. Whoever drops the last reference frees the cell; the field values left in
//!    it (output, waker) are dropped then.
//! 5. A wake of a task that is `RUNNING` sets `NOTIFIED` and queues nothing: the
//!    M requeues it once the poll returns, behind the other Gs of its P. A task
//!    that wakes itself — `yield_now` — is therefore requeued exactly once and
//!    never polled twice at the same time.
//! 6. A coroutine G that yields keeps `RUNNING`: the M's reference goes to its
//!    own mailbox as a `Notified` marked by the wait word `YIELDED`, and the
//!    next poll starts without `transition_to_running` (`wait.rs` says why
//!    that is safe: no other notified reference can exist, and only that M
//!    can run the G). Rule 2 holds, since `RUNNING` is never set twice.
//!
//! # Go
//!
//! The states mirror Go's `_Grunnable` (`NOTIFIED`), `_Grunning` (`RUNNING`),
//! `_Gwaiting` (neither) and `_Gdead` (`COMPLETE`; the cell's memory returns to
//! the allocator when the last reference goes). Go's `casgstatus` is our
//! `transition_to_*`.

pub(crate) mod alloc;
mod cell;
pub(crate) mod current;
mod join;
pub(crate) mod registry;
pub(crate) mod state;
pub(crate) mod wait;
mod waker;

use std::fmt;
use std::num::NonZeroU64;
use std::ptr::NonNull;

pub use crate::coop::consume_budget;
// The spawning front-end lives beside the runtime it spawns on (it is not
// task-cell code, and `task/` does not reach `runtime` or `sched`).
pub use crate::task_builder::Builder;
// Task sets and task-locals are built on the public task API, beside it.
#[cfg(not(loom))]
pub use crate::join_set::JoinSet;
#[cfg(not(loom))]
pub use crate::local::{spawn_local, LocalJoinHandle, LocalSet};
pub use crate::task_local::{AccessError, LocalKey, TaskLocalFuture};
pub(crate) use cell::{new_task, Header, Schedule, SLOT_MASK};
pub use join::{AbortHandle, JoinError, JoinHandle};
#[cfg(all(feature = "coro", any(unix, windows)))] // only coroutine Gs borrow a waker so
pub(crate) use waker::detached_copy;
pub(crate) use waker::wake_contained;

/// A task's id (Go's `goid`): unique within the process, never zero.
///
/// ```
/// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let a = gmp_exec::spawn(async {});
/// let b = gmp_exec::spawn(async {});
/// let (id_a, id_b): (gmp_exec::task::Id, gmp_exec::Id) = (a.id(), b.id());
/// assert_ne!(id_a, id_b);
/// assert_eq!(id_a, a.abort_handle().id());
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub(crate) NonZeroU64);

impl Id {
    /// The id as a number.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let h = gmp_exec::spawn(async {});
    /// let n = h.id().as_u64();
    /// assert!(n > 0);
    /// assert_eq!(h.id().to_string(), n.to_string());
    /// # });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// The id of the task being polled on this thread (tokio's `task::id()`, Go's
/// `getg().goid`): the id its [`JoinHandle::id`] reports, so logs and
/// tracing spans can name the G they come from.
///
/// ```
/// let rt = gmp_exec::Runtime::new().unwrap();
/// let handle = rt.spawn(async { gmp_exec::task::id() });
/// let id = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), id);
/// ```
///
/// # Panics
///
/// Outside a task: on a thread that is not polling one of a runtime's Gs
/// (a plain thread, the future of a `block_on`, a `spawn_blocking`
/// closure). [`try_id`] returns `None` there instead.
#[track_caller]
pub fn id() -> Id {
    try_id().expect("gmp_exec::task::id() called outside a task: use task::try_id() there")
}

/// The id of the task being polled on this thread, or `None` outside one
/// (see [`id`]).
///
/// ```
/// assert_eq!(gmp_exec::task::try_id(), None, "a plain thread runs no task");
/// let inside = gmp_exec::block_on(gmp_exec::spawn(async { gmp_exec::task::try_id() }));
/// assert!(inside.unwrap().is_some());
/// ```
pub fn try_id() -> Option<Id> {
    current::with(|h| h.map(|h| h.id)).and_then(|g| NonZeroU64::new(g).map(Id))
}

/// The notified reference: the right to run a task once. See the module docs.
///
/// Consumed by [`Notified::run`] (an M runs it) or by
/// [`Notified::release_closed`] (its queue was closed at shutdown). Dropping it
/// otherwise means nobody will ever run the task, so the drop cancels it.
///
/// A yielded coroutine G's reference (rule 6) is one too, though it stands
/// for `RUNNING` rather than `NOTIFIED`; it only ever sits in its M's own
/// mailbox, which runs or drops it.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: a task's header is only touched through its atomic state word and the
// rules above, and its future and output are `Send`; the notified reference can
// be run on any thread.
unsafe impl Send for Notified {}

impl Notified {
    /// Polls the task (or cancels it, if aborted); consumes the reference.
    /// Returns how the poll ended (a `trace::end` code).
    pub(crate) fn run(self) -> u64 {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: `ptr` is a live task (we held a reference) and the notified
        // reference is handed to `poll`, which consumes it.
        unsafe { (ptr.as_ref().vtable().poll)(ptr) }
    }

    /// Gives the reference back without running the task, because the queue it
    /// was headed for is closed; runtime shutdown cancels the task.
    pub(crate) fn release_closed(self) {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: we own one reference and the notified bit stands for it.
        unsafe {
            if ptr.as_ref().state.drop_notified() {
                (ptr.as_ref().vtable().dealloc)(ptr);
            }
        }
    }

    /// The task's header.
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference, so the cell is alive.
        unsafe { self.0.as_ref() }
    }

    /// The task's cell pointer, with the provenance of the whole cell (for a
    /// [`TaskRef`] or a registry slot; a pointer made from [`header`](Self::header)
    /// would cover the header only).
    pub(crate) fn cell_ptr(&self) -> NonNull<Header> {
        self.0
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: we own the notified reference; `cancel_notified` consumes it.
        unsafe { (self.0.as_ref().vtable().cancel_notified)(self.0) }
    }
}

// SAFETY: `into_raw` forgets the reference into the header pointer (never null)
// and `from_raw` takes it back; the queues never dereference the pointer.
unsafe impl gmp_core::Item for Notified {
    #[inline]
    fn into_raw(self) -> NonNull<()> {
        let ptr = self.0;
        std::mem::forget(self);
        ptr.cast()
    }

    /// # Safety
    ///
    /// `ptr` came from [`into_raw`](Self::into_raw) of a `Notified` whose
    /// reference has not been taken back since.
    #[inline]
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        Notified(ptr.cast())
    }
}

impl fmt::Debug for Notified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notified({})", self.header().id)
    }
}

/// A counted reference that grants nothing but keeping the cell alive; used by
/// shutdown's sweep and by diagnostics.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: as for `Notified`: the header is only accessed through atomics.
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// Takes over one reference that the caller owns.
    ///
    /// # Safety
    ///
    /// `ptr` is a live task and the caller transfers one of its references.
    pub(crate) unsafe fn from_owned(ptr: NonNull<Header>) -> TaskRef {
        TaskRef(ptr)
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference, so the cell is alive.
        unsafe { self.0.as_ref() }
    }

    /// Shutdown: cancels the task unless an M is polling it or it is complete.
    /// Consumes this reference.
    pub(crate) fn shutdown(self) {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: live task; `shutdown` consumes the reference we hand it.
        unsafe { (ptr.as_ref().vtable().shutdown)(ptr) }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        self.header().state.ref_inc();
        TaskRef(self.0)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe {
            if self.0.as_ref().state.ref_dec() {
                (self.0.as_ref().vtable().dealloc)(self.0);
            }
        }
    }
}
