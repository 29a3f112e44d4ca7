//! A timer entry: what a `Sleep` holds, and what a shard's heap points at.
//!
//! # The state word
//!
//! One `AtomicU64` says where the entry is:
//!
//! | value | meaning |
//! | --- | --- |
//! | `0` | idle: never armed, cancelled, or reset after firing |
//! | `(shard + 1) << 32 \| index` | armed, at `index` in `shard`'s heap |
//! | `FIRED` | fired and not re-armed since |
//!
//! # Rules
//!
//! 1. While armed in shard `s`, the word is written only under `s`'s lock: by
//!    the heap as the entry moves (`Relaxed`: only holders of that lock read the
//!    index), by `cancel` (idle), and by `run` (FIRED, `Release`).
//! 2. While not armed (idle or fired), the word is written only by a holder of
//!    the entry's `arm` lock (`insert`, which arms it), or by `reset`'s CAS from
//!    FIRED to idle, which cannot conflict with anything but an `insert`, and
//!    either order of the two ends armed.
//! 3. `insert` and `cancel` hold `arm` for their whole run, so the entry moves
//!    between "not armed" and "armed in `s`" only one way at a time. Under
//!    `arm`, the word can change behind their back in one way only: `run` fires
//!    it (armed → FIRED). So they read the shard from the word, lock that shard,
//!    and re-read: the entry is either still there or fired.
//! 4. Lock order: `arm`, then one shard lock at a time. `run` takes only the
//!    shard lock, so it never waits for an `insert` that waits for it.
//! 5. The waker is moved out under the shard lock by `run` (lock-free: see
//!    `waker.rs`), never woken or dropped under a lock: waking or dropping a
//!    waker can run a task's drop code, which can cancel a timer in the same
//!    shard.
//!
//! `poll_fired` takes no lock: it records its waker, then re-reads the word.

use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicU64, Mutex};
use crate::waker::WakerSlot;

/// The state word's "fired" value.
const FIRED: u64 = 1 << 63;
/// The state word's "idle" value.
const IDLE: u64 = 0;
/// Bits of the state word that hold the index.
const INDEX_BITS: u32 = 32;

/// The most shards a `Timers` may have (the shard number must fit the word).
pub(crate) const MAX_SHARDS: usize = (1 << 31) - 2;
/// The most entries one shard may hold.
pub(crate) const MAX_PER_SHARD: usize = (1 << INDEX_BITS) - 1;

/// A timer that can be armed in a [`Timers`](crate::Timers) shard, fired once,
/// and waited on by one task.
///
/// Create it with [`TimerEntry::new`], arm it with
/// [`Timers::insert`](crate::Timers::insert), wait with
/// [`poll_fired`](TimerEntry::poll_fired). An armed entry is kept alive by its
/// heap; [`Timers::cancel`](crate::Timers::cancel) releases that at once (a
/// dropped `Sleep` should cancel before it drops its `Arc`).
///
/// ```
/// fn shared<T: Send + Sync>() {}
/// shared::<gmp_netpoll::TimerEntry>();
/// ```
pub struct TimerEntry {
    /// Where the entry is: see the module docs.
    state: AtomicU64,
    /// Serialises `insert` and `cancel` of this entry (rule 3).
    arm: Mutex<()>,
    /// The waiting task's waker.
    waker: WakerSlot,
}

impl TimerEntry {
    /// A new idle entry.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let entry = gmp_netpoll::TimerEntry::new();
    /// assert!(!entry.is_fired());
    /// // Not armed, so it never fires: polling just waits.
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(entry.poll_fired(&mut cx), Poll::Pending);
    /// ```
    pub fn new() -> Arc<TimerEntry> {
        Arc::new(TimerEntry {
            state: AtomicU64::new(IDLE),
            arm: Mutex::new(()),
            waker: WakerSlot::new(),
        })
    }

