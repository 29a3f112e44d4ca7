//! Unix signals as async streams, delivered through the netpoller (tokio's
//! `tokio::signal`): [`ctrl_c`], and [`signal`] with a [`SignalKind`] for a
//! [`Signal`] that yields once per delivery.
//!
//! ```
//! use gmp_exec::signal::{signal, SignalKind};
//!
//! # gmp_exec::block_on(async {
//! let mut usr1 = signal(SignalKind::user_defined1())?;
//! // SAFETY: raising a signal a handler is installed for.
//! unsafe { libc::raise(libc::SIGUSR1) };
//! usr1.recv().await;
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! # How a signal reaches a G
//!
//! A signal handler may do almost nothing: no locks, no allocation, no
//! wakers. So, as Go's `os/signal` and tokio do, the handler only marks the
//! signal pending (an atomic store) and writes a byte to a process-wide
//! *self-pipe*; the rest happens in ordinary code:
//!
//! 1. The first [`signal`] call for a number installs the handler, once per
//!    process, through [`signal-hook-registry`](signal_hook_registry): a
//!    signal's `sigaction` is process-wide, and another crate (or another
//!    runtime) may want the same signal, so one well-kept registry chains
//!    every party's action behind a single handler instead of each
//!    overwriting the other's.
//! 2. Each [`Signal`] registers a `dup` of the pipe's read end with its
//!    runtime's netpoller, as a socket is registered (an [`AsyncFd`]). A
//!    byte in the pipe is an edge event for every such registration, so
//!    every listener's G is woken, on whatever runtime it lives.
//! 3. A woken listener drains the pipe and *dispatches*: each signal found
//!    pending moves its delivery count on by one and wakes every listener
//!    of that signal (their wakers are kept per signal). A listener is
//!    ready when the count differs from the one it saw last.
//!
//! Several listeners of one signal therefore all hear each delivery; a
//! delivery that comes between [`signal`] and the first `recv` is kept
//! (the listener starts from the count at registration, and the pipe's byte
//! waits in the pipe); deliveries that come faster than a listener reads
//! are merged into one, as the OS merges them (tokio does the same).
//!
//! Listeners in coroutine Gs wait with `coro::wait(sig.recv())`.
//!
//! # What changes for the process
//!
//! Once a handler is installed for a signal it stays for the life of the
//! process, also after every [`Signal`] is dropped: the signal's default
//! action (for `SIGINT` and `SIGTERM`, ending the process) no longer runs.
//! A program that wants the default back after its graceful shutdown exits
//! itself. The signals no handler may take (`SIGKILL`, `SIGSTOP`) or that
//! only the faulting thread can handle (`SIGSEGV`, `SIGILL`, `SIGFPE`) are
//! refused with an `InvalidInput` error.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::io::AsyncFd;

/// Signal numbers we keep a slot for: 1..=64 covers Linux's real-time
/// signals (`SIGRTMAX` is 64) and every other Unix's numbers.
const SLOTS: usize = 65;

/// What the process knows about one signal number.
struct Slot {
    /// The handler is installed (once; the error is kept for later calls).
    installed: OnceLock<Result<(), (io::ErrorKind, String)>>,
    /// Set by the handler, taken by a dispatch.
    pending: AtomicBool,
    /// Deliveries dispatched so far.
    count: AtomicU64,
    /// The listeners waiting, by listener id.
    waiters: Mutex<Vec<(u64, Waker)>>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            installed: OnceLock::new(),
            pending: AtomicBool::new(false),
            count: AtomicU64::new(0),
            waiters: Mutex::new(Vec::new()),
        }
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Waker)>> {
        // Nothing panics under this lock; a poisoned one is still whole.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

static SIGNALS: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

/// The self-pipe (a socket pair, nonblocking at both ends).
struct Pipe {
    read: UnixStream,
    write: UnixStream,
}

fn pipe() -> io::Result<&'static Pipe> {
    static PIPE: OnceLock<Result<Pipe, (io::ErrorKind, String)>> = OnceLock::new();
    let made = PIPE.get_or_init(|| {
        let make = || -> io::Result<Pipe> {
            let (read, write) = UnixStream::pair()?;
            read.set_nonblocking(true)?;
            write.set_nonblocking(true)?;
            Ok(Pipe { read, write })
        };
        make().map_err(|e| (e.kind(), e.to_string()))
    });
    made.as_ref()
        .map_err(|(kind, msg)| io::Error::new(*kind, format!("gmp::signal's self-pipe: {msg}")))
}

