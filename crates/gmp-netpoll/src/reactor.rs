//! The network poller: Go's `netpoll`, on epoll (Linux) or the `polling`
//! crate (elsewhere).
//!
//! # Shape
//!
//! One [`Reactor`] per runtime owns one OS poller (epoll, kqueue, event ports).
//! Sockets are registered once, for both directions, and stay registered until
//! their [`Registration`] drops. A task that finds its socket not ready records
//! its waker in the registration and parks; the scheduler, at the points Go's
//! `findrunnable` calls `netpoll`, calls [`Reactor::poll`], which applies every
//! event to its registration's readiness word and moves the wakers of the tasks
//! it unblocks into a `Vec` — the batch the scheduler injects into the global
//! queue in one go (Go's `injectglist`). A searching M polls with a zero timeout;
//! the last idle M blocks, with the next timer's deadline as its timeout.
//!
//! # Backends
//!
//! The OS side is a small private interface (`Poller`: add, re-arm, delete,
//! wait, notify; `Events`: `(key, readiness flags)` pairs) with two
//! implementations, chosen at compile time:
//!
//! * `epoll.rs`, on Linux: epoll and an eventfd, written directly on `libc`,
//!   because the reactor's hot path needs what `polling` does not give: one
//!   system call per wait (polling 3.11 makes five), timeouts to the
//!   nanosecond without a timerfd, and `EPOLLRDHUP` (its essay has the
//!   details);
//! * `portable.rs`, everywhere else (and on Linux with `--cfg gmp_polling`):
//!   the `polling` crate.
//!
//! Everything above that interface — keys, readiness, waiters, the wake word,
//! oneshot re-arming — is shared.
//!
//! # Edge-triggered, or oneshot with re-arming
//!
//! Where the OS supports it (epoll, kqueue), sources are registered
//! edge-triggered, as Go does: the OS reports each
//! transition to ready once and nothing has to be re-armed, ever. That puts the
//! burden on the readiness word: readiness, once reported, stays set until an
//! operation proves it gone (`WouldBlock`) and clears it — and the clear must not
//! swallow an event that came in meanwhile, because the OS will not repeat it.
//! The tick in the word does that (see `readiness.rs`, rule 1).
//!
//! Elsewhere (event ports, and Windows' IOCP/AFD), sources are oneshot: each
//! event disarms the source,
//! and it is re-armed, for exactly the directions a task waits on, when a task
//! starts waiting and after each event that leaves a waiter behind. Both
//! backends implement oneshot mode, so this path is tested on Linux too.
//!
//! # One poller at a time
//!
//! Only one thread waits in the OS poller at once, as in Go (`sched.lastpoll ==
//! 0` tells other Ms that someone is blocked in `netpoll`, and they skip their
//! own non-blocking poll). [`Reactor::poll`] called while another thread is
//! polling returns `Ok(0)` at once: the thread inside will deliver the events.
//!
//! # Waking the poller
//!
//! [`Reactor::notify`] (Go's `netpollBreak`) interrupts a blocked poll, so that
//! the M inside can pick up new work or a timer earlier than its timeout. The
//! wake word has two bits, `POLLING` (a thread is in, or about to enter, a
//! blocking poll) and `NOTIFIED` (a notification is pending):
//!
//! * `notify` sets `NOTIFIED`; only the call that sets it *and* finds `POLLING`
//!   writes to the OS wake-up channel. So a storm of notifications costs one
//!   system call, and notifying an idle reactor costs one atomic operation.
//! * a blocking `poll` sets `POLLING`; if `NOTIFIED` was already set, it polls
//!   without blocking instead. After the OS returns it clears both bits.
//!
//! Both are read-modify-writes of one word, so one of them sees the other: a
//! notification is never lost between an M's decision to block and the block.
//!
//! # Go
//!
//! | Go | here |
//! | --- | --- |
//! | `netpollinit` | [`Reactor::new`] |
//! | `netpollopen`, `poll_runtime_pollOpen` | [`Reactor::register`] |
//! | `netpollclose`, `poll_runtime_pollClose` | dropping the [`Registration`] |
//! | `netpoll(delay)`, `netpollready` | [`Reactor::poll`] |
//! | `netpollBreak`, `netpollWakeSig` | [`Reactor::notify`], the wake word |
//! | `netpollWaiters` | [`Reactor::waiters`] |
//! | `pollDesc`, `rg`/`wg`, `fdseq` | the registration's source, its readiness word and wakers, the key's generation |
//! | `poll_runtime_pollWait`, `netpollblock` | [`Registration::poll_ready`] |
//! | `poll_runtime_pollReset` | [`Registration::clear`] |

