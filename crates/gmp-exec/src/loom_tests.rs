//! Loom models of the task state machine and of the M park/unpark protocol.
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gmp-exec --release
//! --lib loom_` (CI runs bound 2; bound 3 on demand). The task cell's stage and
//! join waker go through loom's `UnsafeCell`, so a transition that let two
//! threads touch them at once fails here as a data race.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::Mutex;

use crate::sync::Arc;
use loom::thread;

use crate::runtime::Builder;
use crate::sched::m::M;
use crate::sched::Shared;
use crate::task::{self, Header, JoinError, JoinHandle, Notified, Schedule};

/// A scheduler that just queues; the model runs what it queued.
struct TestSched {
    queue: Mutex<VecDeque<Notified>>,
}

impl TestSched {
    fn new() -> Arc<TestSched> {
        Arc::new(TestSched {
            queue: Mutex::new(VecDeque::new()),
        })
    }

    fn run_queued(&self) {
        loop {
            let next = self.queue.lock().unwrap().pop_front();
            match next {
                Some(task) => {
                    task.run();
                }
                None => return,
            }
        }
    }
}

impl Schedule for TestSched {
    fn schedule(&self, task: Notified) {
        self.queue.lock().unwrap().push_back(task);
    }
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }
    fn release(&self, _task: &Header) -> usize {
        0
    }
}

fn spawn<F>(sched: &Arc<TestSched>, fut: F) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // SAFETY: every model drops all task references before `sched`.
    let (notified, handle) =
        unsafe { task::new_task(fut, NonNull::from(&**sched), 1, Location::caller(), None) };
    // Not registered: drop the registry's reference.
    assert!(!notified.header().state.ref_dec());
    (notified, handle)
}

/// Counts drops of whatever holds it.
#[derive(Clone)]
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

struct Flag(AtomicBool);
impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn loom_wake_while_running_requeues_once() {
    loom::model(|| {
        let sched = TestSched::new();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let polls = Arc::new(AtomicUsize::new(0));
        let (s, p) = (slot.clone(), polls.clone());
        let (notified, mut handle) = spawn(
            &sched,
            std::future::poll_fn(move |cx| {
                if p.fetch_add(1, SeqCst) == 0 {
                    *s.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(7)
                }
            }),
        );
        let waker_thread = thread::spawn(move || loop {
            let w = slot.lock().unwrap().take();
            match w {
                Some(w) => return w.wake(),
                None => thread::yield_now(),
            }
        });
        notified.run();
        waker_thread.join().unwrap();
        sched.run_queued();
        assert_eq!(polls.load(SeqCst), 2);
        let out = poll_once(&mut handle, Waker::noop());
        assert!(matches!(out, Poll::Ready(Ok(7))));
    });
}

#[test]
fn loom_abort_racing_completion_drops_everything_once() {
    loom::model(|| {
        let sched = TestSched::new();
        let fut_drops = Arc::new(AtomicUsize::new(0));
        let out_drops = Arc::new(AtomicUsize::new(0));
        let in_fut = Tracked(fut_drops.clone());
        let out = Tracked(out_drops.clone());
        let (notified, mut handle) = spawn(&sched, async move {
            let _held = in_fut;
            out
        });
        let abort = handle.abort_handle();
        let t = thread::spawn(move || abort.abort());
        notified.run();
        t.join().unwrap();
        sched.run_queued();
        match poll_once(&mut handle, Waker::noop()) {
            Poll::Ready(Ok(out)) => drop(out),
            Poll::Ready(Err(e)) => assert!(JoinError::is_cancelled(&e)),
            Poll::Pending => panic!("the task finished one way or the other"),
        }
        drop(handle);
        assert_eq!(fut_drops.load(SeqCst), 1);
        // Either the output was made (and dropped once) or it never existed.
        assert!(out_drops.load(SeqCst) == 1);
    });
}

#[test]
fn loom_join_handle_drop_racing_completion() {
    loom::model(|| {
        let sched = TestSched::new();
        let out_drops = Arc::new(AtomicUsize::new(0));
        let out = Tracked(out_drops.clone());
        let (notified, handle) = spawn(&sched, async move { out });
        let t = thread::spawn(move || drop(handle));
        notified.run();
        t.join().unwrap();
        assert_eq!(
            out_drops.load(SeqCst),
            1,
            "the output is dropped exactly once"
        );
    });
}

#[test]
fn loom_join_waker_racing_completion() {
    loom::model(|| {
        let sched = TestSched::new();
        let (notified, mut handle) = spawn(&sched, async { 3 });
        let t = thread::spawn(move || notified.run());
        let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        match poll_once(&mut handle, &waker) {
            Poll::Ready(out) => assert_eq!(out.unwrap(), 3),
            Poll::Pending => {
                t.join().unwrap();
                assert!(flag.0.load(SeqCst), "completion woke the JoinHandle");
                assert_eq!(
                    poll_once(&mut handle, &waker).map(Result::unwrap),
                    Poll::Ready(3)
                );
                return;
            }
        }
        t.join().unwrap();
    });
}

