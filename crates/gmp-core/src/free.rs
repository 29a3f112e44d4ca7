//! Free lists for reusable G storage and batches of G ids: Go's `gfget`/`gfput`
//! (`p.gFree`, `sched.gFree`) and `p.goidcache`/`sched.goidgen`.
//!
//! Both follow the same pattern: every P keeps a small private cache it touches
//! without synchronisation, and only a batch at a time crosses to the shared
//! structure. A P that frees more than [`LOCAL_MAX`] entries spills all but
//! [`BATCH`] - 1 of them to the global list in one lock hold; a P that runs dry
//! refills up to [`BATCH`] in one lock hold. A P that spawns as many Gs as it
//! retires never takes the lock at all.

use std::sync::atomic::Ordering::Relaxed;

use crate::sync::{lock, AtomicU64, AtomicUsize, Mutex};

/// A P's cache spills once it holds this many entries (Go: 64).
///
/// ```
/// use gmp_core::free::{FreeCache, FreeList, BATCH, LOCAL_MAX};
///
/// let global = FreeList::new();
/// let mut cache = FreeCache::new();
/// for i in 0..LOCAL_MAX {
///     cache.put(i, &global);
/// }
/// // The last put filled the cache, so most of it moved to the global list.
/// assert_eq!(cache.len(), BATCH - 1);
/// assert_eq!(global.len(), LOCAL_MAX - (BATCH - 1));
/// ```
pub const LOCAL_MAX: usize = 64;
/// Refills bring the cache up to this many; spills leave fewer (Go: 32).
///
/// ```
/// use gmp_core::free::{FreeCache, FreeList, BATCH};
///
/// let global = FreeList::new();
/// for i in 0..100 {
///     global.put(i);
/// }
/// let mut cache = FreeCache::new();
/// assert!(cache.get(&global).is_some()); // refills BATCH, hands out one
/// assert_eq!(cache.len(), BATCH - 1);
/// assert_eq!(global.len(), 100 - BATCH);
/// ```
pub const BATCH: usize = 32;

/// The shared free list (Go's `sched.gFree`), optionally bounded.
///
/// ```
/// use gmp_core::free::FreeList;
///
/// let list = FreeList::new();
/// list.put("g1");
/// list.put("g2");
/// assert_eq!(list.get(), Some("g2")); // last in, first out
/// assert_eq!(list.len(), 1);
/// ```
#[derive(Debug)]
pub struct FreeList<T> {
    items: Mutex<Vec<T>>,
    /// Mirrors `items.len()` so an empty list costs no lock.
    len: AtomicUsize,
    limit: usize,
}

/// A P's private cache (Go's `p.gFree`). Only the M holding the P touches it.
///
/// ```
/// use gmp_core::free::{FreeCache, FreeList};
///
/// let global = FreeList::new();
/// let mut cache = FreeCache::new();
/// cache.put(String::from("g"), &global);
/// assert_eq!(cache.get(&global).as_deref(), Some("g"));
/// assert!(global.is_empty()); // a P that reuses what it frees never shares
/// ```
#[derive(Debug)]
pub struct FreeCache<T> {
    items: Vec<T>,
}

impl<T> Default for FreeList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> FreeList<T> {
    /// An unbounded list.
    ///
    /// ```
    /// let list = gmp_core::free::FreeList::<u32>::new();
    /// assert!(list.is_empty());
    /// assert_eq!(list.get(), None);
    /// ```
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// A list that keeps at most `limit` entries; spilled entries beyond it are
    /// dropped (for storage that should go back to the system, such as stacks).
    ///
    /// ```
    /// use gmp_core::free::FreeList;
    ///
    /// let list = FreeList::with_limit(2);
    /// for i in 0..5 {
    ///     list.put(i);
    /// }
    /// assert_eq!(list.len(), 2); // the rest were dropped
    /// assert_eq!(list.take_all(), vec![0, 1]);
    /// ```
    pub fn with_limit(limit: usize) -> Self {
        FreeList {
            items: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
            limit,
        }
    }

    /// Entries in the shared list (a hint).
    ///
    /// ```
    /// let list = gmp_core::free::FreeList::new();
    /// list.put(1);
    /// list.put(2);
    /// assert_eq!(list.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// True if the shared list holds nothing (a hint).
    ///
    /// ```
    /// let list = gmp_core::free::FreeList::new();
    /// assert!(list.is_empty());
    /// list.put(7);
    /// assert!(!list.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts one entry straight on the shared list (for threads without a P).
    ///
    /// ```
    /// let list = gmp_core::free::FreeList::new();
    /// list.put('a');
    /// assert_eq!(list.get(), Some('a'));
    /// ```
    pub fn put(&self, item: T) {
        let mut items = lock(&self.items);
        if items.len() < self.limit {
            items.push(item);
        }
        self.len.store(items.len(), Relaxed);
    }

    /// Takes one entry straight from the shared list.
    ///
    /// ```
    /// let list = gmp_core::free::FreeList::new();
    /// assert_eq!(list.get(), None);
    /// list.put(3);
    /// assert_eq!(list.get(), Some(3));
    /// assert!(list.is_empty());
    /// ```
    pub fn get(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut items = lock(&self.items);
        let item = items.pop();
        self.len.store(items.len(), Relaxed);
        item
    }

