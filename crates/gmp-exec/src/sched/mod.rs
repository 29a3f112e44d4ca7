//! The scheduler: Go's `runtime/proc.go` for futures and coroutines.
//!
//! # Why this is hard
//!
//! A scheduler is a set of queues that many threads push to and pop from, and
//! a set of threads that must be awake exactly when there is work: one too
//! few and a runnable G waits behind a sleeping CPU, one too many and every
//! wake-up costs a futex call and a cache miss for nothing. Both halves race.
//! A thread that decides to sleep because the queues are empty can miss the
//! G pushed a moment later (a lost wake-up: the G waits until something else
//! happens, maybe forever); a thread that pushes a G can miss the one idle M
//! that was about to look. Add threads that block inside a G (a syscall, a
//! long poll) while holding the right to run the queue behind them, and a
//! monitor thread (sysmon) that must take that right away without a lock on
//! the hot path, and every transfer of a P or a G between threads is a
//! protocol. The [rules](#rules) below are those protocols; the code cites
//! them by number.
//!
//! # Vocabulary
//!
//! * **G** — a task ([`crate::task`]): a future in a cell, with a notified
//!   reference when runnable.
//! * **M** — an OS thread that runs the scheduling loop ([`worker`]). It runs Gs
//!   only while it holds a P; without one it spins looking for work or parks.
//! * **P** — a processor: the right to run Gs, with its own run queue (ring plus
//!   `runnext`, from gmp-core), G-id cache and slice of the live-task registry.
//!   There are exactly `procs` (Go's `GOMAXPROCS`).
//! * **sched** — [`Shared`]: the global run queue, the idle P and M lists, the
//!   spinning count, the steal order.
//!
//! # Where a G goes
//!
//! * Spawned or woken **on an M that holds a P of this runtime**: that P's
//!   `runnext` (Go's `runqput(p, gp, next=true)` in `newproc` and `ready`); the
//!   previous `runnext` moves to the tail of the ring; a full ring spills half
//!   to the global queue.
//! * Woken **while it runs** (it woke itself: `yield_now`): after the poll, the
//!   tail of the ring, so every other local G runs first.
//! * Spawned or woken **anywhere else** (another thread, another runtime): the
//!   global queue, then `wake_p`.
//!
//! # Where an M looks (`schedule` and `find_runnable`)
//!
//! 1. One schedule round in 61 (and the round after a coroutine yields), the
//!    global queue first — before everything
//!    else, this M's bound Gs included — so that neither local work that never
//!    runs out nor coroutines that yield forever starve the Gs spawned from
//!    outside and those the netpoller wakes (sysmon injects them there).
//! 2. Its bound Gs (started coroutines, which only this M may run): its own
//!    mailbox, with those other threads mailed it appended in order. After
//!    [`BOUND_STREAK_MAX`] in a row, the P's queue goes first once; if that is
//!    empty, the M takes one steal pass instead, so that a burst of unstarted
//!    coroutines queued elsewhere is shared rather than started — and so placed
//!    for good — by one M. Right after a bound G yields (`coro::yield_now`,
//!    Go's `Gosched`), the P's queue goes first once as well: the yielder waits
//!    behind the Gs already runnable, as Go's does on the global queue.
//! 3. Its P's `runnext`, then the ring. A G taken from `runnext` *inherits the
//!    time slice*: it does not start a new tick of Go's `schedtick`; after
//!    [`RUNNEXT_STREAK_MAX`] inherited Gs in a row, the ring goes first once, so a
//!    pair of Gs waking each other cannot starve the rest of the queue.
//! 4. Its fair share of the global queue (`min(len/procs + 1, len)`).
//! 5. The network poller, without blocking, if a task waits on a socket and no
//!    M is blocked in it ([`netpoll`]).
//! 6. Stealing: `STEAL_PASSES` (4) passes over all other Ps in a random
//!    co-prime order, taking half of a ring, and `runnext` only in the last
//!    pass.
//! 7. Give up: release the P to the idle list and re-check (below), then park.
//!
//! # Spinning Ms and the one rule that keeps work from being stranded
//!
//! An M looking for work without finding it is *spinning*. Go's rule, kept here:
//! **when work is submitted and there is an idle P and no spinning M, start one**
//! (`Shared::wake_p`) — with one refinement: a G that lands in an empty
//! `runnext` is not stealable work yet (its own M runs it next, and thieves
//! leave `runnext` alone for a grace), so it wakes nobody; a ping-pong pair then
//! costs no futex wake-ups at all. To keep spinning cheap, at most half of the busy Ps may
//! have a spinning M, and a spinning M that finds work stops spinning and wakes
//! another spinner if there is none (`reset_spinning`), so that bursts fan out
//! one M at a time instead of waking every thread at once.
//!
//! Two racing patterns must not lose work:
//!
//! * *Submitter:* (a) put a G on a queue; (b) StoreLoad barrier; (c) read
//!   `nmspinning` and `npidle`; wake an M if needed.
//! * *M giving up:* (a) drop `nmspinning` (and put its P on the idle list);
//!   (b) StoreLoad barrier; (c) look at the queues once more.
//!
//! With a `SeqCst` fence at both (b)s, at least one side sees the other: either
//! the submitter sees the spinner gone and wakes an M, or the spinner sees the G.
//! Go's global queue sits under the same lock as the idle P list; ours has its own
//! lock (so remote spawns do not contend with parking Ms), so every M that gives
//! up its P re-checks the global queue after the fence, not only spinning ones.
//! Submissions to a running P's *own* queue need no such care: that P's M will
//! run them; waking a spinner is only about parallelism.
//!
//! # Ownership of a P
//!
//! A P's [`PCore`] is touched only by the M that has *wired* it (Go's
//! `acquirep`/`wirep`): an M gets a P from the idle list under the idle lock, or
//! handed over through [`M`](m::M)'s wake word by `start_m`, and gives it back
//! the same way. Both transfers synchronise (a mutex, or a Release store read
//! with Acquire), so the next owner sees everything the previous one did.
//!
//! # Rules
//!
//! 1. **A P's state belongs to the M that wired it**, and that M touches it
//!    only inside a [`CoreGuard`](worker::CoreGuard) (`Worker::core`), never
//!    across user code (a poll, a waker, a drop).
//! 2. **sysmon takes a P only by `retake`'s handshake** with the M's
//!    `enter_core` (an asymmetric barrier, [`barrier`]); the M learns of it at
//!    its next `core()` and never touches that P again. A P changes hands
//!    because its M blocks only through `handoff_p` ([`syscall`]).
//! 3. **No work is stranded** (the StoreLoad pair above): whoever queues work
//!    fences and then reads `nmspinning`/`npidle`; whoever stops spinning or
//!    gives up a P fences and then re-checks the queues. `nmspinning` changes
//!    only through [`Idle`]'s methods, which name each transition.
//! 4. **A started coroutine G runs only on its M.** Once bound, it is never
//!    put on a P's run queue (a thief could take it): its wakes go to its M's
//!    mailbox ([`locked`]), and its M serves that mailbox within the limits of
//!    "Where an M looks", step 2. A waker on another thread finds the M in a
//!    table by id and takes the idle lock only if the M is parking (a
//!    StoreLoad pair of its own, [`m`]). Since the Gs cannot move to a P that
//!    is free, the Ms take turns on the Ps instead: an M whose bound Gs wait
//!    for a P gets one within a time slice (`retake_after`, Go's 10 ms) from
//!    an M busy with bound Gs of its own, which then queues for the next.
//! 5. **A G woken during its own poll is requeued once, after the poll**
//!    (rule 5 of the [task essay](crate::task)), at the tail of the ring, or in
//!    its M's mailbox if it is bound.
//! 6. **No lock is held across user code**, and no waker is woken or dropped
//!    under a scheduler lock: a waker may be anyone's, and dropping a task's
//!    last reference may run any destructor.
//! 7. **Ms never exit before shutdown**, and M ids stay below
//!    [`MAX_THREADS`](crate::config::MAX_THREADS) (a bound G records its M in
//!    16 bits).
//!
//! # Designs rejected, and why
//!
//! * **One shared run queue** (the first Go scheduler, most simple executors):
//!   every spawn and wake contends on one lock or one cache line. Per-P
//!   queues with stealing (Vyukov's design for Go 1.1) make the common case
//!   local; the global queue is for Gs from outside and overflow.
//! * **The global queue under the idle lock** (Go's `sched.lock` covers both):
//!   remote spawns would contend with parking Ms; ours has its own lock, at the
//!   price of every M re-checking it after giving up its P (rule 3).
//! * **Waking a spinner for every spawn** (Go's `wakep` in `newproc`): a lone
//!   G in an empty `runnext` is about to run on its own M and thieves leave it
//!   alone for a grace, so waking an M for it cost a futex wake per spawn in a
//!   ping-pong; only a push that reaches the ring wakes one.
//! * **Starting Ms lazily** (Go's way): a thread created on demand waited
//!   1–4 ms for a CPU on the test machine, and a burst of coroutines spawned
//!   meanwhile all started, and so stayed, on the one M that existed; `build`
//!   starts an M per P (`m::start_all_ms` has the figures).
//! * **Moving a started coroutine to another thread** (may's coroutines):
//!   compiled Rust may keep a thread-local's address across a call, so a
//!   resumed stack on another thread reads the wrong thread's data; rule 4.
//! * **Preemption by signal** (Go 1.14's async preemption): Rust code cannot
//!   be stopped at an arbitrary instruction and resumed elsewhere safely.
//!   Preemption here is cooperative (a poll budget, `preempt_check!`) plus
//!   sysmon handing a blocked M's P to another M, which needs no cooperation.
//! * **A lock around each P's state** so that sysmon can take it: the M's
//!   every queue operation would pay for a lock sysmon takes once in 10 ms.
//!   The asymmetric barrier puts the whole cost on sysmon's side (rule 2).
//!
//! # The rooms
//!
//! | file | what it holds | Go |
//! | --- | --- | --- |
//! | `mod.rs` | this essay, `Shared` (Go's `schedt`), `P`, `PCore`, metrics | `schedt`, `p` |
//! | [`worker`] | an M's loop: picking the next G, running it, spinning | `mstart`, `schedule`, `execute`, `resetspinning` |
//! | [`find`] | looking for work when the P's queue is empty, and handing batches of woken Gs to the queues | `findrunnable`, `stealWork`, `runqsteal` (via gmp-core), `checkTimers`, `netpoll(0)`, `injectglist` |
//! | [`spawn`] | making a G | `newproc`, `runqput(next=true)`, `globrunqput` |
//! | [`park`] | readying a G a waker woke (parking is the task harness returning `Pending`) | `goready`, `ready`, `gopark` (its scheduler half) |
//! | [`locked`] | Gs bound to an M: started coroutines and `lock_os_thread` | `lockOSThread`, `startlockedm`, `stoplockedm` |
//! | [`syscall`] | blocking calls and taking a P back; handing a P on | `entersyscall`, `entersyscallblock`, `exitsyscall`, `handoffp` |
//! | [`m`] | the M itself, making Ms, and the table that finds an M by id | `m`, `allm`, `newm`, `startm`, `mstart` (entry) |
//! | [`idle`] | idle Ps and Ms, the spinning count, parking an M | `pidleget`/`pidleput`, `wakep`, `stopm` |
//! | [`resize`] | changing the number of Ps while Gs run | `procresize` (`GOMAXPROCS(n)`), `destroy` |
//! | [`netpoll`] | the poller and the timers as the scheduler drives them | `netpoll`, `wakeNetPoller` |
//! | [`sysmon`] | the monitor thread | `sysmon`, `retake`, `preemptone` |
//! | [`barrier`] | the asymmetric barrier behind rule 2 | (Go stops the world instead) |
//! | [`shutdown`] | stopping the Ms and cancelling every G | — |
//!
//! The queues themselves (`runqput`, `runqget`, `runqgrab`, `runqsteal`,
//! `globrunqput`, `globrunqget`) are gmp-core's `runq` and `global`.

