//! Gs bound to an M: started coroutines, which never leave the M that first
//! ran them, and Go's `LockOSThread` (`lockOSThread`/`unlockOSThread`, here
//! [`coro::lock_os_thread`](crate::coro::lock_os_thread)), which wires a G to
//! its M exclusively.
//!
//! A bound G is woken into its M's mailbox, never a P's run queue (no thief
//! may take it): the M's own mailbox when the wake happens on that M, its
//! shared one (under a lock) from elsewhere, waking the M if it is parked and
//! handing it an idle P, or queueing it for the next P to fall idle (Go's
//! `startlockedm` and `stoplockedm`). The M serves its mailbox before its P's
//! queue, within limits that keep the P's queue and the global queue from
//! starving (the [scheduler essay](super), "Where an M looks", step 2).
//!
//! An M locked to a G runs no G that is not bound to it until the lock ends;
//! while the locked G waits, it runs the other Gs bound to it (they can run
//! nowhere else), and with none runnable it gives its P away and parks
//! (`stop_locked`).

use std::ptr::NonNull;
use std::sync::atomic::Ordering::Relaxed;

use gmp_core::runq::StealRunnext;

use crate::sync::{lock, Arc};
use crate::task::{self, Notified, TaskRef};
use crate::trace::{self};

use super::m::{Wake, M};
use super::worker::Worker;
use super::{PCore, Shared, BOUND_STREAK_MAX};

/// `Worker::exclusive` of an M whose locked G ended without unlocking: it
/// runs only the Gs bound to it, then exits (`after_poll`). No G has this id
/// (ids count up from 1).
pub(crate) const TAINTED: u64 = u64::MAX;

