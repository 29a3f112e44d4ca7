//! hyper 1.x servers and clients, HTTP/1 and HTTP/2, on gmp's own sockets,
//! executor and timer: no tokio runtime anywhere in the process.
#![cfg(unix)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use gmp::hyper::{GmpExecutor, GmpTimer};
use gmp::net::{TcpListener, TcpStream};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1 as http1_client;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Answers each request with its path and the number of requests the server
/// has seen, so a test can tell every answer apart.
async fn echo_path(
    req: Request<Incoming>,
    served: Arc<AtomicUsize>,
) -> Result<Response<String>, Infallible> {
    served.fetch_add(1, Relaxed);
    Ok(Response::new(req.uri().path().to_string()))
}

/// Starts a server (HTTP/1 or HTTP/2) in a G; returns its address and its
/// request counter.
async fn serve(h2: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    gmp::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            stream.set_nodelay(true).unwrap();
            let counter = counter.clone();
            let service = service_fn(move |req| echo_path(req, counter.clone()));
            gmp::spawn(async move {
                if h2 {
                    http2::Builder::new(GmpExecutor)
                        .timer(GmpTimer)
                        .serve_connection(stream, service)
                        .await
                        .unwrap();
                } else {
                    http1::Builder::new()
                        .timer(GmpTimer)
                        .serve_connection(stream, service)
                        .await
                        .unwrap();
                }
            });
        }
    });
    (addr, served)
}

async fn body_of(response: Response<Incoming>) -> Result<String, Error> {
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8(bytes.to_vec())?)
}

async fn connect_http1(addr: SocketAddr) -> Result<http1_client::SendRequest<String>, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1_client::handshake(stream).await?;
    gmp::spawn(conn);
    Ok(sender)
}

const REQUESTS: usize = 10_000;

#[gmp::test(procs = 2)]
async fn ten_thousand_http1_requests_on_keep_alive_connections() -> Result<(), Error> {
    let (addr, served) = serve(false).await;
    // Eight clients in parallel, each on one connection for all its requests.
    let clients = 8;
    let mut tasks = Vec::new();
    for c in 0..clients {
        tasks.push(gmp::spawn(async move {
            let mut sender = connect_http1(addr).await?;
            for i in (c..REQUESTS).step_by(clients) {
                sender.ready().await?;
                let path = format!("/{i}");
                let response = sender
                    .send_request(Request::get(&path).body(String::new())?)
                    .await?;
                assert_eq!(response.status(), 200);
                assert_eq!(body_of(response).await?, path);
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert_eq!(served.load(Relaxed), REQUESTS);
    Ok(())
}

#[gmp::test(procs = 2)]
async fn ten_thousand_http1_requests_each_on_a_new_connection() -> Result<(), Error> {
    let (addr, served) = serve(false).await;
    let clients = 8;
    let mut tasks = Vec::new();
    for c in 0..clients {
        tasks.push(gmp::spawn(async move {
            for i in (c..REQUESTS).step_by(clients) {
                let mut sender = connect_http1(addr).await?;
                let path = format!("/new/{i}");
                let request = Request::get(&path)
                    .header(hyper::header::CONNECTION, "close")
                    .body(String::new())?;
                let response = sender.send_request(request).await?;
                assert_eq!(body_of(response).await?, path);
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert_eq!(served.load(Relaxed), REQUESTS);
    Ok(())
}

#[gmp::test(procs = 2)]
async fn many_concurrent_http2_streams_share_one_connection() -> Result<(), Error> {
    let (addr, served) = serve(true).await;
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http2::Builder::new(GmpExecutor)
        .timer(GmpTimer)
        .handshake(stream)
        .await?;
    gmp::spawn(conn);
    // 1 000 requests in flight at once: hyper multiplexes them as streams of
    // the one connection (up to the server's concurrent-stream limit).
    let streams = 1_000;
    let mut tasks = Vec::new();
    for i in 0..streams {
        let mut sender = sender.clone();
        tasks.push(gmp::spawn(async move {
            let path = format!("/h2/{i}");
            let uri = format!("http://{addr}{path}");
            let response = sender
                .send_request(Request::get(uri).body(String::new())?)
                .await?;
            assert_eq!(response.version(), hyper::Version::HTTP_2);
            assert_eq!(body_of(response).await?, path);
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert_eq!(served.load(Relaxed), streams);
    Ok(())
}

#[gmp::test(procs = 2)]
async fn http1_request_and_response_bodies_stream_both_ways() -> Result<(), Error> {
    // A server that sends the request body back: hyper reads it from the
    // gmp socket frame by frame and writes it back, larger than any buffer.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    gmp::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = service_fn(|req: Request<Incoming>| async move {
            let body = req.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Response::new(http_body_util::Full::new(body)))
        });
        http1::Builder::new()
            .serve_connection(stream, service)
            .await
            .unwrap();
    });
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = http1_client::handshake(stream).await?;
    gmp::spawn(conn);
    let sent: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let response = sender
        .send_request(Request::post("/").body(sent.clone())?)
        .await?;
    assert_eq!(body_of(response).await?, sent);
    Ok(())
}

#[test]
fn a_server_on_unix_sockets_answers_a_client() {
    let dir = std::env::temp_dir().join(format!("gmp-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hyper.sock");
    let _ = std::fs::remove_file(&path);
    let rt = gmp::Runtime::builder().procs(2).build().unwrap();
    let body = rt
        .block_on(async {
            let listener = gmp::net::UnixListener::bind(&path)?;
            gmp::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let service = service_fn(|_: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new("over a unix socket".to_string()))
                });
                http1::Builder::new()
                    .serve_connection(stream, service)
                    .await
                    .unwrap();
            });
            let stream = gmp::net::UnixStream::connect(&path).await?;
            let (mut sender, conn) = http1_client::handshake(stream).await?;
            gmp::spawn(conn);
            let response = sender.send_request(Request::new(String::new())).await?;
            body_of(response).await
        })
        .unwrap();
    assert_eq!(body, "over a unix socket");
    std::fs::remove_dir_all(&dir).unwrap();
}
