//! Bounded waits shared by gmp-exec's integration tests. A test whose failure
//! would otherwise be a hang (a G that never runs, a flag never set, a child
//! process that never exits) waits through one of these instead, and fails
//! with a message naming what never happened.
//!
//! The bounds are hang guards, not timings: far above what a healthy run
//! needs even under the sanitizers on a loaded 2-core machine, so they never
//! fire by accident. A thread or child process still stuck when one fires is
//! left behind (the child is killed). The message also goes straight to
//! stderr, past libtest's capture: a runtime wedged by the bug may hang the
//! unwinding that would otherwise print it.
#![allow(dead_code)] // each test file uses a different part

#[cfg(unix)]
mod child_exit;

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Long enough never to fire on a healthy run, short enough to fail a hang.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Fails the test with `msg`, which is written to stderr first.
#[track_caller]
pub fn give_up(msg: String) -> ! {
    let _ = writeln!(std::io::stderr(), "{msg}");
    panic!("{msg}")
}

/// Spins, yielding the thread, until `cond` holds; panics naming `what` if it
/// does not within [`PATIENCE`].
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(what, || cond().then_some(()));
}

/// Spins, yielding the thread, until `f` returns `Some`, and returns what it
/// held; panics naming `what` if that does not happen within [`PATIENCE`].
#[track_caller]
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            give_up(format!("never happened within {PATIENCE:?}: {what}"));
        }
        std::thread::yield_now();
    }
}

/// `rx.recv()` with a bound: panics naming `what` if nothing arrives within
/// [`PATIENCE`], or if every sender is dropped first (a G that should have
/// sent panicked or was dropped).
#[track_caller]
pub fn recv<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    match rx.recv_timeout(PATIENCE) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => {
            give_up(format!("never happened within {PATIENCE:?}: {what}"))
        }
        Err(RecvTimeoutError::Disconnected) => give_up(format!(
            "never happened (the sender was dropped first): {what}"
        )),
    }
}

/// Runs `f` on a thread of its own and fails the test if it has not finished
/// within [`PATIENCE`]: for a wait no timer can interrupt (a `block_on` or a
/// runtime's drop that could wedge). A panic in `f` is the test's panic.
#[track_caller]
pub fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    within_for(PATIENCE, what, f)
}

/// [`within`] with a bound of the caller's choosing.
#[track_caller]
pub fn within_for<R: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done, result) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = done.send(f());
    });
    match result.recv_timeout(limit) {
        Ok(r) => r,
        Err(RecvTimeoutError::Timeout) => {
            give_up(format!("{what}: still not done after {limit:?}"))
        }
        // `f` panicked: report its panic.
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the result was sent"),
        },
    }
}

/// `cmd.output()` with a bound: a child process (these tests re-run their own
/// binary) that has not exited within [`PATIENCE`] is killed, and the test
/// fails naming `what` and showing what the child had printed.
#[track_caller]
pub fn output_within(what: &str, cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained on threads of their own: a child blocked on a full pipe would
    // never exit.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = exit_within(&mut child);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => give_up(format!(
            "{what}: the child process had not exited after {PATIENCE:?} (killed)\n\
             --- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
    }
}

/// The child's exit status once it exits, within [`PATIENCE`]; `None` if it
/// still runs then.
#[cfg(unix)]
fn exit_within(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    child_exit::wait_within(child, PATIENCE)
}

/// Elsewhere (these tests are only type-checked off Unix) by polling: std has
/// no wait with a timeout, and no `waitid` to build one on.
#[cfg(not(unix))]
fn exit_within(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}
