//! Go's channels (`gmp_exec::chan`): order, bounds, closing from either end,
//! no lost wake when a woken future is dropped, and every value delivered
//! exactly once under many senders and receivers, async and coroutine Gs.
#![cfg(not(loom))]

#[cfg(all(feature = "coro", any(unix, windows)))]
use std::collections::HashSet;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::StreamExt;
use gmp_exec::chan::{self, RecvError, SendError, TryRecvError, TrySendError};
#[cfg(all(feature = "coro", any(unix, windows)))]
use gmp_exec::coro;
use gmp_exec::Runtime;

/// A waker that counts its wakes.
fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    struct Count(Arc<AtomicUsize>);
    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let n = Arc::new(AtomicUsize::new(0));
    (Waker::from(Arc::new(Count(n.clone()))), n)
}

#[test]
fn values_come_out_in_order_and_the_bound_holds() {
    let (tx, rx) = chan::bounded(3);
    assert_eq!(tx.capacity(), Some(3));
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.len(), 3);
    // A send on a full channel parks until a receive makes room.
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(tx.send(3));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(wakes.load(SeqCst), 1, "the parked sender is woken once");
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    let got: Vec<_> = (0..3).map(|_| rx.try_recv().unwrap()).collect();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn the_last_sender_closes_the_channel_after_what_is_queued() {
    let (tx, rx) = chan::unbounded();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let rx2 = rx.clone();
    let mut parked = pin!(rx2.recv());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(parked.as_mut().poll(&mut cx).is_pending());
    drop(tx);
    assert_eq!(wakes.load(SeqCst), 0, "one sender is left");
    assert!(!rx.is_closed());
    drop(tx2);
    assert_eq!(wakes.load(SeqCst), 1, "closing wakes the parked receiver");
    assert_eq!(parked.as_mut().poll(&mut cx), Poll::Ready(Err(RecvError)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_closed());
}

#[test]
fn a_send_with_no_receiver_left_gives_the_value_back() {
    let (tx, rx) = chan::bounded(1);
    tx.try_send("queued").unwrap();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(tx.send("parked"));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    drop(rx);
    assert_eq!(wakes.load(SeqCst), 1);
    assert_eq!(
        send.as_mut().poll(&mut cx),
        Poll::Ready(Err(SendError("parked")))
    );
    assert!(tx.is_closed());
    assert_eq!(tx.try_send("late"), Err(TrySendError::Closed("late")));
    assert_eq!(
        SendError(()).to_string(),
        "sending on a channel whose receivers are all gone"
    );
}

/// `bounded(0)` is Go's unbuffered channel: a send completes only when a
/// receiver takes the value.
#[test]
fn a_rendezvous_send_completes_only_when_its_value_is_taken() {
    let (tx, rx) = chan::bounded::<u32>(0);
    assert_eq!(tx.capacity(), Some(0));
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut send = tx.send(7);
    // No receiver: offered, and pending until taken.
    assert!(Pin::new(&mut send).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut send).poll(&mut cx).is_pending());
    assert!(!send.is_taken());
    assert_eq!(wakes.load(SeqCst), 0);
    assert_eq!(rx.try_recv(), Ok(7));
    // The taker woke that very sender, whose send is now complete.
    assert_eq!(wakes.load(SeqCst), 1);
    assert!(send.is_taken());
    assert_eq!(Pin::new(&mut send).poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// A sender that finds a receiver parked hands the value over and is done at
/// once (Go's `sendDirect`); `try_send` succeeds only then.
#[test]
fn a_rendezvous_send_to_a_parked_receiver_completes_at_once() {
    let (tx, rx) = chan::bounded::<u32>(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut recv = rx.recv();
    assert!(Pin::new(&mut recv).poll(&mut cx).is_pending());
    let mut send = tx.send(2);
    assert_eq!(Pin::new(&mut send).poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(wakes.load(SeqCst), 1, "the parked receiver was woken");
    assert_eq!(Pin::new(&mut recv).poll(&mut cx), Poll::Ready(Ok(2)));
    // try_send, with a receiver parked.
    let mut recv = rx.recv();
    assert!(Pin::new(&mut recv).poll(&mut cx).is_pending());
    assert_eq!(tx.try_send(3), Ok(()));
    assert_eq!(Pin::new(&mut recv).poll(&mut cx), Poll::Ready(Ok(3)));
}

/// An offered value comes back when every receiver goes, and leaves with a
/// sender dropped before anyone took it.
#[test]
fn a_rendezvous_offer_is_withdrawn_by_its_sender_or_returned_on_close() {
    let (tx, rx) = chan::bounded::<String>(0);
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut send = tx.send("withdrawn".to_string());
    assert!(Pin::new(&mut send).poll(&mut cx).is_pending());
    drop(send);
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "the offer left with its sender"
    );
    let mut send = tx.send("returned".to_string());
    assert!(Pin::new(&mut send).poll(&mut cx).is_pending());
    drop(rx);
    match Pin::new(&mut send).poll(&mut cx) {
        Poll::Ready(Err(SendError(v))) => assert_eq!(v, "returned"),
        other => panic!("{other:?}"),
    }
}

/// Parks `first`, then `second`; `free` makes one value or slot available,
/// which wakes `first` alone. `first` then goes away before it runs (a
/// `select!` took another branch): the wake must go on to `second`, which then
/// completes with `expected`.
fn a_dropped_wake_passes_on<F: Future>(
    first: F,
    second: F,
    free: impl FnOnce(),
    expected: F::Output,
    what: &str,
) where
    F::Output: PartialEq + std::fmt::Debug,
{
    let (w1, wakes1) = counting_waker();
    let (w2, wakes2) = counting_waker();
    let mut first = Box::pin(first);
    let mut second = Box::pin(second);
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&w1))
        .is_pending());
    assert!(second
        .as_mut()
        .poll(&mut Context::from_waker(&w2))
        .is_pending());
    free();
    assert_eq!((wakes1.load(SeqCst), wakes2.load(SeqCst)), (1, 0));
    drop(first);
    assert_eq!(wakes2.load(SeqCst), 1, "{what}");
    assert_eq!(
        second.as_mut().poll(&mut Context::from_waker(&w2)),
        Poll::Ready(expected)
    );
}

