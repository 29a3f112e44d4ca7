//! Randomized stress: several Ps, each an owner that spawns, runs and steals, race
//! on their rings, `runnext`s and the global queue; every G must be run exactly
//! once. Bounded by a count and a deadline, whichever comes first
//! (`GMP_STRESS_ITEMS`, `GMP_STRESS_SECS` override them).
#![cfg(not(loom))]

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gmp_core::global::Global;
use gmp_core::runq::{self, StealRunnext};
use gmp_core::steal_order::{FastRand, StealOrder};
use gmp_core::Item;

/// A G that is its id; duplicates show up as counts, not double frees.
struct G(usize);

// SAFETY: the token is the id plus one (never null) and `from_raw` inverts it; a
// `G` owns nothing, so a duplicated token is a wrong count, never UB.
unsafe impl Item for G {
    fn into_raw(self) -> NonNull<()> {
        NonNull::new((self.0 + 1) as *mut ()).unwrap()
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        G(ptr.as_ptr() as usize - 1)
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Shared {
    global: Global<G>,
    stealers: Vec<runq::Stealer<G>>,
    /// Which ids were pushed: a producer that claims an id and then finds the
    /// deadline passed drops it, so the ids made need not be `0..produced`.
    made: Vec<AtomicBool>,
    seen: Vec<AtomicU8>,
    next_id: AtomicUsize,
    produced: AtomicUsize,
    consumed: AtomicUsize,
    producing_done: AtomicBool,
    /// Set by a P that stopped looking for work a minute past the deadline.
    gave_up: AtomicBool,
    steals: AtomicUsize,
    stolen: AtomicUsize,
    overflows: AtomicUsize,
}

impl Shared {
    fn run(&self, g: G) {
        let before = self.seen[g.0].fetch_add(1, Relaxed);
        assert_eq!(before, 0, "G {} ran twice", g.0);
        self.consumed.fetch_add(1, Release);
    }
}

fn stress(procs: usize, capacity: usize) {
    let limit = env_or(
        "GMP_STRESS_ITEMS",
        if cfg!(debug_assertions) {
            2_000_000
        } else {
            8_000_000
        },
    );
    let mut locals = Vec::new();
    let mut stealers = Vec::new();
    for _ in 0..procs {
        let (l, s) = runq::with_capacity::<G>(capacity).unwrap();
        locals.push(l);
        stealers.push(s);
    }
    let shared = Arc::new(Shared {
        global: Global::new(),
        stealers,
        made: (0..limit).map(|_| AtomicBool::new(false)).collect(),
        seen: (0..limit).map(|_| AtomicU8::new(0)).collect(),
        next_id: AtomicUsize::new(0),
        produced: AtomicUsize::new(0),
        consumed: AtomicUsize::new(0),
        producing_done: AtomicBool::new(false),
        gave_up: AtomicBool::new(false),
        steals: AtomicUsize::new(0),
        stolen: AtomicUsize::new(0),
        overflows: AtomicUsize::new(0),
    });
    let order = StealOrder::new(procs).unwrap();
    // After the set-up, which is slow for a large `GMP_STRESS_ITEMS` in debug.
    let deadline = Instant::now() + Duration::from_secs(env_or("GMP_STRESS_SECS", 3) as u64);
    // A lost G would keep the Ps looking for it forever: past this they stop,
    // and the checks below name the G that never ran.
    let give_up = deadline + Duration::from_secs(60);
    let start = Arc::new(Barrier::new(procs));
    let threads: Vec<_> = locals
        .into_iter()
        .enumerate()
        .map(|(me, mut local)| {
            let shared = shared.clone();
            let order = order.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let mut rand = FastRand::new(me as u64 * 7919 + 1);
                start.wait();
                loop {
                    // Even Ps spawn (a few Gs at a time, some as runnext); odd Ps
                    // only run what they steal or take from the global queue.
                    if me % 2 == 0 && !shared.producing_done.load(Relaxed) {
                        for _ in 0..rand.below(6) {
                            let id = shared.next_id.fetch_add(1, Relaxed);
                            if id >= limit || Instant::now() > deadline {
                                shared.producing_done.store(true, Relaxed);
                                break;
                            }
                            shared.made[id].store(true, Relaxed);
                            shared.produced.fetch_add(1, Release);
                            let pushed = if rand.below(2) == 0 {
                                local.push_next(G(id), &shared.global)
                            } else {
                                local.push_back(G(id), &shared.global)
                            };
                            if let runq::Pushed::Overflow(_) = pushed {
                                shared.overflows.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    // Run a few.
                    for _ in 0..rand.below(5) {
                        match local.pop() {
                            Some((g, _)) => shared.run(g),
                            None => break,
                        }
                    }
                    // Out of local work: global share, then steal.
                    if local.is_empty() {
                        let from_global = if rand.below(4) == 0 {
                            shared.global.grab_into(&mut local, procs, 0)
                        } else {
                            None
                        };
                        if let Some((g, _)) = from_global {
                            shared.run(g);
                        } else {
                            'steal: for pass in 0..4 {
                                let runnext = if pass == 3 {
                                    StealRunnext::AfterGrace
                                } else {
                                    StealRunnext::No
                                };
                                for victim in order.start(rand.next_u32()) {
                                    if victim == me {
                                        continue;
                                    }
                                    if let Some((g, moved)) =
                                        shared.stealers[victim].steal_into(&mut local, runnext)
                                    {
                                        shared.steals.fetch_add(1, Relaxed);
                                        shared.stolen.fetch_add(moved, Relaxed);
                                        shared.run(g);
                                        break 'steal;
                                    }
                                }
                            }
                        }
                    }
                    if shared.producing_done.load(Acquire)
                        && shared.consumed.load(Acquire) == shared.produced.load(Acquire)
                    {
                        break;
                    }
                    if local.is_empty() {
                        if Instant::now() > give_up {
                            shared.gave_up.store(true, Relaxed);
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
                assert!(local.is_empty());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let produced = shared.produced.load(SeqCst);
    assert!(produced > 0);
    let consumed = shared.consumed.load(SeqCst);
    if shared.gave_up.load(SeqCst) {
        let lost: Vec<_> = (0..limit)
            .filter(|&id| shared.made[id].load(Relaxed) && shared.seen[id].load(Relaxed) == 0)
            .take(10)
            .collect();
        panic!(
            "{consumed} of {produced} Gs ran; the Ps gave up looking for the rest a minute \
             past the deadline (lost, first ones: {lost:?})"
        );
    }
    let mut made = 0;
    for id in 0..limit {
        let expected = u8::from(shared.made[id].load(Relaxed));
        made += usize::from(expected);
        let ran = shared.seen[id].load(Relaxed);
        assert_eq!(ran, expected, "G {id}: made {expected}, ran {ran} times");
    }
    assert_eq!(made, produced);
    assert!(shared.global.is_empty());
    // On one core (`taskset -c 0`) a thread may find the work gone to the
    // global queue before it ever sees a victim's ring: no steal is no bug.
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        assert!(shared.steals.load(Relaxed) > 0, "the test never stole");
    }
    eprintln!(
        "procs {procs} capacity {capacity}: {produced} Gs each ran once; {} steals moved {} Gs, {} overflows",
        shared.steals.load(Relaxed),
        shared.stolen.load(Relaxed),
        shared.overflows.load(Relaxed)
    );
}

#[test]
fn every_g_runs_exactly_once_with_many_thieves() {
    stress(6, 256);
}

#[test]
fn every_g_runs_exactly_once_on_tiny_rings() {
    // Rings of 4 overflow constantly, exercising runqputslow against steals.
    stress(4, 4);
}
