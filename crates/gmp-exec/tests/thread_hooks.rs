//! `Builder::on_thread_start`/`on_thread_stop` run on every M and blocking
//! thread; `Runtime::shutdown_background` does not wait.
#![cfg(not(loom))]

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

use gmp_exec::Runtime;

mod common;
use common::{recv, wait_until, within};

thread_local! {
    static TAGGED: Cell<bool> = const { Cell::new(false) };
}

#[test]
fn hooks_run_on_every_m_and_blocking_thread_and_pair_up() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Runtime::builder()
        .procs(2)
        .on_thread_start(move || {
            TAGGED.with(|c| c.set(true));
            s.fetch_add(1, SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    let (in_task, in_blocking) = within("hooked threads", move || {
        let r = rt.block_on(async {
            let in_task = gmp_exec::spawn(async { TAGGED.with(Cell::get) })
                .await
                .unwrap();
            let in_blocking = gmp_exec::spawn_blocking(|| TAGGED.with(Cell::get))
                .await
                .unwrap();
            (in_task, in_blocking)
        });
        drop(rt);
        r
    });
    assert!(in_task, "an M ran on_thread_start before its Gs");
    assert!(
        in_blocking,
        "a blocking thread ran on_thread_start before its closure"
    );
    assert!(started.load(SeqCst) >= 3, "2 Ms and a pool thread at least");
    assert_eq!(
        started.load(SeqCst),
        stopped.load(SeqCst),
        "every thread stopped"
    );
}

#[test]
fn a_panicking_hook_does_not_take_the_thread_down() {
    let rt = Runtime::builder()
        .procs(1)
        .on_thread_start(|| panic!("hook failure"))
        .build()
        .unwrap();
    let v = within("after a panicking hook", move || {
        rt.block_on(rt.spawn(async { 5 }))
    });
    assert_eq!(v.unwrap(), 5);
}

#[test]
fn shutdown_background_returns_while_a_task_blocks_its_thread() {
    let stopped = Arc::new(AtomicUsize::new(0));
    let t = stopped.clone();
    let rt = Runtime::builder()
        .procs(1)
        .on_thread_stop(move || {
            t.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel();
    rt.spawn(async move {
        entered_tx.send(()).unwrap();
        let _ = release_rx.recv(); // blocks the only M
    });
    recv(&entered_rx, "the blocking task started");
    within("shutdown_background", move || rt.shutdown_background());
    // Only now can the task return: the shutdown did not wait for it.
    drop(release_tx);
    wait_until("the blocked M exited after its poll", || {
        stopped.load(SeqCst) >= 1
    });
}
