//! Stackful Gs: coroutines on the same Ps as async tasks, parked while they
//! wait, never moved off their thread once started.
// Coroutine Gs: the `coro` feature, on Unix and Windows.
#![cfg(all(feature = "coro", any(unix, windows), not(loom)))]

use std::cell::Cell;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use gmp_exec::coro;
use gmp_exec::Runtime;

mod common;
use common::{output_within, recv};

#[test]
fn ten_thousand_coroutines_times_a_hundred_yields_all_finish() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let total = rt.block_on(async {
        let hs: Vec<_> = (0..10_000u64)
            .map(|i| {
                coro::spawn(move || {
                    for _ in 0..100 {
                        coro::yield_now();
                    }
                    i
                })
            })
            .collect();
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..10_000).sum::<u64>());
}

#[test]
fn a_coroutine_and_an_async_task_talk_over_a_channel_both_ways() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (to_co, from_async) = async_channel::bounded::<u32>(1);
    let (to_async, from_co) = async_channel::bounded::<u32>(1);
    // The coroutine echoes what the async task sends, plus one.
    let co = {
        let _in = rt.enter();
        coro::spawn(move || {
            let mut n = 0;
            while let Ok(v) = coro::wait(from_async.recv()) {
                coro::wait(to_async.send(v + 1)).unwrap();
                n += 1;
            }
            n
        })
    };
    let sum = rt.block_on(async move {
        gmp_exec::spawn(async move {
            let mut sum = 0;
            for i in 0..1000 {
                to_co.send(i).await.unwrap();
                sum += from_co.recv().await.unwrap();
            }
            sum
        })
        .await
        .unwrap()
    });
    assert_eq!(sum, (1..=1000).sum::<u32>());
    assert_eq!(rt.block_on(co).unwrap(), 1000);
}

#[test]
fn a_coroutine_waits_on_a_future_completed_by_another_thread() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel::<&str>();
    let h = {
        let _in = rt.enter();
        coro::spawn(move || coro::wait(rx).unwrap())
    };
    std::thread::spawn(move || tx.send("woken").unwrap());
    assert_eq!(h.join().unwrap(), "woken");
}

#[test]
fn a_panic_in_a_coroutine_reaches_its_join_handle() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let err = rt
        .block_on(async {
            coro::spawn(|| {
                coro::yield_now();
                panic!("coroutine boom")
            })
            .await
        })
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("coroutine boom"), "{err}");
    // The runtime goes on.
    assert_eq!(rt.block_on(async { coro::spawn(|| 3).await.unwrap() }), 3);
}

#[test]
fn a_hundred_thousand_parked_coroutines_all_wake() {
    const N: usize = 100_000;
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (gate_tx, gate_rx) = async_channel::bounded::<()>(1);
    let parked = Arc::new(AtomicUsize::new(0));
    let (all_parked_tx, all_parked_rx) = mpsc::channel();
    let hs: Vec<_> = rt.block_on(async {
        (0..N)
            .map(|_| {
                let gate = gate_rx.clone();
                let parked = parked.clone();
                let all = all_parked_tx.clone();
                coro::spawn(move || {
                    if parked.fetch_add(1, SeqCst) + 1 == N {
                        all.send(()).unwrap();
                    }
                    // Park until the gate closes.
                    let _ = coro::wait(gate.recv());
                })
            })
            .collect()
    });
    recv(&all_parked_rx, "all 100 000 coroutines parked");
    drop(gate_tx); // wakes every one of them
    for h in hs {
        rt.block_on(h).unwrap();
    }
}

#[test]
fn a_coroutine_spinning_on_preempt_check_does_not_starve_another_on_one_p() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let s = stop.clone();
    let spinner = {
        let _in = rt.enter();
        coro::spawn(move || {
            started_tx.send(()).unwrap();
            while !s.load(SeqCst) {
                gmp_exec::preempt_check!();
            }
        })
    };
    recv(&started_rx, "the spinning coroutine started");
    let (ran_tx, ran_rx) = mpsc::channel();
    rt.spawn(async move { ran_tx.send(()).unwrap() });
    let ran = ran_rx.recv_timeout(Duration::from_secs(20));
    stop.store(true, SeqCst);
    ran.expect("a coroutine spinning on preempt_check! starved another G");
    rt.block_on(spinner).unwrap();
}

thread_local! {
    static MARK: Cell<usize> = const { Cell::new(0) };
}

