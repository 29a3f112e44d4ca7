//! Who sleeps and who spins: Go's idle P list (`pidle`), idle M list (`midle`),
//! `npidle`, `nmspinning`, and `wakep` / `startm` / `stopm` / `newm`.
//!
//! The lists sit under one lock (Go's `sched.lock`), taken only when an M gives
//! up its P or one is started; the two counters are read without it on every
//! submission, so they are atomics mirrored under the lock. The StoreLoad
//! argument that ties them to the queues is in the [scheduler essay](super).

use std::collections::VecDeque;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

use crate::trace::{self, Kind};

use crate::sync::{fence, lock, Arc, AtomicUsize, Condvar, Mutex};

use super::m::{Wake, M};
use super::Shared;

/// The idle lists and counters (the parts of Go's `schedt` about sleeping).
pub(crate) struct Idle {
    pub(super) set: Mutex<IdleSet>,
    /// M threads signal here when they park while `start_all_ms` waits for
    /// them, and when they leave (for shutdown).
    pub(super) threads_changed: Condvar,
    /// Go's `sched.npidle`: Ps on the idle list.
    pub(crate) npidle: AtomicUsize,
    /// Go's `sched.nmspinning`: Ms looking for work while holding a P.
    /// Private: every change goes through the `Idle` methods below, which
    /// say what each one means (rule 3 of the scheduler essay).
    nmspinning: AtomicUsize,
    /// Mirrors `lockedm_waiting.len()`, for a cheap check by busy Ms.
    pub(crate) lockedm_waiting: AtomicUsize,
}

pub(super) struct IdleSet {
    pub(super) pidle: Vec<usize>,
    pub(super) midle: Vec<Arc<M>>,
    /// Every M ever started that has not exited (Go's `allm`).
    pub(super) allm: Vec<Arc<M>>,
    /// Bumped whenever `allm` changes, so sysmon can keep its copy.
    pub(super) allm_version: u64,
    /// M threads started and not yet exited.
    pub(super) threads: usize,
    pub(super) next_m_id: usize,
    /// Ids of Ms that exited before shutdown (an M whose locked G ended
    /// while locked), handed to the next new Ms first, so ids stay below
    /// `MAX_THREADS` however many Ms come and go (rule 7).
    pub(super) free_m_ids: Vec<usize>,
    /// Ps beyond the count in use that nobody holds and that are not on the
    /// idle list (`resize.rs`): growing puts exactly these back.
    pub(super) dropped: Vec<bool>,
    pub(super) handles: Vec<std::thread::JoinHandle<()>>,
    pub(super) shutdown: bool,
    /// Shutdown stopped waiting for the Ms still running: the last one to exit
    /// does the cleanup.
    pub(super) abandoned: bool,
    /// Parked Ms with bound Gs to run and no P (Go's Ms waiting in
    /// `stoplockedm`): the next P that falls idle goes to the first of them.
    pub(super) lockedm_waiting: VecDeque<Arc<M>>,
    /// Ms locked to one G (`lock_os_thread`) parked until it is runnable; only
    /// mail for that G wakes them.
    pub(super) lockedm_parked: Vec<Arc<M>>,
    /// `start_all_ms` waits for the Ms it started to park.
    pub(super) build_waiting: bool,
}

impl Idle {
    /// The first `procs` of `capacity` Ps start idle, with no M yet
    /// (`start_all_ms` starts them); the rest start dropped (`resize.rs`).
    pub(crate) fn new(procs: usize, capacity: usize) -> Idle {
        Idle {
            set: Mutex::new(IdleSet {
                // Popped from the back: P 0 is handed out first.
                pidle: (0..procs).rev().collect(),
                midle: Vec::new(),
                allm: Vec::new(),
                allm_version: 0,
                threads: 0,
                next_m_id: 0,
                free_m_ids: Vec::new(),
                dropped: (0..capacity).map(|p| p >= procs).collect(),
                handles: Vec::new(),
                shutdown: false,
                abandoned: false,
                lockedm_waiting: VecDeque::new(),
                lockedm_parked: Vec::new(),
                build_waiting: false,
            }),
            threads_changed: Condvar::new(),
            npidle: AtomicUsize::new(procs),
            nmspinning: AtomicUsize::new(0),
            lockedm_waiting: AtomicUsize::new(0),
        }
    }

    /// Spinning Ms now (Go's `sched.nmspinning`). Relaxed: a hint for the
    /// fast paths (`wake_p`, the spinning cap, sysmon); the submitter's fence
    /// carries the ordering (the scheduler essay, "Spinning Ms").
    #[inline]
    pub(crate) fn spinning(&self) -> usize {
        self.nmspinning.load(Relaxed)
    }

