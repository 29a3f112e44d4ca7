//! The network poller and the timers, woven into scheduling (Go's `netpoll`
//! calls in `findrunnable`, `injectglist`, `checkTimers`, `wakeNetPoller`, and
//! sysmon's 10 ms poll).
//!
//! gmp-netpoll owns the machinery ([`Reactor`], [`Timers`]) and hands back
//! wakers instead of waking them; this module decides *who* polls and *when*,
//! and turns the wakers into runnable Gs as one batch.
//!
//! # Who polls
//!
//! * **An M with a P that ran out of local and global work** polls without
//!   blocking before it steals, if some task waits on a socket and no M is
//!   blocked in the poller (Go: `netpoll(0)` in `findrunnable`). The first G
//!   woken runs at once on this M; the rest go to the local queue, except one
//!   per idle P, which go to the global queue with an M started for each
//!   (Go's `injectglist`).
//! * **The first M to park while no M is blocked in the poller** parks *in*
//!   the poller instead of on its note: it blocks in [`Reactor::poll`] with a
//!   timeout equal to the earliest timer of all Ps (Go's `findrunnable` after
//!   `releasep`, `netpoll(delay)`). It stays on the idle M list, so `start_m`
//!   may hand it a P like any parked M; its wake word is then paired with a
//!   [`Reactor::notify`]. When the poll or the timers yield Gs, it takes an
//!   idle P and runs them (the rest go to the global queue, with an M per idle
//!   P); with no idle P, it injects them all and polls on. Unlike Go, that M
//!   parks in the poller whether or not anything is registered yet: a thread
//!   outside the runtime (a `block_on`) may register a socket and wait, and no
//!   M would otherwise notice. An idle runtime blocks in `epoll_wait` instead
//!   of a futex: the same zero CPU.
//! * **sysmon** polls without blocking when nobody has polled for 10 ms and no
//!   M is blocked in the poller (every P busy), and runs timers that are more
//!   than a millisecond overdue because their P's M is stuck in a long poll.
//!
//! # Timers
//!
//! Each P has a timer shard (Go's `p.timers`). A sleep arms its entry in the
//! shard of the P whose M polls it (any shard from outside the runtime). The M
//! holding a P runs that P's due timers at the top of every scheduling round
//! (Go's `checkTimers`), a spinning M runs other Ps' due timers in its last
//! steal pass (Go's `stealWork`), and the poller M, which has no P, runs every
//! shard's due timers when its timeout expires.
//!
//! When an insertion makes a deadline its shard's earliest
//! ([`Shared::timer_armed`], Go's `wakeNetPoller`): if an M is blocked in the
//! poller with a later timeout, it is notified; if none is, `wake_p` makes
//! sure an M will look (it becomes the poller when it finds nothing else).
//! The race between an M claiming the poller and an insertion is a StoreLoad
//! pair: the inserter publishes its deadline, fences, and reads `polling` and
//! `poll_until`; the poller stores `polling` (or resets `poll_until` to
//! "unknown"), fences, and reads the deadlines. One of them sees the other.
//!
//! # Batches
//!
//! Both the reactor and the timers fill a `Vec<Waker>`. [`Shared::wake_collect`]
//! wakes them with this thread's *collector* set: a G of this runtime that the
//! wake makes runnable lands in the collected batch instead of a queue (any
//! other waker, e.g. another runtime's or a `block_on` thread's, wakes as
//! usual). The batch then goes to the queues with one lock.

use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::task::Waker;
use std::time::{Duration, Instant};

#[cfg(not(loom))]
use gmp_netpoll::Reactor;
use gmp_netpoll::Timers;

use crate::sync::{fence, AtomicBool, AtomicU64};
#[cfg(not(loom))]
use crate::task::Notified;
use crate::trace::{self, Kind};

use super::Shared;

/// sysmon polls the network if nobody has for this long (Go: 10 ms).
pub(crate) const SYSMON_POLL_AFTER: Duration = Duration::from_millis(10);

