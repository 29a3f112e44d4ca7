//! [`JoinSet`]: a group of tasks joined in the order they finish (tokio's
//! `task::JoinSet`).
//!
//! # How it waits
//!
//! A set holds the [`JoinHandle`]s of its tasks. Polling every handle on each
//! `join_next` would cost O(n) per wake-up, so each handle is polled with a
//! waker of its own (`EntryWaker`): when a task finishes, its completion
//! wakes that waker, which queues the entry's key on the set's ready list and
//! wakes the task waiting in `join_next`. `join_next` then polls only the
//! queued entries. A new entry starts queued: its handle must be polled once
//! to record the waker.
//!
//! An entry's `queued` flag keeps it on the list at most once; `join_next`
//! clears the flag *before* polling the handle, so a completion that races
//! with the poll queues the entry again instead of being lost.
//!
//! The set uses only the public task API (spawn, `JoinHandle`), so a set can
//! hold tasks of several runtimes and outlive them: a runtime that shuts down
//! cancels its tasks, and their entries come out of `join_next` as cancelled
//! [`JoinError`]s.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Release};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::task::{AbortHandle, Id, JoinError, JoinHandle};
use crate::Handle;

/// A set of tasks spawned on gmp, joined in the order they complete.
///
/// Dropping the set aborts every task still in it; [`detach_all`](Self::detach_all)
/// lets them run on instead.
///
/// ```
/// # gmp_exec::block_on(async {
/// use gmp_exec::task::JoinSet;
///
/// let mut set = JoinSet::new();
/// for i in 0..10u64 {
///     set.spawn(async move { i * i });
/// }
/// let mut sum = 0;
/// while let Some(res) = set.join_next().await {
///     sum += res.unwrap();
/// }
/// assert_eq!(sum, 285);
/// assert!(set.is_empty());
/// # });
/// ```
pub struct JoinSet<T> {
    entries: HashMap<u64, Entry<T>>,
    next_key: u64,
    ready: Arc<ReadyList>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
}

/// The keys of entries whose task may have finished, and the waker of the
/// task in `join_next`.
#[derive(Default)]
struct ReadyList {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    keys: VecDeque<u64>,
    waiter: Option<Waker>,
}

impl ReadyList {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReadyInner> {
        // Nothing panics while holding the lock; a poisoned one is still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The waker an entry's handle is polled with.
struct EntryWaker {
    key: u64,
    /// On the ready list (or about to be put there).
    queued: AtomicBool,
    ready: Arc<ReadyList>,
}

impl EntryWaker {
    /// Queues the entry once; true if this call queued it.
    fn queue(&self) -> bool {
        // AcqRel: pairs with the Release clear in `poll_join_next`, so the
        // clear and this set are ordered: either we see the clear (and queue
        // again) or the poll that cleared it sees the task's completion.
        if self.queued.swap(true, AcqRel) {
            return false;
        }
        self.ready.lock().keys.push_back(self.key);
        true
    }
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queue() {
            let waiter = self.ready.lock().waiter.take();
            if let Some(w) = waiter {
                w.wake();
            }
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set = gmp_exec::task::JoinSet::<()>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: HashMap::new(),
            next_key: 0,
            ready: Arc::default(),
        }
    }

    /// The number of tasks in the set (finished ones not yet joined count).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn(async { 1 });
    /// set.spawn(async { 2 });
    /// assert_eq!(set.len(), 2);
    /// set.join_next().await;
    /// assert_eq!(set.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the set holds no task.
    ///
    /// ```
    /// let set = gmp_exec::task::JoinSet::<u8>::default();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a task by its handle; returns an [`AbortHandle`] for it.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let key = self.next_key;
        self.next_key += 1;
        let waker = Arc::new(EntryWaker {
            key,
            queued: AtomicBool::new(false),
            ready: self.ready.clone(),
        });
        // Polled once by the next `join_next`, which records its waker.
        waker.queue();
        self.entries.insert(key, Entry { handle, waker });
        abort
    }

    /// Aborts every task in the set. They stay in it: `join_next` reports
    /// each as cancelled (or its output, if it finished first).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// for _ in 0..3 {
    ///     set.spawn(std::future::pending::<()>());
    /// }
    /// set.abort_all();
    /// while let Some(res) = set.join_next().await {
    ///     assert!(res.unwrap_err().is_cancelled());
    /// }
    /// # });
    /// ```
    pub fn abort_all(&mut self) {
        for entry in self.entries.values() {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on,
    /// and their outputs are dropped.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (tx, rx) = futures::channel::oneshot::channel();
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn(async move { tx.send(7).unwrap() });
    /// set.detach_all();
    /// assert!(set.is_empty());
    /// drop(set); // does not abort the detached task
    /// assert_eq!(rx.await.unwrap(), 7);
    /// # });
    /// ```
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.ready.lock().keys.clear();
    }

    /// Waits for the next task to finish and returns its output, or `None`
    /// if the set is empty. A task that panicked or was aborted gives a
    /// [`JoinError`].
    ///
    /// Cancel safe: dropping the future loses no output (the finished task
    /// stays in the set).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn(async { panic!("boom") });
    /// let err = set.join_next().await.unwrap().unwrap_err();
    /// assert!(err.is_panic());
    /// assert!(set.join_next().await.is_none());
    /// # });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx))
            .await
            .map(|r| r.map(|(_, t)| t))
    }

