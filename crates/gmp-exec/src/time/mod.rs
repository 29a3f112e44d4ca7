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
//! [`Instant`] is `std::time::Instant`.

mod interval;
mod sleep;
mod timeout;

pub use std::time::{Duration, Instant};

pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
