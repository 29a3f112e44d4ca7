//! [`AsyncFd`]: readiness for any file descriptor, on the netpoller the
//! sockets use.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::ops::BitOr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{ready, Context, Poll};

use gmp_netpoll::{Direction, Ready};

use crate::context;
use crate::net::evented::Evented;

/// Which readiness an [`AsyncFd`] is for (tokio's `io::Interest`).
///
/// ```
/// use gmp_exec::io::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable: data to read, a peer's close, an error.
    pub const READABLE: Interest = Interest(0b01);
    /// Writable: room to write, an error.
    pub const WRITABLE: Interest = Interest(0b10);

    /// Includes readable.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Includes writable.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }

    /// Both interests.
    ///
    /// ```
    /// use gmp_exec::io::Interest;
    /// assert_eq!(Interest::READABLE.add(Interest::WRITABLE), Interest::READABLE | Interest::WRITABLE);
    /// ```
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// `T`'s descriptor as an `AsFd`, for the registration.
struct Source<T: AsRawFd>(T);

impl<T: AsRawFd> AsFd for Source<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `AsyncFd`'s contract: `T` keeps its descriptor open for as
        // long as it lives, and the borrow ends before `self` (and so `T`)
        // goes.
        unsafe { BorrowedFd::borrow_raw(self.0.as_raw_fd()) }
    }
}

