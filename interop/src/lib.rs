//! gmp-interop: proof, by tests, that the async ecosystem runs on gmp
//! unchanged. Not published; it has no API of its own.
//!
//! The promise "a drop-in spawn that mixes with existing futures crates"
//! holds only for crates someone has run. Each file in `tests/` takes crates
//! people use and runs them on gmp's scheduler, sockets and timers:
//!
//! | test file | crates | what it shows |
//! | --- | --- | --- |
//! | `hyper.rs` | `hyper` (HTTP/1 and HTTP/2, server and client) | 10 000 keep-alive requests, 10 000 connections of one request each, many concurrent HTTP/2 streams on one connection — all on `gmp::net` sockets through `gmp::hyper` |
//! | `futures.rs` | `futures` | `join!`, `select!`, `channel::{mpsc, oneshot}`, streams, `io::copy` over gmp TCP sockets |
//! | `smol_sync.rs` | `async-channel`, `event-listener`, `async-lock` | channels, listeners, `Mutex`, `RwLock`, `Semaphore` under contention across Ps |
//! | `tokio_sync.rs` | `tokio::sync`, `tokio-util` | tokio's runtime-agnostic primitives, and `LinesCodec` over a `Framed` gmp socket (the `tokio-io` feature) |
//! | `spawn.rs` | `futures::task::{Spawn, SpawnExt}` | executor-agnostic code spawning Gs through a `gmp::Handle` |
//! | `tracing.rs` | `tracing` | spans recorded with `task_id = %gmp::task::id()` carry their own G's id |
//! | `watchdog_tracing.rs` | `tracing` | with gmp's `tracing` feature, the watchdog's report of a G that held its M is a `WARN` event (target `gmp::watchdog`) |
//! | `axum.rs` | `axum`, `tower-http` | axum served natively by `gmp::hyper::serve` (no tokio runtime): 10 000 requests with JSON and state, HTTP/1 and HTTP/2 on one listener, graceful shutdown, a panicking handler answered 500, a dead listener's error, a Unix socket, `ConnectInfo`, tower-http layers |
//! | `tokio_compat.rs` | `reqwest`, `axum::serve`, `tower-http`, `tower` | the tokio compatibility mode: reqwest inside `#[gmp::test(tokio_compat = true)]`, axum's own `axum::serve` on a tokio listener, tower-http's and tower's timeouts on tokio's timer (and, without the mode, a 500 instead of a crash) |
//!
//! The first seven have no other runtime in the process; the last two show what
//! the tokio-bound crates need and get.
//!
//! It is a workspace member outside `default-members`, so `cargo test` at the
//! root does not build these dependencies; `.ci/run` runs
//! `cargo test -p gmp-interop`.
#![forbid(unsafe_code)]
