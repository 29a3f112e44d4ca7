//! `set_procs` (Go's `runtime.GOMAXPROCS(n)`, its `procresize`) while Gs
//! run: resized up and down in a loop while Gs spawn, sleep, talk over TCP,
//! yield, and coroutines park; every G runs exactly once, every timer fires
//! (none early), and the runtime ends balanced. Bounded by
//! `GMP_STRESS_SECS` (default 2) and the tests' common patience.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
#[cfg(all(feature = "coro", any(unix, windows)))]
use gmp_exec::coro;
use gmp_exec::net::{TcpListener, TcpStream};
use gmp_exec::Runtime;

fn stress_secs() -> u64 {
    std::env::var("GMP_STRESS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// A small xorshift, seeded per test, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn set_procs_rejects_zero_and_more_than_max_procs() {
    let rt = Runtime::builder().procs(2).max_procs(3).build().unwrap();
    let err = rt.set_procs(0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let err = rt.set_procs(4).unwrap_err();
    assert!(err.to_string().contains("max_procs (3"), "{err}");
    assert_eq!(rt.procs(), 2);
    let err = Runtime::builder()
        .procs(3)
        .max_procs(2)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn metrics_and_idle_ps_follow_the_count() {
    let rt = Runtime::builder().procs(1).max_procs(4).build().unwrap();
    assert_eq!(rt.set_procs(4).unwrap(), 1);
    let m = rt.metrics();
    assert_eq!((m.procs, m.ps.len()), (4, 4));
    common::wait_until("all 4 Ps idle after growing", || {
        rt.metrics().idle_procs == 4
    });
    assert_eq!(rt.set_procs(2).unwrap(), 4);
    let m = rt.metrics();
    assert_eq!((m.procs, m.ps.len()), (2, 2));
    common::wait_until("2 Ps idle after shrinking", || rt.metrics().idle_procs == 2);
    // Work still runs on what is left, and the Ps come back.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    rt.set_procs(3).unwrap();
    common::wait_until("3 Ps idle after growing again", || {
        rt.metrics().idle_procs == 3
    });
}

/// Gs queued on a P that is taken out of use move to the global queue and
/// run elsewhere. Two parent Gs, one per P, each queue a burst behind
/// themselves and keep their P busy until the runtime has shrunk to one P;
/// whatever is still queued on P 1 then must run on P 0.
#[test]
fn gs_queued_on_a_removed_p_still_run() {
    const BURST: usize = 100;
    let rt = Runtime::builder().procs(2).max_procs(2).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let spawned = Arc::new(AtomicUsize::new(0));
    let parents: Vec<_> = (0..2)
        .map(|_| {
            let (r, rel, sp) = (ran.clone(), release.clone(), spawned.clone());
            rt.spawn(async move {
                let hs: Vec<_> = (0..BURST)
                    .map(|_| {
                        let r = r.clone();
                        gmp_exec::spawn(async move {
                            r.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                sp.fetch_add(1, SeqCst);
                // Keep this P until the test says (each parent holds a P:
                // the other parent can only run on the other one).
                while !rel.load(SeqCst) {
                    std::hint::spin_loop();
                }
                hs
            })
        })
        .collect();
    common::wait_until("both bursts spawned", || spawned.load(SeqCst) == 2);
    rt.set_procs(1).unwrap();
    release.store(true, SeqCst);
    let rt = common::within("the parents and their bursts", move || {
        for parent in parents {
            for h in rt.block_on(parent).unwrap() {
                rt.block_on(h).unwrap();
            }
        }
        rt
    });
    assert_eq!(ran.load(SeqCst), 2 * BURST);
    assert_eq!(rt.metrics().ps.len(), 1);
}

#[test]
fn resizing_in_a_loop_while_gs_spawn_sleep_talk_and_yield_loses_nothing() {
    let rt = Arc::new(Runtime::builder().procs(2).max_procs(4).build().unwrap());
    let seed = std::env::var("GMP_STRESS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
    println!("seed {seed} (GMP_STRESS_SEED replays it)");
    let until = Instant::now() + Duration::from_secs(stress_secs());
    let stop = Arc::new(AtomicBool::new(false));

    // The resizer: a count from 1 to 4, then a pause of a few hundred
    // scheduling rounds' worth of yields.
    let resizes = Arc::new(AtomicU64::new(0));
    let resizer = {
        let (rt, stop, resizes) = (rt.clone(), stop.clone(), resizes.clone());
        std::thread::spawn(move || {
            let mut rng = Rng(seed);
            while !stop.load(SeqCst) {
                rt.set_procs(1 + rng.below(4) as usize).unwrap();
                resizes.fetch_add(1, SeqCst);
                for _ in 0..rng.below(2000) {
                    std::thread::yield_now();
                }
            }
        })
    };

    // The load, in rounds until the deadline.
    const IDS_PER_ROUND: usize = 200;
    let mut rounds = 0;
    let mut ran_total = Vec::new();
    let timers_fired = Arc::new(AtomicUsize::new(0));
    let timers_early = Arc::new(AtomicUsize::new(0));
    let echoes = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng(seed ^ 0xabcdef);
    while Instant::now() < until {
        rounds += 1;
        let ran: Arc<Vec<AtomicUsize>> =
            Arc::new((0..IDS_PER_ROUND).map(|_| AtomicUsize::new(0)).collect());
        let mut handles = Vec::new();
        {
            let _in = rt.enter();
            // Trees of spawns: each id runs once, from a parent G.
            for chunk in 0..4 {
                let ran = ran.clone();
                handles.push(gmp_exec::spawn(async move {
                    let kids: Vec<_> = (chunk * 50..(chunk + 1) * 50)
                        .map(|id| {
                            let ran = ran.clone();
                            gmp_exec::spawn(async move {
                                gmp_exec::yield_now().await;
                                ran[id].fetch_add(1, SeqCst);
                            })
                        })
                        .collect();
                    for k in kids {
                        k.await.unwrap();
                    }
                }));
            }
            // Sleepers: every timer fires, none early.
            for _ in 0..20 {
                let nap = Duration::from_micros(100 + rng.below(3000));
                let (fired, early) = (timers_fired.clone(), timers_early.clone());
                handles.push(gmp_exec::spawn(async move {
                    let start = Instant::now();
                    gmp_exec::time::sleep(nap).await;
                    if start.elapsed() < nap {
                        early.fetch_add(1, SeqCst);
                    }
                    fired.fetch_add(1, SeqCst);
                }));
            }
            // Yielders.
            for _ in 0..8 {
                handles.push(gmp_exec::spawn(async {
                    for _ in 0..50 {
                        gmp_exec::yield_now().await;
                    }
                }));
            }
            // TCP: an echo server G and a client G, a few messages each way.
            let echoes = echoes.clone();
            handles.push(gmp_exec::spawn(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = gmp_exec::spawn(async move {
                    let (mut s, _) = listener.accept().await.unwrap();
                    let mut buf = [0u8; 8];
                    for _ in 0..5 {
                        s.read_exact(&mut buf).await.unwrap();
                        s.write_all(&buf).await.unwrap();
                    }
                });
                let mut c = TcpStream::connect(addr).await.unwrap();
                for i in 0..5u64 {
                    c.write_all(&i.to_le_bytes()).await.unwrap();
                    let mut buf = [0u8; 8];
                    c.read_exact(&mut buf).await.unwrap();
                    assert_eq!(u64::from_le_bytes(buf), i);
                    echoes.fetch_add(1, SeqCst);
                }
                server.await.unwrap();
            }));
            // Coroutines that park and yield (bound to their Ms throughout;
            // the `coro` feature).
            #[cfg(all(feature = "coro", any(unix, windows)))]
            for _ in 0..4 {
                let (fired, early) = (timers_fired.clone(), timers_early.clone());
                handles.push(coro::spawn(move || {
                    for _ in 0..3 {
                        coro::yield_now();
                        let start = Instant::now();
                        let nap = Duration::from_micros(300);
                        coro::sleep(nap);
                        if start.elapsed() < nap {
                            early.fetch_add(1, SeqCst);
                        }
                        fired.fetch_add(1, SeqCst);
                    }
                }));
            }
        }
        let rt2 = rt.clone();
        common::within("a round of the resize stress", move || {
            for h in handles {
                rt2.block_on(h).unwrap();
            }
        });
        ran_total.push(ran);
    }
    stop.store(true, SeqCst);
    resizer.join().unwrap();

    for (round, ran) in ran_total.iter().enumerate() {
        for (id, n) in ran.iter().enumerate() {
            assert_eq!(
                n.load(SeqCst),
                1,
                "round {round}: G {id} ran {} times",
                n.load(SeqCst)
            );
        }
    }
    assert_eq!(timers_early.load(SeqCst), 0, "a timer fired early");
    let coroutine_naps = if cfg!(all(feature = "coro", any(unix, windows))) {
        4 * 3
    } else {
        0
    };
    assert_eq!(timers_fired.load(SeqCst), rounds * (20 + coroutine_naps));
    assert_eq!(echoes.load(SeqCst), rounds * 5);
    let resized = resizes.load(SeqCst);
    println!(
        "report: {rounds} rounds, {resized} resizes, {} timers",
        timers_fired.load(SeqCst)
    );
    assert!(resized > 0, "the resizer never ran");
    // Balanced at rest: every G spawned is accounted for.
    let rt = Arc::try_unwrap(rt).unwrap_or_else(|_| panic!("runtime still shared"));
    let m = rt.metrics();
    common::wait_until("no live G left", || rt.metrics().live == 0);
    assert!(m.spawned >= (rounds * (4 + IDS_PER_ROUND + 20 + 8 + 2 + 4)) as u64);
}
