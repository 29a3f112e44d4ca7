//! The settings a runtime is built with, and the limits of the encodings
//! that record Ps and Ms in a task's header. Below both the runtime (which
//! fills a [`Config`] from its `Builder`) and the scheduler and the task code
//! (which read it), so that none of them imports another for it.

use std::time::Duration;

use crate::sync::Arc;

/// The most Ps a runtime may have: [`Builder::procs`](crate::Builder::procs) beyond it is an error,
/// and a larger `GMP_MAXPROCS` or machine parallelism is clamped to it (as Go
/// clamped `GOMAXPROCS` to `_MaxGomaxprocs`, 1024, from Go 1.5 to 1.9).
///
/// A task's header records its registry (a P's index, or `procs` for the
/// registry of Gs spawned from outside) in 16 bits, so the encoding would hold
/// 65 534 Ps; the cap is Go's, far lower, because every P costs memory and
/// every searching M looks at every P: 100 000 Ps took a minute and 3.3 GB to
/// build. A machine with more CPUs than this runs `MAX_PROCS` Ps by default.
///
/// ```
/// use gmp_exec::{Runtime, MAX_PROCS};
/// assert_eq!(MAX_PROCS, 1024);
/// let err = Runtime::builder().procs(MAX_PROCS + 1).build().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub const MAX_PROCS: usize = 1024;

/// The most M threads a runtime may start ([`Builder::max_threads`](crate::Builder::max_threads); beyond
/// it is an error). A coroutine G records the M it is bound to in 16 bits of
/// its header (the M's id + 1; 0 means unbound), so M ids stay below this.
///
/// ```
/// use gmp_exec::{Runtime, MAX_THREADS};
/// assert_eq!(MAX_THREADS, 65_535);
/// assert!(Runtime::builder().max_threads(MAX_THREADS + 1).build().is_err());
/// ```
pub const MAX_THREADS: usize = 65_535;

/// The settings a runtime was built with.
#[derive(Clone)]
pub(crate) struct Config {
    /// Ps at build time; `set_procs` changes the live count.
    pub(crate) procs: usize,
    /// The most Ps `set_procs` may ask for: every P up to it is allocated at
    /// build (their run queues are read without a lock, so they never move).
    pub(crate) max_procs: usize,
    pub(crate) name: String,
    pub(crate) thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) max_threads: usize,
    pub(crate) max_blocking_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) stack_size: Option<usize>,
    pub(crate) abort_on_panic: bool,
    pub(crate) sysmon: bool,
    pub(crate) retake_after: Option<Duration>,
    pub(crate) watchdog_after: Option<Duration>,
    pub(crate) metrics: bool,
    pub(crate) schedtrace: Option<Duration>,
    pub(crate) scheddetail: bool,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
    /// Run around every thread the runtime starts for Gs and blocking calls,
    /// and around every `block_on`.
    pub(crate) thread_hooks: ThreadHooks,
    /// The tokio runtime of the compatibility mode, if it is on.
    #[cfg(feature = "tokio-compat")]
    pub(crate) tokio: Option<std::sync::Arc<crate::tokio_compat::TokioCompat>>,
}

impl Config {
    /// How long an M with coroutines of its own to run keeps its P while
    /// another M's coroutines wait for one (`Worker::locked_m_may_want_p`):
    /// the preemption slice, or Go's 10 ms when preemption is off.
    pub(crate) fn time_slice(&self) -> Duration {
        self.retake_after.unwrap_or(Duration::from_millis(10))
    }
}

/// A `Builder::on_thread_start`/`on_thread_stop` callback.
pub(crate) type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// Runs a thread hook on the thread it is for. A panic in it is reported and
/// contained: it must not take an M (or a pool thread) down with it.
pub(crate) fn run_hook(hook: &Option<ThreadHook>, which: &str) {
    if let Some(hook) = hook {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook())).is_err() {
            eprintln!("gmp: the runtime's {which} hook panicked (the thread goes on)");
        }
    }
}

/// One wrapper: code that runs around a thread's body (or a `block_on`), and
/// calls the body it is handed exactly once, on the same thread. A wrapper
/// that sets a thread-local context for the body's whole life (the tokio
/// compatibility mode enters its tokio handle) keeps its guard on its own
/// stack frame, which is why it wraps the body rather than being called
/// before it.
pub(crate) type ThreadWrap = std::sync::Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// The wrappers every thread a runtime starts runs inside: its Ms (`new_m` in
/// `sched/m.rs`), its blocking-pool threads (`BlockingPool::spawn_thread`),
/// and every `Handle::block_on`. Unlike the user's `on_thread_start` and
/// `on_thread_stop` callbacks ([`ThreadHook`], which run inside them), a
/// wrapper can hold a guard for the body's whole life, and also wraps
/// `block_on`; the crate's own modes use them (the tokio compatibility
/// mode). Sysmon's thread runs no user code and no wrappers. Each of those
/// places makes one call, so the thread code stays free of what the
/// wrappers are for.
#[derive(Clone, Default)]
pub(crate) struct ThreadHooks(Vec<ThreadWrap>);

impl ThreadHooks {
    /// Adds a wrapper, inside the ones already there.
    #[cfg_attr(not(feature = "tokio-compat"), allow(dead_code))]
    pub(crate) fn push(&mut self, hook: ThreadWrap) {
        self.0.push(hook);
    }

    /// Runs `body` on this thread inside every wrapper (the first outermost).
    pub(crate) fn run<R>(&self, body: impl FnOnce() -> R) -> R {
        run_inside(&self.0, body)
    }

    /// `body` made into a thread's main function that runs inside the
    /// wrappers.
    pub(crate) fn wrap<F>(&self, body: F) -> impl FnOnce() + Send + 'static
    where
        F: FnOnce() + Send + 'static,
    {
        let hooks = self.clone();
        move || hooks.run(body)
    }
}

fn run_inside<R>(hooks: &[ThreadWrap], body: impl FnOnce() -> R) -> R {
    let Some((outer, inner)) = hooks.split_first() else {
        return body();
    };
    let mut body = Some(body);
    let mut out = None;
    outer(&mut || {
        if let Some(body) = body.take() {
            out = Some(run_inside(inner, body));
        }
    });
    out.expect("gmp: a thread wrapper returned without running the thread's body")
}
