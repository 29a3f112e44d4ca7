//! hyper 1.x hello-world requests per second over loopback: the same hyper
//! HTTP/1 server on gmp (`gmp_exec::net` streams, hyper's traits from the
//! `hyper` feature) and on tokio's multi-thread runtime (hyper-util's
//! `TokioIo`), at 1 and 2 procs. Then the same hello as an axum app, served
//! three ways:
//!
//! * `axum-gmp`: `gmp::hyper::serve` on a gmp listener — a G per connection,
//!   the handler polled on gmp's Ps, no tokio runtime;
//! * `axum-tokio`: axum's own `axum::serve` on a plain tokio multi-thread
//!   runtime with `procs` workers;
//! * `axum-compat`: axum's own `axum::serve` inside a gmp runtime in the tokio
//!   compatibility mode (`Builder::tokio_compat`): `axum::serve` spawns its
//!   connections with `tokio::spawn`, so they run on the compatibility
//!   runtime's one tokio worker, whatever `procs` is — what the mode costs
//!   when the server itself is left to tokio.
//!
//! Both axum servers detect HTTP/1 and HTTP/2 per connection (hyper-util's
//! auto builder); the load is HTTP/1.
//!
//! `cargo bench -p gmp-benches --bench hyper` (options after `--`:
//! `--procs 1,2`, `--rounds 7`, `--requests 1000` per connection and round,
//! `--connections 64`, `--runtimes gmp,tokio,axum-gmp,axum-tokio,axum-compat`,
//! `--metrics` to print gmp's scheduler counters, `--pin 0:1` to run the
//! servers on CPU 0 and the load generator on CPU 1).
//!
//! One load generator drives both servers identically: a plain std program
//! with blocking sockets — keep-alive connections shared by 4 threads, each
//! thread writing one fixed `GET / HTTP/1.1` on each of its connections and
//! then reading each fixed-size response back (and checking it), so one
//! request per connection is always in flight. The response size is learnt
//! from the first response on each connection (hyper's is the same every
//! time: the `date` header has a fixed width). Each sample is the requests of
//! all connections divided by the time from the first write to the last
//! response. Each round samples every server back to back (the servers stay
//! up, idle, between their turns; the order alternates from round to round),
//! so machine noise lands on each alike; a cell is the median of the rounds.

use std::convert::Infallible;
use std::future::IntoFuture;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use gmp_benches::{cli, median};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

const CLIENT_THREADS: usize = 4;
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";
const BODY: &str = "hello";

async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(BODY.to_string()))
}

/// A running hello server.
trait Server {
    /// The column name.
    fn name(&self) -> &'static str;
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
    /// Scheduler counters worth printing with `--metrics`, if it has any.
    fn metrics(&self) -> Option<String> {
        None
    }
}

/// A server whose column needs nothing beyond its name and address, running
/// on `R`, a runtime kept alive (and shut down on drop) with it.
struct Running<R> {
    name: &'static str,
    addr: SocketAddr,
    _rt: R,
}

impl<R> Server for Running<R> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// gmp: an accept loop spawning a G per connection; hyper reads and writes
/// the gmp `TcpStream` directly.
struct Gmp {
    _rt: gmp_exec::Runtime,
    addr: SocketAddr,
}

impl Gmp {
    fn start(procs: usize, metrics: bool) -> Gmp {
        let rt = gmp_exec::Runtime::builder()
            .procs(procs)
            .metrics(metrics)
            .build()
            .unwrap();
        let listener = rt
            .block_on(gmp_exec::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                gmp_exec::spawn(async move {
                    stream.set_nodelay(true).unwrap();
                    let _ = http1::Builder::new()
                        .serve_connection(stream, service_fn(hello))
                        .await;
                });
            }
        });
        Gmp { _rt: rt, addr }
    }
}

impl Server for Gmp {
    fn name(&self) -> &'static str {
        "gmp"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn metrics(&self) -> Option<String> {
        let m = self._rt.metrics();
        let polls: u64 = m.ps.iter().map(|p| p.polls).sum();
        Some(format!(
            "polls {polls}, netpoll wake-ups {}, Ms {}, handoffs {}, retakes {}, \
             sysmon wakes {}, preempt marks {}, running {:?}, spinning {:?}, parked {:?}",
            m.netpoll_wakeups,
            m.threads,
            m.handoffs,
            m.retakes,
            m.sysmon_wakes,
            m.preempt_marks,
            m.running_time,
            m.spinning_time,
            m.parked_time
        ))
    }
}

