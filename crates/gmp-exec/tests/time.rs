//! Timers: per-P heaps fired by the scheduler and by the M parked in the
//! poller.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gmp_exec::time::{
    interval, interval_at, sleep, sleep_until, timeout, Elapsed, Instant, MissedTickBehavior,
};
use gmp_exec::Runtime;

/// A small deterministic generator (no dev-dependency needed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn ten_thousand_random_sleeps_none_early() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let early = Arc::new(AtomicUsize::new(0));
        let mut rng = Lcg(procs as u64);
        let handles: Vec<_> = (0..10_000)
            .map(|_| {
                let ms = 1 + rng.next() % 100;
                let early = early.clone();
                rt.spawn(async move {
                    let d = Duration::from_millis(ms);
                    let start = Instant::now();
                    sleep(d).await;
                    if start.elapsed() < d {
                        early.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(early.load(SeqCst), 0, "procs({procs}): sleeps ended early");
        assert_eq!(rt.metrics().timers_pending, 0);
    }
}

#[test]
fn a_sleep_from_block_on_wakes_on_a_fresh_runtime() {
    // Every M of the fresh runtime has parked (build waits for that), and
    // the timer is armed from outside: arming it must wake one to watch it.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let start = Instant::now();
    rt.block_on(sleep(Duration::from_millis(20)));
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn a_sleep_polled_by_another_executor_uses_the_default_runtime() {
    let start = Instant::now();
    futures::executor::block_on(sleep(Duration::from_millis(15)));
    assert!(start.elapsed() >= Duration::from_millis(15));
}

#[test]
fn timeouts_fire_on_pending_futures_and_not_on_ready_ones() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let never = std::future::pending::<()>();
        assert_eq!(
            timeout(Duration::from_millis(10), never).await,
            Err(timeout_err())
        );
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        let slow = sleep(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(timeout(Duration::from_millis(5), slow).await.is_err());
        assert!(start.elapsed() < Duration::from_secs(60));
        let quick = sleep(Duration::from_millis(1));
        assert_eq!(timeout(Duration::from_secs(3600), quick).await, Ok(()));
        let err: std::io::Error = timeout_err().into();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    });
    assert_eq!(rt.metrics().timers_pending, 0);
}

/// An `Elapsed`, obtained the only way users can.
fn timeout_err() -> Elapsed {
    futures::executor::block_on(timeout(Duration::ZERO, std::future::pending::<()>())).unwrap_err()
}

#[test]
fn dropped_sleeps_free_their_entries() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let _in = rt.enter();
    let mut cx = Context::from_waker(Waker::noop());
    let mut sleeps: Vec<_> = (0..1000)
        .map(|i| Box::pin(sleep(Duration::from_secs(3600 + i))))
        .collect();
    for s in &mut sleeps {
        assert_eq!(s.as_mut().poll(&mut cx), Poll::Pending);
    }
    assert_eq!(rt.metrics().timers_pending, 1000);
    sleeps.truncate(400);
    assert_eq!(rt.metrics().timers_pending, 400);
    drop(sleeps);
    assert_eq!(rt.metrics().timers_pending, 0);
}

#[test]
fn reset_moves_a_sleep_earlier_and_later() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let mut s = sleep(Duration::from_secs(3600));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pin!(&mut s).poll(&mut cx).is_pending());
        s.reset(start + Duration::from_millis(10));
        (&mut s).await;
        assert!(s.is_elapsed());
        assert!(start.elapsed() >= Duration::from_millis(10));
        s.reset(Instant::now() + Duration::from_millis(5));
        assert!(!s.is_elapsed());
        let t = Instant::now();
        s.await;
        assert!(t.elapsed() >= Duration::from_millis(4));
    });
}

#[test]
fn sleep_until_a_past_deadline_is_ready_at_once() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        sleep_until(Instant::now() - Duration::from_secs(1)).await;
        sleep(Duration::ZERO).await;
    });
    assert_eq!(rt.metrics().timers_pending, 0);
}

#[test]
fn intervals_tick_on_schedule_and_handle_missed_ticks() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.spawn(async {}); // start the Ms
    rt.block_on(async {
        let period = Duration::from_millis(5);
        let start = Instant::now();
        let mut t = interval_at(start, period);
        for i in 0..5u32 {
            let at = t.tick().await;
            assert_eq!(at, start + period * i);
            assert!(Instant::now() >= at);
        }

        // Busy past three deadlines.
        for (behavior, expect_burst) in [
            (MissedTickBehavior::Burst, true),
            (MissedTickBehavior::Delay, false),
            (MissedTickBehavior::Skip, false),
        ] {
            let mut t = interval(period);
            t.set_missed_tick_behavior(behavior);
            let first = t.tick().await;
            std::thread::sleep(period * 3 + period / 2);
            let late = t.tick().await;
            assert_eq!(late, first + period, "{behavior:?}");
            let next = t.tick().await;
            if expect_burst {
                assert_eq!(next, first + period * 2, "{behavior:?}");
            } else {
                assert!(
                    next >= first + period * 4,
                    "{behavior:?}: {:?}",
                    next - first
                );
            }
        }
    });
}

#[test]
#[should_panic(expected = "the period must be greater than zero")]
fn a_zero_interval_panics_with_a_message() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn a_thousand_tasks_sleeping_in_a_loop_on_every_proc_count() {
    for procs in [1, 2, 4] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let total = rt.block_on(async {
            let hs: Vec<_> = (0..1000u64)
                .map(|i| {
                    gmp_exec::spawn(async move {
                        for _ in 0..5 {
                            sleep(Duration::from_micros(100 + i % 300)).await;
                        }
                        i
                    })
                })
                .collect();
            let mut total = 0;
            for h in hs {
                total += h.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..1000).sum::<u64>());
    }
}
