//! Fault injection: the runtime keeps its promises (every future dropped once,
//! no deadlock, no leak, a clear answer) when the code it runs, the OS or the
//! embedding program misbehaves.
//!
//! Faults covered elsewhere, not repeated here:
//!
//! * a G that blocks its thread: `blocking_handoff.rs` (unmarked, `syscall`
//!   and `block_in_place`, on one and two Ps);
//! * a panic in the `Drop` of a detached output and of an aborted future:
//!   `panic_isolation.rs`;
//! * a waker woken (by reference, by value, from a clone) after its runtime
//!   is gone: `shutdown.rs`;
//! * `spawn` after shutdown: `shutdown.rs` (a cancelled handle, the future
//!   dropped);
//! * a task that yields forever: `no_starvation.rs`, `shutdown.rs`;
//! * a coroutine stack overflow, in a child process: `coroutines.rs`
//!   (`a_stack_overflow_is_reported_with_the_g_and_the_stack_size`);
//! * `notify` ending a poll with nothing registered: gmp-netpoll's
//!   `tests/notify.rs`.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gmp_exec::{JoinHandle, Runtime};

mod common;
use common::{recv, wait_until, within};

/// Counts drops of whatever holds it.
struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Names of this process's threads (with their ids) that start with `prefix`.
#[cfg(target_os = "linux")]
fn threads_named(prefix: &str) -> Vec<(i32, String)> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| {
            let t = t.ok()?;
            let tid = t.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(t.path().join("comm")).ok()?;
            Some((tid, name.trim().to_string()))
        })
        .filter(|(_, n)| n.starts_with(prefix))
        .collect()
}

#[test]
fn futures_that_panic_in_drop_do_not_stop_the_shutdown_sweep() {
    struct PanicOnDrop {
        _count: CountDrop,
    }
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a future's drop panics during shutdown");
        }
    }
    const N: usize = 200;
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let mut handles = Vec::new();
    let mut senders = Vec::new();
    for i in 0..N {
        let guard = PanicOnDrop {
            _count: CountDrop(drops.clone()),
        };
        let started = started_tx.clone();
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        senders.push(tx);
        handles.push(rt.spawn(async move {
            let _guard = guard;
            started.send(()).unwrap();
            if i % 2 == 0 {
                // Parked on a waker held by this thread.
                let _ = rx.await;
            } else {
                // Always runnable.
                loop {
                    gmp_exec::yield_now().await;
                }
            }
        }));
    }
    for _ in 0..N {
        recv(&started_rx, "every G whose drop panics started");
    }
    within("a shutdown whose drops panic", move || drop(rt));
    assert_eq!(drops.load(SeqCst), N, "every future dropped once");
    for h in handles {
        // The panic of the drop is the task's outcome.
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_panic(), "{err}");
    }
    drop(senders);
}

#[test]
fn a_waker_outliving_its_runtime_and_handle_frees_the_task_on_another_thread() {
    let drops = Arc::new(AtomicUsize::new(0));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (parked_tx, parked_rx) = mpsc::channel();
    let (s, guard) = (slot.clone(), CountDrop(drops.clone()));
    let mut parked_tx = Some(parked_tx);
    // The handle is dropped at once: after shutdown, the waker is the last
    // reference to the task.
    drop(rt.spawn(std::future::poll_fn(move |cx| {
        let _held = &guard;
        *s.lock().unwrap() = Some(cx.waker().clone());
        if let Some(tx) = parked_tx.take() {
            tx.send(()).unwrap();
        }
        Poll::<()>::Pending
    })));
    recv(&parked_rx, "the G handed its waker out");
    drop(rt);
    assert_eq!(drops.load(SeqCst), 1, "shutdown dropped the future");
    let waker = slot.lock().unwrap().take().unwrap();
    // Woken and dropped on a thread that never saw the runtime; the last drop
    // frees the cell there (sanitizers and valgrind check the free).
    std::thread::spawn(move || {
        waker.wake_by_ref();
        let twin = waker.clone();
        waker.wake();
        drop(twin);
    })
    .join()
    .unwrap();
    assert_eq!(drops.load(SeqCst), 1);
}

/// Wakes itself through a clone sent to another thread, forever: a task that
/// is always runnable, woken from outside the runtime.
struct WokenFromOutside {
    to: mpsc::Sender<Waker>,
    polls: Arc<AtomicUsize>,
}

