//! Runtime metrics: counters kept where the work happens, summed on demand.
//!
//! Every counter has exactly one writer — a P's counters are written only by the
//! M holding that P, inside its P-state access; an M's only by that M — so an
//! increment is a plain load and store (`Counter::add`), never a locked RMW,
//! and costs about a cycle. A [`Metrics`] snapshot reads them all with relaxed
//! loads; the numbers of one snapshot are each exact but not from one instant.
//!
//! A P's queue accounting closes: Gs come in (pushed by spawns and wakes,
//! grabbed from the global queue, stolen from other Ps) and go out (run,
//! spilled to the global queue, stolen by other Ps). What thieves took from a P
//! is therefore `in - run - spilled - depth`, and over all Ps it equals what
//! thieves report having moved — the test suite checks that. It closes
//! exactly once the runtime is shut down; a snapshot of a running runtime
//! may be one G behind, when it catches an M between putting a G on its
//! queue and counting it while a thief already took and ran that G.

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::sync::AtomicU64;

/// A single-writer counter.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the counter's one writer at a time may call this (one
    /// thread, or whoever holds the lock that guards the counter).
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        // Relaxed load + store: the single writer makes this race-free, and
        // readers only need the value to be atomic, not ordered.
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A counter any thread may bump (for rare events).
#[derive(Default)]
pub(crate) struct SharedCounter(AtomicU64);

impl SharedCounter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A P's counters (written by the M holding it, under its P-state access).
#[derive(Default)]
pub(crate) struct PStats {
    pub(crate) spawned: Counter,
    pub(crate) pushed: Counter,
    pub(crate) grabbed: Counter,
    pub(crate) stolen_in: Counter,
    pub(crate) steals: Counter,
    pub(crate) polls: Counter,
    pub(crate) runnext_hits: Counter,
    pub(crate) overflows: Counter,
    pub(crate) overflowed: Counter,
}

impl PStats {
    /// Counts one G put on this P's queue and what the push did.
    #[inline]
    pub(crate) fn count_push(&self, pushed: gmp_core::runq::Pushed) {
        self.pushed.add(1);
        if let gmp_core::runq::Pushed::Overflow(n) = pushed {
            self.overflows.add(1);
            self.overflowed.add(n as u64);
        }
    }
}

/// An M's counters (written by that M).
#[derive(Default)]
pub(crate) struct MStats {
    pub(crate) completed: Counter,
    pub(crate) spinning_ns: Counter,
    pub(crate) parked_ns: Counter,
}

/// Per-runtime counters of rare events, and the sums of exited Ms.
#[derive(Default)]
pub(crate) struct RuntimeStats {
    /// Written only under the remote registry's lock (`spawn_remote`).
    pub(crate) remote_spawned: Counter,
    pub(crate) other_completed: SharedCounter,
    pub(crate) retakes: SharedCounter,
    pub(crate) syscall_retakes: SharedCounter,
    pub(crate) preempt_marks: SharedCounter,
    pub(crate) sysmon_wakes: SharedCounter,
    pub(crate) watchdog_reports: SharedCounter,
    pub(crate) handoffs: SharedCounter,
    pub(crate) netpoll_wakeups: SharedCounter,
    pub(crate) retired_completed: SharedCounter,
    pub(crate) retired_spinning_ns: SharedCounter,
    pub(crate) retired_parked_ns: SharedCounter,
    pub(crate) retired_lifetime_ns: SharedCounter,
}

/// A snapshot of a runtime's counters ([`Runtime::metrics`](crate::Runtime::metrics)).
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
/// rt.block_on(async {
///     for i in 0..100 {
///         gmp_exec::spawn(async move { i }).await.unwrap();
///     }
/// });
/// let m = rt.metrics();
/// assert_eq!(m.spawned, 100);
/// assert_eq!(m.completed, 100);
/// assert_eq!(m.live, 0);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Metrics {
    /// The number of Ps (`procs`).
    pub procs: usize,
    /// Per-P figures, indexed by P.
    pub ps: Vec<PMetrics>,
    /// Gs in the global run queue now.
    pub global_queue_depth: usize,
    /// Gs spawned so far (tasks; `spawn_blocking` closures are counted apart).
    pub spawned: u64,
    /// Gs that finished (completed, panicked or were cancelled).
    pub completed: u64,
    /// Gs alive now (registered and not finished).
    pub live: u64,
    /// M threads alive (parked ones included).
    pub threads: usize,
    /// M threads parked with no P.
    pub idle_threads: usize,
    /// Ms spinning (looking for work with a P) now.
    pub spinning_threads: usize,
    /// Ps on the idle list now.
    pub idle_procs: usize,
    /// Time all Ms together have spent spinning.
    pub spinning_time: Duration,
    /// Time all Ms together have spent parked.
    pub parked_time: Duration,
    /// Time all Ms together have been alive and neither spinning nor parked:
    /// running Gs or scheduling them.
    pub running_time: Duration,
    /// Ps that sysmon took from Ms stuck in a long poll.
    pub retakes: u64,
    /// Ps that sysmon took from Ms inside `syscall`.
    pub syscall_retakes: u64,
    /// Gs that sysmon marked for preemption (ran more than `retake_after`).
    pub preempt_marks: u64,
    /// Spinning Ms that sysmon woke for Gs queued behind a long poll.
    pub sysmon_wakes: u64,
    /// Watchdog reports printed.
    pub watchdog_reports: u64,
    /// Ps handed from one M to another (retakes and `block_in_place`).
    pub handoffs: u64,
    /// Gs woken by the netpoller.
    pub netpoll_wakeups: u64,
    /// Timers armed now.
    pub timers_pending: usize,
    /// `spawn_blocking` closures that ran.
    pub blocking_completed: u64,
}

