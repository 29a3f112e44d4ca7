//! A source's readiness word and the two wakers waiting on it: the protocol
//! between a task waiting for I/O and the thread that polls the OS.
//!
//! Nothing here touches the OS, so loom checks it (`loom_` tests at the bottom);
//! the reactor wraps it with the OS registration.
//!
//! # The word
//!
//! One `AtomicUsize` per source (Go keeps `rg`/`wg` semaphores per direction in
//! its `pollDesc`; tokio a readiness word in its `ScheduledIo`):
//!
//! | bits | name | meaning |
//! | --- | --- | --- |
//! | 0 | `READABLE` | the OS reported the source readable |
//! | 1 | `WRITABLE` | the OS reported the source writable |
//! | 2 | `READ_CLOSED` | the OS reported the read side closed: the peer shut its writing down, so reads return end of file once the data is drained (epoll's `EPOLLRDHUP`) |
//! | 3 | `PRIORITY` | the OS reported urgent (TCP out-of-band) data (epoll's `EPOLLPRI`) |
//! | 4 | `HUP` | the OS reported a hang-up (both directions closed) |
//! | 5 | `ERROR` | the OS reported an error condition |
//! | 6 | `WAIT_READ` | a task waits for read readiness (its waker is recorded) |
//! | 7 | `WAIT_WRITE` | a task waits for write readiness |
//! | 8.. | tick | how many events have been applied, wrapping |
//!
//! A direction is *ready* if its own bits (`READABLE`, `READ_CLOSED` and
//! `PRIORITY` for reading, `WRITABLE` for writing), `HUP` or `ERROR` are set:
//! each of them means an operation in that direction will not block (it may
//! fail, or find end of file). Which flags a backend can report is its own
//! business: the `polling` backend never reports `READ_CLOSED` or `PRIORITY`
//! (a peer's close reaches it as plain readability).
//!
//! # Rules
//!
//! 1. Events only add readiness and bump the tick (`apply`, by the polling
//!    thread). Only `clear` removes readiness, and only if the tick still equals
//!    the one its [`Ready`] token saw: an event that arrived after the token was
//!    taken survives the clear. With edge-triggered polling that event may be
//!    the last one the OS ever sends, so this is what keeps a racing event from
//!    being lost.
//! 2. `WAIT_*` is set by `poll_ready` *after* it recorded the waker, with a
//!    read-modify-write that also reads the readiness bits: if the direction
//!    became ready meanwhile, the task withdraws and returns `Ready`. Otherwise
//!    any later event sees the bit.
//! 3. `apply` clears `WAIT_*` for each direction it makes ready, in the same
//!    read-modify-write, and only then moves that direction's waker out. So a
//!    waker is moved out at most once per wait.
//! 4. The `waiters` count (the reactor's, shared by all sources) is the number
//!    of sources with a `WAIT_*` bit set. Whoever turns the bits from none to
//!    some adds one, whoever turns them from some to none subtracts one.
//!    `poll_ready` adds *before* its read-modify-write (and gives it back if the
//!    bits were set already), so the count may briefly read high, never low,
//!    and never wraps below zero.
//! 5. Wakers are moved out into the caller's batch, never woken or dropped here
//!    (the polling thread holds the key table's lock while it applies events).

use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};
use std::task::{Poll, Waker};

use crate::sync::AtomicUsize;
use crate::waker::WakerSlot;

pub(crate) const READABLE: usize = 1 << 0;
pub(crate) const WRITABLE: usize = 1 << 1;
pub(crate) const READ_CLOSED: usize = 1 << 2;
pub(crate) const PRIORITY: usize = 1 << 3;
pub(crate) const HUP: usize = 1 << 4;
pub(crate) const ERROR: usize = 1 << 5;
const WAIT_READ: usize = 1 << 6;
const WAIT_WRITE: usize = 1 << 7;
const WAIT_MASK: usize = WAIT_READ | WAIT_WRITE;
const FLAGS_MASK: usize = READABLE | WRITABLE | READ_CLOSED | PRIORITY | HUP | ERROR;
const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = usize::MAX >> TICK_SHIFT;