pub(crate) mod barrier;
mod find;
pub(crate) mod idle;
mod locked;
pub(crate) mod m;
pub(crate) mod netpoll;
mod park;
mod resize;
pub(crate) mod shutdown;
mod spawn;
pub(crate) mod syscall;
pub(crate) mod sysmon;
pub(crate) mod worker;

use std::cell::UnsafeCell;
#[cfg(debug_assertions)]
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Duration;

use gmp_core::free::{GoidCache, GoidGen};
use gmp_core::global::Global;
use gmp_core::runq::{self, Local, Stealer};
use gmp_core::steal_order::StealOrder;

use crate::blocking::BlockingPool;
use crate::config::Config;
use crate::metrics::{Metrics, PMetrics, PStats, RuntimeStats};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Weak};
use crate::task::alloc::PFree;
use crate::task::registry::{Registry, RegistryOwner};
use crate::task::Notified;

use self::idle::Idle;
use self::netpoll::Netpoll;
use self::sysmon::Sysmon;

/// After this many Gs in a row taken from `runnext` (each inheriting the time
/// slice), the next pick comes from the ring. Go bounds the same chain by time
/// (sysmon preempts a G after 10 ms); a count needs no timer and bounds the
/// wait of the ring's head to a few hundred microseconds.
pub(crate) const RUNNEXT_STREAK_MAX: u32 = 512;

