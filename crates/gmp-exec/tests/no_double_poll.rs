//! A task is never polled by two Ms at once, however its wakers race; a wake
//! during a poll requeues it exactly once.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use gmp_exec::Runtime;

struct Probe {
    in_poll: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
    waker: Arc<Mutex<Option<Waker>>>,
    remaining: usize,
}

impl Future for Probe {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        assert!(!self.in_poll.swap(true, SeqCst), "polled twice at once");
        self.polls.fetch_add(1, SeqCst);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        // Give racing wakers a window while we are "running".
        for _ in 0..50 {
            std::hint::spin_loop();
        }
        // Wake ourselves during the poll now and then.
        if self.remaining % 3 == 0 {
            cx.waker().wake_by_ref();
        }
        self.in_poll.store(false, SeqCst);
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        Poll::Pending
    }
}

/// Pending polls a `Probe` answers before it is ready.
const PENDING_POLLS: usize = 2_000;

#[test]
fn racing_wakers_never_cause_a_concurrent_poll() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut wakers = Vec::new();
    let mut polls = Vec::new();
    for _ in 0..8 {
        let waker = Arc::new(Mutex::new(None::<Waker>));
        wakers.push(waker.clone());
        let count = Arc::new(AtomicUsize::new(0));
        polls.push(count.clone());
        tasks.push(rt.spawn(Probe {
            in_poll: Arc::new(AtomicBool::new(false)),
            polls: count,
            waker,
            remaining: PENDING_POLLS,
        }));
    }
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let wakers = wakers.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    for w in &wakers {
                        let w = w.lock().unwrap().clone();
                        if let Some(w) = w {
                            w.wake();
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    stop.store(true, SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    // However many wakes raced, each Probe was polled once per step and never
    // again after it was ready (the wakers kept firing until now, and the
    // runtime is gone): its pending polls plus the one that returned Ready.
    drop(rt);
    for (i, p) in polls.iter().enumerate() {
        assert_eq!(p.load(SeqCst), PENDING_POLLS + 1, "polls of task {i}");
    }
}

#[test]
fn a_wake_during_the_poll_requeues_exactly_once() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let polls = rt.block_on(async {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let mut first = true;
        gmp_exec::spawn(std::future::poll_fn(move |cx| {
            p.fetch_add(1, SeqCst);
            if first {
                first = false;
                // Three wakes inside one poll: one requeue.
                cx.waker().wake_by_ref();
                cx.waker().wake_by_ref();
                #[allow(clippy::waker_clone_wake)] // the by-value path on purpose
                cx.waker().clone().wake();
                return Poll::Pending;
            }
            Poll::Ready(())
        }))
        .await
        .unwrap();
        polls.load(SeqCst)
    });
    assert_eq!(polls, 2);
}
