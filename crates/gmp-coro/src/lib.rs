//! gmp's stackful layer: coroutines on small, guarded, pooled stacks.
//!
//! gmp's stackful mode runs blocking-style closures as coroutine Gs
//! ("goroutines") on the same Ps as async tasks. This crate is the layer
//! underneath, with no scheduler in it: where a goroutine's stack comes from,
//! what happens when it runs out, and how a closure is started, suspended,
//! resumed and torn down on it.
//!
//! # Go's stacks, and why ours differ
//!
//! A goroutine starts on a 2 KiB stack. Every Go function's prologue compares
//! the stack pointer with `g.stackguard0`; when a call would not fit,
//! `morestack` allocates a stack twice the size and `copystack` moves the frames
//! over, adjusting every pointer into the old stack, which it can find because
//! the compiler emits stack maps. The garbage collector shrinks stacks that use
//! little of themselves. Stacks come from per-P caches (`stackcache`) refilled
//! from global pools in batches, and dead Gs keep theirs on free lists
//! (`gfput`/`gfget`) so that `go f()` usually costs no allocation at all.
//!
//! Rust code cannot be moved: nothing records where the pointers into a frame
//! are. So a gmp stack has a fixed size (64 KiB by default) and is made cheap
//! in the ways that survive:
//!
//! * **Only touched pages cost memory.** A stack is reserved address space; a
//!   parked coroutine that used a few KiB holds a page or two. Stacks that ran
//!   deep give their lower pages back when they return to the pool, Go's
//!   `shrinkstack` in spirit ([`stack`]).
//! * **Mapped in slabs.** One `mmap` holds up to 256 stacks, with a guard page
//!   below each installed by `MADV_GUARD_INSTALL`, which does not split the
//!   mapping, so a million stacks need a few thousand mappings, not two million
//!   ([`stack`]).
//! * **Pooled like Gs.** A per-thread cache of up to 64 stacks per size, refilled
//!   from and spilled to a global list 32 at a time, as `gfget`/`gfput` do
//!   ([`pool`]). A spawn reuses a stack instead of mapping one.
//! * **Overflow is reported, not undefined.** Go's prologue check turns an
//!   overflow into `fatal error: stack overflow`. Ours is the guard page: a
//!   `SIGSEGV` handler on an alternate signal stack recognises a fault in one of
//!   our guards and prints `G <id> overflowed its <n>-byte stack` before
//!   aborting; every other fault goes to whoever handled it before ([`overflow`]).
//! * **Deep work runs elsewhere.** [`on_m_stack`] runs a closure on the resumer's
//!   stack (the M's thread stack), as Go's runtime uses `systemstack` to run on
//!   g0.
//!
//! # The coroutine
//!
//! [`Coroutine`] runs a `Send` closure on such a stack, on top of corosensei's
//! context switch. It can be moved freely until it first runs; after that it
//! is tied to its thread, and resuming it elsewhere panics instead of being
//! undefined behaviour (see the [coroutine module](coroutine)). Inside, free
//! functions reach the running coroutine through a thread-local, as Go reaches
//! the running G through `getg()`: [`suspend`], [`is_in_coroutine`],
//! [`current_id`], [`on_m_stack`].
//!
//! ```
//! use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};
//!
//! let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || {
//!     suspend();
//!     "done"
//! })
//! .unwrap();
//! co.set_id(7); // the scheduler's goroutine id
//! assert!(co.resume().is_suspended());
//! assert!(matches!(co.resume(), Resumed::Finished("done")));
//! ```
//!
//! | Go (`runtime/stack.go`, `proc.go`) | here |
//! | --- | --- |
//! | `stackalloc`, `stackpool`, `stackcache` | [`Stack::new`], [`pool`] |
//! | `gfget`/`gfput` (32 at a time, 64 per P) | [`pool`]'s get and put |
//! | `shrinkstack` | deep-stack release in [`stack`] |
//! | `morestack` → `fatal error: stack overflow` | guard page → [`overflow`] report |
//! | `newproc`, `gogo`, `gopark`, `goexit0` | [`Coroutine::new`], [`Coroutine::resume`], [`suspend`], finish/drop |
//! | `systemstack` | [`on_m_stack`] |
//!
//! # Platform
//!
//! Every Unix that corosensei supports (Linux, Android, Apple's systems, the
//! BSDs, illumos) and Windows. The OS calls are in one private module per OS
//! family (`sys/` for the stacks, `overflow/` for the report); what differs
//! within the Unix family is behind `cfg`s naming the system:
//!
//! | | Linux | other Unix | Windows |
//! | --- | --- | --- | --- |
//! | slabs | `mmap`, `MAP_NORESERVE`, `MAP_STACK`, `MADV_NOHUGEPAGE` | `mmap` (`MAP_STACK` on OpenBSD only) | `VirtualAlloc(MEM_RESERVE)` |
//! | guard | a page, `MADV_GUARD_INSTALL` (6.13+) or `mprotect` | a page, `mprotect` | a reserved page below `PAGE_GUARD` pages the system moves as the stack grows (the TEB's limits kept per stack) |
//! | memory | touched pages | touched pages | committed as the stack grows |
//! | deep-stack release | canary, `MADV_DONTNEED` | canary, a fresh `MAP_FIXED` mapping | exact (the TEB's limit), `MEM_DECOMMIT` |
//! | overflow report | `SIGSEGV` on an alternate stack (`AT_MINSIGSTKSZ`, at least 32 KiB) | `SIGSEGV`, or `SIGBUS` on Apple's systems (`SIGSTKSZ`, at least 32 KiB) | `STATUS_STACK_OVERFLOW` in a vectored exception handler, in the stack guarantee's room |
//!
//! Linux is where all of it runs in CI; the other Unix systems are
//! type-checked (`ci/cross.sh`); on Windows the suite has run under Wine
//! (`ci/wine.sh`).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(unix, windows))]
pub mod coroutine;
#[cfg(any(unix, windows))]
pub mod overflow;
#[cfg(any(unix, windows))]
pub mod pool;
#[cfg(any(unix, windows))]
pub mod stack;
#[cfg(any(unix, windows))]
mod sys;

#[cfg(any(unix, windows))]
pub use coroutine::{
    check, current_id, is_being_dropped, is_in_coroutine, on_m_stack, prefetch_stack, suspend,
    Coroutine, Resumed,
};
#[cfg(any(unix, windows))]
pub use stack::{Stack, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};
