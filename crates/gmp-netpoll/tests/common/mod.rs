//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

/// A hang guard: long enough never to run out on a healthy run, short enough
/// that a wait that would never end fails the test instead of the CI job.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A poll that something already pending (an event, a notification) must
/// end: `reactor.poll(None, woken)`, except that a poll that is never ended
/// fails the test, naming `what`, after [`PATIENCE`].
#[cfg(all(unix, not(loom)))]
#[track_caller]
pub fn poll_ended_by(reactor: &gmp_netpoll::Reactor, woken: &mut Vec<Waker>, what: &str) -> usize {
    let start = Instant::now();
    let n = reactor.poll(Some(PATIENCE), woken).unwrap();
    assert!(
        start.elapsed() < PATIENCE,
        "the poll waited its whole {PATIENCE:?}: {what} never ended it"
    );
    n
}

/// Whether `deadline` (from `Instant::now() + PATIENCE`) has passed; panics
/// naming `what` if it has. For loops that wait on something to change.
#[track_caller]
pub fn assert_before(deadline: Instant, what: &str) {
    assert!(
        Instant::now() < deadline,
        "never happened within {PATIENCE:?}: {what}"
    );
}

/// A waker that counts its wakes.
#[derive(Default)]
pub struct Counter(AtomicUsize);

impl Counter {
    pub fn new() -> Arc<Counter> {
        Arc::new(Counter::default())
    }

    pub fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and the counter behind it.
pub fn counting_waker() -> (Waker, Arc<Counter>) {
    let counter = Counter::new();
    (Waker::from(counter.clone()), counter)
}

/// Wakes every waker in `woken`, emptying it; returns how many there were.
pub fn wake_all(woken: &mut Vec<Waker>) -> usize {
    let n = woken.len();
    for w in woken.drain(..) {
        w.wake();
    }
    n
}

/// A context for `waker`.
pub fn cx(waker: &Waker) -> Context<'_> {
    Context::from_waker(waker)
}

/// A waker that unparks the thread that created it.
pub fn unparking_waker() -> Waker {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(Arc::new(Unpark(std::thread::current())))
}
