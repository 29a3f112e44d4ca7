//! Parking and readying Gs: Go's `gopark` and `goready` for async Gs.
//!
//! A G parks by returning `Pending` from its poll: the task harness
//! (`task/cell.rs`) turns its state to idle, and its wakers hold it. A wake
//! is `goready`: the waker calls [`Schedule::schedule`] here, which puts the
//! G in the `runnext` slot of the waking M's P (Go's `ready` →
//! `runqput(pp, gp, next=true)`), on the global queue from a thread without
//! a P, or in its M's mailbox if it is bound to one
//! ([`locked`](super::locked)). A G woken while it runs (a yield) goes to the
//! tail of the ring instead (Go's `goschedImpl` puts it on the global queue;
//! the local tail keeps it on its warm P).

use gmp_core::runq::Pushed;

use crate::sync::{lock, Arc};
use crate::task::alloc::PFree;
use crate::task::{Header, Notified, Schedule};
use crate::trace::{self, Kind};

use super::worker::Worker;
use super::Shared;

impl Schedule for Shared {
    #[inline]
    fn with_free_cache<R>(f: impl FnOnce(Option<&mut PFree>) -> R) -> R {
        super::worker::with_free_cache(f)
    }

    fn schedule(&self, task: Notified) {
        if trace::on() {
            self.trace_wake(&task);
        }
        if let Some(m) = task.header().bound_m() {
            return self.schedule_bound(m, task);
        }
        let Some(task) = self.try_collect(task) else {
            return;
        };
        let task = Worker::with_current(|w| match w {
            Some(w) if w.is_for_ptr(self) => w.schedule_local(task, true),
            _ => Some(task),
        });
        if let Some(task) = task {
            let _alive = self.keep_alive();
            self.inject(task);
        }
    }

    fn yield_now(&self, task: Notified) {
        if trace::on() {
            self.trace_wake(&task);
        }
        if let Some(m) = task.header().bound_m() {
            return self.schedule_bound(m, task);
        }
        let task = Worker::with_current(|w| match w {
            Some(w) if w.is_for_ptr(self) => w.schedule_local(task, false),
            _ => Some(task),
        });
        if let Some(task) = task {
            let _alive = self.keep_alive();
            self.inject(task);
        }
    }

    fn keep_running(&self, task: Notified) -> Result<(), Notified> {
        let Some(m) = task.header().bound_m() else {
            return Err(task);
        };
        Worker::with_current(|w| match w {
            Some(w) if w.is_m_of(self) && w.m_id() == m => {
                if trace::on() {
                    self.trace_wake(&task);
                }
                if w.preempt_marked() {
                    w.queues_first();
                } else {
                    w.yielded();
                }
                w.mail_own(task);
                Ok(())
            }
            _ => Err(task),
        })
    }

    fn release(&self, task: &Header) -> usize {
        let code = task.registry_slot();
        if code == crate::task::SLOT_MASK {
            return 0;
        }
        let (registry, index) = self.registry(code);
        let forget = || {
            if task.state.load().is_named() {
                lock(&self.names).remove(&task.id);
            }
            usize::from(registry.forget(index, task))
        };
        Worker::with_current(|w| match w {
            Some(w) if w.is_m_of(self) => {
                let refs = w.gated_release(forget);
                if self.metrics_on() {
                    w.count_completed();
                }
                refs
            }
            _ => {
                // Not on an M: only shutdown's sweep, which excludes dumps by
                // holding the dump lock.
                if self.metrics_on() {
                    self.stats.other_completed.add(1);
                }
                forget()
            }
        })
    }

    fn unhandled_panic(&self) {
        if self.config.abort_on_panic {
            eprintln!("gmp: a task panicked and the runtime's panic policy is abort");
            std::process::abort();
        }
    }
}

impl Shared {
    /// A strong count on this `Shared`, held by a wake that did not come from
    /// one of its Ms across the hand-over of its G and what follows it.
    ///
    /// Shutdown waits for such a wake only until its G is handed over (step 5
    /// in `shutdown.rs`: it waits for `NOTIFIED` to clear, and the drain of a
    /// queue clears it). The waker then still reads `self` (`wake_p` after
    /// the push, `wake_locked_m` after the mail), and a runtime dropped in
    /// between would be freed under it: ThreadSanitizer caught exactly that in
    /// `tests/stress.rs`. An M needs no such count: shutdown joins it first.
    /// The cost is one uncontended increment and decrement on a wake from
    /// outside, a path that already pushes to the shared global queue.
    pub(super) fn keep_alive(&self) -> Arc<Shared> {
        let ptr: *const Shared = self;
        // SAFETY: every `Shared` lives in the `Arc` that `Shared::new` made
        // and is never moved out of it, so `ptr` is that `Arc`'s pointer. The
        // count is not zero: the caller holds a notified reference not yet
        // handed over, and shutdown, which every `Runtime` drop runs before
        // its last `Arc` goes, waits for it (see above).
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// Traces a wake of `task` from this thread.
    #[cold]
    fn trace_wake(&self, task: &Notified) {
        let (p, m, by) = Worker::with_current(|w| match w {
            Some(w) if w.is_m_of(self) => w.trace_ids(),
            _ => (trace::NO_P, trace::NO_P, 0),
        });
        trace::record(Kind::Wake, self.id, p, m, task.header().id, by, 0);
    }
}

impl Worker {
    /// Go's `ready`: a G woken on this M goes to `runnext` (`next`) or, if it
    /// woke itself while running, to the tail. Gives it back if this M holds no P.
    pub(crate) fn schedule_local(&self, task: Notified, next: bool) -> Option<Notified> {
        let Some(mut core) = self.core() else {
            return Some(task);
        };
        let shared = &*self.shared;
        let pushed = if self.keep_next(next) {
            core.runq.push_next(task, &shared.global)
        } else {
            core.runq.push_back(task, &shared.global)
        };
        // Inside the P-state access, as in `spawn_local`.
        if let Some(stats) = self.p.get().and_then(|p| self.stats(p)) {
            stats.count_push(pushed);
        }
        drop(core);
        if pushed != Pushed::Runnext {
            shared.wake_p();
        }
        None
    }

    /// Whether a G headed for `runnext` goes there. Always, except under
    /// `--cfg gmp_randomize`, where a coin sends it to the ring's tail instead
    /// (Go's `randomizeScheduler` in `runqput`, on under its race detector):
    /// code that assumes a spawned or woken G runs next fails there.
    #[inline(always)]
    pub(super) fn keep_next(&self, next: bool) -> bool {
        #[cfg(gmp_randomize)]
        if next {
            let mut rand = self.rand.get();
            let heads = rand.next_u32() & 1 == 0;
            self.rand.set(rand);
            return heads;
        }
        next
    }
}