impl Worker {
    /// A bound G (a started coroutine) of this M, if one is runnable: its own
    /// mailbox, then the one other threads post to. After `BOUND_STREAK_MAX`
    /// in a row the P's queue goes first once, so yielding coroutines cannot
    /// starve it.
    ///
    /// Right after a bound G yielded (`yielded`), the P's queue goes first
    /// once too, if it holds a G: the yielding G waits behind it, as Go's
    /// `Gosched` puts it behind the runnable Gs (on the global queue).
    pub(super) fn next_bound(&self, core: &mut PCore, p: usize) -> Option<Notified> {
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

    /// The next runnable bound G of this M, ignoring the streak limit.
    pub(super) fn take_bound(&self) -> Option<Notified> {
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
        prefetch_next(&mail);
        self.bound_streak.set(self.bound_streak.get() + 1);
        Some(task)
    }

    /// Every 61 ticks: if an M with bound Gs waits for a P and this M has none
    /// runnable of its own, hand it this P (Go's `startlockedm`). True if the P
    /// went.
    pub(super) fn serve_locked_m(&self, p: usize) -> bool {
        match self.shared.give_p_to_locked_m(&self.m, p) {
            GiveP::Kept => false,
            GiveP::Given => {
                self.p.set(None);
                self.old_p.set(Some(p));
                // A spinning M (woken by `wake_p` to look for work) that gives
                // its P away stops spinning now (rule 3): it could park next,
                // and a parked M's count in `nmspinning` would never go,
                // leaving `wake_p` sure that someone is looking (the resize
                // stress test caught queued Gs stranded that way).
                if self.stop_spinning() {
                    self.shared.idle.spinning_stopped();
                }
                true
            }
            // sysmon took it first (and hands it on): as in `core()`.
            GiveP::Revoked => {
                self.lost_p(p);
                true
            }
        }
    }

    /// Whether an M with bound Gs waits for a P and this M should give it
    /// its own: at once if this M has no bound G of its own runnable (it
    /// loses nothing), or once it has kept the P for a time slice
    /// (`retake_after`, Go's 10 ms `forcePreemptNS`) since it first saw
    /// another M waiting. Then it queues for a P itself, with its bound Gs
    /// (`stop_m`): Ms with runnable bound Gs take turns on the Ps as Gs take
    /// turns on one, so the coroutines of a busy M cannot starve those of
    /// another (which can run on no other thread), and a burst of wakes spread
    /// over several Ms keeps every P busy until the last ones. An M locked to
    /// one G keeps its P: it runs nothing else, and its G is the one waiting.
    pub(super) fn locked_m_may_want_p(&self) -> bool {
        if self.shared.idle.lockedm_waiting.load(Relaxed) == 0 {
            self.slice_start.set(None);
            return false;
        }
        if self.exclusive.get() != 0 {
            return false;
        }
        if self.own_mail.borrow().is_empty() && self.m.mailbox_len.load(Relaxed) == 0 {
            return true;
        }
        // Real time, not the runtime's clock: a test may pause that one.
        let now = std::time::Instant::now();
        match self.slice_start.get() {
            None => {
                self.slice_start.set(Some(now));
                false
            }
            Some(since) => now.duration_since(since) >= self.shared.config.time_slice(),
        }
    }

    /// `lock_os_thread`'s wait: the locked G is not runnable, so give the P
    /// away and park until the G is mailed to this M.
    pub(super) fn stop_locked(&self) {
        let Some(p) = self.p.get() else {
            return;
        };
        self.p.set(None);
        self.old_p.set(Some(p));
        // About to park: not spinning any more (as in `serve_locked_m`).
        if self.stop_spinning() {
            self.shared.idle.spinning_stopped();
        }
        if self.m.unwire(p) {
            self.shared.ps[p].disown(p, self.m.id);
            self.shared.handoff_p(p);
        }
        if let Some((p, spinning)) = self.shared.stop_locked_m(&self.m) {
            self.wire(p);
            self.resume_spinning(spinning);
        }
    }

    /// After a poll: a G that ended while locked to this thread takes the
    /// thread with it (Go terminates the M): the M becomes [`TAINTED`], runs
    /// only the Gs already bound to it, and exits once none is left
    /// (`may_exit_tainted`), so whatever thread state the locked G changed
    /// never reaches a G that was not already sharing the thread.
    #[inline]
    pub(super) fn after_poll(&self, g: u64, how: u64) {
        if self.exclusive.get() == g && how != trace::end::PENDING && how != trace::end::YIELD {
            self.exclusive.set(TAINTED);
            self.lock_depth.set(0);
        }
    }

    /// A tainted M: true (and its P handed on) if no G bound to it is left,
    /// so it may exit; false while some still need this thread.
    #[cold]
    pub(super) fn may_exit_tainted(&self) -> bool {
        {
            let mut mail = self.own_mail.borrow_mut();
            self.m.take_all_mail(&mut mail);
            self.m.own_mail_len.store(mail.len(), Relaxed);
            if !mail.is_empty() {
                return false;
            }
        }
        let mut bound = self.bound.borrow_mut();
        bound.retain(|t| !t.header().state.load().is_complete());
        if !bound.is_empty() {
            return false;
        }
        drop(bound);
        // Nothing can be mailed here any more: every G bound to this M has
        // completed. Hand the P on as `stop_locked` does (rule 2).
        if let Some(p) = self.p.take() {
            if self.m.unwire(p) {
                self.shared.ps[p].disown(p, self.m.id);
                self.shared.handoff_p(p);
            }
        }
        if self.stop_spinning() {
            self.shared.idle.spinning_stopped();
        }
        true
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
        let exclusive = self.exclusive.get();
        if exclusive == h.id {
            // Nested: Go counts them (`lockedExt`), and so do we.
            let depth = self.lock_depth.get();
            self.lock_depth.set(
                depth
                    .checked_add(1)
                    .expect("lock_os_thread nested 2^32 times without unlock_os_thread"),
            );
            return;
        }
        if exclusive != 0 && exclusive != TAINTED {
            // Only a coroutine bound to this M can run while another G holds
            // the lock (the locked G is waiting); Go has no such G.
            panic!(
                "gmp::coro::lock_os_thread: G {} is bound to a thread that G {exclusive} has \
                 locked (lock_os_thread); a thread can be locked by one G at a time",
                h.id
            );
        }
        if h.bound_m().is_none() {
            self.bind_current_task();
        }
        self.exclusive.set(h.id);
        self.lock_depth.set(1);
    }

    /// `unlock_os_thread`: undoes one `lock_os_thread` of the G being polled;
    /// the lock ends with the last one. A no-op for a G that holds no lock
    /// (as Go's `UnlockOSThread`).
    pub(crate) fn unlock_current_task(&self) {
        let g = task::current::with(|h| h.map_or(0, |h| h.id));
        if g == 0 || self.exclusive.get() != g {
            return;
        }
        let depth = self.lock_depth.get().saturating_sub(1);
        self.lock_depth.set(depth);
        if depth == 0 {
            self.exclusive.set(0);
        }
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

    /// At exit: tears down, on this thread, every G bound to this M that has
    /// not finished (their stacks cannot run anywhere else).
    pub(super) fn cancel_bound(&self) {
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
        // From now on, mail for this M goes back to its sender, which drops it
        // (`schedule_bound`); what came in meanwhile is dropped here.
        drop(self.m.close_mailbox());
    }
}

impl Shared {
    /// Routes a G bound to M `m` (a started coroutine) to that M: its own
    /// mailbox if this is that M, else the M's shared mailbox, waking it if it
    /// is parked (Go hands a `lockedg` to its `lockedm`: `startlockedm`).
    pub(super) fn schedule_bound(&self, m: usize, task: Notified) {
        let task = Worker::with_current(|w| match w {
            Some(w) if w.is_m_of(self) && w.m_id() == m => {
                w.mail_own(task);
                None
            }
            _ => Some(task),
        });
        let Some(task) = task else {
            return;
        };
        let mailed = match self.ms.get(m) {
            Some(target) => target
                .mail(task)
                .map(|(mailbox, parking)| (target, mailbox, parking)),
            None => {
                // A G is bound by the M that runs it, which the table holds.
                debug_assert!(false, "G bound to M {m}, which never started");
                Err(task)
            }
        };
        match mailed {
            Ok((target, mailbox, parking)) => {
                if !parking {
                    // The M runs, and serves its mailbox before it parks.
                    return;
                }
                // Touches `self` after the hand-over (`wake_locked_m`): see
                // `keep_alive`. Taken while the mailbox is still locked, so
                // the M cannot have run the G yet.
                let _alive = self.keep_alive();
                drop(mailbox);
                self.wake_locked_m(target);
            }
            // Its M is gone (shutdown): the G can never run again. Dropping the
            // notified reference cancels it (a started coroutine's stack is
            // leaked rather than unwound on the wrong thread).
            Err(task) => {
                let _alive = self.keep_alive();
                drop(task);
            }
        }
    }

    /// Makes sure M `m`, which just got mail and may be parking, will run it:
    /// if it is parked on the idle list, it gets an idle P and wakes, or, with
    /// no P idle, queues for the next one (Go's `startlockedm` from the other
    /// side). An M that is no longer on the list was woken by someone else,
    /// and serves its mailbox on its own.
    pub(crate) fn wake_locked_m(&self, m: &M) {
        let mut set = lock(&self.idle.set);
        let is_m = |x: &Arc<M>| std::ptr::eq(&**x, m);
        let m = if let Some(pos) = set.midle.iter().position(is_m) {
            set.midle.swap_remove(pos)
        } else if let Some(pos) = set.lockedm_parked.iter().position(is_m) {
            set.lockedm_parked.swap_remove(pos)
        } else {
            return;
        };
        if let Some(p) = self.p_or_queue_for_one(&mut set, &m) {
            drop(set);
            self.unpark_m(&m, Wake::P { p, spinning: false });
        }
    }

    /// Parks an M locked to one G (`lock_os_thread`) until that G, or another
    /// G bound to it, is mailed to it; it stays off the idle list, so no other
    /// work finds it. Returns
    /// the P it is then given, or `None` at shutdown.
    pub(crate) fn stop_locked_m(&self, m: &Arc<M>) -> Option<(usize, bool)> {
        {
            let mut set = lock(&self.idle.set);
            if set.shutdown {
                return None;
            }
            // Only mail from other threads can hold a G for this M: the
            // caller just emptied the M's own mailbox (the locked G, or while
            // it waits, any G bound here), and only this M adds to it.
            if m.note_parking() {
                if let Some(p) = self.p_or_queue_for_one(&mut set, m) {
                    return Some((p, false));
                }
            } else {
                set.lockedm_parked.push(m.clone());
            }
        }
        let wake = m.park();
        m.parking.store(false, Relaxed);
        match wake {
            Wake::P { p, spinning } => Some((p, spinning)),
            Wake::Exit => None,
        }
    }

    /// A busy M gives its P to an M that has bound Gs and waits for a P (so
    /// those never starve while every P is busy). False if none waits (then
    /// the caller keeps its P).
    pub(crate) fn give_p_to_locked_m(&self, m: &Arc<M>, p: usize) -> GiveP {
        let mut set = lock(&self.idle.set);
        if set.lockedm_waiting.is_empty() || p >= self.procs() {
            // None waits; or the P is out of use, and its M drops it next.
            return GiveP::Kept;
        }
        if !m.unwire(p) {
            // Retaken: sysmon hands the P on; `unwire` cleared the revocation,
            // so the caller must drop the P now (it will not hear again).
            return GiveP::Revoked;
        }
        self.ps[p].disown(p, m.id);
        let waiting = set.lockedm_waiting.pop_front().expect("not empty");
        self.idle
            .lockedm_waiting
            .store(set.lockedm_waiting.len(), Relaxed);
        drop(set);
        self.unpark_m(&waiting, Wake::P { p, spinning: false });
        GiveP::Given
    }
}

/// What became of a P that an M offered to an M with bound Gs
/// (`Shared::give_p_to_locked_m`).
pub(crate) enum GiveP {
    /// None waits: the offering M keeps it.
    Kept,
    /// Handed to the waiting M.
    Given,
    /// sysmon had taken it already and hands it on itself.
    Revoked,
}

/// Bound Gs queued on one M beyond which `take_bound` prefetches: each G's
/// turn then comes after more Gs have run than a core's L2 cache (1–2 MiB)
/// holds the working lines of (a KiB or so each: the top of the stack, the
/// task cell, what it waits on), so its own lines have left the cache. Below
/// it the prefetches cost more than they save: 200 coroutines yielding in
/// turn (`yield_many`) took 45 ns a yield with them, 37 without (medians of 8
/// interleaved runs).
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
const PREFETCH_QUEUE: usize = 1024;

/// While the M runs one bound G, gets the next two ready in the cache: the
/// next G's stack (from the hint its header holds, `resume_at`) and the
/// header of the one after (which the next call reads that hint from), once
/// the queue is long enough for them to be cold ([`PREFETCH_QUEUE`]). Gs in
/// this queue run back to back, each starting with cold loads the CPU cannot
/// see coming (the first, the switch onto the G's stack, was a third of the
/// time); started one G early, those loads overlap the current G's work.
/// Waking a million parked coroutines (`benches/stackful.rs`,
/// `wake_million`): about 490 → 360 ns per G at 1 proc, 370 → 300 at 2.
///
/// Only x86 and x86-64 have a stable prefetch; elsewhere it does nothing, and
/// reads no header either (that load would only move a miss earlier).
#[inline]
fn prefetch_next(mail: &std::collections::VecDeque<Notified>) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        #[cfg(target_arch = "x86")]
        use std::arch::x86::{_mm_prefetch, _MM_HINT_T0};
        #[cfg(target_arch = "x86_64")]
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        if mail.len() < PREFETCH_QUEUE {
            return;
        }
        // Without coroutines every hint is 0.
        #[cfg(all(feature = "coro", any(unix, windows)))]
        if let Some(next) = mail.front() {
            gmp_coro::prefetch_stack(next.header().resume_at.load(Relaxed));
        }
        if let Some(after) = mail.get(1) {
            let cell = std::ptr::from_ref(after.header()).cast::<i8>();
            // The header and the start of the stage (a coroutine's handle).
            for offset in [0, 64, 128] {
                // SAFETY: a prefetch never faults and has no observable effect.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(cell.wrapping_add(offset)) };
            }
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = mail;
}
