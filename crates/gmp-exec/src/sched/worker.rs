//! An M's life: Go's `mstart`, `schedule`, `execute`, `findrunnable` and
//! `resetspinning`. See the [scheduler essay](super) for the rules; this file
//! is their code.

use std::cell::Cell;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{Relaxed, Release, SeqCst};

use gmp_core::runq::{Pushed, StealRunnext};
use gmp_core::steal_order::FastRand;

use crate::sync::Arc;
use crate::task::alloc::PFree;
use crate::task::{self, JoinHandle, Notified};

use super::idle::M;
use super::{slot_code, PCore, Shared, GLOBAL_QUEUE_INTERVAL, RUNNEXT_STREAK_MAX};

/// The per-thread state of an M while it runs the scheduler (Go's `m` as seen
/// through `getg().m`).
pub(crate) struct Worker {
    shared: Arc<Shared>,
    m: Arc<M>,
    /// The P this M holds (Go's `m.p`), if any.
    p: Cell<Option<usize>>,
    /// Go's `m.spinning`: counted in `nmspinning`.
    spinning: Cell<bool>,
    rand: Cell<FastRand>,
    /// True while the P's state is borrowed (`with_core`): borrows never nest.
    core_borrowed: Cell<bool>,
}

thread_local! {
    /// The worker running on this thread, if it is an M.
    static CURRENT: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

/// Go's `mstart`: runs the scheduler on the calling thread, starting with `p`.
pub(crate) fn run(shared: &Arc<Shared>, m: &Arc<M>, p: usize, spinning: bool) {
    let seed = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let worker = Worker {
        shared: shared.clone(),
        m: m.clone(),
        p: Cell::new(Some(p)),
        spinning: Cell::new(spinning),
        rand: Cell::new(FastRand::new(seed ^ m.id as u64)),
        core_borrowed: Cell::new(false),
    };
    struct Current;
    impl Drop for Current {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(ptr::null()));
        }
    }
    CURRENT.with(|c| c.set(&worker));
    let _current = Current;
    // Task panics are caught in the task harness; anything that unwinds out of
    // the loop is a scheduler bug that may have left a P half-updated.
    let bomb = AbortOnUnwind("the scheduler loop");
    worker.schedule_loop();
    std::mem::forget(bomb);
}

/// Calls `f` with this M's P free cache, or `None` on a thread without a P (or
/// while the P's state is borrowed, e.g. a cell freed from inside a scheduler
/// operation): then memory goes straight back to the system allocator.
#[inline]
pub(crate) fn with_free_cache<R>(f: impl FnOnce(Option<&mut PFree>) -> R) -> R {
    let mut f = Some(f);
    let done = Worker::with_current(|w| match w {
        Some(w) if w.p.get().is_some() && !w.core_borrowed.get() => {
            let f = f.take().expect("called once");
            Some(w.with_core(|core| f(Some(&mut core.free))))
        }
        _ => None,
    });
    match done {
        Some(r) => r,
        None => (f.take().expect("called once"))(None),
    }
}

/// Aborts the process if dropped during unwinding.
struct AbortOnUnwind(&'static str);

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        eprintln!("gmp: panic inside {}; aborting", self.0);
        std::process::abort();
    }
}