/// After this many bound Gs (started coroutines) in a row, an M takes one G
/// from its P's queue first, or, with that queue empty, takes one steal pass.
pub(crate) const BOUND_STREAK_MAX: u32 = 64;

/// The global queue is served first every this many ticks (Go: 61).
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 61;

/// Go's `schedt`: everything the Ms share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// Every P up to `max_procs`, allocated at build and never moved; only
    /// the first `nprocs` are in use (see `resize.rs`).
    pub(crate) ps: Box<[P]>,
    /// Ps in use (Go's `gomaxprocs`). Changed only by `set_procs`, under the
    /// idle lock; read Relaxed on the hot paths, where a stale count is
    /// harmless: an M holding a P beyond it gives the P up at its next round.
    nprocs: AtomicUsize,
    pub(crate) global: Global<Notified>,
    pub(crate) idle: Idle,
    /// Every M by id: how a waker finds a bound G's M (`m.rs`).
    pub(crate) ms: m::MTable,
    /// The steal order for each count of Ps (`orders[n - 1]` for `n`).
    orders: Box<[StealOrder]>,
    pub(crate) goids: GoidGen,
    /// Tasks spawned from outside any worker register here.
    remote_registry: Registry,
    remote_owner: Mutex<RegistryOwner>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) blocking: Arc<BlockingPool>,
    pub(crate) sysmon: Sysmon,
    /// The network poller and the timers (see `netpoll.rs`).
    pub(crate) netpoll: Netpoll,
    pub(crate) stats: RuntimeStats,
    /// Names of named tasks (rare, so kept out of the task cell).
    pub(crate) names: Mutex<std::collections::HashMap<u64, std::sync::Arc<str>>>,
    /// A task dump is walking the registries (see `dump.rs`).
    pub(crate) dumping: AtomicBool,
    pub(crate) dump_lock: Mutex<()>,
    /// This runtime's number in traces.
    pub(crate) id: u32,
    /// When the runtime was built (schedtrace's clock).
    pub(crate) started: std::time::Instant,
    /// The runtime's clock: the OS clock unless a test paused it.
    pub(crate) clock: crate::clock::Clock,
    /// This `Shared`'s own `Arc`, to hand clones to new Ms.
    pub(crate) me: Weak<Shared>,
}

