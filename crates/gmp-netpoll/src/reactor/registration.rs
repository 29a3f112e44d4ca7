//! A registered source, its readiness word, and the RAII [`Registration`].
//!
//! # The readiness word
//!
//! Each source keeps one `AtomicUsize` (Go keeps `rg`/`wg` semaphores per
//! direction in its `pollDesc`; tokio a readiness word in its `ScheduledIo`):
//!
//! | bits | name | meaning |
//! | --- | --- | --- |
//! | 0 | `READABLE` | the OS reported the source readable |
//! | 1 | `WRITABLE` | the OS reported the source writable |
//! | 2 | `HUP` | the OS reported a hang-up (both directions closed) |
//! | 3 | `ERROR` | the OS reported an error condition |
//! | 4 | `WAIT_READ` | a task waits for read readiness (its waker is recorded) |
//! | 5 | `WAIT_WRITE` | a task waits for write readiness |
//! | 8.. | tick | how many events have been applied, wrapping |
//!
//! A direction is *ready* if its own bit, `HUP` or `ERROR` is set: each of them
//! means an operation in that direction will not block (it may fail).
//!
//! # Rules
//!
//! 1. Events only add readiness and bump the tick (`apply`, by the polling
//!    thread). Only [`Registration::clear`] removes readiness, and only if the
//!    tick still equals the one its [`Ready`] token saw: an event that arrived
//!    after the token was taken survives the clear. With edge-triggered polling
//!    that event may be the last one the OS ever sends, so this is what keeps a
//!    racing event from being lost.
//! 2. `WAIT_*` is set by [`Registration::poll_ready`] *after* it recorded the
//!    waker, with a read-modify-write that also reads the readiness bits: if the
//!    direction became ready meanwhile, the task withdraws and returns `Ready`.
//!    Otherwise any later event sees the bit.
//! 3. `apply` clears `WAIT_*` for each direction it makes ready, in the same
//!    read-modify-write, and only then moves that direction's waker out. So a
//!    waker is moved out at most once per wait.
//! 4. The reactor's `waiters` count is the number of sources with a `WAIT_*` bit
//!    set. Whoever turns the bits from none to some adds one, whoever turns them
//!    from some to none subtracts one. `poll_ready` adds *before* its
//!    read-modify-write (and gives it back if the bits were set already), so the
//!    count may briefly read high, never low, and never wraps below zero.
//! 5. A dropped [`Registration`] first leaves the key table (under its lock, so no
//!    poll dispatches to it afterwards), then clears its `WAIT_*` bits without
//!    waking anyone, then leaves the OS poller. Its wakers are dropped with the
//!    source, outside every lock.

use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use polling::Event;

use super::Reactor;
use crate::sync::{lock, AtomicUsize, Mutex};
use crate::waker::WakerSlot;

const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const HUP: usize = 1 << 2;
const ERROR: usize = 1 << 3;
const WAIT_READ: usize = 1 << 4;
const WAIT_WRITE: usize = 1 << 5;
const WAIT_MASK: usize = WAIT_READ | WAIT_WRITE;
const FLAGS_MASK: usize = READABLE | WRITABLE | HUP | ERROR;
const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = usize::MAX >> TICK_SHIFT;

/// A direction of I/O on a registered source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading, accepting (a listener is readable when a connection waits).
    Read,
    /// Writing, connecting (a connecting socket turns writable when done).
    Write,
}

impl Direction {
    /// The readiness bits that make this direction ready (and that `clear`
    /// removes).
    fn ready_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | HUP | ERROR,
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

/// Proof that a direction was ready, from [`Registration::poll_ready`]: what the
/// OS reported, and the tick [`Registration::clear`] compares against.
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
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The OS reported the source readable.
    pub fn is_readable(&self) -> bool {
        self.flags & READABLE != 0
    }

    /// The OS reported the source writable.
    pub fn is_writable(&self) -> bool {
        self.flags & WRITABLE != 0
    }

    /// The OS reported a hang-up: the peer closed (reads return end of file,
    /// writes fail), or the socket was never connected.
    pub fn is_hup(&self) -> bool {
        self.flags & HUP != 0
    }

