//! [`Sleep`]: one timer entry, armed in a P's heap on first poll.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{now_std, Instant};

use gmp_netpoll::TimerEntry;

use crate::context;
use crate::coop;
use crate::sched::worker::Worker;
use crate::sched::Shared;

/// Waits until `duration` has elapsed (Go's `time.Sleep`, tokio's
/// `time::sleep`).
///
/// Deadlines too far in the future to represent (beyond about 584 years)
/// are clamped.
///
/// ```
/// use gmp_exec::time::{Duration, Instant};
/// gmp_exec::block_on(async {
///     let start = Instant::now();
///     gmp_exec::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[must_use = "a sleep does nothing unless awaited"]
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = super::saturating_add(now_std(), duration);
    sleep_until(Instant::from_std(deadline))
}

/// Waits until `deadline`.
///
/// ```
/// use gmp_exec::time::{Duration, Instant};
/// gmp_exec::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     gmp_exec::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
#[must_use = "a sleep does nothing unless awaited"]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        timer: Timer::new(deadline.into_std()),
    }
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it before it fires
/// removes its entry from the timer heap at once.
///
/// `Sleep` is `Unpin`; [`reset`](Sleep::reset) moves its deadline without a new
/// allocation, as tokio's does.
///
/// ```
/// use std::time::Duration;
/// gmp_exec::block_on(async {
///     let sleep: gmp_exec::time::Sleep = gmp_exec::time::sleep(Duration::from_millis(2));
///     let deadline = sleep.deadline();
///     sleep.await;
///     assert!(gmp_exec::time::Instant::now() >= deadline);
/// });
/// ```
pub struct Sleep {
    timer: Timer,
}

impl Sleep {
    /// When the sleep ends.
    ///
    /// ```
    /// use gmp_exec::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_millis(20);
    /// let sleep = gmp_exec::time::sleep_until(at);
    /// assert_eq!(sleep.deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.timer.deadline)
    }

    /// Whether the sleep has completed: its timer fired, or its deadline had
    /// passed when it was last polled.
    ///
    /// ```
    /// use std::time::Duration;
    /// gmp_exec::block_on(async {
    ///     let mut sleep = gmp_exec::time::sleep(Duration::from_millis(1));
    ///     assert!(!sleep.is_elapsed());
    ///     (&mut sleep).await;
    ///     assert!(sleep.is_elapsed());
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.timer.is_elapsed()
    }

    /// Moves the deadline; a sleep that had completed waits again. Takes
    /// `&mut self` (a `Sleep` is `Unpin`), so both `sleep.reset(d)` and
    /// tokio's `sleep.as_mut().reset(d)` work.
    ///
    /// ```
    /// use gmp_exec::time::{Duration, Instant};
    /// gmp_exec::block_on(async {
    ///     let mut sleep = gmp_exec::time::sleep(Duration::from_secs(60));
    ///     let sooner = Instant::now() + Duration::from_millis(2);
    ///     sleep.reset(sooner);
    ///     assert_eq!(sleep.deadline(), sooner);
    ///     sleep.await; // returns after 2 ms, not a minute
    ///     assert!(Instant::now() >= sooner);
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.timer.reset(deadline.into_std());
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let timer = &mut self.get_mut().timer;
        if timer.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        // A leaf future: a ready sleep spends budget, so a loop of zero-length
        // sleeps still lets the P's other Gs run.
        coop::poll_proceed(cx)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.timer.deadline)
            .field("elapsed", &self.timer.is_elapsed())
            .finish()
    }
}

/// A deadline and, once armed, its entry in a runtime's timers. The part of
/// [`Sleep`] that [`Interval`](super::Interval) and
/// [`Timeout`](super::Timeout) reuse.
pub(crate) struct Timer {
    deadline: std::time::Instant,
    armed: Option<Armed>,
    /// The deadline had passed when it was polled (no entry was needed).
    passed: bool,
}

struct Armed {
    shared: Arc<Shared>,
    entry: Arc<TimerEntry>,
}

thread_local! {
    /// Spreads timers armed outside the runtime's Ms over the shards.
    static NEXT_SHARD: Cell<usize> = const { Cell::new(0) };
}

/// The shard a timer of `shared` armed from this thread goes to: this M's P,
/// or a rotating one from elsewhere.
fn shard_for(shared: &Arc<Shared>) -> usize {
    let own = Worker::with_current(|w| match w {
        Some(w) if w.is_for(shared) => w.current_p(),
        _ => None,
    });
    own.unwrap_or_else(|| {
        NEXT_SHARD.with(|n| {
            let s = n.get();
            n.set(s.wrapping_add(1));
            s % shared.procs()
        })
    })
}

impl Timer {
    pub(crate) fn new(deadline: std::time::Instant) -> Timer {
        Timer {
            deadline,
            armed: None,
            passed: false,
        }
    }

    pub(crate) fn deadline(&self) -> std::time::Instant {
        self.deadline
    }

    pub(crate) fn is_elapsed(&self) -> bool {
        match &self.armed {
            Some(armed) => armed.entry.is_fired(),
            None => self.passed,
        }
    }

    /// `Ready` once the deadline has been reached; arms the entry on the first
    /// `Pending`. Spends no budget.
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(armed) = &self.armed {
            if armed.entry.poll_fired(cx).is_ready() {
                return Poll::Ready(());
            }
            if armed.shared.is_shutdown() {
                panic!(
                    "a gmp timer was polled after its runtime shut down: no M is left to \
                     fire it"
                );
            }
            self.note_wait();
            return Poll::Pending;
        }
        if self.passed {
            return Poll::Ready(());
        }
        if self.deadline <= now_std() {
            self.passed = true;
            return Poll::Ready(());
        }
        let armed = context::with_current_shared(|shared| Armed {
            shared: shared.clone(),
            entry: TimerEntry::new(),
        });
        arm(&armed, self.deadline);
        // Records the waker, then re-reads: an M that fires the entry right
        // after `arm` either sees the waker or is seen here.
        let poll = armed.entry.poll_fired(cx);
        self.armed = Some(armed);
        if poll.is_pending() {
            self.note_wait();
        }
        poll
    }

    /// Tells a task dump that the G waits on this timer.
    fn note_wait(&self) {
        let left = self.deadline.saturating_duration_since(now_std());
        crate::task::wait::note(crate::task::wait::Wait::Timer(left.as_millis() as u64));
    }

    /// Moves the deadline (and the entry, if armed, to this thread's shard).
    pub(crate) fn reset(&mut self, deadline: std::time::Instant) {
        self.deadline = deadline;
        self.passed = false;
        if let Some(armed) = &self.armed {
            arm(armed, deadline);
        }
    }
}

/// Puts `armed`'s entry in the heap at `deadline`, moving it if it is in one,
/// and makes sure an M will wake for it (Go's `wakeNetPoller`).
fn arm(armed: &Armed, deadline: std::time::Instant) {
    let shared = &armed.shared;
    let shard = shard_for(shared);
    if shared.netpoll.timers.insert(shard, &armed.entry, deadline) {
        shared.timer_armed(deadline);
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(armed) = &self.armed {
            // Removes it from its heap now, from whichever thread drops it.
            armed.shared.netpoll.timers.cancel(&armed.entry);
        }
    }
}
