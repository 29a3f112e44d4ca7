//! The task state word: lifecycle bits and the reference count in one atomic, so
//! every transition is a single CAS (or RMW) and each is a named, `#[must_use]`
//! function whose result the harness acts on. See [the task essay](super) for
//! what each bit means and which field it guards.

use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use crate::sync::AtomicUsize;

/// An M holds the right to poll the future (Go's `_Grunning`). Guards the stage.
const RUNNING: usize = 1 << 0;
/// A notified reference exists: the task is queued, or about to be, or it was
/// woken while running and will be requeued by the M (Go's `_Grunnable`).
const NOTIFIED: usize = 1 << 1;
/// The future is gone: the output (or the cancellation/panic) is in the stage.
const COMPLETE: usize = 1 << 2;
/// A `JoinHandle` exists and may read the output.
const JOIN_INTEREST: usize = 1 << 3;
/// The join waker field holds a waker that the runtime may read.
const JOIN_WAKER: usize = 1 << 4;
/// Abort or shutdown asked for the future to be dropped.
const CANCELLED: usize = 1 << 5;
/// The task has a name in its runtime's name table (set before publication,
/// never cleared).
const NAMED: usize = 1 << 6;

const LIFECYCLE: usize = RUNNING | COMPLETE;
const REF_SHIFT: u32 = 7;
/// One reference.
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;

/// A new task: three references (the registry, the `JoinHandle`, and the
/// notified reference that will first run it), notified and joinable.
const INITIAL: usize = (3 * REF_ONE) | JOIN_INTEREST | NOTIFIED;

