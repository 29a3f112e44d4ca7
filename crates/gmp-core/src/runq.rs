//! The local run queue of a P: Go's `p.runq`, `p.runqhead`, `p.runqtail` and
//! `p.runnext`.
//!
//! # The ring
//!
//! A P owns a fixed ring of `capacity` atomic words (256 by default, as in Go) and
//! two 64-bit positions:
//!
//! * `tail` is one past the newest item. Only the owner writes it, with a plain
//!   `Release` store after it has written the slot: that store is what publishes
//!   the slot to thieves.
//! * `head` is the oldest item. Anyone who takes items — the owner popping, a thief
//!   stealing, the owner spilling to the global queue — advances it with one
//!   compare-and-swap.
//!
//! A slot's index is `position & (capacity - 1)`; positions themselves never wrap
//! in practice. Go keeps 32-bit positions and would hand a thief that slept
//! through 2^32 operations a stale batch (an ABA on `head`); 64 bits make that
//! impossible, at no cost on 64-bit machines.
//!
//! # One claim per steal: copy first, then CAS
//!
//! A thief reads `head` and `tail`, copies half of the items (rounded up) into its
//! own ring *above its own tail*, and only then claims them with a single CAS on the
//! victim's `head`. If the CAS fails nothing happened: the copies sit above the
//! thief's tail where nobody reads them, and it retries. If it succeeds, the copies
//! are exactly the items it claimed, because the owner never overwrites a slot at or
//! above `head` before `head` moves past it, and `head` only grows.
//!
//! tokio solves the same problem with a packed head (a "steal" and a "real" index in
//! one word): a thief first claims, then copies, then releases with a second CAS, and
//! the owner sizes its free space from the older index. That reads no slot
//! speculatively, at the price of two CASes per steal and of thieves serialising on
//! the claim. Here the slots are atomic words ([`Item`] turns an item into one), so a
//! speculative read is defined behaviour and Go's single-claim protocol is sound: one
//! CAS per steal, however many Gs it moves. The `Release` on that CAS is what lets
//! the owner reuse the slots: it pairs with the owner's `Acquire` load of `head`
//! before it writes a slot, so the thief's reads happen before the owner's overwrite.
//!
//! # `runnext`
//!
//! A G made ready by the running G (a spawn, a wake) goes into `runnext`, not the
//! ring, and runs next, *inheriting the time slice* (`pop` reports it so the
//! scheduler does not count a new tick). A set of Gs locked in a
//! communicate-and-wait pattern then runs as a unit, with no queueing latency. An
//! older `runnext` is kicked to the tail of the ring.
//!
//! `runnext` can be stolen, but only as Go does it: on the *last* stealing pass,
//! when the ring is empty, and only after the owner has had a few microseconds to
//! run it ([`StealRunnext::AfterGrace`]). If `runnext` changed during the grace,
//! its owner is busy running what it readies: the thief looks at the ring once
//! more (an owner in a spawning loop has queued more by then) and otherwise
//! leaves that P alone (an owner in a ping-pong needs no help). Both halves matter. tokio's LIFO slot was
//! never stealable, and a CPU-bound task parked in it stalls for as long as the
//! task ahead of it runs (tokio-rs/tokio#4941 and its follow-ups); its first
//! stealable version let thieves grab the slot on every pass and, by breaking up
//! exactly the ping-pong pairs the slot exists for, cost about 30 % on its
//! message-passing benchmarks and was reverted. Stealing late and after a grace
//! keeps the pairing and still rescues a G whose owner is stuck.
//!
//! # Overflow
//!
//! When the ring is full, `push_back` moves half of it plus the new item to the
//! global queue in one batch (Go's `runqputslow`), under one lock hold. The batch is
//! copied while the lock is held and claimed by the same CAS as a steal, so a racing
//! thief makes the spill fail cleanly and the push retries.
//!
//! # Who may call what
//!
//! | operation | type | who |
//! | --- | --- | --- |
//! | `push_back`, `push_next`, `pop`, `drain` | [`Local`] (`&mut`) | the M that holds the P |
//! | `steal_into` (destination) | [`Local`] (`&mut`) | the thief's own P |
//! | `steal_into` (victim), `pop`, `len`, `is_empty` | [`Stealer`] (`Clone`) | any thread |
//!
//! The owner side takes `&mut self`, so "only the owner pushes" is a borrow, not a
//! comment. Moving a `Local` to another thread (Go's handoff of a P to another M)
//! is fine: it is `Send`, and whatever moves it synchronises.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use crate::error::ConfigError;
use crate::global::Global;
use crate::item::{Item, Raw};
use crate::sync::{spin_hint, Arc, AtomicPtr, AtomicU64};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Go's `len(p.runq)`.
///
/// ```
/// let (local, _stealer) = gmp_core::runq::new::<Box<u32>>();
/// assert_eq!(local.capacity(), gmp_core::runq::DEFAULT_CAPACITY);
/// ```
pub const DEFAULT_CAPACITY: usize = 256;

