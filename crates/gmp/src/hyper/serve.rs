//! `serve`: an HTTP server for tower services (axum's `Router` among them) on
//! gmp's listeners, Gs, executor and timer — the part of `axum::serve` that
//! needs a runtime, rebuilt on gmp's.
//!
//! The shape is Go's `net/http` `Server.Serve`: one G accepts; each accepted
//! connection is served by a G of its own, which hands every request to a
//! clone of the service. HTTP/1 and HTTP/2 are told apart by the connection's
//! first bytes (hyper-util's `server::conn::auto`, which asks only for hyper's
//! runtime traits: [`GmpExecutor`] runs HTTP/2's streams as Gs and [`GmpTimer`]
//! times HTTP/1's header reads and HTTP/2's keep-alive pings). Upgrades
//! (WebSocket) are served too.
//!
//! The user's side of shutdown, errors and panics is in [`serve`]'s docs.
//! How it is built: shutdown is two channels from `gmp::chan`, as a Go
//! server would use channels. Closing the first (dropping its only sender)
//! tells every connection G at once to shut down gracefully; the connection
//! Gs hold the senders of the second, so it closes when the last of them is
//! gone, and the accept loop waits for that. A panic is caught where the
//! service's future is polled (`Answer::poll`), so it costs one
//! `catch_unwind` per poll and no allocation; the body type grows a variant
//! for the empty 500 (`ServeBody`).

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::future::{poll_fn, Future, IntoFuture, Pending};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::server::conn::auto;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{GmpExecutor, GmpTimer};
use crate::chan;
use crate::net::{TcpListener, TcpStream};
#[cfg(unix)]
use crate::net::{UnixListener, UnixStream};

type BoxError = Box<dyn StdError + Send + Sync>;

/// A listener [`serve`] accepts connections from: gmp's
/// [`TcpListener`] and [`UnixListener`].
///
/// Implement it for a listener of your own (a TLS acceptor over a
/// `TcpListener`, say) to serve it: `poll_accept` hands over one connection,
/// whose type implements hyper's I/O traits, and the peer's address, which a
/// make-service ([`serve_make`]) is called with.
pub trait Listener: Send + 'static {
    /// A connection.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// A peer's address.
    type Addr: Send + 'static;

    /// Accepts one connection, or registers the waker to be woken when one
    /// may be ready.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Io, Self::Addr)>>;

    /// The address the listener is bound to.
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

/// Accepted streams get `TCP_NODELAY`, as every TCP connection in Go does:
/// hyper writes a response's head and body in one vectored write, and a
/// small response held back by Nagle's algorithm would wait for the peer's
/// delayed ACK.
impl Listener for TcpListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, Self::Addr)>> {
        let (stream, addr) = ready!(TcpListener::poll_accept(self, cx))?;
        // A connection that cannot take the option is served without it.
        let _ = stream.set_nodelay(true);
        Poll::Ready(Ok((stream, addr)))
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        TcpListener::local_addr(self)
    }
}

#[cfg(unix)]
impl Listener for UnixListener {
    type Io = UnixStream;
    type Addr = crate::net::unix::SocketAddr;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, Self::Addr)>> {
        UnixListener::poll_accept(self, cx)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        UnixListener::local_addr(self)
    }
}

