//! gmp-core's run queue beside crossbeam-deque and concurrent-queue, in one run.
//!
//! `cargo bench -p gmp-benches --bench queue`
//!
//! * `owner_push_pop`: the owner's path (what every spawn and every schedule
//!   costs): 128 pushes then 128 pops, reported per push+pop pair.
//! * `steal_half`: a thief empties a victim holding 256 Gs, a claim at a time
//!   (gmp: half the ring per claim; crossbeam: `steal_batch_and_pop`, at most 32
//!   per claim; concurrent-queue: one `pop` per G), reported per G moved.
//! * `contended`: an owner spawns and runs while a thief on another thread steals;
//!   reported per G.

// criterion_group!/criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_deque::{Steal, Worker};
use gmp_benches::Token;
use gmp_core::global::Global;
use gmp_core::runq::{self, StealRunnext};

const BATCH: usize = 128;

fn owner_push_pop(c: &mut Criterion) {
    let mut group = c.benchmark_group("owner_push_pop");
    group.throughput(Throughput::Elements(BATCH as u64));

    let global = Global::new();
    let (mut local, _stealer) = runq::new::<Token>();
    group.bench_function("gmp_ring", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                local.push_back(Token(i), &global);
            }
            for _ in 0..BATCH {
                black_box(local.pop());
            }
        })
    });
    group.bench_function("gmp_runnext", |b| {
        b.iter(|| {
            // The spawn-then-run pattern: each new G takes runnext and is run next.
            for i in 0..BATCH {
                local.push_next(Token(i), &global);
                black_box(local.pop());
            }
        })
    });

    let worker = Worker::<Token>::new_fifo();
    let _keep_stealer = worker.stealer();
    group.bench_function("crossbeam_deque", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                worker.push(Token(i));
            }
            for _ in 0..BATCH {
                black_box(worker.pop());
            }
        })
    });

    let queue = ConcurrentQueue::<Token>::bounded(256);
    group.bench_function("concurrent_queue", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let _ = queue.push(Token(i));
            }
            for _ in 0..BATCH {
                black_box(queue.pop().ok());
            }
        })
    });
    group.finish();
}

const VICTIM: usize = 256;

