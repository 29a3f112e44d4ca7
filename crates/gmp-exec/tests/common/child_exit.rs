//! Waiting for a child process to exit, with a bound and without polling.
//! Shared by gmp-exec's `common` and gmp's `tests/graceful.rs` (`#[path]`).
//!
//! std has no wait with a timeout, and the `Child` must stay with the caller
//! so that it can kill the child when the bound passes. So a thread blocks in
//! `waitid(WNOWAIT)`: it returns when the child exits but leaves it unreaped,
//! so its pid stays the child's (no other process can take it) until the
//! caller's `Child::wait` reaps it, and a `kill` after the bound can never
//! reach another process.

use std::process::{Child, ExitStatus};
use std::sync::mpsc;
use std::time::Duration;

/// Waits up to `patience` for `child` to exit and reaps it. `None`: it still
/// runs (the caller kills it).
pub fn wait_within(child: &mut Child, patience: Duration) -> Option<ExitStatus> {
    let pid = child.id();
    let (exited, on_exit) = mpsc::channel();
    std::thread::spawn(move || {
        block_until_exited(pid);
        let _ = exited.send(());
    });
    match on_exit.recv_timeout(patience) {
        Ok(()) => Some(child.wait().expect("reaping the child")),
        Err(_) => None,
    }
}

/// Blocks until the child `pid` has exited (or cannot be waited for), leaving
/// it for its `Child` to reap.
fn block_until_exited(pid: u32) {
    let pid = libc::id_t::from(pid);
    loop {
        // SAFETY: an all-zero `siginfo_t` is a valid value (plain integers and
        // unions of them), which `waitid` overwrites.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable `siginfo_t` for the call's
        // duration. WNOWAIT leaves the child unreaped: its `Child` still owns
        // it and its pid.
        let r = unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}