/// Serves HTTP/1 and HTTP/2 (told apart per connection) on `listener`,
/// handing each request to a clone of `service`: any
/// `tower::Service<Request<hyper::body::Incoming>>` that is `Clone`, such as
/// an `axum::Router` (with its layers) — `axum::serve`'s job, on gmp.
///
/// Connections get hyper's defaults, with [`GmpTimer`] as the timer: an
/// HTTP/1 connection that has not sent a whole request head within 30 s of
/// starting to wait for one is closed (hyper's `header_read_timeout`; an
/// idle keep-alive connection too), and HTTP/2 sends no keep-alive pings.
///
/// Returns a [`Serve`]: `.await` it (it runs until accepting fails for good),
/// or first give it a shutdown signal with
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown); to run it in
/// the background, spawn `.into_future()`. Each connection is a G.
///
/// # Shutdown
///
/// When the signal given to
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) completes, the
/// accept loop stops and drops the listener (new connections are refused),
/// and every connection is told to finish: an HTTP/1 connection closes after
/// the response in flight (at once if idle), an HTTP/2 connection sends
/// GOAWAY and serves the streams it already has. The serve future completes
/// with `Ok(())` when the last connection G has ended.
///
/// # Errors
///
/// An accept error that belongs to one connection (it was reset or aborted
/// before we took it, a network error that `accept(2)` lists as one to
/// retry) is skipped. Running out of descriptors or memory (`EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`, `ENOSPC`) is reported and retried after a
/// pause that doubles from 5 ms to 1 s, as Go's `Server.Serve` does, since
/// connections closing will free some. Any other error — the listener was
/// shut down or closed, the descriptor is not a listening socket — ends the
/// serve future with that error; connections still open are then told to
/// finish, as on shutdown, but not waited for.
///
/// # Panics
///
/// A handler (the service's `poll_ready`, `call` or future) that panics is
/// caught: the client gets `500 Internal Server Error` with an empty body,
/// the panic is reported (std's panic hook prints it, as for any panic, and
/// a line of ours says the server answered 500 and goes on: on stderr, or
/// through `tracing` with the `tracing` feature), and that connection, like
/// every other, keeps being served. hyper-util's service adapter does not
/// catch panics (under tokio the connection's task dies with the panic);
/// tower-http's `CatchPanicLayer` is the same idea as a layer, and answers
/// first when it is there.
///
/// ```
/// use std::convert::Infallible;
/// use std::future::IntoFuture;
/// use http_body_util::{BodyExt, Full};
/// use hyper::{body::Bytes, Request, Response};
/// use gmp::net::{TcpListener, TcpStream};
///
/// gmp::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     // Any tower service; here one from `tower::service_fn`'s shape, by hand.
///     let service = Hello;
///     let (stop, stopped) = futures::channel::oneshot::channel::<()>();
///     let server = gmp::spawn(
///         gmp::hyper::serve(listener, service)
///             .with_graceful_shutdown(async move {
///                 let _ = stopped.await;
///             })
///             .into_future(),
///     );
///
///     let stream = TcpStream::connect(addr).await?;
///     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
///     gmp::spawn(conn);
///     let response = sender.send_request(Request::new(String::new())).await?;
///     assert_eq!(response.into_body().collect().await?.to_bytes(), "hello");
///
///     stop.send(()).unwrap();
///     server.await??;
///     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
/// })
/// .unwrap();
///
/// #[derive(Clone)]
/// struct Hello;
///
/// impl tower_service::Service<Request<hyper::body::Incoming>> for Hello {
///     type Response = Response<Full<Bytes>>;
///     type Error = Infallible;
///     type Future = std::future::Ready<Result<Self::Response, Infallible>>;
///
///     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
///         std::task::Poll::Ready(Ok(()))
///     }
///
///     fn call(&mut self, _: Request<hyper::body::Incoming>) -> Self::Future {
///         std::future::ready(Ok(Response::new(Full::new(Bytes::from("hello")))))
///     }
/// }
/// ```
pub fn serve<L, S, B>(listener: L, service: S) -> Serve<L, CloneService<S>>
where
    L: Listener,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve_make(listener, CloneService(service))
}

/// [`serve`] with a make-service: for each connection, `make_service` is
/// called with the peer's address and returns the service for that
/// connection's requests. axum's `Router::into_make_service()` is one, and
/// `into_make_service_with_connect_info::<SocketAddr>()` hands handlers the
/// peer's address through axum's `ConnectInfo` extractor (axum implements
/// its `Connected` for `SocketAddr` itself).
///
/// A make-service that fails is reported and the connection dropped.
pub fn serve_make<L, M, S, B>(listener: L, make_service: M) -> Serve<L, M>
where
    L: Listener,
    M: Service<L::Addr, Response = S> + Send + 'static,
    M::Future: Send,
    M::Error: Into<BoxError>,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Serve {
        listener,
        make_service,
        signal: std::future::pending(),
    }
}

/// A server made by [`serve`] or [`serve_make`]: `.await` it to run it.
#[must_use = "a server does nothing until it is awaited (or spawned)"]
pub struct Serve<L, M, F = Pending<()>> {
    listener: L,
    make_service: M,
    signal: F,
}

