//! A yield is Go's `Gosched`: the yielding G goes behind the Gs already
//! runnable on its P, whether it is a coroutine (bound to its M, so it waits in
//! the M's mailbox, not the P's queue) or an async task. On one P, Gs that
//! yield in turn alternate, and a newly queued G runs within one yield of a
//! coroutine that yields in a loop.
// Coroutine Gs: the `coro` feature, on Unix.
#![cfg(all(feature = "coro", any(unix, windows), not(loom)))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use gmp_exec::{coro, Runtime};

const ROUNDS: usize = 5;

/// No entry repeats its neighbour until one of the two ids is used up (then
/// the other one runs alone).
fn assert_alternates(log: &[usize]) {
    assert_eq!(log.len(), 2 * ROUNDS, "{log:?}");
    let first_done = (0..log.len())
        .find(|&i| log[..=i].iter().filter(|&&x| x == log[i]).count() == ROUNDS)
        .unwrap();
    for w in log[..=first_done].windows(2) {
        assert_ne!(
            w[0], w[1],
            "a G ran twice in a row while another was runnable: {log:?}"
        );
    }
}

/// Issue 14: two coroutines, each logging its id and yielding, logged
/// `[1,1,1,1,1,0,0,0,0,0]`: the first one's yield went to its M's mailbox,
/// which was served before the P's queue (up to 64 times in a row).
#[test]
fn two_yielding_coroutines_alternate_on_one_p() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Spawned by a G on the one M, so neither starts before both exist (from
    // the test thread, the M could finish the first before the second came).
    let l = log.clone();
    let handles = rt
        .block_on(rt.spawn(async move {
            (0..2)
                .map(|id| {
                    let log = l.clone();
                    coro::spawn(move || {
                        for _ in 0..ROUNDS {
                            log.lock().unwrap().push(id);
                            coro::yield_now();
                        }
                    })
                })
                .collect::<Vec<_>>()
        }))
        .unwrap();
    for h in handles {
        rt.block_on(h).unwrap();
    }
    assert_alternates(&log.lock().unwrap());
}

/// A coroutine and an async task that both yield alternate too.
#[test]
fn a_yielding_coroutine_and_a_yielding_async_g_alternate_on_one_p() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Both spawned by a G on the one M: neither starts before both exist.
    let log2 = log.clone();
    let (c, a) = rt
        .block_on(rt.spawn(async move {
            let l = log2.clone();
            let c = coro::spawn(move || {
                for _ in 0..ROUNDS {
                    l.lock().unwrap().push(0);
                    coro::yield_now();
                }
            });
            let l = log2.clone();
            let a = gmp_exec::spawn(async move {
                for _ in 0..ROUNDS {
                    l.lock().unwrap().push(1);
                    gmp_exec::yield_now().await;
                }
            });
            (c, a)
        }))
        .unwrap();
    rt.block_on(c).unwrap();
    rt.block_on(a).unwrap();
    assert_alternates(&log.lock().unwrap());
}

/// Issue 14: a G spawned beside a coroutine that yields in a loop first ran
/// about 65 yields later. It must run within one.
#[test]
fn a_new_g_runs_within_one_yield_of_a_yielding_coroutine() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let yields = Arc::new(AtomicUsize::new(0));
    let ran_at = Arc::new(AtomicUsize::new(usize::MAX));
    let done = Arc::new(AtomicBool::new(false));
    let h = {
        let _in = rt.enter();
        let (yields, ran_at, done) = (yields.clone(), ran_at.clone(), done.clone());
        coro::spawn(move || {
            // Bound to its M from its first yield on.
            coro::yield_now();
            let spawned_at = yields.load(SeqCst);
            let (y, r, d) = (yields.clone(), ran_at.clone(), done.clone());
            drop(gmp_exec::spawn(async move {
                r.store(y.load(SeqCst), SeqCst);
                d.store(true, SeqCst);
            }));
            // Bounded: a G that never runs fails the assertion below.
            while !done.load(SeqCst) && yields.load(SeqCst) < spawned_at + 1000 {
                yields.fetch_add(1, SeqCst);
                coro::yield_now();
            }
            spawned_at
        })
    };
    let spawned_at = rt.block_on(h).unwrap();
    let waited = ran_at.load(SeqCst).saturating_sub(spawned_at);
    assert!(
        waited <= 1,
        "the new G ran after {waited} yields of the coroutine (never, if huge)"
    );
}
