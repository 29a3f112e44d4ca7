//! Timers: one 4-ary min-heap per P, as in Go since 1.14.
//!
//! # Why heaps, and why one per P
//!
//! Before Go 1.14 all timers lived in 64 global heaps, each with its own lock and
//! its own `timerproc` goroutine: every `time.Sleep` paid for two context switches
//! and a lock that other Ps hit. Go 1.14 moved the heaps into the Ps: an M running
//! a P's scheduling loop runs that P's due timers itself (`checkTimers`), and the
//! M about to block in the network poller uses the earliest deadline of all Ps
//! as its timeout. We keep that shape: a [`Timers`] has one shard per P, the M
//! that owns a P calls [`Timers::run`] on its shard, and the last idle M blocks in
//! [`Reactor::poll`](crate::Reactor::poll) until [`Timers::next_deadline`].
//!
//! tokio uses a hierarchical timing wheel with 1 ms slots: O(1) insertion and
//! removal, but a sleep fires on a millisecond tick (its p99 lateness is about
//! 1.7 ms on our machine). A heap costs O(log n) per operation and keeps the
//! deadline to the nanosecond; with the poller's timerfd-backed timeouts the
//! lateness is what the kernel's wake-up costs, not a tick. At a million pending
//! timers a 4-ary heap is ten levels deep.
//!
//! # No global lock
//!
//! Each shard is a `Mutex` around its heap, padded to its own cache lines. Only
//! the owning P's M normally touches it, so the lock is uncontended except when a
//! timer armed on one P is cancelled or moved from another. Two numbers per shard
//! are published in atomics after every change, so that readers take no lock:
//! the earliest deadline ([`Timers::next_deadline_of`], Go's `p.timer0When`) and
//! the number of armed entries ([`Timers::len`]).
//!
//! # True removal
//!
//! Go marks a deleted timer and removes it when it reaches the top of the heap
//! (or when deleted timers exceed a quarter of the heap); a stopped 1-hour sleep
//! holds its slot for up to an hour. Here every entry knows its `(shard, index)`
//! and [`Timers::cancel`] removes it in O(log n) at once; the heap gives memory
//! back as it empties. The protocol that keeps `(shard, index)` right while
//! entries move, fire and get cancelled from several threads is in the `entry`
//! module's rules; loom checks it (`tests/loom_timers.rs`).
//!
//! # Deadlines
//!
//! A deadline is stored as nanoseconds since the `Timers` was created, so heap
//! elements are 16 bytes and comparisons are integer ones. The conversion is
//! exact (an `Instant` has nanosecond resolution), and a timer is due at `now`
//! exactly when `deadline <= now`: never before its deadline. Deadlines before
//! the epoch are due at once.
//!
//! # Go
//!
//! | Go | here |
//! | --- | --- |
//! | `p.timers`, `siftupTimer`, `siftdownTimer` | a shard's heap (`heap.rs`) |
//! | `addtimer`, `modtimer`, `resettimer` | [`Timers::insert`] |
//! | `deltimer` | [`Timers::cancel`] |
//! | `checkTimers`, `runtimer` | [`Timers::run`] |
//! | `p.timer0When` | [`Timers::next_deadline_of`] |
//! | `timeSleepUntil` | [`Timers::next_deadline`] |
//! | `wakeNetPoller` | the caller, when [`Timers::insert`] returns true |

mod entry;
mod heap;

use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

pub use entry::TimerEntry;
use heap::{Heap, EMPTY};

use crate::sync::{lock, AtomicU64, AtomicUsize, Mutex};

/// The latest representable deadline, in nanoseconds since the epoch (about
/// 584 years); later deadlines are clamped to it. One below [`EMPTY`].
const MAX_WHEN: u64 = EMPTY - 1;

