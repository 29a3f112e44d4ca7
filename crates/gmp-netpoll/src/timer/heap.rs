//! One shard's 4-ary min-heap of armed timers, Go's `p.timers` with `siftupTimer`
//! and `siftdownTimer`.
//!
//! Elements are `(when, entry)` pairs, 16 bytes, so the comparisons of a sift walk
//! a contiguous array and touch an entry only to tell it where it now lives. A
//! 4-ary heap is half as deep as a binary one and its four children share a cache
//! line, which is why Go chose it; it costs a few more comparisons per level.
//!
//! Every element knows its own index: whenever an element lands in a slot, the
//! heap stores `(shard, index)` into its entry's state word. That is what makes
//! [`Heap::remove`] a true O(log n) removal instead of Go's "mark deleted and skip
//! it later", so a cancelled sleep gives its slot back at once.
//!
//! Everything here runs under the shard's lock; the index stores are `Relaxed`
//! because only holders of that lock read an index (see `entry.rs`).

use std::sync::Arc;

use super::entry::TimerEntry;

/// Children per node.
const ARITY: usize = 4;

/// Below this capacity a heap never shrinks (the allocation is small and a P
/// that had timers will likely have them again).
const MIN_SHRINK_CAPACITY: usize = 64;

/// [`Heap::min`] of an empty heap: later than any deadline.
pub(crate) const EMPTY: u64 = u64::MAX;

struct Item {
    /// The deadline in nanoseconds since the `Timers` epoch.
    when: u64,
    entry: Arc<TimerEntry>,
}

/// A shard's heap. See the module docs.
pub(crate) struct Heap {
    shard: usize,
    items: Vec<Item>,
}

impl Heap {
    /// An empty heap for shard `shard`.
    pub(crate) fn new(shard: usize) -> Heap {
        Heap {
            shard,
            items: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The earliest deadline, or [`EMPTY`].
    pub(crate) fn min(&self) -> u64 {
        self.items.first().map_or(EMPTY, |item| item.when)
    }

    /// Whether slot `index` holds `entry` (checks a location read from an entry,
    /// which may belong to another `Timers`).
    pub(crate) fn holds(&self, index: usize, entry: &TimerEntry) -> bool {
        self.items
            .get(index)
            .is_some_and(|item| std::ptr::eq(Arc::as_ptr(&item.entry), entry))
    }

    /// Adds `entry` with deadline `when`; its state word then names its slot
    /// (which also clears a previous fired mark).
    pub(crate) fn push(&mut self, when: u64, entry: Arc<TimerEntry>) {
        let index = self.items.len();
        self.items.push(Item { when, entry });
        self.sift_up(index);
    }

    /// Changes the deadline of the element at `index`.
    pub(crate) fn update(&mut self, index: usize, when: u64) {
        let old = self.items[index].when;
        self.items[index].when = when;
        if when < old {
            self.sift_up(index);
        } else {
            self.sift_down(index);
        }
    }

    /// Removes the element at `index` and returns its entry, whose state word
    /// still names the old slot: the caller overwrites it (fired or idle).
    pub(crate) fn remove(&mut self, index: usize) -> Arc<TimerEntry> {
        let item = self.items.swap_remove(index);
        if index < self.items.len() {
            // The last element moved into the hole: it may belong above or below.
            if index > 0 && self.items[index].when < self.items[parent(index)].when {
                self.sift_up(index);
            } else {
                self.sift_down(index);
            }
        }
        self.maybe_shrink();
        item.entry
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Arc<TimerEntry>> {
        if self.items.first()?.when <= now {
            Some(self.remove(0))
        } else {
            None
        }
    }

    /// Gives memory back once the heap is a quarter full (halving, so a heap
    /// that oscillates around a size does not reallocate on every operation).
    fn maybe_shrink(&mut self) {
        let cap = self.items.capacity();
        if cap > MIN_SHRINK_CAPACITY && self.items.len() < cap / 4 {
            self.items.shrink_to((cap / 2).max(MIN_SHRINK_CAPACITY));
        }
    }

    /// The capacity of the element array (for tests of memory release).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    fn sift_up(&mut self, mut index: usize) {
        while index > 0 {
            let up = parent(index);
            if self.items[index].when >= self.items[up].when {
                break;
            }
            self.items.swap(index, up);
            self.settle(index);
            index = up;
        }
        self.settle(index);
    }

    fn sift_down(&mut self, mut index: usize) {
        let len = self.items.len();
        loop {
            let first = ARITY * index + 1;
            if first >= len {
                break;
            }
            let last = (first + ARITY).min(len);
            let mut child = first;
            for c in first + 1..last {
                if self.items[c].when < self.items[child].when {
                    child = c;
                }
            }
            if self.items[child].when >= self.items[index].when {
                break;
            }
            self.items.swap(index, child);
            self.settle(index);
            index = child;
        }
        self.settle(index);
    }

    /// Tells the element at `index` where it lives.
    fn settle(&self, index: usize) {
        self.items[index].entry.set_slot(self.shard, index);
    }

    /// Checks the heap property and every element's recorded slot.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn check(&self) {
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                assert!(self.items[parent(i)].when <= item.when, "heap order at {i}");
            }
            assert_eq!(item.entry.slot(), Some((self.shard, i)), "slot of {i}");
        }
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // The `Timers` is going away: its armed entries will never fire. Mark
        // them idle so that a later `insert` into another `Timers` starts clean.
        for item in &self.items {
            item.entry.set_idle();
        }
    }
}

fn parent(index: usize) -> usize {
    (index - 1) / ARITY
}
