//! Time that tests control: [`pause`], [`advance`], [`resume`] (tokio's
//! `test-util` clock).

use std::time::Duration;

use crate::context;

/// Stops the current runtime's clock (tokio's `time::pause`): from now on
/// [`Instant::now`](super::Instant::now) stands still and timers fire only
/// when the clock moves — by [`advance`], or by itself when the runtime has
/// nothing else to do: then it jumps to the next timer (auto-advance), so a
/// test of an hour-long timeout runs in milliseconds.
///
/// Only this runtime's clock stops: other runtimes (and other tests in the
/// same process) keep the OS clock. `#[gmp::test(start_paused = true)]` and
/// [`Builder::start_paused`](crate::Builder::start_paused) start a runtime
/// paused.
///
/// # Panics
///
/// If the clock is paused already.
///
/// ```
/// use std::time::Duration;
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// rt.block_on(async {
///     gmp_exec::time::pause();
///     let start = gmp_exec::time::Instant::now();
///     // Nothing else runs: the clock jumps to the sleep's deadline at once.
///     gmp_exec::time::sleep(Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
#[track_caller]
pub fn pause() {
    context::with_current_shared(|shared| {
        if !shared.clock.pause() {
            panic!("time::pause called while the runtime's clock is already paused");
        }
    })
}

/// Starts the current runtime's clock again from where it stands (tokio's
/// `time::resume`).
///
/// # Panics
///
/// If the clock is not paused.
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let paused_at = gmp_exec::time::Instant::now();
///     gmp_exec::time::resume();
///     std::thread::sleep(std::time::Duration::from_millis(2));
///     assert!(paused_at.elapsed() >= std::time::Duration::from_millis(2));
/// });
/// ```
#[track_caller]
pub fn resume() {
    context::with_current_shared(|shared| {
        if !shared.clock.resume() {
            panic!(
                "time::resume called while the runtime's clock is not paused (pause it first \
                 with time::pause, or build the runtime with start_paused)"
            );
        }
    })
}

/// Moves the current runtime's paused clock on by `duration` and fires the
/// timers that are then due; returns after yielding once, so the Gs they
/// woke can run (tokio's `time::advance`).
///
/// # Panics
///
/// If the clock is not paused (when the returned future is first polled).
///
/// ```
/// use std::time::Duration;
/// let rt = gmp_exec::Runtime::builder().procs(1).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let sleep = gmp_exec::spawn(gmp_exec::time::sleep(Duration::from_secs(10)));
///     gmp_exec::time::advance(Duration::from_secs(10)).await;
///     sleep.await.unwrap(); // fired by the advance
/// });
/// ```
#[track_caller]
pub fn advance(duration: Duration) -> impl std::future::Future<Output = ()> {
    let location = std::panic::Location::caller();
    async move {
        context::with_current_shared(|shared| {
            if !shared.clock.advance(duration) {
                panic!(
                    "time::advance called at {location} while the runtime's clock is not \
                     paused: pause it first with time::pause, or build the runtime with \
                     start_paused (#[gmp::test(start_paused = true)])"
                );
            }
            shared.fire_due_timers();
        });
        crate::yield_now().await;
    }
}
