//! A hyper 1.x "hello" server on gmp, written the way a tokio program is: an
//! accept loop that spawns a G per connection, each serving HTTP/1 with
//! keep-alive — or, with `--h2`, HTTP/2 over cleartext (prior knowledge,
//! `curl --http2-prior-knowledge`). hyper runs on gmp's own sockets, timers
//! and scheduler; no tokio runtime, no `TokioIo` wrapper.
//!
//! `cargo run --release --features hyper --example hyper_server [ADDR] [--h2]`
//! (default `127.0.0.1:3000`), then `curl http://127.0.0.1:3000/`.
//! `GMP_MAXPROCS=1` runs it on one P.

use std::convert::Infallible;

use gmp::hyper::{GmpExecutor, GmpTimer};
use gmp::net::TcpListener;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};

async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("hello".to_string()))
}

#[gmp::main]
async fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:3000".to_string();
    let mut h2 = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--h2" => h2 = true,
            flag if flag.starts_with('-') => {
                eprintln!("usage: hyper_server [ADDR] [--h2]");
                std::process::exit(2);
            }
            _ => addr = arg,
        }
    }
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!(
        "hyper on gmp: http://{} ({}, {} Ps); Ctrl-C to stop",
        listener.local_addr()?,
        if h2 { "HTTP/2 cleartext" } else { "HTTP/1.1" },
        gmp::Handle::current().procs()
    );
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors, a connection reset before it was accepted:
            // keep serving the others.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        stream.set_nodelay(true)?;
        gmp::spawn(async move {
            let served = if h2 {
                http2::Builder::new(GmpExecutor)
                    .timer(GmpTimer)
                    .serve_connection(stream, service_fn(hello))
                    .await
            } else {
                http1::Builder::new()
                    .timer(GmpTimer)
                    .serve_connection(stream, service_fn(hello))
                    .await
            };
            if let Err(e) = served {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
