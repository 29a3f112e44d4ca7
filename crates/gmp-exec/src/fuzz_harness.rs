//! The task cell under a scheduler that only queues, for the task-state fuzz
//! target (`fuzz/fuzz_targets/tasks.rs`). Built only with `--cfg fuzzing`
//! (cargo-fuzz sets it), hidden, and not part of the API.
//!
//! Why not drive the public API with a one-P runtime: its M is another thread,
//! so what a fuzz input does and when the M runs would interleave differently
//! on every run and the model could only check end states. Here the input's
//! own thread plays the M: [`run_next`] polls the task at the front of the
//! queue (Go's `execute`), a wake queues at the back, and [`shutdown`] is the
//! runtime's sweep (cancel every registered task, then close the queue and
//! release what it held). So every transition of the state word happens at a
//! point the input chose, and the model checks each one as it happens.
//!
//! One scheduler serves the whole process (the cells point at it, so it must
//! outlive them); [`reset`] reopens it between inputs and checks that the
//! previous input left nothing registered or queued.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::task::{self, Header, JoinHandle, Notified, Schedule, TaskRef};

#[derive(Default)]
struct Queues {
    /// Notified references in run order.
    runnable: VecDeque<Notified>,
    /// The registry's reference of every live task, by id.
    registry: HashMap<u64, TaskRef>,
    /// Shut down: new spawns are cancelled, wakes are released.
    closed: bool,
    next_id: u64,
}

struct Sched {
    queues: Mutex<Queues>,
}

fn sched() -> &'static Sched {
    static SCHED: OnceLock<Sched> = OnceLock::new();
    SCHED.get_or_init(|| Sched {
        queues: Mutex::new(Queues::default()),
    })
}

impl Sched {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // A panicking future never holds this lock (no task code runs under
        // it), so poison only follows a failed assertion: keep going.
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Schedule for Sched {
    fn schedule(&self, task: Notified) {
        let mut q = self.lock();
        if q.closed {
            drop(q);
            task.release_closed();
        } else {
            q.runnable.push_back(task);
        }
    }

    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    fn release(&self, task: &Header) -> usize {
        match self.lock().registry.remove(&task.task_id().as_u64()) {
            Some(r) => {
                // The task drops the registry's reference itself.
                std::mem::forget(r);
                1
            }
            None => 0,
        }
    }
}

/// Spawns `future`: registered and queued at the back, or, after
/// [`shutdown`], cancelled at once (as a spawn racing the runtime's sweep).
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let s = sched();
    let id = {
        let mut q = s.lock();
        q.next_id += 1;
        q.next_id
    };
    // SAFETY: the scheduler is a process-wide static, so it outlives every
    // reference to the task.
    let (notified, handle) =
        unsafe { task::new_task(future, NonNull::from(s), id, Location::caller(), None) };
    // SAFETY: `new_task` left the registry's reference for us to hand over.
    let registry_ref = unsafe { TaskRef::from_owned(notified.cell_ptr()) };
    let mut q = s.lock();
    if q.closed {
        drop(q);
        registry_ref.shutdown();
        notified.release_closed();
    } else {
        q.registry.insert(id, registry_ref);
        q.runnable.push_back(notified);
    }
    handle
}

/// Polls (or cancels, if aborted) the task at the front of the queue; false if
/// the queue is empty.
pub fn run_next() -> bool {
    let next = sched().lock().runnable.pop_front();
    match next {
        Some(task) => {
            let _ = task.run();
            true
        }
        None => false,
    }
}

/// How many notified references are queued.
pub fn queued() -> usize {
    sched().lock().runnable.len()
}

/// The runtime's shutdown: every registered task is cancelled (its future
/// dropped now), then the queue is closed and its references released.
pub fn shutdown() {
    let registry: Vec<TaskRef> = {
        let mut q = sched().lock();
        q.closed = true;
        q.registry.drain().map(|(_, r)| r).collect()
    };
    for r in registry {
        r.shutdown();
    }
    let runnable = std::mem::take(&mut sched().lock().runnable);
    for task in runnable {
        task.release_closed();
    }
}

