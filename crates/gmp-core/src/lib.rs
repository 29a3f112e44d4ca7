//! The innermost layer of gmp: the data structures of Go's scheduler, with no
//! threads and no I/O.
//!
//! gmp rebuilds Go's G/M/P scheduler (`runtime/proc.go`) for Rust. A **G** is a
//! unit of work (a task: a future or a coroutine), an **M** is an OS thread, and a
//! **P** is the right to run Gs: each M must hold a P to run Gs, and the number of
//! Ps (`GOMAXPROCS`, our `procs`) bounds parallelism. Every spawn, wake and steal
//! touches the structures in this crate, so they are lock-free where Go's are and
//! model-checked with loom.
//!
//! | Go | here | what |
//! | --- | --- | --- |
//! | `p.runq`, `p.runqhead`, `p.runqtail`, `p.runnext` | [`runq::Local`] / [`runq::Stealer`] | a P's 256-slot ring and its `runnext` slot |
//! | `runqput`, `runqputslow`, `runqget`, `runqgrab`, `runqsteal` | [`runq::Local::push_next`], [`runq::Local::push_back`], [`runq::Local::pop`], [`runq::Stealer::steal_into`] | |
//! | `sched.runq`, `globrunqput(batch)`, `globrunqget` | [`global::Global`] | the global run queue and a P's fair share of it |
//! | `stealOrder` (`randomOrder`), `fastrand` | [`steal_order::StealOrder`], [`steal_order::FastRand`] | which P a searching M visits next |
//! | `p.gFree`, `sched.gFree`, `gfget`, `gfput` | [`free::FreeCache`], [`free::FreeList`] | reusable G storage, moved in batches of 32 |
//! | `p.goidcache`, `sched.goidgen` | [`free::GoidCache`], [`free::GoidGen`] | G ids, handed out 16 at a time |
//!
//! # The shape of a queue operation
//!
//! A new G goes to its P's `runnext` (and the old `runnext` to the tail of the
//! ring); a full ring spills half of itself to the global queue in one batch; the
//! scheduler takes `runnext`, then the ring's head, and one tick in 61 the global
//! queue first, so that nothing waits there forever. An M with nothing to do takes
//! its fair share of the global queue, then steals half of another P's ring,
//! visiting the Ps in a random co-prime order, and only on its last pass takes a
//! `runnext` its owner has left unrun for a few microseconds. The
//! [`runq`] module's essay explains the ring, the head and who may call what;
//! [`global`] explains the lock; the scheduling policy that strings these together
//! lives in `gmp-exec`.
//!
//! # Items
//!
//! Queues carry any [`Item`]: an owned handle that converts to one non-null
//! machine word and back (a `Box`, or gmp-exec's task reference). Keeping every
//! slot one atomic word is what makes a thief's optimistic read defined behaviour.
//!
//! # Checking
//!
//! Built with `RUSTFLAGS="--cfg loom"`, every atomic and lock comes from loom (see
//! the private `sync` facade), and `tests/loom_runq.rs` explores owner/thief
//! races exhaustively on a 4-slot ring.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod item;
mod sync;

pub mod free;
pub mod global;
pub mod runq;
pub mod steal_order;

pub use error::ConfigError;
pub use item::Item;
