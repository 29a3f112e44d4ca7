//! [`Interval`]: a ticker (Go's `time.Ticker`, tokio's `Interval`).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::Timer;
use crate::coop;

/// A ticker whose first tick completes at once, then every `period`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// gmp_exec::block_on(async {
///     let mut ticker = gmp_exec::time::interval(Duration::from_millis(2));
///     let first = ticker.tick().await;
///     let second = ticker.tick().await;
///     assert!(second - first >= Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// A ticker whose first tick completes at `start`, then every `period`.
///
/// # Panics
///
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "gmp_exec::time::interval: the period must be greater than zero"
    );
    Interval {
        timer: Timer::new(start),
        period,
        missed: MissedTickBehavior::Burst,
    }
}

/// What an [`Interval`] does when ticks were missed (the task was busy past
/// one or more deadlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one after another, then go on on the
    /// original schedule (tokio's default).
    #[default]
    Burst,
    /// Start the schedule again from now: the next tick is `period` after the
    /// late one.
    Delay,
    /// Skip the missed ticks: the next tick is the next one on the original
    /// schedule that is still ahead (Go's `Ticker` drops ticks this way).
    Skip,
}

/// A ticker. See [`interval`].
pub struct Interval {
    timer: Timer,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick; returns when it was scheduled.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready` with when it was scheduled.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.timer.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.timer.deadline();
        let now = Instant::now();
        let next = self.next_after(scheduled, now);
        self.timer.reset(next);
        Poll::Ready(scheduled)
    }

    fn next_after(&self, scheduled: Instant, now: Instant) -> Instant {
        let on_time = scheduled + self.period;
        if on_time > now {
            return on_time;
        }
        match self.missed {
            MissedTickBehavior::Burst => on_time,
            MissedTickBehavior::Delay => now + self.period,
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(scheduled).as_nanos();
                let period = self.period.as_nanos();
                let periods = behind / period + 1;
                let ahead = u64::try_from(periods * period).unwrap_or(u64::MAX);
                scheduled + Duration::from_nanos(ahead)
            }
        }
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.timer.reset(Instant::now() + self.period);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.timer.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed)
            .finish()
    }
}