impl Future for WokenFromOutside {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, SeqCst);
        let _ = self.to.send(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_future_woken_forever_from_another_thread_starves_nobody_and_shuts_down() {
    within("a wake storm", || {
        let rt = Runtime::builder().procs(1).build().unwrap();
        let (tx, rx) = mpsc::channel::<Waker>();
        let waker_thread = std::thread::spawn(move || {
            for w in rx {
                w.wake();
            }
        });
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        // Two of them, so there is always a wake in flight.
        for _ in 0..2 {
            rt.spawn(WokenFromOutside {
                to: tx.clone(),
                polls: p.clone(),
            });
        }
        // One P, always busy with the storm: other work still gets its turn.
        let sum = rt.block_on(async {
            let mut total = 0;
            for i in 0..1000u64 {
                total += gmp_exec::spawn(async move { i }).await.unwrap();
                if i % 100 == 0 {
                    gmp_exec::time::sleep(Duration::from_millis(1)).await;
                }
            }
            total
        });
        assert_eq!(sum, 999 * 1000 / 2);
        assert!(polls.load(SeqCst) > 2, "the storm ran");
        // Shutdown with wakes in flight from the other thread.
        drop(rt);
        drop(tx);
        waker_thread.join().unwrap();
    });
}

#[test]
fn spawn_from_a_drop_during_shutdown_gives_a_cancelled_handle() {
    /// On drop (that is, in the shutdown sweep), spawns onto the runtime that
    /// is shutting down and hands the handle out.
    struct SpawnOnDrop {
        handle: gmp_exec::Handle,
        out: mpsc::Sender<JoinHandle<()>>,
        inner_drops: Arc<AtomicUsize>,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let guard = CountDrop(self.inner_drops.clone());
            let h = self.handle.spawn(async move {
                let _guard = guard;
            });
            let _ = self.out.send(h);
        }
    }
    const N: usize = 100;
    let inner_drops = Arc::new(AtomicUsize::new(0));
    let (out_tx, out_rx) = mpsc::channel();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    for i in 0..N {
        let on_drop = SpawnOnDrop {
            handle: rt.handle().clone(),
            out: out_tx.clone(),
            inner_drops: inner_drops.clone(),
        };
        let started = started_tx.clone();
        rt.spawn(async move {
            let _on_drop = on_drop;
            started.send(()).unwrap();
            if i % 2 == 0 {
                futures::future::pending::<()>().await;
            } else {
                loop {
                    gmp_exec::yield_now().await;
                }
            }
        });
    }
    for _ in 0..N {
        recv(&started_rx, "every G that spawns from its drop started");
    }
    within("spawn during the shutdown sweep", move || drop(rt));
    drop(out_tx);
    let spawned: Vec<_> = out_rx.iter().collect();
    assert_eq!(spawned.len(), N);
    for h in spawned {
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }
    assert_eq!(
        inner_drops.load(SeqCst),
        N,
        "every late future dropped once"
    );
}

