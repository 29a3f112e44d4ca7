//! Safe code cannot crash, hang or corrupt gmp (issue 14's defects, each
//! named at its test). A coroutine G's suspension points are sound wherever
//! safe code can reach them: under a `Context` borrowed by an outer
//! `coro::wait`, inside `block_in_place` and `syscall`, inside `on_m_stack`,
//! and in a destructor run while the G is being cancelled; a locked M still
//! runs the coroutines bound to it; a foreign waker's panic stays out of the
//! scheduler; `EnterGuard`s check their order. Cases that used to crash or
//! hang the process run in a child process, so a regression fails the test
//! instead of killing the harness.
// Mostly coroutine Gs (the `coro` feature, on Unix), and kill(2) for a hung
// child: the few tests here that need neither run where those do.
#![cfg(all(feature = "coro", unix, not(loom)))]

use std::future::{poll_fn, Future};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gmp_exec::{coro, Runtime};

mod common;

/// Runs the test `name` again in a child process with `GMP_TEST_CHILD=name`,
/// which the test reads to play the child's part (killed, failing the test,
/// if it outlives `common::PATIENCE`).
fn run_child(name: &str) -> Output {
    common::output_within(
        name,
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env("GMP_TEST_CHILD", name),
    )
}

fn is_child(name: &str) -> bool {
    std::env::var("GMP_TEST_CHILD").is_ok_and(|v| v == name)
}

fn assert_child_ok(name: &str) {
    let out = run_child(name);
    assert!(
        out.status.success(),
        "the child ({}) failed:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Wakes through a borrowed waker when dropped, also while a cancelled G's
/// stack unwinds.
struct WakeOnDrop<'a>(&'a Waker);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.wake_by_ref();
    }
}

/// A future whose `poll` suspends the coroutine G (a nested `coro::sleep`)
/// while it holds the outer `wait`'s `&mut Context`, and uses that Context's
/// waker after the nested suspension returns, or while the G's stack unwinds
/// if it is cancelled meanwhile.
fn nested_sleep_future(nap: Duration) -> impl Future<Output = ()> {
    poll_fn(move |cx: &mut Context<'_>| {
        let w = WakeOnDrop(cx.waker());
        coro::sleep(nap);
        w.0.wake_by_ref();
        // The Context is still usable too.
        let _ = cx.waker().clone();
        Poll::Ready(())
    })
}

/// Issue 14, defect 1: the outer `&mut Context` used to point into the task's
/// poll frame, gone once the G suspended: aborting the G or dropping the
/// runtime unwound the G's stack, whose destructors read the stale waker
/// (exit 139, or a false stack-overflow report).
#[test]
fn a_future_that_suspends_inside_its_poll_keeps_a_valid_context() {
    const NAME: &str = "a_future_that_suspends_inside_its_poll_keeps_a_valid_context";
    if !is_child(NAME) {
        return assert_child_ok(NAME);
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    // Completes: the outer waker is used after the nested sleep returns.
    let h =
        rt.spawn_coroutine_for_test(|| coro::wait(nested_sleep_future(Duration::from_millis(2))));
    rt.block_on(h).unwrap();
    // Aborted while the nested sleep is parked.
    let h =
        rt.spawn_coroutine_for_test(|| coro::wait(nested_sleep_future(Duration::from_secs(3600))));
    wait_until_parked(&rt, h.id());
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    // Torn down by the runtime's drop while parked.
    let h =
        rt.spawn_coroutine_for_test(|| coro::wait(nested_sleep_future(Duration::from_secs(3600))));
    wait_until_parked(&rt, h.id());
    drop(rt);
    drop(h);
}

/// The nesting goes as deep as the futures go, with yields in between.
#[test]
fn nested_waits_and_yields_inside_polls_complete() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let h = rt.spawn_coroutine_for_test(move || {
        coro::wait(poll_fn(|cx| {
            p.fetch_add(1, SeqCst);
            let inner = coro::wait(poll_fn(|cx2| {
                coro::yield_now();
                coro::sleep(Duration::from_millis(1));
                cx2.waker().wake_by_ref();
                Poll::Ready(5)
            }));
            coro::yield_now();
            cx.waker().wake_by_ref();
            Poll::Ready(inner + 1)
        }))
    });
    assert_eq!(rt.block_on(h).unwrap(), 6);
    assert_eq!(
        polls.load(SeqCst),
        1,
        "the outer future completes in one poll"
    );
}

