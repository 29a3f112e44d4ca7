//! Finding work: Go's `findrunnable` and what it calls — the timers of this
//! P (`checkTimers`), the network poller without blocking (`netpoll(0)`),
//! stealing from the other Ps (`stealWork`, `runqsteal`, with the timers of
//! the Ps it visits), and handing the Gs a poll or the timers woke to the
//! queues in one batch (`injectglist`: [`Shared::inject_batch`], with the
//! wake-collection hooks [`Shared::wake_collect`] and [`Shared::try_collect`]).
//! The order of the search is step 3 onwards of "Where an M looks" in the
//! [scheduler essay](super); giving up the P and parking is
//! [`idle`](super::idle)'s `give_up_p`.

use std::cell::{Cell, RefCell};
use std::ptr::{self};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::task::Waker;

use gmp_core::runq::StealRunnext;

use crate::sync::fence;
use crate::task::Notified;
use crate::trace::{self, Kind};

use super::worker::Worker;
use super::{PCore, Shared};

/// Passes over the other Ps a spinning M makes before it gives up (Go's
/// `stealTries`). Only the last one takes a victim's `runnext` (after its
/// grace, `StealRunnext::AfterGrace`: the G there is about to run on its own
/// P, Go's `runqsteal(..., stealRunNextG)`) and runs the victims' due timers.
const STEAL_PASSES: usize = 4;

thread_local! {
    /// The runtime whose Gs this thread is collecting instead of queueing
    /// (see "Batches"), or null.
    static COLLECTOR: Cell<*const Shared> = const { Cell::new(ptr::null()) };
    static COLLECTED: RefCell<Vec<Notified>> = const { RefCell::new(Vec::new()) };
}

impl Worker {
    /// Go's `findrunnable`: local queue, global share, steal, then give up the P
    /// and park. Returns a G to run, or `None` to go back to the top of the
    /// loop (the P was lost, or the runtime is shutting down).
    pub(super) fn find_runnable(&self) -> Option<Notified> {
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
    pub(super) fn check_timers(&self, p: usize) {
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        self.shared
            .run_timers_of(p, self.shared.clock.now(), &mut wakers);
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
        let now = self.shared.clock.now();
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
        // SeqCst: the batch was just made runnable here; read after it, as a
        // submitter reads `npidle` after its fence (essay, rule 3), so an idle P
        // is not missed.
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
    /// limit allows, then [`STEAL_PASSES`] passes over the other Ps, `runnext` in the last.
    fn steal(&self, me: usize) -> Option<Notified> {
        let shared = &*self.shared;
        let procs = shared.procs();
        let npidle = shared.idle.npidle.load(Relaxed);
        if procs == 1 || npidle >= procs - 1 {
            // Every other P is idle: there is nobody to steal from.
            return None;
        }
        if !self.spinning.get() {
            if !shared.idle.may_start_spinning(procs, npidle) {
                // Enough Ms are searching already.
                return None;
            }
            self.start_spinning();
        }
        for pass in 0..STEAL_PASSES {
            let last = pass == STEAL_PASSES - 1;
            let runnext = if last {
                StealRunnext::AfterGrace
            } else {
                StealRunnext::No
            };
            for victim in self.random_victims() {
                if victim == me {
                    continue;
                }
                if last {
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

    /// Steals from P `victim` into this M's P `me`, inside its P-state access
    /// `core`, and counts it there (as `spawn_local` does): the first G and
    /// how many moved.
    pub(super) fn steal_from(
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

    /// Every P, from a random start (Go's `stealOrder.start(fastrand())`).
    pub(super) fn random_victims(&self) -> gmp_core::steal_order::StealWalk {
        let mut rand = self.rand.get();
        let start = rand.next_u32();
        self.rand.set(rand);
        self.shared.order(self.shared.procs()).start(start)
    }

    pub(super) fn trace_steal(&self, victim: usize, moved: usize) {
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
}

impl Shared {
    /// Wakes every waker in `wakers` (emptying it); Gs of this runtime made
    /// runnable by it are appended to `out` instead of being queued.
    pub(crate) fn wake_collect(&self, wakers: &mut Vec<Waker>, out: &mut Vec<Notified>) {
        if wakers.is_empty() {
            return;
        }
        let prev = COLLECTOR.with(|c| c.replace(self));
        debug_assert!(prev.is_null(), "nested wake collection");
        for waker in wakers.drain(..) {
            // A foreign waker may panic; the scheduler must not unwind.
            crate::task::wake_contained(waker, "a timer's or socket's waiter");
        }
        COLLECTOR.with(|c| c.set(prev));
        COLLECTED.with(|c| out.append(&mut c.borrow_mut()));
    }

    /// The hook in `schedule`: a G woken while this thread collects for this
    /// runtime joins the batch. Gives it back otherwise.
    #[inline]
    pub(crate) fn try_collect(&self, task: Notified) -> Option<Notified> {
        if COLLECTOR.with(|c| ptr::eq(c.get(), self)) {
            COLLECTED.with(|c| c.borrow_mut().push(task));
            None
        } else {
            Some(task)
        }
    }

    /// Go's `injectglist` from a thread without a P: the batch goes to the
    /// global queue under one lock, and an M is started for each idle P, at
    /// most one per G beyond the first `skip` (which the caller runs itself).
    pub(crate) fn inject_batch<I>(&self, tasks: I, skip: usize)
    where
        I: ExactSizeIterator<Item = Notified>,
    {
        let n = tasks.len();
        if n == 0 {
            return;
        }
        if let Err(rest) = self.global.push_batch(tasks) {
            // Shut down: shutdown's sweep cancels these Gs.
            for task in rest {
                task.release_closed();
            }
            return;
        }
        // The submitter's StoreLoad barrier (scheduler essay).
        fence(SeqCst);
        self.start_idle(n.saturating_sub(skip));
    }
}
