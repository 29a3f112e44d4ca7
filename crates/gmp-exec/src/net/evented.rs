//! [`Evented`]: a nonblocking socket, its registration with a runtime's
//! netpoller, and the runtime itself — the one helper every socket type is
//! built on (Go's `internal/poll.FD`: the descriptor plus its `pollDesc`).

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use gmp_netpoll::{Direction, Ready, Registration};

use crate::context;
use crate::coop;
use crate::sched::worker::Worker;
use crate::sched::Shared;
use crate::sync::Arc;

use super::sys::{self, AsSource};

/// A socket registered with the netpoller of the runtime it was created in.
///
/// # Invariants
///
/// * `io` is in nonblocking mode: an operation that cannot proceed returns
///   `WouldBlock` instead of blocking an M.
/// * `registration` was made for `io`'s descriptor and is dropped before `io`
///   is closed ([`Reactor::register`](gmp_netpoll::Reactor::register)'s
///   contract). Fields drop in declaration order, so `registration` is
///   declared first, and `into_inner` drops it before giving `io` away.
pub(crate) struct Evented<S: AsSource> {
    registration: Registration,
    io: S,
    shared: Arc<Shared>,
}

impl<S: AsSource> Evented<S> {
    /// Registers `io` (nonblocking) with the current runtime: this M's, the
    /// entered one, or the default.
    pub(crate) fn new(io: S) -> io::Result<Evented<S>> {
        context::with_current_shared(|shared| Evented::with_shared(shared, io))
    }

    /// Registers `io` (nonblocking) with `shared`'s netpoller.
    pub(crate) fn with_shared(shared: &Arc<Shared>, io: S) -> io::Result<Evented<S>> {
        debug_assert!(
            sys::is_nonblocking(io.as_source()),
            "gmp::net registers nonblocking sockets only"
        );
        Evented::register_any(shared, io)
    }

    /// Registers `io` with `shared`'s netpoller whatever its mode: for
    /// descriptors the user hands in (`AsyncFd`), whose mode is theirs.
    pub(crate) fn register_any(shared: &Arc<Shared>, io: S) -> io::Result<Evented<S>> {
        Evented::try_register(shared, io).map_err(|(_, e)| e)
    }

    /// [`register_any`](Self::register_any), giving `io` back on failure.
    pub(crate) fn try_register(shared: &Arc<Shared>, io: S) -> Result<Evented<S>, (S, io::Error)> {
        // SAFETY: the registration is stored in the `registration` field,
        // declared before `io`, so it is dropped (deleting the descriptor from
        // the poller) before `io` closes it; `into_inner` drops it explicitly
        // before handing `io` out. See the type's invariants.
        match unsafe { shared.netpoll.reactor.register(io.as_source()) } {
            Ok(registration) => Ok(Evented {
                registration,
                io,
                shared: shared.clone(),
            }),
            Err(e) => Err((io, e)),
        }
    }

    /// The socket.
    #[inline]
    pub(crate) fn get_ref(&self) -> &S {
        &self.io
    }

    /// The socket, mutably (the registration stays: the descriptor must not
    /// be closed or replaced through it).
    #[cfg_attr(not(unix), allow(dead_code))] // for `io::AsyncFd`, Unix only
    #[inline]
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The registration: readiness tokens and their clearing.
    #[cfg_attr(not(unix), allow(dead_code))] // for `io::AsyncFd`, Unix only
    #[inline]
    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// The runtime the socket is registered with.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Deregisters the socket and gives it back (still nonblocking).
    pub(crate) fn into_inner(self) -> S {
        let Evented {
            registration,
            io,
            shared,
        } = self;
        // The registration goes first: the invariant's order.
        drop(registration);
        drop(shared);
        io
    }

