//! Task memory: Go's `gfget`/`gfput` for task cells.
//!
//! A spawn allocates a cell and a completion frees it, often on another P: the
//! spawner's thread allocates, a thief's thread frees. The system allocator
//! handles that pattern badly (glibc sends each remote free back to the
//! allocating thread's arena under its lock; the spawner then misses its
//! thread cache on every allocation — a quarter of `spawn_many` at 2 procs).
//! Go keeps dead Gs on per-P free lists and moves them in batches of 32 through a
//! global list; so do we, per size class:
//!
//! * a freed cell's memory goes to the freeing M's P cache for its class
//!   ([`FreeCache`]); a cache holding 64 spills 33 to the global list in one lock
//!   hold;
//! * an allocation takes from the spawning P's cache, which refills 32 at a time
//!   from the global list, and only then asks the system allocator.
//!
//! Blocks are plain allocations of their class's layout, so they are
//! interchangeable between runtimes and outlive any of them: a cell freed on a
//! thread without a P (a waker dropped elsewhere, a runtime long gone) simply
//! goes back to the system allocator. The global lists are bounded; beyond the
//! bound, blocks are freed too.
//!
//! Cells bigger than the largest class, or aligned beyond 8 bytes, bypass all
//! this and use the system allocator directly.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::LazyLock;

use gmp_core::free::{FreeCache, FreeList};

/// Class sizes: 16-byte steps from 24 to 264, then 64-byte steps to 1 KiB. Every
/// size is `16k + 8`: what glibc's malloc hands out for a chunk (8 bytes of it
/// are the chunk header), so a class wastes nothing that malloc would not.
const fn class_size(class: usize) -> usize {
    if class < 16 {
        24 + class * 16
    } else {
        264 + (class - 15) * 64
    }
}

/// Number of size classes.
pub(crate) const CLASSES: usize = 28;
const MAX_SIZE: usize = class_size(CLASSES - 1);
/// Block alignment: malloc's 16-byte chunks put the user pointer at 8 mod 16
/// for these sizes' neighbours, so only 8 is promised.
const ALIGN: usize = 8;
/// Blocks kept per class in the global list (beyond: back to the system).
const GLOBAL_LIMIT: usize = 16 * 1024;

/// The class for a cell type, or `None` if it bypasses the free lists.
pub(crate) const fn class_of(layout: Layout) -> Option<usize> {
    // Under loom the global lists (statics with loom locks) cannot exist.
    if cfg!(loom) || layout.size() > MAX_SIZE || layout.align() > ALIGN || layout.size() == 0 {
        return None;
    }
    let size = layout.size();
    let class = if size <= 24 {
        0
    } else if size <= 264 {
        (size - 24).div_ceil(16)
    } else {
        15 + (size - 264).div_ceil(64)
    };
    Some(class)
}

fn block_layout(class: usize) -> Layout {
    // The sizes are multiples of 16 and small, so the layout is always valid.
    Layout::from_size_align(class_size(class), ALIGN).expect("class layouts are valid")
}

/// An unused allocation of a class's layout, owned.
///
/// # Invariant
///
/// `ptr` was returned by the global allocator for `block_layout(class)` and is
/// owned by this value (nothing else frees or uses it).
pub(crate) struct Block {
    ptr: NonNull<u8>,
    class: usize,
}

// SAFETY: a block is plain unused memory; owning it on another thread is fine.
unsafe impl Send for Block {}

impl Block {
    fn new(class: usize) -> Block {
        let layout = block_layout(class);
        // SAFETY: class layouts have a non-zero size.
        let ptr = unsafe { alloc::alloc(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        Block { ptr, class }
    }

    /// Gives up ownership of the memory (it becomes a task cell).
    fn into_raw(self) -> NonNull<u8> {
        let ptr = self.ptr;
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: the invariant: we own an allocation of exactly this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), block_layout(self.class)) }
    }
}

/// The process-wide lists (Go's `sched.gFree`), one per class.
static GLOBAL: LazyLock<Vec<FreeList<Block>>> = LazyLock::new(|| {
    (0..CLASSES)
        .map(|_| FreeList::with_limit(GLOBAL_LIMIT))
        .collect()
});