/// How long a thief leaves a victim to run its own `runnext` before taking it
/// (Go sleeps 3 µs in `runqgrab`).
#[cfg(not(loom))]
const RUNNEXT_GRACE: std::time::Duration = std::time::Duration::from_micros(3);

/// Whether a steal may take the victim's `runnext` (Go's `stealRunNextG`).
///
/// ```
/// use gmp_core::{global::Global, runq::{self, StealRunnext}};
///
/// let global = Global::new();
/// let (mut victim, stealer) = runq::new();
/// let (mut thief, _) = runq::new();
/// victim.push_next(Box::new(1), &global); // only `runnext` is set
/// assert!(stealer.steal_into(&mut thief, StealRunnext::No).is_none());
/// let (item, n) = stealer.steal_into(&mut thief, StealRunnext::AfterGrace).unwrap();
/// assert_eq!((*item, n), (1, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StealRunnext {
    /// Leave `runnext` alone (every pass but the last).
    No,
    /// If the ring is empty, take `runnext` once the victim has had
    /// a grace of a few microseconds to run it itself.
    AfterGrace,
}

/// What `push_back`/`push_next` did, so a scheduler can tell whether other Ms
/// could now find work to steal.
///
/// ```
/// use gmp_core::{global::Global, runq::{self, Pushed}};
///
/// let global = Global::new();
/// let (mut local, _stealer) = runq::with_capacity(4).unwrap();
/// assert_eq!(local.push_next(Box::new(0), &global), Pushed::Runnext);
/// assert_eq!(local.push_next(Box::new(1), &global), Pushed::Ring); // 0 moved to the ring
/// for i in 2..5 {
///     assert_eq!(local.push_back(Box::new(i), &global), Pushed::Ring);
/// }
/// // The ring is full: half of it and the new item go to the global queue.
/// assert_eq!(local.push_back(Box::new(5), &global), Pushed::Overflow(3));
/// assert_eq!(global.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// `push_next` found `runnext` empty: the item sits in `runnext` and the
    /// ring did not change (nothing new for a thief to take soon).
    Runnext,
    /// An item went into the P's ring (the pushed one, or for `push_next` the
    /// `runnext` it displaced).
    Ring,
    /// The ring was full: this many items (half the ring plus one) moved to
    /// the global queue in one batch.
    Overflow(usize),
}

