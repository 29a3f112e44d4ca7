//! Graceful shutdown of a hyper server on gmp: on SIGTERM or Ctrl-C it stops
//! accepting, lets the requests in flight finish (for at most
//! `GRACE`), and exits 0 — what a service manager or an orchestrator expects
//! of a well-behaved server.
//!
//! `cargo run --features hyper --example graceful [ADDR]` (default
//! `127.0.0.1:3000`), then `curl http://127.0.0.1:3000/slow` and press
//! Ctrl-C (or `kill -TERM <pid>`) while it waits: the request still gets its
//! answer, then the server exits.
//!
//! The pieces, each tokio's name on gmp: `gmp::signal` for the signals, a
//! `gmp::chan` whose sender is dropped as the shutdown broadcast,
//! `task::JoinSet` to hold the connection tasks, hyper's
//! `graceful_shutdown` per connection, and `gmp::time::timeout` for the
//! bound. Tested by `crates/gmp/tests/graceful.rs`, which runs this `main`
//! in a child process and sends it SIGTERM (`main` is `pub` for that).

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io::Write;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use gmp::hyper::GmpTimer;
use gmp::net::TcpListener;
use gmp::signal::{signal, SignalKind};
use gmp::task::JoinSet;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

/// How long the requests in flight get once the signal came.
const GRACE: Duration = Duration::from_secs(10);

/// `/slow` takes a second (a request still in flight when the signal comes);
/// anything else answers at once.
async fn handle(req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    if req.uri().path() == "/slow" {
        say("request /slow started");
        gmp::time::sleep(Duration::from_secs(1)).await;
        return Ok(Response::new("slow hello\n".to_string()));
    }
    Ok(Response::new("hello\n".to_string()))
}

/// One line on stdout, flushed at once (the test reads them as they come).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Resolves with whichever of `a` and `b` finishes first.
async fn first<A: Future, B: Future>(a: A, b: B) -> Result<A::Output, B::Output> {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        b.as_mut().poll(cx).map(Err)
    })
    .await
}

/// Serves until SIGTERM or Ctrl-C, then shuts down gracefully (`pub`: the
/// test runs it).
#[gmp::main]
pub async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    // Installed before the first accept: a signal from now on is not lost.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async {
        first(term.recv(), int.recv()).await.ok();
    };

    let listener = TcpListener::bind(addr.as_str()).await?;
    say(&format!("listening on http://{}", listener.local_addr()?));

    // Dropping `stop` closes the channel: every connection's `recv` ends.
    let (stop, stopped) = gmp::chan::bounded::<()>(1);
    let mut connections = JoinSet::new();
    let accept_loop = async {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let stopped = stopped.clone();
            connections.spawn(async move {
                let conn = http1::Builder::new()
                    .timer(GmpTimer)
                    .serve_connection(stream, service_fn(handle));
                let mut conn = pin!(conn);
                let served = match first(conn.as_mut(), stopped.recv()).await {
                    Ok(served) => served,
                    Err(_) => {
                        // Finish the request in flight, then close (HTTP/1:
                        // `Connection: close` on the response; an idle
                        // connection closes at once).
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = served {
                    eprintln!("{peer}: {e}");
                }
            });
        }
    };
    // The accept loop never ends by itself: it stops when the signal comes.
    let _ = first(accept_loop, shutdown).await;

    drop(listener);
    say(&format!(
        "shutting down: stopped accepting, {} connection(s) in flight",
        connections.len()
    ));
    drop(stop);
    let drained = gmp::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => say("all connections finished; bye"),
        Err(_) => {
            say(&format!(
                "{} connection(s) still busy after {GRACE:?}: aborted",
                connections.len()
            ));
            connections.shutdown().await;
        }
    }
    Ok(())
}
