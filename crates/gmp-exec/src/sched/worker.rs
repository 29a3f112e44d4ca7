//! An M's life: Go's `mstart`, `schedule`, `execute`, `findrunnable` and
//! `resetspinning`. See the [scheduler essay](super) for the rules; this file
//! is their code.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{Relaxed, Release, SeqCst};
use std::task::Waker;
use std::time::Instant;

use gmp_core::runq::{Pushed, StealRunnext};
use gmp_core::steal_order::FastRand;

use crate::coop;
use crate::metrics::PStats;
use crate::sync::Arc;
use crate::task::alloc::PFree;
use crate::task::{self, JoinHandle, Notified, TaskRef};
use crate::trace::{self, Kind};

use super::barrier;
use super::idle::{GiveP, M, NO_P};
use super::{
    slot_code, PCore, Shared, BOUND_STREAK_MAX, GLOBAL_QUEUE_INTERVAL, RUNNEXT_STREAK_MAX,
};

/// The per-thread state of an M while it runs the scheduler (Go's `m` as seen
/// through `getg().m`).
pub(crate) struct Worker {
    shared: Arc<Shared>,
    m: Arc<M>,
    /// The P this M holds (Go's `m.p`), if any, as this M believes: sysmon may
    /// have taken it, which the next `core()` notices.
    p: Cell<Option<usize>>,
    /// The P this M held before it lost it (Go's `m.oldp`): tried first when
    /// it wants one back.
    old_p: Cell<Option<usize>>,
    /// Go's `m.spinning`: counted in `nmspinning`.
    spinning: Cell<bool>,
    rand: Cell<FastRand>,
    /// Polls started (mirrored into `m.ticks` for sysmon).
    ticks: Cell<u64>,
    /// When this M started spinning (for the spinning-time metric).
    spin_start: Cell<Option<Instant>>,
    /// Bound Gs (started coroutines) woken on this very M: its own mailbox,
    /// with no lock (wakes from other threads use `M::mailbox`).
    own_mail: RefCell<VecDeque<Notified>>,
    /// Gs bound to this M, so that shutdown can unwind them on this thread
    /// (the only one their stacks may run on). Completed ones are pruned.
    bound: RefCell<Vec<TaskRef>>,
    bound_prune_at: Cell<usize>,
    /// Consecutive bound Gs run (bounded, so the P's queue is not starved).
    bound_streak: Cell<u32>,
    /// The next round takes the global queue's turn whatever the tick
    /// (`queues_first`, `yielded`).
    global_now: Cell<bool>,
    /// A bound G yielded (Go's `Gosched`): the P's queue goes before this M's
    /// mailbox once (`yielded`, `next_bound`).
    behind_queue: Cell<bool>,
    /// The G that called `lock_os_thread` (Go's `lockedg`), or 0: while set,
    /// this M runs no other G.
    exclusive: Cell<u64>,
    /// Reused buffers for netpoll and timer batches.
    wakers: RefCell<Vec<Waker>>,
    batch: RefCell<Vec<Notified>>,
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

/// `gmp::block_in_place`: Go's `entersyscallblock`. The M hands its P to
/// another M at once, runs `f` without one, then takes a P back (its old one if
/// idle, else any idle one; if none is free, the rest of the current poll runs
/// without a P and the M waits for one when the poll returns).
///
/// In a coroutine G, `f` may park the G (a `coro::sleep`, a blocking-style
/// read on a gmp socket): the poll then returns to this M's scheduler without
/// a P, which takes one before it runs anything else, and the G resumes later
/// on this M holding that P. So a P is taken back only if the M holds none
/// when `f` returns: wiring a second one over it would lose the first for good.
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    let handed_off = Worker::with_current(|w| w.is_some_and(Worker::hand_off_p));
    let out = f();
    if handed_off {
        Worker::with_current(|w| {
            if let Some(w) = w {
                if w.p.get().is_none() {
                    w.reacquire_p();
                }
            }
        });
    }
    out
}

