//! `Reactor::notify`: it ends a blocked poll from another thread, it is not lost
//! when it comes before the poll, and a burst of notifications is one wake-up.
#![cfg(any(unix, windows))] // where the reactor is built

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gmp_netpoll::Reactor;

/// Long enough that a test failing to wake a poll fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30);

/// A poll that only a pending notification can end: it returns at once, with
/// no event; a lost notification fails the test after [`PATIENCE`] instead of
/// blocking forever.
#[track_caller]
fn poll_ended_by_the_notification(reactor: &Reactor) {
    let start = Instant::now();
    assert_eq!(
        reactor.poll(Some(PATIENCE), &mut Vec::new()).unwrap(),
        0,
        "a notification is not an event"
    );
    assert!(
        start.elapsed() < PATIENCE,
        "the notification was lost: the poll waited its whole {PATIENCE:?}"
    );
}

#[test]
fn notify_wakes_a_poll_blocked_on_another_thread() {
    let reactor = Arc::new(Reactor::new().unwrap());
    for _ in 0..50 {
        let start = Arc::new(Barrier::new(2));
        let (done_tx, done_rx) = mpsc::channel();
        let poller = {
            let (reactor, start) = (reactor.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                // No timeout: only a notification can end this poll.
                let n = reactor.poll(None, &mut Vec::new()).unwrap();
                done_tx.send(n).unwrap();
            })
        };
        start.wait();
        // The poller is blocked, or about to block: either way it must return.
        reactor.notify();
        let n = done_rx
            .recv_timeout(PATIENCE)
            .expect("notify did not wake the blocked poll");
        assert_eq!(n, 0, "a notification is not an event");
        poller.join().unwrap();
    }
}

#[test]
fn a_notification_before_the_poll_is_not_lost() {
    let reactor = Reactor::new().unwrap();
    reactor.notify();
    // The poll would wait its whole timeout if the notification had been
    // dropped because nobody was polling when it came.
    poll_ended_by_the_notification(&reactor);
}

#[test]
fn notifications_coalesce_into_one_wake_up() {
    let reactor = Reactor::new().unwrap();
    for _ in 0..100 {
        reactor.notify();
    }
    poll_ended_by_the_notification(&reactor);
    // The burst was consumed by that one poll: the next blocks for its whole
    // timeout.
    let timeout = Duration::from_millis(20);
    let start = Instant::now();
    assert_eq!(reactor.poll(Some(timeout), &mut Vec::new()).unwrap(), 0);
    assert!(
        start.elapsed() >= timeout,
        "returned after {:?}: a stale notification",
        start.elapsed()
    );
}

#[test]
fn a_non_blocking_poll_leaves_a_pending_notification_for_the_blocking_one() {
    let reactor = Reactor::new().unwrap();
    reactor.notify();
    assert_eq!(
        reactor.poll(Some(Duration::ZERO), &mut Vec::new()).unwrap(),
        0
    );
    poll_ended_by_the_notification(&reactor);
}
