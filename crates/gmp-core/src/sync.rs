//! One facade over `std` and `loom`.
//!
//! Every atomic, lock and cell that the algorithms in this crate touch comes from
//! here, so the code that runs in production is, line for line, the code that loom
//! model-checks under `--cfg loom`. Nothing else in the crate names `std::sync`
//! directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning.
///
/// The critical sections in this crate never run user code, so a poisoned lock can
/// only come from an allocation failure inside one; the data it guards is still
/// consistent (every section either completes or leaves the queue untouched).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A spin-wait hint that also yields to loom's scheduler under `--cfg loom`, so
/// a bounded spin in the algorithm cannot make a model run forever.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}
