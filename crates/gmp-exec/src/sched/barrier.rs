//! An asymmetric memory barrier: cheap for the Ms, expensive for sysmon.
//!
//! Sysmon takes a P away from an M stuck in a long poll (see `sysmon.rs`), and
//! that M may touch its P's state at any moment — every spawn and wake inside
//! the poll does. The two sides form a Dekker pair:
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
//! these two functions.
//!
//! Where `membarrier` is unavailable (not Linux, or a sandbox that forbids it),
//! [`heavy`] reports so and the runtime turns automatic retake off: explicit
//! `block_in_place` and `syscall` still hand P's off, because there the M gives
//! its P up itself. Under loom both sides are `SeqCst` fences, the symmetric
//! form of the same argument, which loom can check.

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
        #[cfg(loom)]
        loom::sync::atomic::fence(SeqCst);
        #[cfg(not(loom))]
        std::sync::atomic::fence(SeqCst);
    }
}

/// The heavy side paired with [`light_or_fence`]: `heavy` when it works, else a
/// `SeqCst` fence.
pub(crate) fn heavy_or_fence() {
    if !heavy() {
        #[cfg(loom)]
        loom::sync::atomic::fence(SeqCst);
        #[cfg(not(loom))]
        std::sync::atomic::fence(SeqCst);
    }
}

/// The sysmon side: a full barrier on every thread of the process. False if
/// the system offers none (then the light side is not a barrier either, and the
/// caller must not rely on the pair).
pub(crate) fn heavy() -> bool {
    #[cfg(loom)]
    {
        loom::sync::atomic::fence(SeqCst);
        true
    }
    #[cfg(not(loom))]
    {
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

#[cfg(all(not(loom), not(target_os = "linux")))]
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
