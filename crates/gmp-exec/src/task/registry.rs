//! The live-task registry (Go's `allgs`): how shutdown finds a G parked on a
//! waker that something else holds, to drop its future.
//!
//! A registry is a slab of atomic pointers, one per live task, owned by one P
//! (plus one, under a lock, for tasks spawned from outside any worker). The
//! costs sit where the hot path can afford them:
//!
//! * **Register** (on spawn, by the P's owner): pop a free index from a private
//!   stack and store the task pointer. No atomic RMW, no lock.
//! * **Forget** (on completion, by whichever M completes the task, often on
//!   another P): one `Release` store of null into the slot. No RMW, no lock, and
//!   no neighbouring task's memory touched (a linked list would write two).
//! * **Recycle** (owner, when its free stack is empty): scan a window of slots
//!   for nulls, eight per cache line, and only grow when the window is full.
//!
//! Slots live in chunks of geometrically growing size (64, 128, 256, …) that
//! never move, so a remote store never races a reallocation; the table of chunk
//! pointers has a fixed 32 entries.
//!
//! Each slot holds one task reference ("the registry reference"). Shutdown's
//! sweep, which runs when no M is left, takes every non-null pointer out of the
//! slots and cancels those tasks.

use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use crate::sync::AtomicUsize;
use crate::task::{Header, TaskRef};

#[cfg(loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(loom))]
use std::sync::atomic::AtomicPtr;

const BASE: usize = 64;
const CHUNKS: usize = 32;
/// Slots examined per recycle scan before the registry grows instead.
const SCAN_WINDOW: usize = 512;

type Slot = AtomicPtr<Header>;

/// The shared half: the slots. Any thread may forget a task.
pub(crate) struct Registry {
    chunks: [AtomicPtr<Slot>; CHUNKS],
    /// Slots handed out so far (`[0, allocated)` may hold tasks); grows only.
    allocated: AtomicUsize,
}

/// The owner's half: which slots are free. Only the P's owner touches it.
pub(crate) struct RegistryOwner {
    /// Cleared slots found by a scan.
    free: Vec<u32>,
    /// Handed-out slots never used yet: `fresh.start..fresh.end`.
    fresh: std::ops::Range<usize>,
    scan_from: usize,
}

/// (chunk, offset) of slot `index`.
fn locate(index: usize) -> (usize, usize) {
    let chunk = (usize::BITS - 1 - (index / BASE + 1).leading_zeros()) as usize;
    let start = BASE * ((1 << chunk) - 1);
    (chunk, index - start)
}

fn chunk_len(chunk: usize) -> usize {
    BASE << chunk
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            chunks: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            allocated: AtomicUsize::new(0),
        }
    }

    fn slot(&self, index: usize) -> &Slot {
        let (chunk, offset) = locate(index);
        // Acquire: pairs with the Release that published the chunk.
        let base = self.chunks[chunk].load(Acquire);
        assert!(!base.is_null(), "registry slot {index} was never allocated");
        debug_assert!(offset < chunk_len(chunk));
        // SAFETY: chunk `chunk` holds `chunk_len(chunk)` slots, allocated once by
        // `grow` and never freed before the registry is dropped; `offset` is in
        // range by construction of `locate`.
        unsafe { &*base.add(offset) }
    }

    /// Allocates the next chunk if `index` falls beyond the allocated ones.
    /// Called only by the owner.
    fn ensure(&self, index: usize) {
        let (chunk, _) = locate(index);
        // Acquire: pairs with the Release store of a new chunk below (by this
        // owner, or by a previous owner of the registry).
        if !self.chunks[chunk].load(Acquire).is_null() {
            return;
        }
        let raw = new_chunk(chunk_len(chunk));
        // Release: the chunk's initialised slots before its pointer.
        self.chunks[chunk].store(raw, Release);
    }

    /// Forgets the task in `index` if it is still there; true if this call took
    /// the registry's reference (the caller must then drop it).
    pub(crate) fn forget(&self, index: usize, task: &Header) -> bool {
        let slot = self.slot(index);
        // A slot is cleared either by its task's completer (here: a plain store,
        // the cheap path every completion takes) or by shutdown's sweep, never
        // by both at once: the sweep runs only when no M is left to complete
        // anything, and a cancellation the sweep itself causes finds the slot
        // already empty.
        if ptr::eq(slot.load(Relaxed), task) {
            // Release: everything the completer did to the task happens before
            // the sweep (which Acquire-loads slots) sees the slot empty.
            slot.store(ptr::null_mut(), Release);
            true
        } else {
            false
        }
    }

    /// Takes every registered task out (shutdown's sweep). Each returned
    /// `TaskRef` carries the registry's reference.
    pub(crate) fn take_all(&self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        // Acquire: pairs with the Release store of `allocated` in `register`:
        // every slot below it belongs to an allocated chunk.
        for index in 0..self.allocated.load(Acquire) {
            let slot = self.slot(index);
            // Acquire: pairs with the Release in `register`/`forget`.
            let task = slot.swap(ptr::null_mut(), AcqRel);
            if let Some(task) = NonNull::new(task) {
                // SAFETY: a non-null slot holds the registry's reference, which
                // the swap moved to us.
                out.push(unsafe { TaskRef::from_owned(task) });
            }
        }
        out
    }
}

