//! gmp's network poller and timers: the machinery under `gmp::net` and
//! `gmp::time`, with no dependency on the scheduler.
//!
//! In Go, a goroutine that reads from a socket that has no data, or that sleeps,
//! does not hold its thread: it parks, and the scheduler finds it again in
//! `findrunnable`, which checks the P's timers, polls the network without
//! blocking, steals, and — when nothing is left — lets one M block in the
//! network poller with a timeout equal to the next timer. Readiness and expiry
//! turn into a batch of runnable Gs, injected into the global queue at once.
//! This crate is the part of that story below the scheduler:
//!
//! * a [`Reactor`] (Go's `netpoll`): one OS poller per runtime, sockets
//!   registered once, edge-triggered, through an RAII [`Registration`]; a
//!   task waits on a direction with [`Registration::poll_ready`] /
//!   [`Registration::poll_io`], and [`Reactor::poll`] turns OS events into a
//!   `Vec<Waker>`;
//! * [`Timers`] (Go's per-P timer heaps, 1.14+): one 4-ary min-heap per P,
//!   nanosecond deadlines, O(log n) insertion and true removal, and a per-shard
//!   earliest deadline readable without a lock; a task waits on a
//!   [`TimerEntry`] with [`TimerEntry::poll_fired`].
//!
//! Both hand wakers back to the caller instead of waking them, so the scheduler
//! can inject the whole batch into its run queues under one lock (Go's
//! `injectglist`) and start only as many Ms as there are new Gs.
//!
//! # How the scheduler drives it
//!
//! ```text
//! schedule / find_runnable (one M, holding P p):
//!     timers.run(p, now, &mut woken)            // Go's checkTimers
//!     ... local queue, global queue ...
//!     if reactor.waiters() > 0 { reactor.poll(Some(ZERO), &mut woken) }   // non-blocking
//!     ... steal ...
//!     last M to go idle:
//!         reactor.poll(timers.next_deadline() - now, &mut woken)           // blocks
//! spawn / wake from outside, timers.insert(..) == true:
//!     reactor.notify()                          // Go's wakeNetPoller / netpollBreak
//! ```
//!
//! # Go
//!
//! | Go | here |
//! | --- | --- |
//! | `runtime/netpoll.go`, `netpoll_epoll.go` | [`Reactor`], [`Registration`] (module [`reactor`]) |
//! | `runtime/time.go` (per-P heaps) | [`Timers`], [`TimerEntry`] (module [`timer`]) |
//!
//! Each module's essay maps Go's functions to ours and says where we differ:
//! the poller's wake-up word coalesces notifications and skips the system call
//! when nobody is blocked; timers are removed at once instead of being marked
//! deleted; the waker slot (`waker.rs`) is our own so loom can check it.
//!
//! # What is not here
//!
//! The user-facing types (`TcpStream`, `sleep`, `interval`) live above the
//! scheduler, which owns the `Reactor` and `Timers` and knows which P is
//! running.
//!
//! # Checking
//!
//! Built with `RUSTFLAGS="--cfg loom"`, the timer entry protocol, the readiness
//! word and the waker slot run on loom's atomics and locks (the private `sync`
//! facade). `tests/loom_timers.rs` explores firing racing cancellation racing a
//! task's `poll_fired`, and moves between shards racing a `run`; the `loom_`
//! unit tests in `readiness.rs` explore an event racing a task's wait and an
//! event racing a `clear`. The reactor itself is not built under loom (loom
//! cannot model the OS poller); its tests run on real sockets.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Under loom only its own models use it: the reactor is not built.
#[cfg_attr(loom, allow(dead_code))]
mod readiness;
mod sync;
mod waker;

#[cfg(all(any(unix, windows), not(loom)))]
pub mod reactor;
pub mod timer;

#[cfg(all(any(unix, windows), not(loom)))]
pub use reactor::{BorrowedSource, RawSource, Reactor, Registration};
pub use readiness::{Direction, Ready};
pub use timer::{TimerEntry, Timers};
