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

#![warn(missing_docs)]

pub use gmp_exec::{
    block_in_place, block_on, spawn, spawn_blocking, syscall, yield_now, AbortHandle, Builder,
    Dump, EnterGuard, Handle, Id, JoinError, JoinHandle, Metrics, PMetrics, Runtime, TaskDump,
    TaskState, UnhandledPanic, YieldNow, DEBUG_ENV, MAXPROCS_ENV,
};
pub use gmp_macros::{main, test};

/// Task handles and errors (tokio's `tokio::task` names).
pub mod task {
    pub use gmp_exec::task::{consume_budget, AbortHandle, Builder, Id, JoinError, JoinHandle};
    pub use gmp_exec::{block_in_place, spawn, spawn_blocking, yield_now};
}

/// Execution traces: record what every P ran and write Chrome trace-event JSON
/// (open it in Perfetto, or turn it into a self-contained page with `gmp-trace`).
pub mod trace {
    pub use gmp_exec::trace::{start, stop, TraceStats};
}

pub use gmp_exec::time;

#[cfg(unix)]
pub use gmp_exec::net;
