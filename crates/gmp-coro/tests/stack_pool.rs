//! Stacks come back: a thread gets the stack it just gave back, caches move
//! to and from the global list in batches, and a thread's stacks outlive it.
//!
//! Each test uses a stack size of its own, so the per-size counts it reads
//! are not disturbed by the other tests running beside it.

// Where gmp-coro has stacks: Unix and Windows.
#![cfg(any(unix, windows))]

use std::collections::HashSet;
use std::thread;

use gmp_coro::pool::{self, BATCH, CACHE_MAX};
use gmp_coro::stack::{page_size, Stack};
use gmp_coro::{Coroutine, Resumed, MIN_STACK_SIZE};

fn pages(n: usize) -> usize {
    n * page_size()
}

#[test]
fn a_stack_given_back_is_the_next_one_handed_out_on_that_thread() {
    let size = pages(40);
    let first = Stack::new(size).unwrap();
    let top = first.top();
    assert_eq!(first.size(), size);
    assert_eq!(first.top() - first.bottom(), size);
    drop(first);
    let again = Stack::new(size).unwrap();
    assert_eq!(again.top(), top, "the pool is LIFO per thread");
    assert_eq!(pool::stats(size).carved, 1, "nothing new was mapped");
}

#[test]
fn a_finished_coroutines_stack_is_reused_by_the_next_coroutine() {
    let size = pages(41);
    #[inline(never)]
    fn local_address() -> usize {
        let marker = 0u8;
        std::hint::black_box(&marker) as *const u8 as usize
    }
    let mut a = Coroutine::new(size, local_address).unwrap();
    let Resumed::Finished(in_a) = a.resume() else {
        panic!("a did not finish")
    };
    let mut b = Coroutine::new(size, local_address).unwrap();
    let Resumed::Finished(in_b) = b.resume() else {
        panic!("b did not finish")
    };
    assert_eq!(in_a, in_b, "same stack, same depth, same address");
    assert_eq!(pool::stats(size).carved, 1);
}

// From another thread: on Windows only the stack's top page is committed,
// and the rest is committed by the kernel as the stack grows while it runs
// (touching it from outside is a guard-page exception).
#[cfg(unix)]
#[test]
fn the_whole_stack_is_usable_from_top_to_bottom() {
    let stack = Stack::new(MIN_STACK_SIZE).unwrap();
    for addr in [stack.bottom(), stack.top() - 8] {
        // SAFETY: both words lie inside the stack's usable bytes, which this
        // test owns.
        unsafe {
            (addr as *mut u64).write_volatile(0x5a5a);
            assert_eq!((addr as *const u64).read_volatile(), 0x5a5a);
        }
    }
}

#[test]
fn a_full_thread_cache_spills_a_batch_to_the_global_list() {
    let size = pages(42);
    thread::spawn(move || {
        let stacks: Vec<Stack> = (0..CACHE_MAX).map(|_| Stack::new(size).unwrap()).collect();
        assert_eq!(pool::stats(size).local_free, 0);
        drop(stacks);
        let stats = pool::stats(size);
        assert_eq!(stats.local_free, CACHE_MAX - BATCH);
        assert_eq!(stats.global_free, BATCH);
    })
    .join()
    .unwrap();
}

#[test]
fn an_empty_thread_cache_refills_a_batch_from_the_global_list() {
    let size = pages(43);
    // A thread that exits leaves its cache on the global list.
    thread::spawn(move || {
        drop(
            (0..2 * BATCH)
                .map(|_| Stack::new(size).unwrap())
                .collect::<Vec<_>>(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(pool::stats(size).global_free, 2 * BATCH);
    thread::spawn(move || {
        let one = Stack::new(size).unwrap();
        let stats = pool::stats(size);
        assert_eq!(
            stats.local_free,
            BATCH - 1,
            "one batch moved, one stack taken"
        );
        assert_eq!(stats.global_free, BATCH);
        drop(one);
    })
    .join()
    .unwrap();
}

#[test]
fn stacks_freed_by_a_thread_that_exits_are_reused_by_another_thread() {
    let size = pages(44);
    let tops: HashSet<usize> = thread::spawn(move || {
        let stacks: Vec<Stack> = (0..5).map(|_| Stack::new(size).unwrap()).collect();
        stacks.iter().map(Stack::top).collect()
    })
    .join()
    .unwrap();
    let reused: HashSet<usize> = thread::spawn(move || {
        let stacks: Vec<Stack> = (0..5).map(|_| Stack::new(size).unwrap()).collect();
        stacks.iter().map(Stack::top).collect()
    })
    .join()
    .unwrap();
    assert_eq!(tops, reused);
    assert_eq!(pool::stats(size).carved, 5);
}

#[test]
fn a_stack_taken_on_one_thread_can_be_given_back_on_another() {
    let size = pages(45);
    let stack = Stack::new(size).unwrap();
    let top = stack.top();
    thread::spawn(move || {
        drop(stack);
        assert_eq!(Stack::new(size).unwrap().top(), top);
    })
    .join()
    .unwrap();
}

#[test]
fn a_bad_stack_size_is_an_invalid_input_error_naming_the_rule() {
    for (size, words) in [
        (0, "below the minimum"),
        (MIN_STACK_SIZE + 100, "not a multiple of the page size"),
        (usize::MAX / 2, "above the maximum"),
    ] {
        let err = Stack::new(size).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(words), "{size}: {err}");
    }
}