impl<L: Listener, M, F> Serve<L, M, F> {
    /// Shuts the server down gracefully when `signal` completes (its output
    /// is ignored): it stops accepting, lets every connection finish what it
    /// has in flight, and then completes with `Ok(())`.
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use hyper::{Request, Response};
    /// # #[derive(Clone)]
    /// # struct Hello;
    /// # impl tower_service::Service<Request<hyper::body::Incoming>> for Hello {
    /// #     type Response = Response<String>;
    /// #     type Error = Infallible;
    /// #     type Future = std::future::Ready<Result<Response<String>, Infallible>>;
    /// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
    /// #         std::task::Poll::Ready(Ok(()))
    /// #     }
    /// #     fn call(&mut self, _: Request<hyper::body::Incoming>) -> Self::Future {
    /// #         std::future::ready(Ok(Response::new("hello".into())))
    /// #     }
    /// # }
    /// use std::time::Duration;
    /// gmp::block_on(async {
    ///     let listener = gmp::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     // Stop serving after 10 ms.
    ///     gmp::hyper::serve(listener, Hello)
    ///         .with_graceful_shutdown(gmp::time::sleep(Duration::from_millis(10)))
    ///         .await
    ///         .unwrap();
    /// });
    /// ```
    pub fn with_graceful_shutdown<G>(self, signal: G) -> Serve<L, M, G>
    where
        G: Future + Send + 'static,
    {
        Serve {
            listener: self.listener,
            make_service: self.make_service,
            signal,
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }
}

impl<L, M, F> fmt::Debug for Serve<L, M, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve").finish_non_exhaustive()
    }
}

impl<L, M, S, B, F> IntoFuture for Serve<L, M, F>
where
    L: Listener,
    M: Service<L::Addr, Response = S> + Send + 'static,
    M::Future: Send,
    M::Error: Into<BoxError>,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(run(self.listener, self.make_service, self.signal)))
    }
}

/// The future of a [`Serve`]: the accept loop. It completes with `Ok(())`
/// after a graceful shutdown, or with the error that stopped accepting.
/// Dropping it (aborting its G) closes the listener and tells the open
/// connections to finish, without waiting for them.
#[must_use = "futures do nothing unless polled"]
pub struct ServeFuture(Pin<Box<dyn Future<Output = io::Result<()>> + Send>>);

impl Future for ServeFuture {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeFuture").finish_non_exhaustive()
    }
}

/// The make-service [`serve`] builds from a service: every connection gets
/// a clone.
#[derive(Clone, Debug)]
pub struct CloneService<S>(S);

impl<S: Clone, A> Service<A> for CloneService<S> {
    type Response = S;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<S, std::convert::Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: A) -> Self::Future {
        std::future::ready(Ok(self.0.clone()))
    }
}

/// What to do about an accept error.
enum AcceptError {
    /// It belonged to one connection: take the next.
    Skip,
    /// Out of descriptors or memory: pause, then try again.
    Pause,
    /// The listener is unusable: stop.
    Fatal,
}

fn classify(e: &io::Error) -> AcceptError {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) {
        return AcceptError::Skip;
    }
    match e.raw_os_error() {
        Some(code) => classify_os(code),
        None => AcceptError::Fatal,
    }
}

#[cfg(unix)]
fn classify_os(code: i32) -> AcceptError {
    match code {
        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::ENOSPC => {
            AcceptError::Pause
        }
        // accept(2) on Linux: "already-pending network errors", to be treated
        // like EAGAIN by retrying; EPERM is a firewall rule refusing one peer.
        libc::EPROTO
        | libc::ENOPROTOOPT
        | libc::EHOSTDOWN
        | libc::ENETDOWN
        | libc::EHOSTUNREACH
        | libc::EOPNOTSUPP
        | libc::ENETUNREACH
        | libc::EPERM
        | libc::ETIMEDOUT => AcceptError::Skip,
        #[cfg(target_os = "linux")]
        libc::ENONET => AcceptError::Skip,
        _ => AcceptError::Fatal,
    }
}

/// Winsock's codes (`WSAE*`, from `winerror.h`; `std` reports them as the
/// raw OS error): the same three groups as on Unix.
#[cfg(windows)]
fn classify_os(code: i32) -> AcceptError {
    const WSAEMFILE: i32 = 10024;
    const WSAENOBUFS: i32 = 10055;
    const WSAENETDOWN: i32 = 10050;
    const WSAENETUNREACH: i32 = 10051;
    const WSAENETRESET: i32 = 10052;
    const WSAETIMEDOUT: i32 = 10060;
    const WSAEHOSTDOWN: i32 = 10064;
    const WSAEHOSTUNREACH: i32 = 10065;
    match code {
        WSAEMFILE | WSAENOBUFS => AcceptError::Pause,
        WSAENETDOWN | WSAENETUNREACH | WSAENETRESET | WSAETIMEDOUT | WSAEHOSTDOWN
        | WSAEHOSTUNREACH => AcceptError::Skip,
        _ => AcceptError::Fatal,
    }
}

