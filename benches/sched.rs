//! tokio's scheduler benchmark shapes, run on gmp, tokio's multi-thread runtime
//! and async-executor in one process (and Go 1.19 beside them, if `go` is on the
//! PATH), at 1 and 2 procs. Each cell is the median of several runs; every
//! repetition runs all three runtimes back to back, so machine noise hits each
//! of them alike.
//!
//! `cargo bench -p gmp-benches --bench sched` (options after `--`:
//! `--procs 1,2,4`, `--reps 11`, `--only ping_pong`, `--runtimes gmp,tokio`
//! (add `gmp-nosysmon`, `gmp-nometrics` or `gmp-trace` to measure what sysmon,
//! the metrics counters or a running execution trace cost),
//! `--no-go`, `--no-memory`).
//!
//! Shapes (per-operation time; where a shape starts inside the runtime, the
//! clock runs from its first task to its last, see `Ctx`):
//! * `spawn_many_local`: a task spawns 100 000 tasks that each bump an atomic.
//! * `spawn_many_remote`: a plain thread spawns the same 100 000 tasks.
//! * `yield_many`: 200 tasks each yield 1 000 times.
//! * `chained_spawn`: each task spawns the next, 1 000 deep.
//! * `ping_pong`: 200 000 round trips between two tasks over async-channel
//!   bounded(1) channels.
//! * `park_memory`: resident memory per parked task with 1 000 000 tasks
//!   (measured in a child process per runtime).

use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use gmp_benches::rt::{AsyncExecutor, Gmp, GmpNoMetrics, GmpNoSysmon, Runtime, Spawner, Tokio};
use gmp_benches::{median, rss_bytes, Table};

const SPAWN_MANY: usize = 100_000;
/// The column of the traced gmp runtime.
const GMP_TRACE: &str = "gmp-trace";
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1_000;
const CHAIN: usize = 1_000;
const PING_PONGS: usize = 200_000;
const PARKED: usize = 1_000_000;

/// What every task of a shape shares; leaked so tasks hold a `&'static` and
/// no runtime pays for reference counting that the shape does not ask for.
///
/// Time is measured inside the runtime where the shape starts inside it (from
/// the first task's first instruction to the last task's finish), so the cost of
/// waking a parked worker from the benchmark thread and of waking that thread
/// at the end is not charged to the shape — Go's goroutines, which are the
/// benchmark thread there, pay neither.
struct Ctx {
    remaining: AtomicUsize,
    done: SyncSender<Duration>,
    spawner: Spawner,
    base: Instant,
    start_ns: AtomicU64,
}

fn new_ctx(rt: &impl Runtime, remaining: usize) -> (&'static Ctx, Receiver<Duration>) {
    let (done, rx) = sync_channel(1);
    let ctx = Box::leak(Box::new(Ctx {
        remaining: AtomicUsize::new(remaining),
        done,
        spawner: rt.spawner(),
        base: Instant::now(),
        start_ns: AtomicU64::new(0),
    }));
    (ctx, rx)
}

impl Ctx {
    /// Starts the clock (from inside the first task, or before a remote spawn).
    fn start(&self) {
        self.start_ns
            .store(self.base.elapsed().as_nanos() as u64, Relaxed);
    }

    fn finish_one(&self) {
        if self.remaining.fetch_sub(1, Relaxed) == 1 {
            let end = self.base.elapsed().as_nanos() as u64;
            let took = end - self.start_ns.load(Relaxed);
            self.done.send(Duration::from_nanos(took)).unwrap();
        }
    }
}

fn spawn_many_local<R: Runtime>(rt: &R) -> f64 {
    let (ctx, done) = new_ctx(rt, SPAWN_MANY);
    rt.spawn(async move {
        ctx.start();
        for _ in 0..SPAWN_MANY {
            ctx.spawner.spawn(async move { ctx.finish_one() });
        }
    });
    per_op(done.recv().unwrap(), SPAWN_MANY)
}

fn spawn_many_remote<R: Runtime>(rt: &R) -> f64 {
    let (ctx, done) = new_ctx(rt, SPAWN_MANY);
    ctx.start();
    for _ in 0..SPAWN_MANY {
        rt.spawn(async move { ctx.finish_one() });
    }
    per_op(done.recv().unwrap(), SPAWN_MANY)
}

fn yield_many<R: Runtime>(rt: &R) -> f64 {
    let (ctx, done) = new_ctx(rt, YIELD_TASKS);
    ctx.start();
    for _ in 0..YIELD_TASKS {
        rt.spawn(async move {
            for _ in 0..YIELDS {
                R::yield_now().await;
            }
            ctx.finish_one();
        });
    }
    per_op(done.recv().unwrap(), YIELD_TASKS * YIELDS)
}

