//! An asymmetric memory barrier: cheap for the Ms, expensive for sysmon.
//!
//! Sysmon takes a P away from an M stuck in a long poll or a `syscall` (see
//! `sysmon.rs`), and that M may touch its P's state at any moment — every spawn
//! and wake inside the poll does. The two sides form a Dekker pair:
//!
//! * **M** (on every P-state access): store `in_core = true`; *light barrier*;
//!   load `revoked`; if revoked, back off.
//! * **sysmon** (on a retake, rarely): store `revoked = p`; *heavy barrier*;
//!   wait until `in_core` is false; then hand the P to another M.
//!
//! A Dekker pair needs a StoreLoad barrier on both sides; a `SeqCst` fence on
//! the M side would cost an `mfence` on every spawn. Instead the M side is only
//! a compiler barrier and the heavy side is Linux's `membarrier(2)`
//! (`MEMBARRIER_CMD_PRIVATE_EXPEDITED`): it interrupts every CPU running a
//! thread of this process and makes each execute a full barrier before the call
//! returns. So if sysmon does not see the M's `in_core` store, that store comes
//! after the interrupt on the M's CPU, and the M's following load of `revoked`
//! sees sysmon's store. This is the scheme userspace RCU and folly's asymmetric
//! barriers use; the Rust memory model has no name for it, so it is confined to
//! these functions.
//!
//! **On Windows** the heavy side is `FlushProcessWriteBuffers`, the same
//! barrier under another name (an interrupt to every processor running a
//! thread of the process, which flushes its write queue before the call
//! returns; folly's and .NET's asymmetric barriers use it there), always
//! available, so the Ms keep the compiler barrier. Apple's systems and the
//! BSDs have no such call (the `mprotect` trick some use promises nothing on
//! arm64, whose TLB shootdowns need no interrupt): they take the fallback.
//!
//! **Without `membarrier`** (Apple's systems, the BSDs, an old kernel, a
//! seccomp sandbox that forbids it, or [`NO_MEMBARRIER_ENV`] set on Linux)
//! both sides are `SeqCst` fences: the
//! symmetric form of the same argument (C++20 [atomics.fences]: of two `SeqCst`
//! fences, one comes first in the single total order, so the load after the
//! later one sees the store before the earlier one). Retake stays on and
//! correct; only the Ms pay, a real fence per P-state access. The M side
//! ([`light_or_fence`]) picks its barrier without waiting, so the choice must
//! be safe whichever way a race goes:
//!
//! * It uses the compiler barrier only once [`known_available`] says yes, which
//!   is set only after this process registered for `membarrier`. From then on
//!   every heavy barrier is a `membarrier` ([`heavy_or_fence`]), which also
//!   covers an M that still fenced (a stale "no" only costs a fence).
//! * Until registration is decided the Ms fence, and sysmon, which decides it
//!   ([`available`], before its first retake), never retakes before.
//! * If the registration failed, nothing ever says yes: the Ms always fence,
//!   and sysmon's fence completes the symmetric pair.
//!
//! One case has no safe answer: `membarrier` failing after the registration
//! succeeded (an M may then have used only a compiler barrier). The kernel
//! does not do that short of a bug, so [`heavy_or_fence`] aborts there.
//!
//! Under loom both sides are `SeqCst` fences, the symmetric form, which loom
//! can check.

#[cfg(not(loom))]
use std::sync::atomic::compiler_fence;
use std::sync::atomic::Ordering::SeqCst;

/// The M side: orders the store before it and the load after it against a
/// concurrent [`heavy`] barrier.
#[inline(always)]
pub(crate) fn light() {
    #[cfg(loom)]
    loom::sync::atomic::fence(SeqCst);
    #[cfg(not(loom))]
    compiler_fence(SeqCst);
}

/// The light side when [`heavy`] may be unavailable: a compiler barrier if the
/// heavy side is known to work, else a real `SeqCst` fence (so both sides are
/// fences, the symmetric Dekker argument; a fence against `membarrier` is
/// stronger than needed, never weaker). Never blocks: registering for
/// `membarrier` takes the kernel milliseconds (an RCU grace period), which an M
/// must not wait out in the middle of a task's completion.
#[inline(always)]
pub(crate) fn light_or_fence() {
    if known_available() {
        light();
    } else {
        // SeqCst fence: the symmetric side of the pair (see above).
        #[cfg(loom)]
        loom::sync::atomic::fence(SeqCst);
        #[cfg(not(loom))]
        std::sync::atomic::fence(SeqCst);
    }
}

/// The heavy side paired with [`light_or_fence`]: `membarrier` where this
/// process registered for it, else a `SeqCst` fence. May block the first time
/// (it decides [`available`]). Aborts the process if `membarrier` fails after
/// registering (module docs: no safe fallback is left then).
pub(crate) fn heavy_or_fence() {
    if heavy() {
        return;
    }
    if available() {
        // `available()` said yes, so an M may have paired a mere compiler
        // barrier with this call; a failed barrier leaves no safe way to tell
        // whether it is still using the P (or the registry).
        eprintln!("gmp: membarrier failed after registering; aborting");
        std::process::abort();
    }
    // SeqCst fence: pairs with the Ms' `light_or_fence` fences (no
    // membarrier, so they are real fences too).
    #[cfg(loom)]
    loom::sync::atomic::fence(SeqCst);
    #[cfg(not(loom))]
    std::sync::atomic::fence(SeqCst);
}

