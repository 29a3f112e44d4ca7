//! Scheduling latency under a blocking load: gmp, tokio and smol
//! (async-executor + async-io) in one process, interleaved, at 1 and 2 procs.
//!
//! `cargo bench -p gmp-benches --bench latency` (options after `--`:
//! `--procs 1,2`, `--reps 3`, `--secs 2`).
//!
//! Every proc runs a task that blocks its thread for 25 ms at a time with a
//! plain `std::thread::sleep` (a synchronous file read, a lock, a DNS lookup:
//! no marker at all), then yields, over and over. Beside them a ticker task
//! sleeps 5 ms in a loop on the runtime's own timer. The table gives the gaps
//! the ticker saw between two wake-ups (ms): 5 ms is perfect; 25 ms means it
//! waited behind a blocked thread.
//!
//! Columns: `gmp` with no marker (sysmon retakes the P of an M stuck in one
//! poll for 10 ms), `gmp+syscall` with the blocking call wrapped in
//! `gmp::syscall` (the P is retaken after one sysmon look), `gmp-nosysmon`
//! (sysmon off: what gmp would be without it), tokio, smol.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp_benches::rt::{AsyncExecutor, Gmp, GmpNoSysmon, Runtime, Tokio};
use gmp_benches::{median, Table};

const TICK: Duration = Duration::from_millis(5);
const BLOCK: Duration = Duration::from_millis(25);

/// How a blocking task blocks.
#[derive(Clone, Copy)]
enum Block {
    Plain,
    Syscall,
}

/// Runs the load for `secs` and returns the ticker's gaps in ms.
fn gaps<R: Runtime>(procs: usize, secs: f64, block: Block) -> Vec<f64> {
    let rt = R::start(procs);
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = sync_channel(procs);
    for _ in 0..procs {
        let stop = stop.clone();
        let started = started_tx.clone();
        rt.spawn(async move {
            let _ = started.send(());
            while !stop.load(Relaxed) {
                match block {
                    Block::Plain => std::thread::sleep(BLOCK),
                    Block::Syscall => gmp_exec::syscall(|| std::thread::sleep(BLOCK)),
                }
                R::yield_now().await;
            }
        });
    }
    for _ in 0..procs {
        started_rx.recv().unwrap();
    }
    let (done_tx, done_rx) = sync_channel(1);
    let until = Instant::now() + Duration::from_secs_f64(secs);
    rt.spawn(async move {
        let mut gaps = Vec::new();
        let mut last = Instant::now();
        while last < until {
            R::sleep(TICK).await;
            let now = Instant::now();
            gaps.push((now - last).as_secs_f64() * 1e3);
            last = now;
        }
        let _ = done_tx.send(gaps);
    });
    let gaps = done_rx.recv().unwrap();
    stop.store(true, Relaxed);
    gaps
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let procs: Vec<usize> = value("--procs")
        .map(|v| v.split(',').map(|p| p.parse().expect("--procs")).collect())
        .unwrap_or_else(|| vec![1, 2]);
    let reps: usize = value("--reps").map_or(3, |v| v.parse().expect("--reps"));
    let secs: f64 = value("--secs").map_or(2.0, |v| v.parse().expect("--secs"));

    let columns = ["gmp", "gmp+syscall", "gmp-nosysmon", "tokio", "smol"];
    let mut table = Table::new(&columns);
    for shape in ["ticker_gap_p50", "ticker_gap_p99", "ticker_gap_max"] {
        table.set_unit(shape, "ms");
    }
    for &p in &procs {
        let mut samples: Vec<[Vec<f64>; 3]> = columns.iter().map(|_| Default::default()).collect();
        for rep in 0..reps {
            for (i, name) in columns.iter().enumerate() {
                let mut g = match *name {
                    "gmp" => gaps::<Gmp>(p, secs, Block::Plain),
                    "gmp+syscall" => gaps::<Gmp>(p, secs, Block::Syscall),
                    "gmp-nosysmon" => gaps::<GmpNoSysmon>(p, secs, Block::Plain),
                    "tokio" => gaps::<Tokio>(p, secs, Block::Plain),
                    "smol" => gaps::<AsyncExecutor>(p, secs, Block::Plain),
                    _ => unreachable!(),
                };
                g.sort_by(|a, b| a.total_cmp(b));
                samples[i][0].push(percentile(&g, 0.5));
                samples[i][1].push(percentile(&g, 0.99));
                samples[i][2].push(*g.last().unwrap());
            }
            eprintln!("procs {p}: repetition {} of {reps} done", rep + 1);
        }
        for (name, [p50, p99, max]) in columns.iter().zip(samples) {
            table.record("ticker_gap_p50", p, name, median(p50));
            table.record("ticker_gap_p99", p, name, median(p99));
            table.record("ticker_gap_max", p, name, median(max));
        }
    }
    println!("{}", table.markdown("gmp", "tokio"));
}
