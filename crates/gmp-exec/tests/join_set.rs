//! `task::JoinSet`: tasks joined in the order they finish; dropping the set
//! aborts them; a set outlives its runtime cleanly.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use futures::channel::oneshot;
use gmp_exec::task::JoinSet;
use gmp_exec::Runtime;

mod common;
use common::{wait_until, within};

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn join_next_returns_tasks_in_completion_order() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("join order", move || {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut senders = Vec::new();
            for i in 0..4u32 {
                let (tx, rx) = oneshot::channel::<()>();
                senders.push(tx);
                set.spawn(async move {
                    rx.await.unwrap();
                    i
                });
            }
            // Release them in reverse: each join must see the one released.
            for i in (0..4u32).rev() {
                senders.pop().unwrap().send(()).unwrap();
                assert_eq!(set.join_next().await.unwrap().unwrap(), i);
            }
            assert!(set.join_next().await.is_none());
            assert!(set.is_empty());
        })
    });
}

#[test]
fn many_tasks_are_all_joined_once() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("10 000 joins", move || {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..10_000u64 {
                set.spawn(async move {
                    if i % 3 == 0 {
                        gmp_exec::yield_now().await;
                    }
                    i
                });
            }
            assert_eq!(set.len(), 10_000);
            let mut seen = vec![false; 10_000];
            while let Some(r) = set.join_next().await {
                let i = r.unwrap() as usize;
                assert!(!seen[i], "task {i} joined twice");
                seen[i] = true;
            }
            assert!(seen.iter().all(|&s| s));
        })
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..5 {
        let guard = CountDrop(drops.clone());
        set.spawn_on(
            async move {
                let _guard = guard;
                std::future::pending::<()>().await
            },
            rt.handle(),
        );
    }
    drop(set);
    wait_until("the 5 tasks of a dropped set were dropped", || {
        drops.load(SeqCst) == 5
    });
}

#[test]
fn abort_all_cancels_and_detach_all_lets_run() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("abort_all / detach_all", move || {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..3 {
                set.spawn(std::future::pending::<()>());
            }
            set.abort_all();
            assert_eq!(set.len(), 3);
            let mut cancelled = 0;
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 3);

            let (tx, rx) = oneshot::channel();
            let (go_tx, go_rx) = oneshot::channel::<()>();
            set.spawn(async move {
                go_rx.await.unwrap();
                tx.send("ran").unwrap();
            });
            set.detach_all();
            assert!(set.is_empty());
            drop(set);
            go_tx.send(()).unwrap();
            assert_eq!(rx.await.unwrap(), "ran");
        })
    });
}

#[test]
fn try_join_next_and_shutdown() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("try_join_next / shutdown", move || {
        rt.block_on(async {
            let mut set = JoinSet::new();
            assert!(set.try_join_next().is_none());
            let h = set.spawn(async { 1 });
            while !h.is_finished() {
                gmp_exec::yield_now().await;
            }
            assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
            set.spawn(std::future::pending());
            set.spawn(std::future::pending());
            set.shutdown().await;
            assert!(set.is_empty());
        })
    });
}

#[test]
fn a_set_whose_runtime_was_dropped_reports_its_tasks_cancelled() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let mut set = JoinSet::new();
    for _ in 0..4 {
        set.spawn_on(std::future::pending::<()>(), rt.handle());
    }
    let handle = rt.handle().clone();
    drop(rt);
    // Spawning on the dead runtime gives an already-cancelled task.
    set.spawn_on(async {}, &handle);
    let results = within("joining a dead runtime's tasks", move || {
        let other = Runtime::builder().procs(1).build().unwrap();
        other.block_on(async move {
            let mut n = 0;
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled());
                n += 1;
            }
            n
        })
    });
    assert_eq!(results, 5);
}

#[test]
fn a_panicking_task_is_a_join_error_and_join_all_resumes_it() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("panics in a set", move || {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("task failed") });
            assert!(set.join_next().await.unwrap().unwrap_err().is_panic());
            let mut set = JoinSet::new();
            set.spawn(async { panic!("again") });
            let joined = gmp_exec::spawn(set.join_all()).await;
            assert!(joined.unwrap_err().is_panic());
        })
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_coroutine_can_join_a_set() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let _guard = rt.enter();
    let h = gmp_exec::coro::spawn(|| {
        let mut set: JoinSet<u32> = (1..=10u32).map(|i| async move { i }).collect();
        let mut sum = 0;
        while let Some(r) = gmp_exec::coro::wait(set.join_next()) {
            sum += r.unwrap();
        }
        sum
    });
    assert_eq!(within("a coroutine joins", move || h.join().unwrap()), 55);
}
