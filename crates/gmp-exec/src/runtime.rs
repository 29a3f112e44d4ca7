//! `Builder`, `Runtime` and `Handle`: tokio's shapes over Go's scheduler.

use std::fmt;
use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::panic::Location;
use std::sync::OnceLock;
use std::time::Duration;

use crate::blocking::BlockingTask;
use crate::config::{Config, ThreadHook};
pub use crate::config::{MAX_PROCS, MAX_THREADS};
use crate::context;
use crate::debug;
use crate::sched::worker::Worker;
use crate::sched::Shared;
use crate::sync::Arc;
use crate::task::{self, JoinHandle};

/// The environment variable that sets the default number of Ps (Go's
/// `GOMAXPROCS`).
///
/// ```
/// assert_eq!(gmp_exec::MAXPROCS_ENV, "GMP_MAXPROCS");
/// std::env::set_var(gmp_exec::MAXPROCS_ENV, "3");
/// let rt = gmp_exec::Runtime::new().unwrap();
/// assert_eq!(rt.procs(), 3);
/// ```
pub const MAXPROCS_ENV: &str = "GMP_MAXPROCS";

/// What happens when a task panics. Either way the panic is caught and its
/// `JoinHandle` reports it.
///
/// ```
/// let rt = gmp_exec::Runtime::builder()
///     .procs(1)
///     .unhandled_panic(gmp_exec::UnhandledPanic::Ignore)
///     .build()
///     .unwrap();
/// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// // The runtime keeps going.
/// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// Keep running the other tasks (tokio's default).
    #[default]
    Ignore,
    /// Abort the process, as an unrecovered panic in a goroutine does in Go.
    Abort,
}

/// Builds a [`Runtime`] with custom settings.
///
/// ```
/// let rt = gmp_exec::Runtime::builder()
///     .procs(2)
///     .thread_name("my-app")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
#[must_use]
pub struct Builder {
    procs: Option<usize>,
    max_procs: Option<usize>,
    name: String,
    thread_name: Option<Arc<dyn Fn(usize) -> String + Send + Sync>>,
    max_threads: usize,
    max_blocking_threads: usize,
    keep_alive: Duration,
    stack_size: Option<usize>,
    unhandled_panic: UnhandledPanic,
    sysmon: bool,
    retake_after: Option<Duration>,
    watchdog_after: Option<Duration>,
    metrics: bool,
    schedtrace: Option<Option<Duration>>,
    scheddetail: Option<bool>,
    on_thread_start: Option<ThreadHook>,
    on_thread_stop: Option<ThreadHook>,
    start_paused: bool,
    #[cfg(feature = "tokio-compat")]
    tokio_compat: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: as many Ps as the machine has parallelism
    /// (or `GMP_MAXPROCS`), threads named `gmp-m0`, `gmp-m1`, …
    ///
    /// ```
    /// let rt = gmp_exec::Builder::new().procs(1).build().unwrap();
    /// assert_eq!(rt.block_on(async { "built" }), "built");
    /// ```
    pub fn new() -> Builder {
        Builder {
            procs: None,
            max_procs: None,
            name: "gmp".to_string(),
            thread_name: None,
            max_threads: 10_000,
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            stack_size: None,
            unhandled_panic: UnhandledPanic::Ignore,
            sysmon: true,
            retake_after: Some(Duration::from_millis(10)),
            watchdog_after: Some(Duration::from_millis(100)),
            metrics: true,
            schedtrace: None,
            scheddetail: None,
            on_thread_start: None,
            on_thread_stop: None,
            start_paused: false,
            #[cfg(feature = "tokio-compat")]
            tokio_compat: false,
        }
    }