mod keys;
mod raw;
mod registration;

#[cfg(all(target_os = "linux", not(gmp_polling)))]
mod epoll;
#[cfg(all(target_os = "linux", not(gmp_polling)))]
use epoll as sys;
#[cfg(not(all(target_os = "linux", not(gmp_polling))))]
mod portable;
#[cfg(not(all(target_os = "linux", not(gmp_polling))))]
use portable as sys;

use std::fmt;
use std::io;
use std::sync::atomic::Ordering::{AcqRel, SeqCst};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

pub use crate::readiness::{Direction, Ready};
pub use raw::{BorrowedSource, RawSource};
pub use registration::Registration;

use crate::sync::{lock, try_lock, AtomicUsize, Mutex};
use keys::Keys;
use registration::Source;

/// Environment variable: set it to `1` to register sources oneshot, re-armed
/// per wait, even where the OS could do edge-triggered polling. Read by
/// [`Reactor::new`]. It runs the path Windows and illumos take on any
/// machine: CI runs gmp-exec's socket tests with it (`ci/polling.sh`).
///
/// ```
/// use gmp_netpoll::{reactor::ONESHOT_ENV, Reactor};
///
/// assert_eq!(ONESHOT_ENV, "GMP_NETPOLL_ONESHOT");
/// std::env::set_var(ONESHOT_ENV, "1");
/// let reactor = Reactor::new()?;
/// assert!(format!("{reactor:?}").contains("edge_triggered: false"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub const ONESHOT_ENV: &str = "GMP_NETPOLL_ONESHOT";

/// Wake word: a thread is in, or entering, a blocking poll.
const POLLING: usize = 0b01;
/// Wake word: a notification is pending.
const NOTIFIED: usize = 0b10;

/// The network poller of a runtime. See the [module docs](self).
///
/// ```
/// use std::time::Duration;
/// let reactor = gmp_netpoll::Reactor::new()?;
/// let mut woken = Vec::new();
/// // Nothing registered: a non-blocking poll finds nothing.
/// assert_eq!(reactor.poll(Some(Duration::ZERO), &mut woken)?, 0);
/// # std::io::Result::Ok(())
/// ```
///
/// It is shared by every M:
///
/// ```
/// fn shared<T: Send + Sync>() {}
/// shared::<gmp_netpoll::Reactor>();
/// ```
pub struct Reactor {
    pub(crate) poller: sys::Poller,
    /// Sources are edge-triggered (else oneshot, re-armed).
    pub(crate) edge: bool,
    /// The event buffer, held by the thread that polls; `try_lock`ed, so a
    /// second thread does not wait behind a blocked poll.
    events: Mutex<sys::Events>,
    /// Registrations by key.
    pub(crate) sources: Mutex<Keys>,
    /// `POLLING | NOTIFIED` (module docs).
    wake: AtomicUsize,
    /// Sources with a task waiting (readiness rule 4).
    pub(crate) waiters: AtomicUsize,
}

