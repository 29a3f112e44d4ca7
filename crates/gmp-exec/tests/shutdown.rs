//! Dropping a runtime drops every G's future exactly once — queued, parked on a
//! waker held elsewhere, or running — joins its threads, and leaves wakers and
//! handles harmless.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::channel::oneshot;
use gmp_exec::Runtime;

mod common;
use common::{recv, wait_until, within_for};

struct CountDrop {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, SeqCst);
    }
}

/// The threads named `prefix…` still listed once they have been joined: an
/// exited thread can stay in `/proc/self/task` for a moment after its join
/// returns (the join wakes at the thread's exit, the kernel drops the entry
/// later), and nothing signals that, so this looks again for up to 10 s.
#[cfg(target_os = "linux")]
fn threads_left_after_join(prefix: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = threads_named(prefix);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Names of this process's threads that start with `prefix` (from /proc:
/// Linux only).
#[cfg(target_os = "linux")]
fn threads_named(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn shutdown_drops_ten_thousand_pending_futures_exactly_once() {
    const N: usize = 10_000;
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let rt = Runtime::builder()
        .procs(2)
        .thread_name("sd")
        .build()
        .unwrap();
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    let (spawned_tx, spawned_rx) = mpsc::channel();
    for id in 0..N {
        let guard = CountDrop {
            id,
            drops: drops.clone(),
        };
        match id % 4 {
            // Parked on a waker held by this thread.
            0 => {
                let (tx, rx) = oneshot::channel::<()>();
                senders.push(tx);
                handles.push(rt.spawn(async move {
                    let _guard = guard;
                    let _ = rx.await;
                }));
            }
            // Forever runnable: always in some queue or running.
            1 => handles.push(rt.spawn(async move {
                let _guard = guard;
                loop {
                    gmp_exec::yield_now().await;
                }
            })),
            // Parked on a future that never wakes (its waker is dropped).
            2 => handles.push(rt.spawn(async move {
                let _guard = guard;
                futures::future::pending::<()>().await;
            })),
            // Spawned from inside a task, parked on a waker held elsewhere.
            _ => {
                let (tx, rx) = oneshot::channel::<()>();
                senders.push(tx);
                let done = spawned_tx.clone();
                rt.spawn(async move {
                    let h = gmp_exec::spawn(async move {
                        let _guard = guard;
                        let _ = rx.await;
                    });
                    done.send(h).unwrap();
                });
            }
        }
    }
    for _ in 0..N / 4 {
        handles.push(recv(&spawned_rx, "a G spawned from a G sent its handle"));
    }
    drop(rt);
    for (id, d) in drops.iter().enumerate() {
        assert_eq!(
            d.load(SeqCst),
            1,
            "future {id} dropped {} times",
            d.load(SeqCst)
        );
    }
    for h in handles {
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }
    #[cfg(target_os = "linux")]
    {
        let left = threads_left_after_join("sd-m");
        assert!(left.is_empty(), "{left:?}");
    }
    drop(senders);
}

/// A future that hands its waker out and never completes.
struct LeakWaker(Arc<Mutex<Option<Waker>>>);
impl Future for LeakWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_waker_that_fires_after_shutdown_is_harmless() {
    let slot = Arc::new(Mutex::new(None));
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (polled_tx, polled_rx) = mpsc::channel();
    let s = slot.clone();
    let h = rt.spawn(async move {
        polled_tx.send(()).unwrap();
        LeakWaker(s).await
    });
    recv(&polled_rx, "the G was polled");
    wait_until("the G handed its waker out", || {
        slot.lock().unwrap().is_some()
    });
    drop(rt);
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    let clone = waker.clone();
    waker.wake();
    clone.wake();
    assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn spawn_after_shutdown_gives_a_cancelled_handle_and_drops_the_future() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let handle = rt.handle().clone();
    drop(rt);
    let drops = Arc::new(vec![AtomicUsize::new(0)]);
    let guard = CountDrop {
        id: 0,
        drops: drops.clone(),
    };
    let h = handle.spawn(async move {
        let _guard = guard;
    });
    assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    assert_eq!(drops[0].load(SeqCst), 1);
}

/// Prompt: a G that never stops yielding is stopped at its next yield, so
/// dropping the runtime takes about as long as one poll. The bound is a hang
/// guard far above that (a healthy drop takes milliseconds), not a benchmark.
const PROMPT: Duration = Duration::from_secs(10);

#[test]
fn drop_returns_promptly_while_tasks_keep_yielding() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    for _ in 0..100 {
        let started = started_tx.clone();
        rt.spawn(async move {
            let _ = started.send(());
            loop {
                gmp_exec::yield_now().await;
            }
        });
    }
    for _ in 0..100 {
        recv(&started_rx, "every yielding G started");
    }
    within_for(
        PROMPT,
        "dropping a runtime whose 100 Gs keep yielding (not prompt)",
        move || drop(rt),
    );
}

#[test]
fn shutdown_timeout_leaves_a_blocked_m_to_clean_up_after_itself() {
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..2).map(|_| AtomicUsize::new(0)).collect());
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let guard = CountDrop {
        id: 0,
        drops: drops.clone(),
    };
    rt.spawn(async move {
        let _guard = guard;
        blocked_tx.send(()).unwrap();
        // Blocks its M: shutdown cannot wait for it.
        release_rx.recv().unwrap();
        futures::future::pending::<()>().await;
    });
    recv(&blocked_rx, "the G that blocks its M started");
    // A second task, queued behind the blocked one on the only P.
    let guard = CountDrop {
        id: 1,
        drops: drops.clone(),
    };
    rt.spawn(async move {
        let _guard = guard;
    });
    assert!(!rt.shutdown_timeout(Duration::from_millis(50)));
    assert_eq!(
        drops[0].load(SeqCst),
        0,
        "the blocked future is still running"
    );
    release_tx.send(()).unwrap();
    // The M returns from its poll and cancels both.
    wait_until("the released M dropped both futures", || {
        drops.iter().all(|d| d.load(SeqCst) != 0)
    });
    assert!(drops.iter().all(|d| d.load(SeqCst) == 1));
}

#[test]
fn runtimes_can_be_created_and_dropped_in_a_loop() {
    for i in 0..50 {
        let rt = Runtime::builder().procs(1 + i % 3).build().unwrap();
        let v = rt.block_on(async move { gmp_exec::spawn(async move { i }).await.unwrap() });
        assert_eq!(v, i);
    }
}

/// `build` starts one M per P (a started coroutine never leaves the M that
/// first ran it, so Ms created on demand came too late for a burst), at most
/// `max_threads`, and dropping the runtime joins them all.
#[cfg(target_os = "linux")] // counts threads by name in /proc
#[test]
fn build_starts_one_m_per_p_up_to_max_threads_and_drop_joins_them() {
    let rt = Runtime::builder()
        .procs(3)
        .thread_name("bm")
        .build()
        .unwrap();
    let mut ms = threads_named("bm-m");
    ms.sort();
    assert_eq!(ms, ["bm-m0", "bm-m1", "bm-m2"]);
    drop(rt);
    let left = threads_left_after_join("bm-m");
    assert!(left.is_empty(), "{left:?}");

    let rt = Runtime::builder()
        .procs(3)
        .max_threads(2)
        .thread_name("bl")
        .build()
        .unwrap();
    assert_eq!(
        threads_named("bl-m").len(),
        2,
        "{:?}",
        threads_named("bl-m")
    );
    assert_eq!(rt.block_on(async { 7 }), 7);
    drop(rt);
    let left = threads_left_after_join("bl-m");
    assert!(left.is_empty(), "{left:?}");
}
