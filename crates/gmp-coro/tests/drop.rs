//! Dropping a coroutine drops what it owns exactly once, wherever it stopped,
//! and gives its stack back.

// Where gmp-coro has stacks: Unix and Windows.
#![cfg(any(unix, windows))]

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use gmp_coro::{pool, suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn dropping_a_suspended_coroutine_drops_each_frames_locals_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        let _captured = Counted(d.clone());
        #[inline(never)]
        fn deeper(d: &Arc<AtomicUsize>, levels: usize) {
            let _local = Counted(d.clone());
            if levels == 0 {
                suspend();
                unreachable!("a dropped coroutine is never resumed normally");
            }
            deeper(d, levels - 1);
        }
        deeper(&d, 9);
    })
    .unwrap();
    assert!(co.resume().is_suspended());
    assert_eq!(drops.load(SeqCst), 0);
    drop(co);
    // 10 frames of `deeper` plus `_captured`; the closure's own `d` is an Arc
    // clone, not a `Counted`.
    assert_eq!(drops.load(SeqCst), 11);
    assert_eq!(Arc::strong_count(&drops), 1, "every clone was dropped");
}

#[test]
fn dropping_an_unstarted_coroutine_drops_its_closure_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let captured = Counted(drops.clone());
    let co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        let _keep = &captured;
    })
    .unwrap();
    drop(co);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn a_finished_coroutines_locals_are_dropped_once_when_it_returns() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        let _a = Counted(d.clone());
        suspend();
        let _b = Counted(d);
    })
    .unwrap();
    assert!(co.resume().is_suspended());
    assert!(matches!(co.resume(), Resumed::Finished(())));
    assert_eq!(drops.load(SeqCst), 2);
    drop(co);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn a_destructor_that_suspends_during_the_drop_unwind_is_unwound_again() {
    struct SuspendsOnDrop(Arc<AtomicUsize>);
    impl Drop for SuspendsOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
            // During a drop's unwind this suspend unwinds again (corosensei
            // restarts the forced unwind), so the next line never runs then.
            let unwound = panic::catch_unwind(AssertUnwindSafe(suspend)).is_err();
            if !unwound {
                self.0.fetch_add(100, SeqCst);
            }
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        let _s = SuspendsOnDrop(d.clone());
        let _c = Counted(d);
        suspend();
    })
    .unwrap();
    assert!(co.resume().is_suspended());
    drop(co);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn dropping_a_coroutine_returns_its_stack_to_the_pool() {
    // A size no other test uses, so the counts are ours alone.
    const SIZE: usize = 23 * 4096;
    let mut co = Coroutine::new(SIZE, suspend).unwrap();
    assert!(co.resume().is_suspended());
    let before = pool::stats(SIZE);
    drop(co);
    let after = pool::stats(SIZE);
    assert_eq!(after.local_free, before.local_free + 1);
    // And a finished coroutine gives it back without being dropped.
    let mut co = Coroutine::new(SIZE, || 3).unwrap();
    assert_eq!(pool::stats(SIZE).local_free, before.local_free);
    assert!(matches!(co.resume(), Resumed::Finished(3)));
    assert_eq!(pool::stats(SIZE).local_free, before.local_free + 1);
    assert_eq!(
        pool::stats(SIZE).carved,
        1,
        "the second coroutine reused the stack"
    );
}
