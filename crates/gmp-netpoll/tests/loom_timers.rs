//! Loom models of the timer entry protocol: every interleaving (up to the
//! preemption bound) of a `run` firing an entry, a `cancel` or a move to another
//! shard, and the waiting task's `poll_fired`. Each checks: a task is woken at
//! most once, a task left `Pending` is woken (no lost wake-up), a cancelled
//! entry wakes nobody and never fires, a moved entry fires only at its new
//! deadline, and the heaps end consistent.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p
//! gmp-netpoll --release --test loom_timers`.
#![cfg(loom)]

use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use gmp_netpoll::{TimerEntry, Timers};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Waker, Arc<Counter>) {
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    (Waker::from(counter.clone()), counter)
}

fn wakes(counter: &Counter) -> usize {
    counter.0.load(Ordering::SeqCst)
}

/// Runs `shard` at `now` on its own thread and wakes what fired.
fn spawn_run(timers: &Arc<Timers>, shard: usize, now: Instant) -> thread::JoinHandle<()> {
    let timers = timers.clone();
    thread::spawn(move || {
        let mut woken = Vec::new();
        timers.run(shard, now, &mut woken);
        for waker in woken {
            waker.wake();
        }
    })
}

#[test]
fn fire_racing_cancel_racing_poll_fired() {
    loom::model(|| {
        let timers = Arc::new(Timers::new(1));
        let base = Instant::now();
        let entry = TimerEntry::new();
        timers.insert(0, &entry, base);
        let (waker, counter) = counting_waker();

        let runner = spawn_run(&timers, 0, base);
        let canceller = {
            let (timers, entry) = (timers.clone(), entry.clone());
            thread::spawn(move || timers.cancel(&entry))
        };
        let polled = entry.poll_fired(&mut Context::from_waker(&waker));
        runner.join().unwrap();
        canceller.join().unwrap();

        assert_eq!(timers.len(), 0, "fired or cancelled, it left the heap");
        assert_eq!(timers.next_deadline(), None);
        let woken = wakes(&counter);
        assert!(woken <= 1, "woken {woken} times");
        if entry.is_fired() {
            if polled.is_pending() {
                assert_eq!(woken, 1, "lost wake-up");
            }
            assert_eq!(
                entry.poll_fired(&mut Context::from_waker(&waker)),
                Poll::Ready(())
            );
        } else {
            // Cancelled before it fired.
            assert_eq!(polled, Poll::Pending);
            assert_eq!(woken, 0, "a cancelled timer woke its task");
        }
        assert_eq!(Arc::strong_count(&entry), 1, "the heap let go");
    });
}

#[test]
fn a_move_to_another_shard_racing_a_run_of_the_old_one() {
    loom::model(|| {
        let timers = Arc::new(Timers::new(2));
        let base = Instant::now();
        let later = base + Duration::from_secs(3600);
        let entry = TimerEntry::new();
        timers.insert(0, &entry, base);
        let (waker, counter) = counting_waker();

        let runner = spawn_run(&timers, 0, base);
        let mover = {
            let (timers, entry) = (timers.clone(), entry.clone());
            thread::spawn(move || timers.insert(1, &entry, later))
        };
        let polled = entry.poll_fired(&mut Context::from_waker(&waker));
        runner.join().unwrap();
        let reported_earliest = mover.join().unwrap();

        // Whether the old deadline fired first or not, the entry ends armed in
        // shard 1 for its new deadline, and not fired.
        assert!(reported_earliest);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.next_deadline_of(0), None);
        assert_eq!(timers.next_deadline_of(1), Some(later));
        assert!(!entry.is_fired(), "re-armed entries are not fired");
        let woken = wakes(&counter);
        assert!(woken <= 1, "woken {woken} times");
        if polled.is_ready() {
            // Only possible if the old deadline fired before the move.
            assert!(woken <= 1);
        }
        // Not before its new deadline...
        let mut out = Vec::new();
        timers.run(1, later - Duration::from_nanos(1), &mut out);
        assert!(out.is_empty() && !entry.is_fired());
        // ...and then exactly once.
        timers.run(1, later, &mut out);
        assert!(entry.is_fired());
        assert_eq!(timers.len(), 0);
    });
}

#[test]
fn a_re_registered_waker_racing_the_fire_is_not_lost() {
    loom::model(|| {
        let timers = Arc::new(Timers::new(1));
        let base = Instant::now();
        let entry = TimerEntry::new();
        timers.insert(0, &entry, base);
        let (first, _) = counting_waker();
        let (second, second_count) = counting_waker();
        assert!(entry
            .poll_fired(&mut Context::from_waker(&first))
            .is_pending());

        // The task is polled again (say, after moving to another M) while the
        // timer fires: the newest waker must be the one that gets woken.
        let runner = spawn_run(&timers, 0, base);
        let polled = entry.poll_fired(&mut Context::from_waker(&second));
        runner.join().unwrap();

        assert!(entry.is_fired());
        if polled.is_pending() {
            assert_eq!(wakes(&second_count), 1, "lost wake-up");
        }
    });
}

#[test]
fn two_threads_arming_one_entry_leave_it_in_one_heap() {
    loom::model(|| {
        let timers = Arc::new(Timers::new(2));
        let base = Instant::now();
        let entry = TimerEntry::new();
        let arm = |shard: usize, offset: u64| {
            let (timers, entry) = (timers.clone(), entry.clone());
            thread::spawn(move || {
                timers.insert(shard, &entry, base + Duration::from_nanos(offset));
            })
        };
        let a = arm(0, 10);
        let b = arm(1, 20);
        a.join().unwrap();
        b.join().unwrap();

        assert_eq!(timers.len(), 1, "armed exactly once");
        let d0 = timers.next_deadline_of(0);
        let d1 = timers.next_deadline_of(1);
        assert!(
            (d0 == Some(base + Duration::from_nanos(10)) && d1.is_none())
                || (d1 == Some(base + Duration::from_nanos(20)) && d0.is_none()),
            "{d0:?} {d1:?}"
        );
        timers.cancel(&entry);
        assert_eq!(timers.len(), 0);
        assert_eq!(Arc::strong_count(&entry), 1);
    });
}

#[test]
fn a_cancel_racing_a_move_and_a_run_leaves_a_consistent_heap() {
    loom::model(|| {
        let timers = Arc::new(Timers::new(2));
        let base = Instant::now();
        let later = base + Duration::from_secs(3600);
        let entry = TimerEntry::new();
        timers.insert(0, &entry, base);

        let runner = spawn_run(&timers, 0, base);
        let mover = {
            let (timers, entry) = (timers.clone(), entry.clone());
            thread::spawn(move || {
                timers.insert(1, &entry, later);
            })
        };
        timers.cancel(&entry);
        runner.join().unwrap();
        mover.join().unwrap();

        let len = timers.len();
        assert!(len <= 1);
        assert_eq!(timers.next_deadline_of(0), None);
        if len == 1 {
            // The move came after the cancel: armed for its new deadline.
            assert_eq!(timers.next_deadline_of(1), Some(later));
            assert!(!entry.is_fired());
        } else {
            assert_eq!(timers.next_deadline_of(1), None);
        }
        assert_eq!(Arc::strong_count(&entry), 1 + len, "heap references");
    });
}
