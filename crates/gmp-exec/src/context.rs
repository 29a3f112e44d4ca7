//! Which runtime is "current" on a thread that is not one of its Ms: the one
//! whose `block_on` or `enter` is active. `spawn` outside any of them falls
//! back to the process-wide default runtime.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::runtime::default_shared;
use crate::sched::worker::Worker;
use crate::sched::Shared;
use crate::sync::Arc;

thread_local! {
    /// The entered runtime and whether the entry is a `block_on`.
    static ENTERED: RefCell<Option<(Arc<Shared>, bool)>> = const { RefCell::new(None) };
}

/// Calls `f` with the current runtime: this M's, the entered one, or the default.
#[inline]
pub(crate) fn with_current_shared<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> R {
    // No `Option` around `f` to take it from either branch: `f` carries the
    // future being spawned, and every extra move of it showed in a spawn's
    // profile (store-forwarding stalls on the copies).
    Worker::with_current(|w| match w {
        Some(w) => f(w.shared()),
        None => with_entered_or_default(f),
    })
}

fn with_entered_or_default<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> R {
    ENTERED
        .with(|e| match &*e.borrow() {
            Some((shared, _)) => Ok(f(shared)),
            None => Err(f),
        })
        .unwrap_or_else(|f| f(default_shared()))
}

/// Like `with_current_shared`, without the default fallback.
pub(crate) fn try_with_current_shared<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> Option<R> {
    let mut f = Some(f);
    let r = Worker::with_current(|w| w.map(|w| (f.take().unwrap())(w.shared())));
    if r.is_some() {
        return r;
    }
    let f = f.take().unwrap();
    ENTERED.with(|e| e.borrow().as_ref().map(|(shared, _)| f(shared)))
}

/// Restores the previously entered runtime when dropped. Not `Send`: it must be
/// dropped on the thread that entered.
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// assert!(gmp_exec::Handle::try_current().is_none());
/// let guard: gmp_exec::EnterGuard = rt.enter();
/// assert_eq!(gmp_exec::Handle::current().procs(), 1);
/// drop(guard); // back to no runtime
/// assert!(gmp_exec::Handle::try_current().is_none());
/// ```
#[must_use = "the runtime stays entered only while the guard lives"]
pub struct EnterGuard {
    prev: Option<(Arc<Shared>, bool)>,
    _not_send: PhantomData<*const ()>,
}

/// Enters `shared` on this thread. A `block_on` entry refuses to nest inside
/// another `block_on`.
#[track_caller]
pub(crate) fn enter(shared: &Arc<Shared>, block_on: bool) -> EnterGuard {
    let prev = ENTERED.with(|e| {
        let mut e = e.borrow_mut();
        if block_on && e.as_ref().is_some_and(|(_, b)| *b) {
            panic!(
                "block_on was called inside another block_on on the same thread: the outer \
                 one could never make progress; .await the future instead"
            );
        }
        e.replace((shared.clone(), block_on))
    });
    EnterGuard {
        prev,
        _not_send: PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        ENTERED.with(|e| *e.borrow_mut() = prev);
    }
}

impl std::fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnterGuard")
    }
}
