//! The M: one OS thread of the scheduler (Go's `m`), and how Ms come to be —
//! Go's `newm` (a thread that starts with a P), `startm` (run a P on an idle
//! M, or a new one) and `mstart` (the thread's entry, [`worker::run`]).
//!
//! An M's own fields are read by sysmon (its ticks, its P, its syscall mark),
//! by the Ms that mail it bound Gs (its mailbox) and by the M itself; the
//! comment on each says who writes it. An M parks on its note (`park`,
//! `unpark`: Go's `notesleep`/`notewakeup`) when it has nothing to do; who
//! decides that is [`idle`](super::idle).
//!
//! [`worker::run`]: super::worker::run

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::time::Instant;

use crate::metrics::MStats;
use crate::task::Notified;

use crate::sync::{
    fence, lock, Arc, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard,
};

use super::barrier;
use super::idle::{pidle_get, pidle_put, IdleSet};

#[cfg(loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(loom))]
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::AtomicPtr as StdAtomicPtr;

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
    pub(crate) mailbox: Mutex<Mailbox>,
    pub(crate) mailbox_len: AtomicUsize,
    /// True from just before this M parks on the idle lists (`midle`, or
    /// `lockedm_parked` for a locked M) until it wakes again; false while it
    /// runs. A waker that mails this M a bound G takes the idle lock to wake
    /// it only when this is set (`Shared::schedule_bound`). Written only by
    /// the M itself. Its store, a SeqCst fence and the M's re-check of
    /// `mailbox_len`, against the waker's `mailbox_len` store, a fence and its
    /// load of this flag, are a StoreLoad pair (rule 3's shape): one of the
    /// two sees the other (`Shared::note_parking`, `M::mail`).
    pub(crate) parking: AtomicBool,
    /// Length of the M's own lock-free mailbox (bound Gs it woke itself),
    /// mirrored here so that `stop_m` never parks an M that has some.
    pub(crate) own_mail_len: AtomicUsize,
    /// This M parks in the network poller rather than on its note, so a wake
    /// must also interrupt the poll (see `netpoll.rs`).
    pub(crate) in_poller: AtomicBool,
}

/// The mailbox other threads post an M's bound Gs to.
pub(crate) struct Mailbox {
    queue: VecDeque<Notified>,
    /// The M exited: nothing will take mail any more.
    closed: bool,
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
            mailbox: Mutex::new(Mailbox {
                queue: VecDeque::new(),
                closed: false,
            }),
            mailbox_len: AtomicUsize::new(0),
            parking: AtomicBool::new(false),
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

    /// Queues a G bound to this M (from any thread), unless the M has exited:
    /// then the G comes back. On success, says whether the M may be parking
    /// (and so needs a wake), and returns the mailbox still locked: while the
    /// caller holds it, the M cannot take the G, so the caller may still rely
    /// on what its notified reference kept alive.
    pub(crate) fn mail(&self, task: Notified) -> Result<(MutexGuard<'_, Mailbox>, bool), Notified> {
        let mut mailbox = lock(&self.mailbox);
        if mailbox.closed {
            return Err(task);
        }
        mailbox.queue.push_back(task);
        self.mailbox_len.store(mailbox.queue.len(), Relaxed);
        // The waker's half of the StoreLoad pair with `parking` (see there):
        // the M re-checks `mailbox_len` past a fence of its own after setting
        // `parking`, so either it sees this G and does not park, or this load
        // sees it parking. Fences rather than SeqCst accesses, which loom
        // models only as acquire/release.
        fence(SeqCst);
        let parking = self.parking.load(Relaxed);
        Ok((mailbox, parking))
    }

    /// The M, about to park on an idle list (under the idle lock), marks
    /// itself `parking`; then, past the fence that pairs with `mail`'s, says
    /// whether mail came in meanwhile (it must not park then). With mail, the
    /// mark is taken back.
    pub(crate) fn note_parking(&self) -> bool {
        self.parking.store(true, Relaxed);
        fence(SeqCst);
        let mail = self.mailbox_len.load(Relaxed) > 0;
        if mail {
            self.parking.store(false, Relaxed);
        }
        mail
    }

