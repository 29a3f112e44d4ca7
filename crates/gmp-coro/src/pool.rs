//! The stack pool: a per-thread cache over a process-wide free list.
//!
//! This is the shape of Go's free-G lists (`gfget`/`gfput` in `proc.go`, whose
//! Gs keep their stacks) and of its per-P `stackcache`: a thread takes and gives
//! stacks from its own cache with no synchronisation at all, and talks to the
//! global list only in batches, under one lock hold:
//!
//! * **get** (Go's `gfget`): pop the thread's cache; if it is empty, move up to
//!   [`BATCH`] stacks from the global list into it; if the global list is empty
//!   too, carve a fresh stack from the current slab, mapping a new slab when that
//!   one is used up.
//! * **put** (Go's `gfput`): release a deeply used stack's pages (see
//!   [deep stacks](crate::stack#deep-stacks-give-memory-back)), push it on the
//!   thread's cache, and if the cache now holds [`CACHE_MAX`] stacks, move
//!   [`BATCH`] of them to the global list.
//! * **thread exit**: the cache's destructor moves all of it to the global list,
//!   so a stack freed by a thread that goes away is reused by the others.
//!
//! The cache is LIFO, so the stack a thread just gave back is the one it gets
//! next, with its top pages still resident and warm in the cache.
//!
//! Stacks are kept per size: the cache and the global list hold one class per
//! distinct size in use (usually one or two, so a linear search finds it).
//! A stack is only an address here; the same stack may be handed out on one
//! thread and returned on another.

use std::cell::RefCell;
use std::io;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};

use crate::stack::{release_if_deep, Slab};

/// The most stacks a thread's cache holds per size (Go's `gfput` limit of 64).
///
/// ```
/// use gmp_coro::pool::{BATCH, CACHE_MAX};
///
/// // A full cache spills half of itself to the global list.
/// assert_eq!(CACHE_MAX, 2 * BATCH);
/// ```
pub const CACHE_MAX: usize = 64;

/// How many stacks move between a thread's cache and the global list at once
/// (Go moves 32).
///
/// ```
/// use gmp_coro::pool::{BATCH, CACHE_MAX};
///
/// assert!(BATCH > 0 && BATCH < CACHE_MAX);
/// ```
pub const BATCH: usize = 32;

/// One size class of a thread's cache.
struct LocalClass {
    size: usize,
    tops: Vec<NonZeroUsize>,
}

/// A thread's cache. Its destructor spills it to the global list.
struct LocalCache {
    classes: Vec<LocalClass>,
}

impl LocalCache {
    fn class(&mut self, size: usize) -> &mut LocalClass {
        let i = match self.classes.iter().position(|c| c.size == size) {
            Some(i) => i,
            None => {
                self.classes.push(LocalClass {
                    size,
                    tops: Vec::with_capacity(CACHE_MAX),
                });
                self.classes.len() - 1
            }
        };
        &mut self.classes[i]
    }
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        let mut global = global();
        for class in &mut self.classes {
            global.class(class.size).free.append(&mut class.tops);
        }
    }
}

/// One size class of the global list, with the slab it carves fresh stacks from.
struct GlobalClass {
    size: usize,
    free: Vec<NonZeroUsize>,
    slab: Option<Slab>,
    /// Stacks of this size ever carved from slabs.
    carved: usize,
}

struct Global {
    classes: Vec<GlobalClass>,
}

impl Global {
    fn class(&mut self, size: usize) -> &mut GlobalClass {
        let i = match self.classes.iter().position(|c| c.size == size) {
            Some(i) => i,
            None => {
                self.classes.push(GlobalClass {
                    size,
                    free: Vec::new(),
                    slab: None,
                    carved: 0,
                });
                self.classes.len() - 1
            }
        };
        &mut self.classes[i]
    }
}

