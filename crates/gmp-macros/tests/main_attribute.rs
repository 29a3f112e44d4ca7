//! `#[gmp::main]`: a sync function that builds a runtime and runs the body.
//! On a function not named `main` it can be called (and checked) from tests.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, PartialEq)]
struct AppError(u32);

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app error {}", self.0)
    }
}

impl std::error::Error for AppError {}

#[gmp::main(procs = 2)]
async fn fails_in_a_task() -> Result<u32, AppError> {
    let code = gmp::spawn(async { 7 }).await.unwrap();
    let checked: Result<u32, AppError> = Err(AppError(code));
    let value = checked?;
    Ok(value)
}

#[test]
fn main_returning_err_propagates_the_err() {
    assert_eq!(fails_in_a_task(), Err(AppError(7)));
}

#[gmp::main]
async fn boxed_error() -> Result<(), Box<dyn std::error::Error>> {
    let n: u8 = "300".parse()?;
    unreachable!("300 does not fit a u8, parsed {n}")
}

#[test]
fn question_mark_converts_into_the_declared_error() {
    let err = boxed_error().unwrap_err();
    assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
}

#[gmp::main]
async fn default_procs() -> usize {
    gmp::Handle::current().procs()
}

#[test]
fn main_without_procs_uses_the_default_runtime_settings() {
    let expected = gmp::Runtime::new().unwrap().procs();
    assert_eq!(default_procs(), expected);
}

#[gmp::main(procs = 3)]
async fn three_procs() -> usize {
    gmp::Handle::current().procs()
}

#[test]
fn main_procs_sets_the_number_of_ps() {
    assert_eq!(three_procs(), 3);
}

#[gmp::main(worker_threads = 1)]
async fn early_return() -> &'static str {
    if gmp::spawn(async { true }).await.unwrap() {
        return "returned early";
    }
    "fell through"
}

#[test]
fn return_in_the_body_returns_from_main() {
    assert_eq!(early_return(), "returned early");
}

#[gmp::main]
async fn not_send_body() -> usize {
    // `main`'s own future is polled by block_on on the calling thread: it may
    // hold values that are not `Send` across an await.
    let local = std::rc::Rc::new(5);
    gmp::yield_now().await;
    *local
}

#[test]
fn main_body_need_not_be_send() {
    assert_eq!(not_send_body(), 5);
}

/// Counts its drop.
struct CountDrop(&'static AtomicUsize);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

static LEFT_RUNNING_DROPPED: AtomicUsize = AtomicUsize::new(0);

#[gmp::main]
async fn leaves_a_task_running() {
    let guard = CountDrop(&LEFT_RUNNING_DROPPED);
    // Detached: nothing will ever wake it, and nothing waits for it.
    drop(gmp::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    }));
}

#[test]
fn a_task_left_running_is_cancelled_when_main_returns() {
    leaves_a_task_running();
    assert_eq!(
        LEFT_RUNNING_DROPPED.load(Ordering::SeqCst),
        1,
        "the runtime is dropped before the function returns, and drops the pending task"
    );
}