/// `gmp::syscall`: Go's `entersyscall`/`exitsyscall`. The M keeps its P while
/// `f` runs; if `f` outlasts a sysmon look, sysmon hands the P to another M,
/// and this M takes one back when `f` returns.
///
/// A coroutine G whose `f` parks leaves the mark behind when its poll returns;
/// `execute` clears it there, so the M's other Gs do not run as if in a
/// syscall (the rest of `f`, after the G resumes, runs unmarked).
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    let marked = Worker::with_current(|w| match w {
        Some(w) if w.p.get().is_some() => {
            w.m.in_syscall.store(true, Relaxed);
            true
        }
        _ => false,
    });
    let out = f();
    if marked {
        Worker::with_current(|w| {
            if let Some(w) = w {
                w.m.in_syscall.store(false, Relaxed);
                // The fast path is this one load; if sysmon took the P, `core`
                // notices and we take one back now, before user code goes on.
                if w.m.revoked.load(Relaxed) != NO_P && w.core().is_none() {
                    w.reacquire_p();
                }
            }
        });
    }
    out
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
    fn core(&self) -> Option<CoreGuard<'_>> {
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
    fn wire(&self, p: usize) {
        self.shared.ps[p].claim(p, self.m.id);
        self.m.wire(p);
        self.p.set(Some(p));
    }

    /// sysmon took P `p` (it hands it on itself).
    #[cold]
    fn lost_p(&self, p: usize) {
        self.m.acknowledge_revoked();
        self.p.set(None);
        self.old_p.set(Some(p));
        if self.stop_spinning() {
            self.shared.idle.nmspinning.fetch_sub(1, SeqCst);
        }
    }

    /// The start of `block_in_place`: gives the P to another M. False if this
    /// M held none.
    fn hand_off_p(&self) -> bool {
        let Some(p) = self.p.get() else {
            return false;
        };
        self.p.set(None);
        self.old_p.set(Some(p));
        if self.m.unwire(p) {
            self.shared.ps[p].disown(p, self.m.id);
            self.shared.handoff_p(p);
        }
        true
    }

    /// Go's `exitsyscall`: takes back the old P if it is idle, else any idle P.
    /// False if none is free.
    fn reacquire_p(&self) -> bool {
        if let Some(old) = self.old_p.take() {
            if self.shared.take_idle_p(old) {
                self.wire(old);
                return true;
            }
        }
        match self.shared.acquire_idle_p() {
            Some(p) => {
                self.wire(p);
                true
            }
            None => false,
        }
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
        name: Option<&str>,
    ) -> Result<JoinHandle<F::Output>, F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Some(mut core) = self.core() else {
            return Err(future);
        };
        let p = self.p.get().expect("core() implies a P");
        let shared = &*self.shared;
        let id = core.goids.next(&shared.goids);
        // SAFETY: `sched` is this runtime's `Shared` (see `Shared::spawn`).
        let (notified, handle) =
            unsafe { task::new_task(future, sched, id, location, Some(&mut core.free)) };
        let index = core
            .registry
            .register(&shared.ps[p].registry, notified.cell_ptr());
        // SAFETY: the task is not published yet.
        unsafe { notified.header().set_registry_slot(slot_code(p, index)) };
        if let Some(name) = name {
            shared.name_task(notified.header(), name);
        }
        if trace::on() {
            let loc = location as *const Location<'static> as u64;
            let parent = self.m.cur_g.load(Relaxed);
            trace::record(
                Kind::Created,
                shared.id,
                p as u32,
                self.m.id as u32,
                id,
                parent,
                loc,
            );
        }
        let pushed = if self.keep_next(true) {
            core.runq.push_next(notified, &shared.global)
        } else {
            core.runq.push_back(notified, &shared.global)
        };
        // Counted inside the P-state access: once it ends, sysmon may hand the
        // P to another M, which then writes these single-writer counters.
        if let Some(stats) = self.stats(p) {
            stats.spawned.add(1);
            stats.count_push(pushed);
        }
        drop(core);
        if pushed != Pushed::Runnext {
            shared.wake_p();
        }
        Ok(handle)
    }

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
    fn keep_next(&self, next: bool) -> bool {
        #[cfg(gmp_randomize)]
        if next {
            let mut rand = self.rand.get();
            let heads = rand.next_u32() & 1 == 0;
            self.rand.set(rand);
            return heads;
        }
        next
    }

    /// Go's `schedule`, forever: find a G, run it.
    fn schedule_loop(&self) {
        loop {
            if self.shared.is_shutdown() {
                return;
            }
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
                if when <= Instant::now() {
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
    fn stats(&self, p: usize) -> Option<&PStats> {
        self.shared.metrics_on().then(|| &self.shared.ps[p].stats)
    }

    /// A bound G (a started coroutine) of this M, if one is runnable: its own
    /// mailbox, then the one other threads post to. After `BOUND_STREAK_MAX`
    /// in a row the P's queue goes first once, so yielding coroutines cannot
    /// starve it.
    ///
    /// Right after a bound G yielded (`yielded`), the P's queue goes first
    /// once too, if it holds a G: the yielding G waits behind it, as Go's
    /// `Gosched` puts it behind the runnable Gs (on the global queue).
    fn next_bound(&self, core: &mut PCore, p: usize) -> Option<Notified> {
        if self.behind_queue.replace(false) && !core.runq.is_empty() && self.exclusive.get() == 0 {
            return None;
        }
        if self.bound_streak.get() >= BOUND_STREAK_MAX && self.exclusive.get() == 0 {
            self.bound_streak.set(0);
            if !core.runq.is_empty() {
                return None;
            }
            if let Some(task) = self.steal_beside_bound(core, p) {
                return Some(task);
            }
        }
        self.take_bound()
    }

    /// An M busy with its bound Gs never runs out of work, so it never reaches
    /// `find_runnable`'s steal; yet a burst of unstarted coroutines queued on
    /// another P is placed for good by whichever M starts them. So once per
    /// `BOUND_STREAK_MAX` bound polls, with its own queue empty, it takes one
    /// steal pass too: the Ms that start coroutines share the burst.
    fn steal_beside_bound(&self, core: &mut PCore, me: usize) -> Option<Notified> {
        if self.shared.procs() == 1 {
            return None;
        }
        for victim in self.random_victims() {
            if victim == me {
                continue;
            }
            if let Some((task, moved)) = self.steal_from(core, me, victim, StealRunnext::No) {
                self.trace_steal(victim, moved);
                return Some(task);
            }
        }
        None
    }

    /// Every P, from a random start (Go's `stealOrder.start(fastrand())`).
    fn random_victims(&self) -> gmp_core::steal_order::StealWalk {
        let mut rand = self.rand.get();
        let start = rand.next_u32();
        self.rand.set(rand);
        self.shared.order.start(start)
    }

    /// Steals from P `victim` into this M's P `me`, inside its P-state access
    /// `core`, and counts it there (as `spawn_local` does): the first G and
    /// how many moved.
    fn steal_from(
        &self,
        core: &mut PCore,
        me: usize,
        victim: usize,
        runnext: StealRunnext,
    ) -> Option<(Notified, usize)> {
        let stolen = self.shared.ps[victim]
            .stealer
            .steal_into(&mut core.runq, runnext)?;
        if let Some(s) = self.stats(me) {
            s.steals.add(1);
            s.stolen_in.add(stolen.1 as u64);
            s.polls.add(1);
        }
        Some(stolen)
    }

    fn trace_steal(&self, victim: usize, moved: usize) {
        if trace::on() {
            let (p, m, _) = self.trace_ids();
            trace::record(
                Kind::Steal,
                self.shared.id,
                p,
                m,
                0,
                victim as u64,
                moved as u64,
            );
        }
    }

    /// The next runnable bound G of this M, ignoring the streak limit.
    fn take_bound(&self) -> Option<Notified> {
        let exclusive = self.exclusive.get();
        let mut mail = self.own_mail.borrow_mut();
        // Gs woken on other threads join the back of the line: taken only
        // when the own mailbox ran dry, they waited forever behind a
        // coroutine that yields in a loop.
        self.m.take_all_mail(&mut mail);
        let task = if exclusive == 0 {
            mail.pop_front()
        } else {
            // Locked to one G: that one first. While it waits, the other Gs
            // bound here run (they can run on no other thread, and the locked
            // G may be waiting for one of them: parking them until the lock
            // ended deadlocked); Gs that are not bound never do.
            match mail.iter().position(|t| t.header().id == exclusive) {
                Some(i) => mail.remove(i),
                None => mail.pop_front(),
            }
        };
        self.m.own_mail_len.store(mail.len(), Relaxed);
        let task = task?;
        self.bound_streak.set(self.bound_streak.get() + 1);
        Some(task)
    }

    /// Every 61 ticks: if an M with bound Gs waits for a P and this M has none
    /// runnable of its own, hand it this P (Go's `startlockedm`). True if the P
    /// went.
    fn serve_locked_m(&self, p: usize) -> bool {
        match self.shared.give_p_to_locked_m(&self.m, p) {
            GiveP::Kept => false,
            GiveP::Given => {
                self.p.set(None);
                self.old_p.set(Some(p));
                true
            }
            // sysmon took it first (and hands it on): as in `core()`.
            GiveP::Revoked => {
                self.lost_p(p);
                true
            }
        }
    }

    /// Whether an M with bound Gs waits for a P and this M could give it
    /// one: it has no bound G of its own runnable, nor one it is locked to.
    fn locked_m_may_want_p(&self) -> bool {
        self.shared.idle.lockedm_waiting.load(Relaxed) != 0
            && self.own_mail.borrow().is_empty()
            && self.m.mailbox_len.load(Relaxed) == 0
            && self.exclusive.get() == 0
    }

    /// `lock_os_thread`'s wait: the locked G is not runnable, so give the P
    /// away and park until the G is mailed to this M.
    fn stop_locked(&self) {
        let Some(p) = self.p.get() else {
            return;
        };
        self.p.set(None);
        self.old_p.set(Some(p));
        if self.m.unwire(p) {
            self.shared.ps[p].disown(p, self.m.id);
            self.shared.handoff_p(p);
        }
        if let Some((p, spinning)) = self.shared.stop_locked_m(&self.m) {
            self.wire(p);
            self.resume_spinning(spinning);
        }
    }

    /// After a poll: a G that finished releases a `lock_os_thread`.
    #[inline]
    fn after_poll(&self, g: u64, how: u64) {
        if self.exclusive.get() == g && how != trace::end::PENDING && how != trace::end::YIELD {
            self.exclusive.set(0);
        }
    }

    /// Binds the G being polled to this M for good (a coroutine's first
    /// suspension), and remembers it so shutdown can unwind it here.
    pub(crate) fn bind_current_task(&self) -> u64 {
        let ptr = task::current::ptr();
        let ptr =
            NonNull::new(ptr.cast_mut()).expect("a G can only be bound to an M while it runs");
        // SAFETY: `current::ptr` is the G this M is polling right now: alive.
        let header = unsafe { ptr.as_ref() };
        header.bind_to_m(self.m.id);
        header.state.ref_inc();
        // SAFETY: we just took that reference. `ptr`, not one made from
        // `header`, so it keeps the whole cell's provenance.
        let task = unsafe { TaskRef::from_owned(ptr) };
        let mut bound = self.bound.borrow_mut();
        bound.push(task);
        if bound.len() >= self.bound_prune_at.get() {
            bound.retain(|t| !t.header().state.load().is_complete());
            self.bound_prune_at.set((bound.len() * 2).max(64));
        }
        header.id
    }

    /// `lock_os_thread`: the G being polled runs only on this M, and this M
    /// runs no other G until it finishes or calls `unlock_os_thread`, but for
    /// the Gs already bound to it (started coroutines), while the locked G
    /// waits (`take_bound`).
    pub(crate) fn lock_current_task(&self) {
        let header = task::current::ptr();
        assert!(!header.is_null(), "lock_os_thread called outside a G");
        // SAFETY: as in `bind_current_task`.
        let h = unsafe { &*header };
        if h.bound_m().is_none() {
            self.bind_current_task();
        }
        self.exclusive.set(h.id);
    }

    /// `unlock_os_thread`.
    pub(crate) fn unlock_current_task(&self) {
        self.exclusive.set(0);
    }

    /// A bound G that yields after sysmon marked it (Go's `gopreempt_m`, which
    /// puts the G on the global queue): its M cannot give it away, so the
    /// queues go first instead — the global queue's turn and the P's queue
    /// come before this M's bound Gs in the next round. (sysmon also hands the
    /// P on when Gs wait, where it can: this covers the rest.)
    pub(crate) fn queues_first(&self) {
        self.bound_streak.set(BOUND_STREAK_MAX);
        self.global_now.set(true);
    }

    /// A bound G of this M yielded (`coro::yield_now`, Go's `Gosched`): it
    /// goes to this M's mailbox, where it would run before the P's queue; so
    /// the next round serves the global queue and then the P's queue first,
    /// one G each, before the mailbox. Two flags, no atomics: the yield
    /// benchmark's cost stays where it was.
    pub(crate) fn yielded(&self) {
        self.behind_queue.set(true);
        self.global_now.set(true);
    }

    /// Queues a bound G woken on this very M (no lock).
    pub(crate) fn mail_own(&self, task: Notified) {
        let mut mail = self.own_mail.borrow_mut();
        mail.push_back(task);
        self.m.own_mail_len.store(mail.len(), Relaxed);
    }

    /// The P this M holds, if any (as it believes; see `p`).
    pub(crate) fn current_p(&self) -> Option<usize> {
        self.p.get()
    }

    pub(crate) fn m_id(&self) -> usize {
        self.m.id
    }

    /// At exit: tears down, on this thread, every G bound to this M that has
    /// not finished (their stacks cannot run anywhere else).
    fn cancel_bound(&self) {
        // Dropping a G may wake another bound here: take mail until none is left.
        loop {
            let mut mail = std::mem::take(&mut *self.own_mail.borrow_mut());
            self.m.take_all_mail(&mut mail);
            self.m.own_mail_len.store(0, Relaxed);
            if mail.is_empty() {
                break;
            }
            drop(mail);
        }
        let bound: Vec<TaskRef> = self.bound.borrow_mut().drain(..).collect();
        for task in bound {
            if task.header().state.load().is_complete() {
                drop(task);
            } else {
                task.shutdown();
            }
        }
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
        m.cur_g.store(0, Release);
    }

    /// Go's `resetspinning`: this M found work; if it was the last spinner,
    /// another one takes over the search.
    fn reset_spinning(&self) {
        self.stop_spinning();
        self.shared.idle.nmspinning.fetch_sub(1, SeqCst);
        self.shared.wake_p();
    }

    /// Becomes a spinning M (counted in `nmspinning`).
    fn start_spinning(&self) {
        self.spinning.set(true);
        self.shared.idle.nmspinning.fetch_add(1, SeqCst);
        if self.shared.metrics_on() {
            self.spin_start.set(Some(Instant::now()));
        }
    }

    /// Takes on the spinning state a P was handed over with (already counted
    /// in `nmspinning` by whoever handed it).
    fn resume_spinning(&self, spinning: bool) {
        self.spinning.set(spinning);
        if spinning && self.shared.metrics_on() {
            self.spin_start.set(Some(Instant::now()));
        }
    }

    /// Stops spinning (the caller fixes `nmspinning`); returns whether it was.
    fn stop_spinning(&self) -> bool {
        if let Some(start) = self.spin_start.take() {
            self.m
                .stats
                .spinning_ns
                .add(start.elapsed().as_nanos() as u64);
        }
        self.spinning.replace(false)
    }

    /// Go's `findrunnable`: local queue, global share, steal, then give up the P
    /// and park. Returns a G to run, or `None` to go back to the top of the
    /// loop (the P was lost, or the runtime is shutting down).
    fn find_runnable(&self) -> Option<Notified> {
        let shared = &*self.shared;
        let procs = shared.procs();
        loop {
            if shared.is_shutdown() {
                return None;
            }
            let me = self.p.get()?;
            {
                // The P-state access first, also for a bound G, which needs
                // no queue: it proves this M still holds its P (sysmon may have
                // retaken it during the last poll), so no G runs without one.
                let mut core = self.core()?;
                if let Some(task) = self.take_bound() {
                    return Some(task);
                }
                let stats = self.stats(me);
                if let Some((task, inherit)) = core.runq.pop() {
                    if let Some(s) = stats {
                        s.polls.add(1);
                        if inherit {
                            s.runnext_hits.add(1);
                        }
                    }
                    return Some(task);
                }
                if let Some((task, n)) = shared.global.grab_into(&mut core.runq, procs, 0) {
                    if let Some(s) = stats {
                        s.grabbed.add(n as u64);
                        s.polls.add(1);
                    }
                    return Some(task);
                }
            }
            if let Some(task) = self.poll_net() {
                return Some(task);
            }
            if let Some(task) = self.steal(me) {
                return Some(task);
            }
            // The steal may have found the P taken by sysmon.
            self.p.get()?;

            // Give up the P (Go's `releasep` + `pidleput`), stop spinning, look
            // once more, park: `give_up_p`.
            let was_spinning = self.stop_spinning();
            self.p.set(None);
            let owned = self.m.unwire(me);
            if owned {
                shared.ps[me].disown(me, self.m.id);
            }
            let (p, spinning) = shared.give_up_p(&self.m, owned.then_some(me), was_spinning)?;
            self.wire(p);
            self.resume_spinning(spinning);
        }
    }

    /// Go's `checkTimers`: fires P `p`'s due timers; the Gs they wake go to
    /// this P's queue, one of them to `runnext` (Go's timers wake through
    /// `goready`, which puts the G in `runnext`: a ticker runs right after the
    /// G that was running, not behind the whole queue).
    fn check_timers(&self, p: usize) {
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        self.shared.run_timers_of(p, Instant::now(), &mut wakers);
        if let Some(task) = self.collect_and_inject(&mut wakers) {
            if let Some(task) = self.schedule_local(task, true) {
                self.shared.inject(task);
            }
        }
        *self.wakers.borrow_mut() = wakers;
    }

    /// The netpoll step of `findrunnable`: polls without blocking if a task
    /// waits on a socket and no M is blocked in the poller. Returns a woken G
    /// to run now; the others are queued.
    fn poll_net(&self) -> Option<Notified> {
        let np = &self.shared.netpoll;
        if !np.has_waiters() || np.polling() {
            return None;
        }
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        self.shared.poll_now(&mut wakers);
        let task = self.collect_and_inject(&mut wakers);
        *self.wakers.borrow_mut() = wakers;
        task
    }

    /// The timer part of Go's `stealWork`: fires P `victim`'s due timers from
    /// this M (the victim's M may be stuck in a long poll).
    fn steal_timers(&self, victim: usize) -> Option<Notified> {
        let when = self.shared.netpoll.next_deadline_of(victim)?;
        let now = Instant::now();
        if when > now {
            return None;
        }
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        self.shared.run_timers_of(victim, now, &mut wakers);
        let task = self.collect_and_inject(&mut wakers);
        *self.wakers.borrow_mut() = wakers;
        task
    }

    /// Wakes a batch and places this runtime's Gs from it (Go's `injectglist`
    /// on an M with a P): one G per idle P to the global queue with an M
    /// started for each, the rest to this P's queue, except the first, which
    /// is returned for the caller to run.
    fn collect_and_inject(&self, wakers: &mut Vec<Waker>) -> Option<Notified> {
        if wakers.is_empty() {
            return None;
        }
        let shared = &*self.shared;
        let mut tasks = std::mem::take(&mut *self.batch.borrow_mut());
        shared.wake_collect(wakers, &mut tasks);
        let (p, m, _) = self.trace_ids();
        shared.note_netpoll(tasks.len(), p, m);
        let first = if tasks.is_empty() {
            None
        } else {
            Some(tasks.swap_remove(0))
        };
        let idle = shared.idle.npidle.load(SeqCst).min(tasks.len());
        if idle > 0 {
            let from = tasks.len() - idle;
            shared.inject_batch(tasks.drain(from..), 0);
        }
        let mut first = first;
        if !tasks.is_empty() {
            match self.core() {
                Some(mut core) => {
                    let stats = self.p.get().and_then(|p| self.stats(p));
                    for task in tasks.drain(..) {
                        let pushed = core.runq.push_back(task, &shared.global);
                        // Counted inside the P-state access, as in
                        // `schedule_local` (the metrics derive what thieves
                        // took from what came in and went out).
                        if let Some(stats) = stats {
                            stats.count_push(pushed);
                        }
                    }
                }
                None => {
                    // sysmon took the P meanwhile: everything goes global.
                    tasks.extend(first.take());
                    shared.inject_batch(tasks.drain(..), 0);
                }
            }
        }
        *self.batch.borrow_mut() = tasks;
        first
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
            self.start_spinning();
        }
        for pass in 0..4 {
            let runnext = if pass == 3 {
                StealRunnext::AfterGrace
            } else {
                StealRunnext::No
            };
            for victim in self.random_victims() {
                if victim == me {
                    continue;
                }
                if pass == 3 {
                    // Go's `stealWork`: the last pass also runs other Ps' due
                    // timers (their M may be busy in a long poll).
                    if let Some(task) = self.steal_timers(victim) {
                        return Some(task);
                    }
                }
                let mut core = self.core()?;
                let stolen = self.steal_from(&mut core, me, victim, runnext);
                drop(core);
                if let Some((task, moved)) = stolen {
                    self.trace_steal(victim, moved);
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
