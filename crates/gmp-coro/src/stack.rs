//! Coroutine stacks: fixed-size, guarded, mapped in slabs, pooled.
//!
//! # Why fixed size
//!
//! Go starts a goroutine on a 2 KiB stack and grows it by copying the frames to a
//! stack twice the size (`newstack` → `copystack`), rewriting every pointer into
//! the old stack as it goes: its compiler records where those pointers are. Rust
//! records nothing of the kind (a `&mut` into a frame may sit in any register or
//! heap object), so a Rust stack cannot move. A stack here therefore has its final
//! size from the start and is made cheap in the two ways that remain:
//!
//! * **address space is free, memory is not.** A stack is a range of virtual
//!   memory; the kernel backs a page only when it is first touched. A parked
//!   coroutine that used 3 KiB of its 64 KiB stack costs one page of memory
//!   (plus what was left there by the stack's previous tenant; see *Deep stacks*).
//! * **a stack is reused, not remapped** (see [`pool`](mod@crate::pool)): a spawn takes
//!   a stack from a per-thread cache, which costs tens of nanoseconds where an
//!   `mmap` plus a guard costs microseconds.
//!
//! # Layout: slabs with a guard page below each stack
//!
//! ```text
//!  slab base                                                 slab end
//!  | guard | stack 0 ......... | guard | stack 1 ......... | ...
//!          ^ bottom     top ^          ^ bottom     top ^
//! ```
//!
//! One `mmap` maps a whole slab (up to [`MAX_STACKS_PER_SLAB`] stacks, at most
//! [`SLAB_TARGET_BYTES`] of address space), because the kernel limits how many
//! mappings a process may have (`/proc/sys/vm/max_map_count`, 65 530 by default):
//! a million stacks mapped one by one, each split by its guard into two mappings,
//! would stop near 32 000. A stack grows down from its top towards the guard page
//! below it; running into the guard faults, and the [overflow
//! handler](crate::overflow) turns the fault into a report instead of letting the
//! coroutine scribble over the stack below.
//!
//! What follows describes Linux, where gmp-coro is tested; the other Unix
//! systems use `mprotect` guards, plain anonymous mappings and a fresh
//! mapping instead of `MADV_DONTNEED` (the OS calls and their differences are
//! in the private `sys` module; the crate docs have the table).
//!
//! Guards are installed with `madvise(MADV_GUARD_INSTALL)` (Linux 6.13), which
//! marks the page as faulting in the page tables *without* splitting the mapping:
//! a slab stays one mapping however many guards it holds. Where the kernel does
//! not know the advice (`EINVAL`) we fall back, once and for the whole process, to
//! `mprotect(PROT_NONE)`, which does split the mapping: every stack then costs two
//! mappings, and the map-count limit caps the process at roughly
//! `max_map_count / 2` stacks. Reaching it is an [`io::Error`] from
//! [`Stack::new`] that names the limit, never a crash. Setting the environment
//! variable [`GUARD_ENV`] to `mprotect` forces the fallback (tests use it to check
//! that path on new kernels).
//!
//! Slabs are mapped `MAP_NORESERVE`: their address space is a reservation, not
//! a promise of memory, and is not charged as committed (under strict overcommit,
//! `vm.overcommit_memory = 2`, the kernel charges it anyway, and a million 64 KiB
//! stacks need 68 GiB of commit limit). They are mapped `MAP_STACK` with
//! `MADV_NOHUGEPAGE`, so that a transparent huge page never turns a one-page
//! stack into a 2 MiB one. Adjacent slabs with the same flags may even merge into
//! one mapping: here, a million stacks added three. Slabs are never unmapped:
//! their stacks live on in the pool, and the [overflow table](crate::overflow)
//! that maps a fault address to its stack is append-only because of it.
//!
//! # Deep stacks give memory back
//!
//! A stack that once ran something deep keeps those pages resident for every
//! later tenant. Go shrinks such stacks during garbage collection (`shrinkstack`
//! halves a stack using less than a quarter of it). Here the check happens when
//! the stack returns to the pool, and it must cost next to nothing on the common
//! path. A stack keeps its top [`KEEP_RESIDENT`] bytes; the page just below them
//! is the **canary page**, and the pool reads [`CANARY_SAMPLES`] words spread
//! evenly across it. A stack that never went that deep reads zeros there: the
//! page was never written (the first read maps the kernel's shared zero page,
//! which costs no memory) or was zeroed by the last release. A coroutine that went
//! deeper wrote frames across that page: return addresses, saved registers,
//! locals. If any sampled word is non-zero, everything below the kept region goes
//! back to the OS (`MADV_DONTNEED`), which also zeroes the canary page for the
//! next round.
//!
//! The check is a guess that errs one way only. Frames that leave every sampled
//! word zero (a zero-filled buffer of a page or more straddling the canary page)
//! are missed, and the stack keeps its pages until a later tenant trips the
//! canary: that costs memory, never correctness. The exact alternatives cost
//! more than they save: a sentinel written at hand-out makes the canary page
//! resident in *every* stack, doubling the memory of a parked coroutine that uses
//! one page, and asking the kernel (`mincore`) is a system call per return to
//! the pool.
//!
//! # Sizes
//!
//! A size is a multiple of the page size between [`MIN_STACK_SIZE`] and
//! [`MAX_STACK_SIZE`]; [`DEFAULT_STACK_SIZE`] is 64 KiB. The minimum, 32 KiB, is
//! the smallest that is safe to *use*, not merely to enter: besides the
//! coroutine's own frames, a stack must carry a panic all the way (the panic
//! hook formats the message and, under `RUST_BACKTRACE`, walks and symbolises
//! the stack; then the unwinder runs with a context of a few KiB), and a dropped
//! coroutine is unwound on its own stack too. Measured here (debug and release
//! alike), a panic in a trivial coroutine fits in 16 KiB without a backtrace but
//! needs 24 KiB to print one, and `RUST_BACKTRACE=1` is common in development and
//! CI. 32 KiB leaves room for the coroutine's own frames on top (a test panics
//! with `RUST_BACKTRACE=full` in a minimum-size coroutine). A smaller stack
//! would save only address space: memory is paid per touched page either way.

