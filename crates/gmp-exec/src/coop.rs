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

use crate::sched::worker::Worker;

/// Leaf-future polls a G may make in one poll before it yields (tokio: 128).
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    /// The budget of the G running on this thread; `None` outside Gs.
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
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
#[cfg(all(unix, not(loom)))]
#[inline]
pub(crate) fn refund() {
    LEFT.with(|l| {
        if let Some(left) = l.get() {
            l.set(Some((left + 1).min(BUDGET)));
        }
    });
}

fn preempt_marked() -> bool {
    Worker::with_current(|w| w.is_some_and(|w| w.preempt_marked()))
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

/// Whether sysmon has marked the G running on this M (read once per leaf
/// poll, only after the budget check passed).
impl Worker {
    #[inline]
    pub(crate) fn preempt_marked(&self) -> bool {
        self.m_preempt().load(Relaxed)
    }
}