/// Reopens the scheduler for the next input.
///
/// # Panics
///
/// If a task is still registered or queued: the last input leaked it.
pub fn reset() {
    let mut q = sched().lock();
    assert!(
        q.registry.is_empty(),
        "tasks still registered after shutdown: {:?}",
        q.registry.keys().collect::<Vec<_>>()
    );
    assert!(q.runnable.is_empty(), "tasks still queued after shutdown");
    q.closed = false;
}

/// A few fixed scenarios through the harness: miri runs them (`ci/miri.sh`,
/// which sets `--cfg fuzzing`) to check the task cell's unsafe code, and the
/// memory it frees, on the paths the fuzz target explores at random.
#[cfg(test)]
mod tests {
    use std::future::{poll_fn, Future};
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// The harness is one process-wide scheduler: one scenario at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pending until woken `n` times; keeps its last waker in `slot`.
    fn wait_for(
        n: usize,
        slot: Arc<Mutex<Option<Waker>>>,
        drops: Arc<AtomicUsize>,
    ) -> impl Future<Output = usize> + Send {
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Relaxed);
            }
        }
        let guard = OnDrop(drops);
        let mut polls = 0;
        poll_fn(move |cx| {
            let _keep = &guard;
            polls += 1;
            if polls > n {
                return Poll::Ready(polls);
            }
            *slot.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    fn poll_join<T>(h: &mut JoinHandle<T>) -> Poll<Result<T, crate::JoinError>> {
        Pin::new(h).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_woken_task_runs_again_and_its_output_reaches_the_join_handle() {
        let _s = serial();
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = spawn(wait_for(2, slot.clone(), drops.clone()));
        assert!(run_next());
        assert!(poll_join(&mut h).is_pending());
        let w = slot.lock().unwrap().take().unwrap();
        w.wake_by_ref();
        w.wake_by_ref(); // already queued: no second entry
        assert_eq!(queued(), 1);
        assert!(run_next());
        w.wake();
        assert!(run_next());
        assert!(!run_next());
        assert_eq!(drops.load(Relaxed), 1);
        assert!(matches!(poll_join(&mut h), Poll::Ready(Ok(3))));
        drop(slot.lock().unwrap().take());
        shutdown();
        reset();
    }

    #[test]
    fn abort_of_an_idle_task_drops_its_future_when_it_runs() {
        let _s = serial();
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = spawn(wait_for(5, slot.clone(), drops.clone()));
        assert!(run_next());
        h.abort();
        h.abort();
        assert_eq!((queued(), drops.load(Relaxed)), (1, 0));
        assert!(run_next());
        assert_eq!(drops.load(Relaxed), 1);
        // The last waker outlives the task's completion; waking it is a no-op.
        let w = slot.lock().unwrap().take().unwrap();
        w.wake();
        assert_eq!(queued(), 0);
        assert!(matches!(poll_join(&mut h), Poll::Ready(Err(e)) if e.is_cancelled()));
        shutdown();
        reset();
    }

    #[test]
    fn shutdown_cancels_registered_tasks_and_releases_the_queue() {
        let _s = serial();
        let drops = Arc::new(AtomicUsize::new(0));
        let slots: Vec<_> = (0..3).map(|_| Arc::new(Mutex::new(None))).collect();
        let mut handles: Vec<_> = slots
            .iter()
            .map(|s| spawn(wait_for(1, s.clone(), drops.clone())))
            .collect();
        assert!(run_next()); // one parked, two still queued
        drop(handles.pop()); // one nobody will join
        shutdown();
        assert_eq!(drops.load(Relaxed), 3);
        for h in &mut handles {
            assert!(matches!(poll_join(h), Poll::Ready(Err(e)) if e.is_cancelled()));
        }
        // A wake after shutdown is released, not queued.
        let w = slots[0].lock().unwrap().take().unwrap();
        w.wake();
        assert_eq!(queued(), 0);
        reset();
    }

    #[test]
    fn spawn_after_shutdown_is_cancelled_at_once() {
        let _s = serial();
        shutdown();
        let drops = Arc::new(AtomicUsize::new(0));
        let mut h = spawn(wait_for(0, Arc::new(Mutex::new(None)), drops.clone()));
        assert_eq!((queued(), drops.load(Relaxed)), (0, 1));
        assert!(matches!(poll_join(&mut h), Poll::Ready(Err(e)) if e.is_cancelled()));
        reset();
    }
}