use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::ptr;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use corosensei::stack::StackPointer;

use crate::{overflow, pool, sys};

/// The stack size a coroutine gets unless asked otherwise: 64 KiB.
///
/// ```
/// use gmp_coro::{stack::page_size, Coroutine, DEFAULT_STACK_SIZE};
///
/// assert_eq!(DEFAULT_STACK_SIZE % page_size(), 0);
/// let co = Coroutine::new(DEFAULT_STACK_SIZE, || ()).unwrap();
/// assert_eq!(co.stack_size(), 64 * 1024);
/// ```
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// The smallest stack size accepted: 32 KiB. See the [module docs](self#sizes).
///
/// ```
/// use gmp_coro::{stack::page_size, Stack, MIN_STACK_SIZE};
///
/// assert!(Stack::new(MIN_STACK_SIZE).is_ok());
/// assert!(Stack::new(MIN_STACK_SIZE - page_size()).is_err());
/// ```
pub const MIN_STACK_SIZE: usize = 32 * 1024;

/// The largest stack size accepted: 1 GiB (Go's limit for a goroutine's stack on
/// 64-bit machines).
///
/// ```
/// use gmp_coro::{check, stack::page_size, MAX_STACK_SIZE};
///
/// assert!(check::<()>(MAX_STACK_SIZE).is_ok());
/// assert!(check::<()>(MAX_STACK_SIZE + page_size()).is_err());
/// ```
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// How much of a stack, counted from its top, stays resident when a deeply used
/// stack returns to the pool: 16 KiB. See the [module docs](self#deep-stacks-give-memory-back).
///
/// ```
/// use gmp_coro::stack::{page_size, KEEP_RESIDENT};
/// use gmp_coro::MIN_STACK_SIZE;
///
/// assert_eq!(KEEP_RESIDENT % page_size(), 0);
/// assert!(KEEP_RESIDENT < MIN_STACK_SIZE); // every stack has pages to release
/// ```
pub const KEEP_RESIDENT: usize = 16 * 1024;

