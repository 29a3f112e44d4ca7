//! gmp's async scheduler: Go's G/M/P model running Rust futures.
//!
//! Each spawned future is a **G** (a [task] in one allocation).
//! **Ms** are OS threads that run the scheduling loop; each must hold a **P** to
//! run Gs, and there are exactly `procs` Ps (Go's `GOMAXPROCS`). A P owns a
//! lock-free run queue with a `runnext` slot (from `gmp-core`); a G spawned or
//! woken on an M goes to that M's P and runs next, inheriting the time slice,
//! so message-passing pairs run back to back on one core. Idle Ms steal half
//! of another P's queue; when there is nothing to steal they give their P back
//! and park, costing no CPU; a submission that finds an idle P and no spinning M
//! wakes one. The scheduler essay (`src/sched/mod.rs`) walks through it with Go's
//! names (`schedule`, `findrunnable`, `wakep`, `startm`, `stopm`).
//!
//! The public surface is tokio's, so `tokio::spawn` can become
//! `gmp_exec::spawn`:
//!
//! ```
//! let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
//! rt.block_on(async {
//!     let handles: Vec<_> = (0..10u64)
//!         .map(|i| gmp_exec::spawn(async move { i * i }))
//!         .collect();
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await.unwrap();
//!     }
//!     assert_eq!(sum, 285);
//! });
//! ```
//!
//! Outside any runtime, [`spawn`] and [`block_on`] use a default runtime started
//! on first use, as Go and smol do.
//!
//! | Go (`runtime/proc.go`) | here |
//! | --- | --- |
//! | `g`, `casgstatus`, `goexit0` | [`task`]: the cell, its state word, `complete` |
//! | `newproc`, `runqput(.., next=true)`, `ready` | `Shared::spawn`, `Worker::spawn_local`, `Worker::schedule_local` |
//! | `schedule`, `execute`, `findrunnable`, `resetspinning` | `sched::worker` |
//! | `wakep`, `startm`, `newm`, `stopm`, `pidleput`/`pidleget` | `sched::idle` |
//! | `allgs` | the live-task registry (`task::registry`) |
//! | `GOMAXPROCS` | [`Builder::procs`], `GMP_MAXPROCS` (at most [`MAX_PROCS`]) |
//! | `chan.go`'s `hchan` (`recvq`, `sendq`) | [`chan`] |
//!
//! # Platforms
//!
//! Every Unix and Windows. What differs is behind `cfg`s that name the
//! platform, each with its fallback said where it is: the netpoller
//! (gmp-netpoll: epoll on Linux, `polling` elsewhere), the socket calls
//! (`net/sys/`: one module per OS family; Unix-domain sockets on Unix only),
//! sysmon's retake (`sched/barrier.rs`: `membarrier` on Linux,
//! `FlushProcessWriteBuffers` on Windows, fences on both sides elsewhere), Linux's timer slack
//! and coarse clock (skipped elsewhere), and the `coro` module: coroutine Gs
//! need the default `coro` feature (gmp-coro's stacks: `mmap` on Unix,
//! `VirtualAlloc` on Windows); without it, no G is a coroutine.

#![warn(missing_docs)]
// Without coroutine Gs, the scheduler's binding machinery (bound Gs, their
// mailboxes, `lock_os_thread`, a coroutine's yield) has no caller: it is
// called only from `coro.rs`. The default build, which has them, still
// reports dead code.
#![cfg_attr(not(all(feature = "coro", any(unix, windows))), allow(dead_code))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(fuzzing)]
#[doc(hidden)]
#[path = "fuzz_harness.rs"]
pub mod __fuzz;
mod block_on;
mod blocking;
#[cfg(not(loom))]
pub mod chan;
mod clock;
mod config;
mod context;
mod coop;
#[cfg(all(feature = "coro", any(unix, windows)))]
pub mod coro;
/// Without coroutine Gs (the `coro` feature is off, or the platform is
/// neither Unix nor Windows): no G is a coroutine, so the
/// blocking-style paths that would park one never do.
#[cfg(not(all(feature = "coro", any(unix, windows))))]
mod coro {
    /// Never: there are no coroutine Gs in this build.
    pub(crate) fn is_coroutine() -> bool {
        false
    }