/// A direction of I/O on a registered source.
///
/// ```
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
/// // A new UDP socket can send at once, but has nothing to read.
/// assert_eq!(wait(Direction::Write)?.direction(), Direction::Write);
/// assert!(reg.try_ready(Direction::Read).is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading, accepting (a listener is readable when a connection waits).
    Read,
    /// Writing, connecting (a connecting socket turns writable when done).
    Write,
}

impl Direction {
    const BOTH: [Direction; 2] = [Direction::Read, Direction::Write];

    /// The readiness bits that make this direction ready (and that `clear`
    /// removes).
    fn ready_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | PRIORITY | HUP | ERROR,
            Direction::Write => WRITABLE | HUP | ERROR,
        }
    }

    fn wait_bit(self) -> usize {
        match self {
            Direction::Read => WAIT_READ,
            Direction::Write => WAIT_WRITE,
        }
    }

    fn is_ready(self, word: usize) -> bool {
        word & self.ready_mask() != 0
    }
}

/// Proof that a direction was ready, from
/// [`Registration::poll_ready`](crate::Registration::poll_ready): what the OS
/// reported, and the tick [`Registration::clear`](crate::Registration::clear)
/// compares against.
///
/// ```
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
/// let ready = wait(Direction::Write)?;
/// assert!(ready.is_writable());
/// assert!(!ready.is_error() && !ready.is_hup());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    direction: Direction,
    flags: usize,
    tick: usize,
}

impl Ready {
    fn observed(direction: Direction, word: usize) -> Ready {
        Ready {
            direction,
            flags: word & FLAGS_MASK,
            tick: word >> TICK_SHIFT,
        }
    }

    /// The direction this readiness is for.
    ///
    /// ```
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
    /// let ready = wait(Direction::Write)?;
    /// assert_eq!(ready.direction(), Direction::Write);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The OS reported the source readable.
    ///
    /// ```
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
    /// socket.send_to(b"hi", socket.local_addr()?)?;
    /// assert!(wait(Direction::Read)?.is_readable());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_readable(&self) -> bool {
        self.flags & READABLE != 0
    }

    /// The OS reported the source writable.
    ///
    /// ```
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
    /// let ready = wait(Direction::Write)?;
    /// assert!(ready.is_writable());
    /// assert!(!ready.is_readable()); // nothing has arrived
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_writable(&self) -> bool {
        self.flags & WRITABLE != 0
    }

    /// The OS reported the read side closed: the peer shut down its writing
    /// (or closed), so once the data already received is read, reads return
    /// end of file. Unlike readability it is a state, not news: it does not go
    /// away when the data is read, and the OS reports it once. Only backends
    /// that can tell it apart from readability report it (epoll, through
    /// `EPOLLRDHUP`: [`Reactor::reports_read_closed`](crate::Reactor::reports_read_closed));
    /// elsewhere a peer's close is reported as readability alone.
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
    /// client.shutdown(std::net::Shutdown::Write)?; // the peer is done writing
    /// let ready = wait(Direction::Read)?;
    /// assert_eq!(ready.is_read_closed(), reactor.reports_read_closed()); // epoll: yes
    /// assert_eq!(server.read(&mut [0; 8])?, 0); // end of file
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_read_closed(&self) -> bool {
        self.flags & READ_CLOSED != 0
    }

    /// The OS reported urgent data (TCP out-of-band, epoll's `EPOLLPRI`): a
    /// read stops short at the urgent mark, so a short read does not prove the
    /// receive queue empty. Reported by the epoll backend only (where
    /// [`Reactor::reports_read_closed`](crate::Reactor::reports_read_closed)
    /// is true).
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
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
    /// let fd = client.as_raw_fd();
    /// // SAFETY: `fd` is an open socket and the buffer holds one byte.
    /// let sent = unsafe { libc::send(fd, b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
    /// assert_eq!(sent, 1);
    /// let ready = wait(Direction::Read)?;
    /// assert_eq!(ready.is_priority(), reactor.reports_read_closed()); // epoll: yes
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_priority(&self) -> bool {
        self.flags & PRIORITY != 0
    }

    /// The OS reported a hang-up: the peer closed (reads return end of file,
    /// writes fail), or the socket was never connected.
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
    /// server.shutdown(std::net::Shutdown::Both)?; // both directions closed
    /// assert!(wait(Direction::Read)?.is_hup());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_hup(&self) -> bool {
        self.flags & HUP != 0
    }

    /// The OS reported an error condition: the next operation returns it (a
    /// connect that failed, an ICMP error on a UDP socket).
    ///
    /// ```
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
    /// let closed = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?; // bound, then closed
    /// socket.connect(closed)?;
    /// socket.send(b"anyone?")?; // draws an ICMP "port unreachable"
    /// assert!(wait(Direction::Read)?.is_error());
    /// assert!(socket.recv(&mut [0; 8]).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_error(&self) -> bool {
        self.flags & ERROR != 0
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("direction", &self.direction)
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("read_closed", &self.is_read_closed())
            .field("priority", &self.is_priority())
            .field("hup", &self.is_hup())
            .field("error", &self.is_error())
            .field("tick", &self.tick)
            .finish()
    }
}