    /// Moves every G in this M's mailbox to the back of `own` (its own
    /// mailbox), in order.
    pub(crate) fn take_all_mail(&self, own: &mut VecDeque<Notified>) {
        if self.mailbox_len.load(Relaxed) == 0 {
            return;
        }
        let mut mailbox = lock(&self.mailbox);
        own.append(&mut mailbox.queue);
        self.mailbox_len.store(0, Relaxed);
    }

    /// The exiting M's last word on its mailbox: later mail comes back to its
    /// sender (`mail`), and what is left now is returned, for the caller to
    /// drop outside the lock (dropping a G may wake another).
    pub(crate) fn close_mailbox(&self) -> VecDeque<Notified> {
        let mut mailbox = lock(&self.mailbox);
        mailbox.closed = true;
        self.mailbox_len.store(0, Relaxed);
        std::mem::take(&mut mailbox.queue)
    }

    /// The M noticed that sysmon took its P.
    pub(crate) fn acknowledge_revoked(&self) {
        let _held = lock(&self.p_lock);
        self.revoked.store(NO_P, Relaxed);
    }

    /// Go's `notesleep(&m.park)`: waits for `start_m` or shutdown. A mutex
    /// and condition variable (a futex each, like Go's note) rather than
    /// `thread::park`, whose token semantics loom does not model faithfully.
    pub(super) fn park(&self) -> Wake {
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
    #[cfg_attr(loom, allow(dead_code))] // read by `park_in_poller` only
    pub(super) fn try_wake(&self) -> Option<Wake> {
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
    pub(super) fn unpark(&self, wake: Wake) {
        let w = match wake {
            Wake::Exit => EXIT,
            Wake::P { p, spinning } => ((p + 1) << 2) | if spinning { SPINNING } else { 0 },
        };
        *lock(&self.wake) = w;
        self.woken.notify_one();
    }
}

impl Shared {
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
    #[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
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
                        self.idle.spinning_stopped();
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
            self.idle.spinning_stopped();
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
        // An M that exits early and a failed start give their ids back, so
        // ids stay below `max_threads`, which `Builder` caps at what a task's
        // M binding holds (rule 7); the id check keeps that true regardless.
        if set.shutdown
            || set.threads >= self.config.max_threads
            || (set.free_m_ids.is_empty() && set.next_m_id >= crate::config::MAX_THREADS)
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
        let id = match set.free_m_ids.pop() {
            Some(id) => id,
            None => {
                set.next_m_id += 1;
                set.next_m_id - 1
            }
        };
        drop(set);
        if id == 0 {
            // The first M: sysmon starts with it (Go's `newm(sysmon, ...)`).
            self.start_sysmon();
        }

        let mut builder = std::thread::Builder::new().name((self.config.thread_name)(id));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(self.config.thread_hooks.wrap(move || {
            tighten_timer_slack();
            crate::config::run_hook(&shared.config.on_thread_start, "on_thread_start");
            let m = Arc::new(M::new(id, shared.config.sysmon));
            let registered = {
                let mut set = lock(&shared.idle.set);
                if set.shutdown {
                    false
                } else {
                    set.allm.push(m.clone());
                    set.allm_version += 1;
                    shared.ms.insert(&m);
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
                    shared.idle.spinning_stopped();
                }
            }
            // Before the M counts as gone: shutdown waits for the hook.
            crate::config::run_hook(&shared.config.on_thread_stop, "on_thread_stop");
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
            if !set.shutdown {
                // Left early (its locked G ended locked): the id is free.
                set.free_m_ids.push(id);
            }
            let last_abandoned = set.threads == 0 && set.abandoned;
            drop(set);
            shared.idle.threads_changed.notify_all();
            if last_abandoned {
                // Shutdown gave up waiting for us; nobody else is left to do it.
                shared.cancel_everything();
            }
        }));
        let mut set = lock(&self.idle.set);
        match spawned {
            Ok(handle) => {
                set.handles.push(handle);
                Ok(())
            }
            Err(e) => {
                set.threads -= 1;
                // The next M may use the id.
                set.free_m_ids.push(id);
                Err(NoNewM::Spawn(e))
            }
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
}

/// Every M by id, for a waker to find a bound G's M without a lock (Go keeps
/// a pointer to the M in the G itself, `g.lockedm`; a task here has 16 bits
/// for its M's id, rule 7 of the scheduler essay).
///
/// Two levels, so that a runtime with a few Ms pays for one chunk of slots
/// rather than for all `MAX_THREADS`: `chunks[id / CHUNK]` points to a chunk
/// (null until an M with an id in it starts), whose slot `id % CHUNK` holds a
/// strong reference to the M with that id (from `Arc::into_raw`), or null.
///
/// # Invariants
///
/// * Chunks and slots are written only under the idle lock (`insert`); a
///   chunk, once published, lives until the table is dropped.
/// * The M in a slot stays allocated until `insert` replaces it with a newer
///   M of the same id, or the table is dropped. An id is reused only after its
///   M exited before shutdown (`free_m_ids`), and such an M exits only when
///   every G bound to it has completed (`may_exit_tainted`): no G still bound
///   to it is left to be woken, so no lookup of that id can be in flight for
///   the old M. At shutdown, exited Ms keep their slots (no id is reused).
///
/// The pointers are std's atomics even in loom builds: no model races an
/// insert with a lookup (Ms are registered before a model's threads start),
/// and a thousand loom atomics per model runtime would only slow the models.
pub(crate) struct MTable {
    chunks: Box<[StdAtomicPtr<MChunk>]>,
}

/// Slots per chunk of the M table.
const CHUNK: usize = 64;

struct MChunk {
    slots: [StdAtomicPtr<M>; CHUNK],
}

impl MTable {
    pub(crate) fn new() -> MTable {
        let n = crate::config::MAX_THREADS.div_ceil(CHUNK);
        MTable {
            chunks: (0..n)
                .map(|_| StdAtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        }
    }

    /// Records `m` under its id, replacing an M of that id that exited.
    /// Called only under the idle lock (first invariant).
    pub(crate) fn insert(&self, m: &Arc<M>) {
        let chunk = &self.chunks[m.id / CHUNK];
        let mut c = chunk.load(Acquire);
        if c.is_null() {
            let fresh = Box::new(MChunk {
                slots: std::array::from_fn(|_| StdAtomicPtr::new(std::ptr::null_mut())),
            });
            c = Box::into_raw(fresh);
            // Release: a reader that sees the chunk sees its null slots.
            chunk.store(c, Release);
        }
        // SAFETY: a published chunk is never freed before the table (first
        // invariant), and `c` is one.
        let slot = unsafe { &(*c).slots[m.id % CHUNK] };
        // Release: a reader that loads the pointer sees the M's fields.
        let old = slot.swap(Arc::into_raw(m.clone()).cast_mut(), AcqRel);
        if !old.is_null() {
            // SAFETY: `old` came from `Arc::into_raw` in an earlier insert and
            // the slot owned that reference; its M exited with no G left
            // bound to it, so nothing reads it any more (second invariant).
            drop(unsafe { Arc::from_raw(old) });
        }
    }

    /// The M numbered `id`, if one ever started. The caller must be waking a
    /// live G bound to that M (second invariant), and must keep the runtime
    /// alive while it uses the reference.
    #[inline]
    pub(crate) fn get(&self, id: usize) -> Option<&M> {
        // Acquire, both: pair with the Release publications in `insert`.
        let c = self.chunks.get(id / CHUNK)?.load(Acquire);
        if c.is_null() {
            return None;
        }
        // SAFETY: a published chunk lives as long as the table.
        let m = unsafe { &(*c).slots[id % CHUNK] }.load(Acquire);
        // SAFETY: a non-null slot holds a strong reference, and the M it
        // points to stays allocated while its bound Gs can be woken (second
        // invariant); the caller wakes one of them.
        unsafe { m.as_ref() }
    }
}

impl Drop for MTable {
    fn drop(&mut self) {
        for chunk in self.chunks.iter() {
            let c = chunk.load(Acquire);
            if c.is_null() {
                continue;
            }
            // SAFETY: the chunk came from `Box::into_raw` in `insert`, and the
            // table is going away: nothing else reads it now.
            let chunk = unsafe { Box::from_raw(c) };
            for slot in &chunk.slots {
                let m = slot.load(Acquire);
                if !m.is_null() {
                    // SAFETY: the slot owns this reference (`insert`).
                    drop(unsafe { Arc::from_raw(m) });
                }
            }
        }
    }
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