/// The steal itself, per G moved: a victim holding 256 Gs is emptied by one thief,
/// a claim at a time. Refilling the victim and emptying the thief's own queue are
/// setup, not measured: the thief's pops are the owner path measured above.
fn steal_half(c: &mut Criterion) {
    let mut group = c.benchmark_group("steal_half");
    group.throughput(Throughput::Elements(VICTIM as u64));

    let global = Global::new();
    let (mut victim, stealer) = runq::new::<Token>();
    let (mut thief, _) = runq::new::<Token>();
    group.bench_function("gmp", |b| {
        b.iter_custom(|iters| {
            timed_rounds(iters, || {
                thief.drain().for_each(drop);
                for i in 0..VICTIM {
                    victim.push_back(Token(i), &global);
                }
                let start = Instant::now();
                // 128 + 64 + ... + 1 + 1: the thief's 256-slot ring holds them all.
                while let Some((g, _moved)) = stealer.steal_into(&mut thief, StealRunnext::No) {
                    black_box(g);
                }
                start.elapsed()
            })
        })
    });

    let victim = Worker::<Token>::new_fifo();
    let stealer = victim.stealer();
    let thief = Worker::<Token>::new_fifo();
    group.bench_function("crossbeam_deque", |b| {
        b.iter_custom(|iters| {
            timed_rounds(iters, || {
                while thief.pop().is_some() {}
                for i in 0..VICTIM {
                    victim.push(Token(i));
                }
                let start = Instant::now();
                loop {
                    match stealer.steal_batch_and_pop(&thief) {
                        Steal::Success(g) => {
                            black_box(g);
                        }
                        Steal::Retry => continue,
                        Steal::Empty => break,
                    }
                }
                start.elapsed()
            })
        })
    });

    // No batch steal: a thief takes one G per successful pop.
    let queue = ConcurrentQueue::<Token>::bounded(VICTIM);
    group.bench_function("concurrent_queue", |b| {
        b.iter_custom(|iters| {
            timed_rounds(iters, || {
                for i in 0..VICTIM {
                    let _ = queue.push(Token(i));
                }
                let start = Instant::now();
                while let Ok(g) = queue.pop() {
                    black_box(g);
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// Sums the measured part of `iters` rounds.
fn timed_rounds(iters: u64, mut round: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| round()).sum()
}

const CONTENDED: usize = 200_000;

/// Owner spawns in bursts of 64 and runs half of each burst; one thief steals
/// the rest. Returns the time until every G has been run.
fn contended_run<Q: Send + 'static>(
    setup: impl FnOnce() -> (Q, Thief),
    mut owner: impl FnMut(&mut Q, usize) -> usize,
) -> Duration {
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (mut q, mut thief) = setup();
    let thief_thread = {
        let (done, stop) = (done.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                let n = thief();
                if n > 0 {
                    done.fetch_add(n, Relaxed);
                } else {
                    std::hint::spin_loop();
                }
            }
        })
    };
    let start = Instant::now();
    let mut spawned = 0;
    while spawned < CONTENDED {
        let ran = owner(&mut q, spawned);
        spawned += 64;
        done.fetch_add(ran, Relaxed);
    }
    // Run what the thief left.
    loop {
        let ran = owner(&mut q, usize::MAX);
        done.fetch_add(ran, Relaxed);
        if done.load(Relaxed) >= CONTENDED {
            break;
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Relaxed);
    thief_thread.join().unwrap();
    elapsed
}

/// One steal attempt on the thief's thread; returns how many Gs it ran.
type Thief = Box<dyn FnMut() -> usize + Send>;

fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("contended");
    group.throughput(Throughput::Elements(CONTENDED as u64));
    group.sample_size(20);

    group.bench_function(BenchmarkId::new("gmp", "1 thief"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let global = Arc::new(Global::new());
                    let (local, stealer) = runq::new::<Token>();
                    let (mut mine, _) = runq::new::<Token>();
                    contended_run(
                        move || {
                            let thief: Thief = Box::new(move || {
                                match stealer.steal_into(&mut mine, StealRunnext::No) {
                                    Some((g, _)) => {
                                        black_box(g);
                                        1 + mine.drain().map(black_box).count()
                                    }
                                    None => 0,
                                }
                            });
                            ((local, global), thief)
                        },
                        |(local, global), from| {
                            if from != usize::MAX {
                                for i in 0..64 {
                                    local.push_back(Token(from + i), global);
                                }
                            }
                            let mut ran = 0;
                            let limit = if from == usize::MAX { usize::MAX } else { 32 };
                            while ran < limit {
                                match local.pop() {
                                    Some(g) => {
                                        black_box(g);
                                        ran += 1;
                                    }
                                    None => break,
                                }
                            }
                            while let Some(g) = global.pop() {
                                black_box(g);
                                ran += 1;
                            }
                            ran
                        },
                    )
                })
                .sum()
        })
    });

    group.bench_function(BenchmarkId::new("crossbeam_deque", "1 thief"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let worker = Worker::<Token>::new_fifo();
                    let stealer = worker.stealer();
                    let mine = Worker::<Token>::new_fifo();
                    contended_run(
                        move || {
                            let thief: Thief =
                                Box::new(move || match stealer.steal_batch_and_pop(&mine) {
                                    Steal::Success(g) => {
                                        black_box(g);
                                        let mut n = 1;
                                        while let Some(g) = mine.pop() {
                                            black_box(g);
                                            n += 1;
                                        }
                                        n
                                    }
                                    _ => 0,
                                });
                            (worker, thief)
                        },
                        |worker, from| {
                            if from != usize::MAX {
                                for i in 0..64 {
                                    worker.push(Token(from + i));
                                }
                            }
                            let mut ran = 0;
                            let limit = if from == usize::MAX { usize::MAX } else { 32 };
                            while ran < limit {
                                match worker.pop() {
                                    Some(g) => {
                                        black_box(g);
                                        ran += 1;
                                    }
                                    None => break,
                                }
                            }
                            ran
                        },
                    )
                })
                .sum()
        })
    });

    group.bench_function(BenchmarkId::new("concurrent_queue", "1 thief"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let queue = Arc::new(ConcurrentQueue::<Token>::unbounded());
                    let theirs = queue.clone();
                    contended_run(
                        move || {
                            let thief: Thief = Box::new(move || match theirs.pop() {
                                Ok(g) => {
                                    black_box(g);
                                    1
                                }
                                Err(_) => 0,
                            });
                            (queue, thief)
                        },
                        |queue, from| {
                            if from != usize::MAX {
                                for i in 0..64 {
                                    let _ = queue.push(Token(from + i));
                                }
                            }
                            let mut ran = 0;
                            let limit = if from == usize::MAX { usize::MAX } else { 32 };
                            while ran < limit {
                                match queue.pop() {
                                    Ok(g) => {
                                        black_box(g);
                                        ran += 1;
                                    }
                                    Err(_) => break,
                                }
                            }
                            ran
                        },
                    )
                })
                .sum()
        })
    });
    group.finish();
}

criterion_group! {
    name = queue;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = owner_push_pop, steal_half, contended
}
criterion_main!(queue);
