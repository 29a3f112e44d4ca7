//! [`Interval`]: a ticker (Go's `time.Ticker`, tokio's `Interval`).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::saturating_add;
use super::sleep::Timer;
use super::{now_std, Instant};
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
///
/// ```
/// use gmp_exec::time::{Duration, Instant};
/// gmp_exec::block_on(async {
///     let start = Instant::now() + Duration::from_millis(3);
///     let mut ticker = gmp_exec::time::interval_at(start, Duration::from_millis(2));
///     assert_eq!(ticker.tick().await, start);
///     assert_eq!(ticker.tick().await, start + Duration::from_millis(2));
///     assert!(Instant::now() >= start + Duration::from_millis(2));
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "gmp_exec::time::interval: the period must be greater than zero"
    );
    Interval {
        timer: Timer::new(start.into_std()),
        period,
        missed: MissedTickBehavior::Burst,
    }
}

/// What an [`Interval`] does when ticks were missed (the task was busy past
/// one or more deadlines).
///
/// ```
/// use gmp_exec::time::{interval, MissedTickBehavior};
/// use gmp_exec::time::{Duration, Instant};
/// gmp_exec::block_on(async {
///     let mut ticker = interval(Duration::from_millis(2));
///     ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
///     ticker.tick().await;
///     gmp_exec::time::sleep(Duration::from_millis(5)).await; // miss two ticks
///     let late = ticker.tick().await; // the late tick fires at once...
///     let next = ticker.tick().await; // ...and the next is a period after it
///     assert!(next.duration_since(late) >= Duration::from_millis(2));
///     assert!(Instant::now() >= next);
/// });
/// ```
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
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// gmp_exec::block_on(async {
///     let ticker: gmp_exec::time::Interval = gmp_exec::time::interval(Duration::from_millis(1));
///     // An interval is also a stream of tick instants.
///     let ticks: Vec<_> = ticker.take(3).collect().await;
///     assert!(ticks[0] < ticks[1] && ticks[1] < ticks[2]);
/// });
/// ```
pub struct Interval {
    timer: Timer,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick; returns when it was scheduled.
    ///
    /// ```
    /// use gmp_exec::time::{Duration, Instant};
    /// gmp_exec::block_on(async {
    ///     let start = Instant::now();
    ///     let mut ticker = gmp_exec::time::interval(Duration::from_millis(2));
    ///     for _ in 0..3 {
    ///         ticker.tick().await; // at 0, 2 and 4 ms
    ///     }
    ///     assert!(start.elapsed() >= Duration::from_millis(4));
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready` with when it was scheduled.
    ///
    /// ```
    /// use std::time::Duration;
    /// gmp_exec::block_on(async {
    ///     let mut ticker = gmp_exec::time::interval(Duration::from_millis(2));
    ///     let first = std::future::poll_fn(|cx| ticker.poll_tick(cx)).await;
    ///     let second = std::future::poll_fn(|cx| ticker.poll_tick(cx)).await;
    ///     assert_eq!(second - first, Duration::from_millis(2));
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.timer.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.timer.deadline();
        let next = self.next_after(scheduled, now_std());
        self.timer.reset(next);
        Poll::Ready(Instant::from_std(scheduled))
    }

    fn next_after(
        &self,
        scheduled: std::time::Instant,
        now: std::time::Instant,
    ) -> std::time::Instant {
        // Saturating: a period of `Duration::MAX` means a first tick, then
        // none (the timer's deadline is then beyond any wait).
        let on_time = saturating_add(scheduled, self.period);
        if on_time > now {
            return on_time;
        }
        match self.missed {
            MissedTickBehavior::Burst => on_time,
            MissedTickBehavior::Delay => saturating_add(now, self.period),
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(scheduled).as_nanos();
                let period = self.period.as_nanos();
                let periods = behind / period + 1;
                let ahead = u64::try_from(periods * period).unwrap_or(u64::MAX);
                saturating_add(scheduled, Duration::from_nanos(ahead))
            }
        }
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// use gmp_exec::time::{Duration, Instant};
    /// gmp_exec::block_on(async {
    ///     let mut ticker = gmp_exec::time::interval(Duration::from_millis(3));
    ///     ticker.tick().await;
    ///     gmp_exec::time::sleep(Duration::from_millis(2)).await;
    ///     let reset_at = Instant::now();
    ///     ticker.reset(); // the next tick is now 3 ms from here, not 1 ms
    ///     let next = ticker.tick().await;
    ///     assert!(next >= reset_at + Duration::from_millis(3));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.timer.reset(saturating_add(now_std(), self.period));
    }

    /// The period.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = gmp_exec::time::interval(Duration::from_millis(250));
    /// assert_eq!(ticker.period(), Duration::from_millis(250));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    ///
    /// ```
    /// use gmp_exec::time::MissedTickBehavior;
    /// let ticker = gmp_exec::time::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(ticker.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens to missed ticks.
    ///
    /// ```
    /// use gmp_exec::time::MissedTickBehavior;
    /// use gmp_exec::time::{Duration, Instant};
    /// gmp_exec::block_on(async {
    ///     let start = Instant::now();
    ///     let mut ticker = gmp_exec::time::interval_at(start, Duration::from_millis(2));
    ///     ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ///     assert_eq!(ticker.missed_tick_behavior(), MissedTickBehavior::Skip);
    ///     ticker.tick().await; // at `start`
    ///     gmp_exec::time::sleep(Duration::from_millis(5)).await; // miss the 2 and 4 ms ticks
    ///     let late = ticker.tick().await; // the 2 ms tick fires late
    ///     let next = ticker.tick().await; // the 4 ms tick is skipped
    ///     assert_eq!(late, start + Duration::from_millis(2));
    ///     assert!(next >= start + Duration::from_millis(6));
    ///     assert_eq!((next - start).as_nanos() % 2_000_000, 0);
    /// });
    /// ```
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