/// sysmon runs a P's timers itself once they are this overdue.
const SYSMON_TIMER_GRACE: Duration = Duration::from_millis(1);

/// "No deadline known" in `poll_until`.
const UNKNOWN: u64 = u64::MAX;

/// A runtime's poller and timers, and who is polling.
pub(crate) struct Netpoll {
    #[cfg(not(loom))]
    pub(crate) reactor: std::sync::Arc<Reactor>,
    pub(crate) timers: Timers,
    /// An M is blocked in, or about to block in, the poller (Go's
    /// `sched.lastpoll == 0`). Set under the idle lock by the M that claims it.
    polling: AtomicBool,
    /// The deadline that M's poll waits for, in ns since the runtime started;
    /// [`UNKNOWN`] while it is blocked without one or still computing it.
    poll_until: AtomicU64,
    /// When the network was last polled, in ns since the runtime started.
    last_poll: AtomicU64,
}

impl Netpoll {
    pub(crate) fn new(procs: usize) -> std::io::Result<Netpoll> {
        Ok(Netpoll {
            #[cfg(not(loom))]
            reactor: std::sync::Arc::new(Reactor::new()?),
            timers: Timers::new(procs),
            polling: AtomicBool::new(false),
            poll_until: AtomicU64::new(UNKNOWN),
            last_poll: AtomicU64::new(0),
        })
    }

    /// Whether an M is blocked in the poller.
    #[inline]
    pub(crate) fn polling(&self) -> bool {
        // Acquire: pairs with the SeqCst stores in `claim_poller` and
        // `release_poller`: a reader that sees the poller claimed also sees its
        // `poll_until` reset.
        self.polling.load(Acquire)
    }

    /// Tasks wait on sockets (polling without blocking may find something).
    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        #[cfg(not(loom))]
        {
            self.reactor.waiters() > 0
        }
        #[cfg(loom)]
        {
            false
        }
    }

    /// The earliest deadline in P `p`'s shard, read without a lock. Under loom
    /// there are no timers in the models, and skipping the read keeps the
    /// scheduler models' state space what it was.
    #[inline]
    pub(crate) fn next_deadline_of(&self, p: usize) -> Option<Instant> {
        #[cfg(not(loom))]
        {
            self.timers.next_deadline_of(p)
        }
        #[cfg(loom)]
        {
            let _ = p;
            None
        }
    }

    /// Interrupts the blocked poll, if any (else the next one returns at once).
    pub(crate) fn notify(&self) {
        #[cfg(not(loom))]
        self.reactor.notify();
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1)
}

impl Shared {
    /// Nanoseconds since the runtime started.
    fn clock(&self, now: Instant) -> u64 {
        nanos(now.saturating_duration_since(self.started))
    }

    /// Go's `startIdle`: starts up to `n` Ms, each with an idle P.
    pub(crate) fn start_idle(&self, n: usize) {
        for _ in 0..n {
            // SeqCst: read after the batch was queued (rule 3's submitter side;
            // the caller fenced after its push).
            if self.idle.npidle.load(SeqCst) == 0 {
                break;
            }
            self.start_m(None, false);
        }
    }

    /// Counts and traces a batch of `n` Gs woken by the poller or timers.
    pub(crate) fn note_netpoll(&self, n: usize, p: u32, m: u32) {
        if n == 0 {
            return;
        }
        if self.metrics_on() {
            self.stats.netpoll_wakeups.add(n as u64);
        }
        trace::record(Kind::Netpoll, self.id, p, m, 0, n as u64, 0);
    }