    /// Starts the runtime with its clock paused (tokio's `start_paused`;
    /// see [`time::pause`](crate::time::pause)): for tests of timeouts
    /// and intervals that should not wait for real time.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_exec::Runtime::builder().procs(1).start_paused(true).build().unwrap();
    /// let waited = rt.block_on(async {
    ///     let start = std::time::Instant::now();
    ///     // An hour on the paused clock: it jumps, as nothing else runs.
    ///     gmp_exec::time::sleep(Duration::from_secs(3600)).await;
    ///     start.elapsed()
    /// });
    /// assert!(waited < Duration::from_secs(60));
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self
    }

    /// Runs `f` on each new thread of the runtime — its Ms and its
    /// blocking-pool threads — before it takes any work (tokio's
    /// `on_thread_start`): to set a thread-local, a CPU affinity, a tracing
    /// subscriber. A panic in `f` is reported and the thread goes on.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let count = started.clone();
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(2)
    ///     .on_thread_start(move || {
    ///         count.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// // `build` returns once its Ms run: each ran the hook first.
    /// assert!(started.load(Ordering::SeqCst) >= 2);
    /// # drop(rt);
    /// ```
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each thread of the runtime (Ms and blocking-pool threads)
    /// as it exits: an idle pool thread retiring, an M leaving, every thread
    /// at shutdown (tokio's `on_thread_stop`). Shutdown waits for it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (s, t) = (started.clone(), stopped.clone());
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .on_thread_start(move || { s.fetch_add(1, Ordering::SeqCst); })
    ///     .on_thread_stop(move || { t.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap(); // one pool thread too
    /// drop(rt);
    /// assert_eq!(started.load(Ordering::SeqCst), stopped.load(Ordering::SeqCst));
    /// ```
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// The number of Ps: how many Gs run at once (Go's `GOMAXPROCS`). Must be
    /// from 1 to [`MAX_PROCS`]; `build` reports others as errors.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(3).build().unwrap();
    /// assert_eq!(rt.procs(), 3);
    /// assert!(gmp_exec::Runtime::builder().procs(0).build().is_err());
    /// assert!(gmp_exec::Runtime::builder().procs(100_000).build().is_err());
    /// ```
    pub fn procs(mut self, procs: usize) -> Self {
        self.procs = Some(procs);
        self
    }

    /// The most Ps [`Runtime::set_procs`] may set later (Go's `GOMAXPROCS`
    /// may change at run time too). Every P up to this count is allocated
    /// when the runtime is built, a few KiB each; by default, the larger of
    /// `procs` and the machine's parallelism. At least `procs`, at most
    /// [`MAX_PROCS`].
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).max_procs(4).build().unwrap();
    /// assert_eq!(rt.set_procs(4).unwrap(), 1); // the previous count
    /// assert_eq!(rt.procs(), 4);
    /// assert!(rt.set_procs(5).is_err()); // beyond max_procs
    /// ```
    pub fn max_procs(mut self, max_procs: usize) -> Self {
        self.max_procs = Some(max_procs);
        self
    }

    /// tokio's name for [`procs`](Self::procs), for ported code.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().worker_threads(2).build().unwrap();
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn worker_threads(self, n: usize) -> Self {
        self.procs(n)
    }

    /// The prefix of thread names: Ms are `<name>-m<i>`, blocking-pool threads
    /// `<name>-blocking-<i>`.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).thread_name("web").build().unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().unwrap().to_string()
    /// }));
    /// assert!(name.unwrap().starts_with("web-m"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// A function naming each M thread (given the M's number).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .thread_name_fn(|i| format!("worker #{i}"))
    ///     .build()
    ///     .unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().unwrap().to_string()
    /// }));
    /// assert!(name.unwrap().starts_with("worker #"));
    /// ```
    pub fn thread_name_fn(mut self, f: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Some(Arc::new(f));
        self
    }

    /// The most M threads the runtime may start (Go's `SetMaxThreads`;
    /// default 10 000, at most [`MAX_THREADS`]). Ms beyond the Ps appear when
    /// Ps are handed off from blocked threads.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).max_threads(4).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 2 + 2 })).unwrap(), 4);
    /// assert!(gmp_exec::Runtime::builder().max_threads(0).build().is_err());
    /// ```
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }

    /// The most threads the `spawn_blocking` pool may start (default 512).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .max_blocking_threads(2)
    ///     .build()
    ///     .unwrap();
    /// let jobs: Vec<_> = (0..4).map(|i| rt.spawn_blocking(move || i * 10)).collect();
    /// let total: i32 = jobs.into_iter().map(|h| rt.block_on(h).unwrap()).sum();
    /// assert_eq!(total, 60);
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits before it exits
    /// (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .thread_keep_alive(Duration::from_millis(50))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| "done")).unwrap(), "done");
    /// ```
    pub fn thread_keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }

    /// The stack size of every thread the runtime starts.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .thread_stack_size(4 << 20)
    ///     .build()
    ///     .unwrap();
    /// let sum = rt.block_on(rt.spawn(async {
    ///     let big = [1u8; 512 * 1024];
    ///     big.iter().map(|&b| b as u32).sum::<u32>()
    /// }));
    /// assert_eq!(sum.unwrap(), 512 * 1024);
    /// ```
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// What a task panic does (default: [`UnhandledPanic::Ignore`]).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .unhandled_panic(gmp_exec::UnhandledPanic::Ignore)
    ///     .build()
    ///     .unwrap();
    /// let res = rt.block_on(rt.spawn(async { panic!("caught") }));
    /// assert!(res.unwrap_err().is_panic());
    /// ```
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Self {
        self.unhandled_panic = policy;
        self
    }

    /// Whether to run sysmon, the monitor thread that takes Ps away from Ms
    /// stuck in long polls or blocking calls (default: on). Without it,
    /// `block_in_place` still hands its P off, but `syscall` and long polls
    /// keep theirs.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).sysmon(false).build().unwrap();
    /// let n = rt.block_on(rt.spawn(async { gmp_exec::block_in_place(|| 5) }));
    /// assert_eq!(n.unwrap(), 5);
    /// ```
    pub fn sysmon(mut self, on: bool) -> Self {
        self.sysmon = on;
        self
    }

    /// How long one poll may hold its P before sysmon marks its G for
    /// preemption (Go's 10 ms `forcePreemptNS`; default 10 ms) and, if other
    /// Gs wait and the G is still in that poll at sysmon's next look (it
    /// ignored the mark: a blocking call, a loop without
    /// [`preempt_check!`](crate::preempt_check)), hands the P to another M.
    /// A G that yields at the mark keeps its P. `None` turns both off.
    ///
    /// It is also the slice for which an M busy with coroutines of its own
    /// keeps its P while coroutines started on another M wait for one (they
    /// can run on no other thread): then the Ms take turns (10 ms with
    /// `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .retake_after(Some(Duration::from_millis(2)))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    /// ```
    pub fn retake_after(mut self, after: Option<Duration>) -> Self {
        self.retake_after = after;
        self
    }

    /// How long one poll may last before sysmon's watchdog reports its G (id,
    /// spawn site, duration) on stderr, or through `tracing` with the
    /// `tracing` feature once a subscriber is installed (default 100 ms).
    /// `None` turns the watchdog off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_exec::Runtime::builder()
    ///     .watchdog(Some(Duration::from_secs(1)))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 6 * 7 })).unwrap(), 42);
    /// // Gs that never hold their M for a second are never reported.
    /// assert_eq!(rt.metrics().watchdog_reports, 0);
    /// assert!(gmp_exec::Runtime::builder().watchdog(None).build().is_ok());
    /// ```
    pub fn watchdog(mut self, after: Option<Duration>) -> Self {
        self.watchdog_after = after;
        self
    }

    /// Whether to keep the counters behind [`Runtime::metrics`] (default: on;
    /// each is a single-writer increment of about a cycle).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).metrics(true).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().spawned, 1);
    /// ```
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Prints Go's schedtrace line on stderr every `period` (`None`: never),
    /// overriding `GMP_DEBUG=schedtrace=<ms>`.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).schedtrace(None).build().unwrap();
    /// assert_eq!(rt.block_on(async { 7 }), 7);
    /// ```
    pub fn schedtrace(mut self, period: Option<Duration>) -> Self {
        self.schedtrace = Some(period);
        self
    }

    /// Adds a line per P and per M to each schedtrace line, overriding
    /// `GMP_DEBUG=scheddetail=1`.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder()
    ///     .procs(1)
    ///     .schedtrace(None)
    ///     .scheddetail(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(async { 8 }), 8);
    /// ```
    pub fn scheddetail(mut self, on: bool) -> Self {
        self.scheddetail = Some(on);
        self
    }

    /// The tokio compatibility mode (the `tokio-compat` feature; default
    /// off): for crates that call `tokio::spawn`, `tokio::time` or
    /// `tokio::net` themselves (reqwest's client, `axum::serve`, tower's and
    /// tower-http's timeouts), which panic in a gmp program otherwise ("there
    /// is no reactor running").
    ///
    /// `build` then also starts a small tokio runtime of this runtime's own —
    /// multi-thread flavour with **one** worker thread (`<name>-tokio`),
    /// tokio's I/O and time drivers on, and tokio's blocking pool — and
    /// enters its handle (tokio's `Handle::enter`) on every thread where this
    /// runtime runs code: each M, each blocking-pool thread, and the thread
    /// of every [`block_on`](Runtime::block_on) (so `#[gmp::main]`'s body
    /// too). What then runs where:
    ///
    /// | code | runs on |
    /// | --- | --- |
    /// | gmp's Gs (`gmp::spawn`, `go!`), their handlers, whatever they `.await` | gmp's Ms, scheduled by the Ps, as without the mode |
    /// | a future passed to `tokio::spawn` (by the crate or by you) | tokio's one worker thread, scheduled by tokio |
    /// | `tokio::task::spawn_blocking` | tokio's blocking pool |
    /// | the wake-ups of tokio timers and tokio sockets | tokio's worker, which runs tokio's drivers: it wakes the waiting G, which then runs on an M |
    /// | `gmp::time`, `gmp::net` | gmp's netpoller and timer heaps, as always |
    /// | `gmp::spawn` (or `gmp::time`, `gmp::net`) inside a tokio task | this gmp runtime: tokio's threads have it entered ([`Handle::enter`]), so the new G runs on an M |
    ///
    /// So a G can `.await` a tokio timer or socket (tokio's driver wakes it),
    /// and a library's `tokio::spawn`ed background task runs on tokio's
    /// thread, not as a G: it does not show in gmp's metrics or dumps, and
    /// one worker is all it gets. That suits the background work libraries
    /// spawn (a connection pool's driver, a timeout); serve your own
    /// handlers with gmp (`gmp::hyper::serve`) to run them on the Ps.
    /// `tokio::task::block_in_place` still panics on gmp's threads (they
    /// are not tokio workers), as does `tokio::runtime::Handle::block_on`
    /// inside a G.
    ///
    /// Dropping the runtime (or [`Runtime::shutdown_timeout`]) shuts gmp
    /// down first, then the tokio runtime, which drops its tasks and waits
    /// for its threads (up to the same timeout). A [`Handle`] that outlives
    /// the runtime still enters the tokio handle; `tokio::spawn` there
    /// gives a task that is cancelled at once, as on any tokio runtime that
    /// has shut down.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_exec::Runtime::builder().procs(2).tokio_compat(true).build().unwrap();
    /// let answer = rt.block_on(async {
    ///     // A G awaiting tokio's timer, and a task on tokio's own thread.
    ///     let g = gmp_exec::spawn(async {
    ///         tokio::time::sleep(Duration::from_millis(1)).await;
    ///         std::thread::current().name().unwrap().to_string()
    ///     });
    ///     let t = tokio::spawn(async { std::thread::current().name().unwrap().to_string() });
    ///     (g.await.unwrap(), t.await.unwrap())
    /// });
    /// assert!(answer.0.starts_with("gmp-m"), "the G ran on an M");
    /// assert_eq!(answer.1, "gmp-tokio", "tokio's task ran on tokio's worker");
    /// ```
    ///
    /// Without the feature this method asks for a type no value has, so a
    /// call is a compile error that names the feature.
    #[cfg(feature = "tokio-compat")]
    pub fn tokio_compat(mut self, on: bool) -> Self {
        self.tokio_compat = on;
        self
    }

    /// The tokio compatibility mode **needs the `tokio-compat` feature**
    /// (`gmp = { version = "0.1", features = ["tokio-compat"] }`, or the
    /// same feature of `gmp-exec`): without it, tokio is not a dependency,
    /// and any call of this method fails to compile with an error that
    /// names the feature. With it, this is `tokio_compat(on: bool)`; its
    /// documentation (on docs.rs, built with every feature) says what runs
    /// where.
    ///
    /// ```compile_fail,E0277
    /// // error: `Builder::tokio_compat` needs the `tokio-compat` feature
    /// let _ = gmp_exec::Runtime::builder().tokio_compat(true);
    /// ```
    #[cfg(not(feature = "tokio-compat"))]
    #[allow(private_bounds)] // the bound exists to be unmet
    pub fn tokio_compat<T: TokioCompatNeedsTheFeature>(self, _on: T) -> Self {
        self
    }

    /// Builds the runtime and starts its M threads, one per P (at most
    /// `max_threads`); with no work yet, they park at once and cost no CPU.
    /// They start now, not when work first appears, because a started
    /// coroutine stays on its M: a burst spawned while a new thread was still
    /// waiting for a CPU would all stay on the first M.
    ///
    /// Errors with the OS's error if not even one M thread could be started
    /// (say, a [`thread_stack_size`](Self::thread_stack_size) no thread can
    /// have), and with `InvalidInput` if `procs` is 0 or above [`MAX_PROCS`],
    /// `GMP_MAXPROCS` is not a positive integer (one above `MAX_PROCS` is
    /// clamped to it, as Go clamped `GOMAXPROCS`), a thread limit is 0, or
    /// `max_threads` is above [`MAX_THREADS`].
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// assert_eq!(rt.procs(), 1);
    /// let err = gmp_exec::Runtime::builder().procs(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn build(&self) -> io::Result<Runtime> {
        #[allow(unused_mut)] // changed only by the tokio compatibility mode
        let mut config = self.config()?;
        #[cfg(feature = "tokio-compat")]
        if self.tokio_compat {
            // Started below, once `shared` exists (see `tokio_compat.rs`).
            let tokio = std::sync::Arc::new(crate::tokio_compat::TokioCompat::default());
            config.thread_hooks.push(tokio.hook());
            config.tokio = Some(tokio);
        }
        let shared = Shared::new(config)?;
        if self.start_paused {
            shared.clock.pause();
        }
        #[cfg(feature = "tokio-compat")]
        if let Some(tokio) = &shared.config.tokio {
            if let Err(e) = tokio.start(&shared) {
                shut_down(&shared, None);
                return Err(e);
            }
        }
        if shared.config.schedtrace.is_some() {
            // Go prints schedtrace lines from the start, work or no work.
            shared.start_sysmon();
        }
        #[cfg(not(loom))]
        if let Err(e) = shared.start_all_ms() {
            // No M runs; what did start (sysmon) stops and is joined, so a
            // failed build leaves no thread behind.
            shut_down(&shared, None);
            return Err(e);
        }
        Ok(Runtime {
            handle: Handle { shared },
        })
    }

    /// The validated settings.
    pub(crate) fn config(&self) -> io::Result<Config> {
        let procs = match self.procs {
            Some(0) => {
                return Err(invalid(
                    "procs must be at least 1 (a runtime needs a P to run anything)",
                ))
            }
            Some(n) if n > MAX_PROCS => {
                return Err(invalid(format!(
                    "procs must be at most {MAX_PROCS} (gmp_exec::MAX_PROCS), not {n}"
                )))
            }
            Some(n) => n,
            None => procs_from_env()?,
        };
        let max_procs = match self.max_procs {
            Some(n) if n < procs || n > MAX_PROCS => {
                return Err(invalid(format!(
                    "max_procs must be from procs ({procs}) to {MAX_PROCS} (gmp_exec::MAX_PROCS), \
                     not {n}"
                )))
            }
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(procs, MAX_PROCS),
        };
        if self.max_threads == 0 || self.max_blocking_threads == 0 {
            return Err(invalid(
                "max_threads and max_blocking_threads must be at least 1",
            ));
        }
        if self.max_threads > MAX_THREADS {
            return Err(invalid(format!(
                "max_threads must be at most {MAX_THREADS} (gmp_exec::MAX_THREADS: an M's id is \
                 kept in 16 bits), not {}",
                self.max_threads
            )));
        }
        let name = self.name.clone();
        let thread_name = match &self.thread_name {
            Some(f) => f.clone(),
            None => Arc::new(move |id| format!("{name}-m{id}")),
        };
        Ok(Config {
            procs,
            max_procs,
            name: self.name.clone(),
            thread_name,
            max_threads: self.max_threads,
            max_blocking_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            stack_size: self.stack_size,
            abort_on_panic: self.unhandled_panic == UnhandledPanic::Abort,
            sysmon: self.sysmon,
            retake_after: self.retake_after,
            watchdog_after: self.watchdog_after,
            metrics: self.metrics,
            schedtrace: self
                .schedtrace
                .unwrap_or_else(|| debug::from_env().schedtrace),
            scheddetail: self
                .scheddetail
                .unwrap_or_else(|| debug::from_env().scheddetail),
            on_thread_start: self.on_thread_start.clone(),
            on_thread_stop: self.on_thread_stop.clone(),
            thread_hooks: Default::default(),
            #[cfg(feature = "tokio-compat")]
            tokio: None,
        })
    }
}

