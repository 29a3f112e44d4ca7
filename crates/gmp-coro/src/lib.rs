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
//! Linux only: the guard install, the slab layout and the fault handler use
//! Linux's `madvise`, `mmap` flags and `siginfo`. Guard pages need Linux 6.13
//! for `MADV_GUARD_INSTALL`; older kernels get the `mprotect` fallback.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(target_os = "linux"))]
compile_error!("gmp-coro supports Linux only (guarded stack slabs and the overflow handler)");

pub mod coroutine;
pub mod overflow;
pub mod pool;
pub mod stack;

pub use coroutine::{
    check, current_id, is_being_dropped, is_in_coroutine, on_m_stack, suspend, Coroutine, Resumed,
};
pub use stack::{Stack, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};