/// The part of a run queue that every P's thieves can see.
///
/// # Invariants
///
/// * Positions satisfy `head <= tail <= head + capacity` whenever both are read
///   consistently by the owner.
/// * Slots `[head, tail)` (masked) hold live item tokens, each owned by the queue;
///   slots outside that window hold stale tokens that must never be turned back
///   into items unless a successful CAS on `head` claimed them.
/// * Only the owner (the holder of the [`Local`]) stores to `tail` and to slots.
/// * `runnext` is null or an item token owned by the queue.
pub(crate) struct Inner<T: Item> {
    head: AtomicU64,
    tail: AtomicU64,
    runnext: AtomicPtr<()>,
    mask: u64,
    buf: Box<[AtomicPtr<()>]>,
    /// Holds `T`s as tokens and hands out no `&T`; with `T: Send` (a bound of
    /// `Item`) that makes the queue `Send + Sync`, whatever `T`'s `Sync`.
    _items: PhantomData<fn() -> T>,
}

/// The owner's handle on a P's run queue. See the [module docs](self).
///
/// ```
/// use gmp_core::{global::Global, runq};
///
/// let global = Global::new();
/// let (mut local, _stealer) = runq::new();
/// local.push_back(Box::new("old"), &global);
/// local.push_next(Box::new("new"), &global);
/// // `runnext` runs first and inherits the time slice.
/// let (item, inherit) = local.pop().unwrap();
/// assert_eq!((*item, inherit), ("new", true));
/// assert_eq!(local.pop().map(|(b, i)| (*b, i)), Some(("old", false)));
/// ```
pub struct Local<T: Item> {
    inner: Arc<Inner<T>>,
}

/// A thief's handle on a P's run queue: clone it freely, use it from any thread.
///
/// ```
/// fn thief_is_shared<T: Sync + Send + Clone>() {}
/// thief_is_shared::<gmp_core::runq::Stealer<Box<u32>>>();
/// ```
///
/// The owner's handle cannot be cloned:
///
/// ```compile_fail
/// let (local, _stealer) = gmp_core::runq::new::<Box<u32>>();
/// let _two_owners = local.clone();
/// ```
pub struct Stealer<T: Item> {
    inner: Arc<Inner<T>>,
}

impl<T: Item> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

/// A run queue of [`DEFAULT_CAPACITY`] slots.
///
/// ```
/// let (local, stealer) = gmp_core::runq::new::<Box<u32>>();
/// assert!(local.is_empty() && stealer.is_empty());
/// assert!(stealer.same_queue(&local));
/// ```
pub fn new<T: Item>() -> (Local<T>, Stealer<T>) {
    with_capacity(DEFAULT_CAPACITY).expect("the default capacity is valid")
}

/// A run queue of `capacity` slots; `capacity` must be a power of two in `2..=2^31`.
///
/// ```
/// use gmp_core::{runq, ConfigError};
///
/// let (local, _stealer) = runq::with_capacity::<Box<u32>>(8).unwrap();
/// assert_eq!(local.capacity(), 8);
/// let err = runq::with_capacity::<Box<u32>>(1).err();
/// assert_eq!(err, Some(ConfigError::CapacityOutOfRange(1)));
/// ```
pub fn with_capacity<T: Item>(capacity: usize) -> Result<(Local<T>, Stealer<T>), ConfigError> {
    if !(2..=1 << 31).contains(&capacity) {
        return Err(ConfigError::CapacityOutOfRange(capacity));
    }
    if !capacity.is_power_of_two() {
        return Err(ConfigError::CapacityNotPowerOfTwo(capacity));
    }
    let buf = (0..capacity)
        .map(|_| AtomicPtr::new(ptr::null_mut()))
        .collect::<Vec<_>>()
        .into_boxed_slice();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU64::new(0),
        runnext: AtomicPtr::new(ptr::null_mut()),
        mask: capacity as u64 - 1,
        buf,
        _items: PhantomData,
    });
    Ok((
        Local {
            inner: inner.clone(),
        },
        Stealer { inner },
    ))
}

impl<T: Item> Inner<T> {
    #[inline]
    fn capacity(&self) -> u64 {
        self.mask + 1
    }

