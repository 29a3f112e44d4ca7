//! Who sleeps and who spins: Go's idle P list (`pidle`), idle M list (`midle`),
//! `npidle`, `nmspinning`, and `wakep` / `startm` / `stopm` / `newm`.
//!
//! The lists sit under one lock (Go's `sched.lock`), taken only when an M gives
//! up its P or one is started; the two counters are read without it on every
//! submission, so they are atomics mirrored under the lock. The StoreLoad
//! argument that ties them to the queues is in the [scheduler essay](super).

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::Ordering::{Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

use crate::metrics::MStats;
use crate::task::Notified;
use crate::trace::{self, Kind};

use crate::sync::{fence, lock, Arc, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex};

use super::barrier;

#[cfg(loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(loom))]
use std::sync::atomic::AtomicPtr;

use super::Shared;

/// "No P" in the P fields of an M.
pub(crate) const NO_P: usize = usize::MAX;

/// An M: one OS thread of the scheduler (Go's `m`).
pub(crate) struct M {
    pub(crate) id: usize,
    /// Go's `m.park` note: what a parked M is woken with — 0 nothing yet,
    /// [`EXIT`], or a P (`(p + 1) << 2`, plus [`SPINNING`] if it starts as a
    /// spinning M). The mutex hands the P over: whatever its previous owner did
    /// happens before the woken M uses it.
    wake: Mutex<usize>,
    woken: Condvar,
    /// Polls this M has started (Go's `schedtick`): sysmon sees a long poll as
    /// a count that does not move while `cur_g` is set.
    pub(crate) ticks: AtomicU64,
    /// The G being polled (its id, 0 between polls) and where it was spawned:
    /// copies, so sysmon never reads a task's memory, which may be freed.
    pub(crate) cur_g: AtomicU64,
    pub(crate) cur_loc: AtomicPtr<Location<'static>>,
    /// Serialises changes of `p`: the M wiring or unwiring a P, and sysmon
    /// retaking one (for the whole retake).
    pub(crate) p_lock: Mutex<()>,
    /// The P this M holds, [`NO_P`] if none. Written only under `p_lock`.
    pub(crate) p: AtomicUsize,
    /// The M side of the barrier pair in `barrier.rs`: true while the M touches
    /// its P's state.
    pub(crate) in_core: AtomicBool,
    /// The P sysmon took from this M and the M has not noticed yet, or
    /// [`NO_P`].
    pub(crate) revoked: AtomicUsize,
    /// False if no sysmon watches this M (`Builder::sysmon(false)`): nothing
    /// can retake its P, so `enter_core` needs only a compiler barrier.
    pub(crate) retakable: bool,
    /// Inside `gmp::syscall` (Go's `_Psyscall`): sysmon may take the P after
    /// one of its ticks.
    pub(crate) in_syscall: AtomicBool,
    /// sysmon's preemption mark for the running G (Go's `gp.preempt`): the
    /// cooperative budget runs out at the G's next leaf future.
    pub(crate) preempt: AtomicBool,
    pub(crate) stats: MStats,
    pub(crate) born: Instant,
    /// True while this M takes a completed G out of the registry: the gate a
    /// task dump waits on (see `dump.rs`).
    pub(crate) in_release: AtomicBool,
    /// When sysmon first saw the current poll, in ns since the runtime started
    /// (for dumps: how long a running G has run).
    pub(crate) poll_seen_ns: AtomicU64,
    /// Gs bound to this M (started coroutines) that were woken on other
    /// threads, waiting for this M to run them (Go's `lockedg` handed to its
    /// `lockedm`). `mailbox_len` mirrors the length for a lock-free check.
    pub(crate) mailbox: Mutex<VecDeque<Notified>>,
    pub(crate) mailbox_len: AtomicUsize,
    /// Length of the M's own lock-free mailbox (bound Gs it woke itself),
    /// mirrored here so that `stop_m` never parks an M that has some.
    pub(crate) own_mail_len: AtomicUsize,
    /// This M parks in the network poller rather than on its note, so a wake
    /// must also interrupt the poll (see `netpoll.rs`).
    pub(crate) in_poller: AtomicBool,
}

const EXIT: usize = 1;
const SPINNING: usize = 2;

/// Why a parked M woke up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Run with this P, spinning (looking for work) or not.
    P { p: usize, spinning: bool },
    /// The runtime is shutting down.
    Exit,
}

