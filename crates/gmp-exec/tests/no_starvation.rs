//! Fairness: no pattern of local work can keep a waiting G from running — not
//! a task that respawns itself, not one that yields forever, not a pair that
//! keeps waking each other through `runnext`, not coroutines that yield forever
//! on every M (they are mailed to their M and never pass through the P's queue).
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use gmp_exec::Runtime;

mod common;
use common::recv;

/// Generous: the point is that the G runs at all; it normally does in
/// microseconds.
const PATIENCE: Duration = Duration::from_secs(20);

fn respawn_forever(stop: Arc<AtomicBool>) {
    if stop.load(SeqCst) {
        return;
    }
    gmp_exec::spawn(async move { respawn_forever(stop) });
}

#[test]
fn a_task_that_respawns_itself_cannot_starve_the_global_queue() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let s = stop.clone();
    rt.spawn(async move {
        started_tx.send(()).unwrap();
        respawn_forever(s);
    });
    recv(&started_rx, "the self-respawning G started");
    // From outside: this G waits in the global queue.
    let (ran_tx, ran_rx) = mpsc::channel();
    rt.spawn(async move { ran_tx.send(()).unwrap() });
    let ran = ran_rx.recv_timeout(PATIENCE);
    stop.store(true, SeqCst);
    ran.expect("the global queue was starved by a self-respawning task");
}

#[test]
fn a_yield_loop_cannot_starve_a_local_task() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ran_tx, ran_rx) = mpsc::channel();
    let s = stop.clone();
    rt.spawn(async move {
        gmp_exec::spawn(async move { ran_tx.send(()).unwrap() });
        while !s.load(SeqCst) {
            gmp_exec::yield_now().await;
        }
    });
    let ran = ran_rx.recv_timeout(PATIENCE);
    stop.store(true, SeqCst);
    ran.expect("a yielding task starved a runnable one");
}

#[test]
fn a_runnext_ping_pong_cannot_starve_the_ring() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ran_tx, ran_rx) = mpsc::channel();
    let s = stop.clone();
    rt.spawn(async move {
        let (a_tx, a_rx) = async_pair();
        let (b_tx, b_rx) = async_pair();
        let s2 = s.clone();
        // Two Gs that wake each other forever: each wake puts the other in
        // runnext, which inherits the time slice.
        gmp_exec::spawn(ping(a_rx, b_tx, s2));
        gmp_exec::spawn(ping(b_rx, a_tx.clone(), s.clone()));
        a_tx.send(());
        // Queued behind them in the ring.
        gmp_exec::spawn(async move { ran_tx.send(()).unwrap() });
    });
    let ran = ran_rx.recv_timeout(PATIENCE);
    stop.store(true, SeqCst);
    ran.expect("a runnext ping-pong starved the ring");
}

async fn ping(rx: Rx, tx: Tx, stop: Arc<AtomicBool>) {
    while !stop.load(SeqCst) {
        rx.recv().await;
        tx.send(());
    }
}

type Tx = Arc<Slot>;
type Rx = Arc<Slot>;

/// A one-slot signal with a waker: the smallest ping-pong channel.
struct Slot {
    state: std::sync::Mutex<(bool, Option<std::task::Waker>)>,
}

fn async_pair() -> (Tx, Rx) {
    let s = Arc::new(Slot {
        state: std::sync::Mutex::new((false, None)),
    });
    (s.clone(), s)
}