/// A file descriptor registered with the netpoller of the runtime it was
/// created in, so tasks can wait for it to turn readable or writable —
/// pipes, terminals, inotify or eventfd descriptors, sockets made by other
/// crates (tokio's `AsyncFd`). gmp's own sockets are built on the same
/// registration.
///
/// The descriptor should be in nonblocking mode: readiness is a hint (it can
/// be stale), and an operation run on a readiness guard must return
/// `WouldBlock` rather than block its M. `T` must keep the descriptor open
/// for as long as it lives (an `OwnedFd`, a `File`, a std socket do); it is
/// deregistered before `T` is dropped.
///
/// Readiness is edge-triggered and kept until cleared: after
/// [`readable`](Self::readable) returns a guard, the descriptor counts as
/// readable until the guard's [`clear_ready`](AsyncFdReadyGuard::clear_ready)
/// (or [`try_io`](AsyncFdReadyGuard::try_io) on a `WouldBlock`) says
/// otherwise; an event that arrives in between is not lost.
///
/// One task at a time may wait per direction. A descriptor registered twice
/// with one runtime (two `AsyncFd`s, or an `AsyncFd` and a gmp socket) is an
/// `AlreadyExists` error.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use gmp_exec::io::AsyncFd;
///
/// gmp_exec::block_on(async {
///     let (a, mut b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let a = AsyncFd::new(a)?;
///     b.write_all(b"ping")?;
///     let mut buf = [0; 4];
///     let n = loop {
///         let mut guard = a.readable().await?;
///         match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///             Ok(result) => break result?,
///             Err(_would_block) => continue, // readiness cleared: wait again
///         }
///     };
///     assert_eq!(&buf[..n], b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    io: Evented<Source<T>>,
    interest: Interest,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for both directions with the current runtime (this
    /// M's, the entered one, or the default).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let fd = gmp_exec::io::AsyncFd::new(a)?;
    /// fd.writable().await?.retain_ready();
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner` for the given interest (waiting for the other one
    /// is an `InvalidInput` error).
    ///
    /// ```
    /// use gmp_exec::io::{AsyncFd, Interest};
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let fd = AsyncFd::with_interest(a, Interest::WRITABLE)?;
    /// assert_eq!(fd.readable().await.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_with_interest(inner, interest).map_err(AsyncFdTryNewError::into_error)
    }

    /// Like [`new`](Self::new), but gives `inner` back with the error.
    ///
    /// ```
    /// use gmp_exec::io::AsyncFd;
    /// # gmp_exec::block_on(async {
    /// use std::os::fd::AsRawFd;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// // A bare descriptor number is an `AsRawFd` too (`a` keeps it open).
    /// let first = AsyncFd::new(a.as_raw_fd())?;
    /// // The same descriptor again: refused, and the value comes back.
    /// let (raw, err) = AsyncFd::try_new(*first.get_ref()).unwrap_err().into_parts();
    /// assert_eq!(raw, *first.get_ref());
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        AsyncFd::try_with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Like [`with_interest`](Self::with_interest), but gives `inner` back
    /// with the error.
    ///
    /// ```
    /// use gmp_exec::io::{AsyncFd, Interest};
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let fd = AsyncFd::try_with_interest(a, Interest::READABLE).unwrap();
    /// assert_eq!(fd.interest(), Interest::READABLE);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        context::with_current_shared(
            |shared| match Evented::try_register(shared, Source(inner)) {
                Ok(io) => Ok(AsyncFd { io, interest }),
                Err((Source(inner), error)) => Err(AsyncFdTryNewError { inner, error }),
            },
        )
    }

    /// The interest it was registered with.
    pub fn interest(&self) -> Interest {
        self.interest
    }

    /// The wrapped value.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let addr = a.local_addr()?;
    /// let fd = gmp_exec::io::AsyncFd::new(a)?;
    /// assert_eq!(fd.get_ref().local_addr()?.as_pathname(), addr.as_pathname());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.io.get_ref().0
    }

    /// The wrapped value, mutably. Do not close or replace its descriptor
    /// through it: it stays registered.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut fd = gmp_exec::io::AsyncFd::new(a)?;
    /// fd.get_mut().set_nonblocking(true)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io.get_mut().0
    }

    /// Deregisters the descriptor and gives the value back.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let fd = gmp_exec::io::AsyncFd::new(a)?;
    /// let a = fd.into_inner();
    /// // Deregistered: it can be registered again.
    /// let _again = gmp_exec::io::AsyncFd::new(a)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_inner(self) -> T {
        self.io.into_inner().0
    }

    fn check(&self, dir: Direction) -> io::Result<()> {
        let (ok, what) = match dir {
            Direction::Read => (self.interest.is_readable(), "READABLE"),
            Direction::Write => (self.interest.is_writable(), "WRITABLE"),
        };
        if ok {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "this AsyncFd was registered with Interest::{:?}, not {what}",
                    self.interest
                ),
            ))
        }
    }

    fn poll_dir(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        self.check(dir)?;
        self.io.poll_ready(dir, cx)
    }

    /// Polls for read readiness: a guard once the descriptor is readable,
    /// else `Pending` with the task's waker recorded.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ready = ready!(self.poll_dir(Direction::Read, cx))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            ready: Some(ready),
        }))
    }

    /// Polls for write readiness (see [`poll_read_ready`](Self::poll_read_ready)).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ready = ready!(self.poll_dir(Direction::Write, cx))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            ready: Some(ready),
        }))
    }

    /// [`poll_read_ready`](Self::poll_read_ready) with a guard that lends
    /// the value mutably.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let ready = ready!(self.poll_dir(Direction::Read, cx))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            fd: self,
            ready: Some(ready),
        }))
    }

    /// [`poll_write_ready`](Self::poll_write_ready) with a guard that lends
    /// the value mutably.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let ready = ready!(self.poll_dir(Direction::Write, cx))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            fd: self,
            ready: Some(ready),
        }))
    }

    /// Waits until the descriptor is readable. From a coroutine G, use
    /// `coro::wait(fd.readable())`.
    ///
    /// ```
    /// use std::io::Write;
    /// # gmp_exec::block_on(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let fd = gmp_exec::io::AsyncFd::new(a)?;
    /// b.write_all(b"x")?;
    /// let guard = fd.readable().await?;
    /// assert!(guard.ready().is_readable());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the descriptor is writable.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let fd = gmp_exec::io::AsyncFd::new(a)?;
    /// let guard = fd.writable().await?;
    /// assert!(guard.ready().is_writable());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// [`readable`](Self::readable), with a guard that lends the value
    /// mutably.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # gmp_exec::block_on(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let mut fd = gmp_exec::io::AsyncFd::new(a)?;
    /// b.write_all(b"hi")?;
    /// let mut buf = [0; 2];
    /// let mut guard = fd.readable_mut().await?;
    /// let n = guard.try_io(|fd| fd.get_mut().read(&mut buf)).unwrap()?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.check(Direction::Read)?;
        let ready = poll_fn(|cx| self.io.poll_ready(Direction::Read, cx)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            ready: Some(ready),
        })
    }

    /// [`writable`](Self::writable), with a guard that lends the value
    /// mutably.
    ///
    /// ```
    /// use std::io::Write;
    /// # gmp_exec::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let mut fd = gmp_exec::io::AsyncFd::new(a)?;
    /// let mut guard = fd.writable_mut().await?;
    /// assert_eq!(guard.try_io(|fd| fd.get_mut().write(b"ok")).unwrap()?, 2);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.check(Direction::Write)?;
        let ready = poll_fn(|cx| self.io.poll_ready(Direction::Write, cx)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            ready: Some(ready),
        })
    }

    /// Runs the nonblocking `f` once `interest`'s direction is ready, and
    /// again after each `WouldBlock` (clearing the readiness and waiting for
    /// the next event); returns its first other result (tokio's
    /// `async_io`). `interest` must be one direction.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use gmp_exec::io::{AsyncFd, Interest};
    /// # gmp_exec::block_on(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let fd = AsyncFd::new(a)?;
    /// let reader = gmp_exec::spawn(async move {
    ///     let mut buf = [0; 3];
    ///     let n = fd.async_io(Interest::READABLE, |a| (&*a).read(&mut buf)).await?;
    ///     std::io::Result::Ok(buf[..n].to_vec())
    /// });
    /// b.write_all(b"abc")?;
    /// assert_eq!(reader.await??, b"abc");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let dir = match (interest.is_readable(), interest.is_writable()) {
            (true, false) => Direction::Read,
            (false, true) => Direction::Write,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "AsyncFd::async_io takes one direction: READABLE or WRITABLE",
                ))
            }
        };
        self.check(dir)?;
        poll_fn(|cx| self.io.poll_io(dir, cx, |s| f(&s.0))).await
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", self.get_ref())
            .field("interest", &self.interest)
            .finish()
    }
}

