//! Spawning: from tasks, from plain threads, from the default runtime; every
//! task runs exactly once; wakes cross threads.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

use futures::channel::oneshot;
use gmp_exec::Runtime;

mod common;
use common::recv;

fn rt(procs: usize) -> Runtime {
    Runtime::builder().procs(procs).build().unwrap()
}

#[test]
fn spawn_from_a_task_and_await_the_output() {
    let rt = rt(2);
    let out = rt.block_on(async {
        gmp_exec::spawn(async { gmp_exec::spawn(async { 40 }).await.unwrap() + 2 })
            .await
            .unwrap()
    });
    assert_eq!(out, 42);
}

#[test]
fn spawn_from_plain_threads() {
    let rt = rt(2);
    let handle = rt.handle().clone();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let hs: Vec<_> = (0..1000)
                    .map(|i| handle.spawn(async move { t * 1000 + i }))
                    .collect();
                hs
            })
        })
        .collect();
    let hs: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let sum: usize = rt.block_on(async {
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..4000).sum::<usize>());
}

#[test]
fn a_hundred_thousand_tasks_each_run_exactly_once() {
    const N: usize = 100_000;
    let rt = rt(2);
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let r = runs.clone();
    rt.block_on(async move {
        gmp_exec::spawn(async move {
            let hs: Vec<_> = (0..N)
                .map(|i| {
                    let r = r.clone();
                    gmp_exec::spawn(async move {
                        r[i].fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap()
    });
    assert!(runs.iter().all(|c| c.load(SeqCst) == 1));
}

#[test]
fn cross_thread_wake_reaches_the_task() {
    let rt = rt(2);
    let (tx, rx) = oneshot::channel::<u32>();
    let h = rt.spawn(async move { rx.await.unwrap() * 2 });
    // Wake from a thread that is not an M.
    std::thread::spawn(move || tx.send(21).unwrap())
        .join()
        .unwrap();
    assert_eq!(rt.block_on(h).unwrap(), 42);
}

#[test]
fn wakes_between_tasks_on_different_ps() {
    let rt = rt(2);
    let out = rt.block_on(async {
        let (mut tx, mut rx) = futures::channel::mpsc::channel::<u32>(1);
        let producer = gmp_exec::spawn(async move {
            use futures::SinkExt;
            for i in 0..10_000 {
                tx.send(i).await.unwrap();
            }
        });
        let consumer = gmp_exec::spawn(async move {
            use futures::StreamExt;
            let mut sum = 0u64;
            while let Some(i) = rx.next().await {
                sum += u64::from(i);
            }
            sum
        });
        producer.await.unwrap();
        consumer.await.unwrap()
    });
    assert_eq!(out, (0..10_000u64).sum::<u64>());
}

#[test]
fn default_runtime_starts_on_first_use() {
    // Not inside any runtime: gmp_exec::spawn starts the default one.
    let (tx, rx) = mpsc::channel();
    let h = gmp_exec::spawn(async move {
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap();
        7
    });
    let name = recv(&rx, "a G ran on the default runtime").unwrap();
    assert!(name.starts_with("gmp-default-m"), "{name}");
    assert_eq!(gmp_exec::block_on(h).unwrap(), 7);
}

#[test]
fn spawn_inside_block_on_uses_that_runtime() {
    let rt = Runtime::builder()
        .procs(1)
        .thread_name("inner")
        .build()
        .unwrap();
    let name = rt.block_on(async {
        gmp_exec::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("inner-m0"));
}

#[test]
fn join_handle_reports_id_and_finish() {
    let rt = rt(1);
    let (tx, rx) = oneshot::channel::<()>();
    let h = rt.spawn(async move { rx.await.unwrap() });
    let h2 = rt.spawn(async {});
    assert_ne!(h.id(), h2.id());
    assert!(!h.is_finished());
    tx.send(()).unwrap();
    rt.block_on(async {
        h2.await.unwrap();
    });
    let id = h.id();
    let abort = h.abort_handle();
    assert_eq!(abort.id(), id);
    rt.block_on(h).unwrap();
    assert!(abort.is_finished());
}

#[test]
fn spawn_blocking_runs_off_the_ms() {
    let rt = Runtime::builder()
        .procs(1)
        .thread_name("pool")
        .build()
        .unwrap();
    let names = rt.block_on(async {
        let hs: Vec<_> = (0..8)
            .map(|_| gmp_exec::spawn_blocking(|| std::thread::current().name().map(str::to_owned)))
            .collect();
        let mut names = Vec::new();
        for h in hs {
            names.push(h.await.unwrap().unwrap());
        }
        names
    });
    assert!(
        names.iter().all(|n| n.starts_with("pool-blocking-")),
        "{names:?}"
    );
}

#[test]
fn yield_now_lets_others_run() {
    let rt = rt(1);
    // Spawned from a G, both are in the P's queue before either runs. (From
    // `block_on` they went to the global queue, and `a` could run its three
    // turns before the M took `b` from there: an order assumption that failed
    // a few runs in a hundred on one core.)
    let order = rt
        .block_on(rt.spawn(async {
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            let o = order.clone();
            let a = gmp_exec::spawn(async move {
                for i in 0..3 {
                    o.lock().unwrap().push(("a", i));
                    gmp_exec::yield_now().await;
                }
            });
            let o = order.clone();
            let b = gmp_exec::spawn(async move {
                for i in 0..3 {
                    o.lock().unwrap().push(("b", i));
                    gmp_exec::yield_now().await;
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            Arc::try_unwrap(order).unwrap().into_inner().unwrap()
        }))
        .unwrap();
    // Each yield puts the task behind the other: they alternate.
    let tasks: Vec<&str> = order.iter().map(|(t, _)| *t).collect();
    for pair in tasks.windows(2) {
        assert_ne!(pair[0], pair[1], "{order:?}");
    }
}
