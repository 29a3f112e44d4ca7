//! Cooperative preemption for async Gs: a budget of leaf-future polls.
//!
//! A future that is always ready — a stream that never returns `Pending`, a
//! loop over a channel that always has a message — would keep its G in one
//! poll forever, and the Gs queued behind it on the same P would never run. Go
//! preempts such a goroutine after 10 ms; a future cannot be interrupted, so
//! each gmp leaf future (a `JoinHandle`, [`consume_budget`], and the timers and
//! sockets to come) spends one unit of a per-poll budget and, once it is spent,
//! wakes its G and returns `Pending`: the G goes to the back of its P's queue
//! and the others run. sysmon's 10 ms mark (`M::preempt`) spends the budget at
//! once, so a G that has run long yields at its very next leaf future.
//!
//! Outside a G (on a thread that is not an M) the budget is unlimited.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

use crate::sync::AtomicBool;

/// Leaf-future polls a G may make in one poll before it yields (tokio: 128).
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    /// The budget of the G running on this thread; `None` outside Gs.
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
    /// This M's preemption mark (`M::preempt`, set by sysmon), or null on a
    /// thread that is not an M. Set by the M itself ([`bind_preempt_mark`]),
    /// so that this module needs nothing of the scheduler.
    static MARK: Cell<*const AtomicBool> = const { Cell::new(std::ptr::null()) };
}

/// Called by an M as it starts (with its `M::preempt`) and as it exits
/// (with null): the mark leaf futures read.
///
/// # Safety
///
/// `mark` must stay valid until this thread calls it again with null (the M
/// owns an `Arc` of the `M` holding the flag for as long as it runs).
pub(crate) unsafe fn bind_preempt_mark(mark: *const AtomicBool) {
    MARK.with(|m| m.set(mark));
}

/// Gives the G about to be polled on this M a full budget.
#[inline]
pub(crate) fn reset() {
    LEFT.with(|l| l.set(Some(BUDGET)));
}

/// Spends one unit of the current G's budget: `Ready` to go on, or `Pending`
/// (with the G woken, so it runs again after the others) if it is spent or
/// sysmon marked the G for preemption.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    LEFT.with(|l| match l.get() {
        None => Poll::Ready(()),
        Some(left) => {
            if left == 0 || preempt_marked() {
                l.set(Some(0));
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                l.set(Some(left - 1));
                Poll::Ready(())
            }
        }
    })
}

/// Gives back the unit a leaf future spent in [`poll_proceed`] when the
/// operation it then attempted made no progress (a socket call that returned
/// `WouldBlock`): only operations that complete spend budget.
#[cfg(all(any(unix, windows), not(loom)))]
#[inline]
pub(crate) fn refund() {
    LEFT.with(|l| {
        if let Some(left) = l.get() {
            l.set(Some((left + 1).min(BUDGET)));
        }
    });
}

fn preempt_marked() -> bool {
    let mark = MARK.with(Cell::get);
    // SAFETY: a non-null mark is this M's flag, valid until the M clears it
    // (`bind_preempt_mark`'s contract).
    // Relaxed: a hint; a mark seen one poll late only delays the yield.
    !mark.is_null() && unsafe { &*mark }.load(Relaxed)
}

/// Spends one unit of the task's cooperative budget, yielding to the other
/// tasks of its P if the budget is spent (tokio's `task::consume_budget`).
///
/// Call it in a loop that may never reach a `Pending` on its own:
///
/// ```
/// # gmp_exec::Runtime::new().unwrap().block_on(async {
/// gmp_exec::spawn(async {
///     let mut sum = 0u64;
///     for i in 0..1_000_000u64 {
///         sum += i;
///         gmp_exec::task::consume_budget().await;
///     }
///     sum
/// })
/// .await
/// .unwrap();
/// # });
/// ```
pub async fn consume_budget() {
    ConsumeBudget.await
}

struct ConsumeBudget;

impl Future for ConsumeBudget {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_proceed(cx)
    }
}