/// The accept loop (see the module docs).
async fn run<L, M, S, B, F>(mut listener: L, mut make_service: M, signal: F) -> io::Result<()>
where
    L: Listener,
    M: Service<L::Addr, Response = S> + Send + 'static,
    M::Future: Send,
    M::Error: Into<BoxError>,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future + Send + 'static,
{
    let mut http = auto::Builder::new(GmpExecutor);
    http.http1().timer(GmpTimer);
    http.http2().timer(GmpTimer);
    let http = Arc::new(http);
    // Closed (its sender dropped) to tell every connection to finish; the
    // flag is set first, so a connection need not lock the channel on every
    // poll to learn it (see the connection G below). Both happen when `stop`
    // drops: at shutdown, on an error, or if this future is dropped.
    let (stop_tx, stop_rx) = chan::bounded::<()>(1);
    let closing = Arc::new(AtomicBool::new(false));
    let stop = Stop {
        closing: closing.clone(),
        _sender: stop_tx,
    };
    // Closes when the last connection G drops its sender.
    let (done_tx, done_rx) = chan::bounded::<()>(1);

    let mut signal = pin!(signal);
    let mut pause: Option<Duration> = None;
    loop {
        // The signal first, so a server flooded with connections still stops.
        let accepted = poll_fn(|cx| {
            if signal.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        let (io, addr) = match accepted {
            None => break,
            Some(Ok(accepted)) => {
                pause = None;
                accepted
            }
            Some(Err(e)) => match classify(&e) {
                AcceptError::Skip => continue,
                AcceptError::Pause => {
                    let wait = pause.map_or(Duration::from_millis(5), |p| {
                        (p * 2).min(Duration::from_secs(1))
                    });
                    pause = Some(wait);
                    report(format_args!(
                        "gmp::hyper::serve: accept failed: {e}; retrying in {wait:?}"
                    ));
                    let mut sleep = crate::time::sleep(wait);
                    let signalled = poll_fn(|cx| {
                        if signal.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(true);
                        }
                        Pin::new(&mut sleep).poll(cx).map(|()| false)
                    })
                    .await;
                    if signalled {
                        break;
                    }
                    continue;
                }
                AcceptError::Fatal => return Err(e),
            },
        };
        let service = match make(&mut make_service, addr).await {
            Ok(service) => service,
            Err(e) => {
                report(format_args!(
                    "gmp::hyper::serve: the make-service failed: {e}; connection dropped"
                ));
                continue;
            }
        };
        let http = http.clone();
        let stop = stop_rx.clone();
        let closing = closing.clone();
        let done = done_tx.clone();
        crate::spawn(async move {
            let _done = done;
            let conn = http.serve_connection_with_upgrades(io, HyperService(service));
            let mut conn = pin!(conn);
            let mut stopped = pin!(stop.recv());
            let mut stopping = false;
            // The waker the stop channel holds. The channel is shared by every
            // connection and a poll of it takes its lock, so it is polled only
            // to register (again, if the waker changed) and once `closing` is
            // set; the wake that follows the flag polls it to its end.
            let mut registered: Option<Waker> = None;
            let served = poll_fn(|cx| {
                if !stopping
                    && (closing.load(Acquire)
                        || !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())))
                {
                    match stopped.as_mut().poll(cx) {
                        Poll::Ready(_) => {
                            stopping = true;
                            conn.as_mut().graceful_shutdown();
                        }
                        Poll::Pending => registered = Some(cx.waker().clone()),
                    }
                }
                conn.as_mut().poll(cx)
            })
            .await;
            // A peer that goes away mid-request is no news for a server.
            #[cfg(feature = "tracing")]
            if let Err(e) = served {
                tracing::debug!(target: "gmp::hyper", "connection ended with an error: {e}");
            }
            #[cfg(not(feature = "tracing"))]
            drop(served);
        });
    }
    // Stop accepting: the socket closes, and connecting clients are refused.
    drop(listener);
    drop(stop);
    drop(done_tx);
    // Err once every connection G has dropped its sender.
    let _ = done_rx.recv().await;
    Ok(())
}