/// The signal handler's whole job (async-signal-safe: an atomic store and a
/// `write`; signal-hook-registry keeps `errno` as it was).
fn on_signal(slot: &'static Slot, write_fd: RawFd) {
    // Release: the dispatcher that reads the pipe's byte and then swaps the
    // flag sees it set (the byte's write and read order the two as well).
    slot.pending.store(true, Ordering::Release);
    let byte = 1u8;
    // SAFETY: `write` on a descriptor that stays open for the life of the
    // process (the pipe is a static), with a one-byte buffer on our stack.
    // A full pipe (`EAGAIN`) already holds a wake-up: nothing is lost.
    unsafe { libc::write(write_fd, (&byte as *const u8).cast(), 1) };
}

/// Installs the handler for `signum` once per process.
fn install(signum: libc::c_int) -> io::Result<&'static Slot> {
    if signum <= 0
        || signum as usize >= SLOTS
        || signal_hook_registry::FORBIDDEN.contains(&signum)
        || signum == libc::SIGKILL
        || signum == libc::SIGSTOP
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "signal {signum} cannot be handled (SIGKILL and SIGSTOP cannot be caught; \
                 SIGSEGV, SIGILL and SIGFPE belong to the thread that faults; numbers run \
                 from 1 to {})",
                SLOTS - 1
            ),
        ));
    }
    let slot = &SIGNALS[signum as usize];
    let pipe = pipe()?;
    let installed = slot.installed.get_or_init(|| {
        let write_fd = pipe.write.as_raw_fd();
        // SAFETY: `on_signal` is async-signal-safe (see there) and cannot
        // panic; the number was checked against the forbidden ones above.
        let registered =
            unsafe { signal_hook_registry::register(signum, move || on_signal(slot, write_fd)) };
        registered.map(|_id| ()).map_err(|e| {
            (
                e.kind(),
                format!("installing a handler for signal {signum}: {e}"),
            )
        })
    });
    installed
        .as_ref()
        .map(|()| slot)
        .map_err(|(kind, msg)| io::Error::new(*kind, msg.clone()))
}

/// Moves every pending signal's count on and wakes its listeners.
fn dispatch() {
    for slot in &SIGNALS {
        // AcqRel: Acquire pairs with the handler's Release store.
        if slot.pending.load(Ordering::Relaxed) && slot.pending.swap(false, Ordering::AcqRel) {
            // Release: a listener that reads the new count (Acquire) also
            // sees the delivery as done.
            slot.count.fetch_add(1, Ordering::Release);
            let waiters = std::mem::take(&mut *slot.waiters());
            for (_, waker) in waiters {
                waker.wake();
            }
        }
    }
}

/// A kind of Unix signal (tokio's `SignalKind`).
///
/// ```
/// use gmp_exec::signal::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGHUP), SignalKind::hangup());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by number (checked when [`signal`] is called).
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
    /// The signal's number.
    pub const fn as_raw_value(self) -> libc::c_int {
        self.0
    }
    /// `SIGALRM`.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
    /// `SIGCHLD`: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }
    /// `SIGHUP`: the terminal went away; by convention, reload the
    /// configuration.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }
    /// `SIGINT`: Ctrl-C.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }
    /// `SIGIO`.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }
    /// `SIGPIPE`.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }
    /// `SIGQUIT`.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }
    /// `SIGTERM`: the polite request to stop (what `kill` and service
    /// managers send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }
    /// `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }
    /// `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }
    /// `SIGWINCH`: the terminal was resized.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalKind({})", self.0)
    }
}

