//! A coroutine runs its closure to the end across suspends, hands back its
//! value or its panic, and the free functions inside see the right coroutine.

// Where gmp-coro has stacks: Unix and Windows.
#![cfg(any(unix, windows))]

mod support;

use std::panic::{self, AssertUnwindSafe};

use gmp_coro::{
    current_id, is_in_coroutine, on_m_stack, suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE,
    MIN_STACK_SIZE,
};

#[test]
fn ten_thousand_coroutines_suspending_a_hundred_times_each_finish_with_their_results() {
    const N: u64 = 10_000;
    const SUSPENDS: u64 = 100;
    let mut live: Vec<(u64, Coroutine<u64>)> = (0..N)
        .map(|i| {
            let co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
                let mut acc = i;
                for k in 0..SUSPENDS {
                    acc = acc.wrapping_mul(31).wrapping_add(k);
                    suspend();
                }
                acc
            })
            .unwrap();
            (i, co)
        })
        .collect();
    let expected = |i: u64| (0..SUSPENDS).fold(i, |acc, k| acc.wrapping_mul(31).wrapping_add(k));
    let mut resumes = vec![0u64; N as usize];
    let mut finished = 0;
    // Round-robin, as a scheduler would: every coroutine is interleaved with
    // every other.
    while !live.is_empty() {
        live.retain_mut(|(i, co)| {
            resumes[*i as usize] += 1;
            match co.resume() {
                Resumed::Suspended => true,
                Resumed::Finished(v) => {
                    assert_eq!(v, expected(*i), "coroutine {i}");
                    finished += 1;
                    false
                }
                Resumed::Panicked(_) => panic!("coroutine {i} panicked"),
            }
        });
    }
    assert_eq!(finished, N);
    assert!(resumes.iter().all(|&r| r == SUSPENDS + 1));
}

#[test]
fn a_panic_inside_is_returned_as_panicked_and_the_resumer_goes_on() {
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
        suspend();
        let n = std::hint::black_box(7);
        if n == 7 {
            panic!("boom {n}");
        }
        n
    })
    .unwrap();
    assert!(co.resume().is_suspended());
    match co.resume() {
        Resumed::Panicked(payload) => {
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some("boom 7")
            );
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert!(co.is_finished());
    // The resumer's thread is fine: the next coroutine runs normally.
    let mut next = Coroutine::new(DEFAULT_STACK_SIZE, || 5).unwrap();
    assert!(matches!(next.resume(), Resumed::Finished(5)));
}

#[test]
fn resuming_a_finished_coroutine_panics_with_the_reason() {
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || 1).unwrap();
    assert!(matches!(co.resume(), Resumed::Finished(1)));
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume())).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("already finished"), "{msg}");
}

#[test]
fn suspend_outside_a_coroutine_panics_with_the_reason() {
    let err = panic::catch_unwind(suspend).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("outside a coroutine"), "{msg}");
}

#[test]
fn is_in_coroutine_and_current_id_follow_the_running_coroutine() {
    assert!(!is_in_coroutine());
    assert_eq!(current_id(), 0);
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
        let first = (is_in_coroutine(), current_id());
        suspend();
        (first, (is_in_coroutine(), current_id()))
    })
    .unwrap();
    co.set_id(42);
    assert!(co.resume().is_suspended());
    assert_eq!((is_in_coroutine(), current_id()), (false, 0));
    co.set_id(43); // the scheduler may renumber between resumes
    match co.resume() {
        Resumed::Finished(seen) => assert_eq!(seen, ((true, 42), (true, 43))),
        other => panic!("{other:?}"),
    }
    assert_eq!((is_in_coroutine(), current_id()), (false, 0));
}

