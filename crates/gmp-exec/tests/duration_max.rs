//! `Duration::MAX` means "forever" (or "never") wherever gmp takes a duration:
//! no setting a user can pass makes an `Instant` overflow, which used to panic
//! a pool thread or sysmon, or leave a runtime half shut down.
#![cfg(not(loom))]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use gmp_exec::Runtime;

/// Runs `f` on a thread of its own and returns its result; panics with a
/// message naming `what` if it has not finished within 20 s (a hang), and
/// passes its panic on if it panicked.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it returns"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} hung (still running after 20 s)"),
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