/// The timers of a runtime: one heap per P. See the [module docs](self).
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use std::time::{Duration, Instant};
/// use gmp_netpoll::{TimerEntry, Timers};
///
/// let timers = Timers::new(2);
/// let entry = TimerEntry::new();
/// let deadline = Instant::now() + Duration::from_millis(5);
/// assert!(timers.insert(0, &entry, deadline)); // the earliest in shard 0
///
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(entry.poll_fired(&mut cx), Poll::Pending);
///
/// let mut woken = Vec::new();
/// assert_eq!(timers.run(0, deadline, &mut woken), None); // fired; shard 0 is empty
/// assert_eq!(woken.len(), 1);
/// assert_eq!(entry.poll_fired(&mut cx), Poll::Ready(()));
/// ```
///
/// It is shared by every M:
///
/// ```
/// fn shared<T: Send + Sync>() {}
/// shared::<gmp_netpoll::Timers>();
/// ```
pub struct Timers {
    epoch: Instant,
    shards: Box<[Shard]>,
}

/// One P's timers. Padded so that two Ps' shards never share a cache line.
#[repr(align(128))]
struct Shard {
    heap: Mutex<Heap>,
    /// The heap's earliest deadline ([`EMPTY`] if none), published after every
    /// change under the lock.
    min: AtomicU64,
    /// The heap's length, published after every change under the lock.
    len: AtomicUsize,
}

impl Timers {
    /// Timers with `shards` heaps, one per P.
    ///
    /// ```
    /// use gmp_netpoll::Timers;
    ///
    /// let timers = Timers::new(4); // one heap per P
    /// assert_eq!(timers.shards(), 4);
    /// assert!(timers.is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// If `shards` is 0 or absurdly large (more than 2^31 - 2).
    pub fn new(shards: usize) -> Timers {
        assert!(
            shards > 0,
            "Timers::new: shards must be at least 1 (one per P), got 0"
        );
        assert!(
            shards <= entry::MAX_SHARDS,
            "Timers::new: {shards} shards is more than the {} supported",
            entry::MAX_SHARDS
        );
        Timers {
            epoch: Instant::now(),
            shards: (0..shards)
                .map(|i| Shard {
                    heap: Mutex::new(Heap::new(i)),
                    min: AtomicU64::new(EMPTY),
                    len: AtomicUsize::new(0),
                })
                .collect(),
        }
    }

    /// The number of shards.
    ///
    /// ```
    /// let timers = gmp_netpoll::Timers::new(3);
    /// assert_eq!(timers.shards(), 3);
    /// ```
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Arms `entry` to fire at `deadline` in `shard`: adds it, or moves it there
    /// (with its new deadline) if it is armed already, in this shard or another.
    /// A fired entry is re-armed (its fired mark cleared).
    ///
    /// Returns true if that made `deadline` the shard's earliest deadline, earlier
    /// than it was: a thread blocked in the poller with a longer timeout may then
    /// need a [`notify`](crate::Reactor::notify). An equal deadline returns
    /// false (the poller wakes then anyway).
    ///
    /// Usually called by the M that owns `shard`'s P; safe from any thread.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(2);
    /// let (a, b) = (TimerEntry::new(), TimerEntry::new());
    /// let now = Instant::now();
    /// assert!(timers.insert(0, &a, now + Duration::from_secs(2)));
    /// assert!(!timers.insert(0, &b, now + Duration::from_secs(3))); // not the earliest
    /// assert!(timers.insert(1, &b, now + Duration::from_secs(1))); // moved to shard 1
    /// assert_eq!(timers.len(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If `shard` is out of range, if `entry` is armed in another `Timers`, or if
    /// the shard already holds 2^32 - 1 entries.
    pub fn insert(&self, shard: usize, entry: &Arc<TimerEntry>, deadline: Instant) -> bool {
        let target = self.shard(shard, "insert");
        let when = self.when(deadline);
        let _arm = entry.arm_lock();
        if let Some(from) = entry.armed_shard() {
            let mut heap = lock(&self.home(from, "insert").heap);
            // Re-read under the lock (entry rule 3): still here, or fired.
            if let Some((_, index)) = entry.slot() {
                check_holds(&heap, index, entry, "insert");
                if from == shard {
                    let old_min = heap.min();
                    heap.update(index, when);
                    target.publish(&heap);
                    return heap.min() < old_min;
                }
                let moved = heap.remove(index);
                self.shards[from].publish(&heap);
                drop(heap);
                return self.push(target, moved, when);
            }
        }
        self.push(target, entry.clone(), when)
    }

