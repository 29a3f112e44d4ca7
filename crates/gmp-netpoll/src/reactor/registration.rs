//! A registered source and the RAII [`Registration`] that owns its place in the
//! OS poller.
//!
//! The readiness protocol itself (the word, the wakers, the rules that keep a
//! racing event from being lost) is in `readiness.rs`; this module adds the OS
//! side: the descriptor and key, oneshot re-arming, and deregistration.
//!
//! # Dropping
//!
//! A dropped [`Registration`] first leaves the key table (under its lock, so no
//! poll dispatches to it afterwards), then ends its waits without waking anyone
//! (readiness rule 4 accounting), then leaves the OS poller. Its wakers are
//! dropped with the source, outside every lock.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::raw::{self, RawSource};
use super::{sys, Reactor};
use crate::readiness::{Direction, Readiness, Ready};
use crate::sync::{lock, Mutex};

/// What the reactor knows about one registered source (Go's `pollDesc`).
pub(crate) struct Source {
    /// The registered descriptor, open for as long as the `Registration` lives
    /// (the contract of [`Reactor::register`]).
    pub(crate) fd: RawSource,
    /// The key the OS reports with the source's events.
    pub(crate) key: usize,
    /// The readiness word and wakers.
    pub(crate) readiness: Readiness,
    /// Serialises re-arming in oneshot mode, so the interest the OS holds is
    /// always computed from a word at least as new as the last change.
    rearm: Mutex<()>,
}

impl Source {
    pub(crate) fn new(fd: RawSource, key: usize) -> Source {
        Source {
            fd,
            key,
            readiness: Readiness::new(),
            rearm: Mutex::new(()),
        }
    }

    /// Oneshot mode: points the OS interest at the directions that have a task
    /// waiting and are not ready, or leaves the source disarmed if none has.
    /// Called while the `Registration` lives (by its task, or by the polling
    /// thread under the key table's lock).
    pub(crate) fn rearm(&self, reactor: &Reactor) -> io::Result<()> {
        let _serial = lock(&self.rearm);
        let (read, write) = self.readiness.interest();
        if !read && !write {
            return Ok(());
        }
        // SAFETY: the `Registration` is alive (see the calling contexts above),
        // so by `Reactor::register`'s contract the descriptor is still open.
        let fd = unsafe { raw::borrow_raw(self.fd) };
        reactor.poller.rearm(fd, self.key, read, write)
    }
}

/// A source registered with a [`Reactor`]; deregisters it when dropped.
///
/// Get one from [`Reactor::register`], keep it beside the socket it registers
/// (declared *before* it, so it drops first), and drive I/O with
/// [`poll_io`](Registration::poll_io). Split halves of a stream can share one
/// through an `Arc`: one task may wait per direction.
///
/// ```
/// fn shared<T: Send + Sync>() {}
/// shared::<gmp_netpoll::Registration>();
/// ```
pub struct Registration {
    pub(crate) reactor: Arc<Reactor>,
    pub(crate) source: Arc<Source>,
}

