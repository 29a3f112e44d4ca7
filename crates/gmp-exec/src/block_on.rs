//! Running one future on the calling thread, parking it while the future waits.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes a thread parked in `block_on`.
struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: whatever the waker's caller did happens before the parked
        // thread's next poll (pairs with the Acquire swap in `block_on`).
        if !self.notified.swap(true, Release) {
            self.thread.unpark();
        }
    }
}

thread_local! {
    /// One waker per thread, reused by every `block_on` on it.
    static WAKER: (Arc<ThreadWaker>, Waker) = {
        let tw = Arc::new(ThreadWaker {
            thread: thread::current(),
            notified: AtomicBool::new(false),
        });
        let waker = Waker::from(tw.clone());
        (tw, waker)
    };
}

/// Polls `future` on this thread until it is ready, parking in between.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    WAKER.with(|(tw, waker)| run(future, tw, waker))
}

/// Like [`block_on`], with a waker of its own instead of the thread's: for a
/// blocking call that may run *inside* the poll of an outer `block_on` (a
/// socket's `std::io::Read` called from a future). Sharing the thread's
/// waker, the inner loop would swallow the outer future's wake-ups.
#[cfg(all(any(unix, windows), not(loom)))]
pub(crate) fn block_on_nested<F: Future>(future: F) -> F::Output {
    let tw = Arc::new(ThreadWaker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(tw.clone());
    run(future, &tw, &waker)
}

fn run<F: Future>(future: F, tw: &ThreadWaker, waker: &Waker) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        // Acquire: see `wake_by_ref`. The flag, not the park token, says
        // whether we were woken: another waker of this thread may unpark it.
        while !tw.notified.swap(false, Acquire) {
            thread::park();
        }
    }
}
