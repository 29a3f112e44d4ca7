//! What the queues carry: owned handles that travel as one machine word.

use std::ptr::NonNull;

/// An owned value that can be turned into a non-null pointer and back.
///
/// Go's run queues hold `guintptr`s, one word each. Ours do the same: an item is
/// converted into a raw pointer when it enters a queue and converted back when it
/// leaves, so every slot of the ring can be an atomic word. That is what lets a
/// thief read slots optimistically and then claim them with a single CAS (see the
/// [`runq`](crate::runq) module): a racing read of an atomic word is defined
/// behaviour, a racing read of an arbitrary `T` is not.
///
/// ```
/// use std::ptr::NonNull;
/// use gmp_core::{global::Global, Item};
///
/// struct Task(Box<u64>);
///
/// // SAFETY: the token is the box's pointer, and `from_raw` rebuilds that box.
/// unsafe impl Item for Task {
///     fn into_raw(self) -> NonNull<()> {
///         NonNull::from(Box::leak(self.0)).cast()
///     }
///     unsafe fn from_raw(ptr: NonNull<()>) -> Self {
///         // SAFETY: the caller passes a token from `into_raw`, used once.
///         Task(unsafe { Box::from_raw(ptr.cast().as_ptr()) })
///     }
/// }
///
/// let global = Global::new();
/// assert!(global.push(Task(Box::new(7))).is_ok());
/// assert_eq!(*global.pop().unwrap().0, 7);
/// ```
///
/// # Safety
///
/// Implementors promise that:
///
/// 1. `into_raw` gives up ownership: the value must not be dropped or used again
///    until `from_raw` reconstructs it;
/// 2. `from_raw(into_raw(x))` returns a value equal to `x` in every observable way,
///    and may be called on another thread than the one that called `into_raw`
///    (the item type is `Send`);
/// 3. the pointer is only ever used as an opaque token by the queues, which never
///    dereference it.
pub unsafe trait Item: Send + Sized {
    /// Gives up ownership of `self` and returns the token that stands for it.
    fn into_raw(self) -> NonNull<()>;

    /// Rebuilds the item from its token.
    ///
    /// # Safety
    ///
    /// `ptr` must come from [`Item::into_raw`] on the same type, and each token
    /// may be turned back into an item at most once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self;
}

// SAFETY: `Box::into_raw` gives up ownership and never returns null; `Box::from_raw`
// restores exactly that box. `Box<U>: Send` whenever `U: Send`.
unsafe impl<U: Send> Item for Box<U> {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self)).cast()
    }

    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes a token from `into_raw` on `Box<U>`, used once,
        // so it is a live, uniquely owned `U` allocated by `Box`.
        unsafe { Box::from_raw(ptr.cast::<U>().as_ptr()) }
    }
}

/// A raw item token that may cross threads inside a queue.
///
/// The queues only move tokens around; the `Item: Send` bound on every public
/// entry point is what makes sending them sound.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Raw(pub(crate) NonNull<()>);

// SAFETY: a `Raw` is only created from an `Item` (which is `Send`) and only turned
// back into that same item type; the token itself is never dereferenced here.
unsafe impl Send for Raw {}
