//! The tokio compatibility mode (`Builder::tokio_compat`, the `tokio-compat`
//! feature): a small tokio runtime owned by a gmp runtime, whose handle is
//! entered on every thread where the gmp runtime runs code.
//!
//! Crates written for tokio find their runtime through a thread-local that
//! tokio's `Handle::enter` sets: `tokio::spawn` spawns onto it, and a tokio
//! timer or socket registers with its drivers. A gmp M is not a tokio
//! thread, so without the mode those calls panic. With it, the runtime's
//! thread hooks (`config::ThreadHooks`) enter this handle for the life of
//! each M and blocking-pool thread, and for each `block_on`, so the
//! thread-local is set wherever a G (or a blocking closure, or a `block_on`
//! future) runs.
//!
//! The tokio runtime is the multi-thread flavour with a single worker: that
//! worker runs the futures handed to `tokio::spawn` and, whenever it is idle,
//! tokio's I/O and time drivers, so a tokio timer a G awaits fires and wakes
//! the G (which then runs on an M) with no gmp thread ever driving tokio. A
//! current-thread runtime would need a thread of ours parked in its
//! `block_on` to do the same. One worker because the work that lands there is
//! the background work libraries spawn, not the program's own Gs.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::config::ThreadWrap;

/// How long dropping a gmp runtime waits for its tokio runtime's threads
/// (tokio's own drop waits without limit; a year is as long, and unlike a
/// plain drop, `shutdown_timeout` does not panic when the runtime is dropped
/// inside another tokio runtime's context: it just does not wait there).
pub(crate) const WAIT_ON_DROP: Duration = Duration::from_secs(365 * 24 * 3600);

/// The tokio runtime a gmp runtime owns in the compatibility mode.
pub(crate) struct TokioCompat {
    /// Taken when the gmp runtime shuts down.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
}

impl TokioCompat {
    /// Starts the tokio runtime: one worker named `<name>-tokio`, every
    /// driver on.
    pub(crate) fn start(name: &str) -> io::Result<Arc<TokioCompat>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("{name}-tokio"))
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(Arc::new(TokioCompat {
            runtime: Mutex::new(Some(runtime)),
            handle,
        }))
    }

    /// The thread hook: the tokio handle entered while the thread's body runs.
    pub(crate) fn hook(&self) -> ThreadWrap {
        let handle = self.handle.clone();
        Arc::new(move |body: &mut dyn FnMut()| {
            let _entered = handle.enter();
            body();
        })
    }

    /// Shuts the tokio runtime down (once), waiting at most `timeout` for its
    /// threads. Called after the gmp runtime has shut down.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            runtime.shutdown_timeout(timeout);
        }
    }
}