/// The most stacks one slab holds.
///
/// ```
/// use gmp_coro::stack::{MAX_STACKS_PER_SLAB, SLAB_TARGET_BYTES};
/// use gmp_coro::MIN_STACK_SIZE;
///
/// // A full slab of the smallest stacks stays within the target size.
/// assert_eq!(MAX_STACKS_PER_SLAB, 256);
/// assert!(MAX_STACKS_PER_SLAB * MIN_STACK_SIZE <= SLAB_TARGET_BYTES);
/// ```
pub const MAX_STACKS_PER_SLAB: usize = 256;

/// A slab holds as many stacks (guards included) as fit in 16 MiB, between 1 and
/// [`MAX_STACKS_PER_SLAB`].
///
/// ```
/// use gmp_coro::stack::{page_size, SLAB_TARGET_BYTES};
/// use gmp_coro::DEFAULT_STACK_SIZE;
///
/// use gmp_coro::stack::MAX_STACKS_PER_SLAB;
///
/// // Default-size stacks per slab, each with its guard page:
/// let per_slab = SLAB_TARGET_BYTES / (DEFAULT_STACK_SIZE + page_size());
/// assert!((1..=MAX_STACKS_PER_SLAB).contains(&per_slab));
/// ```
pub const SLAB_TARGET_BYTES: usize = 16 << 20;

/// Environment variable: set it to `mprotect` to install guard pages with
/// `mprotect(PROT_NONE)` even where `MADV_GUARD_INSTALL` works. Read once, when
/// the first slab is mapped.
///
/// ```
/// use gmp_coro::stack::GUARD_ENV;
///
/// assert_eq!(GUARD_ENV, "GMP_CORO_GUARD");
/// // Read once, when the first slab is mapped:
/// let forced = std::env::var(GUARD_ENV).is_ok_and(|v| v == "mprotect");
/// # let _ = forced;
/// ```
pub const GUARD_ENV: &str = "GMP_CORO_GUARD";

/// How many words of the canary page the pool reads (evenly spaced:
/// one per 256 bytes of a 4 KiB page).
///
/// ```
/// use gmp_coro::stack::{page_size, CANARY_SAMPLES};
///
/// // One sampled word per 256 bytes of a 4 KiB page.
/// assert_eq!(4096 / CANARY_SAMPLES, 256);
/// assert!(CANARY_SAMPLES * std::mem::size_of::<usize>() <= page_size());
/// ```
pub const CANARY_SAMPLES: usize = 16;

/// How guard pages are installed in this process.
///
/// ```
/// use gmp_coro::stack::{guard_kind, GuardKind, Stack};
/// use gmp_coro::DEFAULT_STACK_SIZE;
///
/// let _stack = Stack::new(DEFAULT_STACK_SIZE)?;
/// let kind = guard_kind().expect("a slab has been mapped");
/// assert!(matches!(
///     kind,
///     GuardKind::GuardInstall | GuardKind::Mprotect | GuardKind::WindowsGuardPages
/// ));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    /// `madvise(MADV_GUARD_INSTALL)`: the slab stays one mapping.
    GuardInstall,
    /// `mprotect(PROT_NONE)`: each guard splits the slab's mapping.
    Mprotect,
    /// Windows: a reserved page below `PAGE_GUARD` pages that the system
    /// moves down as the stack grows (`sys/windows.rs`).
    WindowsGuardPages,
}

