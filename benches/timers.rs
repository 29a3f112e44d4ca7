//! Timers on gmp, tokio and smol (async-executor threads driving async-io),
//! in one process, runtimes interleaved, at 1 and 2 procs.
//!
//! `cargo bench -p gmp-benches --bench timers` (options after `--`:
//! `--procs 1,2`, `--reps 5`, `--runtimes gmp,tokio,smol`, `--no-million`).
//!
//! Shapes:
//! * `lateness_1k_p50` / `_p99` / `_max`: 1 000 tasks, spawned from outside,
//!   each sleep 1–100 ms (a fixed pseudo-random spread); how long after its
//!   deadline each one runs again (µs).
//! * `timers_100k`: 100 000 tasks each sleep 1–100 ms; from the first spawn to
//!   the last wake-up (ms; 100 ms is the floor).
//! * `timers_1m`: the same with 1 000 000 tasks (ms).
//!
//! Each cell is the median over the repetitions.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp_benches::rt::{AsyncExecutor, Gmp, Runtime, Tokio};
use gmp_benches::{median, Table};

/// The deterministic spread of sleep lengths, 1–100 ms.
fn spread(i: usize) -> Duration {
    let x = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17);
    Duration::from_micros(1_000 + x % 99_000)
}

/// Per-task lateness in ns, for `n` tasks sleeping `spread(i)`.
fn lateness<R: Runtime>(rt: &R, n: usize) -> Vec<u64> {
    let late: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let left = Arc::new(AtomicUsize::new(n));
    let (done_tx, done_rx) = sync_channel(1);
    for i in 0..n {
        let late = late.clone();
        let left = left.clone();
        let done = done_tx.clone();
        rt.spawn(async move {
            let d = spread(i);
            let deadline = Instant::now() + d;
            R::sleep(d).await;
            let now = Instant::now();
            late[i].store(
                now.saturating_duration_since(deadline).as_nanos() as u64,
                Relaxed,
            );
            if left.fetch_sub(1, Relaxed) == 1 {
                done.send(()).unwrap();
            }
        });
    }
    done_rx.recv().unwrap();
    late.iter().map(|l| l.load(Relaxed)).collect()
}

/// Wall time for `n` tasks each sleeping `spread(i)`, from the first spawn to
/// the last wake-up.
fn many<R: Runtime>(rt: &R, n: usize) -> Duration {
    let left = Arc::new(AtomicUsize::new(n));
    let (done_tx, done_rx) = sync_channel(1);
    let start = Instant::now();
    for i in 0..n {
        let left = left.clone();
        let done = done_tx.clone();
        rt.spawn(async move {
            R::sleep(spread(i)).await;
            if left.fetch_sub(1, Relaxed) == 1 {
                done.send(Instant::now()).unwrap();
            }
        });
    }
    done_rx.recv().unwrap() - start
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64
}

struct Opts {
    procs: Vec<usize>,
    reps: usize,
    runtimes: Vec<String>,
    million: bool,
}

fn parse() -> Opts {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    Opts {
        procs: value("--procs")
            .map(|v| v.split(',').map(|p| p.parse().expect("--procs")).collect())
            .unwrap_or_else(|| vec![1, 2]),
        reps: value("--reps").map_or(5, |v| v.parse().expect("--reps")),
        runtimes: value("--runtimes")
            .map(|v| v.split(',').map(String::from).collect())
            .unwrap_or_else(|| vec!["gmp".into(), "tokio".into(), "smol".into()]),
        million: !args.iter().any(|a| a == "--no-million"),
    }
}

/// Samples of each shape for one runtime at `procs`.
#[derive(Default)]
struct Samples {
    p50: Vec<f64>,
    p99: Vec<f64>,
    max: Vec<f64>,
    k100: Vec<f64>,
    m1: Vec<f64>,
}

fn one_rep<R: Runtime>(procs: usize, million: bool, s: &mut Samples) {
    let rt = R::start(procs);
    let mut late = lateness(&rt, 1_000);
    late.sort_unstable();
    s.p50.push(percentile(&late, 0.50) / 1e3);
    s.p99.push(percentile(&late, 0.99) / 1e3);
    s.max.push(*late.last().unwrap() as f64 / 1e3);
    s.k100.push(many(&rt, 100_000).as_secs_f64() * 1e3);
    if million {
        s.m1.push(many(&rt, 1_000_000).as_secs_f64() * 1e3);
    }
}

fn main() {
    let opts = parse();
    let names: Vec<&str> = opts.runtimes.iter().map(String::as_str).collect();
    let mut table = Table::new(&names);
    for shape in ["lateness_1k_p50", "lateness_1k_p99", "lateness_1k_max"] {
        table.set_unit(shape, "µs");
    }
    table.set_unit("timers_100k", "ms");
    table.set_unit("timers_1m", "ms");
    for &procs in &opts.procs {
        let mut samples: Vec<Samples> = names.iter().map(|_| Samples::default()).collect();
        for rep in 0..opts.reps {
            for (i, name) in names.iter().enumerate() {
                let million = opts.million && rep < 3;
                match *name {
                    "gmp" => one_rep::<Gmp>(procs, million, &mut samples[i]),
                    "tokio" => one_rep::<Tokio>(procs, million, &mut samples[i]),
                    "smol" => one_rep::<AsyncExecutor>(procs, million, &mut samples[i]),
                    other => panic!("unknown runtime {other}"),
                }
            }
            eprintln!(
                "procs {procs}: repetition {} of {} done",
                rep + 1,
                opts.reps
            );
        }
        for (name, s) in names.iter().zip(samples) {
            table.record("lateness_1k_p50", procs, name, median(s.p50));
            table.record("lateness_1k_p99", procs, name, median(s.p99));
            table.record("lateness_1k_max", procs, name, median(s.max));
            table.record("timers_100k", procs, name, median(s.k100));
            if !s.m1.is_empty() {
                table.record("timers_1m", procs, name, median(s.m1));
            }
        }
    }
    println!("{}", table.markdown("gmp", "tokio"));
}