/// Go's `p`. See "Ownership of a P" in the module docs.
pub(crate) struct P {
    pub(crate) stealer: Stealer<Notified>,
    pub(crate) registry: Registry,
    pub(crate) stats: PStats,
    core: UnsafeCell<PCore>,
    /// Debug builds: the M that holds this P, plus one (0: none). Checks the
    /// invariant the whole `core` contract rests on — one M per P — at every
    /// wire, unwire and retake (`claim` and `disown`).
    #[cfg(debug_assertions)]
    owner: std::sync::atomic::AtomicUsize,
}

/// The part of a P that only its current M touches.
pub(crate) struct PCore {
    pub(crate) runq: Local<Notified>,
    pub(crate) goids: GoidCache,
    pub(crate) registry: RegistryOwner,
    /// Counts every G run; drives the 1-in-61 global check.
    pub(crate) tick: u32,
    /// Consecutive Gs taken from `runnext`.
    pub(crate) runnext_streak: u32,
    /// Dead task cells for reuse (Go's `p.gFree`).
    pub(crate) free: PFree,
}

// SAFETY: `core` is only accessed by the M that has wired the P, and wiring
// transfers synchronise (module docs); every other field is `Sync`.
unsafe impl Sync for P {}

impl P {
    /// Debug builds: records that M `m` now holds this P; panics if another
    /// M still does.
    #[inline]
    pub(crate) fn claim(&self, p: usize, m: usize) {
        #[cfg(debug_assertions)]
        // SeqCst: a debug-build check only; the handover itself is ordered
        // by the idle lock or the M's wake word ("Ownership of a P").
        if let Err(old) = self.owner.compare_exchange(0, m + 1, SeqCst, SeqCst) {
            panic!("P{p} wired to M{m} while M{} holds it", old - 1);
        }
        let _ = (p, m);
    }