impl M {
    pub(crate) fn new(id: usize, retakable: bool) -> M {
        M {
            id,
            retakable,
            wake: Mutex::new(0),
            woken: Condvar::new(),
            ticks: AtomicU64::new(0),
            cur_g: AtomicU64::new(0),
            cur_loc: AtomicPtr::new(std::ptr::null_mut()),
            p_lock: Mutex::new(()),
            p: AtomicUsize::new(NO_P),
            in_core: AtomicBool::new(false),
            revoked: AtomicUsize::new(NO_P),
            in_syscall: AtomicBool::new(false),
            preempt: AtomicBool::new(false),
            stats: MStats::default(),
            born: Instant::now(),
            in_release: AtomicBool::new(false),
            poll_seen_ns: AtomicU64::new(0),
            mailbox: Mutex::new(VecDeque::new()),
            mailbox_len: AtomicUsize::new(0),
            own_mail_len: AtomicUsize::new(0),
            in_poller: AtomicBool::new(false),
        }
    }

    /// Starts an access to P `p`'s state; false if sysmon took `p` away (the
    /// caller must then not touch it). See `barrier.rs`.
    #[inline]
    pub(crate) fn enter_core(&self, p: usize) -> bool {
        debug_assert!(!self.in_core.load(Relaxed), "nested P-state access");
        self.in_core.store(true, Relaxed);
        if self.retakable {
            // A real fence unless sysmon's side is `membarrier` (barrier.rs).
            barrier::light_or_fence();
        } else {
            // Nothing ever retakes this M's P: no pair to complete.
            barrier::light();
        }
        if self.revoked.load(Relaxed) == p {
            // Release: pairs with sysmon's Acquire wait on `in_core`.
            self.in_core.store(false, Release);
            return false;
        }
        true
    }

    /// Ends an access started by `enter_core`.
    #[inline]
    pub(crate) fn leave_core(&self) {
        // Release: everything this M did to the P happens before sysmon (which
        // Acquire-loads `in_core` before a handoff) and the P's next M see it.
        self.in_core.store(false, Release);
    }

    /// Go's `wirep`: this M now holds `p`.
    pub(crate) fn wire(&self, p: usize) {
        let _held = lock(&self.p_lock);
        debug_assert_eq!(self.p.load(Relaxed), NO_P);
        self.p.store(p, Relaxed);
    }

    /// Go's `releasep`: this M lets go of `p`. False if sysmon took it first
    /// (then sysmon hands it off, and the caller must not).
    pub(crate) fn unwire(&self, p: usize) -> bool {
        let _held = lock(&self.p_lock);
        if self.p.load(Relaxed) == p {
            self.p.store(NO_P, Relaxed);
            true
        } else {
            self.revoked.store(NO_P, Relaxed);
            false
        }
    }

    /// Queues a G bound to this M (from any thread).
    pub(crate) fn mail(&self, task: Notified) {
        let mut mailbox = lock(&self.mailbox);
        mailbox.push_back(task);
        // SeqCst: pairs with the parking M's re-check in `stop_m` (under the
        // idle lock, which the sender takes next).
        self.mailbox_len.store(mailbox.len(), SeqCst);
    }

    /// Moves every G in this M's mailbox to the back of `own` (its own
    /// mailbox), in order.
    pub(crate) fn take_all_mail(&self, own: &mut VecDeque<Notified>) {
        if self.mailbox_len.load(Relaxed) == 0 {
            return;
        }
        let mut mailbox = lock(&self.mailbox);
        own.append(&mut mailbox);
        self.mailbox_len.store(0, Relaxed);
    }

