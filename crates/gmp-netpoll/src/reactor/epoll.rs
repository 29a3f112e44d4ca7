//! The Linux backend: one epoll instance and one eventfd, written directly on
//! `libc`.
//!
//! # Why not the `polling` crate here
//!
//! The reactor's hot path is one wait per scheduling round that finds nothing
//! local: a searching M polls without blocking, the last idle M blocks. In
//! polling 3.11 every `Poller::wait` on Linux makes five system calls, whatever
//! its timeout, even zero: `timerfd_settime` and an `epoll_ctl(MOD)` to arm its
//! timerfd, the `epoll_wait`, then a `read` of its eventfd and another
//! `epoll_ctl(MOD)` to re-arm that (its notifier is oneshot). And it never asks
//! for `EPOLLRDHUP`, so a peer's close looks like plain readability, which
//! stops the stream read path from trusting a short read (see below). Both are
//! reasonable for a portable crate and wrong for a scheduler's inner loop, so
//! on Linux, where the whole backend is four system calls, we write it
//! ourselves and keep `polling` for every other OS (`portable.rs`).
//!
//! | per call | polling 3.11 | here |
//! | --- | --- | --- |
//! | wait, zero timeout | 5 | 1 (`epoll_wait(…, 0)`) |
//! | wait, timed | 5 | 1 (`epoll_pwait2`, or `epoll_wait` before Linux 5.11) |
//! | wait, no timeout | 5 | 1 (`epoll_wait(…, -1)`) |
//! | notify a blocked thread | 1 (`write`) | 1 (`write`) |
//!
//! # Sources
//!
//! Registered once, edge-triggered, for `EPOLLIN | EPOLLOUT | EPOLLRDHUP |
//! EPOLLPRI | EPOLLET` (`EPOLLERR` and `EPOLLHUP` are always reported), with
//! the reactor's key as the event's data. Each flag maps to one bit of the
//! readiness word (`readiness.rs`): `EPOLLRDHUP` to `READ_CLOSED`,
//! `EPOLLPRI` to `PRIORITY`. Go registers the same set without `EPOLLPRI`; we
//! ask for it because it is the one thing besides an empty queue that ends a
//! TCP read short (the read stops at the urgent mark), and the stream read
//! path clears readiness after a short read unless the token says otherwise.
//!
//! Oneshot mode (`EPOLLONESHOT`, re-armed with `EPOLL_CTL_MOD`) exists too,
//! only so the reactor's oneshot path, which event ports use through
//! `polling`, is tested on Linux (`Reactor::new_oneshot`).
//!
//! # The wake-up: an eventfd registered once, edge-triggered, never read
//!
//! `notify` writes 1 to an eventfd (`EFD_NONBLOCK | EFD_CLOEXEC`) registered
//! `EPOLLIN | EPOLLET`. One might expect that a write to a counter that is
//! already non-zero makes no new edge, so that the wait reporting it must
//! read it back to zero. It is not so: epoll's "edge" is not a change of
//! level seen by polling the file, it is a wake-up of the file's wait queue,
//! which queues the registration on the ready list again. An eventfd wakes
//! its queue on every write that adds to the counter, so every write is an
//! edge, whatever the count was; a reported edge is gone from the ready list
//! until the next write. The counter merely grows: it would need 2^64 - 2
//! notifications (each one a blocked poll, thanks to the reactor's wake
//! word) to fill, and `notify` handles that anyway (a full counter refuses
//! the write with `EAGAIN`: read it to zero, write again).
//! `a_write_to_a_non_zero_eventfd_is_a_new_edge` checks this on the running
//! kernel.
//!
//! So the wait costs no system call for the wake-up, where reading to reset
//! (Go does, its eventfd being level-triggered) costs a `read` per
//! notified wait. What we give up: a notification written after the wait
//! it meant to interrupt had already returned leaves an edge for a later
//! wait, which then returns early with no event. Reading would not prevent
//! that either (the write can land after the read), and every caller of
//! `Reactor::poll` treats an early return as a spurious wake-up.
//!
//! # Timeouts
//!
//! To the nanosecond with no timerfd: `epoll_pwait2` takes a `timespec`
//! (Linux 5.11). Where it is missing (`ENOSYS`, or `EPERM` from a seccomp
//! filter that predates it) the first timed wait finds out, remembers it for
//! the process, and every timed wait from then on is `epoll_wait` with the
//! timeout rounded *up* to the next millisecond, so no wait ends before its
//! deadline (Go rounds down and lets the scheduler loop again; a timer that
//! fires early would have to be re-armed). A zero timeout is one
//! `epoll_wait(…, 0)`; none is `epoll_wait(…, -1)`. A wait interrupted by a
//! signal (`EINTR`) waits again for what is left of its timeout.
//!
//! # Go
//!
//! | Go (`netpoll_epoll.go`) | here |
//! | --- | --- |
//! | `netpollinit` (`epollcreate1`, `eventfd`) | [`Poller::new`] |
//! | `netpollopen` | [`Poller::add`] |
//! | `netpollclose` | [`Poller::delete`] |
//! | `netpoll(delay)`, `epollwait` | [`Poller::wait`] |
//! | `netpollBreak`'s eventfd write | [`Poller::notify`] |

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::readiness::{ERROR, HUP, PRIORITY, READABLE, READ_CLOSED, WRITABLE};

