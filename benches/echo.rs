//! TCP echo round trips per second over loopback: the same echo server on gmp,
//! tokio's multi-thread runtime and smol (async-executor on async-io, run the
//! way smol runs it: every executor thread drives the reactor), and a Go
//! program (`go/echo`), at 1 and 2 procs.
//!
//! `cargo bench -p gmp-benches --bench echo` (options after `--`:
//! `--procs 1,2`, `--rounds 7`, `--round-trips 1000`, `--runtimes gmp,tokio`,
//! `--no-go`, `--pin 0:1` to run the servers on CPU 0 and the load generator
//! on CPU 1).
//!
//! One load generator drives every server, identically: a plain std program
//! with blocking sockets — 64 connections shared by 4 threads, each thread
//! writing a 64-byte message on each of its 16 connections and then reading
//! each echo back (and checking it), so 64 round trips are always in flight.
//! Each sample is the round trips of all 64 connections divided by the time
//! from the first write to the last echo. Each round samples every server
//! back to back (the servers stay up, idle, between their turns), so machine
//! noise lands on each alike; a cell is the median of the rounds.

use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use gmp_benches::{cli, median};

const CONNECTIONS: usize = 64;
const CLIENT_THREADS: usize = 4;
const MESSAGE: usize = 64;

/// A running echo server.
trait Server {
    /// The column name.
    fn name(&self) -> &'static str;
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
}

/// gmp: an accept loop spawning a G per connection.
struct Gmp {
    _rt: gmp_exec::Runtime,
    addr: SocketAddr,
}

