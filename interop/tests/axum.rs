//! axum served natively by `gmp::hyper::serve`: gmp's listener and sockets,
//! a G per connection, handlers polled on gmp's Ms, no tokio runtime in the
//! process (these runtimes are built without the compatibility mode).
#![cfg(unix)]

mod common;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use common::{
    app, connect, connect_watched, get_request, read, run, runtime, send, AppState, Error, Item,
};
use gmp::hyper::GmpExecutor;
use gmp::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use hyper::Request;

/// Starts `gmp::hyper::serve` for `router` in a G; returns its address.
async fn serve_natively(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    gmp::spawn(async move { gmp::hyper::serve(listener, router).await.unwrap() });
    addr
}

const REQUESTS: usize = 10_000;
const CONNECTIONS: usize = 8;

#[test]
fn ten_thousand_requests_to_an_axum_router_served_natively() {
    run("10 000 requests to axum on gmp", runtime(2, false), async {
        let state = AppState::default();
        let addr = serve_natively(app(state.clone())).await;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                gmp::spawn(async move {
                    let mut sender = connect(addr).await?;
                    for i in 0..REQUESTS / CONNECTIONS {
                        if i % 2 == 0 {
                            let (status, body) = send(&mut sender, get_request(addr, "/")).await?;
                            assert_eq!((status, body.as_str()), (200, "hello"));
                        } else {
                            let item = Item {
                                id: (c * REQUESTS + i) as u64,
                                name: format!("item {i}"),
                            };
                            let request = Request::post("/echo")
                                .header("host", addr.to_string())
                                .header("content-type", "application/json")
                                .body(serde_json::to_string(&item)?)?;
                            let (status, body) = send(&mut sender, request).await?;
                            assert_eq!(status, 200, "{body}");
                            let back: Item = serde_json::from_str(&body)?;
                            assert_eq!(
                                back,
                                Item {
                                    id: item.id * 2,
                                    ..item
                                }
                            );
                        }
                    }
                    Ok::<_, Error>(())
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap().unwrap();
        }
        assert_eq!(state.hits.load(Relaxed), REQUESTS);
        // The handlers ran on gmp's Ms.
        let mut sender = connect(addr).await.unwrap();
        let (_, thread) = send(&mut sender, get_request(addr, "/thread"))
            .await
            .unwrap();
        assert!(thread.starts_with("gmp-m"), "a handler ran on {thread:?}");
    });
}

#[test]
fn http1_and_http2_are_told_apart_on_one_listener() {
    run(
        "HTTP/1 and HTTP/2 on one listener",
        runtime(2, false),
        async {
            let addr = serve_natively(app(AppState::default())).await;
            let mut h1 = connect(addr).await.unwrap();
            let (status, body) = send(&mut h1, get_request(addr, "/")).await.unwrap();
            assert_eq!((status, body.as_str()), (200, "hello"));

            // HTTP/2 with prior knowledge (h2c): the server reads the preface.
            let stream = TcpStream::connect(addr).await.unwrap();
            let (h2, conn) = hyper::client::conn::http2::handshake(GmpExecutor, stream)
                .await
                .unwrap();
            gmp::spawn(conn);
            let streams: Vec<_> = (0..50)
                .map(|_| {
                    let mut h2 = h2.clone();
                    gmp::spawn(async move {
                        let request = Request::get(format!("http://{addr}/"))
                            .body(String::new())
                            .unwrap();
                        let response = h2.send_request(request).await.unwrap();
                        assert_eq!(response.version(), hyper::Version::HTTP_2);
                        read(response).await.unwrap()
                    })
                })
                .collect();
            for s in streams {
                assert_eq!(s.await.unwrap(), (200, "hello".to_string()));
            }
        },
    );
}

#[test]
fn graceful_shutdown_finishes_the_requests_in_flight_and_refuses_new_ones() {
    run("a graceful shutdown", runtime(2, false), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        let state = AppState::default();
        let server = gmp::spawn(
            gmp::hyper::serve(listener, app(state.clone()))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        // An idle keep-alive connection, and one with a slow request in flight.
        let mut idle = connect(addr).await.unwrap();
        send(&mut idle, get_request(addr, "/")).await.unwrap();
        let mut busy = connect(addr).await.unwrap();
        let slow =
            gmp::spawn(async move { send(&mut busy, get_request(addr, "/slow?ms=300")).await });
        state.slow_started.notified().await;
        stop.send(()).unwrap();

        // The request in flight is answered; then the server finishes.
        let (status, body) = slow.await.unwrap().unwrap();
        assert_eq!((status, body.as_str()), (200, "waited 300 ms"));
        // Well within hyper's 30 s header-read timeout, which would close the
        // idle connection by itself.
        gmp::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve returned once its connections were done")
            .unwrap()
            .unwrap();
        // The idle connection was closed, and the listener is gone.
        assert!(send(&mut idle, get_request(addr, "/")).await.is_err());
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
    run("a panicking handler", runtime(2, false), async {
        let state = AppState::default();
        let addr = serve_natively(app(state.clone())).await;
        let mut sender = connect(addr).await.unwrap();
        for _ in 0..3 {
            let (status, _) = send(&mut sender, get_request(addr, "/panic"))
                .await
                .unwrap();
            assert_eq!(status, 500);
            // The same connection goes on.
            let (status, body) = send(&mut sender, get_request(addr, "/")).await.unwrap();
            assert_eq!((status, body.as_str()), (200, "hello"));
        }
        let mut other = connect(addr).await.unwrap();
        let (status, _) = send(&mut other, get_request(addr, "/")).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(state.hits.load(Relaxed), 4);
    });
}

#[test]
fn serving_a_listener_that_was_shut_down_returns_the_error() {
    run("serve on a dead listener", runtime(1, false), async {
        // A listening socket that is then shut down: accept fails with
        // EINVAL, which no waiting fixes.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        socket.listen(16).unwrap();
        socket.shutdown(std::net::Shutdown::Both).unwrap();
        let listener = TcpListener::from_std(socket.into()).unwrap();
        let served = gmp::time::timeout(
            Duration::from_secs(30),
            gmp::hyper::serve(listener, app(AppState::default())).into_future(),
        )
        .await
        .expect("serve gave up instead of retrying");
        let err = served.unwrap_err();
        // EINVAL.
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    });
}

/// A listener that plays a script: `Some(error)` fails one accept with it,
/// `None` takes one real connection; past the script, it accepts.
struct Scripted {
    inner: TcpListener,
    script: std::collections::VecDeque<Option<std::io::Error>>,
}

impl gmp::hyper::Listener for Scripted {
    type Io = TcpStream;
    type Addr = SocketAddr;

    fn poll_accept(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<(TcpStream, SocketAddr)>> {
        if let Some(Some(_)) = self.script.front() {
            let e = self.script.pop_front().unwrap().unwrap();
            return std::task::Poll::Ready(Err(e));
        }
        let accepted = std::task::ready!(self.inner.poll_accept(cx));
        self.script.pop_front();
        std::task::Poll::Ready(accepted)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[test]
fn running_out_of_descriptors_pauses_accepting_and_serving_goes_on() {
    run("accept errors that pass", runtime(2, false), async {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        // EMFILE twice (24 on Linux and the BSDs), an aborted connection.
        let emfile = || Some(std::io::Error::from_raw_os_error(24));
        let aborted = Some(std::io::Error::from(std::io::ErrorKind::ConnectionAborted));
        let listener = Scripted {
            inner,
            script: [emfile(), emfile(), aborted].into_iter().collect(),
        };
        gmp::spawn(gmp::hyper::serve(listener, app(AppState::default())).into_future());
        let mut sender = connect(addr).await.unwrap();
        let (status, body) = send(&mut sender, get_request(addr, "/")).await.unwrap();
        assert_eq!((status, body.as_str()), (200, "hello"));
    });
}

/// A listener that fails for good once told to, at its next accept.
struct Breakable {
    inner: TcpListener,
    broken: Arc<AtomicBool>,
}

impl gmp::hyper::Listener for Breakable {
    type Io = TcpStream;
    type Addr = SocketAddr;

    fn poll_accept(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<(TcpStream, SocketAddr)>> {
        let accepted = std::task::ready!(self.inner.poll_accept(cx));
        if self.broken.load(SeqCst) {
            return std::task::Poll::Ready(Err(std::io::Error::other("the listener broke")));
        }
        std::task::Poll::Ready(accepted)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[test]
fn a_listener_that_fails_for_good_ends_serve_and_its_connections_are_told_to_finish() {
    run(
        "an accept error that does not pass",
        runtime(2, false),
        async {
            let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = inner.local_addr().unwrap();
            let broken = Arc::new(AtomicBool::new(false));
            let listener = Breakable {
                inner,
                broken: broken.clone(),
            };
            let server =
                gmp::spawn(gmp::hyper::serve(listener, app(AppState::default())).into_future());
            let (mut sender, conn) = connect_watched(addr).await.unwrap();
            let (status, _) = send(&mut sender, get_request(addr, "/")).await.unwrap();
            assert_eq!(status, 200);
            // Break it; the next connection attempt makes it accept, and fail.
            broken.store(true, SeqCst);
            let _knock = TcpStream::connect(addr).await.unwrap();
            let err = gmp::time::timeout(Duration::from_secs(30), server)
                .await
                .expect("serve returned")
                .unwrap()
                .unwrap_err();
            assert_eq!(err.to_string(), "the listener broke");
            // The open keep-alive connection was told to finish: it closes.
            let closed = gmp::time::timeout(Duration::from_secs(30), conn).await;
            // The client held its end until now: the server closed it.
            drop(sender);
            assert!(closed.is_ok(), "the idle connection was closed");
        },
    );
}

#[test]
fn aborting_the_server_closes_its_listener_and_tells_connections_to_finish() {
    run("an aborted server", runtime(2, false), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server =
            gmp::spawn(gmp::hyper::serve(listener, app(AppState::default())).into_future());
        let (mut sender, conn) = connect_watched(addr).await.unwrap();
        let (status, _) = send(&mut sender, get_request(addr, "/")).await.unwrap();
        assert_eq!(status, 200);
        server.abort();
        assert!(server.await.unwrap_err().is_cancelled());
        let closed = gmp::time::timeout(Duration::from_secs(10), conn).await;
        // The client held its end until now: the server closed it.
        drop(sender);
        assert!(closed.is_ok(), "the idle connection was closed");
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn axum_on_a_unix_listener() {
    run("axum on a Unix socket", runtime(2, false), async {
        let dir = std::env::temp_dir().join(format!("gmp-axum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("axum.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        gmp::spawn(gmp::hyper::serve(listener, app(AppState::default())).into_future());

        let stream = UnixStream::connect(&path).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        gmp::spawn(conn);
        let request = Request::get("/")
            .header("host", "local")
            .body(String::new())
            .unwrap();
        let (status, body) = send(&mut sender, request).await.unwrap();
        assert_eq!((status, body.as_str()), (200, "hello"));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn connect_info_reaches_handlers_through_serve_make() {
    run("ConnectInfo through serve_make", runtime(2, false), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        gmp::spawn(
            gmp::hyper::serve_make(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .into_future(),
        );
        let stream = TcpStream::connect(addr).await.unwrap();
        let me = stream.local_addr().unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        gmp::spawn(conn);
        let (status, body) = send(&mut sender, get_request(addr, "/peer")).await.unwrap();
        assert_eq!((status, body), (200, me.to_string()));
    });
}

#[test]
fn tower_http_middleware_on_the_native_server() {
    use axum::http::{HeaderName, HeaderValue};
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::set_header::SetResponseHeaderLayer;

    run("tower-http layers on gmp", runtime(2, false), async {
        let router = app(AppState::default())
            // tower-http's own panic catcher answers first (its 500 carries
            // a JSON body), so ours never sees the panic.
            .layer(CatchPanicLayer::new())
            .layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static("x-served-by"),
                HeaderValue::from_static("gmp"),
            ));
        let addr = serve_natively(router).await;
        let mut sender = connect(addr).await.unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(get_request(addr, "/")).await.unwrap();
        assert_eq!(response.headers()["x-served-by"], "gmp");
        assert_eq!(read(response).await.unwrap(), (200, "hello".to_string()));

        sender.ready().await.unwrap();
        let response = sender
            .send_request(get_request(addr, "/panic"))
            .await
            .unwrap();
        assert_eq!(response.headers()["x-served-by"], "gmp");
        let (status, body) = read(response).await.unwrap();
        assert_eq!(status, 500);
        assert!(body.contains("panicked"), "{body}");
    });
}