    /// Unreachable: only called when [`is_coroutine`] is true.
    pub(crate) fn wait<F: std::future::Future>(_fut: F) -> F::Output {
        unreachable!("gmp was built without coroutine Gs")
    }
}
mod debug;
mod dump;
#[cfg(not(loom))]
pub mod fs;
#[cfg(all(feature = "hyper", any(unix, windows), not(loom)))]
mod hyper_rt;
#[cfg(all(unix, not(loom)))]
pub mod io;
#[cfg(not(loom))]
mod join_set;
#[cfg(not(loom))]
mod local;
#[cfg(all(test, loom))]
mod loom_tests;
mod metrics;
#[cfg(all(any(unix, windows), not(loom)))]
pub mod net;
#[cfg(all(unix, not(loom)))]
pub mod process;
mod runtime;
pub(crate) mod sched;
#[cfg(all(unix, not(loom)))]
pub mod signal;
mod sync;
pub mod task;
mod task_builder;
mod task_local;
#[cfg(not(loom))]
pub mod time;
#[cfg(feature = "tokio-compat")]
mod tokio_compat;
pub mod trace;
mod yield_now;

use std::future::Future;
use std::panic::Location;

pub use context::EnterGuard;
pub use debug::DEBUG_ENV;
pub use dump::{Dump, TaskDump, TaskState};
pub use metrics::{Metrics, PMetrics};
pub use runtime::{Builder, Handle, Runtime, UnhandledPanic, MAXPROCS_ENV, MAX_PROCS, MAX_THREADS};
pub use task::{AbortHandle, Id, JoinError, JoinHandle};
pub use yield_now::{yield_now, YieldNow};

/// Spawns a future as a new task (a G) and returns its [`JoinHandle`].
///
/// On one of a runtime's Ms the task goes to that M's P and runs next; inside
/// a `block_on` or `enter` it goes to that runtime; anywhere else, to the
/// default runtime, which starts on first use.
///
/// ```
/// let handle = gmp_exec::spawn(async { "from the default runtime" });
/// assert_eq!(gmp_exec::block_on(handle).unwrap(), "from the default runtime");
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    context::spawn(future, location, None)
}

/// Runs a blocking closure on the current runtime's blocking pool, whose
/// threads are not Ms: the Ps keep running async tasks meanwhile.
///
/// ```
/// let len = gmp_exec::block_on(gmp_exec::spawn_blocking(|| {
///     std::fs::read_to_string("/proc/self/status").map(|s| s.len()).unwrap_or(0)
/// }))
/// .unwrap();
/// # let _ = len;
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = Location::caller();
    context::with_current_shared(|shared| runtime::spawn_blocking_on(shared, f, location))
}

/// Runs a blocking call on the current M, first handing the M's P to another
/// M so the other tasks of that P keep running (Go's `entersyscallblock`).
///
/// Unlike `spawn_blocking`, the closure may borrow from the task, and it runs
/// on this thread. When it returns, the M takes a P back (its old one if it is
/// idle). Outside a runtime's M, `f` simply runs.
///
/// ```
/// # gmp_exec::Runtime::new().unwrap().block_on(async {
/// let data = vec![1, 2, 3];
/// let sum = gmp_exec::spawn(async move {
///     gmp_exec::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(1));
///         data.iter().sum::<i32>()
///     })
/// })
/// .await
/// .unwrap();
/// assert_eq!(sum, 6);
/// # });
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    sched::syscall::block_in_place(f)
}

/// Marks a call that usually returns quickly but may block (Go's
/// `entersyscall`): the M keeps its P, and only if the call outlasts one of
/// sysmon's looks (20 µs to 10 ms) does sysmon hand the P to another M. Costs two
/// stores and a load when the call is quick.
///
/// ```
/// # gmp_exec::Runtime::new().unwrap().block_on(async {
/// let n = gmp_exec::spawn(async {
///     gmp_exec::syscall(|| std::fs::metadata("/").map(|m| m.is_dir()))
/// })
/// .await
/// .unwrap()
/// .unwrap();
/// assert!(n);
/// # });
/// ```
pub fn syscall<F: FnOnce() -> R, R>(f: F) -> R {
    sched::syscall::syscall(f)
}

/// Runs a future to completion on the calling thread, in the current runtime's
/// context (the default runtime outside any other).
///
/// # Panics
///
/// If called from inside a runtime's M, or inside another `block_on`.
///
/// ```
/// let n = gmp_exec::block_on(async {
///     let h = gmp_exec::spawn(async { 10 });
///     h.await.unwrap() + 1
/// });
/// assert_eq!(n, 11);
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    Handle::current().block_on(future)
}