    /// The OS reported an error condition: the next operation returns it (a
    /// connect that failed, an ICMP error on a UDP socket).
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
            .field("hup", &self.is_hup())
            .field("error", &self.is_error())
            .field("tick", &self.tick)
            .finish()
    }
}

/// What the reactor knows about one registered source (Go's `pollDesc`).
pub(crate) struct Source {
    /// The registered descriptor, open for as long as the `Registration` lives
    /// (the contract of [`Reactor::register`]).
    pub(crate) fd: RawFd,
    /// The key the OS reports with the source's events.
    pub(crate) key: usize,
    /// The readiness word (module docs).
    state: AtomicUsize,
    read: WakerSlot,
    write: WakerSlot,
    /// Serialises re-arming in oneshot mode, so the interest the OS holds is
    /// always computed from a word at least as new as the last change.
    rearm: Mutex<()>,
}

impl Source {
    pub(crate) fn new(fd: RawFd, key: usize) -> Source {
        Source {
            fd,
            key,
            state: AtomicUsize::new(0),
            read: WakerSlot::new(),
            write: WakerSlot::new(),
            rearm: Mutex::new(()),
        }
    }

    fn slot(&self, dir: Direction) -> &WakerSlot {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// Applies one OS event (rules 1 and 3): adds its readiness, bumps the tick,
    /// and moves the wakers of the directions it made ready into `woken`.
    /// Returns whether a task still waits (for oneshot re-arming). Called by the
    /// polling thread under the key table's lock.
    pub(crate) fn apply(
        &self,
        event: &Event,
        waiters: &AtomicUsize,
        woken: &mut Vec<Waker>,
    ) -> bool {
        let mut flags = 0;
        if event.readable {
            flags |= READABLE;
        }
        if event.writable {
            flags |= WRITABLE;
        }
        if event.is_interrupt() {
            flags |= HUP;
        }
        if event.is_err() == Some(true) {
            flags |= ERROR;
        }
        let step = |word: usize| {
            let tick = (word >> TICK_SHIFT).wrapping_add(1) & TICK_MASK;
            let mut next = (word & (FLAGS_MASK | WAIT_MASK)) | flags | (tick << TICK_SHIFT);
            for dir in [Direction::Read, Direction::Write] {
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
        for dir in [Direction::Read, Direction::Write] {
            if prev & dir.wait_bit() != 0 && next & dir.wait_bit() == 0 {
                if let Some(waker) = self.slot(dir).take() {
                    woken.push(waker);
                }
            }
        }
        if prev & WAIT_MASK != 0 && next & WAIT_MASK == 0 {
            waiters.fetch_sub(1, SeqCst);
        }
        next & WAIT_MASK != 0
    }

    /// Oneshot mode: points the OS interest at the directions that have a task
    /// waiting and are not ready, or leaves the source disarmed if none has.
    /// Called while the `Registration` lives (by its task, or by the polling
    /// thread under the key table's lock).
    pub(crate) fn rearm(&self, reactor: &Reactor) -> io::Result<()> {
        let _serial = lock(&self.rearm);
        // Acquire: pairs with the AcqRel read-modify-writes of the word, so the
        // interest is computed from the newest WAIT bits.
        let word = self.state.load(Acquire);
        let read = word & WAIT_READ != 0 && !Direction::Read.is_ready(word);
        let write = word & WAIT_WRITE != 0 && !Direction::Write.is_ready(word);
        if !read && !write {
            return Ok(());
        }
        // SAFETY: the `Registration` is alive (see the calling contexts above),
        // so by `Reactor::register`'s contract the descriptor is still open.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        reactor.rearm(fd, Event::new(self.key, read, write))
    }

    /// Ends every wait on this source without readiness: moves the wakers of the
    /// waiting directions into `woken` (their tasks poll again). Called by the
    /// polling thread under the key table's lock.
    pub(crate) fn wake_all(&self, waiters: &AtomicUsize, woken: &mut Vec<Waker>) {
        let prev = self.withdraw(WAIT_MASK, waiters);
        for dir in [Direction::Read, Direction::Write] {
            if prev & dir.wait_bit() != 0 {
                woken.extend(self.slot(dir).take());
            }
        }
    }

    /// Clears the WAIT bits in `bits` (rule 4 accounting). Returns the word
    /// before.
    fn withdraw(&self, bits: usize, waiters: &AtomicUsize) -> usize {
        // AcqRel: orders the withdrawal with the dispatching thread's
        // read-modify-write (rule 3), which may be clearing the same bit.
        let prev = self.state.fetch_and(!bits, AcqRel);
        if prev & bits != 0 && prev & WAIT_MASK & !bits == 0 {
            waiters.fetch_sub(1, SeqCst);
        }
        prev
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
    pub fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        let src = &*self.source;
        // Acquire: pairs with the Release of `apply`'s read-modify-write.
        let word = src.state.load(Acquire);
        if dir.is_ready(word) {
            return Poll::Ready(Ok(Ready::observed(dir, word)));
        }
        src.slot(dir).register(cx.waker());
        let waiters = &self.reactor.waiters;
        // Rule 4: count first, so the count never reads low.
        waiters.fetch_add(1, SeqCst);
        // AcqRel: Release publishes the waker recorded above to the polling
        // thread (pairs with the Acquire of `apply`'s read-modify-write);
        // Acquire lets us see the readiness an earlier event published.
        let prev = src.state.fetch_or(dir.wait_bit(), AcqRel);
        if prev & WAIT_MASK != 0 {
            waiters.fetch_sub(1, SeqCst);
        }
        if dir.is_ready(prev) {
            // Rule 2: an event landed between the load and the record.
            let word = src.withdraw(dir.wait_bit(), waiters);
            return Poll::Ready(Ok(Ready::observed(dir, word)));
        }
        if !self.reactor.edge {
            if let Err(e) = src.rearm(&self.reactor) {
                src.withdraw(dir.wait_bit(), waiters);
                return Poll::Ready(Err(e));
            }
        }
        Poll::Pending
    }

    /// Clears `ready`'s direction after an operation returned `WouldBlock`,
    /// unless an event arrived since `ready` was observed (its tick moved on):
    /// then the direction stays ready and the next `poll_ready` retries at once.
    pub fn clear(&self, ready: Ready) {
        let mask = ready.direction.ready_mask();
        // AcqRel: ordered with `apply`'s read-modify-write (rule 1); on failure
        // nothing is written.
        let _ = self.source.state.fetch_update(AcqRel, Acquire, |word| {
            (word >> TICK_SHIFT == ready.tick).then_some(word & !mask)
        });
    }

    /// Runs `op` while `dir` is ready; when it returns `WouldBlock`, clears the
    /// readiness and waits again. Returns the first result that is not
    /// `WouldBlock`, or `Pending` with the task's waker recorded.
    ///
    /// The helper behind every socket operation: `op` is the nonblocking call
    /// (`read`, `write`, `accept`, `send_to`, a connect's `take_error`).
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
    pub fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Rule 5, in order.
        let removed = lock(&self.reactor.sources).remove(self.source.key);
        self.source.withdraw(WAIT_MASK, &self.reactor.waiters);
        // SAFETY: `Reactor::register`'s contract: the Registration is dropped
        // before the descriptor is closed, and it is not dropped yet.
        let fd = unsafe { BorrowedFd::borrow_raw(self.source.fd) };
        // An error here (the descriptor already closed, against the contract)
        // leaves nothing to undo: the key is gone, so no event reaches us.
        let _ = self.reactor.poller.delete(fd);
        drop(removed);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Acquire: pairs with `apply`'s Release, like `poll_ready`'s load.
        let word = self.source.state.load(Acquire);
        f.debug_struct("Registration")
            .field("fd", &self.source.fd)
            .field("readable", &Direction::Read.is_ready(word))
            .field("writable", &Direction::Write.is_ready(word))
            .field("waiting_read", &(word & WAIT_READ != 0))
            .field("waiting_write", &(word & WAIT_WRITE != 0))
            .finish()
    }
}
