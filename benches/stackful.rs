//! Stackful Gs side by side: gmp coroutines (`gmp::go!`), may's coroutines,
//! and Go's goroutines (the Go program of the `sched` benchmark), at 1 and 2
//! procs.
//!
//! `cargo bench -p gmp-benches --bench stackful` (options after `--`:
//! `--procs 1,2`, `--reps 5`, `--shapes wake_million,ping_pong`, `--no-go`,
//! `--no-memory`).
//!
//! Every cell runs in a child process of its own (may's worker count is fixed
//! once per process), runtimes interleaved, and is the median of the
//! repetitions. In each child every shape runs twice and the first run is
//! discarded as a warm-up, as the Go program does for its own shapes. Shapes (time per operation, ns):
//! * `spawn_join`: a coroutine spawns 100 000 coroutines and joins each
//!   (Go: `spawn_many_local`, goroutines counted down, as Go has no join; may:
//!   in waves of 10 000, as it cannot hold 100 000 unstarted coroutines).
//! * `yield_many`: 200 coroutines each yield 1 000 times (per yield).
//! * `chained_spawn`: each coroutine spawns the next, 1 000 deep (per spawn).
//! * `ping_pong`: 200 000 round trips between two coroutines over channels,
//!   each runtime's own (gmp: `gmp::chan::bounded(1)`, waited on with
//!   `coro::wait`; may: its mpsc; Go: `chan`).
//! * `ping_pong_tokio_mpsc` (gmp only): the same over tokio's runtime-agnostic
//!   `sync::mpsc`, for comparison.
//! * `wake_million` (gmp and Go; may cannot map a million stacks here): park
//!   1 000 000 coroutines, each on a channel of its own, then send to each and
//!   wait until all have finished (a countdown, Go's `WaitGroup`); per G, the
//!   sends and the finishing only.
//! * `park_memory`: resident bytes per parked G with 1 000 000 of them (may
//!   cannot map that many stacks here; its row then says how many it reached).

use std::hint::black_box;
use std::process::Command;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use gmp_benches::{median, rss_bytes, Table};

const SPAWN: usize = 100_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1_000;
const CHAIN: usize = 1_000;
const PING_PONGS: usize = 200_000;
const PARKED: usize = 1_000_000;
const WAKE: usize = 1_000_000;

/// Runs a shape once to warm up (first-run costs: code never executed yet,
/// a channel type's first use, stacks mapped for the first time) and returns
/// the second run's figure, as the Go program does for its shapes (`s.f() //
/// warm-up` in `go/sched/main.go`). With `GMP_BENCH_COLD` set, the child also
/// prints the cold run's figure on stderr.
fn warm(shape: fn() -> f64) -> f64 {
    let cold = shape();
    if std::env::var_os("GMP_BENCH_COLD").is_some() {
        eprintln!("cold run: {cold:.1}");
    }
    TIMED_RUN.store(true, std::sync::atomic::Ordering::Relaxed);
    let timed = shape();
    TIMED_RUN.store(false, std::sync::atomic::Ordering::Relaxed);
    timed
}

/// Set while [`warm`] runs a shape for its figure (not the warm-up).
static TIMED_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// With `GMP_BENCH_PERF_CTL` naming `perf record --control fifo:`'s control
/// FIFO (and `-D -1`, which starts with events off), profiles only the timed
/// phase of the timed run of the shapes that call this:
/// `perf_control("enable")` before it, `"disable"` after.
fn perf_control(cmd: &str) {
    if !TIMED_RUN.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    if let Some(path) = std::env::var_os("GMP_BENCH_PERF_CTL") {
        use std::io::Write;
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("GMP_BENCH_PERF_CTL: open the control FIFO");
        writeln!(fifo, "{cmd}").expect("GMP_BENCH_PERF_CTL: write");
    }
}

