//! Time that tests control: `time::pause`, `advance`, `resume`, the
//! auto-advance of an idle runtime, and `time::Instant` on the paused clock.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gmp_exec::time::{self, Instant};
use gmp_exec::Runtime;

mod common;
use common::within;

fn paused(procs: usize) -> Runtime {
    Runtime::builder()
        .procs(procs)
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn an_idle_paused_runtime_jumps_to_its_next_timer() {
    let rt = paused(2);
    let real = std::time::Instant::now();
    within("auto-advance", move || {
        rt.block_on(async {
            let start = Instant::now();
            let h = gmp_exec::spawn(async {
                time::sleep(Duration::from_secs(3600)).await;
                Instant::now()
            });
            let woke = h.await.unwrap();
            assert_eq!(woke - start, Duration::from_secs(3600));
            // A timeout of a day fires too, in order after a shorter sleep.
            let mut ticks = time::interval(Duration::from_secs(60));
            ticks.tick().await;
            let t1 = ticks.tick().await;
            let t2 = ticks.tick().await;
            assert_eq!(t2 - t1, Duration::from_secs(60));
            let err =
                time::timeout(Duration::from_secs(86_400), std::future::pending::<()>()).await;
            assert!(err.is_err());
        })
    });
    assert!(
        real.elapsed() < Duration::from_secs(30),
        "no real hour passed"
    );
}

#[test]
fn advance_fires_what_is_due_and_nothing_later() {
    let rt = paused(1);
    within("advance", move || {
        rt.block_on(async {
            let fired = Arc::new(AtomicBool::new(false));
            let f = fired.clone();
            // Keep the runtime busy so it cannot auto-advance.
            let busy = Arc::new(AtomicBool::new(true));
            let b = busy.clone();
            let spinner = gmp_exec::spawn(async move {
                while b.load(SeqCst) {
                    gmp_exec::yield_now().await;
                }
            });
            let start = Instant::now();
            // The deadline is taken now, whenever the sleeper first runs.
            let sleep = time::sleep(Duration::from_secs(10));
            let sleeper = gmp_exec::spawn(async move {
                sleep.await;
                f.store(true, SeqCst);
            });
            time::advance(Duration::from_secs(9)).await;
            assert_eq!(start.elapsed(), Duration::from_secs(9));
            assert!(!fired.load(SeqCst), "fired a second early");
            time::advance(Duration::from_secs(1)).await;
            sleeper.await.unwrap();
            assert!(fired.load(SeqCst));
            busy.store(false, SeqCst);
            spinner.await.unwrap();
        })
    });
}

#[test]
fn resume_lets_the_clock_run_again_from_where_it_stood() {
    let rt = paused(1);
    within("resume", move || {
        rt.block_on(async {
            let start = Instant::now();
            time::advance(Duration::from_secs(100)).await;
            time::resume();
            let after = Instant::now();
            assert!(after - start >= Duration::from_secs(100));
            // Running again: a short real sleep completes in real time.
            time::sleep(Duration::from_millis(5)).await;
            assert!(Instant::now() - after >= Duration::from_millis(5));
            time::pause();
        })
    });
}

#[test]
#[should_panic(expected = "time::advance called")]
fn advance_on_a_running_clock_panics_with_a_message() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(time::advance(Duration::from_secs(1)));
}

#[test]
#[should_panic(expected = "already paused")]
fn pausing_twice_panics() {
    let rt = paused(1);
    rt.block_on(async { time::pause() });
}

#[test]
fn other_runtimes_keep_the_os_clock() {
    let paused_rt = paused(1);
    let normal = Runtime::builder().procs(1).build().unwrap();
    within("two clocks", move || {
        let frozen = paused_rt.block_on(async { Instant::now() });
        let t = normal.block_on(async {
            time::sleep(Duration::from_millis(2)).await;
            Instant::now()
        });
        assert!(t > frozen, "the running runtime's clock moved on");
        let still = paused_rt.block_on(async { Instant::now() });
        assert_eq!(still, frozen, "the paused one did not");
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_coroutine_sleeps_on_the_paused_clock() {
    let rt = paused(1);
    let _g = rt.enter();
    let h = gmp_exec::coro::spawn(|| {
        let start = Instant::now();
        gmp_exec::coro::sleep(Duration::from_secs(7200));
        start.elapsed()
    });
    assert_eq!(
        within("coroutine", move || h.join().unwrap()),
        Duration::from_secs(7200)
    );
}