impl Slot {
    fn send(&self, _: ()) {
        let waker = {
            let mut st = self.state.lock().unwrap();
            st.0 = true;
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    async fn recv(&self) {
        std::future::poll_fn(|cx| {
            let mut st = self.state.lock().unwrap();
            if st.0 {
                st.0 = false;
                std::task::Poll::Ready(())
            } else {
                st.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// A started coroutine that yields forever is mailed to its own M, not queued
/// on the P; the global queue and the netpoller must still get their turn.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn yielding_coroutines_cannot_starve_the_global_queue() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        // Yielding coroutines, started (bound) on the Ms before the test G
        // is spawned.
        let yielders: Vec<_> = (0..4 * procs)
            .map(|_| {
                let s = stop.clone();
                let started = started_tx.clone();
                let _in = rt.enter();
                gmp_exec::coro::spawn(move || {
                    started.send(()).unwrap();
                    while !s.load(SeqCst) {
                        gmp_exec::coro::yield_now();
                    }
                })
            })
            .collect();
        for _ in 0..4 * procs {
            recv(&started_rx, "every yielding coroutine started");
        }
        // From outside: this G waits in the global queue.
        let (ran_tx, ran_rx) = mpsc::channel();
        rt.spawn(async move { ran_tx.send(()).unwrap() });
        let ran = ran_rx.recv_timeout(PATIENCE);
        // A G woken by the netpoller (a timer here) is injected the same way.
        let (slept_tx, slept_rx) = mpsc::channel();
        rt.spawn(async move {
            gmp_exec::time::sleep(Duration::from_millis(1)).await;
            slept_tx.send(()).unwrap()
        });
        let slept = slept_rx.recv_timeout(PATIENCE);
        stop.store(true, SeqCst);
        for y in yielders {
            y.join().unwrap();
        }
        ran.unwrap_or_else(|_| {
            panic!("procs {procs}: yielding coroutines starved the global queue")
        });
        slept.unwrap_or_else(|_| panic!("procs {procs}: yielding coroutines starved a timer's G"));
    }
}

/// A started coroutine woken from another thread is mailed to its M; a
/// neighbour on that M that yields forever (and so always sits in the M's own
/// mailbox) must not keep it waiting.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_yielding_coroutine_cannot_starve_a_neighbour_woken_from_another_thread() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (parked_tx, parked_rx) = mpsc::channel();
    let (wake_tx, wake_rx) = futures::channel::oneshot::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel();
    let _in = rt.enter();
    let waiter = gmp_exec::coro::spawn(move || {
        parked_tx.send(()).unwrap();
        // Bound to the one M at this first suspension.
        gmp_exec::coro::wait(wake_rx).unwrap();
        ran_tx.send(()).unwrap();
    });
    recv(&parked_rx, "the waiting coroutine started");
    let s = stop.clone();
    let yielder = gmp_exec::coro::spawn(move || {
        while !s.load(SeqCst) {
            gmp_exec::coro::yield_now();
        }
    });
    // Let the yielder start, then wake the waiter from this (foreign) thread.
    let (started_tx, started_rx) = mpsc::channel();
    rt.spawn(async move { started_tx.send(()).unwrap() });
    recv(&started_rx, "a G ran after the yielder was spawned");
    wake_tx.send(()).unwrap();
    let ran = ran_rx.recv_timeout(PATIENCE);
    stop.store(true, SeqCst);
    yielder.join().unwrap();
    waiter.join().unwrap();
    ran.expect("a yielding coroutine starved a neighbour woken from another thread");
}

/// Go puts a preempted G behind the others (`gopreempt_m` → the global
/// queue). A coroutine cannot leave its M, and its M would run it again
/// before the P's queues (bound Gs go first, 64 in a row). Two things stop
/// that: when sysmon marks a long poll while Gs wait, it also hands the P to
/// another M; and a marked coroutine's yield lets the queues go first on its
/// M (`Worker::queues_first`, for when the hand-off cannot happen). Either way
/// the waiting G runs within a time slice or two (`retake_after`), not after
/// dozens; with neither, this test sees 65.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_preempted_coroutine_lets_the_queues_go_first() {
    for from_outside in [false, true] {
        let rt = Runtime::builder()
            .procs(1)
            .retake_after(Some(Duration::from_millis(2)))
            .build()
            .unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        let r = ran.clone();
        let spinner = {
            let _in = rt.enter();
            gmp_exec::coro::spawn(move || {
                started_tx.send(()).unwrap();
                let mut preempted = 0u32;
                while !r.load(SeqCst) {
                    if gmp_exec::coro::preempt_requested() {
                        preempted += 1;
                        gmp_exec::coro::yield_now();
                    }
                }
                preempted
            })
        };
        recv(&started_rx, "the spinning coroutine started");
        let r = ran.clone();
        let (ran_tx, ran_rx) = mpsc::channel();
        let set = async move {
            r.store(true, SeqCst);
            let _ = ran_tx.send(());
        };
        if from_outside {
            // The global queue.
            rt.spawn(set);
        } else {
            // The P's own queue, from a G on that P.
            rt.spawn(async move {
                gmp_exec::spawn(set);
            });
        }
        // The spinner ends once the queued G has run; if it never does, stop
        // the spinner here so the failure is reported, not a hang.
        let queued_ran = ran_rx.recv_timeout(PATIENCE).is_ok();
        ran.store(true, SeqCst);
        let preempted = spinner.join().unwrap();
        assert!(
            queued_ran,
            "from_outside {from_outside}: a queued G never ran beside a spinning coroutine"
        );
        assert!(
            preempted <= 3,
            "from_outside {from_outside}: the spinner was preempted {preempted} times before a \
             queued G ran"
        );
    }
}

/// Go preempts a G that runs too long and never takes its P; sysmon here
/// also hands the P to another M, for a G that blocks its thread, but only
/// if the marked G is still in the same poll a look later. A coroutine that
/// yields at the mark (`preempt_check!`) keeps its P: the G queued behind it
/// runs on the same M, and nothing is retaken. Before, the P went at the
/// very look that marked the spinner, so the queued G ran on another M every
/// time (and a spawning loop left its coroutines bound to that M). A trial
/// can miss only if the spinner's thread is descheduled for the whole look
/// between the mark and its check, hence several; all of them failed before.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_coroutine_that_yields_at_the_mark_keeps_its_p() {
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let rt = Runtime::builder()
            .procs(1)
            .retake_after(Some(Duration::from_millis(2)))
            .build()
            .unwrap();
        let spinner = {
            let _in = rt.enter();
            gmp_exec::coro::spawn(move || {
                let me = std::thread::current().id();
                let (tx, rx) = mpsc::channel();
                // Queued on this P, behind the spinner.
                gmp_exec::spawn(async move {
                    let _ = tx.send(std::thread::current().id());
                });
                let start = std::time::Instant::now();
                loop {
                    gmp_exec::preempt_check!();
                    if let Ok(queued) = rx.try_recv() {
                        return (me, queued);
                    }
                    assert!(start.elapsed() < PATIENCE, "the queued G never ran");
                }
            })
        };
        let (spinner_m, queued_m) = spinner.join().unwrap();
        let m = rt.metrics();
        outcomes.push((spinner_m == queued_m, m.retakes, m.preempt_marks));
    }
    assert!(
        outcomes
            .iter()
            .any(|&(same_m, retakes, marks)| same_m && retakes == 0 && marks >= 1),
        "(queued G ran on the spinner's M, retakes, preemption marks) per trial: {outcomes:?}"
    );
}

/// Coroutines stay on the M that started them, so an M whose own coroutines
/// keep each other busy never runs out of work. Here one M's pair ping-pongs
/// forever on the only P while a coroutine bound to another M (the one that
/// blocked, so the P went on without it) becomes runnable: it can run on no
/// other thread, and its M waits for a P. Ms with runnable coroutines take
/// turns on the Ps (a time slice each, `retake_after`); before they did, the
/// busy M kept the P for as long as its pair played, and this waited forever.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn coroutines_busy_on_one_m_cannot_starve_those_bound_to_another() {
    use gmp_exec::{chan, coro};
    let rt = Runtime::builder()
        .procs(1)
        .retake_after(Some(Duration::from_millis(2)))
        .build()
        .unwrap();
    let _in = rt.enter();
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel();
    let waiter = coro::spawn(move || {
        // Bound to this M at its first suspension.
        coro::yield_now();
        // Its M blocks; the P goes on to another M, which starts the pair.
        gmp_exec::block_in_place(|| {
            blocked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        });
        // Back without a P: runnable again only on this M, which waits for one.
        coro::yield_now();
        ran_tx.send(()).unwrap();
    });
    recv(&blocked_rx, "the waiting coroutine blocked its M");
    let stop = Arc::new(AtomicBool::new(false));
    let (ping_tx, ping_rx) = chan::bounded::<()>(1);
    let (pong_tx, pong_rx) = chan::bounded::<()>(1);
    let (playing_tx, playing_rx) = mpsc::channel();
    let s = stop.clone();
    let ping = coro::spawn(move || {
        let mut rounds = 0u64;
        while !s.load(SeqCst) {
            coro::wait(ping_tx.send(())).unwrap();
            coro::wait(pong_rx.recv()).unwrap();
            rounds += 1;
            if rounds == 1_000 {
                playing_tx.send(()).unwrap();
            }
        }
    });
    let pong = coro::spawn(move || {
        while coro::wait(ping_rx.recv()).is_ok() {
            if coro::wait(pong_tx.send(())).is_err() {
                break;
            }
        }
    });
    recv(&playing_rx, "the pair ping-pongs on the other M");
    go_tx.send(()).unwrap();
    let ran = ran_rx.recv_timeout(PATIENCE);
    stop.store(true, SeqCst);
    ping.join().unwrap();
    pong.join().unwrap();
    waiter.join().unwrap();
    ran.expect("coroutines busy on one M starved a coroutine bound to another");
}
