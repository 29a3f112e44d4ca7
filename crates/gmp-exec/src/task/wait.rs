//! What a parked G waits on, for task dumps (Go's goroutine dump says
//! `[chan receive, 2 minutes]`).
//!
//! gmp's own leaf futures (a timer, a socket, a `JoinHandle`) know what they
//! wait on. When one returns `Pending` it writes a word into the polling G's
//! header: what kind of wait, a small detail (a file descriptor, a G id, the
//! milliseconds left on a timer), and when, on the coarse monotonic clock (a
//! vDSO read of a few nanoseconds, millisecond-ish resolution). The M clears
//! the word as every poll starts, so a G that later parks on a future gmp
//! cannot see into (another crate's channel) is not reported as still waiting
//! on its old socket. One `Relaxed` store each way: the word is a hint that
//! only dumps read.
//!
//! | bits | field |
//! | --- | --- |
//! | 63..60 | kind (0: nothing known) |
//! | 59..32 | detail (28 bits, saturated) |
//! | 31..0 | when, in coarse milliseconds (wraps every 49 days) |
//!
//! # The one word a protocol reads: a coroutine's yield
//!
//! A coroutine G that yields ([`crate::coro::yield_now`]) writes
//! [`YIELD_ASKED`] instead of waking itself, and suspends. When its poll
//! returns `Pending`, the harness sees the word, writes [`YIELDED`] and puts
//! the G in its M's own mailbox *still holding `RUNNING`*: the M's reference
//! becomes the queued one without touching the state word, and the next poll
//! starts without `transition_to_running` (rule 6 of the [task essay](super)).
//! A yield round trip then costs no atomic read-modify-write at all, where a
//! wake-by-ref, a transition to idle and one back to running cost three.
//!
//! This is safe because only the holder of `RUNNING` writes the word, and a
//! yielded G has no other notified reference: a wake of a `RUNNING` task
//! queues nothing (rule 5), and only its own M, which the G is bound to, can
//! run it. The harness reads and clears the word as every poll starts, so
//! [`YIELDED`] never outlives the queued G it marks.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::current;

/// What a G waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A timer that fires in this many milliseconds (as of the wait).
    Timer(u64),
    /// Readability of this file descriptor.
    Read(u64),
    /// Writability of this file descriptor.
    Write(u64),
    /// Another G's completion (its id).
    Join(u64),
}

const TIMER: u64 = 1;
const READ: u64 = 2;
const WRITE: u64 = 3;
const JOIN: u64 = 4;
const DETAIL_MAX: u64 = (1 << 28) - 1;

/// The running coroutine G asked to yield (see the module docs).
pub(crate) const YIELD_ASKED: u64 = 14 << 60;
/// The G sits in its M's own mailbox after a yield and still holds `RUNNING`.
pub(crate) const YIELDED: u64 = 15 << 60;

/// Marks the G this thread is polling as yielding; false if it polls
/// none (the caller then wakes it instead).
#[inline]
pub(crate) fn ask_yield() -> bool {
    current::with(|h| match h {
        Some(header) => {
            header.wait.store(YIELD_ASKED, Relaxed);
            true
        }
        None => false,
    })
}

/// Milliseconds on the coarse monotonic clock.
pub(crate) fn coarse_ms() -> u32 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE
        // exists on every Linux since 2.6.32 and cannot fail with it.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        (ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000) as u32
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::sync::OnceLock;
        static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
        EPOCH
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_millis() as u32
    }
}

/// Records `wait` for the G this M is polling, if any.
#[inline]
pub(crate) fn note(wait: Wait) {
    let (kind, detail) = match wait {
        Wait::Timer(ms) => (TIMER, ms),
        Wait::Read(fd) => (READ, fd),
        Wait::Write(fd) => (WRITE, fd),
        Wait::Join(g) => (JOIN, g),
    };
    let word = kind << 60 | detail.min(DETAIL_MAX) << 32 | u64::from(coarse_ms());
    current::with(|h| {
        if let Some(header) = h {
            header.wait.store(word, Relaxed);
        }
    });
}

/// Decodes a header's wait word: what, and for how long as of `now_ms`.
pub(crate) fn decode(word: u64, now_ms: u32) -> Option<(Wait, Duration)> {
    let detail = (word >> 32) & DETAIL_MAX;
    let wait = match word >> 60 {
        TIMER => Wait::Timer(detail),
        READ => Wait::Read(detail),
        WRITE => Wait::Write(detail),
        JOIN => Wait::Join(detail),
        _ => return None,
    };
    let since = now_ms.wrapping_sub(word as u32);
    Some((wait, Duration::from_millis(u64::from(since))))
}

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Wait::Timer(ms) => write!(f, "a timer (due {ms} ms after the wait began)"),
            Wait::Read(fd) => write!(f, "read readiness of fd {fd}"),
            Wait::Write(fd) => write!(f, "write readiness of fd {fd}"),
            Wait::Join(g) => write!(f, "G {g} (join)"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_wait_word_round_trips_and_saturates() {
        let word = READ << 60 | 7 << 32 | 1_000;
        assert_eq!(
            decode(word, 1_250),
            Some((Wait::Read(7), Duration::from_millis(250)))
        );
        let big = JOIN << 60 | DETAIL_MAX << 32 | u64::from(u32::MAX);
        assert_eq!(
            decode(big, 9),
            Some((Wait::Join(DETAIL_MAX), Duration::from_millis(10)))
        );
        assert_eq!(decode(0, 5), None);
    }
}