impl Registration {
    /// `Ready` with a token for [`clear`](Registration::clear) if `dir` is ready;
    /// otherwise records the task's waker for `dir` (replacing the one recorded
    /// before) and returns `Pending`. An event between the check and the record
    /// is not lost: either this sees it and returns `Ready`, or the poll that
    /// applies it moves the waker out.
    ///
    /// `Err` only if re-arming the source failed (platforms without
    /// edge-triggered polling).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// let mut cx = Context::from_waker(Waker::noop());
    /// // Not ready before the first poll: the waker is recorded.
    /// assert!(reg.poll_ready(Direction::Write, &mut cx).is_pending());
    /// reactor.poll(Some(Duration::from_secs(5)), &mut Vec::new())?;
    /// match reg.poll_ready(Direction::Write, &mut cx) {
    ///     Poll::Ready(ready) => assert!(ready?.is_writable()),
    ///     Poll::Pending => panic!("a new UDP socket is writable"),
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        let src = &*self.source;
        let waiters = &self.reactor.waiters;
        match src.readiness.poll_ready(dir, cx.waker(), waiters) {
            Poll::Ready(ready) => Poll::Ready(Ok(ready)),
            Poll::Pending if self.reactor.edge => Poll::Pending,
            Poll::Pending => match src.rearm(&self.reactor) {
                Ok(()) => Poll::Pending,
                Err(e) => {
                    src.readiness.withdraw_wait(dir, waiters);
                    Poll::Ready(Err(e))
                }
            },
        }
    }

    /// A token for [`clear`](Registration::clear) if `dir` is ready right now,
    /// without waiting: nothing is recorded, so a task waiting on `dir` keeps
    /// its place. The helper behind `try_read`-style operations, which have no
    /// task to wake: they attempt the operation and, on `WouldBlock`, clear
    /// with this token so the next wait really waits.
    ///
    /// ```
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// assert!(reg.try_ready(Direction::Write).is_none()); // no event yet
    /// reactor.poll(Some(Duration::from_secs(5)), &mut Vec::new())?;
    /// assert!(reg.try_ready(Direction::Write).is_some());
    /// assert!(reg.try_ready(Direction::Read).is_none()); // nothing to read
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_ready(&self, dir: Direction) -> Option<Ready> {
        self.source.readiness.peek(dir)
    }

    /// Clears `ready`'s direction after an operation returned `WouldBlock`,
    /// unless an event arrived since `ready` was observed (its tick moved on):
    /// then the direction stays ready and the next `poll_ready` retries at once.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// # let wait = |dir: Direction| -> std::io::Result<gmp_netpoll::Ready> {
    /// #     for _ in 0..500 {
    /// #         if let Some(ready) = reg.try_ready(dir) {
    /// #             return Ok(ready);
    /// #         }
    /// #         reactor.poll(Some(Duration::from_millis(10)), &mut Vec::new())?;
    /// #     }
    /// #     Err(std::io::ErrorKind::TimedOut.into())
    /// # };
    /// socket.send_to(b"x", socket.local_addr()?)?;
    /// let ready = wait(Direction::Read)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(socket.recv(&mut buf)?, 1);
    /// assert_eq!(socket.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// reg.clear(ready); // the next wait really waits
    /// assert!(reg.try_ready(Direction::Read).is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear(&self, ready: Ready) {
        self.source.readiness.clear(ready);
    }

    /// Clears `ready`'s direction after an operation that *succeeded* but
    /// used the source up, so the next one waits for an event instead of
    /// making a system call sure to return `WouldBlock` (tokio's rule): a
    /// write shorter than its buffer filled the send queue; a TCP read
    /// shorter than its buffer emptied the receive queue. Like
    /// [`clear`](Registration::clear), it leaves the readiness alone if an
    /// event arrived since `ready` was observed.
    ///
    /// It also leaves it alone when the token shows a condition the OS
    /// reports once and the next operation must see: a hang-up, an error, a
    /// read side closed (the next read is end of file), urgent data (the read
    /// stopped at the urgent mark, with data behind it). And it never clears
    /// reading where the backend cannot tell a peer's close from readability
    /// (the `polling` backend): there a short read may have been the last
    /// data before an end of file already reported.
    ///
    /// Sound only where a short success does prove the queue used up: not
    /// for a Unix stream read, which stops short at a message carrying
    /// descriptors or other credentials, nor for datagrams.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::net::{TcpListener, TcpStream};
    /// # use std::{os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut server, _) = listener.accept()?;
    /// # server.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `server`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(server.as_fd())? };
    /// # let wait = |dir: Direction| -> std::io::Result<gmp_netpoll::Ready> {
    /// #     for _ in 0..500 {
    /// #         if let Some(ready) = reg.try_ready(dir) {
    /// #             return Ok(ready);
    /// #         }
    /// #         reactor.poll(Some(Duration::from_millis(10)), &mut Vec::new())?;
    /// #     }
    /// #     Err(std::io::ErrorKind::TimedOut.into())
    /// # };
    /// client.write_all(b"hello")?;
    /// let ready = wait(Direction::Read)?;
    /// let mut buf = [0; 64];
    /// assert_eq!(server.read(&mut buf)?, 5); // short: the receive queue is empty
    /// reg.clear_drained(ready);
    /// // Cleared where the backend reports a peer's close apart (epoll); kept
    /// // where the short read may have been the last data before one (polling).
    /// assert_eq!(reg.try_ready(Direction::Read).is_none(), reactor.reports_read_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear_drained(&self, ready: Ready) {
        let once = ready.is_hup() || ready.is_error();
        let read_once = ready.direction() == Direction::Read
            && (!sys::REPORTS_READ_CLOSED || ready.is_read_closed() || ready.is_priority());
        if !once && !read_once {
            self.clear(ready);
        }
    }

    /// Runs `op` while `dir` is ready; when it returns `WouldBlock`, clears the
    /// readiness and waits again. Returns the first result that is not
    /// `WouldBlock`, or `Pending` with the task's waker recorded.
    ///
    /// The helper behind every socket operation: `op` is the nonblocking call
    /// (`read`, `write`, `accept`, `send_to`, a connect's `take_error`).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// socket.send_to(b"ping", socket.local_addr()?)?;
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut buf = [0; 16];
    /// let n = loop {
    ///     match reg.poll_io(Direction::Read, &mut cx, || socket.recv(&mut buf)) {
    ///         Poll::Ready(n) => break n?,
    ///         Poll::Pending => {
    ///             reactor.poll(Some(Duration::from_secs(5)), &mut Vec::new())?;
    ///         }
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"ping");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ready = match self.poll_ready(dir, cx) {
                Poll::Ready(Ok(ready)) => ready,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear(ready),
                result => return Poll::Ready(result),
            }
        }
    }

    /// The reactor this source is registered with.
    ///
    /// ```
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// assert!(Arc::ptr_eq(reg.reactor(), &reactor));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // In the order of the module docs.
        let removed = lock(&self.reactor.sources).remove(self.source.key);
        self.source.readiness.withdraw_all(&self.reactor.waiters);
        // SAFETY: `Reactor::register`'s contract: the Registration is dropped
        // before the descriptor is closed, and it is not dropped yet.
        let fd = unsafe { raw::borrow_raw(self.source.fd) };
        // An error here (the descriptor already closed, against the contract)
        // leaves nothing to undo: the key is gone, so no event reaches us.
        let _ = self.reactor.poller.delete(fd);
        drop(removed);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (readable, waiting_read) = self.source.readiness.snapshot(Direction::Read);
        let (writable, waiting_write) = self.source.readiness.snapshot(Direction::Write);
        f.debug_struct("Registration")
            .field("fd", &self.source.fd)
            .field("readable", &readable)
            .field("writable", &writable)
            .field("waiting_read", &waiting_read)
            .field("waiting_write", &waiting_write)
            .finish()
    }
}
