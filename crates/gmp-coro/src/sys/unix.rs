//! Stacks on Unix: `mmap`, `mprotect`/`madvise`, `sysconf`.
//!
//! What differs between the family's members, each behind a `cfg` naming it:
//!
//! * **guard pages**: Linux 6.13 installs them with `madvise(MADV_GUARD_INSTALL)`
//!   without splitting the slab's mapping, and falls back to `mprotect` on
//!   older kernels ([`GUARD_ENV`](crate::stack::GUARD_ENV) forces the
//!   fallback). Every other system uses `mprotect(PROT_NONE)`, which splits the
//!   mapping; their mapping limits are far higher than Linux's
//!   `vm.max_map_count`.
//! * **slab flags**: `MAP_NORESERVE` (Linux: not charged as committed memory)
//!   and `MADV_NOHUGEPAGE` (Linux: no transparent huge pages in stacks) are
//!   Linux's; `MAP_STACK` is passed on Linux and OpenBSD (where the kernel
//!   kills a thread whose stack pointer leaves a `MAP_STACK` region) and not
//!   on FreeBSD, where it asks for a grow-down stack region instead.
//! * **releasing pages**: Linux's `MADV_DONTNEED` on a private anonymous
//!   mapping drops the pages and guarantees zeros on the next read, in one
//!   call that keeps the mapping whole. Elsewhere `MADV_DONTNEED` is only a
//!   hint (Apple's systems and the BSDs may keep the old contents), so the
//!   range is replaced by a fresh anonymous mapping (`mmap` with
//!   `MAP_FIXED`), which is zero-filled everywhere POSIX is.

use std::io;
use std::ptr;
#[cfg(target_os = "linux")]
use std::sync::atomic::Ordering::Relaxed;

#[cfg(target_os = "linux")]
use crate::stack::{guard_kind, GUARD_ENV, GUARD_MODE};
use crate::stack::{GuardKind, GUARD_MADVISE, GUARD_MPROTECT};

/// The system page size, from `sysconf`.
pub(crate) fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).expect("sysconf(_SC_PAGESIZE) failed")
}

/// The bytes below a stack's usable ones: one guard page.
pub(crate) fn guard_len(page: usize) -> usize {
    page
}

/// `mmap` flags of a slab (module docs).
#[cfg(target_os = "linux")]
const SLAB_FLAGS: libc::c_int =
    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
#[cfg(target_os = "openbsd")]
const SLAB_FLAGS: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_STACK;
#[cfg(not(any(target_os = "linux", target_os = "openbsd")))]
const SLAB_FLAGS: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANON;

/// `mmap` flags of an alternate signal stack: a stack too, for OpenBSD.
#[cfg(any(target_os = "linux", target_os = "openbsd"))]
pub(crate) const ALT_STACK_FLAGS: libc::c_int =
    libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_STACK;
#[cfg(not(any(target_os = "linux", target_os = "openbsd")))]
pub(crate) const ALT_STACK_FLAGS: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANON;

/// Maps `len` bytes read-write for a slab of stacks; returns its base.
pub(crate) fn map_slab(len: usize) -> io::Result<usize> {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            SLAB_FLAGS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // Best effort: keep transparent huge pages out of stacks. `MAP_STACK`
    // already implies this on Linux >= 6.7.
    #[cfg(target_os = "linux")]
    // SAFETY: the range is the mapping we just made.
    unsafe {
        libc::madvise(base, len, libc::MADV_NOHUGEPAGE)
    };
    Ok(base as usize)
}

/// Unmaps a slab none of whose stacks was handed out.
///
/// # Safety
///
/// `[base, base + len)` is a slab from [`map_slab`] that nobody uses.
pub(crate) unsafe fn unmap(base: usize, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { libc::munmap(base as *mut libc::c_void, len) };
}

/// Makes the page at `addr` a guard page, choosing the mechanism on first use
/// (Linux; elsewhere always `mprotect`).
///
/// Called only with the pool's global lock held (it may decide the guard mode).
pub(crate) fn install_guard(addr: usize, page: usize, _size: usize) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    let mode = {
        /// `MADV_GUARD_INSTALL` from `<linux/mman.h>` (Linux 6.13); not in
        /// `libc` yet.
        const MADV_GUARD_INSTALL: libc::c_int = 102;
        let mut mode = GUARD_MODE.load(Relaxed);
        if mode == crate::stack::GUARD_UNKNOWN {
            let forced = std::env::var(GUARD_ENV).is_ok_and(|v| v == "mprotect");
            mode = if forced {
                GUARD_MPROTECT
            } else {
                GUARD_MADVISE
            };
        }
        if mode == GUARD_MADVISE {
            // SAFETY: `addr` is a page inside a slab we just mapped and own.
            let rc = unsafe { libc::madvise(addr as *mut libc::c_void, page, MADV_GUARD_INSTALL) };
            if rc == 0 {
                GUARD_MODE.store(GUARD_MADVISE, Relaxed);
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINVAL) || guard_kind().is_some() {
                return Err(io::Error::new(
                    err.kind(),
                    format!("installing a stack guard page failed: {err}"),
                ));
            }
            // This kernel does not know MADV_GUARD_INSTALL: fall back for good.
            mode = GUARD_MPROTECT;
        }
        mode
    };
    #[cfg(not(target_os = "linux"))]
    let mode = GUARD_MPROTECT;
    debug_assert!(mode != GUARD_MADVISE);
    crate::stack::set_guard_mode(mode);
    // SAFETY: `addr` is a page inside a slab we just mapped and own;
    // PROT_NONE on it touches nothing else.
    let rc = unsafe { libc::mprotect(addr as *mut libc::c_void, page, libc::PROT_NONE) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return Err(io::Error::new(
            err.kind(),
            format!(
                "installing a stack guard page with mprotect failed: {err}; {}",
                map_limit_hint()
            ),
        ));
    }
    Ok(())
}

/// Gives `[addr, addr + len)` of a stack back to the OS; the next read of it
/// finds zeros (module docs: `MADV_DONTNEED` on Linux, a fresh mapping
/// elsewhere).
///
/// # Safety
///
/// The range is page-aligned, lies inside the usable bytes of a stack that
/// nobody runs on, and nobody reads what it held.
pub(crate) unsafe fn release(addr: usize, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: the caller's contract: dropping these pages loses nothing
    // anybody will read.
    unsafe {
        libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED)
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: the caller's contract: the range is ours, page-aligned, and its
    // contents are dead; MAP_FIXED replaces exactly that range (the guard
    // page below it is not part of it). On failure the old pages stay,
    // which costs memory, never correctness.
    unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            SLAB_FLAGS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
}

/// What to tell the user when the kernel refuses a mapping.
pub(crate) fn map_limit_hint() -> String {
    // Linux: the limit is `vm.max_map_count`, readable in /proc.
    #[cfg(target_os = "linux")]
    let max = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    let how = match crate::stack::guard_kind() {
        Some(GuardKind::Mprotect) => {
            "guard pages use mprotect, which splits every stack into its own \
             mappings, so the process can hold only about half as many stacks \
             as the limit on mappings"
        }
        _ => "each slab of stacks is one mapping",
    };
    #[cfg(target_os = "linux")]
    return format!(
        "the process is out of address space or at the kernel's limit on mappings \
         (vm.max_map_count = {max}); {how}"
    );
    #[cfg(not(target_os = "linux"))]
    return format!(
        "the process is out of address space or at the kernel's limit on mappings; {how}"
    );
}