/// The shapes this run measures: all of them, or those named by `--shapes`
/// (a comma-separated list the parent passes to its children in
/// [`SHAPES_ENV`]).
const SHAPES_ENV: &str = "GMP_BENCH_SHAPES";

fn selected(shape: &str) -> bool {
    match std::env::var(SHAPES_ENV) {
        Ok(list) => list.split(',').any(|s| s == shape),
        Err(_) => true,
    }
}

/// A shape: its name and the function that runs it once, returning its figure.
type Shape = (&'static str, fn() -> f64);

/// Runs each selected shape with [`warm`] and collects its figure.
fn run_shapes(shapes: &[Shape]) -> Vec<(&'static str, f64)> {
    shapes
        .iter()
        .filter(|(name, _)| selected(name))
        .map(|&(name, shape)| (name, warm(shape)))
        .collect()
}

mod gmp_side {
    use super::*;
    use gmp_exec::coro;

    /// Runs `f` as a coroutine on a runtime with `procs` Ps and returns what it
    /// returns.
    fn in_coroutine<R: Send + 'static>(procs: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
        let rt = gmp_exec::Runtime::builder().procs(procs).build().unwrap();
        let h = {
            let _in = rt.enter();
            coro::spawn(f)
        };
        h.join().unwrap()
    }

    pub fn shapes(procs: usize) -> Vec<(&'static str, f64)> {
        in_coroutine(procs, || {
            run_shapes(&[
                ("spawn_join", spawn_join),
                ("yield_many", yield_many),
                ("chained_spawn", chained_spawn),
                ("ping_pong", ping_pong),
                ("ping_pong_tokio_mpsc", ping_pong_tokio_mpsc),
                ("wake_million", wake_million),
            ])
        })
    }

    /// What the `wake_million` Gs share. Go's closures capture it by
    /// reference; so do these (`&'static`, leaked once per run, a few bytes),
    /// so the per-G cost is the runtime's and one atomic decrement, as in Go,
    /// not three reference counts bouncing between cores at each G's end.
    struct Countdown {
        left: std::sync::atomic::AtomicUsize,
        parked: std::sync::atomic::AtomicUsize,
        done: gmp_exec::chan::Sender<()>,
    }

    fn wake_million() -> f64 {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        let (done_tx, done_rx) = gmp_exec::chan::bounded::<()>(1);
        let shared: &'static Countdown = Box::leak(Box::new(Countdown {
            left: AtomicUsize::new(WAKE),
            parked: AtomicUsize::new(0),
            done: done_tx,
        }));
        let mut txs = Vec::with_capacity(WAKE);
        for _ in 0..WAKE {
            let (tx, rx) = gmp_exec::chan::bounded::<()>(1);
            txs.push(tx);
            drop(coro::spawn(move || {
                shared.parked.fetch_add(1, Relaxed);
                coro::wait(rx.recv()).unwrap();
                if shared.left.fetch_sub(1, Relaxed) == 1 {
                    shared.done.try_send(()).unwrap();
                }
            }));
        }
        // Every G started and parked on its channel (or about to).
        while shared.parked.load(Relaxed) < WAKE {
            coro::yield_now();
        }
        perf_control("enable");
        let start = Instant::now();
        for tx in &txs {
            tx.try_send(()).unwrap();
        }
        coro::wait(done_rx.recv()).unwrap();
        let per = start.elapsed().as_nanos() as f64 / WAKE as f64;
        perf_control("disable");
        per
    }

    fn spawn_join() -> f64 {
        let start = Instant::now();
        let hs: Vec<_> = (0..SPAWN)
            .map(|i| coro::spawn(move || black_box(i)))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        start.elapsed().as_nanos() as f64 / SPAWN as f64
    }

    fn yield_many() -> f64 {
        let start = Instant::now();
        let hs: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                coro::spawn(|| {
                    for _ in 0..YIELDS {
                        coro::yield_now();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        start.elapsed().as_nanos() as f64 / (YIELD_TASKS * YIELDS) as f64
    }

    fn chain(left: usize, done: async_channel::Sender<Instant>) {
        if left == 0 {
            done.try_send(Instant::now()).unwrap();
        } else {
            coro::spawn(move || chain(left - 1, done));
        }
    }

    fn chained_spawn() -> f64 {
        let (tx, rx) = async_channel::bounded(1);
        let start = Instant::now();
        chain(CHAIN, tx);
        let end = coro::wait(rx.recv()).unwrap();
        (end - start).as_nanos() as f64 / CHAIN as f64
    }

    /// Times `PING_PONGS` round trips between this coroutine and another over
    /// two channels from `channel`; `send` and `recv` wait on an end and report
    /// a closed channel as `false` / `None`.
    fn ping_pong_over<Tx, Rx, S, R>(channel: fn() -> (Tx, Rx), send: S, recv: R) -> f64
    where
        Tx: Send + 'static,
        Rx: Send + 'static,
        S: Fn(&Tx, u32) -> bool + Copy + Send + 'static,
        R: Fn(&mut Rx) -> Option<u32> + Copy + Send + 'static,
    {
        let (ping_tx, mut ping_rx) = channel();
        let (pong_tx, mut pong_rx) = channel();
        let ponger = coro::spawn(move || {
            while let Some(v) = recv(&mut ping_rx) {
                assert!(send(&pong_tx, v));
            }
        });
        let start = Instant::now();
        for i in 0..PING_PONGS as u32 {
            assert!(send(&ping_tx, i));
            recv(&mut pong_rx).unwrap();
        }
        let per = start.elapsed().as_nanos() as f64 / PING_PONGS as f64;
        drop(ping_tx);
        ponger.join().unwrap();
        per
    }

    fn ping_pong() -> f64 {
        ping_pong_over(
            || gmp_exec::chan::bounded::<u32>(1),
            |tx, v| coro::wait(tx.send(v)).is_ok(),
            |rx| coro::wait(rx.recv()).ok(),
        )
    }

    /// `ping_pong` over tokio's runtime-agnostic `mpsc` instead (gmp only).
    fn ping_pong_tokio_mpsc() -> f64 {
        ping_pong_over(
            || tokio::sync::mpsc::channel::<u32>(1),
            |tx, v| coro::wait(tx.send(v)).is_ok(),
            |rx| coro::wait(rx.recv()),
        )
    }

    /// Parks `n` coroutines forever and returns resident bytes per G; the
    /// process exits without tearing them down.
    pub fn park_memory(n: usize) -> f64 {
        let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
        let before = rss_bytes();
        let (tx, rx) = sync_channel(1);
        {
            let _in = rt.enter();
            let left = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(n));
            for _ in 0..n {
                let left = left.clone();
                let tx = tx.clone();
                coro::spawn(move || {
                    if left.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                    coro::wait(std::future::pending::<()>());
                });
            }
        }
        rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (rss_bytes() - before) as f64 / n as f64
    }
}

mod may_side {
    use super::*;
    use may::coroutine;

    fn go<F: FnOnce() -> T + Send + 'static, T: Send + 'static>(f: F) -> coroutine::JoinHandle<T> {
        // SAFETY: may's contract for spawning: the closure must not hold
        // thread-local references across a yield (ours use none), and must not
        // block the thread in ways may cannot see (ours only use may's own
        // primitives).
        unsafe { coroutine::spawn(f) }
    }

    pub fn shapes(procs: usize) -> Vec<(&'static str, f64)> {
        may::config().set_workers(procs);
        go(|| {
            run_shapes(&[
                ("spawn_join", spawn_join),
                ("yield_many", yield_many),
                ("chained_spawn", chained_spawn),
                ("ping_pong", ping_pong),
            ])
        })
        .join()
        .unwrap()
    }

    /// may maps a stack for every coroutine when it is spawned and cannot hold
    /// 100 000 of them at once here (the kernel's map count): it spawns and
    /// joins in waves of 10 000.
    fn spawn_join() -> f64 {
        const WAVE: usize = 10_000;
        let start = Instant::now();
        for wave in 0..SPAWN / WAVE {
            let hs: Vec<_> = (0..WAVE)
                .map(|i| go(move || black_box(wave * WAVE + i)))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
        start.elapsed().as_nanos() as f64 / SPAWN as f64
    }

    fn yield_many() -> f64 {
        let start = Instant::now();
        let hs: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                go(|| {
                    for _ in 0..YIELDS {
                        coroutine::yield_now();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        start.elapsed().as_nanos() as f64 / (YIELD_TASKS * YIELDS) as f64
    }

    fn chain(left: usize, done: may::sync::mpsc::Sender<Instant>) {
        if left == 0 {
            done.send(Instant::now()).unwrap();
        } else {
            go(move || chain(left - 1, done));
        }
    }

    fn chained_spawn() -> f64 {
        let (tx, rx) = may::sync::mpsc::channel();
        let start = Instant::now();
        chain(CHAIN, tx);
        let end = rx.recv().unwrap();
        (end - start).as_nanos() as f64 / CHAIN as f64
    }

    fn ping_pong() -> f64 {
        let (ping_tx, ping_rx) = may::sync::mpsc::channel::<u32>();
        let (pong_tx, pong_rx) = may::sync::mpsc::channel::<u32>();
        let ponger = go(move || {
            while let Ok(v) = ping_rx.recv() {
                pong_tx.send(v).unwrap();
            }
        });
        let start = Instant::now();
        for i in 0..PING_PONGS as u32 {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap();
        }
        let per = start.elapsed().as_nanos() as f64 / PING_PONGS as f64;
        drop(ping_tx);
        ponger.join().unwrap();
        per
    }

    pub fn park_memory(n: usize) -> f64 {
        may::config().set_workers(2);
        let before = rss_bytes();
        let (tx, rx) = sync_channel(1);
        let left = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(n));
        for _ in 0..n {
            let left = left.clone();
            let tx = tx.clone();
            go(move || {
                if left.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
                coroutine::park();
            });
        }
        rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (rss_bytes() - before) as f64 / n as f64
    }
}

/// How long a child running the timed shapes may take.
const SHAPES_LIMIT: Duration = Duration::from_secs(120);
/// How long a park-memory child may take: a million parked gmp Gs take a few
/// seconds; may, out of stack mappings, hangs instead of failing, and each
/// halving of its count waits this long.
const PARK_LIMIT: Duration = Duration::from_secs(30);

/// Runs this binary as a child with `args`; its stdout, or `None` (with the
/// reason on stderr) if it failed or ran past `limit` (may hangs rather than
/// fails when it cannot map another stack).
fn child(args: &[String], limit: Duration) -> Option<String> {
    use std::io::Read;
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = c.try_wait().ok()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            let _ = c.wait();
            eprintln!("child {args:?} ran past {limit:?}: killed");
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    c.stdout.take()?.read_to_string(&mut out).ok()?;
    if status.success() {
        Some(out)
    } else {
        eprintln!("child {args:?} failed ({status})");
        None
    }
}

fn go_results(procs: &[usize], reps: usize, table: &mut Table) {
    let procs: Vec<String> = procs.iter().map(|p| p.to_string()).collect();
    let run = |extra: &[&str]| gmp_benches::go_program("sched").args(extra).output();
    // The Go program calls `spawn_join` `spawn_many_local`.
    let shapes = std::env::var(SHAPES_ENV)
        .map(|list| list.replace("spawn_join", "spawn_many_local"))
        .unwrap_or_default();
    let out = match run(&[
        "-procs",
        &procs.join(","),
        "-reps",
        &reps.to_string(),
        "-stackful",
        "-shapes",
        &shapes,
    ]) {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            eprintln!(
                "SKIPPED Go: the Go program failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        Err(e) => {
            eprintln!("SKIPPED Go: cannot run the Go program ({e}); apt-get install golang-go, or set GMP_BENCH_GO_DIR");
            return;
        }
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [shape, p, value] = f[..] {
            let shape = if shape == "spawn_many_local" {
                "spawn_join"
            } else {
                shape
            };
            if let (Ok(p), Ok(v)) = (p.parse(), value.parse()) {
                table.record(shape, p, "Go", v);
            }
        }
    }
    if !selected("park_memory") {
        return;
    }
    if let Ok(out) = run(&["-park-memory"]) {
        if let Ok(v) = String::from_utf8_lossy(&out.stdout).trim().parse() {
            table.record("park_memory", 2, "Go", v);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--shapes-child") {
        let rt = args[i + 1].as_str();
        let procs: usize = args[i + 2].parse().unwrap();
        let results = match rt {
            "gmp" => gmp_side::shapes(procs),
            "may" => may_side::shapes(procs),
            other => panic!("unknown runtime {other}"),
        };
        for (shape, v) in results {
            println!("{shape} {v}");
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--park-child") {
        let rt = args[i + 1].as_str();
        let n: usize = args[i + 2].parse().unwrap();
        let v = match rt {
            "gmp" => gmp_side::park_memory(n),
            "may" => may_side::park_memory(n),
            other => panic!("unknown runtime {other}"),
        };
        println!("{v}");
        // Exit without tearing a million parked Gs down.
        std::process::exit(0);
    }
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let procs: Vec<usize> = value("--procs")
        .map(|v| v.split(',').map(|p| p.parse().expect("--procs")).collect())
        .unwrap_or_else(|| vec![1, 2]);
    let reps: usize = value("--reps").map_or(5, |v| v.parse().expect("--reps"));
    if let Some(shapes) = value("--shapes") {
        // Read by the children this process starts.
        std::env::set_var(SHAPES_ENV, shapes);
    }

    let runtimes = ["gmp", "may"];
    let mut table = Table::new(&["gmp", "may", "Go"]);
    for &p in &procs {
        let mut samples: std::collections::HashMap<(&str, String), Vec<f64>> = Default::default();
        for rep in 0..=reps {
            for rt in runtimes {
                let Some(out) = child(
                    &["--shapes-child".into(), rt.into(), p.to_string()],
                    SHAPES_LIMIT,
                ) else {
                    continue;
                };
                if rep == 0 {
                    continue; // warm-up: page cache, stack pools of the OS
                }
                for line in out.lines() {
                    if let Some((shape, v)) = line.split_once(' ') {
                        samples
                            .entry((rt, shape.to_string()))
                            .or_default()
                            .push(v.parse().unwrap());
                    }
                }
            }
            eprintln!("procs {p}: repetition {rep} of {reps} done");
        }
        for ((rt, shape), vs) in samples {
            table.record(&shape, p, rt, median(vs));
        }
    }
    if !args.iter().any(|a| a == "--no-memory") && selected("park_memory") {
        for rt in runtimes {
            let mut n = PARKED;
            loop {
                if let Some(out) = child(
                    &["--park-child".into(), rt.into(), n.to_string()],
                    PARK_LIMIT,
                ) {
                    if let Ok(v) = out.trim().parse() {
                        table.record("park_memory", 2, rt, v);
                        if n != PARKED {
                            eprintln!("{rt}: park_memory measured with {n} Gs ({PARKED} failed)");
                        }
                    }
                    break;
                }
                if n <= 10_000 {
                    break;
                }
                n /= 2;
            }
        }
    }
    if !args.iter().any(|a| a == "--no-go") {
        go_results(&procs, reps, &mut table);
    }
    println!("{}", table.markdown("gmp", "Go"));
}