    /// Like [`join_next`](Self::join_next), with the task's [`Id`].
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// let id = set.spawn(async { 3 }).id();
    /// let (got, out) = set.join_next_with_id().await.unwrap().unwrap();
    /// assert_eq!((got, out), (id, 3));
    /// # });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The output of a task that has already finished, without waiting:
    /// `None` if none has (or the set is empty).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// assert!(set.try_join_next().is_none());
    /// let (tx, rx) = futures::channel::oneshot::channel::<()>();
    /// set.spawn(async move { rx.await.unwrap(); 5 });
    /// assert!(set.try_join_next().is_none(), "still waiting");
    /// tx.send(()).unwrap();
    /// loop {
    ///     if let Some(res) = set.try_join_next() {
    ///         assert_eq!(res.unwrap(), 5);
    ///         break;
    ///     }
    ///     gmp_exec::yield_now().await;
    /// }
    /// # });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_ready_entries(&mut cx, false) {
            Poll::Ready(Some(r)) => Some(r.map(|(_, t)| t)),
            _ => None,
        }
    }

    /// Aborts every task and waits until they have all stopped (their
    /// outputs and errors are dropped).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn(std::future::pending::<()>());
    /// set.shutdown().await;
    /// assert!(set.is_empty());
    /// # });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they
    /// finished. If one panicked, the panic is resumed here (the other tasks
    /// are aborted when the set drops); a cancelled task is skipped.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn(async { 1 });
    /// set.spawn(async { 1 });
    /// assert_eq!(set.join_all().await, [1, 1]);
    /// # });
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(t) => out.push(t),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {}
            }
        }
        out
    }

    /// Polls for the next finished task (see [`join_next`](Self::join_next)):
    /// `Ready(None)` if the set is empty; `Pending` with `cx`'s waker
    /// recorded if no task has finished.
    pub fn poll_join_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        self.poll_ready_entries(cx, true)
    }

    fn poll_ready_entries(
        &mut self,
        cx: &mut Context<'_>,
        register: bool,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        let mut budget = {
            let mut ready = self.ready.lock();
            if register {
                // Recorded before the list is read: a completion after the
                // read finds the waker and wakes us.
                match &ready.waiter {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => ready.waiter = Some(cx.waker().clone()),
                }
            }
            ready.keys.len()
        };
        // Only the entries queued when we started: an entry whose handle
        // returns `Pending` for want of cooperative budget queues itself
        // again at once, and must not keep this loop going.
        while budget > 0 {
            budget -= 1;
            let Some(key) = self.ready.lock().keys.pop_front() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&key) else {
                continue; // detached meanwhile
            };
            // Release: pairs with `queue`'s swap (see there).
            entry.waker.queued.store(false, Release);
            let waker = Waker::from(entry.waker.clone());
            let mut entry_cx = Context::from_waker(&waker);
            if let Poll::Ready(res) = Pin::new(&mut entry.handle).poll(&mut entry_cx) {
                let entry = self
                    .entries
                    .remove(&key)
                    .expect("the entry was just polled");
                let id = entry.handle.id();
                return Poll::Ready(Some(res.map(|t| (id, t))));
            }
        }
        if !self.ready.lock().keys.is_empty() && register {
            // Entries left for lack of budget: come back after the others.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime (see [`crate::spawn`]) into
    /// the set.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// let aborter = set.spawn(std::future::pending::<()>());
    /// aborter.abort();
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns `future` on the runtime of `handle` into the set.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn_on(async { gmp_exec::Handle::current().procs() }, rt.handle());
    /// let procs = rt.block_on(set.join_next()).unwrap().unwrap();
    /// assert_eq!(procs, 1);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Runs the blocking closure `f` on the current runtime's blocking pool
    /// (see [`crate::spawn_blocking`]) as a task of the set.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn_blocking(|| 2 + 2);
    /// assert_eq!(set.join_next().await.unwrap().unwrap(), 4);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(crate::spawn_blocking(f))
    }

    /// Runs `f` on the blocking pool of `handle`'s runtime as a task of the
    /// set.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let mut set = gmp_exec::task::JoinSet::new();
    /// set.spawn_blocking_on(|| "blocking", rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), "blocking");
    /// ```
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(handle.spawn_blocking(f))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns each future into the set.
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for fut in iter {
            self.spawn(fut);
        }
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns each future into a new set.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let set: gmp_exec::task::JoinSet<u32> = (1..=3u32).map(|i| async move { i }).collect();
    /// let mut all = set.join_all().await;
    /// all.sort();
    /// assert_eq!(all, [1, 2, 3]);
    /// # });
    /// ```
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}