#[test]
fn spawns_racing_shutdown_from_another_thread_run_or_are_cancelled_once() {
    within("spawns racing shutdown", || {
        for round in 0..20 {
            let rt = Runtime::builder().procs(1 + round % 3).build().unwrap();
            let handle = rt.handle().clone();
            let drops = Arc::new(AtomicUsize::new(0));
            let ran = Arc::new(AtomicUsize::new(0));
            let go = Arc::new(AtomicBool::new(false));
            let spawner = {
                let (drops, ran, go) = (drops.clone(), ran.clone(), go.clone());
                std::thread::spawn(move || {
                    let mut handles = Vec::new();
                    for i in 0..2000 {
                        if i == 100 {
                            go.store(true, SeqCst);
                        }
                        let (guard, ran) = (CountDrop(drops.clone()), ran.clone());
                        handles.push(handle.spawn(async move {
                            let _guard = guard;
                            gmp_exec::yield_now().await;
                            ran.fetch_add(1, SeqCst);
                        }));
                    }
                    handles
                })
            };
            wait_until("the spawner spawned its first 100 Gs", || go.load(SeqCst));
            drop(rt);
            let handles = spawner.join().unwrap();
            let (mut ok, mut cancelled) = (0, 0);
            for h in handles {
                match futures::executor::block_on(h) {
                    Ok(()) => ok += 1,
                    Err(e) if e.is_cancelled() => cancelled += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(ok + cancelled, 2000);
            assert_eq!(ok, ran.load(SeqCst), "a G that ran reports its output");
            assert_eq!(drops.load(SeqCst), 2000, "every future dropped once");
        }
    });
}

#[cfg(target_os = "linux")] // signals to each thread by id (tgkill), /proc
#[test]
fn a_signal_interrupting_the_idle_poller_and_parked_ms_is_harmless() {
    extern "C" fn ignore(_: libc::c_int) {}
    // A handler without SA_RESTART: a blocking epoll_wait or futex wait on the
    // signalled thread returns EINTR.
    // SAFETY: an all-zero `sigaction` is valid; the handler is async-signal-safe
    // (it does nothing) and SIGUSR1 is used by nothing else in this process.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    within("signals to an idle runtime", || {
        let rt = Runtime::builder()
            .procs(2)
            .thread_name("sigrt")
            .build()
            .unwrap();
        // Start the Ms, then let them go idle: one blocks in the poller with
        // nothing registered and no timer, the others park.
        rt.block_on(async {
            let hs: Vec<_> = (0..8).map(|i| gmp_exec::spawn(async move { i })).collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        // Wait until every P is idle (the Ms are parked or in the poller).
        wait_until("both Ps idle after the burst", || {
            rt.metrics().idle_procs >= 2
        });
        let targets = threads_named("sigrt");
        assert!(!targets.is_empty());
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let signal_all = move || {
            for (tid, _) in &targets {
                // SAFETY: tgkill takes no pointers; a thread that has exited
                // meanwhile just makes it fail with ESRCH.
                unsafe { libc::syscall(libc::SYS_tgkill, pid, *tid, libc::SIGUSR1) };
            }
        };
        for _ in 0..50 {
            signal_all();
            std::thread::yield_now();
        }
        // The runtime still schedules, and its timers (the poller's timeout)
        // still fire, with signals arriving meanwhile.
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let pelter = std::thread::spawn(move || {
            // A signal burst each millisecond until told to stop.
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stop_rx.recv_timeout(Duration::from_millis(1))
            {
                signal_all();
            }
        });
        let sum = rt.block_on(async {
            let mut sum = 0;
            for i in 0..20u64 {
                gmp_exec::time::sleep(Duration::from_millis(2)).await;
                sum += gmp_exec::spawn(async move { i }).await.unwrap();
            }
            sum
        });
        stop_tx.send(()).unwrap();
        pelter.join().unwrap();
        assert_eq!(sum, 190);
    });
}

#[cfg(target_os = "linux")] // counts threads in /proc/self/task
#[test]
fn reaching_max_threads_delays_work_but_completes_it() {
    within("work at max_threads", || {
        // Two Ps but at most two Ms: a G that blocks keeps its M, its P is
        // handed off (or retaken by sysmon), and no third M may start for it.
        let rt = Runtime::builder()
            .procs(2)
            .max_threads(2)
            .thread_name("maxt")
            .build()
            .unwrap();
        let most = Arc::new(AtomicUsize::new(0));
        let (stop_sampling, sampling) = mpsc::channel::<()>();
        let sampler = {
            let most = most.clone();
            std::thread::spawn(move || {
                // A sample each millisecond until told to stop.
                loop {
                    let n = threads_named("maxt-m").len();
                    most.fetch_max(n, SeqCst);
                    match sampling.recv_timeout(Duration::from_millis(1)) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
            })
        };
        let sum = rt.block_on(async {
            let mut hs = Vec::new();
            for i in 0..12u64 {
                // Blocking Gs of every kind, more than there are Ms.
                hs.push(gmp_exec::spawn(async move {
                    let nap = || std::thread::sleep(Duration::from_millis(15));
                    match i % 3 {
                        0 => gmp_exec::block_in_place(nap),
                        1 => gmp_exec::syscall(nap),
                        _ => nap(),
                    }
                    0
                }));
                // And plenty of ordinary ones around them.
                for j in 0..100u64 {
                    hs.push(gmp_exec::spawn(async move {
                        gmp_exec::yield_now().await;
                        j
                    }));
                }
            }
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        stop_sampling.send(()).unwrap();
        sampler.join().unwrap();
        assert_eq!(sum, 12 * (99 * 100 / 2));
        assert!(
            most.load(SeqCst) <= 2,
            "{} M threads at once",
            most.load(SeqCst)
        );
    });
}