impl Worker {
    /// Calls `f` with this thread's worker, if the thread is an M.
    #[inline]
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
        CURRENT.with(|c| {
            let w = c.get();
            // SAFETY: `run` stores a pointer to a worker on its own stack and
            // clears it before that worker is dropped; only this thread reads it.
            f(unsafe { w.as_ref() })
        })
    }

    /// The runtime this M belongs to.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// True if this M holds a P of `shared`'s runtime.
    #[inline]
    pub(crate) fn is_for(&self, shared: &Arc<Shared>) -> bool {
        self.is_for_ptr(shared)
    }

    /// True if this M holds a P of the runtime `shared`.
    #[inline]
    pub(crate) fn is_for_ptr(&self, shared: &Shared) -> bool {
        self.p.get().is_some() && ptr::eq(&*self.shared, shared)
    }

    /// True if this thread is an M of `shared` (with or without a P).
    pub(crate) fn is_m_of(&self, shared: &Shared) -> bool {
        ptr::eq(&*self.shared, shared)
    }

    /// Runs `f` on the state of the P this M holds.
    #[inline]
    fn with_core<R>(&self, f: impl FnOnce(&mut PCore) -> R) -> R {
        let p = self.p.get().expect("a P-core access by an M without a P");
        let nested = self.core_borrowed.replace(true);
        assert!(!nested, "nested P-core borrow");
        // SAFETY: this M holds P `p` (it was handed over by the idle list or
        // `start_m`), the flag above rules out an overlapping borrow, and `f` is
        // one of this crate's closures, which run no user code.
        let r = f(unsafe { self.shared.ps[p].core() });
        self.core_borrowed.set(false);
        r
    }

    /// Go's `newproc` on an M: the new G goes to this P's `runnext`. Gives the
    /// future back if this M holds no P.
    ///
    /// Unlike Go, a spinner is woken only if the push put something in the
    /// ring: a lone `runnext` G is about to run here, and a thief may not take it
    /// before its grace anyway, so waking an M for it costs a futex wake for
    /// nothing (tokio draws the same line at its LIFO slot).
    pub(crate) fn spawn_local<F>(
        &self,
        future: F,
        sched: NonNull<Shared>,
        location: &'static Location<'static>,
    ) -> Result<JoinHandle<F::Output>, F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Some(p) = self.p.get() else {
            return Err(future);
        };
        let shared = &*self.shared;
        let (handle, pushed) = self.with_core(|core| {
            let id = core.goids.next(&shared.goids);
            // SAFETY: `sched` is this runtime's `Shared` (see `Shared::spawn`).
            let (notified, handle) =
                unsafe { task::new_task(future, sched, id, location, Some(&mut core.free)) };
            let index = core
                .registry
                .register(&shared.ps[p].registry, NonNull::from(notified.header()));
            // SAFETY: the task is not published yet.
            unsafe { notified.header().set_registry_slot(slot_code(p, index)) };
            let pushed = core.runq.push_next(notified, &shared.global);
            (handle, pushed)
        });
        if pushed != Pushed::Runnext {
            shared.wake_p();
        }
        Ok(handle)
    }

    /// Go's `ready`: a G woken on this M goes to `runnext` (`next`) or, if it
    /// woke itself while running, to the tail. Gives it back if this M holds no P.
    pub(crate) fn schedule_local(&self, task: Notified, next: bool) -> Option<Notified> {
        self.p.get()?;
        let shared = &*self.shared;
        let pushed = self.with_core(|core| {
            if next {
                core.runq.push_next(task, &shared.global)
            } else {
                core.runq.push_back(task, &shared.global)
            }
        });
        if pushed != Pushed::Runnext {
            shared.wake_p();
        }
        None
    }

    /// Go's `schedule`, forever: find a G, run it.
    fn schedule_loop(&self) {
        loop {
            if self.shared.is_shutdown() {
                return;
            }
            let task = match self.with_core(|core| self.local_next(core)) {
                Some(task) => task,
                None => match self.find_runnable() {
                    Some(task) => task,
                    None => return,
                },
            };
            if self.spinning.get() {
                self.reset_spinning();
            }
            self.execute(task);
        }
    }

    /// The first half of Go's `schedule`: one tick in 61 the global queue, then
    /// `runnext`, then the ring.
    #[inline]
    fn local_next(&self, core: &mut PCore) -> Option<Notified> {
        let shared = &*self.shared;
        core.tick = core.tick.wrapping_add(1);
        if core.tick % GLOBAL_QUEUE_INTERVAL == 0 && !shared.global.is_empty() {
            if let Some((task, _)) = shared.global.grab_into(&mut core.runq, shared.procs(), 1) {
                core.runnext_streak = 0;
                return Some(task);
            }
        }
        match core.runq.pop()? {
            (task, true) => {
                core.runnext_streak += 1;
                if core.runnext_streak <= RUNNEXT_STREAK_MAX {
                    return Some(task);
                }
                // The streak has run long enough: the ring's head goes first.
                core.runnext_streak = 0;
                core.runq.push_back(task, &shared.global);
                core.runq.pop().map(|(task, _)| task)
            }
            (task, false) => {
                core.runnext_streak = 0;
                Some(task)
            }
        }
    }

    /// Go's `execute`: runs the G on this M.
    #[inline]
    fn execute(&self, task: Notified) {
        // Relaxed/Release: `curg` is read by shutdown and diagnostics, which only
        // need to see a G that is (or just was) running here.
        self.m
            .curg
            .store(NonNull::from(task.header()).as_ptr(), Relaxed);
        task.run();
        self.m.curg.store(ptr::null_mut(), Release);
    }

    /// Go's `resetspinning`: this M found work; if it was the last spinner,
    /// another one takes over the search.
    fn reset_spinning(&self) {
        self.spinning.set(false);
        self.shared.idle.nmspinning.fetch_sub(1, SeqCst);
        self.shared.wake_p();
    }

    /// Go's `findrunnable`: local queue, global share, steal, then give up the P
    /// and park. Returns with a P and a G, or `None` at shutdown.
    fn find_runnable(&self) -> Option<Notified> {
        let shared = &*self.shared;
        let procs = shared.procs();
        loop {
            if shared.is_shutdown() {
                return None;
            }
            let me = self.p.get().expect("find_runnable runs with a P");
            let found = self.with_core(|core| {
                if let Some((task, _)) = core.runq.pop() {
                    return Some(task);
                }
                shared
                    .global
                    .grab_into(&mut core.runq, procs, 0)
                    .map(|(task, _)| task)
            });
            if found.is_some() {
                return found;
            }
            if let Some(task) = self.steal(me) {
                return Some(task);
            }

            let was_spinning = self.spinning.replace(false);
            self.p.set(None);
            let (p, spinning) = shared.give_up_p(&self.m, me, was_spinning)?;
            self.p.set(Some(p));
            self.spinning.set(spinning);
        }
    }

    /// The stealing part of `findrunnable`: become a spinning M if the spinning
    /// limit allows, then four passes over the other Ps, `runnext` in the last.
    fn steal(&self, me: usize) -> Option<Notified> {
        let shared = &*self.shared;
        let procs = shared.procs();
        let npidle = shared.idle.npidle.load(Relaxed);
        if procs == 1 || npidle >= procs - 1 {
            // Every other P is idle: there is nobody to steal from.
            return None;
        }
        if !self.spinning.get() {
            let nmspinning = shared.idle.nmspinning.load(Relaxed);
            if 2 * nmspinning >= procs - npidle {
                // Enough Ms are searching already.
                return None;
            }
            self.spinning.set(true);
            shared.idle.nmspinning.fetch_add(1, SeqCst);
        }
        for pass in 0..4 {
            let runnext = if pass == 3 {
                StealRunnext::AfterGrace
            } else {
                StealRunnext::No
            };
            let mut rand = self.rand.get();
            let start = rand.next_u32();
            self.rand.set(rand);
            for victim in shared.order.start(start) {
                if victim == me {
                    continue;
                }
                let stolen = self.with_core(|core| {
                    shared.ps[victim]
                        .stealer
                        .steal_into(&mut core.runq, runnext)
                });
                if let Some((task, _moved)) = stolen {
                    return Some(task);
                }
            }
            if shared.is_shutdown() {
                return None;
            }
        }
        None
    }
}
