//! Arbitrary sequences of task operations (spawn, run, wake by value and by
//! reference, clone and drop wakers, abort, poll and drop the `JoinHandle`,
//! shutdown, spawn after shutdown) replayed against a model of each task's
//! state; every step's effect must match the model.
//!
//! The tasks run through gmp-exec's `__fuzz` harness (the real task cell and
//! state word, with this thread as the M: see `crates/gmp-exec/src/fuzz_harness.rs`),
//! so each transition happens where the input put it. After every step the
//! model checks polls and future drops; when a task completes it checks that
//! a registered join waker was woken exactly once; a ready `JoinHandle` must
//! give the outcome the model predicts. At the end of each input every future
//! and every output must have been dropped exactly once, nothing may stay
//! registered or queued, and LeakSanitizer (on under cargo-fuzz) finds any
//! cell whose last reference was lost.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run tasks` (from the repository root).
#![no_main]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Wake, Waker};

use gmp_exec::__fuzz as harness;
use gmp_exec::{AbortHandle, JoinHandle};
use libfuzzer_sys::fuzz_target;

/// The message of the panics the plan asks for; the panic hook lets these
/// through (the task cell catches them) and aborts on any other.
const PLANNED: &str = "fuzz: planned panic";
/// The most tasks one input spawns.
const MAX_TASKS: usize = 16;

/// What a task's future and output report back.
#[derive(Default)]
struct Ctl {
    /// Polls left that return `Pending` before the future is ready.
    pending: AtomicU32,
    self_wake: bool,
    panics: bool,
    polls: AtomicU32,
    future_drops: AtomicU32,
    output_drops: AtomicU32,
    /// The waker of the last poll.
    waker: Mutex<Option<Waker>>,
}

struct Probe(Arc<Ctl>);

impl Future for Probe {
    type Output = Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let c = &self.0;
        c.polls.fetch_add(1, Relaxed);
        *c.waker.lock().unwrap() = Some(cx.waker().clone());
        if c.pending.load(Relaxed) == 0 {
            if c.panics {
                std::panic::panic_any(PLANNED);
            }
            return Poll::Ready(Output(c.clone()));
        }
        c.pending.fetch_sub(1, Relaxed);
        if c.self_wake {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.future_drops.fetch_add(1, Relaxed);
    }
}

struct Output(Arc<Ctl>);

impl Drop for Output {
    fn drop(&mut self) {
        self.0.output_drops.fetch_add(1, Relaxed);
    }
}

/// A waker that counts its wakes (the join waker).
#[derive(Default)]
struct Counter(AtomicU32);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Output,
    Cancelled,
    Panicked,
}

/// One task: the handles the input holds, and the model's idea of its state.
struct Task {
    ctl: Arc<Ctl>,
    handle: Option<JoinHandle<Output>>,
    abort: AbortHandle,
    wakers: Vec<Waker>,
    // The model.
    pending: u32,
    polls: u32,
    queued: bool,
    cancelled: bool,
    done: Option<Outcome>,
    /// The join waker registered by the last pending poll of the handle.
    join_waker: Option<Arc<Counter>>,
}

struct Model {
    tasks: Vec<Task>,
    queue: VecDeque<usize>,
    shut: bool,
}

impl Model {
    fn spawn(&mut self, arg: u8) {
        if self.tasks.len() == MAX_TASKS {
            return;
        }
        let pending = u32::from(arg & 3);
        let ctl = Arc::new(Ctl {
            pending: AtomicU32::new(pending),
            self_wake: arg & 4 != 0,
            panics: arg & 8 != 0,
            ..Ctl::default()
        });
        let handle = harness::spawn(Probe(ctl.clone()));
        let abort = handle.abort_handle();
        let i = self.tasks.len();
        self.tasks.push(Task {
            ctl,
            handle: Some(handle),
            abort,
            wakers: Vec::new(),
            pending,
            polls: 0,
            queued: !self.shut,
            cancelled: self.shut,
            done: self.shut.then_some(Outcome::Cancelled),
            join_waker: None,
        });
        if !self.shut {
            self.queue.push_back(i);
        }
    }

    /// The model's side of a wake (from a waker or an abort).
    fn notify(&mut self, i: usize) {
        let t = &mut self.tasks[i];
        if t.done.is_none() && !t.queued {
            t.queued = true;
            self.queue.push_back(i);
        }
    }

    fn finish(&mut self, i: usize, outcome: Outcome) {
        let t = &mut self.tasks[i];
        t.done = Some(outcome);
        if let (Some(w), Some(_)) = (&t.join_waker, &t.handle) {
            assert_eq!(
                w.0.load(Relaxed),
                1,
                "task {i}: join waker woken once at {outcome:?}"
            );
        }
    }

