//! The global run queue: Go's `sched.runq`, `globrunqput`, `globrunqputbatch`
//! and `globrunqget`.
//!
//! A lock and a deque, as in Go and tokio: it is touched on overflow, by remote
//! spawns and wakes, by one schedule tick in 61 and by idle Ms, never on the
//! local spawn/wake/poll path. The length is mirrored in an atomic so that a
//! searching M can skip the lock when the queue is empty (Go reads
//! `sched.runqsize` the same way). Items travel as word-sized tokens, and the
//! deque keeps its capacity, so a queue in steady state does not allocate.
//!
//! Closing the queue (at runtime shutdown) makes later `push`es hand their item
//! back, so a wake that races shutdown can tell that nobody will ever run the G
//! it holds. Overflow from a running P's ring is still accepted after closing:
//! only a running M overflows, and the runtime drains the queue again once its
//! Ms have stopped.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;

use crate::item::{Item, Raw};
use crate::runq::{Local, Ring};
use crate::sync::{lock, AtomicUsize, Mutex};

/// The global run queue. See the [module docs](self).
///
/// ```
/// use gmp_core::global::Global;
///
/// let global = Global::new();
/// global.push(Box::new(1)).unwrap();
/// global.push(Box::new(2)).unwrap();
/// assert_eq!(global.pop().map(|b| *b), Some(1)); // first in, first out
/// assert_eq!(global.len(), 1);
/// ```
pub struct Global<T: Item> {
    /// Mirrors `state.items.len()`; written only under the lock.
    len: AtomicUsize,
    state: Mutex<State>,
    /// Holds `T`s as tokens and hands out no `&T`; with `T: Send` (a bound of
    /// `Item`) that makes the queue `Send + Sync`, whatever `T`'s `Sync`.
    _items: PhantomData<fn() -> T>,
}

struct State {
    /// Every token in here is a live item owned by the queue.
    items: VecDeque<Raw>,
    closed: bool,
}

impl<T: Item> Default for Global<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Item> std::fmt::Debug for Global<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global").field("len", &self.len()).finish()
    }
}

impl<T: Item> Global<T> {
    /// An empty, open queue.
    ///
    /// ```
    /// let global = gmp_core::global::Global::<Box<u8>>::new();
    /// assert!(global.is_empty());
    /// assert!(!global.is_closed());
    /// ```
    pub fn new() -> Self {
        Global {
            len: AtomicUsize::new(0),
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            _items: PhantomData,
        }
    }

