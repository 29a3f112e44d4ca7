//! `JoinHandle` and `JoinError`: tokio's shape, so code that awaits tokio's
//! handles keeps compiling.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::UnwindSafe;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::task::{Context, Poll};

use super::{Header, Id};

/// An owned permission to join a task (await its output).
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or
/// was aborted. Dropping it **detaches** the task: it keeps running, and its
/// output is dropped when it finishes.
///
/// ```
/// # gmp_exec::Runtime::new().unwrap().block_on(async {
/// let handle = gmp_exec::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
/// # });
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: the handle only reads `T` once, when the task is complete, and the
// header is accessed through atomics; a `T: Send` may be moved to and read on
// whichever thread holds the handle.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: every `&self` method (`abort`, `is_finished`, `id`) only touches the
// atomic state word.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> UnwindSafe for JoinHandle<T> {}
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Takes over the JoinHandle reference of a new task.
    pub(crate) fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle holds a reference, so the cell is alive.
        unsafe { self.raw.as_ref() }
    }

    /// Asks the task to stop: its future is dropped the next time it would have
    /// been polled (or at once, if it is idle), and awaiting this handle gives a
    /// cancelled [`JoinError`] unless the task finished first.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = handle.await.unwrap_err();
    /// assert!(err.is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        abort(self.raw)
    }

    /// True once the task has finished (completed, panicked or been cancelled).
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(async { 1 });
    /// while !handle.is_finished() {
    ///     gmp_exec::yield_now().await;
    /// }
    /// assert_eq!(handle.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The task's id.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let a = gmp_exec::spawn(async { gmp_exec::task::id() });
    /// let b = gmp_exec::spawn(async {});
    /// assert_ne!(a.id(), b.id());
    /// let a_id = a.id();
    /// assert_eq!(a.await.unwrap(), a_id);
    /// # });
    /// ```
    pub fn id(&self) -> Id {
        self.header().task_id()
    }

    /// A handle that can abort the task without owning its output.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(std::future::pending::<()>());
    /// let aborter = handle.abort_handle();
    /// assert_eq!(aborter.id(), handle.id());
    /// aborter.abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

fn abort(raw: NonNull<Header>) {
    // SAFETY: the caller holds a reference.
    let header = unsafe { raw.as_ref() };
    if header.state.transition_to_notified_and_cancel() {
        // SAFETY: the transition made a notified reference for us to submit;
        // the task is not complete, so its scheduler is live.
        unsafe { (header.vtable().schedule)(raw) }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: the vtable matches the task's output type `T` (the handle was
        // created by `new_task` for this very cell), and `out` has that type.
        unsafe {
            (self.header().vtable().try_read_output)(
                self.raw,
                (&mut out as *mut Poll<Result<T, JoinError>>).cast(),
                cx.waker(),
            )
        };
        if out.is_pending() {
            super::wait::note(super::wait::Wait::Join(self.header().id));
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.header().state.drop_join_handle_fast() {
            return;
        }
        // SAFETY: we hand the handle's reference to the slow path, which
        // consumes it.
        unsafe { (self.header().vtable().drop_join_handle_slow)(self.raw) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Aborts a task without owning its output (tokio's `AbortHandle`).
///
/// ```
/// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let handle = gmp_exec::spawn(std::future::pending::<()>());
/// let aborter: gmp_exec::AbortHandle = handle.abort_handle();
/// // The abort handle can move to another task while `handle` stays here.
/// gmp_exec::spawn(async move { aborter.abort() }).await.unwrap();
/// assert!(handle.await.unwrap_err().is_cancelled());
/// # });
/// ```
pub struct AbortHandle {
    raw: NonNull<Header>,
}

// SAFETY: only the atomic state word is touched.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// See [`JoinHandle::abort`].
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(std::future::pending::<()>());
    /// handle.abort_handle().abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        abort(self.raw)
    }

    /// See [`JoinHandle::is_finished`].
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(async { 2 });
    /// let aborter = handle.abort_handle();
    /// assert_eq!(handle.await.unwrap(), 2);
    /// assert!(aborter.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        // SAFETY: we hold a reference.
        unsafe { self.raw.as_ref() }.state.load().is_complete()
    }

    /// The task's id.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(async {});
    /// assert_eq!(handle.abort_handle().id(), handle.id());
    /// # handle.await.unwrap();
    /// # });
    /// ```
    pub fn id(&self) -> Id {
        // SAFETY: we hold a reference.
        unsafe { self.raw.as_ref() }.task_id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> Self {
        // SAFETY: we hold a reference.
        unsafe { self.raw.as_ref() }.state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: we own one reference, released here.
        unsafe {
            let header = self.raw.as_ref();
            if header.state.ref_dec() {
                (header.vtable().dealloc)(self.raw);
            }
        }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Why a task produced no output: it panicked, or it was cancelled (aborted, or
/// its runtime shut down).
///
/// ```
/// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let err: gmp_exec::JoinError = gmp_exec::spawn(async { panic!("oops") })
///     .await
///     .unwrap_err();
/// assert!(err.is_panic());
/// assert!(err.to_string().contains("oops"));
/// # });
/// ```
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    // A Mutex makes the `Send`-only payload `Sync` without unsafe code; it is
    // locked only to format the error or to take the payload out. Boxed, so a
    // task's output slot (`Result<T, JoinError>`) stays two words plus `T`.
    Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(Box::new(Mutex::new(payload))),
        }
    }

    /// True if the task was cancelled.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = handle.await.unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_panic());
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let err = gmp_exec::spawn(async { panic!("bad input") }).await.unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic's payload, to resume it with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicking; see
    /// [`try_into_panic`](Self::try_into_panic).
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let err = gmp_exec::spawn(async { std::panic::panic_any(17u32) }).await.unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&17));
    /// # });
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic's payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = handle.await.unwrap_err();
    /// // A cancelled task has no payload: the error comes back.
    /// let err = err.try_into_panic().unwrap_err();
    /// assert!(err.is_cancelled());
    /// # });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok((*p).into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    ///
    /// ```
    /// # gmp_exec::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// let handle = gmp_exec::spawn(async { panic!("fail") });
    /// let id = handle.id();
    /// assert_eq!(handle.await.unwrap_err().id(), id);
    /// # });
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    fn panic_message(&self) -> Option<String> {
        match &self.repr {
            Repr::Panic(p) => {
                let p = p.lock().unwrap_or_else(|e| e.into_inner());
                p.downcast_ref::<&'static str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
            }
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "JoinError::Panic({:?}, {msg:?}, ...)", self.id),
                None => write!(f, "JoinError::Panic({:?}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> Self {
        std::io::Error::other(e.to_string())
    }
}