/// The backend's name, for `Debug`.
pub(crate) const NAME: &str = "epoll";

/// This backend tells a peer's close apart from readability (`EPOLLRDHUP`).
pub(crate) const REPORTS_READ_CLOSED: bool = true;

/// The event data of the wake-up eventfd. No registration has this key
/// (`keys.rs` stops slot indices short of it).
const NOTIFY_KEY: u64 = u64::MAX;

/// Events a source is registered for (besides the mode flag).
const READ_INTEREST: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) as u32;
const WRITE_INTEREST: u32 = libc::EPOLLOUT as u32;

/// How many events one wait takes at most (the rest wait for the next one).
const EVENTS_CAPACITY: usize = 1024;

/// `epoll_pwait2` is missing (set once by the first wait that finds out).
///
/// A fact about the kernel, the same for every reactor in the process, and
/// only ever set: any thread that reads a stale `false` finds out again.
/// Relaxed, and std's atomic rather than the `sync` facade's: it is no part
/// of a protocol, and the reactor is not built under loom.
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

/// The OS poller: an epoll instance and its wake-up eventfd. See the module
/// docs.
pub(crate) struct Poller {
    epoll: OwnedFd,
    /// Registered edge-triggered under [`NOTIFY_KEY`]; written, never read
    /// (module docs).
    wake: OwnedFd,
}

/// The buffer a wait fills.
pub(crate) struct Events {
    /// Its length is the number of events the last wait returned: the kernel
    /// initialised exactly those.
    list: Vec<libc::epoll_event>,
}

impl Events {
    /// An empty buffer for [`EVENTS_CAPACITY`] events.
    pub(crate) fn new() -> Events {
        Events {
            list: Vec::with_capacity(EVENTS_CAPACITY),
        }
    }

    /// The events of the last wait as `(key, readiness flags)`, the wake-up
    /// left out.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.list.iter().filter_map(|ev| {
            // By value: `epoll_event` is packed on x86-64, so no references
            // to its fields.
            let (bits, key) = (ev.events, ev.u64);
            (key != NOTIFY_KEY).then(|| (key as usize, readiness(bits)))
        })
    }
}

/// The readiness flags (`readiness.rs`) that an event's `bits` report.
fn readiness(bits: u32) -> usize {
    let bit = |flag: i32| bits & flag as u32 != 0;
    let mut flags = 0;
    if bit(libc::EPOLLIN) {
        flags |= READABLE;
    }
    if bit(libc::EPOLLOUT) {
        flags |= WRITABLE;
    }
    if bit(libc::EPOLLRDHUP) {
        flags |= READ_CLOSED;
    }
    if bit(libc::EPOLLPRI) {
        flags |= PRIORITY;
    }
    if bit(libc::EPOLLHUP) {
        flags |= HUP;
    }
    if bit(libc::EPOLLERR) {
        flags |= ERROR;
    }
    flags
}

/// `Err(last_os_error)` if `ret` is negative.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `timeout` in milliseconds for `epoll_wait`, rounded up so the wait never
/// ends early; a timeout too long for a `c_int` (24.8 days) is cut to that
/// (the caller sees an early return with no events, and waits again).
fn millis_up(timeout: Duration) -> libc::c_int {
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
}

/// The kernel's `struct __kernel_timespec`, which `epoll_pwait2` takes: 64-bit
/// fields on every architecture (libc's `timespec` is 32-bit on some).
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

