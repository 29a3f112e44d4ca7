//! An unstarted coroutine goes anywhere; a started one stays on its thread,
//! and misuse is a clear panic (or a safe leak), never a resume on the wrong
//! thread.

// Where gmp-coro has stacks: Unix and Windows.
#![cfg(any(unix, windows))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};

#[test]
fn an_unstarted_coroutine_runs_on_the_thread_it_is_sent_to() {
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
        let first = thread::current().name().map(str::to_owned);
        suspend();
        (first, thread::current().name().map(str::to_owned))
    })
    .unwrap();
    let names = thread::Builder::new()
        .name("elsewhere".into())
        .spawn(move || {
            assert!(co.resume().is_suspended());
            match co.resume() {
                Resumed::Finished(names) => names,
                other => panic!("{other:?}"),
            }
        })
        .unwrap()
        .join()
        .unwrap();
    let elsewhere = Some("elsewhere".to_owned());
    assert_eq!(names, (elsewhere.clone(), elsewhere));
}

#[test]
fn resuming_a_started_coroutine_on_another_thread_panics_naming_the_misuse() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        struct Local(Arc<AtomicUsize>);
        impl Drop for Local {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let _local = Local(d);
        suspend();
        suspend();
        9
    })
    .unwrap();
    co.set_id(77);
    assert!(co.resume().is_suspended());
    let (co, msg) = thread::spawn(move || {
        let mut co = co;
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| co.resume()))
            .expect_err("resume on another thread must panic");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        (co, msg)
    })
    .join()
    .unwrap();
    assert!(
        msg.contains("thread other than the one that first resumed it") && msg.contains("77"),
        "{msg}"
    );
    // Back on its own thread it carries on where it was.
    let mut co = co;
    assert!(co.resume().is_suspended());
    assert!(matches!(co.resume(), Resumed::Finished(9)));
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn a_started_coroutine_dropped_on_another_thread_is_leaked_not_unwound_there() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        struct Local(Arc<AtomicUsize>);
        impl Drop for Local {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let _local = Local(d);
        suspend();
    })
    .unwrap();
    assert!(co.resume().is_suspended());
    thread::spawn(move || drop(co)).join().unwrap();
    // The local was never dropped (its frame never ran again), and its Arc
    // clone is still counted.
    assert_eq!(drops.load(SeqCst), 0);
    assert_eq!(Arc::strong_count(&drops), 2);
}
