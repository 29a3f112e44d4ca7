//! The tokio compatibility mode (`Builder::tokio_compat`, the `tokio-compat`
//! feature): a small tokio runtime owned by a gmp runtime. Each runtime's
//! context is entered on the other's threads.
//!
//! Crates written for tokio find their runtime through a thread-local that
//! tokio's `Handle::enter` sets: `tokio::spawn` spawns onto it, and a tokio
//! timer or socket registers with its drivers. A gmp M is not a tokio
//! thread, so without the mode those calls panic. With it, the runtime's
//! thread hooks (`config::ThreadHooks`) enter the tokio handle for the life
//! of each M and blocking-pool thread, and for each `block_on`, so the
//! thread-local is set wherever a G (or a blocking closure, or a `block_on`
//! future) runs. The other way round, tokio's threads enter the gmp runtime
//! (gmp's `Handle::enter`, from tokio's `on_thread_start`), so a `gmp::spawn`
//! or `gmp::time::sleep` inside a `tokio::spawn`ed task reaches this gmp
//! runtime rather than starting the default one.
//!
//! The tokio runtime is the multi-thread flavour with a single worker: that
//! worker runs the futures handed to `tokio::spawn` and, whenever it is idle,
//! tokio's I/O and time drivers, so a tokio timer a G awaits fires and wakes
//! the G (which then runs on an M) with no gmp thread ever driving tokio. A
//! current-thread runtime would need a thread of ours parked in its
//! `block_on` to do the same. One worker because the work that lands there is
//! the background work libraries spawn, not the program's own Gs.
//!
//! # Order of birth
//!
//! tokio's threads need the gmp runtime (`Shared`) to enter, and gmp's
//! thread hooks are part of the config `Shared` is built from. So the hook is
//! made first, around an empty cell; `Builder::build` then makes `Shared`,
//! starts tokio (`start`), fills the cell, and only then starts the Ms. The
//! blocking pool starts its threads on demand, after `build`. A thread whose
//! hook finds the cell empty would enter nothing; none can exist.

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use crate::config::ThreadWrap;
use crate::context::{self, EnterGuard};
use crate::sched::Shared;

/// How long dropping a gmp runtime waits for its tokio runtime's threads
/// (tokio's own drop waits without limit; a year is as long, and unlike a
/// plain drop, `shutdown_timeout` does not panic when the runtime is dropped
/// inside another tokio runtime's context: it just does not wait there).
pub(crate) const WAIT_ON_DROP: Duration = Duration::from_secs(365 * 24 * 3600);

/// The tokio runtime a gmp runtime owns in the compatibility mode.
#[derive(Default)]
pub(crate) struct TokioCompat {
    /// Set by `start`.
    handle: OnceLock<tokio::runtime::Handle>,
    /// Taken when the gmp runtime shuts down.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

thread_local! {
    /// On tokio's threads: the gmp runtime entered at the thread's start.
    static GMP_ENTERED: RefCell<Option<EnterGuard>> = const { RefCell::new(None) };
}

impl TokioCompat {
    /// The thread hook: the tokio handle entered while the thread's body
    /// runs.
    pub(crate) fn hook(self: &Arc<Self>) -> ThreadWrap {
        let me = self.clone();
        Arc::new(move |body: &mut dyn FnMut()| match me.handle.get() {
            Some(handle) => {
                let _entered = handle.enter();
                body();
            }
            None => body(),
        })
    }

    /// Starts the tokio runtime for `shared`: one worker named
    /// `<name>-tokio`, every driver on, `shared` entered on each of its
    /// threads. Called once, by `Builder::build`, before the Ms start.
    pub(crate) fn start(&self, shared: &Arc<Shared>) -> io::Result<()> {
        let gmp: Weak<Shared> = Arc::downgrade(shared);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("{}-tokio", shared.config.name))
            .enable_all()
            .on_thread_start(move || {
                // Weak: the tokio runtime belongs to `shared`, and must not
                // keep it alive. While this thread lives, its entry does.
                if let Some(shared) = gmp.upgrade() {
                    let guard = context::enter(&shared, false);
                    GMP_ENTERED.with(|e| *e.borrow_mut() = Some(guard));
                }
            })
            .on_thread_stop(|| {
                if let Some(guard) = GMP_ENTERED.with(|e| e.borrow_mut().take()) {
                    drop(guard);
                }
            })
            .build()?;
        let _ = self.handle.set(runtime.handle().clone());
        *self.runtime.lock().unwrap_or_else(PoisonError::into_inner) = Some(runtime);
        Ok(())
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
