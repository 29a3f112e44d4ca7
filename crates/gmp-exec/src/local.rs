//! `!Send` futures: [`LocalSet`] and [`spawn_local`] (tokio's names).
//!
//! # Where local tasks run
//!
//! A G may run on any M (async Gs are stolen freely), so a future that is not
//! `Send` cannot be a G. A [`LocalSet`] is a small executor of its own whose
//! tasks run only where the set is driven, which is always one thread:
//!
//! * [`LocalSet::block_on`] (or [`Runtime::block_on`](crate::Runtime::block_on)
//!   of [`run_until`](LocalSet::run_until)): the calling thread, as in a tokio
//!   current-thread runtime — what `#[gmp::main(flavor = "current_thread")]`
//!   sets up;
//! * a coroutine G (`gmp::go!`) that waits on `run_until` with
//!   [`coro::wait`](crate::coro::wait): a started coroutine never leaves its M
//!   (see `coro`), so its local tasks are pinned to that M.
//!
//! The set is neither `Send` nor `Sync`, so it cannot reach a migrating G.
//!
//! # How it runs
//!
//! The set keeps its futures in a table owned by its thread. Each task is
//! polled with a waker of its own (`Send + Sync`: a timer or socket may wake
//! it from another M) that queues the task's key and wakes whoever drives
//! the set. Each poll of the driving future runs the queued tasks, at most
//! [`BUDGET`] of them, then yields, so the driver's own future and the rest
//! of the program get their turn. While a local task is polled the set is the
//! *current* one, held as a task-local (so a coroutine parked inside a local
//! task does not leave it current for the other Gs of its M), and
//! [`spawn_local`] adds to it; outside, `spawn_local` panics and says what
//! to do.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::AcqRel};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::task::{Id, JoinError};

/// Local tasks one poll of the driver runs before it yields.
const BUDGET: usize = 61;

crate::task_local! {
    /// The set being driven on this thread (see the module docs).
    static CURRENT: Rc<Inner>;
}

type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// The set's state, owned by its thread.
struct Inner {
    tasks: RefCell<HashMap<u64, LocalFuture>>,
    next_key: std::cell::Cell<u64>,
    ready: Arc<Ready>,
}

/// The queue of woken tasks and the driver's waker: shared with the wakers,
/// which may run on any thread.
#[derive(Default)]
struct Ready {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    keys: VecDeque<u64>,
    driver: Option<Waker>,
}

impl Ready {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReadyInner> {
        // Nothing panics under this lock; a poisoned one is still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A local task's waker.
struct TaskWaker {
    key: u64,
    /// On the queue (or about to be).
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // AcqRel: the first of racing wakes (from any threads) queues the
        // task; the others see the flag and do nothing.
        if self.queued.swap(true, AcqRel) {
            return;
        }
        let driver = {
            let mut ready = self.ready.lock();
            ready.keys.push_back(self.key);
            ready.driver.take()
        };
        if let Some(w) = driver {
            w.wake();
        }
    }
}

/// An executor for `!Send` futures on one thread (tokio's `LocalSet`).
///
/// A G may run on any M, so a future that is not `Send` cannot be one. A
/// set's tasks run only where the set is driven, which is always one thread:
/// [`block_on`](Self::block_on) (the calling thread, as in a tokio
/// current-thread runtime; `#[gmp::main(flavor = "current_thread")]` sets
/// that up), or a coroutine G waiting on [`run_until`](Self::run_until) with
/// [`coro::wait`](crate::coro::wait) (a started coroutine never leaves its
/// M, so neither do its set's tasks). Each poll of the driver runs at most
/// 61 queued tasks, then yields. While its tasks run, the set is the current
/// one and [`spawn_local`] adds to it. Dropping the set drops its tasks;
/// their handles then report cancellation.
///
/// ```
/// use std::rc::Rc;
/// use gmp_exec::task::LocalSet;
///
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let local = LocalSet::new();
/// let shared = Rc::new(41); // not Send
/// let out = local.block_on(&rt, async move {
///     let s = shared.clone();
///     let h = gmp_exec::task::spawn_local(async move {
///         gmp_exec::yield_now().await;
///         *s + 1
///     });
///     h.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
///
/// Neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(gmp_exec::task::LocalSet::new());
/// ```
pub struct LocalSet {
    inner: Rc<Inner>,
    _not_send: PhantomData<*const ()>,
}

impl Default for LocalSet {
    fn default() -> Self {
        LocalSet::new()
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            inner: Rc::new(Inner {
                tasks: RefCell::new(HashMap::new()),
                next_key: std::cell::Cell::new(0),
                ready: Arc::default(),
            }),
            _not_send: PhantomData,
        }
    }

