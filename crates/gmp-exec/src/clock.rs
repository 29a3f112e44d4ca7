//! A runtime's clock: the OS's monotonic clock, unless a test paused it
//! (`time::pause`, `advance`, `resume`; tokio's test-util clock).
//!
//! Timer deadlines are `std::time::Instant`s on this clock. While it runs it
//! is the OS clock shifted by whatever it was advanced (and set back by
//! whatever passed while it was paused); while paused it stands still and
//! moves only by `advance`, or by the auto-advance of an idle runtime
//! (`Shared::poll_blocking`: with nothing to run, the clock jumps to the
//! next timer, so a test of an hour-long timeout takes milliseconds).
//!
//! A runtime that was never paused pays one relaxed load per reading.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[cfg(not(loom))]
use crate::time::saturating_add;

/// Nothing pauses a clock under loom; no need for `time`'s saturation.
#[cfg(loom)]
fn saturating_add(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or(at)
}

/// Set once any runtime has paused its clock: until then, reading the
/// current runtime's clock is reading the OS clock (`time::Instant::now`
/// needs no look-up of the current runtime).
static ANY_TOUCHED: AtomicBool = AtomicBool::new(false);

/// One runtime's clock.
pub(crate) struct Clock {
    /// Set once this clock has been paused: until then it is the OS clock.
    touched: AtomicBool,
    state: Mutex<State>,
}

struct State {
    paused: bool,
    /// The clock's reading at `base_real` (running), or its reading
    /// (paused).
    base: Instant,
    /// The OS clock's reading when `base` was taken.
    base_real: Instant,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        let now = Instant::now();
        Clock {
            touched: AtomicBool::new(false),
            state: Mutex::new(State {
                paused: false,
                base: now,
                base_real: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clock's reading.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        // Acquire: pairs with `pause`'s Release, so a thread that sees the
        // flag sees the state it guards (the lock orders the rest).
        if !self.touched.load(Ordering::Acquire) {
            return Instant::now();
        }
        self.now_slow()
    }

    #[cold]
    fn now_slow(&self) -> Instant {
        let s = self.lock();
        if s.paused {
            s.base
        } else {
            saturating_add(
                s.base,
                Instant::now().saturating_duration_since(s.base_real),
            )
        }
    }

    /// Whether the clock is paused.
    #[cfg_attr(loom, allow(dead_code))] // used by `time`, not built under loom
    pub(crate) fn is_paused(&self) -> bool {
        self.touched.load(Ordering::Acquire) && self.lock().paused
    }

    /// Stops the clock at its reading. False if it was paused already.
    pub(crate) fn pause(&self) -> bool {
        let mut s = self.lock();
        if s.paused {
            return false;
        }
        let real = Instant::now();
        let reading = if self.touched.load(Ordering::Relaxed) {
            saturating_add(s.base, real.saturating_duration_since(s.base_real))
        } else {
            real
        };
        s.base = reading;
        s.base_real = real;
        s.paused = true;
        // Release: see `now`. The flags never go back to false.
        self.touched.store(true, Ordering::Release);
        ANY_TOUCHED.store(true, Ordering::Release);
        true
    }

    /// Starts the clock again from its reading. False if it was not paused.
    #[cfg_attr(loom, allow(dead_code))] // used by `time`, not built under loom
    pub(crate) fn resume(&self) -> bool {
        let mut s = self.lock();
        if !s.paused {
            return false;
        }
        s.base_real = Instant::now();
        s.paused = false;
        true
    }

    /// Moves a paused clock on by `d`; false if it is not paused.
    #[cfg_attr(loom, allow(dead_code))] // used by `time`, not built under loom
    pub(crate) fn advance(&self, d: Duration) -> bool {
        let mut s = self.lock();
        if !s.paused {
            return false;
        }
        s.base = saturating_add(s.base, d);
        true
    }

    /// Moves a paused clock on to `to`, if that is later (the auto-advance).
    #[cfg_attr(loom, allow(dead_code))] // used by `time`, not built under loom
    pub(crate) fn advance_to(&self, to: Instant) {
        let mut s = self.lock();
        if s.paused && to > s.base {
            s.base = to;
        }
    }
}

/// True if some runtime's clock may differ from the OS clock.
#[inline]
#[cfg_attr(loom, allow(dead_code))] // used by `time`, not built under loom
pub(crate) fn any_touched() -> bool {
    // Acquire: pairs with `pause`'s Release.
    ANY_TOUCHED.load(Ordering::Acquire)
}