/// One P's figures in a [`Metrics`] snapshot.
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
/// rt.block_on(async {
///     for i in 0..10 {
///         gmp_exec::spawn(async move { i }).await.unwrap();
///     }
/// });
/// let m = rt.metrics();
/// assert_eq!(m.ps.len(), 2);
/// let polls: u64 = m.ps.iter().map(|p: &gmp_exec::PMetrics| p.polls).sum();
/// assert!(polls >= 10);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PMetrics {
    /// Gs in this P's run queue now (`runnext` included).
    pub queue_depth: usize,
    /// Gs spawned on this P.
    pub spawned: u64,
    /// Gs this P ran.
    pub polls: u64,
    /// Of those, Gs taken from `runnext` (inheriting the time slice).
    pub runnext_hits: u64,
    /// Gs put on this P's queue by spawns and wakes on it.
    pub pushed: u64,
    /// Gs this P took from the global queue.
    pub grabbed: u64,
    /// Steals this P made.
    pub steals: u64,
    /// Gs those steals moved to this P.
    pub stolen_in: u64,
    /// Gs other Ps stole from this P (derived, see the module docs).
    pub stolen_out: u64,
    /// Times this P's full ring spilled half of itself to the global queue.
    pub overflows: u64,
    /// Gs those spills moved.
    pub overflowed: u64,
}

impl PMetrics {
    pub(crate) fn from_stats(s: &PStats, depth: usize) -> PMetrics {
        let came_in = s.pushed.get() + s.grabbed.get() + s.stolen_in.get();
        let went_out = s.polls.get() + s.overflowed.get() + depth as u64;
        PMetrics {
            queue_depth: depth,
            spawned: s.spawned.get(),
            polls: s.polls.get(),
            runnext_hits: s.runnext_hits.get(),
            pushed: s.pushed.get(),
            grabbed: s.grabbed.get(),
            steals: s.steals.get(),
            stolen_in: s.stolen_in.get(),
            stolen_out: came_in.saturating_sub(went_out),
            overflows: s.overflows.get(),
            overflowed: s.overflowed.get(),
        }
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "procs={} idle_procs={} threads={} idle_threads={} spinning={} global_queue={}",
            self.procs,
            self.idle_procs,
            self.threads,
            self.idle_threads,
            self.spinning_threads,
            self.global_queue_depth
        )?;
        writeln!(
            f,
            "gs: spawned={} completed={} live={}; blocking closures={}",
            self.spawned, self.completed, self.live, self.blocking_completed
        )?;
        writeln!(
            f,
            "time: running={:?} spinning={:?} parked={:?}",
            self.running_time, self.spinning_time, self.parked_time
        )?;
        writeln!(
            f,
            "sysmon: retakes={} syscall_retakes={} preempt_marks={} wakes={} handoffs={} watchdog_reports={}",
            self.retakes,
            self.syscall_retakes,
            self.preempt_marks,
            self.sysmon_wakes,
            self.handoffs,
            self.watchdog_reports
        )?;
        writeln!(
            f,
            "netpoll_wakeups={} timers_pending={}",
            self.netpoll_wakeups, self.timers_pending
        )?;
        for (i, p) in self.ps.iter().enumerate() {
            writeln!(
                f,
                "P{i}: depth={} polls={} runnext_hits={} spawned={} steals={} stolen_in={} stolen_out={} overflows={}",
                p.queue_depth,
                p.polls,
                p.runnext_hits,
                p.spawned,
                p.steals,
                p.stolen_in,
                p.stolen_out,
                p.overflows
            )?;
        }
        Ok(())
    }
}
