//! Timers: order, never early, cancellation from any thread, moves between
//! shards, published deadlines, re-arming, and misuse.

mod common;

use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use common::{counting_waker, cx, wake_all};
use gmp_netpoll::{TimerEntry, Timers};

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    let timers = Timers::new(1);
    let base = Instant::now();
    // Deadlines 0, 7, 14, ... ns after base, inserted in a scrambled order.
    let n = 500u64;
    let entries: Vec<_> = (0..n).map(|_| TimerEntry::new()).collect();
    for i in 0..n {
        let j = (i * 263) % n; // 263 is co-prime with 500
        timers.insert(0, &entries[j as usize], base + ns(7 * j));
    }
    assert_eq!(timers.len(), n as usize);

    let mut fired = Vec::new();
    for t in 0..7 * n {
        timers.run(0, base + ns(t), &mut Vec::new());
        for (j, e) in entries.iter().enumerate() {
            if e.is_fired() && !fired.contains(&j) {
                assert!(
                    t >= 7 * j as u64,
                    "timer {j} fired at {t}, before its deadline"
                );
                fired.push(j);
            }
        }
        // Everything due at t has fired.
        assert_eq!(fired.len() as u64, t / 7 + 1, "at t = {t}");
    }
    assert_eq!(fired, (0..n as usize).collect::<Vec<_>>(), "deadline order");
    assert_eq!(timers.len(), 0);
}

#[test]
fn a_fired_entry_hands_its_waker_back_once() {
    let timers = Timers::new(1);
    let entry = TimerEntry::new();
    let (waker, counter) = counting_waker();
    let base = Instant::now();
    timers.insert(0, &entry, base + ns(100));
    assert_eq!(entry.poll_fired(&mut cx(&waker)), Poll::Pending);

    let mut woken = Vec::new();
    timers.run(0, base + ns(99), &mut woken);
    assert!(woken.is_empty(), "one nanosecond early");
    assert!(!entry.is_fired());

    timers.run(0, base + ns(100), &mut woken);
    assert_eq!(woken.len(), 1);
    assert!(woken[0].will_wake(&waker));
    wake_all(&mut woken);
    timers.run(0, base + ns(1_000), &mut woken);
    assert!(woken.is_empty());
    assert_eq!(counter.wakes(), 1);
    assert!(entry.is_fired());
    assert_eq!(entry.poll_fired(&mut cx(&waker)), Poll::Ready(()));
}

#[test]
fn run_returns_the_next_deadline() {
    let timers = Timers::new(1);
    let base = Instant::now();
    let entries: Vec<_> = (0..3).map(|_| TimerEntry::new()).collect();
    for (i, e) in entries.iter().enumerate() {
        timers.insert(0, e, base + ns(10 * (i as u64 + 1)));
    }
    let mut woken = Vec::new();
    assert_eq!(timers.run(0, base + ns(5), &mut woken), Some(base + ns(10)));
    assert_eq!(
        timers.run(0, base + ns(10), &mut woken),
        Some(base + ns(20))
    );
    assert_eq!(
        timers.run(0, base + ns(25), &mut woken),
        Some(base + ns(30))
    );
    assert_eq!(timers.run(0, base + ns(30), &mut woken), None);
}

#[test]
fn insert_reports_a_new_earliest_deadline() {
    let timers = Timers::new(2);
    let base = Instant::now();
    let (a, b, c) = (TimerEntry::new(), TimerEntry::new(), TimerEntry::new());
    assert!(timers.insert(0, &a, base + ns(100)), "first in its shard");
    assert!(
        !timers.insert(0, &b, base + ns(200)),
        "later than the earliest"
    );
    assert!(
        !timers.insert(0, &c, base + ns(100)),
        "equal to the earliest"
    );
    assert!(
        timers.insert(0, &b, base + ns(50)),
        "moved before the earliest"
    );
    assert!(timers.insert(1, &c, base + ns(500)), "first in shard 1");
    assert_eq!(timers.next_deadline_of(0), Some(base + ns(50)));
}

#[test]
fn next_deadline_is_the_minimum_over_shards() {
    let timers = Timers::new(4);
    let base = Instant::now();
    assert_eq!(timers.next_deadline(), None);
    let entries: Vec<_> = (0..4).map(|_| TimerEntry::new()).collect();
    for (shard, offset) in [(0, 40), (1, 10), (2, 30), (3, 20)] {
        timers.insert(shard, &entries[shard], base + ns(offset));
    }
    assert_eq!(timers.next_deadline(), Some(base + ns(10)));
    assert_eq!(timers.next_deadline_of(2), Some(base + ns(30)));
    timers.cancel(&entries[1]);
    assert_eq!(timers.next_deadline(), Some(base + ns(20)));
    assert_eq!(timers.next_deadline_of(1), None);
    timers.run(3, base + ns(20), &mut Vec::new());
    assert_eq!(timers.next_deadline(), Some(base + ns(30)));
}

