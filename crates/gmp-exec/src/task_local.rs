//! Task-local values: [`task_local!`](crate::task_local), [`LocalKey`],
//! [`TaskLocalFuture`] (tokio's names).
//!
//! # How a value follows its G
//!
//! As in tokio, a value is not stored in the task: [`LocalKey::scope`] wraps a
//! future, and around every poll of it the value is made visible on the
//! polling thread, then hidden again when the poll returns. A G that moves to
//! another M (stolen, woken elsewhere) takes its future, and so its value,
//! along; nothing of it stays behind on the old thread.
//!
//! What is visible is a per-thread chain of *frames*: each active scope (a
//! poll of a `TaskLocalFuture`, a call of [`LocalKey::sync_scope`]) links a
//! frame `(key, &value)` on its own stack in front of the chain and unlinks
//! it when it returns or unwinds. [`LocalKey::with`] walks the chain for its
//! key (the innermost scope wins). The walk is as long as the scopes are
//! nested, one or two in practice.
//!
//! tokio swaps each key's value into a thread-local of that key instead. The
//! chain is what makes coroutine Gs work: a coroutine suspends *inside* a
//! scope (a `sync_scope` around [`coro::wait`](crate::coro::wait)), and the M
//! then runs other Gs, which must not see the suspended G's values. With the
//! chain, suspending detaches the whole of it (one pointer, kept on the
//! coroutine's stack) and resuming re-attaches it, whatever keys it holds;
//! per-key thread-locals would have to be found and swapped one by one.
//!
//! # Rules
//!
//! 1. Every frame on a thread's chain is alive: a frame is linked only by
//!    `enter`, for as long as its call runs on this thread, and the chain
//!    of a coroutine is detached from the thread before the coroutine
//!    suspends (its frames stay alive on its stack, which does not move).
//! 2. A frame's key is the address of a `static LocalKey<T>`, and its value
//!    points at a `T` of that very `T`: the key's type fixes the value's.
//! 3. A G's poll starts with an empty chain: Ms run Gs only from their
//!    scheduling loop, outside every scope.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::AtomicU8;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Declares task-local keys (tokio's `task_local!`): statics of type
/// [`LocalKey<T>`], whose value is set by [`scope`](LocalKey::scope) for a
/// future or [`sync_scope`](LocalKey::sync_scope) for a closure.
///
/// ```
/// gmp_exec::task_local! {
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
///
/// # gmp_exec::block_on(async {
/// let handle = gmp_exec::spawn(REQUEST_ID.scope(7, async {
///     gmp_exec::yield_now().await; // the value follows the G across polls
///     REQUEST_ID.get()
/// }));
/// assert_eq!(handle.await.unwrap(), 7);
/// assert!(REQUEST_ID.try_with(|_| ()).is_err(), "not set outside the scope");
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> =
            $crate::task::LocalKey::__new(stringify!($name));
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::task_local!($(#[$attr])* $vis static $name: $t;);
    };
}

/// One active scope, on the stack of the call that set it.
struct Frame {
    /// The `LocalKey`'s address (rule 2).
    key: *const (),
    /// The value, a `&T` for the key's `T`.
    value: *const (),
    /// The next frame out (null at the chain's end).
    prev: *const Frame,
}

thread_local! {
    /// The innermost active frame on this thread (rule 1).
    static HEAD: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with `(key, value)` at the head of this thread's chain.
fn enter<R>(key: *const (), value: *const (), f: impl FnOnce() -> R) -> R {
    let frame = Frame {
        key,
        value,
        prev: HEAD.with(Cell::get),
    };
    HEAD.with(|h| h.set(&frame));
    /// Unlinks the frame on return and on unwind (rule 1).
    struct Unlink<'a>(&'a Frame);
    impl Drop for Unlink<'_> {
        fn drop(&mut self) {
            HEAD.with(|h| {
                debug_assert!(
                    ptr::eq(h.get(), self.0),
                    "task-local frames unlinked out of order"
                );
                h.set(self.0.prev)
            });
        }
    }
    let _unlink = Unlink(&frame);
    f()
}