    /// Adds an entry that is in no heap. Called with its `arm` lock held.
    fn push(&self, shard: &Shard, entry: Arc<TimerEntry>, when: u64) -> bool {
        let mut heap = lock(&shard.heap);
        assert!(
            heap.len() < entry::MAX_PER_SHARD,
            "Timers::insert: a shard cannot hold more than {} timers",
            entry::MAX_PER_SHARD
        );
        let old_min = heap.min();
        heap.push(when, entry);
        shard.publish(&heap);
        when < old_min
    }

    /// Disarms `entry` at once: removes it from its heap in O(log n), dropping
    /// the heap's reference, so its memory goes as soon as the caller's `Arc`
    /// does. Does nothing if it fired or was never armed. It will not fire;
    /// a task waiting on it is not woken.
    ///
    /// Safe from any thread (a sleep dropped on another P than it was armed on).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(1);
    /// let entry = TimerEntry::new();
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// timers.insert(0, &entry, deadline);
    /// timers.cancel(&entry);
    /// assert!(timers.is_empty());
    /// timers.run(0, deadline, &mut Vec::new());
    /// assert!(!entry.is_fired());
    /// ```
    ///
    /// # Panics
    ///
    /// If `entry` is armed in another `Timers`.
    pub fn cancel(&self, entry: &TimerEntry) {
        let removed = {
            let _arm = entry.arm_lock();
            let Some(from) = entry.armed_shard() else {
                return;
            };
            let shard = self.home(from, "cancel");
            let mut heap = lock(&shard.heap);
            match entry.slot() {
                Some((_, index)) => {
                    check_holds(&heap, index, entry, "cancel");
                    let removed = heap.remove(index);
                    entry.set_idle();
                    shard.publish(&heap);
                    removed
                }
                // Fired while we took the lock.
                None => return,
            }
        };
        // Entry rule 5: the heap's reference goes after every lock is released
        // (it is not the last one: the caller's `&TimerEntry` borrows another).
        drop(removed);
    }

    /// Fires every entry of `shard` due at `now` (deadline `<= now`): marks it
    /// fired and moves its waker, if a task waits, into `woken`, for the caller
    /// to wake as a batch. Returns the shard's next deadline.
    ///
    /// Called by the M that owns `shard`'s P (Go's `checkTimers`), or by any M
    /// that finds a P's timers overdue.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// use std::time::{Duration, Instant};
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(1);
    /// let (soon, later) = (TimerEntry::new(), TimerEntry::new());
    /// let now = Instant::now();
    /// timers.insert(0, &soon, now + Duration::from_millis(1));
    /// timers.insert(0, &later, now + Duration::from_secs(60));
    /// let _ = soon.poll_fired(&mut Context::from_waker(Waker::noop())); // a task waits
    /// let mut woken = Vec::new();
    /// let next = timers.run(0, now + Duration::from_millis(1), &mut woken);
    /// assert_eq!((woken.len(), next), (1, Some(now + Duration::from_secs(60))));
    /// assert!(soon.is_fired() && !later.is_fired());
    /// ```
    ///
    /// # Panics
    ///
    /// If `shard` is out of range.
    pub fn run(&self, shard: usize, now: Instant, woken: &mut Vec<Waker>) -> Option<Instant> {
        let sh = self.shard(shard, "run");
        // A `now` before the epoch is before every deadline we can tell apart:
        // fire nothing rather than risk firing early.
        let now = now.checked_duration_since(self.epoch).map(clamp_nanos);
        let mut heap = lock(&sh.heap);
        let mut fired = false;
        while let Some(entry) = now.and_then(|now| heap.pop_due(now)) {
            fired = true;
            if let Some(waker) = entry.fire() {
                woken.push(waker);
            }
            // If this was the last reference, dropping it drops no waker: `fire`
            // just emptied the slot, or a registration is under way, and the
            // registering task holds a reference of its own (entry rule 5).
            drop(entry);
        }
        if fired {
            sh.publish(&heap);
        }
        self.instant(heap.min())
    }

