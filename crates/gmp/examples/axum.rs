//! An axum app on gmp: routes, JSON, shared state, tower-http middleware and a
//! request timeout, served by `gmp::hyper::serve` on gmp's listener — a G per
//! connection, handlers polled on gmp's Ps, HTTP/1 and HTTP/2 on one port —
//! with no tokio runtime in the process.
//!
//! ```sh
//! cargo run --release -p gmp --features hyper-server --example axum [ADDR]
//! curl http://127.0.0.1:3000/
//! curl -X POST -H 'content-type: application/json' -d '{"title":"try gmp"}' http://127.0.0.1:3000/todos
//! curl http://127.0.0.1:3000/todos
//! curl http://127.0.0.1:3000/slow?ms=2000    # 408 after 1 s: the timeout layer
//! curl --http2-prior-knowledge http://127.0.0.1:3000/stats
//! curl -X POST http://127.0.0.1:3000/shutdown  # graceful: in-flight requests finish
//! ```
//!
//! Ctrl-C (`gmp::signal::ctrl_c`, on Unix) shuts it down gracefully too.
//!
//! The timeout is a small layer on gmp's timer (`axum::middleware::from_fn`
//! around `gmp::time::timeout`). tower-http's own `TimeoutLayer` sleeps on
//! tokio's timer, so it panics in a gmp program unless the runtime runs in the
//! tokio compatibility mode (feature `tokio-compat`,
//! `#[gmp::main(tokio_compat = true)]`); the interop tests run it that way.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;

/// How long a handler may take before the client gets 408.
const TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Serialize)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
}

#[derive(Deserialize)]
struct NewTodo {
    title: String,
}

/// Shared by every handler, on whichever M it runs.
#[derive(Clone)]
struct AppState {
    todos: Arc<Mutex<BTreeMap<u64, Todo>>>,
    next_id: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    /// Dropped by `POST /shutdown`: closing the channel is the signal.
    shutdown: Arc<Mutex<Option<gmp::chan::Sender<()>>>>,
}

async fn hello(State(state): State<AppState>) -> &'static str {
    state.requests.fetch_add(1, Relaxed);
    "hello from axum on gmp\n"
}

async fn list(State(state): State<AppState>) -> Json<Vec<Todo>> {
    state.requests.fetch_add(1, Relaxed);
    Json(state.todos.lock().unwrap().values().cloned().collect())
}

async fn create(
    State(state): State<AppState>,
    Json(new): Json<NewTodo>,
) -> (StatusCode, Json<Todo>) {
    state.requests.fetch_add(1, Relaxed);
    let id = state.next_id.fetch_add(1, Relaxed);
    let todo = Todo {
        id,
        title: new.title,
        done: false,
    };
    state.todos.lock().unwrap().insert(id, todo.clone());
    (StatusCode::CREATED, Json(todo))
}

async fn one(State(state): State<AppState>, Path(id): Path<u64>) -> Result<Json<Todo>, StatusCode> {
    state.requests.fetch_add(1, Relaxed);
    let todos = state.todos.lock().unwrap();
    todos
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

#[derive(Deserialize)]
struct Slow {
    ms: u64,
}

/// Waits on gmp's timer: the G parks, its M runs other Gs meanwhile.
async fn slow(Query(slow): Query<Slow>) -> String {
    gmp::time::sleep(Duration::from_millis(slow.ms)).await;
    format!("slept {} ms\n", slow.ms)
}

/// The app's counter beside the runtime's own (`Handle::metrics`).
async fn stats(State(state): State<AppState>) -> Json<serde_json::Value> {
    let m = gmp::Handle::current().metrics();
    Json(serde_json::json!({
        "requests": state.requests.load(Relaxed),
        "procs": m.procs,
        "gs_spawned": m.spawned,
        "gs_completed": m.completed,
        "handler_thread": std::thread::current().name(),
    }))
}

async fn shutdown(State(state): State<AppState>) -> &'static str {
    state.shutdown.lock().unwrap().take();
    "shutting down\n"
}

/// A request timeout on gmp's timer: 408 when the rest of the stack has not
/// answered within [`TIMEOUT`] (the handler's future is dropped).
async fn timeout(request: Request, next: Next) -> Response {
    match gmp::time::timeout(TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "timed out\n").into_response(),
    }
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(one))
        .route("/slow", get(slow))
        .route("/stats", get(stats))
        .route("/shutdown", post(shutdown))
        .layer(middleware::from_fn(timeout))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-runtime"),
            HeaderValue::from_static("gmp"),
        ))
        .with_state(state)
}

#[gmp::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let (stop, stopped) = gmp::chan::bounded::<()>(1);
    let state = AppState {
        todos: Arc::default(),
        next_id: Arc::new(AtomicU64::new(1)),
        requests: Arc::default(),
        shutdown: Arc::new(Mutex::new(Some(stop))),
    };
    let listener = gmp::net::TcpListener::bind(addr.as_str()).await?;
    println!(
        "axum on gmp: http://{} ({} Ps); POST /shutdown or Ctrl-C to stop",
        listener.local_addr()?,
        gmp::Handle::current().procs()
    );
    gmp::hyper::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            // `recv` ends with Err once `POST /shutdown` drops the only sender.
            let shutdown = std::pin::pin!(stopped.recv());
            // `gmp::signal` is Unix-only for now; elsewhere, POST /shutdown.
            #[cfg(unix)]
            let ctrl_c = gmp::signal::ctrl_c();
            #[cfg(not(unix))]
            let ctrl_c = std::future::pending::<std::io::Result<()>>();
            let ctrl_c = std::pin::pin!(ctrl_c);
            futures::future::select(shutdown, ctrl_c).await;
        })
        .await?;
    println!("stopped: every connection finished");
    Ok(())
}