    /// The spinning rule (Go's `findrunnable`): an M may start spinning only
    /// while fewer than half the busy Ps have a spinner, so that a burst of
    /// searching Ms does not burn every CPU.
    #[inline]
    pub(crate) fn may_start_spinning(&self, procs: usize, npidle: usize) -> bool {
        2 * self.spinning() < procs - npidle
    }

    /// An M starts spinning, or takes a P back with its spinning state.
    /// SeqCst: part of the StoreLoad pair with a submitter's `wake_p` (the
    /// essay's rule 3).
    #[inline]
    pub(crate) fn spinning_started(&self) {
        self.nmspinning.fetch_add(1, SeqCst);
    }

    /// A spinning M stops (it found work, lost its P or gives it up), or a
    /// counted start of a spinning M did not happen. SeqCst: as
    /// `spinning_started`; the M re-checks the queues after it (rule 3).
    #[inline]
    pub(crate) fn spinning_stopped(&self) {
        self.nmspinning.fetch_sub(1, SeqCst);
    }

    /// Claims the right to start the one spinning M if none spins (`wake_p`,
    /// `handoff_p`): true if this caller now owns a count it must hand to the
    /// M it starts (or give back with `spinning_stopped`). SeqCst: only one
    /// of racing submitters wins, and the winner's start is ordered after
    /// its submission (rule 3).
    #[inline]
    pub(crate) fn claim_spinner(&self) -> bool {
        self.nmspinning
            .compare_exchange(0, 1, SeqCst, Relaxed)
            .is_ok()
    }

    /// Loom models start with M0 counted as the one spinner.
    #[cfg(all(test, loom))]
    pub(crate) fn model_set_spinning(&self, n: usize) {
        // SeqCst: as every `nmspinning` change (rule 3); model setup only.
        self.nmspinning.store(n, SeqCst);
    }
}

impl Shared {
    /// Ms parked on the idle list (for the loom model's setup).
    #[cfg(all(test, loom))]
    pub(crate) fn idle_m_count(&self) -> usize {
        lock(&self.idle.set).midle.len()
    }

    /// Registers `m` as a started M (loom model setup: models start no
    /// threads through `new_m`).
    #[cfg(all(test, loom))]
    pub(crate) fn model_register_m(&self, m: &Arc<M>) {
        let mut set = lock(&self.idle.set);
        set.allm.push(m.clone());
        self.ms.insert(m);
    }

    /// Takes P `p` off the idle list as if an M had wired it (loom model setup).
    #[cfg(all(test, loom))]
    pub(crate) fn model_take_p(&self, p: usize) {
        let mut set = lock(&self.idle.set);
        set.pidle.retain(|&q| q != p);
        // SeqCst: `npidle` mirrors the idle list for submitters' lock-free reads
        // (rule 3); model setup only.
        self.idle.npidle.fetch_sub(1, SeqCst);
    }

    /// Go's `wakep`: if there is an idle P and nobody is spinning, start a
    /// spinning M. Called after every submission.
    #[inline]
    pub(crate) fn wake_p(&self) {
        // Relaxed: the caller's fence (or its P's own M) carries the ordering;
        // see the scheduler essay.
        if self.idle.npidle.load(Relaxed) == 0 || self.idle.spinning() != 0 {
            return;
        }
        self.wake_p_slow();
    }

    #[cold]
    fn wake_p_slow(&self) {
        if !self.idle.claim_spinner() {
            return;
        }
        self.start_m(None, true);
    }

    /// Go's `stopm`: parks the calling M until `start_m` hands it a P. `None`
    /// means the runtime is shutting down.
    pub(crate) fn stop_m(&self, m: &Arc<M>) -> Option<(usize, bool)> {
        let mut poller = false;
        {
            let mut set = lock(&self.idle.set);
            if set.shutdown {
                return None;
            }
            if m.note_parking() || m.own_mail_len.load(Relaxed) > 0 {
                m.parking.store(false, Relaxed);
                // Bound Gs wait for this very M: get a P now, or queue for one.
                if let Some(p) = self.p_or_queue_for_one(&mut set, m) {
                    return Some((p, false));
                }
            } else {
                set.midle.push(m.clone());
                poller = self.claim_poller(m);
                if set.build_waiting {
                    self.idle.threads_changed.notify_all();
                }
            }
        }
        let parked = self.metrics_on().then(Instant::now);
        trace::record(Kind::Park, self.id, trace::NO_P, m.id as u32, 0, 0, 0);
        let wake = if poller {
            self.park_in_poller(m)
        } else {
            m.park()
        };
        // Off the idle lists now (whoever woke it took it off).
        m.parking.store(false, Relaxed);
        if let Wake::P { p, .. } = wake {
            trace::record(Kind::Unpark, self.id, p as u32, m.id as u32, 0, 0, 0);
        }
        if let Some(parked) = parked {
            m.stats.parked_ns.add(parked.elapsed().as_nanos() as u64);
        }
        match wake {
            Wake::P { p, spinning } => Some((p, spinning)),
            Wake::Exit => None,
        }
    }