/// tokio: the same loop with tokio's sockets behind hyper-util's `TokioIo`.
fn start_tokio(procs: usize) -> Running<tokio::runtime::Runtime> {
    let (rt, listener, addr) = gmp_benches::tokio_listener(procs);
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                stream.set_nodelay(true).unwrap();
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new()
                    .serve_connection(io, service_fn(hello))
                    .await;
            });
        }
    });
    Running {
        name: "tokio",
        addr,
        _rt: rt,
    }
}

/// The axum app every axum server runs: `GET /` answers [`BODY`].
fn axum_app() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { BODY }))
}

/// gmp-native axum: `gmp::hyper::serve` (a G per connection).
fn start_axum_gmp(procs: usize) -> Running<gmp::Runtime> {
    let rt = gmp::Runtime::builder().procs(procs).build().unwrap();
    let listener = rt
        .block_on(gmp::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    drop(rt.spawn(gmp::hyper::serve(listener, axum_app()).into_future()));
    Running {
        name: "axum-gmp",
        addr,
        _rt: rt,
    }
}

/// axum on plain tokio: `axum::serve`, `procs` workers.
fn start_axum_tokio(procs: usize) -> Running<tokio::runtime::Runtime> {
    let (rt, listener, addr) = gmp_benches::tokio_listener(procs);
    drop(rt.spawn(axum::serve(listener, axum_app()).into_future()));
    Running {
        name: "axum-tokio",
        addr,
        _rt: rt,
    }
}

/// axum's own `axum::serve` in a gmp runtime, in the tokio compatibility
/// mode: the accept loop is a G, the connections are tokio tasks.
fn start_axum_compat(procs: usize) -> Running<gmp::Runtime> {
    let rt = gmp::Runtime::builder()
        .procs(procs)
        .tokio_compat(true)
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    drop(rt.spawn(axum::serve(listener, axum_app()).into_future()));
    Running {
        name: "axum-compat",
        addr,
        _rt: rt,
    }
}

/// A keep-alive connection of the load generator, with the size of the
/// server's (constant) response.
struct Conn {
    stream: TcpStream,
    response_len: usize,
}

impl Conn {
    /// Connects and sends one request to learn the response's size.
    fn open(addr: SocketAddr) -> Conn {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.write_all(REQUEST).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let response_len = loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the server closed the connection");
            got.extend_from_slice(&buf[..n]);
            if let Some(head) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head_len = head + 4;
                let head = std::str::from_utf8(&got[..head_len])
                    .unwrap()
                    .to_ascii_lowercase();
                let body_len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .expect("a content-length header");
                let total = head_len + body_len;
                if got.len() >= total {
                    assert_eq!(got.len(), total, "more than one response arrived");
                    break total;
                }
            }
        };
        assert!(got.starts_with(b"HTTP/1.1 200 OK"), "{got:?}");
        assert!(got.ends_with(BODY.as_bytes()));
        Conn {
            stream,
            response_len,
        }
    }
}

/// The load generator: `requests` requests on each of `connections`
/// keep-alive connections to `addr`; returns requests per second.
fn drive(addr: SocketAddr, connections: usize, requests: usize) -> f64 {
    let conns: Vec<Conn> = (0..connections).map(|_| Conn::open(addr)).collect();
    cli::closed_loop(
        conns,
        CLIENT_THREADS,
        requests,
        || vec![0u8; 4096],
        |_, _, _, conn| conn.stream.write_all(REQUEST).unwrap(),
        |buf, _, _, conn| {
            let response = &mut buf[..conn.response_len];
            conn.stream.read_exact(response).unwrap();
            assert!(
                response.starts_with(b"HTTP/1.1 200 OK") && response.ends_with(BODY.as_bytes()),
                "a wrong response: {:?}",
                String::from_utf8_lossy(response)
            );
        },
    )
}

