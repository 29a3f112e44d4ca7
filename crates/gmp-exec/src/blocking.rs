//! `spawn_blocking`: a pool of threads for blocking calls, beside the Ms.
//!
//! These threads are not Ms: they hold no P, so a blocking closure never takes
//! a P away from the async Gs. The pool grows on demand (a queued closure with no
//! idle thread starts one, up to `max_blocking_threads`) and shrinks by itself
//! (a thread idle for `thread_keep_alive` exits). A blocking closure is a task
//! like any other (the same cell, the same `JoinHandle`), whose future runs the
//! closure in its only poll.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::config::{Config, ThreadHooks};
use crate::sync::{lock, Arc, Condvar, Mutex};
use crate::task::{Header, Notified, Schedule};

/// The pool; shared by the runtime and the pool's threads.
pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// Shutdown waits here for threads to exit.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    stack_size: Option<usize>,
    on_thread_start: Option<crate::config::ThreadHook>,
    on_thread_stop: Option<crate::config::ThreadHook>,
    /// Run around each thread's body (`config::ThreadHooks`).
    thread_hooks: ThreadHooks,
    me: std::sync::OnceLock<std::sync::Weak<BlockingPool>>,
    /// Blocking tasks run so far (a metric).
    pub(crate) completed: std::sync::atomic::AtomicU64,
}

struct PoolState {
    queue: VecDeque<Notified>,
    /// Threads waiting for work and not yet claimed by a `notify`.
    idle: usize,
    /// Wake-ups sent and not yet taken.
    notified: usize,
    threads: usize,
    /// Threads that have left `threads` and run their `on_thread_stop` hook.
    stopping: usize,
    next_id: usize,
    shutdown: bool,
    handles: Vec<std::thread::JoinHandle<()>>,
}

std::thread_local! {
    /// The pool this thread belongs to (null on other threads). Compared,
    /// never dereferenced.
    static POOL_OF_THREAD: std::cell::Cell<*const BlockingPool> =
        const { std::cell::Cell::new(std::ptr::null()) };
}

/// A closure as a future that runs it in its only poll.
pub(crate) struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task runs once");
        Poll::Ready(f())
    }
}

impl<F> BlockingTask<F> {
    pub(crate) fn new(f: F) -> Self {
        BlockingTask(Some(f))
    }
}

impl BlockingPool {
    pub(crate) fn new(config: &Config) -> BlockingPool {
        let name = config.name.clone();
        BlockingPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                idle: 0,
                notified: 0,
                threads: 0,
                stopping: 0,
                next_id: 0,
                shutdown: false,
                handles: Vec::new(),
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            max_threads: config.max_blocking_threads,
            keep_alive: config.keep_alive,
            thread_name: Arc::new(move |id| format!("{name}-blocking-{id}")),
            stack_size: config.stack_size,
            on_thread_start: config.on_thread_start.clone(),
            on_thread_stop: config.on_thread_stop.clone(),
            thread_hooks: config.thread_hooks.clone(),
            me: std::sync::OnceLock::new(),
            completed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Records the pool's own `Arc`, so it can hand clones to its threads.
    pub(crate) fn init(self: &Arc<Self>) {
        let _ = self.me.set(Arc::downgrade(self));
    }

    fn spawn_thread(&self, state: &mut PoolState) -> bool {
        let Some(pool) = self.me.get().and_then(|w| w.upgrade()) else {
            return false;
        };
        let id = state.next_id;
        let mut builder = std::thread::Builder::new().name((self.thread_name)(id));
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        match builder.spawn(self.thread_hooks.wrap(move || pool.thread_main())) {
            Ok(handle) => {
                state.next_id += 1;
                state.threads += 1;
                // Keep the list short: forget threads that already exited.
                state.handles.retain(|h| !h.is_finished());
                state.handles.push(handle);
                true
            }
            Err(e) => {
                eprintln!("gmp: could not start a blocking-pool thread: {e}");
                false
            }
        }
    }

    /// True if no closure is queued or running (the paused clock's
    /// auto-advance waits for the pool, as tokio's does).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn is_idle(&self) -> bool {
        let state = lock(&self.state);
        state.queue.is_empty() && state.threads == state.idle
    }

    /// True if the calling thread is one of this pool's threads (its
    /// shutdown would wait for the caller itself).
    pub(crate) fn is_own_thread(&self) -> bool {
        POOL_OF_THREAD.with(|p| std::ptr::eq(p.get(), self))
    }

    fn thread_main(&self) {
        POOL_OF_THREAD.with(|p| p.set(self));
        crate::config::run_hook(&self.on_thread_start, "on_thread_start");
        let mut state = lock(&self.state);
        'work: loop {
            while let Some(task) = state.queue.pop_front() {
                drop(state);
                let _ = task.run();
                self.completed.fetch_add(1, Relaxed);
                state = lock(&self.state);
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            // `None`: a keep-alive beyond what `Instant` holds (such as
            // `Duration::MAX`) keeps the thread forever. (A plain `+` panicked
            // here, after `idle` was counted: the next `schedule` woke a thread
            // that was gone, and shutdown waited for it forever.)
            let deadline = Instant::now().checked_add(self.keep_alive);
            loop {
                state = match deadline {
                    Some(deadline) => {
                        let wait = deadline.saturating_duration_since(Instant::now());
                        self.work
                            .wait_timeout(state, wait)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                    None => self.work.wait(state).unwrap_or_else(|e| e.into_inner()),
                };
                if state.notified > 0 {
                    // A `schedule` claimed this thread (and took it off `idle`).
                    state.notified -= 1;
                    continue 'work;
                }
                if state.shutdown || deadline.is_some_and(|d| Instant::now() >= d) {
                    // Shutting down, or idle for `keep_alive`: retire.
                    state.idle -= 1;
                    break 'work;
                }
            }
        }
        // No longer a thread work can be given to (a `schedule` meanwhile
        // starts another), but shutdown still waits for its hook.
        state.threads -= 1;
        state.stopping += 1;
        drop(state);
        crate::config::run_hook(&self.on_thread_stop, "on_thread_stop");
        let mut state = lock(&self.state);
        state.stopping -= 1;
        drop(state);
        self.exited.notify_all();
    }

    /// Stops the pool: queued closures that never started are dropped (their
    /// handles report cancellation); running ones are waited for, at most
    /// `timeout`.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let queued = {
            let mut state = lock(&self.state);
            state.shutdown = true;
            std::mem::take(&mut state.queue)
        };
        self.work.notify_all();
        drop(queued);
        // A timeout beyond what `Instant` holds waits as long as none.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = lock(&self.state);
        while state.threads > 0 || state.stopping > 0 {
            match deadline {
                None => state = self.exited.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return;
                    }
                    state = self
                        .exited
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Schedule for BlockingPool {
    // A blocking closure is not a G: `task::try_id` is `None` in it, and it
    // may block on a `JoinHandle`.
    const POLLS_GS: bool = false;

    fn schedule(&self, task: Notified) {
        let mut state = lock(&self.state);
        if state.shutdown {
            drop(state);
            // Never runs: dropping the notified reference cancels it.
            drop(task);
            return;
        }
        state.queue.push_back(task);
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.work.notify_one();
        } else if state.threads < self.max_threads && !self.spawn_thread(&mut state) {
            // No thread could be started; a running thread will get to it.
        }
    }

    fn yield_now(&self, task: Notified) {
        self.schedule(task)
    }

    fn release(&self, _task: &Header) -> usize {
        // Blocking tasks are not registered: they cannot park on a waker, and
        // shutdown reaches the queued ones through the queue.
        0
    }
}
