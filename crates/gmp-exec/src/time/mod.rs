//! Time: [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! A sleep is an entry in one P's timer heap (Go's per-P timers since 1.14,
//! gmp-netpoll's `Timers`): it is armed in the heap of the P whose M first
//! polls it (any P's, from outside the runtime), fires when that P's M runs its
//! due timers at the top of a scheduling round, or when the M blocked in the
//! network poller reaches the earliest deadline of all Ps, and is removed from
//! its heap at once when dropped. Deadlines are kept to the nanosecond, and
//! the poller's timeout uses a timerfd, so a sleep is late by what the
//! kernel's wake-up costs, not by a clock tick (tokio's wheel has 1 ms slots).
//!
//! A sleep belongs to the runtime that first polls it: the M's, the entered
//! one, or else the default runtime, so a `Sleep` works under any executor.
//! Creating one costs nothing; the first `Pending` poll allocates its entry.
//!
//! Timers are leaf futures for cooperative scheduling: a ready sleep spends
//! one unit of its G's budget (see [`consume_budget`](crate::task::consume_budget)).
//!
//! [`Instant`] reads the current runtime's clock, which tests can stop:
//! [`pause`], [`advance`], [`resume`] (tokio's test-util clock; see
//! `clock.rs`). Unpaused, it is `std::time::Instant`'s reading.

mod instant;
mod interval;
mod pause;
mod sleep;
mod timeout;

pub use std::time::Duration;

pub(crate) use instant::now_std;
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use pause::{advance, pause, resume};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

/// `at + d`, saturating: where the sum overflows `Instant` (a `d` such as
/// `Duration::MAX`, which every duration setting means as "forever"), the
/// latest instant this platform can represent on the way to it, hundreds of
/// billions of years away on Linux. Every `Instant + Duration` in this crate
/// whose duration a user can choose goes through here (or `checked_add` where
/// "no deadline" is the better answer), so none can panic.
pub(crate) fn saturating_add(at: std::time::Instant, d: Duration) -> std::time::Instant {
    if let Some(t) = at.checked_add(d) {
        return t;
    }
    // Grow by halving steps: each step is kept if it fits, so this ends within
    // a step of the limit after about a hundred tries.
    let (mut t, mut step) = (at, d / 2);
    while !step.is_zero() {
        match t.checked_add(step) {
            Some(later) => t = later,
            None => step /= 2,
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn saturating_add_adds_and_saturates_without_panicking() {
        let now = Instant::now();
        assert_eq!(
            saturating_add(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        let far = saturating_add(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(1 << 40), "{:?}", far - now);
        // Nothing later fits, to the nanosecond.
        assert!(far.checked_add(Duration::from_secs(1)).is_none());
        assert_eq!(saturating_add(far, Duration::MAX), far);
    }
}
