//! Timers and the poller together, the way the scheduler's idle M uses them: it
//! blocks in the poller until the next deadline, and a timer armed meanwhile
//! with an earlier deadline re-times it through `notify`.
#![cfg(any(unix, windows))] // where the reactor is built

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use gmp_netpoll::{Reactor, TimerEntry, Timers};

/// The idle M's loop: run due timers, then block in the poller until the next
/// deadline (or a notification). Returns when `entry` has fired, with the time
/// it saw it fire.
fn idle_m(reactor: &Reactor, timers: &Timers, entry: &TimerEntry, blocked: &AtomicBool) -> Instant {
    let mut woken = Vec::new();
    loop {
        let now = Instant::now();
        timers.run(0, now, &mut woken);
        if entry.is_fired() {
            return now;
        }
        let timeout = timers
            .next_deadline()
            .map(|d| d.saturating_duration_since(now));
        blocked.store(true, Ordering::SeqCst);
        reactor.poll(timeout, &mut woken).unwrap();
    }
}

#[test]
fn an_earlier_timer_re_times_a_blocked_poller() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let timers = Arc::new(Timers::new(1));
    // A far timer sets the blocked M's first timeout to an hour.
    let far = TimerEntry::new();
    timers.insert(0, &far, Instant::now() + Duration::from_secs(3600));

    let near = TimerEntry::new();
    let blocked = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let m = {
        let (reactor, timers, near, blocked) = (
            reactor.clone(),
            timers.clone(),
            near.clone(),
            blocked.clone(),
        );
        std::thread::spawn(move || tx.send(idle_m(&reactor, &timers, &near, &blocked)).unwrap())
    };
    let patience = Duration::from_secs(30);
    let give_up = Instant::now() + patience;
    while !blocked.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < give_up,
            "the idle M never reached its poll within {patience:?}"
        );
        std::thread::yield_now();
    }

    let deadline = Instant::now() + Duration::from_millis(2);
    if timers.insert(0, &near, deadline) {
        reactor.notify();
    } else {
        panic!("an earlier deadline must be reported");
    }
    let fired_at = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the blocked poller was not re-timed");
    assert!(
        fired_at >= deadline,
        "fired {:?} early",
        deadline - fired_at
    );
    m.join().unwrap();
    timers.cancel(&far);
    assert!(timers.is_empty());
}