/// Listens for `kind`, from now on: a delivery after this call returns is
/// never missed, also one that comes before the first `recv`; one that came
/// before the call is not reported (as tokio's). Registers with
/// the current runtime (this M's, the entered one, or the default).
///
/// The first call for a signal installs a process-wide handler that stays
/// (see the [module docs](self)). A signal that cannot be handled
/// (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGILL`, `SIGFPE`, a number out of
/// range) is an `InvalidInput` error.
///
/// ```
/// use gmp_exec::signal::{signal, SignalKind};
/// let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let slot = install(kind.0)?;
    // A delivery that came before this call and that no listener has
    // dispatched yet (none was listening) is not this listener's: count it
    // now, before reading where this one starts.
    dispatch();
    let read = pipe()?.read.try_clone()?;
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    Ok(Signal {
        kind,
        slot,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        // Acquire: pairs with `dispatch`'s Release increment.
        seen: slot.count.load(Ordering::Acquire),
        pipe: AsyncFd::new(read)?,
    })
}

/// A stream of deliveries of one signal; see [`signal`].
///
/// ```
/// use gmp_exec::signal::{signal, SignalKind};
///
/// # gmp_exec::block_on(async {
/// let mut a = signal(SignalKind::user_defined2())?;
/// let mut b = signal(SignalKind::user_defined2())?;
/// // SAFETY: raising a signal a handler is installed for.
/// unsafe { libc::raise(libc::SIGUSR2) };
/// // Every listener hears it.
/// a.recv().await;
/// b.recv().await;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct Signal {
    kind: SignalKind,
    slot: &'static Slot,
    id: u64,
    /// The slot's count when this listener last returned (or started).
    seen: u64,
    /// A `dup` of the self-pipe's read end, on this listener's runtime.
    pipe: AsyncFd<UnixStream>,
}

impl Signal {
    /// Waits for the next delivery. `None` only if the runtime the listener
    /// was made in has shut down (nothing polls the pipe for it any more).
    /// Deliveries since the last `recv` that it did not see are merged into
    /// one.
    ///
    /// Cancel safe: a delivery is not consumed by a `recv` dropped before it
    /// returned.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        {
            // Recorded before the count is read: a dispatch after the read
            // finds the waker.
            let mut waiters = self.slot.waiters();
            match waiters.iter_mut().find(|(id, _)| *id == self.id) {
                Some((_, w)) if w.will_wake(cx.waker()) => {}
                Some((_, w)) => *w = cx.waker().clone(),
                None => waiters.push((self.id, cx.waker().clone())),
            }
        }
        loop {
            // Acquire: pairs with `dispatch`'s Release increment.
            let count = self.slot.count.load(Ordering::Acquire);
            if count != self.seen {
                self.seen = count;
                return Poll::Ready(Some(()));
            }
            match self.pipe.poll_read_ready(cx) {
                Poll::Ready(Ok(mut guard)) => {
                    let mut buf = [0u8; 64];
                    loop {
                        match guard.get_inner().read(&mut buf) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => {
                                // `WouldBlock`: drained.
                                guard.clear_ready();
                                break;
                            }
                        }
                    }
                    dispatch();
                }
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => {
                    // A listener of another runtime may have drained the
                    // byte and not yet dispatched: dispatching here too is
                    // harmless, and whoever dispatches wakes us.
                    dispatch();
                    if self.slot.count.load(Ordering::Acquire) != self.seen {
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// The signal this listener hears.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.slot.waiters().retain(|(id, _)| *id != self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Waits for Ctrl-C (`SIGINT`; tokio's `signal::ctrl_c`). The handler is
/// installed when the returned future is first polled, and stays (the
/// process no longer ends on Ctrl-C by itself: see the [module docs](self)).
///
/// ```no_run
/// # gmp_exec::block_on(async {
/// println!("serving; Ctrl-C to stop");
/// gmp_exec::signal::ctrl_c().await?;
/// println!("stopping");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    sigint
        .recv()
        .await
        .ok_or_else(|| io::Error::other("the runtime that was to deliver SIGINT has shut down"))
}