fn chained_spawn<R: Runtime>(rt: &R) -> f64 {
    fn link(ctx: &'static Ctx, n: usize) {
        if n == 0 {
            ctx.finish_one();
        } else {
            ctx.spawner.spawn(async move { link(ctx, n - 1) });
        }
    }
    let (ctx, done) = new_ctx(rt, 1);
    rt.spawn(async move {
        ctx.start();
        link(ctx, CHAIN)
    });
    per_op(done.recv().unwrap(), CHAIN)
}

fn ping_pong<R: Runtime>(rt: &R) -> f64 {
    let (ctx, done) = new_ctx(rt, 1);
    let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
    let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
    rt.spawn(async move {
        while let Ok(v) = ping_rx.recv().await {
            if pong_tx.send(v).await.is_err() {
                break;
            }
        }
    });
    rt.spawn(async move {
        ctx.start();
        for i in 0..PING_PONGS {
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await.unwrap(), i);
        }
        ctx.finish_one();
    });
    per_op(done.recv().unwrap(), PING_PONGS)
}

fn per_op(d: Duration, ops: usize) -> f64 {
    d.as_nanos() as f64 / ops as f64
}

/// In a child process: RSS growth per parked task, in bytes.
fn park_memory<R: Runtime>() -> f64 {
    let rt = R::start(2);
    // Warm the runtime up so its threads and queues exist before the baseline.
    let (ctx, done) = new_ctx(&rt, 1);
    rt.spawn(async move { ctx.finish_one() });
    let _ = done.recv().unwrap();
    let before = rss_bytes();
    let (ctx, done) = new_ctx(&rt, PARKED);
    rt.spawn(async move {
        for i in 0..PARKED {
            ctx.spawner.spawn(async move {
                ctx.finish_one();
                std::future::pending::<()>().await;
            });
            if i % 256 == 255 {
                // Let the spawned tasks run and park before spawning more.
                R::yield_now().await;
            }
        }
    });
    let _ = done.recv().unwrap();
    let after = rss_bytes();
    (after - before) as f64 / PARKED as f64
}

struct Options {
    procs: Vec<usize>,
    reps: usize,
    only: Option<String>,
    runtimes: Option<Vec<String>>,
    go: bool,
    memory: bool,
}

fn options() -> Options {
    let mut o = Options {
        procs: vec![1, 2],
        reps: 11,
        only: None,
        runtimes: None,
        go: true,
        memory: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--procs" => o.procs = gmp_benches::cli::list(args.next(), "--procs"),
            "--reps" => o.reps = gmp_benches::cli::number(args.next(), "--reps"),
            "--only" => o.only = args.next(),
            "--runtimes" => o.runtimes = Some(gmp_benches::cli::list(args.next(), "--runtimes")),
            "--no-go" => o.go = false,
            "--no-memory" => o.memory = false,
            // cargo bench passes --bench; ignore it and anything unknown.
            _ => {}
        }
    }
    o
}

type Shape<R> = fn(&R) -> f64;

const SHAPES: [&str; 5] = [
    "spawn_many_local",
    "spawn_many_remote",
    "yield_many",
    "chained_spawn",
    "ping_pong",
];

fn shape<R: Runtime>(name: &str) -> Shape<R> {
    match name {
        "spawn_many_local" => spawn_many_local::<R>,
        "spawn_many_remote" => spawn_many_remote::<R>,
        "yield_many" => yield_many::<R>,
        "chained_spawn" => chained_spawn::<R>,
        "ping_pong" => ping_pong::<R>,
        other => panic!("unknown shape {other}"),
    }
}

/// The three runtimes, alive side by side (an idle one costs nothing), so that
/// each repetition measures all of them back to back: noise from the rest of
/// the machine then lands on every runtime alike.
struct Rts {
    gmp: Option<Gmp>,
    gmp_nosysmon: Option<GmpNoSysmon>,
    gmp_nometrics: Option<GmpNoMetrics>,
    /// A second gmp runtime, with an execution trace recording while (and only
    /// while) it runs a sample.
    gmp_trace: Option<Gmp>,
    tokio: Option<Tokio>,
    async_executor: Option<AsyncExecutor>,
}

impl Rts {
    fn start(procs: usize, opts: &Options) -> Rts {
        let wanted = |name: &str| {
            opts.runtimes
                .as_ref()
                .is_none_or(|rs| rs.iter().any(|r| r == name))
        };
        // The gmp variants run only when asked for by name: they measure
        // what sysmon, the metrics counters and tracing cost.
        let named = |name: &str| {
            opts.runtimes
                .as_ref()
                .is_some_and(|rs| rs.iter().any(|r| r == name))
        };
        Rts {
            gmp: wanted(Gmp::NAME).then(|| Gmp::start(procs)),
            gmp_nosysmon: named(GmpNoSysmon::NAME).then(|| GmpNoSysmon::start(procs)),
            gmp_nometrics: named(GmpNoMetrics::NAME).then(|| GmpNoMetrics::start(procs)),
            gmp_trace: named(GMP_TRACE).then(|| Gmp::start(procs)),
            tokio: wanted(Tokio::NAME).then(|| Tokio::start(procs)),
            async_executor: wanted(AsyncExecutor::NAME).then(|| AsyncExecutor::start(procs)),
        }
    }

