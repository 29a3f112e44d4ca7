//! `#[gmp::test]`: each test runs on a runtime of its own, two Ps unless told.

use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

#[gmp::test]
async fn spawned_tasks_run_on_the_runtimes_ms_and_are_awaited() {
    let test_thread = thread::current().id();
    let ran_on: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
    let handles: Vec<_> = (0..64u64)
        .map(|i| {
            let ran_on = ran_on.clone();
            gmp::spawn(async move {
                gmp::yield_now().await;
                ran_on.lock().unwrap().push(thread::current().id());
                i * i
            })
        })
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, (0..64u64).map(|i| i * i).sum::<u64>());
    let ran_on = ran_on.lock().unwrap();
    assert_eq!(ran_on.len(), 64, "every task ran once");
    assert!(
        ran_on.iter().all(|&t| t != test_thread),
        "tasks run on the runtime's Ms, not on the test thread that block_on polls"
    );
}

#[gmp::test]
async fn test_runtime_has_two_procs_by_default() {
    assert_eq!(gmp::Handle::current().procs(), 2);
}

#[gmp::test(procs = 3)]
async fn procs_sets_the_number_of_ps() {
    assert_eq!(gmp::Handle::current().procs(), 3);
}

#[gmp::test(worker_threads = 5)]
async fn worker_threads_is_procs() {
    assert_eq!(gmp::Handle::current().procs(), 5);
}

#[gmp::test(flavor = "multi_thread", worker_threads = 1)]
async fn multi_thread_flavor_is_accepted() {
    assert_eq!(gmp::Handle::current().procs(), 1);
}

#[gmp::test(procs = 4usize)]
async fn usize_suffix_and_trailing_comma_are_accepted() {
    assert_eq!(gmp::Handle::current().procs(), 4);
}

/// A crate that re-exports gmp, as a library built on it would.
mod my_runtime {
    pub use gmp::*;
}

#[gmp::test(crate = "crate::my_runtime", procs = 3)]
async fn crate_path_names_where_gmp_is() {
    assert_eq!(my_runtime::Handle::current().procs(), 3);
}

#[gmp::test]
async fn test_may_return_ok() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    assert_eq!(gmp::spawn(async move { n + 1 }).await.unwrap(), 8);
    Ok(())
}

#[gmp::test]
#[should_panic(expected = "the body's panic reaches the harness")]
async fn a_panic_in_the_body_fails_the_test() {
    gmp::yield_now().await;
    panic!("the body's panic reaches the harness");
}

#[gmp::test]
#[should_panic(expected = "a task's panic, rethrown")]
async fn a_panic_in_a_task_reaches_the_test_through_its_join_handle() {
    let err = gmp::spawn(async { panic!("a task's panic, rethrown") })
        .await
        .unwrap_err();
    std::panic::resume_unwind(err.into_panic());
}

/// An hour of timers in a paused test takes no real time.
#[gmp::test(start_paused = true)]
async fn start_paused_runs_an_hour_of_timers_at_once() {
    let real = std::time::Instant::now();
    let start = gmp::time::Instant::now();
    let slow = gmp::time::timeout(
        std::time::Duration::from_secs(3600),
        std::future::pending::<()>(),
    );
    assert!(slow.await.is_err());
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
    assert!(real.elapsed() < std::time::Duration::from_secs(60));
}

/// tokio's current-thread flavour: `spawn_local` runs `!Send` tasks on the
/// test's own thread.
#[gmp::test(flavor = "current_thread")]
async fn current_thread_runs_local_tasks_on_the_test_thread() {
    let me = std::thread::current().id();
    let cell = std::rc::Rc::new(std::cell::Cell::new(1));
    let c = cell.clone();
    gmp::task::spawn_local(async move {
        assert_eq!(std::thread::current().id(), me);
        c.set(2);
    })
    .await
    .unwrap();
    assert_eq!(cell.get(), 2);
    assert_eq!(gmp::Handle::current().procs(), 1);
}
