//! Parked Ms cost no CPU: after a burst of work, an idle runtime's threads
//! accumulate no CPU time.
// Thread CPU times come from /proc: Linux only.
#![cfg(all(target_os = "linux", not(loom)))]

use std::time::{Duration, Instant};

use gmp_exec::Runtime;

mod common;
#[cfg(feature = "coro")]
use common::recv;
use common::wait_until;

/// utime + stime, in clock ticks, of this process's threads named `prefix…`.
fn cpu_ticks(prefix: &str) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if !comm.trim().starts_with(prefix) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // Fields after the `(comm)`; utime and stime are the 12th and 13th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        total += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    total
}

#[test]
fn an_idle_runtime_uses_no_cpu() {
    let rt = Runtime::builder()
        .procs(2)
        .thread_name("idlecpu")
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..10_000)
            .map(|i| gmp_exec::spawn(async move { i }))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    // The Ms spin briefly, then park. Measure over a window well after that.
    // Both Ps idle: every M has let go of its P on its way to park.
    wait_until("both Ps idle after the burst", || {
        rt.metrics().idle_procs >= 2
    });
    let before = cpu_ticks("idlecpu");
    let window = Instant::now();
    while window.elapsed() < Duration::from_millis(500) {
        std::thread::park_timeout(Duration::from_millis(500));
    }
    let after = cpu_ticks("idlecpu");
    // One tick is 10 ms; a parked M accrues none. Allow one for a tick boundary.
    assert!(
        after - before <= 1,
        "idle Ms used {} ticks in 500 ms",
        after - before
    );
}

/// An M locked to a G (`lock_os_thread`) parks while that G waits once the
/// other Gs bound to it (which may run there meanwhile) are done: it must not
/// take a P, find nothing it may run, give the P up and take it again, for as
/// long as the locked G waits.
#[cfg(feature = "coro")]
#[test]
fn a_locked_m_waiting_for_its_g_uses_no_cpu_beside_a_runnable_bound_g() {
    use gmp_exec::coro;
    let rt = Runtime::builder()
        .procs(1)
        .thread_name("lockcpu")
        .build()
        .unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = async_channel::bounded::<()>(1);
    let locked = {
        let _in = rt.enter();
        coro::spawn(move || {
            // B starts on this M (one P) and parks there: bound to it.
            let (b_tx, b_rx) = async_channel::bounded::<()>(1);
            let (up_tx, up_rx) = async_channel::bounded::<()>(1);
            let b = coro::spawn(move || {
                up_tx.try_send(()).unwrap();
                coro::wait(b_rx.recv()).unwrap();
            });
            coro::wait(up_rx.recv()).unwrap();
            coro::lock_os_thread();
            // B is runnable now: it runs on this M while this G waits.
            b_tx.try_send(()).unwrap();
            ready_tx.send(()).unwrap();
            coro::wait(go_rx.recv()).unwrap();
            coro::unlock_os_thread();
            b.join().unwrap();
        })
    };
    recv(&ready_rx, "the locked G made its bound neighbour runnable");
    let before = cpu_ticks("lockcpu");
    let window = Instant::now();
    while window.elapsed() < Duration::from_millis(500) {
        std::thread::park_timeout(Duration::from_millis(500));
    }
    let after = cpu_ticks("lockcpu");
    go_tx.send_blocking(()).unwrap();
    rt.block_on(locked).unwrap();
    assert!(
        after - before <= 1,
        "the locked M used {} ticks in 500 ms",
        after - before
    );
}