/// The atomic state word of a task.
pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Success,
    /// The task was aborted: drop the future instead of polling it.
    Cancelled,
    /// It is already running or complete; the notified reference was dropped.
    Failed,
    /// As `Failed`, and that was the last reference.
    Dealloc,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Parked on its wakers; the M's reference was dropped.
    Ok,
    /// Woken while it ran: the M's reference is now a notified reference, so
    /// the M requeues the task (behind the others: it is a yield).
    OkNotified,
    /// As `Ok`, and that was the last reference.
    OkDealloc,
    /// Aborted while it ran: the M keeps the right to the stage and cancels.
    Cancelled,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotified {
    /// Nothing to do: already queued, running (the M will requeue it) or done.
    DoNothing,
    /// Hand the (new) notified reference to the scheduler.
    Submit,
    /// The waker's reference was the last one: free the task.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        // Acquire: a caller that sees COMPLETE goes on to read the stage.
        Snapshot(self.val.load(Acquire))
    }

    /// Applies `f` atomically; `f` returns the new word (or `None` to keep it)
    /// and a result.
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<Snapshot>, R)) -> R {
        // Acquire: the first guess of a CAS loop whose success ordering (AcqRel,
        // below) is what publishes; Acquire here lets `f` read the state the
        // last writer published.
        let mut curr = self.val.load(Acquire);
        loop {
            let (next, res) = f(Snapshot(curr));
            let Some(next) = next else { return res };
            // AcqRel: every transition both publishes what the caller did to the
            // task (Release) and must see what the previous owner did (Acquire).
            match self
                .val
                .compare_exchange_weak(curr, next.0, AcqRel, Acquire)
            {
                Ok(_) => return res,
                Err(actual) => curr = actual,
            }
        }
    }

    /// A notified reference is about to be run (Go's `execute`: runnable →
    /// running). Consumes the notified reference into the M's reference.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|mut s| {
            debug_assert!(s.is_notified(), "running a task that is not notified");
            if s.0 & LIFECYCLE != 0 {
                // Shutdown took the stage, or it completed: drop our reference
                // (and the bit that stood for it).
                s.0 &= !NOTIFIED;
                s.ref_dec();
                let res = if s.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (Some(s), res);
            }
            s.0 = (s.0 & !NOTIFIED) | RUNNING;
            let res = if s.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (Some(s), res)
        })
    }

    /// A poll returned `Pending` (running → waiting, or → runnable if it was
    /// woken meanwhile).
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.update(|mut s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (None, TransitionToIdle::Cancelled);
            }
            s.0 &= !RUNNING;
            if s.is_notified() {
                // The M's reference becomes the notified reference.
                return (Some(s), TransitionToIdle::OkNotified);
            }
            s.ref_dec();
            let res = if s.ref_count() == 0 {
                TransitionToIdle::OkDealloc
            } else {
                TransitionToIdle::Ok
            };
            (Some(s), res)
        })
    }

    /// The future finished (or was dropped): running → complete. Returns the
    /// word as it was just before.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        // AcqRel: publishes the output to the JoinHandle (which Acquire-loads
        // COMPLETE); acquires a join waker stored before JOIN_WAKER was set.
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// `transition_to_complete` and `ref_dec_n(n)` in one read-modify-write,
    /// for a task whose `JoinHandle` is gone (JOIN_INTEREST clear: then the
    /// completer has nothing to do between the two). RUNNING → COMPLETE is a
    /// known change of two bits — the caller holds RUNNING and only its holder
    /// sets COMPLETE — so it is an addition that commutes with whatever other
    /// threads change meanwhile (NOTIFIED, references). True if those were the
    /// last references.
    pub(crate) fn complete_detached(&self, n: usize) -> bool {
        let delta = COMPLETE.wrapping_sub(RUNNING).wrapping_sub(n * REF_ONE);
        // AcqRel: as `transition_to_complete` and `ref_dec_n` together.
        let prev = Snapshot(self.val.fetch_add(delta, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete() && !prev.is_join_interested());
        debug_assert!(prev.ref_count() >= n);
        prev.ref_count() == n
    }

    /// `Waker::wake` (consumes the waker's reference).
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.update(|mut s| {
            if s.is_running() {
                // The M requeues it after the poll; its reference stands in.
                s.0 |= NOTIFIED;
                s.ref_dec();
                debug_assert!(s.ref_count() > 0);
                (Some(s), TransitionToNotified::DoNothing)
            } else if s.is_complete() || s.is_notified() {
                s.ref_dec();
                let res = if s.ref_count() == 0 {
                    TransitionToNotified::Dealloc
                } else {
                    TransitionToNotified::DoNothing
                };
                (Some(s), res)
            } else {
                // The waker's reference becomes the notified reference.
                s.0 |= NOTIFIED;
                (Some(s), TransitionToNotified::Submit)
            }
        })
    }

    /// `Waker::wake_by_ref`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.update(|mut s| {
            if s.is_complete() || s.is_notified() {
                (None, TransitionToNotified::DoNothing)
            } else if s.is_running() {
                s.0 |= NOTIFIED;
                (Some(s), TransitionToNotified::DoNothing)
            } else {
                s.0 |= NOTIFIED;
                s.ref_inc();
                (Some(s), TransitionToNotified::Submit)
            }
        })
    }

    /// `JoinHandle::abort`: marks the task cancelled and, if it is idle, makes a
    /// notified reference so that an M comes to drop the future. True if the
    /// caller must submit that reference.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.update(|mut s| {
            if s.is_cancelled() || s.is_complete() {
                (None, false)
            } else if s.is_running() || s.is_notified() {
                // Whoever holds the M or the notified reference sees CANCELLED.
                s.0 |= CANCELLED | NOTIFIED;
                (Some(s), false)
            } else {
                s.0 |= CANCELLED | NOTIFIED;
                s.ref_inc();
                (Some(s), true)
            }
        })
    }

    /// Runtime shutdown: marks the task cancelled and, unless an M is polling it
    /// or it is complete, takes the right to the stage (true) so the caller can
    /// drop the future now. A notified reference still queued somewhere will
    /// then fail its `transition_to_running`.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|mut s| {
            let take = s.0 & LIFECYCLE == 0;
            s.0 |= CANCELLED;
            if take {
                s.0 |= RUNNING;
            }
            (Some(s), take)
        })
    }

    /// Drops a notified reference that no M will ever run (its queue was closed):
    /// clears NOTIFIED with it, so that shutdown can tell the reference is gone.
    /// True if it was the last reference.
    pub(crate) fn drop_notified(&self) -> bool {
        // AcqRel: Release orders everything the holder did (including touching
        // the scheduler) before shutdown sees NOTIFIED clear; Acquire for dealloc.
        let prev = Snapshot(self.val.fetch_sub(NOTIFIED | REF_ONE, AcqRel));
        debug_assert!(prev.is_notified() && prev.ref_count() >= 1);
        prev.ref_count() == 1
    }

    /// The common `JoinHandle` drop: nothing happened to the task yet.
    pub(crate) fn drop_join_handle_fast(&self) -> bool {
        self.val
            // AcqRel: drops JOIN_INTEREST and a reference in one step (rules 1
            // and 4 of the task essay): Release publishes the handle's last use,
            // Acquire sees the task's state if this was the last reference.
            .compare_exchange(INITIAL, INITIAL - JOIN_INTEREST - REF_ONE, AcqRel, Relaxed)
            .is_ok()
    }

    /// `JoinHandle` drop: gives up interest in the output. `Err` if the task is
    /// already complete (the `JoinHandle` must then drop the output itself).
    pub(crate) fn unset_join_interested(&self) -> Result<Snapshot, Snapshot> {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested());
            if s.is_complete() {
                return (None, Err(s));
            }
            s.0 &= !JOIN_INTEREST;
            (Some(s), Ok(s))
        })
    }

    /// After the `JoinHandle` wrote the join waker: lets the runtime read it.
    /// `Err` if the task completed first (the waker will never be read).
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                return (None, Err(s));
            }
            s.0 |= JOIN_WAKER;
            (Some(s), Ok(s))
        })
    }

    /// The `JoinHandle` takes the join waker back to replace it. `Err` if the
    /// task completed meanwhile (the output is ready instead).
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|mut s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                return (None, Err(s));
            }
            s.0 &= !JOIN_WAKER;
            (Some(s), Ok(s))
        })
    }

    /// Marks the task named; only before it is published.
    pub(crate) fn set_named(&self) {
        // Relaxed: the task is not shared yet; publication orders it.
        self.val.fetch_or(NAMED, Relaxed);
    }

    pub(crate) fn ref_inc(&self) {
        // Relaxed: a new reference is made from an existing one, which already
        // keeps the task alive (the `Arc::clone` argument).
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > usize::MAX / 2 {
            // Wakers cloned in a loop and leaked; a wrapped count would free a
            // live task.
            std::process::abort();
        }
    }

    /// Drops one reference; true if it was the last.
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_n(1)
    }

    /// Drops `n` references at once; true if they were the last.
    pub(crate) fn ref_dec_n(&self, n: usize) -> bool {
        // AcqRel: Release publishes our use of the task to whoever frees it;
        // Acquire, for the one that does, sees everyone else's.
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= n, "task reference count underflow");
        prev.ref_count() == n
    }
}

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_named(self) -> bool {
        self.0 & NAMED != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("running", &self.is_running())
            .field("notified", &self.is_notified())
            .field("complete", &self.is_complete())
            .field("join_interested", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("cancelled", &self.is_cancelled())
            .field("refs", &self.ref_count())
            .finish()
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}