/// Waits (bounded) until the G `id` is parked, per the runtime's dump.
fn wait_until_parked(rt: &Runtime, id: gmp_exec::Id) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dump = rt.handle().dump();
        if dump
            .tasks
            .iter()
            .any(|t| t.id == id && t.state == gmp_exec::TaskState::Waiting)
        {
            return;
        }
        assert!(Instant::now() < deadline, "G {id:?} never parked: {dump:?}");
        std::thread::yield_now();
    }
}

/// Lets `Runtime` spawn a coroutine G without entering it by hand.
trait SpawnCoroutine {
    fn spawn_coroutine_for_test<F, R>(&self, f: F) -> gmp_exec::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static;
}

impl SpawnCoroutine for Runtime {
    fn spawn_coroutine_for_test<F, R>(&self, f: F) -> gmp_exec::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let _in = self.enter();
        coro::spawn(f)
    }
}

/// Runs `body` in a coroutine G holding `local`, waits until the G parks,
/// aborts it, and returns the JoinHandle's result.
fn abort_parked_holding<T: Send + 'static>(local: T) -> Result<(), gmp_exec::JoinError> {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = rt.spawn_coroutine_for_test(move || {
        let _local = local;
        coro::sleep(Duration::from_secs(3600));
    });
    wait_until_parked(&rt, h.id());
    h.abort();
    rt.block_on(h)
}

/// Issue 14, defect 9: a destructor that yields while the G is cancelled used
/// to panic ("called outside a coroutine G") inside the unwind, which aborted
/// the process; a yield is a hint, so it now returns and the G ends cancelled.
#[test]
fn a_destructor_that_yields_during_cancellation_lets_the_g_end() {
    const NAME: &str = "a_destructor_that_yields_during_cancellation_lets_the_g_end";
    if !is_child(NAME) {
        return assert_child_ok(NAME);
    }
    struct YieldOnDrop(Arc<AtomicUsize>);
    impl Drop for YieldOnDrop {
        fn drop(&mut self) {
            assert!(gmp_coro::is_being_dropped());
            coro::yield_now();
            self.0.fetch_add(1, SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let err = abort_parked_holding(YieldOnDrop(dropped.clone())).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(dropped.load(SeqCst), 1);
}

/// Issue 14, defect 9: a destructor that parks (here `coro::sleep`) while the
/// G is cancelled cannot be resumed; it used to fail on a null context with a
/// message that blamed a call "outside a coroutine G". The message now names
/// the cancellation (the panic is in a destructor during unwinding, so the
/// process aborts, as Rust requires).
#[test]
fn a_destructor_that_parks_during_cancellation_is_named_in_the_abort() {
    const NAME: &str = "a_destructor_that_parks_during_cancellation_is_named_in_the_abort";
    if is_child(NAME) {
        struct SleepOnDrop;
        impl Drop for SleepOnDrop {
            fn drop(&mut self) {
                coro::sleep(Duration::from_millis(1));
            }
        }
        let _ = abort_parked_holding(SleepOnDrop);
        println!("\nthe child went on after the abort");
        return;
    }
    let out = run_child(NAME);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("gmp::coro::sleep called while its coroutine G is being cancelled"),
        "{stderr}"
    );
}

/// The documented rule: a destructor that panics while a cancelled G's stack
/// unwinds aborts the process (Rust aborts on a panic during unwinding), with
/// the destructor's own message; an async task's value does not.
#[test]
fn a_destructor_that_panics_during_cancellation_aborts_with_its_message() {
    const NAME: &str = "a_destructor_that_panics_during_cancellation_aborts_with_its_message";
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("PanicOnDrop's destructor failed");
        }
    }
    if is_child(NAME) {
        let _ = abort_parked_holding(PanicOnDrop);
        println!("\nthe child went on after the abort");
        return;
    }
    let out = run_child(NAME);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("PanicOnDrop's destructor failed"),
        "{stderr}"
    );
    // In an async G the same value's panic is the JoinError.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = rt.spawn(async {
        let _v = PanicOnDrop;
        std::future::pending::<()>().await
    });
    let abort = h.abort_handle();
    rt.block_on(gmp_exec::yield_now());
    abort.abort();
    assert!(rt.block_on(h).is_err());
}

/// `on_m_stack` runs on the M's stack, where the G cannot park: the message
/// says so (it used to say "outside a coroutine G").
#[test]
fn parking_inside_on_m_stack_names_on_m_stack() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = rt.spawn_coroutine_for_test(|| coro::on_m_stack(coro::yield_now));
    let err = rt.block_on(h).unwrap_err();
    let payload = err.into_panic();
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("inside on_m_stack"), "{msg}");
}

