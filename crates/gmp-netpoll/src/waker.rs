//! A one-waiter waker slot: one task records its waker, any thread takes it out.
//!
//! Both halves of the crate need the same thing: a place where the task waiting
//! on a readiness direction or a timer leaves its `Waker`, and from which the
//! thread that sees the event (the poller, or the M running a timer heap) moves
//! it out, without a lock that a `Waker` could be woken or dropped under. This is
//! the classic "atomic waker" three-state protocol, written here on the crate's
//! `sync` facade so loom checks it inside the timer models (the `futures` crate
//! has one too, but its atomics are std's, out of loom's sight).
//!
//! # States
//!
//! * `WAITING` (0) — nobody is touching the cell; it holds the latest waker or
//!   nothing.
//! * `REGISTERING` — the waiter owns the cell and is replacing the waker.
//! * `WAKING` — a taker owns the cell and is moving the waker out, or (together
//!   with `REGISTERING`) a taker arrived while a registration was under way and
//!   left the wake to the registrar.
//!
//! # Rules
//!
//! 1. Only the thread that moved the state from `WAITING` (to `REGISTERING` or
//!    to `WAKING`) touches the cell, until it moves the state back.
//! 2. A taker that finds the slot busy does not wait: if a registration is under
//!    way, the registrar finds `WAKING` when it finishes and wakes its own waker;
//!    if another take is under way, that one delivers the waker.
//! 3. The caller's flag protocol closes the loop: the event side publishes its
//!    flag (fired, ready) *before* `take`, and the waiting side re-reads it
//!    *after* `register`. Then either the take sees the new waker, or the
//!    registrar wakes itself, or the re-read sees the flag — never none of them.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::task::Waker;

use crate::sync::{AtomicUsize, UnsafeCell};

const WAITING: usize = 0;
const REGISTERING: usize = 0b01;
const WAKING: usize = 0b10;

/// A slot for the waker of the one task waiting on an event. See the module docs.
pub(crate) struct WakerSlot {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is only touched by the thread that owns it under rule 1 (the
// state word hands it over with Acquire/Release), and `Waker` is `Send + Sync`.
unsafe impl Send for WakerSlot {}
// SAFETY: as above: shared access goes through the state word, which gives the
// cell one owner at a time.
unsafe impl Sync for WakerSlot {}

impl WakerSlot {
    /// An empty slot.
    pub(crate) fn new() -> WakerSlot {
        WakerSlot {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Records `waker` as the one to wake, replacing the previous one (kept if it
    /// would wake the same task). Called by the waiting task; if a `take` races
    /// with it, `waker` is woken here instead of being recorded.
    ///
    /// One task per slot: a second task registering at the same time is woken at
    /// once rather than recorded, so it polls again instead of hanging.
    pub(crate) fn register(&self, waker: &Waker) {
        // Acquire: pairs with the Release that last handed the cell back (a
        // take's `fetch_and`, a registration's CAS or swap), so its writes to the
        // cell, and whatever its thread published before a take, are visible.
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // `Waker::clone` runs foreign code: if it panics, hand the cell
                // back untouched instead of leaving the slot REGISTERING forever.
                let unwind = HandBack(&self.state);
                let old = self.waker.with_mut(|cell| {
                    // SAFETY: rule 1: moving the state to REGISTERING made this
                    // thread the cell's only user.
                    let cell = unsafe { &mut *cell };
                    match cell {
                        Some(current) if current.will_wake(waker) => None,
                        _ => {
                            let new = waker.clone();
                            cell.replace(new)
                        }
                    }
                });
                std::mem::forget(unwind);
                // Release: publishes the new waker to the next taker (pairs with
                // the AcqRel `fetch_or` in `take`). Acquire on failure: the taker
                // that set WAKING published its flag first, and our caller's
                // re-read must not miss it.
                match self
                    .state
                    .compare_exchange(REGISTERING, WAITING, AcqRel, Acquire)
                {
                    Ok(_) => drop(old),
                    Err(_) => {
                        // Rule 2: a take arrived while we held the cell and left
                        // the wake to us. We still own the cell until the swap.
                        let ours = self.waker.with_mut(|cell| {
                            // SAFETY: rule 1: the state is REGISTERING|WAKING,
                            // which no other thread acts on; we still own it.
                            unsafe { (*cell).take() }
                        });
                        // AcqRel: Release hands the (now empty) cell back (pairs
                        // with the Acquire of the next owner's transition).
                        self.state.swap(WAITING, AcqRel);
                        drop(old);
                        if let Some(waker) = ours {
                            waker.wake();
                        }
                    }
                }
            }
            Err(_) => {
                // Busy: a take is delivering (our waker would arrive too late)
                // or another task is registering. Either way, poll again.
                waker.wake_by_ref();
            }
        }
    }

    /// Moves the recorded waker out, for the caller to wake (as part of a
    /// batch). `None` if the slot is empty or busy: a registrar that is busy
    /// wakes itself (rule 2).
    pub(crate) fn take(&self) -> Option<Waker> {
        // AcqRel: Acquire pairs with the Release in `register` that published
        // the waker; Release makes the caller's flag, set before this call,
        // visible to a registrar that sees WAKING.
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                let waker = self.waker.with_mut(|cell| {
                    // SAFETY: rule 1: we moved the state from WAITING to WAKING.
                    unsafe { (*cell).take() }
                });
                // Release: hands the cell back (pairs with the Acquire CAS that
                // opens the next registration).
                self.state.fetch_and(!WAKING, Release);
                waker
            }
            _ => None,
        }
    }
}

/// Hands a slot back (state `WAITING`) if a registration unwinds. The cell is
/// unchanged then: the panic came from the clone, before the replace.
struct HandBack<'a>(&'a AtomicUsize);

impl Drop for HandBack<'_> {
    fn drop(&mut self) {
        // Release: hands the cell back, as the normal path's CAS does.
        self.0.store(WAITING, Release);
    }
}

impl std::fmt::Debug for WakerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakerSlot").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

    use super::WakerSlot;

    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn take_hands_back_the_latest_waker_once() {
        let slot = WakerSlot::new();
        assert!(slot.take().is_none());
        let (a, b) = (
            Arc::new(Counter(AtomicUsize::new(0))),
            Arc::new(Counter(AtomicUsize::new(0))),
        );
        slot.register(&Waker::from(a.clone()));
        slot.register(&Waker::from(b.clone()));
        assert_eq!(Arc::strong_count(&a), 1, "the replaced waker was dropped");
        let taken = slot.take().expect("a waker");
        assert!(taken.will_wake(&Waker::from(b.clone())));
        assert!(slot.take().is_none());
        taken.wake();
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_panicking_waker_clone_leaves_the_slot_usable() {
        fn clone(_: *const ()) -> RawWaker {
            panic!("clone refused")
        }
        fn noop(_: *const ()) {}
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
        // SAFETY: the vtable's functions ignore the data pointer, so any
        // pointer (here null) meets the RawWaker contract.
        let bad = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };

        let slot = WakerSlot::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            slot.register(&bad);
        }));
        assert!(panicked.is_err());

        let good = Arc::new(Counter(AtomicUsize::new(0)));
        slot.register(&Waker::from(good.clone()));
        slot.take().expect("the slot still records wakers").wake();
        assert_eq!(good.0.load(Ordering::SeqCst), 1);
    }
}
