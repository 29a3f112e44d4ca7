//! The overflow report on Windows: a vectored exception handler.
//!
//! Windows reports a stack overflow as an exception, `STATUS_STACK_OVERFLOW`,
//! raised on the overflowing stack itself once the guard can move no lower:
//! the kernel turns the stack guarantee's pages into usable stack first, and
//! the handlers run in that room (`sys/windows.rs` lays the stacks out so).
//! A vectored handler, added first, sees the exception before any frame's
//! handler and before Rust's own (which would call it an overflow of the
//! thread). A local variable of the handler lives on the stack that
//! overflowed, so its address, looked up in the slab table, tells whether the
//! stack is one of ours; if it is, the handler writes `G <id> overflowed its
//! <n>-byte stack` to stderr and aborts. An access violation in one of our
//! hard guard pages (a frame that jumped the soft guard) is reported the same
//! way. Every other exception goes on to the next handler.
//!
//! Windows gives each thread its alternate room itself (the guarantee), so
//! there is nothing to prepare per thread.

use std::cell::Cell;
use std::io;
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::{EXCEPTION_ACCESS_VIOLATION, EXCEPTION_STACK_OVERFLOW};
use windows_sys::Win32::Storage::FileSystem::WriteFile;
use windows_sys::Win32::System::Console::{GetStdHandle, STD_ERROR_HANDLE};
use windows_sys::Win32::System::Diagnostics::Debug::{
    AddVectoredExceptionHandler, EXCEPTION_POINTERS,
};

use super::{guard_size, report_and_abort, stack_size_at, CURRENT_ID};

/// `EXCEPTION_CONTINUE_SEARCH`: not ours, pass it on.
const CONTINUE_SEARCH: i32 = 0;

/// Writes `msg` to stderr and aborts.
pub(super) fn write_stderr_and_abort(msg: &[u8]) -> ! {
    // SAFETY: GetStdHandle takes no pointers; WriteFile reads `msg.len()`
    // bytes from `msg`, which is valid, and writes the count to `written`.
    unsafe {
        let err = GetStdHandle(STD_ERROR_HANDLE);
        let mut written = 0u32;
        WriteFile(
            err,
            msg.as_ptr(),
            msg.len() as u32,
            &mut written,
            std::ptr::null_mut(),
        );
    }
    std::process::abort()
}

/// The vectored handler (module docs).
unsafe extern "system" fn on_exception(info: *mut EXCEPTION_POINTERS) -> i32 {
    // SAFETY: the system passes valid exception pointers to a vectored
    // handler for the duration of the call.
    let record = unsafe { &*(*info).ExceptionRecord };
    let code = record.ExceptionCode;
    if code == EXCEPTION_STACK_OVERFLOW {
        let here = 0u8;
        if let Some(size) = stack_size_at(std::ptr::addr_of!(here) as usize) {
            let id = CURRENT_ID.try_with(Cell::get).unwrap_or(0);
            report_and_abort(id, size);
        }
    } else if code == EXCEPTION_ACCESS_VIOLATION && record.NumberParameters >= 2 {
        // ExceptionInformation[1] is the address that faulted.
        if let Some(size) = guard_size(record.ExceptionInformation[1]) {
            let id = CURRENT_ID.try_with(Cell::get).unwrap_or(0);
            report_and_abort(id, size);
        }
    }
    CONTINUE_SEARCH
}

/// Installs the overflow handler for the process, once. Later calls return
/// the first call's result.
///
/// ```
/// gmp_coro::overflow::install_handler()?;
/// gmp_coro::overflow::install_handler()?; // later calls do nothing
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn install_handler() -> io::Result<()> {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    // SAFETY: `on_exception` is a valid vectored handler for the life of the
    // process (it is never removed).
    let ok = *INSTALLED
        .get_or_init(|| !unsafe { AddVectoredExceptionHandler(1, Some(on_exception)) }.is_null());
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(
            "installing the coroutine stack-overflow handler failed",
        ))
    }
}

/// Gets the calling thread ready to run coroutines: installs the handler
/// (once per process). Windows needs nothing per thread (module docs).
///
/// ```
/// let ready = std::thread::spawn(gmp_coro::overflow::prepare_thread).join().unwrap();
/// assert!(ready.is_ok());
/// ```
pub fn prepare_thread() -> io::Result<()> {
    install_handler()
}