    /// Polls the network without blocking, if some task waits and no M is
    /// blocked in the poller; the wakers go to `wakers`.
    pub(crate) fn poll_now(&self, wakers: &mut Vec<Waker>) {
        let np = &self.netpoll;
        if !np.has_waiters() || np.polling() {
            return;
        }
        #[cfg(not(loom))]
        {
            // An error here (EINTR is retried by the reactor's backend) leaves
            // the sources as they were; the next poll sees them.
            let _ = np.reactor.poll(Some(Duration::ZERO), wakers);
            np.last_poll.store(self.clock(Instant::now()), Relaxed);
        }
        #[cfg(loom)]
        let _ = wakers;
    }

    /// Runs P `p`'s due timers into `wakers` if any are due at `now` (a
    /// lock-free check first). True if it ran any.
    #[inline]
    pub(crate) fn run_timers_of(&self, p: usize, now: Instant, wakers: &mut Vec<Waker>) -> bool {
        match self.netpoll.next_deadline_of(p) {
            Some(when) if when <= now => {
                self.netpoll.timers.run(p, now, wakers);
                true
            }
            _ => false,
        }
    }

    /// Go's `wakeNetPoller`: a timer was armed at `when`, earlier than every
    /// other in its shard. Makes sure some M will wake up for it.
    #[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
    pub(crate) fn timer_armed(&self, when: Instant) {
        // The inserter's StoreLoad (module docs): the deadline is published.
        fence(SeqCst);
        let np = &self.netpoll;
        if np.polling.load(SeqCst) {
            let until = np.poll_until.load(SeqCst);
            if until == UNKNOWN || self.clock(when) < until {
                np.notify();
            }
        } else {
            self.wake_p();
        }
    }

    /// Makes sure some M will poll the network: called when a task outside
    /// the runtime's Ms (a `block_on`, another executor) starts waiting on a
    /// socket, which no M of ours would otherwise notice (an M parks in the
    /// poller only once it runs out of work; none may be running at all).
    #[cfg_attr(not(unix), allow(dead_code))]
    #[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
    pub(crate) fn ensure_poller(&self) {
        // StoreLoad: the waiter's registration (its interest, stored before
        // this call) against the poller's claim: either this sees an M in the
        // poller, which then sees the registration, or it wakes one.
        fence(SeqCst);
        if !self.netpoll.polling.load(SeqCst) {
            self.wake_p();
        }
    }

    /// Claims the poller for `m` if nobody holds it. Called under the idle
    /// lock by an M about to park.
    pub(crate) fn claim_poller(&self, m: &super::m::M) -> bool {
        if cfg!(loom) || self.netpoll.polling.load(Relaxed) {
            return false;
        }
        // SeqCst, the three stores: the poller's side of the StoreLoad pair
        // with `timer_armed` (module docs, "Timers"), and `in_poller` pairs with
        // `unpark_m`'s SeqCst read: either the waker sees the flag and notifies
        // the poller, or the poller sees the wake word before it blocks.
        self.netpoll.poll_until.store(UNKNOWN, SeqCst);
        self.netpoll.polling.store(true, SeqCst);
        m.in_poller.store(true, SeqCst);
        true
    }

    /// Gives the poller up (the M leaves it to run Gs, or is handed a P).
    #[cfg_attr(loom, allow(dead_code))] // loom models build no runtime
    pub(crate) fn release_poller(&self, m: &super::m::M) {
        // SeqCst: the same pairs as in `claim_poller`, undone in the reverse
        // order.
        m.in_poller.store(false, SeqCst);
        self.netpoll.poll_until.store(UNKNOWN, SeqCst);
        self.netpoll.polling.store(false, SeqCst);
    }