impl Reactor {
    /// A reactor with a new OS poller, edge-triggered where the OS supports it
    /// (and [`ONESHOT_ENV`] does not say otherwise).
    ///
    /// ```
    /// let reactor = gmp_netpoll::Reactor::new()?;
    /// assert_eq!(reactor.registrations(), 0);
    /// assert_eq!(reactor.waiters(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Reactor> {
        let poller = sys::Poller::new()?;
        let forced_oneshot = std::env::var_os(ONESHOT_ENV).is_some_and(|v| v == "1");
        let edge = poller.supports_edge() && !forced_oneshot;
        Ok(Reactor::with_poller(poller, edge))
    }

    /// A reactor that re-arms its sources in oneshot mode even where the OS
    /// could do edge-triggered polling, so the oneshot path can be tested on
    /// every platform.
    #[cfg(all(test, unix))]
    pub(crate) fn new_oneshot() -> io::Result<Reactor> {
        Ok(Reactor::with_poller(sys::Poller::new()?, false))
    }

    fn with_poller(poller: sys::Poller, edge: bool) -> Reactor {
        Reactor {
            poller,
            edge,
            events: Mutex::new(sys::Events::new()),
            sources: Mutex::new(Keys::default()),
            wake: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
        }
    }

    /// Registers a nonblocking source for both directions. The returned
    /// [`Registration`] deletes the source from the OS poller when dropped.
    ///
    /// The source starts not ready: the OS reports its current state as a first
    /// event, delivered by the next [`poll`](Reactor::poll).
    ///
    /// # Safety
    ///
    /// The returned `Registration` must be dropped before `source` is closed
    /// (the OS poller's contract — `polling::Poller::add`'s where that is the
    /// backend — which the `Registration` meets by deleting the source in its
    /// `Drop`). A socket type that owns both meets
    /// it by declaring the registration field *before* the socket field, since
    /// Rust drops fields in declaration order:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::os::fd::AsFd;
    /// struct TcpStream {
    ///     registration: gmp_netpoll::Registration, // dropped first
    ///     socket: std::net::TcpStream,             // closed second
    /// }
    ///
    /// impl TcpStream {
    ///     fn new(reactor: &Arc<gmp_netpoll::Reactor>, socket: std::net::TcpStream)
    ///         -> std::io::Result<TcpStream>
    ///     {
    ///         socket.set_nonblocking(true)?;
    ///         // SAFETY: the registration is declared before the socket, so
    ///         // it is dropped (and deletes the fd) before the socket closes it.
    ///         let registration = unsafe { reactor.register(socket.as_fd())? };
    ///         Ok(TcpStream { registration, socket })
    ///     }
    /// }
    /// ```
    ///
    /// Nothing in the type system ties the two lifetimes together, hence
    /// `unsafe`: a socket closed first could, once its number is reused, get
    /// another registration's interest deleted.
    pub unsafe fn register(
        self: &Arc<Self>,
        source: BorrowedSource<'_>,
    ) -> io::Result<Registration> {
        let fd = raw::as_raw(source);
        let src = lock(&self.sources).insert(fd, |key| Arc::new(Source::new(fd, key)))?;
        // SAFETY: `Poller::add` needs the source deleted before it is closed.
        // The Registration built below deletes it in its `Drop`, and our
        // caller promises to drop it before closing the source. If `add`
        // fails, nothing was added.
        let added = unsafe { self.poller.add(source, src.key, self.edge) };
        if let Err(e) = added {
            let removed = lock(&self.sources).remove(src.key);
            drop(removed);
            return Err(e);
        }
        Ok(Registration {
            reactor: self.clone(),
            source: src,
        })
    }

    /// Polls the OS once: applies every event to its registration's readiness
    /// and moves the wakers of the tasks waiting on them into `woken`, for the
    /// caller to wake (or inject) as a batch. Returns the number of events the
    /// OS reported (an event for a registration dropped meanwhile is counted and
    /// ignored).
    ///
    /// `None` blocks until an event or a [`notify`](Reactor::notify);
    /// `Some(Duration::ZERO)` does not block; `Some(d)` blocks for at most `d`
    /// (to the nanosecond where the OS allows: `epoll_pwait2` on Linux 5.11
    /// and later, else the millisecond above, never less). It may return
    /// early with nothing to report (a notification that came after the
    /// wait it was meant for had ended): callers poll again. If another
    /// thread is polling, returns `Ok(0)` at once.
    ///
    /// On Linux this is one system call, with a zero timeout too.
    ///
    /// Called by an M in the scheduler's search for work: a searching M polls
    /// without blocking, and one idle M at a time blocks.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// // A task waits to read; a datagram arrives; the poll hands back its waker.
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(reg.poll_ready(Direction::Read, &mut cx).is_pending());
    /// socket.send_to(b"ping", socket.local_addr()?)?;
    /// let mut woken = Vec::new();
    /// while woken.is_empty() {
    ///     reactor.poll(Some(Duration::from_secs(5)), &mut woken)?;
    /// }
    /// assert_eq!(woken.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll(&self, timeout: Option<Duration>, woken: &mut Vec<Waker>) -> io::Result<usize> {
        let Some(mut events) = try_lock(&self.events) else {
            return Ok(0);
        };
        let blocking = timeout != Some(Duration::ZERO);
        let mut timeout = timeout;
        if blocking {
            // AcqRel: one total order with `notify`'s read-modify-write on the
            // same word (module docs); Acquire also makes what the notifier did
            // before notifying visible once we return.
            if self.wake.fetch_or(POLLING, AcqRel) & NOTIFIED != 0 {
                timeout = Some(Duration::ZERO);
            }
        }
        let result = self.poller.wait(&mut events, timeout);
        if blocking {
            // AcqRel: Acquire pairs with the notifier that set NOTIFIED while
            // we slept, so our caller sees its work when we return.
            self.wake.fetch_and(!(POLLING | NOTIFIED), AcqRel);
        }
        result?;
        let mut events = events.iter().peekable();
        if events.peek().is_none() {
            return Ok(0);
        }
        let mut n = 0;
        let keys = lock(&self.sources);
        for (key, flags) in events {
            n += 1;
            let Some(src) = keys.get(key) else {
                continue;
            };
            let still_waiting = src.readiness.apply(flags, &self.waiters, woken);
            // Oneshot: the event disarmed the source. If re-arming fails,
            // the OS will not report it again until a task re-arms it, so
            // wake the remaining waiters: their next `poll_ready` re-arms
            // (and reports the error if it persists).
            if still_waiting && !self.edge && src.rearm(self).is_err() {
                src.readiness.wake_all(&self.waiters, woken);
            }
        }
        Ok(n)
    }

    /// Wakes the thread blocked in [`poll`](Reactor::poll), from any thread; if
    /// none is blocked, the next blocking poll returns at once instead. Costs
    /// one atomic operation unless a thread is blocked and no other notification
    /// is pending; then one write to the OS wake-up channel.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let reactor = gmp_netpoll::Reactor::new()?;
    /// reactor.notify(); // nobody polls yet: the next blocking poll returns at once
    /// let start = Instant::now();
    /// reactor.poll(Some(Duration::from_secs(10)), &mut Vec::new())?;
    /// assert!(start.elapsed() < Duration::from_secs(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn notify(&self) {
        // AcqRel: see `poll`; Release publishes what the caller did before.
        let prev = self.wake.fetch_or(NOTIFIED, AcqRel);
        if prev & NOTIFIED == 0 && prev & POLLING != 0 {
            // One write to an eventfd (or `polling`'s pipe). Its only
            // failure, a full pipe, means a wake-up is already pending:
            // nothing is lost.
            let _ = self.poller.notify();
        }
    }

    /// The number of registrations that currently have a task waiting (Go's
    /// `netpollWaiters`): the scheduler skips polling when it is zero.
    ///
    /// It may read high for a moment, never low, and stays high for a source
    /// whose waiting task went away without being woken (a dropped read
    /// future) until its next event or until the registration drops.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// # use std::{net::UdpSocket, os::fd::AsFd, sync::Arc, time::Duration};
    /// # use gmp_netpoll::{Direction, Reactor};
    /// # let reactor = Arc::new(Reactor::new()?);
    /// # let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # socket.set_nonblocking(true)?;
    /// # // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// # let reg = unsafe { reactor.register(socket.as_fd())? };
    /// assert_eq!(reactor.waiters(), 0);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(reg.poll_ready(Direction::Read, &mut cx).is_pending());
    /// assert_eq!(reactor.waiters(), 1);
    /// drop(reg); // its wait ends with it
    /// assert_eq!(reactor.waiters(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn waiters(&self) -> usize {
        // SeqCst: the scheduler reads this in a store-load pattern with its own
        // SeqCst flags (an M announcing it is about to block, then checking for
        // waiters; a task parking, then the M checking for work).
        self.waiters.load(SeqCst)
    }

    /// Whether this reactor's backend reports a read side closed by the peer
    /// ([`Ready::is_read_closed`]) and urgent data ([`Ready::is_priority`])
    /// apart from readability: true for the epoll backend (`EPOLLRDHUP`,
    /// `EPOLLPRI`), false for `polling` (every other OS, and Linux under
    /// `--cfg gmp_polling`), where both arrive as plain readability. Where it
    /// is false, [`Registration::clear_drained`] never clears reading.
    ///
    /// ```
    /// let reactor = gmp_netpoll::Reactor::new()?;
    /// let epoll = cfg!(target_os = "linux") && format!("{reactor:?}").contains("epoll");
    /// assert_eq!(reactor.reports_read_closed(), epoll);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reports_read_closed(&self) -> bool {
        sys::REPORTS_READ_CLOSED
    }

    /// The number of live registrations.
    ///
    /// ```
    /// use std::{net::UdpSocket, os::fd::AsFd, sync::Arc};
    ///
    /// let reactor = Arc::new(gmp_netpoll::Reactor::new()?);
    /// let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// // SAFETY: `reg` is declared after `socket`, so it is dropped first.
    /// let reg = unsafe { reactor.register(socket.as_fd())? };
    /// assert_eq!(reactor.registrations(), 1);
    /// drop(reg);
    /// assert_eq!(reactor.registrations(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn registrations(&self) -> usize {
        lock(&self.sources).len()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("backend", &sys::NAME)
            .field("edge_triggered", &self.edge)
            .field("waiters", &self.waiters())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, unix))]
mod tests;