#[test]
fn a_coroutine_keeps_its_thread_and_its_thread_locals_across_yields() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let hs: Vec<_> = rt.block_on(async {
        (0..8)
            .map(|_| {
                coro::spawn(|| {
                    let me = std::thread::current().id();
                    let addr = MARK.with(|m| m as *const Cell<usize> as usize);
                    for i in 0..1000 {
                        coro::yield_now();
                        assert_eq!(std::thread::current().id(), me, "moved after {i} yields");
                        let now = MARK.with(|m| m as *const Cell<usize> as usize);
                        assert_eq!(now, addr, "thread-local moved after {i} yields");
                    }
                })
            })
            .collect()
    });
    // Meanwhile async work keeps both Ps busy and stealing.
    rt.block_on(async {
        for _ in 0..200 {
            let hs: Vec<_> = (0..50)
                .map(|i| {
                    gmp_exec::spawn(async move {
                        gmp_exec::yield_now().await;
                        i
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
    });
    for h in hs {
        rt.block_on(h).unwrap();
    }
}

#[test]
fn lock_os_thread_keeps_other_gs_off_the_m() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (go_tx, go_rx) = async_channel::bounded::<()>(1);
    let locked = {
        let _in = rt.enter();
        coro::spawn(move || {
            coro::lock_os_thread();
            locked_tx.send(std::thread::current().id()).unwrap();
            // Parked: this M must not run anything else meanwhile.
            coro::wait(go_rx.recv()).unwrap();
            std::thread::current().id()
        })
    };
    let locked_thread = recv(&locked_rx, "the coroutine locked its thread");
    let others: Vec<_> = rt.block_on(async {
        let hs: Vec<_> = (0..200)
            .map(|_| gmp_exec::spawn(async { std::thread::current().id() }))
            .collect();
        let mut ids = Vec::new();
        for h in hs {
            ids.push(h.await.unwrap());
        }
        ids
    });
    assert!(
        !others.contains(&locked_thread),
        "another G ran on the locked M"
    );
    go_tx.send_blocking(()).unwrap();
    assert_eq!(rt.block_on(locked).unwrap(), locked_thread);
}

#[test]
fn a_stack_overflow_is_reported_with_the_g_and_the_stack_size() {
    if std::env::var_os("GMP_TEST_OVERFLOW_CHILD").is_some() {
        #[allow(unconditional_recursion)]
        fn deep(n: u64) -> u64 {
            let buf = [n; 64];
            std::hint::black_box(&buf);
            deep(n + 1) + buf[3]
        }
        let rt = Runtime::builder().procs(1).build().unwrap();
        // The G overflows only once its id is printed: the abort would
        // otherwise race the print.
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let h = {
            let _in = rt.enter();
            coro::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    go_rx.recv().unwrap();
                    deep(0)
                })
                .unwrap()
        };
        // On its own line: run on one CPU, libtest prints the test's name
        // first and the result after, with no newline in between.
        println!("\nG {}", h.id());
        go_tx.send(()).unwrap();
        let _ = rt.block_on(h);
        return;
    }
    let out = output_within(
        "the child whose coroutine overflows its stack",
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_stack_overflow_is_reported_with_the_g_and_the_stack_size",
                "--nocapture",
            ])
            .env("GMP_TEST_OVERFLOW_CHILD", "1"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("G "))
        .unwrap_or_else(|| {
            panic!(
                "the child printed no G ({}): {stdout:?}\n{stderr}",
                out.status
            )
        });
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("G {id} overflowed its 65536-byte stack")),
        "{stderr}"
    );
}

#[test]
fn join_blocks_a_plain_thread_and_refuses_an_async_g() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = {
        let _in = rt.enter();
        coro::spawn(|| 7)
    };
    assert_eq!(h.join().unwrap(), 7);
    let err = rt
        .block_on(rt.spawn(async {
            let inner = coro::spawn(|| 1);
            inner.join()
        }))
        .unwrap_err();
    let msg = err.into_panic();
    let msg = msg
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| msg.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(msg.contains(".await the handle instead"), "{msg}");
}

#[test]
fn wait_outside_a_coroutine_panics_with_a_message() {
    let err = std::panic::catch_unwind(|| coro::wait(async { 1 })).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(msg.contains("outside a coroutine G"), "{msg}");
}

#[test]
fn a_coroutine_sleeps_on_a_timer_and_waits_on_a_timeout() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = {
        let _in = rt.enter();
        coro::spawn(|| {
            let start = std::time::Instant::now();
            coro::sleep(Duration::from_millis(20));
            let slept = start.elapsed();
            let pending = std::future::pending::<()>();
            let timed_out = coro::wait(gmp_exec::time::timeout(Duration::from_millis(5), pending));
            (slept, timed_out.is_err())
        })
    };
    let (slept, timed_out) = h.join().unwrap();
    assert!(slept >= Duration::from_millis(20));
    assert!(timed_out);
}

#[test]
fn a_coroutine_that_ignores_the_mark_loses_its_p_and_is_reported() {
    const NAME: &str = "a_coroutine_that_ignores_the_mark_loses_its_p_and_is_reported";
    if std::env::var_os("GMP_TEST_SPIN_CHILD").is_some() {
        // procs(1): the coroutine spins without preempt_check!, so only
        // sysmon's retake (its P handed to another M) lets the async G run.
        let rt = Runtime::builder()
            .procs(1)
            .watchdog(Some(Duration::from_millis(30)))
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        let s = stop.clone();
        let spinner = {
            let _in = rt.enter();
            coro::spawn(move || {
                started_tx.send(()).unwrap();
                let start = std::time::Instant::now();
                // Long enough for the watchdog to report it while it runs.
                while !s.load(SeqCst) || start.elapsed() < Duration::from_millis(100) {
                    std::hint::spin_loop();
                }
            })
        };
        // On its own line: run on one CPU, libtest prints the test's name
        // first and the result after, with no newline in between.
        println!("\nspawned G {}", spinner.id());
        recv(&started_rx, "the spinning coroutine started");
        // Stops the spinner on the way out, an assertion's panic included, so
        // that a failing child exits with its message instead of spinning on.
        struct Stop(Arc<AtomicBool>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, SeqCst);
            }
        }
        let stop = Stop(stop);
        let ran = rt.block_on(rt.spawn(async { 42 })).unwrap();
        assert_eq!(ran, 42);
        assert!(rt.metrics().retakes >= 1);
        drop(stop);
        spinner.join().unwrap();
        return;
    }
    let out = output_within(
        "the child whose coroutine spins past the watchdog",
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture"])
            .env("GMP_TEST_SPIN_CHILD", "1"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("spawned G "))
        .expect("the child prints the G's id");
    let line = stderr
        .lines()
        .find(|l| l.contains("watchdog") && l.contains(&format!("G {id} ")))
        .unwrap_or_else(|| panic!("no watchdog report for G {id} in:\n{stderr}"));
    assert!(line.contains("tests/coroutines.rs:"), "{line}");
}
