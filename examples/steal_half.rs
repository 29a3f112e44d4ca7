//! Steal-half across threads: one busy P queues work, idle Ps take half of its
//! ring at a time, as Go's `findrunnable` does.
//!
//! `cargo run --release --example steal_half`

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use gmp_core::global::Global;
use gmp_core::runq::{self, StealRunnext};
use gmp_core::steal_order::{FastRand, StealOrder};

const PROCS: usize = 4;
const GS: u64 = 1_000_000;

/// A unit of "work": spin for a moment.
fn run(g: &u64) -> u64 {
    (0..50).fold(*g, |acc, i| acc.wrapping_mul(31).wrapping_add(i))
}

fn main() {
    let global = Arc::new(Global::<Box<u64>>::new());
    let mut locals = Vec::new();
    let mut stealers = Vec::new();
    for _ in 0..PROCS {
        let (l, s) = runq::new::<Box<u64>>();
        locals.push(l);
        stealers.push(s);
    }
    let stealers = Arc::new(stealers);
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();

    let threads: Vec<_> = locals
        .into_iter()
        .enumerate()
        .map(|(me, mut local)| {
            let (global, stealers, done) = (global.clone(), stealers.clone(), done.clone());
            std::thread::spawn(move || {
                let order = StealOrder::new(PROCS).unwrap();
                let mut rand = FastRand::new(me as u64 + 1);
                let (mut ran, mut steals, mut stolen, mut checksum) = (0u64, 0u64, 0u64, 0u64);
                let mut next_g = 0;
                loop {
                    // P0 is the only producer: it queues Gs faster than it runs them.
                    if me == 0 && next_g < GS {
                        for _ in 0..4 {
                            local.push_back(Box::new(next_g), &global);
                            next_g += 1;
                        }
                    }
                    let g = match local.pop() {
                        Some((g, _)) => Some(g),
                        None => global
                            .grab_into(&mut local, PROCS, 0)
                            .map(|(g, _)| g)
                            .or_else(|| {
                                order
                                    .start(rand.next_u32())
                                    .filter(|&v| v != me)
                                    .find_map(|v| {
                                        let (g, moved) =
                                            stealers[v].steal_into(&mut local, StealRunnext::No)?;
                                        steals += 1;
                                        stolen += moved as u64;
                                        Some(g)
                                    })
                            }),
                    };
                    match g {
                        Some(g) => {
                            checksum ^= run(&g);
                            ran += 1;
                            done.fetch_add(1, Relaxed);
                        }
                        None if done.load(Relaxed) as u64 == GS => break,
                        None => std::hint::spin_loop(),
                    }
                }
                (me, ran, steals, stolen, checksum)
            })
        })
        .collect();

    let mut total = 0;
    for t in threads {
        let (me, ran, steals, stolen, checksum) = t.join().unwrap();
        total += ran;
        let avg = if steals > 0 {
            stolen as f64 / steals as f64
        } else {
            0.0
        };
        println!(
            "P{me}: ran {ran:>7} Gs; {steals:>6} steals moved {stolen:>7} Gs ({avg:5.1} per steal); checksum {checksum:016x}"
        );
    }
    assert_eq!(total, GS, "every G ran exactly once");
    println!(
        "{GS} Gs across {PROCS} Ps in {:.1?}, each exactly once",
        start.elapsed()
    );
}