    fn run_next(&mut self) {
        let ran = harness::run_next();
        let Some(i) = self.queue.pop_front() else {
            assert!(!ran, "ran a task the model did not queue");
            return;
        };
        assert!(ran, "task {i} queued in the model, but the queue was empty");
        let t = &mut self.tasks[i];
        t.queued = false;
        if t.cancelled {
            self.finish(i, Outcome::Cancelled);
        } else {
            t.polls += 1;
            if t.pending == 0 {
                let o = if t.ctl.panics {
                    Outcome::Panicked
                } else {
                    Outcome::Output
                };
                self.finish(i, o);
            } else {
                t.pending -= 1;
                if t.ctl.self_wake {
                    t.queued = true;
                    self.queue.push_back(i);
                }
            }
        }
    }

    fn poll_join(&mut self, i: usize) {
        let t = &mut self.tasks[i];
        let Some(h) = t.handle.as_mut() else { return };
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        match Pin::new(h).poll(&mut Context::from_waker(&waker)) {
            Poll::Pending => {
                assert_eq!(t.done, None, "task {i}: join pending after it finished");
                t.join_waker = Some(counter);
            }
            Poll::Ready(res) => {
                let got = match &res {
                    Ok(_) => Outcome::Output,
                    Err(e) if e.is_cancelled() => Outcome::Cancelled,
                    Err(e) if e.is_panic() => Outcome::Panicked,
                    Err(e) => panic!("task {i}: unexpected join error {e:?}"),
                };
                assert_eq!(Some(got), t.done, "task {i}: join result");
                drop(res);
                t.handle = None;
                t.join_waker = None;
            }
        }
    }

    fn shutdown(&mut self) {
        harness::shutdown();
        self.shut = true;
        self.queue.clear();
        for i in 0..self.tasks.len() {
            self.tasks[i].queued = false;
            if self.tasks[i].done.is_none() {
                self.tasks[i].cancelled = true;
                self.finish(i, Outcome::Cancelled);
            }
        }
    }

    /// The checks after every step.
    fn check(&self) {
        assert_eq!(harness::queued(), self.queue.len(), "queue length");
        for (i, t) in self.tasks.iter().enumerate() {
            assert_eq!(t.ctl.polls.load(Relaxed), t.polls, "task {i}: polls");
            let gone = u32::from(t.done.is_some());
            assert_eq!(
                t.ctl.future_drops.load(Relaxed),
                gone,
                "task {i}: future drops"
            );
        }
    }
}

fn step(m: &mut Model, op: u8, arg: u8) {
    let n = m.tasks.len();
    let pick = usize::from(arg) % n.max(1);
    match op % 10 {
        0 | 1 => m.spawn(arg),
        2 | 3 => m.run_next(),
        _ if n == 0 => {}
        4 => {
            // Take a clone of the waker the task last registered.
            let w = m.tasks[pick].ctl.waker.lock().unwrap().clone();
            if let Some(w) = w {
                m.tasks[pick].wakers.push(w);
            }
        }
        5 => {
            // Wake through a held waker: by value (consumes it) or by reference.
            let by_ref = arg & 0x80 != 0;
            if let Some(w) = m.tasks[pick].wakers.pop() {
                if by_ref {
                    w.wake_by_ref();
                    m.tasks[pick].wakers.push(w);
                } else {
                    w.wake();
                }
                m.notify(pick);
            }
        }
        6 => drop(m.tasks[pick].wakers.pop()),
        7 => {
            let t = &mut m.tasks[pick];
            if arg & 0x80 != 0 {
                t.abort.abort();
            } else if let Some(h) = &t.handle {
                h.abort();
            } else {
                return;
            }
            if t.done.is_none() && !t.cancelled {
                t.cancelled = true;
                m.notify(pick);
            }
        }
        8 => {
            if arg & 0x80 != 0 {
                m.tasks[pick].handle = None;
            } else {
                m.poll_join(pick);
            }
        }
        _ => {
            if !m.shut && arg & 0x80 != 0 {
                m.shutdown();
            }
        }
    }
    m.check();
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fail = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PLANNED) {
                fail(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    install_panic_hook();
    let mut m = Model {
        tasks: Vec::new(),
        queue: VecDeque::new(),
        shut: false,
    };
    for pair in data.chunks_exact(2) {
        step(&mut m, pair[0], pair[1]);
    }
    if !m.shut {
        m.shutdown();
        m.check();
    }
    // Drop everything the input held; then every future and output is gone
    // exactly once and nothing is left registered or queued.
    let tasks = std::mem::take(&mut m.tasks);
    let ctls: Vec<_> = tasks.iter().map(|t| (t.ctl.clone(), t.done)).collect();
    for (ctl, _) in &ctls {
        // The waker kept for op 4 holds a task reference (and the cell may hold
        // the output, which holds the `Ctl`): let go of it first.
        drop(ctl.waker.lock().unwrap().take());
    }
    drop(tasks);
    for (i, (ctl, done)) in ctls.iter().enumerate() {
        assert_eq!(ctl.future_drops.load(Relaxed), 1, "task {i}: future drops");
        let outputs = u32::from(*done == Some(Outcome::Output));
        assert_eq!(
            ctl.output_drops.load(Relaxed),
            outputs,
            "task {i}: output drops"
        );
    }
    harness::reset();
});
