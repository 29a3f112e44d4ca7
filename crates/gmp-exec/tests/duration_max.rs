//! `Duration::MAX` means "forever" (or "never") wherever gmp takes a duration:
//! no setting a user can pass makes an `Instant` overflow, which used to panic
//! a pool thread or sysmon, or leave a runtime half shut down.
#![cfg(not(loom))]

use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gmp_exec::time::{interval, MissedTickBehavior};
use gmp_exec::Runtime;

mod common;
use common::within;

/// Sends on drop: tells the test that a future was dropped.
struct SendOnDrop(mpsc::Sender<()>);

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn a_keep_alive_of_duration_max_keeps_idle_blocking_threads_forever() {
    within(
        "spawn_blocking and drop with thread_keep_alive(Duration::MAX)",
        || {
            let rt = Runtime::builder()
                .procs(1)
                .thread_keep_alive(Duration::MAX)
                .build()
                .unwrap();
            // Each closure after the first finds the pool's thread idle (it
            // used to have died computing its keep-alive deadline).
            for i in 0..5 {
                assert_eq!(rt.block_on(rt.spawn_blocking(move || i)).unwrap(), i);
            }
            drop(rt);
        },
    );
}

#[test]
fn shutdown_timeout_of_duration_max_waits_and_drops_every_future() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let guard = SendOnDrop(dropped_tx);
    let h = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    let blocking = rt.spawn_blocking(|| 3);
    assert!(within("shutdown_timeout(Duration::MAX)", move || {
        rt.shutdown_timeout(Duration::MAX)
    }));
    // Shutdown dropped the pending future before it returned.
    assert_eq!(dropped_rx.try_recv(), Ok(()));
    assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    // The blocking closure either ran or was cancelled; it did not hang.
    let _ = futures::executor::block_on(blocking);
}

#[test]
fn an_interval_of_duration_max_ticks_once_then_never() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        let behaviors = [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ];
        for behavior in behaviors {
            let mut ticker = interval(Duration::MAX);
            ticker.set_missed_tick_behavior(behavior);
            // The first tick is at once (it used to panic computing the next).
            ticker.tick().await;
            let mut cx = Context::from_waker(Waker::noop());
            assert_eq!(ticker.poll_tick(&mut cx), Poll::Pending, "{behavior:?}");
            ticker.reset();
            assert_eq!(ticker.poll_tick(&mut cx), Poll::Pending, "{behavior:?}");
        }
    });
}

/// On one P, G `blocker` blocks its M in `syscall`; the G spawned after it can
/// run only if sysmon hands the P to another M.
fn a_g_runs_behind_a_blocked_syscall(rt: &Runtime) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel();
    let blocker = rt.spawn(async move {
        started_tx.send(()).unwrap();
        gmp_exec::syscall(|| release_rx.recv_timeout(Duration::from_secs(20)))
    });
    common::recv(&started_rx, "the blocking G started");
    let release = release_tx.clone();
    rt.spawn(async move {
        ran_tx.send(()).unwrap();
        // The test may have released the blocker first.
        let _ = release.send(());
    });
    let ran = ran_rx.recv_timeout(Duration::from_secs(10));
    let _ = release_tx.send(());
    ran.expect("the G queued behind a blocked syscall never ran: sysmon did not retake the P");
    rt.block_on(blocker).unwrap().unwrap();
}

#[test]
fn a_schedtrace_period_of_duration_max_keeps_sysmon_working() {
    let rt = Runtime::builder()
        .procs(1)
        .schedtrace(Some(Duration::MAX))
        .build()
        .unwrap();
    a_g_runs_behind_a_blocked_syscall(&rt);
    // Counted just after the handoff that let the queued G run.
    common::wait_until("sysmon counted a syscall retake", || {
        rt.metrics().syscall_retakes >= 1
    });
}