impl Gmp {
    fn start(procs: usize) -> Gmp {
        let rt = gmp_exec::Runtime::builder().procs(procs).build().unwrap();
        let listener = rt
            .block_on(gmp_exec::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                gmp_exec::spawn(async move {
                    conn.set_nodelay(true).unwrap();
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = conn.read(&mut buf).await {
                        if conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
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
}

/// tokio: the same loop with tokio's sockets and `tokio::spawn`.
struct Tokio {
    _rt: tokio::runtime::Runtime,
    addr: SocketAddr,
}

impl Tokio {
    fn start(procs: usize) -> Tokio {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (rt, listener, addr) = gmp_benches::tokio_listener(procs);
        rt.spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    conn.set_nodelay(true).unwrap();
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = conn.read(&mut buf).await {
                        if conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Tokio { _rt: rt, addr }
    }
}

impl Server for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// smol: an `async_executor::Executor` run by `procs` threads, each in
/// `async_io::block_on` (so each drives the reactor while idle, as smol's
/// own threads do), sockets from `async_io::Async`.
struct Smol {
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

impl Smol {
    fn start(procs: usize) -> Smol {
        let ex = Arc::new(async_executor::Executor::new());
        let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let spawner = ex.clone();
        ex.spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                spawner
                    .spawn(async move {
                        conn.get_ref().set_nodelay(true).unwrap();
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n @ 1..) = conn.read(&mut buf).await {
                            if conn.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    })
                    .detach();
            }
        })
        .detach();
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..procs)
            .map(|_| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                std::thread::spawn(move || {
                    let _ = async_io::block_on(ex.run(stopped.recv()));
                })
            })
            .collect();
        Smol {
            stop: Some(stop),
            threads,
            addr,
        }
    }
}

impl Server for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Go: the `go/echo` program, built once, one process per procs value.
struct Go {
    child: Child,
    addr: SocketAddr,
}

impl Go {
    /// Builds the Go server; `Err` with the reason if that is not possible.
    fn build() -> Result<std::path::PathBuf, String> {
        if let Some(dir) = std::env::var_os(gmp_benches::GO_DIR_ENV) {
            return Ok(std::path::Path::new(&dir).join("echo"));
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/go/echo");
        let exe = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gmp-go-echo");
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&exe)
            .arg(".")
            .current_dir(dir)
            .output()
            .map_err(|e| format!("cannot run `go` ({e}); apt-get install golang-go"))?;
        if !out.status.success() {
            return Err(format!(
                "`go build` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(exe)
    }

    fn start(exe: &std::path::Path, procs: usize) -> Result<Go, String> {
        let mut child = Command::new(exe)
            .args(["-procs", &procs.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the Go server: {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("the Go server said {line:?}"))?;
        Ok(Go { child, addr })
    }
}

impl Server for Go {
    fn name(&self) -> &'static str {
        "Go"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Go {
    fn drop(&mut self) {
        // Closing its stdin tells it to exit.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The load generator: `round_trips` round trips on each of 64 connections
/// to `addr`; returns round trips per second. Each message carries its round
/// and its connection, so a crossed or stale echo fails.
fn drive(addr: SocketAddr, round_trips: usize) -> f64 {
    let conns: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| {
            let c = TcpStream::connect(addr).unwrap();
            c.set_nodelay(true).unwrap();
            c
        })
        .collect();
    fn message(round: usize, conn: usize) -> [u8; MESSAGE] {
        let mut msg = [0u8; MESSAGE];
        msg[..8].copy_from_slice(&(round as u64).to_le_bytes());
        msg[8] = conn as u8;
        msg
    }
    gmp_benches::cli::closed_loop(
        conns,
        CLIENT_THREADS,
        round_trips,
        || [0u8; MESSAGE],
        |_, round, conn, stream| io::Write::write_all(stream, &message(round, conn)).unwrap(),
        |back, round, conn, stream| {
            io::Read::read_exact(stream, back).unwrap();
            assert_eq!(*back, message(round, conn), "a wrong echo");
        },
    )
}

struct Options {
    procs: Vec<usize>,
    rounds: usize,
    round_trips: usize,
    runtimes: Option<Vec<String>>,
    go: bool,
}

fn options() -> Options {
    let mut o = Options {
        procs: vec![1, 2],
        rounds: 7,
        round_trips: 1000,
        runtimes: None,
        go: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--procs" => o.procs = cli::list(args.next(), "--procs"),
            "--rounds" => o.rounds = cli::number(args.next(), "--rounds"),
            "--round-trips" => o.round_trips = cli::number(args.next(), "--round-trips"),
            "--runtimes" => o.runtimes = Some(cli::list(args.next(), "--runtimes")),
            "--no-go" => o.go = false,
            "--pin" => cli::pin(args.next()),
            // cargo bench passes --bench; ignore it and anything unknown.
            _ => {}
        }
    }
    o
}

fn main() {
    let opts = options();
    let wanted = |name: &str| {
        opts.runtimes
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|r| r == name))
    };
    let go_exe = if opts.go && wanted("Go") {
        match Go::build() {
            Ok(exe) => Some(exe),
            Err(why) => {
                println!("SKIPPED Go: {why}");
                None
            }
        }
    } else {
        None
    };
    let columns = ["gmp", "tokio", "smol", "Go"];
    let mut cells: Vec<(usize, &'static str, f64)> = Vec::new();
    for &procs in &opts.procs {
        let mut servers: Vec<Box<dyn Server>> = Vec::new();
        if wanted("gmp") {
            servers.push(Box::new(Gmp::start(procs)));
        }
        if wanted("tokio") {
            servers.push(Box::new(Tokio::start(procs)));
        }
        if wanted("smol") {
            servers.push(Box::new(Smol::start(procs)));
        }
        if let Some(exe) = &go_exe {
            match Go::start(exe, procs) {
                Ok(go) => servers.push(Box::new(go)),
                Err(why) => println!("SKIPPED Go at procs {procs}: {why}"),
            }
        }
        // Warm-up: connections, thread pools, caches.
        for s in &servers {
            drive(s.addr(), opts.round_trips / 10 + 1);
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
        for _ in 0..opts.rounds {
            for (i, s) in servers.iter().enumerate() {
                samples[i].push(drive(s.addr(), opts.round_trips));
            }
        }
        for (s, v) in servers.iter().zip(samples) {
            let m = median(v.clone());
            eprintln!(
                "procs {procs} {:>5}: median {m:>9.0} round trips/s (rounds: {})",
                s.name(),
                v.iter()
                    .map(|x| format!("{x:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            cells.push((procs, s.name(), m));
        }
        // Servers stop here (runtimes shut down, the Go process exits).
        drop(servers);
    }

    let get = |procs: usize, name: &str| {
        cells
            .iter()
            .find(|(p, n, _)| *p == procs && *n == name)
            .map(|c| c.2)
    };
    let mut out = String::from("| echo (round trips/s, 64 connections) | procs |");
    for c in columns {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str(" gmp / best peer | gmp / tokio |\n| --- | ---: |");
    for _ in columns {
        out.push_str(" ---: |");
    }
    out.push_str(" ---: | ---: |\n");
    for &procs in &opts.procs {
        out.push_str(&format!("| echo | {procs} |"));
        for c in columns {
            match get(procs, c) {
                Some(v) => out.push_str(&format!(" {v:.0} |")),
                None => out.push_str(" — |"),
            }
        }
        let gmp = get(procs, "gmp");
        let best_peer = columns[1..]
            .iter()
            .filter_map(|c| get(procs, c))
            .max_by(|a, b| a.total_cmp(b));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "—".to_string(),
        };
        out.push_str(&format!(
            " {} | {} |\n",
            ratio(gmp, best_peer),
            ratio(gmp, get(procs, "tokio"))
        ));
    }
    println!("\nHigher is better; ratios above 1 favour gmp.\n\n{out}");
}
