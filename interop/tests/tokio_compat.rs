//! The tokio-bound ecosystem in a gmp program, through the tokio
//! compatibility mode (`Builder::tokio_compat`, `#[gmp::test(tokio_compat =
//! true)]`): reqwest's client, axum's own `axum::serve` on a tokio listener,
//! and middleware that sleeps on tokio's timer (tower-http's and tower's
//! timeouts) — each next to gmp-served axum.
#![cfg(unix)]

mod common;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Router;
use common::{app, connect, get_request, run, runtime, send, AppState, Item, PATIENCE};
use gmp::net::TcpListener;

/// Starts `gmp::hyper::serve` for `router` in a G; returns its address.
async fn serve_natively(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    gmp::spawn(gmp::hyper::serve(listener, router).into_future());
    addr
}

/// reqwest (no TLS) spawns its connections with `tokio::spawn` and connects
/// with `tokio::net`: inside `#[gmp::test(tokio_compat = true)]` it works,
/// against axum served natively by gmp.
#[gmp::test(tokio_compat = true)]
async fn reqwest_in_a_gmp_test_against_axum_served_by_gmp() {
    let state = AppState::default();
    let addr = serve_natively(app(state.clone())).await;
    let client = reqwest::Client::new();
    let work = async {
        for i in 0..200u64 {
            let text = client
                .get(format!("http://{addr}/"))
                .send()
                .await?
                .text()
                .await?;
            assert_eq!(text, "hello");
            let item = Item {
                id: i,
                name: format!("n{i}"),
            };
            let back: Item = client
                .post(format!("http://{addr}/echo"))
                .json(&item)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            assert_eq!(back.id, 2 * i);
        }
        // Concurrent requests from many Gs share reqwest's pool.
        let gs: Vec<_> = (0..32)
            .map(|_| {
                let client = client.clone();
                gmp::spawn(async move {
                    client
                        .get(format!("http://{addr}/thread"))
                        .send()
                        .await?
                        .text()
                        .await
                })
            })
            .collect();
        for g in gs {
            let thread = g.await.unwrap()?;
            assert!(thread.starts_with("gmp-m"), "a handler ran on {thread:?}");
        }
        Ok::<_, reqwest::Error>(())
    };
    gmp::time::timeout(PATIENCE, work)
        .await
        .expect("reqwest's requests finished in time")
        .unwrap();
    assert_eq!(state.hits.load(Relaxed), 400);
}

/// axum's own `axum::serve` takes a `tokio::net::TcpListener` and spawns a
/// tokio task per connection: under the mode it serves from a gmp program,
/// its handlers running on the tokio runtime's thread.
#[test]
fn axum_serve_runs_under_the_compat_mode() {
    run(
        "axum::serve under the compat mode",
        runtime(2, true),
        async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = futures::channel::oneshot::channel::<()>();
            let server = gmp::spawn(
                axum::serve(listener, app(AppState::default()))
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .into_future(),
            );
            // gmp's own hyper client, on gmp's sockets.
            let mut sender = connect(addr).await.unwrap();
            for _ in 0..100 {
                let (status, body) = send(&mut sender, get_request(addr, "/")).await.unwrap();
                assert_eq!((status, body.as_str()), (200, "hello"));
            }
            let (_, thread) = send(&mut sender, get_request(addr, "/thread"))
                .await
                .unwrap();
            assert_eq!(
                thread, "gmp-tokio",
                "axum::serve's tasks run on tokio's thread"
            );
            // A handler there that sleeps on gmp's timer reaches this runtime.
            let (status, body) = send(&mut sender, get_request(addr, "/slow?ms=5"))
                .await
                .unwrap();
            assert_eq!((status, body.as_str()), (200, "waited 5 ms"));
            drop(sender);
            stop.send(()).unwrap();
            gmp::time::timeout(PATIENCE, server)
                .await
                .expect("axum::serve shut down")
                .unwrap()
                .unwrap();
        },
    );
}

/// tower-http's `TimeoutLayer` (and tower's `timeout`) sleep with
/// `tokio::time::sleep`: under the mode they work on a gmp-served router.
#[test]
fn tower_http_timeout_sleeps_on_tokio_time_under_the_compat_mode() {
    use axum::error_handling::HandleErrorLayer;
    use axum::http::StatusCode;
    use tower::ServiceBuilder;
    use tower_http::timeout::TimeoutLayer;

    run(
        "tower-http's timeout under the compat mode",
        runtime(2, true),
        async {
            let router = app(AppState::default()).layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(100),
            ));
            let addr = serve_natively(router).await;
            let mut sender = connect(addr).await.unwrap();
            let (status, body) = send(&mut sender, get_request(addr, "/slow?ms=1"))
                .await
                .unwrap();
            assert_eq!((status, body.as_str()), (200, "waited 1 ms"));
            let (status, _) = send(&mut sender, get_request(addr, "/slow?ms=5000"))
                .await
                .unwrap();
            assert_eq!(status, 408, "tokio's timer fired for tower-http");

            // tower's own timeout, errors turned into responses by axum.
            let router = app(AppState::default()).layer(
                ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                        StatusCode::GATEWAY_TIMEOUT
                    }))
                    .timeout(Duration::from_millis(100)),
            );
            let addr = serve_natively(router).await;
            let mut sender = connect(addr).await.unwrap();
            let (status, _) = send(&mut sender, get_request(addr, "/slow?ms=5000"))
                .await
                .unwrap();
            assert_eq!(status, 504, "tokio's timer fired for tower");
        },
    );
}

/// Without the mode there is no tokio runtime: tower-http's timeout panics
/// in its handler's call ("there is no reactor running"), and gmp's server
/// answers that request 500 and goes on serving.
#[test]
fn without_the_compat_mode_a_tokio_timer_panics_and_the_server_answers_500() {
    use axum::http::StatusCode;
    use tower_http::timeout::TimeoutLayer;

    run(
        "tower-http's timeout without the mode",
        runtime(1, false),
        async {
            let router = app(AppState::default()).layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(1),
            ));
            let addr = serve_natively(router).await;
            let mut sender = connect(addr).await.unwrap();
            for _ in 0..2 {
                let (status, _) = send(&mut sender, get_request(addr, "/")).await.unwrap();
                assert_eq!(status, 500);
            }
        },
    );
}