/// A source's readiness word and wakers. See the module docs.
pub(crate) struct Readiness {
    state: AtomicUsize,
    read: WakerSlot,
    write: WakerSlot,
}

impl Readiness {
    /// Not ready, nobody waiting.
    pub(crate) fn new() -> Readiness {
        Readiness {
            state: AtomicUsize::new(0),
            read: WakerSlot::new(),
            write: WakerSlot::new(),
        }
    }

    fn slot(&self, dir: Direction) -> &WakerSlot {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// `Ready` if `dir` is ready; otherwise records `waker` and the WAIT bit
    /// (rules 2 and 4). Called by the task that uses the direction.
    pub(crate) fn poll_ready(
        &self,
        dir: Direction,
        waker: &Waker,
        waiters: &AtomicUsize,
    ) -> Poll<Ready> {
        // Acquire: pairs with the Release of `apply`'s read-modify-write.
        let word = self.state.load(Acquire);
        if dir.is_ready(word) {
            return Poll::Ready(Ready::observed(dir, word));
        }
        self.slot(dir).register(waker);
        // Rule 4: count first, so the count never reads low.
        waiters.fetch_add(1, SeqCst);
        // AcqRel: Release publishes the waker recorded above to the polling
        // thread (pairs with the Acquire of `apply`'s read-modify-write);
        // Acquire lets us see the readiness an earlier event published.
        let prev = self.state.fetch_or(dir.wait_bit(), AcqRel);
        if prev & WAIT_MASK != 0 {
            waiters.fetch_sub(1, SeqCst);
        }
        if dir.is_ready(prev) {
            // Rule 2: an event landed between the load and the record.
            let word = self.withdraw(dir.wait_bit(), waiters);
            return Poll::Ready(Ready::observed(dir, word));
        }
        Poll::Pending
    }

    /// Ends the wait of `dir` without waking it (its waker stays recorded and
    /// is replaced by the next wait).
    pub(crate) fn withdraw_wait(&self, dir: Direction, waiters: &AtomicUsize) {
        self.withdraw(dir.wait_bit(), waiters);
    }

    /// Ends every wait without waking anyone: the source is going away.
    pub(crate) fn withdraw_all(&self, waiters: &AtomicUsize) {
        self.withdraw(WAIT_MASK, waiters);
    }

    /// Clears the WAIT bits in `bits` (rule 4 accounting). Returns the word
    /// before.
    fn withdraw(&self, bits: usize, waiters: &AtomicUsize) -> usize {
        // AcqRel: orders the withdrawal with the polling thread's
        // read-modify-write (rule 3), which may be clearing the same bit.
        let prev = self.state.fetch_and(!bits, AcqRel);
        if prev & bits != 0 && prev & WAIT_MASK & !bits == 0 {
            waiters.fetch_sub(1, SeqCst);
        }
        prev
    }

    /// Applies one OS event with readiness `flags` (rules 1 and 3): adds them,
    /// bumps the tick, and moves the wakers of the directions it made ready
    /// into `woken`. Returns whether a task still waits (for oneshot
    /// re-arming). Called by the polling thread.
    pub(crate) fn apply(
        &self,
        flags: usize,
        waiters: &AtomicUsize,
        woken: &mut Vec<Waker>,
    ) -> bool {
        debug_assert_eq!(flags & !FLAGS_MASK, 0);
        let step = |word: usize| {
            let tick = (word >> TICK_SHIFT).wrapping_add(1) & TICK_MASK;
            let mut next = (word & (FLAGS_MASK | WAIT_MASK)) | flags | (tick << TICK_SHIFT);
            for dir in Direction::BOTH {
                if dir.is_ready(next) {
                    next &= !dir.wait_bit();
                }
            }
            next
        };
        // AcqRel: Acquire pairs with the AcqRel `fetch_or` in `poll_ready`, so a
        // WAIT bit seen here comes with the waker recorded before it; Release
        // pairs with the Acquire loads in `poll_ready`.
        let prev = match self
            .state
            .fetch_update(AcqRel, Acquire, |word| Some(step(word)))
        {
            Ok(prev) | Err(prev) => prev,
        };
        let next = step(prev);
        for dir in Direction::BOTH {
            if prev & dir.wait_bit() != 0 && next & dir.wait_bit() == 0 {
                woken.extend(self.slot(dir).take());
            }
        }
        if prev & WAIT_MASK != 0 && next & WAIT_MASK == 0 {
            waiters.fetch_sub(1, SeqCst);
        }
        next & WAIT_MASK != 0
    }

    /// Ends every wait with a wake-up but no readiness: the waiting tasks poll
    /// again. Called by the polling thread when it cannot keep the source armed.
    pub(crate) fn wake_all(&self, waiters: &AtomicUsize, woken: &mut Vec<Waker>) {
        let prev = self.withdraw(WAIT_MASK, waiters);
        for dir in Direction::BOTH {
            if prev & dir.wait_bit() != 0 {
                woken.extend(self.slot(dir).take());
            }
        }
    }

    /// Clears `ready`'s direction unless an event arrived since it was observed
    /// (rule 1).
    pub(crate) fn clear(&self, ready: Ready) {
        let mask = ready.direction.ready_mask();
        // AcqRel: ordered with `apply`'s read-modify-write (rule 1); on failure
        // nothing is written.
        let _ = self.state.fetch_update(AcqRel, Acquire, |word| {
            (word >> TICK_SHIFT == ready.tick).then_some(word & !mask)
        });
    }

    /// Oneshot mode: the directions the OS should report, `(read, write)`: those
    /// with a waiting task that are not ready.
    pub(crate) fn interest(&self) -> (bool, bool) {
        // Acquire: pairs with the AcqRel read-modify-writes of the word, so the
        // interest is computed from the newest WAIT bits.
        let word = self.state.load(Acquire);
        let wants = |dir: Direction| word & dir.wait_bit() != 0 && !dir.is_ready(word);
        (wants(Direction::Read), wants(Direction::Write))
    }

    /// A token for `dir` if it is ready now; records no waker and no WAIT bit,
    /// so it never displaces the task that waits on `dir`.
    pub(crate) fn peek(&self, dir: Direction) -> Option<Ready> {
        // Acquire: pairs with `apply`'s Release, like `poll_ready`'s load.
        let word = self.state.load(Acquire);
        dir.is_ready(word).then(|| Ready::observed(dir, word))
    }

    /// Whether `dir` is ready, and whether a task waits on it (for `Debug`).
    pub(crate) fn snapshot(&self, dir: Direction) -> (bool, bool) {
        // Acquire: pairs with `apply`'s Release, like `poll_ready`'s load.
        let word = self.state.load(Acquire);
        (dir.is_ready(word), word & dir.wait_bit() != 0)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! `cargo test -p gmp-netpoll --release --lib loom_` under `--cfg loom`.

    use std::sync::Arc;
    use std::task::{Poll, Wake, Waker};

    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::thread;

    use super::{Direction, Readiness, READABLE, WRITABLE};

    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Waker, Arc<Counter>) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        (Waker::from(counter.clone()), counter)
    }