#[test]
fn cancel_removes_at_once_from_any_thread() {
    let timers = Arc::new(Timers::new(2));
    let base = Instant::now() + Duration::from_secs(3600);
    let entries: Vec<_> = (0..1_000).map(|_| TimerEntry::new()).collect();
    for (i, e) in entries.iter().enumerate() {
        timers.insert(i % 2, e, base + ns(i as u64));
    }
    assert_eq!(timers.len(), 1_000);

    // Cancel the odd ones from two other threads.
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let timers = timers.clone();
            let mine: Vec<_> = entries.iter().skip(1 + 2 * t).step_by(4).cloned().collect();
            std::thread::spawn(move || {
                for e in &mine {
                    timers.cancel(e);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(timers.len(), 500);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(
            Arc::strong_count(e),
            if i % 2 == 1 { 1 } else { 2 },
            "entry {i}"
        );
    }
    assert_eq!(timers.next_deadline_of(1), None);

    let (waker, counter) = counting_waker();
    assert_eq!(entries[1].poll_fired(&mut cx(&waker)), Poll::Pending);
    let mut woken = Vec::new();
    timers.run(1, base + Duration::from_secs(1), &mut woken);
    assert!(woken.is_empty());
    assert!(!entries[1].is_fired(), "a cancelled timer never fires");
    assert_eq!(counter.wakes(), 0);
    timers.cancel(&entries[1]); // no-op: not armed
    assert_eq!(timers.len(), 500);
}

#[test]
fn an_entry_moves_between_shards() {
    let timers = Timers::new(2);
    let base = Instant::now();
    let entry = TimerEntry::new();
    let (waker, _) = counting_waker();
    timers.insert(0, &entry, base + ns(10));
    assert_eq!(entry.poll_fired(&mut cx(&waker)), Poll::Pending);

    assert!(timers.insert(1, &entry, base + ns(20)));
    assert_eq!(timers.len(), 1);
    assert_eq!(timers.next_deadline_of(0), None);
    assert_eq!(timers.next_deadline_of(1), Some(base + ns(20)));

    let mut woken = Vec::new();
    assert_eq!(timers.run(0, base + ns(100), &mut woken), None);
    assert!(woken.is_empty(), "shard 0 no longer holds it");
    timers.run(1, base + ns(19), &mut woken);
    assert!(woken.is_empty(), "its new deadline counts");
    timers.run(1, base + ns(20), &mut woken);
    assert_eq!(woken.len(), 1);
    assert!(entry.is_fired());
    assert_eq!(Arc::strong_count(&entry), 1);
}

#[test]
fn reinserting_a_fired_entry_rearms_it() {
    let timers = Timers::new(1);
    let base = Instant::now();
    let entry = TimerEntry::new();
    let (waker, counter) = counting_waker();
    timers.insert(0, &entry, base + ns(1));
    timers.run(0, base + ns(1), &mut Vec::new());
    assert!(entry.is_fired());

    // An interval's next tick.
    timers.insert(0, &entry, base + ns(2));
    assert!(!entry.is_fired());
    assert_eq!(entry.poll_fired(&mut cx(&waker)), Poll::Pending);
    let mut woken = Vec::new();
    timers.run(0, base + ns(2), &mut woken);
    wake_all(&mut woken);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(entry.poll_fired(&mut cx(&waker)), Poll::Ready(()));
}

#[test]
fn reset_makes_a_fired_entry_wait_again() {
    let timers = Timers::new(1);
    let base = Instant::now();
    let entry = TimerEntry::new();
    let (waker, _) = counting_waker();
    timers.insert(0, &entry, base);
    timers.run(0, base, &mut Vec::new());
    assert!(entry.is_fired());
    entry.reset();
    assert!(!entry.is_fired());
    assert_eq!(entry.poll_fired(&mut cx(&waker)), Poll::Pending);

    // Reset leaves an armed entry armed.
    timers.insert(0, &entry, base + ns(5));
    entry.reset();
    assert_eq!(timers.len(), 1);
    timers.run(0, base + ns(5), &mut Vec::new());
    assert!(entry.is_fired());
}

#[test]
fn deadlines_in_the_past_fire_on_the_next_run() {
    let past = Instant::now();
    let timers = Timers::new(1);
    let entry = TimerEntry::new();
    timers.insert(0, &entry, past);
    timers.run(0, Instant::now(), &mut Vec::new());
    assert!(entry.is_fired());
}

#[test]
#[should_panic(expected = "shards must be at least 1")]
fn zero_shards_is_refused() {
    let _ = Timers::new(0);
}

#[test]
#[should_panic(expected = "Timers::insert: shard 2 out of range (this Timers has 2)")]
fn inserting_into_a_missing_shard_panics() {
    Timers::new(2).insert(2, &TimerEntry::new(), Instant::now());
}

#[test]
#[should_panic(expected = "armed in another Timers")]
fn an_entry_armed_in_another_timers_is_refused() {
    let (one, two) = (Timers::new(1), Timers::new(1));
    let (a, b) = (TimerEntry::new(), TimerEntry::new());
    two.insert(0, &b, Instant::now());
    one.insert(0, &a, Instant::now());
    one.cancel(&b);
}

#[test]
#[should_panic(expected = "Timers::insert: the TimerEntry is armed in another Timers")]
fn an_entry_armed_in_a_larger_timers_is_refused() {
    let (small, large) = (Timers::new(1), Timers::new(4));
    let entry = TimerEntry::new();
    large.insert(3, &entry, Instant::now());
    small.insert(0, &entry, Instant::now());
}
