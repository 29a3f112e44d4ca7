//! hyper 1.x on gmp (the `hyper` feature): HTTP/1 and HTTP/2 servers and
//! clients on gmp's own sockets, timers and scheduler, with no tokio runtime.
//!
//! hyper 1.x is runtime-agnostic: it asks for three things and hyper-util
//! supplies tokio's versions (`TokioIo`, `TokioExecutor`, `TokioTimer`).
//! gmp supplies its own:
//!
//! | hyper asks for | tokio (hyper-util) | gmp |
//! | --- | --- | --- |
//! | `rt::Read` + `rt::Write` on the connection | `TokioIo::new(stream)` | the [`net`](crate::net) stream itself: [`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream) |
//! | `rt::Executor` (HTTP/2 streams, client connections) | `TokioExecutor` | [`GmpExecutor`] (or a [`Handle`](crate::Handle)) |
//! | `rt::Timer` (header-read timeout, keep-alive pings) | `TokioTimer` | [`GmpTimer`] |
//!
//! The streams implement hyper's I/O traits directly, so no wrapper is
//! needed: a read `recv`s straight into hyper's (uninitialised) read buffer,
//! and writes are vectored, so hyper's queued head and body leave in one
//! `sendmsg`. A connection future is a G like any other: spawn one per
//! accepted stream, as Go's `net/http` starts a goroutine per connection.
//!
//! Enable the hyper features you use on your own `hyper` dependency
//! (`server`, `client`, `http1`, `http2`); gmp's `hyper` feature asks for
//! none of them.
//!
//! # A server for tower services: axum on gmp
//!
//! With the `hyper-server` feature, `serve` is `axum::serve` on gmp: it
//! takes a gmp [`TcpListener`](crate::net::TcpListener) or
//! [`UnixListener`](crate::net::UnixListener) and any tower service
//! (an `axum::Router`, with its layers), serves HTTP/1 and HTTP/2 on each
//! connection (told apart by the first bytes), runs every connection as a G,
//! stops gracefully when a future completes
//! (`Serve::with_graceful_shutdown`), and answers a
//! panicking handler with a 500. No tokio runtime is involved; middleware
//! that sleeps on tokio's timer (tower-http's `TimeoutLayer`) needs the
//! `tokio-compat` feature and [`Builder::tokio_compat`](crate::Builder::tokio_compat).
//!
//! ```ignore
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
//! let listener = gmp::net::TcpListener::bind("127.0.0.1:3000").await?;
//! gmp::hyper::serve(listener, app).await?;
//! ```
//!
//! `examples/axum.rs` is a whole app (routes, JSON, state, a timeout layer
//! on gmp's timer); `serve_make` takes a make-service instead, such as
//! axum's `into_make_service_with_connect_info::<SocketAddr>()`.
//!
//! # Example
//!
//! An HTTP/1 server and a client on loopback:
//!
//! ```
//! use http_body_util::BodyExt;
//! use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
//! use gmp::net::{TcpListener, TcpStream};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<String>, std::convert::Infallible> {
//!     Ok(Response::new("hello".to_string()))
//! }
//!
//! gmp::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gmp::spawn(async move {
//!         while let Ok((stream, _)) = listener.accept().await {
//!             gmp::spawn(http1::Builder::new().serve_connection(stream, service_fn(hello)));
//!         }
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     gmp::spawn(conn);
//!     let response = sender.send_request(Request::new(String::new())).await?;
//!     let body = response.into_body().collect().await?.to_bytes();
//!     assert_eq!(body, "hello");
//!     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
//! })
//! .unwrap();
//! ```
//!
//! HTTP/2 needs the executor (each stream is a task) and, for keep-alive
//! pings or timeouts, the timer:
//!
//! ```
//! use http_body_util::BodyExt;
//! use hyper::{server::conn::http2, service::service_fn, Request, Response};
//! use gmp::hyper::{GmpExecutor, GmpTimer};
//! use gmp::net::{TcpListener, TcpStream};
//!
//! gmp::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gmp::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let service = service_fn(|req: Request<_>| async move {
//!             let path = req.uri().path().to_string();
//!             Ok::<_, std::convert::Infallible>(Response::new(path))
//!         });
//!         http2::Builder::new(GmpExecutor)
//!             .timer(GmpTimer)
//!             .serve_connection(stream, service)
//!             .await
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (sender, conn) =
//!         hyper::client::conn::http2::handshake(GmpExecutor, stream).await?;
//!     gmp::spawn(conn);
//!     let mut answers = Vec::new();
//!     for path in ["/a", "/b"] {
//!         let mut sender = sender.clone();
//!         let uri = format!("http://{addr}{path}");
//!         answers.push(gmp::spawn(async move {
//!             let response = sender.send_request(Request::get(uri).body(String::new())?).await?;
//!             let body = response.into_body().collect().await?.to_bytes();
//!             Ok::<_, Box<dyn std::error::Error + Send + Sync>>(body)
//!         }));
//!     }
//!     assert_eq!(answers.remove(0).await??, "/a");
//!     assert_eq!(answers.remove(0).await??, "/b");
//!     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
//! })
//! .unwrap();
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use ::hyper::rt::Sleep;

#[cfg(feature = "hyper-server")]
mod serve;
#[cfg(feature = "hyper-server")]
pub use serve::{serve, serve_make, CloneService, Listener, Serve, ServeFuture};

/// hyper's executor on gmp (hyper-util's `TokioExecutor`): spawns each
/// future hyper hands it as a G of the current runtime — the runtime of the
/// M running the connection, so HTTP/2 streams run beside their connection.
/// The task is detached.
///
/// To pin the tasks to one runtime whatever calls it, pass that runtime's
/// [`Handle`](crate::Handle) instead; it is an executor too.
///
/// ```
/// use hyper::rt::Executor;
/// let (tx, rx) = futures::channel::oneshot::channel();
/// gmp::hyper::GmpExecutor.execute(async move { tx.send(gmp::task::try_id()).unwrap() });
/// assert!(gmp::block_on(rx).unwrap().is_some(), "it ran as a G");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GmpExecutor;

impl<F> ::hyper::rt::Executor<F> for GmpExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        drop(crate::spawn(future));
    }
}

/// hyper's timer on gmp (hyper-util's `TokioTimer`): its sleeps are
/// [`gmp::time::Sleep`](crate::time::Sleep)s, entries in a P's timer heap,
/// and [`reset`](hyper::rt::Timer::reset) moves one in place instead of
/// allocating another.
///
/// ```
/// use std::time::{Duration, Instant};
/// use hyper::rt::Timer;
/// let timer = gmp::hyper::GmpTimer;
/// let start = Instant::now();
/// let mut sleep = timer.sleep(Duration::from_secs(3600));
/// timer.reset(&mut sleep, start + Duration::from_millis(5));
/// gmp::block_on(sleep);
/// let waited = start.elapsed();
/// assert!(waited >= Duration::from_millis(5) && waited < Duration::from_secs(3600));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GmpTimer;

impl ::hyper::rt::Timer for GmpTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(crate::time::sleep(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(crate::time::sleep_until(deadline.into()))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<crate::time::Sleep>() {
            // `time::Sleep` is `Unpin`: reset it where it is.
            Some(ours) => Pin::into_inner(ours).reset(new_deadline.into()),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