    /// For an M whose bound Gs wait for it: an idle P now, or, with none,
    /// a place in the queue of Ms that take the next P to fall idle (Go's
    /// `startlockedm` from the waiting side). Under the idle lock.
    pub(super) fn p_or_queue_for_one(&self, set: &mut IdleSet, m: &Arc<M>) -> Option<usize> {
        if let Some(p) = pidle_get(set, &self.idle) {
            return Some(p);
        }
        self.queue_for_p(set, m);
        None
    }

    /// Queues M `m`, whose bound Gs wait for it, for the next P to fall idle.
    /// Under the idle lock.
    pub(super) fn queue_for_p(&self, set: &mut IdleSet, m: &Arc<M>) {
        set.lockedm_waiting.push_back(m.clone());
        self.idle
            .lockedm_waiting
            .store(set.lockedm_waiting.len(), Relaxed);
    }

    /// The end of Go's `findrunnable`: the M found nothing, so it gives up P
    /// `p` (if it still had it: sysmon may have taken it, and then hands it off
    /// itself) and stops spinning — then, past the StoreLoad barrier, looks once
    /// more (the global queue always; every P's queue if it was spinning), and
    /// takes a P if there is work; otherwise it parks (`stopm`). Returns the P to
    /// go on with and whether the M is spinning, or `None` at shutdown.
    pub(crate) fn give_up_p(
        &self,
        m: &Arc<M>,
        p: Option<usize>,
        was_spinning: bool,
    ) -> Option<(usize, bool)> {
        if let Some(p) = p {
            self.release_p(p);
        }
        if was_spinning {
            self.idle.spinning_stopped();
        }
        // The giving-up M's StoreLoad barrier (rule 3): its P is back on the
        // idle list and its spinning count dropped; now the queues are read
        // again, so a submitter that missed both is seen here.
        fence(SeqCst);
        let work = !self.global.is_empty()
            || (was_spinning
                && self.ps[..self.procs()]
                    .iter()
                    .any(|p| !p.stealer.is_empty()));
        if work {
            if let Some(p) = self.acquire_idle_p() {
                if was_spinning {
                    self.idle.spinning_started();
                }
                return Some((p, was_spinning));
            }
        }
        self.stop_m(m)
    }

    /// Wakes parked M `m` with `wake`, interrupting the poller if it parks
    /// there.
    pub(super) fn unpark_m(&self, m: &M, wake: Wake) {
        m.unpark(wake);
        // SeqCst: pairs with the poller's store of `in_poller` before it
        // checks its wake word (either it sees the word, or we see the flag).
        if m.in_poller.load(SeqCst) {
            self.netpoll.notify();
        }
    }

    /// `stop_m` for the M that claimed the poller: it stays on the idle list,
    /// but blocks in the poller (see `netpoll.rs`) until it is handed a P like
    /// any parked M, or the poll or the timers wake Gs, which it then runs on an
    /// idle P (or injects, if none is idle).
    #[cfg(not(loom))]
    fn park_in_poller(&self, m: &Arc<M>) -> Wake {
        let mut wakers = Vec::new();
        let mut tasks = Vec::new();
        loop {
            if let Some(wake) = m.try_wake() {
                self.release_poller(m);
                return wake;
            }
            self.poll_blocking(m.id as u32, &mut wakers, &mut tasks);
            // A sender that mailed this M saw it `parking` and takes it off the
            // idle list (`wake_locked_m`); this check only spares that round.
            let mail = m.mailbox_len.load(Relaxed) > 0 || m.own_mail_len.load(Relaxed) > 0;
            if tasks.is_empty() && !mail {
                continue;
            }
            let mut set = lock(&self.idle.set);
            let Some(pos) = set.midle.iter().position(|x| Arc::ptr_eq(x, m)) else {
                // Taken off the idle list: a P (or "exit") is on its way.
                drop(set);
                self.release_poller(m);
                self.inject_batch(tasks.drain(..), 0);
                return m.park();
            };
            if let Some(p) = pidle_get(&mut set, &self.idle) {
                set.midle.swap_remove(pos);
                drop(set);
                self.release_poller(m);
                self.wake_sysmon();
                // This M runs one of them; the rest get an M per idle P.
                self.inject_batch(tasks.drain(..), 1);
                // Someone must take over the poller while Ps are idle.
                self.wake_p();
                return Wake::P { p, spinning: false };
            }
            if mail {
                // Its bound Gs need this very M: queue for the next free P.
                set.midle.swap_remove(pos);
                self.queue_for_p(&mut set, m);
                drop(set);
                self.release_poller(m);
                self.inject_batch(tasks.drain(..), 0);
                return m.park();
            }
            // Every P is busy: their Ms take the batch from the global queue.
            drop(set);
            self.inject_batch(tasks.drain(..), 0);
        }
    }