    /// The earliest deadline in `shard`, read without locking.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(2);
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// timers.insert(1, &TimerEntry::new(), deadline);
    /// assert_eq!(timers.next_deadline_of(0), None);
    /// assert_eq!(timers.next_deadline_of(1), Some(deadline));
    /// ```
    ///
    /// # Panics
    ///
    /// If `shard` is out of range.
    #[inline]
    pub fn next_deadline_of(&self, shard: usize) -> Option<Instant> {
        // Acquire: pairs with the Release in `Shard::publish`.
        self.instant(self.shard(shard, "next_deadline_of").min.load(Acquire))
    }

    /// The earliest deadline of all shards, read without locking (Go's
    /// `timeSleepUntil`): the timeout for an M about to block in the poller.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(2);
    /// assert_eq!(timers.next_deadline(), None); // an idle M may block without timeout
    /// let now = Instant::now();
    /// timers.insert(0, &TimerEntry::new(), now + Duration::from_secs(2));
    /// timers.insert(1, &TimerEntry::new(), now + Duration::from_secs(1));
    /// assert_eq!(timers.next_deadline(), Some(now + Duration::from_secs(1)));
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        let min = self
            .shards
            .iter()
            // Acquire: pairs with the Release in `Shard::publish`.
            .map(|s| s.min.load(Acquire))
            .min()
            .unwrap_or(EMPTY);
        self.instant(min)
    }

    /// The number of armed entries in all shards (for metrics and tests). A
    /// sum of per-shard counts, each exact when read.
    ///
    /// ```
    /// use std::time::Instant;
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(2);
    /// let entry = TimerEntry::new();
    /// timers.insert(0, &entry, Instant::now());
    /// timers.insert(1, &entry, Instant::now()); // moved, not added
    /// assert_eq!(timers.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len.load(Relaxed)).sum()
    }

    /// Whether no entry is armed.
    ///
    /// ```
    /// use std::time::Instant;
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(1);
    /// assert!(timers.is_empty());
    /// let deadline = Instant::now();
    /// timers.insert(0, &TimerEntry::new(), deadline);
    /// assert!(!timers.is_empty());
    /// timers.run(0, deadline, &mut Vec::new()); // fires it
    /// assert!(timers.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn shard(&self, shard: usize, op: &str) -> &Shard {
        match self.shards.get(shard) {
            Some(s) => s,
            None => panic!(
                "Timers::{op}: shard {shard} out of range (this Timers has {})",
                self.shards.len()
            ),
        }
    }

    /// The shard an entry says it is armed in; panics if this `Timers` has no
    /// such shard (the entry is armed in another `Timers`).
    fn home(&self, shard: usize, op: &str) -> &Shard {
        match self.shards.get(shard) {
            Some(s) => s,
            None => panic!("Timers::{op}: the TimerEntry is armed in another Timers"),
        }
    }

    /// `deadline` as nanoseconds since the epoch (exact; clamped).
    fn when(&self, deadline: Instant) -> u64 {
        clamp_nanos(deadline.saturating_duration_since(self.epoch))
    }

    #[inline]
    fn instant(&self, when: u64) -> Option<Instant> {
        if when == EMPTY {
            None
        } else {
            // `when` is at most `MAX_WHEN` (584 years), which Linux's
            // `Instant` holds with room to spare; saturate anyway, for
            // platforms whose `Instant` is narrower.
            let d = Duration::from_nanos(when);
            Some(
                self.epoch
                    .checked_add(d)
                    .unwrap_or_else(|| latest(self.epoch, d)),
            )
        }
    }

    /// The capacity of `shard`'s heap (for tests of memory release).
    #[cfg(all(test, not(loom)))]
    fn heap_capacity(&self, shard: usize) -> usize {
        lock(&self.shards[shard].heap).capacity()
    }

    /// Checks every heap's order and recorded slots.
    #[cfg(all(test, not(loom)))]
    fn check(&self) {
        for s in self.shards.iter() {
            lock(&s.heap).check();
        }
    }
}

