//! An M's life: Go's `mstart`, `schedule`, `execute`, `findrunnable` and
//! `resetspinning`. See the [scheduler essay](super) for the rules; this file
//! is their code.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::panic::Location;
use std::ptr::{self};
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::task::Waker;
use std::time::Instant;

use gmp_core::runq::Pushed;
use gmp_core::steal_order::FastRand;

use crate::coop;
use crate::metrics::PStats;
use crate::sync::Arc;
use crate::task::alloc::PFree;
use crate::task::{Notified, TaskRef};
use crate::trace::{self, Kind};

use super::barrier;
use super::m::M;
use super::{PCore, Shared, GLOBAL_QUEUE_INTERVAL, RUNNEXT_STREAK_MAX};

/// The per-thread state of an M while it runs the scheduler (Go's `m` as seen
/// through `getg().m`).
pub(crate) struct Worker {
    pub(super) shared: Arc<Shared>,
    pub(super) m: Arc<M>,
    /// The P this M holds (Go's `m.p`), if any, as this M believes: sysmon may
    /// have taken it, which the next `core()` notices.
    pub(super) p: Cell<Option<usize>>,
    /// The P this M held before it lost it (Go's `m.oldp`): tried first when
    /// it wants one back.
    pub(super) old_p: Cell<Option<usize>>,
    /// Go's `m.spinning`: counted in `nmspinning`.
    pub(super) spinning: Cell<bool>,
    pub(super) rand: Cell<FastRand>,
    /// Polls started (mirrored into `m.ticks` for sysmon).
    pub(super) ticks: Cell<u64>,
    /// When this M started spinning (for the spinning-time metric).
    pub(super) spin_start: Cell<Option<Instant>>,
    /// Bound Gs (started coroutines) woken on this very M: its own mailbox,
    /// with no lock (wakes from other threads use `M::mailbox`).
    pub(super) own_mail: RefCell<VecDeque<Notified>>,
    /// Gs bound to this M, so that shutdown can unwind them on this thread
    /// (the only one their stacks may run on). Completed ones are pruned.
    pub(super) bound: RefCell<Vec<TaskRef>>,
    pub(super) bound_prune_at: Cell<usize>,
    /// Consecutive bound Gs run (bounded, so the P's queue is not starved).
    pub(super) bound_streak: Cell<u32>,
    /// The next round takes the global queue's turn whatever the tick
    /// (`queues_first`, `yielded`).
    pub(super) global_now: Cell<bool>,
    /// A bound G yielded (Go's `Gosched`): the P's queue goes before this M's
    /// mailbox once (`yielded`, `next_bound`).
    pub(super) behind_queue: Cell<bool>,
    /// The G that called `lock_os_thread` (Go's `lockedg`), or 0, or
    /// [`TAINTED`](super::locked::TAINTED): while set, this M runs no G that
    /// is not bound to it (see `locked.rs`).
    pub(super) exclusive: Cell<u64>,
    /// How many `lock_os_thread` calls of the locked G are not undone yet
    /// (Go's `m.lockedExt`).
    pub(super) lock_depth: Cell<u32>,
    /// When this M, holding its P with bound Gs of its own to run, first saw
    /// another M with bound Gs wait for a P (`locked_m_may_want_p`); cleared
    /// when it gets a P and when nobody waits.
    pub(super) slice_start: Cell<Option<Instant>>,
    /// Reused buffers for netpoll and timer batches.
    pub(super) wakers: RefCell<Vec<Waker>>,
    pub(super) batch: RefCell<Vec<Notified>>,
}

/// Exclusive access to the state of the P an M holds, for one scheduler
/// operation (never across user code). Dropping it ends the access.
pub(crate) struct CoreGuard<'a> {
    m: &'a M,
    core: &'a mut PCore,
}

impl std::ops::Deref for CoreGuard<'_> {
    type Target = PCore;
    fn deref(&self) -> &PCore {
        self.core
    }
}

