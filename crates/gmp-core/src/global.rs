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
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// True if [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once [`close`](Self::close) has run.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    fn publish_len(&self, state: &State) {
        // Relaxed: the lock orders writers; lock-free readers use the value only as
        // a hint, or behind a SeqCst fence of their own (see gmp-exec's idle protocol).
        self.len.store(state.items.len(), Relaxed);
    }

    /// Go's `globrunqput`: appends `item`, or hands it back if the queue is closed.
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
    pub fn close(&self) -> Vec<T> {
        lock(&self.state).closed = true;
        self.drain()
    }

    /// Takes every item out of the queue.
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
