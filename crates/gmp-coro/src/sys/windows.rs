//! Stacks on Windows: `VirtualAlloc`, and the Thread Environment Block's view
//! of a stack.
//!
//! Windows grows a thread's stack itself, and a coroutine stack must look
//! like one to it (corosensei switches the TEB's stack fields on every
//! resume and suspend, and asks the stack for them):
//!
//! ```text
//!  guard_addr      DeallocationStack
//!  | hard guard | ... reserved ... | soft guard + guarantee | committed | top
//!                                  ^ PAGE_GUARD            ^ StackLimit ^ StackBase
//! ```
//!
//! * a slab is reserved (`MEM_RESERVE`), not committed: Windows charges
//!   committed memory against the commit limit, so a stack commits only what
//!   it uses;
//! * each stack commits its top page, with the soft guard pages (two on
//!   64-bit) and the thread's stack guarantee just below, committed with
//!   `PAGE_GUARD`. Touching a guard page is an exception the kernel handles
//!   for the current stack by committing the page and moving the guard (and
//!   the TEB's `StackLimit`) down: the stack grows one page at a time;
//! * the lowest page of the stride stays reserved: the hard guard. When the
//!   guard cannot move any more, the kernel raises `STATUS_STACK_OVERFLOW`
//!   on the stack itself, whose guarantee pages leave the handler room to run
//!   (the report is `overflow/windows.rs`).
//!
//! A stack remembers how far it grew ([`Teb`], updated by corosensei at each
//! switch) and, going back to the pool, is reset if it grew: its grown pages
//! decommitted and its guard re-installed below the top page ([`reset`]).
//! Unlike the Unix canary that guesses, this knows.

use std::io;
use std::ptr;
use std::sync::OnceLock;

use windows_sys::Win32::System::Memory::{
    VirtualAlloc, VirtualFree, MEM_COMMIT, MEM_DECOMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_GUARD,
    PAGE_READWRITE,
};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::SetThreadStackGuarantee;

use crate::stack::GUARD_WINDOWS;

/// The system page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: all-zero bytes are a valid SYSTEM_INFO, which the call fills in.
    let mut info: SYSTEM_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid out-pointer.
    unsafe { GetSystemInfo(&mut info) };
    info.dwPageSize as usize
}

/// Pages a fresh stack commits at its top.
const INITIAL_PAGES: usize = 1;

/// Bytes of soft guard plus stack guarantee below a stack's committed part:
/// two guard pages on 64-bit (a fault may be up to a page into the guard, as
/// corosensei's stacks allow) and the thread's stack guarantee (at least one
/// page), read once.
fn guard_region(page: usize) -> usize {
    static GUARANTEE: OnceLock<usize> = OnceLock::new();
    let guarantee = *GUARANTEE.get_or_init(|| {
        let mut bytes: u32 = 0;
        // SAFETY: a zero value only queries the current guarantee.
        unsafe { SetThreadStackGuarantee(&mut bytes) };
        (bytes as usize).max(page)
    });
    2 * page + guarantee.next_multiple_of(page)
}

/// The bytes below a stack's usable ones: the hard guard page, and the room
/// the soft guard and the guarantee take when the stack has grown to its
/// bottom, so that a stack can use all of its `size` bytes (module docs).
pub(crate) fn guard_len(page: usize) -> usize {
    page + guard_region(page)
}

/// Reserves `len` bytes of address space for a slab; returns its base.
pub(crate) fn map_slab(len: usize) -> io::Result<usize> {
    // SAFETY: a fresh reservation at an address of the system's choosing
    // touches no existing memory.
    let base = unsafe { VirtualAlloc(ptr::null(), len, MEM_RESERVE, PAGE_READWRITE) };
    if base.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(base as usize)
}