/// The sysmon side: a full barrier on every thread of the process. False if
/// the system offers none (then the light side is not a barrier either, and the
/// caller must not rely on the pair: use [`heavy_or_fence`]).
fn heavy() -> bool {
    #[cfg(loom)]
    {
        loom::sync::atomic::fence(SeqCst);
        true
    }
    #[cfg(not(loom))]
    {
        // Compiler fences: the accesses around the call stay on their side of
        // it; the system call is the barrier for the CPUs.
        compiler_fence(SeqCst);
        let ok = sys::membarrier();
        compiler_fence(SeqCst);
        ok
    }
}

/// True if [`available`] has already been answered with yes. Never blocks.
#[inline(always)]
pub(crate) fn known_available() -> bool {
    #[cfg(loom)]
    {
        true
    }
    #[cfg(not(loom))]
    {
        sys::known_available()
    }
}

/// True if [`heavy`] works here. Registers this process for it on first use,
/// which can take milliseconds: sysmon calls it as it starts, and only sysmon
/// and task dumps (never an M) wait for it.
pub(crate) fn available() -> bool {
    #[cfg(loom)]
    {
        true
    }
    #[cfg(not(loom))]
    {
        sys::available()
    }
}

/// A testing knob: set to anything but `0` (or empty), this environment
/// variable turns `membarrier` off for the whole process, as if the system had
/// none, so every platform's fallback path (module docs) runs on a Linux CI
/// machine: `ci/no_membarrier.sh` runs gmp-exec's suite with it. Read once,
/// when the barrier's availability is first decided (sysmon's start). An
/// environment variable rather than a `--cfg`: the tier then reuses the normal
/// test build instead of compiling every crate again, and a child process of a
/// test can turn it on alone. Not a tuning setting: the fallback only costs.
#[cfg_attr(any(loom, not(target_os = "linux")), allow(dead_code))]
pub(crate) const NO_MEMBARRIER_ENV: &str = "GMP_NO_MEMBARRIER";

/// True if [`NO_MEMBARRIER_ENV`] is set to anything but `0` or nothing.
#[cfg(all(not(loom), target_os = "linux"))]
fn forced_off() -> bool {
    std::env::var_os(NO_MEMBARRIER_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(all(not(loom), target_os = "linux"))]
mod sys {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::OnceLock;

    /// Set once registration succeeded (read by Ms without waiting).
    static REGISTERED: AtomicBool = AtomicBool::new(false);

    // From `linux/membarrier.h`.
    const MEMBARRIER_CMD_QUERY: libc::c_int = 0;
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    fn membarrier_call(cmd: libc::c_int) -> libc::c_long {
        // SAFETY: `membarrier(cmd, flags=0, cpu_id=0)` takes no pointers; an
        // unsupported command just returns an error.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        }
    }

    pub(super) fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            if super::forced_off() {
                return false;
            }
            let supported = membarrier_call(MEMBARRIER_CMD_QUERY);
            let ok = supported >= 0
                && supported & libc::c_long::from(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
                && membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
            // Relaxed: the flag guards no memory, only the choice of barrier
            // (the registration is kernel state, in force once the call returned).
            REGISTERED.store(ok, Relaxed);
            ok
        })
    }

    pub(super) fn known_available() -> bool {
        REGISTERED.load(Relaxed)
    }

    pub(super) fn membarrier() -> bool {
        available() && membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0
    }
}

#[cfg(all(not(loom), windows))]
mod sys {
    pub(super) fn available() -> bool {
        true
    }

    pub(super) fn known_available() -> bool {
        true
    }

    pub(super) fn membarrier() -> bool {
        // SAFETY: no arguments and no preconditions; it only waits for every
        // processor running a thread of this process to flush its writes.
        unsafe { windows_sys::Win32::System::Threading::FlushProcessWriteBuffers() };
        true
    }
}

#[cfg(all(not(loom), not(any(target_os = "linux", windows))))]
mod sys {
    pub(super) fn available() -> bool {
        false
    }

    pub(super) fn known_available() -> bool {
        false
    }

    pub(super) fn membarrier() -> bool {
        false
    }
}

#[cfg(all(test, not(loom), target_os = "linux"))]
mod tests {
    use super::*;

    /// Under `ci/no_membarrier.sh` this proves the knob took: the whole suite
    /// really ran on the fallback. Elsewhere it checks the registration path.
    #[test]
    fn the_knob_turns_membarrier_off_and_every_barrier_still_returns() {
        if forced_off() {
            assert!(!available());
            assert!(!known_available());
            assert!(!heavy());
        } else if available() {
            assert!(known_available());
            assert!(heavy());
        }
        // Either way: no abort, no hang.
        heavy_or_fence();
        light_or_fence();
    }
}