impl Poller {
    /// An epoll instance with the wake-up eventfd registered.
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: `epoll_create1` takes no pointers.
        let epoll = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `epoll` is a descriptor we just opened and own alone.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        // SAFETY: `eventfd` takes no pointers.
        let wake = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: as for `epoll`.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        let poller = Poller { epoll, wake };
        poller.ctl(
            libc::EPOLL_CTL_ADD,
            poller.wake.as_raw_fd(),
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            NOTIFY_KEY,
        )?;
        Ok(poller)
    }

    /// epoll supports edge-triggered registration.
    pub(crate) fn supports_edge(&self) -> bool {
        true
    }

    /// `epoll_ctl(op)` for `fd` with `events` and `key`.
    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: key };
        // SAFETY: `event` is a valid `epoll_event` for the duration of the
        // call (the kernel only reads it, and ignores it for `DEL`); the
        // descriptors are plain integers to the kernel, which checks them.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Registers `fd` under `key` for both directions: edge-triggered, or
    /// (for the oneshot tests) oneshot, to be re-armed with
    /// [`rearm`](Poller::rearm) after each event.
    ///
    /// # Safety
    ///
    /// `fd` must be [deleted](Poller::delete) before it is closed (the
    /// contract of [`Reactor::register`](super::Reactor::register)). epoll
    /// itself would survive a broken promise (it forgets a registration when
    /// the open file goes away), but the contract is the backend's, and the
    /// `polling` backend needs it.
    pub(crate) unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize, edge: bool) -> io::Result<()> {
        let mode = if edge {
            libc::EPOLLET
        } else {
            libc::EPOLLONESHOT
        };
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            READ_INTEREST | WRITE_INTEREST | mode as u32,
            key as u64,
        )
    }

    /// Oneshot mode: arms `fd` for one event in the directions asked for.
    pub(crate) fn rearm(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        read: bool,
        write: bool,
    ) -> io::Result<()> {
        let mut events = libc::EPOLLONESHOT as u32;
        if read {
            events |= READ_INTEREST;
        }
        if write {
            events |= WRITE_INTEREST;
        }
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_raw_fd(), events, key as u64)
    }

    /// Removes `fd` from the epoll instance.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_raw_fd(), 0, 0)
    }

    /// Waits for events into `events` (replacing what it held): `None` until
    /// one comes, `Some(ZERO)` not at all, `Some(d)` for at most `d`, never
    /// less (module docs). A notification ends the wait with no event.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        // Only for `EINTR`: what is left of the timeout after a signal.
        let deadline = timeout
            .filter(|t| !t.is_zero())
            .and_then(|t| Instant::now().checked_add(t));
        let mut timeout = timeout;
        loop {
            match self.wait_once(events, timeout) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if let Some(deadline) = deadline {
                        timeout = Some(deadline.saturating_duration_since(Instant::now()));
                    }
                }
                result => return result,
            }
        }
    }

    /// One wait system call.
    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let n = match timeout {
            None => self.epoll_wait(events, -1)?,
            Some(t) if t.is_zero() => self.epoll_wait(events, 0)?,
            Some(t) => self.timed_wait(events, t, !NO_PWAIT2.load(Relaxed))?,
        };
        // SAFETY: the kernel wrote the first `n` entries, and `n` is at most
        // the capacity it was given.
        unsafe { events.list.set_len(n) };
        Ok(())
    }

    /// A wait of `timeout` (not zero): with `epoll_pwait2` if `pwait2` and
    /// the kernel has it, else with `epoll_wait` to the millisecond above.
    /// Returns the number of events written.
    fn timed_wait(
        &self,
        events: &mut Events,
        timeout: Duration,
        pwait2: bool,
    ) -> io::Result<usize> {
        if pwait2 {
            match self.epoll_pwait2(events, timeout) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    NO_PWAIT2.store(true, Relaxed);
                }
                result => return result,
            }
        }
        self.epoll_wait(events, millis_up(timeout))
    }

    fn epoll_wait(&self, events: &mut Events, timeout_ms: libc::c_int) -> io::Result<usize> {
        let list = &mut events.list;
        // SAFETY: the kernel writes at most `capacity` entries into the
        // vector's spare capacity, which is valid for writes of that many;
        // `wait_once` sets the length to what it wrote.
        let n = check(unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                list.as_mut_ptr(),
                list.capacity() as libc::c_int,
                timeout_ms,
            )
        })?;
        Ok(n as usize)
    }

    fn epoll_pwait2(&self, events: &mut Events, timeout: Duration) -> io::Result<usize> {
        let list = &mut events.list;
        let ts = KernelTimespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        // SAFETY: as in `epoll_wait` for the events; `ts` is a valid
        // `__kernel_timespec` that the kernel only reads; a null signal mask
        // means none (its size is then not looked at).
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epoll.as_raw_fd(),
                list.as_mut_ptr(),
                list.capacity() as libc::c_int,
                &ts as *const KernelTimespec,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Ends the current wait, or the next one if none is in progress: one
    /// write to the eventfd (module docs).
    pub(crate) fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        loop {
            // SAFETY: `one` is valid for reads of its 8 bytes.
            let n = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
            if n >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                // The counter is full (after 2^64 - 2 notifications): reset it
                // and write again, so the write makes its edge.
                io::ErrorKind::WouldBlock => self.reset_wake()?,
                io::ErrorKind::Interrupted => {}
                _ => return Err(err),
            }
        }
    }

    /// Reads the eventfd's counter back to zero.
    fn reset_wake(&self) -> io::Result<()> {
        let mut count = [0u8; 8];
        // SAFETY: `count` is valid for writes of its 8 bytes.
        let n = unsafe { libc::read(self.wake.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        match n {
            0.. => Ok(()),
            _ => match io::Error::last_os_error() {
                // Already zero (another notifier reset it).
                e if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                e => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Events, Poller};

    /// Waits with `timeout` and returns whether the wake-up was reported.
    fn woken(poller: &Poller, timeout: Option<Duration>) -> bool {
        let mut events = Events::new();
        poller.wait(&mut events, timeout).unwrap();
        events.list.iter().any(|ev| {
            let key = ev.u64;
            key == super::NOTIFY_KEY
        })
    }

    #[test]
    fn a_write_to_a_non_zero_eventfd_is_a_new_edge() {
        // The eventfd is never read, so from the second notification on its
        // counter is already non-zero when `notify` writes: each write must
        // still reach the next wait, exactly once.
        let poller = Poller::new().unwrap();
        for round in 1..=3 {
            poller.notify().unwrap();
            assert!(woken(&poller, None), "notification {round} lost");
            assert!(
                !woken(&poller, Some(Duration::ZERO)),
                "notification {round} reported twice"
            );
        }
    }

    #[test]
    fn a_full_eventfd_counter_is_reset_and_still_wakes() {
        let poller = Poller::new().unwrap();
        // Fill the counter to its maximum, 2^64 - 2, without `notify`.
        let max = (u64::MAX - 1).to_ne_bytes();
        // SAFETY: `max` is valid for reads of its 8 bytes.
        let n = unsafe {
            libc::write(
                std::os::fd::AsRawFd::as_raw_fd(&poller.wake),
                max.as_ptr().cast(),
                8,
            )
        };
        assert_eq!(n, 8);
        assert!(woken(&poller, Some(Duration::ZERO)));
        poller.notify().unwrap();
        assert!(woken(&poller, Some(Duration::ZERO)), "a full counter");
    }

    #[test]
    fn the_millisecond_fallback_never_ends_a_wait_early() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        for micros in [1, 300, 1_200] {
            let timeout = Duration::from_micros(micros);
            let start = Instant::now();
            let n = poller.timed_wait(&mut events, timeout, false).unwrap();
            assert_eq!(n, 0);
            assert!(
                start.elapsed() >= timeout,
                "a {timeout:?} wait returned after {:?}",
                start.elapsed()
            );
        }
        assert_eq!(super::millis_up(Duration::from_nanos(1)), 1);
        assert_eq!(super::millis_up(Duration::from_millis(2)), 2);
        assert_eq!(super::millis_up(Duration::from_nanos(2_000_001)), 3);
        assert_eq!(super::millis_up(Duration::MAX), libc::c_int::MAX);
    }

    #[test]
    fn a_nanosecond_timed_wait_is_never_early() {
        // The `epoll_pwait2` path (where the kernel has it; else the fallback
        // again): a sub-millisecond timeout, kept to the nanosecond.
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        for nanos in [1, 200_000, 1_500_000] {
            let timeout = Duration::from_nanos(nanos);
            let start = Instant::now();
            let n = poller.timed_wait(&mut events, timeout, true).unwrap();
            assert_eq!(n, 0);
            assert!(start.elapsed() >= timeout, "{:?}", start.elapsed());
        }
    }
}