    /// Adds `future` to the set; it runs when the set is driven.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let local = gmp_exec::task::LocalSet::new();
    /// let h = local.spawn_local(async { std::rc::Rc::new(7) });
    /// let v = local.block_on(&rt, h).unwrap();
    /// assert_eq!(*v, 7);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> LocalJoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_into(&self.inner, future)
    }

    /// Runs `future` on the calling thread with `rt` as the current runtime,
    /// driving the set's tasks meanwhile (tokio's `LocalSet::block_on`).
    ///
    /// # Panics
    ///
    /// As [`Runtime::block_on`](crate::Runtime::block_on): from one of a
    /// runtime's Ms or inside another `block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &crate::Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Runs `future` to completion, driving the set's tasks meanwhile: local
    /// tasks (and `spawn_local` calls) work inside it. Await it from
    /// `block_on`, or from a coroutine G with `coro::wait`.
    ///
    /// ```
    /// let local = gmp_exec::task::LocalSet::new();
    /// let h = gmp_exec::coro::spawn(move || {
    ///     // A coroutine stays on its M: the set's tasks do too.
    ///     let local = gmp_exec::task::LocalSet::new();
    ///     gmp_exec::coro::wait(local.run_until(async {
    ///         gmp_exec::task::spawn_local(async { std::rc::Rc::new("local") })
    ///             .await
    ///             .map(|rc| *rc)
    ///             .unwrap()
    ///     }))
    /// });
    /// assert_eq!(h.join().unwrap(), "local");
    /// # drop(local);
    /// ```
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| {
            // The driver's own future first, inside the set's context.
            let inner = self.inner.clone();
            if let Poll::Ready(out) = CURRENT.sync_scope(inner, || future.as_mut().poll(cx)) {
                return Poll::Ready(out);
            }
            if self.run_ready(cx) {
                // Tasks left for lack of budget: come back after the others.
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }

    /// Runs the queued tasks (at most [`BUDGET`]), with `cx`'s waker
    /// recorded as the driver's. True if some are still queued.
    fn run_ready(&self, cx: &mut Context<'_>) -> bool {
        {
            let mut ready = self.inner.ready.lock();
            match &ready.driver {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => ready.driver = Some(cx.waker().clone()),
            }
        }
        for _ in 0..BUDGET {
            let Some(key) = self.inner.ready.lock().keys.pop_front() else {
                return false;
            };
            self.poll_task(key);
        }
        !self.inner.ready.lock().keys.is_empty()
    }

    fn poll_task(&self, key: u64) {
        // Taken out of the table while polled, so the task may spawn into it.
        let Some(mut task) = self.inner.tasks.borrow_mut().remove(&key) else {
            return; // finished, or the set is dropping
        };
        // A fresh waker per poll: it queues the task at most once, however
        // often it is woken (a task queued twice is polled once more, which
        // a future allows).
        let waker = Waker::from(Arc::new(TaskWaker {
            key,
            queued: AtomicBool::new(false),
            ready: self.inner.ready.clone(),
        }));
        let mut cx = Context::from_waker(&waker);
        let inner = self.inner.clone();
        let done = CURRENT.sync_scope(inner, || task.as_mut().poll(&mut cx).is_ready());
        if !done {
            self.inner.tasks.borrow_mut().insert(key, task);
        }
    }

    /// The number of tasks in the set (not yet finished).
    pub fn len(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    /// True if the set holds no unfinished task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs until every task of the set has finished (tokio's `impl Future for
/// LocalSet`).
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let local = gmp_exec::task::LocalSet::new();
/// let seen = std::rc::Rc::new(std::cell::Cell::new(0));
/// for _ in 0..3 {
///     let seen = seen.clone();
///     local.spawn_local(async move { seen.set(seen.get() + 1) });
/// }
/// rt.block_on(local);
/// assert_eq!(seen.get(), 3);
/// ```
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.run_ready(cx) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // The futures are dropped inside the set's context (their destructors
        // may spawn_local or read it), one at a time, outside the borrow.
        let tasks: Vec<_> = self.inner.tasks.borrow_mut().drain().collect();
        let inner = self.inner.clone();
        CURRENT.sync_scope(inner, || drop(tasks));
        self.inner.ready.lock().keys.clear();
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.len())
            .finish()
    }
}