impl std::ops::DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut PCore {
        self.core
    }
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        self.m.leave_core();
    }
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
        p: Cell::new(None),
        old_p: Cell::new(None),
        spinning: Cell::new(spinning),
        rand: Cell::new(FastRand::new(seed ^ m.id as u64)),
        ticks: Cell::new(0),
        spin_start: Cell::new(None),
        own_mail: RefCell::new(VecDeque::new()),
        bound: RefCell::new(Vec::new()),
        bound_prune_at: Cell::new(64),
        bound_streak: Cell::new(0),
        global_now: Cell::new(false),
        behind_queue: Cell::new(false),
        exclusive: Cell::new(0),
        lock_depth: Cell::new(0),
        slice_start: Cell::new(None),
        wakers: RefCell::new(Vec::new()),
        batch: RefCell::new(Vec::new()),
    };
    worker.wire(p);
    if spinning && shared.metrics_on() {
        worker.spin_start.set(Some(Instant::now()));
    }
    struct Current;
    impl Drop for Current {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(ptr::null()));
            // SAFETY: null is always a valid mark.
            unsafe { coop::bind_preempt_mark(ptr::null()) };
        }
    }
    CURRENT.with(|c| c.set(&worker));
    // SAFETY: `worker.m` (an `Arc<M>`) lives until after `_current` below
    // clears the mark again, on every way out of this function.
    unsafe { coop::bind_preempt_mark(&worker.m.preempt) };
    let _current = Current;
    // Task panics are caught in the task harness; anything that unwinds out of
    // the loop is a scheduler bug that may have left a P half-updated.
    let bomb = AbortOnUnwind("the scheduler loop");
    worker.schedule_loop();
    worker.cancel_bound();
    std::mem::forget(bomb);
}

/// Calls `f` with this M's P free cache, or `None` on a thread without a P (or
/// while the P's state is already being accessed, e.g. a cell freed from inside
/// a scheduler operation): then memory goes straight back to the system
/// allocator.
#[inline]
pub(crate) fn with_free_cache<R>(f: impl FnOnce(Option<&mut PFree>) -> R) -> R {
    let mut f = Some(f);
    let done = Worker::with_current(|w| {
        let w = w?;
        if w.m.in_core.load(Relaxed) {
            return None;
        }
        let mut core = w.core()?;
        let f = f.take().expect("called once");
        Some(f(Some(&mut core.free)))
    });
    match done {
        Some(r) => r,
        None => (f.take().expect("called once"))(None),
    }
}

