//! The task waker: the task's header pointer behind one static vtable, so
//! `will_wake` sees through clones and every waker costs one reference.
//!
//! Waking goes through the header's vtable to the task's own scheduler. Rule 5
//! of the [task essay](super) makes a wake during a poll cost nothing but one
//! bit; a wake of an idle task turns the waker's reference into the notified one.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::state::TransitionToNotified;
use super::Header;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for the task at `ptr` that borrows the M's reference instead of
/// taking one: valid while the M polls the task.
pub(crate) fn waker_ref(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable's contract holds for a live task pointer; wrapping it in
    // `ManuallyDrop` means no reference is released for it (none was taken).
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr().cast(), &VTABLE)) })
}

/// # Safety (for all four functions)
///
/// `data` is the header pointer of a live task, and each waker owns one of its
/// references (except the borrowed `waker_ref`, which is never dropped).
unsafe fn header<'a>(data: *const ()) -> &'a Header {
    // SAFETY: see above.
    unsafe { &*data.cast::<Header>() }
}

/// The cell pointer behind `data`, for the vtable calls that reach the whole
/// cell. Made from `data` itself, which carries the cell's provenance (a
/// pointer made from the `&Header` of [`header`] would cover the header only,
/// and Stacked Borrows rejects using it for the rest).
///
/// # Safety
///
/// As for [`header`].
unsafe fn cell_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: a live task's pointer is not null.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast::<Header>()) }
}

/// The vtable's `clone`: takes a reference for the new waker.
///
/// # Safety
///
/// As for [`header`]: `data` is a live task's header pointer.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live task (the waker being cloned holds a reference).
    unsafe { header(data) }.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

/// The vtable's `wake`: consumes this waker's reference.
///
/// # Safety
///
/// As for [`header`]; the waker owns the reference it gives up here.
unsafe fn wake(data: *const ()) {
    // SAFETY: this waker owns a reference, which the transition consumes.
    let header = unsafe { header(data) };
    // SAFETY: as above.
    let ptr = unsafe { cell_ptr(data) };
    match header.state.transition_to_notified_by_val() {
        TransitionToNotified::DoNothing => {}
        // SAFETY: the waker's reference became the notified reference.
        TransitionToNotified::Submit => unsafe { (header.vtable().schedule)(ptr) },
        // SAFETY: that was the last reference.
        TransitionToNotified::Dealloc => unsafe { (header.vtable().dealloc)(ptr) },
    }
}

/// The vtable's `wake_by_ref`: the waker keeps its reference.
///
/// # Safety
///
/// As for [`header`]; the waker holds (or borrows) a reference for the
/// length of the call.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker holds (or borrows) a reference for the call's length.
    let header = unsafe { header(data) };
    match header.state.transition_to_notified_by_ref() {
        TransitionToNotified::DoNothing | TransitionToNotified::Dealloc => {}
        // SAFETY: the transition took a new reference for the notified one.
        TransitionToNotified::Submit => unsafe { (header.vtable().schedule)(cell_ptr(data)) },
    }
}

/// The vtable's `drop`: releases this waker's reference.
///
/// # Safety
///
/// As for [`header`]; the waker owns the reference (a borrowed `waker_ref`
/// is never dropped).
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: this waker owns a reference, released here.
    let header = unsafe { header(data) };
    if header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (header.vtable().dealloc)(cell_ptr(data)) }
    }
}

/// A copy of `waker`, a gmp task's waker, that borrows no frame: it points at
/// the task itself and takes no reference, like [`waker_ref`]. Made by a
/// coroutine G from the waker it is being polled with, so that the `Context`
/// it polls its own futures with lives on its own stack and outlasts the
/// poll: a future whose `poll` suspends the G (a nested `coro::wait`) keeps a
/// valid `&mut Context` across the suspension, where the poll's own Context,
/// in the M's frame, is gone once the G suspends.
///
/// Valid while the task lives, which it does for as long as the caller's
/// coroutine stack exists: that stack belongs to the task's future, and the
/// cell is freed only after the future (and so the stack) is dropped.
///
/// # Panics
///
/// If `waker` is not a gmp task's waker (a coroutine G is only ever polled by
/// the task harness, with one).
pub(crate) fn detached_copy(waker: &Waker) -> ManuallyDrop<Waker> {
    assert!(
        std::ptr::eq(waker.vtable(), &VTABLE),
        "a coroutine G was polled with a waker that is not its task's"
    );
    let ptr = NonNull::new(waker.data().cast_mut().cast::<Header>())
        .expect("a task waker's data is its header");
    waker_ref(ptr)
}

/// Wakes `waker`, which may be anyone's (a timer's or a socket's waiter, a
/// JoinHandle's awaiter), from inside the scheduler: a foreign waker that
/// panics must not unwind into the scheduler loop, which cannot be left
/// half-way through an operation (it aborts the process). The panic is
/// contained and reported once per process (`what` says who was woken); the
/// rest of the batch and the runtime go on.
pub(crate) fn wake_contained(waker: Waker, what: &str) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake())) {
        report_waker_panic(payload, what);
    }
}

/// [`wake_contained`] by reference.
pub(crate) fn wake_by_ref_contained(waker: &Waker, what: &str) {
    if let Err(payload) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake_by_ref()))
    {
        report_waker_panic(payload, what);
    }
}

#[cold]
#[inline(never)]
fn report_waker_panic(payload: Box<dyn std::any::Any + Send>, what: &str) {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    static REPORTED: AtomicBool = AtomicBool::new(false);
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a non-string payload)");
    // Relaxed: only whether this thread is the first to report matters.
    if !REPORTED.swap(true, Relaxed) {
        eprintln!(
            "gmp: a waker panicked when gmp woke {what}; the panic was contained and the \
             runtime goes on (reported once per process): {msg}"
        );
    }
    // Dropping the payload could panic too: contained the same way (what
    // that second panic carries is dropped by the unwinder, not here).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
}