    /// The M noticed that sysmon took its P.
    pub(crate) fn acknowledge_revoked(&self) {
        let _held = lock(&self.p_lock);
        self.revoked.store(NO_P, Relaxed);
    }

    /// Go's `notesleep(&m.park)`: waits for `start_m` or shutdown. A mutex
    /// and condition variable (a futex each, like Go's note) rather than
    /// `thread::park`, whose token semantics loom does not model faithfully.
    fn park(&self) -> Wake {
        let mut w = lock(&self.wake);
        while *w == 0 {
            w = self.woken.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        let got = std::mem::take(&mut *w);
        drop(w);
        match got {
            EXIT => Wake::Exit,
            w => Wake::P {
                p: (w >> 2) - 1,
                spinning: w & SPINNING != 0,
            },
        }
    }

    /// The wake word, if it was set: the poller M checks it between polls.
    fn try_wake(&self) -> Option<Wake> {
        let mut w = lock(&self.wake);
        if *w == 0 {
            return None;
        }
        let got = std::mem::take(&mut *w);
        drop(w);
        Some(match got {
            EXIT => Wake::Exit,
            w => Wake::P {
                p: (w >> 2) - 1,
                spinning: w & SPINNING != 0,
            },
        })
    }

    /// Go's `notewakeup(&m.park)`.
    fn unpark(&self, wake: Wake) {
        let w = match wake {
            Wake::Exit => EXIT,
            Wake::P { p, spinning } => ((p + 1) << 2) | if spinning { SPINNING } else { 0 },
        };
        *lock(&self.wake) = w;
        self.woken.notify_one();
    }
}

/// The idle lists and counters (the parts of Go's `schedt` about sleeping).
pub(crate) struct Idle {
    set: Mutex<IdleSet>,
    /// M threads signal here when they park while `start_all_ms` waits for
    /// them, and when they leave (for shutdown).
    threads_changed: Condvar,
    /// Go's `sched.npidle`: Ps on the idle list.
    pub(crate) npidle: AtomicUsize,
    /// Go's `sched.nmspinning`: Ms looking for work while holding a P.
    pub(crate) nmspinning: AtomicUsize,
    /// Mirrors `lockedm_waiting.len()`, for a cheap check by busy Ms.
    pub(crate) lockedm_waiting: AtomicUsize,
}

struct IdleSet {
    pidle: Vec<usize>,
    midle: Vec<Arc<M>>,
    /// Every M ever started that has not exited (Go's `allm`).
    allm: Vec<Arc<M>>,
    /// Bumped whenever `allm` changes, so sysmon can keep its copy.
    allm_version: u64,
    /// M threads started and not yet exited.
    threads: usize,
    next_m_id: usize,
    handles: Vec<std::thread::JoinHandle<()>>,
    shutdown: bool,
    /// Shutdown stopped waiting for the Ms still running: the last one to exit
    /// does the cleanup.
    abandoned: bool,
    /// Parked Ms with bound Gs to run and no P (Go's Ms waiting in
    /// `stoplockedm`): the next P that falls idle goes to the first of them.
    lockedm_waiting: VecDeque<Arc<M>>,
    /// Ms locked to one G (`lock_os_thread`) parked until it is runnable; only
    /// mail for that G wakes them.
    lockedm_parked: Vec<Arc<M>>,
    /// `start_all_ms` waits for the Ms it started to park.
    build_waiting: bool,
}

impl Idle {
    /// All `procs` Ps start idle, with no M yet (`start_all_ms` starts them).
    pub(crate) fn new(procs: usize) -> Idle {
        Idle {
            set: Mutex::new(IdleSet {
                // Popped from the back: P 0 is handed out first.
                pidle: (0..procs).rev().collect(),
                midle: Vec::new(),
                allm: Vec::new(),
                allm_version: 0,
                threads: 0,
                next_m_id: 0,
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
}

impl Shared {
    /// Ms parked on the idle list (for the loom model's setup).
    #[cfg(all(test, loom))]
    pub(crate) fn idle_m_count(&self) -> usize {
        lock(&self.idle.set).midle.len()
    }

    /// Takes P `p` off the idle list as if an M had wired it (loom model setup).
    #[cfg(all(test, loom))]
    pub(crate) fn model_take_p(&self, p: usize) {
        let mut set = lock(&self.idle.set);
        set.pidle.retain(|&q| q != p);
        self.idle.npidle.fetch_sub(1, SeqCst);
    }

    /// Go's `wakep`: if there is an idle P and nobody is spinning, start a
    /// spinning M. Called after every submission.
    #[inline]
    pub(crate) fn wake_p(&self) {
        // Relaxed: the caller's fence (or its P's own M) carries the ordering;
        // see the scheduler essay.
        if self.idle.npidle.load(Relaxed) == 0 || self.idle.nmspinning.load(Relaxed) != 0 {
            return;
        }
        self.wake_p_slow();
    }

    #[cold]
    fn wake_p_slow(&self) {
        if self
            .idle
            .nmspinning
            .compare_exchange(0, 1, SeqCst, Relaxed)
            .is_err()
        {
            return;
        }
        self.start_m(None, true);
    }

    /// Starts an M for every P (up to `max_threads`) as the runtime is built,
    /// and waits until each has parked (there is no work yet), so the runtime
    /// starts from its idle state: the first work wakes a parked M, never one
    /// still on its way to park (which made a wake start yet another M).
    ///
    /// Go starts Ms lazily, as work appears; gmp did too, until it measured
    /// why not: a new thread may wait for the next scheduler tick (1–4 ms on
    /// the 2-core test machine) while its creator is busy, and a started
    /// coroutine never leaves the M that first ran it, so a burst of them
    /// spawned in that window all stayed on the one M that existed (200
    /// coroutines spawned right after `build` at 2 procs: more than 150 on
    /// one M in 56 of 60 runs before, 13 of 60 after). A parked M usually
    /// wakes in tens of microseconds. tokio starts its workers when it is
    /// built, too.
    ///
    /// Errors if not even one M started (the runtime could run nothing): with
    /// the OS's error when the thread could not be created. With at least one,
    /// the rest start later, as work needs them.
    pub(crate) fn start_all_ms(&self) -> std::io::Result<()> {
        let n = self.procs().min(self.config.max_threads);
        lock(&self.idle.set).build_waiting = true;
        let mut started = 0;
        while started < n {
            // A new thread each time, not `start_m`: that would wake an M
            // started a moment ago and already parked. Fewer than `n` Ms hold
            // a P, so one is idle.
            let mut set = lock(&self.idle.set);
            let Some(p) = pidle_get(&mut set, &self.idle) else {
                break;
            };
            if let Err(e) = self.new_m_or_idle(set, p, false) {
                if started == 0 {
                    lock(&self.idle.set).build_waiting = false;
                    return Err(e.into_io());
                }
                e.report();
                break;
            }
            started += 1;
        }
        let mut set = lock(&self.idle.set);
        // `threads` drops if one of them exits instead (it cannot, short of
        // a bug, but then this must not wait forever).
        while set.midle.len() < started.min(set.threads) && !set.shutdown {
            set = self
                .idle
                .threads_changed
                .wait(set)
                .unwrap_or_else(|e| e.into_inner());
        }
        set.build_waiting = false;
        Ok(())
    }

    /// Go's `startm`: runs `p` (or an idle P) on an idle M, or on a new one. A
    /// `spinning` start was already counted in `nmspinning` by the caller, and is
    /// uncounted here if it cannot happen.
    pub(crate) fn start_m(&self, p: Option<usize>, spinning: bool) {
        let mut set = lock(&self.idle.set);
        let p = match p {
            Some(p) => p,
            None => match pidle_get(&mut set, &self.idle) {
                Some(p) => p,
                None => {
                    drop(set);
                    if spinning {
                        self.idle.nmspinning.fetch_sub(1, SeqCst);
                    }
                    return;
                }
            },
        };
        self.wake_sysmon();
        // Prefer an M parked on its note to the one parked in the poller: that
        // one would need an interrupt (a write to the poller's wake-up fd) and
        // leave nobody watching the network and the timers.
        let pick = set
            .midle
            .iter()
            .rposition(|m| !m.in_poller.load(Relaxed))
            .or_else(|| set.midle.len().checked_sub(1));
        if let Some(i) = pick {
            let m = set.midle.swap_remove(i);
            drop(set);
            self.unpark_m(&m, Wake::P { p, spinning });
            return;
        }
        if let Err(e) = self.new_m_or_idle(set, p, spinning) {
            e.report();
        }
    }

    /// `new_m`, and if no thread starts, `p` goes back to the idle list and a
    /// `spinning` start is uncounted.
    fn new_m_or_idle(
        &self,
        set: crate::sync::MutexGuard<'_, IdleSet>,
        p: usize,
        spinning: bool,
    ) -> Result<(), NoNewM> {
        let Err(e) = self.new_m(set, p, spinning) else {
            return Ok(());
        };
        pidle_put(&mut lock(&self.idle.set), self, p);
        if spinning {
            self.idle.nmspinning.fetch_sub(1, SeqCst);
        }
        Err(e)
    }

    /// Go's `newm`: a new thread that starts with `p`. Consumes the lock guard;
    /// an error if no thread may or can be started.
    fn new_m(
        &self,
        mut set: crate::sync::MutexGuard<'_, IdleSet>,
        p: usize,
        spinning: bool,
    ) -> Result<(), NoNewM> {
        // Ms never exit before shutdown and a failed start gives its id back,
        // so ids stay below `max_threads`, which `Builder` caps at what a
        // task's M binding holds; the id check keeps that true regardless.
        if set.shutdown
            || set.threads >= self.config.max_threads
            || set.next_m_id >= crate::runtime::MAX_THREADS
        {
            return Err(NoNewM::Refused);
        }
        if cfg!(loom) {
            // Loom models cannot start OS threads; they pre-park their Ms.
            panic!("new_m reached in a loom model (no idle M to wake)");
        }
        let Some(shared) = self.me.upgrade() else {
            return Err(NoNewM::Refused);
        };
        set.threads += 1;
        let id = set.next_m_id;
        set.next_m_id += 1;
        drop(set);
        if id == 0 {
            // The first M: sysmon starts with it (Go's `newm(sysmon, ...)`).
            self.start_sysmon();
        }

        let mut builder = std::thread::Builder::new().name((self.config.thread_name)(id));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(move || {
            tighten_timer_slack();
            let m = Arc::new(M::new(id, shared.config.sysmon));
            let registered = {
                let mut set = lock(&shared.idle.set);
                if set.shutdown {
                    false
                } else {
                    set.allm.push(m.clone());
                    set.allm_version += 1;
                    true
                }
            };
            if registered {
                super::worker::run(&shared, &m, p, spinning);
            } else {
                // Shutdown began before we ran: the P stays idle for the drain.
                let mut set = lock(&shared.idle.set);
                pidle_put(&mut set, &shared, p);
                drop(set);
                if spinning {
                    shared.idle.nmspinning.fetch_sub(1, SeqCst);
                }
            }
            // Its counters live on in the runtime's totals.
            let st = &shared.stats;
            st.retired_completed.add(m.stats.completed.get());
            st.retired_spinning_ns.add(m.stats.spinning_ns.get());
            st.retired_parked_ns.add(m.stats.parked_ns.get());
            st.retired_lifetime_ns
                .add(m.born.elapsed().as_nanos() as u64);
            let mut set = lock(&shared.idle.set);
            set.allm.retain(|other| !Arc::ptr_eq(other, &m));
            set.allm_version += 1;
            set.threads -= 1;
            let last_abandoned = set.threads == 0 && set.abandoned;
            drop(set);
            shared.idle.threads_changed.notify_all();
            if last_abandoned {
                // Shutdown gave up waiting for us; nobody else is left to do it.
                shared.cancel_everything();
            }
        });
        let mut set = lock(&self.idle.set);
        match spawned {
            Ok(handle) => {
                set.handles.push(handle);
                Ok(())
            }
            Err(e) => {
                set.threads -= 1;
                if set.next_m_id == id + 1 {
                    // Nobody took a later id meanwhile: the next M may use it.
                    set.next_m_id = id;
                }
                Err(NoNewM::Spawn(e))
            }
        }
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
            // SeqCst: pairs with `M::mail` (the sender then takes this lock).
            if m.mailbox_len.load(SeqCst) > 0 || m.own_mail_len.load(Relaxed) > 0 {
                // Bound Gs wait for this very M: get a P now, or queue for one.
                if let Some(p) = pidle_get(&mut set, &self.idle) {
                    return Some((p, false));
                }
                set.lockedm_waiting.push_back(m.clone());
                self.idle
                    .lockedm_waiting
                    .store(set.lockedm_waiting.len(), Relaxed);
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
            self.idle.nmspinning.fetch_sub(1, SeqCst);
        }
        fence(SeqCst);
        let work = !self.global.is_empty()
            || (was_spinning && self.ps.iter().any(|p| !p.stealer.is_empty()));
        if work {
            if let Some(p) = self.acquire_idle_p() {
                if was_spinning {
                    self.idle.nmspinning.fetch_add(1, SeqCst);
                }
                return Some((p, was_spinning));
            }
        }
        self.stop_m(m)
    }

    /// Makes sure M `m`, which just got mail, will run it: if it is parked on
    /// the idle list, it gets an idle P and wakes, or, with no P idle, queues
    /// for the next one (Go's `startlockedm` from the other side). A running M
    /// checks its mailbox on its own.
    pub(crate) fn wake_locked_m(&self, m: &Arc<M>) {
        let mut set = lock(&self.idle.set);
        if let Some(pos) = set.midle.iter().position(|x| Arc::ptr_eq(x, m)) {
            set.midle.swap_remove(pos);
        } else if let Some(pos) = set.lockedm_parked.iter().position(|x| Arc::ptr_eq(x, m)) {
            set.lockedm_parked.swap_remove(pos);
        } else {
            return;
        }
        match pidle_get(&mut set, &self.idle) {
            Some(p) => {
                drop(set);
                self.unpark_m(m, Wake::P { p, spinning: false });
            }
            None => {
                set.lockedm_waiting.push_back(m.clone());
                self.idle
                    .lockedm_waiting
                    .store(set.lockedm_waiting.len(), Relaxed);
            }
        }
    }

    /// Wakes parked M `m` with `wake`, interrupting the poller if it parks
    /// there.
    fn unpark_m(&self, m: &M, wake: Wake) {
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
            // SeqCst: pairs with `M::mail`.
            let mail = m.mailbox_len.load(SeqCst) > 0 || m.own_mail_len.load(Relaxed) > 0;
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
                set.lockedm_waiting.push_back(m.clone());
                self.idle
                    .lockedm_waiting
                    .store(set.lockedm_waiting.len(), Relaxed);
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

    /// The live M numbered `id`.
    pub(crate) fn find_m(&self, id: usize) -> Option<Arc<M>> {
        lock(&self.idle.set)
            .allm
            .iter()
            .find(|m| m.id == id)
            .cloned()
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
            // SeqCst: pairs with `M::mail`.
            if m.mailbox_len.load(SeqCst) > 0 {
                if let Some(p) = pidle_get(&mut set, &self.idle) {
                    return Some((p, false));
                }
                set.lockedm_waiting.push_back(m.clone());
                self.idle
                    .lockedm_waiting
                    .store(set.lockedm_waiting.len(), Relaxed);
            } else {
                set.lockedm_parked.push(m.clone());
            }
        }
        match m.park() {
            Wake::P { p, spinning } => Some((p, spinning)),
            Wake::Exit => None,
        }
    }

    /// A busy M gives its P to an M that has bound Gs and waits for a P (so
    /// those never starve while every P is busy). False if none waits (then
    /// the caller keeps its P).
    pub(crate) fn give_p_to_locked_m(&self, m: &Arc<M>, p: usize) -> GiveP {
        let mut set = lock(&self.idle.set);
        if set.lockedm_waiting.is_empty() {
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

    /// Go's `exitsyscall` getting its old P back: takes `p` off the idle list if
    /// it is there.
    pub(crate) fn take_idle_p(&self, p: usize) -> bool {
        let mut set = lock(&self.idle.set);
        match set.pidle.iter().position(|&q| q == p) {
            Some(i) => {
                set.pidle.swap_remove(i);
                self.idle.npidle.fetch_sub(1, SeqCst);
                self.wake_sysmon();
                true
            }
            None => false,
        }
    }

    /// (Ms alive, Ms parked, every live M) for metrics and diagnostics.
    pub(crate) fn ms_snapshot(&self) -> (usize, usize, Vec<Arc<M>>) {
        let set = lock(&self.idle.set);
        (set.threads, set.midle.len(), set.allm.clone())
    }

    /// The live Ms, if they changed since `version` (sysmon's copy of `allm`).
    pub(crate) fn allm_if_changed(&self, version: &mut u64) -> Option<Vec<Arc<M>>> {
        let set = lock(&self.idle.set);
        if set.allm_version == *version {
            return None;
        }
        *version = set.allm_version;
        Some(set.allm.clone())
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

fn pidle_put(set: &mut IdleSet, shared: &Shared, p: usize) {
    let idle = &shared.idle;
    debug_assert!(!set.pidle.contains(&p), "P {p} put on the idle list twice");
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

fn pidle_get(set: &mut IdleSet, idle: &Idle) -> Option<usize> {
    let p = set.pidle.pop()?;
    idle.npidle.fetch_sub(1, SeqCst);
    Some(p)
}

/// Why `new_m` started no M.
#[derive(Debug)]
pub(crate) enum NoNewM {
    /// Not allowed: shutdown began, or `max_threads` Ms exist.
    Refused,
    /// The OS could not create the thread.
    Spawn(std::io::Error),
}

impl NoNewM {
    /// Says so on stderr, where nobody could be handed the error (a start for
    /// work that another M or a later start will pick up). A refusal is normal
    /// operation and says nothing.
    fn report(&self) {
        if let NoNewM::Spawn(e) = self {
            eprintln!("gmp: could not start an M thread: {e}");
        }
    }

    /// The error `Builder::build` returns when not one M started.
    #[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
    fn into_io(self) -> std::io::Error {
        match self {
            NoNewM::Spawn(e) => std::io::Error::new(e.kind(), NoMStarted(Some(e))),
            NoNewM::Refused => std::io::Error::other(NoMStarted(None)),
        }
    }
}

/// `build` could not start any M, so the runtime could run nothing; the OS's
/// error, if it gave one, is the source.
#[derive(Debug)]
#[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
struct NoMStarted(Option<std::io::Error>);

impl std::fmt::Display for NoMStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not start an M thread, so the runtime could run no task")?;
        match &self.0 {
            Some(e) => write!(f, ": {e}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for NoMStarted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.as_ref().map(|e| e as _)
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

/// Makes this M's timed waits end on time. Linux lets a blocking call's
/// timeout run late by the thread's timer slack (50 µs by default) to batch
/// wake-ups; an M blocked in the poller waits for the next timer, so that
/// slack lands on every sleep's lateness (measured: timer lateness p50 went
/// from about 35 µs to 90 µs when the poller's waits moved from a timerfd,
/// which has no slack, to `epoll_pwait2`'s own timeout). One `prctl` per M,
/// at its start. Sysmon keeps the default: its sleeps are heuristics.
fn tighten_timer_slack() {
    #[cfg(all(target_os = "linux", not(loom)))]
    // SAFETY: PR_SET_TIMERSLACK takes plain integers and changes only this
    // thread's slack; it cannot fail for a value of 1 ns.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}