pub(crate) const GUARD_UNKNOWN: u8 = 0;
pub(crate) const GUARD_MADVISE: u8 = 1;
pub(crate) const GUARD_MPROTECT: u8 = 2;
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) const GUARD_WINDOWS: u8 = 3;

/// Which [`GuardKind`] slabs use; decided when the first slab is mapped. Only
/// written with the pool's global lock held; `Relaxed` because it is a hint that
/// every reader re-derives under that same lock, except [`guard_kind`], which
/// is a report.
pub(crate) static GUARD_MODE: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);

/// Records the guard mechanism in use. Called only with the pool's global
/// lock held.
pub(crate) fn set_guard_mode(mode: u8) {
    GUARD_MODE.store(mode, Relaxed);
}

/// The system page size.
///
/// ```
/// let page = gmp_coro::stack::page_size();
/// assert!(page.is_power_of_two());
/// assert_eq!(gmp_coro::DEFAULT_STACK_SIZE % page, 0);
/// ```
#[inline]
pub fn page_size() -> usize {
    match PAGE.load(Relaxed) {
        0 => first_page_size(),
        page => page,
    }
}

static PAGE: AtomicUsize = AtomicUsize::new(0);

#[cold]
fn first_page_size() -> usize {
    let page = sys::page_size();
    assert!(
        page.is_power_of_two(),
        "page size {page} is not a power of two"
    );
    PAGE.store(page, Relaxed);
    page
}

/// Which guard mechanism this process uses, once a stack has been mapped
/// (`None` before).
///
/// ```
/// use gmp_coro::stack::{guard_kind, Stack};
/// use gmp_coro::MIN_STACK_SIZE;
///
/// assert_eq!(guard_kind(), None); // no stack mapped yet in this process
/// let _stack = Stack::new(MIN_STACK_SIZE)?;
/// assert!(guard_kind().is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn guard_kind() -> Option<GuardKind> {
    match GUARD_MODE.load(Relaxed) {
        GUARD_MADVISE => Some(GuardKind::GuardInstall),
        GUARD_MPROTECT => Some(GuardKind::Mprotect),
        GUARD_WINDOWS => Some(GuardKind::WindowsGuardPages),
        _ => None,
    }
}

/// Checks a requested stack size; the error names the rule broken.
#[inline]
pub(crate) fn check_size(size: usize) -> io::Result<()> {
    // A mask, not `%`: `page_size` is a power of two (it checks), and a
    // division cost 3 % of a coroutine spawn. Checked at every spawn: the
    // message is built out of line.
    if (MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&size) && size & (page_size() - 1) == 0 {
        Ok(())
    } else {
        Err(bad_size(size))
    }
}

#[cold]
fn bad_size(size: usize) -> io::Error {
    let why = if size < MIN_STACK_SIZE {
        format!("coroutine stack size {size} is below the minimum of {MIN_STACK_SIZE} bytes")
    } else if size > MAX_STACK_SIZE {
        format!("coroutine stack size {size} is above the maximum of {MAX_STACK_SIZE} bytes")
    } else {
        format!(
            "coroutine stack size {size} is not a multiple of the page size ({} bytes)",
            page_size()
        )
    };
    io::Error::new(io::ErrorKind::InvalidInput, why)
}