/// Spawns a `!Send` future on the current [`LocalSet`] (tokio's
/// `task::spawn_local`): the one being driven on this thread.
///
/// # Panics
///
/// Outside a `LocalSet`, with a message that says how to get one.
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let out = gmp_exec::task::LocalSet::new().block_on(&rt, async {
///     let h = gmp_exec::task::spawn_local(async { std::rc::Rc::new(5) });
///     *h.await.unwrap()
/// });
/// assert_eq!(out, 5);
/// ```
///
/// ```should_panic
/// // A plain thread, no LocalSet: panics, naming what to do.
/// let _ = gmp_exec::task::spawn_local(async {});
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> LocalJoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match CURRENT.try_with(|inner| inner.clone()) {
        Ok(inner) => spawn_into(&inner, future),
        Err(_) => panic!(
            "spawn_local called outside a LocalSet: a !Send task needs a thread that stays put; \
             run the code inside LocalSet::run_until / LocalSet::block_on (or a \
             #[gmp::main(flavor = \"current_thread\")] / #[gmp::test(flavor = \"current_thread\")] \
             function), or use gmp::spawn for a Send future"
        ),
    }
}

fn spawn_into<F>(inner: &Rc<Inner>, future: F) -> LocalJoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let id = crate::context::with_current_shared(|shared| shared.goids.next_id());
    let id = Id(std::num::NonZeroU64::new(id).expect("task ids are never zero"));
    let slot: Rc<RefCell<Slot<F::Output>>> = Rc::new(RefCell::new(Slot {
        done: false,
        output: None,
        waiter: None,
        aborted: false,
    }));
    let out = slot.clone();
    // A task dropped before it finished (its set dropped, polled or not)
    // tells its handle it was cancelled: the guard is captured, so it drops
    // with the future.
    let cancelled = Cancelled {
        out: out.clone(),
        id,
    };
    let task = async move {
        let _cancelled = cancelled;
        let mut future = std::pin::pin!(future);
        let result = std::future::poll_fn(|cx| {
            if out.borrow().aborted {
                return Poll::Ready(Err(JoinError::cancelled(id)));
            }
            match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                Ok(Poll::Pending) => Poll::Pending,
                Err(payload) => Poll::Ready(Err(JoinError::panic(id, payload))),
            }
        })
        .await;
        let waiter = {
            let mut s = out.borrow_mut();
            s.output = Some(result);
            s.done = true;
            s.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    };
    let key = inner.next_key.get();
    inner.next_key.set(key + 1);
    inner.tasks.borrow_mut().insert(key, Box::pin(task));
    let waker = Arc::new(TaskWaker {
        key,
        queued: AtomicBool::new(false),
        ready: inner.ready.clone(),
    });
    // Queued for its first poll (and the driver woken).
    waker.wake_by_ref();
    LocalJoinHandle {
        slot,
        abort: Abort {
            key,
            ready: inner.ready.clone(),
        },
        id,
    }
}

/// Completes a handle with a cancellation if its task is dropped unfinished.
struct Cancelled<T> {
    out: Rc<RefCell<Slot<T>>>,
    id: Id,
}

impl<T> Drop for Cancelled<T> {
    fn drop(&mut self) {
        let waiter = {
            let Ok(mut s) = self.out.try_borrow_mut() else {
                return;
            };
            if s.output.is_some() || s.done {
                return;
            }
            s.output = Some(Err(JoinError::cancelled(self.id)));
            s.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

struct Slot<T> {
    /// The output was stored (and may have been taken by the handle).
    done: bool,
    output: Option<Result<T, JoinError>>,
    waiter: Option<Waker>,
    aborted: bool,
}

/// Wakes an aborted task so its next poll drops it.
struct Abort {
    key: u64,
    ready: Arc<Ready>,
}

/// The handle of a task spawned with [`spawn_local`]: await it for the
/// output, as a [`JoinHandle`](crate::JoinHandle) (tokio returns its
/// `JoinHandle` here; gmp's local tasks live outside the task cells, so
/// their handle is a type of its own with the same methods). Not `Send`.
pub struct LocalJoinHandle<T> {
    slot: Rc<RefCell<Slot<T>>>,
    abort: Abort,
    id: Id,
}

impl<T> LocalJoinHandle<T> {
    /// Asks the task to stop: it is dropped at its next poll, and awaiting
    /// this handle gives a cancelled [`JoinError`] (unless it finished first).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// gmp_exec::task::LocalSet::new().block_on(&rt, async {
    ///     let h = gmp_exec::task::spawn_local(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.slot.borrow_mut().aborted = true;
        TaskWaker {
            key: self.abort.key,
            queued: AtomicBool::new(false),
            ready: self.abort.ready.clone(),
        }
        .queue_once();
    }

    /// True once the task has finished (or been cancelled).
    pub fn is_finished(&self) -> bool {
        let s = self.slot.borrow();
        s.done || s.output.is_some()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl TaskWaker {
    /// Queues the task without an `Arc` (for `abort`).
    fn queue_once(&self) {
        let driver = {
            let mut ready = self.ready.lock();
            ready.keys.push_back(self.key);
            ready.driver.take()
        };
        if let Some(w) = driver {
            w.wake();
        }
    }
}

impl<T> Future for LocalJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.borrow_mut();
        match slot.output.take() {
            Some(out) => Poll::Ready(out),
            None => {
                slot.waiter = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for LocalJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalJoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