    /// Debug builds: records that M `m` let go of this P (or lost it to
    /// sysmon); panics if it did not hold it.
    #[inline]
    pub(crate) fn disown(&self, p: usize, m: usize) {
        #[cfg(debug_assertions)]
        // SeqCst: a debug-build check only, as in `claim`.
        if let Err(old) = self.owner.compare_exchange(m + 1, 0, SeqCst, SeqCst) {
            panic!(
                "M{m} let go of P{p}, held by {}",
                old.wrapping_sub(1) as isize
            );
        }
        let _ = (p, m);
    }

    /// The owner's state.
    ///
    /// # Safety
    ///
    /// The caller is the M that holds this P, and does not let two returned
    /// borrows overlap (nor run user code while one is alive).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn core(&self) -> &mut PCore {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.core.get() }
    }
}

/// Registry slots encode the registry (a P's id, or `procs` for the remote
/// one) in the high 32 bits and the index in the low 32. Only 48 bits are kept
/// (`SLOT_MASK`, all ones meaning "none"): the registry id must fit in 16,
/// which `Builder` makes sure of by capping `procs`.
fn slot_code(registry: usize, index: usize) -> u64 {
    (registry as u64) << 32 | index as u64
}

// The remote registry's id, `procs`, is at most `MAX_PROCS`, which must stay
// below 0xFFFF: registry 0xFFFF with index 0xFFFF_FFFF would read as "none".
const _: () = assert!(crate::config::MAX_PROCS < 0xFFFF);