    #[inline]
    fn slot(&self, pos: u64) -> &AtomicPtr<()> {
        let index = (pos & self.mask) as usize;
        debug_assert!(index < self.buf.len());
        // SAFETY: `buf.len() == mask + 1` (set in `with_capacity`, never changed),
        // so `pos & mask` is always a valid index. This is the hottest line of the
        // scheduler; the bounds check it saves is measurable in `owner_push_pop`.
        unsafe { self.buf.get_unchecked(index) }
    }

    /// Reads the token in the slot at `pos`. The result is only meaningful
    /// (an owned item) if a later CAS on `head` claims `pos`.
    #[inline]
    fn read_slot(&self, pos: u64) -> Raw {
        // Relaxed: the slot's contents were published by the owner's Release store
        // of `tail`, which every reader has Acquire-loaded before calling this.
        let p = self.slot(pos).load(Relaxed);
        Raw(NonNull::new(p).expect("a claimed run queue slot is never empty"))
    }

    /// Go's `runqempty`: true if there is neither a ring item nor a `runnext`.
    ///
    /// The three loads are not one snapshot: a racing owner can move an item from
    /// `runnext` to the ring between them. Re-reading `tail` until it is stable
    /// gives a consistent answer, as Go does.
    fn is_empty(&self) -> bool {
        loop {
            // Acquire on all three: a caller that sees "not empty" goes on to steal.
            let head = self.head.load(Acquire);
            let tail = self.tail.load(Acquire);
            let next = self.runnext.load(Acquire);
            if self.tail.load(Acquire) == tail {
                return head == tail && next.is_null();
            }
        }
    }

    fn len(&self) -> usize {
        let head = self.head.load(Acquire);
        let tail = self.tail.load(Acquire);
        let ring = tail.saturating_sub(head).min(self.capacity()) as usize;
        ring + usize::from(!self.runnext.load(Acquire).is_null())
    }

    /// Takes the oldest item from the ring (not `runnext`). Safe from any thread:
    /// the claim is a CAS.
    #[inline]
    fn pop_ring(&self) -> Option<T> {
        loop {
            // Acquire: pairs with the owner's Release store of `tail` (the slot's
            // contents) and with other consumers' CASes on `head`.
            let head = self.head.load(Acquire);
            let tail = self.tail.load(Acquire);
            if head >= tail {
                return None;
            }
            let raw = self.read_slot(head);
            // Release: our read of the slot happens before the owner's overwrite
            // of it (pairs with the Acquire load of `head` in `push_back`).
            if self
                .head
                .compare_exchange(head, head + 1, Release, Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS claimed position `head`, which lay in
                // `[head, tail)`, so `raw` is a live token owned by the queue and
                // now by us (invariant of `Inner`); nobody else can claim it.
                return Some(unsafe { T::from_raw(raw.0) });
            }
            // A failed CAS means another consumer made progress: retry at once
            // (a `pause` here costs more than the race it would soften).
        }
    }

    /// Takes `runnext` if it is still `expected`.
    fn take_runnext(&self, expected: *mut ()) -> Option<T> {
        // Acquire: pairs with the owner's AcqRel swap that published the item.
        if self
            .runnext
            .compare_exchange(expected, ptr::null_mut(), Acquire, Relaxed)
            .is_ok()
        {
            let raw = NonNull::new(expected).expect("runnext CAS from a non-null value");
            // SAFETY: the CAS moved the token out of `runnext`, which owns it;
            // only the winner of that CAS can hold it.
            Some(unsafe { T::from_raw(raw) })
        } else {
            None
        }
    }
}

impl<T: Item> Local<T> {
    /// The ring's number of slots (not counting `runnext`).
    ///
    /// ```
    /// let (local, _stealer) = gmp_core::runq::with_capacity::<Box<u32>>(16).unwrap();
    /// assert_eq!(local.capacity(), 16);
    /// ```
    pub fn capacity(&self) -> usize {
        self.inner.capacity() as usize
    }