impl GlobalClass {
    /// Carves a never-used stack, mapping a slab if needed.
    fn fresh(&mut self) -> io::Result<NonZeroUsize> {
        let top = match self.slab.as_mut().and_then(Slab::carve) {
            Some(top) => top,
            None => {
                let mut slab = Slab::map(self.size)?;
                let top = slab.carve().expect("a new slab holds at least one stack");
                self.slab = Some(slab);
                top
            }
        };
        self.carved += 1;
        Ok(top)
    }
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    classes: Vec::new(),
});

thread_local! {
    static CACHE: RefCell<LocalCache> = const {
        RefCell::new(LocalCache { classes: Vec::new() })
    };
}

/// The global list. Nothing panics while holding it, but a poisoned lock
/// (a panic from an allocation failure) leaves consistent lists, so it is
/// taken anyway.
fn global() -> MutexGuard<'static, Global> {
    GLOBAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes a stack of `size` bytes (already checked), returning its top.
pub(crate) fn get(size: usize) -> io::Result<NonZeroUsize> {
    let cached = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        let class = cache.class(size);
        if let Some(top) = class.tops.pop() {
            return Ok(top);
        }
        // Refill from the global list (Go's gfget), or carve a fresh stack.
        let mut global = global();
        let gclass = global.class(size);
        let n = gclass.free.len().min(BATCH);
        let at = gclass.free.len() - n;
        class.tops.extend(gclass.free.drain(at..));
        match class.tops.pop() {
            Some(top) => Ok(top),
            None => gclass.fresh(),
        }
    });
    match cached {
        Ok(result) => result,
        // The thread's cache is gone (we run in a thread-local destructor).
        Err(_) => {
            let mut global = global();
            let gclass = global.class(size);
            match gclass.free.pop() {
                Some(top) => Ok(top),
                None => gclass.fresh(),
            }
        }
    }
}

/// Gives back the stack below `top`, of `size` bytes; nothing runs on it.
pub(crate) fn put(top: NonZeroUsize, size: usize) {
    release_if_deep(top, size);
    let cached = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        let class = cache.class(size);
        class.tops.push(top);
        if class.tops.len() >= CACHE_MAX {
            // Spill the oldest (coldest) half, keeping the recently used ones.
            let mut global = global();
            global.class(size).free.extend(class.tops.drain(..BATCH));
        }
    });
    if cached.is_err() {
        global().class(size).free.push(top);
    }
}

/// Counts of the pool's stacks, for tests and benchmarks.
///
/// ```
/// use gmp_coro::{pool, Stack, DEFAULT_STACK_SIZE};
///
/// let stack = Stack::new(DEFAULT_STACK_SIZE)?;
/// let held = pool::stats(DEFAULT_STACK_SIZE);
/// drop(stack);
/// let after = pool::stats(DEFAULT_STACK_SIZE);
/// assert_eq!(after.local_free, held.local_free + 1);
/// assert_eq!(after.carved, held.carved); // giving back maps nothing
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Stacks of this size on the global free list.
    pub global_free: usize,
    /// Stacks of this size in the calling thread's cache.
    pub local_free: usize,
    /// Stacks of this size ever carved from freshly mapped slabs: a get that
    /// the pool satisfies leaves it unchanged.
    pub carved: usize,
}

/// How many stacks of `size` bytes are free, globally and in this thread's cache.
///
/// ```
/// use gmp_coro::{pool, Stack, MIN_STACK_SIZE};
///
/// let stack = Stack::new(MIN_STACK_SIZE)?;
/// assert!(pool::stats(MIN_STACK_SIZE).carved >= 1);
/// drop(stack); // back into this thread's cache
/// assert!(pool::stats(MIN_STACK_SIZE).local_free >= 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stats(size: usize) -> PoolStats {
    let local_free = CACHE
        .try_with(|cache| {
            let cache = cache.borrow();
            cache
                .classes
                .iter()
                .find(|c| c.size == size)
                .map_or(0, |c| c.tops.len())
        })
        .unwrap_or(0);
    let global = global();
    let class = global.classes.iter().find(|c| c.size == size);
    PoolStats {
        global_free: class.map_or(0, |c| c.free.len()),
        local_free,
        carved: class.map_or(0, |c| c.carved),
    }
}