    /// Takes everything (at shutdown, or to release memory).
    ///
    /// ```
    /// let list = gmp_core::free::FreeList::new();
    /// list.put(1);
    /// list.put(2);
    /// assert_eq!(list.take_all(), vec![1, 2]);
    /// assert!(list.is_empty());
    /// ```
    pub fn take_all(&self) -> Vec<T> {
        let mut items = lock(&self.items);
        self.len.store(0, Relaxed);
        std::mem::take(&mut *items)
    }
}

impl<T> Default for FreeCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> FreeCache<T> {
    /// An empty cache with room for [`LOCAL_MAX`] entries, so it never allocates
    /// afterwards.
    ///
    /// ```
    /// use gmp_core::free::FreeCache;
    ///
    /// let cache = FreeCache::<Vec<u8>>::new();
    /// assert!(cache.is_empty());
    /// ```
    pub fn new() -> Self {
        FreeCache {
            items: Vec::with_capacity(LOCAL_MAX),
        }
    }

    /// Entries cached here.
    ///
    /// ```
    /// use gmp_core::free::{FreeCache, FreeList};
    ///
    /// let global = FreeList::new();
    /// let mut cache = FreeCache::new();
    /// cache.put(1, &global);
    /// cache.put(2, &global);
    /// assert_eq!(cache.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if the cache is empty.
    ///
    /// ```
    /// use gmp_core::free::{FreeCache, FreeList};
    ///
    /// let global = FreeList::new();
    /// let mut cache = FreeCache::new();
    /// cache.put(1, &global);
    /// assert!(!cache.is_empty());
    /// assert_eq!(cache.get(&global), Some(1));
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Go's `gfget`: an entry from the cache, refilling it from `global` in one
    /// batch when it is empty.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::free::{FreeCache, FreeList};
    ///
    /// let global = FreeList::new();
    /// global.put(10);
    /// global.put(11);
    /// let mut cache = FreeCache::new();
    /// assert_eq!(cache.get(&global), Some(11)); // refilled from the shared list
    /// assert_eq!(cache.len(), 1);
    /// assert!(global.is_empty());
    /// ```
    pub fn get(&mut self, global: &FreeList<T>) -> Option<T> {
        if self.items.is_empty() && !global.is_empty() {
            let mut shared = lock(&global.items);
            let take = shared.len().min(BATCH);
            let from = shared.len() - take;
            self.items.extend(shared.drain(from..));
            global.len.store(shared.len(), Relaxed);
        }
        self.items.pop()
    }

    /// Go's `gfput`: caches `item`; once the cache holds [`LOCAL_MAX`], spills
    /// down to [`BATCH`] - 1 entries to `global` in one batch.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::free::{FreeCache, FreeList, LOCAL_MAX};
    ///
    /// let global = FreeList::new();
    /// let mut cache = FreeCache::new();
    /// for i in 0..LOCAL_MAX - 1 {
    ///     cache.put(i, &global);
    /// }
    /// assert!(global.is_empty()); // not full yet
    /// cache.put(LOCAL_MAX, &global);
    /// assert!(!global.is_empty()); // spilled
    /// ```
    pub fn put(&mut self, item: T, global: &FreeList<T>) {
        self.items.push(item);
        if self.items.len() >= LOCAL_MAX {
            let keep = BATCH - 1;
            let mut shared = lock(&global.items);
            let room = global.limit.saturating_sub(shared.len());
            let spill = self.items.len() - keep;
            let moved = spill.min(room);
            shared.extend(self.items.drain(keep..keep + moved));
            global.len.store(shared.len(), Relaxed);
            drop(shared);
            // Beyond the limit: give the storage back.
            self.items.truncate(keep);
        }
    }

    /// Moves everything in the cache to `global` (when a P is destroyed).
    ///
    /// ```
    /// use gmp_core::free::{FreeCache, FreeList};
    ///
    /// let global = FreeList::with_limit(1);
    /// let mut cache = FreeCache::new();
    /// cache.put(1, &global);
    /// cache.put(2, &global);
    /// cache.flush(&global);
    /// assert!(cache.is_empty());
    /// assert_eq!(global.take_all(), vec![1]); // the limit dropped the other
    /// ```
    pub fn flush(&mut self, global: &FreeList<T>) {
        let mut shared = lock(&global.items);
        let room = global.limit.saturating_sub(shared.len());
        let moved = self.items.len().min(room);
        shared.extend(self.items.drain(..moved));
        global.len.store(shared.len(), Relaxed);
        drop(shared);
        self.items.clear();
    }
}

/// How many ids a P takes from the generator at a time (Go's `_GoidCacheBatch`).
///
/// ```
/// use gmp_core::free::{GoidCache, GoidGen, GOID_BATCH};
///
/// let gen = GoidGen::new();
/// let mut cache = GoidCache::new();
/// assert_eq!(cache.next(&gen), 1);
/// // The cache took a whole batch, so the generator moved past it.
/// assert_eq!(gen.next_id(), GOID_BATCH + 1);
/// ```
pub const GOID_BATCH: u64 = 16;

