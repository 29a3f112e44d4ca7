//! Which runtime is "current" on a thread that is not one of its Ms: the one
//! whose `block_on` or `enter` is active. `spawn` outside any of them falls
//! back to the process-wide default runtime.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;

use crate::runtime::default_shared;
use crate::sched::worker::Worker;
use crate::sched::Shared;
use crate::sync::Arc;
use crate::task::JoinHandle;

thread_local! {
    /// The entered runtime and whether the entry is a `block_on`.
    static ENTERED: RefCell<Option<(Arc<Shared>, bool)>> = const { RefCell::new(None) };
    /// How many entries are active on this thread: each guard remembers its
    /// depth, so one dropped out of order is caught.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
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

/// `spawn` on the current runtime (this M's, the entered one, or the
/// default), reading this thread's M once.
#[inline]
pub(crate) fn spawn<F>(
    future: F,
    location: &'static Location<'static>,
    name: Option<&str>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Worker::with_current(|w| match w {
        Some(w) => w.shared().spawn_from(Some(w), future, location, name),
        None => with_entered_or_default(|shared| shared.spawn_from(None, future, location, name)),
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
///
/// # Panics
///
/// When guards of one thread are dropped in another order than the reverse
/// of the one they were made in (as tokio's do): restoring the entry the
/// guard replaced would then leave a runtime current that another guard
/// already left, perhaps one since dropped.
///
/// ```should_panic
/// let (a, b) = (gmp_exec::Runtime::new().unwrap(), gmp_exec::Runtime::new().unwrap());
/// let ga = a.enter();
/// let gb = b.enter();
/// drop(ga); // panics: `gb` must go first
/// # drop(gb);
/// ```
#[must_use = "the runtime stays entered only while the guard lives"]
pub struct EnterGuard {
    prev: Option<(Arc<Shared>, bool)>,
    /// This entry's place on the thread's stack of entries (1 = outermost).
    depth: u32,
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
    let depth = DEPTH.with(|d| {
        let depth = d.get() + 1;
        d.set(depth);
        depth
    });
    EnterGuard {
        prev,
        depth,
        _not_send: PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if DEPTH.with(Cell::get) != self.depth {
            if std::thread::panicking() {
                // Unwinding already: a second panic would abort. The entries
                // stay as they are; the first panic is the one to read.
                return;
            }
            panic!(
                "gmp: EnterGuards dropped out of order: the guards of one thread (from \
                 Runtime::enter, Handle::enter) must be dropped in the reverse order they were \
                 made in"
            );
        }
        DEPTH.with(|d| d.set(self.depth - 1));
        let prev = self.prev.take();
        ENTERED.with(|e| *e.borrow_mut() = prev);
    }
}

impl std::fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnterGuard")
    }
}