    /// Shared state of a model: the source and the reactor's waiter count.
    struct Shared {
        readiness: Readiness,
        waiters: crate::sync::AtomicUsize,
    }

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            readiness: Readiness::new(),
            waiters: crate::sync::AtomicUsize::new(0),
        })
    }

    fn spawn_event(s: &Arc<Shared>, flags: usize) -> thread::JoinHandle<()> {
        let s = s.clone();
        thread::spawn(move || {
            let mut woken = Vec::new();
            s.readiness.apply(flags, &s.waiters, &mut woken);
            for waker in woken {
                waker.wake();
            }
        })
    }

    #[test]
    fn loom_an_event_racing_a_wait_is_not_lost() {
        loom::model(|| {
            let s = shared();
            let (waker, counter) = counting_waker();
            let event = spawn_event(&s, READABLE);
            let polled = s.readiness.poll_ready(Direction::Read, &waker, &s.waiters);
            event.join().unwrap();

            let wakes = counter.0.load(Ordering::SeqCst);
            assert!(wakes <= 1, "woken {wakes} times");
            if polled.is_pending() {
                assert_eq!(wakes, 1, "lost wake-up");
            }
            assert_eq!(s.waiters.load(Ordering::SeqCst), 0, "waiter count");
            assert!(s
                .readiness
                .poll_ready(Direction::Read, &waker, &s.waiters)
                .is_ready());
        });
    }

    #[test]
    fn loom_an_event_racing_a_clear_is_not_lost() {
        loom::model(|| {
            let s = shared();
            let (waker, _) = counting_waker();
            s.readiness.apply(READABLE, &s.waiters, &mut Vec::new());
            let Poll::Ready(ready) = s.readiness.poll_ready(Direction::Read, &waker, &s.waiters)
            else {
                panic!("readable")
            };
            // The task's operation would block; a new event races its clear.
            let event = spawn_event(&s, READABLE);
            s.readiness.clear(ready);
            event.join().unwrap();

            // Either the event came after the clear and set readiness again, or
            // before it and moved the tick, so the clear did nothing.
            assert!(
                s.readiness
                    .poll_ready(Direction::Read, &waker, &s.waiters)
                    .is_ready(),
                "the racing event was lost"
            );
        });
    }

    #[test]
    fn loom_two_directions_waiting_as_one_event_arrives() {
        loom::model(|| {
            let s = shared();
            let reader = {
                let s = s.clone();
                thread::spawn(move || {
                    let (waker, counter) = counting_waker();
                    let polled = s.readiness.poll_ready(Direction::Read, &waker, &s.waiters);
                    (polled.is_pending(), counter)
                })
            };
            let (waker, write_counter) = counting_waker();
            let event = spawn_event(&s, READABLE | WRITABLE);
            let write_pending = s
                .readiness
                .poll_ready(Direction::Write, &waker, &s.waiters)
                .is_pending();
            let (read_pending, read_counter) = reader.join().unwrap();
            event.join().unwrap();

            for (pending, counter) in [(read_pending, read_counter), (write_pending, write_counter)]
            {
                let wakes = counter.0.load(Ordering::SeqCst);
                assert!(wakes <= 1);
                if pending {
                    assert_eq!(wakes, 1, "lost wake-up");
                }
            }
            assert_eq!(s.waiters.load(Ordering::SeqCst), 0, "waiter count");
        });
    }
}
