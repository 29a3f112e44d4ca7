//! The G being polled on this thread (Go's `getg()` as the task code sees it).
//!
//! The task harness sets it around each poll of a future (`cell.rs`), so the
//! code below the task — the wait word (`wait.rs`), `task::try_id`,
//! `JoinHandle::join`'s check, and the scheduler binding a coroutine G to its
//! M — asks the task module, not the scheduler, which G runs here. This keeps
//! `task/` below `sched/`: the scheduler calls into the task code, never the
//! other way round, except through the [`Schedule`](super::Schedule) trait
//! that `task/` defines.

use std::cell::Cell;
use std::ptr;

use super::Header;

thread_local! {
    /// The header of the G whose future this thread is polling, or null.
    static POLLING: Cell<*const Header> = const { Cell::new(ptr::null()) };
}

/// Marks `header` as the G this thread polls until [`leave`]; returns the
/// previous value for `leave` to restore. Called only by the task harness,
/// around the future's poll.
#[inline]
pub(super) fn enter(header: &Header) -> *const Header {
    POLLING.with(|c| c.replace(header))
}

/// Ends a poll started with [`enter`].
#[inline]
pub(super) fn leave(prev: *const Header) {
    POLLING.with(|c| c.set(prev));
}

/// Calls `f` with the G being polled on this thread, if any.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(Option<&Header>) -> R) -> R {
    let header = POLLING.with(Cell::get);
    // SAFETY: `POLLING` is non-null only between `enter` and `leave`, which
    // the harness calls around a poll of this very task; the task holds a
    // reference to itself for the poll's length (the M's), so the header is
    // alive while `f` runs inside that poll.
    f(unsafe { header.as_ref() })
}

/// The G being polled on this thread, as a pointer (null outside a poll),
/// for callers that keep it past a borrow (binding it to an M).
#[inline]
pub(crate) fn ptr() -> *const Header {
    POLLING.with(Cell::get)
}