/// The park/unpark/spinning protocol: a G submitted from outside while the
/// last spinning M gives up its P is always found — by that M's re-check, or by
/// the M that the submission wakes. A lost wake-up leaves both Ms parked with
/// the G queued: loom reports the deadlock.
#[test]
fn loom_no_lost_wakeup_when_the_last_spinner_parks() {
    loom::model(|| {
        let shared = Shared::new(Builder::new().procs(2).config().unwrap()).unwrap();
        let taken = Arc::new(AtomicUsize::new(0));

        // M1 is parked on the idle list; P1 is idle.
        let idle_m = {
            let shared = shared.clone();
            let taken = taken.clone();
            thread::spawn(move || {
                let m = Arc::new(M::new(1, true));
                run_model_m(&shared, &m, None, &taken);
            })
        };
        while shared.idle_m_count() == 0 {
            thread::yield_now();
        }
        // M0 holds P0 and is the only spinning M.
        shared.model_take_p(0);
        shared.idle.model_set_spinning(1);

        let submitter = {
            let shared = shared.clone();
            thread::spawn(move || {
                let (notified, handle) = model_task(&shared);
                drop(handle);
                shared.inject(notified);
            })
        };
        let m0 = Arc::new(M::new(0, true));
        run_model_m(&shared, &m0, Some((0, true)), &taken);
        submitter.join().unwrap();
        idle_m.join().unwrap();
        assert_eq!(taken.load(SeqCst), 1);
    });
}

/// The bound-G wake protocol (`M::parking`, `Shared::schedule_bound`): a
/// G bound to an M and woken on another thread while that M gives up its P
/// and parks is always run by it — the M's re-check sees the mail, or the
/// waker sees the M parking and hands it a P. The waker takes no lock but
/// the mailbox's when the M runs. A lost wake leaves the M parked with mail:
/// loom reports the deadlock.
#[test]
fn loom_mail_for_a_parking_m_is_never_lost() {
    loom::model(|| {
        let shared = Shared::new(Builder::new().procs(1).config().unwrap()).unwrap();
        let m = Arc::new(M::new(0, true));
        shared.model_register_m(&m);
        shared.model_take_p(0);

        let waker = {
            let shared = shared.clone();
            thread::spawn(move || {
                let (notified, handle) = model_task(&shared);
                drop(handle);
                notified.header().bind_to_m(0);
                shared.schedule(notified);
            })
        };
        // M0 holds P0 and runs its loop: serve the mailbox, else give the P
        // up and park until a P comes back.
        let mut p = 0;
        loop {
            let mut own = VecDeque::new();
            m.take_all_mail(&mut own);
            if let Some(task) = own.pop_front() {
                drop(task);
                break;
            }
            m.wire(p);
            let owned = m.unwire(p);
            match shared.give_up_p(&m, owned.then_some(p), false) {
                Some((next, _)) => p = next,
                None => unreachable!("no shutdown in this model"),
            }
        }
        waker.join().unwrap();
        shared.wake_all_for_exit();
    });
}

/// A G for the protocol model; its future never runs.
fn model_task(shared: &Arc<Shared>) -> (Notified, JoinHandle<()>) {
    // SAFETY: the model drops the task (via the queue) before `shared`.
    let (notified, handle) = unsafe {
        task::new_task(
            async {},
            NonNull::from(&**shared),
            1,
            Location::caller(),
            None,
        )
    };
    assert!(!notified.header().state.ref_dec());
    (notified, handle)
}

/// What an M does in the protocol model: with a P, look for the G and take it;
/// without work, give the P up (re-check, park). Whoever takes the G ends the
/// model by waking every parked M to exit.
fn run_model_m(
    shared: &Shared,
    m: &Arc<M>,
    mut holding: Option<(usize, bool)>,
    taken: &AtomicUsize,
) {
    loop {
        let (p, spinning) = match holding {
            Some(h) => h,
            None => match shared.stop_m(m) {
                Some(h) => h,
                None => return,
            },
        };
        m.wire(p);
        if let Some(task) = shared.global.pop() {
            taken.fetch_add(1, SeqCst);
            drop(task);
            shared.wake_all_for_exit();
            return;
        }
        let owned = m.unwire(p);
        match shared.give_up_p(m, owned.then_some(p), spinning) {
            Some(h) => holding = Some(h),
            None => return,
        }
    }
}

/// The retake protocol (barrier.rs): an M that touches its P's state while
/// sysmon takes the P never overlaps the new owner's access. The P's state is a
/// loom cell, so an overlap fails as a data race.
#[test]
fn loom_retake_never_overlaps_the_ms_own_access() {
    use crate::sched::m::NO_P;
    use crate::sync::UnsafeCell;

    loom::model(|| {
        let m = Arc::new(M::new(0, true));
        m.wire(0);
        let state = Arc::new(UnsafeCell::new(0u32));

        let sysmon = {
            let (m, state) = (m.clone(), state.clone());
            thread::spawn(move || {
                // The retake, as `Shared::retake` does it.
                {
                    let _held = m.p_lock.lock().unwrap();
                    if m.p.load(SeqCst) != 0 {
                        return false;
                    }
                    m.p.store(NO_P, SeqCst);
                    m.revoked.store(0, SeqCst);
                    crate::sched::barrier::heavy_or_fence();
                    while m.in_core.load(SeqCst) {
                        thread::yield_now();
                    }
                }
                // The P's next owner touches its state.
                // SAFETY: the protocol under test is what makes this exclusive.
                state.with_mut(|s| unsafe { *s += 1 });
                true
            })
        };
        // The M: two accesses to its P's state, as spawns inside a poll would.
        let mut mine = 0;
        for _ in 0..2 {
            if m.enter_core(0) {
                // SAFETY: as above.
                state.with_mut(|s| unsafe { *s += 1 });
                mine += 1;
                m.leave_core();
            } else {
                m.acknowledge_revoked();
                break;
            }
        }
        let retook = sysmon.join().unwrap();
        assert!(retook);
        // SAFETY: both threads are done.
        let total = state.with(|s| unsafe { *s });
        assert_eq!(total, mine + 1);
    });
}
