//! `abort` drops the future; dropping a JoinHandle detaches the task.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use futures::channel::oneshot;
use gmp_exec::Runtime;

mod common;
use common::{recv, wait_until};

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn abort_drops_the_future_of_an_idle_task() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let (_tx, rx) = oneshot::channel::<()>();
    let guard = CountDrop(drops.clone());
    let h = rt.spawn(async move {
        let _guard = guard;
        let _ = rx.await;
        unreachable!("the sender is never used");
    });
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn abort_of_a_running_task_takes_effect_at_its_next_yield() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let h = rt.spawn(async move {
        started_tx.send(()).unwrap();
        // Blocks this M until the test has called abort.
        go_rx.recv().unwrap();
        gmp_exec::yield_now().await;
        unreachable!("aborted at the yield");
    });
    recv(&started_rx, "the G to abort started");
    h.abort();
    go_tx.send(()).unwrap();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = rt.spawn(async { 9 });
    wait_until("the G finished", || h.is_finished());
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 9);
}

#[test]
fn abort_races_completion_without_losing_either() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    for i in 0..2000u32 {
        let h = rt.spawn(async move {
            gmp_exec::yield_now().await;
            i
        });
        let abort = h.abort_handle();
        let t = std::thread::spawn(move || abort.abort());
        match rt.block_on(h) {
            Ok(v) => assert_eq!(v, i),
            Err(e) => assert!(e.is_cancelled()),
        }
        t.join().unwrap();
    }
}

#[test]
fn dropping_the_join_handle_detaches() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = oneshot::channel::<u32>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        let v = rx.await.unwrap();
        done_tx.send(v).unwrap();
    }));
    tx.send(5).unwrap();
    assert_eq!(recv(&done_rx, "the detached G ran to its end"), 5);
}

#[test]
fn a_detached_output_is_dropped_once() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for _ in 0..100 {
        let d = drops.clone();
        let done = done_tx.clone();
        drop(rt.spawn(async move {
            done.send(()).unwrap();
            CountDrop(d)
        }));
    }
    for _ in 0..100 {
        recv(&done_rx, "every detached G ran");
    }
    drop(rt);
    assert_eq!(drops.load(SeqCst), 100);
}
