//! [`timeout`]: a future with a deadline.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::sleep::Timer;
use super::{now_std, Instant};

/// Runs `future` for at most `duration`: `Ok(output)` if it completes first,
/// `Err(Elapsed)` otherwise (the future is then dropped with the `Timeout`).
///
/// The future is polled before the deadline is checked, so a future that is
/// ready never fails, even with a zero duration.
///
/// ```
/// use std::time::Duration;
/// use gmp_exec::time::{sleep, timeout};
/// gmp_exec::block_on(async {
///     assert_eq!(timeout(Duration::from_millis(50), async { 7 }).await, Ok(7));
///     let slow = sleep(Duration::from_secs(10));
///     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let deadline = super::saturating_add(now_std(), duration);
    timeout_at(Instant::from_std(deadline), future)
}

/// Like [`timeout`], with a deadline.
///
/// ```
/// use gmp_exec::time::{Duration, Instant};
/// use gmp_exec::time::{sleep, timeout_at};
/// gmp_exec::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(3);
///     assert_eq!(timeout_at(deadline, async { "fast" }).await, Ok("fast"));
///     assert!(timeout_at(deadline, sleep(Duration::from_secs(10))).await.is_err());
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        timer: Timer::new(deadline.into_std()),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`] and [`timeout_at`].
    ///
    /// ```
    /// use std::time::Duration;
    /// gmp_exec::block_on(async {
    ///     let t: gmp_exec::time::Timeout<_> =
    ///         gmp_exec::time::timeout(Duration::from_millis(2), std::future::pending::<()>());
    ///     assert!(t.await.is_err());
    /// });
    /// ```
    #[must_use = "a timeout does nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        timer: Timer,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// use gmp_exec::time::{Duration, Instant};
    /// let wake_at = Instant::now() + Duration::from_millis(10);
    /// let t = gmp_exec::time::timeout(Duration::from_secs(1), gmp_exec::time::sleep_until(wake_at));
    /// assert_eq!(t.get_ref().deadline(), wake_at);
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut t = gmp_exec::time::timeout(Duration::from_secs(1), gmp_exec::time::sleep(Duration::ZERO));
    /// let inner = t.get_mut();
    /// inner.reset(inner.deadline() + Duration::from_millis(1));
    /// assert!(gmp_exec::block_on(t).is_ok());
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The wrapped future, dropping the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gmp_exec::time::timeout(Duration::ZERO, async { 8 });
    /// // Run the future without its deadline.
    /// assert_eq!(gmp_exec::block_on(t.into_inner()), 8);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The deadline.
    ///
    /// ```
    /// use gmp_exec::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_millis(30);
    /// let t = gmp_exec::time::timeout_at(at, async {});
    /// assert_eq!(t.deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.timer.deadline())
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // The deadline is checked without spending budget: a future that
        // yielded because its budget ran out must still time out.
        match this.timer.poll_elapsed(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.timer.deadline())
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first. Converts into an
/// `io::Error` of kind `TimedOut`.
///
/// ```
/// use std::time::Duration;
/// gmp_exec::block_on(async {
///     let slow = gmp_exec::time::sleep(Duration::from_secs(5));
///     let err: gmp_exec::time::Elapsed =
///         gmp_exec::time::timeout(Duration::from_millis(1), slow).await.unwrap_err();
///     let io: std::io::Error = err.into();
///     assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(e: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, e)
    }
}
