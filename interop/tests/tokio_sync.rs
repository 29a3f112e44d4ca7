//! tokio's runtime-agnostic parts on gmp: `tokio::sync` primitives, and a
//! `tokio-util` codec over a gmp socket through the `tokio-io` feature. No
//! tokio runtime exists in this process (tokio is built without `rt`).
#![cfg(unix)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use gmp::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch, Mutex, Notify, Semaphore};
use tokio_util::codec::{Framed, LinesCodec};

#[gmp::test(procs = 4)]
async fn tokio_mpsc_delivers_in_order_per_producer() {
    let (tx, mut rx) = mpsc::channel::<(usize, usize)>(32);
    for p in 0..8 {
        let tx = tx.clone();
        gmp::spawn(async move {
            for i in 0..1_000 {
                tx.send((p, i)).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut next = [0; 8];
    while let Some((p, i)) = rx.recv().await {
        assert_eq!(next[p], i);
        next[p] += 1;
    }
    assert_eq!(next, [1_000; 8]);
}

#[gmp::test(procs = 4)]
async fn tokio_mutex_guards_across_await_points() {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let shared = shared.clone();
            gmp::spawn(async move {
                for i in 0..100 {
                    let mut v = shared.lock().await;
                    v.push((t, i));
                    gmp::yield_now().await;
                    let last = *v.last().unwrap();
                    assert_eq!(last, (t, i), "another task got in while the lock was held");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(shared.lock().await.len(), 1_600);
}

#[gmp::test(procs = 4)]
async fn tokio_notify_wakes_waiters_one_at_a_time_and_all_at_once() {
    let notify = Arc::new(Notify::new());
    // notify_one stores a permit when nobody waits: no lost wake-up.
    notify.notify_one();
    notify.notified().await;

    let woke = Arc::new(AtomicUsize::new(0));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (notify, woke, ready_tx) = (notify.clone(), woke.clone(), ready_tx.clone());
            gmp::spawn(async move {
                let notified = notify.notified();
                tokio::pin!(notified);
                // Registered before we say so: notify_waiters cannot miss it.
                notified.as_mut().enable();
                ready_tx.send(()).unwrap();
                notified.await;
                woke.fetch_add(1, SeqCst);
            })
        })
        .collect();
    for _ in 0..32 {
        ready_rx.recv().await.unwrap();
    }
    notify.notify_waiters();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(woke.load(SeqCst), 32);
}

#[gmp::test(procs = 4)]
async fn tokio_broadcast_reaches_every_subscriber() {
    let (tx, _) = broadcast::channel::<u32>(128);
    let subscribers: Vec<_> = (0..8)
        .map(|_| {
            let mut rx = tx.subscribe();
            gmp::spawn(async move {
                let mut sum = 0;
                while let Ok(v) = rx.recv().await {
                    sum += v;
                }
                sum
            })
        })
        .collect();
    for v in 1..=100 {
        tx.send(v).unwrap();
    }
    drop(tx);
    for s in subscribers {
        assert_eq!(s.await.unwrap(), 5_050);
    }
}

#[gmp::test(procs = 4)]
async fn tokio_watch_readers_see_the_latest_value() {
    let (tx, rx) = watch::channel(0u32);
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let mut rx = rx.clone();
            gmp::spawn(async move {
                let mut last = *rx.borrow_and_update();
                while rx.changed().await.is_ok() {
                    let now = *rx.borrow_and_update();
                    assert!(now > last, "watch went backwards: {last} then {now}");
                    last = now;
                }
                last
            })
        })
        .collect();
    for v in 1..=500 {
        tx.send(v).unwrap();
        if v % 50 == 0 {
            gmp::yield_now().await;
        }
    }
    drop(tx);
    for r in readers {
        assert_eq!(r.await.unwrap(), 500, "a reader missed the final value");
    }
}

#[gmp::test(procs = 4)]
async fn tokio_semaphore_bounds_concurrency() {
    let sem = Arc::new(Semaphore::new(4));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
            gmp::spawn(async move {
                for _ in 0..20 {
                    let _permit = sem.acquire().await.unwrap();
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
    assert!(most.load(SeqCst) <= 4);
    assert_eq!(sem.available_permits(), 4);
}

#[gmp::test(procs = 2)]
async fn tokio_util_lines_codec_frames_a_gmp_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A server that answers each line with it upper-cased, until "bye".
    gmp::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut lines = Framed::new(stream, LinesCodec::new());
        while let Some(line) = lines.next().await {
            let line = line.unwrap();
            if line == "bye" {
                break;
            }
            lines.send(line.to_uppercase()).await.unwrap();
        }
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut lines = Framed::new(stream, LinesCodec::new());
    for i in 0..200 {
        lines.send(format!("line {i}")).await.unwrap();
        assert_eq!(lines.next().await.unwrap().unwrap(), format!("LINE {i}"));
    }
    lines.send("bye".to_string()).await.unwrap();
    assert!(lines.next().await.is_none(), "the server closed after bye");
}