/// Readiness of an [`AsyncFd`] in one direction, as seen by
/// [`readable`](AsyncFd::readable) or [`writable`](AsyncFd::writable).
/// Dropping it keeps the readiness; clear it once an operation returns
/// `WouldBlock`, or let [`try_io`](Self::try_io) do so.
#[must_use = "a readiness guard does nothing unless the operation is tried"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    ready: Option<Ready>,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// What the poller reported (readable, writable, hang-up, error...).
    pub fn ready(&self) -> Ready {
        self.ready.expect("the readiness is kept until cleared")
    }

    /// Marks the direction not ready: the next wait waits for a new event
    /// (unless one arrived since this guard was made).
    pub fn clear_ready(&mut self) {
        if let Some(ready) = self.ready.take() {
            self.fd.io.registration().clear(ready);
        }
    }

    /// Keeps the readiness (what dropping the guard does).
    pub fn retain_ready(&mut self) {}

    /// Runs the nonblocking `f`; if it returns `WouldBlock`, clears the
    /// readiness and returns `Err(TryIoError)`: wait again.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", &self.fd.as_raw_fd())
            .field("ready", &self.ready)
            .finish()
    }
}

/// [`AsyncFdReadyGuard`] that lends the value mutably, from
/// [`readable_mut`](AsyncFd::readable_mut) or [`writable_mut`](AsyncFd::writable_mut).
#[must_use = "a readiness guard does nothing unless the operation is tried"]
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    fd: &'a mut AsyncFd<T>,
    ready: Option<Ready>,
}

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    /// What the poller reported.
    pub fn ready(&self) -> Ready {
        self.ready.expect("the readiness is kept until cleared")
    }

    /// See [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        if let Some(ready) = self.ready.take() {
            self.fd.io.registration().clear(ready);
        }
    }

    /// Keeps the readiness (what dropping the guard does).
    pub fn retain_ready(&mut self) {}

    /// See [`AsyncFdReadyGuard::try_io`].
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd`, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The wrapped value, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

impl<T: AsRawFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("fd", &self.fd.as_raw_fd())
            .field("ready", &self.ready)
            .finish()
    }
}

/// The operation in a guard's `try_io` returned `WouldBlock`; the readiness
/// was cleared, so wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block; the readiness was cleared")
    }
}

impl std::error::Error for TryIoError {}

/// [`AsyncFd::try_new`] failed: the error, and the value back.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    error: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The value and the error.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.error)
    }

    fn into_error(self) -> io::Error {
        self.error
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdTryNewError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T> std::error::Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(e: AsyncFdTryNewError<T>) -> io::Error {
        e.error
    }
}
