//! `LocalSet` and `spawn_local`: `!Send` futures on the thread that drives
//! the set (a `block_on` thread, or a coroutine G's M).
#![cfg(not(loom))]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use gmp_exec::task::{spawn_local, LocalSet};
use gmp_exec::Runtime;

mod common;
use common::within;

#[test]
fn local_tasks_share_rc_state_and_run_on_the_driving_thread() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("block_on a LocalSet", move || {
        let driver = std::thread::current().id();
        let local = LocalSet::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let out = local.block_on(&rt, {
            let log = log.clone();
            async move {
                let mut handles = Vec::new();
                for i in 0..10 {
                    let log = log.clone();
                    handles.push(spawn_local(async move {
                        // Woken from an M (a timer fires there).
                        gmp_exec::time::sleep(Duration::from_millis(1)).await;
                        assert_eq!(std::thread::current().id(), driver);
                        log.borrow_mut().push(i);
                        i
                    }));
                }
                let mut sum = 0;
                for h in handles {
                    sum += h.await.unwrap();
                }
                sum
            }
        });
        assert_eq!(out, 45);
        assert_eq!(log.borrow().len(), 10);
    });
}

#[test]
fn local_tasks_spawn_local_tasks_and_a_set_runs_to_empty() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("nested spawn_local", move || {
        let local = LocalSet::new();
        let count = Rc::new(Cell::new(0));
        let c = count.clone();
        local.spawn_local(async move {
            for _ in 0..5 {
                let c = c.clone();
                spawn_local(async move { c.set(c.get() + 1) });
            }
        });
        rt.block_on(local);
        assert_eq!(count.get(), 5);
    });
}

#[test]
fn a_panicking_or_aborted_local_task_is_a_join_error() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("errors", move || {
        LocalSet::new().block_on(&rt, async {
            let h = spawn_local(async { panic!("local boom") });
            assert!(h.await.unwrap_err().is_panic());
            let (_tx, rx) = oneshot::channel::<()>();
            let h = spawn_local(async move {
                let _ = rx.await;
            });
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());
        })
    });
}

#[test]
fn dropping_the_set_cancels_its_tasks() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("drop", move || {
        let local = LocalSet::new();
        let h = local.spawn_local(std::future::pending::<()>());
        drop(local);
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    });
}

#[test]
#[should_panic(expected = "spawn_local called outside a LocalSet")]
fn spawn_local_outside_a_set_panics_saying_what_to_do() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    // An async G is not a LocalSet (it may move between Ms).
    let h = rt.spawn(async {
        drop(spawn_local(async {}));
    });
    if let Err(e) = rt.block_on(h) {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_coroutine_g_drives_a_set_on_its_own_m() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let _guard = rt.enter();
    let h = gmp_exec::coro::spawn(|| {
        let me = std::thread::current().id();
        let local = LocalSet::new();
        let shared = Rc::new(Cell::new(0u32));
        gmp_exec::coro::wait(local.run_until(async {
            let mut hs = Vec::new();
            for _ in 0..8 {
                let shared = shared.clone();
                hs.push(spawn_local(async move {
                    gmp_exec::yield_now().await;
                    assert_eq!(std::thread::current().id(), me);
                    shared.set(shared.get() + 1);
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
        }));
        shared.get()
    });
    assert_eq!(within("coroutine LocalSet", move || h.join().unwrap()), 8);
}