/// Tells the connections to finish when dropped: sets the flag, then closes
/// the channel (the sender is dropped after `drop` runs).
struct Stop {
    closing: Arc<AtomicBool>,
    _sender: chan::Sender<()>,
}

impl Drop for Stop {
    fn drop(&mut self) {
        // Release: pairs with the Acquire in the connection Gs; the flag is
        // set before the channel's close wakes them, so a woken G sees it.
        self.closing.store(true, Release);
    }
}

/// One call of the make-service.
async fn make<M, A, S>(make_service: &mut M, addr: A) -> Result<S, BoxError>
where
    M: Service<A, Response = S>,
    M::Error: Into<BoxError>,
{
    poll_fn(|cx| make_service.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    make_service.call(addr).await.map_err(Into::into)
}

/// Reports a server event through `tracing` with the `tracing` feature when
/// this thread has a subscriber (global, or scoped); with none, and without
/// the feature, on stderr, so the events never vanish.
fn report(line: fmt::Arguments<'_>) {
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        tracing::error!(target: "gmp::hyper", "{line}");
        return;
    }
    eprintln!("{line}");
}

/// A tower service as hyper's `Service` (`&self`, no readiness): each request
/// gets a clone of the service, which is made ready and called, and a panic
/// in either, or in the future, becomes a 500.
struct HyperService<S>(S);

impl<S, B> hyper::service::Service<Request<Incoming>> for HyperService<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone,
{
    type Response = Response<ServeBody<B>>;
    type Error = S::Error;
    type Future = Answer<S>;

    fn call(&self, request: Request<Incoming>) -> Answer<S> {
        Answer {
            state: AnswerState::Ready {
                service: self.0.clone(),
                request: Some(request),
            },
        }
    }
}

pin_project! {
    /// Answering one request: the service made ready, then its future.
    struct Answer<S>
    where
        S: Service<Request<Incoming>>,
    {
        #[pin]
        state: AnswerState<S>,
    }
}

pin_project! {
    #[project = AnswerProj]
    enum AnswerState<S>
    where
        S: Service<Request<Incoming>>,
    {
        Ready { service: S, request: Option<Request<Incoming>> },
        Called { #[pin] future: S::Future },
        Done,
    }
}

impl<S, B> Future for Answer<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Output = Result<Response<ServeBody<B>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match catch_unwind(AssertUnwindSafe(|| self.as_mut().poll_service(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                // The panicking future is not polled again; its drop may
                // panic too, and that is contained the same way.
                let mut state = self.project().state;
                let dropped = catch_unwind(AssertUnwindSafe(|| state.set(AnswerState::Done)));
                report_panic(&*panic);
                forget_payloads(panic, dropped.err());
                let mut response = Response::new(ServeBody { inner: None });
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<S, B> Answer<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    fn poll_service(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Response<ServeBody<B>>, S::Error>> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                AnswerProj::Ready { service, request } => {
                    ready!(service.poll_ready(cx))?;
                    let request = request.take().expect("a request is sent once");
                    let future = service.call(request);
                    state.set(AnswerState::Called { future });
                }
                AnswerProj::Called { future } => {
                    let response = ready!(future.poll(cx));
                    state.set(AnswerState::Done);
                    return Poll::Ready(
                        response.map(|r| r.map(|body| ServeBody { inner: Some(body) })),
                    );
                }
                AnswerProj::Done => panic!("an answered request was polled again"),
            }
        }
    }
}

/// Reports a handler's panic (std's hook has already printed it, with its
/// location, as for any panic).
#[cold]
fn report_panic(payload: &(dyn Any + Send)) {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload");
    report(format_args!(
        "gmp::hyper::serve: a request handler panicked ({msg}); answered 500 Internal \
         Server Error and kept serving"
    ));
}

/// Drops panic payloads; a payload whose own drop panics is leaked instead.
fn forget_payloads(first: Box<dyn Any + Send>, second: Option<Box<dyn Any + Send>>) {
    for payload in std::iter::once(first).chain(second) {
        if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
            std::mem::forget(again);
        }
    }
}

pin_project! {
    /// A response body: the service's, or none (the 500 of a panic).
    struct ServeBody<B> {
        #[pin]
        inner: Option<B>,
    }
}

impl<B: Body> Body for ServeBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match self.project().inner.as_pin_mut() {
            Some(body) => body.poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