#[test]
fn a_woken_receiver_dropped_before_it_runs_passes_the_wake_on() {
    let (tx, rx) = chan::bounded(4);
    a_dropped_wake_passes_on(
        rx.recv(),
        rx.recv(),
        || tx.try_send(7).unwrap(),
        Ok(7),
        "the wake went on to the next receiver",
    );
}

#[test]
fn a_woken_sender_dropped_before_it_runs_passes_the_room_on() {
    let (tx, rx) = chan::bounded(1);
    tx.try_send(0).unwrap();
    a_dropped_wake_passes_on(
        tx.send(1),
        tx.send(2),
        || assert_eq!(rx.try_recv(), Ok(0)),
        Ok(()),
        "the room went on to the next sender",
    );
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn the_receiver_is_a_stream() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = chan::bounded(2);
    let producer = rt.spawn(async move {
        for i in 0..100u32 {
            tx.send(i).await.unwrap();
        }
    });
    let got: Vec<u32> = rt.block_on(rx.collect());
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    rt.block_on(producer).unwrap();
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn coroutines_ping_pong_over_two_channels() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (ping_tx, ping_rx) = chan::bounded::<u32>(1);
    let (pong_tx, pong_rx) = chan::bounded::<u32>(1);
    let _in = rt.enter();
    let ponger = coro::spawn(move || {
        while let Ok(v) = coro::wait(ping_rx.recv()) {
            coro::wait(pong_tx.send(v + 1)).unwrap();
        }
    });
    let pinger = coro::spawn(move || {
        let mut sum = 0u64;
        for i in 0..10_000 {
            coro::wait(ping_tx.send(i)).unwrap();
            sum += u64::from(coro::wait(pong_rx.recv()).unwrap());
        }
        sum
    });
    assert_eq!(pinger.join().unwrap(), (1..=10_000).sum::<u64>());
    ponger.join().unwrap();
}

