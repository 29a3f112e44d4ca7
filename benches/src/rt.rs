//! The runtimes under comparison, behind one small trait, so every benchmark
//! shape is written once and run on each of them in the same process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A multi-threaded runtime with `procs` worker threads.
pub trait Runtime: Send + Sync + 'static {
    /// The name printed in tables.
    const NAME: &'static str;

    /// Starts the runtime.
    fn start(procs: usize) -> Self;

    /// Spawns a detached task from outside the runtime (a "remote" spawn).
    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static);

    /// A handle that tasks use to spawn more tasks from inside.
    fn spawner(&self) -> Spawner;

    /// Yields to the other runnable tasks (must be called inside a task).
    fn yield_now() -> Pin<Box<dyn Future<Output = ()> + Send>>;

    /// The runtime's own sleep (must be called inside a task).
    fn sleep(d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Spawns from inside a task, the way each runtime's own code does it.
#[derive(Clone)]
pub enum Spawner {
    /// `gmp_exec::spawn` (finds the current P).
    Gmp,
    /// `tokio::spawn` (finds the current worker).
    Tokio,
    /// `Executor::spawn` on the shared executor.
    AsyncExecutor(Arc<async_executor::Executor<'static>>),
}

impl Spawner {
    /// Spawns a detached task.
    #[inline]
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        match self {
            Spawner::Gmp => drop(gmp_exec::spawn(fut)),
            Spawner::Tokio => drop(tokio::spawn(fut)),
            Spawner::AsyncExecutor(ex) => ex.spawn(fut).detach(),
        }
    }
}

/// A gmp runtime type: the same scheduler, built with `configure` applied to
/// its builder.
macro_rules! gmp_runtime {
    ($(#[$doc:meta])* $name:ident, $label:literal, $configure:expr) => {
        $(#[$doc])*
        pub struct $name(gmp_exec::Runtime);

        impl Runtime for $name {
            const NAME: &'static str = $label;

            fn start(procs: usize) -> Self {
                let configure: fn(gmp_exec::Builder) -> gmp_exec::Builder = $configure;
                $name(configure(gmp_exec::Runtime::builder().procs(procs)).build().unwrap())
            }

            fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
                drop(self.0.spawn(fut));
            }

            fn spawner(&self) -> Spawner {
                Spawner::Gmp
            }

            fn yield_now() -> Pin<Box<dyn Future<Output = ()> + Send>> {
                Box::pin(gmp_exec::yield_now())
            }

            fn sleep(d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
                Box::pin(gmp_exec::time::sleep(d))
            }
        }
    };
}

gmp_runtime!(
    /// gmp's runtime.
    Gmp,
    "gmp",
    |b| b
);
gmp_runtime!(
    /// gmp with sysmon turned off: the same scheduler without its monitor
    /// thread, to measure what sysmon costs.
    GmpNoSysmon,
    "gmp-nosysmon",
    |b| b.sysmon(false)
);
gmp_runtime!(
    /// gmp with its metrics counters off, to measure what they cost.
    GmpNoMetrics,
    "gmp-nometrics",
    |b| b.metrics(false)
);

/// tokio's multi-thread runtime.
pub struct Tokio(tokio::runtime::Runtime);

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    fn start(procs: usize) -> Self {
        Tokio(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(procs)
                .enable_all()
                .build()
                .unwrap(),
        )
    }

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        drop(self.0.spawn(fut));
    }

    fn spawner(&self) -> Spawner {
        Spawner::Tokio
    }

    fn yield_now() -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::task::yield_now())
    }

    fn sleep(d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// async-executor, run by `procs` threads with async-io's reactor (smol's
/// multi-threaded setup).
pub struct AsyncExecutor {
    ex: Arc<async_executor::Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Runtime for AsyncExecutor {
    const NAME: &'static str = "async-executor";

    fn start(procs: usize) -> Self {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..procs)
            .map(|_| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                std::thread::spawn(move || {
                    // smol's setup: `async_io::block_on` drives the reactor and
                    // timers whenever the thread would otherwise sleep.
                    let _ = async_io::block_on(ex.run(stopped.recv()));
                })
            })
            .collect();
        AsyncExecutor {
            ex,
            stop: Some(stop),
            threads,
        }
    }

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        self.ex.spawn(fut).detach();
    }

    fn spawner(&self) -> Spawner {
        Spawner::AsyncExecutor(self.ex.clone())
    }

    fn yield_now() -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(futures_lite::future::yield_now())
    }

    fn sleep(d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            async_io::Timer::after(d).await;
        })
    }
}

impl Drop for AsyncExecutor {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
