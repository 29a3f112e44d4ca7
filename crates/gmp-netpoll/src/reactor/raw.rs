//! The one place the reactor names the OS's handle for a source: a file
//! descriptor on Unix, a `SOCKET` on Windows (mio's and polling's split).
//!
//! Everything else in the reactor speaks of [`BorrowedSource`] and
//! [`RawSource`]; on Unix they are `BorrowedFd` and `RawFd`, so code written
//! for Unix reads as before.

#[cfg(unix)]
pub use std::os::fd::{BorrowedFd as BorrowedSource, RawFd as RawSource};
#[cfg(windows)]
pub use std::os::windows::io::{BorrowedSocket as BorrowedSource, RawSocket as RawSource};

/// The raw handle of a borrowed source.
#[cfg(unix)]
pub(crate) fn as_raw(source: BorrowedSource<'_>) -> RawSource {
    std::os::fd::AsRawFd::as_raw_fd(&source)
}

/// The raw handle of a borrowed source.
#[cfg(windows)]
pub(crate) fn as_raw(source: BorrowedSource<'_>) -> RawSource {
    std::os::windows::io::AsRawSocket::as_raw_socket(&source)
}

/// Borrows a raw handle again.
///
/// # Safety
///
/// `raw` must stay open for `'a` (`BorrowedFd::borrow_raw`'s contract).
#[cfg(unix)]
pub(crate) unsafe fn borrow_raw<'a>(raw: RawSource) -> BorrowedSource<'a> {
    // SAFETY: the caller's contract.
    unsafe { BorrowedSource::borrow_raw(raw) }
}

/// Borrows a raw handle again.
///
/// # Safety
///
/// `raw` must stay open for `'a` (`BorrowedSocket::borrow_raw`'s contract).
#[cfg(windows)]
pub(crate) unsafe fn borrow_raw<'a>(raw: RawSource) -> BorrowedSource<'a> {
    // SAFETY: the caller's contract.
    unsafe { BorrowedSource::borrow_raw(raw) }
}