struct Options {
    procs: Vec<usize>,
    rounds: usize,
    requests: usize,
    connections: usize,
    runtimes: Option<Vec<String>>,
    metrics: bool,
}

fn options() -> Options {
    let mut o = Options {
        procs: vec![1, 2],
        rounds: 7,
        requests: 1000,
        connections: 64,
        runtimes: None,
        metrics: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--procs" => o.procs = cli::list(args.next(), "--procs"),
            "--rounds" => o.rounds = cli::number(args.next(), "--rounds"),
            "--requests" => o.requests = cli::number(args.next(), "--requests"),
            "--connections" => o.connections = cli::number(args.next(), "--connections"),
            "--runtimes" => o.runtimes = Some(cli::list(args.next(), "--runtimes")),
            "--metrics" => o.metrics = true,
            "--pin" => cli::pin(args.next()),
            // cargo bench passes --bench; ignore it and anything unknown.
            _ => {}
        }
    }
    assert!(o.connections > 0, "--connections must be at least 1");
    o
}

fn main() {
    let opts = options();
    let wanted = |name: &str| {
        opts.runtimes
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|r| r == name))
    };
    let mut cells: Vec<(usize, &'static str, f64)> = Vec::new();
    for &procs in &opts.procs {
        let mut servers: Vec<Box<dyn Server>> = Vec::new();
        if wanted("gmp") {
            servers.push(Box::new(Gmp::start(procs, opts.metrics)));
        }
        if wanted("tokio") {
            servers.push(Box::new(start_tokio(procs)));
        }
        if wanted("axum-gmp") {
            servers.push(Box::new(start_axum_gmp(procs)));
        }
        if wanted("axum-tokio") {
            servers.push(Box::new(start_axum_tokio(procs)));
        }
        if wanted("axum-compat") {
            servers.push(Box::new(start_axum_compat(procs)));
        }
        // Warm-up: connections, thread pools, caches.
        for s in &servers {
            drive(s.addr(), opts.connections, opts.requests / 10 + 1);
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
        for round in 0..opts.rounds {
            // Alternate the order, so neither server always runs first.
            let mut order: Vec<usize> = (0..servers.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                samples[i].push(drive(servers[i].addr(), opts.connections, opts.requests));
            }
        }
        for (s, v) in servers.iter().zip(samples) {
            let m = median(v.clone());
            eprintln!(
                "procs {procs} {:>5}: median {m:>9.0} requests/s (rounds: {})",
                s.name(),
                v.iter()
                    .map(|x| format!("{x:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            cells.push((procs, s.name(), m));
            if let Some(metrics) = s.metrics().filter(|_| opts.metrics) {
                eprintln!("procs {procs} {:>5}: {metrics}", s.name());
            }
        }
        drop(servers);
    }

    let get = |procs: usize, name: &str| {
        cells
            .iter()
            .find(|(p, n, _)| *p == procs && *n == name)
            .map(|c| c.2)
    };
    let mut out = format!(
        "| hyper hello (requests/s, {} keep-alive connections) | procs | gmp | tokio | gmp / tokio |\n\
         | --- | ---: | ---: | ---: | ---: |\n",
        opts.connections
    );
    let cell = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.0}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "—".to_string(),
    };
    for &procs in &opts.procs {
        let (g, t) = (get(procs, "gmp"), get(procs, "tokio"));
        out.push_str(&format!(
            "| hyper | {procs} | {} | {} | {} |\n",
            cell(g),
            cell(t),
            ratio(g, t)
        ));
    }
    out.push_str(
        "\n| axum hello (requests/s) | procs | gmp::hyper::serve | axum::serve on tokio | \
         axum::serve, gmp compat mode | native / tokio | compat / tokio |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for &procs in &opts.procs {
        let (g, t, c) = (
            get(procs, "axum-gmp"),
            get(procs, "axum-tokio"),
            get(procs, "axum-compat"),
        );
        out.push_str(&format!(
            "| axum | {procs} | {} | {} | {} | {} | {} |\n",
            cell(g),
            cell(t),
            cell(c),
            ratio(g, t),
            ratio(c, t)
        ));
    }
    println!("\nHigher is better; a ratio above 1 favours gmp.\n\n{out}");
}