/// A chunk of `len` empty slots. Zeroed memory is a valid array of null
/// `AtomicPtr`s, and large zeroed allocations come straight from the kernel
/// untouched, so the unused tail of the newest chunk costs no resident memory.
#[cfg(not(loom))]
fn new_chunk(len: usize) -> *mut Slot {
    let layout = std::alloc::Layout::array::<Slot>(len).expect("chunk sizes are small");
    // SAFETY: the layout is non-zero-sized; an all-zero `AtomicPtr` is null.
    let raw = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Slot>();
    if raw.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    raw
}

/// Under loom, atomics must be constructed, not zeroed.
#[cfg(loom)]
fn new_chunk(len: usize) -> *mut Slot {
    let slots: Box<[Slot]> = (0..len).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
    Box::into_raw(slots).cast::<Slot>()
}

impl Registry {
    /// Calls `f` on every registered task.
    ///
    /// # Safety
    ///
    /// No task may leave the registry while this runs (the dump gate in
    /// `dump.rs` is closed, or no M is left): a registered task holds the
    /// registry's reference, so it is alive exactly as long as it is here.
    pub(crate) unsafe fn for_each(&self, mut f: impl FnMut(&Header)) {
        for index in 0..self.allocated.load(Acquire) {
            // Acquire: pairs with the Release in `register`.
            if let Some(task) = NonNull::new(self.slot(index).load(Acquire)) {
                // SAFETY: the caller's contract keeps the task registered, and
                // so alive, while `f` looks at it.
                f(unsafe { task.as_ref() });
            }
        }
    }

    /// Registered tasks right now (a racy count, for metrics).
    pub(crate) fn count(&self) -> usize {
        // Acquire: as in `take_all`.
        (0..self.allocated.load(Acquire))
            .filter(|&i| !self.slot(i).load(Relaxed).is_null())
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        for (chunk, ptr) in self.chunks.iter_mut().enumerate() {
            let raw = ptr.load(Relaxed);
            if !raw.is_null() {
                let slice = ptr::slice_from_raw_parts_mut(raw, chunk_len(chunk));
                // SAFETY: allocated by `new_chunk` with the layout of a slice of
                // this length (a `Box<[Slot]>` has the same layout); `AtomicPtr`
                // needs no drop.
                drop(unsafe { Box::from_raw(slice) });
            }
        }
    }
}

impl RegistryOwner {
    pub(crate) fn new() -> RegistryOwner {
        RegistryOwner {
            free: Vec::new(),
            fresh: 0..0,
            scan_from: 0,
        }
    }

    /// Registers `task` (taking over the registry reference the spawner holds)
    /// and returns its index.
    ///
    /// Called only by the owner of `registry`.
    pub(crate) fn register(&mut self, registry: &Registry, task: NonNull<Header>) -> usize {
        let index = match self.free.pop() {
            Some(i) => i as usize,
            None => match self.fresh.next() {
                Some(i) => i,
                None => self.refill(registry),
            },
        };
        // Release: the task's initialised header before the sweep can see it.
        registry.slot(index).store(task.as_ptr(), Release);
        index
    }

    /// Finds free slots: scans a window of handed-out slots for ones that
    /// completers cleared; if fewer than one in eight was free, also hands out a
    /// batch of fresh slots (half as many again as exist), so a scan costs at most
    /// eight slot reads per registration, amortised.
    #[cold]
    fn refill(&mut self, registry: &Registry) -> usize {
        let allocated = registry.allocated.load(Relaxed);
        let window = SCAN_WINDOW.min(allocated);
        for _ in 0..window {
            if self.scan_from >= allocated {
                self.scan_from = 0;
            }
            let i = self.scan_from;
            self.scan_from += 1;
            if registry.slot(i).load(Relaxed).is_null() {
                self.free.push(i as u32);
            }
        }
        if self.free.len() < window / 8 || self.free.is_empty() {
            let batch = BASE.max(allocated / 2);
            let end = allocated + batch;
            assert!(
                end <= u32::MAX as usize,
                "more than 4 billion live tasks on one P"
            );
            for i in allocated..end {
                registry.ensure(i);
            }
            // Release: the new chunks are published before `allocated` covers them.
            registry.allocated.store(end, Release);
            self.fresh = allocated..end;
        }
        match self.free.pop() {
            Some(i) => i as usize,
            None => self
                .fresh
                .next()
                .expect("refill always finds or makes a free slot"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn locate_maps_indices_into_geometric_chunks() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        let n = if cfg!(miri) { 2_000 } else { 100_000 };
        for i in 0..n {
            let (c, o) = locate(i);
            assert!(o < chunk_len(c), "index {i}");
        }
    }
}