/// Aborts the process if dropped during unwinding.
pub(super) struct AbortOnUnwind(&'static str);

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
        // The pointer is read first and `f` runs outside the thread-local's
        // accessor: a large `f` inside it kept `LocalKey::with` out of line,
        // an indirect call on every yield.
        let w = CURRENT.with(Cell::get);
        // SAFETY: `run` stores a pointer to a worker on its own stack and
        // clears it before that worker is dropped; only this thread reads it.
        f(unsafe { w.as_ref() })
    }

    /// Runs `forget` (taking a completed G out of the registry) behind the
    /// dump gate: while a dump walks the registries, no G leaves them.
    #[inline]
    pub(crate) fn gated_release<R>(&self, forget: impl FnOnce() -> R) -> R {
        let m = &*self.m;
        loop {
            m.in_release.store(true, Relaxed);
            barrier::light_or_fence();
            if !self.shared.dumping.load(Relaxed) {
                break;
            }
            // Release: pairs with the dumper's Acquire wait on `in_release`: the
            // dumper sees this M out of the registry before it walks it.
            m.in_release.store(false, Release);
            // The dumper holds the lock for the whole walk.
            drop(crate::sync::lock(&self.shared.dump_lock));
        }
        let out = forget();
        // Release: pairs with the dumper's Acquire wait on `in_release`.
        m.in_release.store(false, Release);
        out
    }

    /// The id of the G this M is polling (0 between Gs). Called only on
    /// this M's own thread, which wrote it.
    pub(crate) fn current_task_id(&self) -> u64 {
        // Relaxed: this thread is the only writer, so it reads its own store.
        self.m.cur_g.load(Relaxed)
    }

    /// (P, M, current G) for a trace event from this M.
    pub(crate) fn trace_ids(&self) -> (u32, u32, u64) {
        let p = self.p.get().map_or(trace::NO_P, |p| p as u32);
        (p, self.m.id as u32, self.m.cur_g.load(Relaxed))
    }

    /// Counts a G this M completed.
    pub(crate) fn count_completed(&self) {
        self.m.stats.completed.add(1);
    }

    /// Whether sysmon has marked the G running on this M for preemption.
    #[inline]
    pub(crate) fn preempt_marked(&self) -> bool {
        // Relaxed: a hint (sysmon's mark); one poll late only delays a yield.
        self.m.preempt.load(Relaxed)
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

    /// Starts an access to the state of the P this M holds; `None` if it holds
    /// none, or sysmon just took it (which this notices and records).
    #[inline]
    pub(super) fn core(&self) -> Option<CoreGuard<'_>> {
        let p = self.p.get()?;
        if !self.m.enter_core(p) {
            self.lost_p(p);
            return None;
        }
        // SAFETY: this M holds P `p` (handed over by the idle list, `start_m`
        // or a wake) and `enter_core` made sure sysmon has not taken it and
        // cannot hand it on before the guard drops (barrier.rs); the guard never
        // lives across user code, and `enter_core` rules out a nested access.
        let core = unsafe { self.shared.ps[p].core() };
        Some(CoreGuard { m: &self.m, core })
    }

    /// Go's `acquirep`/`wirep`.
    pub(super) fn wire(&self, p: usize) {
        self.shared.ps[p].claim(p, self.m.id);
        self.m.wire(p);
        self.p.set(Some(p));
        self.slice_start.set(None);
    }

    /// Go's `schedule`, forever: find a G, run it.
    fn schedule_loop(&self) {
        loop {
            if self.shared.is_shutdown() {
                return;
            }
            if self.exclusive.get() == super::locked::TAINTED && self.may_exit_tainted() {
                // A G ended locked to this thread, and no G bound here is
                // left: the thread goes with it (Go's `mexit`).
                return;
            }
            // `set_procs` may have taken this M's P out of use (`resize.rs`).
            self.drop_p_out_of_use();
            if self.p.get().is_none() && !self.reacquire_p() {
                // Lost its P in a long poll and none is free: wait for one
                // (Go's `exitsyscall0` → `stopm`).
                match self.shared.stop_m(&self.m) {
                    Some((p, spinning)) => {
                        self.wire(p);
                        self.resume_spinning(spinning);
                    }
                    None => return,
                }
            }
            let Some(mut core) = self.core() else {
                continue;
            };
            let p = self.p.get().expect("core() implies a P");
            if let Some(when) = self.shared.netpoll.next_deadline_of(p) {
                if when <= self.shared.clock.now() {
                    // Go's `checkTimers`: this P's due timers fire first.
                    drop(core);
                    self.check_timers(p);
                    continue;
                }
            }
            if core.tick % GLOBAL_QUEUE_INTERVAL == 0 && self.locked_m_may_want_p() {
                // Outside the P-state access: handing the P on takes the M's
                // `p_lock`, which a retake holds while it waits for that
                // access to end.
                drop(core);
                if self.serve_locked_m(p) {
                    // Our P went to an M whose bound Gs waited for one.
                    continue;
                }
                let Some(c) = self.core() else {
                    continue;
                };
                core = c;
            }
            core.tick = core.tick.wrapping_add(1);
            let next = match self.global_turn(&mut core, p) {
                Some(task) => Some(task),
                None => match self.next_bound(&mut core, p) {
                    Some(task) => Some(task),
                    None if self.exclusive.get() != 0 => None,
                    None => self.local_next(&mut core, p),
                },
            };
            drop(core);
            if next.is_none() && self.exclusive.get() != 0 {
                // Locked to a G that is not runnable: run nothing else, give
                // the P away and wait for that G (Go's `stoplockedm`).
                self.stop_locked();
                continue;
            }
            let task = match next {
                Some(task) => task,
                None => match self.find_runnable() {
                    Some(task) => task,
                    None => continue,
                },
            };
            if self.spinning.get() {
                self.reset_spinning();
            }
            self.execute(task);
        }
    }

    /// The first step of Go's `schedule`: one round in 61 the global queue goes
    /// first, before this M's bound Gs and the P's own queue, so that neither a
    /// coroutine that yields forever nor local respawning can starve the Gs
    /// spawned from outside or woken by the netpoller (sysmon injects those
    /// there when every M is busy).
    #[inline]
    fn global_turn(&self, core: &mut PCore, p: usize) -> Option<Notified> {
        let shared = &*self.shared;
        let turn = core.tick % GLOBAL_QUEUE_INTERVAL == 0 || self.global_now.replace(false);
        if !turn || self.exclusive.get() != 0 || shared.global.is_empty() {
            return None;
        }
        let (task, n) = shared.global.grab_into(&mut core.runq, shared.procs(), 1)?;
        core.runnext_streak = 0;
        if let Some(s) = self.stats(p) {
            s.grabbed.add(n as u64);
            s.polls.add(1);
        }
        Some(task)
    }

    /// The rest of Go's `schedule` on the P's own queue: `runnext`, then the
    /// ring.
    #[inline]
    fn local_next(&self, core: &mut PCore, p: usize) -> Option<Notified> {
        let shared = &*self.shared;
        let stats = self.stats(p);
        let task = match core.runq.pop()? {
            (task, true) => {
                core.runnext_streak += 1;
                if core.runnext_streak <= RUNNEXT_STREAK_MAX {
                    if let Some(s) = stats {
                        s.runnext_hits.add(1);
                    }
                    task
                } else {
                    // The streak has run long enough: the ring's head goes first.
                    core.runnext_streak = 0;
                    let pushed = core.runq.push_back(task, &shared.global);
                    if let (Some(s), Pushed::Overflow(n)) = (stats, pushed) {
                        s.overflows.add(1);
                        s.overflowed.add(n as u64);
                    }
                    core.runq.pop()?.0
                }
            }
            (task, false) => {
                core.runnext_streak = 0;
                task
            }
        };
        if let Some(s) = stats {
            s.polls.add(1);
        }
        Some(task)
    }

    /// This P's counters, unless metrics are off. Written only by the M that
    /// holds P `p`, right after its P-state access.
    #[inline]
    pub(super) fn stats(&self, p: usize) -> Option<&PStats> {
        self.shared.metrics_on().then(|| &self.shared.ps[p].stats)
    }

    /// The P this M holds, if any (as it believes; see `p`).
    #[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
    pub(crate) fn current_p(&self) -> Option<usize> {
        self.p.get()
    }

    pub(crate) fn m_id(&self) -> usize {
        self.m.id
    }

    /// Go's `execute`: runs the G on this M.
    #[inline]
    fn execute(&self, task: Notified) {
        let m = &*self.m;
        // A traced poll's start time is taken before `ticks` moves: sysmon
        // retakes a poll by its `ticks`, so its retake event comes after this
        // time, and the exporter can move the rest of the poll off the P's
        // track (without this, an M descheduled between the `revoked` check
        // below and the event drew its poll over the P's next M).
        let traced_at = trace::on().then(Instant::now);
        let ticks = self.ticks.get() + 1;
        self.ticks.set(ticks);
        // Relaxed: sysmon reads these as hints (a stale value only delays it
        // by one look); `cur_g` is published last with Release.
        m.ticks.store(ticks, Relaxed);
        m.cur_loc.store(
            (task.header().location as *const Location<'static>).cast_mut(),
            Relaxed,
        );
        m.cur_g.store(task.header().id, Release);
        if m.preempt.load(Relaxed) {
            m.preempt.store(false, Relaxed);
        }
        coop::reset();
        if let Some(at) = traced_at {
            let (mut p, mi, _) = self.trace_ids();
            // sysmon may have taken the P while this M was on its way here
            // (a retake goes by `ticks`, and the last poll's count stood
            // still): then this poll runs on the M's own track, as the rest of
            // a retaken poll does. Checked after `ticks` moved; a retake
            // that this check misses is recorded after `at` (above).
            if m.revoked.load(Relaxed) == p as usize {
                p = trace::NO_P;
            }
            let g = task.header().id;
            let loc = task.header().location as *const Location<'static> as u64;
            trace::record_at(at, Kind::PollStart, self.shared.id, p, mi, g, 0, loc);
            let how = task.run();
            let (p, mi, _) = self.trace_ids();
            trace::record(Kind::PollEnd, self.shared.id, p, mi, g, how, 0);
            self.after_poll(g, how);
        } else {
            let g = task.header().id;
            let how = task.run();
            self.after_poll(g, how);
        }
        if m.in_syscall.load(Relaxed) {
            // A coroutine G parked inside `syscall` (see there).
            m.in_syscall.store(false, Relaxed);
        }
        // Release: pairs with sysmon's Acquire load: the poll's end is seen
        // after everything the poll did to the M's fields.
        m.cur_g.store(0, Release);
    }

    /// Go's `resetspinning`: this M found work; if it was the last spinner,
    /// another one takes over the search.
    fn reset_spinning(&self) {
        self.stop_spinning();
        self.shared.idle.spinning_stopped();
        self.shared.wake_p();
    }

    /// Becomes a spinning M (counted in `nmspinning`).
    pub(super) fn start_spinning(&self) {
        self.spinning.set(true);
        self.shared.idle.spinning_started();
        if self.shared.metrics_on() {
            self.spin_start.set(Some(Instant::now()));
        }
    }

    /// Takes on the spinning state a P was handed over with (already counted
    /// in `nmspinning` by whoever handed it).
    pub(super) fn resume_spinning(&self, spinning: bool) {
        self.spinning.set(spinning);
        if spinning && self.shared.metrics_on() {
            self.spin_start.set(Some(Instant::now()));
        }
    }

    /// Stops spinning (the caller fixes `nmspinning`); returns whether it was.
    pub(super) fn stop_spinning(&self) -> bool {
        if let Some(start) = self.spin_start.take() {
            self.m
                .stats
                .spinning_ns
                .add(start.elapsed().as_nanos() as u64);
        }
        self.spinning.replace(false)
    }
}
