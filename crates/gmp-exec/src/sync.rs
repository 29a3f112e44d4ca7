//! One facade over `std` and `loom` for the scheduler's own synchronisation, so
//! the task state machine and the idle protocol that loom checks under
//! `--cfg loom` are the code that runs in production.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

// Reference counting of the scheduler's own objects is not part of any
// protocol loom needs to check (and loom's `Arc` has no `Weak`).
pub(crate) use std::sync::{Arc, Weak};

/// Locks `m`, ignoring poisoning: no critical section in the scheduler runs user
/// code, so a poisoned lock still guards consistent data.
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

#[cfg(loom)]
pub(crate) use loom::sync::Condvar;
#[cfg(not(loom))]
pub(crate) use std::sync::Condvar;

/// Thread parking, from loom under `--cfg loom`.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::yield_now;
    #[cfg(not(loom))]
    pub(crate) use std::thread::yield_now;
}

/// `UnsafeCell` with loom's closure API, so loom can check every access to a
/// task's stage and join waker for data races.
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

    /// Reads through a raw pointer; the caller upholds the aliasing rules.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Writes through a raw pointer; the caller upholds the aliasing rules.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