/// The value of `key` in the innermost scope that set it, or null.
fn find(key: *const ()) -> *const () {
    let mut p = HEAD.with(Cell::get);
    while !p.is_null() {
        // SAFETY: every frame on this thread's chain is alive (rule 1).
        let frame = unsafe { &*p };
        if frame.key == key {
            return frame.value;
        }
        p = frame.prev;
    }
    ptr::null()
}

/// The chain of the coroutine about to suspend, detached from the thread
/// (rule 1): the M it returns to runs other Gs with an empty chain (rule 3).
/// Keep it on the coroutine's stack and hand it to [`attach`] on resumption.
#[inline]
pub(crate) fn detach() -> Detached {
    Detached(HEAD.with(|h| h.replace(ptr::null())))
}

/// A coroutine's chain while it is suspended: re-attached when dropped, that
/// is right after the coroutine resumes, or while its stack unwinds when it
/// is cancelled (its scopes' frames then unlink one by one as they go).
pub(crate) struct Detached(*const Frame);

impl Drop for Detached {
    #[inline]
    fn drop(&mut self) {
        if !self.0.is_null() {
            HEAD.with(|h| h.set(self.0));
        }
    }
}

/// True if no scope is active on this thread (rule 3's check).
#[cfg(debug_assertions)]
pub(crate) fn chain_is_empty() -> bool {
    HEAD.with(Cell::get).is_null()
}

/// A key for task-local values of type `T`, declared with
/// [`task_local!`](crate::task_local).
///
/// ```
/// gmp_exec::task_local! {
///     static DEPTH: u32;
/// }
///
/// let inner = DEPTH.sync_scope(1, || {
///     DEPTH.sync_scope(DEPTH.get() + 1, || DEPTH.get())
/// });
/// assert_eq!(inner, 2);
/// ```
pub struct LocalKey<T: 'static> {
    name: &'static str,
    /// Interior mutability keeps every key at an address of its own: the
    /// compiler may not fold two such statics into one (rule 2 relies on
    /// the address). Never touched.
    _unique: AtomicU8,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(name: &'static str) -> LocalKey<T> {
        LocalKey {
            name,
            _unique: AtomicU8::new(0),
            _value: PhantomData,
        }
    }

    fn id(&'static self) -> *const () {
        (self as *const LocalKey<T>).cast()
    }

    /// Wraps `future` so that, whenever it is polled, this key's value is
    /// `value` (tokio's `LocalKey::scope`). The value lives in the returned
    /// future and goes with it wherever its G runs.
    ///
    /// ```
    /// gmp_exec::task_local! {
    ///     static TRACE: &'static str;
    /// }
    ///
    /// # gmp_exec::block_on(async {
    /// let out = TRACE
    ///     .scope("req-1", async {
    ///         let inner = gmp_exec::spawn(async { TRACE.try_with(|t| *t).ok() });
    ///         // A spawned task is a G of its own: it does not inherit the scope.
    ///         (TRACE.get(), inner.await.unwrap())
    ///     })
    ///     .await;
    /// assert_eq!(out, ("req-1", None));
    /// # });
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with this key's value set to `value` (tokio's
    /// `LocalKey::sync_scope`). Works in coroutine Gs too: if `f` parks the
    /// G (say in [`coro::wait`](crate::coro::wait)), the other Gs the M runs
    /// meanwhile do not see the value, and it is back when the G resumes.
    ///
    /// ```
    /// gmp_exec::task_local! {
    ///     static USER: &'static str;
    /// }
    ///
    /// let h = gmp_exec::coro::spawn(|| {
    ///     USER.sync_scope("ada", || {
    ///         gmp_exec::coro::yield_now();
    ///         USER.get()
    ///     })
    /// });
    /// assert_eq!(h.join().unwrap(), "ada");
    /// ```
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        enter(self.id(), (&value as *const T).cast(), f)
    }

    /// Calls `f` with a reference to this key's current value.
    ///
    /// # Panics
    ///
    /// If no scope of this key is active on the running G (see
    /// [`try_with`](Self::try_with)).
    ///
    /// ```
    /// gmp_exec::task_local! {
    ///     static NAME: String;
    /// }
    ///
    /// let len = NAME.sync_scope("gmp".to_string(), || NAME.with(|n| n.len()));
    /// assert_eq!(len, 3);
    /// ```
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "task-local `{}` read outside its scope: set it with `{}.scope(value, future)` \
                 (around the future) or `{}.sync_scope(value, || ..)` (around the code) first, \
                 or use try_with",
                self.name, self.name, self.name
            ),
        }
    }

    /// Calls `f` with a reference to this key's current value, or returns
    /// an [`AccessError`] if no scope of it is active.
    ///
    /// ```
    /// gmp_exec::task_local! {
    ///     static FLAG: bool;
    /// }
    ///
    /// assert!(FLAG.try_with(|f| *f).is_err());
    /// assert_eq!(FLAG.sync_scope(true, || FLAG.try_with(|f| *f)), Ok(true));
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        let value = find(self.id());
        if value.is_null() {
            return Err(AccessError { _private: () });
        }
        // SAFETY: the frame was linked for this key, so `value` points at a
        // `T` (rule 2), and the frame's scope is active, so the `T` is alive
        // and unborrowed mutably (rule 1) for as long as `f` runs inside it.
        Ok(f(unsafe { &*value.cast::<T>() }))
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of this key's current value (a copy for `Copy` types).
    ///
    /// # Panics
    ///
    /// Outside a scope of this key, as [`with`](Self::with).
    ///
    /// ```
    /// gmp_exec::task_local! {
    ///     static N: u8;
    /// }
    ///
    /// assert_eq!(N.sync_scope(4, || N.get()), 4);
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A task-local value was read outside any scope that sets it.
///
/// ```
/// gmp_exec::task_local! {
///     static X: u8;
/// }
/// let err = X.try_with(|_| ()).unwrap_err();
/// assert!(err.to_string().contains("not set"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessError")
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl std::error::Error for AccessError {}