/// Waits (bounded) until every P of `rt` is idle, and says how many were.
fn wait_until_all_ps_idle(rt: &Runtime, procs: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let idle = rt.metrics().idle_procs;
        if idle == procs {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "at rest only {idle} of {procs} Ps are idle: the others belong to no M"
        );
        std::thread::yield_now();
    }
}

/// Issue 14, defect 2: a coroutine that parks inside `block_in_place` left the
/// M without a P; the M took one to go on, and when the G resumed there,
/// `block_in_place` wired a second P over it: at rest `idle_procs` went 4, 3,
/// 2, 1 (a debug build hit the assertion in `M::wire` instead, which aborts,
/// hence the child process).
#[test]
fn parking_inside_block_in_place_loses_no_p() {
    parking_inside_loses_no_p("parking_inside_block_in_place_loses_no_p", 4, |nap| {
        gmp_exec::block_in_place(|| coro::sleep(nap))
    });
}

/// The same for `syscall`: a coroutine that parks inside it must not leave
/// its M marked as in a syscall while the M runs other Gs, nor lose a P.
#[test]
fn parking_inside_syscall_loses_no_p() {
    parking_inside_loses_no_p("parking_inside_syscall_loses_no_p", 2, |nap| {
        gmp_exec::syscall(|| coro::sleep(nap))
    });
}

/// In the child of test `name`: four coroutines in turn park inside `call`
/// on a runtime of `procs` Ps, and after each every P is idle again.
fn parking_inside_loses_no_p(name: &str, procs: usize, call: fn(Duration)) {
    if !is_child(name) {
        return assert_child_ok(name);
    }
    let rt = Runtime::builder().procs(procs).build().unwrap();
    for round in 0..4 {
        let h = rt.spawn_coroutine_for_test(move || {
            call(Duration::from_millis(5));
            round
        });
        assert_eq!(rt.block_on(h).unwrap(), round);
        wait_until_all_ps_idle(&rt, procs);
    }
}

/// Issue 14, defect 7: coroutine A parks, bound to the only M; an async G
/// locks that M (`lock_os_thread`), wakes A and waits for it. A can run on no
/// other M, and the locked M ran nothing but the locked G: a silent deadlock
/// (in a child process, bounded, so the old code fails instead of hanging).
#[test]
fn a_locked_g_waiting_for_a_coroutine_bound_to_its_m_does_not_deadlock() {
    const NAME: &str = "a_locked_g_waiting_for_a_coroutine_bound_to_its_m_does_not_deadlock";
    if !is_child(NAME) {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env("GMP_TEST_CHILD", NAME)
            .spawn()
            .unwrap();
        let pid = child.id();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut child = child;
            let _ = done_tx.send(child.wait().unwrap());
        });
        match done_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(status) => assert!(status.success(), "the child failed: {status}"),
            Err(_) => {
                // SAFETY: plain kill(2) of our own child, by its pid.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                panic!("deadlock: the locked G never saw the coroutine bound to its M finish");
            }
        }
        return;
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (tx, rx) = async_channel::bounded::<u32>(1);
    let a = rt.spawn_coroutine_for_test(move || coro::wait(rx.recv()).unwrap() + 1);
    wait_until_parked(&rt, a.id());
    let locked = rt.spawn(async move {
        coro::lock_os_thread();
        tx.send(41).await.unwrap();
        let out = a.await.unwrap();
        coro::unlock_os_thread();
        out
    });
    assert_eq!(rt.block_on(locked).unwrap(), 42);
}

/// A waker that panics when woken: anyone's, say a hand-written executor's.
struct PanickingWaker(AtomicUsize);

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("PanickingWaker woken");
    }
}