    /// `Ready` once `dir` is ready (spending one unit of the task's budget),
    /// else `Pending` with the task's waker recorded for `dir`.
    pub(crate) fn poll_ready(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Ready>> {
        match self.registration.poll_ready(dir, cx) {
            Poll::Ready(Ok(ready)) => {
                if coop::poll_proceed(cx).is_pending() {
                    return Poll::Pending;
                }
                Poll::Ready(Ok(ready))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(dir),
        }
    }

    /// Runs the nonblocking `op` while `dir` is ready; on `WouldBlock` clears
    /// the readiness and waits for the next event. Returns the first result
    /// that is neither `WouldBlock` nor `Interrupted` (Go's `fd.Read` loop:
    /// the system call, then `pd.waitRead` on `EAGAIN`).
    ///
    /// A leaf future: readiness is checked first, and only an operation that
    /// completes spends budget (one attempted and found blocking gets its unit
    /// back).
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drain(dir, cx, op, |_| false)
    }

    /// [`poll_io`](Self::poll_io), also clearing the readiness after a
    /// success that `drained` says used the socket up (a short stream write
    /// filled the send queue, a short TCP read emptied the receive queue).
    /// The next call then waits for an event instead of making a system call
    /// that is sure to return `WouldBlock` (tokio does the same). Safe with
    /// edge-triggered polling: space or data that comes after the call is a
    /// new event, which moves the tick, and readiness rule 1 keeps a clear
    /// from swallowing it. [`Registration::clear_drained`] leaves alone what
    /// the OS reports only once and the next call must see (a hang-up, an
    /// error, a peer's close, urgent data), and never clears reading where
    /// the poller cannot tell a peer's close from readability.
    pub(crate) fn poll_io_drain<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let ready = match self.registration.poll_ready(dir, cx) {
                Poll::Ready(Ok(ready)) => ready,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.pending(dir),
            };
            if coop::poll_proceed(cx).is_pending() {
                // The budget is spent: the G was woken and goes to the back of
                // its P's queue; readiness stays for its next poll.
                return Poll::Pending;
            }
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    coop::refund();
                    self.registration.clear(ready);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => coop::refund(),
                Ok(r) => {
                    if drained(&r) {
                        self.registration.clear_drained(ready);
                    }
                    return Poll::Ready(Ok(r));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Attempts `op` once, without waiting (`try_read` and friends). On
    /// `WouldBlock`, clears `dir`'s readiness if it was set when the attempt
    /// began, so a later wait really waits for the next event; a readiness
    /// event that arrived meanwhile survives (readiness rule 1).
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let ready = self.registration.try_ready(dir);
        let result = op(&self.io);
        if let (Err(e), Some(ready)) = (&result, ready) {
            if e.kind() == io::ErrorKind::WouldBlock {
                self.registration.clear(ready);
            }
        }
        result
    }

    /// The `Pending` path of every wait. A task that is not on one of this
    /// runtime's Ms (a `block_on` thread, another executor, another runtime)
    /// would go unnoticed if none of our Ms ever polled: make sure one does
    /// (`Shared::ensure_poller`). On our own Ms nothing is needed: an M runs
    /// out of work and polls, or sysmon does within 10 ms.
    #[cold]
    fn pending<R>(&self, dir: Direction) -> Poll<io::Result<R>> {
        // For task dumps: what this G now waits on.
        let fd = sys::raw_number(self.io.as_source());
        crate::task::wait::note(match dir {
            Direction::Read => crate::task::wait::Wait::Read(fd),
            Direction::Write => crate::task::wait::Wait::Write(fd),
        });
        let on_own_m = Worker::with_current(|w| w.is_some_and(|w| w.is_for(&self.shared)));
        if !on_own_m {
            if self.shared.is_shutdown() {
                return Poll::Ready(Err(io::Error::other(
                    "the gmp runtime this socket was created in has shut down: no M is left \
                     to poll the network for it",
                )));
            }
            self.shared.ensure_poller();
        }
        Poll::Pending
    }
}

#[cfg(unix)]
impl<S: AsSource> std::os::fd::AsFd for Evented<S> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.as_source()
    }
}

impl<S: AsSource + fmt::Debug> fmt::Debug for Evented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evented")
            .field("io", &self.io)
            .field("fd", &sys::raw_number(self.io.as_source()))
            .field("registration", &self.registration)
            .finish()
    }
}
