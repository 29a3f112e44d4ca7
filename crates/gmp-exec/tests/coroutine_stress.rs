//! Randomized stress for coroutine Gs: each yields, parks on futures that a
//! foreign thread completes, and leaves stale wakers behind that a foreign
//! thread fires at random moments — while the G runs, sits yielded in its M's
//! mailbox (still holding `RUNNING`), or is parked. Some are aborted; the
//! runtime is then shut down under the rest. Every G must end exactly once —
//! finished, cancelled or torn down — and every stack must unwind (its guard
//! dropped exactly once). Bounded by a count and a deadline (`GMP_STRESS_SECS`).
// Coroutine Gs: the `coro` feature, on Unix and Windows.
#![cfg(all(feature = "coro", any(unix, windows), not(loom)))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gmp_exec::coro;
use gmp_exec::Runtime;

/// Wakers and senders handed to the foreign thread.
#[derive(Default)]
struct Foreign {
    wakers: Mutex<Vec<Waker>>,
    senders: Mutex<Vec<futures::channel::oneshot::Sender<()>>>,
    stop: AtomicBool,
}

/// Leaves a clone of the G's waker with the foreign thread and is ready at
/// once: the wake comes later, at a moment nobody chose.
struct LeaveWaker<'a>(&'a Foreign);

impl Future for LeaveWaker<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.wakers.lock().unwrap().push(cx.waker().clone());
        Poll::Ready(())
    }
}

/// Counts its drop: the coroutine's stack was unwound (or it finished).
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn round(seed: u64, procs: usize, gs: usize) {
    let rt = Runtime::builder().procs(procs).build().unwrap();
    let foreign = Arc::new(Foreign::default());
    let dropped = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let waker_thread = {
        let foreign = foreign.clone();
        std::thread::spawn(move || {
            let mut x = seed | 1;
            while !foreign.stop.load(SeqCst) {
                let wakers: Vec<Waker> = std::mem::take(&mut *foreign.wakers.lock().unwrap());
                let senders: Vec<_> = std::mem::take(&mut *foreign.senders.lock().unwrap());
                for w in wakers {
                    w.wake();
                }
                for s in senders {
                    let _ = s.send(());
                }
                if xorshift(&mut x) % 4 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    let (started_tx, started_rx) = mpsc::channel();
    let handles: Vec<_> = {
        let _in = rt.enter();
        (0..gs)
            .map(|i| {
                let foreign = foreign.clone();
                let dropped = dropped.clone();
                let finished = finished.clone();
                let started = started_tx.clone();
                coro::spawn(move || {
                    let _guard = Guard(dropped);
                    let mut x = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    // A third of them never end on their own: abort or shutdown
                    // must tear them down wherever they are.
                    let steps = if i % 3 == 0 { usize::MAX } else { 200 };
                    let mut told = false;
                    for step in 0..steps {
                        match xorshift(&mut x) % 4 {
                            0 => coro::wait(LeaveWaker(&foreign)),
                            1 => {
                                let (tx, rx) = futures::channel::oneshot::channel();
                                foreign.senders.lock().unwrap().push(tx);
                                // The foreign thread may be stopping: then the
                                // sender is dropped or sent, either ends it.
                                let _ = coro::wait(rx);
                            }
                            _ => coro::yield_now(),
                        }
                        if step == 10 && !told {
                            told = true;
                            let _ = started.send(());
                        }
                    }
                    finished.fetch_add(1, SeqCst);
                    i
                })
            })
            .collect()
    };
    drop(started_tx);
    // Every G has run a while (the ones that end have sent too).
    for _ in 0..gs {
        started_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    }
    // Abort a random half of the endless ones, and join the ones that end.
    let mut x = seed.wrapping_mul(31) | 1;
    let mut cancelled = 0;
    let mut endless = Vec::new();
    for (i, h) in handles.into_iter().enumerate() {
        if i % 3 != 0 {
            assert_eq!(rt.block_on(h).unwrap(), i);
        } else if xorshift(&mut x) % 2 == 0 {
            h.abort();
            let err = rt.block_on(h).unwrap_err();
            assert!(err.is_cancelled(), "G {i}: {err}");
            cancelled += 1;
        } else {
            endless.push(h);
        }
    }
    let left = endless.len();
    // Shutdown tears down the rest, on their own Ms.
    rt.shutdown_timeout(Duration::from_secs(30));
    for h in endless {
        assert!(h.is_finished(), "shutdown left a G unfinished");
    }
    foreign.stop.store(true, SeqCst);
    waker_thread.join().unwrap();
    // Wakers left behind are dropped with the foreign lists: no G is freed
    // under them.
    drop(foreign);
    let ended = gs - gs.div_ceil(3);
    assert_eq!(finished.load(SeqCst), ended);
    assert_eq!(
        dropped.load(SeqCst),
        gs,
        "{gs} stacks: {ended} finished, {cancelled} aborted, {left} shut down; every guard drops once"
    );
}

#[test]
fn coroutines_end_exactly_once_under_random_wakes_aborts_and_shutdown() {
    let secs = std::env::var("GMP_STRESS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seed = 0x5EED_u64;
    let mut rounds = 0;
    while rounds < 40 && (rounds < 2 || Instant::now() < deadline) {
        for procs in [1, 2, 3] {
            round(seed, procs, 60);
        }
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        rounds += 1;
    }
    eprintln!("{rounds} rounds at 1, 2 and 3 procs");
}
