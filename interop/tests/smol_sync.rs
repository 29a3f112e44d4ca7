//! smol's runtime-agnostic synchronisation crates — `async-channel`,
//! `event-listener`, `async-lock` — under contention from Gs on several Ps.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use event_listener::{Event, Listener};

const PROCS: usize = 4;

/// A hang guard for waits on plain threads, far above a healthy run's need.
const PATIENCE: Duration = Duration::from_secs(60);

#[gmp::test(procs = 4)]
async fn async_channel_delivers_every_message_once_to_competing_receivers() {
    let (tx, rx) = async_channel::bounded::<usize>(8);
    let producers = 8;
    let per = 2_000;
    for p in 0..producers {
        let tx = tx.clone();
        gmp::spawn(async move {
            for i in 0..per {
                tx.send(p * per + i).await.unwrap();
            }
        });
    }
    drop(tx);
    let consumers: Vec<_> = (0..PROCS * 2)
        .map(|_| {
            let rx = rx.clone();
            gmp::spawn(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..producers * per).collect::<Vec<_>>());
}

#[gmp::test(procs = 4)]
async fn event_listener_wakes_every_waiting_task() {
    let event = Arc::new(Event::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let woke = Arc::new(AtomicUsize::new(0));
    let waiters = 64;
    let (ready_tx, ready_rx) = async_channel::unbounded();
    let tasks: Vec<_> = (0..waiters)
        .map(|_| {
            let (event, flag, woke, ready_tx) =
                (event.clone(), flag.clone(), woke.clone(), ready_tx.clone());
            gmp::spawn(async move {
                let mut announced = false;
                // The listen / check / wait pattern: no lost wake-up.
                while flag.load(SeqCst) == 0 {
                    let listener = event.listen();
                    if !announced {
                        ready_tx.send(()).await.unwrap();
                        announced = true;
                    }
                    if flag.load(SeqCst) != 0 {
                        break;
                    }
                    listener.await;
                }
                woke.fetch_add(1, SeqCst);
            })
        })
        .collect();
    for _ in 0..waiters {
        ready_rx.recv().await.unwrap();
    }
    flag.store(1, SeqCst);
    event.notify(usize::MAX);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(woke.load(SeqCst), waiters);
}

#[test]
fn event_listener_blocking_wait_on_a_plain_thread_is_woken_by_a_g() {
    let rt = gmp::Runtime::builder().procs(2).build().unwrap();
    let event = Arc::new(Event::new());
    let listener = event.listen();
    let notifier = event.clone();
    rt.spawn(async move {
        gmp::yield_now().await;
        notifier.notify(1);
    });
    assert!(
        listener.wait_timeout(PATIENCE).is_some(),
        "a G's notify never woke the plain thread's blocking wait within {PATIENCE:?}"
    );
}

#[gmp::test(procs = 4)]
async fn async_lock_mutex_serialises_increments_across_ps() {
    let counter = Arc::new(async_lock::Mutex::new(0u64));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let counter = counter.clone();
            gmp::spawn(async move {
                for _ in 0..500 {
                    let mut guard = counter.lock().await;
                    let seen = *guard;
                    // Hold the lock across a yield: others must wait, not interleave.
                    gmp::yield_now().await;
                    *guard = seen + 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*counter.lock().await, 32 * 500);
}

#[gmp::test(procs = 4)]
async fn async_lock_rwlock_readers_never_see_a_half_done_write() {
    let pair = Arc::new(async_lock::RwLock::new((0u64, 0u64)));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let pair = pair.clone();
            gmp::spawn(async move {
                for _ in 0..500 {
                    let mut w = pair.write().await;
                    w.0 += 1;
                    gmp::yield_now().await;
                    w.1 += 1;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let pair = pair.clone();
            gmp::spawn(async move {
                for _ in 0..500 {
                    let r = pair.read().await;
                    assert_eq!(r.0, r.1, "a reader saw a write in progress");
                    drop(r);
                    gmp::yield_now().await;
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.await.unwrap();
    }
    assert_eq!(*pair.read().await, (2_000, 2_000));
}

#[gmp::test(procs = 4)]
async fn async_lock_semaphore_bounds_concurrency() {
    let limit = 3;
    let sem = Arc::new(async_lock::Semaphore::new(limit));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
            gmp::spawn(async move {
                for _ in 0..20 {
                    let _permit = sem.acquire().await;
                    let now = inside.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    gmp::yield_now().await;
                    inside.fetch_sub(1, SeqCst);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let most = most.load(SeqCst);
    assert!(most <= limit, "{most} tasks held {limit} permits");
    assert!(most >= 2, "64 tasks on 4 Ps never overlapped (max {most})");
}