    #[cfg(loom)]
    fn park_in_poller(&self, m: &Arc<M>) -> Wake {
        m.park()
    }

    /// Go's `exitsyscall` getting its old P back: takes `p` off the idle list if
    /// it is there.
    pub(crate) fn take_idle_p(&self, p: usize) -> bool {
        let mut set = lock(&self.idle.set);
        match set.pidle.iter().position(|&q| q == p) {
            Some(i) => {
                set.pidle.swap_remove(i);
                // SeqCst: `npidle` mirrors the idle list for submitters' lock-free
                // reads (rule 3), and sysmon's Dekker pair on `asleep` reads it.
                self.idle.npidle.fetch_sub(1, SeqCst);
                self.wake_sysmon();
                true
            }
            None => false,
        }
    }

    /// Go's `pidleput`: puts `p` on the idle list (its M has let go of it).
    pub(crate) fn release_p(&self, p: usize) {
        let mut set = lock(&self.idle.set);
        pidle_put(&mut set, self, p);
    }

    /// Go's `pidleget`.
    pub(crate) fn acquire_idle_p(&self) -> Option<usize> {
        let mut set = lock(&self.idle.set);
        let p = pidle_get(&mut set, &self.idle);
        drop(set);
        if p.is_some() {
            self.wake_sysmon();
        }
        p
    }

    /// Shutdown, first half: no M parks any more, and the parked ones wake to
    /// exit.
    pub(crate) fn wake_all_for_exit(&self) {
        let idle = {
            let mut set = lock(&self.idle.set);
            set.shutdown = true;
            let mut all = std::mem::take(&mut set.midle);
            all.extend(set.lockedm_waiting.drain(..));
            all.append(&mut set.lockedm_parked);
            all
        };
        for m in idle {
            self.unpark_m(&m, Wake::Exit);
        }
    }

    /// Shutdown, second half: waits for every M thread to exit (at most
    /// `timeout`), then joins them. True if all exited; false if it stopped
    /// waiting, which hands the cleanup to the last M to exit.
    pub(crate) fn wait_threads(&self, timeout: Option<Duration>) -> bool {
        // A timeout beyond what `Instant` holds (`Duration::MAX`) waits as
        // long as none: `+` panicked here, with shutdown half done.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut set = lock(&self.idle.set);
        while set.threads > 0 {
            match deadline {
                None => {
                    set = self
                        .idle
                        .threads_changed
                        .wait(set)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // Decided under the lock, so exactly one thread (this
                        // one now, or the last M later) does the cleanup.
                        set.abandoned = true;
                        return false;
                    }
                    set = self
                        .idle
                        .threads_changed
                        .wait_timeout(set, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        let handles = std::mem::take(&mut set.handles);
        drop(set);
        for h in handles {
            // A thread that exited cannot fail to join except by panicking, and
            // M threads do not unwind (task panics are caught).
            let _ = h.join();
        }
        true
    }
}

pub(super) fn pidle_put(set: &mut IdleSet, shared: &Shared, p: usize) {
    let idle = &shared.idle;
    debug_assert!(!set.pidle.contains(&p), "P {p} put on the idle list twice");
    if p >= shared.procs() {
        // A P that `set_procs` took out of use: dropped, not idle. Its queue
        // is empty (an M drains a P before it lets go of it for good).
        set.dropped[p] = true;
        return;
    }
    if let Some(m) = set.lockedm_waiting.pop_front() {
        // An M with bound Gs waits for exactly this: it takes the P instead.
        idle.lockedm_waiting
            .store(set.lockedm_waiting.len(), Relaxed);
        shared.unpark_m(&m, Wake::P { p, spinning: false });
        return;
    }
    set.pidle.push(p);
    // SeqCst: the giving-up M's StoreLoad (scheduler essay).
    idle.npidle.fetch_add(1, SeqCst);
}

pub(super) fn pidle_get(set: &mut IdleSet, idle: &Idle) -> Option<usize> {
    let p = set.pidle.pop()?;
    idle.npidle.fetch_sub(1, SeqCst);
    Some(p)
}