    /// The number of queued items, as last published (a hint: read without the
    /// lock, like Go's `sched.runqsize`).
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// global.push_batch((0..3).map(Box::new)).unwrap();
    /// assert_eq!(global.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// True if [`len`](Self::len) is zero.
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// assert!(global.is_empty());
    /// global.push(Box::new('g')).unwrap();
    /// assert!(!global.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once [`close`](Self::close) has run.
    ///
    /// ```
    /// let global = gmp_core::global::Global::<Box<u8>>::new();
    /// assert!(!global.is_closed());
    /// global.close();
    /// assert!(global.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    fn publish_len(&self, state: &State) {
        // Relaxed: the lock orders writers; lock-free readers use the value only as
        // a hint, or behind a SeqCst fence of their own (see gmp-exec's idle protocol).
        self.len.store(state.items.len(), Relaxed);
    }

    /// Go's `globrunqput`: appends `item`, or hands it back if the queue is closed.
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// assert!(global.push(Box::new(1)).is_ok());
    /// global.close();
    /// let back = global.push(Box::new(2)).unwrap_err();
    /// assert_eq!(*back, 2); // nobody would run it now
    /// ```
    pub fn push(&self, item: T) -> Result<(), T> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(item);
        }
        state.items.push_back(Raw(item.into_raw()));
        self.publish_len(&state);
        Ok(())
    }

    /// Go's `globrunqputbatch` (`injectglist`): appends every item under one lock
    /// hold and returns how many; if the queue is closed the iterator comes back
    /// untouched.
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// assert_eq!(global.push_batch(vec![Box::new(1), Box::new(2)]).ok(), Some(2));
    /// global.close();
    /// let back = global.push_batch(vec![Box::new(3)]).unwrap_err();
    /// assert_eq!(back.count(), 1);
    /// ```
    pub fn push_batch<I: IntoIterator<Item = T>>(&self, items: I) -> Result<usize, I::IntoIter> {
        let items = items.into_iter();
        let mut state = lock(&self.state);
        if state.closed {
            return Err(items);
        }
        let before = state.items.len();
        state.items.extend(items.map(|item| Raw(item.into_raw())));
        self.publish_len(&state);
        Ok(state.items.len() - before)
    }

    /// Takes the oldest item.
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// assert!(global.pop().is_none());
    /// global.push(Box::new("g")).unwrap();
    /// assert_eq!(global.pop().as_deref(), Some(&"g"));
    /// ```
    pub fn pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut state = lock(&self.state);
        let raw = state.items.pop_front()?;
        self.publish_len(&state);
        // SAFETY: every token in `items` is a live item owned by the queue, and
        // `pop_front` removed this one, so it is converted back exactly once.
        Some(unsafe { T::from_raw(raw.0) })
    }

    /// Go's `globrunqget(p, max)`: takes this P's fair share of the queue,
    /// `min(len / procs + 1, len)`, capped by `max` (0: no cap) and by half of
    /// `dst`'s ring (and its free room), returns the first item and moves the rest
    /// into `dst`. The count is the number of items taken in all.
    ///
    /// Called by the M that holds `dst`'s P.
    ///
    /// ```
    /// use gmp_core::{global::Global, runq};
    ///
    /// let global = Global::new();
    /// global.push_batch((0..10).map(Box::new)).unwrap();
    /// let (mut local, _stealer) = runq::new();
    /// // With 2 Ps, this P's share is 10 / 2 + 1 = 6: one to run, five queued.
    /// let (first, taken) = global.grab_into(&mut local, 2, 0).unwrap();
    /// assert_eq!((*first, taken), (0, 6));
    /// assert_eq!((local.len(), global.len()), (5, 4));
    /// ```
    pub fn grab_into(&self, dst: &mut Local<T>, procs: usize, max: usize) -> Option<(T, usize)> {
        if self.is_empty() {
            return None;
        }
        let mut state = lock(&self.state);
        let len = state.items.len();
        if len == 0 {
            return None;
        }
        let mut n = (len / procs.max(1) + 1).min(len);
        if max > 0 {
            n = n.min(max);
        }
        n = n.min(dst.capacity() / 2).max(1);
        let first = state.items.pop_front().expect("len > 0");
        let rest = (n - 1).min(dst.room());
        dst.push_raw_batch(state.items.drain(..rest));
        self.publish_len(&state);
        drop(state);
        // SAFETY: `first` was a live token owned by the queue, removed above.
        Some((unsafe { T::from_raw(first.0) }, rest + 1))
    }

    /// Closes the queue and takes every item out of it. Later `push`es fail;
    /// overflow from running Ps is still accepted (see the module docs), so call
    /// [`drain`](Self::drain) again once no P runs.
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// global.push(Box::new(1)).unwrap();
    /// let left = global.close();
    /// assert_eq!(left.len(), 1);
    /// assert!(global.push(Box::new(2)).is_err());
    /// ```
    pub fn close(&self) -> Vec<T> {
        lock(&self.state).closed = true;
        self.drain()
    }

    /// Takes every item out of the queue.
    ///
    /// ```
    /// let global = gmp_core::global::Global::new();
    /// global.push_batch((1..=3).map(Box::new)).unwrap();
    /// let items: Vec<i32> = global.drain().into_iter().map(|b| *b).collect();
    /// assert_eq!(items, [1, 2, 3]);
    /// assert!(global.is_empty());
    /// ```
    pub fn drain(&self) -> Vec<T> {
        let mut state = lock(&self.state);
        let items: Vec<Raw> = state.items.drain(..).collect();
        self.publish_len(&state);
        drop(state);
        items
            .into_iter()
            // SAFETY: each token was a live item owned by the queue, removed above.
            .map(|raw| unsafe { T::from_raw(raw.0) })
            .collect()
    }

    /// Go's `runqputslow`: moves the oldest half of a full ring plus `raw` into
    /// the queue as one batch and returns the number moved. If a consumer of the
    /// ring raced us, nothing moves and `raw` comes back (there is room now).
    pub(crate) fn push_overflow(
        &self,
        ring: &Ring<T>,
        head: u64,
        tail: u64,
        raw: Raw,
    ) -> Result<usize, Raw> {
        let n = (tail - head) / 2;
        let mut state = lock(&self.state);
        let before = state.items.len();
        ring.copy_out(head, n, &mut state.items);
        if !ring.claim(head, n) {
            state.items.truncate(before);
            return Err(raw);
        }
        state.items.push_back(raw);
        self.publish_len(&state);
        Ok(n as usize + 1)
    }
}

impl<T: Item> Drop for Global<T> {
    fn drop(&mut self) {
        drop(self.drain());
    }
}