    /// Items in the ring plus one for `runnext`, as a momentary count.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::new();
    /// local.push_back(Box::new(1), &global);
    /// local.push_next(Box::new(2), &global);
    /// assert_eq!(local.len(), 2); // one in the ring, one in `runnext`
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True if neither the ring nor `runnext` holds an item.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::new();
    /// assert!(local.is_empty());
    /// local.push_next(Box::new(1), &global);
    /// assert!(!local.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// True if the ring cannot take another item without overflowing.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::with_capacity(2).unwrap();
    /// local.push_back(Box::new(1), &global);
    /// assert!(!local.is_full());
    /// local.push_back(Box::new(2), &global);
    /// assert!(local.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        let tail = self.inner.tail.load(Relaxed);
        let head = self.inner.head.load(Acquire);
        tail - head >= self.inner.capacity()
    }

    /// A thief's handle on this queue.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, _) = runq::new();
    /// local.push_back(Box::new(5), &global);
    /// let thief = local.stealer();
    /// assert_eq!(thief.pop().map(|b| *b), Some(5));
    /// ```
    pub fn stealer(&self) -> Stealer<T> {
        Stealer {
            inner: self.inner.clone(),
        }
    }

    /// Go's `runqput(p, gp, false)`: puts `item` at the tail of the ring; if the
    /// ring is full, moves half of it and `item` to `global` in one batch.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq::{self, Pushed}};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::new();
    /// assert_eq!(local.push_back(Box::new(1), &global), Pushed::Ring);
    /// assert_eq!(local.pop().map(|(b, next)| (*b, next)), Some((1, false)));
    /// ```
    #[inline]
    pub fn push_back(&mut self, item: T, global: &Global<T>) -> Pushed {
        let raw = Raw(item.into_raw());
        match self.try_push(raw) {
            Ok(()) => Pushed::Ring,
            Err(head) => self.push_slow(raw, head, global),
        }
    }

    /// The fast path of `push_back`: `Err(head)` if the ring is full.
    #[inline]
    fn try_push(&mut self, raw: Raw) -> Result<(), u64> {
        let inner = &*self.inner;
        // Acquire: pairs with the Release CAS of every consumer, so their reads
        // of the slots below `head` happen before we overwrite those slots.
        let head = inner.head.load(Acquire);
        // Only we write `tail`.
        let tail = inner.tail.load(Relaxed);
        if tail - head < inner.capacity() {
            inner.slot(tail).store(raw.0.as_ptr(), Relaxed);
            // Release: publishes the slot to thieves (pairs with their Acquire
            // loads of `tail`).
            inner.tail.store(tail + 1, Release);
            Ok(())
        } else {
            Err(head)
        }
    }

    /// `runqputslow`, and the retry when a consumer raced the spill.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, mut raw: Raw, mut head: u64, global: &Global<T>) -> Pushed {
        loop {
            let tail = self.inner.tail.load(Relaxed);
            match global.push_overflow(&self.inner, head, tail, raw) {
                Ok(moved) => return Pushed::Overflow(moved),
                // A consumer took items meanwhile: there is room now.
                Err(back) => raw = back,
            }
            match self.try_push(raw) {
                Ok(()) => return Pushed::Ring,
                Err(h) => head = h,
            }
        }
    }

    /// Go's `runqput(p, gp, true)`: makes `item` the P's `runnext`; the previous
    /// `runnext`, if any, goes to the tail of the ring.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq::{self, Pushed}};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::new();
    /// assert_eq!(local.push_next(Box::new(1), &global), Pushed::Runnext);
    /// assert_eq!(local.push_next(Box::new(2), &global), Pushed::Ring);
    /// assert_eq!(local.pop().map(|(b, next)| (*b, next)), Some((2, true)));
    /// ```
    #[inline]
    pub fn push_next(&mut self, item: T, global: &Global<T>) -> Pushed {
        let raw = item.into_raw();
        let runnext = &self.inner.runnext;
        // Only this owner makes `runnext` non-null (thieves only take it), so
        // null seen here stays null until our store: a plain store then, no
        // read-modify-write, for the usual spawn onto an empty `runnext`.
        // Acquire pairs with the CAS of a thief that took the last value;
        // Release publishes `item` to the thief that takes it next.
        if runnext.load(Acquire).is_null() {
            runnext.store(raw.as_ptr(), Release);
            return Pushed::Runnext;
        }
        // AcqRel: as above, for a value that may be taken right now.
        let old = runnext.swap(raw.as_ptr(), AcqRel);
        match NonNull::new(old) {
            None => Pushed::Runnext,
            // SAFETY: the swap moved the old token out of `runnext`, which owned it.
            Some(old) => self.push_back(unsafe { T::from_raw(old) }, global),
        }
    }

    /// Go's `runqget`: takes `runnext` if set, else the oldest ring item. The
    /// flag is `inheritTime`: true when the item came from `runnext` and should
    /// run in the current time slice.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::new();
    /// assert!(local.pop().is_none());
    /// local.push_back(Box::new('a'), &global);
    /// assert_eq!(local.pop().map(|(b, next)| (*b, next)), Some(('a', false)));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Option<(T, bool)> {
        let inner = &*self.inner;
        // Relaxed peek avoids an RMW in the common "no runnext" case; the swap
        // below is what decides.
        if !inner.runnext.load(Relaxed).is_null() {
            // Acquire: pairs with the AcqRel swap in `push_next`.
            let next = inner.runnext.swap(ptr::null_mut(), Acquire);
            if let Some(next) = NonNull::new(next) {
                // SAFETY: the swap moved the token out of `runnext`.
                return Some((unsafe { T::from_raw(next) }, true));
            }
        }
        inner.pop_ring().map(|item| (item, false))
    }

    /// Free slots in the ring.
    pub(crate) fn room(&self) -> usize {
        let tail = self.inner.tail.load(Relaxed);
        // Acquire: as in `push_back`.
        let head = self.inner.head.load(Acquire);
        (self.inner.capacity() - (tail - head)) as usize
    }

    /// Appends tokens the caller owns; the caller has checked `room()` (which can
    /// only grow meanwhile: consumers free slots, only we fill them).
    pub(crate) fn push_raw_batch(&mut self, raws: impl Iterator<Item = Raw>) {
        let inner = &*self.inner;
        let start = inner.tail.load(Relaxed);
        let mut tail = start;
        for raw in raws {
            inner.slot(tail).store(raw.0.as_ptr(), Relaxed);
            tail += 1;
        }
        debug_assert!(tail - inner.head.load(Relaxed) <= inner.capacity());
        if tail != start {
            // Release: publishes the slots, as in `push_back`.
            inner.tail.store(tail, Release);
        }
    }

    /// Takes every item, `runnext` first, e.g. to hand a dying P's work back to
    /// the global queue or to drop it at shutdown.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, _stealer) = runq::new();
    /// local.push_back(Box::new(1), &global);
    /// local.push_next(Box::new(2), &global);
    /// let all: Vec<i32> = local.drain().map(|b| *b).collect();
    /// assert_eq!(all, [2, 1]); // `runnext` first
    /// assert!(local.is_empty());
    /// ```
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.pop().map(|(item, _)| item))
    }
}

