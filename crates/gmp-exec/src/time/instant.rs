//! [`Instant`]: a point on the current runtime's clock (tokio's
//! `time::Instant`).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::context;

/// A measurement of the current runtime's monotonic clock: the OS clock
/// (`std::time::Instant`), unless the runtime's clock is
/// [paused](super::pause) — then it stands still, and moves with
/// [`advance`](super::advance) and the auto-advance of an idle runtime.
/// Timers ([`sleep_until`](super::sleep_until), [`timeout_at`](super::timeout_at),
/// [`interval_at`](super::interval_at)) take their deadlines on this clock.
///
/// Converts to and from `std::time::Instant` ([`from_std`](Self::from_std),
/// [`into_std`](Self::into_std), `From`).
///
/// ```
/// use gmp_exec::time::{Duration, Instant};
/// let a = Instant::now();
/// let b = a + Duration::from_millis(5);
/// assert_eq!(b - a, Duration::from_millis(5));
/// assert_eq!(Instant::from_std(b.into_std()), b);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

/// The current runtime's clock reading as a std `Instant`.
#[inline]
pub(crate) fn now_std() -> std::time::Instant {
    if !crate::clock::any_touched() {
        return std::time::Instant::now();
    }
    context::try_with_current_shared(|shared| shared.clock.now())
        .unwrap_or_else(std::time::Instant::now)
}

impl Instant {
    /// The current runtime's clock reading (the OS clock's outside any
    /// runtime, or while the clock runs unpaused and unadvanced).
    pub fn now() -> Instant {
        Instant(now_std())
    }

    /// The std `Instant` with the same reading.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant(std)
    }

    /// As a std `Instant`.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time since `self` on the current runtime's clock.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).start_paused(true).build().unwrap().block_on(async {
    /// let start = gmp_exec::time::Instant::now();
    /// gmp_exec::time::advance(std::time::Duration::from_secs(3)).await;
    /// assert_eq!(start.elapsed(), std::time::Duration::from_secs(3));
    /// # });
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + d`, or `None` if that is beyond what `Instant` holds.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` if that is before what `Instant` holds.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    ///
    /// If the sum is beyond what `Instant` holds, as std's.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Zero if `earlier` is later, as std's.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
