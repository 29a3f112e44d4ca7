//! What stacks cost: a deep stack gives its pages back, a parked coroutine
//! costs the pages it touched, a million stacks fit, and running out of
//! mappings is an error, not a crash. Each case runs in a child process so
//! that its RSS and mapping counts are its own.

// RSS and mapping counts come from /proc: Linux only.
#![cfg(target_os = "linux")]

mod support;

use std::hint::black_box;

use gmp_coro::stack::{self, Stack, KEEP_RESIDENT};
use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};

/// Runs the child body for `test`, or runs the child and checks it succeeded,
/// echoing its report lines (visible with `--nocapture`).
fn in_child(test: &str, env: &[(&str, &str)], body: impl FnOnce()) {
    if support::is_child(test) {
        body();
        return;
    }
    let out = support::run_child(test, env);
    assert!(out.status.success(), "{}", support::describe(&out));
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(at) = line.find("report:") {
            println!("{test}: {}", &line[at..]);
        }
    }
}

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// Recurses `kib` levels of about 1 KiB each, every frame holding data (as
/// real frames do), and suspends at the bottom.
#[inline(never)]
fn deep_then_suspend(kib: usize) -> u64 {
    let mut frame = [kib as u8 | 1; 1000];
    black_box(&mut frame);
    if kib == 0 {
        suspend();
        return frame[0] as u64;
    }
    deep_then_suspend(kib - 1) + black_box(frame[999] as u64)
}

#[test]
fn a_deeply_used_stack_gives_its_pages_back_when_it_returns_to_the_pool() {
    in_child(
        "a_deeply_used_stack_gives_its_pages_back_when_it_returns_to_the_pool",
        &[],
        || {
            const SIZE: usize = 1 << 20;
            const N: usize = 64;
            let rss0 = support::rss_bytes();
            let mut cos: Vec<_> = (0..N)
                .map(|_| Coroutine::new(SIZE, || deep_then_suspend(900)).unwrap())
                .collect();
            for co in &mut cos {
                assert!(co.resume().is_suspended());
            }
            let deep = support::rss_bytes() - rss0;
            for co in &mut cos {
                assert!(matches!(co.resume(), Resumed::Finished(_)));
            }
            let after = support::rss_bytes().saturating_sub(rss0);
            println!(
                "report: {N} stacks 900 KiB deep: +{} KiB resident; back in the pool: +{} KiB",
                deep / 1024,
                after / 1024
            );
            assert!(deep > N * 850 * 1024, "deep use should be resident: {deep}");
            // Each stack keeps KEEP_RESIDENT at most (plus a little noise).
            assert!(
                after < N * (KEEP_RESIDENT + 8 * 1024),
                "pages below the kept region should be released: {after}"
            );
            // The stacks are reused as they are: the next tenants run fine.
            for co in &mut cos {
                *co = Coroutine::new(SIZE, || deep_then_suspend(900)).unwrap();
                assert!(co.resume().is_suspended());
            }
            assert_eq!(gmp_coro::pool::stats(SIZE).carved, N);
        },
    );
}

#[test]
fn a_million_stacks_can_be_allocated_in_a_few_thousand_mappings() {
    in_child(
        "a_million_stacks_can_be_allocated_in_a_few_thousand_mappings",
        &[],
        || {
            const N: usize = 1_000_000;
            let maps0 = mappings();
            let rss0 = support::rss_bytes();
            let stacks: Vec<Stack> = (0..N)
                .map(|i| {
                    Stack::new(DEFAULT_STACK_SIZE).unwrap_or_else(|e| panic!("stack {i}: {e}"))
                })
                .collect();
            let maps = mappings() - maps0;
            let rss = support::rss_bytes() - rss0;
            println!(
                "report: {N} stacks of 64 KiB in {maps} new mappings, +{} MiB resident (untouched)",
                rss >> 20
            );
            assert!(maps < N / 200, "slabs should keep mappings few: {maps}");
            // Untouched stacks cost no memory; only the Vec of handles does.
            assert!(rss < 64 << 20, "{rss}");
            drop(stacks);
        },
    );
}

#[test]
fn a_parked_coroutine_that_touched_little_costs_about_a_page() {
    in_child(
        "a_parked_coroutine_that_touched_little_costs_about_a_page",
        &[],
        || {
            const N: usize = 100_000;
            let mut cos = Vec::with_capacity(N);
            let rss0 = support::rss_bytes();
            for i in 0..N {
                let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
                    let mut local = [i as u8; 256];
                    black_box(&mut local);
                    suspend();
                    local[0]
                })
                .unwrap();
                assert!(co.resume().is_suspended());
                cos.push(co);
            }
            let per = (support::rss_bytes() - rss0) / N;
            println!("report: {N} parked coroutines: {per} bytes resident each");
            // One page of stack (two in unoptimised builds), plus the handle.
            assert!(per <= 2 * stack::page_size() + 512, "{per}");
            for mut co in cos {
                assert!(matches!(co.resume(), Resumed::Finished(_)));
            }
        },
    );
}

#[test]
fn running_out_of_mappings_with_mprotect_guards_is_an_error_that_names_the_limit() {
    in_child(
        "running_out_of_mappings_with_mprotect_guards_is_an_error_that_names_the_limit",
        &[(stack::GUARD_ENV, "mprotect")],
        || {
            let mut stacks = Vec::new();
            let err = loop {
                match Stack::new(MIN_STACK_SIZE) {
                    Ok(s) => stacks.push(s),
                    Err(e) => break e,
                }
                assert!(
                    stacks.len() < 1_000_000,
                    "mprotect guards never hit the limit"
                );
            };
            println!(
                "report: mprotect guards: refused after {} stacks: {err}",
                stacks.len()
            );
            assert_eq!(stack::guard_kind(), Some(stack::GuardKind::Mprotect));
            assert!(err.to_string().contains("max_map_count"), "{err}");
            assert!(stacks.len() > 10_000, "{}", stacks.len());
            // Not a crash: the process goes on, and pooled stacks still serve.
            stacks.truncate(stacks.len() - 10);
            let mut co = Coroutine::new(MIN_STACK_SIZE, || 5).unwrap();
            assert!(matches!(co.resume(), Resumed::Finished(5)));
        },
    );
}