/// Releases a slab none of whose stacks was handed out.
///
/// # Safety
///
/// `base` is a slab from [`map_slab`] that nobody uses.
pub(crate) unsafe fn unmap(base: usize, _len: usize) {
    // SAFETY: the caller's contract; MEM_RELEASE takes the whole reservation.
    unsafe { VirtualFree(base as *mut _, 0, MEM_RELEASE) };
}

/// Commits `[addr, addr + len)` with `protect`.
fn commit(addr: usize, len: usize, protect: u32) -> io::Result<()> {
    // SAFETY: the range lies inside a slab we reserved and own; committing
    // touches nothing else.
    let p = unsafe { VirtualAlloc(addr as *const _, len, MEM_COMMIT, protect) };
    if p.is_null() {
        let err = io::Error::last_os_error();
        return Err(io::Error::new(
            err.kind(),
            format!(
                "committing a coroutine stack's pages failed: {err}; {}",
                map_limit_hint()
            ),
        ));
    }
    Ok(())
}

/// Sets up the stack of `size` usable bytes whose stride starts at
/// `guard_addr`: its top page committed, the guard region below it (module
/// docs). The stride's lowest page stays reserved: the hard guard.
///
/// Called only with the pool's global lock held.
pub(crate) fn install_guard(guard_addr: usize, page: usize, size: usize) -> io::Result<()> {
    crate::stack::set_guard_mode(GUARD_WINDOWS);
    let top = guard_addr + guard_len(page) + size;
    let limit = top - INITIAL_PAGES * page;
    commit(limit, INITIAL_PAGES * page, PAGE_READWRITE)?;
    let guard = guard_region(page);
    commit(limit - guard, guard, PAGE_READWRITE | PAGE_GUARD)
}

/// What the TEB says about one stack: how far down it is committed, and its
/// guarantee. Kept in the stack between switches.
pub(crate) struct Teb {
    pub(crate) limit: usize,
    pub(crate) guarantee: usize,
}

impl Teb {
    /// A stack as [`install_guard`] or [`reset`] left it.
    pub(crate) fn fresh(top: usize) -> Teb {
        let page = crate::stack::page_size();
        Teb {
            limit: top - INITIAL_PAGES * page,
            guarantee: guard_region(page) - 2 * page,
        }
    }

    /// The TEB's fields for the stack of `size` bytes below `top`.
    pub(crate) fn fields(&self, top: usize, size: usize) -> corosensei::stack::StackTebFields {
        corosensei::stack::StackTebFields {
            StackBase: top,
            StackLimit: self.limit,
            DeallocationStack: top - size - crate::stack::guard_len(),
            GuaranteedStackBytes: self.guarantee,
        }
    }
}

/// Puts a stack that grew back as it started: decommits the pages it grew
/// into and re-installs its guard region below the top page. A stack that
/// never grew costs nothing here.
///
/// Called when the stack leaves its coroutine, on a stack nobody runs on.
pub(crate) fn reset(top: usize, size: usize, teb: &Teb) {
    let page = crate::stack::page_size();
    let fresh = top - INITIAL_PAGES * page;
    if teb.limit >= fresh {
        return;
    }
    let bottom = top - size;
    // SAFETY: `[bottom, fresh)` lies inside the stack's usable bytes, which
    // nobody uses now; decommitting drops their contents, which are dead.
    unsafe { VirtualFree(bottom as *mut _, fresh - bottom, MEM_DECOMMIT) };
    let guard = guard_region(page);
    // A failure leaves the stack without its soft guard: it can no longer
    // grow, and its first touch below the top page is an access violation
    // (reported as an overflow), never a silent overrun.
    let _ = commit(fresh - guard, guard, PAGE_READWRITE | PAGE_GUARD);
}

/// Unused on Windows: [`reset`] gives pages back, exactly.
///
/// # Safety
///
/// None needed; it does nothing.
pub(crate) unsafe fn release(_addr: usize, _len: usize) {}

/// What to tell the user when the system refuses memory.
pub(crate) fn map_limit_hint() -> String {
    "the process is out of address space or over the system's commit limit".to_owned()
}