/// Many senders and receivers, async and coroutine, on a small bound: every
/// value arrives exactly once and nobody is left parked.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn every_value_arrives_once_with_many_senders_and_receivers() {
    const SENDERS: u64 = 8;
    const PER_SENDER: u64 = 5_000;
    for (procs, capacity) in [(1, 3), (2, 3), (4, 3), (1, 0), (2, 0), (4, 0)] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let (tx, rx) = chan::bounded::<u64>(capacity);
        let _in = rt.enter();
        let mut senders = Vec::new();
        for s in 0..SENDERS {
            let tx = tx.clone();
            senders.push(if s % 2 == 0 {
                gmp_exec::spawn(async move {
                    for i in 0..PER_SENDER {
                        tx.send(s * PER_SENDER + i).await.unwrap();
                    }
                })
            } else {
                coro::spawn(move || {
                    for i in 0..PER_SENDER {
                        coro::wait(tx.send(s * PER_SENDER + i)).unwrap();
                    }
                })
            });
        }
        drop(tx);
        let receivers: Vec<_> = (0..6)
            .map(|r| {
                let rx = rx.clone();
                if r % 2 == 0 {
                    gmp_exec::spawn(async move {
                        let mut got = Vec::new();
                        while let Ok(v) = rx.recv().await {
                            got.push(v);
                        }
                        got
                    })
                } else {
                    coro::spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(v) = coro::wait(rx.recv()) {
                            got.push(v);
                        }
                        got
                    })
                }
            })
            .collect();
        drop(rx);
        for s in senders {
            rt.block_on(s).unwrap();
        }
        let mut seen = HashSet::new();
        for r in receivers {
            let got = rt.block_on(r).unwrap();
            // One sender's values reach one receiver in the order sent.
            let mut last = vec![None; SENDERS as usize];
            for v in got {
                let s = (v / PER_SENDER) as usize;
                assert!(last[s] < Some(v), "sender {s}'s values out of order");
                last[s] = Some(v);
                assert!(seen.insert(v), "{v} arrived twice");
            }
        }
        assert_eq!(
            seen.len() as u64,
            SENDERS * PER_SENDER,
            "procs {procs}, capacity {capacity}"
        );
    }
}

/// Receivers that give up at random (a timeout, as a `select!` would) never
/// strand a value: the rest still get every one.
#[test]
fn receivers_that_give_up_never_strand_a_value() {
    for capacity in [2, 0] {
        receivers_give_up(capacity);
    }
}

fn receivers_give_up(capacity: usize) {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = chan::bounded::<u32>(capacity);
    let total = 20_000u32;
    let producer = rt.spawn(async move {
        for i in 0..total {
            tx.send(i).await.unwrap();
            if i % 64 == 0 {
                gmp_exec::yield_now().await;
            }
        }
    });
    let quitters: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let mut got = 0u64;
                // Waits that are dropped half-way, woken or not.
                for _ in 0..2_000 {
                    let recv = rx.recv();
                    let quick = gmp_exec::time::timeout(std::time::Duration::from_micros(1), recv);
                    if let Ok(Ok(_)) = quick.await {
                        got += 1;
                    }
                }
                got
            })
        })
        .collect();
    let steady = rt.spawn(async move {
        let mut got = 0u64;
        while rx.recv().await.is_ok() {
            got += 1;
        }
        got
    });
    rt.block_on(producer).unwrap();
    let mut got = rt.block_on(steady).unwrap();
    for q in quitters {
        got += rt.block_on(q).unwrap();
    }
    assert_eq!(got, u64::from(total), "capacity {capacity}");
}