/// Implemented by nothing: the bound of `Builder::tokio_compat` when the
/// `tokio-compat` feature is off, so that a call fails to compile with this
/// message.
#[cfg(not(feature = "tokio-compat"))]
#[diagnostic::on_unimplemented(
    message = "`Builder::tokio_compat` needs the `tokio-compat` feature of gmp (or gmp-exec)",
    label = "the tokio compatibility mode is not compiled in",
    note = "enable it in Cargo.toml: gmp = {{ version = \"0.1\", features = [\"tokio-compat\"] }}"
)]
trait TokioCompatNeedsTheFeature {}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("procs", &self.procs)
            .field("max_procs", &self.max_procs)
            .field("name", &self.name)
            .field("max_threads", &self.max_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("keep_alive", &self.keep_alive)
            .field("stack_size", &self.stack_size)
            .field("unhandled_panic", &self.unhandled_panic)
            .field("sysmon", &self.sysmon)
            .field("retake_after", &self.retake_after)
            .field("watchdog_after", &self.watchdog_after)
            .field("on_thread_start", &self.on_thread_start.is_some())
            .field("on_thread_stop", &self.on_thread_stop.is_some())
            .field("start_paused", &self.start_paused)
            .finish()
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// `GMP_MAXPROCS` if set, else the machine's available parallelism; either
/// clamped to [`MAX_PROCS`] (as Go's `schedinit` clamped `GOMAXPROCS`).
fn procs_from_env() -> io::Result<usize> {
    match std::env::var(MAXPROCS_ENV) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n.min(MAX_PROCS)),
            // Too large even for a usize: more than the cap all the same.
            Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Ok(MAX_PROCS),
            _ => Err(invalid(format!(
                "{MAXPROCS_ENV}={v:?} is not a positive integer (the number of Ps to run)"
            ))),
        },
        Err(std::env::VarError::NotUnicode(v)) => Err(invalid(format!(
            "{MAXPROCS_ENV}={v:?} is not a positive integer (the number of Ps to run)"
        ))),
        Err(std::env::VarError::NotPresent) => Ok(std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(MAX_PROCS)),
    }
}