    /// `Ready` once the entry has fired; otherwise records the task's waker
    /// (replacing the previous one) and returns `Pending`. A `run` that fires
    /// the entry while this records the waker wakes it: no wake-up is lost.
    ///
    /// An entry that is not armed never fires: polling it just waits.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Instant;
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(1);
    /// let entry = TimerEntry::new();
    /// let deadline = Instant::now();
    /// timers.insert(0, &entry, deadline);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(entry.poll_fired(&mut cx), Poll::Pending);
    /// timers.run(0, deadline, &mut Vec::new());
    /// assert_eq!(entry.poll_fired(&mut cx), Poll::Ready(()));
    /// ```
    pub fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_fired() {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        // Rule 3 of `waker.rs`: re-read after recording, in case `run` fired
        // the entry before it could see our waker.
        if self.is_fired() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Whether the entry has fired (and has not been re-armed or reset since).
    ///
    /// ```
    /// use std::time::Instant;
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(1);
    /// let entry = TimerEntry::new();
    /// let deadline = Instant::now();
    /// timers.insert(0, &entry, deadline);
    /// assert!(!entry.is_fired());
    /// timers.run(0, deadline, &mut Vec::new());
    /// assert!(entry.is_fired());
    /// ```
    pub fn is_fired(&self) -> bool {
        // Acquire: pairs with the Release store of FIRED in `run`.
        self.state.load(Acquire) == FIRED
    }

    /// Makes a fired entry idle again, so [`is_fired`](TimerEntry::is_fired) is
    /// false and `poll_fired` waits; does nothing to an entry that is armed or
    /// idle. Called by the entry's owner after it saw the entry fire, e.g. by an
    /// `interval` before it arms the next tick (`insert` also clears the mark).
    ///
    /// ```
    /// use std::time::Instant;
    /// use gmp_netpoll::{TimerEntry, Timers};
    ///
    /// let timers = Timers::new(1);
    /// let entry = TimerEntry::new();
    /// let deadline = Instant::now();
    /// timers.insert(0, &entry, deadline);
    /// timers.run(0, deadline, &mut Vec::new());
    /// assert!(entry.is_fired());
    /// entry.reset(); // seen; ready for the next tick
    /// assert!(!entry.is_fired());
    /// ```
    pub fn reset(&self) {
        // Rule 2. Relaxed: the transition publishes nothing; a racing `insert`
        // wins either way.
        let _ = self.state.compare_exchange(FIRED, IDLE, Relaxed, Relaxed);
    }

    /// Whether the entry is armed in some shard (a snapshot, for `Debug`).
    fn is_armed(&self) -> bool {
        self.armed_shard().is_some()
    }

    // ----- for `Timers` and the heap -----

    /// Locks the entry against concurrent `insert`/`cancel` (rule 3).
    pub(crate) fn arm_lock(&self) -> crate::sync::MutexGuard<'_, ()> {
        crate::sync::lock(&self.arm)
    }

    /// The entry's shard and index if it is armed, read outside any shard lock.
    /// Called with the `arm` lock held.
    pub(crate) fn armed_shard(&self) -> Option<usize> {
        // Acquire: pairs with the Release store of FIRED in `run`, so an entry
        // seen fired here is out of every heap before we re-arm it.
        decode(self.state.load(Acquire)).map(|(shard, _)| shard)
    }

    /// The entry's shard and index, read under that shard's lock (rule 1).
    pub(crate) fn slot(&self) -> Option<(usize, usize)> {
        decode(self.state.load(Relaxed))
    }

    /// Records that the entry lives at `index` in `shard`. Called under that
    /// shard's lock (rule 1).
    pub(crate) fn set_slot(&self, shard: usize, index: usize) {
        debug_assert!(shard <= MAX_SHARDS && index <= MAX_PER_SHARD);
        let word = ((shard as u64 + 1) << INDEX_BITS) | index as u64;
        self.state.store(word, Relaxed);
    }

    /// Marks a removed entry idle. Called under its former shard's lock (rule 1).
    pub(crate) fn set_idle(&self) {
        self.state.store(IDLE, Relaxed);
    }

    /// Marks a removed entry fired and moves its waker out. Called by `run`
    /// under its former shard's lock (rule 1, rule 5).
    pub(crate) fn fire(&self) -> Option<Waker> {
        // Release: pairs with the Acquire loads in `is_fired` and
        // `armed_shard`; and it precedes `take` (rule 3 of `waker.rs`).
        self.state.store(FIRED, Release);
        self.waker.take()
    }
}

/// Decodes an armed state word into `(shard, index)`.
fn decode(word: u64) -> Option<(usize, usize)> {
    if word == IDLE || word == FIRED {
        None
    } else {
        let shard = (word >> INDEX_BITS) as usize - 1;
        let index = (word & ((1 << INDEX_BITS) - 1)) as usize;
        Some((shard, index))
    }
}

impl fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerEntry")
            .field("armed", &self.is_armed())
            .field("fired", &self.is_fired())
            .finish()
    }
}