/// A P's caches, one per class (Go's `p.gFree`).
pub(crate) struct PFree {
    caches: Vec<FreeCache<Block>>,
}

impl PFree {
    pub(crate) fn new() -> PFree {
        PFree {
            caches: (0..CLASSES).map(|_| FreeCache::new()).collect(),
        }
    }

    /// `gfget`: a block of `class`, from this P's cache (refilled from the
    /// global list) or, failing that, from the system allocator.
    ///
    /// Called only by the M that holds this P.
    pub(crate) fn get(&mut self, class: usize) -> NonNull<u8> {
        self.caches[class]
            .get(&GLOBAL[class])
            .unwrap_or_else(|| Block::new(class))
            .into_raw()
    }

    /// `gfput`: caches the memory of a dead cell.
    ///
    /// # Safety
    ///
    /// `ptr` is an allocation of `class`'s layout that the caller owns and no
    /// longer uses (a cell allocated by [`allocate`] whose contents are dropped).
    pub(crate) unsafe fn put(&mut self, ptr: NonNull<u8>, class: usize) {
        self.caches[class].put(Block { ptr, class }, &GLOBAL[class]);
    }
}

/// Allocates memory for a value of `layout`: from `cache` when the layout has a
/// class and a cache is at hand, else from the system allocator.
pub(crate) fn allocate(layout: Layout, cache: Option<&mut PFree>) -> NonNull<u8> {
    match (class_of(layout), cache) {
        (Some(class), Some(cache)) => cache.get(class),
        (Some(class), None) => GLOBAL[class]
            .get()
            .unwrap_or_else(|| Block::new(class))
            .into_raw(),
        (None, _) => {
            // SAFETY: task cells are never zero-sized (they hold a header).
            let ptr = unsafe { alloc::alloc(layout) };
            NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout))
        }
    }
}

/// Frees memory from [`allocate`] with the same `layout`: to `cache` when the
/// layout has a class and a cache is at hand, else to the system allocator.
///
/// # Safety
///
/// `ptr` came from `allocate(layout, _)`, its contents are dropped, and nothing
/// uses it any more.
pub(crate) unsafe fn free(ptr: NonNull<u8>, layout: Layout, cache: Option<&mut PFree>) {
    match (class_of(layout), cache) {
        // SAFETY: the caller's contract; `allocate` gave a block of this class.
        (Some(class), Some(cache)) => unsafe { cache.put(ptr, class) },
        // Without a P: straight back to the system, no lock taken.
        (Some(class), None) => drop(Block { ptr, class }),
        // SAFETY: `allocate` used the system allocator with this layout.
        (None, _) => unsafe { alloc::dealloc(ptr.as_ptr(), layout) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_sizes_in_order() {
        let mut last = 0;
        for class in 0..CLASSES {
            assert!(class_size(class) > last);
            last = class_size(class);
        }
        for size in 1..=MAX_SIZE {
            let class = class_of(Layout::from_size_align(size, 8).unwrap()).unwrap();
            assert!(class_size(class) >= size, "size {size} in class {class}");
            assert!(
                class == 0 || class_size(class - 1) < size,
                "size {size} not in the tightest class"
            );
        }
        assert_eq!(
            class_of(Layout::from_size_align(MAX_SIZE + 1, 8).unwrap()),
            None
        );
        assert_eq!(class_of(Layout::from_size_align(64, 16).unwrap()), None);
    }

    #[test]
    fn blocks_cycle_through_the_caches() {
        let layout = Layout::from_size_align(100, 8).unwrap();
        assert_eq!(class_size(class_of(layout).unwrap()), 104);
        let mut a = PFree::new();
        let mut b = PFree::new();
        let blocks: Vec<_> = (0..200).map(|_| allocate(layout, Some(&mut a))).collect();
        for ptr in blocks {
            // SAFETY: fresh from `allocate` with this layout, unused.
            unsafe { free(ptr, layout, Some(&mut b)) };
        }
        // `b` spilled to the global list; `a` refills from it.
        let again = allocate(layout, Some(&mut a));
        // SAFETY: as above.
        unsafe { free(again, layout, None) };
    }
}