/// A gmp runtime: `procs` Ps, the Ms that run them, and a blocking pool.
///
/// Dropping it shuts it down: it stops taking work, drops every task's future
/// (queued, parked on a waker, or anything else), and joins its threads. So
/// dropping it (or calling [`shutdown_timeout`](Self::shutdown_timeout)) on
/// one of those threads, inside one of its own tasks or `spawn_blocking`
/// closures, panics with a message saying so, where it would wait for itself.
///
/// ```
/// let rt = gmp_exec::Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     let a = gmp_exec::spawn(async { 20 });
///     let b = gmp_exec::spawn(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    handle: Handle,
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder::new`]).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::new().unwrap();
    /// assert!(rt.procs() >= 1);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder for custom settings.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A handle to this runtime, usable from any thread.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let handle = rt.handle().clone();
    /// let out = std::thread::spawn(move || handle.block_on(async { 40 + 2 }));
    /// assert_eq!(out.join().unwrap(), 42);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The number of Ps.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn procs(&self) -> usize {
        self.handle.shared.procs()
    }

    /// Changes the number of Ps while Gs run (Go's `runtime.GOMAXPROCS(n)`,
    /// its `procresize`); returns the previous count. See
    /// [`Handle::set_procs`].
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(2).max_procs(2).build().unwrap();
    /// assert_eq!(rt.set_procs(1).unwrap(), 2);
    /// assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0 or more than the runtime's
    /// [`max_procs`](Builder::max_procs).
    pub fn set_procs(&self, procs: usize) -> io::Result<usize> {
        self.handle.set_procs(procs)
    }

    /// Makes this runtime the current one on this thread until the guard drops,
    /// so that `gmp_exec::spawn` and `coro::spawn` called from a plain thread
    /// spawn here (tokio's `Runtime::enter`).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let guard = rt.enter();
    /// // Plain `spawn` now goes to `rt`, not to the default runtime.
    /// let h = gmp_exec::spawn(async { 9 });
    /// drop(guard);
    /// assert_eq!(rt.block_on(h).unwrap(), 9);
    /// assert_eq!(rt.metrics().spawned, 1);
    /// ```
    pub fn enter(&self) -> context::EnterGuard {
        self.handle.enter()
    }

    /// Spawns a task on this runtime.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = rt.spawn(async { "spawned" });
    /// assert_eq!(rt.block_on(h).unwrap(), "spawned");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the blocking pool.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = rt.spawn_blocking(|| (1..=10).product::<u64>());
    /// assert_eq!(rt.block_on(h).unwrap(), 3_628_800);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Runs `future` to completion on the calling thread; tasks it spawns run on
    /// this runtime's Ms.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime's M (it would block a thread that runs
    /// other tasks) or from inside another `block_on`.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let v = rt.block_on(async {
    ///     let h = gmp_exec::spawn(async { vec![1, 2, 3] });
    ///     h.await.unwrap()
    /// });
    /// assert_eq!(v, [1, 2, 3]);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// A snapshot of the runtime's counters: per-P queue depths, `runnext`
    /// hits, steals, overflows, spawned and completed Gs, thread and sysmon
    /// figures (see [`Metrics`](crate::Metrics)).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// rt.block_on(async {
    ///     gmp_exec::spawn(async {}).await.unwrap();
    /// });
    /// let m = rt.metrics();
    /// assert_eq!((m.procs, m.spawned, m.completed), (1, 1, 1));
    /// ```
    pub fn metrics(&self) -> crate::Metrics {
        self.handle.metrics()
    }

    /// Shuts down, waiting at most `timeout` for tasks that are inside a poll
    /// (a task that blocks its thread); those are cancelled when their poll
    /// returns. Returns false if it stopped waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(rt.shutdown_timeout(Duration::from_millis(100)));
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        // Skip `Drop` (it would shut down without the timeout) but keep the
        // handle's reference: forgetting `self` leaked the `Shared` (LSan,
        // `ci/asan.sh`).
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the handle is
        // moved out exactly once.
        let shared = unsafe { std::ptr::read(&this.handle) }.shared;
        check_not_own_worker(&shared);
        shut_down(&shared, Some(timeout))
    }
}