impl Shared {
    pub(crate) fn new(config: Config) -> std::io::Result<Arc<Shared>> {
        let procs = config.procs;
        let capacity = config.max_procs.max(procs);
        let orders = (1..=capacity)
            .map(StealOrder::new)
            .collect::<Result<Vec<_>, _>>()?
            .into_boxed_slice();
        let ps = (0..capacity)
            .map(|_| {
                let (local, stealer) = runq::new();
                P {
                    stealer,
                    registry: Registry::new(),
                    stats: PStats::default(),
                    core: UnsafeCell::new(PCore {
                        runq: local,
                        goids: GoidCache::new(),
                        registry: RegistryOwner::new(),
                        tick: 0,
                        runnext_streak: 0,
                        free: PFree::new(),
                    }),
                    #[cfg(debug_assertions)]
                    owner: std::sync::atomic::AtomicUsize::new(0),
                }
            })
            .collect();
        let netpoll = Netpoll::new(capacity)?;
        let blocking = Arc::new(BlockingPool::new(&config));
        blocking.init();
        Ok(Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            idle: Idle::new(procs, capacity),
            ms: m::MTable::new(),
            config,
            ps,
            nprocs: AtomicUsize::new(procs),
            global: Global::new(),
            orders,
            goids: GoidGen::new(),
            remote_registry: Registry::new(),
            remote_owner: Mutex::new(RegistryOwner::new()),
            shutdown: AtomicBool::new(false),
            blocking,
            sysmon: Sysmon::new(),
            netpoll,
            stats: RuntimeStats::default(),
            started: std::time::Instant::now(),
            clock: crate::clock::Clock::new(),
            id: {
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                NEXT.fetch_add(1, Relaxed)
            },
            names: Mutex::new(std::collections::HashMap::new()),
            dumping: AtomicBool::new(false),
            dump_lock: Mutex::new(()),
        }))
    }

    /// Ps in use now (Go's `gomaxprocs`).
    #[inline]
    pub(crate) fn procs(&self) -> usize {
        // Relaxed: see `nprocs`.
        self.nprocs.load(Relaxed)
    }

    /// Every P there is, in use or not (`max_procs`).
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.ps.len()
    }

    /// The steal order over `n` Ps.
    #[inline]
    pub(crate) fn order(&self, n: usize) -> &StealOrder {
        &self.orders[n.clamp(1, self.orders.len()) - 1]
    }

    /// True if the runtime keeps its counters.
    #[inline]
    pub(crate) fn metrics_on(&self) -> bool {
        self.config.metrics
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // Acquire: pairs with the SeqCst store in `shutdown`.
        self.shutdown.load(Acquire)
    }

    fn registry(&self, code: u64) -> (&Registry, usize) {
        let which = (code >> 32) as usize;
        let index = (code & u32::MAX as u64) as usize;
        // The remote registry is numbered after every P (`capacity`), a
        // number no P has, whatever the count in use.
        let registry = if which == self.capacity() {
            &self.remote_registry
        } else {
            &self.ps[which].registry
        };
        (registry, index)
    }

    pub(crate) fn remote_registry(&self) -> &Registry {
        &self.remote_registry
    }
}

impl Shared {
    /// A snapshot of the counters (see `metrics.rs`).
    pub(crate) fn metrics(&self) -> Metrics {
        let st = &self.stats;
        // Every P's counters go into the totals; the list shows those in use.
        let all: Vec<PMetrics> = self
            .ps
            .iter()
            .map(|p| PMetrics::from_stats(&p.stats, p.stealer.len()))
            .collect();
        let spawned = st.remote_spawned.get() + all.iter().map(|p| p.spawned).sum::<u64>();
        let mut ps = all;
        ps.truncate(self.procs());
        let (threads, idle_threads, ms) = self.ms_snapshot();
        let mut completed = st.retired_completed.get() + st.other_completed.get();
        let mut spinning_ns = st.retired_spinning_ns.get();
        let mut parked_ns = st.retired_parked_ns.get();
        let mut lifetime_ns = st.retired_lifetime_ns.get();
        for m in &ms {
            completed += m.stats.completed.get();
            spinning_ns += m.stats.spinning_ns.get();
            parked_ns += m.stats.parked_ns.get();
            lifetime_ns += m.born.elapsed().as_nanos() as u64;
        }
        let live = self
            .ps
            .iter()
            .map(|p| &p.registry)
            .chain(std::iter::once(&self.remote_registry))
            .map(|r| r.count() as u64)
            .sum();
        Metrics {
            procs: self.procs(),
            global_queue_depth: self.global.len(),
            spawned,
            completed,
            live,
            threads,
            idle_threads,
            spinning_threads: self.idle.spinning(),
            idle_procs: self.idle.npidle.load(Relaxed),
            spinning_time: Duration::from_nanos(spinning_ns),
            parked_time: Duration::from_nanos(parked_ns),
            running_time: Duration::from_nanos(lifetime_ns.saturating_sub(spinning_ns + parked_ns)),
            retakes: st.retakes.get(),
            syscall_retakes: st.syscall_retakes.get(),
            preempt_marks: st.preempt_marks.get(),
            sysmon_wakes: st.sysmon_wakes.get(),
            watchdog_reports: st.watchdog_reports.get(),
            handoffs: st.handoffs.get(),
            netpoll_wakeups: st.netpoll_wakeups.get(),
            timers_pending: self.netpoll.timers.len(),
            blocking_completed: self.blocking.completed.load(Relaxed),
            ps,
        }
    }
}