/// The shared G id generator (Go's `sched.goidgen`). Ids start at 1.
///
/// ```
/// use gmp_core::free::{GoidCache, GoidGen};
///
/// let gen = GoidGen::new();
/// let (mut p0, mut p1) = (GoidCache::new(), GoidCache::new());
/// let ids = [p0.next(&gen), p1.next(&gen), p0.next(&gen), gen.next_id()];
/// assert_eq!(ids, [1, 17, 2, 33]); // unique, in batches of 16
/// ```
#[derive(Debug, Default)]
pub struct GoidGen {
    last: AtomicU64,
}

/// A P's batch of ids (Go's `p.goidcache`, `p.goidcacheend`).
///
/// ```
/// use gmp_core::free::{GoidCache, GoidGen};
///
/// let gen = GoidGen::new();
/// let mut cache = GoidCache::new();
/// let ids: Vec<u64> = (0..3).map(|_| cache.next(&gen)).collect();
/// assert_eq!(ids, [1, 2, 3]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct GoidCache {
    next: u64,
    end: u64,
}

impl GoidGen {
    /// A generator whose first id is 1.
    ///
    /// ```
    /// let gen = gmp_core::free::GoidGen::new();
    /// assert_eq!(gen.next_id(), 1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// One id straight from the generator (for threads without a P).
    ///
    /// ```
    /// let gen = gmp_core::free::GoidGen::new();
    /// assert_eq!((gen.next_id(), gen.next_id()), (1, 2));
    /// ```
    pub fn next_id(&self) -> u64 {
        // Relaxed: ids only need to be unique, which the RMW guarantees.
        self.last.fetch_add(1, Relaxed) + 1
    }

    fn batch(&self) -> (u64, u64) {
        // Relaxed: as above.
        let end = self.last.fetch_add(GOID_BATCH, Relaxed) + GOID_BATCH;
        (end - GOID_BATCH + 1, end + 1)
    }
}

impl GoidCache {
    /// An empty cache; the first `next` takes a batch.
    ///
    /// ```
    /// use gmp_core::free::{GoidCache, GoidGen};
    ///
    /// let gen = GoidGen::new();
    /// let mut cache = GoidCache::new(); // holds no ids yet
    /// assert_eq!(cache.next(&gen), 1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id, taking a new batch of [`GOID_BATCH`] from `gen` when this one
    /// is used up.
    ///
    /// Called only by the M that holds this P.
    ///
    /// ```
    /// use gmp_core::free::{GoidCache, GoidGen, GOID_BATCH};
    ///
    /// let gen = GoidGen::new();
    /// let mut cache = GoidCache::new();
    /// let last = (0..GOID_BATCH).map(|_| cache.next(&gen)).last();
    /// assert_eq!(last, Some(GOID_BATCH));
    /// gen.next_id(); // someone else takes id 17
    /// assert_eq!(cache.next(&gen), GOID_BATCH + 2); // a fresh batch
    /// ```
    #[inline]
    pub fn next(&mut self, gen: &GoidGen) -> u64 {
        if self.next == self.end {
            (self.next, self.end) = gen.batch();
        }
        let id = self.next;
        self.next += 1;
        id
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn cache_spills_and_refills_in_batches() {
        let global = FreeList::new();
        let mut cache = FreeCache::new();
        for i in 0..LOCAL_MAX - 1 {
            cache.put(i, &global);
        }
        assert_eq!(global.len(), 0);
        cache.put(LOCAL_MAX - 1, &global);
        assert_eq!(cache.len(), BATCH - 1);
        assert_eq!(global.len(), LOCAL_MAX - BATCH + 1);

        let mut other = FreeCache::new();
        assert!(other.get(&global).is_some());
        assert_eq!(other.len(), BATCH - 1);
        assert_eq!(global.len(), LOCAL_MAX - 2 * BATCH + 1);
    }

    #[test]
    fn bounded_list_drops_the_excess() {
        let global = FreeList::with_limit(10);
        let mut cache = FreeCache::new();
        let drops = std::sync::Arc::new(());
        for _ in 0..LOCAL_MAX {
            cache.put(drops.clone(), &global);
        }
        assert_eq!(global.len(), 10);
        assert_eq!(cache.len(), BATCH - 1);
        assert_eq!(std::sync::Arc::strong_count(&drops), 1 + 10 + BATCH - 1);
        cache.flush(&global);
        assert_eq!(std::sync::Arc::strong_count(&drops), 1 + 10);
    }

    #[test]
    fn goids_are_unique_across_caches() {
        let gen = GoidGen::new();
        let mut a = GoidCache::new();
        let mut b = GoidCache::new();
        let mut ids: Vec<u64> = (0..100)
            .flat_map(|_| [a.next(&gen), b.next(&gen)])
            .collect();
        ids.push(gen.next_id());
        assert_eq!(*ids.iter().min().unwrap(), 1);
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
