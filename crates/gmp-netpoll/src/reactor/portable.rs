//! The backend for every OS but Linux: the `polling` crate (kqueue on Apple's
//! systems and the BSDs, event ports on illumos, IOCP with AFD polling on
//! Windows, epoll on Android), behind the same small interface as `epoll.rs`.
//! The one thing it names per OS is the handle type, through `raw.rs`
//! (a descriptor on Unix, a `SOCKET` on Windows).
//!
//! Built on Linux too with `RUSTFLAGS="--cfg gmp_polling"`, so the reactor's
//! and gmp-exec's tests run against it where CI runs (`ci/polling.sh`, in
//! `.ci/run`; with [`ONESHOT_ENV`](super::ONESHOT_ENV) set, on the oneshot
//! path too).
//!
//! `polling` reports readability, writability, a hang-up (`is_interrupt`) and
//! an error, but not a read side closed by the peer apart from readability,
//! nor urgent data apart from readability: events never carry `READ_CLOSED`
//! or `PRIORITY`, and [`REPORTS_READ_CLOSED`] tells the read path not to
//! trust a short read. Sources are edge-triggered where `polling` supports it
//! (kqueue, epoll) and oneshot elsewhere (event ports, IOCP/AFD).

use std::io;
use std::time::Duration;

use polling::{Event, PollMode};

use super::BorrowedSource;
use crate::readiness::{ERROR, HUP, READABLE, WRITABLE};

/// The backend's name, for `Debug`.
pub(crate) const NAME: &str = "polling";

/// A peer's close arrives as plain readability here.
pub(crate) const REPORTS_READ_CLOSED: bool = false;

/// The OS poller: `polling::Poller`.
pub(crate) struct Poller(polling::Poller);

/// The buffer a wait fills.
pub(crate) struct Events(polling::Events);

impl Events {
    /// An empty buffer.
    pub(crate) fn new() -> Events {
        Events(polling::Events::new())
    }

    /// The events of the last wait as `(key, readiness flags)` (`polling`
    /// leaves its own wake-up out).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.0.iter().map(|event| {
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
            (event.key, flags)
        })
    }
}

impl Poller {
    /// A new OS poller.
    pub(crate) fn new() -> io::Result<Poller> {
        polling::Poller::new().map(Poller)
    }

    /// Whether sources can be registered edge-triggered.
    pub(crate) fn supports_edge(&self) -> bool {
        self.0.supports_edge()
    }

    /// Registers `fd` under `key` for both directions, edge-triggered or
    /// oneshot.
    ///
    /// # Safety
    ///
    /// `fd` must be [deleted](Poller::delete) before it is closed
    /// (`polling::Poller::add`'s contract).
    pub(crate) unsafe fn add(
        &self,
        fd: BorrowedSource<'_>,
        key: usize,
        edge: bool,
    ) -> io::Result<()> {
        let mode = if edge {
            PollMode::Edge
        } else {
            PollMode::Oneshot
        };
        // SAFETY: our caller promises to delete `fd` before closing it.
        unsafe { self.0.add_with_mode(&fd, Event::all(key), mode) }
    }

    /// Oneshot mode: arms `fd` for one event in the directions asked for.
    pub(crate) fn rearm(
        &self,
        fd: BorrowedSource<'_>,
        key: usize,
        read: bool,
        write: bool,
    ) -> io::Result<()> {
        self.0
            .modify_with_mode(fd, Event::new(key, read, write), PollMode::Oneshot)
    }

    /// Removes `fd` from the poller.
    pub(crate) fn delete(&self, fd: BorrowedSource<'_>) -> io::Result<()> {
        self.0.delete(fd)
    }

    /// Waits for events into `events` (replacing what it held); `polling`
    /// retries `EINTR` itself.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.0.clear();
        self.0.wait(&mut events.0, timeout).map(drop)
    }

    /// Ends the current wait, or the next one.
    pub(crate) fn notify(&self) -> io::Result<()> {
        self.0.notify()
    }
}