/// Shuts the runtime down (`Shared::shutdown`), then, in the tokio
/// compatibility mode, its tokio runtime, with what is left of `timeout`.
fn shut_down(shared: &Shared, timeout: Option<Duration>) -> bool {
    #[cfg(feature = "tokio-compat")]
    let started = std::time::Instant::now();
    let done = shared.shutdown(timeout);
    #[cfg(feature = "tokio-compat")]
    if let Some(tokio) = &shared.config.tokio {
        tokio.shutdown(match timeout {
            Some(t) => t.saturating_sub(started.elapsed()),
            None => crate::tokio_compat::WAIT_ON_DROP,
        });
    }
    done
}

/// Panics if the calling thread is one that shutting `shared` down would wait
/// for: one of its Ms, or one of its blocking-pool threads.
impl Runtime {
    /// Shuts down without waiting (tokio's `shutdown_background`): the
    /// runtime stops taking work and its idle tasks are dropped at once;
    /// a task inside a poll that blocks its thread is dropped when that poll
    /// returns, on its own thread, which then exits. Same as
    /// [`shutdown_timeout`](Self::shutdown_timeout) with a zero timeout.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// // A task that blocks its M until told.
    /// rt.spawn(async move { let _ = rx.recv(); });
    /// rt.shutdown_background(); // returns at once
    /// drop(tx); // the blocked poll returns; its M cleans up and exits
    /// ```
    pub fn shutdown_background(self) {
        let _ = self.shutdown_timeout(Duration::ZERO);
    }
}

