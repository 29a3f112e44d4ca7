//! Shared helpers for gmp's benchmarks (the benchmark targets live beside this
//! crate's `Cargo.toml`). Nothing here is published.

use std::ptr::NonNull;

/// A one-word work item that owns nothing, so queue benchmarks measure the queue
/// and not the allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token(pub usize);

// SAFETY: the token is the value plus one (never null) and `from_raw` inverts it;
// a `Token` owns nothing, so converting it is always sound.
unsafe impl gmp_core::Item for Token {
    #[inline]
    fn into_raw(self) -> NonNull<()> {
        NonNull::new((self.0 + 1) as *mut ()).expect("token values stay below usize::MAX")
    }

    #[inline]
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        Token(ptr.as_ptr() as usize - 1)
    }
}
