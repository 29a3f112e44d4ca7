//! I/O readiness for any file descriptor: [`AsyncFd`] (tokio's
//! `io::unix::AsyncFd`, at `io::AsyncFd` here) and its guards.
//!
//! gmp's sockets wait on the netpoller through one helper (`net::Evented`,
//! Go's `poll.FD`): a descriptor, its registration with the runtime's
//! reactor, and the runtime. `AsyncFd` is that helper made public, so a
//! pipe, an inotify or eventfd descriptor, or a socket another crate made
//! waits the same way — and so do the pipes of [`process`](crate::process)
//! and the self-pipe of [`signal`](crate::signal).
//!
//! The async byte-stream traits (`AsyncRead`/`AsyncWrite`) are `futures-io`'s
//! (re-exported by the `futures` crate), or tokio's with the `tokio-io`
//! feature.

mod async_fd;

pub use async_fd::{
    AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, Interest, TryIoError,
};
pub use gmp_netpoll::Ready;