fn check_not_own_worker(shared: &Shared) {
    if Worker::with_current(|w| w.is_some_and(|w| w.is_m_of(shared))) {
        panic!(
            "a gmp Runtime was dropped (or shut down) from inside one of its own tasks: \
             shutdown waits for every M, including this one; drop it from outside the runtime"
        );
    }
    if shared.blocking.is_own_thread() {
        panic!(
            "a gmp Runtime was dropped (or shut down) from inside one of its own spawn_blocking \
             closures: shutdown waits for every blocking-pool thread, including this one; drop \
             it from outside the runtime"
        );
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        check_not_own_worker(&self.handle.shared);
        shut_down(&self.handle.shared, None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.procs())
            .finish_non_exhaustive()
    }
}

/// A cheap, clonable reference to a runtime, usable from any thread.
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let handle: gmp_exec::Handle = rt.handle().clone();
/// let h = std::thread::spawn(move || handle.spawn(async { 11 })).join().unwrap();
/// assert_eq!(rt.block_on(h).unwrap(), 11);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The runtime of the current context: the one whose M this is, or whose
    /// `block_on` or `enter` is active, or else the default runtime (started on
    /// first use, as Go and smol do).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(3).build().unwrap();
    /// let procs = rt.block_on(async { gmp_exec::Handle::current().procs() });
    /// assert_eq!(procs, 3);
    /// ```
    pub fn current() -> Handle {
        context::with_current_shared(|shared| Handle {
            shared: shared.clone(),
        })
    }

    /// Like [`current`](Self::current), but `None` instead of falling back to
    /// the default runtime.
    ///
    /// ```
    /// assert!(gmp_exec::Handle::try_current().is_none());
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let _guard = rt.enter();
    /// assert!(gmp_exec::Handle::try_current().is_some());
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::try_with_current_shared(|shared| Handle {
            shared: shared.clone(),
        })
    }

    /// Spawns a task on this runtime (see [`crate::spawn`]).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = rt.handle().spawn(async { 5 * 5 });
    /// assert_eq!(rt.block_on(h).unwrap(), 25);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future, Location::caller(), None)
    }

    /// Runs a blocking closure on this runtime's blocking pool (see
    /// [`crate::spawn_blocking`]).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = rt.handle().spawn_blocking(|| std::thread::current().name().map(String::from));
    /// assert!(rt.block_on(h).unwrap().unwrap().contains("blocking"));
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_on(&self.shared, f, Location::caller())
    }

    /// Runs `future` to completion on the calling thread, in this runtime's
    /// context (see [`Runtime::block_on`]).
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let handle = rt.handle().clone();
    /// let n = std::thread::spawn(move || handle.block_on(async { gmp_exec::spawn(async { 4 }).await }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(n.unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if Worker::with_current(|w| w.is_some()) {
            panic!(
                "block_on was called from inside a gmp runtime's worker (an M): it would \
                 block a thread that runs other tasks; .await the future instead, or move \
                 the blocking code to spawn_blocking"
            );
        }
        let _enter = context::enter(&self.shared, true);
        self.shared
            .config
            .thread_hooks
            .run(|| crate::block_on::block_on(future))
    }

    /// Makes this runtime the current one on this thread until the guard drops:
    /// `gmp_exec::spawn` then spawns here.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let handle = rt.handle().clone();
    /// let h = std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     gmp_exec::spawn(async { 6 })
    /// });
    /// assert_eq!(rt.block_on(h.join().unwrap()).unwrap(), 6);
    /// ```
    pub fn enter(&self) -> context::EnterGuard {
        context::enter(&self.shared, false)
    }

    /// The number of Ps.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
    /// assert_eq!(rt.handle().procs(), 2);
    /// ```
    pub fn procs(&self) -> usize {
        self.shared.procs()
    }

    /// Changes the number of Ps while Gs run (Go's `runtime.GOMAXPROCS(n)`);
    /// returns the previous count.
    ///
    /// Growing makes the new Ps idle, ready for the Ms that queued work
    /// wakes. Shrinking takes the Ps beyond the new count away from their Ms
    /// at the Ms' next scheduling round (an M blocked in a call loses its P
    /// to sysmon as usual); their queued Gs go to the global queue (Go's
    /// `destroy`), and their timers keep firing from the runtime's other
    /// checks (the poller and sysmon watch every P's timers; a timer of a
    /// removed P may fire up to a sysmon look late while every M is busy).
    /// Coroutine Gs stay with the Ms they are bound to. Metrics, dumps and
    /// schedtrace follow the new count.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).max_procs(3).build().unwrap();
    /// let handle = rt.handle();
    /// assert_eq!(handle.set_procs(3).unwrap(), 1);
    /// assert_eq!(rt.metrics().procs, 3);
    /// assert_eq!(handle.set_procs(2).unwrap(), 3);
    /// assert_eq!(handle.procs(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0 or more than the runtime's
    /// [`max_procs`](Builder::max_procs).
    pub fn set_procs(&self, procs: usize) -> io::Result<usize> {
        let max = self.shared.capacity();
        if procs == 0 || procs > max {
            return Err(invalid(format!(
                "set_procs({procs}): the number of Ps must be from 1 to this runtime's max_procs \
                 ({max}; see Builder::max_procs)"
            )));
        }
        Ok(self.shared.set_procs(procs))
    }

    /// See [`Runtime::metrics`].
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let handle = rt.handle();
    /// handle.block_on(handle.spawn(async {})).unwrap();
    /// assert_eq!(handle.metrics().completed, 1);
    /// ```
    pub fn metrics(&self) -> crate::Metrics {
        self.shared.metrics()
    }

    /// Every live G of this runtime: id, name, state, spawn site, and for a
    /// running G its M and how long it has run (a goroutine dump). Completing
    /// Gs wait the moment it takes; nothing else stops.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.handle().dump();
    /// let me = dump.tasks.iter().find(|t| t.id == h.id()).unwrap();
    /// assert!(me.spawned_at.file().ends_with(".rs"));
    /// h.abort();
    /// ```
    pub fn dump(&self) -> crate::Dump {
        self.shared.dump()
    }
}