/// A coroutine stack: `size` usable bytes below `top`, a guard page below them.
///
/// Taken from the process-wide pool by [`Stack::new`] and given back to it when
/// dropped; it may be dropped on any thread. Implements corosensei's
/// [`Stack`](corosensei::stack::Stack) trait.
///
/// ```
/// use gmp_coro::{Stack, DEFAULT_STACK_SIZE};
///
/// let stack = Stack::new(DEFAULT_STACK_SIZE)?;
/// assert_eq!(stack.top() - stack.bottom(), stack.size());
/// drop(stack); // back to the pool
/// let again = Stack::new(DEFAULT_STACK_SIZE)?;
/// assert_eq!(again.size(), DEFAULT_STACK_SIZE);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Invariants
///
/// `[bottom - guard_len, bottom)` is a guard (one page on Unix) installed in a
/// slab that is registered in the overflow table; `[bottom, top)` belongs to
/// this value alone until it is dropped; `top` is page-aligned. On Unix
/// `[bottom, top)` is mapped read-write; on Windows only its top page is
/// committed, and the rest is committed by the kernel as the stack grows
/// while it is the running stack, through the guard pages below its limit
/// (`sys/windows.rs`).
pub struct Stack {
    top: NonZeroUsize,
    size: usize,
    /// Windows: how far the stack has grown, as the TEB saw it last.
    #[cfg(windows)]
    teb: sys::Teb,
}

impl Stack {
    /// Takes a stack of `size` bytes from the pool, mapping a new slab if the
    /// pool has none of that size.
    ///
    /// ```
    /// use gmp_coro::{Stack, MAX_STACK_SIZE, MIN_STACK_SIZE};
    ///
    /// let stack = Stack::new(MIN_STACK_SIZE)?;
    /// assert_eq!(stack.size(), MIN_STACK_SIZE);
    /// let err = Stack::new(MAX_STACK_SIZE * 2).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `size` is not a multiple of the page size between
    /// [`MIN_STACK_SIZE`] and [`MAX_STACK_SIZE`]; the OS error, with the limit
    /// named, if the kernel refuses another mapping.
    pub fn new(size: usize) -> io::Result<Stack> {
        check_size(size)?;
        let top = pool::get(size)?;
        Ok(Stack {
            top,
            size,
            #[cfg(windows)]
            teb: sys::Teb::fresh(top.get()),
        })
    }

    /// The usable size in bytes (the guard page not counted).
    ///
    /// ```
    /// let stack = gmp_coro::Stack::new(gmp_coro::DEFAULT_STACK_SIZE)?;
    /// assert_eq!(stack.size(), 64 * 1024);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// The highest address, one past the usable bytes: where the stack starts.
    ///
    /// ```
    /// use gmp_coro::{stack::page_size, Stack, DEFAULT_STACK_SIZE};
    ///
    /// let stack = Stack::new(DEFAULT_STACK_SIZE)?;
    /// assert_eq!(stack.top() % page_size(), 0);
    /// assert_eq!(stack.top(), stack.bottom() + DEFAULT_STACK_SIZE);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn top(&self) -> usize {
        self.top.get()
    }

    /// The lowest usable address; the guard page lies just below it.
    ///
    /// ```
    /// use gmp_coro::{stack::page_size, Stack, DEFAULT_STACK_SIZE};
    ///
    /// let a = Stack::new(DEFAULT_STACK_SIZE)?;
    /// assert_eq!(a.bottom() % page_size(), 0);
    /// assert!(a.bottom() < a.top());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bottom(&self) -> usize {
        self.top.get() - self.size
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Windows: a stack that grew shrinks back before its next tenant.
        #[cfg(windows)]
        sys::reset(self.top.get(), self.size, &self.teb);
        pool::put(self.top, self.size);
    }
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stack({:#x}..{:#x})", self.bottom(), self.top())
    }
}

// SAFETY: `base` is the page-aligned top (aligned to `STACK_ALIGNMENT`), and
// `limit` includes the guard page below the usable bytes, which faults on
// access (type invariants). Usable bytes are at least `MIN_STACK_SIZE`, far more
// than corosensei's minimum.
unsafe impl corosensei::stack::Stack for Stack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.top
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        // The guard page is below `bottom`, which is above zero.
        StackPointer::new(self.bottom() - guard_len()).expect("stack limit is null")
    }

    #[cfg(windows)]
    #[inline]
    fn teb_fields(&self) -> corosensei::stack::StackTebFields {
        self.teb.fields(self.top.get(), self.size)
    }

    #[cfg(windows)]
    #[inline]
    fn update_teb_fields(&mut self, stack_limit: usize, guaranteed_stack_bytes: usize) {
        self.teb.limit = stack_limit;
        self.teb.guarantee = guaranteed_stack_bytes;
    }
}