#[test]
fn a_nested_coroutine_suspends_to_the_coroutine_that_resumed_it() {
    let mut outer = Coroutine::new(DEFAULT_STACK_SIZE, || {
        let mut log = Vec::new();
        let mut inner = Coroutine::new(DEFAULT_STACK_SIZE, || {
            assert_eq!(current_id(), 2);
            suspend();
            assert_eq!(current_id(), 2);
            "inner done"
        })
        .unwrap();
        inner.set_id(2);
        assert!(inner.resume().is_suspended());
        log.push(("outer after inner suspended", current_id()));
        suspend(); // suspends the outer one, not the inner
        match inner.resume() {
            Resumed::Finished(s) => log.push((s, current_id())),
            other => panic!("{other:?}"),
        }
        log
    })
    .unwrap();
    outer.set_id(1);
    assert!(outer.resume().is_suspended());
    match outer.resume() {
        Resumed::Finished(log) => assert_eq!(
            log,
            vec![("outer after inner suspended", 1), ("inner done", 1)]
        ),
        other => panic!("{other:?}"),
    }
}

/// Recursion that uses about `depth` KiB of stack.
#[inline(never)]
fn use_stack_kib(depth: usize) -> u64 {
    let mut buf = [0u8; 1024];
    std::hint::black_box(&mut buf);
    if depth == 0 {
        return buf[0] as u64;
    }
    use_stack_kib(depth - 1) + std::hint::black_box(1)
}

/// The address of a local in the caller's frame.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

#[test]
fn on_m_stack_runs_work_too_deep_for_the_coroutine_stack() {
    let mut co = Coroutine::new(MIN_STACK_SIZE, || {
        let here = stack_address();
        // 512 KiB of frames: sixteen times this coroutine's stack.
        let (depth, inside, elsewhere) = on_m_stack(move || {
            let there = stack_address();
            (
                use_stack_kib(512),
                is_in_coroutine(),
                here.abs_diff(there) > MIN_STACK_SIZE,
            )
        });
        (depth, inside, elsewhere, is_in_coroutine())
    })
    .unwrap();
    match co.resume() {
        Resumed::Finished(r) => assert_eq!(r, (512, false, true, true)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn suspend_inside_on_m_stack_panics_and_the_coroutine_can_catch_it() {
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
        let caught = panic::catch_unwind(|| on_m_stack(suspend)).is_err();
        suspend(); // back on the coroutine's stack, suspend works again
        caught
    })
    .unwrap();
    assert!(co.resume().is_suspended());
    assert!(matches!(co.resume(), Resumed::Finished(true)));
}

#[test]
fn on_m_stack_outside_a_coroutine_just_calls_the_closure() {
    assert_eq!(on_m_stack(|| use_stack_kib(4)), 4);
}

#[test]
fn a_coroutine_created_with_a_bad_stack_size_is_an_invalid_input_error() {
    for (size, words) in [
        (MIN_STACK_SIZE - 4096, "below the minimum"),
        (DEFAULT_STACK_SIZE + 1, "not a multiple of the page size"),
        (gmp_coro::MAX_STACK_SIZE * 2, "above the maximum"),
    ] {
        let err = Coroutine::new(size, || ()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(words), "{size}: {err}");
    }
}

#[test]
fn a_closure_too_large_for_its_stack_is_an_invalid_input_error() {
    let big = [1u8; DEFAULT_STACK_SIZE / 2];
    let err = Coroutine::new(DEFAULT_STACK_SIZE, move || big[0]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("box the large captures"), "{err}");
    // Boxed, the same data is fine.
    let boxed = Box::new([1u8; DEFAULT_STACK_SIZE / 2]);
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || boxed[0]).unwrap();
    assert!(matches!(co.resume(), Resumed::Finished(1)));
}

#[test]
fn a_panic_with_a_full_backtrace_fits_in_a_minimum_size_stack() {
    if support::is_child("a_panic_with_a_full_backtrace_fits_in_a_minimum_size_stack") {
        let mut co = Coroutine::new(MIN_STACK_SIZE, || {
            suspend();
            panic!("backtrace me");
        })
        .unwrap();
        assert!(co.resume().is_suspended());
        assert!(matches!(co.resume(), Resumed::Panicked(_)));
        println!("child survived");
        return;
    }
    let out = support::run_child(
        "a_panic_with_a_full_backtrace_fits_in_a_minimum_size_stack",
        &[("RUST_BACKTRACE", "full")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", support::describe(&out));
    assert!(
        stdout.contains("child survived"),
        "{}",
        support::describe(&out)
    );
    assert!(
        stderr.contains("stack backtrace"),
        "{}",
        support::describe(&out)
    );
}
