//! Blocking-style I/O on gmp sockets: the machinery behind their
//! `std::io::Read` and `std::io::Write` impls.
//!
//! In Go every `conn.Read` is blocking-style: the goroutine parks on the
//! netpoller and the M runs another. gmp's stackful Gs get the same: inside a
//! coroutine ([`coro::spawn`](crate::coro::spawn), `gmp::go!`), a `read` that
//! would block parks the G ([`coro::wait`](crate::coro::wait)) and the M runs
//! other Gs. On a plain thread it blocks the thread, as std's sockets do. On an
//! M running an async G it would block a thread that other Gs need, so it
//! panics and says what to do instead.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use crate::coro;
use crate::sched::worker::Worker;

/// Runs the poll function `f` to completion in the blocking style that fits
/// the calling thread (see the module docs). `what` names the call in the
/// misuse panic.
#[track_caller]
pub(crate) fn block<R>(
    what: &str,
    f: impl FnMut(&mut Context<'_>) -> Poll<io::Result<R>>,
) -> io::Result<R> {
    if coro::is_coroutine() {
        return coro::wait(poll_fn(f));
    }
    // An M holding a P is polling an async G right now. An M without one is
    // inside `block_in_place`, where blocking is what the caller asked for.
    if Worker::with_current(|w| w.is_some_and(|w| w.current_p().is_some())) {
        panic!(
            "{what} on a gmp socket was called from an async task: it would block the \
             worker thread (an M) and every task queued behind it; use .await, or run \
             blocking-style code in a coroutine (gmp::go!)"
        );
    }
    crate::block_on::block_on_nested(poll_fn(f))
}