pin_project! {
    /// A future with a task-local value set around each of its polls; see
    /// [`LocalKey::scope`]. Its inner future is dropped inside the scope too
    /// (when it completes, or with this future), so destructors see the value.
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        slot: Option<T>,
        #[pin]
        future: Option<F>,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(value), true) = (this.slot.as_ref(), this.future.is_some()) {
                let mut future = this.future;
                enter(this.key.id(), (value as *const T).cast(), || future.set(None));
            }
        }
    }
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the value out (tokio's `take_value`); the inner future, if not
    /// finished, is dropped first, inside the scope. `None` if already taken.
    ///
    /// ```
    /// gmp_exec::task_local! {
    ///     static V: Vec<u8>;
    /// }
    /// # gmp_exec::block_on(async {
    /// let mut fut = std::pin::pin!(V.scope(vec![1], async {}));
    /// (&mut fut).await;
    /// assert_eq!(fut.as_mut().take_value(), Some(vec![1]));
    /// assert_eq!(fut.as_mut().take_value(), None);
    /// # });
    /// ```
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        let this = self.project();
        if let (Some(value), true) = (this.slot.as_ref(), this.future.is_some()) {
            let mut future = this.future;
            enter(this.key.id(), (value as *const T).cast(), || {
                future.set(None)
            });
        }
        this.slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let value = this
            .slot
            .as_ref()
            .expect("a TaskLocalFuture polled after take_value");
        let mut future = this.future;
        enter(this.key.id(), (value as *const T).cast(), || {
            let fut = future
                .as_mut()
                .as_pin_mut()
                .expect("a TaskLocalFuture polled after it completed");
            let out = fut.poll(cx);
            if out.is_ready() {
                // Dropped inside the scope, as its destructor may read it.
                future.set(None);
            }
            out
        })
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("key", &self.key.name)
            .field("value", &self.slot)
            .finish_non_exhaustive()
    }
}
