//! gmp: Go's G/M/P scheduler rebuilt as a Rust runtime.
//!
//! Futures are **G**s; **M**s are OS threads; each M needs one of `procs`
//! **P**s to run Gs (Go's `GOMAXPROCS`). Every P has a lock-free run queue with a
//! `runnext` slot, so a G woken by the running G runs next on the same core; idle
//! Ms steal half of a busy P's queue and park when there is nothing to steal.
//!
//! The API follows tokio's, so `tokio::spawn` becomes `gmp::spawn`:
//!
//! ```
//! let answer = gmp::block_on(async {
//!     let a = gmp::spawn(async { 20 });
//!     let b = gmp::spawn(async { 22 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```
//!
//! Outside any runtime, `spawn` and `block_on` start a default runtime on first
//! use, as Go and smol do; [`Runtime::builder`] makes one with custom settings.
//!
//! | layer | crate | what |
//! | --- | --- | --- |
//! | data structures | `gmp-core` | run queues, global queue, steal order, free lists |
//! | scheduler | `gmp-exec` | Ms, Ps, spawning, stealing, parking, the task cell, `time`, `net` |
//! | netpoller | `gmp-netpoll` | the OS poller and per-P timer heaps under `time` and `net` |
//! | stackful Gs | `gmp-coro` | coroutine stacks, guard pages, context switches |
//! | attributes | `gmp-macros` | `#[gmp::main]`, `#[gmp::test]`: an `async fn` on a fresh runtime |
//! | facade | `gmp` (this crate) | what applications use |
//!
//! With the `hyper` feature, `gmp::hyper` runs hyper 1.x
//! servers and clients on gmp's sockets; with `hyper-server`,
//! `gmp::hyper::serve` serves axum (any tower service) on them, a G per
//! connection; with `tokio-io`, the `net` streams also implement tokio's
//! `AsyncRead`/`AsyncWrite`; with `tokio-compat`,
//! [`Builder::tokio_compat`] keeps crates that call `tokio::spawn` or
//! `tokio::time` working; with `tracing`, the watchdog reports through
//! `tracing`.
//!
//! A service's other needs have tokio's names, so a port is a
//! search-and-replace: [`signal`] (`ctrl_c`, `signal(SignalKind::terminate())`),
//! [`process`] (`Command`, `Child`), [`fs`], [`io::AsyncFd`](io) for any
//! descriptor, [`task::JoinSet`], [`task_local!`], [`task::LocalSet`] and
//! [`task::spawn_local`] for `!Send` futures, and paused time for tests
//! ([`time::pause`], `#[gmp::test(start_paused = true)]`).
//! `examples/graceful.rs` puts several together: a hyper server that shuts
//! down gracefully on SIGTERM or Ctrl-C.
//!
//! # Platforms
//!
//! | | Linux | Apple's systems, the BSDs, illumos | Windows |
//! | --- | --- | --- | --- |
//! | scheduler, timers, `spawn_blocking`, `block_in_place`, `syscall`, metrics, dumps, traces, `chan` | yes | yes | yes |
//! | netpoller | epoll (gmp's own) | `polling`: kqueue, event ports | `polling`: IOCP/AFD |
//! | `net`: TCP, UDP | yes | yes | yes |
//! | `net`: Unix-domain sockets | yes | yes | — |
//! | `fs`, `task::JoinSet`, `task_local!`, `task::LocalSet`, paused time | yes | yes | yes |
//! | `signal`, `process`, `io::AsyncFd`, `net::TcpSocket` | yes | yes | — |
//! | sysmon's retake of a blocked P | yes (`membarrier`) | yes (a fence on both sides: each M pays one per P-state access) | yes (`FlushProcessWriteBuffers`) |
//! | coroutine Gs (`go!`, `gmp::coro`; feature `coro`, on by default) | yes | yes | yes |
//!
//! Linux runs every test tier; the others are type-checked and linted in CI,
//! and Windows' scheduler, timer, socket and coroutine tests have run under Wine. The
//! README's platform table says exactly what ran where.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use gmp_exec::{
    block_in_place, block_on, spawn, spawn_blocking, syscall, yield_now, AbortHandle, Builder,
    Dump, EnterGuard, Handle, Id, JoinError, JoinHandle, Metrics, PMetrics, Runtime, TaskDump,
    TaskState, UnhandledPanic, YieldNow, DEBUG_ENV, MAXPROCS_ENV, MAX_PROCS, MAX_THREADS,
};
pub use gmp_macros::{main, test};

/// Task handles and errors (tokio's `tokio::task` names).
pub mod task {
    pub use gmp_exec::task::{
        consume_budget, id, spawn_local, try_id, AbortHandle, AccessError, Builder, Id, JoinError,
        JoinHandle, JoinSet, LocalJoinHandle, LocalKey, LocalSet, TaskLocalFuture,
    };
    pub use gmp_exec::{block_in_place, spawn, spawn_blocking, yield_now};
}

/// Execution traces: record what every P ran and write Chrome trace-event JSON
/// (open it in Perfetto, or turn it into a self-contained page with `gmp-trace`).
pub mod trace {
    pub use gmp_exec::trace::{start, stop, TraceStats};
}

pub use gmp_exec::chan;
pub use gmp_exec::fs;
pub use gmp_exec::task_local;
pub use gmp_exec::time;

/// Stackful Gs: blocking-style code on the same Ps as async tasks. Start one
/// with [`go!`]; inside, [`wait`](coro::wait) parks the G on any future.
///
/// With the `coro` feature (on by default), on Unix and Windows: see the crate's
/// [platform table](crate#platforms).
#[cfg(all(feature = "coro", any(unix, windows)))]
pub mod coro {
    pub use gmp_exec::coro::{
        is_coroutine, lock_os_thread, on_m_stack, preempt_requested, sleep, spawn,
        unlock_os_thread, wait, yield_now, Builder, DEFAULT_STACK_SIZE, MIN_STACK_SIZE,
    };
    pub use gmp_exec::preempt_check;
}

/// Starts a coroutine G (Go's `go` statement): runs the closure on its own
/// small, guarded stack, scheduled by the same Ps as async tasks, and returns
/// the same [`JoinHandle`] — `.await` it, or [`join`](JoinHandle::join) it
/// from blocking-style code. A panic in the closure reaches the handle as a
/// [`JoinError`]. Outside any runtime it starts the default one.
///
/// ```
/// use std::time::Duration;
/// let h = gmp::go!(move || {
///     gmp::coro::sleep(Duration::from_millis(1));
///     let (tx, rx) = futures::channel::oneshot::channel();
///     gmp::spawn(async move { tx.send(21).unwrap() });
///     gmp::coro::wait(rx).unwrap() * 2
/// });
/// assert_eq!(h.join().unwrap(), 42);
/// ```
///
/// The closure and its result must be `Send + 'static`: a G may start on any
/// M. This fails to compile:
///
/// ```compile_fail
/// let local = std::rc::Rc::new(1);
/// gmp::go!(move || *local + 1);
/// ```
///
/// For a custom stack size or a name, use [`coro::Builder`].
///
/// With the `coro` feature (on by default), on Unix and Windows.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[macro_export]
macro_rules! go {
    ($f:expr $(,)?) => {
        $crate::coro::spawn($f)
    };
}

#[cfg(any(unix, windows))]
pub use gmp_exec::net;
#[cfg(unix)]
pub use gmp_exec::{io, process, signal};

#[cfg(all(feature = "hyper", any(unix, windows)))]
pub mod hyper;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