/// `futures`' spawner interface, so code written against
/// `futures::task::Spawn` / `SpawnExt` (executor-agnostic libraries) spawns
/// Gs on this runtime. The task runs detached; once the runtime has shut
/// down, spawning fails with [`SpawnError::shutdown`](futures_task::SpawnError::shutdown).
///
/// ```
/// use futures::task::SpawnExt;
/// let rt = gmp_exec::Runtime::new().unwrap();
/// let spawner = rt.handle().clone();
/// let doubled = spawner.spawn_with_handle(async { 21 * 2 }).unwrap();
/// assert_eq!(rt.block_on(doubled), 42);
/// ```
impl futures_task::Spawn for Handle {
    #[track_caller]
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        self.status()?;
        drop(self.shared.spawn(future, Location::caller(), None));
        Ok(())
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        if self.shared.is_shutdown() {
            Err(futures_task::SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("procs", &self.procs())
            .finish_non_exhaustive()
    }
}

pub(crate) fn spawn_blocking_on<F, R>(
    shared: &Arc<Shared>,
    f: F,
    location: &'static Location<'static>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let id = shared.goids.next_id();
    let pool = std::ptr::NonNull::from(&*shared.blocking);
    // SAFETY: the pool outlives its tasks' schedulable lifetime: queued tasks are
    // cancelled by its shutdown, running ones hold the pool through their
    // thread, and a blocking task is never idle (it cannot be woken later).
    let (notified, handle) =
        unsafe { task::new_task(BlockingTask::new(f), pool, id, location, None) };
    // Blocking tasks are not registered: drop the registry's reference.
    notified.header().state.ref_dec();
    crate::task::Schedule::schedule(&*shared.blocking, notified);
    handle
}

/// The process-wide default runtime, started on first use and never shut down.
pub(crate) fn default_shared() -> &'static Arc<Shared> {
    static DEFAULT: OnceLock<Runtime> = OnceLock::new();
    &DEFAULT
        .get_or_init(|| {
            Runtime::builder()
                .thread_name("gmp-default")
                .build()
                .unwrap_or_else(|e| panic!("gmp could not start its default runtime: {e}"))
        })
        .handle
        .shared
}