impl Shard {
    /// Publishes the heap's minimum and length. Called under the heap's lock.
    fn publish(&self, heap: &Heap) {
        // Release: pairs with the Acquire loads in `next_deadline(_of)`.
        self.min.store(heap.min(), Release);
        self.len.store(heap.len(), Relaxed);
    }
}

/// Panics unless `heap` holds `entry` at `index` (its recorded location names a
/// shard of this `Timers`, but the entry may be armed in another one).
fn check_holds(heap: &Heap, index: usize, entry: &TimerEntry, op: &str) {
    assert!(
        heap.holds(index, entry),
        "Timers::{op}: the TimerEntry is armed in another Timers"
    );
}

/// The latest instant up to `at + d` that `Instant` can represent (called
/// only when the sum overflows).
#[cold]
fn latest(at: Instant, d: Duration) -> Instant {
    let (mut t, mut step) = (at, d / 2);
    while !step.is_zero() {
        match t.checked_add(step) {
            Some(later) => t = later,
            None => step /= 2,
        }
    }
    t
}

fn clamp_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).map_or(MAX_WHEN, |n| n.min(MAX_WHEN))
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .field("next_deadline", &self.next_deadline())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_of_duration_max_is_clamped_and_never_overflows() {
        let timers = Timers::new(1);
        let entry = TimerEntry::new();
        let far = Instant::now()
            .checked_add(Duration::from_secs(1 << 40))
            .expect("Linux's Instant holds 35 000 years");
        assert!(timers.insert(0, &entry, far));
        let next = timers.next_deadline().expect("armed");
        assert!(next > Instant::now() + Duration::from_secs(500 * 365 * 86_400));
        let mut woken = Vec::new();
        assert_eq!(timers.run(0, Instant::now(), &mut woken), Some(next));
        assert!(woken.is_empty());
        let max = latest(Instant::now(), Duration::MAX);
        assert!(max.checked_add(Duration::from_secs(1)).is_none());
    }

    #[test]
    fn heaps_keep_order_and_slots_through_mixed_operations() {
        let timers = Timers::new(3);
        let base = Instant::now();
        let entries: Vec<_> = (0..200).map(|_| TimerEntry::new()).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let e = &entries[(x % 200) as usize];
            let shard = ((x >> 8) % 3) as usize;
            let at = base + Duration::from_micros((x >> 16) % 10_000);
            match (x >> 40) % 4 {
                0 | 1 => {
                    timers.insert(shard, e, at);
                }
                2 => timers.cancel(e),
                _ => {
                    let mut woken = Vec::new();
                    timers.run(shard, base + Duration::from_micros(step), &mut woken);
                }
            }
            timers.check();
        }
    }

    #[test]
    fn an_emptied_heap_gives_its_memory_back() {
        let timers = Timers::new(1);
        let base = Instant::now();
        let entries: Vec<_> = (0..100_000).map(|_| TimerEntry::new()).collect();
        for (i, e) in entries.iter().enumerate() {
            timers.insert(0, e, base + Duration::from_nanos(i as u64));
        }
        assert!(timers.heap_capacity(0) >= 100_000);
        for e in &entries {
            timers.cancel(e);
        }
        assert_eq!(timers.len(), 0);
        assert!(
            timers.heap_capacity(0) <= 64,
            "capacity {} after emptying",
            timers.heap_capacity(0)
        );
    }

    #[test]
    fn dropping_the_timers_leaves_its_entries_idle_and_armable() {
        let entry = TimerEntry::new();
        {
            let timers = Timers::new(1);
            timers.insert(0, &entry, Instant::now());
            assert_eq!(Arc::strong_count(&entry), 2);
        }
        assert_eq!(Arc::strong_count(&entry), 1);
        let other = Timers::new(1);
        assert!(other.insert(0, &entry, Instant::now()));
        assert_eq!(other.len(), 1);
    }
}