    /// One round of the poller M: blocks until a socket event, the earliest
    /// timer, or a notification; then fires due timers. Returns the woken Gs
    /// in `tasks`.
    #[cfg(not(loom))]
    pub(crate) fn poll_blocking(&self, m: u32, wakers: &mut Vec<Waker>, tasks: &mut Vec<Notified>) {
        let np = &self.netpoll;
        // Reset to "unknown" before reading the deadlines (module docs).
        np.poll_until.store(UNKNOWN, SeqCst);
        fence(SeqCst);
        let next = np.timers.next_deadline();
        let now = self.clock.now();
        let mut timeout = next.map(|when| when.saturating_duration_since(now));
        if self.clock.is_paused() {
            timeout = self.paused_poll_timeout(next);
        }
        if let Some(when) = next {
            // SeqCst: published for `timer_armed`'s read after its fence (the
            // StoreLoad pair in the module docs).
            np.poll_until.store(self.clock(when), SeqCst);
        }
        if let Err(e) = np.reactor.poll(timeout, wakers) {
            // Not EINTR (which the reactor's backend retries): something is
            // badly wrong with the poller. Do not spin on it.
            eprintln!("gmp: the network poller failed: {e}");
            std::thread::sleep(Duration::from_millis(10));
        }
        np.last_poll.store(self.clock(Instant::now()), Relaxed);
        let now = self.clock.now();
        for p in 0..self.capacity() {
            self.run_timers_of(p, now, wakers);
        }
        self.wake_collect(wakers, tasks);
        self.note_netpoll(tasks.len(), trace::NO_P, m);
    }

    /// The poller's timeout while the clock is paused (tokio's
    /// auto-advance): a paused clock's deadlines never come by themselves,
    /// so with nothing else to do — every P idle, no G queued, no
    /// blocking-pool closure running — the clock jumps to the next timer and the poll does not
    /// block. Otherwise the poller looks again every millisecond (real
    /// time), as the Gs that keep the runtime busy may finish without
    /// waking it.
    #[cfg(not(loom))]
    fn paused_poll_timeout(&self, next: Option<Instant>) -> Option<Duration> {
        // SeqCst: read as sysmon reads it (a heuristic: a P taken right
        // after is seen at the next look, a millisecond later).
        let idle = self.idle.npidle.load(SeqCst) == self.procs()
            && self.global.is_empty()
            && self.ps.iter().all(|p| p.stealer.is_empty())
            && self.blocking.is_idle();
        match next {
            Some(when) if idle => {
                self.clock.advance_to(when);
                Some(Duration::ZERO)
            }
            _ => Some(Duration::from_millis(1)),
        }
    }

    /// Fires every timer due on the runtime's clock now, from any thread
    /// (`time::advance` moved a paused clock on).
    #[cfg(not(loom))]
    pub(crate) fn fire_due_timers(&self) {
        let mut wakers = Vec::new();
        let now = self.clock.now();
        for p in 0..self.capacity() {
            self.run_timers_of(p, now, &mut wakers);
        }
        if wakers.is_empty() {
            return;
        }
        let mut tasks = Vec::new();
        self.wake_collect(&mut wakers, &mut tasks);
        self.note_netpoll(tasks.len(), trace::NO_P, trace::NO_P);
        self.inject_batch(tasks.drain(..), 0);
    }

    /// sysmon's part: polls if nobody has for 10 ms, and runs timers overdue
    /// by more than a millisecond. True if it woke any G.
    pub(crate) fn sysmon_netpoll(&self, now: Instant) -> bool {
        let np = &self.netpoll;
        let mut wakers = Vec::new();
        let last = np.last_poll.load(Relaxed);
        if self.clock(now).saturating_sub(last) >= nanos(SYSMON_POLL_AFTER) {
            self.poll_now(&mut wakers);
        }
        if let Some(late) = now.checked_sub(SYSMON_TIMER_GRACE) {
            for p in 0..self.capacity() {
                self.run_timers_of(p, late, &mut wakers);
            }
        }
        if wakers.is_empty() {
            return false;
        }
        let mut tasks = Vec::new();
        self.wake_collect(&mut wakers, &mut tasks);
        self.note_netpoll(tasks.len(), trace::NO_P, trace::NO_P);
        let woke = !tasks.is_empty();
        self.inject_batch(tasks.drain(..), 0);
        woke
    }
}
