//! hyper 1.x's runtime traits on gmp's own types (the `hyper` feature).
//!
//! hyper owns no runtime: a connection asks its I/O type for
//! `hyper::rt::{Read, Write}`, an HTTP/2 connection asks an
//! `hyper::rt::Executor` to spawn its background streams, and timeouts ask a
//! `hyper::rt::Timer` for `hyper::rt::Sleep`s. hyper-util answers with tokio's
//! types; here gmp answers with its own, so no tokio runtime is involved:
//!
//! * [`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream),
//!   their references and split halves implement `Read`/`Write` (in
//!   `net/stream.rs`, beside the `futures_io` impls): a read `recv`s straight
//!   into hyper's uninitialised buffer, writes are vectored (`sendmsg`), so
//!   hyper queues head and body and sends them in one call.
//! * [`time::Sleep`](crate::time::Sleep) is a `hyper::rt::Sleep`.
//! * [`Handle`] is a `hyper::rt::Executor`: it spawns on its runtime.
//!
//! These impls live in `gmp-exec` because the orphan rule puts an impl of a
//! foreign trait beside the type. The facade's `gmp::hyper` adds the
//! zero-sized `GmpExecutor` and `GmpTimer` that use the current runtime.

use std::future::Future;

use crate::runtime::Handle;

impl hyper::rt::Sleep for crate::time::Sleep {}

/// Spawns hyper's background futures (HTTP/2 streams, client connection
/// tasks) as Gs of this handle's runtime; the `JoinHandle` is dropped, so the
/// task runs detached.
///
/// ```
/// use hyper::rt::Executor;
/// let rt = gmp_exec::Runtime::new().unwrap();
/// let (tx, rx) = futures::channel::oneshot::channel();
/// rt.handle().execute(async move { tx.send(gmp_exec::task::try_id().is_some()).unwrap() });
/// assert!(rt.block_on(rx).unwrap(), "the future ran as a task");
/// ```
impl<F> hyper::rt::Executor<F> for Handle
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        drop(self.spawn(future));
    }
}