/// The bytes below each stack's usable ones: one guard page on Unix; on
/// Windows the hard guard page plus the room its guard and stack guarantee
/// need (`sys/windows.rs`), so a stack of `size` bytes can use all of them.
pub(crate) fn guard_len() -> usize {
    sys::guard_len(page_size())
}

/// How many stacks of `size` bytes one slab holds.
pub(crate) fn stacks_per_slab(size: usize) -> usize {
    let stride = size + guard_len();
    (SLAB_TARGET_BYTES / stride).clamp(1, MAX_STACKS_PER_SLAB)
}

/// A mapped slab's stacks not yet handed out (carved front to back).
pub(crate) struct Slab {
    /// Start of the next stack's guard page.
    next: usize,
    /// Stacks left in the slab.
    left: usize,
    size: usize,
}

impl Slab {
    /// Maps a slab for stacks of `size` bytes, installs its guards and registers
    /// it with the overflow handler.
    ///
    /// Called only with the pool's global lock held.
    pub(crate) fn map(size: usize) -> io::Result<Slab> {
        let page = page_size();
        let count = stacks_per_slab(size);
        let stride = size + guard_len();
        let len = stride * count;
        let base = sys::map_slab(len).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "mapping a slab of {count} coroutine stacks ({len} bytes) failed: {err}; \
                     {}",
                    sys::map_limit_hint()
                ),
            )
        })?;
        let installed =
            (0..count).try_for_each(|k| sys::install_guard(base + k * stride, page, size));
        let registered = installed.and_then(|()| overflow::register_slab(base, len, stride, size));
        if let Err(err) = registered {
            // SAFETY: the whole slab is ours and nothing in it was handed out.
            unsafe { sys::unmap(base, len) };
            return Err(err);
        }
        Ok(Slab {
            next: base,
            left: count,
            size,
        })
    }

    /// Hands out the next stack's top, if any are left.
    pub(crate) fn carve(&mut self) -> Option<NonZeroUsize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let stride = self.size + guard_len();
        let top = self.next + stride;
        self.next = top;
        NonZeroUsize::new(top)
    }
}

/// If the stack below `top` was used deeper than [`KEEP_RESIDENT`], gives the
/// pages below the kept region back to the OS. See the
/// [module docs](self#deep-stacks-give-memory-back).
///
/// Called by the pool on a stack nobody runs on.
pub(crate) fn release_if_deep(top: NonZeroUsize, size: usize) {
    // Windows: the canary page may not even be committed (reading it would
    // fault), and the stack's own TEB record says exactly how deep it went:
    // `Stack`'s drop resets it (`sys/windows.rs`).
    if cfg!(windows) {
        return;
    }
    let page = page_size();
    if size < KEEP_RESIDENT + page {
        return;
    }
    let kept = top.get() - KEEP_RESIDENT;
    let canary = (kept - page) as *const u64;
    let step = page / 8 / CANARY_SAMPLES;
    let mut touched = 0u64;
    for i in 0..CANARY_SAMPLES {
        // SAFETY: the canary page lies inside the stack's usable bytes
        // (`size >= KEEP_RESIDENT + page`), which are mapped read-write and
        // owned by the caller; a volatile read because another context (the
        // coroutine) wrote it and we must not assume its contents.
        touched |= unsafe { ptr::read_volatile(canary.add(i * step)) };
    }
    if touched != 0 {
        let bottom = top.get() - size;
        // SAFETY: `[bottom, kept)` is part of the usable bytes of a stack no one
        // runs on; dropping its pages loses nothing anybody will read (the next
        // tenant starts from the top and finds zero-filled pages below).
        unsafe { sys::release(bottom, kept - bottom) };
    }
}