    /// One sample of `name` on each runtime: (runtime, ns per op).
    fn sample(&self, name: &str) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        if let Some(rt) = &self.gmp {
            out.push((Gmp::NAME, shape::<Gmp>(name)(rt)));
        }
        if let Some(rt) = &self.gmp_nosysmon {
            out.push((GmpNoSysmon::NAME, shape::<GmpNoSysmon>(name)(rt)));
        }
        if let Some(rt) = &self.gmp_nometrics {
            out.push((GmpNoMetrics::NAME, shape::<GmpNoMetrics>(name)(rt)));
        }
        if let Some(rt) = &self.gmp_trace {
            let path =
                std::env::temp_dir().join(format!("gmp-bench-trace-{}.json", std::process::id()));
            gmp_exec::trace::start(&path).expect("no other trace is recording");
            let v = shape::<Gmp>(name)(rt);
            let _ = gmp_exec::trace::stop();
            let _ = std::fs::remove_file(&path);
            out.push((GMP_TRACE, v));
        }
        if let Some(rt) = &self.tokio {
            out.push((Tokio::NAME, shape::<Tokio>(name)(rt)));
        }
        if let Some(rt) = &self.async_executor {
            out.push((AsyncExecutor::NAME, shape::<AsyncExecutor>(name)(rt)));
        }
        out
    }
}

fn run_all(opts: &Options, table: &mut Table) {
    for &procs in &opts.procs {
        let rts = Rts::start(procs, opts);
        for name in SHAPES {
            if opts.only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            rts.sample(name); // warm-up
            let mut samples: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
            for _ in 0..opts.reps {
                for (rt, v) in rts.sample(name) {
                    samples.entry(rt).or_default().push(v);
                }
            }
            for (rt, vs) in samples {
                table.record(name, procs, rt, median(vs));
            }
        }
    }
}

fn go_results(opts: &Options, table: &mut Table) {
    let procs: Vec<String> = opts.procs.iter().map(|p| p.to_string()).collect();
    let out = gmp_benches::go_program("sched")
        .args(["-procs", &procs.join(","), "-reps", &opts.reps.to_string()])
        .output();
    let out = match out {
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
    // Lines: "<shape> <procs> <value>".
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [shape, procs, value] = f[..] {
            if opts.only.as_deref().is_some_and(|o| o != shape) {
                continue;
            }
            if let (Ok(p), Ok(v)) = (procs.parse(), value.parse()) {
                table.record(shape, p, "Go", v);
            }
        }
    }
}

fn memory_results(table: &mut Table) {
    let exe = std::env::current_exe().unwrap();
    for name in [Gmp::NAME, Tokio::NAME, AsyncExecutor::NAME] {
        let out = Command::new(&exe)
            .args(["--park-memory-child", name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().parse::<f64>() {
            Ok(v) => table.record("park_memory", 2, name, v),
            Err(_) => eprintln!(
                "park_memory child for {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    if let Ok(out) = gmp_benches::go_program("sched")
        .arg("-park-memory")
        .output()
    {
        if let Ok(v) = String::from_utf8_lossy(&out.stdout).trim().parse::<f64>() {
            table.record("park_memory", 2, "Go", v);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--park-memory-child") {
        let per_task = match args.get(i + 1).map(String::as_str) {
            Some(n) if n == Gmp::NAME => park_memory::<Gmp>(),
            Some(n) if n == Tokio::NAME => park_memory::<Tokio>(),
            Some(n) if n == AsyncExecutor::NAME => park_memory::<AsyncExecutor>(),
            other => panic!("unknown runtime {other:?}"),
        };
        println!("{per_task:.1}");
        // Skip tearing a million tasks down.
        std::process::exit(0);
    }
    let opts = options();
    let mut columns = vec!["gmp", "tokio", "async-executor", "Go"];
    for variant in [GmpNoSysmon::NAME, GmpNoMetrics::NAME, GMP_TRACE] {
        if opts
            .runtimes
            .as_ref()
            .is_some_and(|rs| rs.iter().any(|r| r == variant))
        {
            columns.insert(1, variant);
        }
    }
    let mut table = Table::new(&columns);
    run_all(&opts, &mut table);
    if opts.go {
        go_results(&opts, &mut table);
    }
    if opts.memory && opts.only.as_deref().is_none_or(|o| o == "park_memory") {
        memory_results(&mut table);
    }
    println!("{}", table.markdown("gmp", "tokio"));
}
