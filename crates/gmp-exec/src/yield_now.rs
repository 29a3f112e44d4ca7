//! `yield_now`: let the other runnable Gs of this P go first (Go's `Gosched`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the other runnable tasks: the current task goes to the back of its
/// P's run queue and runs again after them.
///
/// ```
/// # gmp_exec::Runtime::new().unwrap().block_on(async {
/// gmp_exec::spawn(async {
///     for _ in 0..3 {
///         gmp_exec::yield_now().await;
///     }
/// })
/// .await
/// .unwrap();
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// ```
/// use std::future::Future;
/// use std::task::{Context, Poll};
/// let mut fut: gmp_exec::YieldNow = gmp_exec::yield_now();
/// let mut cx = Context::from_waker(std::task::Waker::noop());
/// // The first poll yields; the next one completes.
/// assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
/// assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_ready());
/// ```
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // A wake during its own poll requeues the task behind the others
        // (rule 5 of the task essay).
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
