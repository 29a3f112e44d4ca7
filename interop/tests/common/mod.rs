//! What the axum and tokio-compat tests share: a hang guard, a small axum
//! app, and an HTTP/1 client on gmp's sockets.
//!
//! Every test runs its body through [`run`], on a thread of its own with a
//! bound: a server or client that hangs fails the test, naming it, instead of
//! hanging `cargo test`. The bound is a hang guard, not a timing: far above
//! what a healthy run needs in a debug build on a loaded 2-core machine.
#![allow(dead_code)] // each test file uses a different part

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use gmp::net::TcpStream;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::{Request, Response};
use serde::{Deserialize, Serialize};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Long enough never to fire on a healthy run, short enough to fail a hang.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A runtime with `procs` Ps, in the tokio compatibility mode if `compat`.
pub fn runtime(procs: usize, compat: bool) -> gmp::Runtime {
    gmp::Runtime::builder()
        .procs(procs)
        .tokio_compat(compat)
        .build()
        .unwrap()
}

/// Runs `body` to completion on `rt` (`block_on`, on a thread of its own) and
/// fails the test naming `what` if it has not finished within [`PATIENCE`]. A
/// panic in `body` is the test's panic.
#[track_caller]
pub fn run<F>(what: &str, rt: gmp::Runtime, body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (done, result) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = rt.block_on(body);
        drop(rt);
        let _ = done.send(out);
    });
    match result.recv_timeout(PATIENCE) {
        Ok(out) => out,
        Err(RecvTimeoutError::Timeout) => {
            let msg = format!("{what}: still not done after {PATIENCE:?}");
            // Straight to stderr: a wedged runtime may hang the unwinding.
            let _ = writeln!(std::io::stderr(), "{msg}");
            panic!("{msg}")
        }
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the result was sent"),
        },
    }
}

/// The app's shared state: how many requests its handlers have seen, and a
/// signal that a `/slow` request has started (a permit is kept if nobody
/// waits yet), for a test that must act while one is in flight.
#[derive(Clone, Default)]
pub struct AppState {
    pub hits: Arc<AtomicUsize>,
    pub slow_started: Arc<tokio::sync::Notify>,
}

/// The JSON the app echoes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: u64,
    pub name: String,
}

#[derive(Deserialize)]
pub struct Wait {
    pub ms: u64,
}

/// Routes, JSON, state: `GET /` says hello, `POST /echo` echoes an [`Item`]
/// with its id doubled, `GET /hits` counts, `GET /thread` names the thread
/// the handler ran on, `GET /slow?ms=N` answers after N ms of gmp's timer,
/// `GET /panic` panics.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|State(s): State<AppState>| async move {
                s.hits.fetch_add(1, Relaxed);
                "hello"
            }),
        )
        .route(
            "/echo",
            post(
                |State(s): State<AppState>, Json(item): Json<Item>| async move {
                    s.hits.fetch_add(1, Relaxed);
                    Json(Item {
                        id: item.id * 2,
                        name: item.name,
                    })
                },
            ),
        )
        .route(
            "/hits",
            get(|State(s): State<AppState>| async move { s.hits.load(Relaxed).to_string() }),
        )
        .route(
            "/thread",
            get(|| async { std::thread::current().name().unwrap_or("").to_string() }),
        )
        .route(
            "/slow",
            get(
                |State(s): State<AppState>, Query(w): Query<Wait>| async move {
                    s.slow_started.notify_one();
                    gmp::time::sleep(Duration::from_millis(w.ms)).await;
                    format!("waited {} ms", w.ms)
                },
            ),
        )
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("a handler panicked on purpose");
                }
                "unreachable"
            }),
        )
        .with_state(state)
}

/// An HTTP/1 connection to `addr` on gmp's sockets.
pub async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<String>, Error> {
    Ok(connect_watched(addr).await?.0)
}

/// [`connect`], with the G that drives the connection: it finishes when the
/// connection closes, which a test awaits instead of polling
/// `SendRequest::is_closed`.
pub async fn connect_watched(
    addr: SocketAddr,
) -> Result<
    (
        http1::SendRequest<String>,
        gmp::JoinHandle<hyper::Result<()>>,
    ),
    Error,
> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(stream).await?;
    Ok((sender, gmp::spawn(conn)))
}

/// Sends one request and returns the status and the body.
pub async fn send(
    sender: &mut http1::SendRequest<String>,
    request: Request<String>,
) -> Result<(u16, String), Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    read(response).await
}

/// The status and the body of a response.
pub async fn read(response: Response<Incoming>) -> Result<(u16, String), Error> {
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8(body.to_vec())?))
}

/// A GET of `path` (with the Host header hyper's HTTP/1 client leaves to us).
pub fn get_request(addr: SocketAddr, path: &str) -> Request<String> {
    Request::get(path)
        .header("host", addr.to_string())
        .body(String::new())
        .unwrap()
}