impl<T: Item> Stealer<T> {
    /// Items in the victim's ring plus one for `runnext`, as a momentary count.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, stealer) = runq::new();
    /// local.push_back(Box::new(1), &global);
    /// assert_eq!(stealer.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Go's `runqempty`.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, stealer) = runq::new();
    /// assert!(stealer.is_empty());
    /// local.push_next(Box::new(1), &global);
    /// assert!(!stealer.is_empty()); // `runnext` counts
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// True if `self` and `other` are handles on the same queue.
    ///
    /// ```
    /// let (a, stealer) = gmp_core::runq::new::<Box<u32>>();
    /// let (b, _) = gmp_core::runq::new::<Box<u32>>();
    /// assert!(stealer.same_queue(&a));
    /// assert!(!stealer.same_queue(&b));
    /// ```
    pub fn same_queue(&self, other: &Local<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Takes one item from the victim, oldest first, `runnext` last and at once
    /// (no grace). For draining a P whose owner is gone or stuck.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// let (mut local, stealer) = runq::new();
    /// local.push_back(Box::new(1), &global);
    /// local.push_next(Box::new(2), &global);
    /// // The ring first, then `runnext`, without waiting.
    /// assert_eq!(stealer.pop().map(|b| *b), Some(1));
    /// assert_eq!(stealer.pop().map(|b| *b), Some(2));
    /// assert!(stealer.pop().is_none());
    /// ```
    pub fn pop(&self) -> Option<T> {
        if let Some(item) = self.inner.pop_ring() {
            return Some(item);
        }
        let next = self.inner.runnext.load(Acquire);
        if next.is_null() {
            return None;
        }
        self.inner.take_runnext(next)
    }

    /// Go's `runqsteal`: moves half of the victim's items (rounded up) into `dst`
    /// and returns one of them to run now, with the number of items moved in all
    /// (including the one returned). `runnext` is only taken as `runnext` says.
    ///
    /// Called by the M that holds `dst`'s P, normally when `dst` is empty; at most
    /// as many items move as `dst` has room for.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq::{self, StealRunnext}};
    ///
    /// let global = Global::new();
    /// let (mut victim, stealer) = runq::new();
    /// let (mut thief, _) = runq::new();
    /// for i in 0..5 {
    ///     victim.push_back(Box::new(i), &global);
    /// }
    /// // Half of 5, rounded up: one to run now and two queued on the thief.
    /// let (first, moved) = stealer.steal_into(&mut thief, StealRunnext::No).unwrap();
    /// assert_eq!((moved, thief.len(), victim.len()), (3, 2, 2));
    /// assert!(*first < 3);
    /// ```
    pub fn steal_into(&self, dst: &mut Local<T>, runnext: StealRunnext) -> Option<(T, usize)> {
        let src = &*self.inner;
        let dst = &*dst.inner;
        if ptr::eq(src, dst) {
            return None;
        }
        // Only the owner of `dst` writes its tail, and that is us.
        let dst_tail = dst.tail.load(Relaxed);
        // Acquire: as in `push_back`, consumers of `dst` are done with its old slots.
        let room = dst.capacity() - (dst_tail - dst.head.load(Acquire));
        if room == 0 {
            return None;
        }
        let n = grab(src, dst, dst_tail, room, runnext)?;
        // The last item grabbed is returned rather than published.
        let last = dst.read_slot(dst_tail + n - 1);
        if n > 1 {
            // Release: publishes the first n-1 copied slots, as `push_back` does.
            dst.tail.store(dst_tail + n - 1, Release);
        }
        // SAFETY: `grab` claimed `n` items from `src` (its CAS succeeded) and copied
        // their tokens to `dst`'s slots `[dst_tail, dst_tail + n)`; the last of them
        // was not published, so we are its only owner.
        Some((unsafe { T::from_raw(last.0) }, n as usize))
    }
}

/// Go's `runqgrab`: claims up to half of `src`'s ring (rounded up, at most `room`)
/// and copies the tokens into `dst`'s slots starting at `dst_tail`, without
/// publishing them. Returns how many were claimed.
fn grab<T: Item>(
    src: &Inner<T>,
    dst: &Inner<T>,
    dst_tail: u64,
    room: u64,
    runnext: StealRunnext,
) -> Option<u64> {
    let mut look_again = true;
    loop {
        // Acquire on both: `tail` publishes the slots we copy; `head` pairs with
        // the Release CAS of other consumers.
        let head = src.head.load(Acquire);
        let tail = src.tail.load(Acquire);
        let avail = tail.wrapping_sub(head);
        if avail > src.capacity() {
            // `head` and `tail` were read at different moments and `head` moved
            // past the `tail` we saw, or `tail` ran ahead: not a consistent pair.
            spin_hint();
            continue;
        }
        let n = (avail - avail / 2).min(room);
        if n == 0 {
            if runnext == StealRunnext::AfterGrace {
                let next = src.runnext.load(Acquire);
                if !next.is_null() {
                    if runnext_grace(src, next) {
                        let item = src.take_runnext(next)?;
                        dst.slot(dst_tail).store(item.into_raw().as_ptr(), Relaxed);
                        return Some(1);
                    }
                    // The owner ran or replaced it: it is active. If it also
                    // queued work meanwhile (a spawning loop does), steal that;
                    // if not (a ping-pong pair), leave this P alone.
                    if look_again {
                        look_again = false;
                        continue;
                    }
                }
            }
            return None;
        }
        for i in 0..n {
            let raw = src.slot(head + i).load(Relaxed);
            dst.slot(dst_tail + i).store(raw, Relaxed);
        }
        // Release: our reads of `src`'s slots happen before the owner reuses them
        // (pairs with the Acquire load of `head` in `push_back`).
        if src
            .head
            .compare_exchange(head, head + n, Release, Relaxed)
            .is_ok()
        {
            return Some(n);
        }
        // A failed CAS means another consumer made progress: retry at once
        // (a `pause` here costs more than the race it would soften).
    }
}

/// Gives the victim a few microseconds to run its own `runnext` (Go's
/// `usleep(3)` in `runqgrab`); true if it is still `next` afterwards. Polls the
/// victim's line only every few hundred nanoseconds, so that a thief waiting out
/// the grace does not slow down the owner, who writes `runnext` all the time.
fn runnext_grace<T: Item>(src: &Inner<T>, next: *mut ()) -> bool {
    #[cfg(not(loom))]
    {
        let start = std::time::Instant::now();
        while start.elapsed() < RUNNEXT_GRACE {
            for _ in 0..64 {
                std::hint::spin_loop();
            }
            if src.runnext.load(Relaxed) != next {
                return false;
            }
        }
    }
    #[cfg(loom)]
    loom::thread::yield_now();
    src.runnext.load(Relaxed) == next
}

impl<T: Item> Drop for Inner<T> {
    fn drop(&mut self) {
        // `&mut self`: no other handle exists, every access below is exclusive.
        let head = self.head.load(Relaxed);
        let tail = self.tail.load(Relaxed);
        for pos in head..tail {
            let raw = self.read_slot(pos);
            // SAFETY: positions `[head, tail)` hold live tokens owned by the
            // queue (invariant), and the queue is being destroyed.
            drop(unsafe { T::from_raw(raw.0) });
        }
        if let Some(next) = NonNull::new(self.runnext.load(Relaxed)) {
            // SAFETY: `runnext` owns its token (invariant).
            drop(unsafe { T::from_raw(next) });
        }
    }
}

// `Global` needs to see a ring's innards to spill a batch from it.
impl<T: Item> Inner<T> {
    /// Copies the oldest `n` tokens (from `head`) out, for a spill. The tokens are
    /// only owned by the caller if a CAS from `head` to `head + n` then succeeds.
    pub(crate) fn copy_out(&self, head: u64, n: u64, out: &mut impl Extend<Raw>) {
        out.extend((0..n).map(|i| self.read_slot(head + i)));
    }

    /// Claims `[head, head + n)` after `copy_out`; false if a consumer raced us.
    pub(crate) fn claim(&self, head: u64, n: u64) -> bool {
        // Release: as in `grab`, our reads happen before the owner reuses the slots.
        self.head
            .compare_exchange(head, head + n, Release, Relaxed)
            .is_ok()
    }
}

pub(crate) use Inner as Ring;
