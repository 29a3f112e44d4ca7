//! `task::Builder`: spawning with a name (tokio's shape). Re-exported from
//! [`task`](crate::task); it lives here, beside the runtime it spawns on, so
//! that the task cell code does not depend on the runtime.

use std::future::Future;
use std::io;
use std::panic::Location;

use crate::context;
use crate::runtime::Handle;
use crate::task::JoinHandle;

/// Spawns a task with options; for now, a name that shows in task dumps and
/// watchdog reports.
///
/// ```
/// let rt = gmp_exec::Runtime::new().unwrap();
/// let h = rt.block_on(async {
///     gmp_exec::task::Builder::new()
///         .name("cache-refresher")
///         .spawn(async { 7 })
///         .unwrap()
/// });
/// assert_eq!(rt.block_on(h).unwrap(), 7);
/// ```
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    ///
    /// ```
    /// let builder = gmp_exec::task::Builder::new();
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = builder.spawn_on(async { 1 }, rt.handle()).unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn new() -> Self {
        Builder { name: None }
    }

    /// Names the task.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = gmp_exec::task::Builder::new()
    ///     .name("ticker")
    ///     .spawn_on(std::future::pending::<()>(), rt.handle())
    ///     .unwrap();
    /// let dump = rt.handle().dump();
    /// let task = dump.tasks.iter().find(|t| t.id == h.id()).unwrap();
    /// assert_eq!(task.name.as_deref(), Some("ticker"));
    /// ```
    pub fn name(self, name: &'a str) -> Self {
        Builder { name: Some(name) }
    }

    /// Spawns on the current runtime (see [`crate::spawn`]). Always `Ok`; the
    /// `Result` is tokio's signature.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let sum = rt.block_on(async {
    ///     let h = gmp_exec::task::Builder::new().name("adder").spawn(async { 2 + 3 });
    ///     h.unwrap().await.unwrap()
    /// });
    /// assert_eq!(sum, 5);
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        Ok(context::spawn(future, location, self.name))
    }

    /// Spawns on `handle`'s runtime.
    ///
    /// ```
    /// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
    /// let h = gmp_exec::task::Builder::new()
    ///     .name("worker")
    ///     .spawn_on(async { "on rt" }, rt.handle())
    ///     .unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), "on rt");
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(handle.shared.spawn(future, Location::caller(), self.name))
    }
}