/// Issue 14, defect 11: a foreign waker that panicked when a gmp timer fired
/// it unwound into the scheduler loop, which aborts the process ("panic
/// inside the scheduler loop"). The panic is contained and reported once; the
/// runtime goes on.
#[test]
fn a_foreign_waker_that_panics_when_a_timer_fires_is_contained() {
    const NAME: &str = "a_foreign_waker_that_panics_when_a_timer_fires_is_contained";
    if !is_child(NAME) {
        let out = run_child(NAME);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", out.status);
        assert_eq!(
            stderr.matches("the panic was contained").count(),
            1,
            "reported once: {stderr}"
        );
        return;
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    let wakers: Vec<_> = (0..2)
        .map(|_| Arc::new(PanickingWaker(AtomicUsize::new(0))))
        .collect();
    // Armed on `rt`'s timers, with a deadline far enough out that a loaded
    // machine cannot pass it before the first poll.
    let _in = rt.enter();
    let mut sleeps: Vec<_> = (0..2)
        .map(|_| Box::pin(gmp_exec::time::sleep(Duration::from_millis(200))))
        .collect();
    for (sleep, w) in sleeps.iter_mut().zip(&wakers) {
        let waker = std::task::Waker::from(w.clone());
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    drop(_in);
    // Both timers fire (bounded wait); the runtime still runs Gs afterwards.
    let deadline = Instant::now() + Duration::from_secs(20);
    while wakers.iter().any(|w| w.0.load(SeqCst) == 0) {
        assert!(Instant::now() < deadline, "the timers never fired");
        rt.block_on(gmp_exec::time::sleep(Duration::from_millis(1)));
    }
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
}

/// Issue 14, defect 11: guards dropped out of order restored the entry the
/// first one replaced, leaving a runtime current that the inner guard had
/// left, and that was then dropped: `try_current` was `Some` and `spawn`
/// silently cancelled its tasks. Now it panics, as tokio does.
#[test]
fn enter_guards_dropped_out_of_order_panic() {
    let a = Runtime::builder().procs(1).build().unwrap();
    let b = Runtime::builder().procs(1).build().unwrap();
    let ga = a.enter();
    let gb = b.enter();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(ga))).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("EnterGuards dropped out of order"), "{msg}");
    drop(gb);
    // In order, they nest and unwind as expected.
    {
        let _ga = a.enter();
        {
            let _gb = b.enter();
            assert_eq!(gmp_exec::Handle::current().procs(), 1);
        }
        assert!(gmp_exec::Handle::try_current().is_some());
    }
}

thread_local! {
    /// "Thread state" a locked G changes (as it would a namespace or a mask).
    static MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Go's LockOSThread rules (issue 16): calls nest, and the lock ends with the
/// last unlock; meanwhile nothing else runs on the locked M (one P here).
#[test]
fn lock_os_thread_nests_and_ends_with_the_last_unlock() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let other_ran = Arc::new(AtomicUsize::new(0));
    let seen = other_ran.clone();
    let h = rt.spawn(async move {
        coro::lock_os_thread();
        coro::lock_os_thread();
        coro::unlock_os_thread();
        // Still locked once: the G spawned now cannot run on this (only) M.
        let o = seen.clone();
        let other = gmp_exec::spawn(async move {
            o.fetch_add(1, SeqCst);
        });
        for _ in 0..20 {
            gmp_exec::yield_now().await;
        }
        let while_locked = seen.load(SeqCst);
        coro::unlock_os_thread();
        // An unlock too many is a no-op, as in Go.
        coro::unlock_os_thread();
        other.await.unwrap();
        while_locked
    });
    assert_eq!(rt.block_on(h).unwrap(), 0, "a G ran on the locked M");
    assert_eq!(other_ran.load(SeqCst), 1);
}

/// A G that ends while locked takes its thread with it: no later G runs on
/// that thread or sees the thread state it changed, and the runtime goes on
/// on another M.
#[cfg(target_os = "linux")] // gettid and /proc/self/task
#[test]
fn a_g_that_ends_locked_takes_its_thread_with_it() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (locked_thread, tid) = rt
        .block_on(rt.spawn(async {
            coro::lock_os_thread();
            MARKED.with(|m| m.set(true));
            // SAFETY: gettid takes no arguments and cannot fail.
            let tid = unsafe { libc::gettid() };
            (std::thread::current().id(), tid)
            // Ends without unlocking.
        }))
        .unwrap();
    for _ in 0..200 {
        let (thread, marked) = rt
            .block_on(rt.spawn(async {
                gmp_exec::yield_now().await;
                (std::thread::current().id(), MARKED.with(|m| m.get()))
            }))
            .unwrap();
        assert_ne!(
            thread, locked_thread,
            "a G ran on the thread a locked G ended on"
        );
        assert!(!marked, "a G saw the thread state a locked G left");
    }
    // The thread itself exits (bounded wait for its /proc entry to go).
    let task = format!("/proc/self/task/{tid}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::path::Path::new(&task).exists() {
        assert!(
            Instant::now() < deadline,
            "the thread the locked G ended on (tid {tid}) did not exit; {} Ms",
            rt.metrics().threads
        );
        std::thread::yield_now();
    }
}
