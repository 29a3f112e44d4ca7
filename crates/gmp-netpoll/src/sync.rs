//! One facade over `std` and `loom`.
//!
//! Every atomic, lock and cell that the timer and waker protocols touch comes from
//! here, so the code loom model-checks under `--cfg loom` is, line for line, the
//! code that runs in production. Nothing else in the crate names `std::sync`'s
//! atomics or locks directly.
//!
//! Reference counting (`Arc`) is std's in both builds: the public API hands out
//! `Arc<TimerEntry>`, whose type must not change with a cfg, and no protocol here
//! relies on the order in which references are dropped.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning.
///
/// No critical section in this crate runs user code (wakers are moved out, never
/// woken or dropped, under a lock), so a poisoned lock can only come from an
/// allocation failure, and every section leaves its data consistent up to its
/// last completed step.
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

/// Tries to lock `m` without blocking, ignoring poisoning; `None` if another
/// thread holds it.
#[cfg(not(loom))]
pub(crate) fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// `UnsafeCell` with loom's closure API, so loom checks every access to a waker
/// slot for data races.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `UnsafeCell` with loom's closure API (zero-cost outside loom).
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Writes through a raw pointer; the caller upholds the aliasing rules.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
